"""A user imports a pretrained checkpoint, then uses it as a backend everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from latentedit.nets import Discriminator, Generator
from tests.helpers import one_line_error, run
from tests.test_checkpoints import HOSTILE_STRUCTURES, hostile_snapshot, nvidia_snapshot, write_nvidia_pickle

SMALL = {"z_dim": 32, "c_dim": 0, "w_dim": 32, "img_resolution": 32, "img_channels": 3}


def _pickle(tmp_path: Path) -> Path:
    torch.manual_seed(3)
    G = Generator(**SMALL, mapping_kwargs={"num_layers": 2}, synthesis_kwargs={"channel_base": 512, "channel_max": 32})
    D = Discriminator(c_dim=0, img_resolution=32, img_channels=3, channel_base=512, channel_max=32)
    return write_nvidia_pickle(tmp_path / "network-snapshot.pkl", nvidia_snapshot(G, D))


def test_import_then_generate_and_discover(cli, tmp_path: Path) -> None:
    out = tmp_path / "mine.safetensors"
    result = run(cli, "import-checkpoint", str(_pickle(tmp_path)), "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["format"] == "nvidia-pickle" and report["resolution"] == 32 and report["has_discriminator"]
    backend = f"stylegan2:{out}"
    assert run(cli, "generate", "--backend", backend, "--seeds", "0-1", "--out", str(tmp_path / "img")).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "img").iterdir()) == ["seed0000.png", "seed0001.png"]
    discovered = run(cli, "discover", "--method", "sefa", "--backend", backend, "--name", "first", "--json")
    assert discovered.exit_code == 0, discovered.output
    assert json.loads(discovered.stdout)["metadata"]["backend"] == report["fingerprint"]


def test_import_refuses_overwrite_and_bad_files(cli, tmp_path: Path) -> None:
    source = _pickle(tmp_path)
    out = tmp_path / "mine.safetensors"
    assert run(cli, "import-checkpoint", str(source), "--out", str(out)).exit_code == 0
    again = run(cli, "import-checkpoint", str(source), "--out", str(out))
    assert again.exit_code == 2 and "--force" in one_line_error(again)
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"\x80\x04garbage")
    bad = run(cli, "import-checkpoint", str(junk), "--out", str(tmp_path / "x.safetensors"))
    assert bad.exit_code == 2 and "junk.pkl" in one_line_error(bad)
    missing = run(cli, "import-checkpoint", str(tmp_path / "nope.pkl"), "--out", str(tmp_path / "y.safetensors"))
    assert missing.exit_code == 2


def _hostile(tmp_path: Path, kind: str) -> Path:
    source = tmp_path / f"{kind.replace(' ', '-')}.pkl"
    if kind in HOSTILE_STRUCTURES:
        source.write_bytes(HOSTILE_STRUCTURES[kind][0]())
        return source
    G = Generator(**SMALL, mapping_kwargs={"num_layers": 2}, synthesis_kwargs={"channel_base": 512, "channel_max": 32})
    snapshot = hostile_snapshot(G, None, "size") if kind == "leaky view" else nvidia_snapshot(G, None)
    if kind == "ten million layers":
        snapshot["G_ema"].meta["state"]["_init_kwargs"]["mapping_kwargs"]["num_layers"] = 10**7
    return write_nvidia_pickle(source, snapshot)


REFUSALS = {
    "leaky view": "reaches beyond its storage",
    "ten million layers": "mapping_kwargs.num_layers=10000000 is outside",
    "billion laughs": "billion laughs",
    "module cycle": "reference cycle",
}


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_hostile_pickles_exit_2_with_one_line(cli, tmp_path: Path, kind: str) -> None:
    out = tmp_path / "out.safetensors"
    result = run(cli, "import-checkpoint", str(_hostile(tmp_path, kind)), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert REFUSALS[kind] in one_line_error(result)
    assert not out.exists()
