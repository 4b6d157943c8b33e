"""``o2nc.jax.o2nc`` on half-precision params: the epoch sums Σw, Σg and the path length are kept in at least float32
(``online_learners.tree.accumulator_like``'s rule), so an epoch longer than the half-precision integers (256 in
bfloat16, 2048 in float16) still has the exact mean and certificate; and the constructor's seed, learner and
store_anchor checks."""
from __future__ import annotations

import numpy as np
import pytest

from online_learners import OGD

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402

from o2nc.jax import o2nc, o2nc_diagnostics, o2nc_eval_params  # noqa: E402


def run_frozen(dtype, epoch_length, steps, value=1.0, grad=1.0):
    """lr = 0 keeps w at its start ``value``; a constant gradient ``grad``: the epoch mean is ``value`` and the
    certificate ‖ĝ‖ = |grad|·√4 = 2|grad| exactly."""
    tx = o2nc(OGD(lr=0.1), learning_rate=0.0, epoch_length=epoch_length, averaging="epoch", seed=0)
    params = jnp.full(4, value, dtype)
    g = jnp.full(4, grad, dtype)

    def body(carry, _):
        p, st = carry
        u, st = tx.update(g, st, p)
        return (optax.apply_updates(p, u), st), None

    (params, state), _ = jax.jit(lambda p, st: jax.lax.scan(body, (p, st), None, length=steps))(params, tx.init(params))
    return params, state


@pytest.mark.parametrize("dtype, epoch_length", [(jnp.bfloat16, 300), (jnp.bfloat16, 1000), (jnp.float16, 2100)])
def test_an_epoch_longer_than_the_half_precision_integers_has_the_exact_mean_and_certificate(dtype, epoch_length):
    params, state = run_frozen(dtype, epoch_length, epoch_length)
    assert params.dtype == dtype and bool(jnp.all(params == 1))
    mean = o2nc_eval_params(state, params)
    assert mean.dtype == dtype
    np.testing.assert_array_equal(np.asarray(mean, np.float32), np.ones(4, np.float32))
    certificate = o2nc_diagnostics(state)["certificate"]
    assert certificate.dtype == dtype
    assert float(certificate) == 2.0
    assert state.w_sum.dtype == state.g_sum.dtype == state.path.dtype == jnp.float32


def test_the_running_mean_of_an_unfinished_long_epoch_is_exact_in_bfloat16():
    # before an epoch completes o2nc_eval_params is the running mean Σw/n of the current epoch
    params, state = run_frozen(jnp.bfloat16, 1000, 700, value=0.75)
    np.testing.assert_array_equal(np.asarray(o2nc_eval_params(state, params), np.float32), np.full(4, 0.75, np.float32))


def test_the_sums_of_the_next_epoch_restart_from_zero_in_bfloat16():
    params, state = run_frozen(jnp.bfloat16, 300, 600, grad=0.5)
    np.testing.assert_array_equal(np.asarray(o2nc_eval_params(state, params), np.float32), np.ones(4, np.float32))
    assert float(o2nc_diagnostics(state)["certificate"]) == 1.0


@pytest.mark.parametrize("store_anchor", [True, False])
def test_float32_state_keeps_its_structure_and_dtypes(store_anchor):
    tx = o2nc(OGD(lr=0.1), epoch_length=5, averaging="epoch", seed=1, store_anchor=store_anchor)
    params = {"w": jnp.zeros((3, 2), jnp.float32), "b": jnp.ones((2,), jnp.float32)}
    state = tx.init(params)
    for field in ("w_sum", "g_sum"):
        assert jax.tree_util.tree_structure(getattr(state, field)) == jax.tree_util.tree_structure(params)
        assert all(x.dtype == jnp.float32 for x in jax.tree_util.tree_leaves(getattr(state, field)))
    assert state.path.dtype == state.segment.dtype == state.certificate.dtype == jnp.float32


def test_a_bfloat16_state_built_with_half_precision_sums_still_updates():
    # a state made before the sums were widened (Σw, Σg and the path in the params' dtype) keeps working as it was
    tx = o2nc(OGD(lr=0.1), learning_rate=0.0, epoch_length=4, averaging="epoch", seed=0)
    params = jnp.ones(4, jnp.bfloat16)
    state = tx.init(params)
    state = state._replace(w_sum=state.w_sum.astype(jnp.bfloat16), g_sum=state.g_sum.astype(jnp.bfloat16),
                           path=state.path.astype(jnp.bfloat16))
    update = jax.jit(tx.update)
    for _ in range(4):
        u, state = update(jnp.ones(4, jnp.bfloat16), state, params)
        params = optax.apply_updates(params, u)
    assert state.w_sum.dtype == jnp.bfloat16 and float(o2nc_diagnostics(state)["certificate"]) == 2.0


def run_inject(tx, steps=7):
    params = jnp.zeros(3)
    state = tx.init(params)
    update = jax.jit(tx.update)
    for n in range(steps):
        u, state = update(jnp.asarray([1.0, -2.0, 0.5]) * (-1) ** n, state, params)
        params = optax.apply_updates(params, u)
    return params


def test_inject_hyperparams_takes_a_seed_and_draws_its_sequence():
    # inject_hyperparams turns seed=2 into a 0-d int32 array (concrete at init, traced in the jitted update)
    injected = run_inject(optax.inject_hyperparams(o2nc)(learner=OGD(lr=0.05), learning_rate=0.5, seed=2))
    static = run_inject(optax.inject_hyperparams(o2nc, static_args=("seed",))(learner=OGD(lr=0.05),
                                                                              learning_rate=0.5, seed=2))
    plain = run_inject(o2nc(OGD(lr=0.05), learning_rate=0.5, seed=2))
    np.testing.assert_array_equal(np.asarray(injected), np.asarray(plain))
    np.testing.assert_array_equal(np.asarray(static), np.asarray(plain))
    assert not np.array_equal(np.asarray(plain), np.asarray(run_inject(o2nc(OGD(lr=0.05), learning_rate=0.5, seed=3))))


def test_a_seed_array_is_checked_as_an_integer_seed():
    tx = o2nc(OGD(lr=0.05), seed=np.asarray(5, np.int64))
    np.testing.assert_array_equal(np.asarray(tx.init(jnp.zeros(2)).key),
                                  np.asarray(o2nc(OGD(lr=0.05), seed=5).init(jnp.zeros(2)).key))
    with pytest.raises(ValueError, match=r"`seed` must be an integer in \[0, 2\*\*64\)"):
        o2nc(OGD(lr=0.05), seed=jnp.asarray(-1))
    with pytest.raises(TypeError, match="`seed` must be an integer"):
        o2nc(OGD(lr=0.05), seed=jnp.asarray(True))
    with pytest.raises(TypeError, match="`seed` must be an integer"):
        o2nc(OGD(lr=0.05), seed=jnp.asarray([1, 2]))


def test_a_seed_traced_at_init_is_refused_naming_it():
    tx = optax.inject_hyperparams(o2nc)(learner=OGD(lr=0.05), seed=2)
    with pytest.raises(TypeError, match="`seed` is traced at init.*static_args"):
        jax.jit(tx.init)(jnp.zeros(3))


def test_a_learner_class_is_refused():
    with pytest.raises(TypeError, match=r"got the class OGD; pass an instance, e.g. OGD\(lr=\.\.\.\)"):
        o2nc(OGD)


def test_store_anchor_takes_a_numpy_bool_as_restart_does():
    params = jnp.zeros(3)
    for flag in (True, False):
        a = o2nc(OGD(lr=0.05), store_anchor=np.bool_(flag), restart=np.bool_(flag))
        b = o2nc(OGD(lr=0.05), store_anchor=flag, restart=flag)
        assert jax.tree_util.tree_structure(a.init(params)) == jax.tree_util.tree_structure(b.init(params))
    with pytest.raises(TypeError, match="`store_anchor` must be None or a bool"):
        o2nc(OGD(lr=0.05), store_anchor=1)
