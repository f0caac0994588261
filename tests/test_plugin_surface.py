"""A third-party method owns its extras: a discover input, an apply input and an evaluate analysis.

The plugin below is written exactly as a package would write it, importing only `latentedit.api`;
the CLI must offer its flags in `--help` and hand them to it.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import latentedit
from latentedit.api import (
    Analysis,
    DiscoverRequest,
    Param,
    VectorMethod,
    hookimpl,
    no_progress,
    sample,
    vector_edit,
)
from latentedit.plugins import get_plugins, register_plugin, unregister_plugin
from tests.helpers import one_line_error, run

BACKEND = ("--backend", "random:32")
PACKAGE = Path(latentedit.__file__).parent


class Wobble(VectorMethod):
    """A direction along one W coordinate; `apply --boost K` multiplies the strength."""

    name: ClassVar[str] = "wobble"
    summary: ClassVar[str] = "Moves one W coordinate (a test plugin)."
    space: ClassVar[str] = "w"
    discover_params: ClassVar[tuple[Param, ...]] = (Param("coordinate", "W coordinate to move.", kind="int"),)
    apply_params: ClassVar[tuple[Param, ...]] = (
        *VectorMethod.apply_params,
        Param("boost", "Multiply the strength by this.", kind="float"),
    )
    analyses: ClassVar[tuple[Analysis, ...]] = (
        Analysis(
            "wobble_norms",
            "Mean W distance each edit moves samples by.",
            run="tests.test_plugin_surface:norms_analysis",
            table="tests.test_plugin_surface:norms_table",
            params=(Param("squared", "Report squared distances.", kind="flag"),),
        ),
    )

    def discover(self, backend, request: DiscoverRequest, options, progress):
        import torch

        direction = torch.zeros(backend.w_dim)
        direction[request.extras.get("coordinate") or 0] = 1.0
        calibration = sample(backend, 200, request.seed).latents("w")
        return vector_edit(
            method=self.name, name=request.name, space="w", direction=direction, backend=backend,
            calibration_latents=calibration,
        )

    def apply(self, backend, codes, edit, strength, **inputs):
        boost = inputs.get("boost")
        return super().apply(backend, codes, edit, strength * (boost if boost is not None else 1.0), **inputs)


def norms_analysis(backend, edits, *, samples: int, strength: float, seed: int, squared: bool = False, **_: Any):
    import torch

    with torch.inference_mode():
        ws = backend.mapping(backend.sample_z(samples, seed))
        moved = {
            edit.name: (latentedit.apply_edit(backend, ws, edit, strength) - ws).norm(dim=-1).mean() for edit in edits
        }
    return {"distance": {name: float(value**2 if squared else value) for name, value in moved.items()}}


def norms_table(report: dict) -> dict:
    return {"title": "W distance", "columns": ["edit", "distance"], "rows": list(report["distance"].items())}


class WobblePlugin:
    @hookimpl
    def register_methods(self, register) -> None:
        register(Wobble)


@pytest.fixture
def wobble() -> Iterator[None]:
    register_plugin("latentedit-wobble", WobblePlugin())
    yield
    unregister_plugin("latentedit-wobble")


def test_a_plugin_methods_inputs_and_analysis_appear_in_help(cli, wobble) -> None:
    assert "--coordinate" in run(cli, "discover", "--help").stdout
    assert "--boost" in run(cli, "apply", "--help").stdout
    evaluate_help = run(cli, "evaluate", "--help").stdout
    assert "--wobble-norms" in evaluate_help and "--squared" in evaluate_help


def test_a_plugin_methods_inputs_and_analysis_run(cli, wobble, tmp_path: Path) -> None:
    found = run(cli, "discover", "--method", "wobble", "--coordinate", "5", "--name", "w5", *BACKEND)
    assert found.exit_code == 0, found.output
    edit = latentedit.load_edit("w5", backend="random:32")
    assert int(edit.tensors["direction"].argmax()) == 5
    unit = float(edit.tensors["strength_unit"])

    def moved(*flags: str) -> float:
        report = run(cli, "evaluate", "--dir", "w5", "--wobble-norms", "--samples", "10", *flags, *BACKEND, "--json")
        assert report.exit_code == 0, report.output
        return json.loads(report.stdout)["distance"]["w5"]

    assert moved() == pytest.approx(3 * unit, rel=1e-4)
    assert moved("--squared") == pytest.approx((3 * unit) ** 2, rel=1e-4)
    table = run(cli, "evaluate", "--dir", "w5", "--wobble-norms", "--samples", "10", *BACKEND)
    assert "W distance" in table.stdout and "w5" in table.stdout

    plain = run(cli, "apply", "seed:1", "--dir", "w5", "--out", str(tmp_path / "plain"), *BACKEND)
    boosted = run(cli, "apply", "seed:1", "--dir", "w5", "--boost", "2", "--out", str(tmp_path / "boost"), *BACKEND)
    assert plain.exit_code == boosted.exit_code == 0, boosted.output
    edited = [(tmp_path / run_name / "seed0001_edited.png").read_bytes() for run_name in ("plain", "boost")]
    assert edited[0] != edited[1]


def test_a_plugin_input_is_refused_where_it_does_not_belong(cli, wobble) -> None:
    run(cli, "discover", "--method", "sefa", "--name", "s0", *BACKEND)
    wrong = run(cli, "apply", "seed:1", "--dir", "s0", "--boost", "2", *BACKEND, "--out", "unused")
    assert wrong.exit_code == 2 and "--boost is an input of wobble" in one_line_error(wrong)
    stray = run(cli, "discover", "--method", "sefa", "--coordinate", "3", *BACKEND)
    assert stray.exit_code == 2 and "--coordinate is an input of wobble" in one_line_error(stray)
    lonely = run(cli, "evaluate", "--dir", "s0", "--squared", *BACKEND)
    assert lonely.exit_code == 2 and "--squared is an input of --wobble-norms" in one_line_error(lonely)


class Clobber(Wobble):
    name: ClassVar[str] = "clobber"
    apply_params: ClassVar[tuple[Param, ...]] = (Param("strength", "Clashes with apply's own --strength."),)


class ClobberPlugin:
    @hookimpl
    def register_methods(self, register) -> None:
        register(Clobber)


def test_a_flag_that_clashes_with_the_commands_own_marks_the_plugin_broken(cli) -> None:
    register_plugin("latentedit-clobber", ClobberPlugin())
    try:
        assert run(cli, "apply", "--help").exit_code == 0
        assert "clashes with the command's own --strength" in get_plugins().info["latentedit-clobber"].error
    finally:
        unregister_plugin("latentedit-clobber")


def test_library_apply_takes_the_methods_default_strength_and_z_edits_go_through_the_method(tiny_backend) -> None:
    import torch

    edit = Wobble().discover(tiny_backend, DiscoverRequest(name="w", extras={"coordinate": 2}), None, no_progress)
    ws = tiny_backend.mapping(tiny_backend.sample_z(2, seed=0))
    unit = float(edit.tensors["strength_unit"])
    register_plugin("latentedit-wobble", WobblePlugin())
    try:
        moved = latentedit.apply_edit(tiny_backend, ws, edit)  # default strength: 3 units
        assert torch.allclose((moved - ws)[:, :, 2], torch.full((2, ws.shape[1]), 3 * unit), atol=1e-4)
        boosted = latentedit.apply_edit(tiny_backend, ws, edit, 1.0, boost=2.0)
        assert torch.allclose((boosted - ws)[:, :, 2], torch.full((2, ws.shape[1]), 2 * unit), atol=1e-4)
        with pytest.raises(latentedit.api.LatentEditError, match="None of these edits takes region"):
            latentedit.apply_edit(tiny_backend, ws, edit, 1.0, region="eyes")
    finally:
        unregister_plugin("latentedit-wobble")


def _imports(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_core_never_imports_the_built_in_methods() -> None:
    core = [p for p in PACKAGE.rglob("*.py") if "methods" not in p.relative_to(PACKAGE).parts]
    offenders = {
        str(path.relative_to(PACKAGE)): module
        for path in core
        for module in _imports(path)
        if module.startswith("latentedit.methods")
    }
    assert offenders == {}


def test_plugins_import_only_the_public_surface() -> None:
    plugin_files = [*(PACKAGE / "methods").glob("*.py"), *(PACKAGE.parent / "plugins").glob("*/latentedit_*/*.py")]
    assert len(plugin_files) > 10
    for path in plugin_files:
        internal = {m for m in _imports(path) if m.startswith("latentedit.") and m != "latentedit.api"}
        assert all(m.startswith("latentedit.methods") for m in internal), (path, internal)


def test_the_documented_scorer_plugin_works_as_written(cli, monkeypatch) -> None:
    """docs/plugins.md's scorer example, executed as a module, drives InterFaceGAN and evaluate."""
    import re
    import sys
    import types

    text = (PACKAGE.parent / "docs" / "plugins.md").read_text()
    section = text[text.index("## Scorers") : text.index("## Commands")]
    [code] = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    module = types.ModuleType("latentedit_stats")
    exec(compile(code, "docs/plugins.md", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, "latentedit_stats", module)
    register_plugin("latentedit-stats", module)
    try:
        found = run(cli, "discover", "--method", "interfacegan", "--attr", "brightness", "--samples", "600",
                    "-o", "ratio=0.1", *BACKEND)  # fmt: skip
        assert found.exit_code == 0, found.output
        report = run(cli, "evaluate", "--dir", "brightness", "--samples", "40", *BACKEND, "--json")
        assert json.loads(report.stdout)["rescoring"]["brightness"]["brightness"] > 0.05
    finally:
        unregister_plugin("latentedit-stats")
