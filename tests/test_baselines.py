"""Tests of the EconML baselines: CF-MSE and CF-Het single trees, and the DR policy tree."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("econml", reason='EconML baselines need: pip install "cuvet-jax[baselines]"')

from cuvet_jax.baselines import (  # noqa: E402
    CausalForestTree,
    DRPolicyTreeBaseline,
    fit_pooled_elasticities,
    group_treatment_levels,
)
from cuvet_jax.datasets._threshold_example import (  # noqa: E402
    BUCKET_PARAMETERS,
    THRESHOLDS,
    make_threshold_example,
)

BIN_WIDTH = 1.0 / 32
"""Width of one of 32 equal bins over the x range [0, 1] of the threshold example."""

LOG_BRACKET_WIDTH = np.log(1e6) / 2**10
"""Width in log(lam) of the bisection bracket after the default 10 halvings of a 1e6-fold range."""


@pytest.fixture(scope="module")
def threshold_rows():
    return make_threshold_example(n_rows=60_000, seed=0)


@pytest.fixture(scope="module")
def three_level_rows():
    """Rows of the threshold example's buckets with levels {0.5, 1, 1.5}, so a policy can spend less."""
    rng = np.random.default_rng(1)
    n_rows = 40_000
    x = rng.uniform(0.0, 1.0, size=n_rows)
    alpha = rng.choice([0.5, 1.0, 1.5], size=n_rows)
    bucket = np.searchsorted(np.asarray(THRESHOLDS), x, side="right")
    value_ref, cost_ref, gamma, eta = BUCKET_PARAMETERS[bucket].T
    value = value_ref * alpha**gamma * rng.gamma(4.0, 0.25, size=n_rows)
    cost = cost_ref * alpha**eta * rng.gamma(4.0, 0.25, size=n_rows)
    return x[:, None], alpha, value, cost


def fit_tree(data, **kwargs) -> CausalForestTree:
    return CausalForestTree(**kwargs).fit(data.X, data.alpha, data.value, data.cost)


# --- lazy import ---------------------------------------------------------------------------------


def test_package_import_leaves_econml_unloaded():
    code = "import sys, cuvet_jax, cuvet_jax.baselines; print('econml' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("baseline", [CausalForestTree, DRPolicyTreeBaseline])
def test_missing_econml_raises_install_hint(monkeypatch, baseline):
    # A None entry in sys.modules makes `import econml...` raise ImportError.
    for name in [name for name in sys.modules if name == "econml" or name.startswith("econml.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "econml", None)
    with pytest.raises(ImportError, match=r'pip install "cuvet-jax\[baselines\]"'):
        baseline()


# --- causal forest tree --------------------------------------------------------------------------


@pytest.mark.parametrize("criterion", ["mse", "het"])
def test_cf_first_split_near_0_1(threshold_rows, criterion):
    # The default leaf size n / 2**(1 + 2) = n / 8 would forbid a leaf with 10 % of the rows.
    tree = fit_tree(threshold_rows, criterion=criterion, max_depth=1, min_samples_leaf=60_000 // 50)
    feature, threshold = tree.first_split_
    assert feature == 0
    assert abs(threshold - 0.1) <= BIN_WIDTH
    assert tree.n_leaves_ == 2


@pytest.mark.parametrize("criterion", ["mse", "het"])
def test_cf_leaf_ids_compact_and_cover_rows(threshold_rows, criterion):
    tree = fit_tree(threshold_rows, criterion=criterion, max_depth=3)
    leaves = tree.apply(threshold_rows.X)
    assert leaves.shape == (threshold_rows.n_rows,)
    assert leaves.dtype == np.int64
    assert leaves.min() == 0
    assert leaves.max() == tree.n_leaves_ - 1
    counts = np.bincount(leaves, minlength=tree.n_leaves_)
    assert np.all(counts >= tree.min_samples_leaf_)
    assert tree.min_samples_leaf_ == 60_000 // 2**5


def test_cf_apply_matches_first_split(threshold_rows):
    tree = fit_tree(threshold_rows, max_depth=1, min_samples_leaf=60_000 // 50)
    _, threshold = tree.first_split_
    grid = np.array([[0.0], [threshold], [np.nextafter(threshold, 1.0)], [1.0]])
    np.testing.assert_array_equal(tree.apply(grid), [0, 0, 1, 1])


def test_cf_default_cost_weight_is_pooled_ratio(threshold_rows):
    tree = fit_tree(threshold_rows, max_depth=1)
    alpha, value, cost = threshold_rows.alpha, threshold_rows.value, threshold_rows.cost
    low, high = alpha == 1.0, alpha == 1.5
    # With two levels the weighted least-squares slope is the log ratio of the two level means.
    gamma = np.log(value[high].mean() / value[low].mean()) / np.log(1.5)
    eta = np.log(cost[high].mean() / cost[low].mean()) / np.log(1.5)
    assert tree.gamma_ == pytest.approx(gamma, rel=1e-10)
    assert tree.eta_ == pytest.approx(eta, rel=1e-10)
    assert tree.cost_weight_ == pytest.approx(gamma / eta, rel=1e-10)
    # Every bucket has gamma = 1 and eta = 1.5.
    assert tree.cost_weight_ == pytest.approx(2.0 / 3.0, abs=0.05)


def test_cf_explicit_cost_weight_used(threshold_rows):
    tree = fit_tree(threshold_rows, max_depth=1, cost_weight=0.25)
    assert tree.cost_weight_ == 0.25
    assert tree.gamma_ is None
    assert tree.eta_ is None


def test_cf_export_text_lists_every_leaf(threshold_rows):
    tree = fit_tree(threshold_rows, max_depth=2)
    text = tree.export_text(["x"])
    assert text.startswith("x <= ")
    for leaf in range(tree.n_leaves_):
        assert f"leaf {leaf} (" in text


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"criterion": "gini"}, "criterion"),
        ({"max_depth": 0}, "max_depth"),
        ({"min_samples_leaf": 0}, "min_samples_leaf"),
        ({"cost_weight": -1.0}, "cost_weight"),
        ({"cost_weight": float("nan")}, "cost_weight"),
    ],
)
def test_cf_rejects_invalid_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CausalForestTree(**kwargs)


def test_cf_rejects_invalid_rows():
    X = np.zeros((4, 1))
    good = np.ones(4)
    with pytest.raises(ValueError, match="alpha must be positive"):
        CausalForestTree().fit(X, np.zeros(4), good, good)
    with pytest.raises(ValueError, match="cost must be non-negative"):
        CausalForestTree().fit(X, good, good, -good)
    with pytest.raises(ValueError, match=r"value must have shape \(4,\)"):
        CausalForestTree().fit(X, good, np.ones(3), good)
    with pytest.raises(ValueError, match="2-dimensional"):
        CausalForestTree().fit(np.zeros(4), good, good, good)


def test_cf_apply_rejects_unfitted_and_wrong_width(threshold_rows):
    with pytest.raises(ValueError, match="not fitted"):
        CausalForestTree().apply(threshold_rows.X)
    tree = fit_tree(threshold_rows, max_depth=1)
    with pytest.raises(ValueError, match=r"shape \(n, 1\)"):
        tree.apply(np.zeros((3, 2)))


# --- levels and pooled elasticities --------------------------------------------------------------


def test_levels_of_discrete_alpha_are_distinct_values():
    alpha = np.array([1.2, 0.8, 1.0, 0.8, 1.2])
    levels, index = group_treatment_levels(alpha)
    np.testing.assert_array_equal(levels, [0.8, 1.0, 1.2])
    np.testing.assert_array_equal(levels[index], alpha)


def test_levels_of_continuous_alpha_are_quantile_groups():
    alpha = np.random.default_rng(0).uniform(0.5, 1.5, size=10_000)
    levels, index = group_treatment_levels(alpha, max_levels=4)
    assert len(levels) == 4
    assert np.all(np.diff(levels) > 0)
    np.testing.assert_allclose(np.bincount(index), 2_500, atol=1)
    for k in range(4):
        assert levels[k] == pytest.approx(alpha[index == k].mean())


def test_pooled_elasticities_recover_noise_free_power_law():
    alpha = np.repeat([0.8, 0.9, 1.0, 1.1, 1.2], [100, 300, 200, 50, 400])
    value = 3.0 * alpha**0.7
    cost = 0.5 * alpha**1.3
    gamma, eta = fit_pooled_elasticities(alpha, value, cost)
    assert gamma == pytest.approx(0.7, rel=1e-12)
    assert eta == pytest.approx(1.3, rel=1e-12)


def test_pooled_elasticities_reject_single_level():
    ones = np.ones(10)
    with pytest.raises(ValueError, match="at least two treatment levels"):
        fit_pooled_elasticities(ones, ones, ones)


# --- doubly robust policy tree -------------------------------------------------------------------


def check_bisection_converged(policy: DRPolicyTreeBaseline) -> None:
    """Assert that the smallest feasible lam and the largest infeasible lam tried are one bracket apart."""
    feasible = [step.lam for step in policy.history_ if step.feasible]
    infeasible = [step.lam for step in policy.history_ if not step.feasible]
    assert np.log(min(feasible)) - np.log(max(infeasible)) <= LOG_BRACKET_WIDTH * (1 + 1e-9)


def test_dr_reference_budget_with_cheaper_level(three_level_rows):
    X, alpha, value, cost = three_level_rows
    policy = DRPolicyTreeBaseline(max_depth=2).fit(X, alpha, value, cost)

    assert policy.budget_ratio_ == 1.0
    assert policy.estimated_cost_ <= policy.reference_cost_ * (1 + 1e-9)
    assert len(policy.history_) == 12
    check_bisection_converged(policy)

    assigned = policy.predict(X)
    assert set(np.unique(assigned)) <= {0.5, 1.0, 1.5}
    # Bucket 3 (x >= 0.5) has the highest marginal cost per unit value, so a binding budget cuts
    # its level first.
    assert policy.predict(np.array([[0.75]]))[0] == 0.5


def test_dr_explicit_budget_met_within_tolerance(threshold_rows):
    data = threshold_rows
    reference_total = data.n_rows * data.cost[data.alpha == 1.0].mean()
    policy = DRPolicyTreeBaseline(max_depth=2, budget=1.3 * reference_total).fit(
        data.X, data.alpha, data.value, data.cost
    )

    ratio = policy.estimated_cost_ / policy.reference_cost_
    # Each leaf takes one of two levels, so the estimated cost moves in steps of a leaf's extra
    # cost. On these rows the highest step under a 30 % increase lies within 10 points of it.
    assert ratio <= 1.3 * (1 + 1e-9)
    assert ratio >= 1.2
    check_bisection_converged(policy)

    assigned = policy.predict(data.X)
    assert set(np.unique(assigned)) == {1.0, 1.5}
    leaves = policy.apply(data.X)
    assert leaves.max() == policy.n_leaves_ - 1
    assert len(np.unique(leaves)) == policy.n_leaves_
    np.testing.assert_array_equal(assigned, policy.leaf_levels_[leaves])
    assert "alpha = 1.5" in policy.export_text(["x"])


def test_dr_unreachable_budget_raises(threshold_rows):
    data = threshold_rows
    reference_total = data.n_rows * data.cost[data.alpha == 1.0].mean()
    policy = DRPolicyTreeBaseline(max_depth=1, budget=0.5 * reference_total)
    with pytest.raises(ValueError, match="below the estimated cost of the cheapest policy"):
        policy.fit(data.X, data.alpha, data.value, data.cost)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"budget": 0.0}, "budget"),
        ({"n_bisection_steps": -1}, "n_bisection_steps"),
        ({"max_depth": 1.5}, "max_depth"),
    ],
)
def test_dr_rejects_invalid_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DRPolicyTreeBaseline(**kwargs)


def test_dr_rejects_single_level():
    X = np.random.default_rng(0).uniform(size=(100, 1))
    ones = np.ones(100)
    with pytest.raises(ValueError, match="at least two treatment levels"):
        DRPolicyTreeBaseline(max_depth=1).fit(X, ones, ones, ones)
