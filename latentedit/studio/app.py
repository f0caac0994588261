"""The studio page, in Gradio: photo or seed in, one slider per offered edit, before | after, the PNG out.

Only layout and wiring live here; every decision (which edits, inversion, rendering, the file)
is `session.Studio`'s. Imported only by `latentedit studio`, after the extra was found.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from latentedit.errors import LatentEditError
from latentedit.studio.session import STRENGTH_RANGE, Studio, write_gif, write_png

if TYPE_CHECKING:
    from latentedit.editing import Subject

TITLE = "latentedit studio"
PREVIEW_PX = 320
CSS = "#before img, #after img { width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }"
"""Previews are scaled up with visible pixels: a 64 px result stays readable and honest."""


def build_app(studio: Studio, files: Path | None = None) -> gr.Blocks:
    """The page for `studio`; result PNGs go under `files` (a new temporary folder by default)."""
    root = Path(files or tempfile.mkdtemp(prefix="latentedit-studio-"))
    names = list(studio.edits)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as page:
        gr.Markdown(f"## {TITLE} — backend `{studio.backend.name}` ({studio.backend.resolution} px)")
        subject = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1, min_width=260):
                photo = gr.File(label="Photo (inverted once; cached)", file_types=["image"], elem_id="photo")
                with gr.Row():
                    seed = gr.Number(label="or a seed", value=0, precision=0, minimum=0, elem_id="seed")
                    use_seed = gr.Button("Use seed", elem_id="use-seed")
                status = gr.Markdown("Upload a photo or pick a seed.", elem_id="status")
                sliders = [
                    gr.Slider(*STRENGTH_RANGE, value=0.0, step=0.1, label=name, elem_id=f"edit-{index}")
                    for index, name in enumerate(names)
                ]
                if not names:
                    gr.Markdown(
                        f"No edits are stored for backend {studio.backend.name}: learn one with "
                        "`latentedit discover` (or `latentedit demo`), then restart the studio."
                    )
                conditioned = gr.Dropdown(
                    studio.conditionable(),
                    value=[],
                    multiselect=True,
                    label="Conditioned on (keep these attributes unchanged)",
                    elem_id="conditioned",
                    visible=bool(studio.conditionable()),
                )
                if studio.skipped:
                    gr.Markdown(
                        "Not offered: " + "; ".join(f"`{item.name}` ({item.reason})" for item in studio.skipped)
                    )
            with gr.Column(scale=2):
                with gr.Row():
                    before, after = (
                        gr.Image(
                            label=label,
                            type="numpy",
                            format="png",
                            interactive=False,
                            height=PREVIEW_PX,
                            buttons=["fullscreen"],  # the one download is the button below: apply's bytes
                            elem_id=label.lower(),
                        )
                        for label in ("Before", "After")
                    )
                download = gr.DownloadButton("Download PNG", value=None, elem_id="download")
                with gr.Row(visible=bool(names)):
                    swept = gr.Dropdown(names, value=names[0] if names else None, label="Sweep edit", elem_id="swept")
                    sweep_range = gr.Textbox("-3:3:7", label="Strengths FROM:TO:COUNT", elem_id="sweep-range")
                    make_sweep = gr.Button("Make sweep GIF", elem_id="make-sweep")
                sweep_file = gr.File(label="Sweep GIF (as apply --sweep writes it)", elem_id="sweep-file")

        def result(current: Subject | None, chosen: list[str], values: tuple[float, ...]) -> tuple[Any, Any]:
            if current is None:
                return None, None
            try:
                image = studio.render(current, dict(zip(names, values, strict=True)), chosen or [])
            except LatentEditError as exc:
                raise gr.Error(str(exc)) from None
            return image, str(write_png(image, root / f"{current.name}_edited.png"))

        def start(current: Subject, chosen: list[str], values: tuple[float, ...], what: str) -> tuple[Any, ...]:
            reconstruction = studio.render(current, {})
            shown = current.source if current.source is not None else reconstruction
            return (current, shown, *result(current, chosen, values), what)

        def from_photo(path: str | None, chosen: list[str], *values: float, progress=gr.Progress()) -> tuple:
            if not path:
                return None, None, None, None, "Upload a photo or pick a seed."

            def report(step: int, total: int, **metrics: Any) -> None:
                progress((step, total), desc="inverting")

            try:
                current = studio.from_photo(path, report)
            except LatentEditError as exc:
                raise gr.Error(str(exc)) from None
            return start(current, chosen, values, f"Inverted `{Path(path).name}`: PSNR {current.psnr:.1f} dB.")

        def from_seed(value: float | None, chosen: list[str], *values: float) -> tuple:
            try:
                current = studio.from_seed(int(value or 0))
            except LatentEditError as exc:
                raise gr.Error(str(exc)) from None
            return start(current, chosen, values, f"Sample of seed {int(value or 0)}.")

        def rerender(current: Subject | None, chosen: list[str], *values: float) -> tuple[Any, Any]:
            return result(current, chosen, values)

        def sweep(current: Subject | None, name: str | None, text: str) -> str | None:
            if current is None or not name:
                raise gr.Error("Upload a photo or pick a seed first.")
            try:
                frames = studio.sweep(current, name, text)
            except LatentEditError as exc:
                raise gr.Error(str(exc)) from None
            return str(write_gif(frames, root / f"{current.name}_sweep.gif"))

        shown = [subject, before, after, download, status]
        make_sweep.click(sweep, [subject, swept, sweep_range], sweep_file)
        photo.upload(from_photo, [photo, conditioned, *sliders], shown)
        use_seed.click(from_seed, [seed, conditioned, *sliders], shown)
        for control in [*sliders, conditioned]:
            control.change(
                rerender,
                [subject, conditioned, *sliders],
                [after, download],
                show_progress="hidden",
                queue=False,
                trigger_mode="always_last",  # a drag on a slow network renders the latest position, not each one
            )
    return page
