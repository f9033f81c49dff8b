"""Sufficient statistics per bucket and treatment level: row count, sum of value, sum of cost.

The tables add across data shards, chunks and devices, which is what lets the tree scan
histograms, stream files and combine partial results without touching rows twice.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float


class SufficientStatistics(eqx.Module):
    """Row count, sum of value and sum of cost per treatment level, for any batch of buckets.

    Attributes:
        count: rows (or summed row weights) per level, shape (..., level).
        sum_value: sum of the value outcome per level, shape (..., level), value units.
        sum_cost: sum of the cost outcome per level, shape (..., level), cost units.

    The leading axes index buckets, nodes, features or bins; the last axis indexes levels.
    Tables built by `accumulate_statistics` are float64 numpy arrays, because sums over
    millions of rows lose digits in float32.
    """

    count: Float[ArrayLike, "... level"]
    sum_value: Float[ArrayLike, "... level"]
    sum_cost: Float[ArrayLike, "... level"]

    def __add__(self, other: SufficientStatistics) -> SufficientStatistics:
        return SufficientStatistics(
            self.count + other.count,
            self.sum_value + other.sum_value,
            self.sum_cost + other.sum_cost,
        )

    def __sub__(self, other: SufficientStatistics) -> SufficientStatistics:
        return SufficientStatistics(
            self.count - other.count,
            self.sum_value - other.sum_value,
            self.sum_cost - other.sum_cost,
        )

    @property
    def n_rows(self) -> Float[Array, "..."]:
        """Rows per bucket, summed over levels."""
        return self.count.sum(axis=-1)

    def stack(self) -> Float[ArrayLike, "... level 3"]:
        """Return one array with the statistics on a trailing axis (count, sum_value, sum_cost)."""
        xp = jnp if isinstance(self.count, jnp.ndarray) else np
        return xp.stack([self.count, self.sum_value, self.sum_cost], axis=-1)

    @classmethod
    def unstack(cls, table: Float[ArrayLike, "... level 3"]) -> SufficientStatistics:
        """Build statistics from an array whose last axis contains (count, sum_value, sum_cost)."""
        return cls(table[..., 0], table[..., 1], table[..., 2])


def accumulate_statistics(
    bucket: ArrayLike,
    level: ArrayLike,
    value: ArrayLike,
    cost: ArrayLike,
    n_buckets: int,
    n_levels: int,
    weights: ArrayLike | None = None,
) -> SufficientStatistics:
    """Sum rows into a (bucket, level) table of count, value and cost, in float64 numpy.

    count[b, k] = sum_i w_i [bucket_i = b, level_i = k], sum_value[b, k] = sum_i w_i v_i [...],
    sum_cost[b, k] = sum_i w_i c_i [...], with w_i = 1 unless `weights` is given (bootstrap
    resampling passes integer or Poisson weights here instead of copying rows).

    Args:
        bucket: bucket id per row, integers in [0, n_buckets), shape (n,).
        level: treatment level code per row, integers in [0, n_levels), shape (n,).
        value: value outcome per row, shape (n,).
        cost: cost outcome per row, shape (n,).
        n_buckets: number of buckets B.
        n_levels: number of treatment levels L.
        weights: optional non-negative weight per row, shape (n,).

    Returns:
        SufficientStatistics with arrays of shape (B, L).
    """
    bucket = np.asarray(bucket, dtype=np.int64)
    level = np.asarray(level, dtype=np.int64)
    index = bucket * n_levels + level
    size = n_buckets * n_levels
    weights = None if weights is None else np.asarray(weights, dtype=np.float64)
    value = np.asarray(value, dtype=np.float64)
    cost = np.asarray(cost, dtype=np.float64)
    if weights is not None:
        value = value * weights
        cost = cost * weights
    count = np.bincount(index, weights=weights, minlength=size).astype(np.float64)
    sum_value = np.bincount(index, weights=value, minlength=size)
    sum_cost = np.bincount(index, weights=cost, minlength=size)
    shape = (n_buckets, n_levels)
    return SufficientStatistics(count.reshape(shape), sum_value.reshape(shape), sum_cost.reshape(shape))
