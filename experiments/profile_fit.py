"""Time each stage of a CUVET fit on generated rows, to show where the time goes.

Stages: input checks, treatment levels, quantile edges, bin codes, one histogram at depth 0 and at
depth 2 (four nodes), one batched split scan, and the whole fit. Each time is the best of
`--repeats` runs after a warm-up, so JAX compile time is excluded.

    python -m experiments.profile_fit [--rows 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import cuvet_jax as cj
from cuvet_jax._validation import as_feature_matrix, as_outcome
from cuvet_jax.datasets import make_policy_schema_data
from cuvet_jax.tree import build_histograms, fit_bins, scan_splits


def best_milliseconds(run, repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(run())
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to generate (default 1000000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per stage; the best is kept (default 5)")
    args = parser.parse_args(argv)

    data = make_policy_schema_data(args.rows, seed=0)
    levels = cj.discretize_treatment(data.alpha)
    level = levels.encode(data.alpha)
    bins = fit_bins(data.X, 32)
    codes = bins.transform(data.X)
    n_levels = levels.n_levels
    four_nodes = np.random.default_rng(0).integers(0, 4, args.rows)
    hist = build_histograms(codes, four_nodes, level, data.value, data.cost, 4, bins.n_bins, n_levels)
    model = cj.CUVETree(max_depth=3)

    def scan():
        with jax.enable_x64(True):
            return scan_splits(
                jnp.asarray(hist), jnp.full(4, 1000.0), jnp.asarray(levels.values), jnp.asarray([0.5, 1.5]),
                jnp.asarray(1.0), jnp.asarray(1.0), clipped=True, hold_inadmissible=False,
            )

    stages = {
        "input checks": lambda: (as_feature_matrix(data.X), [as_outcome("o", a, args.rows) for a in (data.alpha, data.value, data.cost)]),
        "treatment levels": lambda: cj.discretize_treatment(data.alpha),
        "level codes": lambda: levels.encode(data.alpha),
        "quantile edges": lambda: fit_bins(data.X, 32),
        "bin codes": lambda: bins.transform(data.X),
        "histogram, 1 node": lambda: build_histograms(
            codes, np.zeros(args.rows, np.int64), level, data.value, data.cost, 1, bins.n_bins, n_levels
        ),
        "histogram, 4 nodes": lambda: build_histograms(codes, four_nodes, level, data.value, data.cost, 4, bins.n_bins, n_levels),
        "split scan, 4 nodes": scan,
        "whole fit, depth 3": lambda: model.fit(data.X, data.alpha, data.value, data.cost),
    }
    print(f"{args.rows} rows x {data.X.shape[1]} features, {n_levels} levels, 32 bins; best of {args.repeats}")
    for name, run in stages.items():
        print(f"{name:<22} {best_milliseconds(run, args.repeats):8.1f} ms")


if __name__ == "__main__":
    main()
