"""Figures of cuvet_jax.plotting on small inputs, and the criterion profile behind Figure 1 style plots."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from cuvet_jax import CUVETree
from cuvet_jax.datasets import make_threshold_example
from cuvet_jax.evaluation import BudgetCurve
from cuvet_jax.plotting import plot_budget_curve, plot_criterion_profile, plot_depth_curve, plot_uplift_bars
from cuvet_jax.tree._profile import criterion_profile


def assert_saved(path):
    assert path.exists()
    assert path.stat().st_size > 1000


def labelled(axis) -> bool:
    return bool(axis.get_xlabel()) and bool(axis.get_ylabel())


def small_curve(method: str, feasible: np.ndarray) -> BudgetCurve:
    ratios = np.linspace(0.8, 1.2, len(feasible))
    alpha = np.stack([ratios, 2 - ratios], axis=1)
    return BudgetCurve(
        method=method, budget_ratio=ratios, budget=100 * ratios, value=50 * ratios**0.5,
        cost=100 * ratios, dv=ratios**0.5 - 1, alpha=alpha, feasible=feasible,
    )


def test_budget_curve_figure(tmp_path):
    feasible = np.array([False, True, True, True, True])
    curves = [small_curve("mcuv", feasible), small_curve("lp", np.ones(5, bool))]
    path = tmp_path / "budget.png"

    figure = plot_budget_curve(curves, labels=["mCUV", "LP"], path=path)

    assert_saved(path)
    value_axis, alpha_axis = figure.axes[:2]
    assert labelled(value_axis)
    assert labelled(alpha_axis)
    assert "budget" in value_axis.get_xlabel()
    assert "%" in value_axis.get_ylabel()
    first_line = value_axis.get_lines()[0].get_ydata()
    assert np.isnan(first_line[0])
    assert np.isfinite(first_line[1:]).all()
    legend_texts = [text.get_text() for text in value_axis.get_legend().get_texts()]
    assert legend_texts == ["mCUV", "LP"]
    assert len(alpha_axis.get_lines()) >= 2


def test_budget_curve_default_labels():
    figure = plot_budget_curve([small_curve("lp", np.ones(5, bool))])
    legend_texts = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert legend_texts == ["LP"]


def test_budget_curve_rejects_label_mismatch():
    with pytest.raises(ValueError, match="labels"):
        plot_budget_curve([small_curve("lp", np.ones(5, bool))], labels=["a", "b"])


def test_criterion_profile_figure(tmp_path):
    thresholds = np.linspace(0.05, 0.95, 19)
    criterion = 0.02 - 0.05 * (thresholds - 0.5) ** 2
    path = tmp_path / "profile.png"

    figure = plot_criterion_profile(
        thresholds, criterion, 1 + thresholds / 4, 1 - thresholds / 4, path=path, true_thresholds=(0.1, 0.5)
    )

    assert_saved(path)
    criterion_axis, alpha_axis = figure.axes[:2]
    assert criterion_axis.get_ylabel()
    assert labelled(alpha_axis)
    assert "%" in criterion_axis.get_ylabel()
    assert max(criterion_axis.get_lines()[0].get_ydata()) == pytest.approx(2.0)
    assert criterion_axis.get_legend() is not None
    assert alpha_axis.get_legend() is not None


def uplift_table():
    rows = []
    for method in ("mcuv", "ilp", "lp"):
        for metric in ("dv", "dc"):
            for index, model in enumerate(("CF-Het", "CUVET clipped")):
                rows.append({
                    "method": method, "metric": metric, "model": model,
                    "mean": 0.01 * (index + 1), "half_width": 0.005 if index else np.nan,
                })
    return rows


def test_uplift_bars_figure(tmp_path):
    path = tmp_path / "bars.png"

    figure = plot_uplift_bars(uplift_table(), path=path)

    assert_saved(path)
    assert len(figure.axes) == 6
    assert all(axis.get_title() or axis.get_xlabel() for axis in figure.axes)
    assert figure.axes[0].get_ylabel()
    assert figure.axes[0].get_title() == "mCUV equalization"
    assert len(figure.legends) == 1
    heights = [patch.get_height() for patch in figure.axes[0].patches]
    assert heights == pytest.approx([1.0, 2.0])


def test_uplift_bars_accepts_dataframe():
    import pandas as pd

    figure = plot_uplift_bars(pd.DataFrame(uplift_table()))
    assert len(figure.axes) == 6


def test_uplift_bars_rejects_empty_table():
    with pytest.raises(ValueError, match="no rows"):
        plot_uplift_bars([])


def test_depth_curve_figure(tmp_path):
    rows = [
        {"model": model, "depth": depth, "method": method, "split": "validation", "dv": 0.01 * depth, "dc": -0.001 * depth}
        for model in ("CF-MSE", "CUVET clipped")
        for depth in (1, 2, 3)
        for method in ("mcuv", "lp")
    ]
    path = tmp_path / "depth.png"

    figure = plot_depth_curve(rows, path=path)

    assert_saved(path)
    assert len(figure.axes) == 4
    assert all(axis.get_ylabel() for axis in figure.axes)
    assert figure.axes[-1].get_xlabel() == "max_depth"
    assert "validation" in figure._suptitle.get_text()
    assert len(figure.axes[0].get_lines()) == 3  # two models and the zero line


def test_criterion_profile_matches_tree_root_split():
    data = make_threshold_example(40_000, seed=3)

    profile = criterion_profile(data.X[:, 0], data.alpha, data.value, data.cost, max_bins=32)
    tree = CUVETree(max_depth=1, max_bins=32).fit(data.X, data.alpha, data.value, data.cost)

    allowed = profile.valid & (np.minimum(profile.left_rows, len(data.alpha) - profile.left_rows) >= len(data.alpha) / 8)
    best = int(np.argmax(np.where(allowed, profile.criterion, -np.inf)))
    assert profile.thresholds[best] == pytest.approx(tree.tree_.threshold[0])
    assert profile.criterion[best] == pytest.approx(tree.tree_.criterion[0], rel=1e-9)
    assert profile.alpha_left[best] > 1 > profile.alpha_right[best]
    assert profile.relative_gain[best] > 0


def test_criterion_profile_rejects_constant_feature():
    with pytest.raises(ValueError, match="single distinct value"):
        criterion_profile(np.ones(10), np.ones(10), np.ones(10), np.ones(10))
