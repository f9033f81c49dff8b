"""The experiment protocol shared by every dataset: fit, choose the depth, evaluate, write, plot.

Protocol, per dataset:

1. Split the rows into train, validation (unless the dataset has none) and test.
2. Fit every model (CF-Het, CF-MSE, DR-PolicyTree, CUVET clipped, CUVET unclipped) on train at
   each candidate max_depth, and evaluate it on the validation split (the test split when there is
   none) by mCUV equalization, ILP and LP: `depth.csv` and `depth.png`.
3. Choose max_depth for CUVET clipped by its validation mCUV result, with the rule of
   `cuvet_jax.select_max_depth` (dc <= 0 first, then the largest dv, then the smaller depth), and
   use that depth for every model.
4. Evaluate the chosen models on the test split (and on train where asked) with bootstrap
   resamples of that split: `table.csv`, `table.md`, `uplift_bars.png`.
5. Plot CUVET clipped's budget curves (mCUV and LP, training statistics): `budget_curve.png`.

Every model's leaves are evaluated the same way, with the treatment levels of the training
split, so the baselines' own level choices (DR-PolicyTree's) do not enter the tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import cuvet_jax  # noqa: E402
from cuvet_jax import plotting  # noqa: E402
from cuvet_jax.datasets import ExperimentData  # noqa: E402
from cuvet_jax.tree._profile import criterion_profile  # noqa: E402

LOGGER = logging.getLogger("experiments")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
"""Default parent folder of the per-dataset result folders."""

PAPER_BOUNDS = (0.5, 1.5)
"""Admissible range of alpha of the clipped CUVET variant."""

DEPTHS = (1, 2, 3)
"""Candidate values of max_depth."""

METHODS = ("mcuv", "ilp", "lp")
"""Evaluation methods, in table order."""

METHOD_NAMES = {"mcuv": "mCUV eq.", "ilp": "ILP", "lp": "LP"}
"""Row label of each evaluation method in the Markdown table."""

CUVET_CLIPPED = "CUVET clipped"
CUVET_UNCLIPPED = "CUVET unclipped"
BASELINE_NAMES = ("CF-Het", "CF-MSE", "DR-PolicyTree")
MODEL_NAMES = (*BASELINE_NAMES, CUVET_CLIPPED, CUVET_UNCLIPPED)
"""Table columns, in order."""

VALIDATION_SIZE = 0.2
TEST_SIZE = 0.4
"""Fractions of all rows in the validation and test splits of a dataset without a split flag."""

BUDGET_RATIOS = np.linspace(0.5, 1.5, 41)
"""Budgets of the budget-curve figure, as multiples of the reference cost."""

ModelFactory = Callable[[int], object]


@dataclasses.dataclass(frozen=True)
class Splits:
    """Rows of one experiment cut into parts; `validation` is None when depth is chosen elsewhere."""

    train: ExperimentData
    test: ExperimentData
    validation: ExperimentData | None = None

    def part(self, name: str) -> ExperimentData:
        """Return the part called "train", "validation" or "test"."""
        part = getattr(self, name)
        if part is None:
            raise ValueError(f"this experiment has no {name} split")
        return part


def split_at_random(data: ExperimentData, seed: int) -> Splits:
    """Split rows at random into train, validation (VALIDATION_SIZE) and test (TEST_SIZE)."""
    train, validation, test = cuvet_jax.train_validation_test_split(
        data.n_rows, VALIDATION_SIZE, TEST_SIZE, seed=seed
    )
    return Splits(train=data.subset(train), validation=data.subset(validation), test=data.subset(test))


def build_parser(description: str, *, default_rows: int | None = None, data_option: bool = False) -> argparse.ArgumentParser:
    """Return the command-line parser shared by the experiments.

    Args:
        description: the experiment's one-line description.
        default_rows: default of --rows for generated data; None leaves the option out.
        data_option: whether to offer --data (a table file or data folder of a real dataset).
    """
    parser = argparse.ArgumentParser(description=description)
    if default_rows is not None:
        parser.add_argument("--rows", type=int, default=default_rows, help=f"rows to generate (default {default_rows})")
    if data_option:
        parser.add_argument(
            "--data", help="table file or data folder (default: $CUVET_DATA_DIR, else shared/data beside the repository)"
        )
    parser.add_argument(
        "--n-boot", type=bootstrap_count, default=10, help="bootstrap resamples of the reported splits (default 10; 0 for none)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of data, splits, bootstrap and baselines (default 0)")
    parser.add_argument("--out", help="output folder (default experiments/results/<dataset>)")
    parser.add_argument("--no-baselines", action="store_true", help="fit only the two CUVET variants")
    parser.add_argument("--depth", type=int, help="fix max_depth instead of choosing it on the validation split")
    parser.add_argument(
        "--depths", default=",".join(map(str, DEPTHS)),
        help="comma-separated max_depth values of the depth curve and the choice (default 1,2,3)",
    )
    return parser


def bootstrap_count(text: str) -> int:
    """Parse --n-boot: 0 (no bootstrap) or at least 2 resamples, since one resample has no spread."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if count == 1 or count < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or at least 2, got {count}")
    return count


def parse_depths(text: str) -> tuple[int, ...]:
    """Parse a comma-separated list of positive depths."""
    try:
        depths = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise SystemExit(f"--depths must be comma-separated integers, got {text!r}") from None
    if not depths or depths[0] < 1:
        raise SystemExit(f"--depths must list depths of at least 1, got {text!r}")
    return depths


def configure_logging() -> None:
    """Send progress messages of the experiments to stderr, one line each."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")


def model_factories(*, include_baselines: bool, seed: int) -> dict[str, ModelFactory]:
    """Return depth -> unfitted model for each model, CUVET last; baselines need EconML."""
    factories: dict[str, ModelFactory] = {}
    if include_baselines:
        try:
            from cuvet_jax.baselines import CausalForestTree, DRPolicyTreeBaseline

            CausalForestTree(criterion="het", max_depth=1)
        except ImportError as error:
            print(f"note: EconML is not available ({error}); the baseline columns are left out")
        else:
            factories["CF-Het"] = lambda depth: CausalForestTree(criterion="het", max_depth=depth, random_state=seed)
            factories["CF-MSE"] = lambda depth: CausalForestTree(criterion="mse", max_depth=depth, random_state=seed)
            factories["DR-PolicyTree"] = lambda depth: DRPolicyTreeBaseline(max_depth=depth, random_state=seed)
    factories[CUVET_CLIPPED] = lambda depth: cuvet_jax.CUVETree(max_depth=depth, bounds=PAPER_BOUNDS, random_state=seed)
    factories[CUVET_UNCLIPPED] = lambda depth: cuvet_jax.CUVETree(max_depth=depth, bounds=None, random_state=seed)
    return factories


def fit_model(name: str, factory: ModelFactory, depth: int, train: ExperimentData):
    """Fit one model on the training rows; return None (and print why) when the fit raises ValueError."""
    started = time.perf_counter()
    model = factory(depth)
    try:
        if isinstance(model, cuvet_jax.CUVETree):
            model.fit(train.X, train.alpha, train.value, train.cost, feature_names=train.feature_names)
        else:
            model.fit(train.X, train.alpha, train.value, train.cost)
    except ValueError as error:
        print(f"note: {name} at max_depth {depth} failed to fit and is left out: {error}")
        return None
    LOGGER.info("fitted %s, max_depth %d: %d leaves in %.1f s", name, depth, model.n_leaves_, time.perf_counter() - started)
    return model


def evaluate_model(
    model,
    train: ExperimentData,
    evaluation: ExperimentData,
    levels: cuvet_jax.TreatmentLevels,
    *,
    n_boot: int,
    seed: int,
) -> dict[str, cuvet_jax.Evaluation | None]:
    """Evaluate one partition by each method; a method that raises ValueError maps to None."""
    results: dict[str, cuvet_jax.Evaluation | None] = {}
    for method in METHODS:
        try:
            results[method] = cuvet_jax.evaluate(
                model, train, evaluation, methods=(method,), levels=levels, n_boot=n_boot, seed=seed
            )[method]
        except ValueError as error:
            print(f"note: {method} evaluation failed and is left empty: {error}")
            results[method] = None
    return results


def first_split(model, feature_names: Sequence[str]) -> str:
    """Describe the root split of a fitted tree as 'feature <= threshold', or 'none' for a stump."""
    if isinstance(model, cuvet_jax.CUVETree):
        feature, threshold = int(model.tree_.feature[0]), float(model.tree_.threshold[0])
        return "none" if feature < 0 else f"{feature_names[feature]} <= {threshold:.4g}"
    if hasattr(model, "first_split_"):
        split = model.first_split_
    else:
        tree = model.policy_.policy_model_.tree_
        split = None if tree.children_left[0] < 0 else (int(tree.feature[0]), float(tree.threshold[0]))
    return "none" if split is None else f"{feature_names[split[0]]} <= {split[1]:.4g}"


def depth_curve(
    factories: dict[str, ModelFactory],
    splits: Splits,
    depth_split: str,
    depths: Sequence[int],
    levels: cuvet_jax.TreatmentLevels,
) -> tuple[list[dict], dict[tuple[str, int], object]]:
    """Fit every model at every depth on train and evaluate it (no bootstrap) on `depth_split`.

    Returns:
        (rows with model, depth, method, split, dv, dc, n_leaves; fitted models by (name, depth)).
    """
    rows, fitted = [], {}
    evaluation = splits.part(depth_split)
    for name, factory in factories.items():
        for depth in depths:
            model = fit_model(name, factory, depth, splits.train)
            if model is None:
                continue
            fitted[name, depth] = model
            for method, result in evaluate_model(model, splits.train, evaluation, levels, n_boot=0, seed=0).items():
                if result is None:
                    continue
                rows.append({
                    "model": name, "depth": depth, "method": method, "split": depth_split,
                    "dv": result.point.dv, "dc": result.point.dc, "n_leaves": model.n_leaves_,
                })
    return rows, fitted


def choose_depth(depth_rows: Sequence[dict], model: str = CUVET_CLIPPED, method: str = "mcuv") -> int:
    """Pick max_depth as `cuvet_jax.select_max_depth` does: dc <= 0 first, then largest dv, then smaller depth."""
    candidates = [row for row in depth_rows if row["model"] == model and row["method"] == method]
    if not candidates:
        raise RuntimeError(f"{model} has no {method} result at any depth, so no depth can be chosen")
    best = max(candidates, key=lambda row: (row["dc"] <= 0, row["dv"], -row["depth"]))
    return int(best["depth"])


def table_rows(model_name: str, split: str, depth: int, n_leaves: int, results: dict) -> list[dict]:
    """Flatten one model's evaluations on one split into long-format table rows."""
    rows = []
    for method in METHODS:
        result = results.get(method)
        for metric in ("dv", "dc"):
            row = {
                "split": split, "method": method, "metric": metric, "model": model_name,
                "point": np.nan, "mean": np.nan, "half_width": np.nan, "depth": depth, "n_leaves": n_leaves,
            }
            if result is not None:
                row["point"] = getattr(result.point, metric)
                interval = getattr(result, metric)
                if interval is not None:
                    row["mean"], row["half_width"] = interval.mean, interval.half_width
            rows.append(row)
    return rows


def format_cell(row: pd.Series) -> str:
    """Render one table cell: 'mean ± half-width (point)', or the point alone without bootstrap."""
    if not np.isfinite(row["point"]):
        return "n/a"
    if not np.isfinite(row["mean"]):
        return f"{row['point']:.4f}"
    return f"{row['mean']:.4f} ± {row['half_width']:.4f} ({row['point']:.4f})"


def markdown_table(table: pd.DataFrame, split: str) -> str:
    """Render the rows of one split as a Markdown table: evaluation x metric by model."""
    part = table[table["split"] == split]
    models = [name for name in MODEL_NAMES if name in set(part["model"])]
    lines = [
        "| Evaluation | Metric | " + " | ".join(models) + " |",
        "|---|---|" + "---|" * len(models),
    ]
    for method in METHODS:
        for metric in ("dv", "dc"):
            cells = []
            for model in models:
                match = part[(part["method"] == method) & (part["metric"] == metric) & (part["model"] == model)]
                cells.append(format_cell(match.iloc[0]) if len(match) else "n/a")
            label = METHOD_NAMES[method] if metric == "dv" else ""
            lines.append(f"| {label} | Δ{metric[1]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_markdown(
    path: Path,
    title: str,
    table: pd.DataFrame,
    splits: Sequence[str],
    details: Sequence[str],
    n_boot: int,
) -> str:
    """Write table.md: a heading, the protocol details and one Markdown table per reported split."""
    cell_note = (
        f"Cells: bootstrap mean ± 1.96 sd over {n_boot} resamples of the split (point value on the whole split)."
        if n_boot else "Cells: point value on the whole split (no bootstrap)."
    )
    parts = [f"# {title}", "", *[f"- {line}" for line in details], "", cell_note, ""]
    for split in splits:
        parts += [f"## {split.capitalize()} split", "", markdown_table(table, split), ""]
    text = "\n".join(parts)
    path.write_text(text, encoding="utf-8")
    return text


def plot_budget_curves(model: cuvet_jax.CUVETree, path: Path) -> None:
    """Plot the mCUV and LP budget curves of a CUVET tree from its training statistics."""
    curves, labels = [], []
    for method, label in (("mcuv", "mCUV equalization"), ("lp", "LP over observed levels")):
        try:
            curves.append(cuvet_jax.budget_curve(
                model.training_statistics_, model.levels_.values, BUDGET_RATIOS, method=method, bounds=model.bounds,
            ))
            labels.append(label)
        except ValueError as error:
            print(f"note: the {method} budget curve failed and is left out: {error}")
    if curves:
        plotting.plot_budget_curve(curves, labels=[f"{CUVET_CLIPPED}, {label}" for label in labels], path=path)


def plot_profile(data: ExperimentData, path: Path, true_thresholds: Sequence[float] | None) -> dict:
    """Plot the root criterion profile of the first feature and return its best threshold and gain."""
    profile = criterion_profile(data.X[:, 0], data.alpha, data.value, data.cost, bounds=PAPER_BOUNDS)
    gain = np.where(profile.valid, profile.relative_gain, np.nan)
    plotting.plot_criterion_profile(
        profile.thresholds, gain, profile.alpha_left, profile.alpha_right, path=path, true_thresholds=true_thresholds
    )
    best = int(np.nanargmax(gain))
    return {"best_threshold": float(profile.thresholds[best]), "best_gain": float(gain[best])}


def run_experiment(
    name: str,
    title: str,
    splits: Splits,
    args: argparse.Namespace,
    *,
    description: str,
    fixed_depth: int | None = None,
    report_splits: Sequence[str] = ("test",),
    profile_thresholds: Sequence[float] | None = None,
    profile: bool = False,
) -> pd.DataFrame:
    """Run the protocol of the module docstring on prepared splits and write every output.

    Args:
        name: folder name of the dataset under experiments/results.
        title: heading of table.md.
        splits: the rows, already split.
        args: parsed options of `build_parser`.
        description: where the rows come from, for table.md and summary.json.
        fixed_depth: max_depth to use when --depth is not given; None chooses it on validation.
        report_splits: splits evaluated with bootstrap for the table, "test" always last.
        profile_thresholds: true thresholds drawn on the criterion profile.
        profile: whether to plot the root criterion profile of the first feature on train.

    Returns:
        The long-format table (one row per split, method, metric and model).
    """
    started = time.perf_counter()
    out = Path(args.out) if args.out else RESULTS_DIR / name
    out.mkdir(parents=True, exist_ok=True)
    depths = parse_depths(args.depths)
    train = splits.train
    levels = cuvet_jax.discretize_treatment(train.alpha)
    factories = model_factories(include_baselines=not args.no_baselines, seed=args.seed)
    LOGGER.info("%s: %d training rows, levels %s", name, train.n_rows, np.round(levels.values, 4).tolist())

    depth_split = "validation" if splits.validation is not None else "test"
    depth_rows, fitted = depth_curve(factories, splits, depth_split, depths, levels)
    pd.DataFrame(depth_rows).to_csv(out / "depth.csv", index=False)
    if depth_rows:
        plotting.plot_depth_curve(depth_rows, path=out / "depth.png")

    if args.depth is not None:
        depth, depth_rule = args.depth, "fixed by --depth"
    elif fixed_depth is not None:
        depth, depth_rule = fixed_depth, "fixed by the experiment"
    else:
        depth = choose_depth(depth_rows)
        depth_rule = f"chosen on the {depth_split} split by {CUVET_CLIPPED}'s mCUV result among {list(depths)}"

    models = {}
    for model_name, factory in factories.items():
        model = fitted.get((model_name, depth))
        if model is None:
            model = fit_model(model_name, factory, depth, train)
        if model is not None:
            models[model_name] = model

    rows = []
    for split in report_splits:
        for model_name, model in models.items():
            results = evaluate_model(model, train, splits.part(split), levels, n_boot=args.n_boot, seed=args.seed)
            rows += table_rows(model_name, split, depth, model.n_leaves_, results)
    table = pd.DataFrame(rows)
    table.to_csv(out / "table.csv", index=False)

    test_rows = table[table["split"] == "test"].copy()
    if not args.n_boot:
        test_rows["mean"] = test_rows["point"]
    plotting.plot_uplift_bars(test_rows, path=out / "uplift_bars.png")
    if CUVET_CLIPPED in models:
        plot_budget_curves(models[CUVET_CLIPPED], out / "budget_curve.png")
    summary = {"dataset": name, "description": description, "max_depth": depth, "depth_rule": depth_rule}
    if profile:
        summary["criterion_profile"] = plot_profile(train, out / "criterion_profile.png", profile_thresholds)

    feature_names = train.feature_names
    summary["first_split"] = {model_name: first_split(model, feature_names) for model_name, model in models.items()}
    summary["n_leaves"] = {model_name: model.n_leaves_ for model_name, model in models.items()}
    if CUVET_CLIPPED in models:
        (out / "cuvet_clipped_tree.txt").write_text(models[CUVET_CLIPPED].export_text() + "\n", encoding="utf-8")
    summary["rows"] = {split: splits.part(split).n_rows for split in ("train", "validation", "test") if getattr(splits, split) is not None}
    summary["wall_seconds"] = round(time.perf_counter() - started, 1)
    summary["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}"
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")

    details = [
        description,
        "Rows: " + ", ".join(f"{split} {count}" for split, count in summary["rows"].items()),
        f"max_depth {depth}, {depth_rule}; the same depth for every model",
        "Leaves: " + ", ".join(f"{model_name} {count}" for model_name, count in summary["n_leaves"].items()),
        "First split: " + ", ".join(f"{model_name} `{split}`" for model_name, split in summary["first_split"].items()),
    ]
    if profile:
        details.append(
            f"Root criterion profile of the first feature (clipped): best threshold "
            f"{summary['criterion_profile']['best_threshold']:.4g}, value gain "
            f"{summary['criterion_profile']['best_gain']:.4%} at iso-cost"
        )
    text = write_markdown(out / "table.md", title, table, report_splits, details, args.n_boot)
    LOGGER.info("%s: wrote %s in %.1f s", name, out, summary["wall_seconds"])
    print(text)
    return table
