"""`latentedit import-checkpoint`: NVIDIA pickles and rosinality .pt -> our safetensors layout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from latentedit.commands.common import ForceOpt, JsonOpt, QuietOpt
from latentedit.console import emit_json, out


def import_checkpoint_command(
    source: Annotated[
        Path,
        typer.Argument(help="A StyleGAN2(-ADA) or StyleGAN3 network pickle (.pkl), or a rosinality checkpoint (.pt)."),
    ],
    out_path: Annotated[Path, typer.Option("--out", help="Where to write NAME.safetensors.")],
    force: ForceOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Convert a pretrained StyleGAN2 or StyleGAN3 checkpoint without running any code from it.

    Pickles are read with a restricted unpickler that refuses anything outside the known
    network format. Afterwards use it everywhere with --backend stylegan2:OUT.safetensors
    (stylegan3:OUT.safetensors for StyleGAN3; a bare OUT.safetensors works for both).
    """
    from latentedit.checkpoints import import_checkpoint

    report = import_checkpoint(source, out_path, force=force)
    document = report.as_dict() if hasattr(report, "as_dict") else dict(vars(report))
    if json_output:
        emit_json(document)
        return
    if not quiet:
        out().print(
            f"Imported {source} ({document.get('format')}, {document.get('resolution')} px) -> {out_path}\n"
            f"Use it with: --backend {document.get('architecture', 'stylegan2')}:{out_path}"
        )
