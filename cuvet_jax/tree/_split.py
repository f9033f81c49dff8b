"""Score every candidate split of every open node at one depth in one vectorized call.

Left-child statistics are prefix sums of the histogram over bins, right-child statistics are the
node total minus the left, and the criterion of a candidate is the total value of the two-bucket
allocation with the node's budget:

    criterion(node, feature, bin) = v_L(alpha_L*) + v_R(alpha_R*),  c_L(alpha_L*) + c_R(alpha_R*) = C_node.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from .._allocation import SOLVED, equalize
from .._power_law import PowerLaw, fit_power_law
from .._statistics import SufficientStatistics


class SplitScan(NamedTuple):
    """Best split per node and the children it creates (arrays over the node axis N).

    Attributes:
        valid: whether any candidate satisfied every constraint, (N,) bool.
        feature: feature index of the best candidate, (N,) int.
        bin: bin index k of the best candidate (left child is code <= k), (N,) int.
        criterion: v_L(alpha_L*) + v_R(alpha_R*) of the best candidate, (N,); -inf if not valid.
        children: PowerLaw fits of the (left, right) children, arrays of shape (N, 2).
        alpha: children's treatment levels alpha_L*, alpha_R*, (N, 2).
        budget: children's budgets c_L(alpha_L*), c_R(alpha_R*), (N, 2).
        n_candidates_valid: number of candidates that satisfied every constraint, (N,).
    """

    valid: Bool[Array, "node"]
    feature: Int[Array, "node"]
    bin: Int[Array, "node"]
    criterion: Float[Array, "node"]
    children: PowerLaw
    alpha: Float[Array, "node 2"]
    budget: Float[Array, "node 2"]
    n_candidates_valid: Int[Array, "node"]


@functools.partial(jax.jit, static_argnames=("clipped", "hold_inadmissible", "weighting"))
def scan_splits(
    hist: Float[Array, "node feature bin level 3"],
    node_budget: Float[Array, "node"],
    level_values: Float[Array, "level"],
    bounds: Float[Array, "2"],
    min_samples_leaf: Float[Array, ""],
    min_rows_per_level: Float[Array, ""],
    *,
    clipped: bool,
    hold_inadmissible: bool,
    weighting: str = "count",
) -> SplitScan:
    """Find the best (feature, bin) split of each node and the allocation it implies.

    A candidate is valid when each child has at least `min_samples_leaf` rows, each child has at
    least `min_rows_per_level` rows of every level present in the node, the two-bucket allocation
    is SOLVED, and (unless `hold_inadmissible`) both children's fits are admissible. Under
    `hold_inadmissible`, an inadmissible child is held at the reference level as `equalize` does.
    Ties go to the lowest feature index, then the lowest bin.

    Args:
        hist: histogram from `build_histograms`, float64.
        node_budget: budget C_node of each node, (N,).
        level_values: treatment value of each level, (L,).
        bounds: (alpha_min, alpha_max); ignored unless `clipped`.
        min_samples_leaf: the minimum number of rows in a child.
        min_rows_per_level: the minimum number of rows per present level in a child.
        clipped: whether alpha is restricted to `bounds` (static).
        hold_inadmissible: the rule for inadmissible children (static).
        weighting: level weighting of the power-law fit (static).
    """
    left = jnp.cumsum(hist, axis=2)
    total = left[:, :, -1:]
    right = total - left
    children_stats = SufficientStatistics.unstack(jnp.stack([left, right], axis=3))
    # children_stats arrays: (node, feature, bin, 2, level)
    children = fit_power_law(children_stats, level_values, weighting=weighting)

    solve = functools.partial(equalize, bounds=(bounds[0], bounds[1]) if clipped else None)
    batch_shape = children.gamma.shape[:-1]
    flat = jax.tree_util.tree_map(lambda a: a.reshape(-1, 2), children)
    budgets = jnp.broadcast_to(node_budget[:, None, None], batch_shape).reshape(-1)
    allocation = jax.vmap(solve)(flat, budgets)
    criterion = allocation.value.reshape(batch_shape)

    child_rows = children_stats.count.sum(axis=-1)
    level_present = total[:, :, :, :, 0] > 0  # (node, feature, 1, level)
    level_rows_ok = jnp.where(level_present[..., None, :], children_stats.count >= min_rows_per_level, True)
    valid = (child_rows >= min_samples_leaf).all(axis=-1)
    valid &= level_rows_ok.all(axis=(-1, -2))
    valid &= (allocation.status == SOLVED).reshape(batch_shape)
    if not hold_inadmissible:
        valid &= children.admissible.all(axis=-1)

    n_nodes, n_features, n_bins = batch_shape
    scores = jnp.where(valid, criterion, -jnp.inf).reshape(n_nodes, -1)
    best = jnp.argmax(scores, axis=1)
    best_feature, best_bin = best // n_bins, best % n_bins
    node_index = jnp.arange(n_nodes)

    def pick(a):
        return a.reshape(n_nodes, n_features * n_bins, *a.shape[len(batch_shape):])[node_index, best]

    return SplitScan(
        valid=valid.reshape(n_nodes, -1).any(axis=1),
        feature=best_feature,
        bin=best_bin,
        criterion=scores[node_index, best],
        children=jax.tree_util.tree_map(pick, children),
        alpha=pick(allocation.alpha.reshape(*batch_shape, 2)),
        budget=pick(allocation.bucket_cost.reshape(*batch_shape, 2)),
        n_candidates_valid=valid.reshape(n_nodes, -1).sum(axis=1),
    )
