"""Write a latentedit vector edit in another tool's layout, so its discoveries work there too.

Only vector edits in Z, W or W+ have a direction another tool can add to its codes; catalogs,
flows (W*) and style tables are refused with the reason. Files are written atomically and
never overwrite without ``force``.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from latentedit.errors import IncompatibleEditError

if TYPE_CHECKING:
    from latentedit.edits import Edit

VECTOR_SPACES = ("z", "w", "w+")


def check_exportable(edit: Edit, fmt: str) -> None:
    """Refuse, with the reason, an edit that has no direction `fmt` can hold."""
    direction = edit.tensors.get("direction")
    if direction is None or "strength_unit" not in edit.tensors:
        held = ", ".join(sorted(edit.tensors))
        raise IncompatibleEditError(
            f"Edit {edit.name!r} ({edit.method}) is not a vector edit: it holds {held}, not one direction; "
            "only vector edits (interfacegan, pair, sefa, ganspace, imported, ...) can be exported."
        )
    if edit.space not in VECTOR_SPACES:
        raise IncompatibleEditError(
            f"Edit {edit.name!r} ({edit.method}) is a direction in {edit.space}, which only latentedit can apply; "
            "only z, w and w+ directions can be exported."
        )
    if direction.dim() != (2 if edit.space == "w+" else 1):
        raise IncompatibleEditError(
            f"Edit {edit.name!r} has a direction of shape {tuple(direction.shape)}, "
            f"which does not fit space {edit.space}."
        )
    if fmt == "e4e-pt" and edit.space == "z":
        raise IncompatibleEditError(
            f"Edit {edit.name!r} is a Z direction; e4e-pt directions are added to W codes. "
            "Export it as interfacegan-npy or npz."
        )


def export_direction(edit: Edit, fmt: str, out: str | Path, force: bool = False) -> Path:
    """Write `edit` to `out` in layout `fmt` (see `registry.EXPORT_FORMATS`)."""
    from latentedit.fileio import atomic_write, check_writable
    from latentedit.interop.registry import EXPORT_FORMATS

    layout = EXPORT_FORMATS.get(fmt)
    check_exportable(edit, fmt)
    target = check_writable(out, force)
    return atomic_write(target, lambda tmp: layout.function("write")(edit, tmp))


def import_command(edit: Edit, fmt: str, out: str | Path) -> str:
    """The `latentedit directions import` line that gives `edit` back from the exported file: the
    space where the file cannot say it, and the calibration the edit was made with where it records one."""
    from latentedit.interop.source import space_from_name

    words = ["latentedit", "directions", "import", str(out), "--backend", edit.backend_name, "--name", edit.name]
    rows_identical = edit.space == "w+" and bool((edit.tensors["direction"] == edit.tensors["direction"][0]).all())
    if (fmt == "interfacegan-npy" and space_from_name(Path(out).name) != edit.space) or rows_identical:
        words += ["-o", f"space={edit.space}"]
    calibration = edit.provenance.get("calibration")
    if isinstance(calibration, dict) and {"samples", "seed"} <= calibration.keys():
        words += ["-o", f"samples={calibration['samples']}", "--seed", str(calibration["seed"])]
    return shlex.join(words)
