"""Time a CUVET tree against a single causal-forest tree on the same rows and print the ratio.

Both fit depth-3 trees on rows of the CUVET-policy-schema generator (1M rows by default). CUVET is
timed after one warm-up fit, because JAX compiles the split scan once per tree shape. The first
fit's time, compile included, is printed too. Each time is the best of `--repeats` fits.

    python -m experiments.benchmark_cf [--rows 1000000] [--depth 3] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import cuvet_jax as cj
from cuvet_jax.datasets import make_policy_schema_data


def best_time(fit, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to generate (default 1000000)")
    parser.add_argument("--depth", type=int, default=3, help="max_depth of both trees (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="fits per method; the best time is kept (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the generator (default 0)")
    args = parser.parse_args(argv)

    data = make_policy_schema_data(args.rows, seed=args.seed)
    print(f"{args.rows} rows x {data.X.shape[1]} features, depth {args.depth}, best of {args.repeats}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, numpy {np.__version__}")

    model = cj.CUVETree(max_depth=args.depth)
    start = time.perf_counter()
    model.fit(data.X, data.alpha, data.value, data.cost)
    first = time.perf_counter() - start
    cuvet = best_time(lambda: model.fit(data.X, data.alpha, data.value, data.cost), args.repeats)
    print(f"CUVET clipped: first fit {first:.3f} s (compile included), then {cuvet:.3f} s; {model.n_leaves_} leaves")

    try:
        from cuvet_jax.baselines import CausalForestTree

        forest = CausalForestTree(criterion="mse", max_depth=args.depth)
        forest.fit(data.X[:1000], data.alpha[:1000], data.value[:1000], data.cost[:1000])
    except ImportError as error:
        print(f"causal-forest timing skipped: {error}")
        return
    timings = {}
    for criterion in ("mse", "het"):
        forest = CausalForestTree(criterion=criterion, max_depth=args.depth)
        timings[criterion] = best_time(lambda: forest.fit(data.X, data.alpha, data.value, data.cost), args.repeats)
        print(f"CF-{criterion.upper()} single tree: {timings[criterion]:.3f} s; {forest.n_leaves_} leaves")
    for criterion, seconds in timings.items():
        print(
            f"ratio CF-{criterion.upper()} / CUVET: {seconds / cuvet:.1f}x after compile, "
            f"{seconds / first:.1f}x against CUVET's first fit"
        )


if __name__ == "__main__":
    main()
