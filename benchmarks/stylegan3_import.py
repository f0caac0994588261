"""StyleGAN3 import check: pickles written by the official code import to the same numbers.

    python -m benchmarks.stylegan3_import --official /tmp/stylegan3 --resolutions 64 256 --configs t r

For each resolution and config (stylegan3-t, or -r with its 1x1 convs, radial filters and doubled
channels, as the official train.py sets them) the official `networks_stylegan3.Generator` and its
`networks_stylegan2.Discriminator` are built from a checkout of https://github.com/NVlabs/stylegan3
(`--official`; nothing of it is vendored here), every parameter and statistic perturbed, and pickled
with the official `torch_utils.persistence`, as a training snapshot is. `latentedit import-checkpoint`'s
reader (`import_checkpoint`) converts the pickle without running it; the report gives, per network,
the largest difference between the official forward pass (its CPU reference ops, `force_fp32=True`)
and ours on the imported weights: mapping ws, images at truncation 0.7, and D logits.
"""

from __future__ import annotations

import importlib
import pickle
from pathlib import Path
from typing import Any

import torch

from benchmarks import common
from benchmarks.generator import import_official_stylegan3
from latentedit.checkpoints import import_checkpoint, load_networks

Z_DIM = 64


def perturbed(net: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Every parameter moved off its initial value, `w_avg` too, and each `magnitude_ema` in [0.5, 1.5)
    (random networks start with trivial ones), so that the comparison exercises all of them."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in net.parameters():
            tensor.add_(torch.randn(tensor.shape, generator=generator) * 0.3)
        for name, tensor in net.named_buffers():
            if name.endswith("magnitude_ema"):
                tensor.copy_(0.5 + torch.rand(tensor.shape, generator=generator))
            elif name.endswith("w_avg"):
                tensor.add_(torch.randn(tensor.shape, generator=generator) * 0.3)
    return net.eval().requires_grad_(False)


def official_networks(checkout: str, resolution: int, config: str) -> tuple[torch.nn.Module, torch.nn.Module, Any]:
    """Official G (stylegan3-`config`) and D of `resolution` px, small channels, and the `dnnlib` module."""
    networks_stylegan3 = import_official_stylegan3(checkout)
    networks_stylegan2 = importlib.import_module("training.networks_stylegan2")
    dnnlib = importlib.import_module("dnnlib")
    channel_base, channel_max = (4096 if resolution <= 256 else 8192), 64
    kwargs: dict[str, Any] = {"magnitude_ema_beta": 0.5 ** (32 / 20_000)}
    if config == "r":
        kwargs.update(conv_kernel=1, use_radial_filters=True)
        channel_base, channel_max = 2 * channel_base, 2 * channel_max
    with torch.random.fork_rng():
        torch.manual_seed(0)
        G = networks_stylegan3.Generator(
            z_dim=Z_DIM,
            c_dim=0,
            w_dim=Z_DIM,
            img_resolution=resolution,
            img_channels=3,
            mapping_kwargs=dnnlib.EasyDict(num_layers=2),
            channel_base=channel_base,
            channel_max=channel_max,
            **kwargs,
        )
        D = networks_stylegan2.Discriminator(
            c_dim=0,
            img_resolution=resolution,
            img_channels=3,
            channel_base=2048,
            channel_max=64,
            block_kwargs=dnnlib.EasyDict(freeze_layers=0),
            mapping_kwargs=dnnlib.EasyDict(),
            epilogue_kwargs=dnnlib.EasyDict(mbstd_group_size=4),
        )
    return perturbed(G, 1), perturbed(D, 2), dnnlib


def compare(checkout: str, resolution: int, config: str, work: Path) -> dict[str, Any]:
    """Pickle the official networks, import the pickle, and measure the differences."""
    G, D, dnnlib = official_networks(checkout, resolution, config)
    source = work / f"official-stylegan3-{config}-{resolution}.pkl"
    with open(source, "wb") as handle:
        snapshot = {"G": G, "D": D, "G_ema": G, "augment_pipe": None}
        pickle.dump({**snapshot, "training_set_kwargs": dnnlib.EasyDict(resolution=resolution)}, handle)
    report, seconds = common.timed(import_checkpoint, source, source.with_suffix(".safetensors"), force=True)
    ours = load_networks(report.out)
    z = torch.randn(4, Z_DIM, generator=torch.Generator().manual_seed(7))
    images = torch.randn(4, 3, resolution, resolution, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        ws_official, ws_ours = G.mapping(z, None, truncation_psi=0.7), ours.G.mapping(z, None, truncation_psi=0.7)
        official = G.synthesis(ws_official, noise_mode="const", force_fp32=True)
        made = ours.G.synthesis(ws_ours, noise_mode="const")
        logits_official, logits_ours = D(images, None, force_fp32=True), ours.D(images, None)
    return {
        "config": f"stylegan3-{config}",
        "resolution": resolution,
        "architecture": report.architecture,
        "import_seconds": round(seconds, 2),
        "ws_max_abs": float((ws_ours - ws_official).abs().max()),
        "images_max_abs": float((made - official).abs().max()),
        "images_range": float(official.abs().max()),
        "d_logits_max_abs": float((logits_ours - logits_official).abs().max()),
        "d_logits_range": float(logits_official.abs().max()),
    }


def measure(args: Any) -> dict[str, Any]:
    """One row per resolution and config, printed as it is known."""
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for resolution in args.resolutions:
        for config in args.configs:
            rows.append(compare(args.official, resolution, config, args.work))
            common.emit(rows[-1])
    return {"rows": rows}


def main(argv: list[str] | None = None) -> None:
    parser = common.parser(__doc__, work="work/stylegan3-import")
    parser.add_argument("--official", required=True, metavar="PATH", help="a checkout of NVlabs/stylegan3")
    parser.add_argument("--resolutions", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--configs", nargs="+", choices=("t", "r"), default=["t", "r"])
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
