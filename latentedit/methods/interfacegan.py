"""InterFaceGAN (Shen et al., CVPR 2020): a linear SVM boundary in latent space.

Sample latents, label them (the backend's scorer or a CSV), keep the `ratio` most and least
confident as positives and negatives (the paper's 2%), fit a linear SVM on a 70% split, and use
the unit normal as the edit. Conditional manipulation (Sec. 2.2) removes the projection onto
the boundaries of other attributes, so moving along the result leaves them unchanged.

Applying adds to a code's distance from the boundary, as the paper writes the edit (z + αn):
w + s·u·n with u the calibrated strength unit, so each code keeps its own offset. The authors'
code (`linear_interpolate`) instead sets the signed distance n·w of a Z or W code to the requested
value, so every edited image lands at the same distance (W+ codes it shifts, as here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from latentedit.api import (
    LatentEditError,
    LatentEditWarning,
    OptionError,
    VectorMethod,
    conditional_direction,
    option,
    options_dict,
    vector_edit,
)

if TYPE_CHECKING:
    import numpy as np
    import torch

    from latentedit.api import Backend, DiscoverRequest, Edit, InversionOptions, Progress


@dataclass
class InterFaceGANOptions:
    samples: int = option(10_000, "Latents to sample and label (--samples overrides).")
    ratio: float = option(0.02, "Fraction kept at each end of the score ranking as positives / negatives.")
    split: float = option(0.7, "Fraction of the kept samples used to train the SVM (the rest validates).")
    space: str = option("w", "Latent space of the boundary: z, w or w+.")
    condition: list[str] = option([], "Attributes to keep unchanged (conditional manipulation), e.g. glasses,beard.")
    C: float = option(1.0, "SVM regularisation (scikit-learn's C).")
    steps: int | None = option(
        None, "Inversion steps for photos (--labels rows that are images, --positives/--negatives); none: 300."
    )

    def validate(self) -> None:
        if self.space not in ("z", "w", "w+"):
            raise OptionError(f"Option space={self.space!r}: expected z, w or w+.")
        if not 0 < self.ratio <= 0.5:
            raise OptionError(f"Option ratio={self.ratio}: expected a fraction in (0, 0.5].")
        if not 0 < self.split < 1:
            raise OptionError(f"Option split={self.split}: expected a fraction in (0, 1).")
        if self.samples < 20:
            raise OptionError(f"Option samples={self.samples}: need at least 20.")
        if self.steps is not None and self.steps < 0:
            raise OptionError(f"Option steps={self.steps}: expected 0 or more inversion steps.")
        if not self.C > 0:
            raise OptionError(f"Option C={self.C}: the SVM's regularisation must be a positive number.")


MIN_PER_CLASS = 10
"""Fewest positives and fewest negatives a boundary is fitted on: fewer gave chance-level edits."""
NEAR_CHANCE = 0.6
"""Validation accuracy at or below this is reported as a warning: the edit is probably noise."""


def train_boundary(
    latents: torch.Tensor, scores: torch.Tensor, ratio: float, split: float, C: float, seed: int
) -> tuple[torch.Tensor, dict[str, float]]:
    """The unit normal of a linear SVM separating top from bottom scores, and its accuracies.

    As the reference implementation: positives and negatives are the `ratio` highest and
    lowest scores; the remaining samples are labelled by the midpoint of the extreme scores.
    """
    import numpy as np

    values = scores.double().numpy()
    order = np.argsort(values)[::-1]
    keep = max(2, int(len(order) * ratio))
    if keep < MIN_PER_CLASS:
        needed = MIN_PER_CLASS / len(order)
        hint = f"-o ratio={needed:.3g} or more" if needed <= 0.5 else f"at least {2 * MIN_PER_CLASS} labelled rows"
        raise LatentEditError(
            f"ratio {ratio:g} of {len(order)} samples keeps {keep} positives and {keep} negatives; InterFaceGAN "
            f"needs at least {MIN_PER_CLASS} of each: use {hint}."
        )
    positives, negatives, rest = order[:keep], order[-keep:], order[keep:-keep]
    if values[positives].min() <= values[negatives].max():
        raise LatentEditError(
            "The labels do not separate: the top and bottom scores overlap. Check the attribute or labels."
        )
    chosen = np.concatenate([positives, negatives])
    labels = np.concatenate([np.ones(keep), np.zeros(keep)])
    normal, metrics, svm = fit_boundary(latents, chosen, labels, split, C, seed)
    if len(rest):
        flat = latents.reshape(latents.shape[0], -1).double().numpy()
        midpoint = (values[order[0]] + values[order[-1]]) / 2
        metrics["remaining_accuracy"] = float(svm.score(flat[rest], (values[rest] >= midpoint).astype(float)))
    return normal, metrics


def fit_boundary(
    latents: torch.Tensor, rows: np.ndarray, labels: np.ndarray, split: float, C: float, seed: int
) -> tuple[torch.Tensor, dict[str, float], Any]:
    """A linear SVM on the given rows (0/1 labels): shuffled, `split` trains and the rest validates.

    Returns the unit normal, the accuracies, and the fitted SVM. A near-chance validation accuracy
    is a `LatentEditWarning`: the edit is saved, but it is probably noise.
    """
    import warnings

    import numpy as np
    import torch
    from sklearn.svm import SVC

    counts = [int((labels == value).sum()) for value in (1, 0)]
    if min(counts) < MIN_PER_CLASS:
        raise LatentEditError(
            f"{counts[0]} positives and {counts[1]} negatives: InterFaceGAN needs at least {MIN_PER_CLASS} of each."
        )
    flat = latents.reshape(latents.shape[0], -1).double().numpy()
    shuffle = np.random.default_rng(seed).permutation(len(rows))
    rows, labels = rows[shuffle], labels[shuffle]
    cut = max(2, int(len(rows) * split))
    train_x, train_y = flat[rows[:cut]], labels[:cut]
    if len(set(train_y.tolist())) < 2:
        raise LatentEditError("Too few samples to train a boundary; raise --samples or -o ratio.")
    svm = SVC(kernel="linear", C=C).fit(train_x, train_y)
    metrics = {"train_accuracy": float(svm.score(train_x, train_y)), "positives": counts[0], "negatives": counts[1]}
    if cut < len(rows):
        metrics["validation_accuracy"] = accuracy = float(svm.score(flat[rows[cut:]], labels[cut:]))
        if accuracy <= NEAR_CHANCE:
            warnings.warn(
                LatentEditWarning(
                    f"validation accuracy {accuracy:.2f} is near chance (0.5): the boundary barely separates "
                    "the classes, so the edit is probably noise; give more or cleaner labels."
                ),
                stacklevel=2,
            )
    normal = torch.tensor(svm.coef_, dtype=torch.float32).reshape(latents.shape[1:])
    return normal / normal.norm(), metrics, svm


class InterFaceGAN(VectorMethod):
    name: ClassVar[str] = "interfacegan"
    summary: ClassVar[str] = (
        "Linear SVM boundary on scored samples, conditional by projection; "
        "edits add to the boundary distance (the original sets it)."
    )
    space: ClassVar[str] = "w"
    Options: ClassVar[type] = InterFaceGANOptions
    inputs: ClassVar[tuple[str, ...]] = ("attr", "samples", "labels", "positives", "negatives", "orthogonal_to")

    def discover(self, backend: Backend, request: DiscoverRequest, options: Any, progress: Progress) -> Edit:
        given = [flag for flag, value in (("--labels", request.labels), ("--positives", request.positives)) if value]
        if len(given) > 1:
            raise LatentEditError("Give labels one way: --labels FILE.csv, or --positives DIR with --negatives DIR.")
        if (request.positives is None) != (request.negatives is None):
            raise LatentEditError(
                "--positives and --negatives go together: one folder with the attribute, one without."
            )
        if not given:
            request.require(self.name, "attr")
        count = request.samples or options.samples
        calibration = None  # labelled latents or photos: not a reproducible sample
        if given:
            if options.condition:
                raise LatentEditError(
                    f"-o condition needs the backend's scorer; with {given[0]} use --orthogonal-to EDIT."
                )
            condition_normals: list[torch.Tensor] = []
        if request.positives is not None:
            latents, normal, metrics, provenance = self._folder_boundary(backend, request, options, progress)
        elif request.labels is not None:
            latents, scores, provenance = self._labelled_latents(backend, request, options, progress)
        else:
            from latentedit.api import check_attribute, scorer_for

            scorer = scorer_for(backend, fix="give labels with --labels FILE.csv, or --positives DIR --negatives DIR")
            for attribute in [request.attr, *options.condition]:
                check_attribute(scorer, attribute)
            samples = request.sample(backend, count, scorer, progress)
            latents, scores = samples.latents(options.space), samples.scores[request.attr]
            condition_normals = [
                train_boundary(latents, samples.scores[name], options.ratio, options.split, options.C, request.seed)[0]
                for name in options.condition
            ]
            provenance = {"samples": count, "seed": request.seed, "labels": f"scorer:{backend.name}"}
            calibration = {"samples": count, "seed": request.seed}
        if request.positives is None:
            normal, metrics = train_boundary(latents, scores, options.ratio, options.split, options.C, request.seed)
        conditions = condition_normals + [self._other_direction(other, normal) for other in request.orthogonal_to]
        if conditions:
            metrics["cosine_to_primal"] = float((conditional_direction(normal, conditions) * normal).sum())
            normal = conditional_direction(normal, conditions)
        return vector_edit(
            method=self.name,
            name=request.name,
            space=options.space,
            direction=normal,
            backend=backend,
            calibration_latents=latents,
            attribute=request.attr,
            params={**options_dict(options), "orthogonal_to": [edit.name for edit in request.orthogonal_to]},
            metrics=metrics,
            provenance=provenance,
            calibration=calibration,
        )

    @staticmethod
    def _other_direction(other: Edit, normal: torch.Tensor) -> torch.Tensor:
        direction = other.tensors.get("direction")
        if direction is None or direction.shape != normal.shape:
            raise LatentEditError(f"--orthogonal-to {other.name}: it is not a direction in this edit's space.")
        return direction

    def _labelled_latents(
        self, backend: Backend, request: DiscoverRequest, options: Any, progress: Progress
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
        """Latents and scores for the rows of a labels CSV (seeds sampled, images inverted)."""
        from latentedit.api import labelled_codes, read_label_table

        table = read_label_table(request.labels)
        column = table.column_for(request.attr)
        latents, scores = labelled_codes(backend, table, [column], options.space, progress, _inversion(options))
        return latents, scores[column], table.provenance()

    def _folder_boundary(
        self, backend: Backend, request: DiscoverRequest, options: Any, progress: Progress
    ) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any], dict[str, Any]]:
        """A boundary between two folders of photos, every image used (no ratio: the user chose them)."""
        import numpy as np
        import torch

        from latentedit.api import folder_codes, list_images, sha256_file

        inversion = _inversion(options)
        positive = folder_codes(backend, request.positives, options.space, progress, "--positives", inversion)
        negative = folder_codes(backend, request.negatives, options.space, progress, "--negatives", inversion)
        latents = torch.cat([positive, negative])
        labels = np.concatenate([np.ones(len(positive)), np.zeros(len(negative))])
        rows = np.arange(len(latents))
        normal, metrics, _ = fit_boundary(latents, rows, labels, options.split, options.C, request.seed)
        files = [*list_images(request.positives), *list_images(request.negatives)]
        provenance = {
            "positives": str(request.positives),
            "negatives": str(request.negatives),
            "sha256": [sha256_file(path) for path in files],
        }
        return latents, normal, metrics, provenance


def _inversion(options: InterFaceGANOptions) -> InversionOptions:
    """How photos are inverted: the inversion defaults, with `steps` when given."""
    from latentedit.api import InversionOptions

    return InversionOptions() if options.steps is None else InversionOptions(steps=options.steps)
