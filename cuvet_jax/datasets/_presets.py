"""Presets that map two real randomized field experiments onto CUVET's alpha, value and cost.

Each preset stores the file it reads (relative to a data folder), its column mapping, the rows it
drops, and the CUVET assumptions the data do not meet. docs/datasets.md explains the choices.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ._balance import _quantile_groups
from ._experiment_data import ExperimentData
from ._readers import experiment_from_frame, read_table

DATA_DIR_VARIABLE = "CUVET_DATA_DIR"
"""Environment variable that overrides the default data folder."""

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data"
"""Data folder `shared/data` beside the checkout, found this way when the package is imported from
the checkout (an editable install or the source tree)."""


def default_data_dir() -> Path:
    """Return the data folder of the presets.

    The first that applies, in order:
    1. $CUVET_DATA_DIR.
    2. `../shared/data` or `shared/data` under the working directory, when it exists (a checkout's
       root with the data beside the checkout).
    3. The folder beside the checkout the package was imported from (`DEFAULT_DATA_DIR`).
    """
    if DATA_DIR_VARIABLE in os.environ:
        return Path(os.environ[DATA_DIR_VARIABLE])
    for candidate in (Path.cwd().parent / "shared" / "data", Path.cwd() / "shared" / "data"):
        if candidate.is_dir():
            return candidate
    return DEFAULT_DATA_DIR


@dataclasses.dataclass(frozen=True)
class Preset:
    """Mapping of one real experiment's table onto ExperimentData.

    Attributes:
        name: registry key.
        relative_path: the table file, relative to the data folder.
        alpha: how the treatment level is derived.
        value: how the value outcome is derived.
        cost: how the cost outcome is derived.
        features: names of the feature columns of the result, in order.
        unmet_assumptions: CUVET assumptions these data do not meet.

    Subclasses implement `read`, and their docstrings describe the mapping and its limits.
    """

    name: str
    relative_path: str
    alpha: str
    value: str
    cost: str
    features: tuple[str, ...]
    unmet_assumptions: tuple[str, ...]

    def resolve_path(self, path: str | os.PathLike | None = None) -> Path:
        """Return the table file: `path` if it is a file, `path / relative_path` if it is a folder,
        and the file in `default_data_dir()` if `path` is None."""
        base = default_data_dir() if path is None else Path(path)
        resolved = base / self.relative_path if base.is_dir() else base
        if not resolved.is_file():
            raise FileNotFoundError(
                f"{self.name} table not found at {str(resolved)!r}; pass the file or its data folder, "
                f"or set {DATA_DIR_VARIABLE}"
            )
        return resolved

    def load(self, path: str | os.PathLike | None = None) -> ExperimentData:
        """Read the experiment's table and map it onto ExperimentData.

        Args:
            path: the table file, the data folder holding `relative_path`, or None for the folder
                given by $CUVET_DATA_DIR, else `DEFAULT_DATA_DIR`.
        """
        return self.read(self.resolve_path(path))

    def read(self, path: Path) -> ExperimentData:
        """Map the table file at `path` onto ExperimentData."""
        raise NotImplementedError(f"preset {self.name!r} has no reader")


# Karlan and List (2007): matching grants in a charity's letters to prior donors.

KARLAN_LIST_FEATURES = (
    "hpa", "freq", "years", "mrm2", "dormant", "female", "couple", "ltmedmra",
    "red0", "redcty", "perbush", "close25", "nonlit", "cases",
    "pwhite", "pblack", "page18_39", "ave_hh_sz", "median_hhincome", "powner", "psch_atlstba",
    "pop_propurban",
)  # fmt: skip
"""Donor history, state politics and county census columns used as features."""

KARLAN_LIST_MISSING_CODE = -999.0
"""Code of a missing feature value in the charity table; every real value of the features is >= 0."""

_KARLAN_LIST_DESIGN = (
    "treatment", "treat_ratio2", "treat_ratio3",
    "treat_size25", "treat_size50", "treat_size100", "treat_sizeno",
    "treat_askd1", "treat_askd2", "treat_askd3",
    "out_amountgive", "out_gavedum",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class KarlanListPreset(Preset):
    """karlan-list: matching ratios in a charity's fundraising letters (Karlan and List, 2007).

    Mapping: alpha = match ratio / 2 (1:1 -> 0.5, 2:1 -> 1.0, 3:1 -> 1.5), value = out_amountgive
    (dollars given), cost = ratio x out_amountgive (matching dollars the charity pays). Control
    letters (no match, 16,687) and rows without out_amountgive (2) are dropped, which leaves 33,394
    rows. Features keep the table's missing code -999 as their own value, below every real value,
    and NaN features become -999 as well. `extra` contains `ratio`, `gave` (out_gavedum),
    `grant_size_code` (0 unstated, 1 = $25,000, 2 = $50,000, 3 = $100,000) and `ask_code`
    (1, 2, 3 = suggested gift of 1, 1.25, 1.5 x the highest previous gift).

    Assumptions the data do not meet:
    - Value barely responds to alpha (pooled value elasticity about 0.01), and outside states that
      voted for Bush in 2004 (red0 == 0) the fitted value elasticity is negative, so such buckets
      are not admissible (gamma <= 0).
    - Cost is ratio x value by construction, so every bucket fits eta = 1 + gamma exactly.
    - Three levels and about 2 % of letters with a gift make per-bucket means noisy.
    - Grant size and suggested amount were randomized too; fits pool over them.
    """

    def read(self, path: Path) -> ExperimentData:
        """Map the charity table at `path` onto ExperimentData."""
        frame = read_table(path, columns=list(_KARLAN_LIST_DESIGN + KARLAN_LIST_FEATURES))
        n_read = len(frame)
        matched = frame[frame["treatment"] == 1]
        n_control = n_read - len(matched)
        n_both = int(((matched["treat_ratio2"] == 1) & (matched["treat_ratio3"] == 1)).sum())
        if n_both:
            raise ValueError(
                f"{n_both} rows have both treat_ratio2 and treat_ratio3 set; check the table's integrity"
            )
        has_gift = matched["out_amountgive"].notna()
        n_no_gift = int((~has_gift).sum())
        rows = matched[has_gift].reset_index(drop=True)

        ratio = 1.0 + rows["treat_ratio2"] + 2.0 * rows["treat_ratio3"]
        features = rows[list(KARLAN_LIST_FEATURES)].astype(np.float64)
        features = features.fillna(KARLAN_LIST_MISSING_CODE)
        mapped = features.assign(
            alpha=ratio / 2.0,
            value=rows["out_amountgive"],
            cost=ratio * rows["out_amountgive"],
            ratio=ratio,
            gave=rows["out_gavedum"],
            grant_size_code=rows["treat_size25"] + 2 * rows["treat_size50"] + 3 * rows["treat_size100"],
            ask_code=rows["treat_askd1"] + 2 * rows["treat_askd2"] + 3 * rows["treat_askd3"],
        )
        description = (
            f"Karlan and List (2007) charitable giving, {len(rows)} matched letters of {n_read} "
            f"({n_control} control letters and {n_no_gift} rows without out_amountgive dropped); "
            "alpha = match ratio / 2, value = out_amountgive (dollars), cost = ratio x out_amountgive "
            f"(matching dollars); missing features coded {KARLAN_LIST_MISSING_CODE:g}"
        )
        return experiment_from_frame(
            mapped,
            alpha="alpha",
            value="value",
            cost="cost",
            features=KARLAN_LIST_FEATURES,
            extra=("ratio", "gave", "grant_size_code", "ask_code"),
            description=description,
        )


KARLAN_LIST = KarlanListPreset(
    name="karlan-list",
    relative_path="karlan_list_2007/charitable.csv.gz",
    alpha="match ratio / 2: 1:1 -> 0.5, 2:1 -> 1.0, 3:1 -> 1.5 (control letters dropped)",
    value="out_amountgive, dollars given",
    cost="ratio x out_amountgive, matching dollars paid by the charity",
    features=KARLAN_LIST_FEATURES,
    unmet_assumptions=(
        "Value barely responds to alpha: the pooled weighted log-log value elasticity is about "
        "0.01, so gamma > 0 holds only marginally.",
        "Outside states that voted for Bush in 2004 (red0 == 0) the mean gift falls from alpha 1.0 "
        "to 1.5 and the fitted value elasticity is negative, so such buckets are not admissible "
        "(gamma <= 0).",
        "Cost is value times the ratio by construction, so every bucket fits eta = 1 + gamma "
        "exactly; cost is not a separately measured outcome.",
        "Only three treatment levels, and about 2 % of letters produce a gift, so per-bucket means "
        "are noisy.",
        "The matching-grant size and suggested amount were randomized as well (extra "
        "grant_size_code and ask_code); the fit pools over them.",
    ),
)


# Karlan and Zinman (2008): randomized interest rates in a lender's direct-mail offers.

KARLAN_ZINMAN_RISK_CODES = {"LOW": 0, "MEDIUM": 1, "HIGH": 2}
"""Integer code of each risk band, in order of risk."""

KARLAN_ZINMAN_FEATURES = (
    "risk", "grossincome", "grossincome_missing", "dependants", "dormancy", "itcscore", "itczero",
    "appscore", "lastterm", "lastamount", "trcount", "age", "female", "married", "edhi", "rural",
    "wave", "province",
)  # fmt: skip
"""Client columns used as features (`grossincome_missing` is derived, `province` is coded)."""

KARLAN_ZINMAN_N_GROUPS = 5
"""Number of quantile groups of alpha; the middle group defines the reference rate."""

_KARLAN_ZINMAN_REQUIRED = ("dependants", "trcount", "married")
_KARLAN_ZINMAN_OUTCOMES = ("offer4", "tookup", "loansize", "applied", "grossinterest")


def karlan_zinman_reference_rate(offer_rate: np.ndarray, n_groups: int = KARLAN_ZINMAN_N_GROUPS) -> float:
    """Return the reference rate r at which the middle quantile group of alpha = r / offer_rate has
    mean alpha exactly 1.

    alpha is grouped into `n_groups` quantile groups as `discretize_treatment` groups it (computed
    on 1 / offer_rate; scaling by r moves no row between groups), and
    r = 1 / mean(1 / offer_rate over the middle group).
    """
    inverse_rate = 1.0 / np.asarray(offer_rate, dtype=np.float64)
    groups = _quantile_groups(inverse_rate, n_groups)
    middle = groups.max() // 2
    return float(1.0 / inverse_rate[groups == middle].mean())


@dataclasses.dataclass(frozen=True)
class KarlanZinmanPreset(Preset):
    """karlan-zinman: randomized monthly interest rates in loan offers (Karlan and Zinman, 2008).

    Mapping: alpha = r / offer4, where offer4 is the offered monthly rate in percent and the
    reference rate r makes the middle of five quantile groups of alpha have mean alpha exactly 1
    (r = 1 / mean(1 / offer4) over that group, about 7.95 % on the full table); alpha > 1 is a
    cheaper loan. value = tookup (1 if the client took a loan), cost = loansize (capital lent, rand).

    Rows: the 256 rows without dependants, trcount and married (the same rows, which also have age
    0) are dropped, which leaves 53,554 of 53,810. Missing grossincome (about 9 % of rows, more often
    in the LOW and MEDIUM bands) becomes -1, below every real income, with the flag feature
    grossincome_missing. risk is coded LOW=0, MEDIUM=1, HIGH=2; province is coded in sorted order
    of its names (the description lists the codes). `extra` contains `offer4`, `alpha_group` (the
    quantile group, 0 = lowest alpha), `applied` and `grossinterest`.

    Assumptions the data do not meet:
    - The rate was randomized within risk bands whose rate distributions differ, so alpha is not
      independent of `risk`. A pooled fit mixes the treatment with risk, so split on risk or fit
      per band. `balance_check` flags risk, and with it dormancy and trcount, which go with risk.
    - Within a band the rate spread also differs by mailing wave (widest in wave 1, the only wave
      without grossincome), so wave and grossincome_missing stay mildly imbalanced within bands.
    - alpha is continuous (70 distinct rates) and must be grouped into levels before fitting.
    - Take-up is sparse (about 7 % of offers).
    - With interest revenue as value, revenue falls as the discount deepens within a band, so that
      framing has no diminishing-returns trade-off.
    """

    def read(self, path: Path) -> ExperimentData:
        """Map the loan-offer table at `path` onto ExperimentData."""
        table_features = tuple(name for name in KARLAN_ZINMAN_FEATURES if name != "grossincome_missing")
        frame = read_table(path, columns=list(dict.fromkeys(_KARLAN_ZINMAN_OUTCOMES + table_features)))
        n_read = len(frame)
        complete = frame[list(_KARLAN_ZINMAN_REQUIRED)].notna().all(axis=1)
        n_incomplete = int((~complete).sum())
        rows = frame[complete].reset_index(drop=True)

        unknown = sorted(set(rows["risk"].unique()) - set(KARLAN_ZINMAN_RISK_CODES))
        if unknown:
            raise ValueError(f"risk has values {unknown}; expected {list(KARLAN_ZINMAN_RISK_CODES)}")
        risk = rows["risk"].map(KARLAN_ZINMAN_RISK_CODES).astype(np.float64)
        income_missing = rows["grossincome"].isna()

        offer_rate = rows["offer4"].to_numpy(dtype=np.float64, na_value=np.nan)
        n_invalid = int(np.sum(~(offer_rate > 0)))
        if n_invalid:
            raise ValueError(f"offer4 has {n_invalid} values that are missing or not positive")
        reference_rate = karlan_zinman_reference_rate(offer_rate)
        alpha = reference_rate / offer_rate

        mapped = rows.assign(
            risk=risk,
            grossincome=rows["grossincome"].fillna(-1.0),
            grossincome_missing=income_missing.astype(np.float64),
            alpha=alpha,
            alpha_group=_quantile_groups(alpha, KARLAN_ZINMAN_N_GROUPS),
        )
        description = (
            f"Karlan and Zinman (2008) loan offers, {len(rows)} of {n_read} rows ({n_incomplete} rows "
            "without dependants, trcount and married dropped); alpha = reference rate / offer4 with "
            f"reference rate {reference_rate:.6f} % per month (the middle of {KARLAN_ZINMAN_N_GROUPS} "
            "quantile groups of alpha has mean 1), value = tookup, cost = loansize (rand); risk codes "
            "LOW=0, MEDIUM=1, HIGH=2; missing grossincome filled with -1 and flagged in "
            "grossincome_missing"
        )
        return experiment_from_frame(
            mapped,
            alpha="alpha",
            value="tookup",
            cost="loansize",
            features=KARLAN_ZINMAN_FEATURES,
            extra=("offer4", "alpha_group", "applied", "grossinterest"),
            description=description,
        )


KARLAN_ZINMAN = KarlanZinmanPreset(
    name="karlan-zinman",
    relative_path="karlan_zinman_2008/kz_demandelasts_aer08.csv.gz",
    alpha=(
        "reference rate / offer4, with the reference rate chosen so that the middle of five "
        "quantile groups of alpha has mean alpha 1 (about 7.95 % per month on the full table)"
    ),
    value="tookup, 1 if the client took a loan",
    cost="loansize, capital lent in rand (0 without a loan)",
    features=KARLAN_ZINMAN_FEATURES,
    unmet_assumptions=(
        "The rate was randomized within risk bands, whose rate distributions differ (mean offer "
        "8.4 % HIGH, 7.4 % MEDIUM, 6.0 % LOW), so alpha is not independent of `risk`; pooled fits "
        "mix the treatment with risk, and a tree should split on risk or be fitted per band.",
        "Within a band the rate spread also differs by mailing wave (standard deviation 3.1 "
        "points in wave 1 against 2.4 in waves 2 and 3 for HIGH), so `wave` and "
        "`grossincome_missing` (missing exactly in wave 1) stay mildly imbalanced within bands "
        "(max |SMD| 0.09 to 0.15).",
        "alpha is continuous (70 distinct rates) and has to be grouped into levels before fitting.",
        "Outcomes are sparse: about 7 % of offers lead to a loan.",
        "With interest revenue (extra grossinterest) as value, revenue falls as the discount deepens "
        "within a band, so that framing has no diminishing-returns trade-off.",
    ),
)

PRESETS: dict[str, Preset] = {preset.name: preset for preset in (KARLAN_LIST, KARLAN_ZINMAN)}
"""Real-experiment presets by name."""


def get_preset(name: str) -> Preset:
    """Return the preset registered under `name`."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; valid names: {sorted(PRESETS)}") from None
