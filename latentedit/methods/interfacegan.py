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
    OptionError,
    VectorMethod,
    conditional_direction,
    option,
    options_dict,
    vector_edit,
)

if TYPE_CHECKING:
    import torch

    from latentedit.api import Backend, DiscoverRequest, Edit, Progress


@dataclass
class InterFaceGANOptions:
    samples: int = option(10_000, "Latents to sample and label (--samples overrides).")
    ratio: float = option(0.02, "Fraction kept at each end of the score ranking as positives / negatives.")
    split: float = option(0.7, "Fraction of the kept samples used to train the SVM (the rest validates).")
    space: str = option("w", "Latent space of the boundary: z, w or w+.")
    condition: list[str] = option([], "Attributes to keep unchanged (conditional manipulation), e.g. glasses,beard.")
    C: float = option(1.0, "SVM regularisation (scikit-learn's C).")

    def validate(self) -> None:
        if self.space not in ("z", "w", "w+"):
            raise OptionError(f"Option space={self.space!r}: expected z, w or w+.")
        if not 0 < self.ratio <= 0.5:
            raise OptionError(f"Option ratio={self.ratio}: expected a fraction in (0, 0.5].")
        if not 0 < self.split < 1:
            raise OptionError(f"Option split={self.split}: expected a fraction in (0, 1).")
        if self.samples < 20:
            raise OptionError(f"Option samples={self.samples}: need at least 20.")


def train_boundary(
    latents: torch.Tensor, scores: torch.Tensor, ratio: float, split: float, C: float, seed: int
) -> tuple[torch.Tensor, dict[str, float]]:
    """The unit normal of a linear SVM separating top from bottom scores, and its accuracies.

    As the reference implementation: positives and negatives are the `ratio` highest and
    lowest scores; the remaining samples are labelled by the midpoint of the extreme scores.
    """
    import numpy as np
    import torch
    from sklearn.svm import SVC

    flat = latents.reshape(latents.shape[0], -1).double().numpy()
    values = scores.double().numpy()
    order = np.argsort(values)[::-1]
    keep = max(2, int(len(order) * ratio))
    positives, negatives, rest = order[:keep], order[-keep:], order[keep:-keep]
    if values[positives].min() <= values[negatives].max():
        raise LatentEditError(
            "The labels do not separate: the top and bottom scores overlap. Check the attribute or labels."
        )
    rng = np.random.default_rng(seed)
    chosen = np.concatenate([positives, negatives])
    labels = np.concatenate([np.ones(keep), np.zeros(keep)])
    shuffle = rng.permutation(len(chosen))
    chosen, labels = chosen[shuffle], labels[shuffle]
    cut = max(2, int(len(chosen) * split))
    train_x, train_y = flat[chosen[:cut]], labels[:cut]
    if len(set(train_y.tolist())) < 2:
        raise LatentEditError("Too few samples to train a boundary; raise --samples or -o ratio.")
    svm = SVC(kernel="linear", C=C).fit(train_x, train_y)
    metrics = {"train_accuracy": float(svm.score(train_x, train_y)), "positives": int(keep), "negatives": int(keep)}
    if cut < len(chosen):
        metrics["validation_accuracy"] = float(svm.score(flat[chosen[cut:]], labels[cut:]))
    if len(rest):
        midpoint = (values[order[0]] + values[order[-1]]) / 2
        metrics["remaining_accuracy"] = float(svm.score(flat[rest], (values[rest] >= midpoint).astype(float)))
    normal = torch.tensor(svm.coef_, dtype=torch.float32).reshape(latents.shape[1:])
    return normal / normal.norm(), metrics


class InterFaceGAN(VectorMethod):
    name: ClassVar[str] = "interfacegan"
    summary: ClassVar[str] = (
        "Linear SVM boundary on scored samples, conditional by projection; "
        "edits add to the boundary distance (the original sets it)."
    )
    space: ClassVar[str] = "w"
    Options: ClassVar[type] = InterFaceGANOptions
    inputs: ClassVar[tuple[str, ...]] = ("attr", "samples", "labels", "orthogonal_to")

    def discover(self, backend: Backend, request: DiscoverRequest, options: Any, progress: Progress) -> Edit:
        if request.labels is None:
            request.require(self.name, "attr")
        count = request.samples or options.samples
        if request.labels is not None:
            latents, scores, provenance = self._labelled_latents(backend, request, options, progress)
            if options.condition:
                raise LatentEditError(
                    "-o condition needs the backend's scorer; with --labels use --orthogonal-to EDIT."
                )
            condition_normals: list[torch.Tensor] = []
        else:
            from latentedit.api import check_attribute, sample, scorer_for

            scorer = scorer_for(backend)
            for attribute in [request.attr, *options.condition]:
                check_attribute(scorer, attribute)
            samples = sample(backend, count, request.seed, scorer, progress)
            latents, scores = samples.latents(options.space), samples.scores[request.attr]
            condition_normals = [
                train_boundary(latents, samples.scores[name], options.ratio, options.split, options.C, request.seed)[0]
                for name in options.condition
            ]
            provenance = {"samples": count, "seed": request.seed, "labels": f"scorer:{backend.name}"}
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
        import torch

        from latentedit.api import invert_files, read_label_table

        table = read_label_table(request.labels)
        seed_scores, image_scores = table.scores(table.column_for(request.attr))
        parts = []
        if table.seeds:
            with torch.inference_mode():
                z = backend.z_for_seeds(table.seeds)
                codes = z if options.space == "z" else backend.mapping(z)
            parts.append(codes.cpu() if options.space != "w" else codes[:, 0].cpu())
        if table.images:
            if options.space == "z":
                raise LatentEditError(
                    "Images cannot be labelled in Z (inversion gives W+ codes); use -o space=w or w+."
                )
            ws = torch.cat([inv.ws for inv in invert_files(backend, table.images, progress=progress)])
            parts.append(ws.mean(dim=1) if options.space == "w" else ws)
        scores = seed_scores + image_scores
        provenance = table.provenance()
        return torch.cat(parts), torch.tensor(scores), provenance
