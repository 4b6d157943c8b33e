"""Non-smooth BFGS (Lewis & Overton, Math. Program. 141, 2013): published behaviour on the bank, the weak Wolfe
line search, the BFGS update, the certificate's soundness and the budget."""
from __future__ import annotations

import math

import numpy as np
import pytest

import objectives
from o2nc import Certificate, baselines
from o2nc.baselines import NonsmoothBFGS
from o2nc.baselines._base import Oracles
from o2nc.baselines.bfgs import bfgs_inverse_update, line_search_caps, weak_wolfe_line_search
from o2nc.certify import min_norm

# High accuracy: the certificate radius is far below the accuracy asked for, so the termination test does not stop
# the run before BFGS has converged (HANSO's own defaults, evaldist = 1e-4 and normtol = 1e-6, stop at F − F* ≈ 1e-5).
ACCURATE = dict(delta=1e-7, epsilon=1e-8)
BUDGET = 2000


def oracles(problem, budget):
    return Oracles(problem, budget=budget, counts="grad", stochastic=False, rng=np.random.default_rng(0),
                   owner="test")


class Fn:
    """f and ∇f from two callables (an objective with exact oracles only)."""

    def __init__(self, f, g):
        self.f, self.g = f, g

    def value(self, x):
        return float(self.f(x))

    def grad(self, x):
        return np.asarray(self.g(x), dtype=np.float64)


def iterates(res):
    """The iterates of a recorded run: the (perturbed) start, then every point the line search moved to."""
    h = res.history
    moved = h["step"] > 0
    return [h["x"][0]] + [x for x, m in zip(h["x_next"], moved) if m]


# --- published behaviour: high accuracy on non-smooth convex and non-convex problems of the bank ----------------------

# Lewis & Overton (2013, §6) report that BFGS with the weak Wolfe search reaches high accuracy on non-smooth convex
# problems; on these Lukšan–Vlček problems it reaches F − F* ≤ 1e-6 within 2000 gradient calls (mifflin1 and maxquad
# need the most: about 700 and 1000–1400 calls to get there, 1600–1700 until the line search fails at rounding).
CONVEX_LV = ["cb2", "cb3", "dem", "ql", "lq", "mifflin1", "maxquad", "shor", "wolfe", "rosen_suzuki", "maxl",
             "mxhilb", "l1hilb"]


@pytest.mark.parametrize("name", CONVEX_LV)
def test_reaches_f_star_to_1e_6_on_convex_luksan_vlcek(name):
    obj = objectives.get(name)
    assert "convex" in obj.tags and "nonsmooth" in obj.tags
    res = NonsmoothBFGS(**ACCURATE).minimize(obj, obj.x0, budget=BUDGET, seed=0)
    gap = float(obj.value(res.point)) - obj.f_star
    assert res.grad_calls <= BUDGET
    assert gap <= 1e-6, f"{name}: F − F* = {gap:.3g} after {res.grad_calls} calls ({res.stopped})"
    assert gap >= -1e-6 * max(1.0, abs(obj.f_star))  # f* is the tabulated optimum (rounded)


@pytest.mark.parametrize("name, params", [("chained_crescent_1", dict(n=10)), ("chained_crescent_1", {}),
                                          ("o2nc_toy", {}), ("crescent", {}), ("mifflin2", {})],
                         ids=["chained_crescent_1-n10", "chained_crescent_1-n50", "o2nc_toy", "crescent", "mifflin2"])
def test_reaches_f_star_to_1e_6_on_nonconvex_problems(name, params):
    obj = objectives.get(name, **params)
    assert "nonconvex" in obj.tags
    for seed in (0, 1):
        res = NonsmoothBFGS(**ACCURATE).minimize(obj, obj.x0, budget=BUDGET, seed=seed)
        gap = float(obj.value(res.point)) - obj.f_star
        assert res.grad_calls <= BUDGET and -1e-12 <= gap <= 1e-6, \
            f"{name} seed {seed}: F − F* = {gap:.3g} after {res.grad_calls} calls ({res.stopped})"


def test_hanso_defaults_stop_on_the_certificate_at_the_issue_s_pygranso_accuracy():
    """With HANSO's termination (evaldist 1e-4, normtol 1e-6) on o2nc_toy the run stops on its certificate after
    about 430–450 calls at F − F* ≈ 1e-5 (PyGRANSO: 2.8e-6 in 466 calls, issue 18)."""
    obj = objectives.get("o2nc_toy")
    res = NonsmoothBFGS(delta=1e-4, epsilon=1e-6).minimize(obj, obj.x0, budget=BUDGET, seed=0)
    assert res.stopped == "target" and res.certificate.epsilon <= 1e-6 and res.certificate.delta <= 1e-4
    assert res.grad_calls <= 600
    assert float(obj.value(res.point)) - obj.f_star <= 1e-4


def test_descends_monotonically():
    obj = objectives.get("maxquad")
    res = NonsmoothBFGS(**ACCURATE).minimize(obj, obj.x0, budget=600, seed=1, record=True)
    f = res.history["f_next"]
    assert len(f) > 50 and np.all(np.diff(np.concatenate([res.history["f"][:1], f])) <= 0)


# --- the weak Wolfe line search -------------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [dict(), dict(armijo=0.1, curvature=0.5), dict(armijo=0.3, curvature=0.99)],
                         ids=["default", "c1=0.1,c2=0.5", "c1=0.3,c2=0.99"])
@pytest.mark.parametrize("name", ["maxquad", "o2nc_toy", "chained_crescent_1", "mxhilb"])
def test_every_accepted_step_satisfies_the_weak_wolfe_conditions(name, params):
    obj = objectives.get(name)
    method = NonsmoothBFGS(delta=1e-7, epsilon=0.0, **params)
    res = method.minimize(obj, obj.x0, budget=400, seed=0, record=True)
    h = res.history
    assert len(h["step"]) > 10
    c1, c2 = method.armijo, method.curvature
    for k in range(len(h["step"])):
        x, p, t = h["x"][k], h["direction"][k], h["step"][k]
        slope = float(obj.grad(x) @ p)
        assert slope == h["slope"][k] and slope < 0  # a descent direction at x_k
        if h["wolfe"][k]:
            np.testing.assert_array_equal(h["x_next"][k], x + t * p)
            # (4.1) and (4.2) of Lewis & Overton (2013), recomputed from the exact oracles
            assert float(obj.value(x + t * p)) < float(obj.value(x)) + c1 * t * slope
            assert float(obj.grad(x + t * p) @ p) > c2 * slope
            assert h["skipped"][k] == 0  # weak Wolfe ⇒ sᵀy > 0: the update is never skipped
        else:  # a failed search (or the budget) ends the run, at the last Armijo point or where it was
            assert k == len(h["step"]) - 1
            assert t == 0 or float(obj.value(x + t * p)) < float(obj.value(x)) + c1 * t * slope
    # consecutive iterations chain: each starts where the previous one moved to
    for k in range(1, len(h["step"])):
        np.testing.assert_array_equal(h["x"][k], h["x_next"][k - 1])


def test_line_search_takes_the_unit_step_when_it_satisfies_both_conditions():
    quad = Fn(lambda x: 0.5 * x @ x, lambda x: x)
    calls = oracles(quad, 100)
    x = np.array([3.0, -1.0])
    ls = weak_wolfe_line_search(calls, x, quad.value(x), x.copy(), -x, armijo=1e-4, curvature=0.9)
    assert ls.status == "wolfe" and ls.step == 1.0 and ls.trials == 1
    assert calls.grad_calls == 1 and calls.value_calls == 1  # one trial: one gradient and one value


def test_line_search_doubles_a_short_step_and_bisects_a_long_one():
    """On ½x² from x = 1 along p = −x·c, the weak Wolfe steps are those with t·c ∈ (1 − c2, 2(1 − c1))."""
    quad = Fn(lambda x: 0.5 * x @ x, lambda x: x)
    x = np.array([1.0])
    # c = 1/64: t = 1, 2, 4 fail the curvature condition (t/64 ≤ 0.1), doubling reaches t = 8 (8/64 = 0.125)
    calls = oracles(quad, 100)
    ls = weak_wolfe_line_search(calls, x, quad.value(x), x.copy(), -x / 64, armijo=1e-4, curvature=0.9)
    assert ls.status == "wolfe" and ls.step == 8.0 and ls.trials == 4
    # c = 64: t = 1, 1/2, …, 1/32 fail Armijo (64t ≥ 2(1 − c1)), bisection reaches t = 1/64 (the minimizer)
    calls = oracles(quad, 100)
    ls = weak_wolfe_line_search(calls, x, quad.value(x), x.copy(), -64 * x, armijo=1e-4, curvature=0.9)
    assert ls.status == "wolfe" and ls.step == 1 / 64 and ls.trials == 7
    np.testing.assert_array_equal(ls.point, [0.0])
    assert calls.grad_calls == calls.value_calls == 7


def test_line_search_reports_an_unbounded_ray_after_the_doubling_cap():
    linear = Fn(lambda x: -float(x[0]), lambda x: np.array([-1.0]))
    calls = oracles(linear, 1000)
    x = np.zeros(1)
    ls = weak_wolfe_line_search(calls, x, 0.0, linear.grad(x), np.array([1.0]), armijo=1e-4, curvature=0.9,
                                max_expansions=5)
    assert ls.status == "unbounded" and ls.trials == 6 and ls.step == 32.0  # 1, 2, …, 32: never bracketed
    assert line_search_caps(1.0, None, None) == (30, 17)  # HANSO: max(30, round(log2 1e5)), max(10, round(log2 1e5))
    assert line_search_caps(1e6, None, None) == (37, 10)


def test_line_search_fails_after_the_bisection_cap_and_returns_the_last_armijo_point():
    """|x| from x = 1 along p = −3 with c1 = 0.9, c2 = 0.95: the Wolfe steps are t ∈ (1/3, 2/5.7), right of the kink
    (left of it the slope −3 fails the curvature condition). Three bisections (t = 1, 1/2, 1/4, 3/8) miss it."""
    absx = Fn(lambda x: abs(float(x[0])), lambda x: np.sign(x))
    calls = oracles(absx, 1000)
    x = np.array([1.0])
    ls = weak_wolfe_line_search(calls, x, 1.0, absx.grad(x), np.array([-3.0]), armijo=0.9, curvature=0.95,
                                max_bisections=3)
    assert ls.status == "failed" and ls.trials == 4 and calls.grad_calls == 4
    assert ls.step == 0.25 and ls.value == 0.25  # the last Armijo point (0.25 < 1 − 0.9·0.25·3), not a Wolfe point
    ls = weak_wolfe_line_search(oracles(absx, 1000), x, 1.0, absx.grad(x), np.array([-3.0]), armijo=0.9,
                                curvature=0.95)
    assert ls.status == "wolfe" and 1 / 3 < ls.step < 2 / 5.7  # with HANSO's cap the bisection finds it


def test_line_search_stops_when_the_budget_runs_out():
    quad = Fn(lambda x: 0.5 * x @ x, lambda x: x)
    calls = oracles(quad, 3)
    x = np.array([1.0])
    ls = weak_wolfe_line_search(calls, x, 0.5, x.copy(), -x / 1024, armijo=1e-4, curvature=0.9)
    assert ls.status == "budget" and ls.trials == 3 and calls.grad_calls == 3 and calls.value_calls == 3
    assert ls.step == 4.0  # the last step that satisfied Armijo (1, 2, 4 all did; curvature failed)


# --- the BFGS update ------------------------------------------------------------------------------------------------


def test_inverse_update_satisfies_the_secant_equation_and_stays_positive_definite():
    rng = np.random.default_rng(0)
    for d in (1, 3, 10):
        A = rng.standard_normal((d, d))
        H = A @ A.T + 0.1 * np.eye(d)
        for _ in range(20):
            s, y = rng.standard_normal(d), rng.standard_normal(d)
            if s @ y <= 0:
                y = -y
            H_new = bfgs_inverse_update(H, s, y)
            np.testing.assert_allclose(H_new @ y, s, rtol=1e-8, atol=1e-10 * np.abs(s).max())  # H⁺y = s
            rho = 1 / (s @ y)
            M = np.eye(d) - rho * np.outer(s, y)
            np.testing.assert_allclose(H_new, M @ H @ M.T + rho * np.outer(s, s), rtol=1e-9,
                                       atol=1e-12 * np.abs(H_new).max())
            np.testing.assert_array_equal(H_new, H_new.T)
            assert np.linalg.eigvalsh(H_new).min() > 0
            H = H_new / np.abs(H_new).max()


def test_smooth_problems_are_solved_to_rounding_quickly():
    quad = objectives.get("half_sq_norm")  # ½‖x‖²: the unit step along −∇F is exact, then ∇F = 0 certifies
    res = NonsmoothBFGS(delta=1e-3, epsilon=1e-12).minimize(quad, quad.x0, budget=50, seed=0)
    assert res.stopped == "target" and res.grad_calls == 2 and float(quad.value(res.point)) <= 1e-20
    rosen = objectives.get("rosenbrock")  # smooth, non-convex: BFGS reaches f* to rounding in about 60 calls
    res = NonsmoothBFGS(**ACCURATE).minimize(rosen, rosen.x0, budget=200, seed=0)
    assert float(rosen.value(res.point)) - rosen.f_star <= 1e-12 and res.grad_calls <= 100


# --- the certificate ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["l1_norm", "max_affine", "abs_1d", "abs_affine", "scaled_norm"])
def test_certificate_is_sound_against_the_exact_goldstein_value(name):
    obj = objectives.get(name)
    assert obj.has_goldstein
    checked = 0
    for delta in (0.01, 0.1, 0.5):
        for budget in (1, 4, 12, 40, 300):
            for seed in (0, 1):
                res = NonsmoothBFGS(delta=delta).minimize(obj, obj.x0, budget=budget, seed=seed)
                cert = res.certificate
                assert isinstance(cert, Certificate) and res.certificate_source == "own"
                assert cert.kind == "sampled one-sided" and cert.radius_kind == "exact" and cert.is_proof
                assert cert.delta <= delta and res.delta == cert.delta
                np.testing.assert_array_equal(cert.point, res.point)
                exact = obj.goldstein(res.point, delta)
                assert cert.epsilon >= exact - 1e-12, f"{name}: certificate {cert.epsilon} < exact {exact}"
                if cert.delta > 0:  # also at the radius actually achieved
                    assert cert.epsilon >= obj.goldstein(res.point, cert.delta) - 1e-12
                checked += 1
    assert checked == 30


@pytest.mark.parametrize("name", ["max_affine", "maxquad", "o2nc_toy"])
def test_certificate_is_the_min_norm_of_recent_gradients_within_delta(name):
    """Recomputed from the recorded iterates: the last `recent_gradients` iterates, those within δ of the returned
    point, their exact gradients, the library's min-norm solver; radius the exact largest distance."""
    obj = objectives.get(name)
    for delta, keep in ((1e-3, None), (0.05, 3), (0.5, 12)):
        method = NonsmoothBFGS(delta=delta, epsilon=0.0, recent_gradients=keep)
        res = method.minimize(obj, obj.x0, budget=150, seed=3, record=True)
        k = keep if keep is not None else min(100, 2 * obj.dim, obj.dim + 10)
        pts = np.asarray(iterates(res))[-k:]
        np.testing.assert_array_equal(pts[-1], res.point)
        dist = np.linalg.norm(pts - res.point, axis=1)
        near = dist <= delta
        sol = min_norm(np.vstack([obj.grad(p) for p in pts[near]]))
        assert res.certificate.epsilon == pytest.approx(sol.value, rel=1e-12, abs=1e-15)
        assert res.certificate.delta == float(dist[near].max()) <= delta
        assert res.history["certificate"][-1] == res.certificate.epsilon
        assert 0 < res.certificate.calls <= res.grad_calls


def test_a_start_on_a_kink_fails_without_the_perturbation_and_still_certifies_soundly():
    """Maxquad's x_0 = 0 is where its five pieces meet: from there −∇F is an ascent direction of a neighbouring
    piece, every trial fails Armijo and the run ends at once (why the method starts from a perturbed x_0)."""
    obj = objectives.get("maxquad")
    res = NonsmoothBFGS(delta=0.1, start_perturbation=0.0).minimize(obj, obj.x0, budget=BUDGET, seed=0, record=True)
    assert res.stopped == "converged" and res.history["step"].tolist() == [0.0]
    np.testing.assert_array_equal(res.point, obj.x0)
    assert res.certificate.delta == 0.0 and res.certificate.epsilon == pytest.approx(np.linalg.norm(obj.grad(obj.x0)))
    perturbed = NonsmoothBFGS(delta=0.1).minimize(obj, obj.x0, budget=BUDGET, seed=0)
    assert float(obj.value(perturbed.point)) - obj.f_star < 1e-3


# --- budget, oracles and hyperparameters ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["max_affine", "maxquad", "o2nc_toy", "chained_crescent_1"])
def test_budget_is_never_exceeded_and_every_call_is_counted(name):
    for budget in (1, 2, 3, 7, 25, 120):
        problem = objectives.Counting(objectives.get(name))
        res = NonsmoothBFGS(delta=1e-7, epsilon=0.0).minimize(problem, problem.x0, budget=budget, seed=0)
        assert res.grad_calls <= budget and problem.grad_calls == res.grad_calls
        assert problem.value_calls == res.value_calls == res.grad_calls  # every trial: one value and one gradient
        assert res.certificate_calls == 0 and problem.stochastic_grad_calls == 0
        assert res.trace["calls"][-1] == res.grad_calls and np.all(np.diff(res.trace["calls"]) >= 0)
        assert res.stopped in ("budget", "converged", "target")
        if res.stopped == "budget":
            assert res.grad_calls == budget
        if budget == 1:  # the gradient at the start only: ε = ‖∇F(x_0)‖ at radius 0
            assert res.certificate.delta == 0.0 and res.certificate.calls == 1
            assert res.certificate.epsilon == pytest.approx(float(np.linalg.norm(problem.grad(res.point))))


def test_deterministic_only_a_stochastic_oracle_is_never_used():
    noisy = objectives.with_noise(objectives.get("max_affine"), "gaussian", 0.5)
    for oracle in ("auto", "exact"):
        problem = objectives.Counting(noisy)
        res = NonsmoothBFGS(delta=0.1).minimize(problem, problem.x0, budget=200, seed=0, oracle=oracle)
        assert problem.stochastic_grad_calls == 0 and problem.grad_calls == res.grad_calls
        assert res.certificate_source == "own" and res.certificate.is_proof
        assert res.certificate.proves(0.1, 1e-6)
    problem = objectives.Counting(noisy)
    with pytest.raises(ValueError, match="not accepted by a deterministic method"):  # said, not run on exact ones
        NonsmoothBFGS(delta=0.1).minimize(problem, problem.x0, budget=200, seed=0, oracle="stochastic")
    assert problem.stochastic_grad_calls == 0 and problem.grad_calls == 0
    assert NonsmoothBFGS()._uses_stochastic() is False


def test_runs_are_seeded():
    obj = objectives.get("o2nc_toy")
    a, b = (NonsmoothBFGS(delta=1e-3).minimize(obj, obj.x0, budget=300, seed=7) for _ in range(2))
    c = NonsmoothBFGS(delta=1e-3).minimize(obj, obj.x0, budget=300, seed=8)
    np.testing.assert_array_equal(a.point, b.point)
    assert a.certificate.as_dict() == b.certificate.as_dict()
    assert not np.array_equal(a.point, c.point)


def test_registered_as_bfgs():
    assert "bfgs" in baselines.names()
    assert baselines.get("bfgs", delta=0.05) == NonsmoothBFGS(delta=0.05)
    assert baselines.registry.entry("bfgs").order == "first-order"


@pytest.mark.parametrize("bad, named", [
    (dict(epsilon=-1e-3), "epsilon"), (dict(epsilon=math.nan), "epsilon"), (dict(armijo=0.0), "armijo"),
    (dict(armijo=1.0), "armijo"), (dict(curvature=1.0), "curvature"), (dict(curvature=0.0), "curvature"),
    (dict(armijo=0.5, curvature=0.5), "curvature"), (dict(armijo=0.6, curvature=0.3), "curvature"),
    (dict(recent_gradients=0), "recent_gradients"), (dict(recent_gradients=2.5), "recent_gradients"),
    (dict(max_bisections=0), "max_bisections"), (dict(max_expansions=-1), "max_expansions"),
    (dict(scale=1), "scale"), (dict(start_perturbation=-1e-3), "start_perturbation"),
    (dict(start_perturbation=math.inf), "start_perturbation"), (dict(delta=0.0), "delta"),
    (dict(certificate_samples=-1), "certificate_samples"),
])
def test_bad_hyperparameters_raise_value_errors_naming_the_parameter(bad, named):
    with pytest.raises(ValueError, match=f"`{named}`"):
        NonsmoothBFGS(**bad)
