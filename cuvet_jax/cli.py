"""The `cuvet` command line: demo, fit, evaluate and budget-curve."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import warnings as warnings_module
from collections.abc import Sequence

import jax
import numpy as np

from . import datasets
from ._allocation import equalize
from ._power_law import PowerLaw
from .evaluation import budget_curve, evaluate, evaluate_mcuv, train_test_split
from .evaluation._evaluate import PAPER_BOUNDS
from ._validation import check_output_path
from .tree import CUVETree
from .tree._estimator import ExtrapolationWarning



class CommandError(Exception):
    """A user error the command line reports in one line with exit status 2."""


def _add_column_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="input table: .csv, .csv.gz or .parquet (defaults to the preset's file)")
    parser.add_argument(
        "--preset",
        choices=sorted(datasets.PRESETS),
        help="column mapping and treatment transformation of a known experiment",
    )
    parser.add_argument("--alpha", help="column of the treatment level (1.0 is the reference)")
    parser.add_argument("--value", help="column of the value outcome")
    parser.add_argument("--cost", help="column of the cost outcome")
    parser.add_argument("--features", help="comma-separated feature columns (default: every other numeric column)")
    parser.add_argument(
        "--where", action="append", default=[], metavar="COLUMN=VALUE",
        help="keep only rows whose feature or extra column equals VALUE (repeatable), for example "
        "--where risk=2 to fit within one risk band",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cuvet",
        description="Learn cost-aware treatment levels from randomized experiments with CUVET trees.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="fit CUVET on the synthetic three-bucket example and report")
    demo.add_argument("--rows", type=int, default=300_000, help="rows to generate (default 300000)")
    demo.add_argument("--seed", type=int, default=0, help="random seed of data and split (default 0)")
    demo.add_argument("--max-depth", type=int, default=1, help="depth of the trees (default 1)")

    fit = commands.add_parser("fit", help="fit a CUVET tree on a table and report test-split uplifts")
    _add_column_options(fit)
    fit.add_argument("--max-depth", type=int, default=3, help="deepest level of splits (default 3)")
    bounds = fit.add_mutually_exclusive_group()
    bounds.add_argument(
        "--bounds", type=float, nargs=2, metavar=("LO", "HI"), default=PAPER_BOUNDS,
        help="admissible range of alpha (default 0.5 1.5)",
    )
    bounds.add_argument("--unclipped", action="store_true", help="allow any alpha > 0")
    fit.add_argument(
        "--inadmissible", choices=("reject", "hold"), default="reject",
        help="rule for children whose power-law fit is not admissible (default reject)",
    )
    fit.add_argument("--test-size", type=float, default=0.5, help="fraction of rows held out (default 0.5)")
    fit.add_argument("--seed", type=int, default=0, help="seed of the train/test split (default 0)")
    fit.add_argument("--out", help="write the fitted model to this JSON file")

    evaluate = commands.add_parser("evaluate", help="evaluate a saved model on a table (mCUV, ILP, LP)")
    evaluate.add_argument("--model", required=True, help="model file written by `cuvet fit --out`")
    _add_column_options(evaluate)
    evaluate.add_argument(
        "--method", choices=("mcuv", "ilp", "lp", "all"), default="mcuv",
        help="how levels are assigned to leaves: continuous mCUV equalization, or observed levels by ILP or LP",
    )
    evaluate.add_argument("--bootstrap", type=int, default=0, metavar="N", help="bootstrap resamples for intervals (default 0)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")

    curve = commands.add_parser("budget-curve", help="optimal value of a saved model's leaves as the budget varies")
    curve.add_argument("--model", required=True, help="model file written by `cuvet fit --out`")
    curve.add_argument(
        "--ratios", type=float, nargs=3, metavar=("LOW", "HIGH", "COUNT"), default=(0.5, 1.5, 41),
        help="budgets as multiples of the reference cost: from LOW to HIGH in COUNT steps (default 0.5 1.5 41)",
    )
    curve.add_argument("--method", choices=("mcuv", "lp", "all"), default="all", help="allocation method (default all)")
    curve.add_argument("--plot", help="write the curve to this PNG file")
    curve.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return parser


def _load_experiment(args: argparse.Namespace) -> datasets.ExperimentData:
    data = _read_experiment(args)
    for condition in args.where:
        name, separator, text = condition.partition("=")
        if not separator:
            raise CommandError(f"--where {condition!r} is not of the form COLUMN=VALUE")
        if name in data.feature_names:
            column = data.X[:, data.feature_names.index(name)]
        elif name in data.extra:
            column = np.asarray(data.extra[name])
        else:
            raise CommandError(
                f"--where names {name!r}, which is neither a feature nor an extra column; "
                f"features: {list(data.feature_names)}, extra: {list(data.extra)}"
            )
        try:
            target = float(text)
            keep = np.asarray(column, dtype=np.float64) == target
        except ValueError:
            keep = np.asarray(column).astype(str) == text
        if not keep.any():
            raise CommandError(f"--where {condition} keeps no rows; check the column's values")
        data = data.subset(np.flatnonzero(keep))
        data = dataclasses.replace(data, description=f"{data.description}; rows with {name} = {text}")
    return data


def _read_experiment(args: argparse.Namespace) -> datasets.ExperimentData:
    if args.preset is not None:
        for option in ("alpha", "value", "cost", "features"):
            if getattr(args, option) is not None:
                raise CommandError(f"--{option} cannot be combined with --preset {args.preset}, which sets the columns")
        return datasets.get_preset(args.preset).load(args.data)
    missing = [f"--{option}" for option in ("data", "alpha", "value", "cost") if getattr(args, option) is None]
    if missing:
        raise CommandError(f"missing {', '.join(missing)}; name the input columns or use --preset")
    features = None if args.features is None else [c.strip() for c in args.features.split(",") if c.strip()]
    if features == []:
        raise CommandError("--features is empty; name at least one column, separated by commas")
    columns = None if features is None else [args.alpha, args.value, args.cost, *features]
    frame = datasets.read_table(args.data, columns)
    return datasets.experiment_from_frame(
        frame, alpha=args.alpha, value=args.value, cost=args.cost, features=features, description=str(args.data)
    )


def _percent(fraction) -> str:
    """Format a relative uplift as a signed percentage, printing values that round to zero as +0.0000%."""
    fraction = float(fraction)
    return f"{0.0 if abs(fraction) < 5e-7 else fraction:+.4%}"


def _match_features(data: datasets.ExperimentData, model: CUVETree) -> datasets.ExperimentData:
    """Reorder the data's feature columns to the model's order, or raise if the sets differ."""
    names = list(data.feature_names)
    if names == list(model.feature_names_):
        return data
    missing = [name for name in model.feature_names_ if name not in names]
    if missing:
        raise CommandError(
            f"the data lacks the model's features {missing} (data features: {names}); pass --features "
            f"{','.join(model.feature_names_)}"
        )
    order = [names.index(name) for name in model.feature_names_]
    return dataclasses.replace(data, X=data.X[:, order], feature_names=tuple(model.feature_names_))


def _uplift_dict(uplift) -> dict:
    return {"dv": float(uplift.dv), "dc": float(uplift.dc)}


def _model_report(model: CUVETree) -> dict:
    tree = model.tree_
    first = None
    if tree.feature[0] >= 0:
        first = {"feature": model.feature_names_[tree.feature[0]], "threshold": float(tree.threshold[0])}
    summary = model.leaf_summary()
    leaves = json.loads(summary.to_json(orient="records"))
    return {
        "first_split": first,
        "n_leaves": model.n_leaves_,
        "mu": tree.mu,
        "leaves": leaves,
        "tree_text": model.export_text(),
    }


def _print_leaves(model: CUVETree) -> None:
    summary = model.leaf_summary()
    print("leaf  rows      gamma    eta      alpha*   rule")
    for row in summary.itertuples():
        print(f"{row.leaf:<5d} {row.rows:<9d} {row.gamma:<8.4f} {row.eta:<8.4f} {row.alpha:<8.4f} {row.rule}")


def run_demo(args: argparse.Namespace) -> int:
    if args.rows < 100:
        raise CommandError(f"--rows must be at least 100, got {args.rows}")
    if args.seed < 0:
        raise CommandError(f"--seed must be a non-negative integer, got {args.seed}")
    start = time.perf_counter()
    data = datasets.make_threshold_example(args.rows, seed=args.seed)
    train, test = train_test_split(data.n_rows, 0.5, seed=args.seed)
    print(f"Synthetic example: {data.n_rows} rows, x ~ U(0, 1), alpha in {{1, 1.5}}, true thresholds 0.1 and 0.5.")
    print("Buckets 0.1 and 0.4 wide share mCUV(1) = 0.092, so only the threshold 0.5 changes the optimal levels.\n")

    _print_population_reference()
    for label, bounds in (("clipped to [0.5, 1.5]", PAPER_BOUNDS), ("unclipped", None)):
        model = CUVETree(max_depth=args.max_depth, bounds=bounds)
        with warnings_module.catch_warnings(record=True) as caught:
            warnings_module.simplefilter("always", ExtrapolationWarning)
            model.fit(
                data.X[train], data.alpha[train], data.value[train], data.cost[train], feature_names=data.feature_names
            )
        print(f"== CUVET, {label}, max_depth {args.max_depth} ==")
        print(model.export_text())
        for warning in caught:
            print(f"note: {warning.message}")
        if model.tree_.feature[0] >= 0:
            print(f"first split: x <= {model.tree_.threshold[0]:.4f}")
        _print_leaves(model)
        for split_name, rows in (("train", train), ("test", test)):
            uplift = evaluate_mcuv(model, data.X[rows], data.alpha[rows], data.value[rows], data.cost[rows])
            print(f"{split_name:>5}: dv = {_percent(uplift.dv)}   dc = {_percent(uplift.dc)}")
        print()
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0


def _print_population_reference() -> None:
    """Print the exact population-level optimum of the example's three buckets and of two splits."""
    from .datasets._threshold_example import BUCKET_PARAMETERS, THRESHOLDS

    share = np.diff(np.concatenate([[0.0], THRESHOLDS, [1.0]]))
    value_ref, cost_ref, gamma, eta = BUCKET_PARAMETERS.T
    value_ref, cost_ref = value_ref * share, cost_ref * share
    with jax.enable_x64(True):
        allocation = equalize(PowerLaw(value_ref, cost_ref, gamma, eta), cost_ref.sum())
        alpha = np.asarray(allocation.alpha)
        print("Population level (exact means, unclipped):")
        print(f"  three true buckets: mu = {float(allocation.mu):.4f}, alpha* = ({alpha[0]:.3f}, {alpha[1]:.3f}, {alpha[2]:.3f})")
        # The buckets share gamma = 1 and eta = 1.5, so merged buckets are power laws with summed totals.
        for threshold, groups in ((0.5, ([0, 1], [2])), (0.1, ([0], [1, 2]))):
            merged = PowerLaw(
                np.array([value_ref[g].sum() for g in groups]),
                np.array([cost_ref[g].sum() for g in groups]),
                np.ones(2),
                np.full(2, 1.5),
            )
            split = equalize(merged, cost_ref.sum())
            dv = float(split.value / value_ref.sum() - 1)
            a = np.asarray(split.alpha)
            print(f"  split at {threshold}: alpha* = ({a[0]:.3f}, {a[1]:.3f}), dv = {dv:+.2%} at equal cost")
    print()


def _check_fit_options(args: argparse.Namespace) -> None:
    """Check the options of `fit` before any data is read, with messages in the options' names."""
    if not args.unclipped:
        low, high = args.bounds
        if not 0 < low <= 1 <= high < float("inf"):
            raise CommandError(f"--bounds {low} {high} must satisfy 0 < LO <= 1 <= HI; use --unclipped for any alpha > 0")
    if not 0 < args.test_size < 1:
        raise CommandError(f"--test-size must be strictly between 0 and 1, got {args.test_size}")
    if args.seed < 0:
        raise CommandError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.max_depth < 0:
        raise CommandError(f"--max-depth must be a non-negative integer, got {args.max_depth}")
    if args.out:
        try:
            check_output_path(args.out)
        except ValueError as error:
            raise CommandError(f"--out: {error}") from None


def run_fit(args: argparse.Namespace) -> int:
    _check_fit_options(args)
    data = _load_experiment(args)
    train, test = train_test_split(data.n_rows, args.test_size, seed=args.seed)
    bounds = None if args.unclipped else tuple(args.bounds)
    model = CUVETree(max_depth=args.max_depth, bounds=bounds, inadmissible=args.inadmissible)
    start = time.perf_counter()
    with warnings_module.catch_warnings(record=True) as caught:
        warnings_module.simplefilter("always", ExtrapolationWarning)
        model.fit(
            data.X[train], data.alpha[train], data.value[train], data.cost[train], feature_names=data.feature_names
        )
    seconds = time.perf_counter() - start
    warnings = [str(w.message) for w in caught if issubclass(w.category, ExtrapolationWarning)]
    warnings += datasets.balance_warnings(datasets.balance_check(data.X, data.alpha, data.feature_names))
    uplifts = {
        name: evaluate_mcuv(model, data.X[rows], data.alpha[rows], data.value[rows], data.cost[rows])
        for name, rows in (("train", train), ("test", test))
    }
    if args.out:
        model.save(args.out)

    if args.json:
        report = {
            "data": data.description,
            "rows": {"train": int(len(train)), "test": int(len(test))},
            "treatment_levels": model.levels_.values.tolist(),
            "params": model.to_dict()["params"],
            **_model_report(model),
            "uplift": {name: _uplift_dict(u) for name, u in uplifts.items()},
            "warnings": warnings,
            "fit_seconds": seconds,
            "model_file": args.out,
        }
        print(json.dumps(report, indent=1))
        return 0

    print(data.description)
    print(f"rows: {len(train)} train, {len(test)} test; treatment levels {np.round(model.levels_.values, 4).tolist()}")
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(model.export_text())
    _print_leaves(model)
    for name, uplift in uplifts.items():
        print(f"{name:>5}: dv = {_percent(uplift.dv)}   dc = {_percent(uplift.dc)}   (mCUV equalization)")
    print(f"fit in {seconds:.2f} s" + (f"; model written to {args.out}" if args.out else ""))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    model = CUVETree.load(args.model)
    data = _match_features(_load_experiment(args), model)
    if args.bootstrap == 1 or args.bootstrap < 0:
        raise CommandError(f"--bootstrap must be 0 or at least 2, got {args.bootstrap}")
    methods = ("mcuv", "ilp", "lp") if args.method == "all" else (args.method,)
    results = evaluate(model, None, data, methods=methods, n_boot=args.bootstrap, seed=args.seed)
    if args.json:
        report = {"data": data.description, "rows": data.n_rows, "uplift": {m: r.as_dict() for m, r in results.items()}}
        print(json.dumps(report, indent=1))
        return 0
    print(f"{data.n_rows} rows; levels chosen on the model's training statistics")
    for method, result in results.items():
        line = f"{method:>5}: dv = {_percent(result.point.dv)}   dc = {_percent(result.point.dc)}"
        if result.dv is not None:
            line += (
                f"   bootstrap mean ± 1.96 sd over {args.bootstrap} resamples: "
                f"dv {_percent(result.dv.mean)} ± {result.dv.half_width:.4%}, "
                f"dc {_percent(result.dc.mean)} ± {result.dc.half_width:.4%}"
            )
        print(line)
    return 0


def run_budget_curve(args: argparse.Namespace) -> int:
    model = CUVETree.load(args.model)
    low, high, count = args.ratios
    if not (0 < low < high and count >= 2 and float(count).is_integer()):
        raise CommandError(f"--ratios needs 0 < LOW < HIGH and an integer COUNT >= 2, got {low} {high} {count}")
    ratios = np.linspace(low, high, int(count))
    methods = ("mcuv", "lp") if args.method == "all" else (args.method,)
    curves = [
        budget_curve(model.training_statistics_, model.levels_.values, ratios, method=m, bounds=model.bounds)
        for m in methods
    ]
    if args.plot:
        from .plotting import plot_budget_curve

        names = {"mcuv": "mCUV equalization", "lp": "LP over observed levels"}
        plot_budget_curve(curves, labels=[names[m] for m in methods], path=args.plot)
    if args.json:
        report = {
            c.method: {
                "budget_ratio": c.budget_ratio.tolist(),
                "dv": [float(x) if f else None for x, f in zip(c.dv, c.feasible)],
                "alpha": c.alpha.tolist(),
            }
            for c in curves
        }
        print(json.dumps(report, indent=1))
        return 0
    header = "budget/ref  " + "  ".join(f"dv {c.method:<6}" for c in curves)
    print(header)
    for i, ratio in enumerate(ratios):
        cells = "  ".join(f"{c.dv[i]:+9.4%}" if c.feasible[i] else f"{'infeasible':>9}" for c in curves)
        print(f"{ratio:10.3f}  {cells}")
    if args.plot:
        print(f"plot written to {args.plot}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"demo": run_demo, "fit": run_fit, "evaluate": run_evaluate, "budget-curve": run_budget_curve}
    try:
        return handlers[args.command](args)
    except (CommandError, ValueError, FileNotFoundError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"cuvet {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
