"""o2nc.theory with gradient noise σ: [CMO23] Theorem 8's σ/√T term in the parameters, the bound and the rate."""
from __future__ import annotations

import math

import numpy as np
import pytest

import o2nc
from o2nc.experiments import theory_budget
from o2nc.theory import ogd_bound, ogd_parameters, ogd_rate
from online_learners import OGD


def test_sigma_zero_keeps_the_noiseless_parameters_exactly():
    for args in [(10_000, 0.1, 1.0, 1.0), (10**6, 0.01, 2.0, 5.0), (10, 100.0, 100.0, 1e-3), (12_345, 0.3, 7.0, 0.2)]:
        N, delta, G, gap = args
        p = ogd_parameters(*args, sigma=0.0)
        assert p == ogd_parameters(*args)
        T = max(1, min(math.ceil((G * delta * N / gap) ** (2 / 3) * (1 - 1e-12)), math.ceil(N / 2)))
        assert p.epoch_length == T and p.epochs == N // T
        assert p.radius == delta / T and p.lr == delta / T / (G * math.sqrt(T))
        assert ogd_bound(*args, sigma=0.0) == ogd_bound(*args) == gap / (delta * (N // T)) + G / math.sqrt(T)


def test_sigma_balances_the_two_terms_of_the_bound():
    """T^{3/2} = (G + σ)δN/gap: gap·T/(δN) = (G + σ)/√T at the unrounded T (derived in ogd_parameters)."""
    N, delta, G, gap, sigma = 10**6, 0.1, 100.0, 1.0, 100.0
    p = ogd_parameters(N, delta, G, gap, sigma=sigma)
    T_exact = ((G + sigma) * delta * N / gap) ** (2 / 3)
    assert p.epoch_length == math.ceil(T_exact)
    assert gap * T_exact / (delta * N) == pytest.approx((G + sigma) / math.sqrt(T_exact), rel=1e-12)
    # the step keeps G (OGD's regret uses E‖g‖² ≤ G²); only T, hence D = δ/T and K, see σ
    assert p.radius == delta / p.epoch_length and p.lr == p.radius / (G * math.sqrt(p.epoch_length))


def test_the_bound_at_the_issues_numbers_has_the_sigma_term():
    """N = 10⁶, δ = 0.1, G = σ = 100, gap = 1: gap/(δK) + (G + σ)/√T; without σ it was 0.94 (issue 11)."""
    N, delta, G, gap, sigma = 10**6, 0.1, 100.0, 1.0, 100.0
    p = ogd_parameters(N, delta, G, gap, sigma=sigma)
    bound = ogd_bound(N, delta, G, gap, sigma=sigma)
    assert bound == gap / (delta * p.epochs) + (G + sigma) / math.sqrt(p.epoch_length)
    assert ogd_bound(N, delta, G, gap) == pytest.approx(0.94, abs=0.005)  # the σ-free value the runner reported
    assert bound > 1.4


def test_theory_budget_inverts_the_bound_with_sigma():
    for sigma in (0.0, 0.5, 3.0):
        for eps in (0.5, 0.2):
            n = theory_budget(eps, 0.1, 1.0, 2.0, sigma)
            assert ogd_bound(n, 0.1, 1.0, 2.0, sigma) <= eps
            assert ogd_bound(int(n * 0.9), 0.1, 1.0, 2.0, sigma) > eps
    assert theory_budget(0.2, 0.1, 1.0, 2.0, 3.0) > theory_budget(0.2, 0.1, 1.0, 2.0, 0.0)


def test_rate_has_g_plus_sigma_squared():
    assert ogd_rate(0.1, 0.1, 1.0, 1.0) == pytest.approx(1e4)
    assert ogd_rate(0.1, 0.1, 1.0, 1.0, sigma=1.0) == pytest.approx(4e4)
    # the bound meets ε at about 8× the rate's order (derived in ogd_rate); check within the rounding of T and K
    eps, sigma = 0.05, 2.0
    n = theory_budget(eps, 0.1, 1.0, 1.0, sigma)
    assert n == pytest.approx(8 * ogd_rate(eps, 0.1, 1.0, 1.0, sigma), rel=0.1)


def test_rate_suffices_where_the_balanced_epoch_length_is_free():
    """ogd_rate's docstring: at N = ⌈8·rate⌉ the bound is at most 1.07ε where the balanced T lies in [10, N/10] and
    1.8ε in [1, N/2] (the rounding of T and K); a seeded random search over (ε, δ, G, σ, gap)."""
    rng = np.random.default_rng(1)
    worst = {"inner": 0.0, "free": 0.0}
    for _ in range(4000):
        g = 10 ** rng.uniform(-2, 2)
        eps = g * 10 ** rng.uniform(-3, 1)
        delta, gap = 10 ** rng.uniform(-3, 1), 10 ** rng.uniform(-3, 3)
        sigma = 0.0 if rng.random() < 0.5 else 10 ** rng.uniform(-1, 1)
        n = math.ceil(8 * ogd_rate(eps, delta, g, gap, sigma))
        if not 2 <= n <= 10**15:
            continue
        balanced = ((g + sigma) * delta * n / gap) ** (2 / 3)
        ratio = ogd_bound(n, delta, g, gap, sigma) / eps
        if 1 <= balanced <= n / 2:
            worst["free"] = max(worst["free"], ratio)
        if 10 <= balanced <= n / 10:
            worst["inner"] = max(worst["inner"], ratio)
    assert 1.0 < worst["inner"] <= 1.07
    assert worst["inner"] < worst["free"] <= 1.8


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, "1"])
def test_bad_sigma_is_refused_by_name(bad):
    for fn in (ogd_parameters, ogd_bound):
        with pytest.raises(ValueError, match="sigma"):
            fn(1000, 0.1, 1.0, 1.0, sigma=bad)
    with pytest.raises(ValueError, match="sigma"):
        ogd_rate(0.1, 0.1, 1.0, 1.0, sigma=bad)


def test_theorem_8_with_noise_holds_at_the_sigma_parameters():
    """O2NC + OGD on a noisy oracle: the mean exact-gradient epoch certificate stays below gap/(δK) + (G + σ)/√T.

    f(x) = ‖x‖₁ − ½‖x‖_∞ (non-convex, non-smooth), Gaussian noise with E‖ξ‖² = σ²; the OGD step uses
    G = √(L² + σ²) ≥ √E‖g‖²."""
    d, budget, delta, noise = 10, 4000, 0.2, 0.3
    sigma = noise * math.sqrt(d)

    def grad(x):
        g = np.sign(x)
        i = int(np.argmax(np.abs(x)))
        g[i] -= 0.5 * np.sign(x[i])
        return g

    x0 = np.linspace(-2.0, 3.0, d)
    L = math.sqrt(d)
    G = math.sqrt(L * L + sigma * sigma)
    gap = float(np.abs(x0).sum() - 0.5 * np.abs(x0).max())
    p = ogd_parameters(budget, delta, G, gap, sigma=sigma)
    bound = ogd_bound(budget, delta, G, gap, sigma=sigma)
    means = []
    for seed in range(3):
        points = []

        def noisy(x, rng):
            points.append(np.array(x, dtype=float))
            return grad(x) + noise * rng.standard_normal(d)

        res = o2nc.minimize(noisy, x0, learner=OGD(lr=p.lr, radius=p.radius), budget=budget,
                            epoch_length=p.epoch_length, seed=seed)
        w = np.asarray(points)[: p.epochs * p.epoch_length].reshape(p.epochs, p.epoch_length, d)
        exact = [np.linalg.norm(np.mean([grad(v) for v in epoch], axis=0)) for epoch in w]
        assert float(np.max(res.epochs.radius)) <= delta
        means.append(float(np.mean(exact)))
    assert np.mean(means) <= bound, (means, bound)
    assert bound < np.linalg.norm(grad(x0))  # not vacuous
