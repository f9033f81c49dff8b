"""The cuvet command line on synthetic and real data, and its errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from cuvet_jax.cli import main
from cuvet_jax.datasets import make_threshold_example


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    data = make_threshold_example(60_000, seed=5)
    path = tmp_path_factory.mktemp("cli") / "rows.csv.gz"
    frame = data.to_frame().drop(columns=["bucket"])
    frame["noise"] = np.random.default_rng(0).normal(size=len(frame))
    frame["segment"] = np.arange(len(frame)) % 2
    frame.to_csv(path, index=False)
    return path


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_demo_reports_first_split_and_uplifts(capsys):
    assert main(["demo", "--rows", "60000"]) == 0
    out = capsys.readouterr().out
    assert "three true buckets: mu = 0.1007, alpha* = (1.191, 1.198, 0.639)" in out
    assert "split at 0.5: alpha* = (1.195, 0.639), dv = +2.04% at equal cost" in out
    thresholds = [float(line.split("<=")[1]) for line in out.splitlines() if line.startswith("first split: x <=")]
    assert len(thresholds) == 2
    assert all(abs(t - 0.5) <= 1 / 32 for t in thresholds)
    assert out.count("train: dv = +") == 2
    assert out.count(" test: dv = +") == 2


def test_fit_json_and_evaluate_saved_model(capsys, table, tmp_path):
    model_path = tmp_path / "model.json"
    report = run_json(capsys, [
        "fit", "--data", str(table), "--alpha", "alpha", "--value", "value", "--cost", "cost",
        "--features", "x,noise", "--max-depth", "1", "--json", "--out", str(model_path),
    ])
    assert report["first_split"]["feature"] == "x"
    assert abs(report["first_split"]["threshold"] - 0.5) <= 1 / 32
    assert report["rows"] == {"train": 30_000, "test": 30_000}
    assert abs(report["uplift"]["train"]["dc"]) < 1e-9
    assert report["uplift"]["test"]["dv"] > 0
    assert len(report["leaves"]) == report["n_leaves"] == 2
    evaluated = run_json(capsys, [
        "evaluate", "--model", str(model_path), "--data", str(table), "--alpha", "alpha", "--value", "value",
        "--cost", "cost", "--features", "x,noise", "--json",
    ])
    assert evaluated["rows"] == 60_000
    assert evaluated["uplift"]["mcuv"]["dv"] > 0


def test_fit_parquet_unclipped_text(capsys, table, tmp_path):
    parquet = tmp_path / "rows.parquet"
    pd.read_csv(table).to_parquet(parquet)
    assert main(["fit", "--data", str(parquet), "--alpha", "alpha", "--value", "value", "--cost", "cost",
                 "--features", "x", "--max-depth", "1", "--unclipped"]) == 0
    out = capsys.readouterr().out
    assert "x <= " in out
    assert "test: dv = " in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--alpha", "dose"], "dose"),
        (["--alpha", "alpha", "--features", "x,missing_column"], "missing_column"),
        (["--alpha", "alpha", "--test-size", "1.5"], "--test-size must be strictly between 0 and 1"),
    ],
)
def test_fit_errors_exit_2_without_traceback(capsys, table, argv, message):
    base = ["fit", "--data", str(table), "--value", "value", "--cost", "cost"]
    assert main(base + argv) == 2
    err = capsys.readouterr().err
    assert "error:" in err
    assert message in err
    assert "Traceback" not in err


def test_fit_error_on_negative_outcome(capsys, tmp_path):
    frame = make_threshold_example(2000, seed=1).to_frame()
    frame.loc[3, "cost"] = -1.0
    path = tmp_path / "negative.csv"
    frame.to_csv(path, index=False)
    assert main(["fit", "--data", str(path), "--alpha", "alpha", "--value", "value", "--cost", "cost"]) == 2
    assert "cost" in capsys.readouterr().err


def test_missing_file_exits_2_in_a_subprocess(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "cuvet_jax.cli", "fit", "--data", str(tmp_path / "absent.csv"),
         "--alpha", "a", "--value", "v", "--cost", "c"],
        capture_output=True, text=True, env={**os.environ, "JAX_PLATFORMS": "cpu"},
    )
    assert result.returncode == 2
    assert "absent.csv" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_columns_without_preset(capsys, table):
    assert main(["fit", "--data", str(table)]) == 2
    assert "missing --alpha, --value, --cost" in capsys.readouterr().err


@pytest.mark.parametrize(
    "preset, path",
    [
        ("karlan-list", os.path.join("karlan_list_2007", "charitable.csv.gz")),
        ("karlan-zinman", os.path.join("karlan_zinman_2008", "kz_demandelasts_aer08.csv.gz")),
    ],
)
def test_fit_presets_on_real_data(capsys, shared_data_dir, preset, path):
    report = run_json(capsys, ["fit", "--preset", preset, "--data", os.path.join(shared_data_dir, path), "--json"])
    assert report["n_leaves"] >= 2
    assert report["first_split"] is not None
    assert "tree_text" in report
    assert "leaf 0" in report["tree_text"]
    assert abs(report["uplift"]["train"]["dc"]) < 1e-9
    assert np.isfinite(report["uplift"]["test"]["dv"])
    assert np.isfinite(report["uplift"]["test"]["dc"])
    if preset == "karlan-zinman":
        assert any("risk" in warning for warning in report["warnings"])


def test_evaluate_all_methods_with_bootstrap(capsys, table, tmp_path):
    model_path = tmp_path / "model.json"
    columns = ["--data", str(table), "--alpha", "alpha", "--value", "value", "--cost", "cost", "--features", "x,noise"]
    assert main(["fit", *columns, "--max-depth", "1", "--out", str(model_path)]) == 0
    capsys.readouterr()
    report = run_json(capsys, ["evaluate", "--model", str(model_path), *columns, "--method", "all", "--bootstrap", "5", "--json"])
    assert set(report["uplift"]) == {"mcuv", "ilp", "lp"}
    for numbers in report["uplift"].values():
        assert numbers["dv_half_width"] >= 0
    assert main(["evaluate", "--model", str(model_path), *columns, "--bootstrap", "1"]) == 2
    assert "--bootstrap must be 0 or at least 2" in capsys.readouterr().err


def test_budget_curve_command(capsys, table, tmp_path):
    model_path = tmp_path / "model.json"
    columns = ["--data", str(table), "--alpha", "alpha", "--value", "value", "--cost", "cost", "--features", "x"]
    assert main(["fit", *columns, "--max-depth", "1", "--out", str(model_path)]) == 0
    capsys.readouterr()
    report = run_json(capsys, ["budget-curve", "--model", str(model_path), "--ratios", "0.9", "1.1", "5", "--json"])
    assert set(report) == {"mcuv", "lp"}
    dv = report["mcuv"]["dv"]
    assert len(dv) == 5
    assert dv == sorted(dv)
    # Levels {1, 1.5}: the LP cannot spend less than the reference cost.
    assert report["lp"]["dv"][0] is None
    assert main(["budget-curve", "--model", str(model_path), "--ratios", "1.2", "0.8", "5"]) == 2
    assert "0 < LOW < HIGH" in capsys.readouterr().err
    plot = tmp_path / "curve.png"
    assert main(["budget-curve", "--model", str(model_path), "--ratios", "0.9", "1.1", "5", "--plot", str(plot)]) == 0
    assert "plot written to" in capsys.readouterr().out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_where_filters_rows(capsys, table):
    columns = ["--data", str(table), "--alpha", "alpha", "--value", "value", "--cost", "cost", "--features", "x,segment"]
    report = run_json(capsys, ["fit", *columns, "--max-depth", "1", "--where", "segment=1", "--json"])
    assert "rows with segment = 1" in report["data"]
    assert report["rows"]["train"] + report["rows"]["test"] == 30_000
    assert main(["fit", *columns, "--where", "segment=3"]) == 2
    assert "keeps no rows" in capsys.readouterr().err
    assert main(["fit", *columns, "--where", "dose=1"]) == 2
    assert "neither a feature nor an extra column" in capsys.readouterr().err
    assert main(["fit", *columns, "--where", "x"]) == 2
    assert "COLUMN=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--features", "x,x"], "named more than once"),
        (["--features", "x,alpha"], "cannot also be features"),
        (["--features", ""], "--features is empty"),
        (["--bounds", "1.2", "1.5"], "--bounds 1.2 1.5 must satisfy"),
        (["--seed", "-1"], "--seed must be a non-negative integer"),
    ],
)
def test_fit_option_errors(capsys, table, extra, message):
    base = ["fit", "--data", str(table), "--alpha", "alpha", "--value", "value", "--cost", "cost"]
    assert main(base + extra) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_fit_out_errors_before_fitting(capsys, table, tmp_path):
    base = ["fit", "--data", str(table), "--alpha", "alpha", "--value", "value", "--cost", "cost", "--features", "x"]
    assert main(base + ["--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(base + ["--out", str(tmp_path / "missing" / "m.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_unreadable_inputs_exit_2(capsys, tmp_path):
    fake = tmp_path / "plain.csv.gz"
    fake.write_text("a,b\n1,2\n")
    assert main(["fit", "--data", str(fake), "--alpha", "a", "--value", "b", "--cost", "b"]) == 2
    assert "could not read" in capsys.readouterr().err
    header_only = tmp_path / "header.csv"
    header_only.write_text("alpha,value,cost,x\n")
    assert main(["fit", "--data", str(header_only), "--alpha", "alpha", "--value", "value", "--cost", "cost"]) == 2
    assert "has no rows" in capsys.readouterr().err
    not_a_model = tmp_path / "list.json"
    not_a_model.write_text("[1, 2]")
    assert main(["evaluate", "--model", str(not_a_model), "--data", str(header_only), "--alpha", "alpha",
                 "--value", "value", "--cost", "cost"]) == 2
    assert "not a cuvet_jax tree file" in capsys.readouterr().err


def test_evaluate_reorders_features(capsys, table, tmp_path):
    model_path = tmp_path / "model.json"
    columns = ["--data", str(table), "--alpha", "alpha", "--value", "value", "--cost", "cost"]
    assert main(["fit", *columns, "--features", "x,noise", "--max-depth", "1", "--out", str(model_path)]) == 0
    capsys.readouterr()
    straight = run_json(capsys, ["evaluate", "--model", str(model_path), *columns, "--features", "x,noise", "--json"])
    swapped = run_json(capsys, ["evaluate", "--model", str(model_path), *columns, "--features", "noise,x", "--json"])
    assert swapped["uplift"] == straight["uplift"]
    assert main(["evaluate", "--model", str(model_path), *columns, "--features", "x"]) == 2
    assert "lacks the model's features ['noise']" in capsys.readouterr().err


def test_unclipped_extrapolation_warns(capsys, shared_data_dir):
    path = os.path.join(shared_data_dir, "karlan_zinman_2008", "kz_demandelasts_aer08.csv.gz")
    report = run_json(capsys, ["fit", "--preset", "karlan-zinman", "--data", path, "--where", "risk=2",
                               "--unclipped", "--max-depth", "2", "--json"])
    assert any("outside the observed treatment range" in warning for warning in report["warnings"])
