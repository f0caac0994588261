"""The public plugin surface: everything a method, backend or scorer plugin imports.

``Discriminator`` (the StyleGAN2 discriminator class, for methods that build on it) is also
here, resolved on first use because it imports torch.

Plugins, the built-in ones included, import only from here (as llm's plugins import from
``llm``)::

    from latentedit.api import DiscoverRequest, Progress, VectorMethod, hookimpl, option, vector_edit

Importing this module is cheap (no torch): the names below live in light core modules and
import heavy libraries inside their functions. Anything not listed here may change without notice.
"""

from __future__ import annotations

from latentedit.backend import Backend, BackendSpec
from latentedit.commands.common import BackendOpt, DeviceOpt, ForceOpt, JsonOpt, QuietOpt
from latentedit.console import emit_json, out
from latentedit.editing import apply_edit, apply_edits
from latentedit.edits import Edit, check_strength, read_header
from latentedit.errors import (
    BadImageError,
    IncompatibleEditError,
    LatentEditError,
    LatentEditWarning,
    OptionError,
)
from latentedit.evaluate import EVALUATION_SEED, off_target, rescore
from latentedit.faces.detectors import FaceDetectorSpec
from latentedit.fileio import atomic_write, check_writable, sha256_file
from latentedit.hookspecs import hookimpl
from latentedit.images import from_uint8, grid, list_images, load_image, save_png, to_uint8
from latentedit.inversion import InversionOptions, invert_files
from latentedit.labels import (
    check_attribute,
    folder_codes,
    labelled_codes,
    pairs_from_folder,
    read_label_table,
    scorer_for,
)
from latentedit.layers import conv_layers_at, describe_layers, parse_layers
from latentedit.method import Analysis, DiscoverRequest, Method, NoOptions, Param
from latentedit.options import option, options_dict, parse_options
from latentedit.photos import read_input_image
from latentedit.progress import Progress, no_progress
from latentedit.sampling import Samples, sample
from latentedit.scorers import ScorerSpec
from latentedit.store import resolve_edit
from latentedit.vectors import (
    VectorMethod,
    check_vector_edit,
    conditional_direction,
    move,
    project,
    strength_unit,
    unit,
    vector_edit,
)

_HEAVY = {
    "Discriminator": "latentedit.nets",
    "Template": "latentedit.faces.templates",
    "load_template": "latentedit.faces.templates",
}
"""Names that import torch: resolved on first use, so ``import latentedit.api`` stays cheap."""


def __getattr__(name: str) -> object:
    if name in _HEAVY:
        import importlib

        return getattr(importlib.import_module(_HEAVY[name]), name)
    raise AttributeError(f"module 'latentedit.api' has no attribute {name!r}")


__all__ = [
    "Analysis",
    "Backend",
    "BackendOpt",
    "BackendSpec",
    "BadImageError",
    "DeviceOpt",
    "DiscoverRequest",
    "EVALUATION_SEED",
    "Edit",
    "FaceDetectorSpec",
    "ForceOpt",
    "IncompatibleEditError",
    "InversionOptions",
    "JsonOpt",
    "LatentEditError",
    "LatentEditWarning",
    "Method",
    "NoOptions",
    "OptionError",
    "Param",
    "Progress",
    "QuietOpt",
    "Samples",
    "ScorerSpec",
    "VectorMethod",
    "apply_edit",
    "apply_edits",
    "atomic_write",
    "check_attribute",
    "check_strength",
    "check_vector_edit",
    "check_writable",
    "conditional_direction",
    "conv_layers_at",
    "describe_layers",
    "emit_json",
    "folder_codes",
    "from_uint8",
    "grid",
    "hookimpl",
    "invert_files",
    "labelled_codes",
    "list_images",
    "load_image",
    "move",
    "no_progress",
    "off_target",
    "option",
    "options_dict",
    "out",
    "pairs_from_folder",
    "parse_layers",
    "parse_options",
    "read_input_image",
    "project",
    "read_header",
    "read_label_table",
    "rescore",
    "resolve_edit",
    "sample",
    "save_png",
    "scorer_for",
    "sha256_file",
    "strength_unit",
    "to_uint8",
    "unit",
    "vector_edit",
]
