"""Run every experiment in turn with shared options (each writes experiments/results/<dataset>/).

Run: python -m experiments.all [--n-boot 10] [--seed 0] [--no-baselines] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

from . import karlan_list, karlan_zinman, policy_schema, synthetic
from ._common import bootstrap_count

EXPERIMENTS = {
    synthetic.NAME: synthetic.main,
    policy_schema.NAME: policy_schema.main,
    karlan_list.NAME: karlan_list.main,
    karlan_zinman.NAME: karlan_zinman.main,
}
"""Experiment entry points by result folder name, in run order."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected experiments at their default sizes and print each one's wall time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n-boot", type=bootstrap_count, default=10, help="bootstrap resamples of the reported splits (default 10; 0 for none)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of data, splits, bootstrap and baselines (default 0)")
    parser.add_argument("--no-baselines", action="store_true", help="fit only the two CUVET variants")
    parser.add_argument("--out", help="parent folder of the per-dataset result folders (default experiments/results)")
    parser.add_argument(
        "--only", default=",".join(EXPERIMENTS), help=f"comma-separated experiments to run (default {','.join(EXPERIMENTS)})"
    )
    args = parser.parse_args(argv)
    selected = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(EXPERIMENTS))
    if unknown:
        parser.error(f"unknown experiments {unknown}; choose from {list(EXPERIMENTS)}")

    wall_times = {}
    for name in selected:
        options = ["--n-boot", str(args.n_boot), "--seed", str(args.seed)]
        if args.no_baselines:
            options.append("--no-baselines")
        if args.out:
            options += ["--out", f"{args.out}/{name}"]
        started = time.perf_counter()
        EXPERIMENTS[name](options)
        wall_times[name] = time.perf_counter() - started
    for name, seconds in wall_times.items():
        print(f"{name}: {seconds:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
