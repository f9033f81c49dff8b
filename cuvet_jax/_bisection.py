"""Root of an increasing scalar function by a fixed number of bisection halvings, with an implicit tangent.

The solver itself is derivative-free: the loop runs `num_halvings` times with no gradient through
it. Differentiation comes from the implicit function theorem instead. If x*(theta) solves
f(x*, theta) = 0 and df/dx != 0 there, then

    dx*/dtheta = -(df/dtheta) / (df/dx)      evaluated at (x*, theta).

The tangent is linear in the input tangents, so forward mode, reverse mode (by transposition)
and higher orders all follow from this one rule. Where df/dx = 0 (a flat stretch, for example
every bucket at a bound), the tangent is 0 rather than NaN.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 4))
def bisect_increasing(
    fn: Callable[[Array, Any], Array],
    lower: Float[Array, ""],
    upper: Float[Array, ""],
    args: Any,
    num_halvings: int,
) -> Float[Array, ""]:
    """Find x in [lower, upper] with fn(x, args) = 0 for fn non-decreasing in x.

    Each halving keeps the half whose ends bracket a sign change: with mid = (lo + hi) / 2,
    fn(mid) >= 0 sets hi = mid, otherwise lo = mid. After the halvings the midpoint is returned.
    The caller must pass a bracket with fn(lower) <= 0 <= fn(upper); a root exactly at the first
    midpoint or at either end is returned to the bracket's final width.

    Args:
        fn: scalar function of (x, args), non-decreasing in x; args is any pytree of arrays.
        lower, upper: bracket ends, scalars.
        args: parameters of fn; tangents with respect to them follow the implicit function theorem.
        num_halvings: number of halvings (static). The final bracket width is
            (upper - lower) / 2**num_halvings.
    """

    def halve(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        root_below = fn(mid, args) >= 0
        return jnp.where(root_below, lo, mid), jnp.where(root_below, mid, hi)

    lo, hi = jax.lax.fori_loop(0, num_halvings, halve, (lower, upper))
    return 0.5 * (lo + hi)


@bisect_increasing.defjvp
def _bisect_increasing_jvp(fn, num_halvings, primals, tangents):
    lower, upper, args = primals
    _, _, args_dot = tangents
    root = bisect_increasing(fn, lower, upper, args, num_halvings)

    _, df_dx = jax.jvp(lambda x: fn(x, args), (root,), (jnp.ones_like(root),))
    _, df_dargs = jax.jvp(lambda a: fn(root, a), (args,), (args_dot,))
    sloped = df_dx > 0
    root_dot = jnp.where(sloped, -df_dargs / jnp.where(sloped, df_dx, 1.0), 0.0)
    return root, root_dot
