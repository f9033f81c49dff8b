"""Evaluate a fitted partition (a CUVET tree, a baseline tree, or bucket labels) on a split, with intervals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .._levels import TreatmentLevels, discretize_treatment
from .._statistics import SufficientStatistics, accumulate_statistics
from ._bootstrap import Interval, bootstrap_statistics, summarize
from ._partition import METHODS, PartitionEvaluation, choose_levels, evaluate_partition, score_levels

PAPER_BOUNDS = (0.5, 1.5)
"""Admissible range of alpha in the CUVET experiments of Betlei, Vladimirova, Girou and Rahier."""


class Evaluation(NamedTuple):
    """One evaluation method's result on an evaluation split.

    Attributes:
        point: the evaluation on all rows of the evaluation split.
        dv, dc: bootstrap mean and 1.96-standard-deviation half-width over resamples of the
            evaluation split; None without bootstrap.
    """

    point: PartitionEvaluation
    dv: Interval | None
    dc: Interval | None

    def as_dict(self) -> dict:
        """Return the numbers as plain floats: dv, dc, and their bootstrap means and half-widths."""
        result = {"dv": self.point.dv, "dc": self.point.dc, "budget": self.point.budget}
        if self.dv is not None:
            result.update(
                dv_mean=self.dv.mean, dv_half_width=self.dv.half_width,
                dc_mean=self.dc.mean, dc_half_width=self.dc.half_width,
            )
        return result


def _rows(data):
    return np.asarray(data.alpha, dtype=np.float64), np.asarray(data.value, dtype=np.float64), np.asarray(data.cost, dtype=np.float64)


def evaluate(
    partition,
    train,
    evaluation,
    *,
    methods: Sequence[str] = METHODS,
    bounds: tuple[float, float] | None | str = "model",
    levels: TreatmentLevels | None = None,
    n_boot: int = 0,
    seed: int = 0,
    bootstrap_kind: str = "multinomial",
) -> dict[str, Evaluation]:
    """Choose levels per bucket on `train` and evaluate them on `evaluation`, by each method.

    Args:
        partition: a fitted model with `apply(X)` (CUVETree or a baseline tree), or a pair
            (train_labels, evaluation_labels) of integer bucket ids 0..B-1.
        train, evaluation: rows with attributes X, alpha, value, cost (for example ExperimentData).
            `train` may be None for a fitted CUVETree, whose saved training statistics are used.
        methods: any of "mcuv", "ilp", "lp".
        bounds: bounds of the mCUV allocation; "model" takes a CUVETree's own bounds and the
            PAPER_BOUNDS (0.5, 1.5) for other partitions; None is unclipped.
        levels: treatment levels; by default the model's, else discretized from train.alpha.
        n_boot: bootstrap resamples of the evaluation split (0 for none; the CUVET experiments of
            Betlei et al. use 10).
        seed: seed of the resampling.
        bootstrap_kind: "multinomial" or "poisson" row weights.

    Returns:
        A dict from method to Evaluation.
    """
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown evaluation methods {unknown}; choose from {list(METHODS)}")
    if isinstance(partition, tuple):
        train_labels, evaluation_labels = (np.asarray(a, dtype=np.int64) for a in partition)
        n_buckets = int(max(train_labels.max(), evaluation_labels.max())) + 1
        model_bounds = PAPER_BOUNDS
    elif train is None:
        if not hasattr(partition, "training_statistics_"):
            raise ValueError("train rows are required unless the partition is a fitted CUVETree")
        train_labels = None
        evaluation_labels = np.asarray(partition.apply(evaluation.X), dtype=np.int64)
        n_buckets = int(partition.n_leaves_)
        model_bounds = partition.bounds
        levels = partition.levels_ if levels is None else levels
    else:
        train_labels = np.asarray(partition.apply(train.X), dtype=np.int64)
        evaluation_labels = np.asarray(partition.apply(evaluation.X), dtype=np.int64)
        n_buckets = int(partition.n_leaves_)
        model_bounds = getattr(partition, "bounds", PAPER_BOUNDS)
        if levels is None and isinstance(getattr(partition, "levels_", None), TreatmentLevels):
            levels = partition.levels_
    if train_labels is not None and len(train_labels) != len(train.alpha):
        raise ValueError(f"{len(train_labels)} training bucket labels for {len(train.alpha)} training rows")
    if len(evaluation_labels) != len(evaluation.alpha):
        raise ValueError(f"{len(evaluation_labels)} evaluation bucket labels for {len(evaluation.alpha)} evaluation rows")
    if isinstance(bounds, str):
        if bounds != "model":
            raise ValueError(f"bounds must be (low, high), None or 'model', got {bounds!r}")
        bounds = model_bounds
    eval_alpha, eval_value, eval_cost = _rows(evaluation)
    if train_labels is None:
        train_stats = partition.training_statistics_
    else:
        train_alpha, train_value, train_cost = _rows(train)
        if levels is None:
            levels = discretize_treatment(train_alpha)
        train_stats = accumulate_statistics(
            train_labels, levels.encode(train_alpha), train_value, train_cost, n_buckets, levels.n_levels
        )
    n_levels = levels.n_levels
    eval_level = levels.encode(eval_alpha)
    eval_stats = accumulate_statistics(evaluation_labels, eval_level, eval_value, eval_cost, n_buckets, n_levels)
    resampled: SufficientStatistics | None = None
    if n_boot:
        resampled = bootstrap_statistics(
            evaluation_labels, eval_level, eval_value, eval_cost, n_buckets, n_levels,
            n_boot=n_boot, seed=seed, kind=bootstrap_kind,
        )

    results = {}
    for method in methods:
        point = evaluate_partition(train_stats, eval_stats, levels.values, method, bounds)
        dv = dc = None
        if resampled is not None:
            alpha, probabilities, _ = choose_levels(train_stats, levels.values, method, bounds)
            value, cost, value_ref, cost_ref = score_levels(resampled, levels.values, alpha, probabilities)
            dv, dc = summarize(value / value_ref - 1), summarize(cost / cost_ref - 1)
        results[method] = Evaluation(point, dv, dc)
    return results
