"""Unit tests of the KKT residuals and of the numerical reference solver on small fixed problems."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cuvet_jax._allocation import SOLVED, Allocation, equalize
from cuvet_jax._kkt import kkt_residuals
from cuvet_jax._power_law import PowerLaw
from cuvet_jax._reference_solver import project_capped_simplex, solve_allocation_numerically

# Three buckets whose optimum at BUDGET with BOUNDS has the first at alpha_min, the second
# interior and the third at alpha_max.
POWER_LAW = PowerLaw(
    jnp.array([1.0, 2.0, 6.0]), jnp.array([2.0, 1.0, 0.5]), jnp.array([0.5, 0.8, 0.9]), jnp.array([1.5, 1.6, 1.2])
)
BOUNDS = (0.5, 1.5)
BUDGET = 3.0


def _allocation_at(power_law, budget, alpha, mu, status=SOLVED) -> Allocation:
    alpha = jnp.asarray(alpha)
    return Allocation(
        alpha=alpha,
        mu=jnp.asarray(mu),
        value=power_law.value(alpha).sum(),
        cost=power_law.cost(alpha).sum(),
        bucket_value=power_law.value(alpha),
        bucket_cost=power_law.cost(alpha),
        status=jnp.asarray(status, jnp.int32),
    )


def _alpha_at_price(power_law, mu, bounds=None):
    """Levels that equalize the mCUV at price mu: alpha_b = (mu / mCUV_b(1)) ** (1 / (eta_b - gamma_b))."""
    alpha = (mu / power_law.mcuv_ref) ** (1.0 / (power_law.eta - power_law.gamma))
    return alpha if bounds is None else jnp.clip(alpha, *bounds)


def test_optimum_has_expected_active_set():
    allocation = equalize(POWER_LAW, BUDGET, BOUNDS)
    kkt = kkt_residuals(POWER_LAW, BUDGET, allocation, BOUNDS)
    np.testing.assert_array_equal(kkt.at_lower, [True, False, False])
    np.testing.assert_array_equal(kkt.interior, [False, True, False])
    np.testing.assert_array_equal(kkt.at_upper, [False, False, True])
    assert float(kkt.max_residual) < 1e-12


def test_multipliers_match_hand_computation():
    allocation = equalize(POWER_LAW, BUDGET, BOUNDS)
    kkt = kkt_residuals(POWER_LAW, BUDGET, allocation, BOUNDS)
    alpha = np.asarray(allocation.alpha)
    value_ref, cost_ref = np.asarray(POWER_LAW.value_ref), np.asarray(POWER_LAW.cost_ref)
    gamma, eta = np.asarray(POWER_LAW.gamma), np.asarray(POWER_LAW.eta)
    value_slope = gamma * value_ref * alpha ** (gamma - 1)
    cost_slope = eta * cost_ref * alpha ** (eta - 1)

    budget_multiplier = value_slope[1] / cost_slope[1]
    assert float(kkt.budget_multiplier) == pytest.approx(budget_multiplier, rel=1e-12)
    assert float(kkt.budget_multiplier) == pytest.approx(1 / float(allocation.mu), rel=1e-12)
    expected_lower = [budget_multiplier * cost_slope[0] - value_slope[0], 0.0, 0.0]
    expected_upper = [0.0, 0.0, value_slope[2] - budget_multiplier * cost_slope[2]]
    np.testing.assert_allclose(kkt.lower_multiplier, expected_lower, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(kkt.upper_multiplier, expected_upper, rtol=1e-12, atol=1e-15)
    assert expected_lower[0] > 0
    assert expected_upper[2] > 0
    assert float(kkt.total_cost) == pytest.approx(BUDGET, rel=1e-14)
    assert float(kkt.total_value) == pytest.approx(float(allocation.value), rel=1e-14)


@pytest.mark.parametrize("factor", [0.99, 1.01])
@pytest.mark.parametrize("bounds", [None, BOUNDS])
def test_price_off_by_one_percent_is_detected(factor, bounds):
    allocation = equalize(POWER_LAW, BUDGET, bounds)
    mu = allocation.mu * factor
    wrong = _allocation_at(POWER_LAW, BUDGET, _alpha_at_price(POWER_LAW, mu, bounds), mu)
    kkt = kkt_residuals(POWER_LAW, BUDGET, wrong, bounds)
    assert float(kkt.max_residual) > 1e-4
    # The levels are consistent with their own price, so the budget shows the error.
    assert float(jnp.max(jnp.abs(kkt.stationarity))) < 1e-12
    assert float(kkt.budget_violation + kkt.budget_slackness) > 1e-4


def test_one_moved_bucket_fails_stationarity():
    allocation = equalize(POWER_LAW, BUDGET)
    alpha = allocation.alpha.at[1].multiply(1.001)
    kkt = kkt_residuals(POWER_LAW, BUDGET, alpha)
    moved = np.abs(np.asarray(kkt.stationarity))
    assert moved.max() > 1e-5
    assert float(kkt.max_residual) > 1e-5


def test_bucket_held_at_wrong_bound_fails_dual_feasibility():
    # Moving bucket 2 from alpha_max to alpha_min and giving its spend to bucket 0 keeps the
    # budget but puts a bucket that wants more at its lower bound.
    alpha = np.asarray(equalize(POWER_LAW, BUDGET, BOUNDS).alpha).copy()
    alpha[2] = BOUNDS[0]
    spend_left = BUDGET - float(POWER_LAW.cost(alpha)[1]) - float(POWER_LAW.cost(alpha)[2])
    alpha[0] = (spend_left / float(POWER_LAW.cost_ref[0])) ** (1 / float(POWER_LAW.eta[0]))
    kkt = kkt_residuals(POWER_LAW, BUDGET, jnp.asarray(alpha), BOUNDS)
    assert bool(kkt.at_lower[2])
    assert float(kkt.lower_multiplier[2]) < 0
    assert float(kkt.dual_violation[2]) > 0.1
    assert float(kkt.total_cost) == pytest.approx(BUDGET, rel=1e-12)


def test_slack_budget_fails_complementary_slackness():
    allocation = equalize(POWER_LAW, BUDGET)
    kkt = kkt_residuals(POWER_LAW, 1.5 * BUDGET, allocation.alpha)
    assert float(kkt.budget_violation) == 0.0
    assert float(kkt.budget_slackness) == pytest.approx(1 / 3, rel=1e-12)


def test_overspent_budget_fails_primal_feasibility():
    allocation = equalize(POWER_LAW, BUDGET)
    kkt = kkt_residuals(POWER_LAW, BUDGET / 2, allocation.alpha)
    assert float(kkt.budget_violation) == pytest.approx(1.0, rel=1e-12)


def test_level_outside_bounds_is_reported():
    alpha = jnp.array([0.4, 1.0, 1.6])
    kkt = kkt_residuals(POWER_LAW, BUDGET, alpha, BOUNDS)
    np.testing.assert_allclose(kkt.bound_violation, [0.1 / 0.5, 0.0, 0.1 / 1.5], rtol=1e-12)


def test_held_bucket_counts_only_through_cost():
    # Bucket 0 has gamma > eta, so it is held; its level is arbitrary but its cost is spent.
    power_law = PowerLaw(jnp.array([1.0, 2.0, 3.0]), jnp.array([1.0, 1.0, 2.0]), jnp.array([2.0, 0.5, 0.7]), jnp.array([1.0, 1.0, 1.4]))
    allocation = equalize(power_law, 5.0)
    kkt = kkt_residuals(power_law, 5.0, allocation)
    assert not bool(power_law.admissible[0])
    assert float(allocation.alpha[0]) == 1.0
    assert float(kkt.stationarity[0]) == 0.0
    assert float(kkt.max_residual) < 1e-12

    moved = kkt_residuals(power_law, 5.0, allocation.alpha.at[0].set(2.0))
    assert float(moved.stationarity[0]) == 0.0
    assert float(moved.budget_violation) == pytest.approx(1.0 / 5.0, rel=1e-12)


def test_price_mismatch_uses_allocation_mu():
    allocation = equalize(POWER_LAW, BUDGET, BOUNDS)
    stale = _allocation_at(POWER_LAW, BUDGET, allocation.alpha, allocation.mu * 1.02)
    kkt = kkt_residuals(POWER_LAW, BUDGET, stale, BOUNDS)
    assert float(kkt.price_mismatch) == pytest.approx(0.02, rel=1e-10)
    assert float(kkt_residuals(POWER_LAW, BUDGET, allocation.alpha, BOUNDS).price_mismatch) == 0.0


def test_kkt_residuals_jit_and_vmap():
    budgets = jnp.array([2.0, 3.0, 3.5, 4.0])

    @jax.jit
    def residual(budget):
        allocation = equalize(POWER_LAW, budget, BOUNDS)
        return kkt_residuals(POWER_LAW, budget, allocation, BOUNDS).max_residual

    batched = np.asarray(jax.vmap(residual)(budgets))
    assert batched.shape == (4,)
    assert np.all(batched < 1e-12)
    np.testing.assert_allclose(batched, [float(residual(b)) for b in budgets], atol=1e-15)


def test_project_capped_simplex_matches_bisection():
    rng = np.random.default_rng(3)
    project = jax.jit(project_capped_simplex)
    n = 8
    for _ in range(20):
        lower = rng.uniform(0.0, 1.0, n)
        upper = lower + rng.uniform(0.0, 2.0, n) * (rng.uniform(size=n) > 0.2)
        point = rng.normal(0.0, 2.0, n)
        weights = rng.uniform(0.1, 10.0, n)
        total = rng.uniform(lower.sum(), upper.sum())
        projected = np.asarray(project(jnp.asarray(point), jnp.asarray(lower), jnp.asarray(upper), total, jnp.asarray(weights)))

        low, high = -1e6, 1e6
        for _ in range(200):
            middle = 0.5 * (low + high)
            if np.clip(point + middle * weights, lower, upper).sum() < total:
                low = middle
            else:
                high = middle
        expected = np.clip(point + 0.5 * (low + high) * weights, lower, upper)
        assert projected.sum() == pytest.approx(total, rel=1e-12)
        np.testing.assert_allclose(projected, expected, atol=1e-9)


@pytest.mark.parametrize("bounds", [None, BOUNDS])
@pytest.mark.parametrize("method", ["projected_gradient", "slsqp"])
def test_numerical_solver_reaches_closed_form(bounds, method):
    allocation = equalize(POWER_LAW, BUDGET, bounds)
    numerical = solve_allocation_numerically(POWER_LAW, BUDGET, bounds, method=method)
    assert bool(numerical.converged)
    assert bool(numerical.feasible)
    assert float(numerical.value) == pytest.approx(float(allocation.value), rel=1e-9)
    np.testing.assert_allclose(numerical.alpha, allocation.alpha, rtol=1e-5)
    assert float(kkt_residuals(POWER_LAW, BUDGET, numerical.alpha, bounds).max_residual) < 1e-5


def test_numerical_solver_vmaps_over_budgets():
    budgets = jnp.array([2.0, 3.0, 4.0])
    numerical = jax.vmap(lambda c: solve_allocation_numerically(POWER_LAW, c, BOUNDS))(budgets)
    closed_form = jax.vmap(lambda c: equalize(POWER_LAW, c, BOUNDS))(budgets)
    assert bool(numerical.converged.all())
    np.testing.assert_allclose(numerical.value, closed_form.value, rtol=1e-12)


def test_numerical_solver_without_budget_left():
    # The held bucket alone costs 1 > 0.5, so nothing is left for the admissible ones.
    power_law = PowerLaw(jnp.array([1.0, 2.0]), jnp.array([1.0, 1.0]), jnp.array([2.0, 0.5]), jnp.array([1.0, 1.0]))
    numerical = solve_allocation_numerically(power_law, 0.5)
    assert not bool(numerical.feasible)
    assert not bool(numerical.converged)
    assert float(numerical.alpha[1]) == 0.0


def test_numerical_solver_rejects_unknown_method():
    with pytest.raises(ValueError, match="method must be"):
        solve_allocation_numerically(POWER_LAW, BUDGET, method="newton")


@pytest.mark.parametrize("budget, bounds", [(BUDGET, (1.5, 0.5)), (BUDGET, (0.0, 1.5)), (float("nan"), BOUNDS)])
def test_numerical_solver_flags_invalid_input(budget, bounds):
    numerical = solve_allocation_numerically(POWER_LAW, budget, bounds)
    assert not bool(numerical.feasible)
    assert not bool(numerical.converged)
