"""Bayesian optimisation of FEditNet's per-layer loss weights (the paper's adaptive loss weights).

A Gaussian process models objective(weights); each next candidate maximises expected
improvement over random candidates in the box ``[low, high]^L``. The objective is whatever the
caller scores a candidate with (FEditNet: a short run re-scored by the backend's scorer).
The first two trials are the uniform weights (the untuned baseline) and one random point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

BOUNDS = (0.0, 2.0)
"""Per-layer weight range of the original code's `suggest_weights`."""
CANDIDATES = 2000
"""Random candidates scored by expected improvement per suggestion."""
XI = 0.01
"""Exploration margin of expected improvement."""


@dataclass
class Tuning:
    """Every trial's weights and objective, and the best of them."""

    trials: list[dict[str, Any]] = field(default_factory=list)

    @property
    def best(self) -> dict[str, Any]:
        return max(self.trials, key=lambda trial: trial["objective"])


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, xi: float = XI) -> np.ndarray:
    """``E[max(f - best - xi, 0)]`` under ``f ~ N(mean, std²)`` (maximisation)."""
    import numpy as np
    from scipy.stats import norm

    std = np.maximum(std, 1e-12)
    gain = mean - best - xi
    z = gain / std
    return gain * norm.cdf(z) + std * norm.pdf(z)


def suggest_weights(
    observed: np.ndarray, objectives: np.ndarray, rng: np.random.Generator, bounds: tuple[float, float] = BOUNDS
) -> np.ndarray:
    """The candidate in the box with the highest expected improvement under a GP fit to the trials."""
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(1.0, (0.1, 10.0)) + WhiteKernel(1e-2, (1e-6, 1.0))
    process = GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=int(rng.integers(2**31)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        process.fit(observed, objectives)
    candidates = rng.uniform(bounds[0], bounds[1], size=(CANDIDATES, observed.shape[1]))
    mean, std = process.predict(candidates, return_std=True)
    return candidates[int(np.argmax(expected_improvement(mean, std, float(objectives.max()))))]


def tune_layer_weights(
    objective: Callable[[list[float]], float],
    layers: int,
    trials: int,
    seed: int,
    bounds: tuple[float, float] = BOUNDS,
) -> Tuning:
    """Run `trials` evaluations of `objective` (higher is better), choosing weights by GP + EI."""
    import numpy as np

    rng = np.random.default_rng(seed)
    tuning = Tuning()
    for index in range(trials):
        if index == 0:
            weights = np.ones(layers)
        elif index == 1:
            weights = rng.uniform(bounds[0], bounds[1], size=layers)
        else:
            observed = np.array([trial["weights"] for trial in tuning.trials])
            objectives = np.array([trial["objective"] for trial in tuning.trials])
            weights = suggest_weights(observed, objectives, rng, bounds)
        chosen = [round(float(value), 4) for value in weights]
        tuning.trials.append({"weights": chosen, "objective": float(objective(chosen))})
    return tuning
