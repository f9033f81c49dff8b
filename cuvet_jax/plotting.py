"""Matplotlib figures of CUVET results: budget curves, criterion profiles, uplift bars, depth curves.

Every function builds a new Figure without touching pyplot's global state, so it works under the
Agg backend and in scripts without a display. Each returns the Figure and, when `path` is given,
also saves it there (PNG at 150 dpi unless the suffix names another format).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .evaluation import BudgetCurve

DPI = 150
"""Resolution of saved raster figures, dots per inch."""

METHOD_LABELS = {"mcuv": "mCUV equalization", "ilp": "ILP", "lp": "LP"}
"""Display name of each evaluation method."""

METRIC_LABELS = {"dv": "value uplift Δv (%)", "dc": "cost uplift Δc (%)"}
"""Axis label of each relative uplift."""


MARKERS = ("o", "s", "^", "D", "v", "P", "X")
"""Marker per model in line plots, so that coinciding lines stay distinguishable."""

OFF_SCALE_FACTOR = 10.0
"""A bar or point whose size exceeds this many times the median in its panel is drawn cut at the
axis with its number written there, so that the other bars and points stay readable."""

DEPTH_SHIFT = 0.03
"""Horizontal offset between models in the depth plot, in units of depth."""


def _save(figure: Figure, path: str | os.PathLike | None) -> Figure:
    if path is not None:
        figure.savefig(os.fspath(path), dpi=DPI, bbox_inches="tight")
    return figure


ROUNDOFF = 1e-9
"""Relative uplifts smaller than this in magnitude are floating-point round-off and plot as 0."""


def _percent(fractions) -> np.ndarray:
    """Convert relative uplifts to percent, with round-off residues set to exactly 0."""
    fractions = np.asarray(fractions, dtype=np.float64)
    return 100 * np.where(np.abs(fractions) < ROUNDOFF, 0.0, fractions)


def _records(rows) -> list[dict]:
    """Return table rows as a list of dicts from a pandas DataFrame or a sequence of mappings."""
    if hasattr(rows, "to_dict"):
        return rows.to_dict(orient="records")
    return [dict(row) for row in rows]


def _ordered_unique(items: Sequence) -> list:
    return list(dict.fromkeys(items))


def plot_budget_curve(
    curves: Sequence[BudgetCurve],
    labels: Sequence[str] | None = None,
    path: str | os.PathLike | None = None,
) -> Figure:
    """Plot value uplift against budget for each curve, and the first curve's levels per bucket.

    Left panel: dv in percent against budget / reference cost, one line per curve. Budgets the
    allocation cannot meet (outside the bounds' reach) are left out of the line. Right panel: the
    first curve's alpha per bucket (the expected level for an "lp" curve) against the same axis.

    Args:
        curves: results of `budget_curve` on the same budget ratios or on different ones.
        labels: legend entry per curve; by default the curve's method.
        path: file to save the figure to.
    """
    if len(curves) == 0:
        raise ValueError("curves is empty; pass at least one BudgetCurve")
    if labels is None:
        labels = [METHOD_LABELS.get(curve.method, curve.method) for curve in curves]
    if len(labels) != len(curves):
        raise ValueError(f"{len(labels)} labels for {len(curves)} curves")

    figure = Figure(figsize=(9, 4), layout="constrained")
    value_axis, alpha_axis = figure.subplots(1, 2)
    for curve, label in zip(curves, labels):
        dv = np.where(curve.feasible, _percent(curve.dv), np.nan)
        value_axis.plot(curve.budget_ratio, dv, marker=".", label=label)
    value_axis.axhline(0.0, color="0.6", linewidth=0.8)
    value_axis.axvline(1.0, color="0.6", linewidth=0.8, linestyle=":")
    value_axis.set_xlabel("budget / reference cost")
    value_axis.set_ylabel("value uplift Δv vs reference (%)")
    value_axis.set_title("Optimal value at each budget")
    value_axis.legend(fontsize="small")
    value_axis.grid(alpha=0.3)

    first = curves[0]
    alpha = np.asarray(first.alpha, dtype=np.float64)
    if alpha.ndim == 1:
        alpha = alpha[:, None]
    alpha = np.where(np.asarray(first.feasible)[:, None], alpha, np.nan)
    for bucket in range(alpha.shape[1]):
        alpha_axis.plot(first.budget_ratio, alpha[:, bucket], label=f"bucket {bucket}")
    alpha_axis.axvline(1.0, color="0.6", linewidth=0.8, linestyle=":")
    alpha_axis.set_xlabel("budget / reference cost")
    alpha_axis.set_ylabel("treatment level α (1 = reference)")
    alpha_axis.set_title(f"Levels per bucket\n({labels[0]})")
    if alpha.shape[1] <= 16:
        alpha_axis.legend(
            fontsize="small", loc="center left", bbox_to_anchor=(1.02, 0.5), ncols=2 if alpha.shape[1] > 8 else 1
        )
    alpha_axis.grid(alpha=0.3)
    return _save(figure, path)


def plot_criterion_profile(
    thresholds: np.ndarray,
    criterion: np.ndarray,
    alpha_left: np.ndarray,
    alpha_right: np.ndarray,
    path: str | os.PathLike | None = None,
    true_thresholds: Sequence[float] | None = None,
) -> Figure:
    """Plot the root-split criterion and the children's levels alpha* against the threshold.

    Args:
        thresholds: candidate thresholds in feature units, (T,).
        criterion: criterion relative to the root's reference value, v_L + v_R over v_root(1)
            minus 1, as a fraction (plotted in percent), (T,); NaN hides a candidate.
        alpha_left, alpha_right: the levels of the rows at or below and above each threshold, (T,).
        path: file to save the figure to.
        true_thresholds: thresholds of the data-generating buckets, drawn as dashed lines.
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    gain = _percent(criterion)
    figure = Figure(figsize=(7, 5), layout="constrained")
    criterion_axis, alpha_axis = figure.subplots(2, 1, sharex=True)

    criterion_axis.plot(thresholds, gain, color="C0", label="CUVET criterion")
    if np.isfinite(gain).any():
        best = int(np.nanargmax(gain))
        criterion_axis.plot(
            thresholds[best], gain[best], marker="o", color="C3", linestyle="none",
            label=f"best threshold {thresholds[best]:.3g}",
        )
    criterion_axis.set_ylabel("value gain at iso-cost (%)")
    criterion_axis.set_title("Root split: criterion and α* against the threshold")

    alpha_axis.plot(thresholds, alpha_left, color="C1", label="α* left (x ≤ t)")
    alpha_axis.plot(thresholds, alpha_right, color="C2", label="α* right (x > t)")
    alpha_axis.axhline(1.0, color="0.6", linewidth=0.8)
    alpha_axis.set_ylabel("treatment level α*")
    alpha_axis.set_xlabel("threshold t on x")

    for axis in (criterion_axis, alpha_axis):
        for index, threshold in enumerate(true_thresholds or ()):
            axis.axvline(
                threshold, color="0.4", linestyle="--", linewidth=0.9,
                label="true thresholds" if index == 0 else None,
            )
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
    return _save(figure, path)


def _off_scale(heights: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Mark bars whose extent |height| + error exceeds OFF_SCALE_FACTOR times the panel's median extent."""
    extent = np.abs(np.nan_to_num(heights)) + errors
    positive = extent[extent > 0]
    if len(positive) < 2:
        return np.zeros(len(extent), dtype=bool)
    off = extent > OFF_SCALE_FACTOR * np.median(positive)
    return off if not off.all() else np.zeros(len(extent), dtype=bool)


def _draw_bars(axis, positions: np.ndarray, heights: np.ndarray, errors: np.ndarray, colors: Sequence[str]) -> bool:
    """Draw bars with error bars, cutting bars far off the panel's scale; return whether any was cut."""
    if np.all(np.nan_to_num(heights) == 0) and np.all(errors == 0):
        axis.text(0.5, 0.75, "every value is 0", transform=axis.transAxes, ha="center", fontsize="small", color="0.3")
    off = _off_scale(heights, errors)
    if not off.any():
        axis.bar(positions, heights, yerr=errors, color=colors, capsize=3, width=0.7)
        return False
    kept_low = np.nanmin(np.append(heights[~off] - errors[~off], 0.0))
    kept_high = np.nanmax(np.append(heights[~off] + errors[~off], 0.0))
    padding = 0.25 * max(kept_high - kept_low, 1e-12)
    low, high = kept_low - padding, kept_high + padding
    axis.bar(positions[~off], heights[~off], yerr=errors[~off], color=np.asarray(colors)[~off], capsize=3, width=0.7)
    for position, height, error, color in zip(positions[off], heights[off], errors[off], np.asarray(colors)[off]):
        edge = high if height >= 0 else low
        axis.bar([position], [edge], color=color, width=0.7, hatch="//", edgecolor="white")
        axis.text(
            position, 0.5 * edge, f"{height:.3g} ± {error:.3g} %", rotation=90, ha="center", va="center",
            fontsize="x-small", color="black", bbox={"facecolor": "white", "alpha": 0.8, "linewidth": 0},
        )
    axis.set_ylim(low, high)
    return True


def _limit_to_scale(axis) -> None:
    """Limit a line panel's y-axis to its on-scale points and label the off-scale ones at the edge.

    A point is off scale when |y| exceeds OFF_SCALE_FACTOR times the median |y| of the panel's
    points; its line leaves the panel, and its value is written at the edge it leaves through.
    """
    points = [(line, x, y) for line in axis.get_lines() for x, y in zip(line.get_xdata(), line.get_ydata())]
    values = np.asarray([y for _, _, y in points], dtype=np.float64)
    finite = np.isfinite(values)
    if finite.sum() < 2:
        return
    magnitude = np.abs(values[finite])
    scale = np.median(magnitude[magnitude > 0]) if (magnitude > 0).any() else 0.0
    off = np.zeros(len(values), dtype=bool)
    off[finite] = magnitude > OFF_SCALE_FACTOR * scale
    if not off.any() or off[finite].all():
        return
    kept = values[finite & ~off]
    low, high = min(kept.min(), 0.0), max(kept.max(), 0.0)
    padding = 0.15 * max(high - low, 1e-12)
    low, high = low - padding, high + padding
    axis.set_ylim(low, high)
    for (line, x, y), is_off in zip(points, off):
        if is_off:
            edge, align = (high, "top") if y > 0 else (low, "bottom")
            axis.annotate(
                f"{y:.3g} %", xy=(x, edge), ha="center", va=align, fontsize="x-small", color=line.get_color(),
                bbox={"facecolor": "white", "alpha": 0.8, "linewidth": 0},
            )


def plot_uplift_bars(table, path: str | os.PathLike | None = None) -> Figure:
    """Draw bars of dv and dc per model for each evaluation method, with 1.96-sd error bars.

    Args:
        table: a pandas DataFrame or a sequence of mappings with keys method ("mcuv", "ilp",
            "lp"), metric ("dv" or "dc"), model, mean and half_width, as fractions. A NaN
            half_width draws no error bar and a NaN mean draws no bar. Models keep the order of
            their first row. A bar far off its panel's scale (see OFF_SCALE_FACTOR) is cut at the
            axis, hatched and labelled with its mean and half-width.
        path: file to save the figure to.
    """
    rows = _records(table)
    if not rows:
        raise ValueError("table has no rows; pass rows with method, metric, model, mean and half_width")
    methods = _ordered_unique(row["method"] for row in rows)
    models = _ordered_unique(row["model"] for row in rows)
    metrics = [metric for metric in ("dv", "dc") if any(row["metric"] == metric for row in rows)]
    cells = {(row["method"], row["metric"], row["model"]): row for row in rows}

    figure = Figure(figsize=(3.0 * len(methods) + 1.5, 5.2), layout="constrained")
    axes = np.asarray(figure.subplots(len(metrics), len(methods), squeeze=False))
    positions = np.arange(len(models))
    colors = [f"C{index % 10}" for index in range(len(models))]
    any_cut = False
    for column, method in enumerate(methods):
        for line, metric in enumerate(metrics):
            axis = axes[line, column]
            heights, errors = [], []
            for model in models:
                row = cells.get((method, metric, model), {})
                heights.append(row.get("mean", np.nan))
                errors.append(row.get("half_width", np.nan))
            heights = _percent(heights)
            errors = np.nan_to_num(_percent(errors), nan=0.0)
            any_cut |= _draw_bars(axis, positions, heights, errors, colors)
            axis.axhline(0.0, color="0.3", linewidth=0.8)
            axis.set_xticks([])
            axis.grid(axis="y", alpha=0.3)
            if line == 0:
                axis.set_title(METHOD_LABELS.get(method, method))
            if line == len(metrics) - 1:
                axis.set_xlabel("model (colours in the legend)")
            if column == 0:
                axis.set_ylabel(METRIC_LABELS.get(metric, metric))
    handles = [Patch(color=color, label=model) for color, model in zip(colors, models)]
    figure.legend(handles=handles, loc="outside lower center", ncols=min(len(models), 5), fontsize="small")
    title = "Relative uplifts vs reference (bars: bootstrap mean, whiskers: ±1.96 sd"
    figure.suptitle(title + ("; hatched: off scale, cut)" if any_cut else ")"))
    return _save(figure, path)


def plot_depth_curve(rows, path: str | os.PathLike | None = None) -> Figure:
    """Plot dv and dc against max_depth, one line per model, one row of panels per method.

    Args:
        rows: a pandas DataFrame or a sequence of mappings with keys model, depth, dv and dc
            (fractions), and optionally method and split. Each method gets one row of panels, in
            order of first appearance, and rows without a method share one row of panels. The
            split is named in the title.
        path: file to save the figure to.
    """
    records = _records(rows)
    if not records:
        raise ValueError("rows is empty; pass rows with model, depth, dv and dc")
    methods = _ordered_unique(record.get("method", "") for record in records)
    models = _ordered_unique(record["model"] for record in records)
    splits = _ordered_unique(record["split"] for record in records if "split" in record)

    figure = Figure(figsize=(8, 2.4 * len(methods) + 1.0), layout="constrained")
    axes = np.asarray(figure.subplots(len(methods), 2, squeeze=False, sharex=True))
    for line, method in enumerate(methods):
        for column, metric in enumerate(("dv", "dc")):
            axis = axes[line, column]
            for index, model in enumerate(models):
                points = sorted(
                    (record["depth"], record[metric])
                    for record in records
                    if record["model"] == model and record.get("method", "") == method
                )
                if not points:
                    continue
                depth, uplift = np.asarray(points, dtype=np.float64).T
                # A small horizontal shift per model keeps coinciding lines visible.
                shift = (index - (len(models) - 1) / 2) * DEPTH_SHIFT
                axis.plot(
                    depth + shift, _percent(uplift), marker=MARKERS[index % len(MARKERS)],
                    color=f"C{index % 10}", label=model,
                )
            _limit_to_scale(axis)
            axis.axhline(0.0, color="0.6", linewidth=0.8)
            axis.grid(alpha=0.3)
            if method:
                axis.set_title(METHOD_LABELS.get(method, method), fontsize="medium")
            axis.set_ylabel(METRIC_LABELS[metric])
            if line == len(methods) - 1:
                axis.set_xlabel("max_depth")
    depths = sorted({int(record["depth"]) for record in records})
    axes[-1, 0].set_xticks(depths)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(models), 5), fontsize="small")
    split_text = f" ({', '.join(splits)} split)" if splits else ""
    figure.suptitle(f"Relative uplifts vs reference by tree depth{split_text}")
    return _save(figure, path)

