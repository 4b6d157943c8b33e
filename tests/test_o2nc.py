"""The conversion: Algorithm 1's recursion, backend parity, the key identity, Theorem 8, and bad input."""
from __future__ import annotations

import math

import array_api_compat
import numpy as np
import pytest

import o2nc
from o2nc.conversion.draw import seed_key
from online_learners import OGD, AdaGradNorm, registry
from tests.backends import BACKENDS, max_rel_diff, to_backend

EXAMPLES = registry.examples()
SCALINGS = ["uniform", "exponential", "none", "midpoint", "replay"]


def stream_oracle(stream):
    """g_n = stream[n] + ½ tanh(w_n): a fixed gradient stream plus a continuous dependence on the point."""
    calls = {"n": 0}

    def grad(w):
        xp = array_api_compat.array_namespace(w)
        row = to_backend(stream[calls["n"]], "numpy")
        calls["n"] += 1
        return xp.asarray(row, dtype=w.dtype) + 0.5 * xp.tanh(w)

    return grad


def run_on(backend, learner, scaling, *, budget=60, epoch_length=15, d=5, restart=True, radius_kind="bound"):
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal(d)
    stream = rng.standard_normal((budget, d))
    s = np.random.default_rng(4).random(budget) if scaling == "replay" else scaling
    return o2nc.minimize(stream_oracle(stream), to_backend(x0, backend), learner=learner, budget=budget,
                         epoch_length=epoch_length, scaling=s, seed=7, restart=restart, record=True,
                         radius_kind=radius_kind)


@pytest.mark.parametrize("scaling", SCALINGS)
@pytest.mark.parametrize("learner", [l for _, l in EXAMPLES], ids=[n for n, _ in EXAMPLES])
def test_backend_parity_float64(learner, scaling):
    reference = run_on("numpy", learner, scaling)
    for backend in BACKENDS[1:]:
        got = run_on(backend, learner, scaling)
        for field in ("x", "w", "delta", "s", "grad"):
            a, b = getattr(got.history, field), getattr(reference.history, field)
            is_native = {"torch": array_api_compat.is_torch_array, "jax": array_api_compat.is_jax_array}[backend]
            assert is_native(a), (backend, field, type(a))
            assert max_rel_diff(a, b) <= 1e-12, (backend, field)
        assert max_rel_diff(got.epochs.certificate, reference.epochs.certificate) <= 1e-12


def test_result_stays_on_the_input_backend():
    torch = pytest.importorskip("torch")
    res = run_on("torch", OGD(lr=0.1, radius=1.0), "uniform")
    for item in (res.point, res.epochs.mean, res.epochs.certificate, res.epochs.radius, res.history.w):
        assert isinstance(item, torch.Tensor) and item.dtype == torch.float64
    jres = run_on("jax", OGD(lr=0.1, radius=1.0), "uniform")
    assert array_api_compat.is_jax_array(jres.point)


@pytest.mark.parametrize("scaling", SCALINGS)
def test_history_follows_algorithm_1(scaling):
    res = run_on("numpy", OGD(lr=0.2, radius=0.5), scaling, restart=True, radius_kind="exact")
    h = res.history
    x_prev = np.vstack([np.random.default_rng(3).standard_normal(5), h.x[:-1]])
    if scaling == "exponential":
        assert np.allclose(h.x, x_prev + h.s[:, None] * h.delta)
        assert np.allclose(h.w, h.x)
        assert np.all(h.s > 0) and abs(h.s.mean() - 1) < 0.5
    elif scaling == "none":
        assert np.allclose(h.s, 1.0)
        assert np.allclose(h.x, x_prev + h.delta) and np.allclose(h.w, h.x)
    else:
        assert np.allclose(h.x, x_prev + h.delta)
        assert np.allclose(h.w, x_prev + h.s[:, None] * h.delta)
        assert np.all((0 <= h.s) & (h.s <= 1))
    if scaling == "replay":
        assert np.array_equal(h.s, np.random.default_rng(4).random(60))
    # restarts: the first play of every epoch is OGD's initial play, Δ = 0; within an epoch the plays move
    assert np.all(h.delta[::15] == 0.0)
    assert np.all(np.linalg.norm(h.delta[1:15], axis=1) > 0)
    assert np.all(np.linalg.norm(h.delta, axis=1) <= 0.5 + 1e-12)
    # epoch statistics are the means over each epoch's gradient points
    w = h.w.reshape(4, 15, 5)
    assert np.allclose(res.epochs.mean, w.mean(axis=1))
    assert np.allclose(res.epochs.certificate, np.linalg.norm(h.grad.reshape(4, 15, 5).mean(axis=1), axis=1))
    assert np.allclose(res.epochs.radius, np.linalg.norm(w - w.mean(axis=1, keepdims=True), axis=2).max(axis=1))
    # the path bound is the length of the anchors' path x_0 → … → x_T of each epoch
    x = np.vstack([np.random.default_rng(3).standard_normal(5), h.x]).reshape(-1, 5)
    path = np.linalg.norm(np.diff(x, axis=0), axis=1).reshape(4, 15).sum(axis=1)
    assert np.allclose(res.epochs.radius_bound, path, rtol=1e-12)
    assert res.epochs.radius_kind == res.certificate.radius_kind == "exact"
    assert res.grad_calls == 60


def test_without_restart_the_learner_keeps_its_state():
    res = run_on("numpy", OGD(lr=0.2, radius=0.5), "uniform", restart=False)
    assert np.all(np.linalg.norm(res.history.delta[15::15], axis=1) > 0)


def test_output_selection():
    grad = lambda x: np.sign(x) + 0.1 * x
    kwargs = dict(learner=OGD(lr=0.05, radius=0.2), budget=200, epoch_length=20, seed=5)
    best = o2nc.minimize(grad, np.full(3, 2.0), output="best", **kwargs)
    assert best.selected_epoch == int(np.argmin(best.epochs.certificate))
    last = o2nc.minimize(grad, np.full(3, 2.0), output="last", **kwargs)
    assert last.selected_epoch == 9 and np.array_equal(last.point, last.epochs.mean[9])
    picks = {o2nc.minimize(grad, np.full(3, 2.0), output="random", **{**kwargs, "seed": s}).selected_epoch
             for s in range(30)}
    assert len(picks) > 3


def test_stochastic_oracle_receives_the_run_rng_and_is_reproducible():
    def noisy(x, rng):
        return np.sign(x) + rng.standard_normal(x.shape)

    kwargs = dict(learner=OGD(lr=0.05, radius=0.2), budget=100, epoch_length=10, record=True)
    a = o2nc.minimize(noisy, np.ones(4), seed=1, **kwargs)
    b = o2nc.minimize(noisy, np.ones(4), seed=1, **kwargs)
    c = o2nc.minimize(noisy, np.ones(4), seed=2, **kwargs)
    assert np.array_equal(a.history.grad, b.history.grad)
    assert not np.allclose(a.history.grad, c.history.grad)


def test_value_oracle_fills_epoch_values():
    res = o2nc.minimize(np.sign, np.full(2, 1.0), learner=OGD(lr=0.1, radius=0.1), budget=50, epoch_length=10,
                        value=lambda x: np.sum(np.abs(x)))
    assert np.allclose(res.epochs.value, np.abs(res.epochs.mean).sum(axis=1))
    assert res.grad_calls == 50


# --- the key identity (Theorem 7 of [CMO23]) ------------------------------------------------------------------------


def _nonsmooth(x):
    """F(x) = ‖x‖₁ − ½‖Ax‖₁ + 2‖x‖_∞ on rows of x (a non-smooth, non-convex test function chosen here), and its
    gradient."""
    A = np.array([[1.0, -2.0, 0.5], [0.3, 1.0, -1.5], [2.0, 0.1, 1.0]])
    ax = x @ A.T
    value = np.abs(x).sum(-1) - 0.5 * np.abs(ax).sum(-1) + 2 * np.abs(x).max(-1)
    idx = np.abs(x).argmax(-1)
    linf = np.zeros_like(x)
    np.put_along_axis(linf, idx[..., None], np.take_along_axis(np.sign(x), idx[..., None], -1), -1)
    grad = np.sign(x) - 0.5 * np.sign(ax) @ A + 2 * linf
    return value, grad


@pytest.mark.parametrize("scaling", ["uniform", "exponential"])
def test_key_identity_by_monte_carlo(scaling):
    """E[F(x_n) − F(x_{n−1})] = E⟨∇F(w_n), Δ_n⟩ for the conversion's own (x_n, w_n) over the random s_n."""
    rule = o2nc.Scaling(scaling)
    x_prev = np.array([0.3, -0.2, 0.1])
    delta = np.array([-0.9, 0.7, -0.4])  # the segment crosses several kinks
    samples = 200_000
    s = rule.sample(seed_key(11), 0, samples)  # the counter-based draw every shell uses
    x_next, w = rule.points(x_prev[None, :], delta[None, :], s[:, None])
    f_next, _ = _nonsmooth(x_next)
    f_prev, _ = _nonsmooth(x_prev)
    _, g = _nonsmooth(w)
    lhs = f_next - f_prev
    rhs = g @ delta
    err = np.sqrt(lhs.var() / samples + rhs.var() / samples)
    assert abs(lhs.mean() - rhs.mean()) <= 5 * err + 1e-12, (lhs.mean(), rhs.mean(), err)
    # and the identity is not trivial: the gradient at the anchor alone gives a different answer
    _, g_anchor = _nonsmooth(x_prev)
    assert abs(g_anchor @ delta * (1.0 if scaling == "uniform" else 1.0) - lhs.mean()) > 20 * err


# --- Theorem 8 -----------------------------------------------------------------------------------------------------


def l1_minus_half_linf(x):
    """F(x) = ‖x‖₁ − ½‖x‖_∞: non-smooth, non-convex for d ≥ 2, F* = 0, G = √(d − 3/4)."""
    idx = np.argmax(np.abs(x))
    g = np.sign(x)
    g[idx] -= 0.5 * np.sign(x[idx])
    return g


def l1_plus_sine(x):
    """F(x) = ‖x‖₁ + ½ Σ|sin x_i|: non-smooth, non-convex, F* = 0, G = 1.5√d."""
    return np.sign(x) + 0.5 * np.sign(np.sin(x)) * np.cos(x)


CASES = [
    (l1_minus_half_linf, lambda x: np.abs(x).sum() - 0.5 * np.abs(x).max(), lambda d: math.sqrt(d - 0.75)),
    (l1_plus_sine, lambda x: np.abs(x).sum() + 0.5 * np.abs(np.sin(x)).sum(), lambda d: 1.5 * math.sqrt(d)),
]


@pytest.mark.parametrize("grad,value,lipschitz", CASES, ids=["l1_minus_half_linf", "l1_plus_sine"])
@pytest.mark.parametrize("budget,delta", [(4000, 0.5), (20000, 0.1)])
def test_theorem_8_bound_and_radius(grad, value, lipschitz, budget, delta):
    d = 10
    x0 = np.linspace(-2.0, 3.0, d)
    G, gap = lipschitz(d), value(x0)
    p = o2nc.theory.ogd_parameters(budget, delta, G, gap)
    bound = o2nc.theory.ogd_bound(budget, delta, G, gap)
    means = []
    for seed in range(4):
        res = o2nc.minimize(grad, x0, learner=OGD(lr=p.lr, radius=p.radius), budget=budget,
                            epoch_length=p.epoch_length, seed=seed)
        assert res.grad_calls == p.epochs * p.epoch_length
        assert float(np.max(res.epochs.radius)) <= delta
        means.append(float(np.mean(res.epochs.certificate)))
        assert means[-1] <= bound, (means[-1], bound)
    # the bound is not vacuous here: it is below the initial gradient norm
    assert bound < np.linalg.norm(grad(x0))


def test_theory_parameters_match_the_formulas():
    p = o2nc.theory.ogd_parameters(10**6, 0.01, 2.0, 5.0)
    T = min(math.ceil((2.0 * 0.01 * 1e6 / 5.0) ** (2 / 3)), 500_000)
    assert p.epoch_length == T and p.epochs == 10**6 // T
    assert p.radius == pytest.approx(0.01 / T) and p.lr == pytest.approx(0.01 / T / (2.0 * math.sqrt(T)))
    assert o2nc.theory.ogd_parameters(10, 100.0, 100.0, 1e-3).epoch_length == 5  # capped at ⌈N/2⌉
    # the bound decreases like N^{-1/3} at fixed δ (the ε^-3 rate)
    b1 = o2nc.theory.ogd_bound(10**6, 0.1, 1.0, 1.0)
    b2 = o2nc.theory.ogd_bound(8 * 10**6, 0.1, 1.0, 1.0)
    assert b2 / b1 == pytest.approx(0.5, rel=0.05)


# --- bad input -----------------------------------------------------------------------------------------------------


def test_bad_input_names_the_parameter():
    learner = OGD(lr=0.1, radius=1.0)
    x0 = np.ones(3)
    cases = [
        (dict(budget=0), "budget"),
        (dict(budget=-5), "budget"),
        (dict(budget=10.5), "budget"),
        (dict(epoch_length=0), "epoch_length"),
        (dict(budget=5, epoch_length=10), "budget"),
        (dict(scaling="gaussian"), "scaling"),
        (dict(scaling=np.ones((2, 2))), "scaling"),
        (dict(scaling=np.ones(5)), "scaling"),
        # a replay is a full step: s outside [0, 1] puts w_n off the step's segment, where the path bound fails
        (dict(scaling=np.r_[np.full(10, 0.5), 5.0, np.full(9, 0.5)]), "scaling"),
        (dict(scaling=np.full(20, -0.25)), "scaling"),
        (dict(output="median"), "output"),
    ]
    for override, name in cases:
        kwargs = {**dict(learner=learner, budget=20, epoch_length=10), **override}
        with pytest.raises((ValueError, TypeError), match=f"`{name}`"):
            o2nc.minimize(np.sign, x0, **kwargs)
    with pytest.raises(ValueError, match="`x0`"):
        o2nc.minimize(np.sign, np.array([1.0, np.nan]), learner=learner, budget=20, epoch_length=10)
    with pytest.raises(TypeError, match="`x0`"):
        o2nc.minimize(np.sign, [1.0, 2.0], learner=learner, budget=20, epoch_length=10)
    with pytest.raises(ValueError, match="`lr`"):
        OGD(lr=-1.0)
    with pytest.raises(ValueError, match="`radius`"):
        AdaGradNorm(radius=0.0)


def test_gradient_of_wrong_shape_or_backend():
    torch = pytest.importorskip("torch")
    learner = OGD(lr=0.1, radius=1.0)
    with pytest.raises(ValueError, match="shape"):
        o2nc.minimize(lambda x: np.ones(4), np.ones(3), learner=learner, budget=20, epoch_length=10)
    with pytest.raises(TypeError, match="backend"):
        o2nc.minimize(lambda x: torch.ones(3, dtype=torch.float64), np.ones(3), learner=learner, budget=20,
                      epoch_length=10)


def test_non_finite_gradient_names_the_step_and_keeps_completed_epochs():
    calls = {"n": 0}

    def grad(x):
        calls["n"] += 1
        return np.full(2, np.nan) if calls["n"] == 37 else np.sign(x)

    with pytest.raises(o2nc.NonFiniteGradientError, match="step 37") as info:
        o2nc.minimize(grad, np.ones(2), learner=OGD(lr=0.1, radius=1.0), budget=100, epoch_length=10)
    assert info.value.step == 37
    assert info.value.result.epochs.certificate.shape == (3,)
    assert info.value.result.grad_calls == 37  # every call made, the failing one included


# --- hints for optimistic learners ---------------------------------------------------------------------------------


class HintSpy:
    """An optimistic OGD on a ball, Δ = Π(Δ̂ − η h), Δ̂ ← Π(Δ̂ − η g), recording the hints it is given."""

    def __init__(self, lr=0.1, radius=0.5):
        self.inner, self.lr, self.radius = OGD(lr=lr, radius=radius), lr, radius
        self.hints, self.played = [], []  # every hint seen by predict; the hint of each step's final play

    def init(self, params):
        return self.inner.init(params)

    def predict(self, state, hint=None):
        self.hints.append(None if hint is None else np.array(hint))
        if hint is None:
            return state.delta
        v = state.delta - self.lr * hint
        return v * min(1.0, self.radius / max(np.linalg.norm(v), 1e-300))

    def update(self, state, grad):
        self.played.append(self.hints[-1])
        return self.inner.update(state, grad)


def test_last_gradient_hint_is_the_previous_gradient():
    spy = HintSpy()
    res = o2nc.minimize(lambda x: np.tanh(x) + 0.3, np.ones(3), learner=spy, budget=40, epoch_length=10,
                        hint="last_gradient", record=True)
    assert spy.hints[0] is None
    for n in range(1, 40):
        assert np.array_equal(spy.hints[n], res.history.grad[n - 1])
    assert res.grad_calls == 40


def test_extrapolated_hint_costs_one_call_per_step():
    queried = []

    def grad(x):
        queried.append(np.array(x))
        return np.tanh(x) + 0.3

    spy = HintSpy()
    res = o2nc.minimize(grad, np.ones(3), learner=spy, budget=60, epoch_length=10, hint="extrapolated", record=True)
    assert res.grad_calls == 60 and res.epochs.certificate.shape == (3,)
    x_prev = np.vstack([np.ones(3), res.history.x[:-1]])
    # step n ≥ 2 queries its hint at x_{n−1} + ½Δ_{n−1} before its gradient at w_n
    for n in range(1, 30):
        assert np.allclose(queried[2 * n], x_prev[n] + 0.5 * res.history.delta[n - 1])
        assert np.allclose(queried[2 * n + 1], res.history.w[n])


def test_fixed_point_hint_solves_the_midpoint_equation():
    """The hint h satisfies h ≈ ∇F(x_{n−1} + ½Δ(h)): the played Δ's midpoint gradient equals the hint."""
    grad = lambda x: np.tanh(x) + 0.3 * x
    spy = HintSpy(lr=0.2, radius=5.0)
    res = o2nc.minimize(grad, np.full(3, 2.0), learner=spy, budget=400, epoch_length=10, hint="fixed_point",
                        scaling="midpoint", inner_steps=30, inner_tol=1e-12, record=True)
    h = res.history
    x_prev = np.vstack([np.full(3, 2.0), h.x[:-1]])
    assert np.allclose(h.w, x_prev + 0.5 * h.delta) and np.allclose(h.s, 0.5)
    assert res.grad_calls <= 400 and res.grad_calls > 2 * h.grad.shape[0]
    # contraction (η·L/2 = 0.2·1.3/2 < 1): the played hint equals the gradient at the play's midpoint
    # (the run's very last step may have had its inner loop cut short by the budget)
    residual = np.linalg.norm(h.grad - np.stack(spy.played[: h.grad.shape[0]]), axis=1)
    assert residual[:-1].max() <= 1e-9, residual.max()


def test_callback_can_stop_the_run_once_a_target_is_certified():
    seen = []

    def stop_below(k, stats):
        seen.append(float(stats["certificate"]))
        return stats["certificate"] <= 0.5

    res = o2nc.minimize(lambda x: np.sign(x) + 0.1 * x, np.full(3, 0.3), learner=OGD(lr=0.05, radius=0.1),
                        budget=10_000, epoch_length=20, callback=stop_below)
    assert seen[-1] <= 0.5 and all(c > 0.5 for c in seen[:-1])
    assert res.grad_calls == 20 * len(seen) < 10_000


# --- the fused OGD kernel (o2nc.conversion.fused) against the core --------------------------------------------------

FUSED_LEARNERS = {"projected": OGD(lr=0.03, radius=0.05), "unconstrained": OGD(lr=0.01),
                  "anytime": OGD(lr=0.2, radius=0.05, anytime=True)}


def coupled_oracle(d: int):
    """A non-smooth oracle whose gradient depends on every coordinate (so a trajectory error would spread)."""
    A = np.random.default_rng(11).standard_normal((d, d)) / math.sqrt(d)

    def grad(w):
        return (np.sign(w) + A.T @ np.tanh(A @ w)).astype(w.dtype)

    return grad


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 1e-6)])
@pytest.mark.parametrize("scaling", SCALINGS)
@pytest.mark.parametrize("name", list(FUSED_LEARNERS))
@pytest.mark.parametrize("restart", [True, False])
def test_the_fused_kernel_follows_the_core(name, scaling, dtype, tol, restart):
    d, budget = 12, 240
    x0 = np.linspace(-1, 1, d).astype(dtype)
    s = np.random.default_rng(4).random(budget) if scaling == "replay" else scaling
    kw = dict(learner=FUSED_LEARNERS[name], budget=budget, epoch_length=30, scaling=s, seed=9, restart=restart,
              radius_kind="exact")
    core = o2nc.minimize(coupled_oracle(d), x0, fused=False, **kw)
    fast = o2nc.minimize(coupled_oracle(d), x0, fused=True, **kw)
    for field in ("mean", "grad_mean", "certificate", "radius", "radius_bound"):
        a, b = getattr(fast.epochs, field), getattr(core.epochs, field)
        assert a.dtype == b.dtype == dtype, field
        assert max_rel_diff(a, b) <= tol, field
    assert max_rel_diff(fast.final_anchor, core.final_anchor) <= tol
    assert fast.selected_epoch == core.selected_epoch and fast.grad_calls == core.grad_calls == budget
    assert fast.certificate.radius_kind == core.certificate.radius_kind == "exact"
    assert np.array_equal(x0, np.linspace(-1, 1, d).astype(dtype))  # x0 is not written


def test_the_fused_kernel_gives_the_oracle_a_fresh_point_every_step():
    seen = []

    def grad(w):
        seen.append(w)
        return np.sign(w) + 0.1 * w

    res = o2nc.minimize(grad, np.ones(3), learner=OGD(lr=0.1, radius=0.2), budget=20, epoch_length=10, fused=True)
    assert len({id(w) for w in seen}) == 20
    w = np.stack(seen).reshape(2, 10, 3)
    np.testing.assert_allclose(res.epochs.mean, w.mean(axis=1), rtol=1e-14)


@pytest.mark.parametrize("fused", [True, False])
def test_errors_name_the_same_step_on_both_paths(fused):
    def nan_at(n):
        calls = {"n": 0}

        def grad(x):
            calls["n"] += 1
            return np.full(2, np.nan) if calls["n"] == n else np.sign(x)

        return grad

    learner = OGD(lr=0.1, radius=1.0)
    with pytest.raises(o2nc.NonFiniteGradientError, match="step 37") as info:
        o2nc.minimize(nan_at(37), np.ones(2), learner=learner, budget=100, epoch_length=10, fused=fused)
    assert info.value.result.epochs.certificate.shape == (3,) and info.value.result.grad_calls == 37
    clean = o2nc.minimize(np.sign, np.ones(2), learner=learner, budget=40, epoch_length=10, record=True)
    np.testing.assert_array_equal(info.value.result.final_anchor, clean.history.x[35])  # x_36: before step 37
    # a finite gradient that overflows the learner's next step: the run stops at the next step, naming the learner
    huge = lambda x: np.full(2, 1e308) if abs(x[0] - 1.0) < 1e-12 else np.sign(x)  # noqa: E731
    with pytest.raises(o2nc.NonFiniteStepError, match="step 2") as info:
        o2nc.minimize(huge, np.ones(2), learner=OGD(lr=10.0), budget=20, epoch_length=10, fused=fused)
    assert info.value.result is None
    # a gradient of another dtype is cast, one of another shape is refused at its step
    res = o2nc.minimize(lambda x: np.sign(x).astype(np.float64), np.ones(2, dtype=np.float32), learner=learner,
                        budget=20, epoch_length=10, fused=fused)
    assert res.epochs.mean.dtype == np.float32
    shapes = {"n": 0}

    def grows(x):
        shapes["n"] += 1
        return np.ones(3 if shapes["n"] == 15 else 2)

    with pytest.raises(o2nc.GradientShapeError, match="step 15"):
        o2nc.minimize(grows, np.ones(2), learner=learner, budget=20, epoch_length=10, fused=fused)


def test_fused_is_checked():
    with pytest.raises(ValueError, match="fused=True"):
        o2nc.minimize(np.sign, np.ones(2), learner=AdaGradNorm(radius=1.0), budget=4, epoch_length=2, fused=True)
    with pytest.raises(TypeError, match="fused"):
        o2nc.minimize(np.sign, np.ones(2), learner=OGD(lr=0.1), budget=4, epoch_length=2, fused="yes")


def test_fused_step_with_squares_that_overflow_prints_no_warning():
    # float32 gradients of 1e20: the plain Σv² overflows where the norm does not; the fused step falls back to the
    # scaled norm, an expected overflow that must not surface as numpy's RuntimeWarning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = o2nc.minimize(lambda x: np.full_like(x, 1e20), np.zeros(4, np.float32),
                            learner=OGD(lr=1.0, radius=1e30), budget=20, epoch_length=10, fused=True)
    assert res.certificate.epsilon == pytest.approx(2e20, rel=1e-6)


def test_restart_every_step_with_a_zero_first_play_warns_that_the_run_stalls():
    x0 = np.ones(3)
    with pytest.warns(o2nc.StalledRunWarning, match="epoch_length=1"):
        res = o2nc.minimize(np.sign, x0, learner=OGD(lr=0.1, radius=1.0), budget=5, epoch_length=1)
    assert np.array_equal(res.certificate.point, x0)  # the warning's claim: the iterate never left x0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", o2nc.StalledRunWarning)
        o2nc.minimize(np.sign, x0, learner=OGD(lr=0.1, radius=1.0), budget=5, epoch_length=1, restart=False)
        o2nc.minimize(np.sign, x0, learner=OGD(lr=0.1, radius=1.0), budget=6, epoch_length=2)


def test_a_hint_for_a_learner_that_ignores_hints_is_refused():
    from o2nc import methods
    from online_learners import KT, BallConstraint, OptimisticOGD
    from online_learners.base import reads_hint

    assert reads_hint(OGD(lr=0.1)) is False and reads_hint(BallConstraint(KT(), radius=1.0)) is False
    assert reads_hint(OptimisticOGD(lr=0.1)) and reads_hint(BallConstraint(OptimisticOGD(lr=0.1), radius=1.0))
    for hint in ("last_gradient", "extrapolated", "fixed_point"):
        with pytest.raises(ValueError, match="`hint`"):
            o2nc.minimize(np.sign, np.ones(3), learner=OGD(lr=0.1, radius=1.0), budget=20, epoch_length=10,
                          hint=hint)
        with pytest.raises(ValueError, match="ignored by the learner 'ogd'"):
            methods.get("o2nc", learner="ogd", hint=hint)
        assert methods.get("o2nc", learner="optimistic_ogd", hint=hint).hint == hint
    res = o2nc.minimize(np.sign, np.ones(3), learner=OptimisticOGD(lr=0.1, radius=1.0), budget=20, epoch_length=10,
                        hint="last_gradient")
    assert res.grad_calls == 20


def test_methods_and_minimize_accept_the_same_seeds():
    # one seed check (o2nc.conversion.draw.check_seed): a method refuses before running what minimize would refuse
    from o2nc.methods.checks import check_seed

    for seed in (0, 2**64 - 1, np.uint64(5)):
        assert check_seed("m", seed) == int(seed)
    for seed in (-1, 2**64, True, 1.5):
        with pytest.raises(ValueError, match="seed"):
            check_seed("m", seed)
        with pytest.raises((ValueError, TypeError), match="seed"):
            o2nc.minimize(np.sign, np.ones(2), learner=OGD(lr=0.1, radius=1.0), budget=10, epoch_length=5, seed=seed)


def test_stochastic_estimates_say_what_they_estimate():
    from o2nc.certify import hull_certificate

    res = o2nc.minimize(lambda x, rng: np.sign(x) + 0.1 * rng.standard_normal(x.shape), np.ones(3),
                        learner=OGD(lr=0.01, radius=0.05), budget=40, epoch_length=10)
    assert res.certificate.kind == "stochastic estimate" and res.certificate.estimate == "epoch mean"
    assert "Theorem 8" in res.certificate.describe(1.0)
    exact = o2nc.minimize(np.sign, np.ones(3), learner=OGD(lr=0.01, radius=0.05), budget=40, epoch_length=10)
    assert exact.certificate.estimate is None
    hull = hull_certificate(np.zeros(2), np.array([[1.0, 0.0], [-1.0, 0.5]]), 0.1, 0.1, stochastic=True)
    assert hull.estimate == "min-norm hull" and "Theorem 8" not in hull.describe(0.1)
