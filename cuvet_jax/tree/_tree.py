"""A fitted CUVET tree: node arrays in heap order, routing of rows, text rendering and JSON form."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .._allocation import STATUS_MESSAGES
from .._power_law import FIT_STATUS_MESSAGES, PowerLaw


def node_depth(node: int) -> int:
    """Depth of a heap-ordered node: the root 0 has depth 0, node h has children 2h+1 and 2h+2."""
    return int(np.floor(np.log2(node + 1)))


@dataclasses.dataclass
class Tree:
    """Node arrays of a binary tree in heap order (node h has children 2h + 1 and 2h + 2).

    Arrays of length M = 2**(max_depth + 1) - 1 describe every possible node; `exists` marks the
    grown ones. For a split node, rows with x[feature] <= threshold go to the left child.

    Attributes:
        max_depth: the depth limit the tree was grown with.
        exists, is_leaf: (M,) bool.
        feature: split feature per node, -1 for leaves and absent nodes, (M,) int.
        threshold: split threshold in feature units, NaN for leaves, (M,) float.
        n_rows: training rows per node, (M,).
        value_ref, cost_ref, gamma, eta, fit_status: the node's power-law fit on its training rows.
        alpha: the node's treatment level while growing (1 at the root, then the parent's
            two-bucket optimum), (M,).
        budget: the node's budget while growing (the root's reference cost, then c(alpha)), (M,).
        node_value: v_node(alpha_node), the value the best split had to beat, (M,).
        criterion: v_L(alpha_L*) + v_R(alpha_R*) of the chosen split, NaN for leaves, (M,).
        leaf_index: compact leaf id 0..n_leaves-1 per leaf node, -1 elsewhere, (M,) int.
        leaf_alpha: final treatment level per leaf from one allocation across all leaves, (n_leaves,).
        mu: the equalized marginal cost per unit value of that allocation.
        allocation_status: status code of that allocation.
        final_budget: the budget of that allocation, in cost units.
    """

    max_depth: int
    exists: np.ndarray
    is_leaf: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    n_rows: np.ndarray
    value_ref: np.ndarray
    cost_ref: np.ndarray
    gamma: np.ndarray
    eta: np.ndarray
    fit_status: np.ndarray
    alpha: np.ndarray
    budget: np.ndarray
    node_value: np.ndarray
    criterion: np.ndarray
    leaf_index: np.ndarray
    leaf_alpha: np.ndarray
    mu: float
    allocation_status: int
    final_budget: float

    @property
    def n_leaves(self) -> int:
        return int((self.leaf_index >= 0).sum())

    @property
    def leaf_nodes(self) -> np.ndarray:
        """Heap index of each leaf, ordered by compact leaf id."""
        nodes = np.flatnonzero(self.leaf_index >= 0)
        return nodes[np.argsort(self.leaf_index[nodes])]

    def leaf_power_law(self) -> PowerLaw:
        """Return the leaves' training power-law fits, in compact leaf order."""
        nodes = self.leaf_nodes
        return PowerLaw(
            self.value_ref[nodes], self.cost_ref[nodes], self.gamma[nodes], self.eta[nodes],
            self.fit_status[nodes].astype(np.int32),
        )

    def apply_nodes(self, X: np.ndarray) -> np.ndarray:
        """Return the heap index of the leaf each row falls in, shape (n,) int."""
        X = np.asarray(X, dtype=np.float64)
        node = np.zeros(len(X), dtype=np.int64)
        for _ in range(self.max_depth):
            feature = self.feature[node]
            split = feature >= 0
            if not split.any():
                break
            x = X[np.arange(len(X)), np.where(split, feature, 0)]
            goes_left = x <= self.threshold[node]
            child = np.where(goes_left, 2 * node + 1, 2 * node + 2)
            node = np.where(split, child, node)
        return node

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Return the compact leaf id (0..n_leaves-1) of each row, shape (n,) int."""
        return self.leaf_index[self.apply_nodes(X)]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Return the treatment level alpha of each row's leaf, shape (n,)."""
        return self.leaf_alpha[self.apply(X)]

    def export_text(self, feature_names: Sequence[str] | None = None, *, decimals: int = 4) -> str:
        """Render the tree as indented text, one line per node."""
        names = list(feature_names) if feature_names is not None else None
        lines: list[str] = []

        def describe(node: int) -> str:
            fit = (
                f"gamma {self.gamma[node]:.3f}, eta {self.eta[node]:.3f}"
                if self.fit_status[node] == 0
                else f"not admissible: {FIT_STATUS_MESSAGES[int(self.fit_status[node])]}"
            )
            return f"rows {self.n_rows[node]:.0f}, {fit}"

        def visit(node: int, prefix: str, branch: str) -> None:
            if self.is_leaf[node]:
                leaf = self.leaf_index[node]
                lines.append(
                    f"{prefix}{branch}leaf {leaf}: alpha* {self.leaf_alpha[leaf]:.{decimals}f} ({describe(node)})"
                )
                return
            f = self.feature[node]
            name = names[f] if names is not None else f"x[{f}]"
            gain = self.criterion[node] / self.node_value[node] - 1
            lines.append(
                f"{prefix}{branch}{name} <= {self.threshold[node]:.{decimals}g} "
                f"(value gain {gain:+.4%}; {describe(node)})"
            )
            if not branch:
                child_prefix = prefix
            elif branch.startswith("└"):
                child_prefix = prefix + "    "
            else:
                child_prefix = prefix + "│   "
            visit(2 * node + 1, child_prefix, "├── ")
            visit(2 * node + 2, child_prefix, "└── ")

        visit(0, "", "")
        lines.append(
            f"allocation across {self.n_leaves} leaves: mu {self.mu:.6g}, budget {self.final_budget:.6g}, "
            f"{STATUS_MESSAGES[self.allocation_status]}"
        )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Return a JSON-serializable dict of the tree (grown nodes only)."""
        nodes = np.flatnonzero(self.exists)
        per_node = {}
        for field in ("is_leaf", "feature", "threshold", "n_rows", "value_ref", "cost_ref", "gamma", "eta",
                      "fit_status", "alpha", "budget", "node_value", "criterion", "leaf_index"):
            array = getattr(self, field)[nodes]
            per_node[field] = [None if isinstance(x, float) and np.isnan(x) else x for x in array.tolist()]
        return {
            "max_depth": self.max_depth,
            "nodes": nodes.tolist(),
            **per_node,
            "leaf_alpha": self.leaf_alpha.tolist(),
            "mu": self.mu,
            "allocation_status": self.allocation_status,
            "final_budget": self.final_budget,
        }

    @classmethod
    def from_dict(cls, payload: dict) -> Tree:
        max_depth = int(payload["max_depth"])
        size = 2 ** (max_depth + 1) - 1
        nodes = np.asarray(payload["nodes"], dtype=np.int64)
        defaults = {"is_leaf": False, "feature": -1, "threshold": np.nan, "fit_status": 0, "leaf_index": -1}
        dtypes = {"is_leaf": bool, "feature": np.int64, "fit_status": np.int64, "leaf_index": np.int64}
        arrays = {}
        for field in ("is_leaf", "feature", "threshold", "n_rows", "value_ref", "cost_ref", "gamma", "eta",
                      "fit_status", "alpha", "budget", "node_value", "criterion", "leaf_index"):
            dtype = dtypes.get(field, np.float64)
            array = np.full(size, defaults.get(field, np.nan), dtype=dtype)
            values = [np.nan if x is None else x for x in payload[field]]
            array[nodes] = np.asarray(values, dtype=dtype)
            arrays[field] = array
        exists = np.zeros(size, dtype=bool)
        exists[nodes] = True
        return cls(
            max_depth=max_depth,
            exists=exists,
            leaf_alpha=np.asarray(payload["leaf_alpha"], dtype=np.float64),
            mu=float(payload["mu"]),
            allocation_status=int(payload["allocation_status"]),
            final_budget=float(payload["final_budget"]),
            **arrays,
        )
