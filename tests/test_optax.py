"""The optax contract of ``o2nc.jax.o2nc`` (optax/_src/base.py and the shared
optax/contrib/_common_test.py): chain, jit without recompiles (also through
``inject_hyperparams``), vmap, lax.scan, extra args, dtype preservation, the eval accessor and bad input."""
from __future__ import annotations

import numpy as np
import pytest

from online_learners import OGD, AdaGradNorm, registry

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402

from o2nc.jax import O2NCState, find_o2nc_state, o2nc, o2nc_diagnostics, o2nc_eval_params  # noqa: E402

FIRST = [(f"{e.name}[0]", e.examples[0]) for e in registry.entries()]


def loss(params):
    return jnp.sum(jnp.abs(params["w"] - 1.0)) + 0.5 * jnp.sum(params["b"] ** 2)


def init_params(dtype=jnp.float32):
    return {"w": jnp.zeros((3, 2), dtype), "b": jnp.ones((2,), dtype)}


def count_traces(fn):
    """Wrap ``fn`` so that each trace (= compilation under jit) is counted."""
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        return fn(*args, **kwargs)

    return wrapped, calls


def test_state_is_a_namedtuple_with_the_key():
    tx = o2nc(OGD(lr=0.1), epoch_length=5, key=jax.random.key(3))
    state = tx.init(init_params())
    assert isinstance(state, O2NCState) and isinstance(tx, optax.GradientTransformationExtraArgs)
    # the key is kept as its data (uint32 words), which optax's tree utilities and numpy compare
    assert state.key.dtype == jnp.uint32 and state.key.shape == jax.random.key_data(jax.random.key(3)).shape


def test_jit_does_not_recompile_and_accepts_extra_args():
    tx = o2nc(OGD(lr=0.1), epoch_length=5)
    params = init_params()
    state = tx.init(params)
    update, calls = count_traces(tx.update)
    update = jax.jit(update)
    for _ in range(3):
        updates, state = update(jax.grad(loss)(params), state, params, value=jnp.ones(()), unexpected=1.0)
        params = optax.apply_updates(params, updates)
    assert calls["n"] == 1


def test_inject_hyperparams_gives_identical_updates_and_changes_lr_without_recompiling():
    learner = OGD(lr=0.1, radius=1.0)
    plain = o2nc(learner, learning_rate=0.5, epoch_length=4)
    injected = optax.inject_hyperparams(o2nc, static_args=("epoch_length",))(
        learner=learner, learning_rate=0.5, epoch_length=4
    )
    params = init_params(jnp.float64)
    s1, s2 = plain.init(params), injected.init(params)
    update, calls = count_traces(injected.update)
    update = jax.jit(update)
    p1 = p2 = params
    for _ in range(6):
        u1, s1 = plain.update(jax.grad(loss)(p1), s1, p1)
        u2, s2 = update(jax.grad(loss)(p2), s2, p2)
        for a, b in zip(jax.tree_util.tree_leaves(u1), jax.tree_util.tree_leaves(u2)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)
        p1, p2 = optax.apply_updates(p1, u1), optax.apply_updates(p2, u2)
    s2.hyperparams["learning_rate"] = jnp.asarray(0.25, s2.hyperparams["learning_rate"].dtype)
    _, s2 = update(jax.grad(loss)(p2), s2, p2)
    assert calls["n"] == 1
    assert isinstance(find_o2nc_state(s2), O2NCState)


def test_works_in_chain_and_eval_accessor_finds_the_state():
    tx = optax.chain(optax.clip_by_global_norm(1.0), o2nc(OGD(lr=0.05), epoch_length=10, averaging="epoch"))
    params = init_params()
    state = tx.init(params)
    step = jax.jit(lambda p, s: tx.update(jax.grad(loss)(p), s, p))
    start = loss(params)
    for _ in range(100):
        updates, state = step(params, state)
        params = optax.apply_updates(params, updates)
    evaluated = o2nc_eval_params(state, params)
    assert loss(evaluated) < start
    assert jax.tree_util.tree_structure(evaluated) == jax.tree_util.tree_structure(params)
    diag = o2nc_diagnostics(state)
    assert int(diag["step"]) == 100 and np.isfinite(float(diag["certificate"]))


@pytest.mark.parametrize("learner", [l for _, l in FIRST], ids=[n for n, _ in FIRST])
def test_lax_scan_and_vmap_over_seeds(learner):
    tx = o2nc(learner, learning_rate=0.1, epoch_length=10, averaging=("ema", 0.9))

    def run(key):
        params = {"w": jnp.zeros((3, 2)), "b": jnp.ones(2)}
        state = tx.init(params)._replace(key=key)

        def body(carry, _):
            p, s = carry
            u, s = tx.update(jax.grad(loss)(p), s, p)
            return (optax.apply_updates(p, u), s), None

        (params, state), _ = jax.lax.scan(body, (params, state), None, length=60)
        return loss(o2nc_eval_params(state, params))

    keys = jax.random.split(jax.random.key(0), 4)
    finals = jax.jit(jax.vmap(run))(keys)
    assert finals.shape == (4,) and bool(jnp.all(jnp.isfinite(finals)))
    assert bool(jnp.all(finals < loss(init_params())))
    assert len(set(np.asarray(finals).tolist())) > 1  # the seeds give different s-sequences


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float32])
def test_dtypes_are_preserved(dtype):
    for averaging in (None, "epoch", ("ema", 0.5)):
        tx = o2nc(OGD(lr=0.1), epoch_length=3, averaging=averaging)
        params = init_params(dtype)
        state = tx.init(params)
        update = jax.jit(tx.update)
        for _ in range(4):
            grads = jax.grad(lambda p: loss(jax.tree_util.tree_map(lambda x: x.astype(jnp.float32), p)))(params)
            updates, new_state = update(grads, state, params)
            assert all(u.dtype == dtype for u in jax.tree_util.tree_leaves(updates))
            assert jax.tree_util.tree_map(lambda a: a.dtype, new_state) == jax.tree_util.tree_map(
                lambda a: a.dtype, state)
            state = new_state
            params = optax.apply_updates(params, updates)
        assert all(x.dtype == dtype for x in jax.tree_util.tree_leaves(o2nc_eval_params(state, params)))


def test_weights_replaced_after_init_are_the_first_gradient_point():
    tx = o2nc(OGD(lr=0.1), epoch_length=5, averaging="epoch")
    state = tx.init(init_params())
    replaced = {"w": jnp.full((3, 2), 2.0, jnp.float32), "b": jnp.zeros(2, jnp.float32)}
    _, state = tx.update(jax.grad(loss)(replaced), state, replaced)
    evaluated = o2nc_eval_params(state, replaced)  # the running epoch mean after one step is w_1
    for a, b in zip(jax.tree_util.tree_leaves(evaluated), jax.tree_util.tree_leaves(replaced)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_lr_zero_keeps_the_eval_point_at_the_start():
    tx = o2nc(OGD(lr=0.1), learning_rate=0.0, epoch_length=5)
    params = init_params()
    state = tx.init(params)
    p = params
    for _ in range(7):
        u, state = tx.update(jax.grad(loss)(p), state, p)
        p = optax.apply_updates(p, u)
    for a, b in zip(jax.tree_util.tree_leaves(o2nc_eval_params(state, p)), jax.tree_util.tree_leaves(params)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_bad_input():
    with pytest.raises(TypeError, match="learner"):
        o2nc(object())
    with pytest.raises(ValueError, match="learning_rate"):
        o2nc(OGD(lr=0.1), learning_rate=-1.0)
    with pytest.raises(ValueError, match="lr"), pytest.warns(DeprecationWarning, match="learning_rate"):
        o2nc(OGD(lr=0.1), lr=-1.0)
    with pytest.raises(ValueError, match="epoch_length"):
        o2nc(OGD(lr=0.1), epoch_length=0)
    with pytest.raises(ValueError, match="scaling"):
        o2nc(OGD(lr=0.1), scaling="gaussian")
    with pytest.raises(ValueError, match="averaging"):
        o2nc(OGD(lr=0.1), averaging="window")
    tx = o2nc(OGD(lr=0.1))
    with pytest.raises(ValueError, match="params"):
        tx.update(init_params(), tx.init(init_params()))
    with pytest.raises(ValueError, match="exactly one"):
        find_o2nc_state((optax.EmptyState(),))


def test_default_store_anchor_and_donated_step_copies_no_parameter_sized_buffer():
    """``store_anchor=None`` recovers the anchor for OGD (its play is recomputed from the new state; with a radius
    from the lazily projected form) and stores it otherwise (AdaGrad-norm); either way a jitted step with params and
    state donated writes every buffer in place."""
    import re

    size = 1000
    params = [jnp.ones((size,), jnp.float32), jnp.zeros((size,), jnp.float32)]
    grads = [jnp.full((size,), 0.5, jnp.float32), jnp.full((size,), -0.5, jnp.float32)]
    cases = ((OGD(lr=0.1), False), (OGD(lr=0.1, anytime=True), False), (OGD(lr=0.1, radius=1.0), False),
             (AdaGradNorm(radius=1.0), True))
    for learner, stored in cases:
        tx = o2nc(learner, epoch_length=5)
        state = tx.init(params)
        assert isinstance(state.anchor, list) is stored, learner

        def step(p, s, g, tx=tx):
            u, s = tx.update(g, s, p)
            return optax.apply_updates(p, u), s

        hlo = jax.jit(step, donate_argnums=(0, 1)).lower(params, state, grads).compile().as_text()
        assert not re.search(rf"= f32\[{size}\]\S* copy\(", hlo), learner


def test_s_is_drawn_one_update_ahead_without_changing_the_sequence():
    """``s_next`` (s_{n+2}) is drawn one update ahead, so that the parameter pass does not wait on the PRNG; a state
    without it (drawing s_{n+1} in the update, as earlier versions did) gives the same s-sequence and updates."""
    tx = o2nc(OGD(lr=0.1), epoch_length=3, key=jax.random.key(5))
    params = init_params()
    ahead = tx.init(params)
    assert int(ahead.draws) == 2 and ahead.s_next is not None
    # The state just before s_2 was drawn: the key advanced once, one draw.
    now = ahead._replace(key=jax.random.split(jax.random.key(5))[0], draws=jnp.ones((), jnp.int32), s_next=None)
    update = jax.jit(tx.update)
    pa, pn = params, params
    for _ in range(7):
        ua, ahead = update(jax.grad(loss)(pa), ahead, pa)
        un, now = update(jax.grad(loss)(pn), now, pn)
        pa, pn = optax.apply_updates(pa, ua), optax.apply_updates(pn, un)
        assert float(ahead.s) == float(now.s)
        assert all(bool(jnp.array_equal(a, b)) for a, b in zip(jax.tree_util.tree_leaves(pa),
                                                                 jax.tree_util.tree_leaves(pn)))
