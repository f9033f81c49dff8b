"""Greedy level-by-level growth of a CUVET tree from binned rows.

One histogram per depth contains the statistics of every open node, `scan_splits` scores all their
candidates at once, and each node either splits or becomes a leaf. Children inherit the budget
c(alpha*) and level alpha* of the two-bucket optimum, so total cost is conserved however
unbalanced the tree grows. After growth one allocation across all leaves gives each leaf its alpha.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from .._allocation import equalize
from .._power_law import PowerLaw, fit_power_law
from .._statistics import SufficientStatistics
from ._binning import FeatureBins
from ._histogram import build_histograms
from ._split import scan_splits
from ._tree import Tree


_equalize_jit = jax.jit(equalize, static_argnames=("num_halvings",))


@dataclasses.dataclass(frozen=True)
class GrowthParameters:
    """Stopping rules and options of tree growth (all counts in rows).

    Attributes:
        max_depth: the deepest level of splits; a tree has at most 2**max_depth leaves.
        bounds: (alpha_min, alpha_max) for the clipped variant, or None for alpha > 0.
        min_samples_leaf: the minimum number of rows in a child.
        min_samples_split: the minimum number of rows in a node that may split.
        min_rows_per_level: the minimum number of rows of each treatment level present in a node that each
            child must keep, so both children's power laws see every level.
        hold_inadmissible: False rejects every split with a child whose fit is not admissible;
            True allows it and holds such a child at the reference level.
        weighting: level weighting of the power-law fits, "count" or "equal".
        min_relative_gain: a split must raise the node's value by more than this fraction.
    """

    max_depth: int
    bounds: tuple[float, float] | None
    min_samples_leaf: float
    min_samples_split: float
    min_rows_per_level: float
    hold_inadmissible: bool = False
    weighting: str = "count"
    min_relative_gain: float = 1e-12


def grow_tree(
    codes: np.ndarray,
    bins: FeatureBins,
    level: np.ndarray,
    level_values: np.ndarray,
    value: np.ndarray,
    cost: np.ndarray,
    params: GrowthParameters,
) -> Tree:
    """Grow a CUVET tree on binned rows and allocate the root budget across its leaves.

    Args:
        codes: bin code per row and feature from `bins.transform`, shape (n, d).
        bins: the candidate thresholds the codes refer to.
        level: treatment level code per row, shape (n,).
        level_values: treatment value of each level, shape (L,).
        value, cost: outcomes per row, shape (n,), float64.
        params: stopping rules and options.

    Returns:
        (tree, row_leaf): the Tree, whose root budget is the root fit's reference cost c_root(1)
        and whose final allocation spends the leaves' total reference cost sum_b c_b(1) (see
        `finalize_tree`), and the compact leaf id of every training row, shape (n,).
    """
    n_rows = len(level)
    n_levels = len(level_values)
    size = 2 ** (params.max_depth + 1) - 1
    arrays = _empty_node_arrays(size)
    bounds = jnp.asarray(params.bounds if params.bounds is not None else (1.0, 1.0), dtype=jnp.float64)
    level_values_jax = jnp.asarray(level_values, dtype=jnp.float64)

    root_stats = SufficientStatistics(
        *(np.bincount(level, weights=w, minlength=n_levels) for w in (None, value, cost))
    )
    root = fit_power_law(root_stats, level_values_jax, weighting=params.weighting)
    _store_fit(arrays, 0, root, float(root_stats.count.sum()))
    arrays["exists"][0] = True
    arrays["alpha"][0] = 1.0
    arrays["budget"][0] = float(root.cost_ref)
    arrays["node_value"][0] = float(root.value_ref)

    scan_width = 2 ** max(params.max_depth - 1, 0)
    # Heap index of each row's node while that node is open; rows of finished leaves get -1.
    row_node = np.zeros(n_rows, dtype=np.int64)
    row_leaf_node = np.zeros(n_rows, dtype=np.int64)
    for depth in range(params.max_depth):
        first = 2**depth - 1
        n_nodes = 2**depth
        heap = first + np.arange(n_nodes)
        may_split = arrays["exists"][heap] & (arrays["n_rows"][heap] >= params.min_samples_split)
        if not may_split.any():
            break
        local = np.where(row_node >= 0, row_node - first, -1)
        local = np.where((local >= 0) & may_split[np.clip(local, 0, n_nodes - 1)], local, -1)
        hist = build_histograms(codes, local, level, value, cost, n_nodes, bins.n_bins, n_levels)
        # Every depth pads its nodes to the deepest level's count, so scan_splits compiles once per
        # tree shape rather than once per depth. Padded nodes have no rows and no valid split.
        padding = scan_width - n_nodes
        scan = scan_splits(
            jnp.asarray(np.pad(hist, ((0, padding), (0, 0), (0, 0), (0, 0), (0, 0)))),
            jnp.asarray(np.pad(arrays["budget"][heap], (0, padding), constant_values=1.0)),
            level_values_jax,
            bounds,
            jnp.asarray(float(params.min_samples_leaf)),
            jnp.asarray(float(params.min_rows_per_level)),
            clipped=params.bounds is not None,
            hold_inadmissible=params.hold_inadmissible,
            weighting=params.weighting,
        )
        scan = jax.tree_util.tree_map(lambda a: np.asarray(a)[:n_nodes], scan)

        threshold_bins = np.zeros(n_nodes, dtype=np.int64)
        split_nodes = []
        for m in range(n_nodes):
            node = int(heap[m])
            if not may_split[m] or not scan.valid[m]:
                continue
            node_value = arrays["node_value"][node]
            if not scan.criterion[m] > node_value * (1 + params.min_relative_gain):
                continue
            feature, k = int(scan.feature[m]), int(scan.bin[m])
            left_rows = hist[m, feature, : k + 1, :, 0].sum()
            arrays["feature"][node] = feature
            arrays["threshold"][node] = bins.edges[feature, k]
            arrays["criterion"][node] = scan.criterion[m]
            for side, child in enumerate((2 * node + 1, 2 * node + 2)):
                fit = jax.tree_util.tree_map(lambda a: a[m, side], scan.children)
                rows = left_rows if side == 0 else arrays["n_rows"][node] - left_rows
                _store_fit(arrays, child, fit, float(rows))
                arrays["exists"][child] = True
                arrays["alpha"][child] = scan.alpha[m, side]
                arrays["budget"][child] = scan.budget[m, side]
                arrays["node_value"][child] = float(fit.value_ref) * scan.alpha[m, side] ** float(fit.gamma)
            threshold_bins[m] = k
            split_nodes.append(m)

        if not split_nodes:
            break
        # Route the rows of split nodes to their children; rows of nodes that stopped are done.
        in_open = row_node >= 0
        local_all = np.where(in_open, row_node - first, 0)
        split_mask = np.zeros(n_nodes, dtype=bool)
        split_mask[split_nodes] = True
        moving = in_open & split_mask[local_all]
        node_of_moving = row_node[moving]
        feature_of_moving = arrays["feature"][node_of_moving]
        code = codes[np.flatnonzero(moving), feature_of_moving]
        goes_left = code <= threshold_bins[node_of_moving - first]
        row_node[moving] = np.where(goes_left, 2 * node_of_moving + 1, 2 * node_of_moving + 2)
        stopped = in_open & ~moving
        row_leaf_node[stopped] = row_node[stopped]
        row_node[stopped] = -1

    still_open = row_node >= 0
    row_leaf_node[still_open] = row_node[still_open]
    tree = finalize_tree(arrays, params)
    return tree, tree.leaf_index[row_leaf_node]


def finalize_tree(arrays: dict, params: GrowthParameters, budget: float | None = None) -> Tree:
    """Mark leaves, number them, and allocate a budget across them by mCUV equalization.

    The default budget is the leaves' total reference cost sum_b c_b(1), the cost the reference
    treatment would spend according to the same fits that the evaluation uses, so the policy is
    iso-cost by construction. It differs from the root fit's c_root(1) only through the
    nonlinearity of the log-log fits.
    """
    exists = arrays["exists"]
    size = len(exists)
    has_children = np.zeros(size, dtype=bool)
    internal = np.flatnonzero(exists & (arrays["feature"] >= 0))
    has_children[internal] = True
    is_leaf = exists & ~has_children
    leaf_index = np.full(size, -1, dtype=np.int64)
    leaf_index[is_leaf] = np.arange(is_leaf.sum())

    leaves = np.flatnonzero(is_leaf)
    power_law = PowerLaw(
        arrays["value_ref"][leaves], arrays["cost_ref"][leaves], arrays["gamma"][leaves],
        arrays["eta"][leaves], arrays["fit_status"][leaves].astype(np.int32),
    )
    final_budget = float(power_law.cost_ref.sum()) if budget is None else float(budget)
    allocation = _equalize_jit(power_law, final_budget, params.bounds)
    return Tree(
        max_depth=params.max_depth,
        exists=exists,
        is_leaf=is_leaf,
        leaf_index=leaf_index,
        leaf_alpha=np.asarray(allocation.alpha),
        mu=float(allocation.mu),
        allocation_status=int(allocation.status),
        final_budget=final_budget,
        **{k: v for k, v in arrays.items() if k != "exists"},
    )


def _empty_node_arrays(size: int) -> dict:
    nan = np.full(size, np.nan)
    return {
        "exists": np.zeros(size, dtype=bool),
        "feature": np.full(size, -1, dtype=np.int64),
        "threshold": nan.copy(),
        "n_rows": np.zeros(size),
        "value_ref": nan.copy(),
        "cost_ref": nan.copy(),
        "gamma": nan.copy(),
        "eta": nan.copy(),
        "fit_status": np.zeros(size, dtype=np.int64),
        "alpha": nan.copy(),
        "budget": nan.copy(),
        "node_value": nan.copy(),
        "criterion": nan.copy(),
    }


def _store_fit(arrays: dict, node: int, fit: PowerLaw, rows: float) -> None:
    arrays["value_ref"][node] = float(fit.value_ref)
    arrays["cost_ref"][node] = float(fit.cost_ref)
    arrays["gamma"][node] = float(fit.gamma)
    arrays["eta"][node] = float(fit.eta)
    arrays["fit_status"][node] = int(fit.status)
    arrays["n_rows"][node] = rows
