"""Karlan and Zinman (2008) loan offers: rate discount as alpha, take-up as value, capital lent as cost.

The `karlan-zinman` preset sets alpha = reference rate / offered rate (grouped into five quantile
levels), value = took a loan (0 or 1) and cost = loan size (rand). The rate was randomized within
risk bands, so `risk` is a feature the trees can split on. Rows are split at random
into train, validation and test (20 % and 40 % of all rows), and max_depth is
chosen on validation among 1, 2 and 3.

Run: python -m experiments.karlan_zinman [--data PATH] [--n-boot 10] [--seed 0] [--depth D]
"""

from __future__ import annotations

from collections.abc import Sequence

from cuvet_jax.datasets import get_preset

from ._common import build_parser, configure_logging, run_experiment, split_at_random

NAME = "karlan_zinman"
PRESET = "karlan-zinman"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiment on the loan-offer table and print its Markdown table."""
    parser = build_parser(__doc__.splitlines()[0], data_option=True)
    args = parser.parse_args(argv)
    configure_logging()
    data = get_preset(PRESET).load(args.data)
    splits = split_at_random(data, args.seed)
    run_experiment(
        NAME,
        "Karlan and Zinman (2008) loan offers: relative uplifts on the test split",
        splits,
        args,
        description=data.description,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
