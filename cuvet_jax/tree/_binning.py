"""Candidate thresholds per feature (quantile bin edges) and the integer bin code of each row."""

from __future__ import annotations

import dataclasses

import numpy as np

MAX_ROWS_FOR_EDGES = 200_000
"""Quantile edges are computed on at most this many rows, a seeded sample beyond it. A sample
quantile's rank error is about 1 / sqrt(200000) = 0.2 %, small against the 1 / max_bins spacing
of the edges."""


@dataclasses.dataclass(frozen=True)
class FeatureBins:
    """Quantile bin edges of every feature, used as the candidate split thresholds.

    Attributes:
        edges: shape (d, max_bins - 1), increasing per feature and padded with +inf. A row with
            edges[j, k-1] < x_j <= edges[j, k] has bin code k, so `x_j <= edges[j, k]` is the
            same test as `code_j <= k`.
        n_edges: the number of real (finite) edges per feature, shape (d,).
    """

    edges: np.ndarray
    n_edges: np.ndarray

    @property
    def n_bins(self) -> int:
        """Bins per feature including padding: one more than the edge slots."""
        return self.edges.shape[1] + 1

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return the bin code of each row and feature, shape (n, d), uint16."""
        X = np.asarray(X, dtype=np.float64)
        # Column-major codes keep each feature contiguous for the per-feature histogram passes.
        codes = np.zeros(X.shape, dtype=np.uint16, order="F")
        for j in range(X.shape[1]):
            edges = self.edges[j, : self.n_edges[j]]
            x = np.ascontiguousarray(X[:, j])
            if len(edges) <= 64:
                # Counting the edges below x with one comparison pass per edge is several times
                # faster than a binary search per row for the usual few dozen edges.
                column = codes[:, j]
                for edge in edges:
                    column += x > edge
            else:
                codes[:, j] = np.searchsorted(edges, x, side="left")
        return codes

    def to_dict(self) -> dict:
        return {"edges": [row[:k].tolist() for row, k in zip(self.edges, self.n_edges)], "max_bins": self.n_bins}

    @classmethod
    def from_dict(cls, payload: dict) -> FeatureBins:
        return _pack_edges([np.asarray(e, dtype=np.float64) for e in payload["edges"]], payload["max_bins"])


def fit_bins(X: np.ndarray, max_bins: int = 32, *, seed: int = 0) -> FeatureBins:
    """Compute up to `max_bins - 1` distinct quantile edges per feature.

    Edge k of feature j is the (k / max_bins)-quantile of x_j, with ties removed. A feature with
    few distinct values gets an edge at each value but the largest instead, so binary and ordinal
    features split exactly between their values.

    Args:
        X: features, shape (n, d), finite.
        max_bins: the most bins per feature, 2 to 65536.
        seed: seed of the row sample used when n exceeds MAX_ROWS_FOR_EDGES.
    """
    if not 2 <= max_bins <= 65536:
        raise ValueError(f"max_bins must be between 2 and 65536, got {max_bins}")
    X = np.asarray(X, dtype=np.float64)
    if len(X) > MAX_ROWS_FOR_EDGES:
        sample = np.random.default_rng(seed).choice(len(X), MAX_ROWS_FOR_EDGES, replace=False)
        X = X[np.sort(sample)]
    # Inverted-CDF quantiles: the k/max_bins quantile is the ceil(n k / max_bins)-th smallest value.
    ranks = np.ceil(len(X) * np.arange(1, max_bins) / max_bins).astype(np.int64) - 1
    per_feature = []
    for j in range(X.shape[1]):
        column = X[:, j]
        # A partial sort finds the quantiles. Only a feature whose quantiles tie (few distinct
        # values, or heavy ties) needs the full sort that lists its distinct values.
        edges = np.unique(np.partition(column, ranks)[ranks])
        if len(edges) < max_bins - 1:
            ordered = np.sort(column)
            distinct = ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]
            edges = distinct[:-1] if len(distinct) <= max_bins else np.unique(ordered[ranks])
        edges = edges[edges < column.max()]
        per_feature.append(edges)
    return _pack_edges(per_feature, max_bins)


def _pack_edges(per_feature: list[np.ndarray], max_bins: int) -> FeatureBins:
    edges = np.full((len(per_feature), max_bins - 1), np.inf)
    for j, row in enumerate(per_feature):
        edges[j, : len(row)] = row
    return FeatureBins(edges=edges, n_edges=np.array([len(row) for row in per_feature], dtype=np.int64))
