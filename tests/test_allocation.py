"""equalize against an independent root finder, its derivatives, and its transformations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize

from cuvet_jax import INFEASIBLE, INVALID_INPUT, NO_ADMISSIBLE_BUCKET, SOLVED, PowerLaw, equalize


def random_problem(rng, n_buckets):
    gamma = rng.uniform(0.1, 2.0, n_buckets)
    eta = gamma + rng.uniform(0.1, 2.0, n_buckets)
    value_ref = 10 ** rng.uniform(-2, 3, n_buckets)
    cost_ref = 10 ** rng.uniform(-2, 3, n_buckets)
    return PowerLaw(value_ref, cost_ref, gamma, eta)


def reference_solution(power_law, budget, bounds):
    """Solve sum_b c_b(alpha_b(mu)) = budget with scipy's brentq on log(mu), independently of equalize."""
    v, c, g, e = (np.asarray(a, dtype=np.float64) for a in (power_law.value_ref, power_law.cost_ref, power_law.gamma, power_law.eta))
    mcuv = e / g * c / v

    def alpha_of(log_mu):
        alpha = np.exp((log_mu - np.log(mcuv)) / (e - g))
        return alpha if bounds is None else np.clip(alpha, *bounds)

    def gap(log_mu):
        return np.log(np.sum(c * alpha_of(log_mu) ** e)) - np.log(budget)

    # Far ends of the bracket overflow to inf or 0 in numpy; brentq only needs their signs.
    with np.errstate(over="ignore", divide="ignore"):
        log_mu = scipy.optimize.brentq(gap, -200.0, 200.0, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    alpha = alpha_of(log_mu)
    return alpha, np.sum(v * alpha**g), np.exp(log_mu)


@pytest.mark.parametrize("bounds", [None, (0.5, 1.5)])
def test_equalize_matches_brentq(bounds):
    rng = np.random.default_rng(0)
    for trial in range(30):
        power_law = random_problem(rng, int(rng.choice([1, 5, 32])))
        if bounds is None:
            budget = float(power_law.cost_ref.sum()) * 10 ** rng.uniform(-1, 1)
        else:
            low = float(power_law.cost(bounds[0]).sum())
            high = float(power_law.cost(bounds[1]).sum())
            budget = low + rng.uniform(0.01, 0.99) * (high - low)
        allocation = equalize(power_law, budget, bounds)
        alpha, value, mu = reference_solution(power_law, budget, bounds)
        assert int(allocation.status) == SOLVED
        np.testing.assert_allclose(allocation.alpha, alpha, rtol=1e-9)
        np.testing.assert_allclose(allocation.value, value, rtol=1e-9)
        np.testing.assert_allclose(allocation.cost, budget, rtol=1e-9)
        if bounds is None:
            np.testing.assert_allclose(allocation.mu, mu, rtol=1e-9)


def test_equalize_threshold_example_population():
    # Per-row means times bucket shares 0.1, 0.4, 0.5 of the three-bucket example.
    share = np.array([0.1, 0.4, 0.5])
    power_law = PowerLaw(np.array([6.5, 1.63, 1.19]) * share, np.array([0.4, 0.1, 0.1]) * share, np.ones(3), np.full(3, 1.5))
    allocation = equalize(power_law, float(power_law.cost_ref.sum()))
    np.testing.assert_allclose(power_law.mcuv_ref, [0.0923077, 0.0920245, 0.1260504], rtol=1e-6)
    np.testing.assert_allclose(allocation.mu, 0.1007, atol=5e-5)
    np.testing.assert_allclose(allocation.alpha, [1.191, 1.198, 0.639], atol=5e-4)
    dv = allocation.value / power_law.value_ref.sum() - 1
    np.testing.assert_allclose(dv, 0.0204, atol=5e-5)


def test_equalize_infeasible_budget_reported():
    power_law = PowerLaw(np.array([1.0, 2.0]), np.array([1.0, 1.0]), np.array([0.5, 0.5]), np.array([1.0, 1.5]))
    too_low = equalize(power_law, 0.1, (0.5, 1.5))
    assert int(too_low.status) == INFEASIBLE
    np.testing.assert_array_equal(too_low.alpha, [0.5, 0.5])
    too_high = equalize(power_law, 100.0, (0.5, 1.5))
    assert int(too_high.status) == INFEASIBLE
    np.testing.assert_array_equal(too_high.alpha, [1.5, 1.5])


def test_equalize_holds_inadmissible_bucket_at_reference():
    power_law = PowerLaw(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 0.5]), np.array([0.5, -0.2, 0.7]), np.array([1.0, 1.5, 1.2]))
    assert power_law.admissible.tolist() == [True, False, True]
    allocation = equalize(power_law, 3.0)
    assert float(allocation.alpha[1]) == 1.0
    np.testing.assert_allclose(allocation.cost, 3.0, rtol=1e-12)
    keep = np.array([0, 2])
    admissible = PowerLaw(power_law.value_ref[keep], power_law.cost_ref[keep], power_law.gamma[keep], power_law.eta[keep])
    np.testing.assert_allclose(allocation.alpha[keep], equalize(admissible, 2.0).alpha, rtol=1e-12)


def test_equalize_no_admissible_bucket():
    power_law = PowerLaw(np.array([1.0, 2.0]), np.array([1.0, 1.0]), np.array([-0.5, 2.0]), np.array([1.0, 1.5]))
    allocation = equalize(power_law, 2.0)
    assert int(allocation.status) == NO_ADMISSIBLE_BUCKET
    np.testing.assert_array_equal(allocation.alpha, [1.0, 1.0])
    assert np.isfinite(allocation.value)


def test_equalize_under_jit_and_vmap():
    power_law = random_problem(np.random.default_rng(1), 5)
    budgets = jnp.linspace(0.5, 2.0, 7) * power_law.cost_ref.sum()
    batched = jax.jit(jax.vmap(lambda b: equalize(power_law, b, (0.5, 1.5))))(budgets)
    for i, budget in enumerate(budgets):
        single = equalize(power_law, budget, (0.5, 1.5))
        np.testing.assert_allclose(batched.alpha[i], single.alpha, rtol=1e-12)
        assert int(batched.status[i]) == int(single.status)
    stacked = jax.tree_util.tree_map(lambda a: jnp.stack([a, a * 1.1]), power_law)
    over_problems = jax.vmap(lambda p: equalize(p, power_law.cost_ref.sum()))(stacked)
    np.testing.assert_allclose(over_problems.alpha[0], equalize(power_law, power_law.cost_ref.sum()).alpha, rtol=1e-12)


@pytest.mark.parametrize("bounds", [None, (0.5, 1.5)])
def test_grad_through_mu_matches_central_differences(bounds):
    power_law = PowerLaw(np.array([3.0, 1.0, 2.0]), np.array([1.0, 0.6, 0.9]), np.array([0.6, 0.9, 0.4]), np.array([1.2, 1.5, 1.1]))
    budget = 2.5

    def total_value(gamma, budget):
        law = PowerLaw(power_law.value_ref, power_law.cost_ref, gamma, power_law.eta)
        return equalize(law, budget, bounds).value

    def mu_of(gamma):
        return equalize(PowerLaw(power_law.value_ref, power_law.cost_ref, gamma, power_law.eta), budget, bounds).mu

    assert int(equalize(power_law, budget, bounds).status) == SOLVED
    gamma = power_law.gamma
    grad = jax.grad(total_value)(gamma, budget)
    step = 1e-6
    for b in range(3):
        e = jnp.zeros(3).at[b].set(step)
        central = (total_value(gamma + e, budget) - total_value(gamma - e, budget)) / (2 * step)
        np.testing.assert_allclose(grad[b], central, rtol=1e-6)
    direction = jnp.array([0.3, -0.2, 0.5])
    _, tangent = jax.jvp(mu_of, (gamma,), (direction,))
    central = (mu_of(gamma + step * direction) - mu_of(gamma - step * direction)) / (2 * step)
    np.testing.assert_allclose(tangent, central, rtol=1e-6)
    # Envelope identity: the optimal value grows at 1 / mu per unit of budget.
    d_value_d_budget = jax.grad(total_value, argnums=1)(gamma, budget)
    np.testing.assert_allclose(d_value_d_budget, 1.0 / mu_of(gamma), rtol=1e-9)


def test_gradient_zero_when_all_clipped():
    power_law = PowerLaw(np.array([1.0, 2.0]), np.array([1.0, 1.0]), np.array([0.5, 0.5]), np.array([1.0, 1.5]))
    grad = jax.grad(lambda gamma: equalize(PowerLaw(power_law.value_ref, power_law.cost_ref, gamma, power_law.eta), 100.0, (0.5, 1.5)).mu)(power_law.gamma)
    np.testing.assert_array_equal(grad, [0.0, 0.0])


def test_float32_loses_precision_float64_keeps():
    power_law = random_problem(np.random.default_rng(3), 30)
    budget = float(power_law.cost_ref.sum())
    exact, _, _ = reference_solution(power_law, budget, None)
    as32 = jax.tree_util.tree_map(lambda a: a.astype(jnp.float32) if a.dtype == jnp.float64 else a, power_law)
    error32 = np.max(np.abs(np.asarray(equalize(as32, np.float32(budget)).alpha) / exact - 1))
    error64 = np.max(np.abs(np.asarray(equalize(power_law, budget).alpha) / exact - 1))
    assert error64 < 1e-11
    assert 1e-9 < error32 < 1e-3


@pytest.mark.parametrize(
    "budget, bounds",
    [(np.nan, None), (np.inf, None), (np.inf, (0.5, 1.5)), (1.0, (0.0, 1.5)), (1.0, (1.5, 0.5)), (1.0, (-1.0, 1.5)), (1.0, (0.5, np.inf))],
)
def test_invalid_budget_or_bounds_reported(budget, bounds):
    power_law = PowerLaw(np.array([1.0, 2.0]), np.array([1.0, 1.0]), np.array([0.5, 0.5]), np.array([1.0, 1.5]))
    allocation = equalize(power_law, budget, bounds)
    assert int(allocation.status) == INVALID_INPUT
    assert np.isnan(allocation.alpha).all()
    assert np.isnan(allocation.value)


def test_invalid_input_keeps_gradients_finite_elsewhere():
    power_law = PowerLaw(np.array([1.0, 2.0]), np.array([1.0, 1.0]), np.array([0.5, 0.5]), np.array([1.0, 1.5]))
    grad = jax.grad(lambda b: equalize(power_law, b, (0.5, 1.5)).value)(2.0)
    assert np.isfinite(grad)
    assert grad > 0
