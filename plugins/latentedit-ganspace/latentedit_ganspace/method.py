"""GANSpace: principal components of sampled W codes are editing directions (Härkönen et al., 2020).

Sample z, map it to W, run PCA (scikit-learn) and keep component i. The paper's named edits
apply a component to a range of layers only, E(i, a-b): ``-o component=i -o layers=a-b``.
`preview` draws the first components at ±2σ (σ: the component's standard deviation in W) so
they can be named.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from latentedit.api import OptionError, VectorMethod, describe_layers, option, options_dict, parse_layers, vector_edit

if TYPE_CHECKING:
    import numpy as np
    import torch

    from latentedit.api import Backend, DiscoverRequest, Edit, Progress

BATCH = 5_000
"""Incremental PCA's batch size (at least three times the components)."""
CALIBRATION = 10_000
"""Sampled codes that calibrate --strength (the first of the PCA's samples)."""
PREVIEW_COMPONENTS = 8
PREVIEW_SEEDS = (0, 1)
PREVIEW_SIGMAS = (-2.0, 0.0, 2.0)
PREVIEW_SIZE = 128
"""Largest tile of the preview grid, in pixels (a 1024 px generator is shown downscaled)."""


@dataclass
class GANSpaceOptions:
    samples: int = option(100_000, "Latents sampled for the PCA (--samples overrides).")
    components: int = option(80, "Principal components computed (at most w_dim).")
    component: int = option(0, "Which component is the edit (0 = the most variance).")
    layers: str = option("all", "W+ indices the edit moves: 'all', '0-3' or '0,1,4' (the paper's E(i, a-b)).")
    estimator: str = option("pca", "pca (exact, all samples in memory) or ipca (incremental PCA, in batches).")

    def validate(self) -> None:
        if self.components < 1:
            raise OptionError(f"Option components={self.components}: need at least 1.")
        if not 0 <= self.component < self.components:
            raise OptionError(f"Option component={self.component}: must lie in 0..{self.components - 1}.")
        if self.samples < 2:
            raise OptionError(f"Option samples={self.samples}: need at least 2.")
        if self.estimator not in ("pca", "ipca"):
            raise OptionError(f"Option estimator={self.estimator!r}: expected pca or ipca.")


@dataclass
class PCABasis:
    """Unit components ``[K, w_dim]`` (rows), their standard deviations ``[K]``, the mean ``[w_dim]``
    and the share of W's variance each explains ``[K]``."""

    components: np.ndarray
    stdev: np.ndarray
    mean: np.ndarray
    variance_ratio: np.ndarray


def fit_pca(w: np.ndarray, components: int, estimator: str, seed: int) -> PCABasis:
    """PCA of W codes (`components` is clamped to what the data allow, as GANSpace does)."""
    import numpy as np
    from sklearn.decomposition import PCA, IncrementalPCA

    count = min(components, w.shape[1], w.shape[0])
    if estimator == "ipca":
        model = IncrementalPCA(n_components=count, batch_size=max(BATCH, 3 * count))
    else:
        model = PCA(n_components=count, random_state=seed)
    model.fit(w)
    return PCABasis(
        components=model.components_.astype(np.float32),
        stdev=np.sqrt(model.explained_variance_).astype(np.float32),
        mean=model.mean_.astype(np.float32),
        variance_ratio=model.explained_variance_ratio_.astype(np.float32),
    )


def on_layers(vector: torch.Tensor, layers: list[int], num_ws: int) -> torch.Tensor:
    """``[num_ws, w_dim]``: `vector` on the chosen W+ layers, zero elsewhere."""
    import torch

    rows = torch.zeros(num_ws, vector.shape[-1])
    rows[layers] = vector
    return rows


class GANSpace(VectorMethod):
    name: ClassVar[str] = "ganspace"
    summary: ClassVar[str] = "GANSpace: principal components of sampled W as unsupervised directions, on chosen layers."
    space: ClassVar[str] = "w"
    Options: ClassVar[type] = GANSpaceOptions
    inputs: ClassVar[tuple[str, ...]] = ("samples",)

    def discover(self, backend: Backend, request: DiscoverRequest, options: Any, progress: Progress) -> Edit:
        import torch

        layers = parse_layers(options.layers, backend.num_ws)
        count = request.samples or options.samples
        w = request.sample(backend, count, progress=progress, keep="w").latents("w").numpy()
        basis = fit_pca(w, options.components, options.estimator, request.seed)
        if options.component >= len(basis.components):
            raise OptionError(
                f"Option component={options.component}: the PCA has {len(basis.components)} components "
                f"(w_dim {backend.w_dim}, {count} samples)."
            )
        component = torch.from_numpy(basis.components[options.component])
        calibration = torch.from_numpy(w[:CALIBRATION])
        every_layer = layers == list(range(backend.num_ws))
        if not every_layer:
            component = on_layers(component, layers, backend.num_ws)
            calibration = calibration.unsqueeze(1).expand(-1, backend.num_ws, -1)
        edit = vector_edit(
            method=self.name,
            name=request.name,
            space="w" if every_layer else "w+",
            direction=component,
            backend=backend,
            calibration_latents=calibration,
            attribute=request.attr,
            params=options_dict(options),
            metrics={
                "variance_ratio": float(basis.variance_ratio[options.component]),
                "component_stdev": float(basis.stdev[options.component]),
                "variance_ratio_all": float(basis.variance_ratio.sum()),
            },
            provenance={
                "samples": count,
                "seed": request.seed,
                "layers": describe_layers(layers, backend.num_ws),
                "calibration": {"samples": len(calibration), "seed": request.seed},
            },
        )
        edit.tensors.update(
            components=torch.from_numpy(basis.components),
            component_stdev=torch.from_numpy(basis.stdev),
            mean=torch.from_numpy(basis.mean),
        )
        return edit

    def preview(self, backend: Backend, edit: Edit, path: Path, force: bool = False) -> Path:
        """A grid: one row per leading component, seeds × (−2σ, 0, +2σ) across, on the edit's layers."""
        import numpy as np
        import torch

        from latentedit.api import grid, save_png, to_uint8

        edit.check_backend(backend)
        layers = parse_layers(edit.provenance.get("layers", "all"), backend.num_ws)
        components = edit.tensors["components"][:PREVIEW_COMPONENTS]
        stdev = edit.tensors["component_stdev"][:PREVIEW_COMPONENTS]
        sigmas = torch.tensor(PREVIEW_SIGMAS)
        tiles = []
        with torch.inference_mode():
            base = backend.mapping(backend.z_for_seeds(list(PREVIEW_SEEDS))).cpu()
            for vector, sigma in zip(components, stdev, strict=True):
                steps = on_layers(vector, layers, backend.num_ws) * sigma
                ws = base.unsqueeze(1) + sigmas.view(1, -1, 1, 1) * steps  # [seeds, sigmas, num_ws, w_dim]
                images = backend.synthesize(ws.reshape(-1, *base.shape[1:]).to(backend.device)).cpu()
                if images.shape[-1] > PREVIEW_SIZE:
                    images = torch.nn.functional.interpolate(images, size=PREVIEW_SIZE, mode="area")
                tiles.append(to_uint8(images))
        picture = grid(np.concatenate(tiles), columns=len(PREVIEW_SEEDS) * len(PREVIEW_SIGMAS), pad=2)
        return save_png(picture, path, force=force)
