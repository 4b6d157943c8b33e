"""Vectorised seeds: batched numpy and jax vmap+jit against single O2NC runs."""
from __future__ import annotations

import numpy as np
import pytest

import o2nc
from o2nc.experiments.batched import o2nc_ogd_jax, o2nc_ogd_numpy
from online_learners import OGD

A = np.random.default_rng(0).standard_normal((6, 6)) / 3


def grad_batch(W):  # f(x) = ‖x‖₁ − 0.5 ‖A x‖₁: non-smooth, non-convex
    return np.sign(W) - 0.5 * np.sign(W @ A.T) @ A


def grad_one(x):
    return grad_batch(x[None])[0]


def reference(seed, x0, budget, T, radius, lr):
    res = o2nc.minimize(grad_one, x0, learner=OGD(lr=lr, radius=radius), budget=budget, epoch_length=T,
                        scaling="uniform", seed=seed)
    return res.epochs


def test_numpy_batched_equals_single_runs():
    x0 = np.linspace(-1, 1, 6)
    seeds = [0, 3, 7]
    out = o2nc_ogd_numpy(grad_batch, x0, seeds=seeds, budget=200, epoch_length=20, radius=0.01, lr=0.003)
    assert out.certificate.shape == (3, 10) and out.grad_calls == 200
    for i, seed in enumerate(seeds):
        ref = reference(seed, x0, 200, 20, 0.01, 0.003)
        np.testing.assert_allclose(out.mean[i], ref.mean, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(out.certificate[i], ref.certificate, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(out.radius[i], ref.radius, rtol=1e-10, atol=1e-13)


def test_jax_batched_equals_numpy():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    if not jax.config.jax_enable_x64:
        pytest.skip("needs JAX_ENABLE_X64=1 (set by conftest)")
    Aj = jnp.asarray(A)

    def g(x):
        return jnp.sign(x) - 0.5 * Aj.T @ jnp.sign(Aj @ x)

    x0 = np.linspace(-1, 1, 6)
    seeds = list(range(5))
    a = o2nc_ogd_numpy(grad_batch, x0, seeds=seeds, budget=300, epoch_length=30, radius=0.01, lr=0.003)
    b = o2nc_ogd_jax(g, x0, seeds=seeds, budget=300, epoch_length=30, radius=0.01, lr=0.003)
    np.testing.assert_allclose(b.mean, a.mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.certificate, a.certificate, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(b.radius, a.radius, rtol=1e-8, atol=1e-12)


def test_batched_rejects_bad_lengths():
    with pytest.raises(ValueError, match="epoch_length"):
        o2nc_ogd_numpy(grad_batch, np.zeros(6), seeds=[0], budget=10, epoch_length=20, radius=1.0, lr=1.0)
