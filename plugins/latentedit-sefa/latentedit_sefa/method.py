"""SeFa: the top eigenvectors of the stacked, row-normalised style-affine weights.

Which affines are stacked follows the authors' code (genforce/sefa, `factorize_weight`), which the
paper leaves open: one per chosen W+ index, the conv layer that reads it, or the last ToRGB for
the final index, which no conv reads. StyleGAN2's intermediate ToRGB layers read the same index as
the next block's first conv and are left out; `-o affines=all` stacks them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from latentedit.api import OptionError, VectorMethod, option, options_dict, parse_layers, sample, vector_edit

if TYPE_CHECKING:
    import torch

    from latentedit.api import Backend, DiscoverRequest, Edit, Progress


AFFINES = ("one", "all")
"""Values of `-o affines`: one affine per chosen W+ index (the authors' code), or every reader."""


@dataclass
class SeFaOptions:
    layers: str = option("all", "W+ indices whose style layers are factorised and edited: 'all', '0-3' or '0,1,4'.")
    component: int = option(0, "Which eigenvector to keep (0 = largest eigenvalue).")
    samples: int = option(2000, "Latents sampled only to calibrate --strength (SeFa itself needs none).")
    affines: str = option(
        "one",
        "Style affines stacked. one: one per chosen W+ index, the conv layer that reads it (the last ToRGB "
        "for the final index), as the authors' code does; all: every style layer reading a chosen index, "
        "intermediate ToRGBs included.",
    )

    def validate(self) -> None:
        if self.affines not in AFFINES:
            raise OptionError(f"Option affines={self.affines!r}: expected one or all.")
        if self.component < 0:
            raise OptionError(f"Option component={self.component}: must be 0 or more.")
        if self.samples < 2:
            raise OptionError(f"Option samples={self.samples}: need at least 2 to calibrate strength.")


def stacked_layers(names: list[str], ws_indices: list[int], chosen: list[int], affines: str) -> list[int]:
    """Positions (in style-layer order) of the affines SeFa stacks for the W+ indices `chosen`.

    "all": every style layer that reads a chosen index. "one": per chosen index, the first
    non-ToRGB layer that reads it, else the first layer that does (genforce/sefa's choice).
    """
    if affines == "all":
        return [position for position, index in enumerate(ws_indices) if index in chosen]
    picked = []
    for index in chosen:
        readers = [position for position, read in enumerate(ws_indices) if read == index]
        convs = [position for position in readers if "torgb" not in names[position]]
        picked.append((convs or readers)[0])
    return sorted(picked)


def factorize(affine_weights: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (descending) and unit eigenvectors (rows) of AᵀA, A the stacked weights.

    Each style channel's weight row is normalised first, as SeFa's reference code does, so
    layers with large gains do not dominate; an all-zero row (an untrained StyleGAN3 input affine
    starts at zero) stays zero instead of becoming NaN.
    """
    import torch

    rows = [weight / weight.norm(dim=1, keepdim=True).clamp_min(1e-30) for weight in affine_weights]
    stacked = torch.cat(rows, dim=0).double()
    eigenvalues, eigenvectors = torch.linalg.eigh(stacked.T @ stacked)
    order = torch.argsort(eigenvalues, descending=True)
    return eigenvalues[order].float(), eigenvectors[:, order].T.float()


class SeFa(VectorMethod):
    name: ClassVar[str] = "sefa"
    summary: ClassVar[str] = "Closed-form factorization (SeFa): unsupervised directions from the style-affine weights."
    space: ClassVar[str] = "w+"
    Options: ClassVar[type] = SeFaOptions
    inputs: ClassVar[tuple[str, ...]] = ()

    def discover(self, backend: Backend, request: DiscoverRequest, options: Any, progress: Progress) -> Edit:
        import torch

        layers = parse_layers(options.layers, backend.num_ws)
        names = backend.style_layers
        stacked = stacked_layers(names, backend.style_ws_indices, layers, options.affines)
        affine_weights = backend.affine_weights()
        eigenvalues, eigenvectors = factorize([affine_weights[position].detach().cpu() for position in stacked])
        if options.component >= eigenvectors.shape[0]:
            raise OptionError(
                f"Option component={options.component}: the backend has {eigenvectors.shape[0]} components."
            )
        progress(1, 2, components=int(eigenvectors.shape[0]))
        direction = torch.zeros(backend.num_ws, backend.w_dim)
        direction[layers] = eigenvectors[options.component]
        ws = sample(backend, options.samples, request.seed).latents("w+")
        progress(2, 2)
        share = float(eigenvalues[options.component] / eigenvalues.sum())
        return vector_edit(
            method=self.name,
            name=request.name,
            space="w+",
            direction=direction,
            backend=backend,
            calibration_latents=ws,
            calibration={"samples": options.samples, "seed": request.seed},
            attribute=request.attr,
            params=options_dict(options),
            metrics={"eigenvalue": float(eigenvalues[options.component]), "eigenvalue_share": share},
            provenance={"layers": layers, "style_layers": [names[i] for i in stacked], "seed": request.seed},
        )
