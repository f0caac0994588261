"""Turn (init kwargs, state dict) into a latentedit network, or one line saying what is wrong.

Every reader (our safetensors layout, NVIDIA pickles, rosinality checkpoints) ends here,
so a bad tensor is reported the same way whatever the source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NamedTuple

import torch

from latentedit.errors import CheckpointError

Kind = Literal["generator", "discriminator"]


class ImportedNetworks(NamedTuple):
    """A reader's result: the networks plus remarks worth showing the user (e.g. a fallback taken)."""

    G: torch.nn.Module
    D: torch.nn.Module | None
    notes: tuple[str, ...] = ()


def network_class(kind: Kind) -> type[torch.nn.Module]:
    """The latentedit network class (imported late: it pulls in the whole model code)."""
    from latentedit import nets

    return nets.Generator if kind == "generator" else nets.Discriminator


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _listing(keys: list[str], prefix: str) -> str:
    more = f" (and {len(keys) - 1} more)" if len(keys) > 1 else ""
    return f"{prefix}{keys[0]}{more}"


def check_state(
    template: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor], *, source: str, prefix: str = ""
) -> None:
    """Raise CheckpointError unless `state` has exactly the template's keys and shapes, all finite."""
    missing = sorted(template.keys() - state.keys())
    if missing:
        raise CheckpointError(f"{source}: missing tensor {_listing(missing, prefix)}.")
    unexpected = sorted(state.keys() - template.keys())
    if unexpected:
        raise CheckpointError(f"{source}: unexpected tensor {_listing(unexpected, prefix)}.")
    for key, reference in template.items():
        tensor = state[key]
        if tuple(tensor.shape) != tuple(reference.shape):
            raise CheckpointError(
                f"{source}: tensor {prefix}{key} has shape {list(tensor.shape)}, expected {list(reference.shape)}."
            )
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{source}: tensor {prefix}{key} has non-finite values (NaN or inf).")


def build_network(
    kind: Kind,
    kwargs: Mapping[str, Any],
    state: Mapping[str, torch.Tensor],
    *,
    source: str,
    prefix: str = "",
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    init_buffers: tuple[str, ...] = (),
) -> torch.nn.Module:
    """Construct the network from `kwargs`, validate `state` against it, load it strictly.

    Entries named in `init_buffers` (last key component) that `state` lacks keep the value
    the constructor gave them: fixed filters that a foreign format does not store.
    """
    try:
        net = network_class(kind)(**kwargs)
    except Exception as exc:  # the constructor validates its kwargs with asserts, TypeErrors, KeyErrors...
        raise CheckpointError(f"{source}: the {kind} settings are not valid ({_one_line(exc)}).") from exc
    template = net.state_dict()
    state = {
        **{key: value for key, value in template.items() if key.rsplit(".", 1)[-1] in init_buffers},
        **state,
    }
    check_state(template, state, source=source, prefix=prefix)
    converted = {key: value.to(dtype) if value.is_floating_point() else value for key, value in state.items()}
    net.load_state_dict(converted, strict=True)
    return net.to(device=device, dtype=dtype).eval().requires_grad_(False)
