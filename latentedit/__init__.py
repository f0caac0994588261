"""latentedit: discover semantic editing directions in StyleGAN latent spaces and apply them.

The public library API (stable names)::

    import latentedit
    backend = latentedit.load_backend("embedded")        # or "stylegan2:ffhq.safetensors"
    ws = backend.mapping(backend.sample_z(4, seed=0))
    edit = latentedit.load_edit("smile")                 # a stored name or a path
    images = backend.synthesize(edit.apply(backend, ws, strength=3.0))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from latentedit.backend import load_backend

if TYPE_CHECKING:
    from latentedit.edits import Edit

__all__ = ["load_backend", "load_edit"]


def load_edit(name_or_path: str, backend: str = "embedded") -> Edit:
    """Load an edit by path, or by name from the store of `backend`."""
    from latentedit.edits import Edit
    from latentedit.store import resolve_edit

    return Edit.load(resolve_edit(name_or_path, backend))
