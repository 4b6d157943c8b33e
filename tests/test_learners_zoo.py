"""Tests specific to the learner zoo: dimension-aware bounds, the derivations behind each bound, the reductions'
identities, the combinators, and the Adam and closed-form equivalences at learner level."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

from online_learners import (
    COCOB,
    FTRL,
    KT,
    OGD,
    BallConstraint,
    Coordinatewise,
    DirectionMagnitude,
    Discounted,
    DiscountedFTRL,
    FreeGrad,
    ONSBettor,
    OptimisticOGD,
    ParameterFreeMirrorDescent,
    Restarting,
    registry,
)
from online_learners.betting import kt_log_potential
from online_learners.paramfree import freegrad_potential
from tests.backends import to_backend, to_numpy

ZOO = [
    "optimistic_ogd", "kt", "ons_bettor", "cocob", "direction_magnitude", "ball_constraint", "ftrl",
    "discounted_ftrl", "freegrad", "pfmd", "coordinatewise", "restarting", "discounted",
]  # fmt: skip
ZOO_EXAMPLES = [(n, l) for n, l in registry.examples() if n.split("[")[0] in ZOO]


def run(learner, grads, hints=None):
    """Plays (T×d) of ``learner`` on numpy gradient rows, with optional hints (passed to update when it takes one)."""
    state = learner.init(np.zeros(grads.shape[1]))
    takes_hint = "hint" in inspect.signature(learner.update).parameters
    plays = np.empty_like(grads)
    for t, g in enumerate(grads):
        h = None if hints is None else hints[t]
        plays[t] = learner.predict(state, h)
        state = learner.update(state, g, hint=h) if takes_hint else learner.update(state, g)
    return plays


def streams(d, steps, seed, scale=1.0):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    return {
        "coins": scale * rng.choice([-1.0, 1.0], size=(steps, d)) / math.sqrt(d),
        "biased": scale * np.where(rng.random((steps, 1)) < 0.8, 1.0, -1.0) * u,
        "switch": scale * np.where(np.arange(steps)[:, None] < steps // 3, -1.0, 1.0) * u,
        "gaussian": scale * rng.standard_normal((steps, d)) / math.sqrt(d),
    }


def norms_for(learner):
    radius = getattr(learner, "radius", None)
    return [0.0, 0.5 * radius, radius] if radius is not None else [0.0, 1e-3, 1.0, 1e3]


# --- bounds with the dimension known ---------------------------------------------------------------------------


@pytest.mark.parametrize("d", [1, 4])
@pytest.mark.parametrize("learner", [l for _, l in ZOO_EXAMPLES], ids=[n for n, _ in ZOO_EXAMPLES])
def test_dimension_aware_bound_is_finite_and_holds(learner, d):
    for name, grads in streams(d, 120, seed=d).items():
        plays = run(learner, grads)
        loss = float(np.sum(grads * plays))
        total = float(np.linalg.norm(grads.sum(axis=0)))
        sq = list(np.sum(grads**2, axis=1))
        for r in norms_for(learner):
            bound = learner.regret_bound(r, sq, dim=d)
            assert math.isfinite(bound), (name, r)
            assert loss + r * total <= bound, (name, r, loss + r * total, bound)


@pytest.mark.parametrize("form", ["two_projection", "single_projection"])
def test_optimistic_bound_with_hints_uses_prediction_errors(form):
    rng = np.random.default_rng(3)
    grads = rng.standard_normal((200, 3))
    learner = OptimisticOGD(lr=0.05, radius=2.0, form=form)
    for noise in (0.0, 0.3, 3.0):
        hints = grads + noise * rng.standard_normal(grads.shape)
        plays = run(learner, grads, hints)
        errors = list(np.sum((grads - hints) ** 2, axis=1))
        total = grads.sum(axis=0)
        for r in (0.0, 1.0, 2.0):
            u = -r * total / np.linalg.norm(total)
            assert float(np.sum(grads * (plays - u))) <= learner.regret_bound(r, errors)
    # perfect hints: regret against the best point in the ball is at most ‖u‖²/(2η)
    plays = run(learner, grads, grads)
    u = -2.0 * total / np.linalg.norm(total)
    assert float(np.sum(grads * (plays - u))) <= 4.0 / (2 * 0.05)


def test_optimistic_forms_match_their_formulas():
    rng = np.random.default_rng(4)
    grads, hints = rng.standard_normal((30, 2)), rng.standard_normal((30, 2))
    eta, radius = 0.3, 0.7
    proj = lambda v: v * min(1.0, radius / max(np.linalg.norm(v), 1e-300))
    # two projections: Δ_t = Π(Δ̂_t − η h_t), Δ̂_{t+1} = Π(Δ̂_t − η g_t)
    hat, expected = np.zeros(2), []
    for g, h in zip(grads, hints):
        expected.append(proj(hat - eta * h))
        hat = proj(hat - eta * g)
    assert np.allclose(run(OptimisticOGD(eta, radius), grads, hints), expected, rtol=0, atol=1e-14)
    # single projection: Δ_t = Π(Δ_{t−1} − η(g_{t−1} − h_{t−1}) − η h_t)
    prev, prev_g, prev_h, expected = np.zeros(2), np.zeros(2), np.zeros(2), []
    for g, h in zip(grads, hints):
        prev = proj(prev - eta * (prev_g - prev_h) - eta * h)
        expected.append(prev)
        prev_g, prev_h = g, h
    got = run(OptimisticOGD(eta, radius, form="single_projection"), grads, hints)
    assert np.allclose(got, expected, rtol=0, atol=1e-14)
    # without hints both forms are projected OGD
    ogd = run(OGD(lr=eta, radius=radius), grads)
    for form in ("two_projection", "single_projection"):
        assert np.allclose(run(OptimisticOGD(eta, radius, form=form), grads), ogd, rtol=0, atol=1e-14)


# --- the derivations behind the bounds ---------------------------------------------------------------------------


def test_kt_wealth_on_coins_is_the_potential_and_dominates_it_on_continuous_coins():
    rng = np.random.default_rng(5)
    eps = 0.7
    learner = KT(eps=eps)
    for continuous in (False, True):
        for _ in range(20):
            coins = rng.uniform(-1, 1, 60) if continuous else rng.choice([-1.0, 1.0], 60)
            state = learner.init(np.zeros(1))
            for c in coins:
                state = learner.update(state, np.array([-c]))  # coin c = −g
            wealth = float(state.wealth[0])
            potential = math.exp(kt_log_potential(float(coins.sum()), len(coins), eps))
            if continuous:
                assert wealth >= potential * (1 - 1e-12)
            else:
                assert wealth == pytest.approx(potential, rel=1e-11)


def _kt_unit_regret(eps, coins, u):
    """r_T = ε − W_T + uX_T of the unit-scale bettor on ``coins``, and its bound B_T(|u|) (KT's docstring)."""
    learner = KT(eps=eps, lipschitz=1.0)
    state = learner.init(np.zeros(1))
    for c in coins:
        state = learner.update(state, np.array([-c]))
    return eps - float(state.wealth[0]) + u * float(np.sum(coins)), learner.coordinate_bound(abs(u), len(coins))


def test_scale_free_kt_plays_are_invariant_to_the_gradient_scale():
    rng = np.random.default_rng(21)
    grads = rng.standard_normal((80, 3)) * np.array([1e-3, 1.0, 1e3])
    plays = run(KT(lipschitz=None), grads)
    assert np.all(np.isfinite(plays)) and np.abs(plays).max() > 0
    for factor in (1e-6, 7.0, 1e6):
        assert np.allclose(run(KT(lipschitz=None), grads * factor), plays, rtol=1e-12, atol=0)
    # the same per coordinate: each coordinate has its own running max
    assert np.allclose(run(KT(lipschitz=None), grads / np.array([1e-3, 1.0, 1e3])), plays, rtol=1e-12, atol=0)


def test_scale_free_kt_regret_identity_and_the_known_scale_case():
    """Reg_T(u) = h_T r_T + Σ_{t<T}(h_{t+1} − h_t)(W_t − ε − uX_t) exactly; with the max in round 1, ≤ h_T B_T(|u|)."""
    rng = np.random.default_rng(22)
    eps = 0.5
    learner = KT(eps=eps, lipschitz=None)
    for trial in range(30):
        grads = rng.uniform(-1, 1, 60) * rng.uniform(0.1, 3.0, 60) ** 2
        if trial % 2:
            grads[0] = 1.01 * np.abs(grads).max() * np.sign(grads[0] or 1.0)  # the scale is set in round 1
        state = learner.init(np.zeros(1))
        plays, wealth, coin_sum, scale = [], [], [], []
        for g in grads:
            plays.append(float(learner.predict(state)[0]))
            state = learner.update(state, np.array([g]))
            wealth.append(float(state.wealth[0]))
            coin_sum.append(float(state.coin_sum[0]))
            scale.append(float(state.scale[0]))
        h = np.array(scale)
        coins = -grads / h
        assert np.all(np.abs(coins) <= 1.0) and min(wealth) > 0
        for u in (-3.0, -0.2, 0.0, 0.4, 5.0):
            regret = float(np.sum(grads * (np.array(plays) - u)))
            r_t, b_t = _kt_unit_regret(eps, coins, u)
            revalue = sum((h[t + 1] - h[t]) * (wealth[t] - eps - u * coin_sum[t]) for t in range(len(h) - 1))
            assert regret == pytest.approx(h[-1] * r_t + revalue, rel=1e-9, abs=1e-9)
            if trial % 2:
                assert revalue == 0.0
                assert regret <= h[-1] * b_t * (1 + 1e-9) + 1e-12
            assert regret <= learner.regret_bound(abs(u), list(grads**2), dim=1) * (1 + 1e-9)


def test_scale_free_kt_pays_for_a_late_scale_jump_and_its_bound_says_so():
    """Tiny same-sign gradients grow the wealth geometrically; one large opposite gradient costs it. The regret then
    exceeds what a learner knowing G = max|g| is guaranteed (G·B_T), and stays within the documented bound."""
    learner = KT(eps=1.0, lipschitz=None)
    grads = np.concatenate([np.full(40, -1e-3), [1.0]])
    plays = run(learner, grads[:, None])[:, 0]
    regret = float(np.sum(grads * plays))  # u = 0
    assert regret > 1e6 * KT(eps=1.0, lipschitz=1.0).regret_bound(0.0, list(grads**2), dim=1)
    assert regret <= learner.regret_bound(0.0, list(grads**2), dim=1)


def test_scale_free_kt_state_and_first_rounds():
    learner = KT(eps=1.0, lipschitz=None)
    state = learner.init(np.zeros(2))
    state = learner.update(state, np.array([0.0, -4.0]))  # coordinate 0 has no scale yet: coin 0
    assert np.array_equal(state.scale, [0.0, 4.0]) and np.array_equal(state.coin_sum, [0.0, 1.0])
    assert np.array_equal(learner.predict(state), [0.0, 0.5])  # X/(t+1)·W = 1/2 · 1
    state = learner.update(state, np.array([0.0, 2.0]))  # coin −1/2 against the bet 1/2
    assert np.allclose(state.wealth, [1.0, 0.75]) and np.allclose(state.coin_sum, [0.0, 0.5])


def test_ons_exp_concavity_constant():
    # −ln(1−y) ≥ y + (γ/2) y² on y ∈ [−2, 2/3] with γ = (2 − ln 3)/2, tight at y = −2
    y = np.linspace(-2, 2 / 3, 20001)
    y = y[y != 0]
    gamma = (2 - math.log(3)) / 2
    gap = -np.log1p(-y) - y - gamma / 2 * y**2
    assert gap.min() >= -1e-15
    assert abs(gap[0]) < 1e-12  # equality at y = −2: the constant cannot be larger


def test_freegrad_potential_inequality():
    rng = np.random.default_rng(6)
    h = 1.0
    for _ in range(20000):
        d = int(rng.integers(1, 4))
        v = h * h + rng.exponential() * 10 ** rng.uniform(-2, 4)
        big_g = rng.standard_normal(d) * rng.uniform(0, 6) * math.sqrt(v)
        g = rng.standard_normal(d)
        g *= h * rng.uniform(0, 1) ** 0.3 / np.linalg.norm(g)
        n = np.linalg.norm(big_g)
        phi = freegrad_potential(n, v, h)
        grad_phi = phi * big_g * (2 * v + h * n) / (2 * (v + h * n) ** 2)
        lhs = freegrad_potential(np.linalg.norm(big_g + g), v + g @ g, h)
        if math.isfinite(lhs):
            assert lhs <= phi + grad_phi @ g + 1e-12 * max(1.0, phi)


def test_freegrad_play_is_minus_the_potential_gradient():
    learner = FreeGrad(lipschitz=2.0)
    state = learner.init(np.zeros(3))
    for g in np.random.default_rng(7).uniform(-1, 1, (15, 3)):
        state = learner.update(state, g)
    big_g, v = state.grad_sum, 2.0**2 * float(state.sum_sq)  # the state holds V/h²
    numeric = np.array(
        [(freegrad_potential(np.linalg.norm(big_g + e), v, 2.0)
          - freegrad_potential(np.linalg.norm(big_g - e), v, 2.0)) / 2e-6
         for e in 1e-6 * np.eye(3)]
    )  # fmt: skip
    assert np.allclose(learner.predict(state), -numeric, rtol=1e-6)


def test_pfmd_additive_constant_found_numerically():
    """The bound's additive ε·G_T term is a numerical finding: the regret minus the ψ-term stays below 0.05·εG_T."""
    rng = np.random.default_rng(8)
    learner = ParameterFreeMirrorDescent(eps=1.0)
    worst = -math.inf
    for trial in range(60):
        d = 1 + trial % 3
        for grads in streams(d, int(rng.integers(20, 200)), seed=trial, scale=float(10 ** rng.uniform(-2, 2))).values():
            plays = run(learner, grads)
            loss, total = float(np.sum(grads * plays)), float(np.linalg.norm(grads.sum(axis=0)))
            sq = list(np.sum(grads**2, axis=1))
            g_max = math.sqrt(max(sq))
            tested_form = math.sqrt(next(q for q in sq if q > 0)) >= g_max  # G_1 = G_T (else the elementary bound)
            for r in (1e-3, 1e-1, 1.0, 10.0, 1e3):
                regret = loss + r * total
                bound = learner.regret_bound(r, sq)
                assert regret <= bound
                if tested_form:
                    worst = max(worst, (regret - (bound - g_max)) / g_max)
    assert -math.inf < worst < 0.05


def test_pfmd_bound_holds_when_the_gradient_scale_grows():
    """n gradients of −tiny, then one of +1: the plays grow in ratios to the small running G_t (to 1.7e4 at n = 600),
    and the large gradient meets them. The tested εG_T form would be exceeded (regret 17197 against 1 at u = 0); the
    bound returned for a growing scale is the elementary one with the derived play envelope."""
    learner = ParameterFreeMirrorDescent(eps=1.0)
    for n, tiny in ((50, 1e-6), (300, 1e-6), (300, 1e-2), (600, 1e-6)):
        grads = np.full((n + 1, 1), -tiny)
        grads[-1] = 1.0
        plays = run(learner, grads)
        envelope = learner.play_envelope(list(np.sum(grads**2, axis=1)))
        assert np.all(np.abs(plays[:, 0]) <= np.array(envelope) * (1 + 1e-12))
        sq = list(np.sum(grads**2, axis=1))
        for r in (0.0, 1.0, 10.0):
            regret = float(np.sum(plays * grads)) + r * abs(float(grads.sum()))
            assert regret <= learner.regret_bound(r, sq), (n, tiny, r)
        # the same stream with its largest gradient first keeps the tested form, ε·G_T at u = 0
        assert learner.regret_bound(0.0, [1.0] + sq[:-1]) == pytest.approx(1.0)


def test_cocob_matches_an_independent_implementation():
    optax = pytest.importorskip("optax")
    import jax.numpy as jnp

    rng = np.random.default_rng(9)
    grads = rng.standard_normal((50, 4)) * np.linspace(0.1, 2, 50)[:, None]
    learner = COCOB(alpha=100.0, eps=1e-8)
    ours = run(learner, grads)
    transform = optax.contrib.scale_by_cocob(alpha=100.0, eps=1e-8)
    params = jnp.zeros(4)
    opt_state = transform.init(params)
    theirs = []
    for g in grads:
        theirs.append(np.asarray(params))
        updates, opt_state = transform.update(jnp.asarray(g), opt_state, params)
        params = params + updates
    assert np.allclose(ours, np.stack(theirs), rtol=1e-10, atol=1e-12)


# --- reductions -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("magnitude", [KT(eps=1.0), ONSBettor(eps=1.0)], ids=["kt", "ons"])
def test_direction_magnitude_regret_decomposition(magnitude):
    """Reg(u) = Reg¹ᴰ(‖u‖) + ‖u‖ Reg^B(u/‖u‖) exactly, and ≤ the sum of the two bounds, on adversarial streams."""
    direction = OGD(lr=0.1, radius=1.0)
    learner = DirectionMagnitude(magnitude, direction)
    for _name, grads in streams(5, 150, seed=10).items():
        state = learner.init(np.zeros(5))
        plays, dirs, mags, scalars = [], [], [], []
        for g in grads:
            plays.append(learner.predict(state))
            v = direction.predict(state.direction)
            dirs.append(v)
            mags.append(float(magnitude.predict(state.magnitude)))
            scalars.append(float(g @ v))
            state = learner.update(state, g)
        plays, dirs, mags, scalars = map(np.asarray, (plays, dirs, mags, scalars))
        assert np.all(np.linalg.norm(dirs, axis=1) <= 1 + 1e-12)
        sq = list(np.sum(grads**2, axis=1))
        total = grads.sum(axis=0)
        for r in (1e-3, 0.5, 1.0, 30.0, 1e3):
            u = -r * total / np.linalg.norm(total)
            regret = float(np.sum(grads * (plays - u)))
            reg_1d = float(np.sum(scalars * (mags - r)))
            reg_b = float(np.sum(grads * (dirs - u / r)))
            assert regret == pytest.approx(reg_1d + r * reg_b, rel=1e-10, abs=1e-10)
            assert reg_1d <= magnitude.regret_bound(r, sq, dim=1)
            assert reg_b <= direction.regret_bound(1.0, sq)
            assert regret <= learner.regret_bound(r, sq)


def test_ball_constraint_plays_in_the_ball_and_within_twice_the_inner_bound():
    inner = FreeGrad(lipschitz=1.0)
    learner = BallConstraint(inner, radius=0.3)
    for grads in streams(3, 200, seed=11).values():
        plays = run(learner, grads)
        assert np.all(np.linalg.norm(plays, axis=1) <= 0.3 * (1 + 1e-12))
        sq, total = list(np.sum(grads**2, axis=1)), grads.sum(axis=0)
        for r in (0.0, 0.1, 0.3):
            regret = float(np.sum(grads * plays)) + r * float(np.linalg.norm(total))
            assert regret <= 2 * inner.regret_bound(r, sq)
        assert learner.regret_bound(0.31, sq) == math.inf


# --- combinators --------------------------------------------------------------------------------------------------


def test_restarting_equals_fresh_learners_on_each_block():
    inner = DirectionMagnitude(KT(), OGD(lr=0.2, radius=1.0))
    grads = np.random.default_rng(12).uniform(-1, 1, (23, 3)) / 2
    got = run(Restarting(inner, period=5), grads)
    expected = np.concatenate([run(inner, grads[k : k + 5]) for k in range(0, 23, 5)])
    assert np.array_equal(got, expected)


@pytest.mark.parametrize(
    "inner", [OGD(lr=0.3, radius=0.5), FTRL(lr=0.3, radius=0.5), FreeGrad(lipschitz=1.0), ParameterFreeMirrorDescent()],
    ids=["ogd", "ftrl", "freegrad", "pfmd"],
)
def test_coordinatewise_equals_independent_one_dimensional_runs(inner):
    grads = np.random.default_rng(13).uniform(-1, 1, (40, 3))
    got = run(Coordinatewise(inner), grads)
    for i in range(3):
        assert np.allclose(got[:, i], run(inner, grads[:, i : i + 1])[:, 0], rtol=1e-13, atol=1e-15)


def test_coordinatewise_rejects_learners_without_a_per_coordinate_form():
    with pytest.raises(ValueError, match="learner"):
        Coordinatewise(BallConstraint(OGD(lr=0.1), radius=1.0))


def test_discounted_ogd_unrolls_to_momentum():
    eta, beta, mu = 0.2, 0.9, 0.5
    b = beta / (1 + eta * mu)
    grads = np.random.default_rng(14).standard_normal((30, 2))
    plays = run(Discounted(OGD(lr=eta), beta=beta, mu=mu), grads)
    for n in range(1, 30):  # Δ_{n+1} = −η Σ_{i≤n} β'^{n−i+1} g_i
        expected = -eta * sum(b ** (n - i + 1) * grads[i - 1] for i in range(1, n + 1))
        assert np.allclose(plays[n], expected, rtol=1e-12, atol=1e-15)


def test_discounted_ten_million_steps_without_overflow():
    """β = 0.9 for 10^7 rounds: β^{-t} would overflow near t ≈ 6,700; the closed form never forms it."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    eta, beta, mu, g, steps = 0.1, 0.9, 0.3, 2.0, 10**7
    learner = Discounted(OGD(lr=eta), beta=beta, mu=mu)
    grad = jnp.asarray([g, -g])
    state = jax.lax.fori_loop(0, steps, lambda _, s: learner.update(s, grad), learner.init(jnp.zeros(2)))
    delta, count = np.asarray(learner.predict(state)), float(state.count)
    b = beta / (1 + eta * mu)
    fixed_point = -eta * b * g / (1 - b)  # Δ* of Δ = b(Δ − ηg); the geometric transient b^t is 0 long before 10^7
    assert count == steps
    assert np.all(np.isfinite(delta))
    assert delta == pytest.approx([fixed_point, -fixed_point], rel=1e-13)


def test_discounted_ftrl_is_adam_without_bias_correction():
    """O2NC-style loop x_n = x_{n−1} + Δ_n, g_n = ∇f(x_n) with DiscountedFTRL against the Adam formula."""
    alpha, b1, b2, eps = 0.05, 0.9, 0.99, 1e-8

    def grad_f(x):  # a non-convex smooth test function
        return np.array([np.sin(3 * x[0]) + x[1], 2 * x[1] * np.cos(x[0]) + x[0] ** 3, 0.5 * x[2] - np.tanh(x[0])])

    x0 = np.array([0.7, -1.2, 2.0])
    for coordinatewise in (True, False):
        learner = DiscountedFTRL(lr=alpha, beta1=b1, beta2=b2, eps=eps, coordinatewise=coordinatewise)
        state, x, ours = learner.init(np.zeros(3)), x0.copy(), []
        for _ in range(200):
            x = x + learner.predict(state)
            ours.append(x.copy())
            state = learner.update(state, grad_f(x))
        # independent Adam without bias correction: x_k = x_{k−1} − α m_k/(√v_k + ε), g_k = ∇f(x_{k−1})
        m, v, x, adam = np.zeros(3), (np.zeros(3) if coordinatewise else 0.0), x0.copy(), [x0.copy()]
        for _ in range(199):
            g = grad_f(x)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * (g * g if coordinatewise else float(g @ g))
            x = x - alpha * m / (np.sqrt(v) + eps)
            adam.append(x.copy())
        assert np.max(np.abs(np.asarray(ours) - np.asarray(adam))) <= 1e-10


# --- backends and jit ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "learner",
    [KT(), KT(lipschitz=None), COCOB(), DiscountedFTRL(lr=0.1), FreeGrad(coordinatewise=True),
     Restarting(FTRL(lr=0.1), period=3)],
    ids=["kt", "kt_scale_free", "cocob", "adam", "freegrad_cw", "restarting"],
)
def test_jit_matches_eager(learner):
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    grads = np.random.default_rng(15).uniform(-1, 1, (12, 4))
    eager = run(learner, grads)
    update, predict = jax.jit(learner.update), jax.jit(learner.predict)
    state = learner.init(to_backend(np.zeros(4), "jax"))
    plays = []
    for g in grads:
        plays.append(to_numpy(predict(state)))
        state = update(state, to_backend(g, "jax"))
    assert np.allclose(np.stack(plays), eager, rtol=1e-12, atol=1e-15)


def test_kt_runs_on_a_zero_dimensional_array_as_a_one_dimensional_learner():
    learner = KT(eps=1.0)
    state = learner.init(np.asarray(0.0))
    for g in (-1.0, -1.0, -1.0):
        state = learner.update(state, np.asarray(g))
    assert np.shape(learner.predict(state)) == ()
    # wealth after three heads: 1·(1+0)(1+1/2)(1+2/3) = 2.5; bet X/(t+1)·W = 3/4 · 2.5
    assert float(learner.predict(state)) == pytest.approx(1.875, rel=1e-15)
