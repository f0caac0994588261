"""Plugins: built-ins and entry points load through the same hooks; broken ones are reported."""

from __future__ import annotations

import json
from importlib import metadata
from typing import ClassVar

import pytest

from latentedit import plugins
from latentedit.api import Method
from latentedit.errors import UnknownMethodError
from latentedit.hookspecs import hookimpl
from latentedit.plugins import get_plugins, reset_plugins
from tests.helpers import one_line_error, run


def test_sefa_is_found_through_its_entry_point(cli) -> None:
    result = run(cli, "plugins", "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["sefa"]["source"] == "latentedit-sefa"
    assert rows["sefa"]["hooks"] == ["register_methods"]
    assert get_plugins().methods.entry("sefa").plugin == "sefa"


def test_load_plugins_variable_limits_external_plugins(monkeypatch) -> None:
    monkeypatch.setenv("LATENTEDIT_LOAD_PLUGINS", "")
    reset_plugins()
    assert "sefa" not in get_plugins().methods
    assert "latentedit.methods" in get_plugins().info  # built-ins always load


class _BrokenEntryPoint:
    name = "broken"
    dist = None

    def load(self):
        raise ImportError("No module named 'latentedit_broken'")


def test_a_broken_plugin_is_listed_not_fatal(cli, monkeypatch) -> None:
    real = metadata.entry_points
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: [*real(group=group), _BrokenEntryPoint()])
    reset_plugins()
    rows = {row["name"]: row for row in json.loads(run(cli, "plugins", "--json").stdout)}
    assert "No module named 'latentedit_broken'" in rows["broken"]["error"]
    assert run(cli, "plugins").exit_code == 0
    assert run(cli, "methods").exit_code == 0


class _Clash(Method):
    name: ClassVar[str] = "sefa"
    summary: ClassVar[str] = "a second method called sefa"
    space: ClassVar[str] = "w"


class _ClashingPlugin:
    @hookimpl
    def register_methods(self, register):
        register(_Clash)


class _ClashEntryPoint:
    name = "clasher"
    dist = None

    def load(self):
        return _ClashingPlugin()


def test_a_name_clash_names_both_plugins(monkeypatch) -> None:
    real = metadata.entry_points
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: [*real(group=group), _ClashEntryPoint()])
    reset_plugins()
    [rejected] = get_plugins().broken
    assert "'clasher'" in rejected.error and "'sefa'" in rejected.error and "registered by both" in rejected.error
    assert get_plugins().methods.entry("sefa").plugin in {"sefa", "clasher"}


def test_unknown_method_suggests_the_closest(cli) -> None:
    with pytest.raises(UnknownMethodError, match="Did you mean 'sefa'"):
        get_plugins().methods.get("sefaa")
    result = run(cli, "methods", "sefx")
    assert result.exit_code == 2
    assert "Unknown method 'sefx'" in one_line_error(result)


def test_methods_shows_a_methods_options(cli) -> None:
    document = json.loads(run(cli, "methods", "sefa", "--json").stdout)
    assert {row["name"] for row in document["options"]} == {"layers", "affines", "component", "samples"}
    assert document["plugin"] == "sefa"
    assert document["apply_options"] == []  # SeFa takes no apply-time options


def test_methods_shows_the_options_apply_takes_too(cli) -> None:
    document = json.loads(run(cli, "methods", "localstyle", "--json").stdout)
    apply_options = {row["name"]: row for row in document["apply_options"]}
    assert set(apply_options) == {"mode", "epsilon", "rho"}
    assert "epsilon" not in {row["name"] for row in document["options"]}
    assert "apply option" in run(cli, "methods", "localstyle").stdout


def test_backends_lists_the_schemes(cli) -> None:
    schemes = {row["scheme"] for row in json.loads(run(cli, "backends", "--json").stdout)}
    assert {"embedded", "random", "stylegan2"} <= schemes
