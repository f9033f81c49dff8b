"""Power-law fits, treatment levels and sufficient statistics."""

import jax
import numpy as np
import pytest

from cuvet_jax import PowerLaw, SufficientStatistics, accumulate_statistics, discretize_treatment, fit_power_law
from cuvet_jax._power_law import ADMISSIBLE, NO_DIMINISHING_RETURNS, NON_POSITIVE_GAMMA, TOO_FEW_LEVELS


def exact_statistics(levels, counts, value_mean_ref, cost_mean_ref, gamma, eta):
    counts = np.asarray(counts, dtype=np.float64)
    return SufficientStatistics(
        counts, counts * value_mean_ref * levels**gamma, counts * cost_mean_ref * levels**eta
    )


def test_fit_recovers_exact_power_law():
    levels = np.array([0.8, 0.9, 1.0, 1.1, 1.2])
    stats = exact_statistics(levels, [100, 250, 400, 80, 170], 2.5, 0.7, 0.6, 1.4)
    fit = fit_power_law(stats, levels)
    assert int(fit.status) == ADMISSIBLE
    np.testing.assert_allclose(fit.gamma, 0.6, rtol=1e-12)
    np.testing.assert_allclose(fit.eta, 1.4, rtol=1e-12)
    np.testing.assert_allclose(fit.value_ref, 1000 * 2.5, rtol=1e-12)
    np.testing.assert_allclose(fit.cost_ref, 1000 * 0.7, rtol=1e-12)


def test_fit_ignores_arm_sizes():
    levels = np.array([1.0, 1.5])
    balanced = fit_power_law(exact_statistics(levels, [10, 10], 1.0, 1.0, 0.5, 1.0), levels)
    unbalanced = fit_power_law(exact_statistics(levels, [10, 1000], 1.0, 1.0, 0.5, 1.0), levels)
    np.testing.assert_allclose(balanced.gamma, unbalanced.gamma, rtol=1e-12)


def test_fit_weights_levels_by_count():
    levels = np.array([0.5, 1.0, 2.0])
    counts = np.array([1.0, 1.0, 100.0])
    mean_value = np.array([1.0, 2.0, 2.0])
    stats = SufficientStatistics(counts, counts * mean_value, counts * levels)
    x, y = np.log(levels), np.log(mean_value)
    for weighting, w in (("count", counts), ("equal", np.ones(3))):
        covariance = np.cov(x, y, aweights=w)
        expected = covariance[0, 1] / covariance[0, 0]
        np.testing.assert_allclose(fit_power_law(stats, levels, weighting=weighting).gamma, expected, rtol=1e-12)


def test_fit_status_explains_inadmissible_buckets():
    levels = np.array([1.0, 1.5])
    stats = SufficientStatistics(
        np.array([[10.0, 10.0], [10.0, 10.0], [10.0, 10.0], [10.0, 0.0], [0.0, 0.0]]),
        np.array([[10.0, 8.0], [10.0, 20.0], [10.0, 12.0], [10.0, 0.0], [0.0, 0.0]]),
        np.array([[10.0, 15.0], [10.0, 15.0], [10.0, 15.0], [10.0, 0.0], [0.0, 0.0]]),
    )
    fit = fit_power_law(stats, levels)
    assert fit.status.tolist() == [NON_POSITIVE_GAMMA, NO_DIMINISHING_RETURNS, ADMISSIBLE, TOO_FEW_LEVELS, TOO_FEW_LEVELS]
    assert fit.admissible.tolist() == [False, False, True, False, False]
    for field in (fit.value_ref, fit.cost_ref, fit.gamma, fit.eta):
        assert np.isfinite(np.asarray(field)).all()


def test_fit_is_jittable_and_batched():
    levels = np.array([0.8, 1.0, 1.2])
    stats = exact_statistics(levels, [5, 5, 5], 1.0, 1.0, 0.3, 0.9)
    batch = SufficientStatistics(*(np.stack([a, 2 * a]) for a in (stats.count, stats.sum_value, stats.sum_cost)))
    fit = jax.jit(fit_power_law)(batch, levels)
    np.testing.assert_allclose(fit.gamma, [0.3, 0.3], rtol=1e-12)
    np.testing.assert_allclose(fit.value_ref, [15.0, 30.0], rtol=1e-12)


def test_power_law_from_known_parameters():
    law = PowerLaw(np.array([2.0, 1.0]), np.array([1.0, 3.0]), np.array([0.5, 1.0]), np.array([1.5, 0.8]))
    assert law.admissible.tolist() == [True, False]
    np.testing.assert_allclose(law.mcuv_ref[0], 3.0 * 1.0 / 2.0)
    np.testing.assert_allclose(law.value(np.array([4.0, 1.0]))[0], 4.0)
    np.testing.assert_allclose(law.cost(np.array([4.0, 1.0]))[0], 8.0)


def test_statistics_add_across_shards():
    rng = np.random.default_rng(0)
    n = 1000
    bucket, level = rng.integers(0, 4, n), rng.integers(0, 3, n)
    value, cost = rng.exponential(size=n), rng.exponential(size=n)
    whole = accumulate_statistics(bucket, level, value, cost, 4, 3)
    parts = [accumulate_statistics(bucket[s], level[s], value[s], cost[s], 4, 3) for s in (slice(0, 300), slice(300, None))]
    summed = parts[0] + parts[1]
    for a, b in zip(whole.stack(), summed.stack()):
        np.testing.assert_allclose(a, b, rtol=1e-13)
    assert whole.count.sum() == n
    brute = np.zeros((4, 3))
    np.add.at(brute, (bucket, level), value)
    np.testing.assert_allclose(whole.sum_value, brute, rtol=1e-13)


def test_statistics_weights_equal_repeated_rows():
    bucket, level = np.array([0, 1, 1]), np.array([0, 1, 0])
    value, cost = np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.5, 1.0])
    weighted = accumulate_statistics(bucket, level, value, cost, 2, 2, weights=np.array([2, 0, 1]))
    repeated = accumulate_statistics(np.array([0, 0, 1]), np.array([0, 0, 0]), np.array([1.0, 1.0, 3.0]), np.array([0.5, 0.5, 1.0]), 2, 2)
    np.testing.assert_array_equal(weighted.stack(), repeated.stack())


def test_discrete_levels_kept_and_encoded():
    alpha = np.array([0.8, 1.2, 1.0, 0.8, 1.2])
    levels = discretize_treatment(alpha)
    assert levels.values.tolist() == [0.8, 1.0, 1.2]
    assert levels.encode(alpha).tolist() == [0, 2, 1, 0, 2]
    with pytest.raises(ValueError, match=r"\[0.85\] are not among the levels"):
        levels.encode(np.array([0.85]))


def test_continuous_treatment_grouped_by_quantiles():
    alpha = np.random.default_rng(0).uniform(0.5, 1.5, 10_000)
    levels = discretize_treatment(alpha, n_groups=5)
    codes = levels.encode(alpha)
    assert levels.n_levels == 5
    np.testing.assert_allclose(np.bincount(codes), 2000, atol=1)
    for k in range(5):
        np.testing.assert_allclose(levels.values[k], alpha[codes == k].mean(), rtol=1e-12)


def test_grouping_merges_empty_quantile_groups():
    alpha = np.concatenate([np.full(900, 1.0), np.linspace(0.5, 1.5, 100)])
    levels = discretize_treatment(alpha, n_groups=5)
    counts = np.bincount(levels.encode(alpha), minlength=levels.n_levels)
    assert (counts > 0).all()
    assert levels.n_levels < 5
