"""Readers and writers for other tools' direction files (docs/interop.md).

Every reader is code-free: numpy with ``allow_pickle=False``, torch's weights-only loader, or
a numpy-only unpickler. One module per family of layouts (`interfacegan`, `wplus`, `e4e`,
`ganspace`, `rosinality`), `registry` lists them and detects which one a file has,
`importer` fits a direction to a backend and calibrates it, `exporter` writes edits back out.
Importing this package is cheap: numpy and torch are imported when a file is read or written.
"""

from __future__ import annotations

from latentedit.interop.exporter import check_exportable, export_direction, import_command
from latentedit.interop.importer import IMPORTED, ImportOptions, import_direction
from latentedit.interop.registry import AUTO, EXPORT_FORMATS, IMPORT_FORMATS, DirectionFormat

__all__ = [
    "AUTO",
    "EXPORT_FORMATS",
    "IMPORTED",
    "IMPORT_FORMATS",
    "DirectionFormat",
    "ImportOptions",
    "check_exportable",
    "export_direction",
    "import_command",
    "import_direction",
]
