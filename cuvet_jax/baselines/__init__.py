"""Baselines built on EconML: single causal-forest trees (CF-MSE, CF-Het) and a doubly robust policy tree.

EconML is optional (`pip install "cuvet-jax[baselines]"`) and is imported only when a baseline is
constructed. A fitted baseline exposes `apply(X)`, the leaf id in 0..n_leaves_-1 of each row, and
`n_leaves_`, so its partition can be evaluated like any other.
"""

from ._causal_forest import CausalForestTree, fit_pooled_elasticities, group_treatment_levels
from ._policy_tree import DRPolicyTreeBaseline, PolicyEstimate

__all__ = [
    "CausalForestTree",
    "DRPolicyTreeBaseline",
    "PolicyEstimate",
    "fit_pooled_elasticities",
    "group_treatment_levels",
]
