"""The one-feature synthetic example on which heterogeneity-based splitting picks the wrong threshold.

Rows have x ~ U(0, 1) and a randomized treatment alpha in {1, 1.5}. Two thresholds, 0.1 and 0.5, cut
x into three buckets whose mean outcomes follow power laws

    E[v | x in b, alpha] = v_b * alpha**gamma_b        E[c | x in b, alpha] = c_b * alpha**eta_b

with (v_b, c_b, gamma_b, eta_b) = (6.5, 0.4, 1, 1.5), (1.63, 0.1, 1, 1.5) and (1.19, 0.1, 1, 1.5).
The first two buckets have the same marginal cost per unit value at the reference,
mCUV_b(1) = (eta_b / gamma_b) * c_b / v_b = 0.092, so the only threshold that changes the optimal
allocation is 0.5. The first bucket's effects are much larger, so a criterion that rewards
heterogeneous effects prefers 0.1.

Noise model: each observed outcome is its mean times an independent Gamma(k, 1/k) factor (mean 1,
coefficient of variation 1/sqrt(k)), so outcomes stay positive and conditional means are exact.
"""

from __future__ import annotations

import numpy as np

from ._experiment_data import ExperimentData

THRESHOLDS = (0.1, 0.5)
"""Bucket boundaries on x."""

BUCKET_PARAMETERS = np.array(
    [
        # mean value at alpha=1, mean cost at alpha=1, gamma, eta
        [6.5, 0.4, 1.0, 1.5],
        [1.63, 0.1, 1.0, 1.5],
        [1.19, 0.1, 1.0, 1.5],
    ]
)
"""Per-bucket power laws of the example, one row per bucket, in per-row means."""

LEVELS = (1.0, 1.5)
"""Randomized treatment levels, drawn with equal probability."""


def make_threshold_example(
    n_rows: int = 300_000,
    *,
    seed: int = 0,
    noise_shape: float = 4.0,
) -> ExperimentData:
    """Draw rows of the three-bucket threshold example.

    Args:
        n_rows: number of rows.
        seed: seed of the numpy random generator.
        noise_shape: shape k of the multiplicative Gamma(k, 1/k) noise on each outcome; larger is
            less noisy (coefficient of variation 1/sqrt(k)). Use `numpy.inf` for noise-free outcomes.

    Returns:
        ExperimentData with one feature `x`, and `extra["bucket"]` holding the true bucket (0, 1, 2)
        of each row.
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be at least 1, got {n_rows}")
    if not noise_shape > 0:
        raise ValueError(f"noise_shape must be positive (or numpy.inf for no noise), got {noise_shape}")

    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=n_rows)
    alpha = rng.choice(np.asarray(LEVELS), size=n_rows)
    bucket = np.searchsorted(np.asarray(THRESHOLDS), x, side="right")

    value_ref, cost_ref, gamma, eta = BUCKET_PARAMETERS[bucket].T
    mean_value = value_ref * alpha**gamma
    mean_cost = cost_ref * alpha**eta
    if np.isinf(noise_shape):
        value, cost = mean_value, mean_cost
    else:
        value = mean_value * rng.gamma(noise_shape, 1.0 / noise_shape, size=n_rows)
        cost = mean_cost * rng.gamma(noise_shape, 1.0 / noise_shape, size=n_rows)

    return ExperimentData(
        X=x[:, None],
        alpha=alpha,
        value=value,
        cost=cost,
        feature_names=("x",),
        extra={"bucket": bucket},
        description=f"threshold example: {n_rows} rows, seed {seed}, Gamma noise shape {noise_shape}",
    )
