"""Import rosinality/stylegan2-pytorch checkpoints (`{'g_ema': ..., 'd': ..., 'latent_avg': ...}`).

rosinality's layers compute the same functions as the official ADA "config F" networks
(skip generator, resnet discriminator, equalized learning rate); only names and a few
shapes differ. Both store raw weights and apply the same runtime gains
(`1/sqrt(fan_in) * lr_mul` on weights, `lr_mul` on biases), so values map 1:1. The
upsampling convs need no flip either: both run `conv_transpose2d` on the stored weight
(both projects flip the TensorFlow weights when converting those). Only shapes change:
rosinality keeps leading singleton dims (`[1, O, I, k, k]` modulated weights, `[1, C, 4, 4]`
const, `[1]` noise strength, `[1, 1, H, W]` noise, `[1, 3, 1, 1]` toRGB bias).

Generator map (`res = 2**(k + 3)` for the k-th upsampling stage; `i` = 0..n_mlp-1):

    style.{i+1}.weight / .bias            -> mapping.fc{i}.weight / .bias
    latent_avg                            -> mapping.w_avg
    input.input                           -> synthesis.b4.const
    conv1.conv.weight                     -> synthesis.b4.conv1.weight
    conv1.conv.modulation.weight / .bias  -> synthesis.b4.conv1.affine.weight / .bias
    conv1.noise.weight                    -> synthesis.b4.conv1.noise_strength
    conv1.activate.bias                   -> synthesis.b4.conv1.bias
    noises.noise_0                        -> synthesis.b4.conv1.noise_const
    to_rgb1.conv.weight / .modulation.*   -> synthesis.b4.torgb.weight / .affine.*
    to_rgb1.bias                          -> synthesis.b4.torgb.bias
    convs.{2k}.*                          -> synthesis.b{res}.conv0.*   (upsampling conv)
    convs.{2k+1}.*                        -> synthesis.b{res}.conv1.*
    noises.noise_{2k+1} / noise_{2k+2}    -> synthesis.b{res}.conv0 / conv1.noise_const
    to_rgbs.{k}.*                         -> synthesis.b{res}.torgb.*

Discriminator map (`res = size / 2**(j - 1)` for the j-th ResBlock):

    convs.0.0.weight / convs.0.1.bias     -> b{size}.fromrgb.weight / .bias
    convs.{j}.conv1.0.weight / .1.bias    -> b{res}.conv0.weight / .bias
    convs.{j}.conv2.1.weight / .2.bias    -> b{res}.conv1.weight / .bias
    convs.{j}.skip.1.weight               -> b{res}.skip.weight
    final_conv.0.weight / .1.bias         -> b4.conv.weight / .bias
    final_linear.0.*, final_linear.1.*    -> b4.fc.*, b4.out.*

rosinality's blur kernels (`*.blur.kernel`, `*.upsample.kernel`, `convs.{j}.*.0.kernel`) must be
the default [1, 3, 3, 1] filter; ADA's `resample_filter` buffers are the same filter.
"""

from __future__ import annotations

import argparse
import math
import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from latentedit.checkpoints.build import ImportedNetworks, Kind, build_network, check_settings
from latentedit.errors import CheckpointError, UnsafePickleError

MAPPING_LR_MULTIPLIER = 0.01  # rosinality's Generator(lr_mlp=0.01) default; not stored in checkpoints
W_AVG_SAMPLES = 10_000
_SEED = 0
_FILTERS = ("resample_filter",)  # ADA's [1,3,3,1] buffers: the same filter rosinality hard-codes


@dataclass(frozen=True)
class KeyRule:
    """One rosinality tensor and the ADA state-dict entry it becomes.

    `transform`: `copy`, `drop_batch` (drop a leading 1), `scalar` (`[1]` -> `[]`),
    `noise` (`[1, 1, H, W]` -> `[H, W]`) or `rgb_bias` (`[1, C, 1, 1]` -> `[C]`).
    """

    source: str
    target: str
    transform: str = "copy"


def _require(ok: bool, source: Path, key: str, shape: torch.Size) -> None:
    if not ok:
        raise CheckpointError(f"{source}: rosinality tensor {key} has an unexpected shape {list(shape)}.")


def _apply(rule: KeyRule, tensor: torch.Tensor, source: Path) -> torch.Tensor:
    """Drop rosinality's singleton dims from one tensor (the values never change)."""
    shape, key = tensor.shape, rule.source
    if rule.transform == "copy":
        return tensor
    if rule.transform == "drop_batch":
        _require(tensor.ndim >= 1 and shape[0] == 1, source, key, shape)
        return tensor[0]
    if rule.transform == "scalar":
        _require(tensor.numel() == 1, source, key, shape)
        return tensor.reshape(())
    if rule.transform == "noise":
        _require(tensor.ndim == 4 and shape[:2] == (1, 1), source, key, shape)
        return tensor[0, 0]
    _require(tensor.ndim == 4 and shape[0] == 1 and shape[2:] == (1, 1), source, key, shape)
    return tensor.reshape(-1)


def _styled(source: str, target: str) -> list[KeyRule]:
    return [
        KeyRule(f"{source}.conv.weight", f"{target}.weight", "drop_batch"),
        KeyRule(f"{source}.conv.modulation.weight", f"{target}.affine.weight"),
        KeyRule(f"{source}.conv.modulation.bias", f"{target}.affine.bias"),
        KeyRule(f"{source}.noise.weight", f"{target}.noise_strength", "scalar"),
        KeyRule(f"{source}.activate.bias", f"{target}.bias"),
    ]


def _to_rgb(source: str, target: str) -> list[KeyRule]:
    return [
        KeyRule(f"{source}.conv.weight", f"{target}.weight", "drop_batch"),
        KeyRule(f"{source}.conv.modulation.weight", f"{target}.affine.weight"),
        KeyRule(f"{source}.conv.modulation.bias", f"{target}.affine.bias"),
        KeyRule(f"{source}.bias", f"{target}.bias", "rgb_bias"),
    ]


def generator_rules(log_size: int, n_mlp: int) -> list[KeyRule]:
    """The generator key map for a `2**log_size` px rosinality Generator (see module doc)."""
    rules = [KeyRule(f"style.{i + 1}.{p}", f"mapping.fc{i}.{p}") for i in range(n_mlp) for p in ("weight", "bias")]
    rules.append(KeyRule("input.input", "synthesis.b4.const", "drop_batch"))
    rules += _styled("conv1", "synthesis.b4.conv1")
    rules.append(KeyRule("noises.noise_0", "synthesis.b4.conv1.noise_const", "noise"))
    rules += _to_rgb("to_rgb1", "synthesis.b4.torgb")
    for k in range(log_size - 2):
        block = f"synthesis.b{2 ** (k + 3)}"
        rules += _styled(f"convs.{2 * k}", f"{block}.conv0")
        rules += _styled(f"convs.{2 * k + 1}", f"{block}.conv1")
        rules.append(KeyRule(f"noises.noise_{2 * k + 1}", f"{block}.conv0.noise_const", "noise"))
        rules.append(KeyRule(f"noises.noise_{2 * k + 2}", f"{block}.conv1.noise_const", "noise"))
        rules += _to_rgb(f"to_rgbs.{k}", f"{block}.torgb")
    return rules


def discriminator_rules(log_size: int) -> list[KeyRule]:
    """The discriminator key map for a `2**log_size` px rosinality Discriminator (see module doc)."""
    size = 2**log_size
    rules = [KeyRule("convs.0.0.weight", f"b{size}.fromrgb.weight"), KeyRule("convs.0.1.bias", f"b{size}.fromrgb.bias")]
    for j in range(1, log_size - 1):
        block = f"b{size >> (j - 1)}"
        rules += [
            KeyRule(f"convs.{j}.conv1.0.weight", f"{block}.conv0.weight"),
            KeyRule(f"convs.{j}.conv1.1.bias", f"{block}.conv0.bias"),
            KeyRule(f"convs.{j}.conv2.1.weight", f"{block}.conv1.weight"),
            KeyRule(f"convs.{j}.conv2.2.bias", f"{block}.conv1.bias"),
            KeyRule(f"convs.{j}.skip.1.weight", f"{block}.skip.weight"),
        ]
    rules += [
        KeyRule("final_conv.0.weight", "b4.conv.weight"),
        KeyRule("final_conv.1.bias", "b4.conv.bias"),
        KeyRule("final_linear.0.weight", "b4.fc.weight"),
        KeyRule("final_linear.0.bias", "b4.fc.bias"),
        KeyRule("final_linear.1.weight", "b4.out.weight"),
        KeyRule("final_linear.1.bias", "b4.out.bias"),
    ]
    return rules


def _blur_kernels(kind: Kind, log_size: int) -> dict[str, float]:
    """rosinality's filter buffers (not carried over) and the gain each must have."""
    if kind == "generator":
        return {
            **{f"convs.{2 * k}.conv.blur.kernel": 4.0 for k in range(log_size - 2)},
            **{f"to_rgbs.{k}.upsample.kernel": 4.0 for k in range(log_size - 2)},
        }
    blocks = range(1, log_size - 1)
    return {f"convs.{j}.{layer}.0.kernel": 1.0 for j in blocks for layer in ("conv2", "skip")}


def _default_kernel(gain: float) -> torch.Tensor:
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0])
    kernel = taps[:, None] * taps[None, :]
    return kernel / kernel.sum() * gain


def _get(state: Mapping[str, Any], key: str, source: Path, what: str) -> torch.Tensor:
    value = state.get(key)
    if not isinstance(value, torch.Tensor):
        raise CheckpointError(f"{source}: the {what} has no tensor {key}; is this a rosinality StyleGAN2 checkpoint?")
    return value


def _count(state: Mapping[str, Any], pattern: str) -> int:
    """How many layers a key pattern numbers; gaps show up later as missing tensors."""
    return len({m.group(1) for key in state if (m := re.fullmatch(pattern, key))})


def channel_params(channels: Mapping[int, int], source: Path) -> tuple[int, int]:
    """ADA (channel_base, channel_max) reproducing `channels` (resolution -> channel count)."""
    channel_max = max(channels.values())
    for base in sorted({count * res for res, count in channels.items()}):
        if all(min(base // res, channel_max) == count for res, count in channels.items()):
            return base, channel_max
    raise CheckpointError(
        f"{source}: channel counts {dict(sorted(channels.items()))} do not fit ADA's channel_base/channel_max rule."
    )


def _convert(
    state: Mapping[str, Any], rules: list[KeyRule], kernels: Mapping[str, float], source: Path, what: str
) -> dict[str, torch.Tensor]:
    """Apply the key map; every rosinality tensor must be either mapped or a default blur kernel."""
    converted = {rule.target: _apply(rule, _get(state, rule.source, source, what), source) for rule in rules}
    for key, gain in kernels.items():
        kernel = _get(state, key, source, what)
        if kernel.shape != (4, 4) or not torch.allclose(kernel.float(), _default_kernel(gain)):
            raise CheckpointError(f"{source}: {key} is not the default [1,3,3,1] blur kernel; cannot map it to ADA.")
    leftover = sorted(set(state) - {rule.source for rule in rules} - set(kernels))
    if leftover:
        raise CheckpointError(f"{source}: unexpected tensor {leftover[0]} in the {what}; not a rosinality StyleGAN2?")
    return converted


def _estimate_w_avg(state: Mapping[str, torch.Tensor], n_mlp: int) -> torch.Tensor:
    """Mean mapping output over seeded samples, the way rosinality's `mean_latent` estimates it."""
    z_dim = state["style.1.weight"].shape[1]
    x = torch.randn(W_AVG_SAMPLES, z_dim, generator=torch.Generator().manual_seed(_SEED))
    x = x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)
    for i in range(1, n_mlp + 1):
        weight, bias = state[f"style.{i}.weight"].float(), state[f"style.{i}.bias"].float()
        scale = MAPPING_LR_MULTIPLIER / math.sqrt(weight.shape[1])
        x = torch.nn.functional.leaky_relu(x @ (weight * scale).t() + bias * MAPPING_LR_MULTIPLIER, 0.2) * math.sqrt(2)
    return x.mean(dim=0)


def _seeded_noise(log_size: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(_SEED)
    sizes = [4] + [2 ** (k // 2 + 3) for k in range(2 * (log_size - 2))]
    return {f"noises.noise_{i}": torch.randn(1, 1, s, s, generator=generator) for i, s in enumerate(sizes)}


def convert_generator(
    state: Mapping[str, Any], latent_avg: torch.Tensor | None, source: Path
) -> tuple[dict[str, Any], dict[str, torch.Tensor], list[str]]:
    """ADA Generator init kwargs and state dict for a rosinality `g_ema` state dict, plus notes."""
    what, notes = "generator", []
    n_mlp = _count(state, r"style\.(\d+)\.weight")
    n_convs = _count(state, r"convs\.(\d+)\.conv\.weight")
    if n_mlp < 1 or n_convs % 2:
        raise CheckpointError(f"{source}: the generator does not look like a rosinality StyleGAN2 generator.")
    log_size = n_convs // 2 + 2
    # before anything is sized from them (const noise is drawn per resolution)
    check_settings(
        "generator", {"img_resolution": 2**log_size, "mapping_kwargs": {"num_layers": n_mlp}}, source=str(source)
    )
    state = dict(state)
    if not any(key.startswith("noises.") for key in state):
        state.update(_seeded_noise(log_size))
        notes.append("the checkpoint has no noise buffers; const noise was drawn from seed 0")
    converted = _convert(state, generator_rules(log_size, n_mlp), _blur_kernels("generator", log_size), source, what)
    if latent_avg is None:
        latent_avg = _estimate_w_avg(state, n_mlp)
        notes.append(f"the checkpoint has no latent_avg; w_avg estimated from {W_AVG_SAMPLES} mapped samples")
    converted["mapping.w_avg"] = latent_avg.reshape(-1)
    channels = {
        2 ** (k + 3): converted[f"synthesis.b{2 ** (k + 3)}.conv0.weight"].shape[0] for k in range(log_size - 2)
    }
    channels[4] = converted["synthesis.b4.const"].shape[0]
    channel_base, channel_max = channel_params(channels, source)
    style = converted["mapping.fc0.weight"]
    kwargs = {
        "z_dim": int(style.shape[1]),
        "c_dim": 0,
        "w_dim": int(converted[f"mapping.fc{n_mlp - 1}.weight"].shape[0]),
        "img_resolution": 2**log_size,
        "img_channels": int(converted["synthesis.b4.torgb.weight"].shape[0]),
        "mapping_kwargs": {"num_layers": n_mlp, "lr_multiplier": MAPPING_LR_MULTIPLIER},
        "synthesis_kwargs": {
            "channel_base": channel_base,
            "channel_max": channel_max,
            "architecture": "skip",
            "num_fp16_res": 0,
            "conv_clamp": None,
        },
    }
    return kwargs, converted, notes


def convert_discriminator(state: Mapping[str, Any], source: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """ADA resnet Discriminator init kwargs and state dict for a rosinality `d` state dict."""
    n_blocks = _count(state, r"convs\.(\d+)\.conv1\.0\.weight")
    if n_blocks < 1:
        raise CheckpointError(f"{source}: the discriminator does not look like a rosinality StyleGAN2 discriminator.")
    log_size = n_blocks + 2
    check_settings("discriminator", {"img_resolution": 2**log_size}, source=str(source))
    kernels = _blur_kernels("discriminator", log_size)
    converted = _convert(state, discriminator_rules(log_size), kernels, source, "discriminator")
    size = 2**log_size
    channels = {res: converted[f"b{res}.conv0.weight"].shape[0] for res in (size >> j for j in range(n_blocks))}
    channels[4] = converted["b4.conv.weight"].shape[0]
    channel_base, channel_max = channel_params(channels, source)
    kwargs = {
        "c_dim": 0,
        "img_resolution": size,
        "img_channels": int(converted[f"b{size}.fromrgb.weight"].shape[1]),
        "architecture": "resnet",
        "channel_base": channel_base,
        "channel_max": channel_max,
        "num_fp16_res": 0,
        "conv_clamp": None,
        "epilogue_kwargs": {"mbstd_group_size": 4, "mbstd_num_channels": 1},
    }
    return kwargs, converted


def _reason(exc: BaseException) -> str:
    """The informative sentence of an exception message (torch's are paragraphs)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    line = next((line for line in lines if "GLOBAL" in line), lines[0] if lines else type(exc).__name__)
    return line.split(". ")[0].rstrip(".")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """`torch.load(weights_only=True)`, allowing only the argparse.Namespace of training checkpoints."""
    source = Path(path)
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            data = torch.load(source, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        if "Weights only load failed" in str(exc):
            raise UnsafePickleError(f"{source}: refusing to load: {_reason(exc)} (torch weights-only loader).") from exc
        raise CheckpointError(f"{source}: corrupt torch checkpoint ({_reason(exc)}).") from exc
    except OSError as exc:
        raise CheckpointError(f"{source}: cannot read it ({exc.strerror or exc}).") from exc
    except Exception as exc:  # torch reports damaged zip archives and pickles with various error types
        raise CheckpointError(f"{source}: corrupt or truncated torch checkpoint ({_reason(exc)}).") from exc
    if not isinstance(data, Mapping):
        raise CheckpointError(f"{source}: a torch file, but not a rosinality checkpoint (expected a dict with g_ema).")
    return dict(data)


def read_rosinality(path: str | Path) -> ImportedNetworks:
    """G (from g_ema, else g) and D (from d, if present) of a rosinality checkpoint, as latentedit networks."""
    source = Path(path)
    data = load_checkpoint(source)
    g_key = next((key for key in ("g_ema", "g") if isinstance(data.get(key), Mapping)), None)
    if g_key is None:
        keys = ", ".join(sorted(map(str, data))[:8]) or "nothing"
        raise CheckpointError(f"{source}: not a rosinality checkpoint: no g_ema state dict (it holds {keys}).")
    latent_avg = data.get("latent_avg")
    if latent_avg is not None and not isinstance(latent_avg, torch.Tensor):
        raise CheckpointError(f"{source}: latent_avg is not a tensor.")
    g_kwargs, g_state, notes = convert_generator(data[g_key], latent_avg, source)
    if g_key == "g":
        notes.insert(0, "the checkpoint has no g_ema; imported g (the non-averaged generator) instead")
    common = {"source": str(source), "init_buffers": _FILTERS, "shapes_first": True}
    G = build_network("generator", g_kwargs, g_state, prefix="G.", **common)
    D = None
    if isinstance(data.get("d"), Mapping):
        d_kwargs, d_state = convert_discriminator(data["d"], source)
        D = build_network("discriminator", d_kwargs, d_state, prefix="D.", **common)
    else:
        notes.append("the checkpoint has no discriminator")
    return ImportedNetworks(G, D, tuple(notes))
