"""The studio page, in Gradio: a photo, a rendered face or a seed in, one slider per offered edit,
before | after, the PNG and the sweep GIF out.

Only layout and wiring live here; every decision (which edits, alignment, inversion, rendering,
the files) is `session.Studio`'s. Imported only by `latentedit studio`, after the extra was found.
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
RENDERS_SHOWN = 6
"""Rendered faces offered at a time by the picker."""
DROP_PX = 120
"""Height of the file drop zones: the page stays one screen high."""
EVERY_FACE = -1
"""The face picker's value for "every face of the photo" (apply without --face)."""


def face_choices(unit: EditUnit) -> list[tuple[str, int]]:
    """The face picker's entries for a photo just aligned: every face, or one of them (apply's --face N)."""
    faces = unit.describe().get("faces") or []
    scored = [(face["face"], "" if face["score"] is None else f" (score {face['score']:.2f})") for face in faces]
    return [("every face", EVERY_FACE)] + [(f"face {index}{score}", index) for index, score in scored]


def build_app(studio: Studio, files: Path | None = None) -> gr.Blocks:
    """The page for `studio`; result files go under `files` (a new temporary folder by default)."""
    from latentedit.world.seeds import HELDOUT_SEED

    root = Path(files or tempfile.mkdtemp(prefix="latentedit-studio-"))
    renders = root / "renders"
    local = studio.needs_reference
    names = [name for name in studio.edits if name not in local] + local
    with gr.Blocks(title=TITLE, analytics_enabled=False) as page:
        gr.Markdown(f"## {TITLE} — backend `{studio.backend.name}` ({studio.backend.resolution} px)")
        subject, reference, shown_first = gr.State(None), gr.State(None), gr.State(HELDOUT_SEED)
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                with gr.Tabs():
                    with gr.Tab("Photo", elem_id="photo-tab"):
                        photo = gr.File(
                            label="Photo (inverted once; cached)", file_types=["image"], height=DROP_PX, elem_id="photo"
                        )
                        landmarks = gr.File(
                            label="Landmarks JSON (as apply --landmarks; optional where a detector is installed)",
                            file_types=[".json"],
                            height=DROP_PX,
                            elem_id="landmarks",
                        )
                        with gr.Row():
                            align = gr.Radio(
                                ["auto", "yes", "none"],
                                value="auto",
                                label="Align faces (as apply --align)",
                                elem_id="align",
                            )
                            face = gr.Dropdown(
                                [("every face", EVERY_FACE)],
                                value=EVERY_FACE,
                                label="Face (as apply --face)",
                                elem_id="face",
                            )
                    with gr.Tab("Rendered face", elem_id="render-tab", visible=studio.renders_faces):
                        gallery = gr.Gallery(
                            rendered_gallery(studio, HELDOUT_SEED, renders) if studio.renders_faces else None,
                            label="Faces of the embedded world the GAN never saw: click one to invert it",
                            columns=RENDERS_SHOWN // 2,
                            height=2 * DROP_PX + 60,
                            allow_preview=False,
                            interactive=False,
                            elem_id="renders",
                        )
                        with gr.Row():
                            first_seed = gr.Number(
                                label="Renderer seed", value=HELDOUT_SEED, precision=0, minimum=0, elem_id="render-seed"
                            )
                            show_renders = gr.Button("Show these faces", elem_id="show-renders")
                    with gr.Tab("Sample", elem_id="seed-tab"):
                        with gr.Row():
                            seed = gr.Number(label="Seed", value=0, precision=0, minimum=0, elem_id="seed")
                            use_seed = gr.Button("Use seed", elem_id="use-seed")
                status = gr.Markdown("Upload a photo, pick a rendered face or a seed.", elem_id="status")
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
                    label="Conditioned on (keep these attributes unchanged; as apply --orthogonal-to)",
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
                    reference_photo = gr.File(label="or a reference photo", file_types=["image"], height=DROP_PX)
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
        shown = [subject, before, after, download, status]
        loaded = [*shown, face]  # what taking a photo changes: also the face picker

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
            original = source if source is not None else studio.render(current, {})
            return (current, original, *result(current, *state), what)

        def inverted(read: Any, progress: gr.Progress, *args: Any) -> Any:
            """`read(*args, report)` with the inversion's progress on the page and errors as one line."""

            def report(step: int, total: int, **metrics: Any) -> None:
                progress((step, total), desc="inverting")

            try:
                return read(*args, report)
            except LatentEditError as exc:
                raise gr.Error(str(exc)) from None

        def load(path: str | None, mode: str, marks: str | None, chosen: int, *state, progress: gr.Progress) -> tuple:
            """The photo at `path` aligned and inverted as apply takes it (face `chosen`, or every face);
            a new photo resets the face picker to its faces."""
            if not path:  # landmarks or alignment given before the photo: wait for it
                return tuple(gr.update() for _ in loaded)
            one = None if chosen in (None, EVERY_FACE) else int(chosen)

            def read(where: str, report: Any) -> EditUnit:
                return studio.from_photo(where, report, mode, marks, one)

            current = inverted(read, progress, path)
            described = current.describe()
            faces = f"{len(described['faces'])} face(s) aligned and pasted back; " if "faces" in described else ""
            what = f"Inverted `{Path(path).name}`: {faces}PSNR {described['psnr']:.1f} dB."
            picker = gr.update(choices=face_choices(current), value=EVERY_FACE) if one is None else gr.update()
            return *start(current, " ".join([what, *described["warnings"]]), *state), picker

        def new_photo(path: str | None, mode: str, marks: str | None, *state, progress=gr.Progress()) -> tuple:
            return load(path, mode, marks, EVERY_FACE, *state, progress=progress)

        def one_face(path: str | None, mode: str, marks: str | None, chosen: int, *state, progress=gr.Progress()):
            return load(path, mode, marks, chosen, *state, progress=progress)

        def from_render(first: int, picked: gr.SelectData, *state, progress=gr.Progress()) -> tuple:
            (path,) = studio.rendered_faces(int(first) + picked.index, 1, renders)
            return load(str(path), "auto", None, EVERY_FACE, *state, progress=progress)

        def new_renders(first: float | None) -> tuple[Any, int]:
            value = int(first or 0)
            return rendered_gallery(studio, value, renders), value

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
                raise gr.Error("Upload a photo, pick a rendered face or a seed first.")
            try:
                frames = studio.sweep(current, name, text)
            except LatentEditError as exc:
                raise gr.Error(str(exc)) from None
            return str(write_gif(frames, root / f"{current.name}_sweep.gif"))

        photo_inputs = [photo, align, landmarks]
        for changed in (photo.upload, landmarks.upload, landmarks.clear, align.input):  # (the same photo) found anew
            changed(new_photo, [*photo_inputs, *context], loaded)
        face.input(one_face, [*photo_inputs, face, *context], loaded)
        gallery.select(from_render, [shown_first, *context], loaded)
        show_renders.click(new_renders, first_seed, [gallery, shown_first])
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


def rendered_gallery(studio: Studio, first: int, folder: Path) -> list[tuple[str, str]]:
    """The picker's thumbnails: `RENDERS_SHOWN` renderer faces from seed `first`, captioned with their seeds."""
    return [(str(path), f"seed {path.stem}") for path in studio.rendered_faces(first, RENDERS_SHOWN, folder)]
