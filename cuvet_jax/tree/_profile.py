"""The CUVET criterion and the children's treatment levels for every root threshold of one feature.

The tree keeps only the best candidate of each node, while this profile keeps all of them, which
shows how sharply the criterion singles out a threshold. For candidate threshold t of feature x the
rows with x <= t form the left bucket, the others the right bucket, and the two-bucket allocation
with the root budget C_root = c_root(1) gives

    criterion(t) = v_L(alpha_L*) + v_R(alpha_R*),   c_L(alpha_L*) + c_R(alpha_R*) = C_root.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._allocation import SOLVED, equalize
from .._levels import TreatmentLevels, discretize_treatment
from .._power_law import fit_power_law
from .._statistics import SufficientStatistics, accumulate_statistics
from ._binning import fit_bins


@functools.partial(jax.jit, static_argnames=("clipped", "weighting"))
def _score_candidates(total, children, level_values, bounds, *, clipped: bool, weighting: str):
    """Fit the root and every (left, right) pair, and solve each pair's allocation at the root budget."""
    root = fit_power_law(total, level_values, weighting=weighting)
    root_budget = root.cost_ref[0]
    fits = fit_power_law(children, level_values, weighting=weighting)
    solve = functools.partial(equalize, bounds=(bounds[0], bounds[1]) if clipped else None)
    allocation = jax.vmap(solve, in_axes=(0, None))(fits, root_budget)
    valid = (allocation.status == SOLVED) & fits.admissible.all(axis=-1)
    return root.value_ref[0], root_budget, allocation.value, allocation.alpha, valid


class CriterionProfile(NamedTuple):
    """Root-split criterion of every candidate threshold of one feature (arrays over T thresholds).

    Attributes:
        thresholds: candidate thresholds in feature units, increasing, (T,).
        criterion: v_L(alpha_L*) + v_R(alpha_R*) at the root budget, value units, (T,).
        alpha_left, alpha_right: the children's levels alpha_L*, alpha_R*, (T,).
        valid: both children's fits are admissible and the allocation is solved, (T,) bool.
        left_rows: training rows with x <= threshold, (T,).
        root_value: v_root(1), the value of the reference policy on all rows (value units).
        root_budget: c_root(1), the budget of every candidate (cost units).
    """

    thresholds: np.ndarray
    criterion: np.ndarray
    alpha_left: np.ndarray
    alpha_right: np.ndarray
    valid: np.ndarray
    left_rows: np.ndarray
    root_value: float
    root_budget: float

    @property
    def relative_gain(self) -> np.ndarray:
        """criterion / root_value - 1 per threshold, the value uplift at iso-cost (fraction)."""
        return self.criterion / self.root_value - 1.0


def criterion_profile(
    x: np.ndarray,
    alpha: np.ndarray,
    value: np.ndarray,
    cost: np.ndarray,
    *,
    max_bins: int = 256,
    bounds: tuple[float, float] | None = (0.5, 1.5),
    levels: TreatmentLevels | None = None,
    weighting: str = "count",
) -> CriterionProfile:
    """Score every quantile-edge threshold of one feature as the root split of a CUVET tree.

    Rows are binned at up to `max_bins - 1` quantile edges of `x` (as `fit_bins` does for the tree),
    per-bin sufficient statistics are prefix-summed into left children, and the two-bucket
    allocation of each candidate is solved in one vmapped call.

    Args:
        x: the feature, shape (n,).
        alpha: treatment level per row, positive, shape (n,).
        value, cost: outcomes per row, non-negative, shape (n,).
        max_bins: bins of x; the candidates are their inner edges.
        bounds: (alpha_min, alpha_max) for the clipped allocation, or None for alpha > 0.
        levels: treatment levels; by default discretized from `alpha` as CUVETree does.
        weighting: level weighting of the power-law fits, "count" or "equal".

    Returns:
        CriterionProfile; invalid candidates keep their numbers and are marked in `valid`.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    alpha = np.asarray(alpha, dtype=np.float64)
    if levels is None:
        levels = discretize_treatment(alpha)
    bins = fit_bins(x[:, None], max_bins)
    n_edges = int(bins.n_edges[0])
    if n_edges == 0:
        raise ValueError("x has a single distinct value, so it has no candidate threshold")
    codes = bins.transform(x[:, None])[:, 0]
    per_bin = accumulate_statistics(codes, levels.encode(alpha), value, cost, n_edges + 1, levels.n_levels)

    left = SufficientStatistics(*(np.cumsum(a, axis=0)[:-1] for a in (per_bin.count, per_bin.sum_value, per_bin.sum_cost)))
    total = SufficientStatistics(*(a.sum(axis=0, keepdims=True) for a in (per_bin.count, per_bin.sum_value, per_bin.sum_cost)))
    right = total - left
    children = SufficientStatistics(*(
        np.stack(pair, axis=1)
        for pair in zip((left.count, left.sum_value, left.sum_cost), (right.count, right.sum_value, right.sum_cost))
    ))
    with jax.enable_x64(True):
        bound_values = jnp.asarray((1.0, 1.0) if bounds is None else bounds, dtype=jnp.float64)
        root_value, root_budget, criterion, alpha_star, valid = _score_candidates(
            total, children, jnp.asarray(levels.values), bound_values, clipped=bounds is not None, weighting=weighting
        )
        root_value, root_budget = float(root_value), float(root_budget)
        criterion, alpha_star, valid = np.asarray(criterion), np.asarray(alpha_star), np.asarray(valid)

    return CriterionProfile(
        thresholds=bins.edges[0, :n_edges].copy(),
        criterion=criterion,
        alpha_left=alpha_star[:, 0],
        alpha_right=alpha_star[:, 1],
        valid=valid,
        left_rows=left.count.sum(axis=-1),
        root_value=root_value,
        root_budget=root_budget,
    )
