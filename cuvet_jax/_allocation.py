"""Budget allocation across buckets by equalizing the marginal cost per unit value.

Maximize sum_b v_b(alpha_b) subject to sum_b c_b(alpha_b) = C with power-law buckets. At the
optimum every bucket's marginal cost per unit value mCUV_b(alpha) = dc_b / dv_b equals one price
mu (the inverse of the budget's Lagrange multiplier), which gives

    alpha_b(mu) = (mu / mCUV_b(1)) ** (1 / (eta_b - gamma_b)),   mCUV_b(1) = (eta_b / gamma_b) c_b(1) / v_b(1)

clipped to [alpha_min, alpha_max] when bounds are given, and mu is the root of the budget equation

    F(mu) = sum_b c_b(1) * alpha_b(mu)**eta_b - C = 0,

which is non-decreasing in mu. The solver bisects log(mu) on
G(log mu) = log(sum_b c_b(alpha_b(mu))) - log(C), which has the same root and stays well scaled.

Buckets whose fit is not admissible (see `PowerLaw.status`) are held at the reference level
alpha = 1 (clipped into the bounds): their cost is taken out of the budget and the admissible
buckets share the rest. A power law with gamma <= 0 or gamma >= eta has no interior optimum, and
the reference level is the one the data support best.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int

from ._bisection import bisect_increasing
from ._power_law import PowerLaw

SOLVED = 0
"""Allocation status: the budget equation was solved."""
INFEASIBLE = 1
"""Allocation status: the budget is outside the spend the bounds allow; every admissible bucket is
at the nearer bound (alpha_min when the budget is too small, alpha_max when too large), or, without
bounds, the held buckets alone exceed the budget and the admissible ones get alpha = 0."""
NO_ADMISSIBLE_BUCKET = 2
"""Allocation status: no bucket has an admissible fit; every bucket is held at the reference."""
INVALID_INPUT = 3
"""Allocation status: the budget is not finite, or the bounds are not 0 < alpha_min <= alpha_max <
inf. Levels, totals and mu are NaN."""

STATUS_MESSAGES = {
    SOLVED: "solved",
    INFEASIBLE: "budget infeasible under the bounds",
    NO_ADMISSIBLE_BUCKET: "no admissible bucket",
    INVALID_INPUT: "invalid budget or bounds",
}

DEFAULT_HALVINGS = 96
"""Bisection halvings on log(mu). The initial bracket spans at most a few hundred in log(mu) for
finite float64 inputs, and 2**-96 of that is below float64 resolution."""


class Allocation(eqx.Module):
    """Treatment levels per bucket and the totals they produce.

    Attributes:
        alpha: treatment level per bucket, shape (B,).
        mu: the equalized marginal cost per unit value (cost units per value unit), scalar.
            Meaningful only when status is SOLVED.
        value: total value sum_b v_b(alpha_b), scalar.
        cost: total cost sum_b c_b(alpha_b), scalar.
        bucket_value: v_b(alpha_b) per bucket, shape (B,).
        bucket_cost: c_b(alpha_b) per bucket, shape (B,).
        status: SOLVED, INFEASIBLE, NO_ADMISSIBLE_BUCKET or INVALID_INPUT (int32 scalar).
    """

    alpha: Float[Array, "bucket"]
    mu: Float[Array, ""]
    value: Float[Array, ""]
    cost: Float[Array, ""]
    bucket_value: Float[Array, "bucket"]
    bucket_cost: Float[Array, "bucket"]
    status: Int[Array, ""]


def _log_alpha(log_mu, log_mcuv, inverse_gap, log_bounds):
    log_alpha = (log_mu - log_mcuv) * inverse_gap
    if log_bounds is not None:
        log_alpha = jnp.clip(log_alpha, log_bounds[0], log_bounds[1])
    return log_alpha


def _log_spend_gap(log_mu, args):
    """G(log mu) = log(sum over admissible b of c_b(alpha_b(mu))) - log(budget for them)."""
    log_cost_ref, log_mcuv, inverse_gap, eta, active, log_bounds, log_budget = args
    log_alpha = _log_alpha(log_mu, log_mcuv, inverse_gap, log_bounds)
    log_spend = jax.nn.logsumexp(jnp.where(active, log_cost_ref + eta * log_alpha, -jnp.inf))
    return log_spend - log_budget


def equalize(
    power_law: PowerLaw,
    budget: Float[ArrayLike, ""],
    bounds: tuple[Float[ArrayLike, ""], Float[ArrayLike, ""]] | None = None,
    *,
    num_halvings: int = DEFAULT_HALVINGS,
) -> Allocation:
    """Allocate a budget across buckets so that every admissible bucket has the same mCUV.

    See the module docstring for the formulas. `mu` comes from `num_halvings` bisection halvings
    on log(mu) inside an analytic bracket and carries the implicit-function-theorem tangent. So
    `jax.grad`, `jax.jvp` and `jax.jacrev` of anything computed from the allocation differentiate
    through the budget equation, with respect to the power-law parameters, budget and bounds.

    Bracket without bounds (B' admissible buckets, budget C' left after held buckets): bucket b
    alone spends C' at log mu_b^hi = log mCUV_b(1) + (1 - gamma_b/eta_b)(log C' - log c_b(1)), so
    F >= 0 at min_b mu_b^hi; each bucket spends at most C'/B' below min_b of the same with
    C'/B', so F <= 0 there. With bounds, every bucket sits at alpha_min below
    min_b mCUV_b(1) alpha_min**(eta_b - gamma_b) and at alpha_max above
    max_b mCUV_b(1) alpha_max**(eta_b - gamma_b).

    Args:
        power_law: fitted or known buckets, arrays of shape (B,).
        budget: total budget C in cost units, scalar, positive.
        bounds: (alpha_min, alpha_max) for the clipped variant, or None for alpha > 0.
        num_halvings: bisection halvings (static).

    Returns:
        Allocation. Pure, jit- and vmap-able; the status reports infeasible budgets instead of
        raising.
    """
    dtype = power_law.result_dtype(budget)
    value_ref, cost_ref, gamma, eta = power_law.parameters(dtype)
    budget = jnp.asarray(budget, dtype)
    active = power_law.admissible
    n_active = active.sum()

    # Held (inadmissible) buckets stay at the reference level, clipped into the bounds.
    valid_input = jnp.isfinite(budget)
    if bounds is None:
        log_bounds = None
        held_alpha = jnp.ones((), dtype)
    else:
        alpha_min = jnp.asarray(bounds[0], dtype)
        alpha_max = jnp.asarray(bounds[1], dtype)
        valid_bounds = (alpha_min > 0) & (alpha_min <= alpha_max) & jnp.isfinite(alpha_max)
        valid_input &= valid_bounds
        # Placeholder bounds keep the arithmetic finite; the INVALID_INPUT status masks the result.
        alpha_min = jnp.where(valid_bounds, alpha_min, 1.0)
        alpha_max = jnp.where(valid_bounds, alpha_max, 1.0)
        log_bounds = (jnp.log(alpha_min), jnp.log(alpha_max))
        held_alpha = jnp.clip(jnp.ones((), dtype), alpha_min, alpha_max)
    budget = jnp.where(valid_input, budget, 1.0)
    held_value = jnp.where(active, 0.0, value_ref * held_alpha**gamma)
    held_cost = jnp.where(active, 0.0, cost_ref * held_alpha**eta)
    free_budget = budget - held_cost.sum()
    budget_left = free_budget > 0
    log_budget = jnp.log(jnp.where(budget_left, free_budget, 1.0))

    # Placeholder parameters on held buckets keep every log and power finite (and NaN out of
    # gradients); the `active` mask removes them from every sum.
    safe_gamma = jnp.where(active, gamma, 0.5)
    safe_eta = jnp.where(active, eta, 1.0)
    log_cost_ref = jnp.log(jnp.where(active, cost_ref, 1.0))
    log_value_ref = jnp.log(jnp.where(active, value_ref, 1.0))
    log_mcuv = jnp.log(safe_eta / safe_gamma) + log_cost_ref - log_value_ref
    inverse_gap = 1.0 / (safe_eta - safe_gamma)
    spend_exponent = safe_eta * inverse_gap  # eta / (eta - gamma)

    big = jnp.finfo(dtype).max
    if bounds is None:
        log_mu_upper = log_mcuv + (log_budget - log_cost_ref) / spend_exponent
        log_mu_lower = log_mcuv + (log_budget - jnp.log(jnp.maximum(n_active, 1).astype(dtype)) - log_cost_ref) / spend_exponent
        lower = jnp.min(jnp.where(active, log_mu_lower, big))
        upper = jnp.min(jnp.where(active, log_mu_upper, big))
        feasible = budget_left
        below = ~budget_left
    else:
        gap = safe_eta - safe_gamma
        lower = jnp.min(jnp.where(active, log_mcuv + gap * log_bounds[0], big))
        upper = jnp.max(jnp.where(active, log_mcuv + gap * log_bounds[1], -big))
        min_spend = _log_spend_gap(lower, (log_cost_ref, log_mcuv, inverse_gap, safe_eta, active, log_bounds, log_budget))
        max_spend = _log_spend_gap(upper, (log_cost_ref, log_mcuv, inverse_gap, safe_eta, active, log_bounds, log_budget))
        # Budgets within rounding of a bound's total spend count as feasible. The log-domain spend
        # carries errors of a few ulps of |log budget| and of the log costs, hence the scaled slack.
        tolerance = 32 * jnp.finfo(dtype).eps * (1 + jnp.abs(log_budget) + jnp.max(jnp.abs(log_cost_ref)))
        below = (min_spend > tolerance) | ~budget_left
        feasible = ~below & (max_spend >= -tolerance)
    any_active = n_active > 0
    # The bracket only locates the root, and derivatives come from the implicit tangent. So none
    # flow through the bracket ends, nor through mu when an infeasible budget pins it to one.
    lower = jax.lax.stop_gradient(jnp.where(any_active, lower, 0.0).astype(dtype))
    upper = jax.lax.stop_gradient(jnp.where(any_active, upper, 0.0).astype(dtype))

    args = (log_cost_ref, log_mcuv, inverse_gap, safe_eta, active, log_bounds, log_budget)
    log_mu = bisect_increasing(_log_spend_gap, lower, upper, args, num_halvings)
    log_mu = jnp.where(feasible, log_mu, jnp.where(below, lower, upper))
    log_alpha = _log_alpha(log_mu, log_mcuv, inverse_gap, log_bounds)
    alpha_active = jnp.exp(log_alpha)
    if bounds is None:
        alpha_active = jnp.where(budget_left, alpha_active, 0.0)

    alpha = jnp.where(active, alpha_active, held_alpha)
    bucket_value = jnp.where(active, value_ref * alpha_active**safe_gamma, held_value)
    bucket_cost = jnp.where(active, cost_ref * alpha_active**safe_eta, held_cost)

    status = jnp.where(feasible, SOLVED, INFEASIBLE)
    status = jnp.where(any_active, status, NO_ADMISSIBLE_BUCKET)
    status = jnp.where(valid_input, status, INVALID_INPUT).astype(jnp.int32)
    mu = jnp.where(any_active, jnp.exp(log_mu), 0.0)

    def unless_invalid(a):
        return jnp.where(valid_input, a, jnp.nan)

    return Allocation(
        alpha=unless_invalid(alpha),
        mu=unless_invalid(mu),
        value=unless_invalid(bucket_value.sum()),
        cost=unless_invalid(bucket_cost.sum()),
        bucket_value=unless_invalid(bucket_value),
        bucket_cost=unless_invalid(bucket_cost),
        status=status,
    )


def cuvet_criterion(
    power_law: PowerLaw,
    budget: Float[ArrayLike, ""],
    bounds: tuple[Float[ArrayLike, ""], Float[ArrayLike, ""]] | None = None,
) -> Float[Array, ""]:
    """Return the CUVET criterion: the optimal total value V* = sum_b v_b(alpha_b*) at budget C."""
    return equalize(power_law, budget, bounds).value
