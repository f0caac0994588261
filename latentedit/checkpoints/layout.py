"""latentedit's own checkpoint layout: one safetensors file, no code, self-describing.

Tensors are `G.<key>` (the EMA generator) and optionally `D.<key>`, with the official
state-dict keys (StyleGAN2-ADA's, or StyleGAN3's for a StyleGAN3 generator); `__metadata__`
holds the init kwargs as JSON and the generator's `architecture` (absent: stylegan2), so the
file alone rebuilds the networks and loading it can never run code.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import torch
from safetensors import SafetensorError, safe_open

from latentedit.checkpoints.build import ARCHITECTURES, Architecture, architecture_of, build_network
from latentedit.errors import CheckpointError
from latentedit.fileio import atomic_write, check_writable
from latentedit.reproducible import save_safetensors

FORMAT_KEY = "latentedit.checkpoint"
FORMAT_VERSION = "1"
SOURCE_FORMATS = ("nvidia-pickle", "rosinality", "latentedit")
ARCHITECTURE_KEY = "architecture"
_PREFIXES = {"generator": "G.", "discriminator": "D."}


class LoadedNetworks(NamedTuple):
    """What `load_networks` returns; unpacks as `G, D, metadata = load_networks(path)`."""

    G: torch.nn.Module
    D: torch.nn.Module | None
    metadata: dict[str, str]


def _tensors(prefix: str, net: torch.nn.Module) -> dict[str, torch.Tensor]:
    # clone: safetensors refuses tensors that share memory, and a network may share a filter buffer
    return {f"{prefix}{key}": value.detach().cpu().contiguous().clone() for key, value in net.state_dict().items()}


def _kwargs_json(net: torch.nn.Module, role: str) -> str:
    kwargs = getattr(net, "init_kwargs", None)
    if not isinstance(kwargs, dict):
        raise CheckpointError(f"Cannot save the {role}: it has no init_kwargs (is it a latentedit.nets network?).")
    try:
        return json.dumps(kwargs, sort_keys=True)
    except TypeError as exc:
        raise CheckpointError(f"Cannot save the {role}: its init_kwargs are not JSON ({exc}).") from exc


def save_networks(
    path: str | os.PathLike[str],
    G: torch.nn.Module,
    D: torch.nn.Module | None = None,
    *,
    source_format: str,
    source_sha256: str = "",
    source_name: str = "",
    force: bool = False,
) -> Path:
    """Write G (and D) atomically; refuse to overwrite an existing file unless `force`."""
    target = check_writable(path, force)
    if source_format not in SOURCE_FORMATS:
        raise CheckpointError(f"Unknown source_format {source_format!r}; expected one of {', '.join(SOURCE_FORMATS)}.")
    metadata = {
        FORMAT_KEY: FORMAT_VERSION,
        ARCHITECTURE_KEY: architecture_of(G),
        "generator": _kwargs_json(G, "generator"),
        "source_format": source_format,
        "source_sha256": source_sha256,
        "source_name": source_name,
    }
    tensors = _tensors(_PREFIXES["generator"], G)
    if D is not None:
        metadata["discriminator"] = _kwargs_json(D, "discriminator")
        tensors.update(_tensors(_PREFIXES["discriminator"], D))
    return atomic_write(target, lambda tmp: save_safetensors(tensors, tmp, metadata))


def _open(path: Path) -> Any:
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file.")
    try:
        return safe_open(str(path), framework="pt", device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(
            f"{path}: not a safetensors file ({reason}); import checkpoints with `latentedit import-checkpoint`."
        ) from exc


def _kwargs(metadata: dict[str, str], key: str, path: Path) -> dict[str, Any]:
    try:
        kwargs = json.loads(metadata[key])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: metadata '{key}' is not valid JSON ({exc.msg}).") from exc
    except RecursionError:
        raise CheckpointError(f"{path}: metadata '{key}' nests JSON too deeply to be init kwargs.") from None
    if not isinstance(kwargs, dict):
        raise CheckpointError(f"{path}: metadata '{key}' must be a JSON object of init kwargs.")
    return kwargs


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The validated `__metadata__` of a latentedit checkpoint (no tensors are read)."""
    target = Path(path)
    with _open(target) as handle:
        metadata = dict(handle.metadata() or {})
    version = metadata.get(FORMAT_KEY)
    if version is None:
        raise CheckpointError(
            f"{target}: not a latentedit checkpoint (no '{FORMAT_KEY}' metadata); "
            "import it with `latentedit import-checkpoint`."
        )
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{target}: checkpoint layout version {version!r} is not supported (expected 1).")
    if "generator" not in metadata:
        raise CheckpointError(f"{target}: metadata has no 'generator' init kwargs.")
    if metadata.get(ARCHITECTURE_KEY, "stylegan2") not in ARCHITECTURES:
        raise CheckpointError(
            f"{target}: metadata '{ARCHITECTURE_KEY}' is {metadata[ARCHITECTURE_KEY]!r}; "
            f"expected one of {', '.join(ARCHITECTURES)}."
        )
    if metadata.get("source_format") not in SOURCE_FORMATS:
        raise CheckpointError(
            f"{target}: metadata 'source_format' is {metadata.get('source_format')!r}, not a known one."
        )
    return metadata


def architecture(metadata: dict[str, str]) -> Architecture:
    """The generator architecture a checkpoint's (validated) metadata names; files without one are StyleGAN2."""
    return "stylegan3" if metadata.get(ARCHITECTURE_KEY) == "stylegan3" else "stylegan2"


def _split(keys: Iterable[str], roles: list[str], path: Path) -> dict[str, list[str]]:
    """Group tensor names by network; a name outside the expected networks is an error."""
    groups: dict[str, list[str]] = {role: [] for role in roles}
    for key in keys:
        role = next((r for r in roles if key.startswith(_PREFIXES[r])), None)
        if role is None:
            raise CheckpointError(f"{path}: unexpected tensor {key}.")
        groups[role].append(key)
    return groups


def load_networks(
    path: str | os.PathLike[str], device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> LoadedNetworks:
    """Rebuild G (and D) from a checkpoint, validating every key, shape and value; fp16 files load as `dtype`."""
    target = Path(path)
    metadata = read_metadata(target)
    roles = ["generator", "discriminator"] if "discriminator" in metadata else ["generator"]
    nets: dict[str, torch.nn.Module] = {}
    with _open(target) as handle:
        groups = _split(handle.keys(), roles, target)
        for role in roles:
            prefix, keys = _PREFIXES[role], groups[role]
            state = {key[len(prefix) :]: handle.get_tensor(key) for key in keys}
            kwargs = _kwargs(metadata, role, target)
            nets[role] = build_network(
                role,
                kwargs,
                state,
                source=str(target),
                prefix=prefix,
                dtype=dtype,
                device=device,
                architecture=architecture(metadata),
            )
    return LoadedNetworks(nets["generator"], nets.get("discriminator"), metadata)


def _digest(items: Iterable[tuple[str, torch.Tensor]]) -> str:
    digest = hashlib.sha256()
    for key, tensor in sorted(items, key=lambda item: item[0]):
        canonical = tensor.detach().cpu().to(torch.float32).contiguous()
        digest.update(f"{key}:{list(canonical.shape)};".encode())
        digest.update(canonical.numpy().data)
    return digest.hexdigest()[:12]


def fingerprint(source: str | os.PathLike[str] | LoadedNetworks | torch.nn.Module) -> str:
    """12 hex digits identifying the generator weights, so an edit refuses another generator.

    Hashes sorted state-dict keys, shapes and float32 values: a file, its loaded networks
    and the generator module all give the same value, whatever dtype the file stores.
    """
    if isinstance(source, LoadedNetworks):
        source = source.G
    if isinstance(source, torch.nn.Module):
        return _digest(source.state_dict().items())
    target = Path(source)
    read_metadata(target)
    prefix = _PREFIXES["generator"]
    with _open(target) as handle:
        return _digest((key[len(prefix) :], handle.get_tensor(key)) for key in handle.keys() if key.startswith(prefix))
