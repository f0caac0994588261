"""Directions other tools made, brought in by `latentedit directions import` (latentedit.interop).

They are ordinary vector edits, so `apply`, `evaluate` and `directions export` use them like any
other; this method only has to exist so that their ``method: imported`` resolves. It learns
nothing itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from latentedit.api import LatentEditError, VectorMethod

if TYPE_CHECKING:
    from latentedit.api import Backend, DiscoverRequest, Edit, Progress


class Imported(VectorMethod):
    name: ClassVar[str] = "imported"
    summary: ClassVar[str] = "A direction from another tool's file (InterFaceGAN, e4e, GANSpace, SeFa, ...)."
    space: ClassVar[str] = "z/w/w+"

    def discover(self, backend: Backend, request: DiscoverRequest, options: Any, progress: Progress) -> Edit:
        raise LatentEditError(
            "Method 'imported' learns nothing; use `latentedit directions import FILE` to bring in a direction "
            "file from another tool."
        )
