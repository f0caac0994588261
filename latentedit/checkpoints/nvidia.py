"""Import NVIDIA network pickles: StyleGAN2 (stylegan2-ada-pytorch, and the stylegan3 repo's
`--cfg=stylegan2`) and StyleGAN3 (`stylegan3-t`, `stylegan3-r`, whose D is StyleGAN2's).

The pickle is read by `safepickle` (nothing in it runs); the recorded module tree is
walked like `Module.state_dict()` would, and the init kwargs the pickle stored are given
to `latentedit.nets`, whose state dicts match the official ones key for key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import torch

from latentedit.checkpoints.build import Architecture, ImportedNetworks, Kind, build_network
from latentedit.checkpoints.safepickle import PersistentRecord, load_restricted
from latentedit.errors import CheckpointError

# Positional parameter names, for pickles whose networks were built with positional args.
_PARAMS: dict[Kind, tuple[str, ...]] = {
    "generator": ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs", "synthesis_kwargs"),
    "discriminator": (
        "c_dim",
        "img_resolution",
        "img_channels",
        "architecture",
        "channel_base",
        "channel_max",
        "num_fp16_res",
        "conv_clamp",
        "cmap_dim",
        "block_kwargs",
        "mapping_kwargs",
        "epilogue_kwargs",
    ),
}
_CLASS_NAMES: dict[Kind, str] = {"generator": "Generator", "discriminator": "Discriminator"}
_G_TOP_LEVEL = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs")
# Markers of StyleGAN3 (alias-free) generators: submodule classes, init kwargs, op names in the source.
_SG3_CLASSES = {"SynthesisInput"}
_SG3_KWARGS = {"magnitude_ema_beta", "conv_kernel", "use_radial_filters"}
_SG3_SOURCE = ("class SynthesisInput", "filtered_lrelu")
# networks_stylegan2.py in the stylegan3 repo: same state dict as ADA, but flattened
# synthesis kwargs and other defaults (fp16 in the 4 top blocks, conv_clamp=256).
_SG3_REPO_MARKER = "fused_modconv_default"
_SG3_REPO_DEFAULTS = {"num_fp16_res": 4, "conv_clamp": 256}


def _plain(value: Any, where: str, source: Path) -> Any:
    """Init kwargs as JSON-able plain values (EasyDicts to dicts, tuples to lists)."""
    if isinstance(value, Mapping):
        if not all(isinstance(key, str) for key in value):
            raise CheckpointError(f"{source}: non-string key in {where}.")
        return {key: _plain(item, f"{where}.{key}", source) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, where, source) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise CheckpointError(f"{source}: unexpected {type(value).__name__} in {where}.")


def _init_kwargs(record: PersistentRecord, kind: Kind, source: Path) -> dict[str, Any]:
    args = record.state.get("_init_args", ())
    kwargs = record.state.get("_init_kwargs", {})
    if not isinstance(args, (tuple, list)) or not isinstance(kwargs, Mapping):
        raise CheckpointError(f"{source}: the {kind} has malformed init arguments.")
    if len(args) > len(_PARAMS[kind]):
        raise CheckpointError(f"{source}: the {kind} has {len(args)} positional init arguments; too many.")
    merged = dict(zip(_PARAMS[kind][: len(args)], args, strict=True))
    merged.update(kwargs)
    return _plain(merged, f"{kind} init kwargs", source)


def _walk(record: PersistentRecord, prefix: str = "") -> Iterator[tuple[str, PersistentRecord]]:
    """Yield (path, record) for the record and all its persistent submodules."""
    yield prefix, record
    modules = record.state.get("_modules", {})
    for name, child in modules.items() if isinstance(modules, Mapping) else ():
        if isinstance(child, PersistentRecord):
            yield from _walk(child, f"{prefix}{name}.")


def _state_dict(record: PersistentRecord, source: Path, prefix: str = "") -> dict[str, torch.Tensor]:
    """What `state_dict()` would return: parameters, persistent buffers, submodules, recursively."""
    state = record.state
    parameters, buffers = state.get("_parameters", {}), state.get("_buffers", {})
    modules, non_persistent = state.get("_modules", {}), state.get("_non_persistent_buffers_set", set())
    if not all(isinstance(part, Mapping) for part in (parameters, buffers, modules)):
        raise CheckpointError(f"{source}: module {prefix or '<root>'} has a malformed state.")
    result: dict[str, torch.Tensor] = {}
    entries = [*parameters.items(), *((n, b) for n, b in buffers.items() if n not in non_persistent)]
    for name, tensor in entries:
        if tensor is None:
            continue
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"{source}: {prefix}{name} is not a tensor.")
        result[f"{prefix}{name}"] = tensor
    for name, child in modules.items():
        if child is None:
            continue
        if not isinstance(child, PersistentRecord):
            raise CheckpointError(f"{source}: submodule {prefix}{name} is not a network layer.")
        result.update(_state_dict(child, source, f"{prefix}{name}."))
    return result


def _is_stylegan3(record: PersistentRecord, kwargs: Mapping[str, Any]) -> bool:
    if _SG3_KWARGS & kwargs.keys():
        return True
    for _, node in _walk(record):
        if node.class_name in _SG3_CLASSES or any(marker in node.module_src for marker in _SG3_SOURCE):
            return True
    return False


def _from_stylegan3_repo(record: PersistentRecord, kwargs: Mapping[str, Any]) -> bool:
    return _SG3_REPO_MARKER in kwargs or _SG3_REPO_MARKER in record.module_src


def _ada_generator_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """stylegan3-repo StyleGAN2 generator kwargs in the ADA form (synthesis kwargs nested)."""
    top = {key: kwargs[key] for key in _G_TOP_LEVEL if key in kwargs}
    synthesis = {key: value for key, value in kwargs.items() if key not in top and key != _SG3_REPO_MARKER}
    top["synthesis_kwargs"] = {**_SG3_REPO_DEFAULTS, **synthesis}
    return top


def _network(data: Mapping[str, Any], key: str, kind: Kind, source: Path) -> torch.nn.Module:
    record = data[key]
    if not isinstance(record, PersistentRecord):
        raise CheckpointError(f"{source}: '{key}' is not a pickled network.")
    kwargs = _init_kwargs(record, kind, source)
    architecture: Architecture = "stylegan3" if kind == "generator" and _is_stylegan3(record, kwargs) else "stylegan2"
    if record.class_name != _CLASS_NAMES[kind]:
        family = "StyleGAN3" if architecture == "stylegan3" else "StyleGAN2"
        raise CheckpointError(f"{source}: '{key}' is a {record.class_name}, expected a {family} {_CLASS_NAMES[kind]}.")
    if architecture == "stylegan2" and _from_stylegan3_repo(record, kwargs):
        kwargs = _ada_generator_kwargs(kwargs) if kind == "generator" else {**_SG3_REPO_DEFAULTS, **kwargs}
    state = _state_dict(record, source)
    return build_network(
        kind, kwargs, state, source=str(source), prefix=f"{key}.", shapes_first=True, architecture=architecture
    )


def read_nvidia_pickle(path: str | Path) -> ImportedNetworks:
    """G_ema (else G) and D from a StyleGAN2(-ADA) or StyleGAN3 network pickle, without running its code."""
    source = Path(path)
    data = load_restricted(source)
    if not isinstance(data, Mapping) or not any(isinstance(data.get(k), PersistentRecord) for k in ("G_ema", "G")):
        raise CheckpointError(
            f"{source}: a pickle, but not a StyleGAN2 or StyleGAN3 network pickle (no G_ema or G network in it)."
        )
    notes: list[str] = []
    g_key = "G_ema" if isinstance(data.get("G_ema"), PersistentRecord) else "G"
    if g_key == "G":
        notes.append("the pickle has no G_ema; imported G (the non-averaged generator) instead")
    G = _network(data, g_key, "generator", source)
    D = _network(data, "D", "discriminator", source) if data.get("D") is not None else None
    if D is None:
        notes.append("the pickle has no discriminator")
    return ImportedNetworks(G, D, tuple(notes))
