"""Balance of features across treatment levels, to detect a treatment that depends on a feature.

In a randomized experiment the features have the same distribution at every treatment level. Where the
treatment was drawn per stratum (for example a rate drawn within risk bands), a feature's mean
differs between levels, and a fit that pools the strata mixes the treatment effect with the feature.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .._levels import discretize_treatment


def _quantile_groups(values: np.ndarray, n_groups: int) -> np.ndarray:
    """Return the quantile group (0 = lowest) of each value, int64 of shape (n,).

    The groups are those of `discretize_treatment`, which the tree fits on, so a preset's reference
    level and the balance check see the same levels as the estimator.
    """
    levels = discretize_treatment(values, max_discrete_levels=0, n_groups=n_groups)
    return levels.encode(values).astype(np.int64)


def _treatment_groups(treatment: np.ndarray, max_levels: int, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (group code per row, label per group): distinct levels if few, quantile groups otherwise."""
    levels = discretize_treatment(treatment, max_discrete_levels=max_levels, n_groups=n_groups)
    return levels.encode(treatment).astype(np.int64), levels.values


def balance_check(
    X: np.ndarray,
    treatment: np.ndarray,
    feature_names: Sequence[str],
    *,
    max_levels: int = 10,
    n_groups: int = 5,
    test: str | None = "anova",
) -> pd.DataFrame:
    """Measure per feature how far its mean at each treatment level is from its pooled mean.

    Treatment with at most `max_levels` distinct values is used as is; otherwise rows are put into
    `n_groups` quantile groups of the treatment. For feature j and treatment group k,

        SMD_jk = (mean of x_j over group k - mean of x_j over all rows) / sd of x_j over all rows

    with the population standard deviation (a constant feature has SMD 0). A randomized treatment
    keeps every |SMD_jk| near 0 (of order 1 / sqrt(rows per group)); 0.1 is a common limit.

    Args:
        X: features, shape (n, d).
        treatment: treatment level or group code per row, shape (n,).
        feature_names: d names of the columns of X.
        max_levels: largest number of distinct treatment values used without grouping.
        n_groups: number of quantile groups for a treatment with more distinct values.
        test: "anova" (one-way F test, scipy.stats.f_oneway), "kruskal" (Kruskal-Wallis H test,
            scipy.stats.kruskal) or None, for the p-value that the feature has the same distribution
            at every level.

    Returns:
        DataFrame with one row per feature, sorted by `max_abs_smd`, largest first, and columns
        `feature`, `max_abs_smd`, `worst_level` (the treatment value or group mean where |SMD| is
        largest), `n_levels` and, unless `test` is None, `p_value`.
    """
    X = np.asarray(X, dtype=np.float64)
    treatment = np.asarray(treatment, dtype=np.float64)
    feature_names = list(feature_names)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (rows, features), got shape {X.shape}")
    if treatment.shape != (X.shape[0],):
        raise ValueError(f"treatment must have shape ({X.shape[0]},) to match X, got {treatment.shape}")
    if len(feature_names) != X.shape[1]:
        raise ValueError(f"{len(feature_names)} feature names for {X.shape[1]} feature columns")
    if test not in ("anova", "kruskal", None):
        raise ValueError(f"test must be 'anova', 'kruskal' or None, got {test!r}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(treatment))):
        raise ValueError("X and treatment must be finite; drop or fill NaN and infinite values first")

    codes, labels = _treatment_groups(treatment, max_levels, n_groups)
    n_levels = len(labels)
    counts = np.bincount(codes, minlength=n_levels).astype(np.float64)
    group_means = np.stack([np.bincount(codes, weights=X[:, j], minlength=n_levels) for j in range(X.shape[1])])
    group_means = group_means / counts
    pooled_mean = X.mean(axis=0)
    pooled_sd = X.std(axis=0)
    scale = np.where(pooled_sd > 0, pooled_sd, 1.0)
    smd = (group_means - pooled_mean[:, None]) / scale[:, None]
    worst = np.argmax(np.abs(smd), axis=1)

    table = pd.DataFrame(
        {
            "feature": feature_names,
            "max_abs_smd": np.abs(smd[np.arange(len(feature_names)), worst]),
            "worst_level": labels[worst],
            "n_levels": n_levels,
        }
    )
    if test is not None:
        table["p_value"] = [_p_value(X[:, j], codes, n_levels, test) for j in range(X.shape[1])]
    return table.sort_values("max_abs_smd", ascending=False, kind="stable").reset_index(drop=True)


def _p_value(column: np.ndarray, codes: np.ndarray, n_levels: int, test: str) -> float:
    if n_levels < 2 or np.all(column == column[0]):
        # Identical values in every group: the groups cannot differ.
        return 1.0
    samples = [column[codes == k] for k in range(n_levels)]
    if test == "anova":
        return float(stats.f_oneway(*samples).pvalue)
    return float(stats.kruskal(*samples).pvalue)


def balance_warnings(table: pd.DataFrame, threshold: float = 0.1) -> list[str]:
    """Return one warning per feature of a `balance_check` table whose max |SMD| exceeds `threshold`."""
    if not threshold >= 0:
        raise ValueError(f"threshold must be non-negative, got {threshold}")
    missing = {"feature", "max_abs_smd", "worst_level"} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}; pass the output of balance_check")
    warnings = []
    for row in table.itertuples(index=False):
        if row.max_abs_smd > threshold:
            warnings.append(
                f"feature {row.feature!r} is imbalanced across treatment levels: max |SMD| "
                f"{row.max_abs_smd:.3f} > {threshold} at treatment {row.worst_level:.4g}; the treatment "
                f"is not independent of {row.feature!r}, so split on it or fit per value of it"
            )
    return warnings
