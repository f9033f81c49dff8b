"""CUVET against the causal-forest baselines on the threshold example, evaluated the same way."""

import pytest

import cuvet_jax as cj
from cuvet_jax.datasets import make_threshold_example

pytest.importorskip("econml", reason="EconML is not installed; install the 'baselines' extra")

from cuvet_jax.baselines import CausalForestTree  # noqa: E402

ONE_BIN = 1 / 32
"""Width of one of the 32 quantile bins of x ~ U(0, 1)."""


@pytest.fixture(scope="module")
def fitted():
    data = make_threshold_example(300_000, seed=0)
    train_rows, test_rows = cj.train_test_split(data.n_rows, 0.5, seed=0)
    train, test = data.subset(train_rows), data.subset(test_rows)
    models = {
        "CUVET": cj.CUVETree(max_depth=1),
        "CF-MSE": CausalForestTree(criterion="mse", max_depth=1),
        "CF-Het": CausalForestTree(criterion="het", max_depth=1),
    }
    uplift = {}
    for name, model in models.items():
        model.fit(train.X, train.alpha, train.value, train.cost)
        uplift[name] = cj.evaluate(model, train, test, methods=("mcuv",), bounds=(0.5, 1.5))["mcuv"].point
    return models, uplift


def test_first_splits_of_cuvet_and_causal_forest(fitted):
    models, _ = fitted
    assert abs(models["CUVET"].tree_.threshold[0] - 0.5) <= ONE_BIN
    for name in ("CF-MSE", "CF-Het"):
        feature, threshold = models[name].first_split_
        assert feature == 0
        assert abs(threshold - 0.1) <= ONE_BIN, name


def test_cuvet_test_uplift_beats_causal_forest(fitted):
    _, uplift = fitted
    for name in ("CF-MSE", "CF-Het"):
        assert uplift["CUVET"].dv > uplift[name].dv, name
    assert uplift["CUVET"].dv > 0.01
