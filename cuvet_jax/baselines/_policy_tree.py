"""Doubly robust policy tree with a cost penalty tuned to meet a budget.

EconML's `DRPolicyTree` learns a depth-limited tree that assigns one discrete treatment level per
leaf, maximizing the doubly robust estimate of the reward

    y = v - lam * c.

The multiplier lam prices cost in units of value. It is found by bisection on log(lam): each step
refits the tree and estimates, from the training rows, the total cost of the policy it assigns,

    C(policy) = sum_L N_L * mean(c | leaf L, level k_L),

where N_L is the number of rows in leaf L and k_L the level the tree assigns to it; the value
V(policy) uses mean(v | ...) in the same way. The step is feasible when C(policy) is at most
r * C(reference), where C(reference) is the same sum with the reference level in every leaf and
r = budget / (n * mean(c | reference level)). Comparing with the reference on the same leaves
makes the all-reference policy feasible for the default budget, whatever the leaves are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ._causal_forest import (
    MAX_DISCRETE_LEVELS,
    check_experiment_arrays,
    check_tree_shape,
    default_min_samples_leaf,
    group_treatment_levels,
    reference_level,
)
from ._econml import compact_leaf_ids, import_econml, render_tree_text

LAM_RANGE = (1e-3, 1e3)
"""Bisection bracket of lam as factors of sum(v) / sum(c) of the training rows."""

_FEASIBILITY_TOLERANCE = 1e-9
"""Relative slack on the budget test, so the all-reference policy passes despite rounding."""


class PolicyEstimate(NamedTuple):
    """Plug-in estimates of one bisection step, as training-set totals.

    Attributes:
        lam: cost multiplier of the step.
        cost: C(policy), the estimated total cost of the assigned levels.
        value: V(policy), the estimated total value of the assigned levels.
        reference_cost: C(reference), the estimated total cost with the reference level everywhere.
        reference_value: V(reference), defined likewise.
        feasible: whether cost <= budget ratio * reference_cost.
    """

    lam: float
    cost: float
    value: float
    reference_cost: float
    reference_value: float
    feasible: bool


class DRPolicyTreeBaseline:
    """EconML's doubly robust policy tree over discrete treatment levels, with a budget on cost.

    Treatment values are grouped into levels (distinct values, or quantile groups beyond
    `max_levels`), and the level nearest alpha = 1 is the control. The tree is refitted on the reward
    y = v - lam * c for at most `n_bisection_steps + 2` values of lam, and the feasible step with the
    largest estimated value is kept (see the module docstring for the estimates and the budget test).

    NOTE: each leaf takes one discrete level, so the estimated cost moves in steps as lam varies,
    and the kept policy can spend well below the budget when no step lands near it. The estimates
    are in-sample plug-in means on the rows the tree was grown on, so they are optimistic.

    Args:
        max_depth: maximum depth of the tree, at least 1.
        min_samples_leaf: minimum number of training rows per leaf; None means n / 2**(max_depth + 2).
        budget: total cost the policy may spend on the training rows, in units of sum(cost); None
            means n * mean(c | reference level), the cost of treating every row with the reference.
        random_state: seed of the cross-fitting folds and of EconML's split search.
        n_bisection_steps: bisection halvings of the log(lam) bracket after its two ends are tried.
        model_regression: scikit-learn regressor of y on (X, one-hot level) for the doubly robust
            scores; None means `LinearRegression()`.
        model_propensity: scikit-learn classifier of the level given X; None means
            `DummyClassifier(strategy="prior")`, the level shares, which is exact when the levels
            were randomized independently of X.
        honest: whether EconML splits on half the rows and estimates leaf rewards on the other half.
        max_levels: number of distinct alpha values beyond which alpha is grouped into this many
            quantile levels.

    Attributes (after `fit`):
        levels_: level values, increasing, shape (K,).
        reference_level_: the control level value.
        lam_: cost multiplier of the kept policy.
        n_leaves_: number of leaves of the kept tree.
        leaf_levels_: level value assigned to each leaf, shape (n_leaves_,).
        budget_: total cost budget; budget_ratio_: budget_ / (n * mean(c | reference level)).
        estimated_cost_, estimated_value_: C(policy) and V(policy) of the kept tree.
        reference_cost_, reference_value_: C(reference) and V(reference) on the kept leaves.
        history_: PolicyEstimate of every bisection step, in the order they ran.
        policy_: the fitted `econml.policy.DRPolicyTree` of the kept step.
    """

    def __init__(
        self,
        max_depth: int = 3,
        min_samples_leaf: int | None = None,
        budget: float | None = None,
        random_state: int = 0,
        n_bisection_steps: int = 10,
        model_regression=None,
        model_propensity=None,
        honest: bool = False,
        max_levels: int = MAX_DISCRETE_LEVELS,
    ) -> None:
        import_econml("econml.policy")
        check_tree_shape(max_depth, min_samples_leaf)
        if budget is not None and not (np.isfinite(budget) and budget > 0):
            raise ValueError(f"budget must be a positive total cost or None (reference), got {budget!r}")
        if isinstance(n_bisection_steps, bool) or not isinstance(n_bisection_steps, int) or n_bisection_steps < 0:
            raise ValueError(f"n_bisection_steps must be a non-negative integer, got {n_bisection_steps!r}")
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.budget = budget
        self.random_state = random_state
        self.n_bisection_steps = n_bisection_steps
        self.model_regression = model_regression
        self.model_propensity = model_propensity
        self.honest = honest
        self.max_levels = max_levels

    def fit(
        self, X: np.ndarray, alpha: np.ndarray, value: np.ndarray, cost: np.ndarray
    ) -> DRPolicyTreeBaseline:
        """Learn the policy from rows X (n, d) with treatment alpha (n,) and outcomes value, cost (n,).

        Raises:
            ValueError: on invalid rows, fewer than two levels, a budget below the cost of the
                cheapest policy the bracket reaches, or a leaf without rows of a level it needs.
        """
        X, alpha, value, cost = check_experiment_arrays(X, alpha, value, cost)
        self.levels_, level_index = group_treatment_levels(alpha, self.max_levels)
        if len(self.levels_) < 2:
            raise ValueError(
                f"the policy tree needs at least two treatment levels, got {self.levels_.tolist()}"
            )
        reference = reference_level(self.levels_)
        self._reference_index = reference
        self.reference_level_ = float(self.levels_[reference])

        n_rows = X.shape[0]
        reference_total = n_rows * float(cost[level_index == reference].mean())
        total_cost = float(cost.sum())
        if total_cost <= 0 or reference_total <= 0:
            raise ValueError(
                "cost is zero on all rows (or on all reference rows), so no budget can bind; "
                "check the cost column"
            )
        self.budget_ = reference_total if self.budget is None else float(self.budget)
        self.budget_ratio_ = self.budget_ / reference_total
        self.min_samples_leaf_ = (
            default_min_samples_leaf(n_rows, self.max_depth)
            if self.min_samples_leaf is None
            else int(self.min_samples_leaf)
        )

        self._n_features_in = X.shape[1]
        self.history_: list[PolicyEstimate] = []
        fits: dict[float, tuple] = {}

        def try_lam(log_lam: float) -> PolicyEstimate:
            lam = float(np.exp(log_lam))
            policy = self._fit_policy(X, level_index, value - lam * cost)
            estimate, leaf_of_node, leaf_level_index = self._estimate(
                policy, lam, X, level_index, value, cost
            )
            self.history_.append(estimate)
            fits[lam] = (policy, leaf_of_node, leaf_level_index)
            return estimate

        scale = float(value.sum()) / total_cost
        log_low, log_high = np.log(scale * LAM_RANGE[0]), np.log(scale * LAM_RANGE[1])
        high = try_lam(log_high)
        if not high.feasible:
            raise ValueError(
                f"budget {self.budget_:.6g} is below the estimated cost of the cheapest policy the "
                f"tree learns ({high.cost / high.reference_cost:.4g} x the reference cost "
                f"{high.reference_cost:.6g}); raise the budget or add lower treatment levels"
            )
        low = try_lam(log_low)
        if not low.feasible:
            for _ in range(self.n_bisection_steps):
                middle = 0.5 * (log_low + log_high)
                if try_lam(middle).feasible:
                    log_high = middle
                else:
                    log_low = middle

        # The estimated cost need not fall monotonically in lam because every step regrows the tree,
        # so the kept step is the best feasible one seen rather than the last upper bracket end.
        best = max(
            (estimate for estimate in self.history_ if estimate.feasible),
            key=lambda estimate: (estimate.value, -estimate.lam),
        )
        self.policy_, self._leaf_of_node, leaf_level_index = fits[best.lam]
        self.lam_ = best.lam
        self.n_leaves_ = len(leaf_level_index)
        self.leaf_levels_ = self.levels_[leaf_level_index]
        self.estimated_cost_ = best.cost
        self.estimated_value_ = best.value
        self.reference_cost_ = best.reference_cost
        self.reference_value_ = best.reference_value
        return self

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Return the leaf id in 0..n_leaves_-1 of each row of X (n, d), as int64 of shape (n,)."""
        tree = self._fitted_tree()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self._n_features_in:
            raise ValueError(
                f"X must have shape (n, {self._n_features_in}) like the training features, got {X.shape}"
            )
        return self._leaf_of_node[tree.apply(X)]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Return the treatment level assigned to each row of X (n, d), float64 of shape (n,)."""
        return self.leaf_levels_[self.apply(X)]

    def export_text(self, feature_names: Sequence[str] | None = None) -> str:
        """Render the kept tree as indented text with the level of each leaf."""
        tree = self._fitted_tree()
        if feature_names is None:
            feature_names = [f"x{j}" for j in range(self._n_features_in)]
        labels = [f"alpha = {level:.6g}" for level in self.leaf_levels_]
        return render_tree_text(tree.tree_, feature_names, labels)

    def _fit_policy(self, X: np.ndarray, level_index: np.ndarray, reward: np.ndarray):
        policy_module = import_econml("econml.policy")
        from sklearn.base import clone
        from sklearn.dummy import DummyClassifier
        from sklearn.linear_model import LinearRegression

        regression = LinearRegression() if self.model_regression is None else clone(self.model_regression)
        propensity = (
            DummyClassifier(strategy="prior")
            if self.model_propensity is None
            else clone(self.model_propensity)
        )
        # EconML takes the first category as the control, and scikit-learn 1.9's one-hot encoder
        # rejects unsorted numeric categories, so levels are recoded with the reference as code 0.
        others = [k for k in range(len(self.levels_)) if k != self._reference_index]
        self._categories = np.array([self._reference_index, *others])
        code_of_level = np.argsort(self._categories)
        policy = policy_module.DRPolicyTree(
            model_regression=regression,
            model_propensity=propensity,
            categories=list(range(len(self.levels_))),
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf_,
            min_samples_split=2 * self.min_samples_leaf_,
            max_features=None,
            min_balancedness_tol=0.5,
            honest=self.honest,
            random_state=self.random_state,
        )
        policy.fit(reward, code_of_level[level_index], X=X)
        return policy

    def _estimate(
        self,
        policy,
        lam: float,
        X: np.ndarray,
        level_index: np.ndarray,
        value: np.ndarray,
        cost: np.ndarray,
    ) -> tuple[PolicyEstimate, np.ndarray, np.ndarray]:
        """Estimate C and V of the policy and of the reference on the policy's leaves.

        Returns:
            the estimate, the compact leaf id of each tree node (node_count,), and the level index
            assigned to each leaf (n_leaves,).
        """
        tree = policy.policy_model_.tree_
        leaf_of_node = compact_leaf_ids(tree)
        leaf_nodes = np.flatnonzero(leaf_of_node >= 0)
        # In EconML 0.17, tree_.value has shape (node_count, n_categories, 1). A leaf's policy is the
        # category with the largest estimated reward, and ties go to the first (the control).
        leaf_category = np.argmax(tree.value[leaf_nodes, :, 0], axis=1)
        leaf_level_index = self._categories[leaf_category]

        n_leaves, n_levels = len(leaf_nodes), len(self.levels_)
        leaf = leaf_of_node[policy.policy_model_.apply(X)]
        cell = leaf * n_levels + level_index
        counts = np.bincount(cell, minlength=n_leaves * n_levels).reshape(n_leaves, n_levels)
        cost_sums = np.bincount(cell, weights=cost, minlength=n_leaves * n_levels).reshape(n_leaves, n_levels)
        value_sums = np.bincount(cell, weights=value, minlength=n_leaves * n_levels).reshape(n_leaves, n_levels)
        leaf_rows = counts.sum(axis=1)

        def totals(chosen: np.ndarray) -> tuple[float, float]:
            rows = np.arange(n_leaves)
            cell_counts = counts[rows, chosen]
            if np.any(cell_counts == 0):
                empty = int(np.flatnonzero(cell_counts == 0)[0])
                raise ValueError(
                    f"leaf {empty} of the policy tree at lam={lam:.6g} has no training rows at level "
                    f"{self.levels_[chosen[empty]]:.6g}, so its mean outcomes are undefined; raise "
                    f"min_samples_leaf or group alpha into fewer levels"
                )
            leaf_cost = leaf_rows * cost_sums[rows, chosen] / cell_counts
            leaf_value = leaf_rows * value_sums[rows, chosen] / cell_counts
            return float(leaf_cost.sum()), float(leaf_value.sum())

        policy_cost, policy_value = totals(leaf_level_index)
        reference_cost, reference_value = totals(np.full(n_leaves, self._reference_index))
        limit = self.budget_ratio_ * reference_cost * (1 + _FEASIBILITY_TOLERANCE)
        estimate = PolicyEstimate(
            lam=lam,
            cost=policy_cost,
            value=policy_value,
            reference_cost=reference_cost,
            reference_value=reference_value,
            feasible=policy_cost <= limit,
        )
        return estimate, leaf_of_node, leaf_level_index

    def _fitted_tree(self):
        if not hasattr(self, "policy_"):
            raise ValueError("this DRPolicyTreeBaseline is not fitted yet; call fit(X, alpha, value, cost)")
        return self.policy_.policy_model_
