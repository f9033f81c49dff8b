"""CUVETree: a scikit-learn style estimator around binning, growth and the final allocation."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence

import jax
import numpy as np

from .._levels import TreatmentLevels, discretize_treatment
from .._power_law import FIT_STATUS_MESSAGES, PowerLaw
from .._statistics import SufficientStatistics, accumulate_statistics
from .._validation import as_feature_matrix, as_outcome, check_output_path, check_treatment_range
from ._binning import fit_bins
from ._grower import GrowthParameters, grow_tree
from ._tree import Tree

FORMAT_NAME = "cuvet-jax-tree"
FORMAT_VERSION = 1


class ExtrapolationWarning(UserWarning):
    """A fitted level lies outside the treatment range the power laws were fitted on."""


class CUVETree:
    """Cost per Unit Value Equalization Tree.

    Grows a binary tree on the features of a randomized experiment whose splits maximize total
    value at a fixed budget, with per-leaf power-law responses. Each leaf then gets the treatment
    level that equalizes the marginal cost per unit value across leaves.

    Args:
        max_depth: the deepest level of splits (at most 2**max_depth leaves).
        bounds: (alpha_min, alpha_max) for the clipped variant, or None for the unclipped one
            (alpha > 0).
        max_bins: candidate thresholds per feature are the edges of up to this many quantile bins.
        min_samples_leaf: the minimum number of rows in a leaf; default n / 2**(max_depth + 2).
        min_samples_split: the minimum number of rows in a node that may split; default n / 2**(max_depth + 1).
        min_rows_per_level: the minimum number of rows of each treatment level in each child.
        inadmissible: "reject" skips every split that leaves a child with an inadmissible fit
            (not 0 < gamma < eta); "hold" allows it and holds such a leaf at the reference level.
        n_treatment_groups: quantile groups for a continuous treatment.
        max_discrete_levels: treatments with at most this many distinct values keep them as levels.
        weighting: "count" weights levels by rows in the power-law fits, "equal" weights them equally.
        random_state: seed for the row sample behind the quantile edges of very large data.

    Attributes after `fit`:
        tree_: the fitted Tree. levels_: TreatmentLevels. feature_names_: tuple of names.
        n_features_in_, n_leaves_: sizes. leaf_alpha_: alpha per leaf.
    """

    def __init__(
        self,
        max_depth: int = 3,
        *,
        bounds: tuple[float, float] | None = (0.5, 1.5),
        max_bins: int = 32,
        min_samples_leaf: float | None = None,
        min_samples_split: float | None = None,
        min_rows_per_level: int = 10,
        inadmissible: str = "reject",
        n_treatment_groups: int = 5,
        max_discrete_levels: int = 12,
        weighting: str = "count",
        random_state: int = 0,
    ):
        self.max_depth = max_depth
        self.bounds = bounds
        self.max_bins = max_bins
        self.min_samples_leaf = min_samples_leaf
        self.min_samples_split = min_samples_split
        self.min_rows_per_level = min_rows_per_level
        self.inadmissible = inadmissible
        self.n_treatment_groups = n_treatment_groups
        self.max_discrete_levels = max_discrete_levels
        self.weighting = weighting
        self.random_state = random_state

    def get_params(self) -> dict:
        """Return the constructor arguments."""
        return {
            name: getattr(self, name)
            for name in (
                "max_depth", "bounds", "max_bins", "min_samples_leaf", "min_samples_split",
                "min_rows_per_level", "inadmissible", "n_treatment_groups", "max_discrete_levels",
                "weighting", "random_state",
            )
        }

    def _check_params(self) -> None:
        if not isinstance(self.max_depth, (int, np.integer)) or self.max_depth < 0:
            raise ValueError(f"max_depth must be a non-negative integer, got {self.max_depth!r}")
        if self.bounds is not None:
            if len(self.bounds) != 2:
                raise ValueError(f"bounds must be a pair (alpha_min, alpha_max) or None, got {self.bounds!r}")
            low, high = self.bounds
            if not 0 < low <= 1 <= high < np.inf:
                raise ValueError(
                    f"bounds must satisfy 0 < alpha_min <= 1 <= alpha_max, got {self.bounds!r}; "
                    "pass bounds=None for the unclipped variant"
                )
        for name in ("min_samples_leaf", "min_samples_split", "min_rows_per_level"):
            setting = getattr(self, name)
            if setting is not None and not (np.isfinite(setting) and setting >= 0):
                raise ValueError(f"{name} must be a non-negative number of rows, got {setting!r}")
        if self.inadmissible not in ("reject", "hold"):
            raise ValueError(f"inadmissible must be 'reject' or 'hold', got {self.inadmissible!r}")
        if self.weighting not in ("count", "equal"):
            raise ValueError(f"weighting must be 'count' or 'equal', got {self.weighting!r}")

    def fit(self, X, alpha, value, cost, feature_names: Sequence[str] | None = None) -> CUVETree:
        """Grow the tree on a randomized experiment and allocate the budget across its leaves.

        Args:
            X: features, array of shape (n, d) or a pandas DataFrame of numeric columns.
            alpha: treatment level per row, positive, 1.0 being the reference treatment.
            value: value outcome per row, non-negative.
            cost: cost outcome per row, non-negative.
            feature_names: names of the d features (taken from DataFrame columns by default).

        Returns:
            self.
        """
        self._check_params()
        X, names = as_feature_matrix(X, feature_names)
        n_rows = len(X)
        alpha = as_outcome("alpha", alpha, n_rows, positive=True)
        value = as_outcome("value", value, n_rows)
        cost = as_outcome("cost", cost, n_rows)
        levels = discretize_treatment(
            alpha, max_discrete_levels=self.max_discrete_levels, n_groups=self.n_treatment_groups
        )
        check_treatment_range(alpha, levels.values)
        level = levels.encode(alpha)

        depth = self.max_depth
        params = GrowthParameters(
            max_depth=depth,
            bounds=None if self.bounds is None else (float(self.bounds[0]), float(self.bounds[1])),
            min_samples_leaf=n_rows / 2 ** (depth + 2) if self.min_samples_leaf is None else self.min_samples_leaf,
            min_samples_split=n_rows / 2 ** (depth + 1) if self.min_samples_split is None else self.min_samples_split,
            min_rows_per_level=self.min_rows_per_level,
            hold_inadmissible=self.inadmissible == "hold",
            weighting=self.weighting,
        )
        bins = fit_bins(X, self.max_bins, seed=self.random_state)
        codes = bins.transform(X)
        # float64 is scoped to this call so that a user's global JAX setting stays as it was.
        with jax.enable_x64(True):
            tree, row_leaf = grow_tree(codes, bins, level, levels.values, value, cost, params)

        root_status = int(tree.fit_status[0])
        if tree.n_leaves == 1 and root_status != 0:
            advice = "or pass inadmissible='hold'" if self.inadmissible == "reject" else "or use more rows"
            raise ValueError(
                f"the power-law fit on all {n_rows} rows is not admissible ({FIT_STATUS_MESSAGES[root_status]}: "
                f"gamma = {tree.gamma[0]:.4g}, eta = {tree.eta[0]:.4g}) and no split produced admissible "
                f"leaves; check the value and cost columns, {advice}"
            )
        if self.bounds is None:
            outside = (tree.leaf_alpha < levels.values[0]) | (tree.leaf_alpha > levels.values[-1])
            if outside.any():
                warnings.warn(
                    f"unclipped leaf levels {np.round(tree.leaf_alpha[outside], 4).tolist()} lie outside the "
                    f"observed treatment range [{levels.values[0]:.4g}, {levels.values[-1]:.4g}], where the power "
                    "laws are extrapolated; pass bounds to keep levels near the data",
                    ExtrapolationWarning,
                    stacklevel=2,
                )
        self.tree_ = tree
        self.levels_ = levels
        # Per-leaf, per-level training sums let the ILP and LP evaluations and budget curves of a
        # saved model choose levels without the training rows.
        self.training_statistics_ = accumulate_statistics(
            row_leaf, level, value, cost, tree.n_leaves, levels.n_levels
        )
        self.feature_names_ = names
        self.n_features_in_ = X.shape[1]
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "tree_"):
            raise RuntimeError("this CUVETree is not fitted yet; call fit(X, alpha, value, cost) first")

    def _features(self, X) -> np.ndarray:
        self._check_fitted()
        if hasattr(X, "columns"):
            missing = [name for name in self.feature_names_ if name not in X.columns]
            if missing:
                raise ValueError(f"X lacks the feature columns {missing} the tree was fitted on")
            X = X[list(self.feature_names_)]
        X, _ = as_feature_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features but the tree was fitted on {self.n_features_in_} "
                f"({', '.join(self.feature_names_)})"
            )
        return X

    @property
    def n_leaves_(self) -> int:
        self._check_fitted()
        return self.tree_.n_leaves

    @property
    def leaf_alpha_(self) -> np.ndarray:
        self._check_fitted()
        return self.tree_.leaf_alpha

    def apply(self, X) -> np.ndarray:
        """Return the leaf id (0..n_leaves_-1) of each row, shape (n,) int."""
        X = self._features(X)
        return self.tree_.apply(X)

    def predict(self, X) -> np.ndarray:
        """Return the treatment level alpha* of each row's leaf, shape (n,)."""
        X = self._features(X)
        return self.tree_.predict(X)

    def leaf_power_law(self) -> PowerLaw:
        """Return the leaves' power-law fits on the training rows, in leaf order."""
        self._check_fitted()
        return self.tree_.leaf_power_law()

    def leaf_statistics(self, X, alpha, value, cost) -> SufficientStatistics:
        """Sum rows into per-leaf, per-level statistics of shape (n_leaves_, L), with validation."""
        X = self._features(X)
        alpha = as_outcome("alpha", alpha, len(X), positive=True)
        value = as_outcome("value", value, len(X))
        cost = as_outcome("cost", cost, len(X))
        return accumulate_statistics(
            self.tree_.apply(X), self.levels_.encode(alpha), value, cost, self.n_leaves_, self.levels_.n_levels
        )

    def leaf_summary(self):
        """Return one row per leaf: its rule, rows, power-law fit and allocated alpha (pandas DataFrame)."""
        import pandas as pd

        self._check_fitted()
        tree = self.tree_
        nodes = tree.leaf_nodes
        alpha = tree.leaf_alpha
        return pd.DataFrame(
            {
                "leaf": np.arange(len(nodes)),
                "rule": [self._rule(node) for node in nodes],
                "rows": tree.n_rows[nodes].astype(np.int64),
                "value_ref": tree.value_ref[nodes],
                "cost_ref": tree.cost_ref[nodes],
                "gamma": tree.gamma[nodes],
                "eta": tree.eta[nodes],
                "admissible": tree.fit_status[nodes] == 0,
                "alpha": alpha,
                "value_at_alpha": tree.value_ref[nodes] * alpha ** tree.gamma[nodes],
                "cost_at_alpha": tree.cost_ref[nodes] * alpha ** tree.eta[nodes],
            }
        )

    def _rule(self, node: int) -> str:
        """Describe the rows of a node as the tightest bounds on each feature along its path."""
        lower: dict[int, float] = {}
        upper: dict[int, float] = {}
        order: list[int] = []
        while node > 0:
            parent = (node - 1) // 2
            feature = int(self.tree_.feature[parent])
            threshold = float(self.tree_.threshold[parent])
            if feature not in order:
                order.append(feature)
            if node == 2 * parent + 1:
                upper[feature] = min(upper.get(feature, np.inf), threshold)
            else:
                lower[feature] = max(lower.get(feature, -np.inf), threshold)
            node = parent
        conditions = []
        for feature in reversed(order):
            name = self.feature_names_[feature]
            if feature in lower and feature in upper:
                conditions.append(f"{lower[feature]:.6g} < {name} <= {upper[feature]:.6g}")
            elif feature in upper:
                conditions.append(f"{name} <= {upper[feature]:.6g}")
            else:
                conditions.append(f"{name} > {lower[feature]:.6g}")
        return " and ".join(conditions) or "all rows"

    def export_text(self, decimals: int = 4) -> str:
        """Render the fitted tree as indented text."""
        self._check_fitted()
        return self.tree_.export_text(self.feature_names_, decimals=decimals)

    def to_dict(self) -> dict:
        self._check_fitted()
        params = self.get_params()
        params["bounds"] = None if self.bounds is None else list(self.bounds)
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "params": params,
            "feature_names": list(self.feature_names_),
            "levels": self.levels_.to_dict(),
            "tree": self.tree_.to_dict(),
            "training_statistics": {
                "count": self.training_statistics_.count.tolist(),
                "sum_value": self.training_statistics_.sum_value.tolist(),
                "sum_cost": self.training_statistics_.sum_cost.tolist(),
            },
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model to a versioned JSON file (written to a temporary file, then renamed)."""
        payload = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        path = os.fspath(path)
        check_output_path(path)
        temporary = f"{path}.tmp-{os.getpid()}"
        try:
            with open(temporary, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)

    @classmethod
    def from_dict(cls, payload: dict) -> CUVETree:
        if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
            found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
            raise ValueError(
                f"not a cuvet_jax tree file: format is {found!r}, expected {FORMAT_NAME!r}; "
                "pass a file written by CUVETree.save or `cuvet fit --out`"
            )
        version = payload.get("version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"tree file version {version!r} is not supported by this cuvet_jax (reads version "
                f"{FORMAT_VERSION}); refit the model or install the matching cuvet_jax"
            )
        try:
            params = dict(payload["params"])
            if params["bounds"] is not None:
                params["bounds"] = tuple(params["bounds"])
            model = cls(**params)
            model._check_params()
            model.feature_names_ = tuple(payload["feature_names"])
            model.n_features_in_ = len(model.feature_names_)
            model.levels_ = TreatmentLevels.from_dict(payload["levels"])
            model.tree_ = Tree.from_dict(payload["tree"])
            statistics = payload["training_statistics"]
            model.training_statistics_ = SufficientStatistics(
                *(np.asarray(statistics[key], dtype=np.float64) for key in ("count", "sum_value", "sum_cost"))
            )
        except (KeyError, TypeError) as error:
            raise ValueError(
                f"the tree file is incomplete or corrupted ({type(error).__name__}: {error}); refit and save the model again"
            ) from None
        if model.training_statistics_.count.shape != (model.tree_.n_leaves, model.levels_.n_levels):
            raise ValueError("the tree file's training statistics do not match its leaves and levels; refit the model")
        return model

    @classmethod
    def load(cls, path: str | os.PathLike) -> CUVETree:
        """Read a model written by `save`."""
        if not os.path.isfile(path):
            raise FileNotFoundError(f"model file not found: {os.fspath(path)!r}; pass a file written by CUVETree.save")
        with open(path, encoding="utf-8") as handle:
            try:
                payload = json.load(handle)
            except json.JSONDecodeError as error:
                raise ValueError(f"{os.fspath(path)} is not valid JSON ({error}); pass a file written by CUVETree.save") from None
        return cls.from_dict(payload)
