"""Treatment levels: discrete levels used as they are, continuous treatments grouped by quantiles."""

from __future__ import annotations

import dataclasses

import numpy as np
from jaxtyping import ArrayLike


@dataclasses.dataclass(frozen=True)
class TreatmentLevels:
    """The treatment levels a power-law fit regresses on.

    Attributes:
        values: level value per level (the treatment multiplier alpha it stands for), shape (L,),
            increasing. For grouped continuous treatments each value is the mean alpha of its group.
        edges: for grouped treatments, the L - 1 inner group boundaries on alpha (a row with
            edges[k-1] < alpha <= edges[k] is in group k); empty for discrete levels.
    """

    values: np.ndarray
    edges: np.ndarray

    @property
    def n_levels(self) -> int:
        return len(self.values)

    @property
    def grouped(self) -> bool:
        return len(self.edges) > 0

    def encode(self, alpha: ArrayLike) -> np.ndarray:
        """Map treatment values to level codes 0..L-1, shape (n,) int32.

        Discrete levels must match a known level exactly (up to 1e-9 relative); grouped levels
        use the group boundaries, so any positive alpha has a code.

        NOTE: rows of another split encoded here keep `values`, the group means of the rows the
        levels were built from, not the means of their own group.
        """
        alpha = np.asarray(alpha, dtype=np.float64)
        if self.grouped:
            return np.searchsorted(self.edges, alpha, side="left").astype(np.int32)
        # The nearest level is the one at or just below the insertion point of alpha.
        above = np.clip(np.searchsorted(self.values, alpha), 0, self.n_levels - 1)
        below = np.maximum(above - 1, 0)
        closer_below = np.abs(self.values[below] - alpha) < np.abs(self.values[above] - alpha)
        codes = np.where(closer_below, below, above)
        unknown = np.abs(self.values[codes] - alpha) > 1e-9 * np.abs(alpha)
        if unknown.any():
            examples = np.unique(alpha[unknown])[:5]
            raise ValueError(
                f"treatment values {examples.tolist()} are not among the levels "
                f"{self.values.tolist()}; encode rows with levels built from the same experiment"
            )
        return codes.astype(np.int32)

    def to_dict(self) -> dict:
        return {"values": self.values.tolist(), "edges": self.edges.tolist()}

    @classmethod
    def from_dict(cls, payload: dict) -> TreatmentLevels:
        return cls(np.asarray(payload["values"], dtype=np.float64), np.asarray(payload["edges"], dtype=np.float64))


def discretize_treatment(
    alpha: ArrayLike,
    *,
    max_discrete_levels: int = 12,
    n_groups: int = 5,
) -> TreatmentLevels:
    """Choose treatment levels for a power-law fit from the observed treatment values.

    With at most `max_discrete_levels` distinct values, each value is a level. Otherwise the
    treatment is treated as continuous: rows are cut into `n_groups` quantile groups of alpha
    (fewer when quantiles tie), and each group is represented by the mean alpha of its rows.

    Args:
        alpha: treatment value per row, positive, shape (n,).
        max_discrete_levels: the largest number of distinct values kept as separate levels.
        n_groups: the number of quantile groups for a continuous treatment.

    Returns:
        TreatmentLevels; use its `encode` to get each row's level code.
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    distinct = np.unique(alpha)
    if len(distinct) <= max_discrete_levels:
        return TreatmentLevels(values=distinct, edges=np.empty(0))
    if n_groups < 2:
        raise ValueError(f"n_groups must be at least 2 to fit a slope, got {n_groups}")

    edges = np.unique(np.quantile(alpha, np.linspace(0.0, 1.0, n_groups + 1)[1:-1]))
    while True:
        codes = np.searchsorted(edges, alpha, side="left")
        counts = np.bincount(codes, minlength=len(edges) + 1)
        empty = np.flatnonzero(counts == 0)
        if len(empty) == 0:
            break
        # A group can be empty when a quantile falls on the maximum or between two tied values.
        # Dropping one of its boundaries merges it into a neighbour.
        k = int(empty[0])
        edges = np.delete(edges, min(k, len(edges) - 1))
    sums = np.bincount(codes, weights=alpha, minlength=len(edges) + 1)
    return TreatmentLevels(values=sums / counts, edges=edges)
