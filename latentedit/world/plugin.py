"""Built-in plugin: the embedded world as the default backend, with its scorer, segmenter and
face finder."""

from __future__ import annotations

from collections.abc import Callable

from latentedit.backend import BackendSpec
from latentedit.faces.detectors import FaceDetectorSpec
from latentedit.hookspecs import hookimpl
from latentedit.scorers import ScorerSpec


@hookimpl
def register_backends(register: Callable[[BackendSpec], None]) -> None:
    register(
        BackendSpec(
            "embedded",
            "The embedded world: a small StyleGAN2 trained on procedural faces (the default).",
            "latentedit.world.backend:embedded_backend",
            "embedded",
        )
    )


@hookimpl
def register_scorers(register: Callable[[ScorerSpec], None]) -> None:
    from latentedit.world.attributes import ATTRIBUTES, PARTS

    register(
        ScorerSpec(
            "world",
            "embedded",
            tuple(ATTRIBUTES),
            "latentedit.world.scorers:scorer_factory",
            summary="Attribute scorer trained on exact renderer labels.",
        )
    )
    register(
        ScorerSpec(
            "world-parts",
            "embedded",
            (),
            "latentedit.world.scorers:segmenter_factory",
            kind="segmenter",
            summary="Part segmenter trained on exact renderer masks.",
            parts=PARTS,
        )
    )


@hookimpl
def register_face_detectors(register: Callable[[FaceDetectorSpec], None]) -> None:
    register(
        FaceDetectorSpec(
            "world-landmarks",
            "The embedded world's face finder: two small networks trained on renders (exact landmarks).",
            "latentedit.world.landmarks:make_detector",
            backends=("embedded",),
            template="embedded",
        )
    )
