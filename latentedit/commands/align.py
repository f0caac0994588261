"""`latentedit align`: find or take each face's five landmarks and write the aligned crops."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from latentedit.commands.common import ForceOpt, JsonOpt, QuietOpt
from latentedit.console import emit_json, out
from latentedit.errors import LatentEditError


def align_command(
    photos: Annotated[list[Path], typer.Argument(help="Photo files.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the crops and their JSON sidecars.")],
    template: Annotated[
        str,
        typer.Option(
            "--template",
            help="Where the generator's faces sit in its crop: ffhq, embedded, or a JSON file of five points.",
        ),
    ] = "ffhq",
    size: Annotated[
        int | None,
        typer.Option("--size", min=8, max=4096, help="Crop side in pixels. Default: the template's (ffhq 1024)."),
    ] = None,
    landmarks: Annotated[
        Path | None,
        typer.Option("--landmarks", help="JSON file with five points per face per photo, instead of a detector."),
    ] = None,
    detector: Annotated[
        str | None, typer.Option("--detector", help="Face detector to use (a plugin's); default: the first installed.")
    ] = None,
    force: ForceOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Align every face in PHOTOS as the generator's training data was aligned.

    Per face, most confident first: PHOTO-faceN.png, the crop,
    and PHOTO-faceN.json: the transform from crop to photo pixels, the crop's corners, the landmarks.

    Without a detector plugin, give five points per face with --landmarks (docs/faces.md).
    """
    from latentedit.faces.align import align
    from latentedit.faces.templates import load_template
    from latentedit.fileio import check_writable, write_json
    from latentedit.images import save_png

    stems = [photo.stem for photo in photos]
    repeated = sorted({stem for stem in stems if stems.count(stem) > 1})
    if repeated:
        raise LatentEditError(f"Photos share the name {repeated[0]!r}; their crops would collide. Align them apart.")
    chosen = load_template(template)
    side = size or chosen.size
    faces = _faces(photos, landmarks, detector, chosen.name)
    results = []
    for photo, (pixels, found) in faces.items():
        for index, (score, points, quad) in enumerate(found):
            aligned = align(pixels, points, chosen, side, quad)
            crop_path = out_dir / f"{photo.stem}-face{index}.png"
            results.append((photo, index, score, aligned, crop_path, crop_path.with_suffix(".json")))
    for *_, crop_path, sidecar in results:
        check_writable(crop_path, force)
        check_writable(sidecar, force)
    rows = []
    for photo, index, score, aligned, crop_path, sidecar in results:
        height, width = faces[photo][0].shape[:2]
        save_png(aligned.crop, crop_path, force)
        record = {"photo": str(photo), "photo_size": [width, height], "face": index, "score": score}
        write_json(sidecar, record | aligned.describe(), force)
        rows.append(
            {"photo": str(photo), "face": index, "score": score, "crop": str(crop_path), "sidecar": str(sidecar)}
        )
    if json_output:
        emit_json({"out": str(out_dir), "template": chosen.name, "size": side, "crops": rows})
    elif not quiet:
        for row in rows:
            out().print(f"{row['photo']} face {row['face']} -> {row['crop']}", highlight=False)
        out().print(f"Aligned {len(rows)} faces ({chosen.name} template, {side} px) into {out_dir}", highlight=False)


def _faces(
    photos: list[Path], landmarks: Path | None, detector: str | None, template: str
) -> dict[Path, tuple[Any, list[Any]]]:
    """Each photo's pixels and its faces as (score or None, five points, square or None), best
    first; without a detector named, the one made for the template's world (``embedded``), else one
    for photographs."""
    from latentedit.faces.photo import read_photo
    from latentedit.photos import FaceFinder

    finder = FaceFinder(landmarks, detector, backend=template)
    faces: dict[Path, tuple[Any, list[Any]]] = {}
    for photo in photos:
        pixels = read_photo(photo)
        faces[photo] = (pixels, finder.faces(photo, pixels, template))
    return faces
