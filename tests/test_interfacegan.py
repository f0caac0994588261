"""InterFaceGAN on a random network with an image-statistics scorer: a real, checkable target."""

from __future__ import annotations

import json

import pytest
import torch

import latentedit
from latentedit.methods.interfacegan import train_boundary
from latentedit.vectors import conditional_direction
from tests.helpers import one_line_error, run

pytestmark = pytest.mark.usefixtures("fake_scorers")


def discover(cli, *args: str) -> dict:
    result = run(
        cli, "discover", "--method", "interfacegan", "--backend", "random:32", "--samples", "600", "--json", *args
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_boundary_separates_a_linear_concept() -> None:
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(2000, 16, generator=generator)
    truth = torch.nn.functional.normalize(torch.randn(16, generator=generator), dim=0)
    normal, metrics = train_boundary(latents, latents @ truth, ratio=0.1, split=0.7, C=1.0, seed=0)
    assert float(normal @ truth) > 0.9
    assert metrics["validation_accuracy"] == 1.0 and metrics["remaining_accuracy"] > 0.85


def test_learned_brightness_direction_brightens(cli, tiny_backend) -> None:
    document = discover(cli, "--attr", "brightness", "-o", "ratio=0.1")
    metrics = json.loads(document["metadata"]["metrics"])
    assert metrics["validation_accuracy"] > 0.9
    edit = latentedit.load_edit("brightness", backend="random:32")
    result = run(cli, "evaluate", "--dir", "brightness", "--backend", "random:32", "--samples", "60", "--json")
    report = json.loads(result.stdout)
    assert report["rescoring"]["brightness"]["brightness"] > 0.02
    assert report["samples"] == 60 and report["strength"] == 3.0
    assert "outside_part_change" in report["identity"]["brightness"]
    assert edit.space == "w" and edit.tensors["direction"].shape == (128,)


def test_conditional_direction_is_orthogonal_to_the_condition(cli) -> None:
    discover(cli, "--attr", "redness", "-o", "ratio=0.1")
    document = discover(
        cli, "--attr", "brightness", "-o", "ratio=0.1", "-o", "condition=redness", "--name", "bright-not-red"
    )
    conditioned = latentedit.load_edit("bright-not-red", backend="random:32").tensors["direction"]
    plain_red = latentedit.load_edit("redness", backend="random:32").tensors["direction"]
    assert json.loads(document["metadata"]["params"])["condition"] == ["redness"]
    # orthogonal to the boundary it was conditioned on (trained on the same samples)
    assert abs(float(conditioned @ plain_red)) < 1e-4


def test_orthogonal_to_an_existing_edit(cli) -> None:
    discover(cli, "--attr", "redness", "-o", "ratio=0.1")
    discover(cli, "--attr", "brightness", "-o", "ratio=0.1", "--orthogonal-to", "redness", "--name", "b2")
    red = latentedit.load_edit("redness", backend="random:32").tensors["direction"]
    assert abs(float(latentedit.load_edit("b2", backend="random:32").tensors["direction"] @ red)) < 1e-5


def test_labels_from_a_csv_of_seeds(cli, tmp_path, tiny_backend) -> None:
    from tests.fakes import StatisticsScorer

    seeds = list(range(300))
    with torch.inference_mode():
        images = tiny_backend.synthesize(tiny_backend.mapping(tiny_backend.z_for_seeds(seeds)))
    scores = StatisticsScorer().score(images)["brightness"]
    labels = tmp_path / "labels.csv"
    labels.write_text("seed,score\n" + "".join(f"{s},{float(v)}\n" for s, v in zip(seeds, scores, strict=True)))
    discover(cli, "--labels", str(labels), "--attr", "brightness", "-o", "ratio=0.1", "--name", "from-csv")
    from_csv = latentedit.load_edit("from-csv", backend="random:32")
    assert from_csv.provenance["rows"] == 300
    discover(cli, "--attr", "brightness", "-o", "ratio=0.1")
    scorer_made = latentedit.load_edit("brightness", backend="random:32")
    assert float(from_csv.tensors["direction"] @ scorer_made.tensors["direction"]) > 0.5


def test_conditional_helper_matches_the_paper_for_one_condition() -> None:
    primal, condition = torch.tensor([1.0, 1.0]), torch.tensor([1.0, 0.0])
    assert torch.allclose(conditional_direction(primal, [condition]), torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--attr", "sparkle"], "Unknown attribute 'sparkle'"),
        (["--attr", "brightness", "-o", "space=q"], "expected z, w or w+"),
        (["--attr", "brightness", "--labels", "missing.csv"], "not found"),
        ([], "needs --attr"),
    ],
)
def test_bad_requests_are_one_line_errors(cli, args: list[str], message: str) -> None:
    result = run(cli, "discover", "--method", "interfacegan", "--backend", "random:32", "--samples", "100", *args)
    assert result.exit_code == 2, result.output
    assert message in one_line_error(result)


def test_a_boundary_between_two_folders_of_photos(cli, tmp_path) -> None:
    for folder, seeds in (("with", "0-9"), ("without", "100-109")):
        made = run(cli, "generate", "--backend", "random:32", "--seeds", seeds, "--out", str(tmp_path / folder))
        assert made.exit_code == 0, made.output
    result = run(
        cli, "discover", "--method", "interfacegan", "--backend", "random:32", "--name", "folders",
        "--positives", str(tmp_path / "with"), "--negatives", str(tmp_path / "without"), "-o", "steps=2", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # a warning (random images have little to separate) goes to stderr only
    edit = latentedit.load_edit("folders", backend="random:32")
    assert edit.metrics["positives"] == 10 and edit.metrics["negatives"] == 10
    assert len(edit.provenance["sha256"]) == 20
    lonely = run(cli, "discover", "--method", "interfacegan", "--backend", "random:32", "--positives", str(tmp_path))
    assert lonely.exit_code == 2 and "--positives and --negatives go together" in one_line_error(lonely)


def test_a_small_label_file_is_refused_instead_of_giving_a_chance_level_edit(cli, tmp_path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("seed,score\n" + "".join(f"{seed},{seed % 7}\n" for seed in range(300)))
    result = run(cli, "discover", "--method", "interfacegan", "--backend", "random:32", "--labels", str(labels),
                 "--attr", "score")  # fmt: skip
    assert result.exit_code == 2
    assert "keeps 6 positives and 6 negatives; InterFaceGAN needs at least 10 of each: use -o ratio=0.0333" in (
        one_line_error(result)
    )


def test_a_near_chance_boundary_warns() -> None:
    import numpy as np

    from latentedit.api import LatentEditWarning
    from latentedit.methods.interfacegan import fit_boundary

    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(400, 16, generator=generator)
    labels = np.random.default_rng(0).integers(0, 2, 400).astype(float)  # unrelated to the latents
    with pytest.warns(LatentEditWarning, match="near chance"):
        fit_boundary(latents, np.arange(400), labels, split=0.7, C=1.0, seed=0)


def test_the_cli_prints_the_near_chance_warning_as_one_line(cli, tmp_path) -> None:
    import numpy as np

    scores = np.random.default_rng(1).random(400)  # labels that have nothing to do with the faces
    labels = tmp_path / "labels.csv"
    labels.write_text("seed,score\n" + "".join(f"{seed},{score:.6f}\n" for seed, score in enumerate(scores)))
    result = run(cli, "discover", "--method", "interfacegan", "--backend", "random:32", "--labels", str(labels),
                 "--attr", "score", "-o", "ratio=0.25", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)
    [warning] = [line for line in result.stderr.splitlines() if line.strip()]
    assert warning.startswith("Warning: validation accuracy") and "near chance" in warning
