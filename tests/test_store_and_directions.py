"""The edit store: `--dir NAME` resolves per backend; `directions list|show|rm` manage it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from latentedit.errors import EditFileError
from latentedit.store import backend_dirname, edit_path, resolve_edit
from tests.helpers import one_line_error, run
from tests.test_edits import make_edit


def test_backend_folder_names() -> None:
    assert backend_dirname("embedded") == "embedded"
    assert backend_dirname("random:32") == "random-32"
    assert backend_dirname("stylegan2:/data/ffhq.safetensors") == "stylegan2-ffhq"


def test_a_path_wins_over_the_store(tmp_path: Path, isolated_home: Path) -> None:
    stored = make_edit().save(edit_path("smile", "random:32"))
    assert stored.parent == isolated_home / "random-32"
    assert resolve_edit("smile", "random:32") == stored
    direct = make_edit().save(tmp_path / "mine.safetensors")
    assert resolve_edit(str(direct), "random:32") == direct


def test_unknown_names_list_what_exists() -> None:
    make_edit().save(edit_path("smile", "random:32"))
    with pytest.raises(EditFileError, match="No edit named 'smil' for backend random:32. Stored for random:32: smile."):
        resolve_edit("smil", "random:32")
    with pytest.raises(EditFileError, match="None are stored"):
        resolve_edit("smile", "embedded")


def test_list_show_rm(cli) -> None:
    make_edit().save(edit_path("smile", "random:32"))
    make_edit(name="glasses", attribute="glasses").save(edit_path("glasses", "random:32"))
    rows = json.loads(run(cli, "directions", "list", "--json").stdout)
    assert [(row["name"], row["backend"], row["method"]) for row in rows] == [
        ("glasses", "random-32", "sefa"),
        ("smile", "random-32", "sefa"),
    ]
    shown = json.loads(run(cli, "directions", "show", "smile", "--backend", "random:32", "--json").stdout)
    assert shown["metadata"]["metrics"] == {"accuracy": 0.97}
    assert shown["tensors"]["direction"]["shape"] == [2]
    assert run(cli, "directions", "rm", "smile", "--backend", "random:32", "--yes").exit_code == 0
    assert [row["name"] for row in json.loads(run(cli, "directions", "list", "--json").stdout)] == ["glasses"]


def test_list_reports_a_corrupt_file_without_failing(cli, isolated_home: Path) -> None:
    folder = isolated_home / "random-32"
    folder.mkdir(parents=True)
    (folder / "broken.safetensors").write_bytes(b"junk")
    rows = json.loads(run(cli, "directions", "list", "--json").stdout)
    assert rows[0]["name"] == "broken" and "not a safetensors edit file" in rows[0]["error"]


def test_show_missing_edit_is_exit_2(cli) -> None:
    result = run(cli, "directions", "show", "nothing", "--backend", "random:32")
    assert result.exit_code == 2
    assert "No edit named 'nothing'" in one_line_error(result)


def test_show_prints_metadata_as_text_never_as_markup(cli, tiny_backend) -> None:
    from latentedit_sefa import SeFa
    from latentedit_sefa.method import SeFaOptions

    from latentedit.api import DiscoverRequest, no_progress
    from latentedit.store import edit_path

    request = DiscoverRequest(name="marked", attr="[red]x:smile:")
    edit = SeFa().discover(tiny_backend, request, SeFaOptions(), no_progress)
    edit.save(edit_path("marked", tiny_backend.name))
    shown = run(cli, "directions", "show", "marked", "--backend", "random:32")
    assert shown.exit_code == 0 and "[red]x:smile:" in shown.stdout
