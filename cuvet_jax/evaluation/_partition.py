"""Evaluate any partition the three ways: mCUV equalization, ILP and LP over observed levels.

Treatment levels are chosen per bucket on a training split and scored on an evaluation split:

- "mcuv": alpha_b* from `equalize` on the training power laws at the training reference cost;
  power laws re-fitted on the evaluation split score them.
- "ilp": one observed level per bucket, the multiple-choice knapsack on the training tables
  V[b, k] = mean value of level k in bucket b times the bucket's rows (C likewise), with the
  training reference cost sum_b C[b, ref] as budget; the evaluation split's tables score it.
- "lp": the same with assignment probabilities p[b, k].

In every case dv = V(policy) / V(reference) - 1 and dc = C(policy) / C(reference) - 1 on the
evaluation split, where the reference gives every bucket the reference level.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._allocation import equalize
from .._power_law import fit_power_law
from .._statistics import SufficientStatistics
from ._knapsack import solve_mckp_ilp, solve_mckp_lp
from ._mcuv import uplift_at

METHODS = ("mcuv", "ilp", "lp")


class PartitionEvaluation(NamedTuple):
    """Uplifts of the levels chosen for a partition, with what was chosen.

    Attributes:
        method: "mcuv", "ilp" or "lp".
        dv, dc: relative uplifts in value and cost on the evaluation split.
        value, cost, value_ref, cost_ref: the totals behind them (evaluation split).
        budget: the training budget the levels were chosen for (training reference cost).
        alpha: level per bucket, (B,); for "lp" the expected level sum_k p[b, k] alpha_k.
        probabilities: assignment probabilities (B, L); one-hot for "ilp", None for "mcuv".
    """

    method: str
    dv: float
    dc: float
    value: float
    cost: float
    value_ref: float
    cost_ref: float
    budget: float
    alpha: np.ndarray
    probabilities: np.ndarray | None


@functools.partial(jax.jit, static_argnames=("weighting",))
def _mcuv_levels(train, level_values, bounds, weighting):
    fit = fit_power_law(train, level_values, weighting=weighting)
    budget = fit.cost_ref.sum()
    return equalize(fit, budget, bounds).alpha, budget


@functools.partial(jax.jit, static_argnames=("weighting",))
def _mcuv_scores(evaluation, level_values, alpha, weighting):
    uplift = uplift_at(alpha, fit_power_law(evaluation, level_values, weighting=weighting))
    return uplift.value, uplift.cost, uplift.value_ref, uplift.cost_ref


def reference_level_index(level_values: np.ndarray, reference: float = 1.0) -> int:
    """Return the index of the level closest to the reference treatment (exactly 1.0 when observed)."""
    return int(np.argmin(np.abs(np.log(np.asarray(level_values, dtype=np.float64) / reference))))


def _as_jax(statistics: SufficientStatistics) -> SufficientStatistics:
    return SufficientStatistics(*(jnp.asarray(a, dtype=jnp.float64) for a in (statistics.count, statistics.sum_value, statistics.sum_cost)))


def level_tables(statistics: SufficientStatistics) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per-bucket totals at each level: V[b, k] = n_b * sum_value[b, k] / count[b, k], C likewise.

    Cells without rows are unavailable (mask False, value and cost 0). Arrays have shape (..., B, L).
    """
    count = np.asarray(statistics.count, dtype=np.float64)
    available = count > 0
    rows = count.sum(axis=-1, keepdims=True)
    safe = np.where(available, count, 1.0)
    value = np.where(available, np.asarray(statistics.sum_value) / safe * rows, 0.0)
    cost = np.where(available, np.asarray(statistics.sum_cost) / safe * rows, 0.0)
    return value, cost, available


def _filled_tables(statistics: SufficientStatistics, level_values: np.ndarray, weighting: str):
    """Level tables of an evaluation split, with empty cells filled from the bucket's power-law fit."""
    value, cost, available = level_tables(statistics)
    if available.all():
        return value, cost
    with jax.enable_x64(True):
        fit = fit_power_law(statistics, level_values, weighting=weighting)
        fitted_value = np.asarray(fit.value_ref)[..., None] * level_values ** np.asarray(fit.gamma)[..., None]
        fitted_cost = np.asarray(fit.cost_ref)[..., None] * level_values ** np.asarray(fit.eta)[..., None]
    # NOTE: a level never observed in a bucket of the evaluation split is scored by that bucket's
    # power-law fit there. With too few levels that fit is flat at the bucket's observed totals.
    return np.where(available, value, fitted_value), np.where(available, cost, fitted_cost)


def choose_levels(
    train: SufficientStatistics,
    level_values: np.ndarray,
    method: str,
    bounds: tuple[float, float] | None = None,
    *,
    weighting: str = "count",
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Choose levels per bucket on training statistics of shape (B, L).

    Returns:
        (alpha (B,), probabilities (B, L) or None, budget): the budget is the training reference
        cost, sum_b c_b(1) of the power-law fits for "mcuv", sum_b C[b, ref] of the tables otherwise.
    """
    level_values = np.asarray(level_values, dtype=np.float64)
    if method == "mcuv":
        with jax.enable_x64(True):
            alpha, budget = _mcuv_levels(_as_jax(train), jnp.asarray(level_values), bounds, weighting)
            return np.asarray(alpha), None, float(budget)
    if method not in ("ilp", "lp"):
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    value, cost, available = level_tables(train)
    reference = reference_level_index(level_values)
    missing_reference = ~available[:, reference]
    if missing_reference.any():
        raise ValueError(
            f"buckets {np.flatnonzero(missing_reference).tolist()} have no training rows at the reference "
            f"level {level_values[reference]}; use fewer buckets or more rows per level"
        )
    budget = float(cost[:, reference].sum())
    if method == "ilp":
        solution = solve_mckp_ilp(value, cost, budget, available)
        probabilities = np.asarray(solution.probabilities, dtype=np.float64)
    else:
        with jax.enable_x64(True):
            solution = solve_mckp_lp(jnp.asarray(value), jnp.asarray(cost), budget, jnp.asarray(available))
            probabilities = np.asarray(solution.probabilities, dtype=np.float64)
    return probabilities @ level_values, probabilities, budget


def score_levels(
    evaluation: SufficientStatistics,
    level_values: np.ndarray,
    alpha: np.ndarray,
    probabilities: np.ndarray | None,
    *,
    weighting: str = "count",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Score chosen levels on evaluation statistics of shape (..., B, L).

    Returns arrays of the leading shape (...): V(policy), C(policy), V(reference), C(reference).
    """
    level_values = np.asarray(level_values, dtype=np.float64)
    if probabilities is None:
        with jax.enable_x64(True):
            scores = _mcuv_scores(_as_jax(evaluation), jnp.asarray(level_values), jnp.asarray(alpha), weighting)
            return tuple(np.asarray(a) for a in scores)
    value, cost = _filled_tables(evaluation, level_values, weighting)
    reference = reference_level_index(level_values)
    return (
        (probabilities * value).sum(axis=(-1, -2)),
        (probabilities * cost).sum(axis=(-1, -2)),
        value[..., reference].sum(axis=-1),
        cost[..., reference].sum(axis=-1),
    )


def evaluate_partition(
    train: SufficientStatistics,
    evaluation: SufficientStatistics,
    level_values: np.ndarray,
    method: str = "mcuv",
    bounds: tuple[float, float] | None = None,
    *,
    weighting: str = "count",
) -> PartitionEvaluation:
    """Choose levels on `train` and score them on `evaluation` (both (B, L) statistics of one partition)."""
    alpha, probabilities, budget = choose_levels(train, level_values, method, bounds, weighting=weighting)
    value, cost, value_ref, cost_ref = (
        float(a) for a in score_levels(evaluation, level_values, alpha, probabilities, weighting=weighting)
    )
    return PartitionEvaluation(
        method=method,
        dv=value / value_ref - 1,
        dc=cost / cost_ref - 1,
        value=value,
        cost=cost,
        value_ref=value_ref,
        cost_ref=cost_ref,
        budget=budget,
        alpha=alpha,
        probabilities=probabilities,
    )
