"""The re-scoring table stays readable however wide the terminal is."""

from __future__ import annotations

from rich.console import Console

from latentedit.commands.evaluate import rescoring_table

COLUMNS = [f"attribute_{i}" for i in range(15)]
REPORT = {
    "rescoring": {name: {c: 0.123 * (i + 1) for i, c in enumerate(COLUMNS)} for name in ("smile", "glasses")},
    "identity": {"smile": {"pixel_mse": 0.0101}, "glasses": {"pixel_mse": 0.0202}},
    "samples": 100,
    "strength": 3.0,
}


def render(width: int) -> str:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(rescoring_table(REPORT, COLUMNS, {"smile": "attribute_0"}, width))
    return console.export_text()


def test_a_narrow_terminal_gets_attributes_as_rows_with_every_number_whole() -> None:
    text = render(80)
    assert "attributes as rows" in text
    assert all(len(line) <= 80 for line in text.splitlines())
    for column in COLUMNS:
        assert column in text
    assert "+1.845" in text and "0.0202" in text  # the last attribute and an identity metric, unclipped


def test_a_wide_terminal_gets_edits_as_rows_as_the_papers_print_it() -> None:
    text = render(250)
    assert "attributes as rows" not in text
    header = next(line for line in text.splitlines() if "attribute_0" in line)
    assert "attribute_14" in header and "pixel_mse" in header
