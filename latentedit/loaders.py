"""Loading the library's two things by name: backends (through the plugin registry) and edits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from latentedit.backend import DEFAULT_BACKEND, check_device, parse_backend

if TYPE_CHECKING:
    from latentedit.backend import Backend
    from latentedit.edits import Edit


def load_backend(name: str = DEFAULT_BACKEND, device: str = "cpu") -> Backend:
    """Build a backend from its ``--backend`` spelling, e.g. ``load_backend("embedded")``."""
    from latentedit.lazy import resolve
    from latentedit.plugins import get_plugins
    from latentedit.threads import apply_thread_policy

    scheme, arg = parse_backend(name)
    spec = get_plugins().backends.get(scheme)
    check_device(device)
    apply_thread_policy()
    return resolve(spec.factory)(arg, device=device)


def load_edit(name_or_path: str, backend: str = DEFAULT_BACKEND) -> Edit:
    """Load an edit by path, or by name from the store of `backend`."""
    from latentedit.edits import Edit
    from latentedit.store import resolve_edit

    return Edit.load(resolve_edit(name_or_path, backend))
