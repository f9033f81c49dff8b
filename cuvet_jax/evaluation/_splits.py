"""Seeded random splits of row indices, and splits from a validation flag."""

from __future__ import annotations

import numpy as np


def train_test_split(n_rows: int, test_size: float = 0.5, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split row indices 0..n_rows-1 at random into a training and a test part.

    Args:
        n_rows: number of rows.
        test_size: fraction of rows in the test part, strictly between 0 and 1.
        seed: seed of the numpy random generator.

    Returns:
        (train_rows, test_rows), sorted integer arrays that partition range(n_rows).
    """
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be strictly between 0 and 1, got {test_size}")
    n_test = int(round(n_rows * test_size))
    if n_test == 0 or n_test == n_rows:
        raise ValueError(f"test_size {test_size} of {n_rows} rows leaves one part empty; use more rows or another test_size")
    permutation = np.random.default_rng(seed).permutation(n_rows)
    return np.sort(permutation[n_test:]), np.sort(permutation[:n_test])


def train_validation_test_split(
    n_rows: int,
    validation_size: float = 0.2,
    test_size: float = 0.4,
    *,
    seed: int = 0,
    validation_flag: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split row indices into training, validation and test parts.

    Without `validation_flag`, rows are permuted with the seed and cut into fractions
    1 - validation_size - test_size, validation_size and test_size. With a boolean flag (for
    example the `is_val` column of the CUVET-policy schema), flagged rows form the validation part
    and the others are split into training and test with test_size as a fraction of all rows.

    Returns:
        (train_rows, validation_rows, test_rows), sorted integer arrays that partition range(n_rows).
    """
    if validation_flag is not None:
        flag = np.asarray(validation_flag).astype(bool)
        if len(flag) != n_rows:
            raise ValueError(f"validation_flag has {len(flag)} rows, expected {n_rows}")
        validation = np.flatnonzero(flag)
        others = np.flatnonzero(~flag)
        if len(validation) == 0 or len(others) == 0:
            raise ValueError(f"validation_flag marks {len(validation)} of {n_rows} rows; both parts must be non-empty")
        fraction = test_size * n_rows / len(others)
        if not 0 < fraction < 1:
            raise ValueError(f"test_size {test_size} does not fit in the {len(others)} unflagged rows")
        train_part, test_part = train_test_split(len(others), fraction, seed=seed)
        return others[train_part], validation, others[test_part]
    if not (0 < validation_size and 0 < test_size and validation_size + test_size < 1):
        raise ValueError(
            f"validation_size {validation_size} and test_size {test_size} must be positive with a sum below 1"
        )
    permutation = np.random.default_rng(seed).permutation(n_rows)
    n_validation = int(round(n_rows * validation_size))
    n_test = int(round(n_rows * test_size))
    if min(n_validation, n_test, n_rows - n_validation - n_test) == 0:
        raise ValueError(f"{n_rows} rows are too few for these fractions; every part must be non-empty")
    test = permutation[:n_test]
    validation = permutation[n_test : n_test + n_validation]
    train = permutation[n_test + n_validation :]
    return np.sort(train), np.sort(validation), np.sort(test)
