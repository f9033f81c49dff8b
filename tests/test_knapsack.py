"""Tests of the multiple-choice knapsack solvers against enumeration and scipy's HiGHS LP."""

from __future__ import annotations

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linprog

from cuvet_jax.evaluation import _knapsack as knapsack_module
from cuvet_jax.evaluation._knapsack import (
    BRUTE_FORCE_MAX_ASSIGNMENTS,
    INFEASIBLE,
    INVALID_INPUT,
    SOLVED,
    brute_force_mckp,
    lp_value_curve,
    solve_mckp_ilp,
    solve_mckp_lp,
)

VALUE_RTOL = 1e-9
PADDED_SHAPE = (8, 5)


# ---------------------------------------------------------------------------------------------
# Random instances
# ---------------------------------------------------------------------------------------------


def make_instance(
    n_buckets: int, n_levels: int, seed: int, kind: str, mask_rate: float, budget_position: float
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Draw (V, C, budget, available) with budget = lo + budget_position * (hi - lo).

    lo and hi are the smallest and largest possible spends. The kinds are "uniform" (U(0, 1)
    tables), "integer" (small integers: many ties, equal costs, dominated levels) and "power"
    (bucket totals of order 1e5 following v(alpha) = v1 * alpha**gamma and
    c(alpha) = c1 * alpha**eta at levels spread over [0.8, 1.2]).
    """
    rng = np.random.default_rng(seed)
    shape = (n_buckets, n_levels)
    if kind == "uniform":
        values = rng.random(shape)
        costs = rng.random(shape)
    elif kind == "integer":
        values = rng.integers(0, 5, shape).astype(np.float64)
        costs = rng.integers(0, 5, shape).astype(np.float64)
    else:
        alphas = np.linspace(0.8, 1.2, n_levels)
        gamma = rng.uniform(0.2, 1.5, (n_buckets, 1))
        eta = gamma + rng.uniform(-0.3, 1.0, (n_buckets, 1))
        reference_values = rng.uniform(1e4, 2e5, (n_buckets, 1))
        reference_costs = rng.uniform(1e4, 2e5, (n_buckets, 1))
        values = reference_values * alphas**gamma * rng.uniform(0.97, 1.03, shape)
        costs = reference_costs * alphas**eta * rng.uniform(0.97, 1.03, shape)

    available = rng.random(shape) >= mask_rate
    available[np.arange(n_buckets), rng.integers(0, n_levels, n_buckets)] = True
    values = np.where(available, values, np.nan)
    costs = np.where(available, costs, np.nan)

    low = np.nanmin(costs, axis=1).sum()
    high = np.nanmax(costs, axis=1).sum()
    budget = float(low + budget_position * (high - low))
    return values, costs, budget, available


instances = st.builds(
    make_instance,
    n_buckets=st.integers(1, 8),
    n_levels=st.integers(2, 5),
    seed=st.integers(0, 2**31 - 1),
    kind=st.sampled_from(["uniform", "integer", "power"]),
    mask_rate=st.sampled_from([0.0, 0.0, 0.3]),
    budget_position=st.sampled_from([-0.3, 0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0, 1.3]),
)


def linprog_value(
    values: np.ndarray, costs: np.ndarray, budget: float, available: np.ndarray
) -> float | None:
    """Return the LP relaxation's optimal value from scipy's HiGHS, None when infeasible."""
    n_buckets, n_levels = values.shape
    result = linprog(
        -np.where(available, values, 0.0).ravel(),
        A_ub=np.where(available, costs, 0.0).ravel()[None, :],
        b_ub=[budget],
        A_eq=np.kron(np.eye(n_buckets), np.ones((1, n_levels))),
        b_eq=np.ones(n_buckets),
        bounds=[(0.0, 1.0 if allowed else 0.0) for allowed in available.ravel()],
        method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    if result.status == 2:
        return None
    assert result.status == 0, result.message
    return -result.fun


def pad_instance(
    values: np.ndarray, costs: np.ndarray, available: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Embed an instance in an equivalent one of shape PADDED_SHAPE.

    Added buckets have a single available level of zero value and cost, and added levels are
    unavailable. The LP solver then compiles once for all drawn shapes.
    """
    n_buckets, n_levels = values.shape
    padded_values = np.full(PADDED_SHAPE, np.nan)
    padded_costs = np.full(PADDED_SHAPE, np.nan)
    padded_available = np.zeros(PADDED_SHAPE, dtype=bool)
    padded_values[n_buckets:, 0] = 0.0
    padded_costs[n_buckets:, 0] = 0.0
    padded_available[n_buckets:, 0] = True
    padded_values[:n_buckets, :n_levels] = values
    padded_costs[:n_buckets, :n_levels] = costs
    padded_available[:n_buckets, :n_levels] = available
    return padded_values, padded_costs, padded_available


def solve_padded_lp(values, costs, budget, available):
    """Solve the LP on the padded instance and return the solution restricted to the real cells."""
    n_buckets, n_levels = values.shape
    padded_values, padded_costs, padded_available = pad_instance(values, costs, available)
    solution = solve_mckp_lp(padded_values, padded_costs, budget, padded_available)
    probabilities = np.asarray(solution.probabilities)
    assert np.all(probabilities[n_buckets:, 0] == 1.0)
    assert np.all(probabilities[:n_buckets, n_levels:] == 0.0)
    return solution._replace(
        assignment=np.asarray(solution.assignment)[:n_buckets],
        probabilities=probabilities[:n_buckets, :n_levels],
    )


def value_tolerance(values: np.ndarray) -> dict:
    return {"rel": VALUE_RTOL, "abs": 1e-12 * np.nanmax(values)}


def unconstrained_maximum(values: np.ndarray, available: np.ndarray) -> float:
    return float(np.where(available, values, -np.inf).max(axis=1).sum())


def cheapest_spend(costs: np.ndarray, available: np.ndarray) -> float:
    return float(np.where(available, costs, np.inf).min(axis=1).sum())


# ---------------------------------------------------------------------------------------------
# Integer program
# ---------------------------------------------------------------------------------------------


@given(instances)
def test_ilp_matches_brute_force(instance):
    values, costs, budget, available = instance
    ilp = solve_mckp_ilp(values, costs, budget, available)
    reference = brute_force_mckp(values, costs, budget, available)

    assert ilp.status == reference.status
    if reference.status == INFEASIBLE:
        assert cheapest_spend(costs, available) > budget
        return
    assert ilp.value == pytest.approx(reference.value, **value_tolerance(values))
    assert ilp.cost <= budget + 1e-12 * abs(budget)
    assert available[np.arange(len(values)), ilp.assignment].all()
    chosen = values[np.arange(len(values)), ilp.assignment].sum()
    assert ilp.value == pytest.approx(chosen, rel=1e-15)


def test_ilp_one_hot_solution_fields():
    values = np.array([[0.0, 3.0], [0.0, 4.0]])
    costs = np.array([[0.0, 1.0], [0.0, 2.0]])
    solution = solve_mckp_ilp(values, costs, 2.0)

    assert solution.status == SOLVED
    np.testing.assert_array_equal(solution.assignment, [0, 1])
    np.testing.assert_array_equal(solution.probabilities, [[1.0, 0.0], [0.0, 1.0]])
    assert solution.value == 4.0
    assert solution.cost == 2.0
    assert solution.budget == 2.0


def test_ilp_large_totals_match_brute_force():
    # Value totals near 1e6 and costs of order 1e5 per bucket.
    rng = np.random.default_rng(7)
    for _ in range(4):
        seed = int(rng.integers(1 << 30))
        values, costs, _, available = make_instance(7, 5, seed, "power", 0.0, 0.0)
        values = values * 1e6 / values.max(axis=1).sum()
        low = cheapest_spend(costs, available)
        high = costs.max(axis=1).sum()
        for position in (0.05, 0.4, 0.8):
            budget = low + position * (high - low)
            ilp = solve_mckp_ilp(values, costs, budget, available)
            reference = brute_force_mckp(values, costs, budget, available)
            assert ilp.status == SOLVED
            assert ilp.value == pytest.approx(reference.value, rel=VALUE_RTOL)
            assert ilp.cost <= budget


def test_ilp_budget_equal_to_cheapest_spend():
    values = np.array([[1.0, 5.0], [2.0, 6.0], [0.5, 0.7]])
    costs = np.array([[0.1, 0.3], [0.2, 0.4], [0.7, 0.9]])
    budget = 0.1 + 0.2 + 0.7
    solution = solve_mckp_ilp(values, costs, budget)

    assert solution.status == SOLVED
    np.testing.assert_array_equal(solution.assignment, [0, 0, 0])
    assert solution.value == pytest.approx(3.5, rel=1e-15)


def test_ilp_excludes_assignment_over_budget():
    # Bucket 0's level 1 overspends by 1e-10, inside HiGHS's feasibility tolerance but outside
    # BUDGET_RTOL, so the solver has to cut it off and fall back to bucket 1's level 1.
    values = np.array([[0.0, 10.0], [0.0, 1.0]])
    costs = np.array([[0.0, 1.0 + 1e-10], [0.0, 0.5]])
    solution = solve_mckp_ilp(values, costs, 1.0)

    assert solution.status == SOLVED
    np.testing.assert_array_equal(solution.assignment, [0, 1])
    assert solution.value == 1.0
    assert brute_force_mckp(values, costs, 1.0).value == 1.0


def test_ilp_raises_when_solver_keeps_overspending(monkeypatch):
    values = np.array([[0.0, 10.0], [0.0, 1.0]])
    costs = np.array([[0.0, 2.0], [0.0, 0.5]])
    over_budget = SimpleNamespace(x=np.array([0.0, 1.0, 1.0, 0.0]), message="stub")
    monkeypatch.setattr(knapsack_module, "_run_milp", lambda *args: over_budget)

    with pytest.raises(RuntimeError, match=r"cost 2.0 over the budget 1.0"):
        solve_mckp_ilp(values, costs, 1.0)


def test_brute_force_rejects_large_instance():
    n_levels = 4
    n_buckets = int(np.log(BRUTE_FORCE_MAX_ASSIGNMENTS) / np.log(n_levels)) + 1
    values = np.ones((n_buckets, n_levels))
    with pytest.raises(ValueError, match=rf"{n_levels}\*\*{n_buckets} assignments"):
        brute_force_mckp(values, values, 1.0)


# ---------------------------------------------------------------------------------------------
# LP relaxation
# ---------------------------------------------------------------------------------------------


def assert_valid_lp_solution(solution, values, costs, budget, available):
    probabilities = np.asarray(solution.probabilities)
    n_buckets = len(values)
    assert probabilities.shape == values.shape
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert probabilities.min() >= 0.0
    assert probabilities.max() <= 1.0
    assert np.all(probabilities[~available] == 0.0)

    positive = probabilities > 1e-12
    assert positive.sum(axis=1).max() <= 2
    fractional_buckets = (positive & (probabilities < 1.0 - 1e-12)).any(axis=1)
    assert fractional_buckets.sum() <= 1

    assert float(solution.cost) <= budget + 1e-9 * abs(budget)
    table_values = np.where(available, values, 0.0)
    table_costs = np.where(available, costs, 0.0)
    assert float(solution.value) == pytest.approx((probabilities * table_values).sum(), rel=1e-12)
    assert float(solution.cost) == pytest.approx((probabilities * table_costs).sum(), rel=1e-12)
    np.testing.assert_array_equal(solution.assignment, probabilities.argmax(axis=1))
    assert solution.assignment.shape == (n_buckets,)


@given(instances)
def test_lp_matches_linprog(instance):
    values, costs, budget, available = instance
    solution = solve_padded_lp(values, costs, budget, available)
    reference = linprog_value(values, costs, budget, available)

    if reference is None:
        assert int(solution.status) == INFEASIBLE
        return
    assert int(solution.status) == SOLVED
    assert float(solution.value) == pytest.approx(reference, **value_tolerance(values))
    assert_valid_lp_solution(solution, values, costs, budget, available)


@given(instances)
def test_lp_bounds_ilp(instance):
    values, costs, budget, available = instance
    lp = solve_padded_lp(values, costs, budget, available)
    ilp = solve_mckp_ilp(values, costs, budget, available)

    assert int(lp.status) == ilp.status
    if ilp.status == INFEASIBLE:
        return
    tolerance = 1e-12 * np.nanmax(values) * len(values)
    maximum = unconstrained_maximum(values, available)
    assert float(lp.value) >= ilp.value - tolerance
    assert float(lp.value) <= maximum + tolerance
    assert ilp.value <= maximum + tolerance


def test_lp_fractional_hull_vertex():
    # Hull (0, 0) -> (1, 2) -> (2, 3) -> (3, 3.2). Level 4 at (1.5, 1) lies below the hull.
    values = np.array([[0.0, 2.0, 3.0, 3.2, 1.0]])
    costs = np.array([[0.0, 1.0, 2.0, 3.0, 1.5]])
    solution = solve_mckp_lp(values, costs, 1.5)

    assert int(solution.status) == SOLVED
    np.testing.assert_allclose(solution.probabilities, [[0.0, 0.5, 0.5, 0.0, 0.0]], atol=1e-15)
    assert float(solution.value) == pytest.approx(2.5, rel=1e-15)
    assert float(solution.cost) == pytest.approx(1.5, rel=1e-15)
    assert int(solution.assignment[0]) == 1


def test_lp_takes_best_efficiency_first():
    # Bucket 0's increment has efficiency 3, bucket 1's has 2: bucket 0 goes up whole, and
    # bucket 1 gets the remaining budget 1 of its cost-2 increment (fraction 1/2).
    values = np.array([[0.0, 3.0], [0.0, 4.0]])
    costs = np.array([[0.0, 1.0], [0.0, 2.0]])
    lp = solve_mckp_lp(values, costs, 2.0)
    ilp = solve_mckp_ilp(values, costs, 2.0)

    np.testing.assert_allclose(lp.probabilities, [[0.0, 1.0], [0.5, 0.5]], atol=1e-15)
    assert float(lp.value) == pytest.approx(5.0, rel=1e-15)
    assert ilp.value == 4.0


def test_lp_skips_levels_of_lower_value():
    # Level 1 costs more than level 0 and is worth less, so level 2 is the only useful increment.
    values = np.array([[1.0, 0.5, 2.0]])
    costs = np.array([[0.0, 1.0, 4.0]])
    solution = solve_mckp_lp(values, costs, 2.0)

    np.testing.assert_allclose(solution.probabilities, [[0.5, 0.0, 0.5]], atol=1e-15)
    assert float(solution.value) == pytest.approx(1.5, rel=1e-15)


def test_lp_collinear_levels_use_two():
    values = np.array([[0.0, 1.0, 2.0, 3.0]])
    costs = np.array([[0.0, 1.0, 2.0, 3.0]])
    solution = solve_mckp_lp(values, costs, 1.5)

    assert float(solution.value) == pytest.approx(1.5, rel=1e-15)
    assert (np.asarray(solution.probabilities) > 0).sum() <= 2


def test_lp_cheapest_tie_starts_at_larger_value():
    values = np.array([[1.0, 2.0, 3.0]])
    costs = np.array([[1.0, 1.0, 2.0]])
    solution = solve_mckp_lp(values, costs, 1.0)

    np.testing.assert_allclose(solution.probabilities, [[0.0, 1.0, 0.0]], atol=1e-15)
    assert float(solution.value) == 2.0


def test_lp_single_level():
    values = np.array([[1.0], [2.0], [3.0]])
    costs = np.array([[0.5], [0.5], [1.0]])
    lp = solve_mckp_lp(values, costs, 2.0)
    ilp = solve_mckp_ilp(values, costs, 2.0)

    assert int(lp.status) == SOLVED
    np.testing.assert_array_equal(lp.probabilities, np.ones((3, 1)))
    assert float(lp.value) == 6.0
    assert ilp.value == 6.0


def test_unlimited_budget_reaches_maximum():
    rng = np.random.default_rng(3)
    values = rng.random(PADDED_SHAPE)
    costs = rng.random(PADDED_SHAPE)
    maximum = values.max(axis=1).sum()

    assert float(solve_mckp_lp(values, costs, np.inf).value) == pytest.approx(maximum, rel=1e-15)
    assert solve_mckp_ilp(values, costs, np.inf).value == pytest.approx(maximum, rel=1e-15)
    assert brute_force_mckp(values, costs, np.inf).value == pytest.approx(maximum, rel=1e-15)


def test_lp_jit_matches_eager():
    values, costs, budget, available = make_instance(*PADDED_SHAPE, 11, "uniform", 0.3, 0.4)
    eager = solve_mckp_lp(values, costs, budget, available)
    jitted = jax.jit(solve_mckp_lp)(values, costs, budget, available)

    assert int(jitted.status) == SOLVED
    np.testing.assert_allclose(jitted.probabilities, eager.probabilities, rtol=0, atol=1e-15)
    assert float(jitted.value) == pytest.approx(float(eager.value), rel=1e-15)


def test_lp_vmap_over_budgets():
    values, costs, _, available = make_instance(*PADDED_SHAPE, 12, "uniform", 0.0, 0.0)
    budgets = jnp.linspace(0.0, 6.0, 9)
    batched = jax.vmap(solve_mckp_lp, in_axes=(None, None, 0, None))(
        values, costs, budgets, available
    )

    assert batched.probabilities.shape == (9, *PADDED_SHAPE)
    for index, budget in enumerate(np.asarray(budgets)):
        single = solve_mckp_lp(values, costs, budget, available)
        assert int(batched.status[index]) == int(single.status)
        assert float(batched.value[index]) == pytest.approx(float(single.value), rel=1e-15)


def test_lp_value_curve_is_concave():
    values, costs, _, available = make_instance(*PADDED_SHAPE, 13, "power", 0.2, 0.0)
    low = cheapest_spend(costs, available)
    high = np.nanmax(costs, axis=1).sum()
    budgets = np.linspace(low, high * 1.1, 201)
    curve = np.asarray(lp_value_curve(values, costs, budgets, available))

    scale = np.nanmax(values) * len(values)
    assert np.all(np.diff(curve) >= -1e-12 * scale)
    # Equal budget spacing, so concavity is a non-positive second difference.
    assert np.all(np.diff(curve, n=2) <= 1e-9 * scale)
    assert np.any(np.diff(curve, n=2) < -1e-6 * scale)
    assert curve[-1] == pytest.approx(unconstrained_maximum(values, available), rel=1e-12)
    for budget, value in zip(budgets[::50], curve[::50]):
        reference = linprog_value(values, costs, budget, available)
        assert value == pytest.approx(reference, rel=VALUE_RTOL)


def test_lp_value_curve_infeasible_is_minus_infinity():
    values = np.array([[1.0, 2.0], [1.0, 3.0]])
    costs = np.array([[1.0, 2.0], [1.0, 2.0]])
    curve = lp_value_curve(values, costs, jnp.array([-1.0, 1.5, 2.0, 3.0]))

    np.testing.assert_allclose(curve, [-np.inf, -np.inf, 2.0, 4.0], rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# Infeasible budgets and invalid input
# ---------------------------------------------------------------------------------------------

SOLVERS = [solve_mckp_ilp, brute_force_mckp, solve_mckp_lp]


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda solver: solver.__name__)
@pytest.mark.parametrize("budget", [2.9, -1.0])
def test_infeasible_budget_returns_cheapest(solver, budget):
    # Bucket 0 has two cheapest levels (cost 1), and the one of larger value is returned.
    values = np.array([[1.0, 4.0, 5.0], [2.0, 3.0, 9.0]])
    costs = np.array([[1.0, 1.0, 3.0], [2.0, 5.0, 6.0]])
    solution = solver(values, costs, budget)

    assert int(solution.status) == INFEASIBLE
    np.testing.assert_array_equal(solution.assignment, [1, 0])
    np.testing.assert_array_equal(solution.probabilities, [[0, 1, 0], [1, 0, 0]])
    assert float(solution.cost) == 3.0
    assert float(solution.value) == 6.0


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda solver: solver.__name__)
def test_unavailable_cells_may_be_nan(solver):
    values = np.array([[1.0, np.nan, 3.0], [2.0, 5.0, np.nan]])
    costs = np.array([[1.0, np.nan, 2.0], [1.0, 3.0, np.nan]])
    available = ~np.isnan(values)
    solution = solver(values, costs, 5.0, available)

    assert int(solution.status) == SOLVED
    np.testing.assert_array_equal(solution.assignment, [2, 1])
    assert float(solution.value) == 8.0
    assert float(solution.cost) == 5.0


INVALID_CASES = [
    ("shape_mismatch", np.ones((2, 3)), np.ones((2, 4)), 1.0, None,
     r"V has shape \(2, 3\) but C has shape \(2, 4\)"),
    ("one_dimensional", np.ones(3), np.ones(3), 1.0, None, r"V must be a 2-D table"),
    ("no_levels", np.ones((2, 0)), np.ones((2, 0)), 1.0, None,
     r"at least one bucket and one level"),
    ("mask_shape", np.ones((2, 3)), np.ones((2, 3)), 1.0, np.ones((3, 2), bool),
     r"available has shape \(3, 2\)"),
    ("nan_value", np.array([[1.0, 2.0, 3.0], [1.0, 2.0, np.nan]]), np.ones((2, 3)), 1.0, None,
     r"V\[1, 2\] is nan"),
    ("infinite_value", np.array([[np.inf, 1.0]]), np.ones((1, 2)), 1.0, None, r"V\[0, 0\] is inf"),
    ("negative_cost", np.ones((2, 3)), np.array([[1.0, -0.5, 1.0], [1.0, 1.0, 1.0]]), 1.0, None,
     r"C\[0, 1\] is -0.5, but C must be non-negative"),
    ("negative_value", np.array([[1.0, -2.0]]), np.ones((1, 2)), 1.0, None,
     r"V\[0, 1\] is -2.0, but V must be non-negative"),
    ("empty_bucket", np.ones((2, 3)), np.ones((2, 3)), 1.0,
     np.array([[True, False, True], [False, False, False]]), r"bucket 1 has no available level"),
    ("nan_budget", np.ones((2, 3)), np.ones((2, 3)), np.nan, None, r"budget is NaN"),
    ("array_budget", np.ones((2, 3)), np.ones((2, 3)), np.ones(2), None,
     r"budget must be a scalar, got an array of shape \(2,\)"),
]


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda solver: solver.__name__)
@pytest.mark.parametrize(
    "values, costs, budget, available, message",
    [case[1:] for case in INVALID_CASES],
    ids=[case[0] for case in INVALID_CASES],
)
def test_invalid_input_raises(solver, values, costs, budget, available, message):
    with pytest.raises(ValueError, match=message):
        solver(values, costs, budget, available)


def test_value_curve_rejects_nan_budget():
    with pytest.raises(ValueError, match="budget is NaN"):
        lp_value_curve(np.ones((2, 2)), np.ones((2, 2)), np.array([1.0, np.nan]))


def test_value_curve_rejects_scalar_budget():
    with pytest.raises(ValueError, match=r"1-D array of budgets, got an array of shape \(\)"):
        lp_value_curve(np.ones((2, 2)), np.ones((2, 2)), 1.0)


def test_lp_traced_invalid_input_sets_status():
    values = np.array([[1.0, np.nan], [1.0, 2.0]])
    costs = np.array([[1.0, 1.0], [-1.0, 2.0]])
    solution = jax.jit(solve_mckp_lp)(values, costs, 3.0)

    assert int(solution.status) == INVALID_INPUT
    assert np.isnan(float(solution.value))
    assert np.all(np.isnan(np.asarray(solution.probabilities)))
