"""Labels CSVs: one reader for `key,score` files and `key,attr1,attr2` tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentedit.errors import LatentEditError
from latentedit.labels import read_label_table


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_seeds_and_images_are_read_apart_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    table = read_label_table(write(tmp_path / "l.csv", "key,smile,glasses\n7,0.5,1\nfaces/a.png,-0.2,0\n3,0.1,0\n"))
    assert table.columns == ["smile", "glasses"]
    assert table.seeds == [7, 3] and table.images == [tmp_path / "faces" / "a.png"]
    assert table.scores("glasses") == ([1.0, 0.0], [0.0])
    assert table.provenance()["rows"] == 3


def test_a_score_column_serves_any_attribute_but_another_attributes_column_does_not(tmp_path: Path) -> None:
    single = read_label_table(write(tmp_path / "one.csv", "seed,score\n1,0.3\n"))
    assert single.column_for("smile") == "score"
    several = read_label_table(write(tmp_path / "many.csv", "seed,smile,beard\n1,0.3,1\n"))
    assert several.column_for("beard") == "beard"
    with pytest.raises(LatentEditError, match=r"has no column 'glasses' \(or 'score'\); it has: smile, beard"):
        several.column_for("glasses")
    only_glasses = read_label_table(write(tmp_path / "glasses.csv", "seed,glasses\n1,1\n"))
    with pytest.raises(LatentEditError, match="has no column 'smile'"):
        only_glasses.column_for("smile")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("key,score\n", "at least one row"),
        ("key,score\n1,abc\n", "line 2: score 'abc' is not a number"),
        ("key,score\n1,0.5\n2,nan\n", "line 3: score 'nan' is not a finite number"),
        ("key,a,b\n1,0.5\n", "line 2: expected 3 columns, found 2"),
    ],
)
def test_bad_rows_are_named_with_their_line(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(LatentEditError, match=problem):
        read_label_table(write(tmp_path / "bad.csv", text))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(LatentEditError, match="not found"):
        read_label_table(tmp_path / "nope.csv")
