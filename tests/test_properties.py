"""Property tests of the closed-form allocation `equalize` on random problems.

Each problem has 1 to 64 buckets, padded to 64 with dummy buckets (zero reference totals, so
inadmissible and held at zero cost), so that every jitted function compiles once per variant
(clipped or not). Parameters: v_b(1) and c_b(1) in [1e-2, 1e2], gamma_b in [0.05, 3],
eta_b - gamma_b in [0.05, 3], up to two held buckets with gamma >= eta, and budgets inside, at
the ends of, and outside the feasible range.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from jax.test_util import check_grads

from cuvet_jax._allocation import INFEASIBLE, NO_ADMISSIBLE_BUCKET, SOLVED, equalize
from cuvet_jax._kkt import kkt_residuals
from cuvet_jax._power_law import PowerLaw
from cuvet_jax._reference_solver import project_capped_simplex, solve_allocation_numerically

PADDED_BUCKETS = 64
KKT_TOLERANCE = 1e-9


class Problem(NamedTuple):
    """One random allocation problem.

    Attributes:
        parameters: rows v(1), c(1), gamma, eta, shape (4, PADDED_BUCKETS).
        budget: the budget C.
        bounds: (alpha_min, alpha_max), used only when `clipped`.
        clipped: whether the levels are bounded.
        n_buckets: buckets before padding.
        regime: where the budget lies: "inside" the range of spend the bounds allow, in its
            "middle" 90 %, "at_min" or "at_max" (its ends), "below" or "above" it, or
            "held_exceed" (the held buckets alone cost more than the budget, unclipped only).
            Without bounds, "inside" and "middle" are the same.
    """

    parameters: np.ndarray
    budget: float
    bounds: np.ndarray
    clipped: bool
    n_buckets: int
    regime: str

    @property
    def power_law(self) -> PowerLaw:
        return PowerLaw(*jnp.asarray(self.parameters))

    @property
    def bounds_or_none(self) -> tuple[float, float] | None:
        return (float(self.bounds[0]), float(self.bounds[1])) if self.clipped else None


def _uniform_array(n, low, high):
    return hnp.arrays(np.float64, n, elements=st.floats(low, high))


@st.composite
def problems(draw, max_buckets: int = PADDED_BUCKETS, clipped: bool | None = None, regimes=None) -> Problem:
    """Draw a Problem; `regimes` limits the budget regimes, `clipped` fixes the variant."""
    n = draw(st.integers(1, max_buckets))
    value_ref = 10.0 ** draw(_uniform_array(n, -2.0, 2.0))
    cost_ref = 10.0 ** draw(_uniform_array(n, -2.0, 2.0))
    gamma = draw(_uniform_array(n, 0.05, 3.0))
    eta = gamma + draw(_uniform_array(n, 0.05, 3.0))
    n_held = draw(st.integers(0, min(2, n - 1)))
    # Swapping the elasticities gives gamma > eta: no diminishing returns, so the bucket is held.
    gamma[:n_held], eta[:n_held] = eta[:n_held].copy(), gamma[:n_held].copy()
    if clipped is None:
        clipped = draw(st.booleans())
    bounds = np.array([draw(st.floats(0.2, 0.95)), draw(st.floats(1.05, 3.0))])

    # Held buckets stay at alpha = 1, which lies inside the bounds.
    held_cost = cost_ref[:n_held].sum()
    active = slice(n_held, n)
    if clipped:
        choices = regimes or ("inside", "at_min", "at_max", "below", "above")
        regime = draw(st.sampled_from(choices))
        least = (cost_ref[active] * bounds[0] ** eta[active]).sum()
        most = (cost_ref[active] * bounds[1] ** eta[active]).sum()
        if regime == "inside":
            free_budget = least + draw(st.floats(0.0, 1.0)) * (most - least)
        elif regime == "middle":
            free_budget = least + draw(st.floats(0.05, 0.95)) * (most - least)
        elif regime == "at_min":
            free_budget = least
        elif regime == "at_max":
            free_budget = most
        elif regime == "below":
            free_budget = least * draw(st.floats(0.5, 0.99))
        else:
            free_budget = most * draw(st.floats(1.01, 2.0))
    else:
        choices = [r for r in (regimes or ("inside", "held_exceed")) if r in ("inside", "middle", "held_exceed")]
        regime = draw(st.sampled_from(choices)) if n_held > 0 else choices[0]
        if regime in ("inside", "middle"):
            free_budget = cost_ref[active].sum() * 10.0 ** draw(st.floats(-2.0, 2.0))
        else:
            free_budget = -0.5 * held_cost

    parameters = np.zeros((4, PADDED_BUCKETS))
    for row, values in enumerate((value_ref, cost_ref, gamma, eta)):
        parameters[row, :n] = values
    return Problem(parameters, float(held_cost + free_budget), bounds, clipped, n, regime)


@functools.partial(jax.jit, static_argnames="clipped")
def _solve_and_check(parameters, budget, bounds, clipped):
    """Run `equalize` and `kkt_residuals` on one problem."""
    power_law = PowerLaw(*parameters)
    bounds_arg = (bounds[0], bounds[1]) if clipped else None
    allocation = equalize(power_law, budget, bounds_arg)
    return allocation, kkt_residuals(power_law, budget, allocation, bounds_arg)


def _run(problem: Problem):
    return _solve_and_check(
        jnp.asarray(problem.parameters), problem.budget, jnp.asarray(problem.bounds), problem.clipped
    )


@pytest.fixture(scope="module")
def residual_record(request):
    """Collect the largest KKT residual over solved problems and print it after the module."""
    record = {"largest": 0.0, "count": 0}
    yield record
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None and record["count"]:
        with capture.global_and_fixture_disabled():
            print(f"\nlargest KKT residual of equalize over {record['count']} budgets in the feasible range: {record['largest']:.3e}")


@given(problem=problems())
def test_closed_form_satisfies_kkt(problem, residual_record):
    allocation, kkt = _run(problem)
    active = np.asarray(problem.power_law.admissible)
    alpha = np.asarray(allocation.alpha)

    if problem.regime in ("inside", "middle", "at_min", "at_max"):
        assert int(allocation.status) == SOLVED
        largest = float(kkt.max_residual)
        residual_record["largest"] = max(residual_record["largest"], largest)
        residual_record["count"] += 1
        assert largest < KKT_TOLERANCE, kkt
    elif problem.regime == "above":
        # Every bucket at alpha_max is optimal when the budget constraint is sum c <= C.
        assert int(allocation.status) == INFEASIBLE
        np.testing.assert_allclose(alpha[active], problem.bounds[1], rtol=1e-12)
        assert float(kkt.max_residual) < KKT_TOLERANCE
    elif problem.regime == "below":
        assert int(allocation.status) == INFEASIBLE
        np.testing.assert_allclose(alpha[active], problem.bounds[0], rtol=1e-12)
        cost_ref, eta = problem.parameters[1], problem.parameters[3]
        least_spend = np.where(active, cost_ref * problem.bounds[0] ** eta, cost_ref).sum()
        assert float(kkt.budget_violation) > 0
        assert float(kkt.budget_violation) == pytest.approx(least_spend / problem.budget - 1, rel=1e-9)
    else:
        assert int(allocation.status) == INFEASIBLE
        assert float(kkt.budget_violation) > 0.1


@given(problem=problems())
def test_numerical_solver_matches_closed_form(problem):
    allocation, _ = _run(problem)
    numerical = solve_allocation_numerically(problem.power_law, problem.budget, problem.bounds_or_none)

    if problem.regime in ("below", "held_exceed"):
        assert not bool(numerical.feasible)
        return
    assert bool(numerical.feasible)
    assert bool(numerical.converged), numerical
    closed_form_value = float(allocation.value)
    numerical_value = float(numerical.value)
    assert numerical_value <= closed_form_value * (1 + KKT_TOLERANCE)
    assert numerical_value == pytest.approx(closed_form_value, rel=1e-6)
    assert float(numerical.cost) <= problem.budget * (1 + 1e-9)


@given(problem=problems(max_buckets=8, regimes=("inside", "at_min", "at_max", "above")))
def test_slsqp_matches_closed_form(problem):
    allocation, _ = _run(problem)
    numerical = solve_allocation_numerically(problem.power_law, problem.budget, problem.bounds_or_none, method="slsqp")
    assert bool(numerical.feasible)
    # SLSQP can reach its iteration limit on very flat objectives (gamma / eta near 0) while its
    # value already agrees, so only the value is checked. It may stop short of the optimum by a
    # few 1e-6 when a bucket's optimal share is tiny, because in log shares such a bucket's
    # gradient is tiny too. It must never exceed the closed form's value.
    assert float(numerical.value) <= float(allocation.value) * (1 + KKT_TOLERANCE)
    assert float(numerical.value) == pytest.approx(float(allocation.value), rel=1e-4)


@jax.jit
def _spend_value(parameters, spend):
    """Total value of admissible buckets at spends s_b: sum_b v_b(1) (s_b / c_b(1))**(gamma_b / eta_b)."""
    power_law = PowerLaw(*parameters)
    active = power_law.admissible
    cost_ref = jnp.where(active, power_law.cost_ref, 1.0)
    exponent = jnp.where(active, power_law.gamma / jnp.where(active, power_law.eta, 1.0), 1.0)
    ratio = jnp.where(active, spend / cost_ref, 0.0)
    return jnp.where(active, power_law.value_ref * ratio**exponent, 0.0).sum()


@functools.partial(jax.jit, static_argnames="clipped")
def _perturbed_values(parameters, spend, free_budget, bounds, noise, clipped):
    """Values of feasible spends near `spend`: s_b exp(noise_b), projected back onto the constraints."""
    power_law = PowerLaw(*parameters)
    active = power_law.admissible
    if clipped:
        lower = jnp.where(active, power_law.cost(bounds[0]), 0.0)
        upper = jnp.where(active, power_law.cost(bounds[1]), 0.0)
    else:
        lower = jnp.zeros_like(spend)
        upper = jnp.where(active, free_budget, 0.0)

    def value_near(direction):
        moved = jnp.where(active, spend * jnp.exp(direction), 0.0)
        feasible = project_capped_simplex(moved, lower, upper, free_budget, active.astype(spend.dtype))
        return _spend_value(parameters, feasible)

    return jax.vmap(value_near)(noise)


@given(problem=problems(regimes=("inside", "at_min", "at_max")), log_scale=st.floats(-4.0, 0.0), seed=st.integers(0, 2**31 - 1))
def test_feasible_perturbations_do_not_improve(problem, log_scale, seed):
    allocation, _ = _run(problem)
    assert int(allocation.status) == SOLVED
    active = np.asarray(problem.power_law.admissible)
    spend = jnp.where(active, allocation.bucket_cost, 0.0)
    free_budget = float(spend.sum())
    noise = 10.0**log_scale * jax.random.normal(jax.random.PRNGKey(seed), (32, PADDED_BUCKETS))

    optimum = float(_spend_value(jnp.asarray(problem.parameters), spend))
    values = np.asarray(
        _perturbed_values(
            jnp.asarray(problem.parameters), spend, free_budget, jnp.asarray(problem.bounds), noise, problem.clipped
        )
    )
    assert np.all(values <= optimum * (1 + 1e-12)), (values.max() / optimum - 1)


@functools.partial(jax.jit, static_argnames="clipped")
def _value_and_budget_gradient(parameters, budget, bounds, clipped):
    power_law = PowerLaw(*parameters)
    bounds_arg = (bounds[0], bounds[1]) if clipped else None
    return jax.value_and_grad(lambda c: equalize(power_law, c, bounds_arg).value)(budget)


@given(problem=problems(regimes=("middle",)))
def test_envelope_identity(problem):
    """d V* / d C = 1 / mu, by automatic differentiation and by central differences."""
    allocation, kkt = _run(problem)
    assert int(allocation.status) == SOLVED
    parameters = jnp.asarray(problem.parameters)
    bounds = jnp.asarray(problem.bounds)
    value, gradient = _value_and_budget_gradient(parameters, problem.budget, bounds, problem.clipped)
    marginal_value = 1.0 / float(allocation.mu)
    assert float(gradient) == pytest.approx(marginal_value, rel=1e-9)
    assert float(value) == pytest.approx(float(allocation.value), rel=1e-14)

    # Without an interior bucket V*(C) has a kink at C, and 1 / mu is one of many subgradients.
    interior = np.asarray(kkt.interior)
    assume(interior.any())
    # The step is relative to the spend that moves with C, the interior buckets' spend. The
    # difference is summed bucket by bucket, so buckets at a bound contribute exactly zero
    # instead of the rounding error of their value.
    step = 1e-5 * float(np.asarray(allocation.bucket_cost)[interior].sum())
    up, kkt_up = _solve_and_check(parameters, problem.budget + step, bounds, problem.clipped)
    down, kkt_down = _solve_and_check(parameters, problem.budget - step, bounds, problem.clipped)
    # Central differences hold only where no bucket reaches or leaves a bound within the step.
    for shifted in (kkt_up, kkt_down):
        assume(np.array_equal(np.asarray(shifted.at_lower), np.asarray(kkt.at_lower)))
        assume(np.array_equal(np.asarray(shifted.at_upper), np.asarray(kkt.at_upper)))
    central_difference = float(jnp.sum(up.bucket_value - down.bucket_value)) / (2 * step)
    assert central_difference == pytest.approx(marginal_value, rel=1e-6)


def _alpha_function(status, budget, bounds, clipped):
    """alpha*(parameters) with the fit status held fixed, for parameters of shape (4, B)."""

    def alpha_of(parameters):
        power_law = PowerLaw(*parameters, status=status)
        return equalize(power_law, budget, (bounds[0], bounds[1]) if clipped else None).alpha

    return alpha_of


@functools.partial(jax.jit, static_argnames="clipped")
def _jacobians(parameters, budget, bounds, clipped):
    """jacfwd and jacrev of alpha* with respect to (v(1), c(1), gamma, eta), each of shape (B, 4, B)."""
    alpha_of = _alpha_function(PowerLaw(*parameters).status, budget, bounds, clipped)
    return jax.jacfwd(alpha_of)(parameters), jax.jacrev(alpha_of)(parameters)


@functools.partial(jax.jit, static_argnames="clipped")
def _central_differences(parameters, steps, budget, bounds, clipped):
    """Fourth-order central differences of alpha* along each parameter, and the clipping patterns.

    Returns (difference, same_pattern): with D(h) = (alpha_i(theta + h e_rj) - alpha_i(theta - h e_rj)) / (2 h),
    difference[i, r, j] = (4 D(h_rj) - D(2 h_rj)) / 3, whose truncation error is O(h**4) because
    the elasticities of alpha grow like 1 / (eta - gamma)**k in the k-th derivative.
    same_pattern[r, j] is whether no admissible bucket reaches or leaves a bound at any of the
    four points compared with the unperturbed one.
    """
    power_law = PowerLaw(*parameters)
    alpha_of = _alpha_function(power_law.status, budget, bounds, clipped)
    n_rows, n_buckets = parameters.shape
    basis = jnp.eye(n_rows * n_buckets).reshape(-1, n_rows, n_buckets) * steps[None]

    def clipping(alpha):
        if not clipped:
            return jnp.zeros((2, n_buckets), bool)
        return jnp.stack([alpha <= bounds[0] * (1 + 1e-10), alpha >= bounds[1] * (1 - 1e-10)]) & power_law.admissible

    base = clipping(alpha_of(parameters))
    points = {factor: jax.vmap(lambda e: alpha_of(parameters + factor * e))(basis) for factor in (-2, -1, 1, 2)}
    same = jnp.ones(len(basis), bool)
    for alpha in points.values():
        same &= jax.vmap(lambda a: jnp.all(clipping(a) == base))(alpha)
    step = steps.reshape(-1)[:, None]
    near = (points[1] - points[-1]) / (2 * step)
    far = (points[2] - points[-2]) / (4 * step)
    difference = (4 * near - far) / 3
    return difference.T.reshape(n_buckets, n_rows, n_buckets), same.reshape(n_rows, n_buckets)


@given(problem=problems(max_buckets=16, regimes=("middle",)))
def test_jacobians_agree(problem):
    allocation, _ = _run(problem)
    assert int(allocation.status) == SOLVED
    parameters = jnp.asarray(problem.parameters)
    bounds = jnp.asarray(problem.bounds)
    forward, reverse = (np.asarray(j) for j in _jacobians(parameters, problem.budget, bounds, problem.clipped))
    alpha = np.asarray(allocation.alpha)

    # Compare d log alpha_i / d log theta_j, which is free of units, so one tolerance fits all entries.
    theta = np.asarray(problem.parameters)
    scale = np.where(theta != 0, np.abs(theta), 1.0)
    forward_elasticity = forward * scale[None] / alpha[:, None, None]
    reverse_elasticity = reverse * scale[None] / alpha[:, None, None]
    largest = np.abs(forward_elasticity).max() + 1.0
    np.testing.assert_allclose(forward_elasticity, reverse_elasticity, rtol=1e-9, atol=1e-12 * largest)

    # The difference steps (up to 2e-6 in log theta) must move log alpha by much less than 1.
    # Otherwise a nearby pole makes the truncation error large, for example where a held bucket
    # costs far more than the budget left to the others.
    assume(2e-6 * largest < 0.02)

    steps = 1e-6 * scale
    difference, same_pattern = _central_differences(
        parameters, jnp.asarray(steps), problem.budget, bounds, problem.clipped
    )
    difference_elasticity = np.asarray(difference) * scale[None] / alpha[:, None, None]
    comparable = np.broadcast_to(np.asarray(same_pattern)[None], difference_elasticity.shape)
    np.testing.assert_allclose(
        difference_elasticity[comparable], forward_elasticity[comparable], rtol=1e-5, atol=1e-7 * largest
    )


def _allocate_from_log(log_parameters, real, status, budget, bounds, clipped):
    """Allocate with parameter rows log v(1), log c(1), gamma, eta; entries where `real` is False
    are dummy buckets with zero reference totals."""
    value_ref = jnp.where(real, jnp.exp(log_parameters[0]), 0.0)
    cost_ref = jnp.where(real, jnp.exp(log_parameters[1]), 0.0)
    power_law = PowerLaw(value_ref, cost_ref, log_parameters[2], log_parameters[3], status)
    return power_law, equalize(power_law, budget, (bounds[0], bounds[1]) if clipped else None)


@functools.partial(jax.jit, static_argnames="clipped")
def _log_alpha(log_parameters, real, status, budget, bounds, clipped):
    return jnp.log(_allocate_from_log(log_parameters, real, status, budget, bounds, clipped)[1].alpha)


def _unclipped_targets(log_parameters, real, status, budget, bounds, clipped):
    """The unclipped log level (log mu - log mCUV_b(1)) / (eta_b - gamma_b) of each admissible bucket."""
    power_law, allocation = _allocate_from_log(log_parameters, real, status, budget, bounds, clipped)
    active = power_law.admissible
    gap = jnp.where(active, power_law.eta - power_law.gamma, 1.0)
    mcuv = jnp.where(active, power_law.mcuv_ref, 1.0)
    return jnp.where(active, (jnp.log(allocation.mu) - jnp.log(mcuv)) / gap, 0.0)


@functools.partial(jax.jit, static_argnames="clipped")
def _targets_and_jacobian(log_parameters, real, status, budget, bounds, clipped):
    def targets_of(x):
        return _unclipped_targets(x, real, status, budget, bounds, clipped)

    return targets_of(log_parameters), jax.jacfwd(targets_of)(log_parameters)


# Derivatives of log alpha grow like 1 / (eta - gamma)**k, so with gaps down to 0.05 a step of
# 1e-5 leaves second-order truncation errors above check_grads's 1e-5 tolerance.
CHECK_GRADS_STEP = 1e-6


@given(problem=problems(max_buckets=16, regimes=("middle",)))
def test_check_grads_second_order(problem):
    allocation, _ = _run(problem)
    assert int(allocation.status) == SOLVED
    theta = np.asarray(problem.parameters)
    real = jnp.asarray(np.arange(PADDED_BUCKETS) < problem.n_buckets)
    log_parameters = jnp.asarray(
        np.stack([np.log(np.where(theta[0] > 0, theta[0], 1.0)), np.log(np.where(theta[1] > 0, theta[1], 1.0)), theta[2], theta[3]])
    )
    status = problem.power_law.status
    bounds = jnp.asarray(problem.bounds)
    args = (real, status, problem.budget, bounds, problem.clipped)

    # The finite-difference steps (Gaussian directions, five standard deviations) must move each
    # unclipped level by much less than 1, so that log alpha stays close to its Taylor polynomial.
    # A held bucket that costs far more than the budget left to the others puts a pole of
    # log alpha, where that budget reaches 0, within reach of the steps. With bounds, the steps
    # must not carry any unclipped level across a bound either.
    targets, jacobian = _targets_and_jacobian(log_parameters, *args)
    active = np.asarray(problem.power_law.admissible)
    sensitivity = np.linalg.norm(np.asarray(jacobian).reshape(PADDED_BUCKETS, -1), axis=1)[active]
    reach = 5 * CHECK_GRADS_STEP * sensitivity
    assume(np.all(reach < 0.02))
    if problem.clipped:
        targets = np.asarray(targets)[active]
        distance = np.minimum(np.abs(targets - np.log(problem.bounds[0])), np.abs(targets - np.log(problem.bounds[1])))
        assume(np.all(distance > 2 * reach + 1e-6))

    def log_alpha(x):
        return _log_alpha(x, *args)

    check_grads(log_alpha, (log_parameters,), order=2, modes=("fwd", "rev"), eps=CHECK_GRADS_STEP)


@functools.partial(jax.jit, static_argnames="clipped")
def _gradients_both_ways(parameters, budget, bounds, clipped):
    def optimal_value(theta, c):
        power_law = PowerLaw(*theta, status=PowerLaw(*parameters).status)
        return equalize(power_law, c, (bounds[0], bounds[1]) if clipped else None).value

    gradient = jax.grad(optimal_value, argnums=(0, 1))(parameters, budget)
    value, gradient_too = jax.value_and_grad(optimal_value, argnums=(0, 1))(parameters, budget)
    return gradient, value, gradient_too


@given(problem=problems(regimes=("inside", "at_min", "at_max")))
def test_grad_equals_value_and_grad(problem):
    allocation, _ = _run(problem)
    gradient, value, gradient_too = _gradients_both_ways(
        jnp.asarray(problem.parameters), problem.budget, jnp.asarray(problem.bounds), problem.clipped
    )
    assert float(value) == pytest.approx(float(allocation.value), rel=1e-14)
    for first, second in zip(gradient, gradient_too, strict=True):
        first, second = np.asarray(first), np.asarray(second)
        assert np.all(np.isfinite(first))
        np.testing.assert_allclose(first, second, rtol=1e-12, atol=1e-15 * (np.abs(first).max() + 1e-300))


@functools.partial(jax.jit, static_argnames="clipped")
def _wrong_price_residual(parameters, budget, bounds, factor, clipped):
    """KKT residuals of the allocation whose price is the optimal mu times `factor`."""
    power_law = PowerLaw(*parameters)
    bounds_arg = (bounds[0], bounds[1]) if clipped else None
    allocation = equalize(power_law, budget, bounds_arg)
    active = power_law.admissible
    gap = jnp.where(active, power_law.eta - power_law.gamma, 1.0)
    mcuv = jnp.where(active, power_law.mcuv_ref, 1.0)
    mu = allocation.mu * factor
    alpha = (mu / mcuv) ** (1.0 / gap)
    if clipped:
        alpha = jnp.clip(alpha, bounds[0], bounds[1])
    alpha = jnp.where(active, alpha, allocation.alpha)
    wrong = type(allocation)(
        alpha=alpha,
        mu=mu,
        value=power_law.value(alpha).sum(),
        cost=power_law.cost(alpha).sum(),
        bucket_value=power_law.value(alpha),
        bucket_cost=power_law.cost(alpha),
        status=allocation.status,
    )
    interior_share = jnp.where(
        active & (alpha > bounds[0]) & (alpha < bounds[1]) if clipped else active, allocation.bucket_cost, 0.0
    ).sum() / budget
    return kkt_residuals(power_law, budget, wrong, bounds_arg), interior_share


@given(problem=problems(regimes=("middle",)), factor=st.sampled_from([0.99, 1.01]))
def test_wrong_price_is_detected(problem, factor):
    kkt, interior_share = _wrong_price_residual(
        jnp.asarray(problem.parameters), problem.budget, jnp.asarray(problem.bounds), factor, problem.clipped
    )
    # A 1 % price error moves the spend of interior buckets by at least 1 %, so it shows in the
    # budget once they spend a noticeable part of it.
    assume(float(interior_share) > 0.05)
    assert float(kkt.max_residual) > 1e-4


# Edge cases.


def test_single_bucket_spends_budget():
    power_law = PowerLaw(jnp.array([2.0]), jnp.array([3.0]), jnp.array([0.7]), jnp.array([1.9]))
    budget = 5.0
    allocation = equalize(power_law, budget)
    assert int(allocation.status) == SOLVED
    np.testing.assert_allclose(allocation.alpha, (budget / 3.0) ** (1 / 1.9), rtol=1e-14)
    assert float(allocation.cost) == pytest.approx(budget, rel=1e-14)
    assert float(kkt_residuals(power_law, budget, allocation).max_residual) < KKT_TOLERANCE


def test_root_at_first_midpoint_unclipped():
    # Two buckets with eta / (eta - gamma) = 2. The lower bracket end is
    # log mu_lo = min_b [log mCUV_b + (log(C / 2) - log c_b) / 2], the upper one the same with log C,
    # and the root is log mu* = (log C - log S) / 2 with S = sum_b c_b / mCUV_b**2. The root is the
    # bracket's midpoint when S = sqrt(2) max_b c_b / mCUV_b**2, whatever C is: with c_b = 1 and
    # mCUV_1 = 2 that holds for mCUV_2 = 2 / sqrt(sqrt(2) - 1), i.e. v_2(1) = sqrt(sqrt(2) - 1).
    value_ref = jnp.array([1.0, np.sqrt(np.sqrt(2.0) - 1.0)])
    power_law = PowerLaw(value_ref, jnp.ones(2), jnp.ones(2), 2 * jnp.ones(2))
    budget = 3.0
    log_mcuv = np.log(np.asarray(power_law.mcuv_ref))
    lower = np.min(log_mcuv + (np.log(budget / 2) - 0.0) / 2)
    upper = np.min(log_mcuv + np.log(budget) / 2)

    allocation = equalize(power_law, budget)
    assert int(allocation.status) == SOLVED
    assert np.log(float(allocation.mu)) == pytest.approx(0.5 * (lower + upper), abs=1e-12)
    assert float(allocation.cost) == pytest.approx(budget, rel=1e-13)
    assert float(kkt_residuals(power_law, budget, allocation).max_residual) < KKT_TOLERANCE
    gradient = jax.grad(lambda c: equalize(power_law, c).value)(budget)
    assert float(gradient) == pytest.approx(1 / float(allocation.mu), rel=1e-10)


def test_root_at_first_midpoint_clipped():
    # One bucket: the clipped bracket is log mCUV + (eta - gamma) * [log alpha_min, log alpha_max],
    # whose midpoint gives alpha = sqrt(alpha_min * alpha_max).
    power_law = PowerLaw(jnp.array([1.5]), jnp.array([0.8]), jnp.array([0.6]), jnp.array([1.7]))
    bounds = (0.5, 1.5)
    middle = np.sqrt(bounds[0] * bounds[1])
    budget = float(power_law.cost(middle)[0])
    allocation = equalize(power_law, budget, bounds)
    assert int(allocation.status) == SOLVED
    np.testing.assert_allclose(allocation.alpha, middle, rtol=1e-13)
    assert float(kkt_residuals(power_law, budget, allocation, bounds).max_residual) < KKT_TOLERANCE


EDGE_POWER_LAW = PowerLaw(
    jnp.array([1.0, 2.0, 0.5, 4.0]), jnp.array([0.3, 1.0, 2.0, 0.1]), jnp.array([0.5, 1.0, 0.8, 2.0]), jnp.array([1.0, 1.5, 2.5, 2.2])
)
EDGE_BOUNDS = (0.5, 1.5)


@pytest.mark.parametrize("end", [0, 1])
def test_budget_at_feasible_end(end):
    budget = float(EDGE_POWER_LAW.cost(EDGE_BOUNDS[end]).sum())
    allocation = equalize(EDGE_POWER_LAW, budget, EDGE_BOUNDS)
    assert int(allocation.status) == SOLVED
    np.testing.assert_allclose(allocation.alpha, EDGE_BOUNDS[end], rtol=1e-12)
    kkt = kkt_residuals(EDGE_POWER_LAW, budget, allocation, EDGE_BOUNDS)
    assert float(kkt.max_residual) < KKT_TOLERANCE
    assert bool(kkt.at_lower.all()) == (end == 0)
    assert bool(kkt.at_upper.all()) == (end == 1)

    numerical = solve_allocation_numerically(EDGE_POWER_LAW, budget, EDGE_BOUNDS)
    assert bool(numerical.feasible)
    assert bool(numerical.converged)
    assert float(numerical.value) == pytest.approx(float(allocation.value), rel=1e-12)


@pytest.mark.parametrize("end, factor", [(0, 1 + 4e-16), (1, 1 - 4e-16)])
def test_budget_within_ulps_of_feasible_end(end, factor):
    budget = float(EDGE_POWER_LAW.cost(EDGE_BOUNDS[end]).sum()) * factor
    allocation = equalize(EDGE_POWER_LAW, budget, EDGE_BOUNDS)
    assert int(allocation.status) == SOLVED
    assert float(kkt_residuals(EDGE_POWER_LAW, budget, allocation, EDGE_BOUNDS).max_residual) < KKT_TOLERANCE


def test_budget_exactly_at_least_spend_is_solved():
    power_law = PowerLaw(jnp.array([1.0]), jnp.array([10.0]), jnp.array([1.0]), jnp.array([1.125]))
    bounds = (0.5, 2.0)
    budget = float(power_law.cost(bounds[0])[0])
    assert budget == 10.0 * 0.5**1.125
    assert int(equalize(power_law, budget, bounds).status) == SOLVED


def test_budget_beyond_feasible_range():
    most = float(EDGE_POWER_LAW.cost(EDGE_BOUNDS[1]).sum())
    above = equalize(EDGE_POWER_LAW, 1.1 * most, EDGE_BOUNDS)
    assert int(above.status) == INFEASIBLE
    np.testing.assert_allclose(above.alpha, EDGE_BOUNDS[1], rtol=1e-12)
    kkt_above = kkt_residuals(EDGE_POWER_LAW, 1.1 * most, above, EDGE_BOUNDS)
    assert float(kkt_above.budget_multiplier) == 0.0
    assert float(kkt_above.max_residual) < KKT_TOLERANCE

    least = float(EDGE_POWER_LAW.cost(EDGE_BOUNDS[0]).sum())
    below = equalize(EDGE_POWER_LAW, 0.9 * least, EDGE_BOUNDS)
    assert int(below.status) == INFEASIBLE
    np.testing.assert_allclose(below.alpha, EDGE_BOUNDS[0], rtol=1e-12)
    kkt_below = kkt_residuals(EDGE_POWER_LAW, 0.9 * least, below, EDGE_BOUNDS)
    assert float(kkt_below.budget_violation) == pytest.approx(1 / 0.9 - 1, rel=1e-9)
    assert not bool(solve_allocation_numerically(EDGE_POWER_LAW, 0.9 * least, EDGE_BOUNDS).feasible)


def test_no_admissible_bucket():
    # gamma >= eta everywhere: no bucket has diminishing returns.
    power_law = PowerLaw(jnp.array([1.0, 2.0]), jnp.array([0.5, 0.7]), jnp.array([1.5, 2.0]), jnp.array([1.0, 2.0]))
    budget = 2.0
    allocation = equalize(power_law, budget, EDGE_BOUNDS)
    assert int(allocation.status) == NO_ADMISSIBLE_BUCKET
    np.testing.assert_array_equal(allocation.alpha, [1.0, 1.0])
    kkt = kkt_residuals(power_law, budget, allocation, EDGE_BOUNDS)
    assert float(kkt.max_residual) == 0.0
    assert float(kkt.total_cost) == pytest.approx(1.2)

    numerical = solve_allocation_numerically(power_law, budget, EDGE_BOUNDS)
    assert bool(numerical.feasible)
    assert bool(numerical.converged)
    np.testing.assert_array_equal(numerical.alpha, [1.0, 1.0])
