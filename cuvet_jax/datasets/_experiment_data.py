"""Container for the rows of one randomized experiment."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class ExperimentData:
    """Rows of a randomized experiment: features, treatment level and two outcomes.

    Attributes:
        X: features, float64 of shape (n, d).
        alpha: treatment level per row, float64 of shape (n,); 1.0 is the reference treatment.
        value: value outcome per row (what a policy should increase), float64 of shape (n,).
        cost: cost outcome per row (what the budget limits), float64 of shape (n,).
        feature_names: d column names of X.
        extra: further per-row arrays of shape (n,), for example a validation flag `is_val` or a
            ground-truth bucket id of synthetic data.
        description: one line on where the rows come from and how they were mapped.
    """

    X: np.ndarray
    alpha: np.ndarray
    value: np.ndarray
    cost: np.ndarray
    feature_names: tuple[str, ...]
    extra: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        n = len(self.alpha)
        if self.X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional (rows, features), got shape {self.X.shape}")
        lengths = {"X": len(self.X), "value": len(self.value), "cost": len(self.cost)}
        lengths.update({name: len(array) for name, array in self.extra.items()})
        mismatched = {name: length for name, length in lengths.items() if length != n}
        if mismatched:
            raise ValueError(f"alpha has {n} rows but {mismatched} differ; pass arrays of one length")
        if len(self.feature_names) != self.X.shape[1]:
            raise ValueError(
                f"{len(self.feature_names)} feature names for {self.X.shape[1]} feature columns"
            )

    @property
    def n_rows(self) -> int:
        return len(self.alpha)

    def subset(self, rows: np.ndarray | Sequence[int]) -> ExperimentData:
        """Select rows by integer index or boolean mask and return them as new data."""
        rows = np.asarray(rows)
        return dataclasses.replace(
            self,
            X=self.X[rows],
            alpha=self.alpha[rows],
            value=self.value[rows],
            cost=self.cost[rows],
            extra={name: array[rows] for name, array in self.extra.items()},
        )

    def to_frame(self):
        """Return the rows as a pandas DataFrame with columns features, alpha, value, cost, extra."""
        import pandas as pd

        columns = {name: self.X[:, j] for j, name in enumerate(self.feature_names)}
        columns.update({"alpha": self.alpha, "value": self.value, "cost": self.cost})
        columns.update(self.extra)
        return pd.DataFrame(columns)
