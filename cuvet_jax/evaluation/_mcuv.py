"""The mCUV-equalization evaluation: levels learned on one split, power laws re-fitted on another."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._allocation import equalize
from .._power_law import PowerLaw, fit_power_law
from .._statistics import SufficientStatistics


class Uplift(NamedTuple):
    """Relative uplifts of a policy over the reference treatment, with the totals behind them.

    dv = V(policy) / V(reference) - 1 and dc = C(policy) / C(reference) - 1; a good policy has
    dv as large as possible and dc <= 0.

    Attributes:
        dv, dc: relative uplifts in value and cost, scalars.
        value, cost: V(policy), C(policy) on the evaluation rows, scalars.
        value_ref, cost_ref: V(reference), C(reference) on the evaluation rows, scalars.
        alpha: the treatment level per bucket that was evaluated, (B,).
    """

    dv: Float[Array, ""]
    dc: Float[Array, ""]
    value: Float[Array, ""]
    cost: Float[Array, ""]
    value_ref: Float[Array, ""]
    cost_ref: Float[Array, ""]
    alpha: Float[Array, "bucket"]


def uplift_at(alpha: Float[ArrayLike, "bucket"], power_law: PowerLaw) -> Uplift:
    """Evaluate levels alpha_b with power laws: V = sum_b v_b(1) alpha_b**gamma_b against sum_b v_b(1), same for cost.

    The power laws may carry leading batch axes (..., B), for example bootstrap resamples; sums run
    over the last (bucket) axis.
    """
    alpha = jnp.asarray(alpha)
    value = power_law.value(alpha).sum(axis=-1)
    cost = power_law.cost(alpha).sum(axis=-1)
    value_ref = power_law.value_ref.sum(axis=-1)
    cost_ref = power_law.cost_ref.sum(axis=-1)
    return Uplift(value / value_ref - 1, cost / cost_ref - 1, value, cost, value_ref, cost_ref, alpha)


def mcuv_evaluation(
    train: SufficientStatistics,
    evaluation: SufficientStatistics,
    level_values: Float[ArrayLike, "level"],
    bounds: tuple[float, float] | None = None,
    *,
    alpha: Float[ArrayLike, "bucket"] | None = None,
    weighting: str = "count",
) -> Uplift:
    """Evaluate a partition by mCUV equalization.

    The levels alpha_b* come from `equalize` on the power laws fitted to the training statistics,
    with the training reference cost sum_b c_b(1) as the budget (or are passed as `alpha`, for
    example a fitted tree's leaf levels). Power laws re-fitted per bucket on the evaluation
    statistics then give dv = sum_b v_b(alpha_b*) / sum_b v_b(1) - 1 and the same for cost.

    Args:
        train: per-bucket, per-level statistics of the training split, arrays of shape (B, L).
        evaluation: the same for the evaluation split, (B, L).
        level_values: treatment value of each level, (L,).
        bounds: (alpha_min, alpha_max), or None for the unclipped allocation.
        alpha: optional levels per bucket to evaluate instead of solving on `train`.
        weighting: level weighting of the power-law fits.
    """
    if alpha is None:
        with jax.enable_x64(True):
            fitted = fit_power_law(train, level_values, weighting=weighting)
            alpha = equalize(fitted, fitted.cost_ref.sum(), bounds).alpha
    with jax.enable_x64(True):
        refitted = fit_power_law(evaluation, level_values, weighting=weighting)
        return uplift_at(alpha, refitted)


def evaluate_mcuv(model, X, alpha, value, cost) -> Uplift:
    """Evaluate a fitted CUVETree by mCUV equalization on rows it was not necessarily fitted on.

    The model's leaf levels alpha_b* are kept. Power laws re-fitted per leaf on the given rows,
    with the model's treatment levels and weighting, give dv and dc as in `uplift_at`.
    """
    statistics = model.leaf_statistics(X, alpha, value, cost)
    with jax.enable_x64(True):
        refitted = fit_power_law(statistics, model.levels_.values, weighting=model.weighting)
        return uplift_at(model.leaf_alpha_, refitted)
