"""`-o KEY=VALUE` options are typed, validated, and errors list the valid keys."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from latentedit.errors import OptionError
from latentedit.options import describe_options, option, parse_options


@dataclass
class Example:
    steps: int = option(100, "Optimisation steps.")
    lr: float = option(0.002, "Learning rate.")
    reuse: bool = option(True, "Reuse the discriminator.")
    layers: list[str] = option(["b8.conv0", "b16.conv1"], "Layers.")
    mode: str = option("sequential", "Query mode.")


def test_values_are_coerced_to_the_declared_types() -> None:
    parsed = parse_options(Example, ["steps=5", "lr=1e-3", "reuse=false", "layers=a, b", "mode=simultaneous"])
    assert parsed == Example(steps=5, lr=1e-3, reuse=False, layers=["a", "b"], mode="simultaneous")


def test_defaults_apply_when_nothing_is_given() -> None:
    assert parse_options(Example, None) == Example()


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("step=5", "Unknown option 'step'. Valid options: layers, lr, mode, reuse, steps. Did you mean 'steps'?"),
        ("steps=many", "Option steps='many': expected int"),
        ("lr=nan", "NaN and infinity are not allowed"),
        ("lr=inf", "NaN and infinity are not allowed"),
        ("lr=-1e999", "NaN and infinity are not allowed"),
        ("reuse=maybe", "expected true or false"),
        ("steps", "must be written KEY=VALUE"),
    ],
)
def test_bad_options_name_the_problem(pair: str, message: str) -> None:
    with pytest.raises(OptionError, match=re.escape(message)):
        parse_options(Example, [pair])


def test_describe_lists_each_option_with_help() -> None:
    rows = {row["name"]: row for row in describe_options(Example)}
    assert rows["layers"]["default"] == "b8.conv0,b16.conv1"
    assert rows["steps"]["help"] == "Optimisation steps."
