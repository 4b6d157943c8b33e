"""Parity of the three shells: ``o2nc.minimize`` (numpy), ``o2nc.torch.O2NC`` and ``o2nc.jax.o2nc`` give the same
trajectory in float64 on the same gradient stream and the same (replayed) s-sequence, for every registered learner."""
from __future__ import annotations

import numpy as np
import pytest

import o2nc
from online_learners import OGD, registry

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

from o2nc.jax import o2nc as o2nc_tx  # noqa: E402
from o2nc.jax import o2nc_eval_params  # noqa: E402
from o2nc.torch import O2NC  # noqa: E402
from tests.backends import max_rel_diff as rel  # noqa: E402

EXAMPLES = registry.examples()
FIRST = [(f"{e.name}[0]", e.examples[0]) for e in registry.entries()]  # one configuration per learner
BUDGET, T, D = 30, 10, 5
TOL = 1e-12  # relative; the shells differ only in the order of float64 reductions


def problem(scaling):
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal(D)
    stream = rng.standard_normal((BUDGET, D))
    # one value more than the budget: the shells draw s_{n+1} at step n to place the next gradient point
    s = np.random.default_rng(4).random(BUDGET + 1) if scaling == "replay" else scaling
    return x0, stream, s


def grad_np(stream, n, w):
    return stream[n] + 0.5 * np.tanh(w)


def run_minimize(learner, scaling, restart):
    x0, stream, s = problem(scaling)
    calls = {"n": 0}

    def grad(w):
        g = grad_np(stream, calls["n"], w)
        calls["n"] += 1
        return g

    return o2nc.minimize(grad, x0, learner=learner, budget=BUDGET, epoch_length=T, scaling=s, seed=7,
                         restart=restart, record=True)


def run_torch(learner, scaling, restart, *, foreach, store_anchor):
    x0, stream, s = problem(scaling)
    p = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = O2NC([p], learner=learner, epoch_length=T, scaling=s, restart=restart, averaging="epoch",
               foreach=foreach, store_anchor=store_anchor)
    ws, certs = [], []
    for n in range(BUDGET):
        ws.append(p.detach().numpy().copy())
        p.grad = torch.as_tensor(grad_np(stream, n, p.detach().numpy()))
        opt.step()
        if (n + 1) % T == 0:
            certs.append(float(opt.diagnostics()[0]["certificate"]))
            means = opt.eval_points()[0][0].numpy().copy()
    return np.array(ws), np.array(certs), means


def run_jax(learner, scaling, restart, averaging="epoch", store_anchor=True):  # None: the default
    x0, stream, s = problem(scaling)
    tx = o2nc_tx(learner, epoch_length=T, scaling=s, restart=restart, averaging=averaging, store_anchor=store_anchor)
    params = jnp.asarray(x0)
    state = tx.init(params)
    update = jax.jit(tx.update)
    ws, certs = [], []
    for n in range(BUDGET):
        ws.append(np.asarray(params))
        g = jnp.asarray(grad_np(stream, n, np.asarray(params)))
        updates, state = update(g, state, params)
        params = optax.apply_updates(params, updates)
        if (n + 1) % T == 0:
            certs.append(float(state.certificate))
    return np.array(ws), np.array(certs), np.asarray(o2nc_eval_params(state, params))


VARIANTS = [(False, True), (True, False)]  # (foreach, store_anchor): the reference loop and the default fast path
ALL_VARIANTS = [(f, a) for f in (False, True) for a in (True, False)]


def check_against_minimize(learner, scaling, variants, *, with_jax=True):
    ref = run_minimize(learner, scaling, restart=True)
    ref_w = np.asarray(ref.history.w)
    ref_cert = np.asarray(ref.epochs.certificate)
    for foreach, store_anchor in variants:
        ws, certs, mean = run_torch(learner, scaling, True, foreach=foreach, store_anchor=store_anchor)
        tag = f"torch foreach={foreach} store_anchor={store_anchor}"
        assert rel(ws, ref_w) <= TOL, tag
        assert rel(certs, ref_cert) <= TOL, tag
        assert rel(mean, ref.epochs.mean[-1]) <= TOL, tag
    if not with_jax:
        return
    ws, certs, mean = run_jax(learner, scaling, True)
    assert rel(ws, ref_w) <= TOL, "jax"
    assert rel(certs, ref_cert) <= TOL, "jax"
    assert rel(mean, ref.epochs.mean[-1]) <= TOL, "jax"


@pytest.mark.parametrize("learner", [l for _, l in EXAMPLES], ids=[n for n, _ in EXAMPLES])
def test_torch_jax_and_minimize_agree(learner):
    check_against_minimize(learner, "replay", VARIANTS)


@pytest.mark.parametrize("learner", [l for _, l in FIRST], ids=[n for n, _ in FIRST])
def test_all_torch_variants_agree_without_scaling(learner):
    # the jax shell is held against minimize for every example above; here the four torch code paths
    check_against_minimize(learner, "none", ALL_VARIANTS, with_jax=False)


def test_parity_without_restart():
    learner = EXAMPLES[0][1]
    ref = run_minimize(learner, "replay", restart=False)
    ws, _, _ = run_torch(learner, "replay", False, foreach=True, store_anchor=False)
    assert rel(ws, np.asarray(ref.history.w)) <= TOL
    ws, _, _ = run_jax(learner, "replay", False)
    assert rel(ws, np.asarray(ref.history.w)) <= TOL


@pytest.mark.parametrize("learner", [l for _, l in FIRST], ids=[n for n, _ in FIRST])
def test_torch_and_jax_agree_on_several_tensors(learner):
    """Global norms over a group of three tensors (one zero-size) in torch match the same pytree in jax."""
    rng = np.random.default_rng(0)
    shapes = [(3, 2), (0,), (4,)]
    init = [rng.standard_normal(s) for s in shapes]
    stream = [[rng.standard_normal(s) for s in shapes] for _ in range(BUDGET)]
    s_values = rng.random(BUDGET + 1)
    params = [torch.nn.Parameter(torch.tensor(a)) for a in init]
    opt = O2NC(params, learner=learner, epoch_length=T, scaling=s_values)
    jparams = [jnp.asarray(a) for a in init]
    tx = o2nc_tx(learner, epoch_length=T, scaling=s_values)
    state = tx.init(jparams)
    update = jax.jit(tx.update)
    for n in range(BUDGET):
        for p, g in zip(params, stream[n]):
            p.grad = torch.as_tensor(g) + 0.5 * torch.tanh(p.detach())
        opt.step()
        grads = [jnp.asarray(g) + 0.5 * jnp.tanh(q) for q, g in zip(jparams, stream[n])]
        updates, state = update(grads, state, jparams)
        jparams = optax.apply_updates(jparams, updates)
    for p, q in zip(params, jparams):
        if p.numel():
            assert rel(p.detach().numpy(), np.asarray(q)) <= TOL


@pytest.mark.parametrize("learner", [l for _, l in FIRST], ids=[n for n, _ in FIRST])
def test_jax_anchor_recovery_matches_the_stored_anchor(learner):
    """``store_anchor=False`` (x_n recovered from w_n and the play) gives the stored-anchor trajectory and output
    point, the last update closing an epoch (so the output point reads a learner state with a restart pending)."""
    assert BUDGET % T == 0
    stored_w, _, stored_x = run_jax(learner, "replay", True, averaging=None, store_anchor=True)
    recovered_w, _, recovered_x = run_jax(learner, "replay", True, averaging=None, store_anchor=False)
    assert rel(recovered_w, stored_w) <= TOL
    assert rel(recovered_x, stored_x) <= TOL


RECOVERING_OGD = [OGD(lr=0.1), OGD(lr=0.2, anytime=True), OGD(lr=0.1, radius=0.05),
                  OGD(lr=0.2, radius=0.05, anytime=True)]


@pytest.mark.parametrize("learner", RECOVERING_OGD, ids=["ogd", "ogd_anytime", "ogd_radius", "ogd_radius_anytime"])
@pytest.mark.parametrize("scaling", ["replay", "none"])
def test_jax_recovered_play_matches_minimize_and_the_stored_anchor(learner, scaling):
    """OGD defaults to ``store_anchor=False`` with Δ_n recomputed from the new state and g_n (the learner's state is
    then written in place; with a radius through the lazily projected form, whose projection binds at every step
    here): same trajectory, certificates and output points as ``minimize`` and as the stored anchor, with and
    without restarts."""
    ref = run_minimize(learner, scaling, restart=True)
    ws, certs, mean = run_jax(learner, scaling, True, store_anchor=None)
    assert rel(ws, np.asarray(ref.history.w)) <= TOL
    assert rel(certs, np.asarray(ref.epochs.certificate)) <= TOL
    assert rel(mean, ref.epochs.mean[-1]) <= TOL
    for restart in (True, False):
        stored_w, _, stored_x = run_jax(learner, scaling, restart, averaging=None, store_anchor=True)
        recovered_w, _, recovered_x = run_jax(learner, scaling, restart, averaging=None, store_anchor=None)
        assert rel(recovered_w, stored_w) <= TOL
        assert rel(recovered_x, stored_x) <= TOL
    ref = run_minimize(learner, scaling, restart=False)
    ws, _, _ = run_jax(learner, scaling, False, store_anchor=None)
    assert rel(ws, np.asarray(ref.history.w)) <= TOL


@pytest.mark.parametrize("averaging", [None, "epoch"])
def test_jax_lazily_projected_ogd_matches_minimize_in_float32(averaging):
    """The paper's configuration in float32 (projected OGD, the anchor recovered, restarts): the jitted optax step
    and ``minimize`` on the same stream and seed agree to 1e-6 relative (points, certificates, output point)."""
    rng = np.random.default_rng(5)
    x0 = rng.standard_normal(D).astype(np.float32)
    stream = rng.standard_normal((BUDGET, D)).astype(np.float32)
    learner = OGD(lr=0.1, radius=0.05)

    def grad32(n, w):
        return (stream[n] + np.float32(0.5) * np.tanh(w)).astype(np.float32)

    calls = {"n": 0}

    def grad(w):
        calls["n"] += 1
        return grad32(calls["n"] - 1, w)

    ref = o2nc.minimize(grad, x0, learner=learner, budget=BUDGET, epoch_length=T, seed=7, record=True)
    assert np.asarray(ref.history.w).dtype == np.float32
    tx = o2nc_tx(learner, epoch_length=T, averaging=averaging, seed=7)
    params = jnp.asarray(x0)
    state = tx.init(params)
    assert state.anchor == () and type(state.learner).__name__ == "LazilyProjectedOGDState"
    update = jax.jit(tx.update)
    ws, certs = [], []
    for n in range(BUDGET):
        ws.append(np.asarray(params))
        updates, state = update(jnp.asarray(grad32(n, np.asarray(params))), state, params)
        params = optax.apply_updates(params, updates)
        if (n + 1) % T == 0:
            certs.append(float(state.certificate))
    assert rel(np.array(ws), np.asarray(ref.history.w)) <= 1e-6
    if averaging == "epoch":
        assert rel(np.array(certs), np.asarray(ref.epochs.certificate)) <= 1e-6
        assert rel(np.asarray(o2nc_eval_params(state, params)), ref.epochs.mean[-1]) <= 1e-6
    else:
        assert rel(np.asarray(o2nc_eval_params(state, params)), np.asarray(ref.final_anchor)) <= 1e-6
