"""Seeded random splits of row indices."""

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
