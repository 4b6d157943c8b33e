"""Epoch bookkeeping of the conversion: running sums of w and g, the epoch mean, the certificate and the two radii.

For epoch k of T steps with gradient points w_1..w_T and gradients g_1..g_T ([CMO23] = Cutkosky, Mehta, Orabona,
ICML 2023, §3 and Theorem 8):

    w̄_k = (1/T) Σ_t w_t,   ĝ_k = (1/T) Σ_t g_t,   certificate ε_k = ‖ĝ_k‖,
    radius    r_k = max_t ‖w_t − w̄_k‖                       (exact; needs the epoch's points)
    radius_bound  L_k = Σ_t ‖x_t − x_{t−1}‖ ≥ r_k            (the path length of the epoch's anchors)

The bound holds because every w_t lies on the segment [x_{t−1}, x_t] (the scaling rule), so all w_t and their mean
lie in the convex hull of the polygonal path x_0 → x_1 → … → x_T of length L_k, whose points are at most L_k apart.
With exact gradients ε_k certifies Goldstein (r_k, ε_k)-stationarity of w̄_k ([CMO23] Definition 5), hence also
(L_k, ε_k): a shell that keeps no points reports L_k (``Certificate.radius_kind = "bound"``).

Norms are ``online_learners.tree.tree_norm``: scaled by a power of two near the largest entry (Blue, ACM TOMS 4(1),
1978; Anderson, ACM TOMS 44(1), 2017), which rounds nothing, so a float32 run gives the same certificates at every
scale float32 represents; the certificate's host float32 squares are summed in float64 (``tree_norm_wide``).
Everything is a pure function of NamedTuples of 0-d/leaf arrays (Array API), usable under ``jax.jit``/``vmap``.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

import array_api_compat

from online_learners.tree import (
    array_namespace,
    inverse_scale,
    tree_leaves,
    tree_map,
    tree_norm_wide,
    tree_zeros_like,
)

__all__ = ["EpochSums", "EpochStats", "start", "add", "close", "exact_radius", "exact_radius_rows",
           "plain_radius_squared"]


class EpochSums(NamedTuple):
    """Running sums of the current epoch: Σ w_t, Σ g_t (trees like the params) and the path Σ ‖x_t − x_{t−1}‖."""

    w_sum: Any
    g_sum: Any
    path: Any


class EpochStats(NamedTuple):
    """A closed epoch: w̄_k, ĝ_k, ε_k = ‖ĝ_k‖ and the path bound L_k (0-d arrays for the scalars)."""

    mean: Any
    grad_mean: Any
    certificate: Any
    radius_bound: Any


def _xp(tree):
    return array_namespace(*tree_leaves(tree))


def start(like) -> EpochSums:
    """Zero sums shaped like the tree ``like`` (the path a 0-d array of its first leaf's dtype)."""
    leaf = tree_leaves(like)[0]
    xp = array_namespace(leaf)
    zero = xp.zeros((), dtype=leaf.dtype, device=array_api_compat.device(leaf))
    return EpochSums(tree_zeros_like(like), tree_zeros_like(like), zero)


def add(sums: EpochSums, w, g, segment) -> EpochSums:
    """The sums after one more step: w_t, g_t and ‖x_t − x_{t−1}‖ = ``segment``."""
    if isinstance(w, (list, tuple, dict)):
        return EpochSums(tree_map(lambda a, b: a + b, sums.w_sum, w), tree_map(lambda a, b: a + b, sums.g_sum, g),
                         sums.path + segment)
    return EpochSums(sums.w_sum + w, sums.g_sum + g, sums.path + segment)  # one array: no tree walk


def close(sums: EpochSums, length) -> EpochStats:
    """w̄_k = Σw/T, ĝ_k = Σg/T, ε_k = ‖ĝ_k‖ and L_k = the path, for an epoch of ``length`` = T steps. ε_k is taken
    by :func:`online_learners.tree.tree_norm_wide`: float32 squares summed in float64 on the host (a float32 sum of
    10^7 squares is 1e-5 off), the scaled :func:`~online_learners.tree.tree_norm` elsewhere."""
    mean = tree_map(lambda a: a / length, sums.w_sum)
    grad_mean = tree_map(lambda a: a / length, sums.g_sum)
    return EpochStats(mean, grad_mean, tree_norm_wide(grad_mean), sums.path)


def exact_radius(points, mean):
    """r_k = max_t ‖w_t − w̄_k‖ over a tree ``points`` whose leaves stack the epoch's T points on a leading axis,
    with one common scale 2^e ≥ a = max |w_t − w̄_k| (the largest distance is at least a, so it cannot underflow, and
    ‖(w_t − w̄_k)/2^e‖ ≤ √d cannot overflow); a 0-d array.  The power-of-two scale rounds nothing: where
    :func:`plain_radius_squared` is exact (:func:`online_learners.tree.plain_is_exact`), its square root is this
    value up to the order of the summation."""
    return _radius(lambda: iter((points,)), mean)  # one block: one common scale


def plain_radius_squared(points, mean, batch: int = 0):
    """max_t Σ (w_t − w̄_k)², unscaled (one pass over the points): r_k² where ``plain_is_exact`` says so, for a
    caller that checks many radii at once and computes :func:`exact_radius` only where one needs it.

    ``batch`` = b > 0: the radii of many runs at once, in the layout a batched runner writes its points in: each
    leaf of ``points`` is (T, B_1..B_b, ...) and the matching leaf of ``mean`` (B_1..B_b, ...); the result is the
    (B_1..B_b) array of r² (each run's sum over its own entries, the max over the T steps), with no reordering of
    the points."""
    xp = array_namespace(*tree_leaves(mean))
    rows = None
    for p, m in zip(tree_leaves(points), tree_leaves(mean)):
        if math.prod(m.shape[batch:]) > 0:
            d = p - m[None, ...]
            sq = xp.sum(xp.reshape(d * d, tuple(d.shape[:1 + batch]) + (-1,)), axis=-1)
            rows = sq if rows is None else rows + sq
    return xp.max(rows, axis=0)


def exact_radius_rows(rows, mean, chunk: int = 0):
    """:func:`exact_radius` of a sequence of T points (trees like ``mean``), stacked ``chunk`` at a time: the same
    value, with temporaries of 3·``chunk`` points instead of 3·T (the points themselves are the caller's). The
    default ``chunk`` = max(8, 2^16/d) keeps the temporaries within 3·max(8·d, 2^16) numbers."""
    if chunk <= 0:
        size = sum(math.prod(m.shape) for m in tree_leaves(mean))
        chunk = max(8, 2**16 // max(size, 1))

    def blocks():
        for i in range(0, len(rows), chunk):
            part = rows[i:i + chunk]
            yield tree_map(lambda *leaves: array_namespace(leaves[0]).stack(leaves), *part)

    return _radius(blocks, mean)


def _radius(blocks, mean):
    """max_t ‖w_t − w̄‖ over the blocks of stacked points that ``blocks()`` yields, each block with its own scale:
    the power of two 2^e ≥ a = max |w_t − w̄| over the block (:func:`online_learners.tree.inverse_scale`; the block's
    largest distance is at least a, so it cannot underflow, and ‖(w_t − w̄)/2^e‖ ≤ √d cannot overflow)."""
    means = [m for m in tree_leaves(mean) if math.prod(m.shape) > 0]
    xp = array_namespace(*means)
    largest = None
    for block in blocks():
        diffs = [p - m[None, ...] for p, m in zip(tree_leaves(block), tree_leaves(mean)) if math.prod(m.shape) > 0]
        del block  # the stacked points: the differences are all that is needed now
        a = xp.max(xp.abs(diffs[0]))
        for d in diffs[1:]:
            a = xp.maximum(a, xp.max(xp.abs(d)))
        down = inverse_scale(a)
        rows = None
        for d in diffs:
            sq = xp.sum(xp.reshape((d * down) ** 2, (d.shape[0], -1)), axis=1)
            rows = sq if rows is None else rows + sq
        top = xp.sqrt(xp.max(rows)) / down
        largest = top if largest is None else xp.maximum(largest, top)
    return largest
