"""Binning, histograms, the batched split scan and greedy growth."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cuvet_jax import CUVETree, PowerLaw, SufficientStatistics, equalize, fit_power_law
from cuvet_jax.datasets import make_threshold_example
from cuvet_jax.tree import build_histograms, fit_bins, scan_splits


@pytest.fixture(scope="module")
def example():
    return make_threshold_example(80_000, seed=1)


def test_bins_match_threshold_comparison():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=5000), rng.integers(0, 3, 5000), np.round(rng.uniform(size=5000), 1)])
    bins = fit_bins(X, max_bins=16)
    codes = bins.transform(X)
    assert bins.n_edges.tolist() == [15, 2, 10]
    for j in range(X.shape[1]):
        for k in range(bins.n_edges[j]):
            np.testing.assert_array_equal(codes[:, j] <= k, X[:, j] <= bins.edges[j, k])
    np.testing.assert_array_equal(bins.edges[1, :2], [0.0, 1.0])


def test_histogram_matches_brute_force():
    rng = np.random.default_rng(1)
    n, d, n_bins, n_levels, n_nodes = 2000, 3, 5, 2, 4
    codes = rng.integers(0, n_bins, (n, d))
    node = rng.integers(-1, n_nodes, n)
    level = rng.integers(0, n_levels, n)
    value, cost = rng.exponential(size=n), rng.exponential(size=n)
    hist = build_histograms(codes, node, level, value, cost, n_nodes, n_bins, n_levels)
    brute = np.zeros_like(hist)
    for i in range(n):
        if node[i] < 0:
            continue
        for j in range(d):
            brute[node[i], j, codes[i, j], level[i]] += [1.0, value[i], cost[i]]
    np.testing.assert_allclose(hist, brute, rtol=1e-12)


def _scan(hist, budget, level_values, bounds=(0.5, 1.5), min_leaf=1.0, min_level=1.0, clipped=True, hold=False):
    with jax.enable_x64(True):
        return scan_splits(
            jnp.asarray(hist), jnp.asarray(budget), jnp.asarray(level_values), jnp.asarray(bounds),
            jnp.asarray(min_leaf), jnp.asarray(min_level), clipped=clipped, hold_inadmissible=hold,
        )


def test_scan_criterion_is_two_bucket_optimum(example):
    bins = fit_bins(example.X, 32)
    codes = bins.transform(example.X)
    level = (example.alpha > 1).astype(int)
    hist = build_histograms(codes, np.zeros(example.n_rows, int), level, example.value, example.cost, 1, bins.n_bins, 2)
    levels = np.array([1.0, 1.5])
    root = fit_power_law(SufficientStatistics.unstack(hist[0, 0].sum(axis=0)), levels)
    scan = _scan(hist, np.array([float(root.cost_ref)]), levels)
    k = int(scan.bin[0])
    left = SufficientStatistics.unstack(hist[0, 0, : k + 1].sum(axis=0))
    right = SufficientStatistics.unstack(hist[0, 0, k + 1 :].sum(axis=0))
    children = fit_power_law(SufficientStatistics(*(np.stack([a, b]) for a, b in zip(left.stack().T, right.stack().T))), levels)
    allocation = equalize(children, float(root.cost_ref), (0.5, 1.5))
    np.testing.assert_allclose(scan.criterion[0], allocation.value, rtol=1e-12)
    np.testing.assert_allclose(scan.alpha[0], allocation.alpha, rtol=1e-12)
    # Children's budgets spend exactly the node's budget.
    np.testing.assert_allclose(scan.budget[0].sum(), float(root.cost_ref), rtol=1e-12)
    assert abs(bins.edges[0, k] - 0.5) <= 1 / 32


def test_scan_respects_min_samples_leaf(example):
    bins = fit_bins(example.X, 32)
    codes = bins.transform(example.X)
    level = (example.alpha > 1).astype(int)
    hist = build_histograms(codes, np.zeros(example.n_rows, int), level, example.value, example.cost, 1, bins.n_bins, 2)
    levels = np.array([1.0, 1.5])
    budget = np.array([example.cost[example.alpha == 1].mean() * example.n_rows])
    limit = 0.6 * example.n_rows
    scan = _scan(hist, budget, levels, min_leaf=limit)
    assert not bool(scan.valid[0])
    scan = _scan(hist, budget, levels, min_leaf=0.45 * example.n_rows)
    left_rows = hist[0, 0, : int(scan.bin[0]) + 1, :, 0].sum()
    assert 0.45 * example.n_rows <= left_rows <= 0.55 * example.n_rows


@pytest.mark.parametrize("bounds", [(0.5, 1.5), None])
def test_tree_finds_allocation_threshold(example, bounds):
    model = CUVETree(max_depth=1, bounds=bounds).fit(example.X, example.alpha, example.value, example.cost)
    assert model.tree_.feature[0] == 0
    assert abs(model.tree_.threshold[0] - 0.5) <= 1 / 32
    np.testing.assert_allclose(model.leaf_alpha_, [1.195, 0.639], atol=0.03)


def test_tree_conserves_budget_through_depths(example):
    model = CUVETree(max_depth=3, bounds=None, min_samples_leaf=2000, min_samples_split=4000).fit(
        example.X, example.alpha, example.value, example.cost
    )
    tree = model.tree_
    internal = np.flatnonzero(tree.exists & (tree.feature >= 0))
    assert len(internal) >= 2
    for node in internal:
        children = np.array([2 * node + 1, 2 * node + 2])
        spend = tree.cost_ref[children] * tree.alpha[children] ** tree.eta[children]
        np.testing.assert_allclose(spend.sum(), tree.budget[node], rtol=1e-10)
        assert tree.criterion[node] > tree.node_value[node]
    assert (tree.n_rows[tree.leaf_nodes] >= 2000).all()
    # Children's rows add up to their parent's.
    for node in internal:
        assert tree.n_rows[2 * node + 1] + tree.n_rows[2 * node + 2] == tree.n_rows[node]


def test_apply_matches_training_routing(example):
    model = CUVETree(max_depth=2).fit(example.X, example.alpha, example.value, example.cost)
    leaves = model.apply(example.X)
    counts = np.bincount(leaves, minlength=model.n_leaves_)
    np.testing.assert_array_equal(counts, model.tree_.n_rows[model.tree_.leaf_nodes])
    np.testing.assert_array_equal(model.predict(example.X), model.leaf_alpha_[leaves])


def test_final_allocation_is_iso_cost_on_training_fits(example):
    model = CUVETree(max_depth=2).fit(example.X, example.alpha, example.value, example.cost)
    law = model.leaf_power_law()
    np.testing.assert_allclose(np.sum(law.cost_ref * model.leaf_alpha_**law.eta), np.sum(law.cost_ref), rtol=1e-10)


def _data_with_a_falling_region(n=40_000, seed=3):
    """x < 0.5: value falls with the treatment (gamma < 0); x >= 0.5: gamma = 0.5, eta = 1.2; pooled gamma > 0."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=n)
    alpha = rng.choice([0.8, 1.0, 1.2], size=n)
    gamma = np.where(x < 0.5, -0.5, 0.5)
    value = np.where(x < 0.5, 1.0, 3.0) * alpha**gamma * rng.gamma(50, 1 / 50, n)
    cost = alpha**1.2 * rng.gamma(50, 1 / 50, n)
    return x[:, None], alpha, value, cost


def test_inadmissible_rule_reject_and_hold():
    X, alpha, value, cost = _data_with_a_falling_region()
    side = (X[:, 0] >= 0.5).astype(np.int64)[:, None]  # one binary feature: a single candidate split
    level = np.searchsorted([0.8, 1.0, 1.2], alpha)
    hist = build_histograms(side, np.zeros(len(alpha), int), level, value, cost, 1, 2, 3)
    levels = np.array([0.8, 1.0, 1.2])
    budget = np.array([cost[alpha == 1.0].mean() * len(alpha)])
    rejected = _scan(hist, budget, levels, hold=False)
    held = _scan(hist, budget, levels, hold=True)
    assert not bool(rejected.valid[0])
    assert bool(held.valid[0])
    assert np.asarray(held.children.admissible[0]).tolist() == [False, True]
    assert float(held.alpha[0, 0]) == 1.0
    children = jax.tree_util.tree_map(lambda a: a[0], held.children)
    np.testing.assert_allclose(held.criterion[0], equalize(children, budget[0], (0.5, 1.5)).value, rtol=1e-12)

    model = CUVETree(max_depth=1, inadmissible="reject").fit(X, alpha, value, cost)
    assert (model.tree_.fit_status[model.tree_.leaf_nodes] == 0).all()


def test_fit_rejects_data_without_admissible_fit():
    X, alpha, value, cost = _data_with_a_falling_region()
    falling = X[:, 0] < 0.5
    with pytest.raises(ValueError, match="gamma <= 0.*inadmissible='hold'"):
        CUVETree(max_depth=1).fit(X[falling], alpha[falling], value[falling], cost[falling])
