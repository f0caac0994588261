"""The shipped weights of the embedded world: small networks saved as fp16 safetensors.

Each file holds one network's state dict plus its ``init_kwargs`` (JSON) and training
metadata, so loading rebuilds it with no pickle and no code from the file.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from latentedit.errors import CheckpointError
from latentedit.fileio import atomic_write

SCORER = "world_scorer.safetensors"
SEGMENTER = "world_segmenter.safetensors"
ENCODER = "world_encoder.safetensors"
GAN = "world_gan.safetensors"


def weights_dir() -> Path:
    """The package-data folder holding the shipped safetensors."""
    return Path(str(resources.files("latentedit") / "weights"))


def weights_path(name: str) -> Path:
    """Where the world's `name` file is read from: ``$LATENTEDIT_WEIGHTS/name`` when that file
    exists (to try a newer snapshot or a retrained scorer as the embedded world), else the
    shipped one. The encoder is the exception: it is read from the generator's folder, since
    it only fits the generator it was trained with."""
    import os

    override = os.environ.get("LATENTEDIT_WEIGHTS")
    if override and (Path(override) / name).is_file():
        return Path(override) / name
    return weights_dir() / name


def save_module(path: Path, module: torch.nn.Module, kind: str, info: dict[str, Any] | None = None) -> Path:
    """Write `module` (fp16 floats) with its init kwargs and `info` (e.g. measured accuracy)."""
    tensors = {
        key: (value.half() if value.is_floating_point() else value).detach().cpu().contiguous().clone()
        for key, value in module.state_dict().items()
    }
    metadata = {"kind": kind, "init_kwargs": json.dumps(module.init_kwargs), "info": json.dumps(info or {})}
    return atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def load_module(path: Path, cls: type[torch.nn.Module], kind: str, device: str = "cpu") -> torch.nn.Module:
    """Rebuild a network saved by `save_module`, in float32 and eval mode."""
    if not path.is_file():
        raise CheckpointError(f"World weights {path} not found.")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{path}: cannot read world weights ({exc}).") from None
    if metadata.get("kind") != kind:
        raise CheckpointError(f"{path} holds a {metadata.get('kind')!r}, expected a {kind!r}.")
    module = cls(**json.loads(metadata["init_kwargs"]))
    module.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    return module.eval().requires_grad_(False).to(device)
