"""Checks of user input at the public boundary, with messages that name the value and the fix."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd


def as_feature_matrix(X, feature_names=None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Convert X (array or pandas DataFrame) to float64 of shape (n, d) and its feature names."""
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):
        names = tuple(str(c) for c in X.columns) if feature_names is None else tuple(feature_names)
        non_numeric = [
            str(c) for c in X.columns
            if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]))
        ]
        if non_numeric:
            raise ValueError(
                f"feature columns {non_numeric} are not numeric; encode them as numbers (for example "
                "integer codes of the categories) before fitting"
            )
        matrix = X.to_numpy(dtype=np.float64)
    else:
        matrix = np.asarray(X, dtype=np.float64)
        if matrix.ndim == 1:
            raise ValueError(
                f"X must be 2-dimensional (rows, features), got shape {matrix.shape}; "
                "use X.reshape(-1, 1) for a single feature"
            )
        names = tuple(feature_names) if feature_names is not None else tuple(f"x{j}" for j in range(matrix.shape[1]))
    if matrix.ndim != 2:
        raise ValueError(f"X must be 2-dimensional (rows, features), got shape {matrix.shape}")
    if len(names) != matrix.shape[1]:
        raise ValueError(f"got {len(names)} feature names for {matrix.shape[1]} feature columns")
    bad = ~np.isfinite(matrix)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise ValueError(
            f"feature {names[cols[0]]!r} has a NaN or infinite value at row {rows[0]} "
            f"({int(bad.sum())} such values in X); impute or drop those rows"
        )
    return matrix, names


def as_outcome(name: str, array, n_rows: int | None, *, positive: bool = False) -> np.ndarray:
    """Convert a per-row array to float64 of shape (n,) and check it is finite and non-negative."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-dimensional (one value per row), got shape {array.shape}")
    if n_rows is not None and len(array) != n_rows:
        raise ValueError(f"{name} has {len(array)} rows but X has {n_rows}; pass arrays of one length")
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} has {int(bad.sum())} NaN or infinite values (first at row {first}, value {array[first]}); "
            "drop or fill those rows"
        )
    invalid = array <= 0 if positive else array < 0
    if invalid.any():
        first = int(np.flatnonzero(invalid)[0])
        bound = "positive" if positive else "non-negative"
        raise ValueError(
            f"{name} must be {bound}, but row {first} has {array[first]} ({int(invalid.sum())} such rows); "
            f"{'treatment levels are multipliers of the reference treatment 1.0' if positive else 'outcomes are amounts that cannot be negative'}"
        )
    return array


def check_treatment_range(alpha: np.ndarray, level_values: np.ndarray, reference: float = 1.0) -> None:
    """Check there are two or more levels and that the reference level lies inside their range."""
    if len(alpha) == 0:
        raise ValueError("no rows to fit; pass at least one row per treatment level")
    if len(level_values) < 2:
        raise ValueError(
            f"alpha has a single treatment level {level_values.tolist()} in the {len(alpha)} rows passed; "
            "a power-law fit needs rows from at least two randomized levels"
        )
    low, high = float(alpha.min()), float(alpha.max())
    if not low <= reference <= high:
        raise ValueError(
            f"the reference level alpha = {reference} is outside the data's range [{low}, {high}]; "
            "rescale alpha so that 1.0 is the reference treatment (for example divide by the "
            "reference arm's value)"
        )


def check_output_path(path: str | os.PathLike) -> None:
    """Check that a file can be written at `path`: not a directory, inside an existing folder."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"output path {path!r} is a directory; pass a file name such as {os.path.join(path, 'model.json')!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"output folder {folder!r} does not exist; create it first")
