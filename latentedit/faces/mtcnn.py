"""MTCNN face detection with five landmarks (Zhang et al. 2016, "Joint Face Detection and Alignment
using Multitask Cascaded Convolutional Networks"), in PyTorch, with the weights of the ``mtcnn``
wheel (MIT; installed by ``pip install 'latentedit[faces]'``, which brings no TensorFlow).

Three networks in a cascade, as the paper describes:

1. P-Net, fully convolutional, slides a 12 px window (stride 2) over an image pyramid (scale
   factor 0.709, from a 20 px face up); windows whose face probability passes 0.6 become boxes,
   shifted by P-Net's box regression; non-maximum suppression per scale (IoU 0.5) and over all
   scales (0.7); boxes made square.
2. R-Net re-scores every box from a 24 px patch (threshold 0.7), regresses it again, NMS 0.7.
3. O-Net, on 48 px patches, gives the final score (threshold 0.7), box and the five landmarks as
   fractions of the box; NMS 0.7 over the smaller box ("min" overlap).

The wheel stores the networks in Keras' layout (its weights came from the authors' Caffe
models); `load_keras` maps them onto the torch layers. Boxes and points are in continuous photo
coordinates (pixel i covers [i, i+1)), the convention of `latentedit.faces`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Imported lazily (only when faces are detected), never at start-up.
import numpy as np  # noqa: TID253
import torch  # noqa: TID253
import torch.nn.functional as F  # noqa: TID253
from torch import nn  # noqa: TID253

from latentedit.errors import CheckpointError

MIN_FACE = 20.0
"""Smallest face (pixels across) the pyramid looks for."""
SCALE_FACTOR = 0.709
THRESHOLDS = (0.6, 0.7, 0.7)
"""Face probability each stage (P-, R-, O-Net) keeps a box at."""
MAX_SIDE = 1600
"""A larger photo is shrunk to this side for detection (the points are scaled back): the pyramid of
a 8000 px photo costs minutes and finds the same faces."""


def _same_pool(x: torch.Tensor, size: int, stride: int) -> torch.Tensor:
    """Max pooling with Keras' "same" padding: ceil(n / stride) outputs, padding split low-first."""
    pads = []
    for n in (x.shape[3], x.shape[2]):
        total = max((-(-n // stride) - 1) * stride + size - n, 0)
        pads += [total // 2, total - total // 2]
    return F.max_pool2d(F.pad(x, pads, value=float("-inf")), size, stride)


class _Stage(nn.Module):
    """Convolutions (each followed by a channel-wise PReLU and an optional max pool), then heads."""

    def __init__(self, convs: Sequence[tuple[int, int, int, Any]]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(cin, cout, k) for cin, cout, k, _ in convs)
        self.prelus = nn.ModuleList(nn.PReLU(cout) for _, cout, _, _ in convs)
        self.pools = [pool for *_, pool in convs]

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        for conv, prelu, pool in zip(self.convs, self.prelus, self.pools, strict=True):
            x = prelu(conv(x))
            if pool is not None:
                kind, size, stride = pool
                x = _same_pool(x, size, stride) if kind == "same" else F.max_pool2d(x, size, stride)
        return x

    def keras_layers(self) -> list[nn.Module]:
        """The layers in the order the wheel lists their arrays."""
        layers: list[nn.Module] = []
        for conv, prelu in zip(self.convs, self.prelus, strict=True):
            layers += [conv, prelu]
        return layers


class PNet(_Stage):
    """Proposal network: 12 px windows -> (box regression [N, 4, h, w], face probability [N, h, w])."""

    def __init__(self) -> None:
        super().__init__([(3, 10, 3, ("same", 2, 2)), (10, 16, 3, None), (16, 32, 3, None)])
        self.box = nn.Conv2d(32, 4, 1)
        self.face = nn.Conv2d(32, 2, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.trunk(x)
        return self.box(x), self.face(x).softmax(dim=1)[:, 1]

    def keras_layers(self) -> list[nn.Module]:
        return [*super().keras_layers(), self.box, self.face]


class _DenseStage(_Stage):
    """R-Net and O-Net: the trunk, flattened in Keras' order (width, height, channels), a PReLU
    dense layer and linear heads (the last one the face/non-face softmax)."""

    def __init__(self, convs: Sequence[tuple[int, int, int, Any]], flat: int, hidden: int, heads: Sequence[int]):
        super().__init__(convs)
        self.dense = nn.Linear(flat, hidden)
        self.dense_prelu = nn.PReLU(hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, n) for n in heads)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.trunk(x).permute(0, 3, 2, 1).flatten(1)
        x = self.dense_prelu(self.dense(x))
        *outputs, face = [head(x) for head in self.heads]
        return [*outputs, face.softmax(dim=1)[:, 1]]

    def keras_layers(self) -> list[nn.Module]:
        return [*super().keras_layers(), self.dense, self.dense_prelu, *self.heads]


class RNet(_DenseStage):
    """Refinement network: 24 px patches -> (box regression [N, 4], face probability [N])."""

    def __init__(self) -> None:
        super().__init__(
            [(3, 28, 3, ("same", 3, 2)), (28, 48, 3, ("valid", 3, 2)), (48, 64, 2, None)], 576, 128, (4, 2)
        )


class ONet(_DenseStage):
    """Output network: 48 px patches -> (box regression [N, 4], landmarks [N, 10], face probability [N])."""

    def __init__(self) -> None:
        super().__init__(
            [
                (3, 32, 3, ("same", 3, 2)),
                (32, 64, 3, ("valid", 3, 2)),
                (64, 64, 3, ("same", 2, 2)),
                (64, 128, 2, None),
            ],
            1152,
            256,
            (4, 10, 2),
        )


def load_keras(stage: _Stage, arrays: Sequence[np.ndarray], source: Path) -> None:
    """Copy Keras arrays (conv kernel [kh, kw, in, out] and bias, PReLU alpha, dense [in, out] and
    bias) onto ``stage``'s layers; a mismatch is one `CheckpointError` line."""
    expected = sum(2 if not isinstance(layer, nn.PReLU) else 1 for layer in stage.keras_layers())
    if len(arrays) != expected:
        raise CheckpointError(f"{source}: {len(arrays)} arrays; {type(stage).__name__} needs {expected}.")
    values = iter(arrays)
    with torch.no_grad():
        for layer in stage.keras_layers():
            if isinstance(layer, nn.PReLU):
                _copy(layer.weight, next(values).reshape(-1), source)
                continue
            kernel = next(values)
            kernel = kernel.transpose(3, 2, 0, 1) if kernel.ndim == 4 else kernel.T
            _copy(layer.weight, kernel, source)
            _copy(layer.bias, next(values), source)


def _copy(target: torch.Tensor, value: np.ndarray, source: Path) -> None:
    if tuple(value.shape) != tuple(target.shape):
        raise CheckpointError(f"{source}: an array of shape {value.shape} where {tuple(target.shape)} belongs.")
    target.copy_(torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)))


def weights_folder() -> Path:
    """Where the ``mtcnn`` wheel keeps its weights (found without importing the package, whose
    own code needs TensorFlow)."""
    spec = importlib.util.find_spec("mtcnn")
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError("The mtcnn package is not installed: pip install 'latentedit[faces]'.")
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / "weights"


class MTCNN:
    """The cascade; call it with a uint8 RGB photo [H, W, 3] for ``[(score, five points), ...]``."""

    def __init__(self, folder: Path | None = None) -> None:
        from latentedit.faces.joblib_arrays import read_joblib_arrays

        folder = folder or weights_folder()
        self.stages: list[_Stage] = []
        for name, stage in (("pnet", PNet()), ("rnet", RNet()), ("onet", ONet())):
            path = folder / f"{name}.lz4"
            load_keras(stage, read_joblib_arrays(path), path)
            self.stages.append(stage.eval())

    @torch.no_grad()
    def __call__(self, photo: np.ndarray) -> list[tuple[float, np.ndarray]]:
        height, width = photo.shape[:2]
        shrink = min(1.0, MAX_SIDE / max(height, width))
        image = torch.tensor(np.asarray(photo), dtype=torch.float32).permute(2, 0, 1)[None]
        if shrink < 1.0:
            image = F.interpolate(image, size=(round(height * shrink), round(width * shrink)), mode="area")
        image = (image - 127.5) / 128.0
        boxes = self._propose(image)
        boxes = self._refine(image, boxes)
        found = self._output(image, boxes)
        return [(float(score), points / shrink) for score, points in found]

    def _propose(self, image: torch.Tensor) -> torch.Tensor:
        """P-Net over the pyramid: square boxes [N, 5] (x1, y1, x2, y2, score)."""
        pnet = self.stages[0]
        height, width = image.shape[2:]
        found = []
        scale = 12.0 / MIN_FACE
        while min(height, width) * scale >= 12.0:
            size = (max(round(height * scale), 12), max(round(width * scale), 12))
            regression, probability = pnet(F.interpolate(image, size=size, mode="area"))
            ys, xs = torch.nonzero(probability[0] > THRESHOLDS[0], as_tuple=True)
            if len(ys):
                x1, y1 = xs.double() * 2.0, ys.double() * 2.0
                windows = torch.stack([x1, y1, x1 + 12.0, y1 + 12.0], 1)
                offsets = regression[0, :, ys, xs].T.double()
                boxes = torch.cat([(windows + offsets * 12.0) / scale, probability[0, ys, xs, None].double()], 1)
                found.append(boxes[_nms(boxes, 0.5)])
            scale *= SCALE_FACTOR
        if not found:
            return torch.zeros((0, 5), dtype=torch.float64)
        boxes = torch.cat(found)
        return _square(boxes[_nms(boxes, 0.7)])

    def _refine(self, image: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """R-Net: the boxes that pass, regressed and squared."""
        if not len(boxes):
            return boxes
        regression, probability = self.stages[1](_patches(image, boxes, 24))
        keep = probability > THRESHOLDS[1]
        boxes = _regress(boxes[keep], regression[keep].double(), probability[keep].double())
        return _square(boxes[_nms(boxes, 0.7)])

    def _output(self, image: torch.Tensor, boxes: torch.Tensor) -> list[tuple[float, np.ndarray]]:
        """O-Net: scores and the five landmarks of the faces that pass, most confident first."""
        if not len(boxes):
            return []
        regression, marks, probability = self.stages[2](_patches(image, boxes, 48))
        keep = probability > THRESHOLDS[2]
        boxes, marks = boxes[keep], marks[keep].double()
        side = (boxes[:, 2:4] - boxes[:, 0:2])[:, None, :]
        points = boxes[:, None, 0:2] + torch.stack([marks[:, :5], marks[:, 5:]], 2) * side
        boxes = _regress(boxes, regression[keep].double(), probability[keep].double())
        chosen = _nms(boxes, 0.7, over_smaller=True)
        return [(float(boxes[i, 4]), points[i].numpy()) for i in chosen.tolist()]


def _patches(image: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Each box of ``image`` resampled to ``size`` x ``size`` (bilinear; outside the image: 0, mid-grey)."""
    height, width = image.shape[2:]
    scale = torch.tensor([2.0 / width, 2.0 / height], dtype=torch.float64)
    low, high = boxes[:, 0:2] * scale - 1.0, boxes[:, 2:4] * scale - 1.0
    steps = (torch.arange(size, dtype=torch.float64) + 0.5) / size
    xs = low[:, None, 0] + steps[None] * (high - low)[:, None, 0]
    ys = low[:, None, 1] + steps[None] * (high - low)[:, None, 1]
    grid = torch.stack(torch.broadcast_tensors(xs[:, None, :], ys[:, :, None]), -1).float()
    return F.grid_sample(image.expand(len(boxes), -1, -1, -1), grid, align_corners=False)


def _regress(boxes: torch.Tensor, offsets: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Boxes moved by the network's offsets (fractions of the box's width and height), new scores."""
    side = (boxes[:, 2:4] - boxes[:, 0:2]).repeat(1, 2)
    return torch.cat([boxes[:, :4] + offsets * side, scores[:, None]], 1)


def _square(boxes: torch.Tensor) -> torch.Tensor:
    """Each box grown to a square around its centre (the larger side)."""
    centre = (boxes[:, 0:2] + boxes[:, 2:4]) / 2.0
    half = (boxes[:, 2:4] - boxes[:, 0:2]).max(dim=1, keepdim=True).values / 2.0
    return torch.cat([centre - half, centre + half, boxes[:, 4:]], 1)


def _nms(boxes: torch.Tensor, threshold: float, over_smaller: bool = False) -> torch.Tensor:
    """Indices of the boxes kept by greedy non-maximum suppression, highest score first; overlap is
    intersection over union, or over the smaller box."""
    order = torch.argsort(boxes[:, 4], descending=True, stable=True)
    area = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
    kept = []
    while len(order):
        best, rest = order[0], order[1:]
        kept.append(int(best))
        low = torch.maximum(boxes[best, :2], boxes[rest, :2])
        high = torch.minimum(boxes[best, 2:4], boxes[rest, 2:4])
        inter = (high - low).clamp(min=0).prod(dim=1)
        base = torch.minimum(area[best], area[rest]) if over_smaller else area[best] + area[rest] - inter
        order = rest[inter / base.clamp(min=1e-12) <= threshold]
    return torch.tensor(kept, dtype=torch.long)


def make_detector() -> MTCNN:
    """The detector factory `register_face_detectors` names."""
    return MTCNN()
