"""The photo path shared by `apply` and `invert`: read a photo upright, find its faces, align each
with the backend's template, invert the crops, and paste edited crops back into the full photo.

```
 photo ──landmarks (file or detector)──▶ align (template) ──▶ crop ──invert──▶ codes
   ▲                                                                         │ edit, synthesize
   └────────────── paste back (inverse transform, feathered mask) ◀── edited crop
```
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.errors import LatentEditError, LatentEditWarning
from latentedit.faces import FaceError, NoFaceError

if TYPE_CHECKING:
    import numpy as np

    from latentedit.backend import Backend
    from latentedit.editing import Subject
    from latentedit.faces.align import AlignedFace
    from latentedit.images import Photo
    from latentedit.inversion import InversionOptions
    from latentedit.progress import Progress

NO_TEMPLATE = "none"
"""The face template of a generator whose training images were not aligned faces: photos are
centre-cropped and resized, never aligned."""

ALIGN_MODES = ("auto", "yes", "none")
"""auto: align photos that are not already crops at the generator's size; yes: align every photo;
none: centre-crop and resize (what a crop that is already aligned needs)."""

MAX_UPSCALE = 4.0
"""A face whose crop square is smaller than the generator's side divided by this is refused:
aligning it would magnify it more than 4 times, and the generator would be fitting blur."""

POOR_PSNR_DB = 23.0
"""Below this reconstruction PSNR the inversion did not reproduce its image. Measured with the default
inversion on the embedded world (docs/faces.md): 20 held-out renders 24.2-32.1 dB (mean 28.1), six
real photos 15.6-25.1 dB (five of them below 23)."""

POOR_DISC_LOGIT = -2.5
"""Below this discriminator logit on the reconstruction the generator drew something unlike its
training images. Measured with the default inversion on the embedded world (docs/faces.md): 40
held-out renders -1.4 to 1.8, ten real photos (the astronaut's aligned face included) -6.4 to -4.0;
it catches the photo PSNR misses (rocket: 25.1 dB, logit -4.4)."""

NO_FINDER = (
    "{photo} is not a {size} x {size} crop and no face detector is installed: {install}, "
    "or pass --landmarks FILE.json (five points per face, docs/faces.md), or --align none to centre-crop it as it is."
)


def template_for(backend: Backend) -> str:
    """The face template a backend declares (``Backend.face_template``); ``ffhq`` for a backend
    that declares none (a plugin's, written before templates were declared)."""
    return str(getattr(backend, "face_template", "ffhq"))


@dataclass(frozen=True)
class FaceFinder:
    """Where each photo's five landmarks per face come from: a landmarks file, else a detector
    (``detector`` by name, or the first made for ``backend``'s faces: `detectors_for`)."""

    landmarks: Path | None = None
    detector: str | None = None
    backend: str | None = None

    def __post_init__(self) -> None:
        if self.landmarks is not None and self.detector is not None:
            raise LatentEditError("Give --landmarks or --detector, not both.")

    @property
    def available(self) -> bool:
        """Whether faces can be found at all: a landmarks file, or a detector is installed for the backend."""
        from latentedit.faces.detectors import detectors_for

        return self.landmarks is not None or self.detector is not None or bool(detectors_for(self.backend))

    def faces(
        self, photo: Path, pixels: np.ndarray, template: str | None = None
    ) -> list[tuple[float | None, np.ndarray, np.ndarray | None]]:
        """The photo's faces as (score or None, five points, crop square or None), most confident
        first; the square where the detector finds it for ``template``. `NoFaceError` if none."""
        from latentedit.faces.templates import as_landmarks

        if self.landmarks is not None:
            from latentedit.faces.landmarks import faces_for, read_landmarks_file

            given = faces_for(read_landmarks_file(self.landmarks), photo, self.landmarks)
            return [(None, as_landmarks(points), None) for points in given]
        from latentedit.faces.detectors import detect, detector_spec, load_detector

        squares = detector_spec(self.detector, self.backend).template == template
        found = detect(load_detector(self.detector, self.backend), pixels)
        if not found:
            raise NoFaceError(f"No face found in {photo}; pass its landmarks with --landmarks FILE.json.")
        return [(detection.score, detection.landmarks, detection.quad if squares else None) for detection in found]


@dataclass(frozen=True)
class PhotoFace:
    """One face of a photo: its number (0 = most confident), the detector's score and its alignment."""

    index: int
    score: float | None
    aligned: AlignedFace


@dataclass(frozen=True)
class AlignedPhoto:
    """A photo read upright with the faces chosen in it, each aligned at the generator's size."""

    path: Path
    photo: Photo
    faces: list[PhotoFace]


def check_align_mode(mode: str) -> str:
    """Refuse an unknown ``--align`` mode in one line (before any photo is read); return it."""
    if mode not in ALIGN_MODES:
        raise LatentEditError(f"--align {mode!r}: expected one of {', '.join(ALIGN_MODES)}.")
    return mode


def wants_alignment(mode: str, path: Path, photo: Photo, resolution: int, finder: FaceFinder) -> bool:
    """Whether ``photo`` is to be aligned under ``--align mode``; a one-line error where it must be
    and nothing can find its faces."""
    if check_align_mode(mode) == "none":
        return False
    height, width = photo.pixels.shape[:2]
    if mode == "auto" and (width, height) == (resolution, resolution):
        return False
    if not finder.available:
        from latentedit.faces.detectors import INSTALL_HINT

        raise FaceError(NO_FINDER.format(photo=path, size=resolution, install=INSTALL_HINT))
    return True


def align_photo(
    path: Path, photo: Photo, finder: FaceFinder, template: str, size: int, face: int | None = None
) -> AlignedPhoto:
    """Find the faces of ``photo`` (or face number ``face`` only) and align each at ``size`` pixels.

    Refused, in one line: no face, a face number that does not exist, a face whose landmarks lie
    outside the photo (cut off by the border), a face too small for ``size`` (see `MAX_UPSCALE`).
    Of several faces, one that cannot be aligned is skipped with a warning line (a detector's
    faint find in the background must not stop the edit of the face in front); the photo is
    refused only when none can. Where the crop's square reaches past the photo, the alignment
    pads it (docs/faces.md).
    """
    from latentedit.faces.align import align
    from latentedit.faces.templates import load_template

    chosen = load_template(template)
    found = finder.faces(path, photo.pixels, chosen.name)
    if face is not None:
        if not 0 <= face < len(found):
            raise NoFaceError(f"--face {face}: {path} has {len(found)} face(s), numbered 0 to {len(found) - 1}.")
        picked = [(face, *found[face])]
    else:
        picked = [(index, *entry) for index, entry in enumerate(found)]
    faces, refused = [], []
    for index, score, points, quad in picked:
        try:
            _check_face(path, index, photo.pixels, points, chosen.quad(points) if quad is None else quad, size)
        except FaceError as exc:
            refused.append(exc)
            continue
        faces.append(PhotoFace(index, score, align(photo.pixels, points, chosen, size, quad)))
    if not faces:
        raise refused[0]
    for exc in refused:
        warnings.warn(LatentEditWarning(f"{exc} Skipped; the other faces are edited."), stacklevel=2)
    return AlignedPhoto(path, photo, faces)


def _check_face(path: Path, index: int, pixels: np.ndarray, points: np.ndarray, quad: np.ndarray, size: int) -> None:
    import numpy as np

    height, width = pixels.shape[:2]
    required = np.delete(points, 2, axis=0)
    if ((required < 0) | (required > [width, height])).any():
        raise FaceError(
            f"Face {index} of {path} is cut off by the photo's border (an eye or mouth corner lies outside it); "
            "give a photo with the whole face, or --face N for another face."
        )
    side = float(np.hypot(*(quad[3] - quad[0])))
    least = math.ceil(size / MAX_UPSCALE)
    if side < least:
        eyes = float(np.hypot(*(points[1] - points[0])))
        raise FaceError(
            f"Face {index} of {path} is too small to align at {size} px: its crop is {side:.0f} px across "
            f"(eyes {eyes:.0f} px apart); this generator needs at least {least} px. Give a larger photo of it."
        )


def face_subjects(
    backend: Backend,
    photos: list[AlignedPhoto],
    options: InversionOptions,
    progress: Progress,
    use_cache: bool = True,
) -> list[list[Subject]]:
    """Codes for every face of every photo: their crops inverted (cached by the crop's pixels).
    A poor reconstruction warns (`check_reconstruction`)."""
    from latentedit.editing import Subject
    from latentedit.inversion import invert_arrays

    crops = [face.aligned.crop for photo in photos for face in photo.faces]
    inversions = iter(invert_arrays(backend, crops, options, progress, use_cache))
    subjects = []
    for photo in photos:
        row = []
        for face in photo.faces:
            inversion = next(inversions)
            name = f"{photo.path.stem}-face{face.index}"
            row.append(Subject(name, inversion.ws.to(backend.device), inversion=inversion, source=face.aligned.crop))
        subjects.append(row)
    return subjects


def check_reconstruction(name: str, psnr: float, disc: float | None = None) -> str | None:
    """The warning for an inversion that did not reproduce its image (PSNR below `POOR_PSNR_DB`) or
    whose reconstruction the discriminator scores unlike the generator's training images (``disc``
    below `POOR_DISC_LOGIT`), raised as a `LatentEditWarning` and returned (for --json); None when
    it is fine."""
    signs = []
    if psnr < POOR_PSNR_DB:
        signs.append(f"the inversion reproduces it at only {psnr:.1f} dB PSNR (below {POOR_PSNR_DB:g})")
    if disc is not None and disc < POOR_DISC_LOGIT:
        signs.append(
            f"the discriminator scores the reconstruction {disc:.1f} (below {POOR_DISC_LOGIT:g}: unlike the images "
            "the generator learned from)"
        )
    if not signs:
        return None
    message = (
        f"{name}: {'; '.join(signs)}: it is probably not something this generator draws (edits will change a "
        "look-alike), or it needs more steps (-o steps=N)."
    )
    warnings.warn(LatentEditWarning(message), stacklevel=2)
    return message


def paste_faces(
    photo: AlignedPhoto, crops: list[np.ndarray], reconstructions: list[np.ndarray], segmenter: Any = None
) -> np.ndarray:
    """The full photo with each face's (edited) crop pasted back, in face order; the colours are
    matched at the seam as measured on each face's unedited reconstruction. The mask is the
    ``segmenter``'s face on the reconstruction and the edit where one is given (`faces.segment`),
    else the ellipse from the landmarks."""
    from latentedit.faces.paste import paste_back
    from latentedit.faces.segment import segmented_face

    result = photo.photo.pixels
    for face, crop, drawn in zip(photo.faces, crops, reconstructions, strict=True):
        mask = None if segmenter is None else segmented_face(segmenter, [drawn, crop])
        result = paste_back(result, crop, face.aligned, mask=mask, reconstruction=drawn)
    return result


def describe_faces(photo: AlignedPhoto) -> list[dict[str, Any]]:
    """JSON-ready records of each face: number, score, and the alignment (transform crop -> photo)."""
    return [{"face": face.index, "score": face.score} | face.aligned.describe() for face in photo.faces]


def open_photo(
    path: Path, mode: str, resolution: int, finder: FaceFinder, template: str, face: int | None = None
) -> AlignedPhoto | None:
    """Read ``path`` and align its faces at ``resolution`` under ``--align mode``; None where the
    photo is to be used as it is (centre-cropped and resized): ``--align none``, a crop at the
    generator's size under ``auto``, or ``--template none`` (a generator not trained on aligned faces)."""
    from latentedit.images import read_photo_file

    photo = read_photo_file(path, "Photo")
    if template == NO_TEMPLATE and mode == "yes":
        raise LatentEditError("--align yes needs a face template; this backend (or --template) says none.")
    if template == NO_TEMPLATE and mode == "auto":
        mode = "none"
    if not wants_alignment(mode, path, photo, resolution, finder):
        return None
    return align_photo(path, photo, finder, template, resolution, face)


@dataclass(frozen=True)
class PhotoReading:
    """How image files given to a method are read (discover's folders, pairs, images in a labels
    CSV): ``mode`` as ``--align`` (``none``: centre-cropped and resized, the default outside
    `discover`), faces found by ``finder`` and aligned with ``template``; one image, one face (the
    most confident)."""

    mode: str = "none"
    finder: FaceFinder = FaceFinder()
    template: str = "ffhq"


_READING: ContextVar[PhotoReading | None] = ContextVar("photo_reading", default=None)


@contextmanager
def reading_photos(reading: PhotoReading) -> Iterator[None]:
    """Within the block, `read_input_image` reads image files as ``reading`` says (`discover` wraps
    a method's run in it, so every method, a plugin's too, reads its photos the same way)."""
    token = _READING.set(reading)
    try:
        yield
    finally:
        _READING.reset(token)


def read_input_image(path: Path, resolution: int) -> np.ndarray:
    """An image file as a method takes it, uint8 [resolution, resolution, 3]: its most confident face
    aligned where the current `PhotoReading` aligns it, else centre-cropped and resized."""
    from latentedit.images import load_image

    reading = _READING.get()
    if reading is not None and reading.mode != "none":
        photo = open_photo(Path(path), reading.mode, resolution, reading.finder, reading.template, face=0)
        if photo is not None:
            return photo.faces[0].aligned.crop
    return load_image(path, resolution)


@dataclass
class EditUnit:
    """One picture `apply` writes: a generated sample or a photo used as it is (``item``), a whole
    photo with its faces edited and pasted back (``photo``), or one face's crop (``photo`` and
    ``face`` with ``crop_only``). ``subjects`` (one per face) are filled in by `invert_units`."""

    name: str
    item: Any = None
    photo: AlignedPhoto | None = None
    face: int | None = None
    same_format: bool = False
    subjects: list[Subject] | None = None
    warnings: list[str] | None = None
    segmenter: Any = None
    """The backend's part segmenter for paste-back, kept after the first whole-photo draw (the studio
    draws a photo again at every slider move)."""

    @property
    def edited_suffix(self) -> str:
        """``_edited`` plus the extension of the format the edited picture is written in."""
        from latentedit.images import SAME_FORMATS, photo_format

        whole = self.photo is not None and self.face is None
        return "_edited" + (SAME_FORMATS[photo_format(self.photo.photo, self.same_format)] if whole else ".png")  # type: ignore[union-attr]

    def draw(self, backend: Backend, plan: list[Any], inputs: dict[str, Any]) -> np.ndarray:
        """The picture with ``plan`` applied (empty: the reconstruction), faces pasted back if whole."""
        from latentedit.editing import render
        from latentedit.faces.segment import face_segmenter

        crops = [render(backend, subject, plan, **inputs) for subject in self.subjects or []]
        if self.photo is None or self.face is not None:
            return crops[0]
        drawn = [render(backend, subject, []) for subject in self.subjects or []] if plan else crops
        if self.segmenter is None:
            self.segmenter = face_segmenter(backend)
        return paste_faces(self.photo, crops, drawn, self.segmenter)

    def source(self) -> np.ndarray | None:
        """The input as the comparison shows it: the photo, the face's crop, or the resized image."""
        if self.photo is not None and self.face is None:
            return self.photo.photo.pixels
        return self.subjects[0].source if self.subjects else None

    def writers(self, backend: Backend, plan: list[Any], inputs: dict[str, Any]) -> list[Any]:
        """Writers of the edited picture and the comparison (input | reconstruction | edit)."""
        import numpy as np

        from latentedit.images import grid, photo_writer, png_writer

        edited = self.draw(backend, plan, inputs)
        panels = [panel for panel in (self.source(), self.draw(backend, [], inputs), edited) if panel is not None]
        whole = self.photo is not None and self.face is None
        first = photo_writer(edited, self.photo.photo, self.same_format) if whole else png_writer(edited)  # type: ignore[union-attr]
        return [first, png_writer(grid(np.stack(panels), columns=len(panels), pad=2))]

    def sweep_writers(
        self, backend: Backend, sweeps: list[list[Any]], inputs: dict[str, Any], transforms: list[Any] | None = None
    ) -> list[Any]:
        """Writers of a strength sweep: one strip PNG and a GIF going forth and back; with `transforms`
        (StyleGAN3's input transform, one per frame), each frame is drawn moved or turned by its own."""
        import numpy as np

        from latentedit.images import gif_writer, grid, png_writer
        from latentedit.input_transform import applied

        frames = []
        for index, frame_plan in enumerate(sweeps):
            with applied(backend, transforms[index] if transforms else None):
                frames.append(self.draw(backend, frame_plan, inputs))
        return [png_writer(grid(np.stack(frames), columns=len(frames), pad=2)), gif_writer(frames)]

    def describe(self) -> dict[str, Any]:
        """JSON-ready: the input, the worst inversion PSNR of its faces, each face, the warnings."""
        psnrs = [subject.psnr for subject in self.subjects or [] if subject.psnr is not None]
        record: dict[str, Any] = {"input": self.name, "psnr": min(psnrs) if psnrs else None}
        if self.photo is not None:
            chosen = [face for face in self.photo.faces if self.face is None or face.index == self.face]
            shown = AlignedPhoto(self.photo.path, self.photo.photo, chosen)
            discs = [subject.disc for subject in self.subjects or [] if subject.psnr is not None]
            record["faces"] = [
                entry | {"psnr": psnr, "disc": disc}
                for entry, psnr, disc in zip(describe_faces(shown), psnrs, discs, strict=False)
            ]
        record["warnings"] = self.warnings or []
        return record


def plan_units(
    items: list[Any], photos: dict[str, AlignedPhoto | None], crop_only: bool, same_format: bool
) -> list[EditUnit]:
    """What `apply` writes for each input (``photos``: each photo input's alignment, None where it is
    used as it is): one unit per input, or per face with ``crop_only`` (named NAME-faceN when a
    photo has several)."""
    units = []
    for item in items:
        photo = photos.get(item.name)
        if photo is None:
            units.append(EditUnit(item.name, item=item))
        elif not crop_only:
            units.append(EditUnit(item.name, photo=photo, same_format=same_format))
        else:
            several = len(photo.faces) > 1
            for face in photo.faces:
                name = f"{item.name}-face{face.index}" if several else item.name
                units.append(EditUnit(name, photo=photo, face=face.index))
    return units


def invert_units(
    backend: Backend, units: list[EditUnit], options: InversionOptions, progress: Progress, use_cache: bool = True
) -> None:
    """Fill in every unit's subjects: seeds mapped, photos used as they are inverted whole, faces
    inverted from their aligned crops (each face once); warn where a reconstruction is poor."""
    from latentedit.editing import prepare_subjects

    plain = [unit.item for unit in units if unit.item is not None]
    photos = list({id(unit.photo): unit.photo for unit in units if unit.photo is not None}.values())
    subjects = iter(prepare_subjects(backend, plain, options, progress)) if plain else iter(())
    faces = {
        (id(photo), face.index): subject
        for photo, row in zip(photos, face_subjects(backend, photos, options, progress, use_cache), strict=True)
        for face, subject in zip(photo.faces, row, strict=True)
    }
    for unit in units:
        if unit.item is not None:
            unit.subjects = [next(subjects)]
        else:
            wanted = [face.index for face in unit.photo.faces if unit.face in (None, face.index)]  # type: ignore[union-attr]
            unit.subjects = [faces[(id(unit.photo), index)] for index in wanted]
        unit.warnings = [
            message
            for subject in unit.subjects
            if subject.psnr is not None and (message := check_reconstruction(subject.name, subject.psnr, subject.disc))
        ]
