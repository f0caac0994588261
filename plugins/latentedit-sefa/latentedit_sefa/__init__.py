"""latentedit-sefa: closed-form factorization of latent semantics (SeFa) as a latentedit plugin.

Found through the entry point ``[project.entry-points.latentedit] sefa = "latentedit_sefa"``.
Importing this module is cheap: torch is imported only when the method runs.
"""

from __future__ import annotations

from collections.abc import Callable

from latentedit.api import hookimpl
from latentedit_sefa.method import SeFa

__all__ = ["SeFa", "register_methods"]


@hookimpl
def register_methods(register: Callable[[type], None]) -> None:
    register(SeFa)
