"""Baselines: registry-driven checks, certificates on the diagnostics, oracle discipline, INGD and gradient sampling."""
from __future__ import annotations

import math

import numpy as np
import pytest

import objectives
from o2nc import Certificate, baselines
from o2nc.baselines import registry
from o2nc.baselines.ingd import min_norm_segment
from o2nc.certify import goldstein

EXAMPLES = baselines.examples()
IDS = [name for name, _ in EXAMPLES]
METHODS = [b for _, b in EXAMPLES]
ENTRIES = registry.entries()

EXPECTED = {"sgd", "sgd_momentum", "adam", "nsgdm", "ingd", "pingd", "gradient_sampling", "bfgs", "gfm", "gfm_plus",
            "zo_o2nc", "schedule_free", "mechanic"}


def budget_for(method, first_order: int = 300, zero_order: int = 2000) -> int:
    return first_order if method.order == "first-order" else zero_order


def noisy_abs():
    """|x| in 1-D with a Gaussian stochastic oracle (σ = 0.5)."""
    return objectives.with_noise(objectives.get("abs_1d"), "gaussian", 0.5)


def noisy_max_affine():
    """A 2-D max-affine function with a Gaussian stochastic oracle: every method sees randomness (in 1-D the
    two-point estimator is deterministic)."""
    return objectives.with_noise(objectives.get("max_affine"), "gaussian", 0.5)


# --- the registry -----------------------------------------------------------------------------------------------------


def test_registry_lists_every_method_with_summary_rate_and_examples():
    assert set(baselines.names()) == EXPECTED
    for e in ENTRIES:
        assert e.summary and e.rate and e.examples, e.name
        assert e.order in ("first-order", "zero-order")
        assert all(isinstance(b, e.factory) for b in e.examples)
        doc = e.factory.__module__
        assert "(" in __import__(doc, fromlist=["x"]).__doc__  # the module docstring cites its paper


def test_registry_get_builds_and_rejects_unknown_names_and_parameters():
    assert baselines.get("sgd", lr=0.1) == baselines.SGD(lr=0.1)
    with pytest.raises(ValueError, match="did you mean 'ingd'"):
        baselines.get("ingdd")
    with pytest.raises(ValueError, match="accepted parameters"):
        baselines.get("sgd", learning_rate=0.1)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_bad_hyperparameters_are_rejected_with_the_parameter_named(entry):
    assert entry.bad_params, f"{entry.name} lists no bad parameters"
    for bad in entry.bad_params:
        with pytest.raises(ValueError) as info:
            entry.factory(**bad)
        named = [k for k in bad if f"`{k}`" in str(info.value)]
        assert named, f"{entry.name}{bad}: the error does not name the parameter: {info.value}"


def test_minimize_arguments_are_validated():
    sgd = baselines.SGD()
    obj = objectives.get("abs_1d")
    for kwargs, word in ((dict(budget=0), "budget"), (dict(budget=10, seed=-1), "seed"),
                         (dict(budget=10, oracle="noisy"), "oracle"), (dict(budget=10, oracle="stochastic"), "oracle")):
        with pytest.raises(ValueError, match=word):
            sgd.minimize(obj, obj.x0, **kwargs)
    with pytest.raises(ValueError, match="x0"):
        sgd.minimize(obj, np.array([np.nan]), budget=10)


# --- shared behaviour of every example --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS, ids=IDS)
def test_seeded_runs_are_reproducible_and_seeds_matter(method):
    problem = noisy_max_affine()
    budget = budget_for(method)
    a = method.minimize(problem, problem.x0, budget=budget, seed=3)
    b = method.minimize(problem, problem.x0, budget=budget, seed=3)
    c = method.minimize(problem, problem.x0, budget=budget, seed=4)
    np.testing.assert_array_equal(a.point, b.point)
    assert (a.certificate is None) == (b.certificate is None)
    if a.certificate is not None:
        assert a.certificate.as_dict() == b.certificate.as_dict()
        np.testing.assert_array_equal(a.certificate.point, b.certificate.point)
    for key in a.trace:
        np.testing.assert_array_equal(a.trace[key], b.trace[key])
    assert len(a.trace["calls"]) > 0
    assert not np.array_equal(a.point, c.point), "a different seed gave the same run"


@pytest.mark.parametrize("method", METHODS, ids=IDS)
def test_budget_counters_and_trace_agree_with_a_counting_wrapper(method):
    problem = objectives.Counting(objectives.get("max_affine"))
    budget = budget_for(method)
    res = method.minimize(problem, problem.x0, budget=budget, seed=0, record=True)
    assert res.delta > 0 and isinstance(res.certificate, Certificate) and math.isfinite(res.certificate.epsilon)
    assert res.certificate.delta <= res.delta and res.certificate.is_proof  # exact gradients: a proof at δ
    assert np.array_equal(res.certificate.point, res.point)
    calls = res.trace["calls"]
    assert np.all(np.diff(calls) >= 0) and calls[-1] <= budget
    if method.order == "first-order":
        assert res.grad_calls <= budget and calls[-1] == res.grad_calls
        assert problem.grad_calls == res.grad_calls + res.certificate_calls
        assert problem.value_calls == res.value_calls
        assert problem.stochastic_grad_calls == 0  # a deterministic problem
    else:
        assert res.grad_calls == 0 and res.value_calls <= budget and calls[-1] <= res.value_calls
        assert problem.value_calls == res.value_calls
        assert problem.grad_calls == res.certificate_calls  # only the certificate, counted apart
    if res.certificate_source == "own":
        assert res.certificate_calls == 0
        assert 0 < res.certificate.calls <= res.grad_calls  # the gradients that entered ε, within the run's
    else:
        assert res.certificate_source == "goldstein" and res.certificate_calls > 0
        assert res.certificate.calls == res.certificate_calls and res.certificate.radius_kind == "exact"
    assert res.certificate.kind == "sampled one-sided"
    assert res.history is not None and len(res.history["x"]) > 0


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.order == "zero-order"], ids=lambda e: e.name)
def test_zero_order_methods_make_no_gradient_call(entry):
    for method in entry.examples:
        problem = objectives.Counting(noisy_abs())
        res = method.minimize(problem, problem.x0, budget=2000, seed=1, certify=False)
        assert problem.grad_calls == 0 and problem.stochastic_grad_calls == 0
        assert res.grad_calls == 0 and res.certificate_calls == 0 and res.certificate is None
        assert math.isnan(res.epsilon)
        assert res.certificate_source == "none"
        assert 0 < problem.value_calls == res.value_calls <= 2000


@pytest.mark.parametrize("name", ["sgd", "adam", "schedule_free", "mechanic", "nsgdm", "sgd_momentum"])
def test_first_order_methods_use_only_gradients_and_the_stochastic_oracle_when_there_is_one(name):
    problem = objectives.Counting(noisy_abs())
    res = baselines.get(name).minimize(problem, problem.x0, budget=200, seed=0)
    assert problem.value_calls == 0 and res.value_calls == 0
    assert problem.stochastic_grad_calls == 200 == res.grad_calls
    assert problem.grad_calls == res.certificate_calls  # exact gradients only for the certificate
    exact = baselines.get(name).minimize(problem, problem.x0, budget=50, seed=0, oracle="exact")
    assert problem.stochastic_grad_calls == 200 and exact.grad_calls == 50


def test_a_non_finite_gradient_stops_the_run_naming_the_call():
    class Blows:
        def value(self, x):
            return float(x @ x)

        def grad(self, x):
            return np.full_like(x, np.inf) if abs(x[0]) < 0.5 else 2 * x

    with pytest.raises(baselines.NonFiniteOracleError, match="oracle call 2"):
        baselines.SGD(lr=0.3).minimize(Blows(), np.array([1.0]), budget=10)


# --- certificates on |x| and max-affine -------------------------------------------------------------------------------

EPSILON = 1e-6  # the stated ε; every certificate below is an upper bound on dist(0, ∂_δ F) for δ = 0.1
DELTA = 0.1
CERT_CASES = {  # name: (hyperparameters, budget in the method's oracle calls)
    "sgd": (dict(lr=0.005), 3000),
    "sgd_momentum": (dict(lr=0.0005, momentum=0.9), 3000),
    "adam": (dict(lr=0.005), 3000),
    "nsgdm": (dict(lr=0.005), 3000),
    "ingd": (dict(epsilon=EPSILON), 3000),
    "pingd": (dict(epsilon=EPSILON), 3000),
    "gradient_sampling": (dict(), 3000),
    "bfgs": (dict(epsilon=EPSILON), 2000),
    "gfm": (dict(lr=0.005), 8000),
    "gfm_plus": (dict(lr=0.02, batch=4, inner_batch=1, period=4), 6000),
    "zo_o2nc": (dict(epoch_length=5, lr=0.005), 4000),
    "schedule_free": (dict(lr=0.02), 3000),
    "mechanic": (dict(lr=0.01), 3000),
}


def test_every_registered_method_has_a_certificate_case():
    assert set(CERT_CASES) == set(baselines.names())


@pytest.mark.parametrize("objective", ["abs_1d", "max_affine"])
@pytest.mark.parametrize("name", sorted(CERT_CASES))
def test_certificate_below_epsilon_within_budget(name, objective):
    obj = objectives.get(objective)
    params, budget = CERT_CASES[name]
    method = baselines.get(name, delta=DELTA, certificate_samples=64, **params)
    res = method.minimize(obj, obj.x0, budget=budget, seed=0)
    exact = obj.goldstein(res.point, res.delta)
    assert res.delta <= DELTA and res.certificate.delta <= res.delta
    assert res.certificate.proves(DELTA, EPSILON), \
        f"{name} on {objective}: certificate {res.certificate!r} (exact {exact:.3g})"
    # soundness: a certificate is an upper bound on the exact Goldstein value
    assert res.certificate.epsilon >= exact - 1e-12


# --- INGD and perturbed INGD ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ingd", "pingd"])
@pytest.mark.parametrize("objective", ["max_affine", "o2nc_toy", "l1_norm"])
def test_ingd_steps_are_normalized_to_length_delta(name, objective):
    obj = objectives.get(objective)
    delta = 0.05
    res = baselines.get(name, delta=delta).minimize(obj, obj.x0, budget=600, seed=2, record=True)
    h = res.history
    assert len(h["trial"]) > 10
    lengths = np.linalg.norm(h["trial"] - h["x"], axis=1)
    np.testing.assert_allclose(lengths, delta, rtol=1e-12)
    accepted = h["accepted"].astype(bool)
    assert accepted.any() and (~accepted).any()
    if name == "ingd":  # without perturbation the accepted trial is the next iterate: consecutive x differ by δ
        xs = h["x"]
        moved = np.linalg.norm(np.diff(xs, axis=0), axis=1)
        np.testing.assert_allclose(moved[moved > 0], delta, rtol=1e-12)
        assert np.sum(moved > 0) == np.sum(accepted[:-1])


@pytest.mark.parametrize("name", ["ingd", "pingd"])
@pytest.mark.parametrize("objective", ["max_affine", "l1_norm", "scaled_norm", "abs_affine"])
def test_ingd_certificate_is_sound(name, objective):
    obj = objectives.get(objective)
    for delta in (0.02, 0.2):
        res = baselines.get(name, delta=delta).minimize(obj, obj.x0, budget=200, seed=5)
        assert res.certificate_source == "own" and res.certificate.kind == "sampled one-sided"
        assert res.certificate.delta == delta and res.certificate.radius_kind == "bound"
        assert res.certificate.epsilon >= obj.goldstein(res.point, delta) - 1e-12


def test_min_norm_segment_contraction_inequality():
    """‖m'‖² ≤ ‖m‖²(1 − (1−c)²‖m‖²/(4L²)) whenever ⟨g, m⟩ ≤ c‖m‖², L ≥ ‖g‖, ‖m‖ (the ingd module's derivation)."""
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(20000):
        d = int(rng.integers(1, 6))
        m, g = rng.standard_normal(d), rng.standard_normal(d) * rng.exponential()
        c = rng.uniform(0.05, 0.95)
        if g @ m > c * (m @ m):
            continue
        L = max(np.linalg.norm(m), np.linalg.norm(g))
        new = min_norm_segment(m, g)
        lam = np.linspace(0, 1, 201)[:, None]
        assert np.linalg.norm(new) <= np.linalg.norm(m + lam * (g - m), axis=1).min() + 1e-12  # it is the min
        assert new @ new <= (m @ m) * (1 - (1 - c) ** 2 * (m @ m) / (4 * L * L)) + 1e-12
        checked += 1
    assert checked > 5000


def test_ingd_with_a_stochastic_oracle_reports_a_computed_certificate():
    problem = noisy_abs()
    res = baselines.INGD(delta=0.1).minimize(problem, problem.x0, budget=200, seed=0)
    assert res.certificate_source == "goldstein" and res.certificate_calls > 0
    assert res.certificate.kind == "sampled one-sided" and res.certificate.is_proof


def test_a_stochastic_running_quantity_is_returned_as_an_estimate_never_a_proof():
    """INGD's ‖m‖ from stochastic gradients, without a computed certificate: kind "stochastic estimate"."""
    problem = noisy_abs()
    res = baselines.INGD(delta=0.1).minimize(problem, problem.x0, budget=200, seed=0, certify=False)
    assert res.certificate_source == "estimate" and res.certificate_calls == 0
    assert res.certificate.kind == "stochastic estimate" and not res.certificate.is_proof
    assert not res.certificate.proves(0.1, math.inf)
    assert "not a proof" in res.certificate.describe(0.1)


def test_first_order_methods_without_a_certificate_claim_nothing_with_certify_false():
    problem = objectives.get("max_affine")
    res = baselines.SGD(lr=0.01).minimize(problem, problem.x0, budget=50, seed=0, certify=False)
    assert res.certificate is None and res.certificate_source == "none" and math.isnan(res.epsilon)


# --- gradient sampling ------------------------------------------------------------------------------------------------


def test_gradient_sampling_min_norm_element_matches_the_certifier():
    obj = objectives.get("max_affine", n=3, k=7, seed=1)
    res = baselines.GradientSampling(delta=0.3).minimize(obj, obj.x0, budget=600, seed=0, record=True)
    h = res.history
    assert len(h["certificate"]) >= 5
    for x, r, P, direction, value in zip(h["x"], h["radius"], h["points"], h["direction"], h["certificate"]):
        np.testing.assert_array_equal(P[0], x)
        cert = goldstein(obj, x, r, samples=0, points=P[1:], exact=False)
        assert cert.value == pytest.approx(value, rel=1e-12, abs=1e-14)
        np.testing.assert_allclose(cert.direction, direction, rtol=1e-10, atol=1e-13)
        # optimality of the min-norm point p of conv{g_i}, checked independently: ⟨g_i, p⟩ ≥ ‖p‖² for every i
        G = np.vstack([obj.grad(p) for p in P])
        assert np.all(G @ direction >= direction @ direction - 1e-10)
        # and the sampled points lie in the ball of the current radius
        assert np.all(np.linalg.norm(P - x, axis=1) <= r * (1 + 1e-12))


CONVEX_LV = ["cb2", "cb3", "dem", "ql", "lq", "mifflin1", "wolfe", "rosen_suzuki", "shor", "maxquad", "maxq", "maxl",
             "mxhilb", "l1hilb"]


@pytest.mark.parametrize("name", CONVEX_LV)
def test_gradient_sampling_reaches_f_star_on_convex_luksan_vlcek(name):
    """f(x) − f* ≤ 10^-4·max(1, |f*|) (relative, or absolute where f* = 0). Goffin (n = 50, 50 pieces active at the
    solution) is left out: with m = 2n samples GS stalls there at f ≈ 15 within 2·10^5 gradients."""
    obj = objectives.get(name)
    assert "convex" in obj.tags
    res = baselines.GradientSampling(delta=0.1).minimize(obj, obj.x0, budget=60000, seed=0, record=True)
    gap = float(obj.value(res.point)) - obj.f_star
    assert res.stopped == "converged"
    assert gap <= 1e-4 * max(1.0, abs(obj.f_star)), f"{name}: f − f* = {gap:.3g}"
    assert gap >= -1e-4 * max(1.0, abs(obj.f_star))  # f* is the tabulated optimum (rounded)
    # The radius shrinks when the certificate is ≤ ν or when the Armijo line search fails (the safeguard of the
    # module docstring, step 3); the run stops once the radius is below min_radius.  So the last certificate is ≤ ν
    # unless the last search failed, and some radius on the way down was certified at ν.
    tol = baselines.GradientSampling().tolerance
    history = res.history
    assert res.certificate.epsilon <= tol or history["step"][-1] == 0.0
    assert min(history["certificate"]) <= tol


# --- zero-order pieces ------------------------------------------------------------------------------------------------


def test_two_point_estimator_is_unbiased_for_the_smoothed_gradient():
    from o2nc.baselines._base import Oracles, sphere_directions, two_point_estimate

    class Quad:  # f = ½‖x‖² + ⟨a, x⟩: the uniform smoothing has the same gradient x + a
        a = np.array([0.3, -1.0, 2.0])

        def value(self, x):
            return 0.5 * float(x @ x) + float(self.a @ x)

    x = np.array([1.0, 0.5, -0.2])
    calls = Oracles(Quad(), budget=10**6, counts="value", stochastic=False, rng=None, owner="test")
    rng = np.random.default_rng(0)
    n = 20000
    g = two_point_estimate(calls, x, 0.1, sphere_directions(rng, n, 3))
    # per-sample estimate d⟨x + a, w⟩w has covariance ≤ d‖x + a‖²·I/… ; 5 standard errors
    sd = 3 * np.linalg.norm(x + Quad.a) / np.sqrt(n)
    np.testing.assert_allclose(g, x + Quad.a, atol=5 * sd)
    assert calls.value_calls == 2 * n

    class Abs:  # in 1-D the estimator is exact: f_ρ'(x) = x/ρ for |x| ≤ ρ
        def value(self, x):
            return float(abs(x[0]))

    one = Oracles(Abs(), budget=10, counts="value", stochastic=False, rng=None, owner="test")
    assert two_point_estimate(one, np.array([0.03]), 0.1, np.array([[-1.0]]))[0] == pytest.approx(0.3)


def test_zero_order_o2nc_epochs_stay_within_delta_minus_smoothing():
    obj = objectives.get("o2nc_toy", n=5)
    method = baselines.ZeroOrderO2NC(delta=0.2, smoothing=0.05, epoch_length=8, lr=0.01)
    res = method.minimize(obj, obj.x0, budget=3200, seed=0, record=True)
    assert np.all(res.trace["radius"] <= 0.15 * (1 + 1e-12))
    assert res.trace["certificate_estimate"].shape == res.trace["calls"].shape == (200,)
    # the run is O2NC: the anchors move by the learner's increments, projected on the ball of radius D = 0.15/8
    steps = np.linalg.norm(res.history["delta"], axis=1)
    assert steps.max() <= 0.15 / 8 * (1 + 1e-12)
    T, D, lr, rho, n = method.parameters(3200, 5)
    assert (T, rho, n) == (8, 0.05, 1600) and D == pytest.approx(0.15 / 8) and lr == 0.01


@pytest.mark.parametrize("batch", [1, 4])
def test_zero_order_o2nc_theory_epoch_length_includes_the_estimator_noise(batch):
    """[CMO23] Theorem 8's σ/√T with σ = G/√b: one direction's estimate has E‖g − ∇f_ρ‖² ≤ E‖g‖² ≤ G²."""
    from o2nc.baselines.zo_o2nc import estimator_second_moment
    from o2nc.theory import ogd_parameters

    method = baselines.ZeroOrderO2NC(delta=0.2, lipschitz=2.0, gap=3.0, batch=batch)
    T, D, lr, rho, n = method.parameters(200_000, 5)
    G = estimator_second_moment(5, 2.0)
    p = ogd_parameters(n, 0.1, G, 3.0, sigma=G / math.sqrt(batch))
    assert n == 200_000 // (2 * batch) and T == p.epoch_length and D == p.radius and lr == p.lr
    assert T > ogd_parameters(n, 0.1, G, 3.0).epoch_length  # the σ-free T was shorter


SMALL_LV = [n for n in objectives.names(tags=["luksan-vlcek"]) if objectives.get(n).dim <= 5]


@pytest.mark.parametrize("name", SMALL_LV)
def test_ingd_only_descends_on_small_luksan_vlcek(name):
    """INGD moves only under sufficient descent, F(x_{t+1}) ≤ F(x_t) − δ‖m‖/4, so F along its iterates never rises,
    and its certificate is finite (convex and non-convex problems alike)."""
    obj = objectives.get(name)
    delta = 0.05
    res = baselines.INGD(delta=delta).minimize(obj, obj.x0, budget=400, seed=0, record=True)
    values = res.trace["value"]
    assert np.all(np.diff(values) <= 0.0)
    h = res.history
    accepted = h["accepted"].astype(bool)
    if accepted.any():
        f_x = np.array([float(obj.value(x)) for x in h["x"][accepted]])
        f_trial = np.array([float(obj.value(x)) for x in h["trial"][accepted]])
        assert np.all(f_trial < f_x)  # every accepted δ-step strictly lowers F
    assert math.isfinite(res.certificate.epsilon) and float(obj.value(res.point)) <= float(obj.value(obj.x0))


def test_ingd_does_not_stop_on_a_zero_stochastic_gradient():
    """With a stochastic oracle ‖m‖ is no certificate: a zero stochastic gradient must not end the run."""
    obj = objectives.get("hard_chain", eps=0.1, delta=0.1, sigma=20.0, gap=3000.0)
    for name in ("ingd", "pingd"):
        result = baselines.get(name, delta=0.1).minimize(obj, np.zeros(obj.dim), budget=500, seed=0, certify=False)
        assert result.stopped == "budget" and result.grad_calls == 500, (name, result.stopped, result.grad_calls)
    # with exact gradients the ‖m‖ = 0 stop is a sound certificate and still ends the run
    exact = baselines.get("ingd", delta=0.1).minimize(objectives.get("abs_1d"), np.array([0.05]), budget=500, seed=0,
                                                      oracle="exact")
    assert exact.stopped == "target" and exact.certificate.epsilon == 0.0
