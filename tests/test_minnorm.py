"""The one min-norm solver (objectives/minnorm.py), checked by its optimality gap on generated hulls.

The gap ‖p‖² − min_i ⟨g_i, p⟩ of p = Σ λ_i g_i is zero exactly at the minimiser, bounds ‖p − p*‖², and gives the lower
bound min_i ⟨g_i, p⟩/‖p‖ on the minimum: each property is asserted here, independently of the solver's own report.
"""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import objectives
from objectives.minnorm import DEFAULT_TOL, SOLVERS, MinNormError, min_norm, min_norm_hull, optimality_gap


@pytest.fixture(autouse=True)
def one_blas_thread():
    """One BLAS thread: these matrices are small, and threads fighting over 2 cores cost 5× here."""
    with threadpool_limits(limits=1):
        yield


def independent_gap(G, lam):
    """Relative gap computed here from scratch (no code shared with the solver)."""
    scale = max(float(np.max(np.linalg.norm(G / np.max(np.abs(G)), axis=1))) * np.max(np.abs(G)), 1e-300)
    H = G / scale
    p = lam @ H
    return float(p @ p - np.min(H @ p))


def generated_hulls(count, seed):
    """Sign-vector, repeated-pattern and integer-gradient hulls: the hulls ℓ1-like and max-affine functions produce.

    d from 2 to 1000, m from 2 to 500, scales 10^-30 … 10^30 (sizes drawn log-uniformly, m·d ≤ 2·10^5).
    """
    rng = np.random.default_rng(seed)
    for i in range(count):
        d = int(np.exp(rng.uniform(np.log(2), np.log(1000))))
        m = int(np.exp(rng.uniform(np.log(2), np.log(500))))
        m = max(2, min(m, 200_000 // d))
        family = i % 3
        if family == 0:
            G = rng.choice([-1.0, 1.0], size=(m, d))
        elif family == 1:  # a few patterns (signs with zeros), each repeated
            patterns = rng.choice([-1.0, 0.0, 1.0], size=(int(rng.integers(1, max(2, m // 3) + 1)), d))
            G = patterns[rng.integers(0, patterns.shape[0], m)]
            if not np.any(G):
                G[0, 0] = 1.0
        else:
            G = rng.integers(-3, 4, size=(m, d)).astype(float)
        yield G * 10.0 ** float(rng.choice([-30, -8, 0, 8, 30]))


def test_scipy_nnls_counterexample_l1_goldstein():
    """The 4-D point where scipy ≥ 1.15's NNLS returned 1.6097: the hull is [−1,1]³ × {−1}, min norm exactly 1."""
    obj = objectives.get("l1_norm", n=4)
    x = np.array([-0.49534541, 0.48919121, -1.3021265, -0.26418074])
    assert obj.goldstein(x, 1.0) == pytest.approx(1.0, abs=1e-12)
    assert obj.goldstein(x, 0.5) == pytest.approx(2 / np.sqrt(3), abs=1e-12)
    G = np.array([[a, b, c, -1.0] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)])
    sol = min_norm(G)
    assert sol.value == pytest.approx(1.0, abs=1e-12) and sol.gap <= DEFAULT_TOL
    np.testing.assert_allclose(sol.weights @ G, [0, 0, 0, -1], atol=1e-12)


def test_ten_thousand_generated_hulls_zero_failures():
    failures, worst = 0, 0.0
    for G in generated_hulls(10_000, seed=2026):
        sol = min_norm(G)
        gap = independent_gap(G, sol.weights)
        worst = max(worst, gap)
        failures += not (gap <= DEFAULT_TOL and sol.gap <= DEFAULT_TOL and abs(sol.weights.sum() - 1) < 1e-12
                         and np.all(sol.weights >= 0))
    assert failures == 0, f"{failures} hulls with a gap above {DEFAULT_TOL} (worst {worst:.3g})"


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_path_is_checked_and_finished(solver):
    """A fast path's answer is returned only with a small gap; otherwise Wolfe's algorithm finishes."""
    pytest.importorskip(solver) if solver in ("daqp", "quadprog") else None
    for G in generated_hulls(300, seed=7):
        sol = min_norm(G, solver=solver)
        assert independent_gap(G, sol.weights) <= DEFAULT_TOL
        assert sol.solver in (solver, f"{solver}+wolfe", "wolfe")


def test_value_bracket_and_distance_bound():
    """lower ≤ min ≤ value, and ‖p − p*‖² ≤ gap for a deliberately suboptimal p (the bounds the gap gives)."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        G = rng.standard_normal((int(rng.integers(2, 30)), int(rng.integers(2, 30)))) + rng.standard_normal()
        sol = min_norm(G, tol=1e-14)
        assert sol.lower <= sol.value + 1e-15
        assert sol.value - sol.lower <= 1e-6 * max(1.0, np.max(np.linalg.norm(G, axis=1)))
        lam = rng.dirichlet(np.ones(G.shape[0]))  # any feasible point
        p, p_star = lam @ G, sol.weights @ G
        scale = np.max(np.linalg.norm(G, axis=1)) ** 2
        assert np.sum((p - p_star) ** 2) <= optimality_gap(G, lam) * scale * (1 + 1e-9) + 1e-12
        q = np.linalg.norm(p)
        assert (p @ p - optimality_gap(G, lam) * scale) / q <= sol.value + 1e-9  # the lower bound at any p


def test_closed_forms():
    rng = np.random.default_rng(4)
    for _ in range(50):  # two points: the segment's nearest point
        g1, g2 = rng.standard_normal((2, 4))
        t = np.clip((g2 - g1) @ g2 / ((g1 - g2) @ (g1 - g2)), 0, 1)
        assert min_norm(np.vstack([g1, g2])).value == pytest.approx(np.linalg.norm(t * g1 + (1 - t) * g2),
                                                                     rel=1e-10, abs=1e-13)
    sol = min_norm(np.array([3.0, 4.0]))
    assert sol.value == 5.0 and sol.weights.tolist() == [1.0]
    sol = min_norm(np.zeros((4, 3)))
    assert sol.value == 0.0 and sol.weights.sum() == pytest.approx(1.0)
    # the simplex's vertices in R^n: min norm 1/√n, weights uniform
    for n in (2, 7, 50):
        sol = min_norm(np.eye(n))
        assert sol.value == pytest.approx(1 / np.sqrt(n), rel=1e-12)
        np.testing.assert_allclose(sol.weights, 1 / n, rtol=1e-10)
    assert min_norm_hull(np.eye(3)) == pytest.approx(1 / np.sqrt(3))


def test_scale_invariance_far_from_one():
    """Gradients of norm 1e-150 or 1e150 give the same weights and a value scaled exactly."""
    rng = np.random.default_rng(5)
    G = rng.choice([-1.0, 1.0], size=(40, 30))
    base = min_norm(G)
    for scale in (1e-150, 1e150):
        sol = min_norm(G * scale)
        assert sol.value == pytest.approx(base.value * scale, rel=1e-10)
        np.testing.assert_allclose(sol.weights, base.weights, atol=1e-10)


@pytest.mark.parametrize("bad, match", [(np.zeros((0, 3)), "G"), (np.array([[1.0, np.nan]]), "non-finite"),
                                        (np.zeros((2, 2, 2)), "G")])
def test_rejects_bad_gradients(bad, match):
    with pytest.raises(ValueError, match=match):
        min_norm(bad)


@pytest.mark.parametrize("kw, match", [({"solver": "cvx"}, "solver"), ({"tol": 0.0}, "tol"), ({"tol": 0.5}, "tol"),
                                       ({"tol": True}, "tol")])
def test_rejects_bad_options(kw, match):
    with pytest.raises(ValueError, match=match):
        min_norm(np.eye(3), **kw)


def test_error_type_is_an_arithmetic_error():
    assert issubclass(MinNormError, ArithmeticError)


@pytest.mark.parametrize("bad", [np.ones((2, 2), complex), [["a", "b"]], {"g": 1}])
def test_refuses_complex_and_non_numeric_gradients(bad):
    with pytest.raises(TypeError, match="G"):
        min_norm(bad)


def test_a_wrong_fast_path_is_caught_and_finished(monkeypatch):
    """A fast path that returns a suboptimal point (as scipy ≥ 1.15's NNLS can, with a false residual) is refused by
    the gap check and Wolfe's algorithm finishes: the answer is the minimum, labelled ``nnls+wolfe``."""
    import objectives.minnorm as mn

    x = np.array([-0.49534541, 0.48919121, -1.3021265, -0.26418074])  # the l1_norm point, hull [−1,1]³ × {−1}
    G = np.array([[a, b, -1.0, c] for a in (1.0, -1.0) for b in (-1.0, 1.0) for c in (1.0, -1.0)]) * np.sign(x)[None]
    monkeypatch.setattr(mn, "_nnls", lambda Gs: np.eye(Gs.shape[0])[0])  # a vertex: feasible, far from optimal
    sol = mn.min_norm(G, solver="nnls")
    assert sol.solver == "nnls+wolfe" and sol.value == pytest.approx(1.0, abs=1e-12) and sol.gap <= DEFAULT_TOL
