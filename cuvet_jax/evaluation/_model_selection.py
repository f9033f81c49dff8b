"""Choice of the tree depth on a validation split."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ._evaluate import evaluate


def select_max_depth(
    make_model: Callable[[int], object],
    train,
    validation,
    depths: Sequence[int] = (1, 2, 3),
    *,
    method: str = "mcuv",
    max_dc: float = 0.0,
) -> tuple[int, list[dict]]:
    """Fit one model per depth on `train` and keep the one with the largest validation dv.

    Models whose validation dc exceeds `max_dc` come after those that meet it. Within either group
    the largest dv wins, and ties go to the smaller depth.

    Args:
        make_model: depth -> unfitted model with `fit(X, alpha, value, cost)` and `apply(X)`.
        train, validation: rows with X, alpha, value, cost.
        depths: candidate values of max_depth.
        method: evaluation method used for the choice.
        max_dc: the largest validation cost uplift that counts as meeting the budget.

    Returns:
        (best depth, one dict per depth with depth, dv, dc, n_leaves and the fitted model).
    """
    rows = []
    for depth in depths:
        model = make_model(depth)
        model.fit(train.X, train.alpha, train.value, train.cost)
        result = evaluate(model, train, validation, methods=(method,))[method].point
        rows.append({"depth": depth, "dv": result.dv, "dc": result.dc, "n_leaves": model.n_leaves_, "model": model})
    best = max(rows, key=lambda row: (row["dc"] <= max_dc, row["dv"], -row["depth"]))
    return best["depth"], rows
