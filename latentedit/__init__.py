"""latentedit: discover semantic editing directions in StyleGAN latent spaces and apply them.

The public library API (stable names)::

    import latentedit
    backend = latentedit.load_backend("embedded")        # or "stylegan2:ffhq.safetensors"
    ws = backend.mapping(backend.sample_z(4, seed=0))
    edit = latentedit.load_edit("smile")                 # a stored name or a path
    edited = latentedit.apply_edit(backend, ws, edit, strength=3.0)   # None: the method's default
    images = backend.synthesize(edited)
    both = latentedit.apply_edits(backend, ws, [(edit, 3.0), (other, -1.0)])

Plugins import from `latentedit.api` instead (the plugin surface).
"""

from __future__ import annotations

from latentedit.editing import apply_edit, apply_edits
from latentedit.loaders import load_backend, load_edit

__all__ = ["apply_edit", "apply_edits", "load_backend", "load_edit"]
