"""Total value and the assignment of a fixed partition as the budget sweeps around the reference cost."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._allocation import equalize
from .._power_law import fit_power_law
from .._statistics import SufficientStatistics
from ._knapsack import solve_mckp_lp
from ._partition import level_tables, reference_level_index


@functools.partial(jax.jit, static_argnames=("weighting",))
def _fit(statistics, level_values, weighting):
    return fit_power_law(statistics, level_values, weighting=weighting)


@jax.jit
def _equalize_over_budgets(fit, budgets, bounds):
    return jax.vmap(lambda budget: equalize(fit, budget, bounds))(budgets)


@jax.jit
def _lp_over_budgets(value, cost, available, budgets):
    return jax.vmap(lambda budget: solve_mckp_lp(value, cost, budget, available))(budgets)


class BudgetCurve(NamedTuple):
    """Optimal value of a partition at each budget, relative to the reference treatment.

    Attributes:
        method: "mcuv" or "lp".
        budget_ratio: budget / reference cost, (M,).
        budget: budgets in cost units, (M,).
        value: optimal total value at each budget, (M,).
        cost: total cost spent, (M,).
        dv: value / reference value - 1, (M,).
        alpha: level per bucket at each budget, (M, B); the expected level for "lp".
        feasible: whether the budget could be met (bounds or the cheapest levels allow it), (M,).
    """

    method: str
    budget_ratio: np.ndarray
    budget: np.ndarray
    value: np.ndarray
    cost: np.ndarray
    dv: np.ndarray
    alpha: np.ndarray
    feasible: np.ndarray


def budget_curve(
    statistics: SufficientStatistics,
    level_values: np.ndarray,
    budget_ratios: np.ndarray = np.linspace(0.5, 1.5, 41),
    *,
    method: str = "mcuv",
    bounds: tuple[float, float] | None = (0.5, 1.5),
    weighting: str = "count",
) -> BudgetCurve:
    """Solve the allocation of a partition for a range of budgets in one vmapped call.

    "mcuv": power laws fitted per bucket, `equalize` at budget = ratio * sum_b c_b(1), value
    sum_b v_b(alpha_b*). "lp": the knapsack relaxation over the observed levels at budget
    ratio * sum_b C[b, ref], value sum_{b,k} p[b, k] V[b, k]. Either way dv is relative to the
    reference value of the same model (power laws or level tables).

    Args:
        statistics: per-bucket, per-level statistics, (B, L).
        level_values: treatment value of each level, (L,).
        budget_ratios: budgets as multiples of the reference cost, (M,).
        method: "mcuv" or "lp".
        bounds: (alpha_min, alpha_max) or None; "mcuv" only.
        weighting: level weighting of the power-law fits.
    """
    level_values = np.asarray(level_values, dtype=np.float64)
    ratios = np.asarray(budget_ratios, dtype=np.float64)
    with jax.enable_x64(True):
        if method == "mcuv":
            fit = _fit(statistics, jnp.asarray(level_values), weighting)
            reference_cost = float(fit.cost_ref.sum())
            reference_value = float(fit.value_ref.sum())
            budgets = ratios * reference_cost
            allocations = _equalize_over_budgets(fit, jnp.asarray(budgets), bounds)
            value, cost, alpha = allocations.value, allocations.cost, allocations.alpha
            feasible = allocations.status == 0
        elif method == "lp":
            value_table, cost_table, available = level_tables(statistics)
            reference = reference_level_index(level_values)
            reference_cost = float(cost_table[:, reference].sum())
            reference_value = float(value_table[:, reference].sum())
            budgets = ratios * reference_cost
            problem = (jnp.asarray(value_table), jnp.asarray(cost_table), jnp.asarray(available))
            solutions = _lp_over_budgets(*problem, jnp.asarray(budgets))
            value, cost = solutions.value, solutions.cost
            alpha = solutions.probabilities @ jnp.asarray(level_values)
            feasible = solutions.status == 0
        else:
            raise ValueError(f"method must be 'mcuv' or 'lp', got {method!r}")
        value = np.asarray(value)
        return BudgetCurve(
            method=method,
            budget_ratio=ratios,
            budget=budgets,
            value=value,
            cost=np.asarray(cost),
            dv=value / reference_value - 1,
            alpha=np.asarray(alpha),
            feasible=np.asarray(feasible),
        )
