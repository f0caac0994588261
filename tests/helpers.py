"""Small helpers shared by tests: invoking the CLI like a user at a terminal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from typer.testing import CliRunner

from latentedit.cli import app

if TYPE_CHECKING:
    import numpy as np


def run(runner: CliRunner, *args: str, **kwargs: Any):
    """Invoke `latentedit ARGS...`; returns click's Result (exit_code, stdout, stderr)."""
    return runner.invoke(app, list(args), catch_exceptions=False, **kwargs)


def one_line_error(result) -> str:
    """The stderr of a failed command, asserted to be a single line."""
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def photo_of_two_faces(folder: Path, seeds: tuple[int, int]) -> tuple[Path, Path, np.ndarray]:
    """``folder/scene.png``: two renderer faces (of `seeds`) side by side on colour noise, each turned
    and drawn 1.6 times larger in its 200 x 160 half; ``folder/marks.json``: their landmarks as
    ``apply --landmarks`` reads them; and the photo's pixels."""
    import json

    import numpy as np
    from PIL import Image

    from latentedit.faces.scenes import place_face, similarity
    from latentedit.world.attributes import sample_attributes

    halves = [
        place_face(
            sample_attributes(seed), similarity(1.6, angle, (40.0, 20.0)), (200, 160), np.random.default_rng(seed)
        )
        for seed, angle in zip(seeds, (-8.0, 6.0), strict=True)
    ]
    photo, marks = folder / "scene.png", folder / "marks.json"
    pixels = np.concatenate([half.photo for half in halves], axis=1)
    Image.fromarray(pixels).save(photo)
    points = [halves[0].landmarks.tolist(), (halves[1].landmarks + [200, 0]).tolist()]
    marks.write_text(json.dumps({photo.name: points}))
    return photo, marks, pixels
