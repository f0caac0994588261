"""A user builds a part catalog, names clusters, and transfers a region from a reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import one_line_error, run

BACKEND = ("--backend", "random:32")
pytestmark = pytest.mark.usefixtures("fake_scorers")


def test_catalog_preview_label_apply_and_locality(cli, tmp_path: Path) -> None:
    preview = tmp_path / "catalog.png"
    made = run(
        cli,
        "discover",
        "--method",
        "localstyle",
        *BACKEND,
        "--name",
        "parts",
        "-o",
        "k=4",
        "-o",
        "samples=12",
        "-o",
        "layer=b16.conv1",
        "--preview",
        str(preview),
        "--json",
    )
    assert made.exit_code == 0, made.output
    assert Image.open(preview).size[0] > 32
    labelled = run(cli, "directions", "label", "parts", "top=0,1", "rest=2", *BACKEND, "--json")
    assert json.loads(labelled.stdout) == {"rest": [2], "top": [0, 1]}
    out = tmp_path / "edited"
    result = run(
        cli,
        "apply",
        "seed:3",
        "--dir",
        "parts",
        "--reference",
        "seed:4",
        "--region",
        "top",
        *BACKEND,
        "-o",
        "mode=simultaneous",
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert (out / "seed0003_edited.png").is_file()
    report = run(cli, "evaluate", "--dir", "parts", "--locality", "--region", "top", "--pairs", "3", *BACKEND, "--json")
    assert report.exit_code == 0, report.output
    assert {"simultaneous", "sequential", "defaults"} <= set(json.loads(report.stdout))


def test_local_style_needs_a_reference_and_vector_edits_refuse_one(cli) -> None:
    run(
        cli,
        "discover",
        "--method",
        "localstyle",
        *BACKEND,
        "--name",
        "parts",
        "-o",
        "k=3",
        "-o",
        "samples=6",
        "-o",
        "layer=b16.conv1",
    )
    missing = run(cli, "apply", "seed:3", "--dir", "parts", *BACKEND, "--out", "unused")
    assert missing.exit_code == 2 and "needs a reference" in one_line_error(missing)
    run(cli, "discover", "--method", "sefa", *BACKEND, "--name", "s0")
    wrong = run(cli, "apply", "seed:3", "--dir", "s0", "--reference", "seed:4", *BACKEND, "--out", "unused")
    assert wrong.exit_code == 2 and "--reference is an input of localstyle" in one_line_error(wrong)
    bad_option = run(
        cli,
        "apply",
        "seed:3",
        "--dir",
        "parts",
        "--reference",
        "seed:4",
        "--region",
        "0",
        *BACKEND,
        "-o",
        "mood=x",
        "--out",
        "unused",
    )
    assert bad_option.exit_code == 2 and "Unknown option 'mood'" in one_line_error(bad_option)


def test_a_default_catalog_clusters_the_finest_layers_and_prints_a_short_summary(cli) -> None:
    made = run(
        cli,
        *("discover", "--method", "localstyle", *BACKEND, "--name", "parts", "--samples", "6"),
        *("-o", "auto_label=true", "-o", "k=10", "-o", "restarts=1"),
    )
    assert made.exit_code == 0, made.output
    assert "cluster_fraction=[10 values]" in made.stdout and "iou_" in made.stdout
    shown = json.loads(run(cli, "directions", "show", "parts", *BACKEND, "--json").stdout)
    assert shown["metadata"]["params"]["layer"] == "b16.conv1+b32.conv0+b32.conv1"  # "auto" on a 32 px generator
    bad = run(cli, "discover", "--method", "localstyle", *BACKEND, "--name", "p2", "-o", "layer=b32.conv0+b99.conv1")
    assert bad.exit_code == 2 and "'b99.conv1' is not a conv layer" in one_line_error(bad)
