"""The photo pipeline end to end on imported-size networks: time and peak memory of each stage.

    python -m benchmarks.photo_pipeline                                  # 256 and 1024 px, 20 steps, CPU
    python -m benchmarks.photo_pipeline --networks 256 --steps 5 --device cuda

The photo (--photo-size, default 4032 x 3024: a 12-megapixel phone photo, written as JPEG with an
EXIF field and an sRGB ICC profile) holds one rendered face of the embedded world
(`latentedit.faces.scenes`), turned by 8 degrees and sized so that its FFHQ crop square is
--face-side px across, with its exact landmarks in a landmarks file. Per network size, a randomly
initialised StyleGAN2 config-f generator and discriminator (random weights cost what trained ones
do) is written to --work as ``latentedit import-checkpoint`` writes an imported network and loaded
as ``stylegan2:FILE``. The stages are those of
``latentedit apply photo.jpg --dir NAME --strength 3 --landmarks marks.json --format same``
(latentedit/photos.py), each timed on its own:

    read    read_photo_file: decode, EXIF orientation, ICC profile
    align   the face from the landmarks file, FFHQ alignment at the network's size
    invert  latent inversion of the crop (--steps; the discriminator's perceptual loss), into an
            empty inversion cache (a fresh LATENTEDIT_HOME under --work)
    pti     pivotal tuning (-o tune=pti, --pti-steps) from the cached inversion, where this
            checkout has it: the tuning alone
    edit    a vector edit at strength 3 (a random W direction: every vector edit costs the same)
            and the unedited reconstruction, both synthesized (paste-back matches colours on it)
    paste   paste-back into the full photo: mask, colour match at the seam, blend
    write   the edited photo written in its own format (JPEG) with its EXIF and ICC profile

Time: wall clock (``seconds``) and this process's CPU time (``cpu_seconds``, all threads added up;
steadier than the wall clock on a shared machine). Memory: before each stage the process collects
garbage, hands freed heap back to the system (glibc's malloc_trim) and resets the kernel's peak-RSS
counter (/proc/self/clear_refs); the stage's ``peak_mb`` is the peak RSS during the stage minus the
RSS it started with (``rss_before_mb``): what it allocated on top of what was resident (numpy,
torch and Python alike, whole pages). Memory a stage reuses from what is already resident (the
loaded network) is not counted again, nor freed heap the allocator keeps and hands out again (so
after a large stage, a small one can read low). ``traced_mb`` is exact and allocator-independent
but partial: the peak of what Python and numpy allocated during the stage (tracemalloc), not
torch's or Pillow's own buffers; for the photo stages it is the measure to compare. With
--device cuda, ``cuda_peak_mb`` is torch's peak allocated GPU memory during the stage.
"""

from __future__ import annotations

import ctypes
import gc
import json
import math
import re
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from benchmarks import common

STAGES = ("read", "align", "invert", "pti", "edit", "paste", "write")
STRENGTH = 3.0


def _status_kb(key: str) -> int:
    """A field of /proc/self/status in kB (VmRSS: resident now; VmHWM: the peak since the last reset)."""
    match = re.search(rf"^{key}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def _release_memory() -> None:
    """Collect garbage and give freed heap back to the system, so the next stage's peak is its own."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak() -> bool:
    """Reset the kernel's peak RSS (VmHWM) to the current RSS; False where it cannot be reset."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure_stage(name: str, fn: Callable[[], Any], device: str) -> tuple[Any, dict[str, Any]]:
    """Run one stage: its result and a row of seconds and memory (see the module's docstring)."""
    import torch

    _release_memory()
    exact = _reset_peak()
    before = _status_kb("VmRSS")
    tracemalloc.start()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started, cpu_started = time.perf_counter(), time.process_time()
    value = fn()
    if device == "cuda":
        torch.cuda.synchronize()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    row: dict[str, Any] = {
        "stage": name,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "peak_mb": round((_status_kb("VmHWM") - before) / 1024, 1) if exact else None,
        "rss_before_mb": round(before / 1024, 1),
        "traced_mb": round(traced / 2**20, 1),
    }
    if device == "cuda":
        row["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    common.emit(row)
    return value, row


def write_photo(folder: Path, size: tuple[int, int], face_side: float) -> tuple[Path, Path]:
    """The test photo (JPEG with EXIF and ICC) and its landmarks file, written once into `folder`."""
    import numpy as np
    from PIL import Image, ImageCms

    from latentedit.faces.scenes import place_face, similarity
    from latentedit.faces.templates import ffhq_quad, rendered_landmarks
    from latentedit.world.attributes import sample_attributes

    photo = folder / f"photo-{size[0]}x{size[1]}-{face_side:g}.jpg"
    marks = photo.with_suffix(".json")
    if photo.is_file() and marks.is_file():
        return photo, marks
    record = sample_attributes(33)
    unit = ffhq_quad(rendered_landmarks(record, 64))  # the FFHQ square of the face drawn at scale 1
    scale = face_side / float(np.hypot(*(unit[3] - unit[0])))
    turned = similarity(scale, 8.0, (0.0, 0.0))
    center = turned[:2, :2] @ unit.mean(axis=0)
    frame = similarity(scale, 8.0, (size[0] / 2 - center[0], size[1] / 2 - center[1]))
    scene = place_face(record, frame, size, np.random.default_rng(0), detail=8)
    exif = Image.Exif()
    exif[0x010F] = "latentedit benchmark"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(scene.photo).save(photo, quality=92, exif=exif.tobytes(), icc_profile=icc)
    marks.write_text(json.dumps({photo.name: [scene.landmarks.tolist()]}))
    return photo, marks


def random_edit(backend: Any) -> Any:
    """A vector edit along a random W direction, calibrated on 256 sampled latents."""
    import torch

    from latentedit.api import vector_edit

    generator = torch.Generator().manual_seed(0)
    direction = torch.randn(backend.mapping(backend.sample_z(1, 0)).shape[-1], generator=generator)
    with torch.inference_mode():
        latents = backend.mapping(backend.sample_z(256, seed=1))[:, 0].cpu()
    return vector_edit(
        method="interfacegan",
        name="random",
        space="w",
        direction=direction,
        backend=backend,
        calibration_latents=latents,
    )


def has_pti() -> bool:
    """Whether this checkout's inversion takes ``-o tune=pti``."""
    from latentedit.inversion import InversionOptions

    return "tune" in {field.name for field in fields(InversionOptions)}


def run_network(resolution: int, photo_path: Path, marks: Path, args: Any) -> dict[str, Any]:
    """Every stage on one network; rows as they come, and a summary."""
    from latentedit.editing import plan_edits, render
    from latentedit.faces.segment import face_segmenter
    from latentedit.images import photo_writer, read_photo_file
    from latentedit.inversion import InversionOptions
    from latentedit.loaders import load_backend
    from latentedit.photos import FaceFinder, align_photo, face_subjects, paste_faces
    from latentedit.progress import no_progress

    backend = load_backend(common.config_f_network(resolution, args.work, discriminator=True), device=args.device)
    plan = plan_edits(backend, [(random_edit(backend), STRENGTH)])
    rows: list[dict[str, Any]] = []

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        value, row = measure_stage(name, fn, args.device)
        rows.append({"network": resolution, **row})
        return value

    photo = stage("read", lambda: read_photo_file(photo_path, "Photo"))
    finder = FaceFinder(landmarks=marks)
    aligned = stage("align", lambda: align_photo(photo_path, photo, finder, "ffhq", resolution))
    options = InversionOptions(steps=args.steps)
    (subjects,) = stage("invert", lambda: face_subjects(backend, [aligned], options, no_progress))
    if has_pti() and args.pti_steps > 0:
        tuned = InversionOptions(steps=args.steps, **{"tune": "pti", "pti_steps": args.pti_steps})
        (subjects,) = stage("pti", lambda: face_subjects(backend, [aligned], tuned, no_progress))
    else:
        skipped = "--pti-steps 0" if has_pti() else "this checkout has no -o tune=pti"
        rows.append({"network": resolution, "stage": "pti", "skipped": skipped})
        common.emit(rows[-1])

    def edit() -> tuple[list[Any], list[Any]]:
        return [render(backend, s, plan) for s in subjects], [render(backend, s, []) for s in subjects]

    crops, drawn = stage("edit", edit)
    result = stage("paste", lambda: paste_faces(aligned, crops, drawn, face_segmenter(backend)))
    target = args.work / f"edited-{resolution}.jpg"
    stage("write", lambda: photo_writer(result, photo, same_format=True)(target))
    return {
        "network": resolution,
        "backend": backend.name,
        "psnr": subjects[0].psnr,
        "crop_side_px": round(float(math.dist(aligned.faces[0].aligned.quad[0], aligned.faces[0].aligned.quad[3])), 1),
        "rows": rows,
    }


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table: network, stage, seconds, CPU seconds, peak MB, traced MB, RSS before (CUDA peak MB)."""
    cuda = any("cuda_peak_mb" in row for row in rows)
    head = "| network | stage | seconds | CPU seconds | peak MB | traced MB | RSS before MB |"
    lines = [
        head + (" CUDA peak MB |" if cuda else ""),
        "|---:|---|---:|---:|---:|---:|---:|" + ("---:|" if cuda else ""),
    ]
    for row in rows:
        if "skipped" in row:
            lines.append(f"| {row['network']} | {row['stage']} | {row['skipped']} | | | | |" + (" |" if cuda else ""))
            continue
        line = f"| {row['network']} | {row['stage']} | {row['seconds']:.2f} | {row['cpu_seconds']:.2f} |"
        line += f" {row['peak_mb']} | {row['traced_mb']} | {row['rss_before_mb']} |"
        lines.append(line + (f" {row.get('cuda_peak_mb')} |" if cuda else ""))
    return "\n".join(lines)


def measure(args: Any) -> dict[str, Any]:
    import os
    import tempfile

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device here.")
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ["LATENTEDIT_HOME"] = tempfile.mkdtemp(prefix="home-", dir=args.work)  # no cached inversion
    photo, marks = write_photo(args.work, tuple(args.photo_size), args.face_side)
    steps = f"{args.steps} inversion steps" + (f", {args.pti_steps} tuning steps" if has_pti() else "")
    print(f"photo {photo} ({args.photo_size[0]} x {args.photo_size[1]}), {steps}", flush=True)
    networks = [run_network(resolution, photo, marks, args) for resolution in args.networks]
    rows = [row for network in networks for row in network["rows"]]
    print()
    print(table(rows))
    return {
        "device": args.device,
        "steps": args.steps,
        "pti_steps": args.pti_steps if has_pti() else None,
        "photo_size": list(args.photo_size),
        "face_side": args.face_side,
        "pti": has_pti(),
        "memory": "peak RSS during the stage minus RSS at its start (VmHWM reset by /proc/self/clear_refs)",
        "networks": networks,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__, work="runs/photo-pipeline")
    parser.add_argument("--networks", type=int, nargs="+", default=[256, 1024], help="network sizes (px)")
    parser.add_argument("--steps", type=int, default=20, help="inversion steps (default 20)")
    parser.add_argument(
        "--pti-steps", type=int, default=100, help="pivotal tuning steps (default 100, as -o tune=pti; 0: none)"
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--photo-size", type=int, nargs=2, default=[4032, 3024], metavar=("W", "H"))
    parser.add_argument("--face-side", type=float, default=1200.0, help="the face's FFHQ square in the photo (px)")
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
