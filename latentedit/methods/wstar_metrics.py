"""The W* paper's Table 1: linear separability and DCI disentanglement, in W+ and in W*.

* Separability: per attribute, a linear SVM trained on 80% of the codes and scored on the
  other 20%; min / max / mean accuracy over attributes.
* DCI (Eastwood & Williams, ICLR 2018): one Lasso regressor (alpha 0.05, scikit-learn) per
  factor on standardised codes and factors; the importance matrix R holds |coefficients|
  (code dimensions x factors). Disentanglement D = sum_i rho_i (1 - H_K(P_i.)), with P_i. row i
  of R normalised and rho_i its share of R; completeness C = mean_j (1 - H_D(P.j)), column j
  normalised; entropies in base K (factors) and D (code dimensions). Informativeness I is, as
  the paper reports it, the classification error: the Lasso prediction thresholded at 0.5,
  averaged over factors, on a held-out 20%.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from latentedit.api import EVALUATION_SEED, LatentEditError, Progress, no_progress

if TYPE_CHECKING:
    import numpy as np

    from latentedit.api import Backend, Edit

SPACES = {"w+": ("w+",), "w*": ("w*",), "wstar": ("w*",), "both": ("w+", "w*")}


def dci(codes: np.ndarray, factors: np.ndarray, alpha: float = 0.05, split: float = 0.8, seed: int = 0) -> dict:
    """D, C and I of codes ``[N, D]`` for binary factors ``[N, K]`` (see the module docstring)."""
    import numpy as np
    from sklearn.linear_model import Lasso

    count, size = codes.shape
    factor_count = factors.shape[1]
    order = np.random.default_rng(seed).permutation(count)
    cut = int(count * split)
    if cut < 2 or cut >= count:
        raise LatentEditError(f"DCI needs codes on both sides of the {split:.0%} split; got {count}.")
    train, test = order[:cut], order[cut:]
    mean, std = codes[train].mean(0), codes[train].std(0)
    std[std == 0] = 1.0
    inputs = (codes - mean) / std
    importance = np.zeros((size, factor_count))
    errors = []
    for j in range(factor_count):
        target = factors[:, j].astype(np.float64)
        centre, scale = target[train].mean(), target[train].std() or 1.0
        lasso = Lasso(alpha=alpha, max_iter=5000).fit(inputs[train], (target[train] - centre) / scale)
        importance[:, j] = np.abs(lasso.coef_)
        predicted = lasso.predict(inputs[test]) * scale + centre
        errors.append(float(((predicted > 0.5) != (target[test] > 0.5)).mean()))
    return {
        "disentanglement": _disentanglement(importance),
        "completeness": _completeness(importance),
        "informativeness": float(np.mean(errors)),
    }


def _normalised_entropy(probabilities: np.ndarray, base: int) -> np.ndarray:
    """Entropy of each row of a stochastic matrix, in log base `base` (0 where base is 1)."""
    import numpy as np

    if base < 2:
        return np.zeros(probabilities.shape[0])
    logs = np.log(np.where(probabilities > 0, probabilities, 1.0))
    return -(probabilities * logs).sum(1) / np.log(base)


def _disentanglement(importance: np.ndarray) -> float:
    totals = importance.sum(1)
    used = totals > 0
    if not used.any():
        return 0.0
    rows = importance[used] / totals[used, None]
    scores = 1 - _normalised_entropy(rows, importance.shape[1])
    return float((scores * totals[used] / totals.sum()).sum())


def _completeness(importance: np.ndarray) -> float:
    import numpy as np

    totals = importance.sum(0)
    scores = np.zeros(importance.shape[1])
    used = totals > 0
    columns = (importance[:, used] / totals[used]).T
    scores[used] = 1 - _normalised_entropy(columns, importance.shape[0])
    return float(scores.mean())


def separability(
    backend: Backend,
    edit: Edit | None,
    scorer: Any,
    space: str = "both",
    samples: int = 15_000,
    dci_samples: int = 2000,
    attrs: list[str] | None = None,
    split: float = 0.8,
    C: float = 0.001,
    alpha: float = 0.05,
    seed: int = EVALUATION_SEED,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Table 1 of the W* paper on sampled codes, for ``space`` w+, w* (or wstar) or both.

    Labels are the scorer's, binarised as at discovery (the edit's recorded thresholds when an
    edit is given); W* needs the W* edit whose flow defines the space. Both spaces use the same
    samples, splits and labels, so their numbers compare directly.
    """
    import torch

    from latentedit.api import sample
    from latentedit.methods.wstar import (
        binary_labels,
        fit_directions,
        load_flow,
        map_codes,
        scorer_attributes,
        with_phase,
    )

    if space not in SPACES:
        raise LatentEditError(f"Unknown space {space!r} for separability; expected w+, wstar or both.")
    if not 0 < split < 1:
        raise LatentEditError(f"Split {split}: expected a fraction in (0, 1).")
    flow = None
    if "w*" in SPACES[space]:
        if edit is None:
            raise LatentEditError("Separability in W* needs a W* edit (--dir NAME of an edit made by wstar).")
        edit.check_backend(backend)
        flow = load_flow(edit, backend)
    names = scorer_attributes(scorer, attrs or (edit.params.get("attributes", []) if edit is not None else []))
    recorded = {
        name: edit.metrics[name]["threshold"]
        for name in names
        if edit is not None and isinstance(edit.metrics.get(name), dict) and "threshold" in edit.metrics[name]
    }
    drawn = sample(backend, samples, seed, scorer, with_phase(progress, "sample"))
    labels, label_report = binary_labels(drawn.scores, names, tuple(getattr(scorer, "binary", ())), recorded)
    wplus = drawn.ws.reshape(samples, -1).float()
    order = torch.randperm(samples, generator=torch.Generator().manual_seed(seed))
    cut = int(samples * split)
    train, test = order[:cut], order[cut:]
    rates = labels[train].mean(0)
    if len(test) == 0 or bool(((rates == 0) | (rates == 1)).any()):
        raise LatentEditError(f"Too few samples ({samples}) for an {split:.0%} split with both labels in training.")
    result: dict[str, Any] = {"samples": samples, "dci_samples": min(dci_samples, samples), "labels": label_report}
    spaces = {}
    for name in SPACES[space]:
        codes = wplus if name == "w+" else map_codes(flow, wplus)
        _, accuracies = fit_directions(codes, labels, train, test, C, with_phase(progress, f"svm {name}"))
        progress(0, 1, phase=f"dci {name}")
        subset = slice(0, min(dci_samples, samples))
        table = dci(codes[subset].double().numpy(), labels[subset].numpy(), alpha=alpha, split=split, seed=seed)
        spaces[name] = {
            "accuracy": dict(zip(names, accuracies, strict=True)),
            "min_accuracy": min(accuracies),
            "max_accuracy": max(accuracies),
            "mean_accuracy": sum(accuracies) / len(accuracies),
            **table,
        }
    result["spaces"] = spaces
    return result


def separability_analysis(
    backend: Backend,
    edits: list[Edit],
    *,
    space: str | None = None,
    samples: int = 15_000,
    progress: Progress = no_progress,
    **_: Any,
) -> dict[str, Any]:
    """`evaluate --separability`: per-attribute SVM accuracy and DCI in W+ and/or one W* edit's space."""
    from latentedit.api import scorer_for

    space = space or "both"
    if len(edits) > 1 or (space != "w+" and (not edits or edits[0].method != "wstar")):
        raise LatentEditError("--separability takes at most one --dir, a W* edit (needed unless --space w+).")
    return separability(
        backend, edits[0] if edits else None, scorer_for(backend), space, samples=samples, progress=progress
    )
