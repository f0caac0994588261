"""Landmarks files: five points per face, per photo, for photos no detector looks at.

    {"photo.jpg": [[[x, y], [x, y], [x, y], [x, y], [x, y]], ...], "other.png": [...]}

A key is the photo as given on the command line or its file name; each face is five [x, y]
points in `latentedit.faces.LANDMARK_NAMES` order (the nose may be null) or an object keyed by
those names. Coordinates follow `latentedit.faces`' pixel convention.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from latentedit.faces import LandmarksError, NoFaceError


def read_json(source: Path, what: str) -> Any:
    """The JSON in `source`, or one `LandmarksError` line naming `what` it should have been."""
    try:
        return json.loads(source.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LandmarksError(f"{what} {source} is not readable JSON ({exc}).") from None


def read_landmarks_file(path: str | Path) -> dict[str, list[Any]]:
    """The file's faces by photo key, checked for shape only when used (`faces_for`)."""
    source = Path(path)
    if not source.is_file():
        raise LandmarksError(f"Landmarks file {source} not found.")
    data = read_json(source, "Landmarks file")
    if not isinstance(data, dict) or not all(isinstance(faces, list) for faces in data.values()):
        raise LandmarksError(
            f'Landmarks file {source} must map each photo to a list of faces: {{"photo.jpg": [[[x, y] x 5], ...]}}.'
        )
    return data


def faces_for(table: dict[str, list[Any]], photo: str | Path, source: str | Path) -> list[Any]:
    """The faces ``table`` (read from ``source``) gives for ``photo``, or a `NoFaceError`."""
    photo = Path(photo)
    for key in (str(photo), photo.as_posix(), photo.name):
        if key in table:
            if not table[key]:
                raise NoFaceError(f"{source} lists no face for {photo}.")
            return table[key]
    raise NoFaceError(f"No face given for {photo} in {source}; add an entry keyed {photo.name!r}.")
