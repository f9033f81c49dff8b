"""Multiple-choice knapsack (MCKP) solvers for the ILP and LP evaluations of a partition.

There are B buckets and K treatment levels. Giving level k to bucket b has expected value
V[b, k] and expected cost C[b, k] (both non-negative, in the units of the outcomes, usually
bucket totals). A level may be unavailable in a bucket (never observed there), which the boolean
mask `available[b, k]` marks. The integer problem is

    maximize  sum_b V[b, k_b]   subject to   sum_b C[b, k_b] <= budget,   k_b available in b,

and its LP relaxation replaces the choice k_b by assignment probabilities p[b, k] >= 0 with
sum_k p[b, k] = 1 and p[b, k] = 0 where level k is unavailable:

    maximize  sum_{b,k} p[b, k] V[b, k]   subject to   sum_{b,k} p[b, k] C[b, k] <= budget.

Three solvers are provided:

- `solve_mckp_ilp`: the exact integer optimum, with HiGHS through `scipy.optimize.milp`.
- `solve_mckp_lp`: the exact LP optimum in pure JAX (jit- and vmap-compatible) by the classical
  convex-hull greedy method: per bucket, the upper concave hull of its (cost, value) points, then
  the hull increments of all buckets by decreasing efficiency.
- `brute_force_mckp`: enumeration of all K**B assignments, a reference for tests.

A budget counts as met when the cost is at most `budget + BUDGET_RTOL * |budget|`, so rounding in
a sum of B costs does not flip feasibility. The problem is infeasible when the cheapest available
levels of all buckets together cost more than the budget. The solvers then return status
`INFEASIBLE` with that cheapest assignment instead of raising.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse
from numpy.typing import ArrayLike
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, milp

SOLVED = 0
"""Status code: the returned assignment is optimal and within the budget."""

INFEASIBLE = 1
"""Status code: the cheapest available levels of all buckets together cost more than the budget.

The solution then contains that cheapest assignment (its cost exceeds the budget)."""

INVALID_INPUT = 2
"""Status code of `solve_mckp_lp` under `jax.jit` or `jax.vmap` only, where its inputs cannot be
checked in Python: a NaN or negative value in an available cell, a NaN budget, or a bucket without
an available level. Value, cost and probabilities are NaN. Outside tracing the same inputs raise
ValueError."""

BUDGET_RTOL = 1e-12
"""Relative tolerance of the budget constraint: cost c meets budget B when c <= B + 1e-12 * |B|."""

BRUTE_FORCE_MAX_ASSIGNMENTS = 1_000_000
"""Largest number of assignments K**B that `brute_force_mckp` enumerates."""

_ILP_MAX_CUTS = 16


class KnapsackSolution(NamedTuple):
    """Solution of a multiple-choice knapsack problem.

    `solve_mckp_ilp` and `brute_force_mckp` fill it with numpy arrays and Python scalars, and
    `solve_mckp_lp` with JAX arrays (batched along a leading axis under `jax.vmap`).

    Attributes:
        assignment: (B,) int level index per bucket. For the LP, the level of largest probability
            (the lower index on a tie).
        probabilities: (B, K) float assignment probabilities, one-hot for an integer solution.
            Each row sums to 1, and unavailable levels have probability 0.
        value: total value sum_{b,k} p[b, k] V[b, k], in the units of V.
        cost: total cost sum_{b,k} p[b, k] C[b, k], in the units of C.
        status: `SOLVED`, `INFEASIBLE` or `INVALID_INPUT`.
        budget: the budget the problem was solved for.
    """

    assignment: np.ndarray | jax.Array
    probabilities: np.ndarray | jax.Array
    value: float | jax.Array
    cost: float | jax.Array
    status: int | jax.Array
    budget: float | jax.Array


# ---------------------------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------------------------


def _check_shapes(
    value_shape: tuple[int, ...],
    cost_shape: tuple[int, ...],
    available_shape: tuple[int, ...] | None,
) -> None:
    """Raise ValueError unless V and C are (B, K) with B, K >= 1 and `available` matches them."""
    if len(value_shape) != 2:
        raise ValueError(
            f"V must be a 2-D table of shape (buckets, levels), got shape {value_shape}"
        )
    if cost_shape != value_shape:
        raise ValueError(
            f"V has shape {value_shape} but C has shape {cost_shape}. "
            "Both must be (buckets, levels) with the same shape"
        )
    if value_shape[0] < 1 or value_shape[1] < 1:
        raise ValueError(
            f"V and C have shape {value_shape}, but they need at least one bucket and one level"
        )
    if available_shape is not None and available_shape != value_shape:
        raise ValueError(
            f"available has shape {available_shape} but V and C have shape {value_shape}. "
            "Pass a boolean mask of the same shape, or None for all levels available"
        )


def _check_values(
    values: np.ndarray,
    costs: np.ndarray,
    available: np.ndarray,
    budgets: np.ndarray,
) -> None:
    """Raise ValueError on a NaN or negative available cell, an empty bucket or a NaN budget.

    Unavailable cells are not checked, so they may hold NaN (a level never observed in a bucket).
    """
    empty_buckets = np.flatnonzero(~available.any(axis=1))
    if empty_buckets.size:
        raise ValueError(
            f"bucket {int(empty_buckets[0])} has no available level in `available`, "
            "but every bucket needs at least one available level"
        )
    for name, table in (("V", values), ("C", costs)):
        not_finite = available & ~np.isfinite(table)
        if not_finite.any():
            bucket, level = np.argwhere(not_finite)[0]
            raise ValueError(
                f"{name}[{bucket}, {level}] is {table[bucket, level]}, but entries of available "
                "levels must be finite. Mark a level unavailable in `available` if it has no "
                "estimate"
            )
        negative = available & (table < 0)
        if negative.any():
            bucket, level = np.argwhere(negative)[0]
            raise ValueError(
                f"{name}[{bucket}, {level}] is {table[bucket, level]}, "
                f"but {name} must be non-negative"
            )
    if np.isnan(budgets).any():
        raise ValueError("budget is NaN. Pass a number, or +inf for no budget constraint")


def _as_numpy_problem(
    values: ArrayLike,
    costs: ArrayLike,
    budget: float,
    available: ArrayLike | None,
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Validate a problem and return float64 V (B, K), C (B, K), the budget and the (B, K) mask.

    Unavailable cells of the returned V and C are set to 0.
    """
    values = np.asarray(values, dtype=np.float64)
    costs = np.asarray(costs, dtype=np.float64)
    budget_array = np.asarray(budget, dtype=np.float64)
    if budget_array.ndim != 0:
        raise ValueError(f"budget must be a scalar, got an array of shape {budget_array.shape}")
    _check_shapes(
        values.shape, costs.shape, None if available is None else np.shape(available)
    )
    if available is None:
        available = np.ones(values.shape, dtype=bool)
    else:
        available = np.asarray(available, dtype=bool)
    _check_values(values, costs, available, budget_array)
    values = np.where(available, values, 0.0)
    costs = np.where(available, costs, 0.0)
    return values, costs, float(budget_array), available


def _budget_slack(budget: float) -> float:
    return BUDGET_RTOL * abs(budget) if np.isfinite(budget) else 0.0


def _cheapest_levels(values: np.ndarray, costs: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Return the (B,) cheapest available level per bucket, the most valuable one among ties."""
    masked_costs = np.where(available, costs, np.inf)
    is_cheapest = available & (masked_costs == masked_costs.min(axis=1, keepdims=True))
    return np.argmax(np.where(is_cheapest, values, -np.inf), axis=1)


def _integer_solution(
    assignment: np.ndarray,
    values: np.ndarray,
    costs: np.ndarray,
    budget: float,
    status: int,
) -> KnapsackSolution:
    """Build a one-hot KnapsackSolution from a (B,) level assignment, in float64 sums."""
    buckets = np.arange(values.shape[0])
    probabilities = np.zeros(values.shape)
    probabilities[buckets, assignment] = 1.0
    return KnapsackSolution(
        assignment=assignment.astype(np.int64),
        probabilities=probabilities,
        value=float(values[buckets, assignment].sum()),
        cost=float(costs[buckets, assignment].sum()),
        status=status,
        budget=budget,
    )


# ---------------------------------------------------------------------------------------------
# Integer solvers
# ---------------------------------------------------------------------------------------------


def solve_mckp_ilp(
    V: ArrayLike,
    C: ArrayLike,
    budget: float,
    available: ArrayLike | None = None,
) -> KnapsackSolution:
    """Solve the multiple-choice knapsack exactly as an integer program with HiGHS.

    The program has one binary x[b, k] per cell (fixed to 0 where level k is unavailable):

        maximize sum V[b, k] x[b, k]   s.t.   sum_k x[b, k] = 1 for every b,
                                              sum C[b, k] x[b, k] <= budget.

    For numerical conditioning each bucket's cheapest cost is subtracted from its row of C and
    from the budget, then costs are divided by their largest value and values by theirs. The
    relative and absolute MIP gaps are set to 0, so HiGHS stops only at a proven optimum. HiGHS
    accepts a constraint violation up to its feasibility tolerance (set to 1e-9 in the scaled
    units), so the value and cost of the returned assignment are summed again in float64 from the
    original tables. When that cost exceeds the budget (beyond `BUDGET_RTOL`), a cut excluding the
    assignment is added and the program solved again, up to 16 times.

    Args:
        V: (B, K) non-negative expected values.
        C: (B, K) non-negative expected costs.
        budget: upper bound on the total cost, +inf for none.
        available: optional (B, K) boolean mask of the levels that may be chosen, all True by
            default. Unavailable cells of V and C are ignored and may be NaN.

    Returns:
        A one-hot KnapsackSolution with status `SOLVED`, or with status `INFEASIBLE` and the
        cheapest assignment when sum_b min_k C[b, k] exceeds the budget. This case does not raise.

    Raises:
        ValueError: on shape mismatch, a NaN or negative value or cost of an available level,
            a bucket without an available level, or a NaN or non-scalar budget.
        RuntimeError: when HiGHS fails on a feasible problem, or when the assignments it returns
            stay over the budget after 16 cuts.
    """
    values, costs, budget, available = _as_numpy_problem(V, C, budget, available)
    n_buckets, n_levels = values.shape
    cheapest = _cheapest_levels(values, costs, available)
    min_costs = costs[np.arange(n_buckets), cheapest]
    slack = _budget_slack(budget)
    if min_costs.sum() > budget + slack:
        return _integer_solution(cheapest, values, costs, budget, INFEASIBLE)

    extra_costs = np.where(available, costs - min_costs[:, None], 0.0)
    cost_scale = extra_costs.max() if extra_costs.max() > 0 else 1.0
    value_scale = values.max() if values.max() > 0 else 1.0
    # Slack above the cheapest assignment, in scaled cost units (>= 0).
    scaled_slack = max(budget - min_costs.sum(), 0.0) / cost_scale

    one_level_per_bucket = LinearConstraint(
        scipy.sparse.kron(scipy.sparse.eye(n_buckets), np.ones((1, n_levels)), format="csr"),
        lb=1.0,
        ub=1.0,
    )
    bounds = Bounds(lb=0.0, ub=available.astype(np.float64).ravel())
    objective = -(values / value_scale).ravel()
    scaled_costs = (extra_costs / cost_scale).ravel()

    budget_row = LinearConstraint(scaled_costs[None, :], lb=-np.inf, ub=scaled_slack)
    excluded: list[np.ndarray] = []
    for _ in range(_ILP_MAX_CUTS + 1):
        constraints = [one_level_per_bucket, budget_row]
        if excluded:
            # No-good cuts: each excluded assignment may keep at most B - 1 of its B cells.
            constraints.append(LinearConstraint(np.stack(excluded), lb=-np.inf, ub=n_buckets - 1))
        result = _run_milp(objective, constraints, bounds)
        if result.x is None:
            raise RuntimeError(
                f"HiGHS found no solution of a feasible knapsack problem: {result.message}"
            )
        assignment = np.argmax(result.x.reshape(n_buckets, n_levels), axis=1)
        solution = _integer_solution(assignment, values, costs, budget, SOLVED)
        if solution.cost <= budget + slack:
            return solution
        excluded.append(solution.probabilities.ravel())
    raise RuntimeError(
        f"HiGHS returned an assignment of cost {solution.cost!r} over the budget {budget!r} "
        f"after excluding {_ILP_MAX_CUTS} over-budget assignments"
    )


def _run_milp(
    objective: np.ndarray, constraints: list[LinearConstraint], bounds: Bounds
) -> OptimizeResult:
    """Minimize `objective @ x` over binary x with HiGHS, with zero optimality gap."""
    # scipy.optimize.milp (1.17) exposes only mip_rel_gap. It passes any other option to HiGHS
    # verbatim with a RuntimeWarning, which is how the absolute gap (default 1e-6 in HiGHS) is set
    # to 0 and the feasibility tolerances (default 1e-7 and 1e-6) tightened.
    options = {
        "mip_rel_gap": 0.0,
        "mip_abs_gap": 0.0,
        "mip_feasibility_tolerance": 1e-9,
        "primal_feasibility_tolerance": 1e-9,
    }
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Unrecognized options detected", category=RuntimeWarning
        )
        return milp(
            objective,
            integrality=np.ones_like(objective),
            bounds=bounds,
            constraints=constraints,
            options=options,
        )


def brute_force_mckp(
    V: ArrayLike,
    C: ArrayLike,
    budget: float,
    available: ArrayLike | None = None,
) -> KnapsackSolution:
    """Solve the multiple-choice knapsack by enumerating every assignment, as a reference for tests.

    Among the assignments of available levels with sum_b C[b, k_b] <= budget (within
    `BUDGET_RTOL`), returns one of largest sum_b V[b, k_b], the cheapest among equal values.
    Arguments, return value and the infeasible case are as for `solve_mckp_ilp`.

    Raises:
        ValueError: on invalid input as for `solve_mckp_ilp`, or when K**B exceeds
            `BRUTE_FORCE_MAX_ASSIGNMENTS` (1e6).
    """
    values, costs, budget, available = _as_numpy_problem(V, C, budget, available)
    n_buckets, n_levels = values.shape
    if n_levels**n_buckets > BRUTE_FORCE_MAX_ASSIGNMENTS:
        raise ValueError(
            f"brute force over {n_buckets} buckets and {n_levels} levels would enumerate "
            f"{n_levels}**{n_buckets} assignments, more than {BRUTE_FORCE_MAX_ASSIGNMENTS}. "
            "Use solve_mckp_ilp instead"
        )
    cheapest = _cheapest_levels(values, costs, available)
    min_cost = costs[np.arange(n_buckets), cheapest].sum()
    if min_cost > budget + _budget_slack(budget):
        return _integer_solution(cheapest, values, costs, budget, INFEASIBLE)

    # (K**B, B) level indices, one assignment per row.
    assignments = np.indices((n_levels,) * n_buckets).reshape(n_buckets, -1).T
    buckets = np.arange(n_buckets)
    allowed = available[buckets, assignments].all(axis=1)
    total_values = values[buckets, assignments].sum(axis=1)
    total_costs = costs[buckets, assignments].sum(axis=1)
    feasible = allowed & (total_costs <= budget + _budget_slack(budget))
    # Sort by value descending, then cost ascending, and take the first feasible row.
    order = np.lexsort((total_costs, -total_values))
    best = order[np.argmax(feasible[order])]
    return _integer_solution(assignments[best], values, costs, budget, SOLVED)


# ---------------------------------------------------------------------------------------------
# LP relaxation in JAX
# ---------------------------------------------------------------------------------------------


def solve_mckp_lp(
    V: jax.typing.ArrayLike,
    C: jax.typing.ArrayLike,
    budget: jax.typing.ArrayLike,
    available: jax.typing.ArrayLike | None = None,
) -> KnapsackSolution:
    """Solve the LP relaxation of the multiple-choice knapsack exactly, in JAX.

    Each bucket's best value as a function of its spend s is the upper concave envelope f_b(s) of
    its points (C[b, k], V[b, k]), from its cheapest level to its most valuable one. The LP is
    max sum_b f_b(s_b) subject to sum_b s_b <= budget. Its solution starts every bucket at its
    cheapest level. It then takes the hull increments (dc, dv) of all buckets by decreasing
    efficiency dv / dc, each whole while the budget allows, and the first one that does not fit
    in part. Only increments with dv > 0 and dc > 0 are used. Hence at most one bucket is
    fractional, and it mixes two adjacent hull vertices.

    Works under `jax.jit` and `jax.vmap` (shapes are static and the hull walk has a fixed K steps).
    Use float64 (`jax_enable_x64`) for results exact to rounding.

    Args:
        V: (B, K) non-negative expected values.
        C: (B, K) non-negative expected costs.
        budget: scalar upper bound on the total cost, +inf for none.
        available: optional (B, K) boolean mask of the levels that may be used, all True by
            default. Unavailable cells of V and C are ignored and may be NaN.

    Returns:
        KnapsackSolution of JAX arrays. With status `INFEASIBLE` (sum_b min_k C[b, k] exceeds the
        budget), the probabilities are the one-hot cheapest assignment. This case does not raise.

    Raises:
        ValueError: when called on concrete arrays with a shape mismatch, a NaN or negative value
            or cost of an available level, a bucket without an available level, or a NaN budget.
            Under tracing, only shape errors raise, and the other cases return `INVALID_INPUT`.
    """
    values, costs, budget, available = _as_jax_problem(V, C, budget, available, budget_ndim=0)
    return _solve_mckp_lp_core(values, costs, budget, available)


def lp_value_curve(
    V: jax.typing.ArrayLike,
    C: jax.typing.ArrayLike,
    budgets: jax.typing.ArrayLike,
    available: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    """Compute the LP relaxation's optimal value at each of several budgets.

    The curve budget -> value is piecewise linear, concave and nondecreasing on the feasible
    budgets (at least sum_b min_k C[b, k]). Its slopes are the efficiencies of the hull increments.

    Args:
        V, C, available: as for `solve_mckp_lp`.
        budgets: (M,) budgets.

    Returns:
        (M,) optimal LP values, -inf where the budget is infeasible (the maximum over an empty set).
    """
    values, costs, budgets, available = _as_jax_problem(V, C, budgets, available, budget_ndim=1)
    solutions = jax.vmap(_solve_mckp_lp_core, in_axes=(None, None, 0, None))(
        values, costs, budgets, available
    )
    return jnp.where(solutions.status == INFEASIBLE, -jnp.inf, solutions.value)


def _as_jax_problem(
    values: jax.typing.ArrayLike,
    costs: jax.typing.ArrayLike,
    budget: jax.typing.ArrayLike,
    available: jax.typing.ArrayLike | None,
    budget_ndim: int,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Convert a problem to JAX arrays: float V, C and budget, and a bool mask.

    Shapes are always checked. Values are checked only when no input is a tracer.
    """
    float_dtype = jnp.result_type(float)
    values = jnp.asarray(values, dtype=float_dtype)
    costs = jnp.asarray(costs, dtype=float_dtype)
    budget = jnp.asarray(budget, dtype=float_dtype)
    if budget.ndim != budget_ndim:
        kind = "a scalar" if budget_ndim == 0 else "a 1-D array of budgets"
        raise ValueError(f"budget must be {kind}, got an array of shape {budget.shape}")
    _check_shapes(values.shape, costs.shape, None if available is None else jnp.shape(available))
    if available is None:
        available = jnp.ones(values.shape, dtype=bool)
    else:
        available = jnp.asarray(available, dtype=bool)

    arrays = (values, costs, available, budget)
    if not any(isinstance(array, jax.core.Tracer) for array in arrays):
        _check_values(
            np.asarray(values), np.asarray(costs), np.asarray(available), np.asarray(budget)
        )
    return values, costs, budget, available


def _upper_hull_increments(
    values: jax.Array, costs: jax.Array, available: jax.Array, start: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Walk each bucket's upper concave hull from its start level towards higher cost.

    Gift wrapping: from the current vertex (c0, v0), the next vertex is the available level of
    largest slope (v - v0) / (c - c0) among those with c > c0 and v > v0, the costliest one on a
    tie so that collinear levels merge into one increment. The walk stops when no level is left.
    A bucket has at most K - 1 increments, and the rest of the K steps are padding.

    Args:
        values, costs: (B, K) tables with unavailable cells set to 0.
        available: (B, K) bool mask.
        start: (B,) int cheapest level per bucket.

    Returns:
        vertices: (B, K + 1) int hull vertices in walk order. Padding repeats the last vertex.
        delta_costs: (B, K) dc of each increment, 0 for padding.
        delta_values: (B, K) dv of each increment, 0 for padding.
        is_increment: (B, K) bool, False for padding.
    """
    n_levels = values.shape[1]
    levels = jnp.arange(n_levels)

    def pick(table: jax.Array, level: jax.Array) -> jax.Array:
        return jnp.sum(jnp.where(levels == level[:, None], table, 0.0), axis=1)

    def step(current: jax.Array, _) -> tuple[jax.Array, tuple[jax.Array, ...]]:
        delta_cost = costs - pick(costs, current)[:, None]
        delta_value = values - pick(values, current)[:, None]
        candidate = available & (delta_cost > 0) & (delta_value > 0)
        slope = jnp.where(candidate, delta_value / jnp.where(candidate, delta_cost, 1.0), -jnp.inf)
        on_best_slope = candidate & (slope == jnp.max(slope, axis=1, keepdims=True))
        found = jnp.any(candidate, axis=1)
        following = jnp.where(
            found, jnp.argmax(jnp.where(on_best_slope, costs, -jnp.inf), axis=1), current
        )
        step_cost = jnp.where(found, pick(delta_cost, following), 0.0)
        step_value = jnp.where(found, pick(delta_value, following), 0.0)
        return following, (following, step_cost, step_value, found)

    _, (following, delta_costs, delta_values, is_increment) = jax.lax.scan(
        step, start, None, length=n_levels
    )
    vertices = jnp.concatenate([start[:, None], following.T], axis=1)
    return vertices, delta_costs.T, delta_values.T, is_increment.T


def _greedy_fill(
    delta_costs: jax.Array,
    delta_values: jax.Array,
    is_increment: jax.Array,
    spare_budget: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """Take hull increments by decreasing efficiency dv / dc while the spare budget lasts.

    With increments sorted by efficiency and cumulative costs S_i, increment i is taken whole when
    S_i <= spare_budget, and the first one past that in part, with fraction
    (spare_budget - S_{i-1}) / dc_i.

    Args:
        delta_costs, delta_values, is_increment: (B, K) increments from `_upper_hull_increments`.
        spare_budget: scalar budget left after every bucket's cheapest level, >= 0.

    Returns:
        whole_steps: (B,) int number of increments taken whole in each bucket, always its first
            ones.
        fraction: (B,) float fraction in [0, 1) of the bucket's next increment, nonzero in at most
            one bucket.
    """
    n_buckets, n_levels = delta_costs.shape
    efficiency = jnp.where(
        is_increment, delta_values / jnp.where(is_increment, delta_costs, 1.0), -jnp.inf
    )
    # Hull efficiencies decrease along a bucket's walk in exact arithmetic. The running minimum
    # keeps rounding from ordering a later increment of a bucket before an earlier one, and the
    # stable sort keeps equal efficiencies in walk order. So every bucket takes a prefix of its
    # walk.
    efficiency = jax.lax.cummin(efficiency, axis=1)
    order = jnp.argsort(-efficiency.ravel(), stable=True)

    sorted_costs = delta_costs.ravel()[order]
    cumulative_costs = jnp.cumsum(sorted_costs)
    previous_costs = jnp.concatenate([jnp.zeros(1, cumulative_costs.dtype), cumulative_costs[:-1]])
    # Back to (bucket, step) order. Padding sorts last and adds no cost.
    cumulative_costs, previous_costs = (
        jnp.zeros((2, n_buckets * n_levels), cumulative_costs.dtype)
        .at[:, order]
        .set(jnp.stack([cumulative_costs, previous_costs]))
        .reshape(2, n_buckets, n_levels)
    )

    whole = is_increment & (cumulative_costs <= spare_budget)
    partial = is_increment & ~whole & (previous_costs <= spare_budget)
    fraction = jnp.where(
        partial, (spare_budget - previous_costs) / jnp.where(partial, delta_costs, 1.0), 0.0
    )
    return whole.sum(axis=1), jnp.clip(fraction, 0.0, 1.0).sum(axis=1)


@jax.jit
def _solve_mckp_lp_core(
    values: jax.Array, costs: jax.Array, budget: jax.Array, available: jax.Array
) -> KnapsackSolution:
    """Solve the LP relaxation for (B, K) inputs of checked shapes, flag bad values by status."""
    n_buckets, n_levels = values.shape
    invalid = (
        jnp.any(available & ~(jnp.isfinite(values) & jnp.isfinite(costs)))
        | jnp.any(available & ((values < 0) | (costs < 0)))
        | jnp.any(~jnp.any(available, axis=1))
        | jnp.isnan(budget)
    )
    values = jnp.where(available, values, 0.0)
    costs = jnp.where(available, costs, 0.0)

    masked_costs = jnp.where(available, costs, jnp.inf)
    min_costs = jnp.min(masked_costs, axis=1)
    is_cheapest = available & (masked_costs == min_costs[:, None])
    cheapest = jnp.argmax(jnp.where(is_cheapest, values, -jnp.inf), axis=1)
    total_min_cost = jnp.sum(min_costs)
    slack = jnp.where(jnp.isfinite(budget), BUDGET_RTOL * jnp.abs(budget), 0.0)
    infeasible = total_min_cost > budget + slack

    vertices, delta_costs, delta_values, is_increment = _upper_hull_increments(
        values, costs, available, cheapest
    )
    spare_budget = jnp.maximum(budget - total_min_cost, 0.0)
    whole_steps, fraction = _greedy_fill(delta_costs, delta_values, is_increment, spare_budget)

    lower = jnp.take_along_axis(vertices, whole_steps[:, None], axis=1)[:, 0]
    upper = jnp.take_along_axis(vertices, whole_steps[:, None] + 1, axis=1)[:, 0]
    fraction = fraction[:, None]
    probabilities = (1.0 - fraction) * jax.nn.one_hot(lower, n_levels, dtype=values.dtype)
    probabilities = probabilities + fraction * jax.nn.one_hot(upper, n_levels, dtype=values.dtype)
    probabilities = jnp.where(
        infeasible, jax.nn.one_hot(cheapest, n_levels, dtype=values.dtype), probabilities
    )
    probabilities = jnp.where(invalid, jnp.nan, probabilities)

    status = jnp.where(invalid, INVALID_INPUT, jnp.where(infeasible, INFEASIBLE, SOLVED))
    return KnapsackSolution(
        assignment=jnp.argmax(jnp.where(invalid, 0.0, probabilities), axis=1),
        probabilities=probabilities,
        value=jnp.sum(probabilities * values),
        cost=jnp.sum(probabilities * costs),
        status=status.astype(jnp.int32),
        budget=budget,
    )
