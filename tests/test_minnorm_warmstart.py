"""The first guess of the min-norm solver (objectives/minnorm.py): bulk affine solves over the distinct gradients,
whose answer is checked like any other and otherwise hands Wolfe's algorithm a corral to continue from.

Each answer is judged by its optimality gap recomputed here from the gradients, and by the value of Wolfe's algorithm
run from scratch on the same hull.
"""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import objectives.minnorm as mn
from objectives.minnorm import DEFAULT_TOL, min_norm


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(limits=1):
        yield


def gap_here(G, lam):
    H = G / np.max(np.linalg.norm(G, axis=1))
    p = lam @ H
    return float(p @ p - np.min(H @ p))


def from_scratch(G):
    """Wolfe's algorithm from the shortest gradient, as before any guess (the Gram pass, then the QR pass)."""
    rows = mn._Rows(G, gram=True)
    K = rows.gram()
    lam, _ = mn._wolfe(rows, K, 0.1 * DEFAULT_TOL, max_cycles=100 * len(G) + 1000, precise=False)
    if gap_here(G, lam) > DEFAULT_TOL:
        lam, _ = mn._wolfe(rows, K, 0.1 * DEFAULT_TOL, max_cycles=100 * len(G) + 1000, precise=True)
    return lam


def shared_direction(rng, m, d):
    """u + 0.1 z_i: a few of the m gradients carry the minimum."""
    return rng.standard_normal(d) + 0.1 * rng.standard_normal((m, d))


def repeated_patterns(rng, m, d):
    patterns = rng.choice([-1.0, 0.0, 1.0], size=(max(2, m // 5), d))
    return patterns[rng.integers(0, patterns.shape[0], m)]


@pytest.mark.parametrize("family", [shared_direction, repeated_patterns])
def test_guess_answers_agree_with_wolfe_from_scratch(family):
    rng = np.random.default_rng(11)
    for _ in range(40):
        m, d = int(rng.integers(5, 60)), int(rng.integers(60, 400))
        G = family(rng, m, d) * 10.0 ** float(rng.integers(-5, 6))
        sol = min_norm(G)
        assert gap_here(G, sol.weights) <= DEFAULT_TOL and sol.gap <= DEFAULT_TOL
        assert np.all(sol.weights >= 0) and sol.weights.sum() == pytest.approx(1.0, abs=1e-14)
        lam = from_scratch(G)
        scale = np.max(np.linalg.norm(G, axis=1))
        assert sol.value == pytest.approx(np.linalg.norm(lam @ G), abs=1e-6 * scale)


def test_repeated_gradients_take_one_solve():
    """When the repeats make the system of all points singular, the distinct points alone go into the next one."""
    rng = np.random.default_rng(12)
    patterns = rng.standard_normal((6, 300))
    G = patterns[np.r_[np.arange(6), rng.integers(0, 6, 34)]]
    sol = min_norm(G)
    assert sol.iterations == 2 and np.count_nonzero(sol.weights) == 6  # all 40 (singular), then the 6
    assert sol.value == pytest.approx(min_norm(patterns).value, rel=1e-12)
    assert gap_here(G, sol.weights) <= DEFAULT_TOL


def test_guess_is_a_corral_or_none():
    """Every guess has affinely independent points with positive weights summing to one, and is refused when the
    distinct points outnumber the limit."""
    rng = np.random.default_rng(13)
    for _ in range(30):
        G = shared_direction(rng, int(rng.integers(3, 40)), 80)
        K = mn._Rows(G, gram=True).gram()
        start, solves = mn._corral_guess(K, size_limit=81)
        assert start is not None and 1 <= solves <= mn._GUESS_SOLVES
        S, alpha = start
        assert np.all(alpha > 0) and alpha.sum() == pytest.approx(1.0, abs=1e-14)
        E = np.vstack([np.ones(len(S)), G[S].T])  # [1ᵀ; G_Sᵀ] has full column rank exactly when affinely independent
        assert np.linalg.matrix_rank(E) == len(S)
        assert mn._corral_guess(K, size_limit=len(G) - 1) == (None, 0)


def test_wolfe_finishes_from_a_wrong_corral():
    """Started from a corral away from the optimum (two points off the optimal support), Wolfe's algorithm still
    reaches the minimum that it reaches from scratch."""
    rng = np.random.default_rng(14)
    for _ in range(20):
        G = shared_direction(rng, 30, 100)
        rows = mn._Rows(G, gram=True)
        K = rows.gram()
        best = from_scratch(G)
        off = np.flatnonzero(best == 0)[:2]
        alpha = mn._affine_gram(K, off)
        if alpha is None or alpha.min() <= 0:
            alpha = np.ones(1)
            off = off[:1]
        lam, _ = mn._wolfe(rows, K, 0.1 * DEFAULT_TOL, max_cycles=4000, precise=False, start=(off, alpha))
        assert gap_here(G, lam) <= DEFAULT_TOL
        assert np.linalg.norm(lam @ G) == pytest.approx(np.linalg.norm(best @ G), rel=1e-6)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_a_non_finite_entry_is_named_with_the_gram_first(bad):
    """The finiteness check rides on the Gram matrix's diagonal: a bad entry anywhere is still found and named."""
    rng = np.random.default_rng(15)
    for row, col in [(0, 0), (37, 411), (49, 999)]:
        G = rng.standard_normal((50, 1000))
        G[row, col] = bad
        with pytest.raises(ValueError, match=f"gradient {row} has a non-finite entry"):
            min_norm(G)


def test_rows_whose_squares_overflow_are_still_solved():
    """Entries near float64's largest make the Gram matrix overflow; the rows are rescaled and solved instead."""
    rng = np.random.default_rng(16)
    G = rng.choice([-1.0, 1.0], size=(20, 50))
    base = min_norm(G)
    sol = min_norm(G * 1e300)
    assert sol.value == pytest.approx(base.value * 1e300, rel=1e-10)
    np.testing.assert_allclose(sol.weights, base.weights, atol=1e-10)


def test_updated_factor_matches_a_fresh_one():
    """Points entering and leaving Wolfe's corral update the Cholesky factor of K_SS + 11ᵀ; after a random sequence
    of changes it equals the factor computed from scratch, and so do the weights."""
    rng = np.random.default_rng(17)
    G = rng.standard_normal((40, 60))
    K = mn._Rows(G, gram=True).gram()
    corral = mn._GramCorral(K, [0, 1, 2])
    for _ in range(200):
        if len(corral.S) > 3 and rng.random() < 0.45:
            corral.remove(int(rng.integers(len(corral.S))))
        else:
            corral.add(int(rng.choice(np.setdiff1d(np.arange(40), corral.S))))
            assert not corral.broken  # 40 points in general position in R^60: affinely independent
        fresh = mn._GramCorral(K, corral.S)
        np.testing.assert_allclose(corral.R, fresh.R, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(corral.weights(), mn._affine_gram(K, corral.S), rtol=1e-8, atol=1e-12)


def test_a_dependent_point_leaves_the_factor_untouched():
    """A point in the affine hull of the corral is refused (weights None) and removing it restores the corral."""
    G = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    K = mn._Rows(G, gram=True).gram()
    corral = mn._GramCorral(K, [0, 1])
    before = corral.R.copy()
    corral.add(2)  # the midpoint of the first two
    assert corral.weights() is None
    corral.remove(2)
    assert corral.S == [0, 1] and np.array_equal(corral.R, before)
    corral.add(3)
    np.testing.assert_allclose(corral.weights(), [1 / 3, 1 / 3, 1 / 3], rtol=1e-12)
