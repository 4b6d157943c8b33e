"""Exact small convex-geometry helpers for the Goldstein oracles (numpy/scipy, host side).

* ``min_norm_hull(G)``: the minimum norm of ``conv{rows of G}`` by the exact NNLS reduction
  ``min_{μ≥0} (1 - 1ᵀμ)² + ‖Gᵀμ‖²``, whose solution normalised to the simplex is the min-norm weight vector
  (Burke, Lewis & Overton 2005 use the simplex QP; the NNLS form is derived in the project's reference §10.2).
* ``dist_to_polyhedron(x, C, h)``: Euclidean distance from x to ``{y : C y ≤ h}`` by enumerating active sets
  (exact; meant for a handful of constraints in low dimension).
"""
from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import nnls


def min_norm_hull(G: np.ndarray) -> float:
    """``min_{λ ∈ simplex} ‖Σ_i λ_i G_i‖`` for the rows ``G_i`` of ``G`` (shape (m, d))."""
    G = np.atleast_2d(np.asarray(G, dtype=np.float64))
    m = G.shape[0]
    if m == 1:
        return float(np.linalg.norm(G[0]))
    E = np.vstack([np.ones((1, m)), G.T])
    b = np.zeros(E.shape[0])
    b[0] = 1.0
    mu, _ = nnls(E, b, maxiter=50 * max(m, E.shape[0]))
    s = mu.sum()
    if s <= 0:  # cannot happen for the exact solution (μ = 0 has value 1); guard anyway
        return float(np.min(np.linalg.norm(G, axis=1)))
    lam = np.clip(mu / s, 0.0, None)
    lam /= lam.sum()
    return float(np.linalg.norm(lam @ G))


def dist_to_polyhedron(x: np.ndarray, C: np.ndarray, h: np.ndarray, tol: float = 1e-12) -> float:
    """Distance from ``x`` to ``P = {y : C y ≤ h}``; ``inf`` when P is empty.

    The nearest point of P is the projection of x onto the affine hull ``{C_S y = h_S}`` of its active set S,
    and every feasible such projection lies in P; so the distance is the smallest ``‖x - p_S‖`` over active sets
    S whose projection p_S is feasible. Exact up to rounding; exponential in the number of rows.
    """
    x = np.asarray(x, dtype=np.float64)
    C = np.atleast_2d(np.asarray(C, dtype=np.float64))
    h = np.asarray(h, dtype=np.float64)
    scale = 1.0 + np.abs(h).max() + np.abs(C).max() * (1.0 + np.abs(x).max())
    if np.all(C @ x <= h + tol * scale):
        return 0.0
    k, d = C.shape
    best = np.inf
    for size in range(1, min(k, d) + 1):
        for S in itertools.combinations(range(k), size):
            CS, hS = C[list(S)], h[list(S)]
            # p = x - CSᵀ ν with CS p = hS  ->  (CS CSᵀ) ν = CS x - hS  (least squares if CS is rank deficient)
            nu, *_ = np.linalg.lstsq(CS @ CS.T, CS @ x - hS, rcond=None)
            p = x - CS.T @ nu
            if np.abs(CS @ p - hS).max() > 1e-9 * scale:
                continue  # inconsistent active set
            if np.all(C @ p <= h + 1e-9 * scale):
                best = min(best, float(np.linalg.norm(x - p)))
    return best


def max_affine_goldstein(x: np.ndarray, delta: float, A: np.ndarray, b: np.ndarray) -> float:
    """Exact ``dist(0, ∂_δ f(x))`` for ``f(y) = max_i (a_iᵀ y + b_i)``.

    ``∂_δ f(x) = conv{a_i : dist(x, P_i) ≤ δ}`` with ``P_i = {y : a_iᵀy + b_i ≥ a_jᵀy + b_j ∀j}`` (the gradient of
    an active piece is in ∂f(y), and ∂f(y) is the hull of the active gradients).
    """
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    active = []
    for i in range(A.shape[0]):
        C = A - A[i]            # (a_j - a_i)ᵀ y <= b_i - b_j
        h = b[i] - b
        if dist_to_polyhedron(x, C, h) <= delta * (1.0 + 1e-12):
            active.append(i)
    return min_norm_hull(A[active])
