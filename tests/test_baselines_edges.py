"""Baselines at their edges: INGD's radius after rounding, INGD's stochastic estimate and its wording, schedule-free
SGD's averaging weights at extreme powers, the zero-order methods' up-front contract, non-finite certificate
gradients, and the rates the docstrings state."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import objectives
from o2nc import Certificate, baselines
from o2nc.baselines import NonFiniteOracleError
from o2nc.certificate import ESTIMATES

# --- INGD's radius after rounding -------------------------------------------------------------------------------------

X1 = 1e8  # ulp(1e8) = 2^-26 ≈ 1.49e-8: a step of 2.5e-8 from X1 can round to 2.98e-8


class RecordedV:
    """F(y) = |y − X1| in 1-D (subgradient +1 at X1), recording every gradient query: from x_0 = X1 the trial step is
    always rejected, so X1 is the only outer iterate of INGD and every gradient point must lie within δ of it."""

    def __init__(self):
        self.queries = []

    def value(self, x):
        return float(abs(x[0] - X1))

    def grad(self, x):
        self.queries.append(float(x[0]))
        return np.array([1.0 if x[0] >= X1 else -1.0])


@pytest.mark.parametrize("name", ["ingd", "pingd"])
def test_ingd_sampled_points_lie_within_delta_after_rounding(name):
    """y = x_t − s·u is drawn with s ≤ rounding_safe_radius(δ, ‖x_t‖), so the computed (rounded) y is within δ of x_t
    and the reported radius δ (a bound) holds; s uniform in [0, δ] put y at 2.98e-8 > δ = 2.5e-8 for some seeds."""
    delta = 2.5e-8
    far = 0
    for seed in range(40):
        problem = RecordedV()
        res = baselines.get(name, delta=delta).minimize(problem, np.array([X1]), budget=60, seed=seed)
        assert res.certificate_source == "own" and res.certificate.radius_kind == "bound"
        center = problem.queries[0]  # the only outer iterate (pingd's perturbation ρ = 2.5e-11 rounds away at 1e8)
        assert center == X1 and np.array_equal(res.point, [X1])
        dists = np.abs(np.array(problem.queries) - center)
        far += int(np.sum(dists > res.certificate.delta))
        # the certificate is sound: with every point within δ of X1, ∂_δ F(X1) ∋ 0 exactly when a point left of X1
        # entered m, and ε = 0 is reported only then
        if res.certificate.epsilon == 0.0:
            assert np.any(np.array(problem.queries) < X1)
    assert far == 0, f"{name}: {far} gradient points beyond the reported radius δ = {delta}"


@pytest.mark.parametrize("name", ["ingd", "pingd"])
def test_ingd_refuses_a_delta_below_the_float64_resolution_before_any_call(name):
    problem = RecordedV()
    with pytest.raises(ValueError, match="delta"):
        baselines.get(name, delta=1e-8).minimize(problem, np.array([X1]), budget=50)
    assert problem.queries == []


def test_ingd_radius_is_delta_up_to_1e12_at_ordinary_scales():
    """At ‖x‖ ≈ 1 the safe radius is δ(1 − ~1e-12): the sampled points still reach across the whole segment."""
    obj = objectives.get("abs_1d")
    res = baselines.INGD(delta=0.1).minimize(obj, np.array([0.05]), budget=200, seed=0, record=True)
    q = res.history["query"]
    assert np.all(np.abs(q - 0.05) <= 0.1)
    assert res.certificate.delta == 0.1 and res.certificate.epsilon == 0.0


# --- INGD on a stochastic oracle: the last iterate, an estimate worded as what it is ---------------------------------


@pytest.mark.parametrize("name", ["ingd", "pingd"])
def test_stochastic_ingd_returns_the_last_iterate_not_the_noisy_minimum(name):
    """tight_ramp: the minimum of the noisy ‖m‖ over the run was 1e-17 at call 287 where the exact value is 0.2; the
    estimate is now the last outer iterate's current ‖m‖ (the trace's last entry), obtained at the run's last call."""
    problem = objectives.get("tight_ramp")
    for seed in range(3):
        est = baselines.get(name, delta=0.1).minimize(problem, problem.x0, budget=300, seed=seed, certify=False)
        cert = est.certificate
        assert est.certificate_source == "estimate" and cert.kind == "stochastic estimate"
        assert cert.estimate == "baseline running" and not cert.is_proof
        assert cert.epsilon == est.trace["certificate"][-1] and cert.calls == est.trace["calls"][-1]
        assert cert.epsilon > np.min(est.trace["certificate"])  # what the old selection returned
        computed = baselines.get(name, delta=0.1).minimize(problem, problem.x0, budget=300, seed=seed)
        assert computed.certificate_source == "goldstein"
        np.testing.assert_array_equal(computed.point, est.point)  # the same point, with an exact certificate


def test_exact_ingd_still_returns_its_best_certified_iterate():
    obj = objectives.get("max_affine")
    res = baselines.INGD(delta=0.05).minimize(obj, obj.x0, budget=400, seed=1, oracle="exact")
    assert res.certificate.epsilon == np.min(res.trace["certificate"])


def test_describe_words_each_estimate_as_what_it_is():
    common = dict(point=np.zeros(1), delta=0.1, epsilon=0.25, kind="stochastic estimate", radius_kind="bound")
    texts = {key: Certificate(**common, estimate=key).describe(0.1) for key in ESTIMATES}
    assert all(t.startswith("estimate, not a proof: ") and "0.25" in t and "r = 0.1" in t for t in texts.values())
    assert "Theorem 8" in texts["epoch mean"] and "mean stochastic gradient" in texts["epoch mean"]
    assert all("Theorem 8" not in t for key, t in texts.items() if key != "epoch mean")
    assert "no result bounds it" in texts["baseline running"]
    assert "min-norm" in texts["min-norm hull"] and "mean" not in texts["min-norm hull"]
    problem = objectives.get("tight_ramp")
    run = baselines.INGD(delta=0.1).minimize(problem, problem.x0, budget=300, seed=0, certify=False)
    assert "Theorem 8" not in run.certificate.describe(0.1)


def test_certificate_estimate_is_checked():
    with pytest.raises(ValueError, match="`estimate` must be one of"):
        Certificate(point=np.zeros(1), delta=0.1, epsilon=0.1, kind="stochastic estimate", estimate="mean")
    with pytest.raises(ValueError, match="`estimate` describes a 'stochastic estimate' only"):
        Certificate(point=np.zeros(1), delta=0.1, epsilon=0.1, kind="sampled one-sided", estimate="epoch mean")
    c = Certificate(point=np.zeros(1), delta=0.1, epsilon=0.1, kind="stochastic estimate", estimate="epoch mean")
    assert "estimate" not in c.as_dict()


# --- schedule-free SGD's averaging weights ----------------------------------------------------------------------------


G = np.array([1.0, -2.0])


class Linear:
    """F(x) = ⟨G, x⟩: a constant gradient, so x_t = −a_t G with no cancellation and the weights alone decide a_t."""

    def value(self, x):
        return float(G @ x)

    def grad(self, x):
        return G.copy()


def schedule_free_exact_weights(x0, steps, *, lr, beta, power, warmup):
    """Defazio et al. (2024)'s equations on F(x) = ⟨G, x⟩ with c_{t+1} = w_t/Σ_{i≤t} w_i, w_t = (max_{j≤t} γ_j)^p,
    the weights in exact rational arithmetic (p an integer) and c rounded once; the rest in float64."""
    z, x = x0.copy(), x0.copy()
    lr_max, total = Fraction(0), Fraction(0)
    xs = []
    for t in range(1, steps + 1):
        gamma = lr * (min(1.0, t / warmup) if warmup else 1.0)
        z = z - gamma * G
        lr_max = max(lr_max, Fraction(gamma))
        w = lr_max**power
        total += w
        c = float(w / total)
        x = (1 - c) * x + c * z
        xs.append(x)
    return np.array(xs)


@pytest.mark.parametrize("lr, power, warmup", [
    (0.02, 2, 25),      # ordinary: the former (max γ)^p sums did not overflow either
    (0.01, 150, 7),     # (max γ)^p ≈ 1e-300 and below: the former sums were still representable at the end
    (0.01, 200, 0),     # (max γ)^p = 1e-400 underflowed to 0: the run returned x0
    (0.01, 200, 9),
    (10.0, 400, 6),     # 10^400 raised OverflowError
    (1e3, 110, 0),
    (1e3, 110, 5),
])
def test_schedule_free_weights_equal_the_exact_arithmetic_ones(lr, power, warmup):
    x0 = np.zeros(2)
    steps = 30
    ref = schedule_free_exact_weights(x0, steps, lr=lr, beta=0.9, power=power, warmup=warmup)
    res = baselines.ScheduleFreeSGD(lr=lr, beta=0.9, weight_power=float(power), warmup_steps=warmup).minimize(
        Linear(), x0, budget=steps, record=True, certify=False)
    assert np.all(np.isfinite(res.history["x"]))
    np.testing.assert_allclose(res.history["x"], ref, rtol=1e-12, atol=0)
    if lr == 0.01:
        assert not np.array_equal(res.point, x0)


# --- zero-order methods: the contract checked before the budget is spent ----------------------------------------------


class ValueOnly:
    def __init__(self):
        self.n = 0

    def value(self, x):
        self.n += 1
        return float(np.abs(x).sum())


@pytest.mark.parametrize("name", ["gfm", "gfm_plus", "zo_o2nc"])
def test_zero_order_certify_needs_a_gradient_checked_up_front(name):
    method = baselines.registry.entry(name).examples[0]
    problem = ValueOnly()
    with pytest.raises(TypeError, match="`problem` must have a callable `grad`"):
        method.minimize(problem, np.ones(3), budget=20000)
    assert problem.n == 0
    res = method.minimize(problem, np.ones(3), budget=400, certify=False)
    assert res.certificate is None and problem.n == res.value_calls > 0


@pytest.mark.parametrize("name", ["gfm", "gfm_plus", "zo_o2nc"])
def test_zero_order_refuses_a_stochastic_oracle(name):
    method = baselines.registry.entry(name).examples[0]
    problem = ValueOnly()
    with pytest.raises(ValueError, match="`oracle='stochastic'`.*accepted: 'auto' or 'exact'"):
        method.minimize(problem, np.ones(3), budget=400, oracle="stochastic", certify=False)
    assert problem.n == 0
    # first-order methods on a problem without a stochastic oracle: the same error type
    with pytest.raises(ValueError, match="`oracle='stochastic'`"):
        baselines.SGD(lr=0.01).minimize(objectives.get("abs_1d"), np.ones(1), budget=10, oracle="stochastic")


@pytest.mark.parametrize("name", ["bfgs", "gradient_sampling"])
def test_deterministic_methods_refuse_a_stochastic_oracle(name):
    """BFGS and gradient sampling run on exact gradients only: asked for the stochastic oracle they say so before any
    call, instead of returning an exact-gradient run as if it were stochastic; 'auto' runs them on exact gradients."""
    method = baselines.registry.entry(name).examples[0]
    problem = objectives.with_noise(objectives.get("abs_1d"), "gaussian", 0.5)
    assert callable(getattr(problem, "stochastic_grad", None))  # refused for the method, not for the problem
    with pytest.raises(ValueError, match="`oracle='stochastic'` is not accepted by a deterministic method"):
        method.minimize(problem, np.ones(1), budget=10, oracle="stochastic", certify=False)
    run = method.minimize(problem, np.ones(1), budget=10, oracle="auto", certify=False)
    assert run.grad_calls > 0


class InfiniteGradient:
    def value(self, x):
        return float(np.abs(x).sum())

    def grad(self, x):
        return np.full_like(x, np.inf)


@pytest.mark.parametrize("name", ["gfm", "zo_o2nc", "sgd"])
def test_a_non_finite_certificate_gradient_is_a_non_finite_oracle_error(name):
    method = baselines.registry.entry(name).examples[0]
    with pytest.raises(NonFiniteOracleError, match="not finite"):
        method.minimize(InfiniteGradient(), np.array([0.7, -0.2]), budget=60)


# --- the rates the docstrings state ----------------------------------------------------------------------------------


def test_ingd_claims_no_stochastic_rate_in_its_class_or_the_table():
    row = next(line for line in baselines.__doc__.splitlines() if line.startswith("``ingd``"))
    assert "ε^-4" not in row and "ε^-4" not in baselines.INGD.rate
    assert "none claimed" in row and "none claimed" in baselines.INGD.rate


def test_pingd_states_when_its_default_perturbation_meets_its_condition():
    import o2nc.baselines.pingd as pingd

    # ρ = 1e-3·δ ≤ δε/(8L) ⟺ ε/L ≥ 8e-3 (derived in the module)
    assert "ε/L ≥ 8·10^-3" in pingd.__doc__ and "8e-3" in baselines.PerturbedINGD.rate
    assert "UNVERIFIED" in pingd.__doc__
