"""End-to-end run of the synthetic experiment at a small size, and the protocol's helpers."""

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def experiments():
    # The experiments package sits at the repository root, outside the installed cuvet_jax.
    sys.path.insert(0, str(REPOSITORY))
    try:
        import experiments._common as common
        import experiments.synthetic as synthetic
    finally:
        sys.path.remove(str(REPOSITORY))
    return common, synthetic


@pytest.fixture(scope="module")
def synthetic_run(experiments, tmp_path_factory):
    _, synthetic = experiments
    out = tmp_path_factory.mktemp("results") / "synthetic"
    argv = ["--rows", "8000", "--no-baselines", "--n-boot", "3", "--depths", "1", "--out", str(out)]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert synthetic.main(argv) == 0
    return out, printed.getvalue()


def cell(table: pd.DataFrame, split: str, method: str, metric: str, model: str) -> pd.Series:
    match = table[
        (table["split"] == split) & (table["method"] == method) & (table["metric"] == metric) & (table["model"] == model)
    ]
    assert len(match) == 1
    return match.iloc[0]


def test_synthetic_writes_outputs(synthetic_run):
    out, _ = synthetic_run
    for name in ("table.csv", "table.md", "depth.csv", "summary.json", "cuvet_clipped_tree.txt"):
        assert (out / name).is_file(), name
    for name in ("criterion_profile.png", "uplift_bars.png", "depth.png", "budget_curve.png"):
        assert (out / name).stat().st_size > 1000, name


def test_synthetic_table_train_uplifts(synthetic_run):
    out, _ = synthetic_run
    table = pd.read_csv(out / "table.csv")
    assert set(table["split"]) == {"train", "test"}
    assert set(table["model"]) == {"CUVET clipped", "CUVET unclipped"}

    for model in ("CUVET clipped", "CUVET unclipped"):
        assert cell(table, "train", "mcuv", "dv", model)["point"] > 0
        assert abs(cell(table, "train", "mcuv", "dc", model)["point"]) < 1e-9
        for method in ("mcuv", "ilp", "lp"):
            assert cell(table, "train", method, "dc", model)["point"] <= 1e-9
        row = cell(table, "test", "mcuv", "dv", model)
        assert row["half_width"] > 0
        assert row["depth"] == 1


def test_synthetic_prints_markdown(synthetic_run):
    out, printed = synthetic_run
    markdown = (out / "table.md").read_text(encoding="utf-8")
    assert markdown in printed
    assert "## Train split" in markdown
    assert "## Test split" in markdown
    assert "| Evaluation | Metric | CUVET clipped | CUVET unclipped |" in markdown
    assert " ± " in markdown


def test_synthetic_cuvet_splits_near_half(synthetic_run):
    out, _ = synthetic_run
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    feature, threshold = summary["first_split"]["CUVET clipped"].split(" <= ")
    assert feature == "x"
    assert 0.4 < float(threshold) < 0.6
    assert summary["max_depth"] == 1


def test_synthetic_depth_rows(synthetic_run):
    out, _ = synthetic_run
    depth = pd.read_csv(out / "depth.csv")
    assert set(depth["depth"]) == {1}
    assert set(depth["method"]) == {"mcuv", "ilp", "lp"}
    assert set(depth["split"]) == {"test"}


def test_choose_depth_prefers_budget_then_value(experiments):
    common, _ = experiments
    rows = [
        {"model": "CUVET clipped", "method": "mcuv", "depth": 1, "dv": 0.01, "dc": -0.001},
        {"model": "CUVET clipped", "method": "mcuv", "depth": 2, "dv": 0.03, "dc": 0.002},
        {"model": "CUVET clipped", "method": "mcuv", "depth": 3, "dv": 0.02, "dc": 0.0},
        {"model": "CF-Het", "method": "mcuv", "depth": 1, "dv": 0.5, "dc": -0.1},
    ]
    assert common.choose_depth(rows) == 3


def test_markdown_cell_formats(experiments):
    common, _ = experiments
    with_interval = pd.Series({"point": 0.0123, "mean": 0.012, "half_width": 0.004})
    point_only = pd.Series({"point": 0.0123, "mean": float("nan"), "half_width": float("nan")})
    missing = pd.Series({"point": float("nan"), "mean": float("nan"), "half_width": float("nan")})
    assert common.format_cell(with_interval) == "0.0120 ± 0.0040 (0.0123)"
    assert common.format_cell(point_only) == "0.0123"
    assert common.format_cell(missing) == "n/a"


def test_parse_depths_rejects_zero(experiments):
    common, _ = experiments
    assert common.parse_depths("3,1") == (1, 3)
    with pytest.raises(SystemExit, match="at least 1"):
        common.parse_depths("0,1")


def test_bootstrap_count_rejects_one(experiments):
    common, _ = experiments
    assert common.bootstrap_count("0") == 0
    assert common.bootstrap_count("10") == 10
    with pytest.raises(argparse.ArgumentTypeError, match="at least 2"):
        common.bootstrap_count("1")
    with pytest.raises(argparse.ArgumentTypeError, match="integer"):
        common.bootstrap_count("ten")
