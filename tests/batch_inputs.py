"""Inputs for the batch-run tests: a folder of rendered faces (crops at the embedded world's 64 px),
optionally a photo holding one face with its landmarks, and a file that is not an image."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from latentedit.faces.scenes import place_face, similarity
from latentedit.world.attributes import sample_attributes
from latentedit.world.render import render_batch


def face_folder(folder: Path, count: int, first_seed: int = 0) -> Path:
    """`count` rendered faces ``faceNN.png`` (seeds from `first_seed`) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    images, _, _ = render_batch(list(range(first_seed, first_seed + count)), 64)
    for seed, image in zip(range(first_seed, first_seed + count), images, strict=True):
        Image.fromarray(image).save(folder / f"face{seed:02d}.png")
    return folder


def add_photo(folder: Path, marks: Path) -> None:
    """A 160x120 photo with one face drawn 1.3x larger and turned, and its landmarks in `marks`."""
    placed = place_face(sample_attributes(7), similarity(1.3, 6.0, (30.0, 20.0)), (160, 120), np.random.default_rng(7))
    Image.fromarray(placed.photo).save(folder / "photo.png")
    marks.write_text(json.dumps({"photo.png": [placed.landmarks.tolist()]}))


def add_broken(folder: Path, name: str = "broken.png") -> Path:
    """A file named like an image that holds no image."""
    path = folder / name
    path.write_bytes(b"not a png at all")
    return path


def files_by_name(folder: Path) -> dict[str, bytes]:
    """Every picture a run wrote (its manifest left out), by file name."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.suffix in (".png", ".gif")}
