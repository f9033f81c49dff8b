"""Per-bucket power-law response curves and their weighted log-log fit.

Inside a bucket b the expected totals at treatment level alpha are modelled as

    v_b(alpha) = v_b(1) * alpha**gamma_b        c_b(alpha) = c_b(1) * alpha**eta_b

where v_b(1) and c_b(1) are bucket totals at the reference level (mean per row times the
bucket's row count). Diminishing returns need 0 < gamma_b < eta_b.
"""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int

from ._statistics import SufficientStatistics

ADMISSIBLE = 0
"""Fit status: 0 < gamma < eta and positive reference totals."""
TOO_FEW_LEVELS = 1
"""Fit status: fewer than two treatment levels with rows and positive mean value and cost."""
NON_POSITIVE_GAMMA = 2
"""Fit status: value does not increase with the treatment (gamma <= 0)."""
NO_DIMINISHING_RETURNS = 3
"""Fit status: value grows at least as fast as cost (gamma >= eta)."""
NON_POSITIVE_REFERENCE = 4
"""Fit status: a reference total v_b(1) or c_b(1) is not positive and finite."""

FIT_STATUS_MESSAGES = {
    ADMISSIBLE: "admissible",
    TOO_FEW_LEVELS: "fewer than two treatment levels with rows and positive mean value and cost",
    NON_POSITIVE_GAMMA: "value elasticity gamma <= 0: value does not rise with the treatment",
    NO_DIMINISHING_RETURNS: "gamma >= eta: no diminishing returns of value in cost",
    NON_POSITIVE_REFERENCE: "reference value or cost is not positive and finite",
}


def classify_fit(
    value_ref: ArrayLike, cost_ref: ArrayLike, gamma: ArrayLike, eta: ArrayLike
) -> Int[Array, "..."]:
    """Return the fit status code per bucket from its parameters (TOO_FEW_LEVELS is set by the fit)."""
    value_ref, cost_ref, gamma, eta = (jnp.asarray(a) for a in (value_ref, cost_ref, gamma, eta))
    finite = jnp.isfinite(value_ref) & jnp.isfinite(cost_ref) & jnp.isfinite(gamma) & jnp.isfinite(eta)
    positive_ref = (value_ref > 0) & (cost_ref > 0) & finite
    status = jnp.where(gamma >= eta, NO_DIMINISHING_RETURNS, ADMISSIBLE)
    status = jnp.where(gamma <= 0, NON_POSITIVE_GAMMA, status)
    status = jnp.where(positive_ref, status, NON_POSITIVE_REFERENCE)
    return status.astype(jnp.int32)


class PowerLaw(eqx.Module):
    """Power-law value and cost curves of a batch of buckets.

    Attributes:
        value_ref: v_b(1), the bucket's total value at the reference level, shape (...,).
        cost_ref: c_b(1), the bucket's total cost at the reference level, shape (...,).
        gamma: value elasticity gamma_b, shape (...,).
        eta: cost elasticity eta_b, shape (...,).
        status: fit status code per bucket (module constants ADMISSIBLE, TOO_FEW_LEVELS, ...).

    Build one from known parameters with `PowerLaw(value_ref, cost_ref, gamma, eta)`; the status
    is then derived from the parameters. `fit_power_law` estimates one from data.
    """

    value_ref: Float[Array, "..."]
    cost_ref: Float[Array, "..."]
    gamma: Float[Array, "..."]
    eta: Float[Array, "..."]
    status: Int[Array, "..."]

    def __init__(self, value_ref, cost_ref, gamma, eta, status=None):
        self.value_ref = jnp.asarray(value_ref)
        self.cost_ref = jnp.asarray(cost_ref)
        self.gamma = jnp.asarray(gamma)
        self.eta = jnp.asarray(eta)
        if status is None:
            status = classify_fit(self.value_ref, self.cost_ref, self.gamma, self.eta)
        self.status = jnp.asarray(status)

    def result_dtype(self, *others: ArrayLike) -> jnp.dtype:
        """Return the floating dtype that computations on these parameters and `others` use."""
        return jnp.result_type(self.value_ref, self.cost_ref, self.gamma, self.eta, *others, 0.0)

    def parameters(self, dtype: jnp.dtype) -> tuple[Array, Array, Array, Array]:
        """Return (value_ref, cost_ref, gamma, eta) as arrays of `dtype`."""
        return tuple(jnp.asarray(a, dtype) for a in (self.value_ref, self.cost_ref, self.gamma, self.eta))

    @property
    def admissible(self) -> Array:
        """True where 0 < gamma < eta and both reference totals are positive."""
        return self.status == ADMISSIBLE

    @property
    def mcuv_ref(self) -> Array:
        """Marginal cost per unit value at the reference, mCUV_b(1) = (eta / gamma) * c_b(1) / v_b(1)."""
        return (self.eta / self.gamma) * self.cost_ref / self.value_ref

    def value(self, alpha: ArrayLike) -> Array:
        """Expected total value v_b(alpha) = v_b(1) * alpha**gamma_b."""
        return self.value_ref * jnp.asarray(alpha) ** self.gamma

    def cost(self, alpha: ArrayLike) -> Array:
        """Expected total cost c_b(alpha) = c_b(1) * alpha**eta_b."""
        return self.cost_ref * jnp.asarray(alpha) ** self.eta


def fit_power_law(
    statistics: SufficientStatistics,
    level_values: Float[ArrayLike, "level"],
    *,
    weighting: Literal["count", "equal"] = "count",
    min_count: float = 1.0,
) -> PowerLaw:
    """Fit value and cost power laws per bucket by weighted least squares on log means.

    For each level k with at least `min_count` rows and positive mean value and mean cost,
    x_k = log(alpha_k), y_k = log(sum_value_k / count_k) and z_k = log(sum_cost_k / count_k).
    With weights w_k (the row count, or 1 under `weighting="equal"`) and weighted means
    x_bar, y_bar, z_bar:

        gamma = sum w (x - x_bar)(y - y_bar) / sum w (x - x_bar)**2
        eta   = sum w (x - x_bar)(z - z_bar) / sum w (x - x_bar)**2
        v(1)  = n * exp(y_bar - gamma * x_bar)      c(1) = n * exp(z_bar - eta * x_bar)

    where n is the bucket's row count over all levels, so v(1) and c(1) are bucket totals at the
    reference level. Means rather than sums enter the regression because arms differ in size.

    A bucket with fewer than two usable levels gets status TOO_FEW_LEVELS, gamma = eta = 0 and
    its observed totals as reference totals; other inadmissible fits keep their estimates and get
    the status that explains why. No NaN is produced for empty or degenerate buckets.

    Args:
        statistics: per-level tables of shape (..., L).
        level_values: treatment value of each level, shape (L,), positive.
        weighting: "count" weights levels by their rows, "equal" weights usable levels equally.
        min_count: the minimum rows (or summed weights) that make a level usable.

    Returns:
        PowerLaw with arrays of the leading shape (...,). Pure and jit/vmap-able.
    """
    dtype = jnp.result_type(statistics.count, statistics.sum_value, statistics.sum_cost, 0.0)
    count = jnp.asarray(statistics.count, dtype)
    sum_value = jnp.asarray(statistics.sum_value, dtype)
    sum_cost = jnp.asarray(statistics.sum_cost, dtype)
    log_level = jnp.log(jnp.asarray(level_values, dtype=dtype))

    usable = (count >= min_count) & (count > 0) & (sum_value > 0) & (sum_cost > 0)
    safe_count = jnp.where(usable, count, 1.0)
    log_mean_value = jnp.log(jnp.where(usable, sum_value, 1.0) / safe_count)
    log_mean_cost = jnp.log(jnp.where(usable, sum_cost, 1.0) / safe_count)

    if weighting == "count":
        weight = jnp.where(usable, count, 0.0)
    elif weighting == "equal":
        weight = usable.astype(count.dtype)
    else:
        raise ValueError(f"weighting must be 'count' or 'equal', got {weighting!r}")

    n_usable = usable.sum(axis=-1)
    total_weight = weight.sum(axis=-1)
    safe_total = jnp.where(total_weight > 0, total_weight, 1.0)

    def weighted_mean(a):
        return (weight * a).sum(axis=-1) / safe_total

    x_bar = weighted_mean(log_level)
    x_centered = log_level - x_bar[..., None]
    sxx = weighted_mean(x_centered**2)
    enough = (n_usable >= 2) & (sxx > 0)
    safe_sxx = jnp.where(enough, sxx, 1.0)

    def slope_and_intercept(y):
        y_bar = weighted_mean(y)
        slope = weighted_mean(x_centered * (y - y_bar[..., None])) / safe_sxx
        return slope, y_bar - slope * x_bar

    gamma, log_value_mean_ref = slope_and_intercept(log_mean_value)
    eta, log_cost_mean_ref = slope_and_intercept(log_mean_cost)

    n_rows = count.sum(axis=-1)
    value_ref = jnp.where(enough, n_rows * jnp.exp(log_value_mean_ref), sum_value.sum(axis=-1))
    cost_ref = jnp.where(enough, n_rows * jnp.exp(log_cost_mean_ref), sum_cost.sum(axis=-1))
    gamma = jnp.where(enough, gamma, 0.0)
    eta = jnp.where(enough, eta, 0.0)

    status = jnp.where(enough, classify_fit(value_ref, cost_ref, gamma, eta), TOO_FEW_LEVELS)
    return PowerLaw(value_ref, cost_ref, gamma, eta, status.astype(jnp.int32))
