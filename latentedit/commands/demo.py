"""`latentedit demo`: the README's main job, end to end on the embedded default."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentedit.commands.common import DeviceOpt, ForceOpt, QuietOpt
from latentedit.console import note, out, progress_bar
from latentedit.errors import CheckpointError, LatentEditError

DEMO_ATTRIBUTE = "yaw"
"""Head turn: the edit the shipped generator makes most cleanly. From 3,000 samples at strength
3 it moves yaw by 0.45 of its range with 0.06 mean change of the other attributes; InterFaceGAN's
glasses and smile directions move their targets as far but change the others by 0.13-0.16
(docs/results.md, "InterFaceGAN and pair-direction")."""
DEMO_METHOD = "interfacegan"
DEMO_SAMPLES = 3000
DEMO_INVERSION_STEPS = 300
DEMO_RESCORE_SAMPLES = 300
DEMO_PHOTO_OFFSET = 7
SWEEP = [-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0]
PHOTO, STRIP, GIF = OUTPUTS = ("photo.png", f"photo_{DEMO_ATTRIBUTE}_sweep.png", f"photo_{DEMO_ATTRIBUTE}_sweep.gif")
FALLBACK_GRID = "samples-random-64.png"


def demo_command(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo's pictures.")] = Path("demo-out"),
    device: DeviceOpt = "cpu",
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Find a head-turn ('yaw') direction, edit a held-out face photo with it, and measure the edit.

    Writes photo.png (a rendered face the GAN never saw), its yaw sweep as a strip PNG and a
    GIF, and prints the re-scoring table. Without the trained world, draws a sample grid from
    a randomly initialised StyleGAN2 instead, and says so.
    """
    from latentedit.loaders import load_backend
    from latentedit.store import edit_path

    # Everything the demo may write, checked before minutes of work rather than after.
    planned = [out_dir / name for name in (*OUTPUTS, FALLBACK_GRID)] + [edit_path(f"demo-{DEMO_ATTRIBUTE}", "embedded")]
    existing = [path for path in planned if path.exists()]
    if existing and not force:
        raise LatentEditError(f"{existing[0]} exists from an earlier demo; pass --force to replace it.")
    try:
        backend = load_backend("embedded", device)
    except CheckpointError as exc:
        note(f"[yellow]{exc}[/yellow]", quiet)
        note(
            "[yellow]Demo uses a RANDOMLY INITIALISED StyleGAN2 (random:64): the images are not faces.[/yellow]", quiet
        )
        _sample_grid(load_backend("random:64", device), out_dir)
        return
    _full_demo(backend, out_dir, force, quiet)


def _sample_grid(backend, out_dir: Path) -> None:
    import torch

    from latentedit.images import grid, save_png, to_uint8

    with torch.inference_mode():
        images = to_uint8(backend.synthesize(backend.mapping(backend.z_for_seeds(list(range(16))))))
    path = save_png(grid(images, columns=4, pad=2), out_dir / FALLBACK_GRID, force=True)  # checked up front
    out().print(f"Backend {backend.name}: wrote a 16-sample grid to {path}")


def _full_demo(backend, out_dir: Path, force: bool, quiet: bool) -> None:
    import tempfile

    import numpy as np

    from latentedit.editing import prepare_subjects, render
    from latentedit.evaluate import off_target, rescore
    from latentedit.fileio import atomic_write_group
    from latentedit.images import gif_writer, grid, png_writer, save_png
    from latentedit.inputs import Input
    from latentedit.inversion import InversionOptions
    from latentedit.labels import scorer_for
    from latentedit.method import DiscoverRequest
    from latentedit.options import parse_options
    from latentedit.plugins import get_plugins
    from latentedit.store import edit_path
    from latentedit.world.render import render as render_face
    from latentedit.world.render import sample_attributes
    from latentedit.world.seeds import HELDOUT_SEED

    method_cls = get_plugins().methods.get(DEMO_METHOD)
    with progress_bar(f"1/3 learning '{DEMO_ATTRIBUTE}' ({DEMO_METHOD})", quiet) as progress:
        edit = method_cls().discover(
            backend,
            DiscoverRequest(name=f"demo-{DEMO_ATTRIBUTE}", attr=DEMO_ATTRIBUTE, samples=DEMO_SAMPLES),
            parse_options(method_cls.Options),
            progress,
        )
    record = sample_attributes(HELDOUT_SEED + DEMO_PHOTO_OFFSET)
    image, _ = render_face(record)
    with tempfile.TemporaryDirectory() as scratch, progress_bar("2/3 inverting the photo", quiet) as progress:
        source = Path(scratch) / PHOTO
        save_png(image, source)
        inversion = InversionOptions(steps=DEMO_INVERSION_STEPS)
        [subject] = prepare_subjects(backend, [Input("photo", path=source)], inversion, progress)
    frames = [render(backend, subject, [(edit, strength)]) for strength in SWEEP]
    with progress_bar(f"3/3 re-scoring {DEMO_RESCORE_SAMPLES} samples", quiet) as progress:
        report = rescore(
            backend, [edit], scorer_for(backend), samples=DEMO_RESCORE_SAMPLES, strength=3.0, progress=progress
        )
    # Written last and as one unit: a demo that fails or is interrupted leaves nothing that blocks the next.
    photo, strip, gif, stored = atomic_write_group(
        [
            (out_dir / PHOTO, png_writer(image)),
            (out_dir / STRIP, png_writer(grid(np.stack([subject.source, *frames]), columns=len(frames) + 1, pad=2))),
            (out_dir / GIF, gif_writer(frames)),
            (edit_path(edit.name, backend.name), edit.writer()),
        ],
        force,
    )
    cells = report["rescoring"][edit.name]
    console = out()
    console.print(
        f"Learned '{DEMO_ATTRIBUTE}' from {DEMO_SAMPLES} samples (SVM validation accuracy "
        f"{edit.metrics.get('validation_accuracy', float('nan')):.3f}); stored as {stored}"
    )
    console.print(f"Photo {photo} inverted at {subject.psnr:.1f} dB PSNR; sweep -3..+3: {strip} and {gif}")
    from rich.table import Table

    table = Table("attribute", "mean change at strength 3", title="Re-scoring (fraction of each attribute's range)")
    for column, value in cells.items():
        table.add_row(f"[bold]{column}[/bold]" if column == DEMO_ATTRIBUTE else column, f"{value:+.3f}")
    console.print(table)
    leakage = off_target(cells, DEMO_ATTRIBUTE)
    console.print(f"Target {DEMO_ATTRIBUTE} {cells[DEMO_ATTRIBUTE]:+.3f}; mean |change| of the others {leakage:.3f}")
