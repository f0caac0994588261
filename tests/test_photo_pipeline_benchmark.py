"""The end-to-end photo benchmark on a tiny network: every stage is timed and measured, and the
photo it writes is the photo it read, edited, at its own size with its EXIF kept. Slow (about 80 s on
the shared 2-core machine: it writes and loads a 32 px config-f generator and discriminator)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


@pytest.mark.slow
def test_the_photo_pipeline_benchmark_measures_every_stage(tmp_path: Path) -> None:
    from benchmarks import photo_pipeline

    report_path = tmp_path / "report.json"
    argv = ["--networks", "32", "--steps", "1", "--pti-steps", "0", "--photo-size", "320", "240"]
    photo_pipeline.main(
        [*argv, "--face-side", "120", "--threads", "1", "--work", str(tmp_path), "--json", str(report_path)]
    )
    report = json.loads(report_path.read_text())
    (network,) = report["results"]["networks"]
    rows = {row["stage"]: row for row in network["rows"]}
    assert list(rows) == list(photo_pipeline.STAGES)
    assert rows["pti"]["skipped"] == "--pti-steps 0"
    for stage in ("read", "align", "invert", "edit", "paste", "write"):
        assert rows[stage]["seconds"] > 0 and rows[stage]["peak_mb"] is not None
    assert rows["invert"]["peak_mb"] > rows["read"]["peak_mb"]  # the network's activations and gradients
    assert network["crop_side_px"] == 120.0
    photo = Image.open(next(tmp_path.glob("photo-*.jpg")))
    edited = Image.open(tmp_path / "edited-32.jpg")
    assert (edited.format, edited.size) == ("JPEG", photo.size)
    assert edited.getexif()[0x010F] == "latentedit benchmark"
    corner = (slice(0, 20), slice(0, 20))  # far from the face: the photo's own pixels (up to JPEG's re-encoding)
    assert np.abs(np.asarray(edited)[corner].astype(int) - np.asarray(photo)[corner]).mean() < 3
