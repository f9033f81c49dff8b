"""CUVETree's input checks, outputs and saved files."""

import json

import numpy as np
import pandas as pd
import pytest

from cuvet_jax import CUVETree, evaluate_mcuv, train_test_split
from cuvet_jax.datasets import make_threshold_example


@pytest.fixture(scope="module")
def data():
    return make_threshold_example(40_000, seed=2)


@pytest.fixture(scope="module")
def fitted(data):
    return CUVETree(max_depth=2).fit(data.X, data.alpha, data.value, data.cost, feature_names=["x"])


def test_fit_accepts_dataframe_and_names(data):
    frame = pd.DataFrame({"score": data.X[:, 0]})
    model = CUVETree(max_depth=1).fit(frame, data.alpha, data.value, data.cost)
    assert model.feature_names_ == ("score",)
    assert "score <=" in model.export_text()
    np.testing.assert_array_equal(model.predict(frame), model.predict(data.X))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(value=np.where(np.arange(len(d["value"])) == 5, np.nan, d["value"])), "value has 1 NaN or infinite values"),
        (lambda d: d.update(cost=-d["cost"]), "cost must be non-negative, but row 0"),
        (lambda d: d.update(alpha=np.full_like(d["alpha"], 1.0)), "single treatment level"),
        (lambda d: d.update(alpha=d["alpha"] + 1.0), r"reference level alpha = 1.0 is outside the data's range \[2.0, 2.5\]"),
        (lambda d: d.update(alpha=-d["alpha"]), "alpha must be positive"),
        (lambda d: d.update(value=d["value"][:-1]), "value has 39999 rows but X has 40000"),
        (lambda d: d.update(X=d["X"][:, 0]), "X must be 2-dimensional"),
        (lambda d: d.update(X=np.where(d["X"] > 0.9, np.inf, d["X"])), "feature 'x0' has a NaN or infinite value"),
    ],
)
def test_fit_rejects_bad_input(data, change, message):
    arrays = {"X": data.X, "alpha": data.alpha, "value": data.value, "cost": data.cost}
    change(arrays)
    with pytest.raises(ValueError, match=message):
        CUVETree(max_depth=1).fit(arrays["X"], arrays["alpha"], arrays["value"], arrays["cost"])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"bounds": (1.2, 1.5)}, "0 < alpha_min <= 1 <= alpha_max"),
        ({"inadmissible": "drop"}, "'reject' or 'hold'"),
        ({"max_depth": -1}, "non-negative integer"),
    ],
)
def test_fit_rejects_bad_parameters(data, params, message):
    with pytest.raises(ValueError, match=message):
        CUVETree(**params).fit(data.X, data.alpha, data.value, data.cost)


def test_leaf_summary(fitted):
    summary = fitted.leaf_summary()
    assert list(summary.columns) == [
        "leaf", "rule", "rows", "value_ref", "cost_ref", "gamma", "eta", "admissible", "alpha", "value_at_alpha", "cost_at_alpha",
    ]
    assert len(summary) == fitted.n_leaves_
    assert summary["rows"].sum() == 40_000
    np.testing.assert_allclose(summary["alpha"], fitted.leaf_alpha_)
    np.testing.assert_allclose(summary["cost_at_alpha"].sum(), summary["cost_ref"].sum(), rtol=1e-10)
    assert summary["rule"][0].startswith("x <= ")


def test_save_and_load_round_trip(fitted, data, tmp_path):
    path = tmp_path / "model.json"
    fitted.save(path)
    loaded = CUVETree.load(path)
    np.testing.assert_array_equal(loaded.predict(data.X), fitted.predict(data.X))
    np.testing.assert_array_equal(loaded.apply(data.X), fitted.apply(data.X))
    assert loaded.export_text() == fitted.export_text()
    assert loaded.get_params() == fitted.get_params()
    payload = json.loads(path.read_text())
    assert payload["format"] == "cuvet-jax-tree"
    assert payload["version"] == 1


def test_load_rejects_other_versions_and_files(fitted, tmp_path):
    payload = fitted.to_dict()
    payload["version"] = 99
    path = tmp_path / "future.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="version 99 is not supported"):
        CUVETree.load(path)
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        CUVETree.load(garbage)


def test_save_keeps_old_file_when_serialization_fails(fitted, tmp_path):
    path = tmp_path / "model.json"
    fitted.save(path)
    before = path.read_text()
    broken = CUVETree(max_depth=2)
    broken.tree_ = fitted.tree_
    broken.levels_ = fitted.levels_
    broken.feature_names_ = fitted.feature_names_
    broken.n_features_in_ = 1
    broken.training_statistics_ = fitted.training_statistics_
    broken.tree_ = type(fitted.tree_)(**{**fitted.tree_.__dict__, "mu": float("nan")})
    with pytest.raises(ValueError):
        broken.save(path)
    assert path.read_text() == before


def test_predict_before_fit_and_wrong_width(fitted, data):
    with pytest.raises(RuntimeError, match="not fitted yet"):
        CUVETree().predict(data.X)
    with pytest.raises(ValueError, match="X has 2 features but the tree was fitted on 1"):
        fitted.predict(np.column_stack([data.X, data.X]))


def test_mcuv_evaluation_train_is_iso_cost(data):
    train, test = train_test_split(data.n_rows, 0.5, seed=0)
    model = CUVETree(max_depth=1).fit(data.X[train], data.alpha[train], data.value[train], data.cost[train])
    on_train = evaluate_mcuv(model, data.X[train], data.alpha[train], data.value[train], data.cost[train])
    on_test = evaluate_mcuv(model, data.X[test], data.alpha[test], data.value[test], data.cost[test])
    assert abs(float(on_train.dc)) < 1e-9
    assert float(on_train.dv) > 0.01
    assert float(on_test.dv) > 0.005
    assert abs(float(on_test.dc)) < 0.02


def test_train_test_split_partitions_rows():
    train, test = train_test_split(101, 0.3, seed=4)
    assert len(test) == 30
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(101))
    again, _ = train_test_split(101, 0.3, seed=4)
    np.testing.assert_array_equal(train, again)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        train_test_split(10, 1.0)


def test_fit_rejects_string_feature_column(data):
    frame = pd.DataFrame({"x": data.X[:, 0], "segment": np.where(data.X[:, 0] > 0.5, "high", "low")})
    with pytest.raises(ValueError, match=r"feature columns \['segment'\] are not numeric"):
        CUVETree(max_depth=1).fit(frame, data.alpha, data.value, data.cost)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"bounds": (0.5,)}, "must be a pair"),
        ({"min_samples_leaf": -3}, "min_samples_leaf must be a non-negative number"),
    ],
)
def test_fit_rejects_more_bad_parameters(data, params, message):
    with pytest.raises(ValueError, match=message):
        CUVETree(**params).fit(data.X, data.alpha, data.value, data.cost)


def test_load_rechecks_parameters_and_keys(fitted, tmp_path):
    payload = fitted.to_dict()
    payload["params"]["bounds"] = [1.5, 0.5]
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="0 < alpha_min <= 1 <= alpha_max"):
        CUVETree.load(path)
    payload = fitted.to_dict()
    del payload["training_statistics"]
    path.write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="incomplete or corrupted"):
        CUVETree.load(path)
    with pytest.raises(FileNotFoundError, match="model file not found"):
        CUVETree.load(tmp_path / "absent.json")


def test_unclipped_levels_outside_data_warn():
    data = make_threshold_example(40_000, seed=2)
    with pytest.warns(UserWarning, match="outside the observed treatment range"):
        CUVETree(max_depth=1, bounds=None).fit(data.X, data.alpha, data.value, data.cost)


def test_rules_merge_conditions_on_one_feature(fitted):
    rules = fitted.leaf_summary()["rule"].tolist()
    assert all(rule.count("x") == 1 for rule in rules)
