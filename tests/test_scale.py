"""Checks on a million generated rows, marked slow: `python -m pytest -m slow`."""

import numpy as np
import pytest

import cuvet_jax as cj
from cuvet_jax.datasets import make_policy_schema_data, policy_schema_bucket, policy_schema_truth

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def million():
    return make_policy_schema_data(1_000_000, seed=11)


def test_unclipped_tree_recovers_true_buckets(million):
    train_rows, test_rows = cj.train_test_split(million.n_rows, 0.5, seed=0)
    train, test = million.subset(train_rows), million.subset(test_rows)
    with pytest.warns(cj.tree.ExtrapolationWarning):
        model = cj.CUVETree(max_depth=2, bounds=None).fit(
            train.X, train.alpha, train.value, train.cost, feature_names=train.feature_names
        )
    tree = model.tree_
    assert model.feature_names_[tree.feature[0]] == "f0"
    assert abs(tree.threshold[0]) < 0.05
    # The true buckets split f0 < 0 on f1 at 0 and f0 >= 0 on f2 at 0.5.
    assert model.feature_names_[tree.feature[1]] == "f1"
    assert abs(tree.threshold[1]) < 0.05
    assert model.feature_names_[tree.feature[2]] == "f2"
    assert abs(tree.threshold[2] - 0.5) < 0.05
    purity = []
    true_bucket = policy_schema_bucket(test.X)
    leaves = model.apply(test.X)
    for leaf in range(model.n_leaves_):
        counts = np.bincount(true_bucket[leaves == leaf], minlength=4)
        purity.append(counts.max() / counts.sum())
    assert min(purity) > 0.97

    truth = policy_schema_truth()
    results = cj.evaluate(model, train, test, n_boot=4)
    assert results["mcuv"].point.dv > 0.05
    for method, result in cj.evaluate(model, train, train).items():
        assert result.point.dc <= 1e-9, method
    assert len(truth.parameters) == model.n_leaves_


def test_training_statistics_match_rows(million):
    model = cj.CUVETree(max_depth=3).fit(million.X, million.alpha, million.value, million.cost)
    again = model.leaf_statistics(million.X, million.alpha, million.value, million.cost)
    np.testing.assert_array_equal(again.count, model.training_statistics_.count)
    np.testing.assert_allclose(again.sum_value, model.training_statistics_.sum_value, rtol=1e-12)
    assert again.count.sum() == 1_000_000
