"""The compiled runner (o2nc.experiments.batched): the conversion core jitted and vmapped over seeds, held to
o2nc.minimize and to the O2NC method's own run with the same seed (float64, 1e-12)."""
from __future__ import annotations

import numpy as np
import pytest

import o2nc
import objectives
from online_learners import OGD

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

from o2nc import methods  # noqa: E402
from o2nc.experiments.batched import (  # noqa: E402
    compilable,
    numpy_gaussian_noise,
    o2nc_ogd_jax,
    o2nc_ogd_numpy,
    run_batched,
    run_method,
)

pytestmark = pytest.mark.skipif(not jax.config.jax_enable_x64, reason="needs JAX_ENABLE_X64=1 (set by conftest)")

A = np.random.default_rng(0).standard_normal((6, 6)) / 3
AJ = jnp.asarray(A)
TOL = 1e-12


def grad_batch(W):  # f(x) = ‖x‖₁ − 0.5 ‖A x‖₁: non-smooth, non-convex
    return np.sign(W) - 0.5 * np.sign(W @ A.T) @ A


def grad_jax(x):
    return jnp.sign(x) - 0.5 * AJ.T @ jnp.sign(AJ @ x)


def rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


@pytest.mark.parametrize("scaling", ["uniform", "exponential"])
def test_vmapped_seeds_equal_minimize(scaling):
    x0 = np.linspace(-1, 1, 6)
    seeds = [0, 3, 7]
    learner = OGD(lr=0.003, radius=0.01)
    out = run_batched(grad_jax, x0, seeds=seeds, learner=learner, epoch_length=20, budget=200, scaling=scaling,
                      chunk_steps=50)  # several chunks, the last one short
    assert out.mean.shape == (3, 10, 6) and out.epochs.tolist() == [10] * 3 and out.calls[-1] == 200
    for i, seed in enumerate(seeds):
        ref = o2nc.minimize(lambda w: grad_batch(w[None])[0], x0, learner=learner, budget=200, epoch_length=20,
                            scaling=scaling, seed=seed, radius_kind="exact").epochs
        assert rel(out.mean[i], ref.mean) <= TOL
        assert rel(out.certificate[i], ref.certificate) <= TOL
        assert rel(out.exact_certificate[i], ref.certificate) <= TOL      # exact oracle: the same numbers
        assert rel(out.radius[i], ref.radius) <= TOL
        assert rel(out.radius_bound[i], ref.radius_bound) <= TOL
        assert out.calls.tolist() == list(ref.calls)


def test_fixed_ogd_wrappers_equal_minimize_and_replay():
    x0 = np.linspace(-1, 1, 6)
    a = o2nc_ogd_numpy(grad_batch, x0, seeds=[0, 5], budget=200, epoch_length=20, radius=0.01, lr=0.003)
    b = o2nc_ogd_jax(grad_jax, x0, seeds=[0, 5], budget=200, epoch_length=20, radius=0.01, lr=0.003)
    assert a.certificate.shape == b.certificate.shape == (2, 10) and a.grad_calls == b.grad_calls == 200
    for x, y in ((a.mean, b.mean), (a.certificate, b.certificate), (a.radius, b.radius)):
        assert rel(x, y) <= TOL
    s = np.random.default_rng(1).random((2, 200))   # replayed s-values: row i for seed i
    c = o2nc_ogd_jax(grad_jax, x0, seeds=[0, 5], budget=200, epoch_length=20, radius=0.01, lr=0.003, s=s)
    d = o2nc_ogd_numpy(grad_batch, x0, seeds=[0, 5], budget=200, epoch_length=20, radius=0.01, lr=0.003, s=s)
    assert rel(c.mean, d.mean) <= TOL and rel(c.mean, b.mean) > 1e-6


def _tight(**kw):
    return objectives.get("tight_ramp", **{**dict(eps=0.1, delta=0.05, G=0.5, sigma=0.2, gap=0.2,
                                                  slope_factor=1.5), **kw})


@pytest.mark.parametrize("oracle", ["auto", "exact"])
def test_compiled_method_run_equals_the_method_run(oracle):
    """Same tuning, s-sequence and (on the stochastic oracle) noise stream: the same Run, trace and certificate."""
    obj = _tight()
    m = methods.get("o2nc", learner="ogd", tuning="theory", epsilon=0.1)
    a = m.run(obj, budget=10**6, delta=0.05, seed=3, oracle=oracle)
    b = run_method(m, obj, budget=10**6, delta=0.05, seed=3, oracle=oracle)
    assert a.stopped == b.stopped == "target"
    assert a.grad_calls == b.grad_calls and a.certificate_calls == b.certificate_calls
    assert a.certificate_source == b.certificate_source
    assert (a.certificate_calls > 0) == (oracle == "auto")
    assert set(a.trace) == set(b.trace)
    for k in a.trace:
        if k not in ("value", "radius"):
            assert rel(b.trace[k], a.trace[k]) <= TOL, k
    # the compiled run keeps each epoch's points: its radius is the exact r_k, never above the method's radius
    # (the exact r_k, or the path bound L_k ≥ r_k when the method's loop keeps no points)
    assert np.all(b.trace["radius"] <= a.trace["radius"] * (1 + TOL))
    assert np.all(b.trace["radius"] <= a.trace["radius_bound"] * (1 + TOL))
    ca, cb = a.certificate.as_dict(), b.certificate.as_dict()
    assert ca["kind"] == cb["kind"] and ca["calls"] == cb["calls"] and cb["radius_kind"] == "exact"
    assert abs(ca["epsilon"] - cb["epsilon"]) <= TOL and cb["delta"] <= ca["delta"] * (1 + TOL)
    for k in ("epoch_length", "theory_budget", "radius", "lr", "sigma", "epochs", "selected_epoch"):
        assert a.info[k] == b.info[k], k
    # the run's budget ends the run when the target is not met
    c = run_method(m, obj, budget=5 * a.info["epoch_length"] + 3, delta=0.05, seed=3, oracle=oracle)
    assert c.stopped == "budget" and c.grad_calls == 5 * a.info["epoch_length"] and c.info["epochs"] == 5


def test_numpy_gaussian_noise_is_the_objectives_stream():
    obj = _tight()
    x = np.array([1.0, 0.01])
    rng1, rng2 = np.random.default_rng(4), np.random.default_rng(4)
    draw = numpy_gaussian_noise([rng2], 2, obj.params["sigma"])
    xi = np.vstack([draw(0, 0, 3), draw(0, 3, 4)])
    ref = np.array([obj.stochastic_grad(x, rng1) for _ in range(7)]) - obj.grad(x)
    assert rel(xi, ref) <= TOL
    with pytest.raises(ValueError, match="in order"):
        draw(0, 3, 1)


def test_compilable_names_what_it_cannot_run():
    obj = _tight()
    assert compilable(methods.get("o2nc", learner="ogd"), obj) is None
    assert "baseline" in compilable(methods.get("sgd", lr=0.1), obj)
    assert "hint" in compilable(methods.get("o2nc", learner="optimistic_ogd", hint="last_gradient"), obj)
    noisy = objectives.with_noise(objectives.get("o2nc_toy"), "student_t", scale=0.5, df=4)
    assert "noise_model" in compilable(methods.get("o2nc", learner="ogd"), noisy)
    assert compilable(methods.get("o2nc", learner="ogd"), noisy, oracle="exact") is None
    with pytest.raises(ValueError, match="cannot compile"):
        run_method(methods.get("o2nc", learner="ogd", output="last"), obj, budget=100, delta=0.1)


def test_batched_rejects_bad_input():
    learner = OGD(lr=0.1, radius=0.1)
    with pytest.raises(ValueError, match="epoch_length"):
        run_batched(grad_jax, np.zeros(6), seeds=[0], learner=learner, budget=10, epoch_length=20)
    with pytest.raises(ValueError, match="x0"):
        run_batched(grad_jax, np.zeros((2, 3)), seeds=[0], learner=learner, budget=40, epoch_length=20)
    with pytest.raises(ValueError, match="seeds"):
        run_batched(grad_jax, np.zeros(6), seeds=[], learner=learner, budget=40, epoch_length=20)
    with pytest.raises((TypeError, ValueError), match="seeds"):
        run_batched(grad_jax, np.zeros(6), seeds=[-1], learner=learner, budget=40, epoch_length=20)
    with pytest.raises(ValueError, match="epsilon and delta"):
        run_batched(grad_jax, np.zeros(6), seeds=[0], learner=learner, budget=40, epoch_length=20, epsilon=0.1)
    with pytest.raises(ValueError, match="chunk_steps"):
        run_batched(grad_jax, np.zeros(6), seeds=[0], learner=learner, budget=40, epoch_length=20, chunk_steps=0)
    with pytest.raises(ValueError, match="radius and lr"):
        o2nc_ogd_numpy(grad_batch, np.zeros(6), seeds=[0], budget=40, epoch_length=20, radius=-1.0, lr=0.1)
