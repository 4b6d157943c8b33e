"""The minimum-norm point of a convex hull, checked by its optimality gap; and small exact convex-geometry helpers.

One implementation of

    min_{λ ∈ Δ_m} ‖Σ_i λ_i g_i‖,   Δ_m = {λ ≥ 0, Σ_i λ_i = 1},

used by the bank's exact Goldstein oracles, ``o2nc.certify`` and gradient sampling (it lives here, beside the
objectives, because ``objectives`` may not import ``o2nc`` while ``o2nc`` may import ``objectives``).

**The check.**  For a feasible p = Σ λ_i g_i the *optimality gap* is gap(p) = ‖p‖² − min_i ⟨g_i, p⟩.  It is ≥ 0, and it
is 0 exactly at the minimiser p* (the first-order condition of the simplex QP: ⟨g_i, p*⟩ ≥ ‖p*‖² for every i; Wolfe,
Math. Prog. 11, 1976, §2).  Two consequences, derived here and tested in ``tests/test_minnorm.py``:

* ‖p − p*‖² ≤ gap(p): as p* is optimal and p is in the hull, ⟨p*, p⟩ ≥ ‖p*‖², hence
  ‖p − p*‖² = ‖p‖² − 2⟨p, p*⟩ + ‖p*‖² ≤ ‖p‖² − ⟨p, p*⟩ ≤ ‖p‖² − min_i ⟨g_i, p⟩ (p* is a convex combination).
* ‖p*‖ ≥ min_i ⟨g_i, p⟩ / ‖p‖ (every hull point q has ⟨q, p⟩ ≥ min_i ⟨g_i, p⟩; Cauchy–Schwarz), so
  ``lower = max(0, ‖p‖² − gap)/‖p‖ ≤ ‖p*‖ ≤ ‖p‖ = value``: every answer brackets the true minimum.

**The solver.**  Wolfe's finite min-norm-point algorithm (P. Wolfe, "Finding the nearest point in a polytope",
Math. Prog. 11, 128–149, 1976) on the Gram matrix of the gradients scaled by their largest norm: major cycles add the
vertex that most violates optimality, minor cycles move to the affine minimiser of the current corral, dropping
vertices whose weight reaches zero.  The affine minimiser of a corral S solves (K_SS + 11ᵀ) u = 1, α = u / 1ᵀu
(Wolfe 1976, §4; the matrix is positive definite when S is affinely independent).  A first guess comes before the
cycles: the affine minimiser of the distinct gradients (repeats removed), then of those with positive weight, until
all weights are positive.  It ends at the optimum (checked like every answer; on all five hull families of
``bench/bench_certify.py``, 50 gradients in dimension 1000, within six solves) or else at a corral, from which the
cycles continue.  When that Gram-matrix pass leaves
a gap above the tolerance (thin simplices, whose Gram matrix squares the condition number), a second pass solves the
same system by QR on [1ᵀ; G_Sᵀ] with inner products taken on the gradients.  Every answer is verified directly on the
gradients (not on the Gram matrix) and returned only when its relative gap gap/max_i ‖g_i‖² is ≤ ``tol``; otherwise
:class:`MinNormError` is raised.  Optional other solvers (scipy's NNLS reduction, daqp, quadprog) serve as fast paths:
their answer is checked the same way and, when the gap is larger than ``tol``, the first guess and Wolfe's algorithm
finish.
Nothing depends on a dependency being right: scipy's ``nnls`` since 1.15 can return a suboptimal point together with a
false residual (scipy issue #25389).
"""
from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import numpy as np
from scipy.linalg import lapack

__all__ = [
    "MinNorm",
    "MinNormError",
    "min_norm",
    "min_norm_hull",
    "optimality_gap",
    "SOLVERS",
    "DEFAULT_TOL",
    "dist_to_polyhedron",
    "max_affine_goldstein",
]

#: Names accepted by ``solver=``: Wolfe's algorithm alone, or a fast path checked (and finished by Wolfe if needed).
SOLVERS = ("wolfe", "nnls", "daqp", "quadprog")

#: Default bound on the relative optimality gap gap/max_i ‖g_i‖².  It bounds the error of ``value`` by
#: √tol·max_i ‖g_i‖ and by tol·max_i ‖g_i‖²/value (module docstring).
DEFAULT_TOL = 1e-12


class MinNorm(NamedTuple):
    """A checked solution of min_{λ ∈ Δ_m} ‖Σ_i λ_i g_i‖.

    Attributes:
        weights: (m,) non-negative weights summing to one.
        value: ‖Σ_i λ_i g_i‖ computed from ``weights`` and the gradients: a hull point, so never below the minimum.
        gap: the relative optimality gap (‖p‖² − min_i ⟨g_i, p⟩)/max_i ‖g_i‖² of p = Σ λ_i g_i, computed on the
            gradients; ≤ the ``tol`` the solve was asked for.
        lower: a proven lower bound on the minimum norm, max(0, min_i ⟨g_i, p⟩)/‖p‖ (0 when p = 0).
        solver: what produced the answer (``"wolfe"``, ``"nnls"``, or ``"nnls+wolfe"`` when the fast path's gap
            was too large and Wolfe's algorithm finished).
        iterations: the affine solves of the first guess plus Wolfe's cycles (major and minor) spent; 0 when a fast
            path's answer passed the check.
    """

    weights: np.ndarray
    value: float
    gap: float
    lower: float
    solver: str
    iterations: int


class MinNormError(ArithmeticError):
    """No answer with a relative optimality gap within the tolerance could be found (the message gives the gap)."""


def _as_gradients(G: Any) -> np.ndarray:
    """G as a float64 (m, d) array (finiteness is checked by :class:`_Rows`, on the row sums of squares)."""
    if np.iscomplexobj(G):
        raise TypeError("G: expected real gradients, got complex entries")
    try:
        G = np.asarray(G, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"G: expected an (m, d) array of real numbers, got {type(G).__name__}") from None
    if G.ndim == 1:
        G = G[None, :]
    if G.ndim != 2 or G.shape[0] == 0 or G.shape[1] == 0:
        raise ValueError(f"G: expected a non-empty (m, d) array of gradients, got shape {np.shape(G)}")
    return G


def _require_finite(G: np.ndarray) -> None:
    if not np.all(np.isfinite(G)):
        bad = int(np.argwhere(~np.isfinite(G))[0][0])
        raise ValueError(f"G: gradient {bad} has a non-finite entry")


def optimality_gap(G: Any, weights: Any) -> float:
    """The relative optimality gap (‖p‖² − min_i ⟨g_i, p⟩)/max_i ‖g_i‖² of p = Σ weights_i g_i (0 at the optimum)."""
    rows = _Rows(_as_gradients(G))
    if rows.scale == 0.0:
        return 0.0
    p = rows.combine(np.asarray(weights, dtype=np.float64))
    return float(p @ p - np.min(rows.inner(p)))


class _Rows:
    """The gradients divided by their largest row norm, Gs = c·B, without forming Gs unless asked (``dense``):
    B is G itself (c = 1/scale) where the plain row sums of squares are exact, else G pre-scaled by its largest entry
    (c = 1).  Products with Gs are products with B times c: one pass over G each, no copy of it.

    With ``gram`` the Gram matrix Gs Gsᵀ is formed first and its diagonal finds the longest row (no pass over G for
    the row norms).  A row with a NaN or infinite entry has a non-finite sum of squares, so G is finite exactly when
    the largest sum is (or overflows only): the entries are searched only then, to name the bad row."""

    def __init__(self, G: np.ndarray, gram: bool = False):
        self._dense = None
        self._gram = None
        with np.errstate(over="ignore", invalid="ignore"):  # overflow and non-finite entries are handled below
            if gram:
                K = G @ G.T
                longest = int(np.argmax(K.diagonal()))  # NaN first, if any
                # that row's sum of squares as the rows-only path takes it, so both give the same scale
                top = float(np.einsum("ij,ij->i", G[longest:longest + 1], G[longest:longest + 1])[0])
            else:
                K = None
                top = float(np.max(np.einsum("ij,ij->i", G, G)))
        if not np.isfinite(top):
            _require_finite(G)  # raises on a NaN or infinite entry; a finite G only overflowed
        if _PLAIN_RANGE[0] <= top <= _PLAIN_RANGE[1]:
            # far inside float64's range: the products of entries that matter at the scale of the largest row
            # (down to eps² times its square) are normal numbers, and c² is one too
            self.scale = float(np.sqrt(top))
            self.B, self.c = G, 1.0 / self.scale
            if K is not None:
                K *= self.c * self.c
                self._gram = K
        else:  # scaled by the largest entry first (Blue, ACM TOMS 4(1), 1978)
            amax = float(np.max(np.abs(G)))
            if amax == 0.0:
                self.scale, self.B, self.c = 0.0, G, 1.0
                return
            unit = G * (1.0 / amax)
            self.scale = amax * float(np.sqrt(np.max(np.einsum("ij,ij->i", unit, unit))))
            self.B, self.c = unit * (amax / self.scale), 1.0

    def gram(self) -> np.ndarray:
        """Gs Gsᵀ (formed once)."""
        if self._gram is None:
            K = self.B @ self.B.T
            if self.c != 1.0:
                K *= self.c * self.c
            self._gram = K
        return self._gram

    def combine(self, lam: np.ndarray) -> np.ndarray:
        """Σ_i λ_i gs_i = Gsᵀλ (from the rows with λ_i ≠ 0 alone when they are under half)."""
        support = np.flatnonzero(lam)
        if 2 * len(support) < len(lam):
            return (lam[support] @ self.B[support]) * self.c
        return (lam @ self.B) * self.c

    def inner(self, p: np.ndarray) -> np.ndarray:
        """⟨gs_i, p⟩ for every i: Gs p."""
        return (self.B @ p) * self.c

    def dense(self) -> np.ndarray:
        """Gs itself (formed once, for the rarer solvers that need its entries)."""
        if self._dense is None:
            self._dense = self.B * self.c if self.c != 1.0 else self.B
        return self._dense


def _scaled(G: np.ndarray) -> tuple[np.ndarray, float]:
    """G divided by its largest row norm (computed without overflow or underflow), and that norm."""
    rows = _Rows(G)
    return rows.dense() if rows.scale > 0.0 else G, rows.scale


#: The largest row's sum of squares for which G is used as it is (scaled by a scalar afterwards).
_PLAIN_RANGE = (1e-200, 1e200)


def _checked(rows: _Rows, lam: np.ndarray, solver: str, iterations: int) -> MinNorm:
    """Weights clipped to the simplex, with the value, gap and lower bound computed on the (scaled) gradients."""
    lam = np.clip(np.asarray(lam, dtype=np.float64).reshape(-1), 0.0, None)
    total = lam.sum()
    if not np.isfinite(total) or total <= 0.0:
        return MinNorm(lam, np.inf, np.inf, 0.0, solver, iterations)
    lam = lam / total
    p = rows.combine(lam)
    pp = float(p @ p)
    low = float(np.min(rows.inner(p)))
    norm = float(np.sqrt(pp))
    lower = max(0.0, low) / norm if norm > 0.0 else 0.0
    scale = rows.scale
    return MinNorm(lam, scale * norm, pp - low, scale * min(lower, norm), solver, iterations)


def _trsv(R: np.ndarray, b: np.ndarray, trans: int) -> np.ndarray:
    """Solve R x = b (trans=0) or Rᵀ x = b (trans=1) for upper-triangular R (LAPACK dtrtrs, no copies of R)."""
    x, info = lapack.dtrtrs(R, b, lower=0, trans=trans)
    if info != 0:
        raise np.linalg.LinAlgError(f"singular triangular factor (dtrtrs info {info})")
    return x


def _affine_gram(K: np.ndarray, S: list):
    """Weights α (Σα = 1) of the min-norm point of aff{g_i : i ∈ S} from the Gram matrix: (K_SS + 11ᵀ) u = 1,
    α = u/1ᵀu (Wolfe 1976, §4; positive definite when the points are affinely independent).  None when they are
    not, numerically.  One LAPACK call (dposv: the Cholesky factorisation and the solve with it)."""
    A = K.take(S, axis=0).take(S, axis=1) if len(S) < K.shape[0] else K.copy()
    A += 1.0
    R, u, info = lapack.dposv(A, np.ones((len(S), 1)), lower=0, overwrite_a=1, overwrite_b=1)
    if info != 0:
        return None
    diag = R.diagonal().tolist()  # the Cholesky factor's diagonal: positive (a few entries, compared in Python)
    if min(diag) <= 1e-7 * max(diag):
        return None
    u = u[:, 0]
    return u / u.sum()


def _affine_direct(Gs: np.ndarray, S: list):
    """The same weights from a QR factorisation of E = [1ᵀ; G_Sᵀ] (u = argmin ‖E u − e_1‖, whose normal equations
    are the Gram system above): the condition number of E, not its square, so thin simplices stay solvable."""
    E = np.empty((Gs.shape[1] + 1, len(S)))
    E[0] = 1.0
    E[1:] = Gs[S].T
    Q, R = np.linalg.qr(E)
    diag = np.abs(np.diag(R))
    if diag.min() <= 1e-14 * diag.max() * max(1, len(S)):
        return None
    u = _trsv(np.asfortranarray(R), Q[0].copy(), trans=0)
    return u / u.sum()


class _GramCorral:
    """Wolfe's corral S with the Cholesky factor R of K_SS + 11ᵀ = RᵀR (upper triangular), updated as points come
    and go instead of refactored at each cycle: O(|S|²) a change, not O(|S|³).

    R is also the triangular factor of E = [1ᵀ; G_Sᵀ] (EᵀE = K_SS + 11ᵀ), so a point entering appends a column
    (one triangular solve for the new column of R) and a point leaving deletes one (Givens rotations restore the
    triangle): Golub & Van Loan, *Matrix Computations*, 4th ed., 2013, §6.5 (Updating Matrix Factorizations),
    after Gill, Golub, Murray & Saunders, Math. Comp. 28(126), 1974.  The weights are those of
    :func:`_affine_gram`, refused on the same test of the factor's diagonal."""

    def __init__(self, K: np.ndarray, S):
        self.K, self.S, self.broken = K, [int(i) for i in S], False
        A = K.take(self.S, axis=0).take(self.S, axis=1)
        A += 1.0
        R, info = lapack.dpotrf(A, lower=0, clean=1, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError("the starting corral is not affinely independent")
        self.R = np.ascontiguousarray(R)

    def add(self, j: int) -> None:
        """Append g_j; when it is numerically in the affine hull of S the factor is left as is and ``weights`` is None
        until it is removed again."""
        k = len(self.S)
        self.S.append(j)
        r, info = lapack.dtrtrs(self.R.T, self.K[self.S[:-1], j] + 1.0, lower=1)  # Rᵀ r = (K_Sj + 1)
        rho2 = self.K[j, j] + 1.0 - float(r @ r)
        if info != 0 or not rho2 > 0.0:
            self.broken = True
            return
        R = np.zeros((k + 1, k + 1))
        R[:k, :k] = self.R
        R[:k, k] = r
        R[k, k] = np.sqrt(rho2)
        self.R = R

    def remove(self, pos: int) -> None:
        """Delete the point at position ``pos`` of S."""
        del self.S[pos]
        if self.broken:  # the point that broke the factor was the last one and never entered R
            self.broken = False
            return
        R = np.delete(self.R, pos, axis=1)  # upper Hessenberg from row pos on
        for i in range(pos, R.shape[1]):
            h = np.hypot(R[i, i], R[i + 1, i])
            c, s = R[i, i] / h, R[i + 1, i] / h
            top = R[i, i:].copy()
            R[i, i:] = c * top + s * R[i + 1, i:]
            R[i + 1, i:] = c * R[i + 1, i:] - s * top
            R[i + 1, i] = 0.0
        self.R = R[:-1]

    def weights(self):
        """The affine minimiser's weights α over S (Σα = 1), or None when S is not affinely independent."""
        if self.broken:
            return None
        diag = self.R.diagonal().tolist()
        if min(diag) <= 1e-7 * max(diag):
            return None
        u, info = lapack.dpotrs(self.R.T, np.ones(len(self.S)), lower=1)  # RᵀR u = 1
        return u / u.sum()


class _DirectCorral:
    """The corral S with its affine minimiser from a QR factorisation of [1ᵀ; G_Sᵀ] (:func:`_affine_direct`)."""

    def __init__(self, Gs: np.ndarray, S):
        self.Gs, self.S = Gs, [int(i) for i in S]

    def add(self, j: int) -> None:
        self.S.append(j)

    def remove(self, pos: int) -> None:
        del self.S[pos]

    def weights(self):
        return _affine_direct(self.Gs, self.S)


def _wolfe(rows: _Rows, K: np.ndarray, tol: float, max_cycles: int, precise: bool,
           start: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, int]:
    """Wolfe's min-norm-point algorithm (Wolfe 1976) on the rows of Gs (scaled to norm ≤ 1; K = Gs Gsᵀ).

    The corral S holds affinely independent points with positive weights λ.  A major cycle adds the point most
    violating optimality, argmin_i ⟨g_i, p⟩; minor cycles move λ towards the affine minimiser α of S until it lies
    in the simplex, dropping the point whose weight reaches zero first.  With ``precise`` the affine minimiser comes
    from a QR factorisation and the inner products from the gradients themselves (slower; used when the Gram-matrix
    pass leaves a gap above the tolerance).  ``start`` is a corral (S, λ) to begin from (:func:`_corral_guess`);
    by default the shortest gradient.  Returns the weights over all m points and the cycles spent.
    """
    m = K.shape[0]
    if start is None:
        first, lam = [int(np.argmin(np.diagonal(K)))], np.ones(1)  # the shortest gradient
    else:
        first, lam = start
    if precise:
        Gs = rows.dense()
        corral = _DirectCorral(Gs, first)
        inner_of = lambda S, lam: Gs @ (lam @ Gs[S])  # noqa: E731
    else:
        corral = _GramCorral(K, first)
        inner_of = lambda S, lam: K[:, S] @ lam  # noqa: E731
    S = corral.S
    inner = inner_of(S, lam)  # ⟨g_i, p⟩ for every i
    cycles, dropped = 0, -1
    while cycles < max_cycles:
        pp = float(lam @ inner[S])
        j = int(np.argmin(inner))
        if pp - inner[j] <= tol or j in S or j == dropped:
            break  # optimal, or rounding stalls the choice (the caller's check on the gradients decides)
        corral.add(j)
        lam = np.concatenate((lam, (0.0,)))
        while cycles < max_cycles:
            cycles += 1
            alpha = corral.weights()
            if alpha is None:  # g_j numerically in the affine hull of S: no progress possible at this precision
                corral.remove(len(S) - 1)
                lam = lam[:-1]
                dropped = j
                break
            if alpha.min() > 0.0:
                lam = alpha
                break
            neg = np.flatnonzero(alpha <= 0.0)
            den = lam[neg] - alpha[neg]  # ≥ 0; 0 only for a weightless point, which stops the move at once
            ratios = np.where(den > 0.0, lam[neg] / np.where(den > 0.0, den, 1.0), 0.0)
            theta = float(ratios.min())
            lam = (1.0 - theta) * lam + theta * alpha
            lam[neg[int(np.argmin(ratios))]] = 0.0
            keep = lam > 0.0
            for pos in np.flatnonzero(~keep)[::-1]:
                corral.remove(int(pos))
            lam = lam[keep]
            lam = lam / lam.sum()
            if S[-1] != j:
                dropped = j  # the point just added left at once (rounding): adding it again would loop
                break
        inner = inner_of(S, lam)
    weights = np.zeros(m)
    weights[S] = lam
    return weights, cycles


#: Two rows of Gs (largest norm 1) closer than this in squared distance are taken as one point by the first guess
#: (repeated gradients make the all-points system singular); only a guess: its answer is checked on every row.
_SAME = 1e-13


def _corral_guess(K: np.ndarray, size_limit: int) -> tuple[tuple[np.ndarray, np.ndarray] | None, int]:
    """A first corral for Wolfe's algorithm from bulk solves: the affine minimiser α of all the points (of the
    distinct ones, when repeats make that system singular or the points outnumber ``size_limit``), then of the points
    with α_i > 0, until every weight is positive (S shrinks at each solve).

    The result (S, α) is a corral in Wolfe's sense (affinely independent points whose affine minimiser has positive
    weights), the state Wolfe's algorithm keeps between its cycles, so the algorithm may continue from it; and it is
    the optimum when no point violates ⟨g_i, p⟩ ≥ ‖p‖² (the module docstring's check).  None when there are more
    than ``size_limit`` distinct points, a system is singular, or ``_GUESS_SOLVES`` solves do not reach one.  Also
    returns the solves spent.
    """
    S, distinct = np.arange(K.shape[0]), False
    if len(S) > size_limit:
        S, distinct = _distinct(K), True
        if len(S) > size_limit:
            return None, 0
    solves = 0
    while solves < _GUESS_SOLVES:
        alpha = _affine_gram(K, S)
        solves += 1
        if alpha is None:
            if distinct or solves > 1:
                return None, solves
            S, distinct = _distinct(K), True
            if len(S) == K.shape[0]:
                return None, solves  # no repeats: the points themselves are affinely dependent
            continue
        if alpha.min() > 0.0:
            return (S, alpha), solves
        S = S[alpha > 0.0]
    return None, solves


def _distinct(K: np.ndarray) -> np.ndarray:
    """The first of each group of points closer than ``_SAME`` to one another (in squared distance)."""
    diag = K.diagonal()
    near = (diag[:, None] + diag[None, :] - 2.0 * K) <= _SAME  # ‖g_i − g_j‖² ≤ _SAME, True on the diagonal
    return np.flatnonzero(near.argmax(axis=0) == np.arange(len(diag)))


#: The most bulk solves :func:`_corral_guess` spends before leaving the start to Wolfe's algorithm.
_GUESS_SOLVES = 12


def _nnls(Gs: np.ndarray) -> np.ndarray:
    """scipy's NNLS on the exact reduction min_{μ≥0} (1 − 1ᵀμ)² + ‖Gᵀμ‖², λ = μ/1ᵀμ.

    (Writing μ = sλ with λ on the simplex, the objective is (1 − s)² + s²q with q = ‖Gᵀλ‖², minimised at
    s = 1/(1 + q) with value q/(1 + q), increasing in q; so the minimiser's direction is the min-norm λ.)
    """
    from scipy.optimize import nnls

    m, d = Gs.shape
    E = np.empty((d + 1, m))
    E[0] = 1.0
    E[1:] = Gs.T
    b = np.zeros(d + 1)
    b[0] = 1.0
    mu, _ = nnls(E, b, maxiter=max(50 * m, 1000))
    return mu


def _daqp(K: np.ndarray) -> np.ndarray:
    try:
        import daqp
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("solver='daqp' needs the optional package daqp (pip install daqp)") from exc
    m = K.shape[0]
    A = np.ones((1, m))
    bupper = np.concatenate([np.full(m, np.inf), [1.0]])
    blower = np.concatenate([np.zeros(m), [1.0]])
    sense = np.zeros(m + 1, dtype=np.int32)
    sense[-1] = 5  # equality
    x, _, flag, _ = daqp.solve(K, np.zeros(m), A, bupper, blower, sense, eps_prox=-1.0)
    return np.asarray(x) if flag >= 1 else np.zeros(m)  # a failed solve leaves the check to Wolfe


def _quadprog(K: np.ndarray) -> np.ndarray:
    try:
        import quadprog
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("solver='quadprog' needs the optional package quadprog (pip install quadprog)") from exc
    m = K.shape[0]
    # quadprog needs a strictly positive-definite matrix: a tiny ridge, its effect checked by the gap like any other.
    C = np.hstack([np.ones((m, 1)), np.eye(m)])
    b = np.concatenate([[1.0], np.zeros(m)])
    try:
        return np.asarray(quadprog.solve_qp(K + 1e-12 * np.eye(m), np.zeros(m), C, b, 1)[0])
    except ValueError:
        return np.zeros(m)


def min_norm(G: Any, *, tol: float = DEFAULT_TOL, solver: str = "wolfe") -> MinNorm:
    """The minimum-norm point of the convex hull of the rows of G, returned only with a small optimality gap.

    Solves  min_{λ ∈ Δ_m} ‖Gᵀλ‖  (the direction of gradient sampling, Burke, Lewis & Overton, SIAM J. Optim.
    15(3), 2005; the Goldstein certificate) by Wolfe's algorithm, or by a fast path whose answer is checked and, if
    its gap is too large, finished by Wolfe's algorithm (see the module docstring for the gap and its bounds).

    Args:
        G: (m, d) array, one gradient per row (a 1-D array is one gradient); finite.
        tol: the largest accepted relative gap (‖p‖² − min_i ⟨g_i, p⟩)/max_i ‖g_i‖², in [1e-15, 1e-2]; it bounds
            ``value − min`` by √tol·max_i ‖g_i‖.
        solver: ``"wolfe"`` (default), or a checked fast path: ``"nnls"`` (scipy), ``"daqp"``, ``"quadprog"``
            (optional packages, extra ``qp``).

    Returns:
        :class:`MinNorm` (weights, value, gap, lower, solver, iterations) with ``gap ≤ tol``.

    Raises:
        ValueError: ``G`` empty, not 2-D or not finite; ``tol`` or ``solver`` invalid.
        MinNormError: no answer within ``tol`` (not seen on the generated hulls of the test suite).

    Example:
        >>> import numpy as np
        >>> sol = min_norm(np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]))
        >>> round(sol.value, 12), np.round(sol.weights, 6).tolist(), sol.gap <= 1e-12
        (0.0, [0.5, 0.5, 0.0], True)

    References:
        P. Wolfe, "Finding the nearest point in a polytope", Math. Prog. 11, 128–149, 1976.
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver: unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not 1e-15 <= tol <= 1e-2:
        raise ValueError(f"tol: expected a number in [1e-15, 1e-2], got {tol!r}")
    G = _as_gradients(G)
    m = G.shape[0]
    rows = _Rows(G, gram=solver != "nnls" and m > 1)
    if rows.scale == 0.0:
        return MinNorm(np.full(m, 1.0 / m), 0.0, 0.0, 0.0, "wolfe", 0)
    if m == 1:
        return _checked(rows, np.ones(1), "wolfe", 0)
    first = None
    if solver != "wolfe":
        if solver == "nnls":
            lam = _nnls(rows.dense())
        else:
            lam = _daqp(rows.gram()) if solver == "daqp" else _quadprog(rows.gram())
        first = _checked(rows, lam, solver, 0)
        if first.gap <= tol:
            return first
    K = rows.gram()
    name = "wolfe" if first is None else f"{solver}+wolfe"
    # The typical case of few gradients in high dimension: the affine minimiser of the distinct points, or of a few
    # shrinking subsets of them, is often the optimum; it is checked, and otherwise Wolfe's algorithm starts from it.
    start, cycles = _corral_guess(K, size_limit=min(G.shape[1] + 1, 256))
    if start is not None:
        weights = np.zeros(m)
        weights[start[0]] = start[1]
        sol = _checked(rows, weights, name, cycles)
        if sol.gap <= tol:
            return sol
    lam, more = _wolfe(rows, K, 0.1 * tol, max_cycles=100 * m + 1000, precise=False, start=start)
    cycles += more
    sol = _checked(rows, lam, name, cycles)
    if not sol.gap <= tol:
        lam, more = _wolfe(rows, K, 0.1 * tol, max_cycles=100 * m + 1000, precise=True)
        cycles += more
        sol = _checked(rows, lam, name, cycles)
    if not sol.gap <= tol:
        raise MinNormError(f"min_norm: relative optimality gap {sol.gap:.3g} > tol = {tol:g} after {cycles} cycles "
                           f"(m = {m}, d = {G.shape[1]}); the hull is too degenerate for float64 at this tolerance")
    return sol


def min_norm_hull(G: Any) -> float:
    """``min_{λ ∈ simplex} ‖Σ_i λ_i G_i‖`` for the rows ``G_i`` of ``G`` (shape (m, d)): :func:`min_norm`'s value."""
    return min_norm(G).value


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
