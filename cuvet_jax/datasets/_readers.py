"""Readers for experiment tables in CSV, gzip-compressed CSV and Parquet files.

The file format follows the name's suffix: `.csv`, `.csv.gz` or `.parquet`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.parquet as pq

from ._experiment_data import ExperimentData

SUFFIXES = {".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet"}
"""File-name suffixes the readers accept, mapped to the table format."""


def table_format(path: str | os.PathLike) -> str:
    """Return the table format of `path` from its suffix: "csv" or "parquet"."""
    name = Path(path).name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return SUFFIXES[suffix]
    raise ValueError(
        f"unknown table suffix in {str(path)!r}; use one of {', '.join(SUFFIXES)}"
    )


def _check_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{str(path)!r} is a directory; pass the table file inside it")
    if not path.is_file():
        raise FileNotFoundError(f"table file not found: {str(path)!r}; check the path or data folder")
    return path


def table_columns(path: str | os.PathLike) -> list[str]:
    """Return the column names of a table file without reading its rows."""
    path = _check_file(path)
    if table_format(path) == "parquet":
        return list(pq.read_schema(path).names)
    return list(pd.read_csv(path, nrows=0).columns)


def _check_columns(path: Path, columns: Sequence[str] | None) -> list[str] | None:
    if columns is None:
        return None
    columns = list(columns)
    available = table_columns(path)
    missing = [name for name in columns if name not in available]
    if missing:
        raise ValueError(
            f"columns {missing} not found in {str(path)!r}; available columns: {available}"
        )
    return columns


def read_table(path: str | os.PathLike, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a whole table file into a DataFrame.

    Args:
        path: a `.csv`, `.csv.gz` or `.parquet` file.
        columns: names of the columns to read, in this order; None reads all of them.

    Raises:
        FileNotFoundError: `path` is not a file.
        ValueError: the suffix is unknown, or a requested column is missing (the message lists the
            available columns).
    """
    path = _check_file(path)
    file_format = table_format(path)
    try:
        columns = _check_columns(path, columns)
        if file_format == "parquet":
            frame = pd.read_parquet(path, columns=columns)
        else:
            frame = pd.read_csv(path, usecols=columns)
    except (OSError, EOFError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, pyarrow.ArrowException) as error:
        raise ValueError(
            f"could not read {str(path)!r} as {file_format} ({type(error).__name__}: {error}); "
            "check that the file's content matches its suffix"
        ) from None
    if columns is not None:
        frame = frame[columns]
    return frame


def iter_table_chunks(
    path: str | os.PathLike,
    columns: Sequence[str] | None = None,
    chunk_rows: int = 1_000_000,
) -> Iterator[pd.DataFrame]:
    """Yield a table file as consecutive DataFrames of at most `chunk_rows` rows each.

    CSV files are read through pandas' `chunksize`, Parquet files through
    `pyarrow.parquet.ParquetFile.iter_batches`, so memory stays at about one chunk.
    Each chunk has a fresh RangeIndex starting at 0. The file and columns are checked when the
    function is called, before the first chunk is requested.

    Raises:
        FileNotFoundError: `path` is not a file.
        ValueError: the suffix is unknown, `chunk_rows` is below 1, or a requested column is missing.
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
    path = _check_file(path)
    file_format = table_format(path)
    columns = _check_columns(path, columns)
    # The checks above run at call time; only the reading below is deferred to iteration.
    if file_format == "parquet":
        return _iter_parquet_chunks(path, columns, chunk_rows)
    return _iter_csv_chunks(path, columns, chunk_rows)


def _iter_parquet_chunks(path: Path, columns: list[str] | None, chunk_rows: int) -> Iterator[pd.DataFrame]:
    # With pyarrow's default pre_buffer=True, iter_batches buffers every row group ahead of use
    # (measured with pyarrow 26: about the decoded size of the whole file), so turn it off.
    parquet_file = pq.ParquetFile(path, pre_buffer=False)
    for batch in parquet_file.iter_batches(batch_size=chunk_rows, columns=columns):
        yield batch.to_pandas()


def _iter_csv_chunks(path: Path, columns: list[str] | None, chunk_rows: int) -> Iterator[pd.DataFrame]:
    with pd.read_csv(path, usecols=columns, chunksize=chunk_rows) as reader:
        for chunk in reader:
            chunk = chunk.reset_index(drop=True)
            yield chunk if columns is None else chunk[columns]


def _numeric_outcome(frame: pd.DataFrame, column: str, role: str) -> np.ndarray:
    series = frame[column]
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise ValueError(f"{role} column {column!r} has non-numeric dtype {series.dtype}; convert it first")
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    n_bad = int(np.sum(~np.isfinite(values)))
    if n_bad:
        raise ValueError(
            f"{role} column {column!r} has {n_bad} NaN or infinite values; drop or fill those rows first"
        )
    return values


def _encode_feature(series: pd.Series) -> tuple[np.ndarray, str | None]:
    """Return a feature column as float64 and, for a string or categorical column, its code mapping.

    Categorical columns keep the order of their categories; string and object columns are coded in
    sorted order of their distinct values.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        categories = list(series.cat.categories)
        codes = series.cat.codes.to_numpy()
        if np.any(codes < 0):
            raise ValueError(
                f"feature column {series.name!r} has {int(np.sum(codes < 0))} missing values; "
                "drop or fill those rows first"
            )
    elif pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan), None
    else:
        n_missing = int(series.isna().sum())
        if n_missing:
            raise ValueError(
                f"feature column {series.name!r} has {n_missing} missing values; "
                "drop or fill those rows first"
            )
        categories = sorted(series.unique())
        codes = pd.Categorical(series, categories=categories).codes
    mapping = ", ".join(f"{category}={code}" for code, category in enumerate(categories))
    return codes.astype(np.float64), f"{series.name}: {mapping}"


def experiment_from_frame(
    frame: pd.DataFrame,
    *,
    alpha: str,
    value: str,
    cost: str,
    features: Sequence[str] | None = None,
    extra: Sequence[str] = (),
    description: str = "",
) -> ExperimentData:
    """Build ExperimentData from the columns of a DataFrame and validate them.

    Args:
        frame: one row per randomized unit.
        alpha: column of the treatment level (positive, 1.0 is the reference).
        value: column of the value outcome (non-negative).
        cost: column of the cost outcome (non-negative).
        features: feature columns, in this order. None takes every numeric or boolean column other
            than `alpha`, `value`, `cost` and `extra`; string columns are then left out.
        extra: further columns to carry as per-row arrays in `ExperimentData.extra`.
        description: text that starts `ExperimentData.description`.

    String and categorical feature columns become integer codes (categories in their declared
    order, strings in sorted order), and the description records each mapping, for example
    "codes province: Gauteng=0, Limpopo=1".

    Raises:
        ValueError: a column is missing (the message lists the available ones). Also when alpha,
            value or cost is non-numeric or has NaN or infinite values, when a feature has NaN or
            infinite values, when value or cost is negative, or when alpha is not positive.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if len(frame) == 0:
        raise ValueError(f"the table has no rows (columns: {list(frame.columns)}); check the file")
    outcome_columns = {"alpha": alpha, "value": value, "cost": cost}
    extra = list(extra)
    if features is None:
        excluded = set(outcome_columns.values()) | set(extra)
        features = [
            name
            for name in frame.columns
            if name not in excluded
            and (pd.api.types.is_numeric_dtype(frame[name]) or pd.api.types.is_bool_dtype(frame[name]))
        ]
    features = list(features)
    if not features:
        raise ValueError("no feature columns selected; name at least one numeric feature column")
    repeated = sorted({name for name in features if features.count(name) > 1})
    if repeated:
        raise ValueError(f"feature columns {repeated} are named more than once; list each feature once")
    roles = [name for name in features if name in outcome_columns.values()]
    if roles:
        raise ValueError(
            f"columns {roles} are used as alpha, value or cost and cannot also be features; drop them from the features"
        )

    requested = list(outcome_columns.values()) + features + extra
    missing = [name for name in dict.fromkeys(requested) if name not in frame.columns]
    if missing:
        raise ValueError(f"columns {missing} not found; available columns: {list(frame.columns)}")

    alpha_values = _numeric_outcome(frame, alpha, "alpha")
    value_values = _numeric_outcome(frame, value, "value")
    cost_values = _numeric_outcome(frame, cost, "cost")
    n_nonpositive = int(np.sum(alpha_values <= 0))
    if n_nonpositive:
        raise ValueError(
            f"alpha column {alpha!r} has {n_nonpositive} values <= 0 (min {alpha_values.min()}); "
            "treatment levels must be positive, so map the treatment onto a positive scale"
        )
    for role, column, values in (("value", value, value_values), ("cost", cost, cost_values)):
        n_negative = int(np.sum(values < 0))
        if n_negative:
            raise ValueError(
                f"{role} column {column!r} has {n_negative} negative values (min {values.min()}); "
                "outcomes must be non-negative"
            )

    X = np.empty((len(frame), len(features)), dtype=np.float64)
    mappings = []
    for j, name in enumerate(features):
        column, mapping = _encode_feature(frame[name])
        n_bad = int(np.sum(~np.isfinite(column)))
        if n_bad:
            raise ValueError(
                f"feature column {name!r} has {n_bad} NaN or infinite values; drop or fill those rows first"
            )
        X[:, j] = column
        if mapping is not None:
            mappings.append(mapping)

    if mappings:
        codes = "codes " + "; ".join(mappings)
        description = f"{description}; {codes}" if description else codes
    return ExperimentData(
        X=X,
        alpha=alpha_values,
        value=value_values,
        cost=cost_values,
        feature_names=tuple(str(name) for name in features),
        extra={str(name): frame[name].to_numpy() for name in extra},
        description=description,
    )
