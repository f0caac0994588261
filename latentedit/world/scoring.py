"""How world attributes become network targets and network outputs become scores.

Binary attributes are probabilities, continuous ones values in their own units, the cyclic
background hue is predicted as (cos, sin), hair colour as class probabilities. One table
(`HEADS`) drives the scorer's outputs, its loss, decoding and the quality checks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from latentedit.world.attributes import ATTRIBUTES

CYCLIC = ("background_hue",)


def _head(name: str) -> list[Any]:
    spec = ATTRIBUTES[name]
    if name in CYCLIC:
        return ["cyclic", 2]
    if spec.kind == "categorical":
        return ["categorical", len(spec.categories)]
    return [spec.kind, 1]


HEADS: dict[str, list[Any]] = {name: _head(name) for name in ATTRIBUTES}
BINARY = tuple(name for name, (kind, _) in HEADS.items() if kind == "binary")
CONTINUOUS = tuple(name for name, (kind, _) in HEADS.items() if kind in ("continuous", "cyclic"))
CATEGORICAL = tuple(name for name, (kind, _) in HEADS.items() if kind == "categorical")


def targets(records: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
    """Training targets per head from exact attribute records."""
    result: dict[str, torch.Tensor] = {}
    for name, (kind, _) in HEADS.items():
        spec = ATTRIBUTES[name]
        values = [record[name] for record in records]
        if kind == "categorical":
            result[name] = torch.tensor([spec.categories.index(v) for v in values])
        elif kind == "cyclic":
            angle = torch.tensor(values, dtype=torch.float32) * 2 * math.pi
            result[name] = torch.stack([angle.cos(), angle.sin()], dim=1)
        else:
            scaled = (torch.tensor(values, dtype=torch.float32) - spec.low) / (spec.high - spec.low)
            result[name] = scaled.unsqueeze(1)
    return result


def loss(outputs: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Sum over heads: BCE for binary, cross-entropy for categorical, MSE (x10) otherwise."""
    total = torch.zeros(())
    for name, (kind, _) in HEADS.items():
        if kind == "binary":
            total = total + F.binary_cross_entropy_with_logits(outputs[name], target[name])
        elif kind == "categorical":
            total = total + F.cross_entropy(outputs[name], target[name])
        else:
            total = total + 10 * F.mse_loss(outputs[name], target[name])
    return total


def decode(outputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Scores [N] per attribute in the attribute's own units, plus per-colour probabilities.

    Binary -> probability; continuous -> value clamped to its range; hue -> [0, 1);
    hair_color -> index of the likeliest colour, and ``hair_color=<c>`` probabilities.
    """
    scores: dict[str, torch.Tensor] = {}
    for name, (kind, _) in HEADS.items():
        spec = ATTRIBUTES[name]
        raw = outputs[name].float()
        if kind == "binary":
            scores[name] = raw[:, 0].sigmoid()
        elif kind == "categorical":
            probabilities = raw.softmax(dim=1)
            scores[name] = probabilities.argmax(dim=1).float()
            for index, category in enumerate(spec.categories):
                scores[f"{name}={category}"] = probabilities[:, index]
        elif kind == "cyclic":
            scores[name] = torch.atan2(raw[:, 1], raw[:, 0]).div(2 * math.pi).remainder(1.0)
        else:
            scores[name] = raw[:, 0].clamp(0, 1) * (spec.high - spec.low) + spec.low
    return scores


def exact_scores(records: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
    """The true values in the same layout as `decode` (for accuracy and R²)."""
    truth: dict[str, torch.Tensor] = {}
    for name, (kind, _) in HEADS.items():
        spec = ATTRIBUTES[name]
        if kind == "categorical":
            index = torch.tensor([spec.categories.index(record[name]) for record in records])
            truth[name] = index.float()
            for position, category in enumerate(spec.categories):
                truth[f"{name}={category}"] = (index == position).float()
        else:
            truth[name] = torch.tensor([float(record[name]) for record in records])
    return truth


def accuracy_report(scores: Mapping[str, torch.Tensor], truth: Mapping[str, torch.Tensor]) -> dict[str, float]:
    """Binary/categorical accuracy and continuous R² (hue: on the circle) per attribute."""
    report: dict[str, float] = {}
    for name, (kind, _) in HEADS.items():
        predicted, actual = scores[name], truth[name]
        if kind == "binary":
            report[name] = float(((predicted > 0.5).float() == actual).float().mean())
        elif kind == "categorical":
            report[name] = float((predicted == actual).float().mean())
        elif kind == "cyclic":
            error = (predicted - actual + 0.5).remainder(1.0) - 0.5
            report[name] = 1 - float(error.square().mean()) / (1 / 12)
        else:
            residual = float((predicted - actual).square().sum())
            total = float((actual - actual.mean()).square().sum())
            report[name] = 1 - residual / max(total, 1e-12)
    return report
