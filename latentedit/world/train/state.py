"""Resumable training state: modules, optimisers and counters in one atomic safetensors file.

Optimiser states are flattened to tensors (``opt.<name>.<param index>.<slot>``) with their
scalars in JSON metadata, so a checkpoint never needs pickle to load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from latentedit.errors import CheckpointError
from latentedit.fileio import atomic_write


def _optimizer_tensors(name: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {"param_groups": state["param_groups"], "state": {}}
    for index, slots in state["state"].items():
        for slot, value in slots.items():
            if torch.is_tensor(value) and value.dim() > 0:
                tensors[f"opt.{name}.{index}.{slot}"] = value.detach().cpu().contiguous()
            else:
                scalars["state"].setdefault(str(index), {})[slot] = float(value)
    return tensors, scalars


def _regroup(saved: list[dict[str, Any]], optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    """Saved parameter groups laid out as the optimiser's groups now are.

    A recipe may split its parameters into more groups than an older checkpoint had (to give
    part of a network its own learning rate); as long as the parameters keep their order, the
    saved ones are cut at the new group sizes. Hyper-parameters come from the saved first group
    and are set from the run's config after loading anyway.
    """
    sizes = [len(group["params"]) for group in optimizer.param_groups]
    if len(saved) == len(sizes):
        return saved
    indices = [index for group in saved for index in group["params"]]
    if len(indices) != sum(sizes):
        return saved  # torch's own error names the mismatch
    regrouped, start = [], 0
    for size in sizes:
        regrouped.append({**saved[0], "params": indices[start : start + size]})
        start += size
    return regrouped


def save_state(
    path: Path,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    counters: dict[str, Any],
) -> Path:
    """Write everything a run needs to resume, atomically (a crash keeps the previous file)."""
    tensors: dict[str, torch.Tensor] = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"module.{name}.{key}"] = value.detach().cpu().contiguous().clone()
    optimizer_scalars = {}
    for name, optimizer in optimizers.items():
        opt_tensors, optimizer_scalars[name] = _optimizer_tensors(name, optimizer)
        tensors.update(opt_tensors)
    metadata = {"counters": json.dumps(counters), "optimizers": json.dumps(optimizer_scalars)}
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def load_state(
    path: Path,
    modules: dict[str, torch.nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    optional: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Restore modules and optimisers in place; return the saved counters. Names in `optional`
    (a part added to a recipe later) are left as initialised when the checkpoint lacks them."""
    from safetensors import safe_open

    if not path.is_file():
        raise CheckpointError(f"No checkpoint to resume from at {path}.")
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    tensors = load_file(str(path))
    for name, module in modules.items():
        prefix = f"module.{name}."
        if name in optional and not any(key.startswith(prefix) for key in tensors):
            continue
        try:
            module.load_state_dict(
                {key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)}
            )
        except RuntimeError:
            raise CheckpointError(
                f"{path}: its {name} network has another shape than these settings make; "
                "resume with the run's own sizes (width, resolution, channels, ...)."
            ) from None
    scalars = json.loads(metadata.get("optimizers", "{}"))
    for name, optimizer in optimizers.items():
        if name in optional and name not in scalars:
            continue
        saved = scalars[name]
        state: dict[int, dict[str, Any]] = {}
        prefix = f"opt.{name}."
        for key, value in tensors.items():
            if key.startswith(prefix):
                index, slot = key[len(prefix) :].split(".", 1)
                state.setdefault(int(index), {})[slot] = value
        for index, slots in saved["state"].items():
            for slot, value in slots.items():
                state.setdefault(int(index), {})[slot] = torch.tensor(value)
        optimizer.load_state_dict({"state": state, "param_groups": _regroup(saved["param_groups"], optimizer)})
    return json.loads(metadata.get("counters", "{}"))


class StepCheckpoint:
    """`save`/`resume` for step-counted recipes with a numpy and a torch random stream.

    Subclasses set `run_dir`, `config` (a dataclass), `step`, `rng`, `generator` and name what
    the checkpoint holds in `checkpointed()`.
    """

    run_dir: Path
    step: int

    def checkpointed(self) -> tuple[dict[str, torch.nn.Module], dict[str, torch.optim.Optimizer]]:
        raise NotImplementedError

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoint.safetensors"

    def save(self) -> None:
        from dataclasses import asdict

        counters = {"step": self.step, "rng": self.rng.bit_generator.state, "config": asdict(self.config)}
        counters["torch_generator"] = self.generator.get_state().tolist()
        save_state(self.checkpoint_path, *self.checkpointed(), counters)

    def resume(self) -> None:
        counters = load_state(self.checkpoint_path, *self.checkpointed())
        self.step = int(counters["step"])
        self.rng.bit_generator.state = counters["rng"]
        self.generator.set_state(torch.tensor(counters["torch_generator"], dtype=torch.uint8))


def check_recipe_sizes(config: Any, counts: tuple[str, ...], width: str | None = "width") -> None:
    """One-line errors for settings that cannot train: counts below 1, and a network width the
    backbone cannot normalise (its stem has width/2 channels, in groups of 4)."""
    from latentedit.errors import OptionError

    for name in counts:
        if getattr(config, name) < 1:
            raise OptionError(f"{name} must be at least 1 (got {getattr(config, name)}).")
    if width is not None:
        value = getattr(config, width)
        if value < 8 or value % 2:
            raise OptionError(
                f"{width} must be an even number of at least 8 (got {value}): the stem has {width}/2 channels, "
                "normalised in groups of 4."
            )
