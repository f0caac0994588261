"""`world check`: the embedded world's quality numbers, measured on fresh held-out samples.

Scorers and segmenter against exact renderer labels; the generator against the renderer,
both read by the scorer (attribute rates, means and spreads, confidence, Fréchet distance in
the scorer's feature space next to its rendered-vs-rendered floor); linear separability of
scorer labels in W; and byte-determinism of generated PNGs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from latentedit.progress import Progress, no_progress
from latentedit.world import scoring
from latentedit.world.attributes import ATTRIBUTES
from latentedit.world.heldout import evaluate_scorer, evaluate_segmenter, heldout_seeds, rendered_batch

GENERATION_SEED = 7_000_000


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (as FID, other features).

    tr(sqrt(A B)) is the sum of the square roots of A B's eigenvalues, which are real and
    non-negative for covariance matrices (up to rounding, clipped at 0).
    """
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root_trace = np.sqrt(np.clip(np.linalg.eigvals(cov_a @ cov_b).real, 0, None)).sum()
    return float(np.square(mu_a - mu_b).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * root_trace)


def generated_images(
    backend: Any, count: int, seed: int = GENERATION_SEED, batch: int = 200
) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, ws) for `count` samples of one seeded stream."""
    images, codes = [], []
    with torch.inference_mode():
        z = backend.sample_z(count, seed)
        for chunk in z.split(batch):
            ws = backend.mapping(chunk)
            codes.append(ws[:, 0].cpu())
            images.append(backend.synthesize(ws).cpu())
    return torch.cat(images), torch.cat(codes)


def rendered_images(count: int, offset: int) -> torch.Tensor:
    return torch.cat([rendered_batch(heldout_seeds(min(500, count - s), offset + s))[0] for s in range(0, count, 500)])


def attribute_statistics(scores: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """Rate and confidence (binary), mean and std (continuous), the mix of each categorical
    attribute (rate per category, confidence of the likeliest), and for cyclic ones the mean
    resultant length (0 for a uniform spread, 1 when every sample has the same value)."""
    import math

    stats: dict[str, dict[str, float]] = {}
    for name in scoring.BINARY:
        p = scores[name]
        stats[name] = {"rate": float((p > 0.5).float().mean()), "confidence": float(torch.maximum(p, 1 - p).mean())}
    for name in scoring.CATEGORICAL:
        categories = ATTRIBUTES[name].categories
        probabilities = torch.stack([scores[f"{name}={category}"] for category in categories], dim=1)
        likeliest = probabilities.argmax(dim=1)
        stats[name] = {
            category: float((likeliest == index).float().mean()) for index, category in enumerate(categories)
        }
        stats[name]["confidence"] = float(probabilities.max(dim=1).values.mean())
    for name in scoring.CONTINUOUS:
        if name in scoring.CYCLIC:
            angle = scores[name] * 2 * math.pi
            stats[name] = {"resultant": float(torch.hypot(angle.cos().mean(), angle.sin().mean()))}
        else:
            stats[name] = {"mean": float(scores[name].mean()), "std": float(scores[name].std())}
    return stats


def separability(ws: torch.Tensor, scores: dict[str, torch.Tensor], seed: int = 0) -> dict[str, float | None]:
    """Held-out accuracy (20%) of a linear SVM in W predicting each binary scorer label.

    None where the generator (nearly) never or always shows the attribute: no SVM to fit.
    """
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    result: dict[str, float | None] = {}
    features = StandardScaler().fit_transform(ws.numpy())
    for name in scoring.BINARY:
        labels = (scores[name] > 0.5).numpy().astype(int)
        if min(labels.sum(), len(labels) - labels.sum()) < 5:
            result[name] = None
            continue
        train_x, test_x, train_y, test_y = train_test_split(
            features, labels, test_size=0.2, random_state=seed, stratify=labels
        )
        svm = LinearSVC(C=1.0, max_iter=5000).fit(train_x, train_y)
        result[name] = float(svm.score(test_x, test_y))
    return result


def run_check(
    backend: Any,
    scorer: Any,
    segmenter: Any,
    samples: int = 2000,
    svm_samples: int = 5000,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Every number of issue 3's quality bars, as one JSON-able report."""
    report: dict[str, Any] = {"backend": backend.name, "samples": samples, "svm_samples": svm_samples}
    progress(0, 6)
    report["scorer_heldout"] = evaluate_scorer(scorer.model, samples)
    progress(1, 6)
    report["segmenter_heldout"] = evaluate_segmenter(segmenter.model, samples) if segmenter is not None else None
    progress(2, 6)
    rendered = rendered_images(samples, 0)
    floor_set = rendered_images(samples, samples)
    generated, _ = generated_images(backend, samples)
    progress(3, 6)
    rendered_scores, generated_scores = scorer.score(rendered), scorer.score(generated)
    report["rendered"] = attribute_statistics(rendered_scores)
    report["generated"] = attribute_statistics(generated_scores)
    report["frechet"] = {
        "generated_vs_rendered": frechet_distance(
            scorer.features(generated).numpy(), scorer.features(rendered).numpy()
        ),
        "rendered_vs_rendered": frechet_distance(scorer.features(floor_set).numpy(), scorer.features(rendered).numpy()),
    }
    progress(4, 6)
    svm_images, svm_ws = generated_images(backend, svm_samples, seed=GENERATION_SEED + 1)
    report["separability_w"] = separability(svm_ws, scorer.score(svm_images))
    progress(5, 6)
    report["deterministic"] = _deterministic(backend)
    report["bars"] = bars(report)
    progress(6, 6)
    return report


def realism_gaps(rendered: dict[str, dict[str, float]], generated: dict[str, dict[str, float]]) -> dict[str, float]:
    """How far generated statistics stray from rendered ones (`attribute_statistics` of each),
    worst attribute first: what the realism bars hold to a limit and snapshot logs record."""
    continuous = [name for name, stats in rendered.items() if "mean" in stats]
    ratios = [generated[n]["std"] / rendered[n]["std"] for n in continuous]
    return {
        "binary_rate_gap": max(abs(generated[n]["rate"] - rendered[n]["rate"]) for n in scoring.BINARY),
        "mean_gap": max(abs(generated[n]["mean"] - rendered[n]["mean"]) for n in continuous),
        "std_ratio_min": min(ratios),
        "std_gap": max(abs(ratio - 1) for ratio in ratios),
        "confidence_drop": max(rendered[n]["confidence"] - generated[n]["confidence"] for n in scoring.BINARY),
    }


def snapshot_quality(backend: Any, scorer: Any, count: int = 500) -> dict[str, Any]:
    """A quick read of a GAN snapshot against the renderer (`count` images each): the gaps the
    realism bars measure and the Fréchet distance, to pick snapshots by numbers during training.
    """
    rendered = rendered_images(count, 0)
    generated, ws = generated_images(backend, count)
    generated_scores = scorer.score(generated)
    rendered_stats = attribute_statistics(scorer.score(rendered))
    generated_stats = attribute_statistics(generated_scores)
    separable = separability(ws, generated_scores)
    return {
        "samples": count,
        **realism_gaps(rendered_stats, generated_stats),
        "frechet": frechet_distance(scorer.features(generated).numpy(), scorer.features(rendered).numpy()),
        "separability_w": separable,
        "generated": generated_stats,
        "rendered": rendered_stats,
    }


def _deterministic(backend: Any) -> bool:
    """`latentedit generate`'s promise: seed 1 drawn with seed 0, and again alone, same bytes."""
    from latentedit.sampling import seed_images

    return bool(np.array_equal(seed_images(backend, [0, 1])[1], seed_images(backend, [1])[0]))


def bars(report: dict[str, Any]) -> dict[str, bool]:
    """Pass/fail of each quality bar of issue 3."""
    heldout = report["scorer_heldout"]
    gaps = realism_gaps(report["rendered"], report["generated"])
    result = {
        "scorer_binary_accuracy>=0.97": all(heldout[n] >= 0.97 for n in scoring.BINARY),
        "scorer_continuous_r2>=0.95": all(heldout[n] >= 0.95 for n in scoring.CONTINUOUS),
        "segmenter_mean_iou>=0.85": bool(report["segmenter_heldout"])
        and report["segmenter_heldout"]["mean_iou"] >= 0.85,
        "binary_rates_within_0.05": gaps["binary_rate_gap"] <= 0.05,
        "continuous_means_within_0.15": gaps["mean_gap"] <= 0.15,
        "continuous_stds_within_25%": gaps["std_gap"] <= 0.25,
        "confidence_within_0.05": gaps["confidence_drop"] <= 0.05,
        "separability_w>=0.90": all(value is not None and value >= 0.90 for value in report["separability_w"].values()),
        "deterministic": report["deterministic"],
    }
    return result
