"""Histograms of sufficient statistics per (node, feature, bin, level) for one depth of the tree."""

from __future__ import annotations

import numpy as np

N_STATISTICS = 3
"""Statistics per histogram cell, on the last axis: row count, sum of value, sum of cost."""


def build_histograms(
    codes: np.ndarray,
    node: np.ndarray,
    level: np.ndarray,
    value: np.ndarray,
    cost: np.ndarray,
    n_nodes: int,
    n_bins: int,
    n_levels: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Sum rows into a float64 histogram of shape (node, feature, bin, level, statistic).

    hist[m, j, k, l] = sum over rows i with node_i = m, code_ij = k, level_i = l of
    (w_i, w_i v_i, w_i c_i). Rows with node_i < 0 (already in a finished leaf) are skipped.
    Histograms of disjoint row chunks add up to the histogram of their union.

    Args:
        codes: bin code per row and feature, shape (n, d), integers in [0, n_bins).
        node: open node per row (0..n_nodes-1) or -1, shape (n,).
        level: treatment level code per row, shape (n,).
        value, cost: outcomes per row, shape (n,).
        n_nodes, n_bins, n_levels: sizes of the histogram axes.
        weights: optional row weights, shape (n,).
    """
    open_rows = node >= 0
    if not open_rows.all():
        codes, node, level = codes[open_rows], node[open_rows], level[open_rows]
        value, cost = value[open_rows], cost[open_rows]
        weights = None if weights is None else weights[open_rows]
    n_features = codes.shape[1]
    if weights is None:
        row_weights = None
        weighted_value, weighted_cost = value, cost
    else:
        row_weights = weights
        weighted_value, weighted_cost = value * weights, cost * weights

    size = n_nodes * n_bins * n_levels
    hist = np.empty((n_nodes, n_features, n_bins, n_levels, N_STATISTICS))
    base = node.astype(np.int64) * (n_bins * n_levels) + level
    for j in range(n_features):
        index = base + codes[:, j].astype(np.int64) * n_levels
        for s, weight in enumerate((row_weights, weighted_value, weighted_cost)):
            counts = np.bincount(index, weights=weight, minlength=size)
            hist[:, j, :, :, s] = counts.reshape(n_nodes, n_bins, n_levels)
    return hist
