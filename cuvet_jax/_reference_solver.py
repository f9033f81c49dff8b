"""A general-purpose numerical solver of the budget allocation, independent of the mCUV closed form.

The problem is solved in spend space. With s_b = c_b(alpha_b) the value of an admissible bucket is

    v_b = v_b(1) * (s_b / c_b(1)) ** p_b,    p_b = gamma_b / eta_b in (0, 1),

a concave function of s_b, and the constraints become a capped simplex

    sum_b s_b = C',    s_b in [c_b(alpha_min), c_b(alpha_max)]   (or s_b > 0 without bounds),

where C' is the budget left after the held (inadmissible) buckets, which stay at the reference
level clipped into the bounds. The value increases with spend, so the optimum of the problem with
sum_b s_b <= C' spends all of C' unless every bucket is at alpha_max.

The solver only evaluates the objective and its first two derivatives. It does not use the
equalized marginal cost per unit value, so agreement with `equalize` is evidence for both.
"""

from __future__ import annotations

import functools
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from ._power_law import PowerLaw

SPEND_FLOOR = 1e-30
"""Smallest spend share a bucket may get without bounds, as a fraction of the free budget. A
bucket whose optimal share is below it contributes less than about SPEND_FLOOR / p_b of the total
value, so the floor changes the optimal value by far less than float64 resolution."""

TRUST_FACTOR = 100.0
"""Each iteration keeps every spend share within a factor of TRUST_FACTOR of its current value,
which stops Newton steps from overshooting a share by many orders of magnitude."""


FULL_STEP_DECREMENT = 1e-10
"""Newton decrement below which the full Newton step is taken without a line search."""


class NumericalAllocation(eqx.Module):
    """Levels and totals found by the numerical solver.

    Attributes:
        alpha: treatment level per bucket, shape (B,). Held buckets are at the reference level
            clipped into the bounds.
        value: total value sum_b v_b(alpha_b), scalar.
        cost: total cost sum_b c_b(alpha_b), scalar.
        bucket_value: v_b(alpha_b), shape (B,).
        bucket_cost: c_b(alpha_b), shape (B,).
        converged: whether `estimated_gap` fell to the tolerance, scalar bool. It is also True
            when no iteration was needed: every bucket at its upper bound, every bucket at its
            lower bound with the least spend equal to the budget, or no bucket admissible.
        feasible: whether some allocation meets the budget and the bounds, scalar bool. It is
            also False for a non-finite budget or bounds that are not 0 < alpha_min <= alpha_max < inf.
            An infeasible problem returns every admissible bucket at alpha_min (or alpha = 0
            without bounds) and converged = False.
        iterations: iterations run, scalar int.
        estimated_gap: the Newton decrement of the last iteration, an estimate of the relative
            value gap (f* - f) / f before that iteration's step (NaN for SLSQP), scalar.
    """

    alpha: Float[Array, "bucket"]
    value: Float[Array, ""]
    cost: Float[Array, ""]
    bucket_value: Float[Array, "bucket"]
    bucket_cost: Float[Array, "bucket"]
    converged: Bool[Array, ""]
    feasible: Bool[Array, ""]
    iterations: Int[Array, ""]
    estimated_gap: Float[Array, ""]


def project_capped_simplex(
    point: Float[Array, "n"],
    lower: Float[Array, "n"],
    upper: Float[Array, "n"],
    total: Float[ArrayLike, ""],
    inverse_metric: Float[Array, "n"] | None = None,
) -> Float[Array, "n"]:
    """Project a point onto {x : sum x = total, lower <= x <= upper} in a diagonal metric.

    With metric weights h_n = 1 / inverse_metric_n, the projection minimizing
    sum_n h_n (x_n - point_n)**2 is

        x_n(tau) = clip(point_n + tau * inverse_metric_n, lower_n, upper_n)

    for the shift tau with sum_n x_n(tau) = total. The sum is piecewise linear and non-decreasing in
    tau, with breakpoints where an entry reaches a bound. So the shift is found exactly: evaluate
    the sum at every breakpoint, take the two neighbouring breakpoints around `total`, and solve
    the linear piece between them. Entries with inverse_metric = 0 stay at clip(point, lower, upper).

    Args:
        point: the point to project, shape (n,).
        lower, upper: finite bounds with lower <= upper, shape (n,).
        total: the required sum, scalar, within [sum lower, sum upper] (otherwise the result sits
            at the nearer end of that range).
        inverse_metric: non-negative weights 1 / h_n, shape (n,); None for the Euclidean projection.

    Returns:
        The projected point, shape (n,). Pure, jit- and vmap-able.
    """
    if inverse_metric is None:
        inverse_metric = jnp.ones_like(point)
    movable = inverse_metric > 0
    safe_inverse = jnp.where(movable, inverse_metric, 1.0)
    breakpoints = jnp.concatenate(
        [
            jnp.where(movable, (lower - point) / safe_inverse, 0.0),
            jnp.where(movable, (upper - point) / safe_inverse, 0.0),
        ]
    )

    def shifted(tau):
        return jnp.clip(point + jnp.where(movable, tau * inverse_metric, 0.0), lower, upper)

    sums = jax.vmap(lambda tau: shifted(tau).sum())(breakpoints)
    below = jnp.max(jnp.where(sums <= total, breakpoints, -jnp.inf))
    above = jnp.min(jnp.where(sums >= total, breakpoints, jnp.inf))
    below = jnp.where(jnp.isfinite(below), below, jnp.min(breakpoints))
    above = jnp.where(jnp.isfinite(above), above, jnp.max(breakpoints))

    # Between the two breakpoints the free entries move at rate inverse_metric, the rest not at all.
    middle = point + 0.5 * (below + above) * inverse_metric
    free = movable & (middle > lower) & (middle < upper)
    slope = jnp.where(free, inverse_metric, 0.0).sum()
    safe_slope = jnp.where(slope > 0, slope, 1.0)
    tau = jnp.where(slope > 0, below + (total - shifted(below).sum()) / safe_slope, below)
    # One correction along the same linear piece removes most of the rounding error of the sum.
    tau = jnp.where(slope > 0, tau + (total - shifted(tau).sum()) / safe_slope, tau)
    return shifted(tau)


def solve_allocation_numerically(
    power_law: PowerLaw,
    budget: Float[ArrayLike, ""],
    bounds: tuple[Float[ArrayLike, ""], Float[ArrayLike, ""]] | None = None,
    method: Literal["projected_gradient", "slsqp"] = "projected_gradient",
    *,
    max_iterations: int = 300,
    tolerance: float = 1e-14,
) -> NumericalAllocation:
    """Maximize total value at a budget with a general constrained optimizer in spend space.

    The free budget C' = C - sum over held buckets of c_b(alpha_held) is split into shares
    w_b = s_b / C' that maximize

        f(w) = sum_b k_b w_b ** p_b,    k_b = v_b(1) (C' / c_b(1)) ** p_b,

    over sum_b w_b = 1 and w_b in [c_b(alpha_min) / C', c_b(alpha_max) / C'] (or [SPEND_FLOOR, 1]).

    "projected_gradient" runs scaled gradient projection. At shares w the gradient is
    g_b = p_b k_b w_b**(p_b - 1) and the curvature h_b = p_b (1 - p_b) k_b w_b**(p_b - 2). The trial
    point for step t is the projection of w + t g / h, in the metric diag(h), onto the constraints
    intersected with [w / TRUST_FACTOR, w * TRUST_FACTOR]. The step t halves until the Armijo
    condition f(new) >= f(w) + 1e-4 g . (new - w) holds up to the rounding error of f. Because f
    is separable, this is a projected Newton method. It stops when the Newton decrement of the full
    step, (1/2) sum_b h_b (new_b - w_b)**2 / f(w), which estimates the relative value gap, is at
    most `tolerance`. Pure JAX: jit- and vmap-able. NOTE: the stopping rule measures value, so the
    level of a bucket whose share of the budget is below about 1e-16 can be far from optimal
    while the total value is exact to float64 resolution.

    "slsqp" hands the same problem in log shares y_b = log w_b to
    scipy.optimize.minimize(method="SLSQP", ftol=1e-14) and runs on the host, so it is
    neither jit- nor vmap-able. NOTE: SLSQP can stop at its iteration limit or after a failed line
    search (converged False) with its value already at the optimum. It can also stop a few 1e-6
    below the optimal value when a bucket's optimal share is tiny. Tested on up to 8 buckets.

    Args:
        power_law: the buckets, arrays of shape (B,). Inadmissible buckets are held at the
            reference level clipped into the bounds.
        budget: the budget C in cost units, scalar, positive.
        bounds: (alpha_min, alpha_max), or None for alpha > 0.
        method: "projected_gradient" or "slsqp" (static).
        max_iterations: iteration limit (static).
        tolerance: estimated relative value gap at which "projected_gradient" stops (static).

    Returns:
        NumericalAllocation.
    """
    if method == "projected_gradient":
        return _solve_projected(power_law, budget, bounds, max_iterations, tolerance)
    if method == "slsqp":
        return _solve_slsqp(power_law, budget, bounds, max_iterations)
    raise ValueError(f"method must be 'projected_gradient' or 'slsqp', got {method!r}")


class _SpendProblem(eqx.Module):
    """The allocation in normalized spend shares; inactive entries have k = 0 and lower = upper = 0."""

    weight: Float[Array, "bucket"]  # k_b / max_b k_b
    exponent: Float[Array, "bucket"]  # p_b = gamma_b / eta_b
    lower: Float[Array, "bucket"]
    upper: Float[Array, "bucket"]
    active: Bool[Array, "bucket"]
    free_budget: Float[Array, ""]  # C'
    held_alpha: Float[Array, ""]
    feasible: Bool[Array, ""]
    pinned: Bool[Array, ""]  # the least spend takes all of C', so every bucket is at its lower bound
    saturated: Bool[Array, ""]  # every bucket at its upper spend share still spends at most C'


def _spend_problem(power_law: PowerLaw, budget, bounds) -> _SpendProblem:
    dtype = power_law.result_dtype(budget)
    value_ref, cost_ref, gamma, eta = power_law.parameters(dtype)
    budget = jnp.asarray(budget, dtype)
    active = power_law.admissible

    if bounds is None:
        held_alpha = jnp.ones((), dtype)
    else:
        alpha_min = jnp.asarray(bounds[0], dtype)
        alpha_max = jnp.asarray(bounds[1], dtype)
        held_alpha = jnp.clip(jnp.ones((), dtype), alpha_min, alpha_max)
    held_cost = jnp.where(active, 0.0, cost_ref * held_alpha**eta).sum()
    free_budget = budget - held_cost
    has_budget = free_budget > 0
    log_free_budget = jnp.log(jnp.where(has_budget, free_budget, 1.0))

    safe_cost_ref = jnp.where(active, cost_ref, 1.0)
    safe_value_ref = jnp.where(active, value_ref, 1.0)
    exponent = jnp.where(active, gamma / jnp.where(active, eta, 1.0), 0.5)
    log_weight = jnp.log(safe_value_ref) + exponent * (log_free_budget - jnp.log(safe_cost_ref))
    log_weight = log_weight - jnp.max(jnp.where(active, log_weight, -jnp.inf))
    weight = jnp.where(active, jnp.exp(log_weight), 0.0)

    if bounds is None:
        lower = jnp.full_like(weight, SPEND_FLOOR)
        upper = jnp.ones_like(weight)
    else:
        safe_eta = jnp.where(active, eta, 1.0)
        lower = jnp.exp(jnp.log(safe_cost_ref) + safe_eta * jnp.log(alpha_min) - log_free_budget)
        upper = jnp.exp(jnp.log(safe_cost_ref) + safe_eta * jnp.log(alpha_max) - log_free_budget)
        lower = jnp.minimum(jnp.maximum(lower, SPEND_FLOOR), upper)
    lower = jnp.where(active, lower, 0.0)
    upper = jnp.where(active, upper, 0.0)

    # Budgets within the rounding error of the shares of the least possible spend count as feasible.
    # That error is a few ulps times the largest log in the log-domain shares, plus the
    # cancellation in C' = C - held cost.
    if bounds is None:
        largest_log = jnp.zeros((), dtype)
    else:
        largest_log = jnp.max(jnp.where(active, jnp.abs(jnp.log(safe_cost_ref)) + safe_eta * jnp.abs(jnp.log(alpha_min)), 0.0))
    eps = jnp.finfo(dtype).eps
    tolerance = 8 * eps * (1 + largest_log + jnp.abs(log_free_budget)) + 4 * eps * budget / jnp.where(has_budget, free_budget, 1.0)
    # With no admissible bucket there is nothing to allocate, and the held buckets must fit the budget.
    feasible = jnp.where(active.any(), has_budget & (lower.sum() <= 1 + tolerance), free_budget >= 0)
    feasible &= jnp.isfinite(budget)
    if bounds is not None:
        feasible &= (alpha_min > 0) & (alpha_min <= alpha_max) & jnp.isfinite(alpha_max)
    pinned = lower.sum() >= 1 - tolerance
    saturated = upper.sum() <= 1
    return _SpendProblem(weight, exponent, lower, upper, active, free_budget, held_alpha, feasible, pinned, saturated)


def _objective(problem: _SpendProblem, share: Float[Array, "bucket"]) -> Float[Array, ""]:
    """f(w) = sum_b k_b w_b ** p_b over active buckets."""
    safe_share = jnp.where(problem.active, share, 1.0)
    return jnp.where(problem.active, problem.weight * safe_share**problem.exponent, 0.0).sum()


def _gradient_and_inverse_curvature(problem: _SpendProblem, share):
    """g_b = p k w**(p - 1) and 1 / h_b = w**(2 - p) / (p (1 - p) k) on active buckets, 0 elsewhere."""
    p = problem.exponent
    safe_share = jnp.where(problem.active, share, 1.0)
    safe_weight = jnp.where(problem.active, problem.weight, 1.0)
    gradient = jnp.where(problem.active, p * safe_weight * safe_share ** (p - 1), 0.0)
    inverse_curvature = jnp.where(problem.active, safe_share ** (2 - p) / (p * (1 - p) * safe_weight), 0.0)
    return gradient, inverse_curvature


def _initial_share(problem: _SpendProblem) -> Float[Array, "bucket"]:
    """Project equal shares onto the constraints in the Euclidean metric."""
    n_active = jnp.maximum(problem.active.sum(), 1)
    equal = jnp.where(problem.active, 1.0 / n_active, 0.0)
    return project_capped_simplex(equal, problem.lower, problem.upper, 1.0, problem.active.astype(equal.dtype))


def _projected_newton_step(problem: _SpendProblem, share):
    """Take one scaled gradient projection step with Armijo backtracking.

    Returns the new shares and the Newton decrement (1/2) sum_b h_b (full_b - w_b)**2 / f(w) of the
    full step, which estimates the relative value gap at w.
    """
    gradient, inverse_curvature = _gradient_and_inverse_curvature(problem, share)
    newton_direction = gradient * inverse_curvature  # = w / (1 - p)
    lower = jnp.where(problem.active, jnp.maximum(problem.lower, share / TRUST_FACTOR), 0.0)
    upper = jnp.where(problem.active, jnp.minimum(problem.upper, share * TRUST_FACTOR), 0.0)

    def trial(step):
        return project_capped_simplex(share + step * newton_direction, lower, upper, 1.0, inverse_curvature)

    full = trial(1.0)
    current = _objective(problem, share)
    safe_inverse = jnp.where(problem.active, inverse_curvature, 1.0)
    decrement = 0.5 * jnp.where(problem.active, (full - share) ** 2 / safe_inverse, 0.0).sum() / current
    # Changes of f below its rounding error cannot be judged, so they count as sufficient. Without
    # this slack, steps of buckets with tiny shares would be halved until the step limit.
    rounding = 16 * jnp.finfo(share.dtype).eps * jnp.abs(current)

    def insufficient(candidate):
        return _objective(problem, candidate) < current + 1e-4 * jnp.dot(gradient, candidate - share) - rounding

    def halve(carry):
        step, _ = carry
        return step / 2, trial(step / 2)

    def keep_halving(carry):
        step, candidate = carry
        return (step > 1e-12) & insufficient(candidate)

    _, candidate = jax.lax.while_loop(keep_halving, halve, (jnp.asarray(1.0, share.dtype), full))
    # A step that lowers f by more than its rounding error is not taken, except close to the
    # optimum, where the full Newton step is accurate and changes f by less than its rounding error.
    improved = _objective(problem, candidate) >= current - rounding
    candidate = jnp.where(decrement < FULL_STEP_DECREMENT, full, candidate)
    accepted = improved | (decrement < FULL_STEP_DECREMENT)
    return jnp.where(accepted, candidate, share), decrement


@functools.partial(jax.jit, static_argnames=("max_iterations", "tolerance"))
def _solve_projected(power_law, budget, bounds, max_iterations, tolerance) -> NumericalAllocation:
    problem = _spend_problem(power_law, budget, bounds)

    def keep_going(state):
        _, iteration, gap = state
        return (iteration < max_iterations) & (gap > tolerance)

    def iterate(state):
        share, iteration, _ = state
        share, gap = _projected_newton_step(problem, share)
        return share, iteration + 1, gap

    start = _initial_share(problem)
    iterate_needed = problem.feasible & ~problem.pinned & ~problem.saturated
    initial_gap = jnp.where(iterate_needed, jnp.inf, 0.0).astype(start.dtype)
    share, iterations, gap = jax.lax.while_loop(keep_going, iterate, (start, jnp.asarray(0), initial_gap))
    share = jnp.where(problem.saturated, problem.upper, share)
    share = jnp.where(problem.feasible & ~problem.pinned, share, problem.lower)
    converged = problem.feasible & (gap <= tolerance)
    return _allocation_from_share(power_law, bounds, problem, share, converged, iterations, gap)


def _allocation_from_share(power_law, bounds, problem, share, converged, iterations, gap) -> NumericalAllocation:
    """Convert shares back to levels: alpha_b = (w_b C' / c_b(1)) ** (1 / eta_b)."""
    dtype = share.dtype
    active = problem.active
    value_ref, cost_ref, gamma, eta = power_law.parameters(dtype)

    positive = active & (share > 0) & (problem.free_budget > 0)
    log_spend = jnp.log(jnp.where(positive, share, 1.0)) + jnp.log(jnp.where(positive, problem.free_budget, 1.0))
    log_alpha = (log_spend - jnp.log(jnp.where(active, cost_ref, 1.0))) / jnp.where(active, eta, 1.0)
    alpha_active = jnp.where(positive, jnp.exp(log_alpha), 0.0)
    if bounds is not None:
        # Shares at a bound map back to the bound itself rather than to exp(log(bound)).
        alpha_active = jnp.where(positive & (share <= problem.lower) & (problem.lower > SPEND_FLOOR), bounds[0], alpha_active)
        alpha_active = jnp.where(positive & (share >= problem.upper), bounds[1], alpha_active)
        alpha_active = jnp.where(problem.feasible, alpha_active, bounds[0])
    alpha = jnp.where(active, alpha_active, problem.held_alpha)

    bucket_value = value_ref * alpha**gamma
    bucket_cost = cost_ref * alpha**eta
    return NumericalAllocation(
        alpha=alpha,
        value=bucket_value.sum(),
        cost=bucket_cost.sum(),
        bucket_value=bucket_value,
        bucket_cost=bucket_cost,
        converged=converged,
        feasible=problem.feasible,
        iterations=jnp.asarray(iterations),
        estimated_gap=jnp.asarray(gap, dtype),
    )


def _solve_slsqp(power_law, budget, bounds, max_iterations) -> NumericalAllocation:
    from scipy.optimize import minimize

    problem = _spend_problem(power_law, budget, bounds)
    start = _initial_share(problem)
    active = np.asarray(problem.active)
    weight = np.asarray(problem.weight)[active]
    exponent = np.asarray(problem.exponent)[active]
    lower = np.asarray(problem.lower)[active]
    upper = np.asarray(problem.upper)[active]
    feasible = bool(problem.feasible)
    pinned = bool(problem.pinned)
    saturated = bool(problem.saturated)

    share = np.asarray(problem.upper if feasible and saturated else problem.lower, dtype=np.float64).copy()
    converged, iterations, gap = feasible and (pinned or saturated), 0, 0.0
    if feasible and not pinned and not saturated:
        # SLSQP works on log shares y_b = log w_b, where the gradient p_b k_b w_b**p_b of each term
        # is proportional to the bucket's value, instead of w_b**(p_b - 1), which spans many orders of
        # magnitude. The map is one to one, so the unique KKT point is the same.
        scale = float(np.sum(weight * np.asarray(start)[active] ** exponent))

        def negative_value(y):
            return -np.sum(weight * np.exp(exponent * y)) / scale

        def negative_gradient(y):
            return -exponent * weight * np.exp(exponent * y) / scale

        result = minimize(
            negative_value,
            np.log(np.asarray(start)[active]),
            jac=negative_gradient,
            method="SLSQP",
            bounds=list(zip(np.log(lower), np.log(upper), strict=True)),
            constraints=[{"type": "eq", "fun": lambda y: np.sum(np.exp(y)) - 1.0, "jac": np.exp}],
            options={"maxiter": max_iterations, "ftol": 1e-14},
        )
        share[active] = np.clip(np.exp(result.x), lower, upper)
        converged, iterations, gap = bool(result.success), int(result.nit), float("nan")
    return _allocation_from_share(
        power_law,
        bounds,
        problem,
        jnp.asarray(share),
        jnp.asarray(converged),
        jnp.asarray(iterations),
        jnp.asarray(gap),
    )
