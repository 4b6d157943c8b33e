"""Helpers shared by the learner zoo: broadcasting maps, global or coordinate-wise norms, validation, bound arithmetic.

A learner written with these helpers runs in two geometries from one body of code:

- *global*: every "scalar" of the update (a norm, a wealth, a step) is a 0-d array and multiplies the whole pytree;
- *coordinate-wise*: every "scalar" is a pytree shaped like the parameters, holding one value per coordinate, so each
  coordinate runs its own copy of the one-dimensional learner (vectorised, no Python loop).

:func:`lmap` applies a function leaf by leaf where some arguments are pytrees and others are 0-d arrays or numbers
broadcast to every leaf, which is what lets the same expression serve both geometries.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence

from online_learners import _checks, tree

__all__ = [
    "lmap",
    "xp_of",
    "sq_norm",
    "norm",
    "vdot",
    "check_nonnegative",
    "check_beta",
    "check_bool",
    "check_learner",
    "max_sq",
    "sup_concave",
    "coordinatewise_total",
    "elementary_bound",
    "call_bound",
    "update_with_hint",
]


def _is_container(x) -> bool:
    return isinstance(x, (dict, list, tuple))


def lmap(fn: Callable, *args):
    """Leaf-wise ``fn`` over the pytrees among ``args``; arguments that are leaves (0-d arrays, numbers) broadcast."""
    containers = [a for a in args if _is_container(a)]
    if not containers:
        return fn(*args)
    ref = containers[0]
    if isinstance(ref, dict):
        return {k: lmap(fn, *(a[k] if _is_container(a) else a for a in args)) for k in ref}
    parts = [lmap(fn, *(a[i] if _is_container(a) else a for a in args)) for i in range(len(ref))]
    if isinstance(ref, tuple) and hasattr(ref, "_fields"):
        return type(ref)(*parts)
    return type(ref)(parts)


def xp_of(x):
    """Array namespace of a pytree or array."""
    return tree.namespace(x)


def sq_norm(a, coordinatewise: bool):
    """‖a‖² (a 0-d array) or, coordinate-wise, the tree of squares a_i²."""
    if coordinatewise:
        return tree.tree_map(lambda x: x * x, a)
    return tree.tree_sq_norm(a)


def norm(a, coordinatewise: bool):
    """‖a‖ (0-d) or, coordinate-wise, the tree |a_i|."""
    if coordinatewise:
        return tree.tree_map(lambda x: tree.array_namespace(x).abs(x), a)
    return tree.tree_norm(a)


def vdot(a, b, coordinatewise: bool):
    """⟨a, b⟩ (0-d) or, coordinate-wise, the tree a_i b_i."""
    if coordinatewise:
        return tree.tree_map(lambda x, y: x * y, a, b)
    return tree.tree_vdot(a, b)


# ----------------------------------------------------------------------------------------------------------------------
# validation


def check_nonnegative(name: str, value, owner: str) -> float:
    """A finite number >= 0 as a Python float (:func:`online_learners._checks.nonnegative`)."""
    return _checks.nonnegative(owner, name, value)


def check_beta(name: str, value, owner: str, *, closed_right: bool = False) -> float:
    """A number in [0, 1) (or [0, 1] with ``closed_right``) (:func:`online_learners._checks.unit_interval`)."""
    return _checks.unit_interval(owner, name, value, closed_right=closed_right)


def check_bool(name: str, value, owner: str) -> bool:
    """A real bool (:func:`online_learners._checks.boolean`)."""
    return _checks.boolean(owner, name, value)


def check_learner(name: str, value, owner: str):
    """An object with the learner protocol's methods (:func:`online_learners._checks.learner`)."""
    return _checks.learner(owner, name, value)


# ----------------------------------------------------------------------------------------------------------------------
# bound arithmetic (host side, Python floats: bounds are diagnostics computed after a run, never inside a step)


def max_sq(grad_sq_norms: Sequence[float]) -> float:
    return max((float(v) for v in grad_sq_norms), default=0.0)


def sup_concave(phi: Callable[[float], float], lo: float, hi: float, iters: int = 200) -> float:
    """max of a concave function on [lo, hi] by golden-section search (−inf values, e.g. overflow, are allowed).

    Golden-section search brackets the maximiser of a unimodal function; after ``iters`` rounds the bracket is below
    the float resolution, so the value returned is the maximum up to rounding. The endpoints are included.
    """
    if hi <= lo:
        return phi(lo)
    inv = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - inv * (b - a), a + inv * (b - a)
    fc, fd = phi(c), phi(d)
    for _ in range(iters):
        if b - a <= 1e-15 * max(1.0, abs(a), abs(b)):
            break
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - inv * (b - a)
            fc = phi(c)
        else:
            a, c, fc = c, d, fd
            d = a + inv * (b - a)
            fd = phi(d)
    return max(fc, fd, phi(lo), phi(hi), phi((a + b) / 2))


def coordinatewise_total(h: Callable[[float], float], dim, comparator_norm: float) -> float:
    """Upper bound on Σ_i h(|u_i|) over all u in R^dim with ‖u‖₂ = comparator_norm.

    ``h`` is the one-dimensional regret bound of one coordinate as a function of |u_i|; it must be non-decreasing and
    convex with h(0) ≥ 0 (true of every bound of this package). Two bounds hold and the smaller is returned (derived):

    - monotonicity and |u_i| ≤ ‖u‖: Σ_i h(|u_i|) ≤ dim · h(‖u‖);
    - convexity gives h(a) + h(b) ≤ h(0) + h(a + b) for a, b ≥ 0, so Σ_i h(|u_i|) ≤ (dim − 1) h(0) + h(‖u‖₁), and
      ‖u‖₁ ≤ √dim ‖u‖₂.

    ``dim=None`` (unknown) gives ``math.inf``: a coordinate-wise bound always grows with the dimension.
    """
    if dim is None:
        return math.inf
    dim = int(dim)
    if dim < 1:
        raise ValueError(f"`dim` must be a positive integer, got {dim!r}")
    r = float(comparator_norm)
    if dim == 1:
        return h(r)
    return min(dim * h(r), (dim - 1) * h(0.0) + h(math.sqrt(dim) * r))


def elementary_bound(comparator_norm: float, grad_sq_norms: Sequence[float], play_norms: Sequence[float]) -> float:
    """Σ_t ‖g_t‖ (‖Δ_t‖ + ‖u‖) with ‖Δ_t‖ ≤ play_norms[t]: Cauchy–Schwarz, valid for any learner (derived). A round
    with g_t = 0 adds nothing whatever its play bound (an infinite envelope included, where 0·∞ would be NaN)."""
    r = float(comparator_norm)
    return sum(math.sqrt(float(s)) * (b + r) for s, b in zip(grad_sq_norms, play_norms) if float(s) != 0)


def call_bound(learner, comparator_norm: float, grad_sq_norms: Sequence[float], dim) -> float:
    """``learner.regret_bound``, passing ``dim`` when the learner's bound takes it (the core OGD and AdaGradNorm
    bounds are dimension-free and do not)."""
    params = inspect.signature(learner.regret_bound).parameters
    if "dim" in params:
        return learner.regret_bound(comparator_norm, grad_sq_norms, dim=dim)
    return learner.regret_bound(comparator_norm, grad_sq_norms)


def update_with_hint(learner, state, grad, hint):
    """``learner.update(state, grad)``, with ``hint=hint`` where a hint was given and the learner's update takes one
    (the single-projection optimistic form replays its hinted play): how a wrapper passes the round's hint on, as
    ``o2nc.minimize`` passes it to the learner it drives."""
    if hint is not None and "hint" in inspect.signature(learner.update).parameters:
        return learner.update(state, grad, hint=hint)
    return learner.update(state, grad)
