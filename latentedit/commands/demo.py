"""`latentedit demo`: the README's main job, end to end on the default backend."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentedit.commands.common import DeviceOpt, QuietOpt
from latentedit.console import note, out
from latentedit.errors import CheckpointError


def demo_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo's pictures.")] = Path("demo-out"),
    device: DeviceOpt = "cpu",
    quiet: QuietOpt = False,
) -> None:
    """Run the main job on the embedded default and write its pictures to --out.

    While the embedded world's trained generator is not shipped, this draws a sample grid from
    a randomly initialised StyleGAN2 instead, and says so.
    """
    import torch

    from latentedit.backend import load_backend
    from latentedit.images import grid, save_png, to_uint8

    try:
        backend = load_backend("embedded", device)
    except CheckpointError as exc:
        note(f"[yellow]{exc}[/yellow]", quiet)
        note(
            "[yellow]Demo uses a RANDOMLY INITIALISED StyleGAN2 (random:64): the images are not faces.[/yellow]",
            quiet,
        )
        backend = load_backend("random:64", device)
    with torch.inference_mode():
        ws = backend.mapping(backend.z_for_seeds(list(range(16))))
        images = to_uint8(backend.synthesize(ws))
    path = save_png(
        grid(images, columns=4, pad=2), out_dir / f"samples-{backend.name.replace(':', '-')}.png", force=True
    )
    out().print(f"Backend {backend.name}: wrote a 16-sample grid to {path}")
