"""The tight family ``tight_ramp`` (objectives/tight_family.py): oracles, metadata, exact Goldstein oracle, the
lower-bound property of O2NC at its theory tuning, parameter errors; and (slow) the measured rate exponents."""
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

import objectives
from objectives.minnorm import min_norm
from objectives.tight_family import SLOPE_FACTOR, gradients

ROOT = Path(__file__).resolve().parents[1]
PARAMS = [dict(), dict(eps=0.05, delta=0.02, G=0.3, sigma=0.5, gap=0.2),
          dict(eps=0.01, delta=0.3, G=2.0, sigma=0.0, gap=3.0, slope_factor=1.2)]


def _rates():
    spec = importlib.util.spec_from_file_location("tight_family_rates", ROOT / "experiments" / "tight_family_rates.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _away_from_kinks(obj, rng, n, margin=1e-3):
    c = obj.extra["plateau"]
    out = []
    while len(out) < n:
        x = obj.x0 * rng.random() + 2 * c * rng.standard_normal(2)
        if min(abs(x[0]), abs(x[1]), abs(abs(x[1]) - c)) > margin:
            out.append(x)
    return out


@pytest.mark.parametrize("params", PARAMS)
def test_tight_metadata_value_and_gap(params):
    obj = objectives.get("tight_ramp", **params)
    eps = obj.params["eps"]
    kappa = params.get("slope_factor", SLOPE_FACTOR)
    slope, a, c = obj.extra["slope"], obj.extra["perturbation_slope"], obj.extra["plateau"]
    assert slope == pytest.approx(kappa * eps) and c == pytest.approx(4 * obj.params["delta"])
    assert {"nonconvex", "nonsmooth", "stochastic", "tight"} <= obj.tags
    assert obj.dim == 2 and obj.f_star == 0.0 and np.array_equal(obj.x_star, [0.0, 0.0])
    assert float(obj.value(obj.x_star)) == 0.0
    # F(x0) − f* = gap: the ramp of slope ε' and length ℓ = gap/ε'
    assert float(obj.value(obj.x0)) == pytest.approx(obj.params["gap"], rel=1e-14)
    assert obj.x0[0] == pytest.approx(obj.params["gap"] / slope) and obj.x0[1] == 0.0
    # f ≥ 0 everywhere (f* is the infimum), the formula at a few points
    rng = np.random.default_rng(0)
    for _ in range(200):
        x = 10 * c * rng.standard_normal(2)
        assert float(obj.value(x)) == pytest.approx(slope * abs(x[0]) + a * min(abs(x[1]), c), rel=1e-14)
        assert float(obj.value(x)) >= 0.0
    # non-convex: the midpoint inequality fails across the plateau's edge
    x, y = np.array([0.0, 0.0]), np.array([0.0, 2 * c])
    assert float(obj.value((x + y) / 2)) > (float(obj.value(x)) + float(obj.value(y))) / 2 - 1e-15 or \
        float(obj.value(np.array([0.0, 1.5 * c]))) > 0.5 * (float(obj.value(np.array([0.0, c]))) +
                                                            float(obj.value(np.array([0.0, 2 * c]))))
    assert float(obj.value(np.array([0.0, c]))) > 0.5 * (float(obj.value(np.array([0.0, 0.0]))) +
                                                         float(obj.value(np.array([0.0, 2 * c]))))


@pytest.mark.parametrize("params", PARAMS)
def test_tight_lipschitz_constant_is_exact(params):
    obj = objectives.get("tight_ramp", **params)
    G = obj.params["G"]
    assert obj.lipschitz == G and obj.lipschitz_is_exact
    rng = np.random.default_rng(1)
    c = obj.extra["plateau"]
    norms = [np.linalg.norm(obj.grad(x)) for x in _away_from_kinks(obj, rng, 300)]
    assert max(norms) <= G * (1 + 1e-14)
    # attained on the slope of the perturbation (piece gradient (±ε', ±a), norm √(ε'² + a²) = G)
    assert np.linalg.norm(obj.grad(np.array([1.0, 0.5 * c]))) == pytest.approx(G, rel=1e-14)
    # |F(x) − F(y)| ≤ G‖x − y‖ on random pairs, tight along (ε', a)
    for _ in range(300):
        x, y = 3 * c * rng.standard_normal(2), 3 * c * rng.standard_normal(2)
        assert abs(float(obj.value(x)) - float(obj.value(y))) <= G * np.linalg.norm(x - y) * (1 + 1e-12) + 1e-15
    u = np.array([obj.extra["slope"], obj.extra["perturbation_slope"]]) / G
    x = np.array([1.0, 0.1 * c])
    assert float(obj.value(x + 0.5 * c * u)) - float(obj.value(x)) == pytest.approx(0.5 * c * G, rel=1e-12)


@pytest.mark.parametrize("params", PARAMS)
def test_tight_gradient_matches_finite_differences(params):
    obj = objectives.get("tight_ramp", **params)
    rng = np.random.default_rng(2)
    for x in _away_from_kinks(obj, rng, 50):
        g = obj.grad(x)
        h = 1e-7
        fd = [(float(obj.value(x + h * e)) - float(obj.value(x - h * e))) / (2 * h) for e in np.eye(2)]
        np.testing.assert_allclose(fd, g, rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(gradients(np.array(_away_from_kinks(obj, rng, 20)), obj.extra["slope"],
                                            obj.extra["perturbation_slope"], obj.extra["plateau"]),
                                  np.array([obj.grad(x) for x in _away_from_kinks(obj, np.random.default_rng(2), 70)
                                            ][50:]))
    # at the kinks the oracle returns an element of the Clarke subdifferential (the middle of the two slopes)
    c = obj.extra["plateau"]
    np.testing.assert_array_equal(obj.grad(np.array([0.0, 0.0])), [0.0, 0.0])
    assert obj.grad(np.array([1.0, c]))[1] == 0.0 and obj.grad(np.array([-1.0, -c]))[1] == 0.0


@pytest.mark.parametrize("params", PARAMS)
def test_tight_stochastic_oracle_unbiased_with_variance_sigma2(params):
    obj = objectives.get("tight_ramp", **params)
    sigma = obj.params["sigma"]
    x = np.array([0.5 * obj.x0[0], 0.5 * obj.extra["plateau"]])
    g = obj.grad(x)
    S = np.array([obj.stochastic_grad(x, np.random.default_rng(10_000 + i)) for i in range(20_000)])
    xi = S - g
    if sigma == 0:
        assert np.all(xi == 0)
        return
    se = sigma / math.sqrt(2) / math.sqrt(len(S))
    assert np.all(np.abs(xi.mean(axis=0)) <= 5 * se)                      # unbiased
    # E‖ξ‖² = σ² (chi-square with 2·20000 degrees of freedom: relative sd 1/√20000 = 0.7%), σ²/2 per coordinate
    assert np.mean(np.sum(xi**2, axis=1)) == pytest.approx(sigma**2, rel=0.04)
    np.testing.assert_allclose(xi.var(axis=0), sigma**2 / 2, rtol=0.06)
    assert obj.extra["noise_variance"] == sigma**2
    # a batch of b draws is averaged: variance σ²/b
    B = np.array([obj.stochastic_grad(x, np.random.default_rng(i), 16) for i in range(4000)]) - g
    assert np.mean(np.sum(B**2, axis=1)) == pytest.approx(sigma**2 / 16, rel=0.08)


def test_tight_stochastic_oracle_seeded():
    obj = objectives.get("tight_ramp")
    x = obj.x0 * 0.3
    a = [obj.stochastic_grad(x, np.random.default_rng(5)) for _ in range(3)]
    np.testing.assert_array_equal(a[0], a[1])
    rng = np.random.default_rng(5)
    seq1 = np.array([obj.stochastic_grad(x, rng) for _ in range(5)])
    rng = np.random.default_rng(5)
    seq2 = np.array([obj.stochastic_grad(x, rng) for _ in range(5)])
    np.testing.assert_array_equal(seq1, seq2)
    assert not np.array_equal(seq1[0], seq1[1])
    assert not np.array_equal(a[0], obj.stochastic_grad(x, np.random.default_rng(6)))


def _sampled_goldstein(obj, x, delta, rng, m=4000):
    """min-norm of the hull of gradients at m points of the closed ball (half uniform inside, half on the sphere)."""
    u = rng.standard_normal((m, 2))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    r = delta * np.r_[np.sqrt(rng.random(m // 2)), np.ones(m - m // 2)]
    ex = obj.extra   # the batched oracle (equal to obj.grad: test_tight_gradient_matches_finite_differences)
    G = gradients(x + r[:, None] * u, ex["slope"], ex["perturbation_slope"], ex["plateau"])
    return min_norm(np.unique(G, axis=0)).value       # the same hull, without the repeated rows


@pytest.mark.parametrize("params", PARAMS[:2])
def test_tight_goldstein_against_dense_sampling(params):
    obj = objectives.get("tight_ramp", **params)
    c, slope = obj.extra["plateau"], obj.extra["slope"]
    rng = np.random.default_rng(3)
    seen = set()
    for delta in (0.3 * c, 0.5 * c, c, 2 * c):
        # points near the ramp's end, on the perturbation's slopes and plateau edges, and on the ramp
        # (no ball merely touching a piece: sampling cannot see a piece met in a single point, the closed ball can)
        for x in ([0.31 * delta, 0.013 * c], [0.7 * delta, 0.43 * c], [-0.5 * delta, 1.17 * c], [2.1 * delta, 0.02 * c],
                  [0.9 * delta, -3.1 * c], [3.1 * delta, c + 0.45 * delta], [0.1 * delta, -c - 0.8 * delta],
                  [0.2 * delta, 0.5 * c + 0.3 * delta], list(rng.standard_normal(2) * 2 * c)):
            x = np.array(x)
            exact = obj.goldstein(x, delta)
            sampled = _sampled_goldstein(obj, x, delta, rng)
            assert sampled >= exact - 1e-9 * obj.lipschitz            # the sampled hull lies in ∂_δF(x)
            assert sampled <= exact + 2e-3 * obj.lipschitz, (x, delta, exact, sampled)
            assert obj.goldstein(x, 2 * delta) <= exact + 1e-12       # monotone in δ
            seen.add(round(exact, 9))
    assert {0.0, round(slope, 9), round(obj.extra["perturbation_slope"], 9)} <= seen   # all three regimes
    # closed forms: the ramp's slope far from the kink, with x₂ on the plateau or at the perturbation's kink
    assert obj.goldstein(np.array([5 * c, 3 * c]), 0.5 * c) == pytest.approx(slope, rel=1e-12)
    assert obj.goldstein(np.array([5 * c, 0.0]), 0.5 * c) == pytest.approx(slope, rel=1e-12)
    assert obj.goldstein(np.array([0.2 * c, 0.1 * c]), 0.5 * c) == pytest.approx(0.0, abs=1e-12)
    # the closed ball counts a piece it touches in one point: at x = (0.35c, 0.5c) with δ = 0.5c the ball meets
    # {x₂ ≤ 0} only at (0.35c, 0), which adds (ε', −a); with (−ε', a) the hull holds 0
    assert obj.goldstein(np.array([0.35 * c, 0.5 * c]), 0.5 * c) == pytest.approx(0.0, abs=1e-12)
    assert obj.goldstein(np.array([0.35 * c, 0.5 * c]), 0.4999 * c) > 0.1 * slope


def _theory_run(obj, epochs, seed=0):
    """O2NC + restarted projected OGD at the theory tuning for ε's budget, stochastic oracle, first ``epochs``."""
    import o2nc
    from o2nc.methods.tuning import theory_budget
    from o2nc.theory import ogd_parameters
    from online_learners import OGD

    p = obj.params
    N = theory_budget(p["eps"], p["delta"], p["G"], p["gap"], p["sigma"])
    par = ogd_parameters(N, p["delta"], p["G"], p["gap"], p["sigma"])
    res = o2nc.minimize(obj.stochastic_grad, obj.x0.copy(), learner=OGD(lr=par.lr, radius=par.radius),
                        budget=epochs * par.epoch_length, epoch_length=par.epoch_length, seed=seed,
                        delta=p["delta"], record=True)
    return par, res


def test_tight_lower_bound_no_epoch_on_the_ramp_certifies():
    """Every exact-gradient epoch of O2NC at theory tuning whose points lie on the ramp has certificate ≥ ε' > ε, the
    anchor moves at most δ per epoch, and an epoch mean farther than δ from the kink is not (δ, ε')-stationary."""
    from o2nc.certify import epoch_certificate

    obj = objectives.get("tight_ramp", eps=0.2, delta=0.1, G=0.5, sigma=0.2, gap=0.4)
    slope, ell, delta = obj.extra["slope"], obj.extra["ramp_length"], obj.params["delta"]
    lower = math.ceil(obj.extra["lower_bound_epochs"])          # ℓ/δ = 0.4/(0.4·0.1) = 10 epochs
    par, res = _theory_run(obj, epochs=lower + 3)
    T = par.epoch_length
    W = np.asarray(res.history.w)
    X = np.asarray(res.history.x)
    on_ramp = 0
    for k in range(lower + 3):
        pts = W[k * T:(k + 1) * T]
        cert = epoch_certificate(obj, pts)
        assert cert.delta <= delta * (1 + 1e-12)                 # D = δ/T keeps every epoch within δ of its mean
        assert X[(k + 1) * T - 1, 0] >= ell - (k + 1) * delta * (1 + 1e-12)   # travel ≤ δ per epoch
        if np.all(pts[:, 0] > 0):
            on_ramp += 1
            assert cert.epsilon >= slope * (1 - 1e-12) > obj.params["eps"]
            assert cert.min_norm >= slope * (1 - 1e-12)          # even the min-norm certificate over the epoch
            if pts.mean(axis=0)[0] > delta:
                assert obj.goldstein(pts.mean(axis=0), delta) >= slope * (1 - 1e-12)
    assert on_ramp >= lower - 1                                   # the first ℓ/δ − 1 epochs cannot leave the ramp
    # the run does reach the kink and certifies there, one or two epochs after ℓ/δ
    exact = [epoch_certificate(obj, W[k * T:(k + 1) * T]).epsilon for k in range(lower + 3)]
    first = next(k for k, e in enumerate(exact) if e <= obj.params["eps"])
    assert lower <= first + 1 <= lower + 3


def test_tight_rates_script_quick_grid():
    mod = _rates()
    rows = mod.sweep(mod.QUICK, jobs=1)
    assert all(r["queries"] is not None for r in rows)
    for r in rows:
        assert r["queries"] >= r["lower_bound_queries"] * (1 - 1e-12)       # the travel lower bound T·ℓ/δ
        assert r["ratio"] <= 1.0                                           # within the Theorem-8 budget
        assert r["radius"] <= r["delta"] * (1 + 1e-12) and r["certificate"] <= r["eps"]
    fit = mod.fit(rows)
    assert fit["bound_violations"] == 0 and fit["runs"] == len(rows)


@pytest.mark.parametrize("param, value", [("eps", 0.0), ("eps", -0.1), ("delta", 0.0), ("sigma", -1.0),
                                          ("gap", 0.0), ("G", 0.2), ("G", -1.0), ("G", float("nan")),
                                          ("slope_factor", 1.0), ("slope_factor", 0.5), ("slope_factor", 1e3)])
def test_tight_bad_parameters_name_them(param, value):
    with pytest.raises(ValueError, match=f"`{param}`"):
        objectives.get("tight_ramp", **{param: value})


@pytest.mark.parametrize("oracle", ["auto", "exact"])
def test_exact_grid_tuning_has_no_rounding(oracle):
    """On ``exact_grid`` the method's own tuning gives T = 16·4^i, N_ε = 32·T^{3/2} (a power of 2) and K = N_ε/T
    exactly, so T ∝ ε⁻² and N_ε ∝ ε⁻³ hold without rounding (the grid's docstring derives it)."""
    from o2nc import methods

    grid = _rates().exact_grid(oracle)
    delta = grid["delta"][0]
    for i, eps in enumerate(grid["eps"]):
        obj = objectives.get("tight_ramp", eps=eps, delta=delta, G=grid["G"], sigma=grid["sigma"], gap=grid["gap"],
                             slope_factor=grid["slope_factor"])
        method = methods.get("o2nc", learner="ogd", tuning="theory", epsilon=eps)
        budget = method.plan(obj, budget=1, delta=delta, oracle=oracle).info["theory_budget"]
        plan = method.plan(obj, budget=budget, delta=delta, oracle=oracle)
        T = 16 * 4**i
        assert plan.info["oracle"] == ("stochastic" if oracle == "auto" else "exact")
        assert (plan.epoch_length, budget) == (T, 32 * 8**i * 64), (eps, plan.epoch_length, budget)
        assert budget & (budget - 1) == 0 and budget % T == 0
        assert obj.extra["lower_bound_epochs"] == pytest.approx(budget / T / (2 * grid["slope_factor"]), rel=1e-12)


@pytest.fixture(scope="module")
def measured():
    """The rate sweep of ``experiments/tight_family_rates.py`` (the grid of experiments/rates.toml): O2NC + OGD at
    theory tuning, 5 ε over a decade × 3 δ × 5 seeds, T ≥ 36 everywhere (about a minute of compiled runs on 2 idle
    cores), and its fit."""
    mod = _rates()
    rows = mod.sweep(mod.GRID, jobs=1)  # one process: the runs of one (ε, δ) share a compilation
    return rows, mod.fit(rows)


@pytest.mark.slow
def test_tight_measured_exponents(measured):
    """At each fixed δ the ε-interval contains −3 and lies below −2.5; the joint δ-interval contains −1; every run
    within its Theorem-8 budget and above the travel floor T·ℓ/δ."""
    rows, fit = measured
    assert min(r["T"] for r in rows) >= 30
    assert all(r["queries"] is not None and r["queries"] >= r["lower_bound_queries"] for r in rows)
    assert len(fit["per_delta"]) == 3
    for delta, f in fit["per_delta"].items():
        lo, hi = f["eps_ci"]
        assert lo <= -3.0 <= hi and hi < -2.5, (delta, f)
    lo, hi = fit["delta_ci"]
    assert lo <= -1.0 <= hi, fit
    assert fit["bound_violations"] == 0, fit


@pytest.mark.slow
def test_tight_joint_eps_interval(measured):
    """The joint fit over all three δ (the interval on the 15 design cells' means, ``o2nc.experiments.fit``): its
    ε-interval contains −3 and lies below −2.5.  Measured: −3.0015 [−3.0054, −2.9976]; the residual bootstrap over
    the 75 runs as if independent gave [−3.0030, −3.00006], too narrow by the measured factor of the module's
    docstring, since the five seeds of a cell share its finite-size departure from the line."""
    _, fit = measured
    lo, hi = fit["eps_ci"]
    assert lo <= -3.0 <= hi and hi < -2.5, fit
