"""rosinality/stylegan2-pytorch ``closed_form_factorization.py`` output (SeFa on its generator).

A torch dict ``{"ckpt": str, "eigvec": tensor (d, d)}``; direction i is column i (their
``apply_factor.py`` adds ``degree · eigvec[:, i]`` to the W code of every layer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from latentedit.errors import DirectionFileError
from latentedit.interop.containers import describe
from latentedit.interop.source import SourceDirection, float_array, pick_component


def matches(content: Any) -> bool:
    return isinstance(content, dict) and "eigvec" in content


def read(content: Any, source: Path, component: int | None) -> SourceDirection:
    if not matches(content):
        raise DirectionFileError(
            f"{source}: a closed-form factorization file is a dict with 'eigvec'; this file holds {describe(content)}."
        )
    eigvec = float_array(content["eigvec"], source, "'eigvec'")
    if eigvec.ndim != 2:
        raise DirectionFileError(f"{source}: 'eigvec' has shape {eigvec.shape}; expected (d, d).")
    index = pick_component(eigvec.shape[1], component, source, what="eigenvectors (columns of 'eigvec')")
    details: dict[str, Any] = {"component": index, "components": eigvec.shape[1]}
    if isinstance(content.get("ckpt"), str):
        details["ckpt"] = content["ckpt"]
    return SourceDirection(eigvec[:, index], space="w", details=details, component=index)
