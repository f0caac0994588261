"""Face alignment on the embedded world: rendered faces placed in larger noisy photos with a random
known similarity (scale 0.5-2, rotation +-20 degrees, anywhere the face fits), aligned from their
exact landmarks, compared with the truth (docs/faces.md).

    python -m benchmarks.face_alignment --cases 200
    python -m benchmarks.face_alignment --cases 200 --detector world-landmarks
    python -m benchmarks.face_alignment --cases 0 --figure docs/img/faces_example.png

Per case, in pixels of a 64 px crop:
- ``corner_error``: the recovered crop's corners vs the render's frame carried through the known
  transform, aligning to the face's own landmark positions (a template that is exactly right);
- ``content_error``: where the crop's pixels actually are: a similarity fitted between the crop and
  the render as placed (drawn at 4x, box-filtered to 64 px; Lucas-Kanade, one linearised step), its
  mean corner shift; this is what would show a half-pixel slip or a wrong scale in the warp;
- ``psnr``: the crop vs that render (dB), inside a 3 px margin;
- ``ffhq_error``: FFHQ's square from the moved landmarks vs the moved square from the original
  ones (the procedure commutes with similarities);
- ``paste_psnr``: the unedited crop pasted back into the photo vs the photo, over the pixels the
  blend mask reaches (dB); ``paste_outside_changed``: pixels outside it that changed (must be 0);
- ``embedded_frame_error``: the embedded world's mean template vs the render's frame: what five
  points cannot tell (yaw, face width, eye spacing, face height move the features in the frame).

With ``--detector NAME`` (e.g. ``world-landmarks``, the embedded world's finder) the faces are also
found by that detector, without their landmarks, and per case:
- ``detected``: 1 when its most confident face lies on the placed one (landmarks within a tenth of
  the frame's side on average), else 0; ``extra_faces``: further faces it reported;
- ``detector_landmark_error``: its five points vs the exact ones (mean, crop pixels);
- ``detector_corner_error``: the crop alignment uses vs the true frame, the bar of issue 24
  (<= 1.0 px at 64 px): the square the detector reports for the embedded template where it reports
  one (the world's finder does), else the template's square from its points;
- ``detector_points_corner_error``: the template's square from its points, to set beside
  ``embedded_frame_error`` (the same from the exact points).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

from benchmarks import common

SIZE = 64
PHOTO = (256, 192)


def random_frame(rng: Any, size: int = SIZE, photo: tuple[int, int] = PHOTO) -> Any:
    """A similarity from render pixels into the photo: scale 0.5-2, rotation +-20 degrees, the
    frame's centre anywhere the whole rotated frame stays inside the photo."""
    from latentedit.faces.scenes import similarity

    scale = float(rng.uniform(0.5, 2.0))
    degrees = float(rng.uniform(-20.0, 20.0))
    reach = scale * size / 2.0 * (abs(math.cos(math.radians(degrees))) + abs(math.sin(math.radians(degrees))))
    center = (rng.uniform(reach, photo[0] - reach), rng.uniform(reach, photo[1] - reach))
    turn = similarity(scale, degrees, (0.0, 0.0))
    offset = turn[:2, :2] @ [size / 2.0, size / 2.0]
    return similarity(scale, degrees, (center[0] - offset[0], center[1] - offset[1]))


def content_shift(crop: Any, reference: Any, margin: int = 3) -> float:
    """Mean corner displacement (pixels) of the similarity that best maps ``reference``'s content
    onto ``crop``'s: one Gauss-Newton step on images smoothed by a 1 px Gaussian, ignoring a
    ``margin`` at the border (where the scene's noise meets the render's edge)."""
    import numpy as np
    from PIL import Image, ImageFilter

    def smooth(image: Any) -> Any:
        return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(1.0)), dtype=np.float64)

    moved, fixed = smooth(crop), smooth(reference)
    size = fixed.shape[0]
    gy, gx = np.gradient(fixed, axis=(0, 1))
    coords = np.arange(size) + 0.5 - size / 2.0
    x = np.broadcast_to(coords[None, :, None], fixed.shape)
    y = np.broadcast_to(coords[:, None, None], fixed.shape)
    inner = (slice(margin, size - margin), slice(margin, size - margin))
    jacobian = np.stack([gx * x + gy * y, gy * x - gx * y, gx, gy], axis=-1)[inner].reshape(-1, 4)
    residual = (moved - fixed)[inner].reshape(-1)
    a, b, tx, ty = np.linalg.lstsq(jacobian, residual, rcond=None)[0]
    corners = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, 1.0], [1.0, -1.0]]) * size / 2.0
    shift = np.stack([a * corners[:, 0] - b * corners[:, 1] + tx, b * corners[:, 0] + a * corners[:, 1] + ty], 1)
    return float(np.hypot(shift[:, 0], shift[:, 1]).mean())


def alignment_case(seed: int, detector: Any = None) -> dict[str, float]:
    """Place face ``seed`` in a noisy photo with a random frame; align it; measure (see the module doc);
    with ``detector`` (a `DetectorFn`), also find the face with it."""
    import numpy as np

    from latentedit.faces.align import align, apply_affine
    from latentedit.faces.paste import blend_mask, paste_back
    from latentedit.faces.scenes import place_face
    from latentedit.faces.templates import FFHQ, Template, embedded_template
    from latentedit.world.attributes import sample_attributes

    rng = np.random.default_rng(seed)
    record = sample_attributes(seed)
    scene = place_face(record, random_frame(rng), PHOTO, rng)
    in_frame = apply_affine(np.linalg.inv(scene.frame), scene.landmarks)
    own = Template("own", in_frame / SIZE)
    face = align(scene.photo, scene.landmarks, own, SIZE)
    frame_scale = math.sqrt(abs(np.linalg.det(scene.frame[:2, :2])))
    mean_corner = lambda a, b: float(np.hypot(*(a - b).T).mean())  # noqa: E731
    embedded = embedded_template().quad(scene.landmarks)
    ffhq_truth = apply_affine(scene.frame, FFHQ.quad(in_frame))
    error = (face.crop.astype(np.float64) - scene.face)[3:-3, 3:-3]
    pasted = paste_back(scene.photo, face.crop, face)
    weights = blend_mask(face, PHOTO)
    reached = np.zeros(scene.photo.shape[:2], bool)
    reached[weights.box[1] : weights.box[3], weights.box[0] : weights.box[2]] = weights.mask > 0
    paste_error = pasted[reached].astype(np.float64) - scene.photo[reached]
    found = _detector_case(detector, scene, embedded, frame_scale) if detector is not None else {}
    return found | {
        "corner_error": mean_corner(face.quad, scene.frame_quad) / frame_scale,
        "content_error": content_shift(face.crop, scene.face),
        "psnr": float(10.0 * np.log10(255.0**2 / max((error**2).mean(), 1e-9))),
        "paste_psnr": float(10.0 * np.log10(255.0**2 / max((paste_error**2).mean(), 1e-9))),
        "paste_outside_changed": float((pasted[~reached] != scene.photo[~reached]).sum()),
        "ffhq_error": mean_corner(FFHQ.quad(scene.landmarks), ffhq_truth) / frame_scale,
        "embedded_frame_error": mean_corner(embedded, scene.frame_quad) / frame_scale,
        "scale": frame_scale,
    }


MISSED = ("detector_landmark_error", "detector_corner_error", "detector_points_corner_error")
"""The measures a missed face has no number for."""


def _detector_case(detector: Any, scene: Any, exact_quad: Any, frame_scale: float) -> dict[str, float]:
    """The detector's measures of one case (module doc); its errors are NaN where it missed the face."""
    import numpy as np

    from latentedit.faces.detectors import detect
    from latentedit.faces.templates import embedded_template

    found = detect(detector, scene.photo)
    miss = {"detected": 0.0, "extra_faces": float(max(len(found) - 1, 0))}
    if not found:
        return miss | dict.fromkeys(MISSED, math.nan)
    error = float(np.hypot(*(found[0].landmarks - scene.landmarks).T).mean()) / frame_scale
    if error > SIZE / 10.0:
        return miss | dict.fromkeys(MISSED, math.nan)
    from_points = embedded_template().quad(found[0].landmarks)
    quad = from_points if found[0].quad is None else found[0].quad
    corner = lambda square: float(np.hypot(*(square - scene.frame_quad).T).mean()) / frame_scale  # noqa: E731
    return miss | {
        "detected": 1.0,
        "detector_landmark_error": error,
        "detector_corner_error": corner(quad),
        "detector_points_corner_error": corner(from_points),
    }


def summary(cases: Sequence[dict[str, float]]) -> dict[str, Any]:
    """Mean, minimum and maximum of every measure over the cases."""
    import numpy as np

    keys = [key for key in cases[0] if key != "scale"]
    columns = {key: np.array([case[key] for case in cases]) for key in keys}
    stats = {
        key: {"mean": float(np.nanmean(v)), "min": float(np.nanmin(v)), "max": float(np.nanmax(v))}
        for key, v in columns.items()
        if np.isfinite(v).any()
    }
    return stats | {"cases": len(cases)}


def figure(path: str) -> None:
    """docs/faces.md's example: a face placed in a noisy photo (scale 2.5, -15 degrees); its FFHQ
    crop and embedded-template crop; the photo with the embedded crop of the same face with a frown
    pasted back. Each panel 240 px high (crops upscaled with nearest neighbour)."""
    import numpy as np
    from PIL import Image

    from latentedit.faces.align import align
    from latentedit.faces.paste import paste_back
    from latentedit.faces.scenes import place_face, similarity
    from latentedit.faces.templates import FFHQ, embedded_template
    from latentedit.world.attributes import sample_attributes, with_attribute

    record, frame = sample_attributes(9), similarity(2.5, -15.0, (150.0, 60.0))
    scene = place_face(record, frame, (360, 240), np.random.default_rng(9))
    frown = place_face(with_attribute(record, "smile", -1.0), frame, (360, 240), np.random.default_rng(9))
    face = align(scene.photo, scene.landmarks, embedded_template())
    edited = align(frown.photo, scene.landmarks, embedded_template()).crop
    panels = [
        scene.photo,
        np.asarray(Image.fromarray(align(scene.photo, scene.landmarks, FFHQ, 240).crop)),
        np.asarray(Image.fromarray(face.crop).resize((240, 240), Image.Resampling.NEAREST)),
        paste_back(scene.photo, edited, face),
    ]
    gap = np.full((240, 8, 3), 255, np.uint8)
    row = np.concatenate([part for panel in panels for part in (panel, gap)][:-1], axis=1)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    Image.fromarray(row).save(path)
    print(f"wrote {path}")


def measure(args: Any) -> dict[str, Any]:
    """Run ``args.cases`` cases (seeds from ``args.first``) and print one line per measure."""
    if args.figure:
        figure(args.figure)
    if not args.cases:
        return {}
    detector = None
    if args.detector:
        from latentedit.faces.detectors import load_detector

        detector = load_detector(args.detector)
    cases = []
    for seed in range(args.first, args.first + args.cases):
        case, seconds = common.timed(alignment_case, seed, detector)
        cases.append(case | {"seconds": seconds})
    results = summary(cases)
    for key, value in results.items():
        print(key, value if key == "cases" else "  ".join(f"{name} {number:.4g}" for name, number in value.items()))
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--cases", type=int, default=200, metavar="N", help="faces to place and align (default 200)")
    parser.add_argument("--figure", metavar="PNG", help="also write docs/faces.md's example picture")
    parser.add_argument("--first", type=int, default=1_000_000, metavar="SEED", help="first face seed")
    parser.add_argument("--detector", metavar="NAME", help="also find the faces with this detector (world-landmarks)")
    common.run(measure, parser, argv)


if __name__ == "__main__":
    main()
