"""One seed, one run: ``o2nc.minimize``, ``o2nc.torch.O2NC`` and ``o2nc.jax.o2nc`` given the same learner, gradient
stream and integer ``seed`` give the same trajectory, certificates, epoch means and path bounds in float64 (≤ 1e-12
relative), for every scaling (the counter-based s-draw of ``o2nc.conversion.draw``, the core's scaling rule); the exact
radius agrees between ``minimize`` and the batched runners; the draw itself is bit-identical on every backend."""
from __future__ import annotations

import numpy as np
import pytest

import o2nc
from o2nc.conversion import draw
from o2nc.conversion.scaling import SCALINGS, Scaling
from online_learners import KT, OGD, AdaGradNorm
from online_learners.optimistic import OptimisticOGD

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

from o2nc.jax import o2nc as o2nc_tx  # noqa: E402
from o2nc.jax import o2nc_diagnostics, o2nc_eval_params  # noqa: E402
from o2nc.torch import O2NC  # noqa: E402
from tests.backends import max_rel_diff as rel  # noqa: E402
from tests.test_shell_parity import grad_np as grad_at  # noqa: E402
from tests.test_shell_parity import problem  # noqa: E402

BUDGET, T, D, SEED = 30, 10, 5, 7
TOL = 1e-12
LEARNERS = {
    "ogd": OGD(lr=0.1),
    "ogd_radius": OGD(lr=0.1, radius=0.05),
    "adagrad_norm": AdaGradNorm(radius=0.5),
    "kt": KT(),
    "optimistic_ogd": OptimisticOGD(lr=0.1, radius=0.5),
}
SCALING_CASES = list(SCALINGS) + ["replay"]


def run_minimize(learner, scaling):
    x0, stream, s = problem(scaling)
    calls = {"n": 0}

    def grad(w):
        g = grad_at(stream, calls["n"], w)
        calls["n"] += 1
        return g

    res = o2nc.minimize(grad, x0, learner=learner, budget=BUDGET, epoch_length=T, scaling=s, seed=SEED, record=True)
    return (np.asarray(res.history.w), np.asarray(res.epochs.certificate), np.asarray(res.epochs.mean),
            np.asarray(res.epochs.radius_bound), res)


def run_torch(learner, scaling, foreach):
    x0, stream, s = problem(scaling)
    p = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = O2NC([p], learner=learner, epoch_length=T, scaling=s, averaging="epoch", foreach=foreach, seed=SEED)
    ws, certs, means, bounds = [], [], [], []
    for n in range(BUDGET):
        ws.append(p.detach().numpy().copy())
        p.grad = torch.as_tensor(grad_at(stream, n, p.detach().numpy()))
        opt.step()
        if (n + 1) % T == 0:
            diag = opt.diagnostics()[0]
            certs.append(float(diag["certificate"]))
            bounds.append(float(diag["radius_bound"]))
            means.append(opt.eval_points()[0][0].numpy().copy())
    return np.array(ws), np.array(certs), np.array(means), np.array(bounds)


def run_jax(learner, scaling, store_anchor=True):
    x0, stream, s = problem(scaling)
    tx = o2nc_tx(learner, epoch_length=T, scaling=s, averaging="epoch", seed=SEED, store_anchor=store_anchor)
    params = jnp.asarray(x0)
    state = tx.init(params)
    update = jax.jit(tx.update)
    ws, certs, means, bounds = [], [], [], []
    for n in range(BUDGET):
        ws.append(np.asarray(params))
        updates, state = update(jnp.asarray(grad_at(stream, n, np.asarray(params))), state, params)
        params = optax.apply_updates(params, updates)
        if (n + 1) % T == 0:
            diag = o2nc_diagnostics(state)
            certs.append(float(diag["certificate"]))
            bounds.append(float(diag["radius_bound"]))
            means.append(np.asarray(o2nc_eval_params(state, params)))
    return np.array(ws), np.array(certs), np.array(means), np.array(bounds)


@pytest.mark.parametrize("scaling", SCALING_CASES)
@pytest.mark.parametrize("name", list(LEARNERS))
def test_one_seed_gives_one_trajectory_in_every_shell(name, scaling):
    learner = LEARNERS[name]
    ws, certs, means, bounds, res = run_minimize(learner, scaling)
    assert np.all(np.asarray(res.epochs.radius) <= bounds * (1 + 1e-12))  # the path bound bounds the exact radius
    shells = {f"torch foreach={f}": run_torch(learner, scaling, f) for f in (False, True)}
    shells["jax"] = run_jax(learner, scaling)
    shells["jax, anchor recovered where the learner can undo its update"] = run_jax(learner, scaling, None)
    for tag, (w2, c2, m2, b2) in shells.items():
        assert rel(w2, ws) <= TOL, tag
        assert rel(c2, certs) <= TOL, tag
        assert rel(m2, means) <= TOL, tag
        assert rel(b2, bounds) <= TOL, tag


@pytest.mark.parametrize("scaling", ["uniform", "exponential"])
def test_the_random_scalings_depend_on_the_seed(scaling):
    a = Scaling(scaling).sample(draw.seed_key(1), 0, 50)
    b = Scaling(scaling).sample(draw.seed_key(2), 0, 50)
    assert not np.array_equal(a, b)
    assert np.array_equal(a, Scaling(scaling).sample(draw.seed_key(1), 0, 50))
    assert np.array_equal(a[20:], Scaling(scaling).sample(draw.seed_key(1), 20, 30))  # counter-based: no state


@pytest.mark.parametrize("bits", [24, 53])
def test_the_draw_is_bit_identical_on_every_backend(bits):
    key = draw.seed_key(2**63 + 12345)
    n = np.arange(5000, dtype=np.uint32)
    ref = draw.uniform(key, n, bits)
    assert ref.dtype == (np.float64 if bits == 53 else np.float32)
    assert np.array_equal(np.asarray(draw.uniform(key, torch.arange(5000), bits)), ref)
    assert np.array_equal(np.asarray(jax.jit(lambda c: draw.uniform(key, c, bits))(jnp.asarray(n))), ref)
    assert [draw.uniform(key, int(i), bits) for i in n[:50]] == [float(v) for v in ref[:50]]
    assert np.all((ref >= 0) & (ref < 1))
    # a 53-bit u agrees with the 24-bit one in its first 24 bits
    other = draw.uniform(key, n, 77 - bits)
    assert np.max(np.abs(other.astype(np.float64) - ref.astype(np.float64))) < 2.0**-24


def test_the_uniform_draw_is_uniform():
    u = draw.uniform(draw.seed_key(0), np.arange(200_000, dtype=np.uint32), 53)
    counts = np.histogram(u, bins=50, range=(0, 1))[0]
    expected = u.size / 50
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < 100  # 49 degrees of freedom: P(χ² > 100) < 1e-4
    assert abs(float(np.mean(u)) - 0.5) < 5 * np.sqrt(1 / 12 / u.size)
    e = draw.exponential(u)
    assert abs(float(np.mean(e)) - 1.0) < 5 / np.sqrt(u.size)


def test_float32_runs_draw_the_same_24_bit_s_in_torch_and_jax():
    x0 = np.linspace(-1.0, 1.0, D).astype(np.float32)
    p = torch.nn.Parameter(torch.tensor(x0))
    opt = O2NC([p], learner=OGD(lr=0.1), epoch_length=T, seed=SEED)
    tx = o2nc_tx(OGD(lr=0.1), epoch_length=T, seed=SEED)
    jparams = jnp.asarray(x0)
    state = tx.init(jparams)
    key = draw.seed_key(SEED)
    for n in range(6):
        p.grad = torch.sign(p.detach())
        opt.step()
        updates, state = tx.update(jnp.sign(jparams), state, jparams)
        jparams = optax.apply_updates(jparams, updates)
        assert float(opt.diagnostics()[0]["s"]) == float(state.s) == draw.uniform(key, n + 1, 24)
    assert rel(p.detach().numpy(), np.asarray(jparams)) <= 1e-6


def test_the_exact_radius_agrees_between_minimize_and_the_batched_runners():
    from o2nc.experiments.batched import o2nc_ogd_jax, o2nc_ogd_numpy

    A = np.random.default_rng(0).standard_normal((D, D)) / 3

    def grad_batch(W):
        return np.sign(W) - 0.5 * np.sign(W @ A.T) @ A

    Aj = jnp.asarray(A)
    x0, seeds = np.linspace(-1, 1, D), [0, SEED]
    a = o2nc_ogd_numpy(grad_batch, x0, seeds=seeds, budget=60, epoch_length=T, radius=0.05, lr=0.01)
    b = o2nc_ogd_jax(lambda x: jnp.sign(x) - 0.5 * Aj.T @ jnp.sign(Aj @ x), x0, seeds=seeds, budget=60,
                     epoch_length=T, radius=0.05, lr=0.01)
    for i, seed in enumerate(seeds):
        res = o2nc.minimize(lambda w: grad_batch(w[None])[0], x0, learner=OGD(lr=0.01, radius=0.05), budget=60,
                            epoch_length=T, seed=seed, radius_kind="exact")
        assert rel(a.radius[i], res.epochs.radius) <= TOL
        assert rel(b.radius[i], res.epochs.radius) <= 1e-10
        assert rel(a.mean[i], res.epochs.mean) <= TOL


def test_the_exact_radius_is_not_reported_by_the_optimizers():
    p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    opt = O2NC([p], learner=OGD(lr=0.1), epoch_length=2, averaging="epoch", seed=0)
    for _ in range(2):
        p.grad = torch.ones(2, dtype=torch.float64)
        opt.step()
    assert np.isnan(float(opt.diagnostics()[0]["radius"]))
    assert np.isfinite(float(opt.diagnostics()[0]["radius_bound"]))
    tx = o2nc_tx(OGD(lr=0.1), epoch_length=2, averaging="epoch", seed=0)
    state = tx.init(jnp.zeros(2))
    assert bool(jnp.isnan(o2nc_diagnostics(state)["radius"]))


def test_seed_and_generator_or_key_are_exclusive():
    with pytest.raises(TypeError, match="seed"):
        O2NC([torch.nn.Parameter(torch.zeros(2))], learner=OGD(lr=0.1), seed=1, generator=torch.Generator())
    with pytest.raises(TypeError, match="seed"):
        o2nc_tx(OGD(lr=0.1), seed=1, key=jax.random.key(0))
    for bad in (-1, "a", 1.5, True, 2**64):
        with pytest.raises((TypeError, ValueError), match="seed"):
            O2NC([torch.nn.Parameter(torch.zeros(2))], learner=OGD(lr=0.1), seed=bad)
        with pytest.raises((TypeError, ValueError), match="seed"):
            o2nc_tx(OGD(lr=0.1), seed=bad)
