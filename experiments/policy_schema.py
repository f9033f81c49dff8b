"""Synthetic data in the CUVET-policy layout (f0..f4, five bidding policies, an is_val flag).

Rows from `make_policy_schema_data`: the `is_val` rows form the validation split, the others are
split at random into train and test (test is TEST_SIZE of all rows). max_depth is chosen on
validation among 1, 2 and 3.

Run: python -m experiments.policy_schema [--rows 1000000] [--n-boot 10] [--seed 0] [--depth D]
"""

from __future__ import annotations

from collections.abc import Sequence

import cuvet_jax
from cuvet_jax.datasets import make_policy_schema_data

from ._common import Splits, build_parser, configure_logging, run_experiment

NAME = "policy_schema"
DEFAULT_ROWS = 1_000_000
TEST_SIZE = 0.4


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiment on generated CUVET-policy-layout rows and print its Markdown table."""
    parser = build_parser(__doc__.splitlines()[0], default_rows=DEFAULT_ROWS)
    args = parser.parse_args(argv)
    configure_logging()
    data = make_policy_schema_data(args.rows, seed=args.seed)
    train, validation, test = cuvet_jax.train_validation_test_split(
        data.n_rows, test_size=TEST_SIZE, seed=args.seed, validation_flag=data.extra["is_val"]
    )
    splits = Splits(train=data.subset(train), validation=data.subset(validation), test=data.subset(test))
    run_experiment(
        NAME,
        "CUVET-policy layout (synthetic): relative uplifts on the test split",
        splits,
        args,
        description=data.description + f"; validation = is_val rows, test {TEST_SIZE:.0%} of all rows",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
