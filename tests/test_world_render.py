"""Tests of the embedded world's renderer: determinism, attributes, part maps, locality of edits."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.renderer import correlation_matrix, sample_grid
from latentedit.world.attributes import FIELDS, HAIR_COLORS, numeric_columns, numeric_matrix
from latentedit.world.canvas import BEARD, EYES, GLASSES, HAIR, MOUTH, NOSE
from latentedit.world.render import (
    ATTRIBUTES,
    PARTS,
    render,
    render_batch,
    resolution,
    sample_attributes,
    with_attribute,
)

SEEDS = range(200)


@pytest.fixture(scope="module")
def batch() -> tuple[np.ndarray, np.ndarray, list[dict]]:
    return render_batch(SEEDS)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    padded = np.pad(mask, radius)
    out = np.zeros_like(mask)
    size = mask.shape[0]
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out |= padded[dy : dy + size, dx : dx + size]
    return out


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 10


def _corr(records: list[dict], a: str, b: str) -> float:
    columns = numeric_columns()
    x = numeric_matrix(records)
    return float(np.corrcoef(x[:, columns.index(a)], x[:, columns.index(b)])[0, 1])


def test_shapes_dtypes_and_sizes(batch) -> None:
    images, parts, records = batch
    assert resolution == 64
    assert images.shape == (len(SEEDS), 64, 64, 3) and images.dtype == np.uint8
    assert parts.shape == (len(SEEDS), 64, 64) and parts.dtype == np.uint8
    assert parts.max() < len(PARTS) and PARTS[0] == "background"
    assert [r["seed"] for r in records] == list(SEEDS)
    for size in (32, 128):
        image, part = render(records[0], size=size)
        assert image.shape == (size, size, 3) and part.shape == (size, size)


def test_same_seed_gives_identical_bytes_independent_of_batch(batch) -> None:
    images, parts, _ = batch
    image, part = render(sample_attributes(7))
    assert image.tobytes() == images[7].tobytes() and part.tobytes() == parts[7].tobytes()
    other_images, other_parts, _ = render_batch([123, 7, 5])
    assert other_images[1].tobytes() == images[7].tobytes()
    assert other_parts[2].tobytes() == parts[5].tobytes()
    assert sample_attributes(7) == sample_attributes(7)


def test_records_hold_every_field_in_range(batch) -> None:
    _, _, records = batch
    for record in records:
        assert set(record) == {"seed", *FIELDS}
        for name, spec in FIELDS.items():
            assert spec.validate(name, record[name]) == record[name]
    assert {r["hair_color"] for r in records} == set(HAIR_COLORS)
    for spec in ATTRIBUTES.values():
        assert spec.kind in ("binary", "continuous", "categorical") and spec.meaning


def test_glasses_and_beard_appear_in_the_part_map_exactly_when_set(batch) -> None:
    _, parts, records = batch
    for record, part in zip(records, parts, strict=True):
        for name, label, minimum in (("glasses", GLASSES, 25), ("beard", BEARD, 40)):
            count = int((part == label).sum())
            assert (count >= minimum) if record[name] else count == 0, (record["seed"], name, count)
        assert (part == EYES).sum() > 0 and (part == MOUTH).sum() > 0 and (part == NOSE).sum() > 0


def test_with_attribute_returns_a_copy_changing_one_field() -> None:
    record = sample_attributes(3)
    before = dict(record)
    edited = with_attribute(record, "smile", 0.5)
    assert record == before
    assert {k for k in record if record[k] != edited[k]} == {"smile"} and edited["smile"] == 0.5
    assert with_attribute(record, "glasses", 1.0)["glasses"] == 1
    with pytest.raises(KeyError):
        with_attribute(record, "moustache", 1)
    with pytest.raises(ValueError):
        with_attribute(record, "yaw", 1.5)
    with pytest.raises(ValueError):
        with_attribute(record, "hair_color", "green")
    with pytest.raises(ValueError):
        with_attribute(record, "beard", 0.5)


@pytest.mark.parametrize(
    "name, on, off, parts, radius",
    [
        ("glasses", 1, 0, (GLASSES,), 1),
        ("beard", 1, 0, (BEARD,), 1),
        ("smile", 0.9, -0.9, (MOUTH,), 1),
        ("eyes_open", 1.0, 0.0, (EYES,), 1),
        ("bangs", 1, 0, (HAIR,), 1),
    ],
)
def test_edits_change_pixels_mostly_in_their_part(name, on, off, parts, radius) -> None:
    for seed in range(12):
        base = sample_attributes(seed)
        image_on, part_on = render(with_attribute(base, name, on))
        image_off, part_off = render(with_attribute(base, name, off))
        changed = _changed(image_on, image_off)
        region = _dilate(np.isin(part_on, parts) | np.isin(part_off, parts), radius)
        assert changed.sum() > 8, (name, seed)
        assert (changed & region).sum() >= 0.9 * changed.sum(), (name, seed)


def test_yaw_moves_features_sideways_and_narrows_the_face() -> None:
    for seed in range(10):
        base = with_attribute(sample_attributes(seed), "beard", 0)
        left, right, front = (render(with_attribute(base, "yaw", v))[1] for v in (-0.9, 0.9, 0.0))
        nose_x = [np.nonzero(p == NOSE)[1].mean() for p in (left, right)]
        assert nose_x[1] - nose_x[0] > 12
        width = [int(np.count_nonzero(np.any(p[20:40] != 0, axis=0))) for p in (front, right)]
        assert width[1] <= width[0]


def test_eye_openness_is_visible() -> None:
    for seed in range(10):
        base = with_attribute(sample_attributes(seed), "glasses", 0)
        open_image, open_parts = render(with_attribute(base, "eyes_open", 1.0))
        closed_image, closed_parts = render(with_attribute(base, "eyes_open", 0.0))
        assert (open_parts == EYES).sum() >= 2 * (closed_parts == EYES).sum()
        assert (open_image.min(axis=2) > 200).sum() > (closed_image.min(axis=2) > 200).sum() + 10


def test_correlations_and_base_rates_match_the_documented_design() -> None:
    records = [sample_attributes(seed) for seed in range(2000)]
    assert -0.6 < _corr(records, "smile", "eyes_open") < -0.3
    assert -0.6 < _corr(records, "beard", "long_hair") < -0.3
    assert 0.25 < _corr(records, "glasses", "hair_color=gray") < 0.5
    assert 0.25 < _corr(records, "bangs", "long_hair") < 0.5
    assert abs(_corr(records, "yaw", "smile")) < 0.08
    assert abs(_corr(records, "glasses", "beard")) < 0.15
    x = numeric_matrix(records)
    for name in ("glasses", "beard", "bangs", "long_hair"):
        assert 0.25 <= x[:, numeric_columns().index(name)].mean() <= 0.5, name
    columns, corr = correlation_matrix(records)
    assert corr.shape == (len(columns), len(columns)) and np.allclose(np.diag(corr), 1.0)


def test_throughput_sanity() -> None:
    render_batch(range(5))
    start = time.perf_counter()
    render_batch(range(1000, 1200))
    assert 200 / (time.perf_counter() - start) > 100


def test_grid_and_light_imports() -> None:
    assert sample_grid(range(4), columns=2, scale=2).shape == (256, 256, 3)
    code = (
        "import sys; import latentedit.world.attributes; assert 'numpy' not in sys.modules; "
        "import latentedit.world.render, benchmarks.renderer; assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
