"""Network checkpoints: latentedit's safetensors layout and importers for foreign formats.

Names are resolved lazily so `import latentedit.checkpoints` stays free of torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LoadedNetworks": "latentedit.checkpoints.layout",
    "save_networks": "latentedit.checkpoints.layout",
    "load_networks": "latentedit.checkpoints.layout",
    "read_metadata": "latentedit.checkpoints.layout",
    "fingerprint": "latentedit.checkpoints.layout",
    "ImportReport": "latentedit.checkpoints.importer",
    "detect_format": "latentedit.checkpoints.importer",
    "import_checkpoint": "latentedit.checkpoints.importer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
