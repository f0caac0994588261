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
from latentedit.studio.session import LOCAL_RANGE, STRENGTH_RANGE, Studio, write_gif, write_result

if TYPE_CHECKING:
    from latentedit.editing import Subject
    from latentedit.photos import EditUnit

TITLE = "latentedit studio"
PREVIEW_PX = 320
CSS = "#before img, #after img { width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }"
"""Previews are scaled up with visible pixels: a 64 px result stays readable and honest."""


def build_app(studio: Studio, files: Path | None = None) -> gr.Blocks:
    """The page for `studio`; result files go under `files` (a new temporary folder by default)."""
    root = Path(files or tempfile.mkdtemp(prefix="latentedit-studio-"))
    local = studio.needs_reference
    names = [name for name in studio.edits if name not in local] + local
    with gr.Blocks(title=TITLE, analytics_enabled=False) as page:
        gr.Markdown(f"## {TITLE} — backend `{studio.backend.name}` ({studio.backend.resolution} px)")
        subject, reference = gr.State(None), gr.State(None)
        with gr.Row():
            with gr.Column(scale=1, min_width=260):
                photo = gr.File(label="Photo (inverted once; cached)", file_types=["image"], elem_id="photo")
                align = gr.Radio(
                    ["auto", "none"],
                    value="auto",
                    label="Align faces (as apply --align: auto aligns a photo larger than the generator's crop)",
                    elem_id="align",
                )
                with gr.Row():
                    seed = gr.Number(label="or a seed", value=0, precision=0, minimum=0, elem_id="seed")
                    use_seed = gr.Button("Use seed", elem_id="use-seed")
                status = gr.Markdown("Upload a photo or pick a seed.", elem_id="status")
                sliders = [
                    gr.Slider(*STRENGTH_RANGE, value=0.0, step=0.1, label=name, elem_id=f"edit-{index}")
                    for index, name in enumerate(names)
                    if name not in local
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
                with gr.Group(visible=bool(local)):
                    gr.Markdown("**Local style**: copy a region's style from a reference.")
                    sliders += [
                        gr.Slider(*LOCAL_RANGE, value=0.0, step=0.05, label=name, elem_id=f"edit-{index}")
                        for index, name in enumerate(names)
                        if name in local
                    ]
                    region = gr.Dropdown(
                        studio.regions(),
                        value=None,
                        allow_custom_value=True,
                        label="Region (name or ids, e.g. 2+5)",
                        elem_id="region",
                    )
                    with gr.Row():
                        reference_seed = gr.Number(label="Reference seed", value=1, precision=0, minimum=0)
                        use_reference_seed = gr.Button("Use as reference", elem_id="use-reference")
                    reference_photo = gr.File(label="or a reference photo", file_types=["image"])
                    reference_status = gr.Markdown("No reference yet.", elem_id="reference-status")
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
        context = [conditioned, reference, region, *sliders]  # what a render reads besides the subject

        def result(current: EditUnit | None, chosen: list[str], ref: Subject | None, where: str | None, *values):
            """The edited image and its PNG file for one page state (`context`'s values, in order)."""
            if current is None:
                return None, None
            try:
                strengths = dict(zip(names, values, strict=True))
                image = studio.render(current, strengths, chosen or [], reference=ref, region=where)
            except LatentEditError as exc:
                raise gr.Error(str(exc)) from None
            return image, str(write_result(current, image, root))

        def start(current: EditUnit, what: str, *state) -> tuple[Any, ...]:
            source = current.source()
            shown = source if source is not None else studio.render(current, {})
            return (current, shown, *result(current, *state), what)

        def inverted(read: Any, progress: gr.Progress, *args: Any) -> Any:
            """`read(*args, report)` with the inversion's progress on the page and errors as one line."""

            def report(step: int, total: int, **metrics: Any) -> None:
                progress((step, total), desc="inverting")

            try:
                return read(*args, report)
            except LatentEditError as exc:
                raise gr.Error(str(exc)) from None

        def from_photo(path: str | None, mode: str, *state, progress=gr.Progress()) -> tuple:
            if not path:
                return None, None, None, None, "Upload a photo or pick a seed."
            current = inverted(lambda where, report: studio.from_photo(where, report, mode), progress, path)
            described = current.describe()
            faces = f"{len(described['faces'])} face(s) aligned; " if "faces" in described else ""
            what = f"Inverted `{Path(path).name}`: {faces}PSNR {described['psnr']:.1f} dB."
            return start(current, " ".join([what, *described["warnings"]]), *state)

        def from_seed(value: float | None, *state) -> tuple:
            return start(studio.from_seed(int(value or 0)), f"Sample of seed {int(value or 0)}.", *state)

        def with_reference(ref: Subject | None, what: str, current: EditUnit | None, *state) -> tuple:
            chosen, _, where, *values = state
            return ref, what, *result(current, chosen, ref, where, *values)

        def reference_from_photo(path: str | None, *state, progress=gr.Progress()) -> tuple:
            if not path:
                return with_reference(None, "No reference yet.", *state)
            ref = inverted(studio.reference, progress, path)
            return with_reference(ref, f"Reference: `{Path(path).name}`.", *state)

        def reference_from_seed(value: float | None, *state) -> tuple:
            ref = studio.reference(f"seed:{int(value or 0)}")
            return with_reference(ref, f"Reference: seed {int(value or 0)}.", *state)

        def rerender(current: EditUnit | None, *state) -> tuple[Any, Any]:
            return result(current, *state)

        def sweep(current: EditUnit | None, name: str | None, text: str) -> str | None:
            if current is None or not name:
                raise gr.Error("Upload a photo or pick a seed first.")
            try:
                frames = studio.sweep(current, name, text)
            except LatentEditError as exc:
                raise gr.Error(str(exc)) from None
            return str(write_gif(frames, root / f"{current.name}_sweep.gif"))

        shown = [subject, before, after, download, status]
        photo.upload(from_photo, [photo, align, *context], shown)
        use_seed.click(from_seed, [seed, *context], shown)
        referenced = [reference, reference_status, after, download]
        reference_photo.upload(reference_from_photo, [reference_photo, subject, *context], referenced)
        use_reference_seed.click(reference_from_seed, [reference_seed, subject, *context], referenced)
        make_sweep.click(sweep, [subject, swept, sweep_range], sweep_file)
        for control in [*sliders, conditioned, region]:
            control.change(
                rerender,
                [subject, *context],
                [after, download],
                show_progress="hidden",
                queue=False,
                trigger_mode="always_last",  # a drag on a slow network renders the latest position, not each one
            )
    return page
