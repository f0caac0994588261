"""The embedded world's own face finder: real-face detectors do not see its cartoon faces, but its
renderer knows every landmark exactly, so two small networks trained on renders find them.

1. ``Locator`` (fully convolutional) looks at the photo shrunk to ``LOCATOR_SIDE`` pixels and
   marks face centres on a grid of stride 8 (a heat map, CenterNet-style, Zhou et al. 2019), with
   each face's size (the side of the render's frame) and the centre's offset inside its cell.
2. ``Pointer`` looks at a ``POINTER_SIDE`` pixel crop around one face (its side ``CROP_SCALE``
   times the face's size) and regresses the five landmarks in the crop. It runs ``REFINEMENTS``
   more times, each on a crop that the landmarks found so far turn upright and centre (the
   embedded template's frame), which is where it is most precise.

The score of a face is the locator's peak. Weights: ``world_landmarks.safetensors`` (fp16),
trained by `latentedit.world.landmark_training` (recipe in training/world-landmarks/).
"""

from __future__ import annotations

import math

# Imported lazily (only when faces are detected), never at start-up.
import numpy as np  # noqa: TID253
import torch  # noqa: TID253
import torch.nn.functional as F  # noqa: TID253
from torch import nn  # noqa: TID253

LANDMARKS_FILE = "world_landmarks.safetensors"
LOCATOR_SIDE = 128
"""The photo's longer side as the locator sees it."""
STRIDE = 8
POINTER_SIDE = 64
CROP_SCALE = 1.25
"""A pointer crop's side over the face's frame side."""
REFINEMENTS = 2
VIEWS = 8
"""Crops the last pass averages: the frame found so far, shifted (+-4 % of the face), grown
(x0.96-1.04) and turned (+-4 degrees) by a fixed pseudo-random draw, so a photo always gives the
same points; on the benchmark this takes the crop's error from 1.10 to 0.83 px."""
FRAME_POINTS = ((0.25, 0.5), (0.75, 0.5))
"""Two points of the render's frame (unit coordinates) the pointer finds besides the landmarks."""
POINTS = 5 + len(FRAME_POINTS)
MIN_SCORE = 0.5
"""Locator peaks below this are not faces. Measured on the alignment benchmark's 200 photos:
placed faces peak at 0.5 and above (199 of 200); in per-pixel colour noise the locator peaks at
0.33-0.44, which at 0.3 gave 6 false faces in the 200 photos and at 0.5 gives none."""


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation), nn.ReLU())


class Locator(nn.Module):
    """Photo [N, 3, S, S] in [-1, 1] -> [N, 4, S/8, S/8]: centre logit, log face size (in input
    pixels), centre offset in the cell (x, y, fractions of a cell). Dilated convolutions give each
    cell a view of 127 px, the largest face it is trained on and then some."""

    def __init__(self, width: int = 24) -> None:
        super().__init__()
        self.init_kwargs = {"width": width}
        self.body = nn.Sequential(
            _conv(3, width // 2, 2),
            _conv(width // 2, width, 2),
            _conv(width, width, 2),
            _conv(width, width),
            _conv(width, width, dilation=2),
            _conv(width, width, dilation=4),
        )
        self.head = nn.Conv2d(width, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class Pointer(nn.Module):
    """Crop [N, 3, 64, 64] in [-1, 1] -> ``POINTS`` points [N, 7, 2] in crop units ([0, 1] across):
    the five landmarks, then two points of the render's frame (`FRAME_POINTS`), which say where the
    crop the generator was trained on lies better than five landmarks can. A heat map per point on
    a 16 x 16 grid, read out as its softmax's expected position (integral regression, Sun et al.
    2018), sub-pixel on a coarse grid. Dilated convolutions give each cell a view of 63 px."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.init_kwargs = {"width": width}
        self.body = nn.Sequential(
            _conv(3, width // 2, 2),
            _conv(width // 2, width, 2),
            _conv(width, width),
            _conv(width, width, dilation=2),
            _conv(width, width, dilation=4),
        )
        self.head = nn.Conv2d(width, POINTS, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        heat = self.head(self.body(x))
        cells = heat.shape[-1]
        weights = heat.flatten(2).softmax(dim=-1).view_as(heat)
        centres = (torch.arange(cells, dtype=heat.dtype, device=heat.device) + 0.5) / cells
        return torch.stack([(weights.sum(2) * centres).sum(-1), (weights.sum(3) * centres).sum(-1)], -1)


def to_input(photo: np.ndarray) -> torch.Tensor:
    """uint8 RGB [H, W, 3] -> float [1, 3, H, W] in [-1, 1]."""
    return torch.tensor(np.asarray(photo), dtype=torch.float32).permute(2, 0, 1)[None] / 127.5 - 1.0


def locator_input(image: torch.Tensor) -> tuple[torch.Tensor, float]:
    """The photo shrunk (or grown) so its longer side is ``LOCATOR_SIDE``, padded at the right and
    bottom with 0 (mid-grey); and the factor photo pixels were multiplied by."""
    height, width = image.shape[2:]
    factor = LOCATOR_SIDE / max(height, width)
    size = (max(round(height * factor), 1), max(round(width * factor), 1))
    mode = "area" if factor < 1.0 else "bilinear"
    resized = F.interpolate(image, size=size, mode=mode, **({} if mode == "area" else {"align_corners": False}))
    return F.pad(resized, (0, LOCATOR_SIDE - size[1], 0, LOCATOR_SIDE - size[0])), factor


def crop_frames(centres: torch.Tensor, sides: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """[N, 2, 3] affines from crop units ([0, 1]^2) to photo pixels: squares of ``sides`` around
    ``centres``, turned by ``angles`` (radians, clockwise on screen)."""
    cos, sin = torch.cos(angles) * sides, torch.sin(angles) * sides
    linear = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
    shift = centres - (linear @ torch.full((2, 1), 0.5, dtype=linear.dtype))[..., 0]
    return torch.cat([linear, shift[..., None]], -1)


def sample_crops(image: torch.Tensor, frames: torch.Tensor, side: int = POINTER_SIDE) -> torch.Tensor:
    """Crops [N, 3, side, side] of ``image`` [1, 3, H, W] through ``frames`` (crop units -> photo
    pixels); bilinear, antialiased by sampling 2 x 2 points per pixel where the crop shrinks."""
    height, width = image.shape[2:]
    shrink = float(torch.linalg.det(frames[:, :, :2]).abs().sqrt().max()) / side > 1.0
    samples = side * (2 if shrink else 1)
    steps = (torch.arange(samples, dtype=frames.dtype) + 0.5) / samples
    grid_y, grid_x = torch.meshgrid(steps, steps, indexing="ij")
    units = torch.stack([grid_x, grid_y, torch.ones_like(grid_x)], -1).reshape(-1, 3)
    pixels = units @ frames.transpose(1, 2)
    normalised = pixels / torch.tensor([width / 2.0, height / 2.0], dtype=frames.dtype) - 1.0
    grid = normalised.view(len(frames), samples, samples, 2).float()
    crops = F.grid_sample(image.expand(len(frames), -1, -1, -1), grid, align_corners=False)
    return F.avg_pool2d(crops, 2) if shrink else crops


class FinderNetworks(nn.Module):
    """Both networks, saved as one file."""

    def __init__(self, locator_width: int = 24, pointer_width: int = 32) -> None:
        super().__init__()
        self.init_kwargs = {"locator_width": locator_width, "pointer_width": pointer_width}
        self.locator = Locator(locator_width)
        self.pointer = Pointer(pointer_width)


class WorldLandmarks:
    """The finder; call it with a uint8 RGB photo [H, W, 3] for ``[(score, five points, quad), ...]``:
    ``quad`` is the render's frame in the photo (top-left, bottom-left, bottom-right, top-right),
    the crop of the ``embedded`` template."""

    def __init__(self, networks: FinderNetworks) -> None:
        self.locator, self.pointer = networks.locator.eval(), networks.pointer.eval()

    @torch.no_grad()
    def __call__(self, photo: np.ndarray) -> list[tuple[float, np.ndarray, np.ndarray]]:
        image = to_input(photo)
        scores, centres, sides = self.locate(image)
        if not len(scores):
            return []
        points, frames = self.point(image, centres, sides)
        corners = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]], dtype=frames.dtype)
        quads = corners @ frames[:, :, :2].transpose(1, 2) + frames[:, None, :, 2]
        return [(float(s), p.numpy(), q.numpy()) for s, p, q in zip(scores, points, quads, strict=True)]

    def locate(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Scores [N], centres [N, 2] and frame sides [N] (photo pixels) of the faces the locator marks."""
        shrunk, factor = locator_input(image)
        out = self.locator(shrunk)[0].double()
        heat = out[0].sigmoid()
        peaks = (heat == F.max_pool2d(heat[None, None], 3, 1, 1)[0, 0]) & (heat > MIN_SCORE)
        ys, xs = torch.nonzero(peaks, as_tuple=True)
        order = torch.argsort(heat[ys, xs], descending=True, stable=True)
        ys, xs = ys[order], xs[order]
        centres = (torch.stack([xs, ys], 1).double() + 0.5 + out[2:4, ys, xs].T) * STRIDE / factor
        sides = out[1, ys, xs].exp() / factor
        kept: list[int] = []
        for index in range(len(ys)):  # a peak inside a stronger face's half-side is that face again
            if all(float((centres[index] - centres[k]).norm()) > 0.5 * float(sides[k]) for k in kept):
                kept.append(index)
        return heat[ys, xs][kept], centres[kept], sides[kept]

    def point(self, image: torch.Tensor, centres: torch.Tensor, sides: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Landmarks [N, 5, 2] and frames [N, 2, 3] (unit frame -> photo pixels) of the faces around
        ``centres``: one pass on upright crops, then ``REFINEMENTS`` passes on the crops the frame
        found so far turns upright and centres."""
        angles = torch.zeros_like(sides)
        for step in range(REFINEMENTS + 1):
            views = VIEWS if step == REFINEMENTS else 1
            crops = crop_frames(*_jittered(centres, sides * CROP_SCALE, angles, views))
            units = self.pointer(sample_crops(image, crops)).double()
            points = units @ crops[:, :, :2].transpose(1, 2) + crops[:, None, :, 2]
            points = points.view(views, len(sides), POINTS, 2).mean(0)
            frames = frame_from_points(points[:, 5:])
            centres = frames[:, :, 2] + frames[:, :, :2] @ torch.full((2,), 0.5, dtype=frames.dtype)
            sides = torch.linalg.det(frames[:, :, :2]).abs().sqrt()
            angles = torch.atan2(frames[:, 1, 0], frames[:, 0, 0])
        return points[:, :5], frames


def _jittered(centres: torch.Tensor, sides: torch.Tensor, angles: torch.Tensor, views: int) -> tuple[torch.Tensor, ...]:
    """``views`` copies of each crop (view-major), moved as `VIEWS` says; one view: the crops as they are."""
    if views == 1:
        return centres, sides, angles
    draw = torch.Generator().manual_seed(0)
    count = len(sides)
    uniform = lambda *shape: torch.rand(*shape, generator=draw, dtype=sides.dtype) - 0.5  # noqa: E731
    shifted = centres[None] + uniform(views, count, 2) * 0.08 * sides[None, :, None] / CROP_SCALE
    grown = sides[None] * (1.0 + uniform(views, count) * 0.08)
    turned = angles[None] + uniform(views, count) * math.radians(8.0)
    return shifted.reshape(-1, 2), grown.reshape(-1), turned.reshape(-1)


def frame_from_points(found: torch.Tensor) -> torch.Tensor:
    """[N, 2, 3] affines from unit frame coordinates to photo pixels: the similarity that puts
    `FRAME_POINTS` on the two ``found`` points [N, 2, 2]."""
    (u0, v0), (u1, v1) = FRAME_POINTS
    span = torch.tensor([u1 - u0, v1 - v0], dtype=found.dtype)
    delta = found[:, 1] - found[:, 0]
    norm = (span**2).sum()
    cos = (delta @ span) / norm
    sin = (span[0] * delta[:, 1] - span[1] * delta[:, 0]) / norm
    linear = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
    shift = found[:, 0] - linear @ torch.tensor([u0, v0], dtype=found.dtype)
    return torch.cat([linear, shift[..., None]], -1)


def make_detector() -> WorldLandmarks:
    """The detector factory the embedded world's plugin registers."""
    from latentedit.world.weights import load_module, weights_path

    networks = load_module(weights_path(LANDMARKS_FILE), FinderNetworks, "landmarks")
    return WorldLandmarks(networks)  # type: ignore[arg-type]
