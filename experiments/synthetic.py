"""The one-feature threshold example: CUVET splits at 0.5, heterogeneity criteria at 0.1.

Rows from `make_threshold_example`, split 50/50 into train and test, trees of max_depth 1 (one
split, as in the example's table), evaluated on both splits. Also plots the root criterion and the
children's alpha* against every threshold of x.

Run: python -m experiments.synthetic [--rows 300000] [--n-boot 10] [--seed 0] [--no-baselines]
"""

from __future__ import annotations

from collections.abc import Sequence

import cuvet_jax
from cuvet_jax.datasets import make_threshold_example
from cuvet_jax.datasets._threshold_example import THRESHOLDS

from ._common import Splits, build_parser, configure_logging, run_experiment

NAME = "synthetic"
DEFAULT_ROWS = 300_000
TEST_SIZE = 0.5
MAX_DEPTH = 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the synthetic threshold experiment and print its Markdown table."""
    parser = build_parser(__doc__.splitlines()[0], default_rows=DEFAULT_ROWS)
    args = parser.parse_args(argv)
    configure_logging()
    data = make_threshold_example(args.rows, seed=args.seed)
    train_rows, test_rows = cuvet_jax.train_test_split(data.n_rows, TEST_SIZE, seed=args.seed)
    splits = Splits(train=data.subset(train_rows), test=data.subset(test_rows))
    run_experiment(
        NAME,
        "Synthetic threshold example: relative uplifts on train and test",
        splits,
        args,
        description=data.description + f"; train/test {1 - TEST_SIZE:.0%}/{TEST_SIZE:.0%}",
        fixed_depth=MAX_DEPTH,
        report_splits=("train", "test"),
        profile_thresholds=THRESHOLDS,
        profile=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
