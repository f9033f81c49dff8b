"""CF-MSE and CF-Het: one tree of EconML's causal forest on a cost-adjusted outcome.

The tree splits on the effect of the treatment level alpha on the proxy outcome

    y = v - k * c,        k = gamma / eta by default,

where gamma and eta are the value and cost elasticities of the whole training set. Its leaves form a
partition that is evaluated like any other (see `apply`). This module also contains the helpers
that both EconML baselines share: input checks, grouping of alpha into levels, and the pooled power-law
fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np

from .._levels import discretize_treatment
from .._power_law import TOO_FEW_LEVELS, fit_power_law
from .._statistics import accumulate_statistics
from ._econml import compact_leaf_ids, first_split, import_econml, render_tree_text

CRITERIA = ("mse", "het")
"""Split criteria of `econml.grf.CausalForest`: moment-equation MSE and parameter heterogeneity."""

MAX_DISCRETE_LEVELS = 10
"""Default maximum number of distinct alpha values kept as levels. Beyond it, alpha is grouped by quantiles."""


def check_experiment_arrays(
    X: np.ndarray, alpha: np.ndarray, value: np.ndarray, cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate experiment rows and return them as float64 arrays.

    Returns:
        X of shape (n, d), and alpha, value, cost of shape (n,).

    Raises:
        ValueError: on wrong shapes, non-finite entries, alpha <= 0, or negative outcomes.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional (rows, features), got shape {X.shape}")
    n = X.shape[0]
    if n == 0:
        raise ValueError("X has no rows; pass at least one row per treatment level")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinite entries; impute or drop those rows first")

    arrays = {}
    for name, array in (("alpha", alpha), ("value", value), ("cost", cost)):
        array = np.asarray(array, dtype=np.float64)
        if array.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},) to match X, got {array.shape}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinite entries; drop those rows first")
        arrays[name] = array

    if np.any(arrays["alpha"] <= 0):
        raise ValueError(
            f"alpha must be positive (1.0 is the reference), got minimum {arrays['alpha'].min()}"
        )
    for name in ("value", "cost"):
        if np.any(arrays[name] < 0):
            raise ValueError(f"{name} must be non-negative, got minimum {arrays[name].min()}")
    return X, arrays["alpha"], arrays["value"], arrays["cost"]


def group_treatment_levels(
    alpha: np.ndarray, max_levels: int = MAX_DISCRETE_LEVELS
) -> tuple[np.ndarray, np.ndarray]:
    """Group treatment values into discrete levels.

    With at most `max_levels` distinct values, each distinct value is a level. Otherwise rows are cut
    into `max_levels` quantile groups of alpha (fewer where ties merge quantiles), and a group's
    level is the mean alpha of its rows.

    Args:
        alpha: treatment value per row, shape (n,).
        max_levels: maximum number of levels, at least 2.

    Returns:
        levels: increasing level values, shape (K,).
        level_index: level of each row as an index into `levels`, int64 of shape (n,).
    """
    if max_levels < 2:
        raise ValueError(f"max_levels must be at least 2, got {max_levels}")
    levels = discretize_treatment(alpha, max_discrete_levels=max_levels, n_groups=max_levels)
    return levels.values, levels.encode(alpha).astype(np.int64)


def reference_level(levels: np.ndarray) -> int:
    """Return the index of the level nearest to the reference treatment alpha = 1."""
    return int(np.argmin(np.abs(np.log(levels))))


def fit_pooled_elasticities(
    alpha: np.ndarray, value: np.ndarray, cost: np.ndarray, max_levels: int = MAX_DISCRETE_LEVELS
) -> tuple[float, float]:
    """Fit the value and cost elasticities (gamma, eta) of all rows together.

    For each level k with n_k rows and mean outcomes m_k(v), m_k(c), gamma is the slope of a weighted
    least-squares line through the points (log alpha_k, log m_k(v)) with weights n_k:

        gamma = sum_k n_k (a_k - a) (l_k - l) / sum_k n_k (a_k - a)**2,

    where a_k = log alpha_k, l_k = log m_k(v), and a, l are their n_k-weighted means; eta is the same
    slope for cost. Only levels whose mean value and mean cost are both positive take part.

    Raises:
        ValueError: fewer than two levels have positive mean value and cost.
    """
    levels, level_index = group_treatment_levels(alpha, max_levels)
    statistics = accumulate_statistics(np.zeros(len(alpha), np.int64), level_index, value, cost, 1, len(levels))
    with jax.enable_x64(True):
        fit = fit_power_law(statistics, levels)
    if int(fit.status[0]) == TOO_FEW_LEVELS:
        raise ValueError(
            f"the pooled power-law fit needs at least two treatment levels with positive mean value "
            f"and cost, levels {levels.tolist()} have fewer; pass cost_weight explicitly or use data "
            f"with more treatment levels"
        )
    return float(fit.gamma[0]), float(fit.eta[0])


def default_min_samples_leaf(n_rows: int, max_depth: int) -> int:
    """Return n / 2**(max_depth + 2), rounded down and at least 1: the leaf size rule CUVET uses."""
    return max(1, n_rows // 2 ** (max_depth + 2))


def check_tree_shape(max_depth: int, min_samples_leaf: int | None) -> None:
    """Validate the depth and leaf-size hyperparameters shared by the EconML baselines."""
    if isinstance(max_depth, bool) or not isinstance(max_depth, (int, np.integer)) or max_depth < 1:
        raise ValueError(f"max_depth must be an integer of at least 1, got {max_depth!r}")
    if min_samples_leaf is not None and (
        isinstance(min_samples_leaf, bool)
        or not isinstance(min_samples_leaf, (int, np.integer))
        or min_samples_leaf < 1
    ):
        raise ValueError(
            f"min_samples_leaf must be a positive integer or None (n / 2**(max_depth + 2)), "
            f"got {min_samples_leaf!r}"
        )


class CausalForestTree:
    """One tree of EconML's causal forest, grown on the proxy outcome y = v - k * c with treatment alpha.

    The tree is `econml.grf.CausalForest` with one estimator, all rows (no subsampling) and no
    honesty, so every row takes part in every split. It solves the local moment equation
    E[(y - theta(x) * alpha - beta(x)) (alpha, 1)] = 0, so theta is the local slope of y in alpha.
    Criterion "mse" (CF-MSE) scores splits by the fit of that linear model; "het" (CF-Het) by the
    heterogeneity of theta between children.

    Args:
        criterion: "mse" or "het".
        max_depth: maximum depth of the tree, at least 1.
        min_samples_leaf: minimum number of training rows per leaf; None means n / 2**(max_depth + 2).
            A node needs twice as many rows to be split.
        cost_weight: k in y = v - k * c; None means gamma / eta of the pooled training rows (see
            `fit_pooled_elasticities`).
        random_state: seed of EconML's feature permutation at each split.
        max_levels: number of distinct alpha values beyond which the pooled fit groups alpha into
            this many quantile levels.

    Attributes (after `fit`):
        n_leaves_: number of leaves.
        cost_weight_: k used for the proxy outcome.
        gamma_, eta_: pooled elasticities when `cost_weight` is None, else None.
        first_split_: (feature index, threshold) of the root split, or None when the root is a leaf.
        min_samples_leaf_: leaf size used.
        forest_: the fitted `econml.grf.CausalForest`.
    """

    def __init__(
        self,
        criterion: str = "mse",
        max_depth: int = 3,
        min_samples_leaf: int | None = None,
        cost_weight: float | None = None,
        random_state: int = 0,
        max_levels: int = MAX_DISCRETE_LEVELS,
    ) -> None:
        import_econml("econml.grf")
        if criterion not in CRITERIA:
            raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
        check_tree_shape(max_depth, min_samples_leaf)
        if cost_weight is not None and not (np.isfinite(cost_weight) and cost_weight >= 0):
            raise ValueError(
                f"cost_weight must be a finite non-negative number or None (pooled gamma / eta), "
                f"got {cost_weight!r}"
            )
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.cost_weight = cost_weight
        self.random_state = random_state
        self.max_levels = max_levels

    def fit(
        self, X: np.ndarray, alpha: np.ndarray, value: np.ndarray, cost: np.ndarray
    ) -> CausalForestTree:
        """Grow the tree on rows X (n, d) with treatment alpha (n,) and outcomes value, cost (n,)."""
        grf = import_econml("econml.grf")
        X, alpha, value, cost = check_experiment_arrays(X, alpha, value, cost)
        n_rows = X.shape[0]

        if self.cost_weight is None:
            self.gamma_, self.eta_ = fit_pooled_elasticities(alpha, value, cost, self.max_levels)
            if not (self.gamma_ > 0 and self.eta_ > 0):
                raise ValueError(
                    f"pooled elasticities gamma={self.gamma_:.4g}, eta={self.eta_:.4g} are not both "
                    f"positive, so gamma / eta is no usable cost weight; pass cost_weight explicitly"
                )
            self.cost_weight_ = self.gamma_ / self.eta_
        else:
            self.gamma_ = self.eta_ = None
            self.cost_weight_ = float(self.cost_weight)

        if self.min_samples_leaf is None:
            self.min_samples_leaf_ = default_min_samples_leaf(n_rows, self.max_depth)
        else:
            self.min_samples_leaf_ = int(self.min_samples_leaf)

        # In EconML 0.17, inference=False lifts the rules that n_estimators be a multiple of
        # subforest_size and that max_samples be at most 0.5. max_samples=1.0 then draws every row
        # once, and min_balancedness_tol=0.5 drops the balance rule, so min_samples_leaf is the only
        # constraint on child sizes.
        self.forest_ = grf.CausalForest(
            n_estimators=1,
            criterion=self.criterion,
            max_depth=self.max_depth,
            min_samples_split=2 * self.min_samples_leaf_,
            min_samples_leaf=self.min_samples_leaf_,
            max_features=None,
            max_samples=1.0,
            min_balancedness_tol=0.5,
            honest=False,
            inference=False,
            fit_intercept=True,
            n_jobs=1,
            random_state=self.random_state,
        )
        proxy_outcome = value - self.cost_weight_ * cost
        self.forest_.fit(X, alpha, proxy_outcome)

        tree = self.forest_.estimators_[0].tree_
        self.n_features_in_ = X.shape[1]
        self._leaf_of_node = compact_leaf_ids(tree)
        self.n_leaves_ = int((self._leaf_of_node >= 0).sum())
        self.first_split_ = first_split(tree)
        return self

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Return the leaf id in 0..n_leaves_-1 of each row of X (n, d), as int64 of shape (n,)."""
        estimator = self._fitted_estimator()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X must have shape (n, {self.n_features_in_}) like the training features, "
                f"got {X.shape}"
            )
        return self._leaf_of_node[estimator.apply(X)]

    def export_text(self, feature_names: Sequence[str] | None = None) -> str:
        """Render the fitted tree as indented text, naming features `x0, x1, ...` unless given."""
        tree = self._fitted_estimator().tree_
        if feature_names is None:
            feature_names = [f"x{j}" for j in range(self.n_features_in_)]
        return render_tree_text(tree, feature_names)

    def _fitted_estimator(self):
        if not hasattr(self, "forest_"):
            raise ValueError("this CausalForestTree is not fitted yet; call fit(X, alpha, value, cost)")
        return self.forest_.estimators_[0]
