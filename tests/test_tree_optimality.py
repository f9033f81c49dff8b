"""Optimality of fitted CUVET trees: split criteria, inherited budgets and the final leaf allocation.

For every split node h the stored criterion must be the total value of `equalize` on the two
children 2h + 1 and 2h + 2 with the node's budget. The children must inherit that allocation's
levels and spends, and the final allocation across the leaves must satisfy the KKT conditions.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from cuvet_jax._allocation import SOLVED, equalize
from cuvet_jax._kkt import kkt_residuals
from cuvet_jax._power_law import PowerLaw
from cuvet_jax._reference_solver import solve_allocation_numerically
from cuvet_jax.datasets import get_preset, make_threshold_example
from cuvet_jax.tree import CUVETree, Tree

KKT_TOLERANCE = 1e-9


def _children_power_law(tree: Tree, node: int) -> PowerLaw:
    children = [2 * node + 1, 2 * node + 2]
    return PowerLaw(
        tree.value_ref[children],
        tree.cost_ref[children],
        tree.gamma[children],
        tree.eta[children],
        tree.fit_status[children].astype(np.int32),
    )


def check_tree_optimality(tree: Tree, bounds: tuple[float, float] | None) -> None:
    """Assert that every split and the final leaf allocation of `tree` are optimal."""
    split_nodes = np.flatnonzero(tree.exists & ~tree.is_leaf)
    assert len(split_nodes) > 0, "the tree did not split"
    for node in split_nodes:
        children = [2 * node + 1, 2 * node + 2]
        power_law = _children_power_law(tree, node)
        allocation = equalize(power_law, tree.budget[node], bounds)
        assert int(allocation.status) == SOLVED, f"node {node}"
        assert tree.criterion[node] == pytest.approx(float(allocation.value), rel=1e-12), f"node {node}"
        np.testing.assert_allclose(tree.alpha[children], allocation.alpha, rtol=1e-12, err_msg=f"node {node}")
        np.testing.assert_allclose(tree.budget[children], allocation.bucket_cost, rtol=1e-12, err_msg=f"node {node}")
        split_kkt = kkt_residuals(power_law, tree.budget[node], allocation, bounds)
        assert float(split_kkt.max_residual) < KKT_TOLERANCE, f"node {node}: {split_kkt}"

    leaves = tree.leaf_power_law()
    assert tree.allocation_status == SOLVED
    kkt = kkt_residuals(leaves, tree.final_budget, jnp.asarray(tree.leaf_alpha), bounds)
    assert float(kkt.max_residual) < KKT_TOLERANCE, kkt
    if bool(kkt.interior.any()):
        assert float(kkt.budget_multiplier) * tree.mu == pytest.approx(1.0, rel=1e-9)

    numerical = solve_allocation_numerically(leaves, tree.final_budget, bounds)
    assert bool(numerical.converged)
    assert float(numerical.value) == pytest.approx(float(kkt.total_value), rel=1e-9)
    assert float(numerical.value) <= float(kkt.total_value) * (1 + 1e-12)


# Unclipped levels may leave the observed treatment range; optimality under the fits still holds.
@pytest.mark.filterwarnings("ignore::cuvet_jax.tree._estimator.ExtrapolationWarning")
@pytest.mark.parametrize("bounds", [None, (0.8, 1.2)], ids=["unclipped", "clipped"])
def test_threshold_example_tree_is_optimal(bounds):
    data = make_threshold_example(20_000, seed=1)
    model = CUVETree(max_depth=2, bounds=bounds).fit(data.X, data.alpha, data.value, data.cost)
    if bounds is not None:
        # The bounds bind: at least one leaf sits at alpha_min or alpha_max.
        assert np.any(np.isclose(model.leaf_alpha_, bounds[0]) | np.isclose(model.leaf_alpha_, bounds[1]))
    check_tree_optimality(model.tree_, bounds)


@pytest.mark.filterwarnings("ignore::cuvet_jax.tree._estimator.ExtrapolationWarning")
@pytest.mark.parametrize("bounds", [None, (0.5, 1.5)], ids=["unclipped", "clipped"])
def test_karlan_zinman_tree_is_optimal(bounds, shared_data_dir):
    data = get_preset("karlan-zinman").load(shared_data_dir)
    model = CUVETree(max_depth=2, bounds=bounds).fit(
        data.X, data.alpha, data.value, data.cost, feature_names=data.feature_names
    )
    check_tree_optimality(model.tree_, bounds)
