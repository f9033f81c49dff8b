"""Evaluation of partitions: the three methods, bootstrap, budget curves, splits and depth selection."""

import numpy as np
import pytest

import cuvet_jax as cj
from cuvet_jax.datasets import make_policy_schema_data, make_threshold_example
from cuvet_jax.evaluation import bootstrap_statistics, level_tables


@pytest.fixture(scope="module")
def policy_data():
    return make_policy_schema_data(60_000, seed=3)


@pytest.fixture(scope="module")
def split_model(policy_data):
    train, test = cj.train_test_split(policy_data.n_rows, 0.5, seed=1)
    train_data, test_data = policy_data.subset(train), policy_data.subset(test)
    model = cj.CUVETree(max_depth=2).fit(train_data.X, train_data.alpha, train_data.value, train_data.cost)
    return model, train_data, test_data


def test_every_method_is_within_budget_on_training_split(split_model):
    model, train, _ = split_model
    results = cj.evaluate(model, train, train)
    assert set(results) == {"mcuv", "ilp", "lp"}
    for method, result in results.items():
        assert result.point.dc <= 1e-9, method
    assert abs(results["mcuv"].point.dc) < 1e-9
    assert results["lp"].point.value >= results["ilp"].point.value * (1 - 1e-12)
    assert results["mcuv"].point.dv > 0


def test_ilp_and_lp_levels_are_observed(split_model):
    model, train, test = split_model
    results = cj.evaluate(model, train, test, methods=("ilp", "lp"))
    levels = model.levels_.values
    ilp = results["ilp"].point
    assert np.isin(np.round(ilp.alpha, 12), np.round(levels, 12)).all()
    np.testing.assert_allclose(ilp.probabilities.sum(axis=1), 1.0)
    lp = results["lp"].point
    assert (np.count_nonzero(lp.probabilities > 1e-12, axis=1) <= 2).all()
    assert np.count_nonzero(np.count_nonzero(lp.probabilities > 1e-12, axis=1) == 2) <= 1


def test_mcuv_matches_model_levels(split_model):
    model, train, test = split_model
    point = cj.evaluate(model, train, test, methods=("mcuv",))["mcuv"].point
    np.testing.assert_allclose(point.alpha, model.leaf_alpha_, rtol=1e-9)
    direct = cj.evaluate_mcuv(model, test.X, test.alpha, test.value, test.cost)
    np.testing.assert_allclose(point.dv, float(direct.dv), rtol=1e-9)


def test_saved_statistics_replace_training_rows(split_model):
    model, train, test = split_model
    with_rows = cj.evaluate(model, train, test)
    without_rows = cj.evaluate(model, None, test)
    for method in with_rows:
        np.testing.assert_allclose(without_rows[method].point.dv, with_rows[method].point.dv, rtol=1e-12)


def test_bootstrap_interval(split_model):
    model, train, test = split_model
    result = cj.evaluate(model, train, test, methods=("mcuv", "lp"), n_boot=10, seed=0)["mcuv"]
    assert result.dv.samples.shape == (10,)
    assert result.dv.half_width > 0
    np.testing.assert_allclose(result.dv.half_width, 1.96 * result.dv.samples.std(ddof=1))
    assert abs(result.dv.mean - result.point.dv) < 3 * result.dv.half_width
    again = cj.evaluate(model, train, test, methods=("mcuv",), n_boot=10, seed=0)["mcuv"]
    np.testing.assert_array_equal(again.dv.samples, result.dv.samples)


def test_bootstrap_weights_preserve_rows():
    rng = np.random.default_rng(0)
    n = 5000
    for kind in ("multinomial", "poisson"):
        stats = bootstrap_statistics(rng.integers(0, 4, n), rng.integers(0, 3, n), rng.random(n), rng.random(n), 4, 3, n_boot=6, kind=kind)
        assert stats.count.shape == (6, 4, 3)
        totals = stats.count.sum(axis=(1, 2))
        if kind == "multinomial":
            np.testing.assert_array_equal(totals, n)
        else:
            assert np.all(np.abs(totals - n) < 5 * np.sqrt(n))
    with pytest.raises(ValueError, match="n_boot must be at least 2"):
        bootstrap_statistics(np.zeros(3, int), np.zeros(3, int), np.ones(3), np.ones(3), 1, 1, n_boot=1)


def test_user_labels_partition(policy_data):
    train, test = cj.train_test_split(policy_data.n_rows, 0.5, seed=2)
    labels = (policy_data.X[:, 0] > 0).astype(int)
    results = cj.evaluate((labels[train], labels[test]), policy_data.subset(train), policy_data.subset(test), methods=("mcuv",))
    assert results["mcuv"].point.alpha.shape == (2,)
    with pytest.raises(ValueError, match="unknown evaluation methods"):
        cj.evaluate((labels[train], labels[test]), policy_data.subset(train), policy_data.subset(test), methods=("greedy",))


def test_budget_curve_matches_allocation(split_model):
    model, _, _ = split_model
    curve = cj.budget_curve(model.training_statistics_, model.levels_.values, np.linspace(0.8, 1.2, 9), bounds=model.bounds)
    middle = 4
    np.testing.assert_allclose(curve.alpha[middle], model.leaf_alpha_, rtol=1e-9)
    assert np.all(np.diff(curve.dv) > 0)
    lp = cj.budget_curve(model.training_statistics_, model.levels_.values, np.linspace(0.8, 1.2, 9), method="lp")
    slopes = np.diff(lp.value[lp.feasible])
    assert np.all(slopes >= -1e-9)
    assert np.all(np.diff(slopes) <= 1e-6 * np.abs(lp.value).max())
    value, _, available = level_tables(model.training_statistics_)
    assert available.all()


def test_three_way_split_and_flag():
    train, validation, test = cj.train_validation_test_split(1000, 0.2, 0.3, seed=0)
    assert (len(train), len(validation), len(test)) == (500, 200, 300)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, validation, test])), np.arange(1000))
    flag = np.arange(1000) % 10 == 0
    train, validation, test = cj.train_validation_test_split(1000, test_size=0.3, validation_flag=flag)
    np.testing.assert_array_equal(validation, np.flatnonzero(flag))
    assert len(test) == 300
    assert len(train) == 600
    with pytest.raises(ValueError, match="sum below 1"):
        cj.train_validation_test_split(100, 0.5, 0.5)


def test_select_max_depth_on_validation(policy_data):
    train, validation, _ = cj.train_validation_test_split(
        policy_data.n_rows, test_size=0.3, validation_flag=policy_data.extra["is_val"], seed=0
    )
    best, rows = cj.select_max_depth(
        lambda depth: cj.CUVETree(max_depth=depth), policy_data.subset(train), policy_data.subset(validation), depths=(1, 2)
    )
    assert best in (1, 2)
    assert [row["depth"] for row in rows] == [1, 2]
    chosen = max(rows, key=lambda row: (row["dc"] <= 0, row["dv"], -row["depth"]))
    assert chosen["depth"] == best


def test_two_level_reference_minimum_gives_zero_ilp_uplift():
    data = make_threshold_example(20_000, seed=0)
    train, test = cj.train_test_split(data.n_rows, 0.5, seed=0)
    model = cj.CUVETree(max_depth=1).fit(data.X[train], data.alpha[train], data.value[train], data.cost[train])
    result = cj.evaluate(model, data.subset(train), data.subset(test), methods=("ilp",))["ilp"].point
    # With levels {1, 1.5} the reference is the cheapest level, so no bucket can move without overspending.
    np.testing.assert_array_equal(result.alpha, [1.0, 1.0])
    assert result.dv == 0.0
    assert result.dc == 0.0
