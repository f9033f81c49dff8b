"""Adapter to EconML: import it on first use and read the arrays of its fitted trees.

EconML is an optional dependency (`pip install "cuvet-jax[baselines]"`), so nothing in this package
imports it at module level. Its trees (`econml.tree.Tree`, EconML 0.17) store nodes in parallel
arrays as scikit-learn's do: `children_left[node] == -1` marks a leaf, and a row goes to the left
child when `x[feature[node]] <= threshold[node]`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType

import numpy as np

INSTALL_HINT = 'pip install "cuvet-jax[baselines]"'
"""Command that installs the optional dependencies of the baselines."""

_LEAF = -1
"""Child index that EconML and scikit-learn trees store for a leaf."""


def import_econml(module: str = "econml") -> ModuleType:
    """Import an EconML module on first use.

    Raises:
        ImportError: EconML is not installed. The message gives the install command.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"the EconML baselines need the optional dependency EconML ({module} failed to "
            f"import: {error}); install it with: {INSTALL_HINT}"
        ) from error


def compact_leaf_ids(tree) -> np.ndarray:
    """Map each node of a fitted tree to a leaf id in 0..n_leaves-1, or -1 for inner nodes.

    Leaves are numbered in the order of their node ids, which is depth-first, left child first.

    Args:
        tree: the `tree_` attribute of a fitted EconML tree.

    Returns:
        int64 array of shape (node_count,).
    """
    is_leaf = np.asarray(tree.children_left) == _LEAF
    leaf_ids = np.full(is_leaf.shape, -1, dtype=np.int64)
    leaf_ids[is_leaf] = np.arange(int(is_leaf.sum()))
    return leaf_ids


def first_split(tree) -> tuple[int, float] | None:
    """Return the (feature index, threshold) of the root split, or None if the root is a leaf."""
    if tree.children_left[0] == _LEAF:
        return None
    return int(tree.feature[0]), float(tree.threshold[0])


def render_tree_text(
    tree,
    feature_names: Sequence[str],
    leaf_labels: Sequence[str] | None = None,
) -> str:
    """Render a fitted tree as indented text, one line per node.

    An inner node prints as `name <= threshold`, its left subtree (rows that satisfy it), then
    `name > threshold` and its right subtree. A leaf prints its compact id, its number of training
    rows that reached it, and `leaf_labels[leaf id]` when given.
    """
    leaf_ids = compact_leaf_ids(tree)
    lines: list[str] = []

    def visit(node: int, depth: int) -> None:
        indent = "|   " * depth
        rows = int(tree.n_node_samples[node])
        if tree.children_left[node] == _LEAF:
            leaf = int(leaf_ids[node])
            label = f"  {leaf_labels[leaf]}" if leaf_labels is not None else ""
            lines.append(f"{indent}leaf {leaf} ({rows} rows){label}")
            return
        name = feature_names[int(tree.feature[node])]
        threshold = float(tree.threshold[node])
        lines.append(f"{indent}{name} <= {threshold:.6g}")
        visit(int(tree.children_left[node]), depth + 1)
        lines.append(f"{indent}{name} > {threshold:.6g}")
        visit(int(tree.children_right[node]), depth + 1)

    visit(0, 0)
    return "\n".join(lines)
