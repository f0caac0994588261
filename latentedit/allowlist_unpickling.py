"""The one rule every pickle reader here follows: a global is built only when it is on the
reader's allow-list, and persistent ids are refused, before anything from the file can run.

Checkpoints (`checkpoints.safepickle`), direction files (`interop.numpy_pickle`) and the face
detector's weights (`faces.joblib_arrays`) each mix `AllowListUnpickling` into a pickle unpickler
with their own list and their own words for the refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from latentedit.errors import UnsafePickleError


class AllowListUnpickling:
    """``find_class`` and ``persistent_load`` for a `pickle.Unpickler` (or the pure-Python
    ``pickle._Unpickler``) subclass: ``allowed`` maps ``(module, name)`` to what the file gets
    instead of the real global; ``refusal`` starts each error ("refusing to unpickle") and
    ``outside`` says why a refused global is not needed ("which is not one of numpy's ...")."""

    allowed: Mapping[tuple[str, str], Any]
    refusal: str = "refusing to unpickle"
    outside: str

    def __init__(self, file: Any, source: Path) -> None:
        super().__init__(file)  # type: ignore[call-arg]
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self._source}: {self.refusal}: it asks for {module}.{name}, {self.outside}; "
                "nothing from the file was run."
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self._source}: {self.refusal}: it uses persistent ids; nothing was run.")
