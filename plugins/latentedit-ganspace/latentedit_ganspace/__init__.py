"""latentedit-ganspace: GANSpace (principal components of sampled W) as a latentedit plugin.

Found through the entry point ``[project.entry-points.latentedit] ganspace = "latentedit_ganspace"``.
Importing this module is cheap: torch and scikit-learn are imported only when the method runs.
"""

from __future__ import annotations

from collections.abc import Callable

from latentedit.api import hookimpl
from latentedit_ganspace.method import GANSpace

__all__ = ["GANSpace", "register_methods"]


@hookimpl
def register_methods(register: Callable[[type], None]) -> None:
    register(GANSpace)
