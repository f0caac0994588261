"""`latentedit world render`: faces with exact labels and masks, filters and pairs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from latentedit.errors import LatentEditError
from latentedit.world.canvas import PARTS
from latentedit.world.query import pair_for, parse_where
from latentedit.world.render import sample_attributes
from latentedit.world.seeds import HELDOUT_SEED
from tests.helpers import one_line_error, run


def read_labels(folder: Path) -> list[dict[str, str]]:
    with open(folder / "labels.csv") as handle:
        return list(csv.DictReader(handle))


def test_render_writes_images_masks_and_labels_from_held_out_seeds(cli, tmp_path: Path) -> None:
    result = run(cli, "world", "render", "--n", "4", "--out", str(tmp_path), "--where", "glasses=1,smile>0.2")
    assert result.exit_code == 0, result.output
    rows = read_labels(tmp_path)
    assert len(rows) == 4
    assert all(row["glasses"] == "1" and float(row["smile"]) > 0.2 for row in rows)
    assert all(int(row["seed"]) >= HELDOUT_SEED for row in rows)
    for row in rows:
        image = np.asarray(Image.open(tmp_path / row["file"]))
        mask = np.asarray(Image.open(tmp_path / "masks" / row["file"]))
        assert image.shape == (64, 64, 3) and mask.shape == (64, 64)
        assert (mask == PARTS.index("glasses")).sum() > 20  # glasses=1 faces have glasses pixels


def test_pairs_change_only_the_named_attribute(cli, tmp_path: Path) -> None:
    run(cli, "world", "render", "--n", "3", "--out", str(tmp_path), "--pairs", "beard")
    rows = read_labels(tmp_path)
    assert [row["beard"] for row in rows] == ["0"] * 3 and [row["beard_modified"] for row in rows] == ["1"] * 3
    for row in rows:
        before = np.asarray(Image.open(tmp_path / "original" / row["file"])).astype(int)
        after = np.asarray(Image.open(tmp_path / "modified" / row["file"])).astype(int)
        beard_mask = np.asarray(Image.open(tmp_path / "masks" / "modified" / row["file"])) == PARTS.index("beard")
        changed = np.abs(after - before).sum(axis=2) > 30
        assert changed.any() and (changed & ~beard_mask).sum() < 0.25 * changed.sum()


def test_continuous_pairs_point_the_same_way() -> None:
    for seed in range(50):
        record = sample_attributes(seed)
        paired = pair_for(record, "smile")
        if paired is not None:
            assert paired["smile"] == pytest.approx(record["smile"] + 1.0)
            assert record["smile"] < 0


def test_where_rejects_unknown_attributes_and_bad_values() -> None:
    with pytest.raises(LatentEditError, match="unknown attribute 'glases'"):
        parse_where("glases=1")
    with pytest.raises(LatentEditError, match="hair_color takes = or !="):
        parse_where("hair_color>blond")
    assert parse_where("hair_color=gray, yaw<=0")({"hair_color": "gray", "yaw": -0.5})


def test_render_refuses_a_non_empty_folder(cli, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = run(cli, "world", "render", "--n", "1", "--out", str(tmp_path))
    assert result.exit_code == 2 and "not empty" in one_line_error(result)


def test_render_gives_up_on_impossible_conditions(cli, tmp_path: Path) -> None:
    result = run(cli, "world", "render", "--n", "1", "--out", str(tmp_path / "x"), "--where", "smile>5")
    assert result.exit_code == 2 and "too rare" in one_line_error(result)
