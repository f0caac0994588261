"""Pair-direction: a direction from inverted image pairs ("same face, attribute changed").

Each pair (x, x') is inverted into W+; its direction is the normalised difference
d_i = (w' - w) / ‖w' - w‖, and the edit is the normalised average of the d_i over pairs:
one pair already finds the semantic, more pairs average away what the pairs do not share
(the paper's Fig. 9). The pairwise cosine agreement between the d_i is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from latentedit.api import LatentEditError, OptionError, VectorMethod, option, options_dict, vector_edit

if TYPE_CHECKING:
    import torch

    from latentedit.api import Backend, DiscoverRequest, Edit, Progress


STEPS_WITHOUT_ENCODER = 100
"""Inversion steps from w_avg where a backend has no encoder (its encoder-only codes are all equal)."""


@dataclass
class PairOptions:
    space: str = option("w+", "w+ keeps a direction per layer; w averages the layers into one vector.")
    steps: int | None = option(
        None,
        "Inversion optimisation steps per image; 0: encoder only; none: 0 where the backend has an "
        "encoder (and domain is 0), else 100. Optimisation fits each image's own pixels and shrinks the "
        "part of a pair's difference that edits the attribute (docs/results.md, pair_steps_probe).",
    )
    domain: float = option(
        0.0, "In-domain regulariser weight for the inversions (see `latentedit invert`); needs an encoder."
    )
    calibration_samples: int = option(2000, "Sampled latents that calibrate --strength.")
    average: str = option(
        "unit",
        "What is averaged over pairs. unit: each pair's normalised difference (the paper), so every pair "
        "counts the same; raw: the differences as they are (the authors' code), so pairs whose codes lie "
        "further apart count more.",
    )

    def validate(self) -> None:
        if self.space not in ("w", "w+"):
            raise OptionError(f"Option space={self.space!r}: expected w or w+.")
        if self.calibration_samples < 2:
            raise OptionError(
                f"Option calibration_samples={self.calibration_samples}: need at least 2 to measure a spread."
            )
        if self.steps is not None and self.steps < 0:
            raise OptionError(f"Option steps={self.steps}: expected 0 or more inversion steps (or none).")
        if self.domain < 0:
            raise OptionError(f"Option domain={self.domain}: the regulariser weight cannot be negative.")
        if self.average not in ("unit", "raw"):
            raise OptionError(f"Option average={self.average!r}: expected unit or raw.")

    def inversion_steps(self, backend: Backend) -> int:
        """`steps`, or its default for this backend: encoder-only codes where it has an encoder,
        unless the in-domain regulariser asks for an optimisation to act on."""
        if self.steps is not None:
            return self.steps
        return 0 if backend.has_encoder and self.domain == 0 else STEPS_WITHOUT_ENCODER


def pair_directions(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """Unit differences d_i = (w'_i - w_i) / ‖w'_i - w_i‖, one row per pair."""
    difference = (after - before).reshape(before.shape[0], -1)
    norms = difference.norm(dim=1, keepdim=True)
    if bool((norms == 0).any()):
        raise LatentEditError("A pair inverted to identical codes: its two images do not differ.")
    return (difference / norms).reshape(before.shape)


def agreement(directions: torch.Tensor) -> float:
    """Mean cosine between the single-pair directions (1 = all pairs agree)."""
    flat = directions.reshape(directions.shape[0], -1)
    if flat.shape[0] < 2:
        return 1.0
    cosines = flat @ flat.T
    count = flat.shape[0]
    return float((cosines.sum() - cosines.diagonal().sum()) / (count * (count - 1)))


class PairDirection(VectorMethod):
    name: ClassVar[str] = "pair"
    summary: ClassVar[str] = "Normalised difference of inverted image pairs, averaged over pairs."
    space: ClassVar[str] = "w+"
    Options: ClassVar[type] = PairOptions
    inputs: ClassVar[tuple[str, ...]] = ("pairs", "attr")

    def discover(self, backend: Backend, request: DiscoverRequest, options: Any, progress: Progress) -> Edit:
        import torch

        from latentedit.api import InversionOptions, invert_files, sample, sha256_file

        pairs = request.pairs
        if not pairs:
            raise LatentEditError("Method 'pair' needs --pair BEFORE AFTER (repeatable) or --pairs-dir DIR.")
        files = [path for pair in pairs for path in pair]
        steps = options.inversion_steps(backend)
        inversion = InversionOptions(steps=steps, domain=options.domain)
        inversion.validate()
        inversions = invert_files(backend, files, inversion, progress)
        codes = torch.cat([inversion.ws for inversion in inversions])
        before, after = codes[0::2], codes[1::2]
        if options.space == "w":
            before, after = before.mean(dim=1), after.mean(dim=1)
        singles = pair_directions(before, after)
        direction = (singles if options.average == "unit" else after - before).mean(dim=0)
        calibration = sample(backend, options.calibration_samples, request.seed)
        metrics = {
            "pairs": len(pairs),
            "pair_agreement": agreement(singles),
            "inversion_psnr": sum(v for inv in inversions for v in inv.psnr) / len(inversions),
        }
        return vector_edit(
            method=self.name,
            name=request.name,
            space=options.space,
            direction=direction,
            backend=backend,
            calibration_latents=calibration.latents(options.space),
            attribute=request.attr,
            params={**options_dict(options), "steps": steps},
            metrics=metrics,
            provenance={"pairs": [[str(a), str(b)] for a, b in pairs], "sha256": [sha256_file(path) for path in files]},
            calibration={"samples": options.calibration_samples, "seed": request.seed},
        )
