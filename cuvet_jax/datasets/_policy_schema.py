"""Synthetic data in the column layout of the CUVET-policy bidding experiment, with a known truth.

The CUVET-policy data (Criteo) have one row per randomized unit with five anonymized continuous features
`f0..f4`, the randomized bidding policy `policy` in {0.8, 0.9, 1.0, 1.1, 1.2}, the outcomes `value`
and `cost`, and a validation flag `is_val`. This module draws rows of that layout from four true
buckets, defined by thresholds on f0, f1 and f2, whose mean outcomes follow power laws

    E[value | bucket b, policy = alpha] = v_b * alpha**gamma_b
    E[cost  | bucket b, policy = alpha] = c_b * alpha**eta_b

with 0 < gamma_b < eta_b and different marginal costs per unit value at the reference,
mCUV_b(1) = (eta_b / gamma_b) * c_b / v_b. Features f3 and f4 do not affect the outcomes.

Draws: features are independent standard normal, policy is uniform over the five levels, `is_val`
is 1 with probability 0.1. Noise model: each outcome is its mean times an independent
Gamma(k, 1/k) factor (mean 1, coefficient of variation 1/sqrt(k)).

Rows are drawn chunk by chunk, chunk i from `numpy.random.default_rng([seed, i])`, so a seed and a
chunk size fix every row whether the rows are kept in memory or written to a file.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.stats import norm

from ._experiment_data import ExperimentData
from ._readers import experiment_from_frame, iter_table_chunks, read_table, table_format

FEATURE_COLUMNS = ("f0", "f1", "f2", "f3", "f4")
"""Feature columns of the CUVET-policy layout."""

POLICY_SCHEMA_COLUMNS = (*FEATURE_COLUMNS, "policy", "value", "cost", "is_val")
"""All columns of the CUVET-policy layout, in file order."""

POLICY_LEVELS = (0.8, 0.9, 1.0, 1.1, 1.2)
"""Randomized bidding policies, drawn with equal probability; 1.0 is the reference."""

VALIDATION_SHARE = 0.1
"""Probability that a synthetic row has `is_val == 1`."""

BUCKET_RULES = (
    "f0 < 0 and f1 < 0",
    "f0 < 0 and f1 >= 0",
    "f0 >= 0 and f2 < 0.5",
    "f0 >= 0 and f2 >= 0.5",
)
"""Feature conditions of the true buckets 0 to 3."""

BUCKET_PARAMETERS = np.array(
    [
        # mean value at policy 1, mean cost at policy 1, gamma, eta
        [1.0, 0.5, 0.6, 1.2],
        [2.0, 0.6, 0.8, 1.6],
        [0.5, 0.4, 0.4, 1.0],
        [1.5, 1.2, 1.0, 1.5],
    ]
)
"""Per-row mean power laws of the true buckets, one row per bucket."""


def policy_schema_bucket(X: np.ndarray) -> np.ndarray:
    """Return the true bucket (0 to 3) of each row of features, shape (n, 5) -> (n,) int64.

    The rules are those of `BUCKET_RULES`: the sign of f0 selects a pair of buckets, and f1 < 0
    (for f0 < 0) or f2 < 0.5 (for f0 >= 0) selects the bucket within the pair.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] < 3:
        raise ValueError(f"X must have shape (n, 5) with columns f0..f4, got shape {X.shape}")
    right = X[:, 0] >= 0
    second = np.where(right, X[:, 2] >= 0.5, X[:, 1] >= 0)
    return (2 * right + second).astype(np.int64)


@dataclasses.dataclass(frozen=True)
class PolicySchemaTruth:
    """Ground truth of the synthetic CUVET-policy data.

    Attributes:
        bucket_rules: feature condition of each bucket.
        parameters: (n_buckets, 4) array of per-row means: value at policy 1, cost at policy 1,
            gamma, eta.
        shares: (n_buckets,) population share of each bucket under standard normal features.
        levels: randomized policy levels.
    """

    bucket_rules: tuple[str, ...]
    parameters: np.ndarray
    shares: np.ndarray
    levels: tuple[float, ...]

    @property
    def mcuv_at_reference(self) -> np.ndarray:
        """Marginal cost per unit value at policy 1 per bucket, (eta / gamma) * c / v, shape (n_buckets,)."""
        value_ref, cost_ref, gamma, eta = self.parameters.T
        return (eta / gamma) * cost_ref / value_ref

    def mean_outcomes(self, bucket: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the true mean value and cost per row, v_b * alpha**gamma_b and c_b * alpha**eta_b."""
        value_ref, cost_ref, gamma, eta = self.parameters[np.asarray(bucket)].T
        alpha = np.asarray(alpha, dtype=np.float64)
        return value_ref * alpha**gamma, cost_ref * alpha**eta

    def bucket(self, X: np.ndarray) -> np.ndarray:
        """Return the true bucket of each row of features; see `policy_schema_bucket`."""
        return policy_schema_bucket(X)


def policy_schema_truth() -> PolicySchemaTruth:
    """Return the ground truth behind `make_policy_schema_data` and `write_policy_schema_file`."""
    half = 0.5
    shares = np.array(
        [half * norm.cdf(0.0), half * norm.sf(0.0), half * norm.cdf(0.5), half * norm.sf(0.5)]
    )
    return PolicySchemaTruth(
        bucket_rules=BUCKET_RULES,
        parameters=BUCKET_PARAMETERS.copy(),
        shares=shares,
        levels=POLICY_LEVELS,
    )


def _check_generator_arguments(n_rows: int, chunk_rows: int, noise_shape: float) -> None:
    if n_rows < 1:
        raise ValueError(f"n_rows must be at least 1, got {n_rows}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    if not noise_shape > 0:
        raise ValueError(f"noise_shape must be positive (or numpy.inf for no noise), got {noise_shape}")


def _draw_chunk(seed: int, chunk_index: int, n_rows: int, noise_shape: float) -> dict[str, np.ndarray]:
    """Draw one chunk of rows as a dict of columns in `POLICY_SCHEMA_COLUMNS` order plus `bucket`."""
    rng = np.random.default_rng([seed, chunk_index])
    X = rng.standard_normal((n_rows, len(FEATURE_COLUMNS)))
    policy = rng.choice(np.asarray(POLICY_LEVELS), size=n_rows)
    is_val = (rng.random(n_rows) < VALIDATION_SHARE).astype(np.int64)
    bucket = policy_schema_bucket(X)

    value_ref, cost_ref, gamma, eta = BUCKET_PARAMETERS[bucket].T
    mean_value = value_ref * policy**gamma
    mean_cost = cost_ref * policy**eta
    if np.isinf(noise_shape):
        value, cost = mean_value, mean_cost
    else:
        value = mean_value * rng.gamma(noise_shape, 1.0 / noise_shape, size=n_rows)
        cost = mean_cost * rng.gamma(noise_shape, 1.0 / noise_shape, size=n_rows)

    columns = {name: X[:, j] for j, name in enumerate(FEATURE_COLUMNS)}
    columns.update({"policy": policy, "value": value, "cost": cost, "is_val": is_val, "bucket": bucket})
    return columns


def _chunk_sizes(n_rows: int, chunk_rows: int) -> list[int]:
    full, rest = divmod(n_rows, chunk_rows)
    return [chunk_rows] * full + ([rest] if rest else [])


def make_policy_schema_data(
    n_rows: int = 1_000_000,
    *,
    seed: int = 0,
    chunk_rows: int = 1_000_000,
    noise_shape: float = 4.0,
) -> ExperimentData:
    """Draw synthetic rows of the CUVET-policy layout with known per-bucket power laws.

    Args:
        n_rows: number of rows.
        seed: seed of the per-chunk numpy random generators.
        chunk_rows: rows per chunk; the same seed and chunk size give the same rows as
            `write_policy_schema_file`.
        noise_shape: shape k of the multiplicative Gamma(k, 1/k) noise on each outcome; larger is
            less noisy. Use `numpy.inf` for noise-free outcomes.

    Returns:
        ExperimentData with features f0..f4, alpha = policy, and `extra` holding `is_val` (bool)
        and `bucket` (the true bucket, int64).
    """
    _check_generator_arguments(n_rows, chunk_rows, noise_shape)
    chunks = [
        _draw_chunk(seed, index, size, noise_shape)
        for index, size in enumerate(_chunk_sizes(n_rows, chunk_rows))
    ]
    columns = {name: np.concatenate([chunk[name] for chunk in chunks]) for name in chunks[0]}
    return ExperimentData(
        X=np.column_stack([columns[name] for name in FEATURE_COLUMNS]),
        alpha=columns["policy"],
        value=columns["value"],
        cost=columns["cost"],
        feature_names=FEATURE_COLUMNS,
        extra={"is_val": columns["is_val"].astype(bool), "bucket": columns["bucket"]},
        description=(
            f"synthetic CUVET-policy layout, {n_rows} rows, seed {seed}, chunks of {chunk_rows}, "
            f"Gamma noise shape {noise_shape}"
        ),
    )


def write_policy_schema_file(
    path: str | os.PathLike,
    n_rows: int,
    *,
    seed: int = 0,
    chunk_rows: int = 1_000_000,
    noise_shape: float = 4.0,
) -> Path:
    """Write synthetic rows of the CUVET-policy layout to a file, one chunk at a time.

    The format follows the suffix (`.csv`, `.csv.gz`, `.parquet`); the columns are
    `POLICY_SCHEMA_COLUMNS` (the true bucket is not written; `policy_schema_bucket` recovers it from
    the features). Memory stays at about one chunk, and the rows equal those of
    `make_policy_schema_data` with the same seed, chunk size and noise shape. CSV floats are written
    with 17 significant digits, so they read back exactly.

    Returns:
        The path written.
    """
    _check_generator_arguments(n_rows, chunk_rows, noise_shape)
    path = Path(path)
    file_format = table_format(path)
    sizes = _chunk_sizes(n_rows, chunk_rows)

    def frames():
        for index, size in enumerate(sizes):
            columns = _draw_chunk(seed, index, size, noise_shape)
            yield pd.DataFrame({name: columns[name] for name in POLICY_SCHEMA_COLUMNS})

    if file_format == "parquet":
        writer = None
        try:
            for frame in frames():
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        return path

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "wt", newline="") as handle:
        for index, frame in enumerate(frames()):
            frame.to_csv(handle, header=index == 0, index=False, float_format="%.17g")
    return path


def _count_csv_rows(path: Path) -> int:
    """Count the data rows of a CSV file (lines after the header) in one binary pass."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    n_newlines = 0
    last_byte = b"\n"
    with opener(path, "rb") as handle:
        while block := handle.read(1 << 24):
            n_newlines += block.count(b"\n")
            last_byte = block[-1:]
    n_lines = n_newlines + (last_byte != b"\n")
    return max(n_lines - 1, 0)


def load_policy_schema(path: str | os.PathLike, chunk_rows: int | None = None) -> ExperimentData:
    """Read a file of the CUVET-policy layout into ExperimentData.

    The file must have the columns `POLICY_SCHEMA_COLUMNS` (f0..f4, policy, value, cost, is_val);
    other columns are ignored. With `chunk_rows`, the rows are read in chunks into arrays allocated
    once for the whole file, so memory stays at one copy of the data plus one chunk. The row count
    comes from Parquet metadata, or from a first pass that counts CSV lines.

    Returns:
        ExperimentData with features f0..f4, alpha = policy, and `extra["is_val"]` as bool.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: the file has an unknown suffix or lacks a column. Also when a chunk has NaN,
            negative or non-positive values where they are invalid, and then the message gives the
            row range.
    """
    path = Path(path)
    columns = list(POLICY_SCHEMA_COLUMNS)
    if chunk_rows is None:
        chunks = [read_table(path, columns)]
        capacity = None
    else:
        chunks = iter_table_chunks(path, columns, chunk_rows=chunk_rows)
        if table_format(path) == "parquet":
            capacity = pq.ParquetFile(path).metadata.num_rows
        else:
            capacity = _count_csv_rows(path)

    X = alpha = value = cost = is_val = None
    if capacity is not None:
        X = np.empty((capacity, len(FEATURE_COLUMNS)), dtype=np.float64)
        alpha, value, cost = (np.empty(capacity, dtype=np.float64) for _ in range(3))
        is_val = np.empty(capacity, dtype=bool)

    start = 0
    for frame in chunks:
        stop = start + len(frame)
        try:
            part = experiment_from_frame(
                frame, alpha="policy", value="value", cost="cost", features=FEATURE_COLUMNS, extra=("is_val",)
            )
        except ValueError as error:
            raise ValueError(f"{error} (rows {start} to {stop - 1} of {str(path)!r})") from error
        if capacity is None:
            X, alpha, value, cost = part.X, part.alpha, part.value, part.cost
            is_val = part.extra["is_val"].astype(bool)
        else:
            if stop > capacity:
                raise ValueError(
                    f"{str(path)!r} has more rows than the {capacity} counted; check the file for "
                    "quoted line breaks"
                )
            X[start:stop] = part.X
            alpha[start:stop] = part.alpha
            value[start:stop] = part.value
            cost[start:stop] = part.cost
            is_val[start:stop] = part.extra["is_val"].astype(bool)
        start = stop

    if start == 0:
        raise ValueError(f"{str(path)!r} has no data rows")
    if capacity is not None and start < capacity:
        # Blank lines count as CSV lines but yield no rows; the slices are views, not copies.
        X, alpha, value, cost, is_val = X[:start], alpha[:start], value[:start], cost[:start], is_val[:start]
    return ExperimentData(
        X=X,
        alpha=alpha,
        value=value,
        cost=cost,
        feature_names=FEATURE_COLUMNS,
        extra={"is_val": is_val},
        description=f"CUVET-policy layout read from {path.name}, {start} rows",
    )
