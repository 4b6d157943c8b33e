"""The compiled runner's layout: the batch form of epoch.plain_radius_squared (the (T, S, ...) points buffer of the
runner) equals the per-run form; an epoch length that UNROLL does not divide (the steps left after the loop) and a
jaxlib that refuses the runner's XLA options both give o2nc.minimize's numbers (float64, 1e-12)."""
from __future__ import annotations

import numpy as np
import pytest

import o2nc
from o2nc.conversion import epoch
from online_learners import OGD

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

from o2nc.experiments import batched  # noqa: E402

pytestmark = pytest.mark.skipif(not jax.config.jax_enable_x64, reason="needs JAX_ENABLE_X64=1 (set by conftest)")

A = np.random.default_rng(0).standard_normal((5, 5)) / 3
AJ = jnp.asarray(A)


def grad_jax(x):
    return jnp.sign(x) - 0.5 * AJ.T @ jnp.sign(AJ @ x)


def grad_np(x):
    return np.sign(x) - 0.5 * np.sign(A @ x) @ A


def rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def test_plain_radius_squared_batch_equals_each_run():
    rng = np.random.default_rng(1)
    points = rng.standard_normal((7, 3, 4))  # T = 7 points of 3 runs in R^4
    mean = points.mean(axis=0)
    got = epoch.plain_radius_squared(points, mean, batch=1)
    assert got.shape == (3,)
    for i in range(3):
        assert got[i] == epoch.plain_radius_squared(points[:, i], mean[i])
    # a tree of leaves: the runs' sums over all leaves
    tree_points, tree_mean = {"a": points[..., :1], "b": points[..., 1:]}, {"a": mean[:, :1], "b": mean[:, 1:]}
    np.testing.assert_allclose(epoch.plain_radius_squared(tree_points, tree_mean, batch=1), got, rtol=1e-15)
    both = np.asarray(jnp.sqrt(epoch.plain_radius_squared(jnp.asarray(points), jnp.asarray(mean), batch=1)))
    for i in range(3):
        assert abs(both[i] - float(epoch.exact_radius(points[:, i], mean[i]))) <= 1e-15 * both[i]


@pytest.mark.parametrize("T, scaling", [(7, "uniform"), (3, "midpoint"), (6, "none")])
def test_epoch_length_not_a_multiple_of_the_unroll(T, scaling):
    """T % UNROLL steps after the loop; the constant scalings come in as (C, T, S) values like a replayed one."""
    assert T % batched.UNROLL
    x0 = np.linspace(-1, 1, 5)
    learner = OGD(lr=0.004, radius=0.02)
    out = batched.run_batched(grad_jax, x0, seeds=[2, 9], learner=learner, epoch_length=T, budget=6 * T,
                              scaling=scaling, chunk_steps=4 * T)  # two chunks, the second short
    for i, seed in enumerate([2, 9]):
        ref = o2nc.minimize(grad_np, x0, learner=learner, budget=6 * T, epoch_length=T, seed=seed, scaling=scaling,
                            radius_kind="exact").epochs
        for got, want in ((out.mean[i], ref.mean), (out.certificate[i], ref.certificate),
                          (out.radius[i], ref.radius), (out.radius_bound[i], ref.radius_bound)):
            assert rel(got, want) <= 1e-12


@pytest.mark.parametrize("options", [
    {"xla_cpu_no_such_option_here": ""},  # an option a jaxlib does not know
    {"xla_cpu_experimental_ynn_fusion_type": "NO_SUCH_ENUM_VALUE"},  # a value it does not take
], ids=["unknown-option", "refused-value"])
def test_refused_compiler_options_fall_back(monkeypatch, options):
    monkeypatch.setattr(batched, "COMPILER_OPTIONS", options)
    monkeypatch.setattr(batched, "_CACHE", {})
    x0 = np.linspace(-1, 1, 5)
    learner = OGD(lr=0.004, radius=0.02)
    out = batched.run_batched(grad_jax, x0, seeds=[4], learner=learner, epoch_length=8, budget=32)
    ref = o2nc.minimize(grad_np, x0, learner=learner, budget=32, epoch_length=8, seed=4, radius_kind="exact").epochs
    assert rel(out.mean[0], ref.mean) <= 1e-12 and rel(out.radius[0], ref.radius) <= 1e-12
