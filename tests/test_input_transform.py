"""StyleGAN3's input-transform flags: parsing, sweeps, and one-line refusals elsewhere.

What the flags do to StyleGAN3 pictures is tested in tests/test_stylegan3_backend.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from latentedit.errors import LatentEditError
from latentedit.input_transform import InputTransform, parse_translate, requested, sweep
from tests.helpers import one_line_error, run


def test_translate_and_rotate_parse_to_a_transform() -> None:
    assert parse_translate("0.25,-0.1") == (0.25, -0.1)
    assert requested("0.5,0", None) == InputTransform((0.5, 0.0), 0.0)
    assert requested(None, -30.0) == InputTransform((0.0, 0.0), -30.0)
    assert requested(None, None) is None
    assert InputTransform().is_identity and not InputTransform(rotate=1.0).is_identity


@pytest.mark.parametrize("text", ["1", "1,2,3", "a,b", "nan,0", "0,inf", "2000,0", ""])
def test_bad_translations_are_one_line_errors(text: str) -> None:
    with pytest.raises(LatentEditError, match=r"--translate .*expected X,Y in image widths"):
        parse_translate(text)


def test_a_sweep_moves_from_the_start_to_the_end_in_even_steps() -> None:
    start = InputTransform((0.1, 0.0), 10.0)
    end = requested(None, 370.0, ("--sweep-translate", "--sweep-rotate"), base=start)
    assert end == InputTransform((0.1, 0.0), 370.0)  # the part not given stays where it started
    frames = sweep(start, end, 5)
    assert [frame.rotate for frame in frames] == [10.0, 100.0, 190.0, 280.0, 370.0]
    assert {frame.translate for frame in frames} == {(0.1, 0.0)}
    assert sweep(None, None, 5) is None
    assert sweep(start, None, 3) == [start] * 3


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["generate", "--rotate", "15"], "--rotate moves StyleGAN3's input; backend random:16 is not a StyleGAN3"),
        (["generate", "--translate", "0.2,0"], "--translate moves StyleGAN3's input"),
        (["generate", "--rotate", "nan"], "--rotate nan: expected an angle in degrees"),
        (["generate", "--translate", "0.2"], "--translate '0.2': expected X,Y"),
        (["apply", "seed:1", "--dir", "x", "--rotate", "5"], "--rotate moves StyleGAN3's input"),
        (["apply", "seed:1", "--dir", "x", "--sweep-rotate", "90"], "animate a sweep: add --sweep FROM:TO:COUNT"),
    ],
)
def test_transform_flags_are_refused_with_one_line(cli, tmp_path: Path, command: list[str], message: str) -> None:
    result = run(cli, *command, "--backend", "random:16", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert message in one_line_error(result)
    assert not (tmp_path / "out").exists()
