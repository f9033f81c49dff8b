"""Bootstrap intervals of an evaluation, resampling rows through weighted sufficient statistics."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._statistics import SufficientStatistics, accumulate_statistics

Z_95 = 1.96
"""Half-width multiplier of the reported interval: mean +- 1.96 standard deviations."""


class Interval(NamedTuple):
    """Bootstrap mean and half-width (1.96 standard deviations) of one metric, with the samples."""

    mean: float
    half_width: float
    samples: np.ndarray


def bootstrap_statistics(
    bucket: np.ndarray,
    level: np.ndarray,
    value: np.ndarray,
    cost: np.ndarray,
    n_buckets: int,
    n_levels: int,
    *,
    n_boot: int = 10,
    seed: int = 0,
    kind: str = "multinomial",
) -> SufficientStatistics:
    """Return per-resample (bucket, level) statistics of shape (n_boot, B, L).

    Each resample gives every row a weight instead of copying rows. "multinomial" weights count n
    draws with replacement (the classical bootstrap). "poisson" weights are independent Poisson(1)
    draws, which can be made chunk by chunk and on separate devices because rows share no draw.

    Args:
        bucket, level: bucket id and level code per row, shape (n,).
        value, cost: outcomes per row, shape (n,).
        n_buckets, n_levels: table sizes B and L.
        n_boot: number of resamples.
        seed: seed of the numpy random generator.
        kind: "multinomial" or "poisson".
    """
    if n_boot < 2:
        raise ValueError(f"n_boot must be at least 2 to estimate a spread, got {n_boot}")
    if kind not in ("multinomial", "poisson"):
        raise ValueError(f"kind must be 'multinomial' or 'poisson', got {kind!r}")
    rng = np.random.default_rng(seed)
    n_rows = len(bucket)
    tables = []
    for _ in range(n_boot):
        if kind == "multinomial":
            weights = np.bincount(rng.integers(0, n_rows, n_rows), minlength=n_rows)
        else:
            weights = rng.poisson(1.0, n_rows)
        tables.append(accumulate_statistics(bucket, level, value, cost, n_buckets, n_levels, weights=weights))
    return SufficientStatistics(
        np.stack([t.count for t in tables]),
        np.stack([t.sum_value for t in tables]),
        np.stack([t.sum_cost for t in tables]),
    )


def summarize(samples: np.ndarray) -> Interval:
    """Return the mean and 1.96 sample standard deviations of bootstrap samples."""
    samples = np.asarray(samples, dtype=np.float64)
    return Interval(float(samples.mean()), float(Z_95 * samples.std(ddof=1)), samples)
