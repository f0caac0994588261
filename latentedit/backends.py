"""Built-in plugin: the backend schemes that ship with latentedit."""

from __future__ import annotations

from collections.abc import Callable

from latentedit.backend import BackendSpec
from latentedit.hookspecs import hookimpl


@hookimpl
def register_backends(register: Callable[[BackendSpec], None]) -> None:
    register(
        BackendSpec(
            "stylegan2",
            "A StyleGAN2 checkpoint imported with `latentedit import-checkpoint` (a StyleGAN3 one loads as stylegan3).",
            "latentedit.stylegan2_backend:from_file",
            "stylegan2:ffhq.safetensors",
        )
    )
    register(
        BackendSpec(
            "stylegan3",
            "A StyleGAN3 checkpoint (stylegan3-t/-r) imported with `latentedit import-checkpoint`.",
            "latentedit.stylegan3_backend:from_file",
            "stylegan3:ffhq-t.safetensors",
        )
    )
    register(
        BackendSpec(
            "random",
            "A randomly initialised StyleGAN2 (untrained: for tests and plumbing only).",
            "latentedit.stylegan2_backend:random_backend",
            "random:64",
        )
    )
