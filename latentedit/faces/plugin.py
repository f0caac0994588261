"""Built-in plugin: the MTCNN face detector for photographs of people, registered where the extra
``latentedit[faces]`` is installed (it brings the ``mtcnn`` wheel, whose weights it loads)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from latentedit.api import FaceDetectorSpec, hookimpl


def mtcnn_installed() -> bool:
    """Whether the ``mtcnn`` wheel is there (looked up, not imported: its own code needs TensorFlow)."""
    return importlib.util.find_spec("mtcnn") is not None


@hookimpl
def register_face_detectors(register: Callable[[FaceDetectorSpec], None]) -> None:
    if mtcnn_installed():
        register(
            FaceDetectorSpec(
                "mtcnn",
                "MTCNN (Zhang et al. 2016) in PyTorch, the mtcnn wheel's weights (MIT): scored faces, five points.",
                "latentedit.faces.mtcnn:make_detector",
            )
        )
