"""Turn (init kwargs, state dict) into a latentedit network, or one line saying what is wrong.

Every reader (our safetensors layout, NVIDIA pickles, rosinality checkpoints) ends here,
so a bad setting or tensor is reported the same way whatever the source. Settings are
checked against the architecture's sane ranges (StyleGAN2, or StyleGAN3 for its generator)
before anything is built; imports of foreign files
also check their tensors against the network laid out on the meta device (no memory) first,
so what an import allocates is bounded by the tensors the file actually holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple

import torch

from latentedit.errors import CheckpointError

Kind = Literal["generator", "discriminator"]
Architecture = Literal["stylegan2", "stylegan3"]
ARCHITECTURES: tuple[Architecture, ...] = ("stylegan2", "stylegan3")
"""Generator architectures latentedit builds; StyleGAN3 networks use StyleGAN2's discriminator."""
_NAMES: dict[str, str] = {"stylegan2": "StyleGAN2", "stylegan3": "StyleGAN3"}


class ImportedNetworks(NamedTuple):
    """A reader's result: the networks plus remarks worth showing the user (e.g. a fallback taken)."""

    G: torch.nn.Module
    D: torch.nn.Module | None
    notes: tuple[str, ...] = ()


def network_class(kind: Kind, architecture: Architecture = "stylegan2") -> type[torch.nn.Module]:
    """The latentedit network class (imported late: it pulls in the whole model code)."""
    from latentedit import nets

    if kind == "discriminator":
        return nets.Discriminator
    return nets.StyleGAN3Generator if architecture == "stylegan3" else nets.Generator


def architecture_of(generator: torch.nn.Module) -> Architecture:
    """Which architecture a latentedit generator is (what the checkpoint layout records)."""
    from latentedit import nets

    return "stylegan3" if isinstance(generator, nets.StyleGAN3Generator) else "stylegan2"


Check = Callable[[Any], str | None]
"""A setting's check: None if the value is sane, else what was expected."""

_ACTIVATIONS = ("linear", "relu", "lrelu", "tanh", "sigmoid", "elu", "selu", "softplus", "swish")


def _integer(low: int, high: int, *, none: bool = False) -> Check:
    def check(value: Any) -> str | None:
        if value is None and none:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return None
        return f"an integer in {low}..{high}" + (" or null" if none else "")

    return check


def _number(low: float, high: float, *, none: bool = False, closed: bool = False) -> Check:
    """A finite number in (low, high], or [low, high] if `closed`."""

    def check(value: Any) -> str | None:
        if value is None and none:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            if (low <= value if closed else low < value) and value <= high:
                return None
        return f"a number in {'[' if closed else '('}{low:g}, {high:g}]" + (" or null" if none else "")

    return check


def _choice(*options: str) -> Check:
    return lambda value: None if value in options else f"one of {', '.join(options)}"


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _resolution(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 4 <= value <= 2048 and not value & (value - 1):
        return None
    return "a power of two in 4..2048"


def _filter(value: Any) -> str | None:
    numbers = _number(-1e6, 1e6, closed=True)
    if isinstance(value, list) and 1 <= len(value) <= 8 and all(numbers(tap) is None for tap in value):
        return None
    return "a list of 1..8 finite numbers"


_MAPPING: dict[str, Any] = {
    "num_layers": _integer(1, 32),
    "embed_features": _integer(1, 4096, none=True),
    "layer_features": _integer(1, 4096, none=True),
    "activation": _choice(*_ACTIVATIONS),
    "lr_multiplier": _number(0, 100),
    "w_avg_beta": _number(0, 1, none=True, closed=True),
}
_COMMON: dict[str, Check] = {
    "c_dim": _integer(0, 10_000),
    "img_resolution": _resolution,
    "img_channels": _integer(1, 4),
    "architecture": _choice("orig", "skip", "resnet"),
    "channel_base": _integer(1, 1 << 20),
    "channel_max": _integer(1, 1024),
    "num_fp16_res": _integer(0, 16),
    "conv_clamp": _number(0, 1e9, none=True),
    "resample_filter": _filter,
    "fp16_channels_last": _flag,
    "activation": _choice(*_ACTIVATIONS),
}
SETTINGS: dict[Kind, dict[str, Any]] = {
    "generator": {
        **{key: _COMMON[key] for key in ("c_dim", "img_resolution", "img_channels")},
        "z_dim": _integer(1, 4096),
        "w_dim": _integer(1, 4096),
        "mapping_kwargs": _MAPPING,
        "synthesis_kwargs": {
            **{key: _COMMON[key] for key in ("channel_base", "channel_max", "num_fp16_res", "conv_clamp")},
            **{key: _COMMON[key] for key in ("architecture", "resample_filter", "fp16_channels_last", "activation")},
            "kernel_size": _integer(1, 7),
            "use_noise": _flag,
        },
    },
    "discriminator": {
        **{key: _COMMON[key] for key in ("c_dim", "img_resolution", "img_channels", "architecture")},
        **{key: _COMMON[key] for key in ("channel_base", "channel_max", "num_fp16_res", "conv_clamp")},
        "cmap_dim": _integer(1, 4096, none=True),
        "block_kwargs": {
            **{key: _COMMON[key] for key in ("activation", "resample_filter", "fp16_channels_last")},
            "freeze_layers": _integer(0, 64),
        },
        "mapping_kwargs": _MAPPING,
        "epilogue_kwargs": {
            "mbstd_group_size": _integer(1, 1024, none=True),
            "mbstd_num_channels": _integer(0, 64),
            "activation": _choice(*_ACTIVATIONS),
        },
    },
}
"""The init kwargs latentedit's StyleGAN2 accepts, each with its sane range (docs/checkpoints.md)."""

STYLEGAN3_GENERATOR: dict[str, Any] = {
    **{key: SETTINGS["generator"][key] for key in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")},
    "mapping_kwargs": {key: _MAPPING[key] for key in ("num_layers", "lr_multiplier", "w_avg_beta")},
    "channel_base": _COMMON["channel_base"],
    "channel_max": _integer(1, 2048),
    "num_layers": _integer(1, 24),
    "num_critical": _integer(0, 16),
    "first_cutoff": _number(0, 1e4),
    "first_stopband": _number(0, 1e4),
    "last_stopband_rel": _number(0, 100),
    "margin_size": _integer(0, 256),
    "output_scale": _number(0, 1e6),
    "num_fp16_res": _COMMON["num_fp16_res"],
    "conv_kernel": _integer(1, 7),
    "filter_size": _integer(1, 16),
    "lrelu_upsampling": _integer(1, 8),
    "use_radial_filters": _flag,
    "conv_clamp": _COMMON["conv_clamp"],
    "magnitude_ema_beta": _number(0, 1, closed=True),
}
"""The init kwargs of StyleGAN3's generator (`networks_stylegan3.Generator`: mapping kwargs nested,
synthesis and layer kwargs flat), each with its sane range."""


def _schema(kind: Kind, architecture: Architecture) -> dict[str, Any]:
    if architecture not in ARCHITECTURES:
        raise CheckpointError(f"Unknown architecture {architecture!r}; expected one of {', '.join(ARCHITECTURES)}.")
    return STYLEGAN3_GENERATOR if (kind, architecture) == ("generator", "stylegan3") else SETTINGS[kind]


def check_settings(
    kind: Kind, kwargs: Mapping[str, Any], *, source: str, architecture: Architecture = "stylegan2"
) -> None:
    """Raise CheckpointError naming the first unknown or out-of-range setting (nested kwargs as `a.b`)."""
    family = _NAMES["stylegan3" if (kind, architecture) == ("generator", "stylegan3") else "stylegan2"]

    def walk(values: Any, schema: Mapping[str, Any], where: str) -> None:
        if values is None and where:
            return
        if not isinstance(values, Mapping):
            raise CheckpointError(f"{source}: {kind} setting {where or 'kwargs'} must be a mapping of settings.")
        for key, value in values.items():
            name = f"{where}.{key}" if where else str(key)
            check = schema.get(key) if isinstance(key, str) else None
            if check is None:
                raise CheckpointError(
                    f"{source}: unknown {kind} setting {name!r}; {family} {kind}s take {', '.join(schema)}."
                )
            if isinstance(check, Mapping):
                walk(value, check, name)
                continue
            expected = check(value)
            if expected is not None:
                raise CheckpointError(
                    f"{source}: {kind} setting {name}={_short(value)} is outside {family}'s sane range "
                    f"(expected {expected})."
                )

    walk(kwargs, _schema(kind, architecture), "")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


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
    shapes_first: bool = False,
    architecture: Architecture = "stylegan2",
) -> torch.nn.Module:
    """Construct the network from `kwargs`, validate `state` against it, load it strictly.

    Entries named in `init_buffers` (last key component) that `state` lacks keep the value
    the constructor gave them: fixed filters that a foreign format does not store.
    With `shapes_first` (imports of foreign files), `state` is checked against the network laid
    out on the meta device before the real one is built, so the import allocates no more than
    the file holds; the first meta layout costs ~3 s of torch warm-up, so loading our own layout
    (every backend start) skips it and relies on the setting ranges alone.
    """
    check_settings(kind, kwargs, source=source, architecture=architecture)
    template = _construct(kind, architecture, kwargs, source, meta=shapes_first)
    expected = template.state_dict()
    kept = {key for key in expected if key not in state and key.rsplit(".", 1)[-1] in init_buffers}
    check_state({key: value for key, value in expected.items() if key not in kept}, state, source=source, prefix=prefix)
    net = _construct(kind, architecture, kwargs, source) if shapes_first else template
    converted = {key: value.to(dtype) if value.is_floating_point() else value for key, value in state.items()}
    net.load_state_dict({**{key: net.state_dict()[key] for key in kept}, **converted}, strict=True)
    return net.to(device=device, dtype=dtype).eval().requires_grad_(False)


def _construct(
    kind: Kind, architecture: Architecture, kwargs: Mapping[str, Any], source: str, *, meta: bool = False
) -> torch.nn.Module:
    """The network for `kwargs`; on the meta device (shapes only, no memory) if `meta`."""
    try:
        if meta:
            with torch.device("meta"):
                return network_class(kind, architecture)(**kwargs)
        return network_class(kind, architecture)(**kwargs)
    except Exception as exc:  # the constructor validates its kwargs with asserts, TypeErrors, KeyErrors...
        raise CheckpointError(f"{source}: the {kind} settings are not valid ({_one_line(exc)}).") from exc
