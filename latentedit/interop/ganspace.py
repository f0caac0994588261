"""GANSpace (Härkönen et al., NeurIPS 2020): principal components of sampled latents.

Three layouts carry them:

* ``ffhq_pca.pt`` of encoder4editing / HyperStyle: a torch dict ``mean`` (1, d), ``comp``
  (K, 1, d), ``std`` (K,), PCA of FFHQ's W; their named edits are (component, first layer,
  last layer + 1, strength) tuples.
* GANSpace's own cache ``.npz`` (``lat_comp`` (K, 1, d), ``lat_mean``, ``lat_stdev`` (K,) and
  activation-space keys); its name ends in ``_w.npz`` when the PCA ran in W, else it is Z.
* the ``.pkl`` GANSpace's viewer exports for one named direction: a dict of numpy arrays and
  numbers (``lat_comp``, ``lat_stdev``, ``latent_space``, ``edit_start``, ``edit_end``
  exclusive, ...), read with the numpy-only unpickler.

latentedit's own ``npz`` export writes the cache's latent keys for one direction.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentedit.errors import DirectionFileError
from latentedit.interop.containers import describe
from latentedit.interop.source import SourceDirection, float_array, pick_component, single, space_from_name

if TYPE_CHECKING:
    import numpy as np

    from latentedit.edits import Edit

PT_KEYS = ("comp", "std")
NPZ_KEYS = ("lat_comp",)
PKL_KEYS = ("lat_comp", "latent_space")


def _has(content: Any, keys: tuple[str, ...]) -> bool:
    return isinstance(content, dict) and all(key in content for key in keys)


def matches_pt(content: Any) -> bool:
    return _has(content, PT_KEYS)


def matches_npz(content: Any) -> bool:
    return _has(content, NPZ_KEYS)


def matches_pkl(content: Any) -> bool:
    return _has(content, PKL_KEYS)


def _require(content: Any, keys: tuple[str, ...], source: Path, layout: str) -> None:
    if not _has(content, keys):
        raise DirectionFileError(
            f"{source}: {layout} needs the keys {', '.join(keys)}; this file holds {describe(content)}."
        )


def _component(
    comp: np.ndarray, component: int | None, source: Path, space: str | None, stdevs: np.ndarray | None
) -> SourceDirection:
    """Component `component` of (K, 1, d), (K, d) or (K, n, d) as a (d,) or (n, d) direction."""
    count = comp.shape[0]
    index = pick_component(count, component, source)
    row = comp[index]
    details: dict[str, Any] = {"component": index, "components": count}
    if stdevs is not None and index < stdevs.size:
        details["source_stdev"] = float(stdevs[index])
    vector = row.reshape(-1) if row.ndim == 1 or row.shape[0] == 1 else row
    return SourceDirection(vector, space=space, details=details, component=index if count > 1 else None)


def _stdev(content: dict[str, Any], key: str, source: Path) -> np.ndarray | None:
    """The file's standard deviation per component, when it has them."""
    return float_array(content[key], source, f"'{key}'").reshape(-1) if key in content else None


def read_pt(content: Any, source: Path, component: int | None) -> SourceDirection:
    _require(content, PT_KEYS, source, "a GANSpace PCA .pt (ffhq_pca.pt)")
    comp = float_array(content["comp"], source, "'comp'")
    if comp.ndim not in (2, 3):
        raise DirectionFileError(f"{source}: 'comp' has shape {comp.shape}; expected (K, 1, d).")
    return _component(comp, component, source, "w", _stdev(content, "std", source))


def read_npz(content: Any, source: Path, component: int | None) -> SourceDirection:
    _require(content, NPZ_KEYS, source, "a GANSpace .npz")
    comp = float_array(content["lat_comp"], source, "'lat_comp'")
    if comp.ndim not in (2, 3):
        raise DirectionFileError(f"{source}: 'lat_comp' has shape {comp.shape}; expected (K, 1, d).")
    return _component(comp, component, source, _npz_space(content, source), _stdev(content, "lat_stdev", source))


def _npz_space(content: dict[str, Any], source: Path) -> str | None:
    """latentedit's export writes a ``space`` key; GANSpace's cache names end in ``_w`` for W."""
    if "space" in content:
        space = str(content["space"])
        if space not in ("z", "w", "w+"):
            raise DirectionFileError(f"{source}: 'space' is {space!r}; expected z, w or w+.")
        return space
    return space_from_name(source.name) or ("z" if re.search(r"_c\d+_n\d+", source.name) else None)


def read_pkl(content: Any, source: Path, component: int | None) -> SourceDirection:
    _require(content, PKL_KEYS, source, "a GANSpace exported direction .pkl")
    single(component, source)
    edit_type = content.get("edit_type", "latent")
    if edit_type != "latent":
        raise DirectionFileError(
            f"{source}: this GANSpace direction edits {edit_type!r}, not latents; only latent directions "
            "can be imported."
        )
    latent_space = str(content["latent_space"]).lower()
    if latent_space not in ("z", "w"):
        raise DirectionFileError(f"{source}: latent_space is {content['latent_space']!r}; expected 'W' or 'Z'.")
    comp = float_array(content["lat_comp"], source, "'lat_comp'")
    layers = None
    if "edit_start" in content and "edit_end" in content:
        start, end = int(content["edit_start"]), int(content["edit_end"])
        if not 0 <= start < end:
            raise DirectionFileError(f"{source}: edit range {start}-{end} is empty.")
        layers = list(range(start, end))  # GANSpace saves the end exclusive
    details: dict[str, Any] = {
        key: _plain(content[key])
        for key in ("name", "component_index", "model_name", "output_class", "sigma_range", "lat_stdev")
        if key in content
    }
    if "lat_stdev" in details:
        details["source_stdev"] = details.pop("lat_stdev")
    vector = comp.reshape(-1, comp.shape[-1]).squeeze(0)
    return SourceDirection(vector, space=latent_space, layers=layers, details=details)


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, for JSON provenance."""
    return value.item() if hasattr(value, "item") else value


def write_npz(edit: Edit, path: Path) -> None:
    """The cache's latent keys for one direction: ``lat_comp`` (1, 1, d) or (1, num_ws, d),
    ``lat_stdev`` (1,) = the calibrated strength unit, and ``space``."""
    import numpy as np

    direction = edit.tensors["direction"].float().numpy()
    comp = (direction / np.linalg.norm(direction)).reshape(1, -1, direction.shape[-1]).astype(np.float32)
    stdev = np.array([float(edit.tensors["strength_unit"])], dtype=np.float32)
    with open(path, "wb") as handle:
        np.savez(handle, lat_comp=comp, lat_stdev=stdev, space=np.array(edit.space))
