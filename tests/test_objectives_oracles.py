"""Stochastic oracles, noise models, the counting wrapper, exact Goldstein oracles and the hard instance."""
import functools
import math

import numpy as np
import pytest

import objectives
from objectives.hard_instance import GAMMA_INF, chain_grad, chain_value, dphi, dpsi, phi, progress, psi
from objectives.minnorm import min_norm_hull
from objectives.noise import sample_noise

torch = pytest.importorskip("torch")
jnp = pytest.importorskip("jax.numpy")

STOCHASTIC = objectives.names(tags=["stochastic"])
GOLDSTEIN = [n for n in objectives.names(tags=["diagnostic"]) if objectives.get(n).has_goldstein]


@functools.cache
def cached(name):
    return objectives.get(name)


def _z_test(samples, target, z=6.0):
    """The sample mean estimates ``target``: per coordinate within 6 standard errors for d ≤ 100; for larger d,
    where rare per-sample contributions make coordinate-wise normal approximations poor, the squared error must
    stay below twice its expectation ``tr(Cov)/K`` under unbiasedness (a concentrated sum of many terms)."""
    mean = samples.mean(axis=0)
    K = samples.shape[0]
    if samples.shape[1] > 100:
        err2 = np.sum((mean - target) ** 2)
        expected = np.sum(samples.var(axis=0, ddof=1)) / K
        assert err2 <= 2.0 * expected, (err2, expected)
        return
    se = samples.std(axis=0, ddof=1) / math.sqrt(K)
    assert np.all(np.abs(mean - target) <= z * se + 1e-10 * (1 + np.abs(target))), \
        np.max(np.abs(mean - target) / (se + 1e-300))


@pytest.mark.parametrize("name", STOCHASTIC)
def test_objectives_stochastic_grad_unbiased_and_seeded(name):
    obj = cached(name)
    x = obj.x0 + 0.3 * np.random.default_rng(0).standard_normal(obj.dim) * (
        obj.extra.get("lam", 1.0) if "hard-instance" in obj.tags else 1.0)
    rng = np.random.default_rng(42)
    S = np.array([obj.stochastic_grad(x, rng, 1) for _ in range(3000)])
    _z_test(S, obj.grad(x))
    # seeded: same seed, same samples, on every backend
    a = obj.stochastic_grad(x, np.random.default_rng(9))
    b = obj.stochastic_grad(x, np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)
    t = obj.stochastic_grad(torch.tensor(x), np.random.default_rng(9))
    j = obj.stochastic_grad(jnp.asarray(x), np.random.default_rng(9))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64
    np.testing.assert_allclose(t.numpy(), a, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(j), a, rtol=1e-10, atol=1e-12)
    with pytest.raises(TypeError):
        obj.stochastic_grad(x, 0)


def test_objectives_minibatch_full_batch_limit():
    """A batch drawn with replacement averages to the full gradient as the batch grows."""
    obj = cached("phase_retrieval")
    rng = np.random.default_rng(0)
    g = obj.grad(obj.x0)
    errs = [np.linalg.norm(np.mean([obj.stochastic_grad(obj.x0, rng, b) for _ in range(20)], axis=0) - g)
            for b in (1, 64, 4096)]
    assert errs[2] < errs[0] / 10


@pytest.mark.parametrize("kind", ["gaussian", "student_t", "bounded", "pareto", "cauchy"])
def test_objectives_noise_models(kind):
    base = cached("nesterov_n2")
    noisy = objectives.with_noise(base, kind, scale=2.0, df=4.0, alpha=1.5)
    assert noisy.is_stochastic and "stochastic" in noisy.tags and noisy.name == f"nesterov_n2+{kind}"
    assert base.stochastic_grad is None                      # the base objective is untouched
    x = base.x0 + 0.1
    rng = np.random.default_rng(1)
    S = np.array([noisy.stochastic_grad(x, rng) for _ in range(20000)])
    xi = S - base.grad(x)
    if kind in ("gaussian", "student_t", "bounded"):
        _z_test(S, base.grad(x))
        assert noisy.extra["noise_variance"] == 4.0
        assert np.mean(np.sum(xi**2, axis=1)) == pytest.approx(4.0, rel=0.05)
        if kind == "bounded":
            np.testing.assert_allclose(np.linalg.norm(xi, axis=1), 2.0, rtol=1e-12)
    else:
        assert noisy.extra["noise_variance"] == math.inf and "heavy-tailed" in noisy.tags
        assert np.abs(np.median(xi, axis=0)).max() < 0.05          # symmetric about the gradient
        per = xi.ravel() / (2.0 / math.sqrt(base.dim))
        if kind == "pareto":   # P(|ξ| > t) = (1 + t)^{-α}
            for t in (1.0, 5.0, 20.0):
                assert np.mean(np.abs(per) > t) == pytest.approx((1 + t) ** -1.5, rel=0.1)
        else:                  # Cauchy: P(|ξ| > t) = 1 - 2 atan(t)/π
            for t in (1.0, 10.0):
                assert np.mean(np.abs(per) > t) == pytest.approx(1 - 2 * math.atan(t) / math.pi, rel=0.1)
        assert noisy.extra["unbiased"] == (kind == "pareto")
    # seeded and the same on every backend
    a = noisy.stochastic_grad(x, np.random.default_rng(5))
    np.testing.assert_allclose(noisy.stochastic_grad(torch.tensor(x), np.random.default_rng(5)).numpy(), a)
    np.testing.assert_allclose(np.asarray(noisy.stochastic_grad(jnp.asarray(x), np.random.default_rng(5))), a)


def test_objectives_noise_rejects_bad_parameters():
    base = cached("nesterov_n2")
    with pytest.raises(ValueError, match="df > 2"):
        objectives.with_noise(base, "student_t", df=2.0)
    with pytest.raises(ValueError, match="alpha"):
        objectives.with_noise(base, "pareto", alpha=2.5)
    with pytest.raises(ValueError, match="unknown noise kind"):
        objectives.with_noise(base, "laplace")
    with pytest.raises(ValueError, match="scale"):
        objectives.with_noise(base, scale=-1.0)
    assert sample_noise(np.random.default_rng(0), "gaussian", 3, 0.0).tolist() == [0.0, 0.0, 0.0]


def test_objectives_counting_wrapper():
    c = objectives.Counting(cached("phase_retrieval"))
    rng = np.random.default_rng(0)
    c.value(c.x0)
    c.grad(c.x0)
    c.grad(torch.tensor(c.x0))
    for _ in range(5):
        c.stochastic_grad(c.x0, rng)
    c.value_and_grad(c.x0)
    assert (c.value_calls, c.grad_calls, c.stochastic_grad_calls) == (2, 3, 5)
    assert c.dim == 20 and c.f_star == 0.0 and c.name == "phase_retrieval"
    c.reset()
    assert c.calls == dict(value=0, grad=0, stochastic_grad=0)
    det = objectives.Counting(cached("nesterov_n2"))
    assert det.stochastic_grad is None and not det.is_stochastic


# ---------------------------------------------------------------------------------------------- Goldstein
def _sampled_goldstein(obj, x, delta, rng, m=3000):
    """Min norm of the hull of gradients at points of the closed ball (half inside, half on the sphere)."""
    d = obj.dim
    u = rng.standard_normal((m, d))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    r = delta * np.r_[rng.random(m // 2) ** (1.0 / d), np.ones(m - m // 2)]
    G = np.array([obj.grad(y) for y in x + r[:, None] * u])
    return min_norm_hull(G)


@pytest.mark.parametrize("name", GOLDSTEIN)
def test_objectives_goldstein_against_dense_sampling(name):
    obj = cached(name)
    rng = np.random.default_rng(11)
    ref = obj.x_star if obj.x_star is not None else np.zeros(obj.dim)
    seen = set()
    for dist in (0.3, 0.9, 1.5, 3.0):            # distances to x* in units of delta: both regimes
        for _ in range(2):
            delta = 0.5
            v = rng.standard_normal(obj.dim)
            x = ref + dist * delta * v / np.linalg.norm(v)
            exact = obj.goldstein(x, delta)
            sampled = _sampled_goldstein(obj, x, delta, rng)
            assert sampled >= exact - 1e-9            # sampled hull ⊆ ∂_δ f(x): never below the exact value
            assert sampled <= exact + 5e-3 * (1 + exact)   # dense sampling gets close (3000 points, d ≤ 5)
            seen.add(round(exact, 6))
            # monotone in delta, and Clarke-like limit at delta = 0 is ‖grad‖ where f is smooth
            assert obj.goldstein(x, 2 * delta) <= exact + 1e-12
    assert len(seen) >= 2 or name == "asl_overton"


def test_objectives_goldstein_closed_forms():
    assert cached("abs_1d").goldstein(np.array([0.3]), 0.5) == 0.0
    assert cached("abs_1d").goldstein(np.array([0.7]), 0.5) == 1.0
    sn = cached("scaled_norm")
    x = np.array([2.0, 0.0, 0.0])
    assert sn.goldstein(x, 1.0) == pytest.approx(math.sqrt(1 - 0.25))
    ao = cached("asl_overton")
    assert ao.goldstein(np.array([0.1, 5, 5, 5, 5.0]), 0.2) == pytest.approx(2.0)
    assert ao.goldstein(np.array([0.3, 5, 5, 5, 5.0]), 0.2) == pytest.approx(math.sqrt(16 + 4))
    l1 = cached("l1_norm")
    assert l1.goldstein(np.array([0.1, 3.0, -3.0, 3.0]), 0.5) == pytest.approx(math.sqrt(3))  # one free coord
    with pytest.raises(NotImplementedError):
        cached("nesterov_n2").goldstein(np.zeros(5), 0.1)


# ---------------------------------------------------------------------------------------------- hard instance
def test_objectives_hard_instance_constants():
    t = np.linspace(-6, 6, 200001)
    assert psi(np, t).max() < math.e and psi(np, t).min() >= 0
    assert dpsi(np, t).max() < math.sqrt(54 / math.e) and dpsi(np, t).min() >= 0
    assert phi(np, t).max() < math.sqrt(2 * math.pi * math.e) and phi(np, t).min() > 0
    assert dphi(np, t).max() <= math.sqrt(math.e)
    assert np.all(psi(np, t[t <= 0.5]) == 0) and np.all(dpsi(np, t[t <= 0.5]) == 0)
    # Ψ(t)Φ'(s) > 1 for t >= 1, |s| < 1 (equality in the limit t = 1, |s| -> 1)
    tt, ss = np.meshgrid(np.linspace(1.0, 4.0, 301), np.linspace(-0.999, 0.999, 301))
    assert np.all(psi(np, tt) * dphi(np, ss) > 1)
    rng = np.random.default_rng(0)
    T = 12
    for s in (0.5, 1.0, 3.0, 10.0):
        Y = rng.normal(0, s, (500, T))
        for y in Y:
            assert np.abs(chain_grad(np, y)).max() <= GAMMA_INF
            assert chain_value(np, np.zeros(T)) - chain_value(np, y) <= 12 * T
            if progress(y, 1.0) < T:          # Arjevani et al. Lemma 2: large gradient before the end
                assert np.linalg.norm(chain_grad(np, y)) > 1.0


def test_objectives_hard_instance_scaling():
    eps, delta, sigma, gap = 0.05, 0.02, 5.0, 500.0
    obj = objectives.get("hard_chain", eps=eps, delta=delta, sigma=sigma, gap=gap)
    L = eps / delta
    assert obj.extra["T"] == math.floor(gap * L / (48 * 152 * eps**2)) == obj.dim
    assert obj.extra["p"] == pytest.approx(min(1.0, (46 * eps) ** 2 / sigma**2))
    assert obj.extra["gap_bound"] <= gap
    with pytest.raises(ValueError, match="gap"):
        objectives.get("hard_chain", eps=eps, delta=delta, gap=1e-3)
    # F(0) - F(x) <= gap_bound everywhere
    rng = np.random.default_rng(1)
    lam = obj.extra["lam"]
    for _ in range(200):
        x = lam * rng.normal(0, 2, obj.dim)
        assert float(obj.value(obj.x0)) - float(obj.value(x)) <= obj.extra["gap_bound"]


def test_objectives_hard_instance_zero_chain():
    """Each (stochastic) gradient reveals at most one new coordinate; a zero-respecting run stays on the chain."""
    obj = objectives.get("hard_chain", T=15, eps=0.1, delta=0.1, sigma=10.0)
    lam = obj.extra["lam"]
    rng = np.random.default_rng(0)
    # points supported on the first k coordinates: the gradient is supported on the first k+1
    for k in range(obj.dim):
        for _ in range(20):
            x = np.zeros(obj.dim)
            x[:k] = lam * rng.normal(0, 1.5, k)
            assert progress(obj.grad(x), 0.0) <= k + 1
            assert progress(obj.stochastic_grad(x, rng), 0.0) <= k + 1
    # zero-respecting SGD: progress grows by at most one coordinate per oracle call
    x = np.zeros(obj.dim)
    support = 0
    for _ in range(400):
        g = obj.stochastic_grad(x, rng)
        assert progress(g, 0.0) <= support + 1
        x = x - 20.0 * g
        support = max(support, progress(x, 0.0))
    assert support >= 2       # the run did move along the chain


def test_objectives_hard_instance_variance_bound():
    obj = objectives.get("hard_chain", T=10, eps=0.1, delta=0.1, sigma=10.0)
    lam, p = obj.extra["lam"], obj.extra["p"]
    rng = np.random.default_rng(2)
    for k in (0, 3, 7):
        x = np.zeros(obj.dim)
        x[:k] = lam * rng.choice([-1.2, 1.2], k)
        g = obj.grad(x)
        S = np.array([obj.stochastic_grad(x, rng) for _ in range(4000)])
        var = np.mean(np.sum((S - g) ** 2, axis=1))
        j = progress(x, 0.25, lam)              # the revealed coordinate is j + 1 (index j)
        exact = (1 - p) / p * g[j] ** 2
        assert var <= obj.extra["variance_bound"]
        assert var == pytest.approx(exact, rel=0.15)
        assert np.linalg.norm(g) > 2 * obj.params["eps"]
