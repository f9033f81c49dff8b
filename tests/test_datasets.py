"""Tests of the table readers, the CUVET-policy layout generator and the balance check."""

import numpy as np
import pandas as pd
import pytest

from cuvet_jax.datasets import (
    POLICY_LEVELS,
    POLICY_SCHEMA_COLUMNS,
    balance_check,
    balance_warnings,
    experiment_from_frame,
    iter_table_chunks,
    load_policy_schema,
    make_policy_schema_data,
    policy_schema_bucket,
    policy_schema_truth,
    read_table,
    write_policy_schema_file,
)

SUFFIXES = (".csv", ".csv.gz", ".parquet")


def _write(frame: pd.DataFrame, path) -> None:
    if str(path).endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


@pytest.fixture
def small_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 50
    return pd.DataFrame(
        {
            "a": rng.choice([0.5, 1.0, 1.5], size=n),
            "v": rng.exponential(size=n),
            "c": rng.exponential(size=n),
            "x1": rng.normal(size=n),
            "x2": rng.integers(0, 4, size=n),
            "flag": rng.integers(0, 2, size=n),
        }
    )


# Readers


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_read_table_round_trip(tmp_path, small_frame, suffix):
    path = tmp_path / f"table{suffix}"
    _write(small_frame, path)

    whole = read_table(path)
    pd.testing.assert_frame_equal(whole, small_frame, check_exact=False, rtol=1e-15)

    selected = read_table(path, columns=["x2", "a"])
    assert list(selected.columns) == ["x2", "a"]
    np.testing.assert_array_equal(selected["x2"].to_numpy(), small_frame["x2"].to_numpy())


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_iter_table_chunks_sizes_and_content(tmp_path, small_frame, suffix):
    path = tmp_path / f"table{suffix}"
    _write(small_frame, path)

    chunks = list(iter_table_chunks(path, columns=["v", "a"], chunk_rows=16))
    assert [len(chunk) for chunk in chunks] == [16, 16, 16, 2]
    assert all(list(chunk.columns) == ["v", "a"] for chunk in chunks)
    assert all(chunk.index[0] == 0 for chunk in chunks)
    joined = pd.concat(chunks, ignore_index=True)
    np.testing.assert_allclose(joined["v"].to_numpy(), small_frame["v"].to_numpy(), rtol=1e-15)


def test_read_table_missing_file(tmp_path):
    path = tmp_path / "absent.csv"
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        read_table(path)


def test_read_table_unknown_suffix(tmp_path):
    path = tmp_path / "table.xlsx"
    path.write_text("a\n1\n")
    with pytest.raises(ValueError, match=r"table\.xlsx.*\.csv, \.csv\.gz, \.parquet"):
        read_table(path)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_read_table_missing_column_lists_available(tmp_path, small_frame, suffix):
    path = tmp_path / f"table{suffix}"
    _write(small_frame, path)
    with pytest.raises(ValueError, match=r"\['nope'\] not found.*available columns: \['a', 'v', 'c'"):
        read_table(path, columns=["a", "nope"])


def test_iter_table_chunks_checks_at_call(tmp_path, small_frame):
    path = tmp_path / "table.csv"
    _write(small_frame, path)
    with pytest.raises(ValueError, match="'nope'"):
        iter_table_chunks(path, columns=["nope"])
    with pytest.raises(ValueError, match="chunk_rows must be at least 1, got 0"):
        iter_table_chunks(path, chunk_rows=0)


# experiment_from_frame


def test_experiment_from_frame_default_features(small_frame):
    data = experiment_from_frame(small_frame, alpha="a", value="v", cost="c", extra=("flag",))
    assert data.feature_names == ("x1", "x2")
    np.testing.assert_array_equal(data.X[:, 1], small_frame["x2"].to_numpy(dtype=float))
    np.testing.assert_array_equal(data.alpha, small_frame["a"].to_numpy())
    np.testing.assert_array_equal(data.extra["flag"], small_frame["flag"].to_numpy())
    assert data.X.dtype == np.float64


def test_experiment_from_frame_encodes_strings_sorted(small_frame):
    frame = small_frame.assign(city=["Paris", "Berlin", "Rome", "Berlin", "Oslo"] * 10)
    data = experiment_from_frame(frame, alpha="a", value="v", cost="c", features=["city", "x1"])
    np.testing.assert_array_equal(data.X[:5, 0], [2.0, 0.0, 3.0, 0.0, 1.0])
    assert "city: Berlin=0, Oslo=1, Paris=2, Rome=3" in data.description

    # Without an explicit list, string columns are left out.
    default = experiment_from_frame(frame, alpha="a", value="v", cost="c")
    assert "city" not in default.feature_names


def test_experiment_from_frame_categorical_keeps_order(small_frame):
    band = pd.Categorical(["high", "low", "mid", "low", "high"] * 10, categories=["low", "mid", "high"])
    frame = small_frame.assign(band=band)
    data = experiment_from_frame(frame, alpha="a", value="v", cost="c", features=["band"])
    np.testing.assert_array_equal(data.X[:5, 0], [2.0, 0.0, 1.0, 0.0, 2.0])
    assert "band: low=0, mid=1, high=2" in data.description


def test_experiment_from_frame_missing_column(small_frame):
    with pytest.raises(ValueError, match=r"\['gift'\] not found; available columns: \['a', 'v'"):
        experiment_from_frame(small_frame, alpha="a", value="gift", cost="c")


@pytest.mark.parametrize("role,column", [("alpha", "a"), ("value", "v"), ("cost", "c")])
def test_experiment_from_frame_nan_outcome(small_frame, role, column):
    frame = small_frame.copy()
    frame.loc[[3, 7], column] = np.nan
    frame.loc[9, column] = np.inf
    with pytest.raises(ValueError, match=rf"{role} column '{column}' has 3 NaN or infinite values; drop or fill"):
        experiment_from_frame(frame, alpha="a", value="v", cost="c")


def test_experiment_from_frame_nan_feature(small_frame):
    frame = small_frame.copy()
    frame.loc[[1, 2], "x1"] = np.nan
    with pytest.raises(ValueError, match="feature column 'x1' has 2 NaN or infinite values"):
        experiment_from_frame(frame, alpha="a", value="v", cost="c")


def test_experiment_from_frame_missing_string_feature(small_frame):
    frame = small_frame.assign(city=["Paris", None] * 25)
    with pytest.raises(ValueError, match="feature column 'city' has 25 missing values"):
        experiment_from_frame(frame, alpha="a", value="v", cost="c", features=["city"])


@pytest.mark.parametrize("role,column", [("value", "v"), ("cost", "c")])
def test_experiment_from_frame_negative_outcome(small_frame, role, column):
    frame = small_frame.copy()
    frame.loc[4, column] = -2.5
    with pytest.raises(ValueError, match=rf"{role} column '{column}' has 1 negative values \(min -2.5\)"):
        experiment_from_frame(frame, alpha="a", value="v", cost="c")


def test_experiment_from_frame_nonpositive_alpha(small_frame):
    frame = small_frame.copy()
    frame.loc[[0, 1], "a"] = [0.0, -1.0]
    with pytest.raises(ValueError, match=r"alpha column 'a' has 2 values <= 0 \(min -1.0\)"):
        experiment_from_frame(frame, alpha="a", value="v", cost="c")


def test_experiment_from_frame_string_outcome(small_frame):
    frame = small_frame.assign(v=["1.0"] * 50)
    with pytest.raises(ValueError, match="value column 'v' has non-numeric dtype"):
        experiment_from_frame(frame, alpha="a", value="v", cost="c")


# CUVET-policy layout generator


def test_policy_schema_data_schema():
    data = make_policy_schema_data(20_000, seed=1)
    assert data.feature_names == ("f0", "f1", "f2", "f3", "f4")
    assert data.X.shape == (20_000, 5)
    assert set(np.unique(data.alpha)) == set(POLICY_LEVELS)
    assert set(data.extra) == {"is_val", "bucket"}
    assert data.extra["is_val"].dtype == bool
    assert np.all(data.value > 0)
    assert np.all(data.cost > 0)
    np.testing.assert_array_equal(data.extra["bucket"], policy_schema_bucket(data.X))


def test_policy_schema_shares():
    data = make_policy_schema_data(100_000, seed=2)
    # Binomial standard deviation of the share is sqrt(0.1 * 0.9 / 1e5) = 0.00095.
    assert abs(data.extra["is_val"].mean() - 0.1) < 0.005
    level_shares = np.array([np.mean(data.alpha == level) for level in POLICY_LEVELS])
    np.testing.assert_allclose(level_shares, 0.2, atol=0.006)
    bucket_shares = np.bincount(data.extra["bucket"], minlength=4) / data.n_rows
    np.testing.assert_allclose(bucket_shares, policy_schema_truth().shares, atol=0.006)


def test_policy_schema_deterministic():
    first = make_policy_schema_data(5_000, seed=7, chunk_rows=1_500)
    second = make_policy_schema_data(5_000, seed=7, chunk_rows=1_500)
    other = make_policy_schema_data(5_000, seed=8, chunk_rows=1_500)
    np.testing.assert_array_equal(first.X, second.X)
    np.testing.assert_array_equal(first.value, second.value)
    np.testing.assert_array_equal(first.extra["is_val"], second.extra["is_val"])
    assert not np.array_equal(first.X, other.X)


def test_policy_schema_chunk_prefix():
    # Chunk i depends only on (seed, i), so a longer run starts with the rows of a shorter one.
    short = make_policy_schema_data(3_000, seed=4, chunk_rows=1_000)
    long = make_policy_schema_data(4_500, seed=4, chunk_rows=1_000)
    np.testing.assert_array_equal(long.X[:3_000], short.X)
    np.testing.assert_array_equal(long.cost[:3_000], short.cost)


@pytest.mark.parametrize("suffix", SUFFIXES)
@pytest.mark.parametrize("read_chunk_rows", [None, 777])
def test_policy_schema_file_equals_memory(tmp_path, suffix, read_chunk_rows):
    path = write_policy_schema_file(tmp_path / f"policy{suffix}", 2_500, seed=5, chunk_rows=1_000)
    assert read_table(path, columns=None).columns.tolist() == list(POLICY_SCHEMA_COLUMNS)

    loaded = load_policy_schema(path, chunk_rows=read_chunk_rows)
    expected = make_policy_schema_data(2_500, seed=5, chunk_rows=1_000)
    np.testing.assert_array_equal(loaded.X, expected.X)
    np.testing.assert_array_equal(loaded.alpha, expected.alpha)
    np.testing.assert_array_equal(loaded.value, expected.value)
    np.testing.assert_array_equal(loaded.cost, expected.cost)
    np.testing.assert_array_equal(loaded.extra["is_val"], expected.extra["is_val"])
    assert loaded.feature_names == expected.feature_names


def test_load_policy_schema_reports_bad_rows(tmp_path):
    frame = make_policy_schema_data(30, seed=0).to_frame().rename(columns={"alpha": "policy"})
    frame.loc[25, "cost"] = -1.0
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"cost column 'cost' has 1 negative values.*rows 20 to 29"):
        load_policy_schema(path, chunk_rows=10)


def test_load_policy_schema_missing_column(tmp_path):
    frame = make_policy_schema_data(30, seed=0).to_frame()
    path = tmp_path / "renamed.parquet"
    frame.to_parquet(path, index=False)
    with pytest.raises(ValueError, match=r"\['policy'\] not found"):
        load_policy_schema(path, chunk_rows=10)


def test_policy_schema_group_means_match_truth():
    truth = policy_schema_truth()
    data = make_policy_schema_data(300_000, seed=11, chunk_rows=100_000)
    bucket = data.extra["bucket"]
    for b in range(4):
        for level in POLICY_LEVELS:
            rows = (bucket == b) & (data.alpha == level)
            mean_value, mean_cost = truth.mean_outcomes(np.array([b]), np.array([level]))
            # At least 4,600 rows per cell and noise CV 0.5 give a relative standard error below 0.0075.
            assert abs(data.value[rows].mean() / mean_value[0] - 1) < 0.04, (b, level)
            assert abs(data.cost[rows].mean() / mean_cost[0] - 1) < 0.04, (b, level)


def test_policy_schema_truth_is_admissible():
    truth = policy_schema_truth()
    _, _, gamma, eta = truth.parameters.T
    assert np.all(gamma > 0)
    assert np.all(gamma < eta)
    assert len(np.unique(truth.mcuv_at_reference)) == 4
    np.testing.assert_allclose(truth.shares.sum(), 1.0, rtol=1e-12)


def test_policy_schema_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="n_rows must be at least 1, got 0"):
        make_policy_schema_data(0)
    with pytest.raises(ValueError, match="chunk_rows must be at least 1, got -5"):
        make_policy_schema_data(10, chunk_rows=-5)
    with pytest.raises(ValueError, match=r"unknown table suffix in .*policy\.txt"):
        write_policy_schema_file(tmp_path / "policy.txt", 10)


# Balance check


def _confounded_rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    band = rng.integers(0, 2, size=n).astype(float)
    noise = rng.normal(size=n)
    # The treatment level depends on band, not on noise.
    alpha = np.where(band == 1, rng.choice([1.0, 1.2], size=n), rng.choice([0.8, 1.0], size=n))
    return np.column_stack([noise, band]), alpha


def test_balance_check_flags_dependent_feature():
    X, alpha = _confounded_rows(20_000, seed=0)
    table = balance_check(X, alpha, ["noise", "band"])
    assert table["feature"].tolist() == ["band", "noise"]
    assert table.loc[0, "max_abs_smd"] == pytest.approx(1.0, abs=0.05)
    assert table.loc[0, "worst_level"] in (0.8, 1.2)
    assert table.loc[1, "max_abs_smd"] < 0.05
    assert table.loc[0, "p_value"] < 1e-12
    assert table.loc[0, "n_levels"] == 3

    warnings = balance_warnings(table)
    assert len(warnings) == 1
    assert "'band'" in warnings[0]


def test_balance_check_smd_formula():
    X = np.array([[0.0], [2.0], [4.0], [6.0]])
    treatment = np.array([1.0, 1.0, 2.0, 2.0])
    table = balance_check(X, treatment, ["x"], test=None)
    # Pooled mean 3, population sd sqrt(5), group means 1 and 5.
    assert table.loc[0, "max_abs_smd"] == pytest.approx(2 / np.sqrt(5), rel=1e-12)
    assert "p_value" not in table.columns


def test_balance_check_groups_continuous_treatment():
    rng = np.random.default_rng(1)
    alpha = rng.uniform(0.5, 1.5, size=5_000)
    X = np.column_stack([alpha + rng.normal(scale=0.1, size=5_000), rng.normal(size=5_000)])
    table = balance_check(X, alpha, ["follows", "independent"], n_groups=4, test="kruskal")
    assert set(table["n_levels"]) == {4}
    assert table.loc[0, "feature"] == "follows"
    assert table.loc[1, "p_value"] > 1e-3
    warnings = balance_warnings(table, threshold=0.1)
    assert len(warnings) == 1
    assert "'follows'" in warnings[0]


def test_balance_check_constant_feature():
    X = np.column_stack([np.ones(100), np.arange(100.0)])
    table = balance_check(X, np.repeat([1.0, 2.0], 50), ["constant", "index"])
    row = table.set_index("feature").loc["constant"]
    assert row["max_abs_smd"] == 0.0
    assert row["p_value"] == 1.0


def test_balance_check_rejects_bad_input():
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"treatment must have shape \(4,\)"):
        balance_check(X, np.ones(3), ["a", "b"])
    with pytest.raises(ValueError, match="1 feature names for 2 feature columns"):
        balance_check(X, np.ones(4), ["a"])
    with pytest.raises(ValueError, match="test must be 'anova', 'kruskal' or None, got 't'"):
        balance_check(X, np.ones(4), ["a", "b"], test="t")
    with pytest.raises(ValueError, match="table lacks columns"):
        balance_warnings(pd.DataFrame({"feature": ["a"]}))
