"""Karlan and List (2007) charitable giving: match ratio as alpha, dollars given as value.

The `karlan-list` preset maps the 1:1, 2:1 and 3:1 matching letters to alpha 0.5, 1.0 and 1.5,
value = dollars given and cost = matching dollars paid (ratio x gift). Rows are split at random
into train, validation and test (20 % and 40 % of all rows), and max_depth is
chosen on validation among 1, 2 and 3.

Run: python -m experiments.karlan_list [--data PATH] [--n-boot 10] [--seed 0] [--depth D]
"""

from __future__ import annotations

from collections.abc import Sequence

from cuvet_jax.datasets import get_preset

from ._common import build_parser, configure_logging, run_experiment, split_at_random

NAME = "karlan_list"
PRESET = "karlan-list"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiment on the charitable-giving table and print its Markdown table."""
    parser = build_parser(__doc__.splitlines()[0], data_option=True)
    args = parser.parse_args(argv)
    configure_logging()
    data = get_preset(PRESET).load(args.data)
    splits = split_at_random(data, args.seed)
    run_experiment(
        NAME,
        "Karlan and List (2007) charitable giving: relative uplifts on the test split",
        splits,
        args,
        description=data.description,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
