"""Karush-Kuhn-Tucker residuals of a budget allocation across power-law buckets.

The allocation problem over the admissible buckets b, with the other buckets held at their level, is

    maximize  sum_b v_b(alpha_b)   subject to   sum_b c_b(alpha_b) <= C,   alpha_min <= alpha_b <= alpha_max

(or only alpha_b > 0 without bounds), where v_b(alpha) = v_b(1) alpha**gamma_b and
c_b(alpha) = c_b(1) alpha**eta_b. A point is optimal exactly when multipliers lambda >= 0 (budget)
and nu_lo_b, nu_hi_b >= 0 (bounds) exist with

    stationarity               v_b'(alpha_b) - lambda c_b'(alpha_b) + nu_lo_b - nu_hi_b = 0
    primal feasibility         sum_b c_b(alpha_b) <= C,  alpha_min <= alpha_b <= alpha_max
    complementary slackness    lambda (C - sum_b c_b(alpha_b)) = 0,
                               nu_lo_b (alpha_b - alpha_min) = 0,  nu_hi_b (alpha_max - alpha_b) = 0

with v_b'(alpha) = gamma_b v_b(1) alpha**(gamma_b - 1) and c_b'(alpha) = eta_b c_b(1) alpha**(eta_b - 1).
The problem is concave in spend s_b = c_b(alpha_b), so these conditions also certify the global
optimum. `kkt_residuals` infers the multipliers from the allocation alone and reports how far each
condition is from holding, scaled to be free of units.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float

from ._allocation import SOLVED, Allocation
from ._power_law import PowerLaw

DEFAULT_BOUND_RTOL = 1e-10
"""Relative distance to a bound within which a bucket counts as at that bound. The closed form
places clipped buckets at exp(log(bound)), a few ulps from the bound."""


class KKTResiduals(eqx.Module):
    """Multipliers and relative residuals of the optimality conditions of one allocation.

    Multipliers are in the problem's units. Residuals are dimensionless, and each one is 0 at an
    exact optimum. Per-bucket arrays are 0 on held (inadmissible) buckets.

    Attributes:
        budget_multiplier: lambda = 1 / mu in value units per cost unit, scalar, >= 0.
        lower_multiplier: nu_lo_b in value units per unit alpha, shape (B,).
        upper_multiplier: nu_hi_b in value units per unit alpha, shape (B,).
        interior, at_lower, at_upper: which admissible buckets are strictly inside the bounds or
            at a bound, shape (B,) bool.
        stationarity: (v' - lambda c' + nu_lo - nu_hi) / (v' + lambda c') per bucket, shape (B,).
            The multipliers of a bucket at a bound absorb its whole gradient, so the entry is 0
            there and `dual_violation` carries the check.
        budget_violation: max(0, sum_b c_b - C) / C, scalar.
        bound_violation: relative distance outside [alpha_min, alpha_max], or 1 where alpha <= 0
            without bounds, shape (B,).
        dual_violation: negative parts of nu_lo and nu_hi over v' + lambda c', shape (B,).
        budget_slackness: lambda |C - sum_b c_b| / (lambda C), that is |C - sum_b c_b| / C where
            lambda > 0 and 0 where lambda = 0, scalar.
        bound_slackness: (nu_lo (alpha - alpha_min) / alpha_min + nu_hi (alpha_max - alpha) / alpha_max)
            over v' + lambda c', shape (B,).
        price_mismatch: |lambda mu - 1| for an `Allocation` with status SOLVED and at least one
            interior bucket, else 0; scalar.
        total_value, total_cost: sum_b v_b(alpha_b) and sum_b c_b(alpha_b) over all buckets,
            recomputed from alpha, scalars.
        max_residual: the largest of all residuals above, scalar (NaN if any is NaN).
    """

    budget_multiplier: Float[Array, ""]
    lower_multiplier: Float[Array, "bucket"]
    upper_multiplier: Float[Array, "bucket"]
    interior: Bool[Array, "bucket"]
    at_lower: Bool[Array, "bucket"]
    at_upper: Bool[Array, "bucket"]
    stationarity: Float[Array, "bucket"]
    budget_violation: Float[Array, ""]
    bound_violation: Float[Array, "bucket"]
    dual_violation: Float[Array, "bucket"]
    budget_slackness: Float[Array, ""]
    bound_slackness: Float[Array, "bucket"]
    price_mismatch: Float[Array, ""]
    total_value: Float[Array, ""]
    total_cost: Float[Array, ""]
    max_residual: Float[Array, ""]


def kkt_residuals(
    power_law: PowerLaw,
    budget: Float[ArrayLike, ""],
    allocation: Allocation | Float[ArrayLike, "bucket"],
    bounds: tuple[Float[ArrayLike, ""], Float[ArrayLike, ""]] | None = None,
    *,
    bound_rtol: float = DEFAULT_BOUND_RTOL,
) -> KKTResiduals:
    """Measure how far an allocation is from satisfying the KKT conditions of the budget problem.

    Only `alpha` is trusted: costs, values and multipliers are recomputed from it and the power
    laws. The budget multiplier is inferred from the interior admissible buckets as the least
    squares fit of log(v_b') = log(lambda) + log(c_b'), that is

        log lambda = mean over interior b of log r_b,    r_b = v_b'(alpha_b) / c_b'(alpha_b) = 1 / mCUV_b(alpha_b).

    Without interior buckets, lambda is 0 when the budget is slack (C - sum_b c_b > bound_rtol * C),
    and otherwise the geometric midpoint of the interval the bound buckets allow: lambda >= r_b
    for buckets at alpha_min and lambda <= r_b for buckets at alpha_max. A bucket at a bound takes
    the bound multiplier that cancels its stationarity residual, nu_lo = lambda c' - v' at alpha_min
    and nu_hi = v' - lambda c' at alpha_max, whose sign is then the check. Held (inadmissible)
    buckets count only through their cost, which is constant.

    Args:
        power_law: the buckets, arrays of shape (B,).
        budget: the budget C in cost units, scalar, positive.
        allocation: an `Allocation` (its `mu` is then compared with 1 / lambda), or the levels
            alpha of shape (B,).
        bounds: (alpha_min, alpha_max), or None for alpha > 0.
        bound_rtol: relative distance to a bound within which a bucket counts as at that bound.

    Returns:
        KKTResiduals. Pure, jit- and vmap-able.
    """
    if isinstance(allocation, Allocation):
        alpha, mu, status = allocation.alpha, allocation.mu, allocation.status
    else:
        alpha, mu, status = allocation, None, None

    dtype = power_law.result_dtype(budget, alpha)
    alpha = jnp.asarray(alpha, dtype)
    budget = jnp.asarray(budget, dtype)
    value_ref, cost_ref, gamma, eta = power_law.parameters(dtype)
    active = power_law.admissible

    bucket_value = value_ref * alpha**gamma
    bucket_cost = cost_ref * alpha**eta
    total_value = bucket_value.sum()
    total_cost = bucket_cost.sum()

    # Placeholders on held buckets and at alpha <= 0 keep logs finite; masks remove them.
    positive = active & (alpha > 0)
    log_alpha = jnp.log(jnp.where(positive, alpha, 1.0))
    safe_gamma = jnp.where(active, gamma, 0.5)
    safe_eta = jnp.where(active, eta, 1.0)
    log_value_slope = jnp.log(safe_gamma * jnp.where(active, value_ref, 1.0)) + (safe_gamma - 1) * log_alpha
    log_cost_slope = jnp.log(safe_eta * jnp.where(active, cost_ref, 1.0)) + (safe_eta - 1) * log_alpha
    log_ratio = log_value_slope - log_cost_slope  # log r_b = log(v_b' / c_b')

    if bounds is None:
        at_lower = jnp.zeros_like(active)
        at_upper = jnp.zeros_like(active)
        bound_violation = jnp.where(active & ~positive, 1.0, 0.0).astype(dtype)
    else:
        alpha_min = jnp.asarray(bounds[0], dtype)
        alpha_max = jnp.asarray(bounds[1], dtype)
        at_lower = positive & (alpha <= alpha_min * (1 + bound_rtol))
        at_upper = positive & (alpha >= alpha_max * (1 - bound_rtol))
        outside = jnp.maximum(alpha_min - alpha, 0.0) / alpha_min + jnp.maximum(alpha - alpha_max, 0.0) / alpha_max
        bound_violation = jnp.where(active, outside, 0.0)
    interior = positive & ~at_lower & ~at_upper
    # A bucket at both bounds (alpha_min == alpha_max) constrains lambda in neither direction.
    lower_only = at_lower & ~at_upper
    upper_only = at_upper & ~at_lower

    log_lambda = _log_budget_multiplier(
        log_ratio, interior, lower_only, upper_only, slack=budget - total_cost > bound_rtol * budget
    )
    budget_multiplier = jnp.exp(log_lambda)

    # (v' - lambda c') / (v' + lambda c') = tanh((log r - log lambda) / 2), which is 1 for lambda = 0.
    relative_gradient = jnp.where(positive, jnp.tanh(0.5 * (log_ratio - log_lambda)), 0.0)
    value_slope = jnp.where(positive, jnp.exp(log_value_slope), 0.0)
    cost_slope = jnp.where(positive, jnp.exp(log_cost_slope), 0.0)
    gradient_scale = value_slope + budget_multiplier * cost_slope

    both = at_lower & at_upper
    lower_relative = jnp.where(lower_only, -relative_gradient, jnp.where(both, jnp.maximum(-relative_gradient, 0.0), 0.0))
    upper_relative = jnp.where(upper_only, relative_gradient, jnp.where(both, jnp.maximum(relative_gradient, 0.0), 0.0))
    stationarity = jnp.where(interior, relative_gradient, 0.0)
    dual_violation = jnp.maximum(-lower_relative, 0.0) + jnp.maximum(-upper_relative, 0.0)

    if bounds is None:
        bound_slackness = jnp.zeros_like(stationarity)
    else:
        bound_slackness = jnp.abs(lower_relative * (alpha - alpha_min) / alpha_min) + jnp.abs(
            upper_relative * (alpha_max - alpha) / alpha_max
        )

    budget_violation = jnp.maximum(total_cost - budget, 0.0) / budget
    # lambda |C - S| / (lambda C) is the relative budget gap wherever lambda > 0.
    budget_slackness = jnp.where(budget_multiplier > 0, jnp.abs(budget - total_cost) / budget, 0.0)

    if mu is None:
        price_mismatch = jnp.zeros((), dtype)
    else:
        checkable = (status == SOLVED) & interior.any()
        price_mismatch = jnp.where(checkable, jnp.abs(budget_multiplier * jnp.asarray(mu, dtype) - 1.0), 0.0)

    max_residual = jnp.max(
        jnp.stack(
            [
                jnp.max(jnp.abs(stationarity)),
                budget_violation,
                jnp.max(bound_violation),
                jnp.max(dual_violation),
                budget_slackness,
                jnp.max(bound_slackness),
                price_mismatch,
            ]
        )
    )
    return KKTResiduals(
        budget_multiplier=budget_multiplier,
        lower_multiplier=lower_relative * gradient_scale,
        upper_multiplier=upper_relative * gradient_scale,
        interior=interior,
        at_lower=at_lower,
        at_upper=at_upper,
        stationarity=stationarity,
        budget_violation=budget_violation,
        bound_violation=bound_violation,
        dual_violation=dual_violation,
        budget_slackness=budget_slackness,
        bound_slackness=bound_slackness,
        price_mismatch=price_mismatch,
        total_value=total_value,
        total_cost=total_cost,
        max_residual=max_residual,
    )


def _log_budget_multiplier(
    log_ratio: Float[Array, "bucket"],
    interior: Bool[Array, "bucket"],
    lower_only: Bool[Array, "bucket"],
    upper_only: Bool[Array, "bucket"],
    slack: Bool[Array, ""],
) -> Float[Array, ""]:
    """Infer log(lambda) from the buckets' log(v' / c'); -inf stands for lambda = 0."""
    n_interior = interior.sum()
    from_interior = jnp.where(interior, log_ratio, 0.0).sum() / jnp.maximum(n_interior, 1)

    # Without interior buckets: lambda >= r_b at alpha_min and lambda <= r_b at alpha_max.
    has_lower = lower_only.any()
    has_upper = upper_only.any()
    least = jnp.max(jnp.where(lower_only, log_ratio, -jnp.inf))
    most = jnp.min(jnp.where(upper_only, log_ratio, jnp.inf))
    from_bounds = jnp.where(
        has_lower & has_upper,
        0.5 * (jnp.where(has_lower, least, 0.0) + jnp.where(has_upper, most, 0.0)),
        jnp.where(has_lower, least, jnp.where(has_upper, most, -jnp.inf)),
    )
    from_bounds = jnp.where(slack, -jnp.inf, from_bounds)
    return jnp.where(n_interior > 0, from_interior, from_bounds)
