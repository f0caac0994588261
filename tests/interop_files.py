"""Direction files in the layouts other tools publish, written the way those tools write them."""

from __future__ import annotations

import io
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch


@dataclass
class Layout:
    """A file made by `write`, how to import it, and what the import must give."""

    filename: str
    format: str
    space: str
    options: list[str] = field(default_factory=list)


def unit_rows(count: int, dim: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(count, dim))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def save_on_cuda(tensor: torch.Tensor, path: Path) -> Path:
    """`torch.save` as if the tensor lived on a GPU: the storage location in data.pkl says cuda:0."""
    buffer = io.BytesIO()
    torch.save(tensor, buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    cpu, cuda = b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0"  # BINUNICODE 'cpu' -> 'cuda:0'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.endswith("data.pkl"):
                assert cpu in data
                data = data.replace(cpu, cuda)
            target.writestr(info.filename, data)
    return path


def ganspace_npz(path: Path, comp: np.ndarray, stdev: np.ndarray) -> Path:
    """GANSpace's decomposition cache (decomposition.py), plus a key GANSpace never wrote."""
    count, dim = comp.shape
    np.savez_compressed(
        path,
        act_comp=comp.reshape(count, 1, dim).astype(np.float32),
        act_mean=np.zeros((1, dim), np.float32),
        act_stdev=stdev.astype(np.float32),
        lat_comp=comp.reshape(count, 1, dim).astype(np.float32),
        lat_mean=np.zeros((1, dim), np.float32),
        lat_stdev=stdev.astype(np.float32),
        var_ratio=np.full(count, 0.1, np.float32),
        random_stdevs=np.ones(count, np.float32),
        unexpected_key=np.arange(3),
    )
    return path


def ganspace_pkl(path: Path, lat_comp: np.ndarray, start: int, end: int, protocol: int = 3) -> Path:
    """What GANSpace's viewer (interactive.py, export_direction) pickles for one named direction."""
    params = {
        "name": "smile",
        "sigma_range": np.float64(2.5),
        "component_index": 3,
        "act_comp": lat_comp.astype(np.float32),
        "lat_comp": lat_comp.astype(np.float32),
        "latent_space": "W",
        "act_stdev": 1.5,
        "lat_stdev": 1.5,
        "model_name": "StyleGAN2",
        "output_class": "ffhq",
        "decomposition": {
            "name": "ipca", "components": 80, "samples": 1_000_000, "layer": "style", "class_name": "ffhq"
        },
        "edit_type": "latent",
        "truncation": 0.7,
        "edit_start": start,
        "edit_end": end,  # exclusive, as GANSpace saves it
        "example_seed": 1234,
    }
    with open(path, "wb") as handle:
        pickle.dump(params, handle, protocol=protocol)
    return path


def write_layouts(folder: Path, num_ws: int, dim: int) -> dict[str, tuple[Layout, np.ndarray]]:
    """Each published layout for a generator with `num_ws` W+ codes of `dim` dimensions (Z as big as W),
    with the direction the import must give back (before normalisation)."""
    d = unit_rows(1, dim, seed=1)[0]
    rows = unit_rows(num_ws, dim, seed=2)
    comps = unit_rows(6, dim, seed=3)
    eigvec = np.linalg.qr(np.random.default_rng(4).normal(size=(dim, dim)))[0]
    layouts: dict[str, tuple[Layout, np.ndarray]] = {}

    def add(key: str, layout: Layout, expected: np.ndarray) -> None:
        layouts[key] = (layout, expected)

    np.save(folder / "stylegan_world_smile_w_boundary.npy", d.reshape(1, dim))  # float64, unit norm
    add("interfacegan-w", Layout("stylegan_world_smile_w_boundary.npy", "interfacegan-npy", "w"), d)
    np.save(folder / "stylegan_world_smile_c_age_boundary.npy", d.reshape(1, dim))
    add("interfacegan-z", Layout("stylegan_world_smile_c_age_boundary.npy", "interfacegan-npy", "z"), d)
    np.save(folder / "stylegan_world_smile_wp_boundary.npy", rows.reshape(1, -1))
    add("interfacegan-wp", Layout("stylegan_world_smile_wp_boundary.npy", "interfacegan-npy", "w+"), rows)
    np.save(folder / "smile_plain.npy", d.reshape(1, dim))
    add("interfacegan-told", Layout("smile_plain.npy", "interfacegan-npy", "z", ["space=z"]), d)

    torch.save(torch.tensor(7.5 * d, dtype=torch.float32).reshape(1, dim), folder / "age.pt")
    add("e4e", Layout("age.pt", "e4e-pt", "w"), d)
    save_on_cuda(torch.tensor(d, dtype=torch.float32).reshape(1, dim), folder / "smile.pt")
    add("e4e-cuda", Layout("smile.pt", "e4e-pt", "w"), d)
    torch.save(torch.tensor(np.tile(d, (1, num_ws, 1)), dtype=torch.float32), folder / "pose.pt")
    add("e4e-wplus", Layout("pose.pt", "e4e-pt", "w"), d)
    legacy = torch.tensor(d, dtype=torch.float32).reshape(1, dim)
    torch.save(legacy, folder / "old.pt", _use_new_zipfile_serialization=False)  # torch < 1.6
    add("e4e-legacy", Layout("old.pt", "e4e-pt", "w"), d)

    pca = {
        "mean": torch.zeros(1, dim),
        "comp": torch.tensor(comps, dtype=torch.float32).reshape(6, 1, dim),
        "std": torch.linspace(3.0, 1.0, 6),
    }
    torch.save(pca, folder / "ffhq_pca.pt")
    on_layers = np.zeros((num_ws, dim))
    on_layers[0:4] = comps[2]
    add("ganspace-pt", Layout("ffhq_pca.pt", "ganspace-pt", "w+", ["component=2", "layers=0-3"]), on_layers)
    ganspace_npz(folder / "stylegan2-world_style_ipca_c6_n100000_w.npz", comps, np.linspace(3.0, 1.0, 6))
    add("ganspace-npz", Layout("stylegan2-world_style_ipca_c6_n100000_w.npz", "ganspace-npz", "w", ["component=1"]),
        comps[1])
    ganspace_pkl(folder / "StyleGAN2-smile-ffhq-ipca-w-style-comp3-range2-5.pkl", comps[3].reshape(1, dim), 2, 5)
    ranged = np.zeros((num_ws, dim))
    ranged[2:5] = comps[3]
    add("ganspace-pkl", Layout("StyleGAN2-smile-ffhq-ipca-w-style-comp3-range2-5.pkl", "ganspace-pkl", "w+"), ranged)

    torch.save({"ckpt": "stylegan2-ffhq-config-f.pt", "eigvec": torch.tensor(eigvec, dtype=torch.float32)},
               folder / "factor.pt")
    add("rosinality", Layout("factor.pt", "rosinality-factor", "w", ["component=4"]), eigvec[:, 4])

    np.save(folder / "smile_wplus.npy", (5.0 * rows).astype(np.float32))
    first8 = 5.0 * rows
    first8[8:] = 0
    add("wplus-layers", Layout("smile_wplus.npy", "wplus-npy", "w+", ["layers=0-7"]), first8)
    np.save(folder / "gender_wplus.npy", np.tile(3.0 * d, (num_ws, 1)).astype(np.float32))
    add("wplus-identical", Layout("gender_wplus.npy", "wplus-npy", "w"), d)
    return layouts
