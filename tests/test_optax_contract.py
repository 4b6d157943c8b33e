"""optax's conventions for ``o2nc.jax.o2nc``, over every learner of the registry.

Modelled on the generic tests that optax runs over its own optimizers (optax/contrib/_common_test.py,
optax/_src/alias_test.py, float64_test.py, sharding_test.py, tree_utils/_state_utils_test.py): the state maps with
``tree_map_params``; ``init`` takes abstract and placeholder params; a jitted update compiles once; each leaf keeps
its dtype; ``learning_rate`` takes a schedule; an integer ``key`` seeds; equal configurations give equal, picklable
states; the eval point works inside ``optax.masked``/``optax.partition``; the learner's declared fast path is held to
the generic one; the parameter-free default makes progress on optax's test problems.
"""
from __future__ import annotations

import logging
import os
import pickle
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from online_learners import OGD, registry

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402

from o2nc.jax import o2nc, o2nc_eval_params  # noqa: E402
from o2nc.jax.transform import default_learner  # noqa: E402

FIRST = [(f"{e.name}[0]", e.examples[0]) for e in registry.entries()]
IDS = [name for name, _ in FIRST]
LEARNERS = [learner for _, learner in FIRST]


def params_tree(dtype=jnp.float32):
    return {"w": jnp.linspace(-1.0, 1.0, 6, dtype=dtype).reshape(3, 2), "b": (jnp.ones((2,), dtype),)}


def loss(params):
    return jnp.sum(jnp.abs(params["w"] - 0.5)) + jnp.sum(params["b"][0].astype(jnp.float32) ** 2)


def leaf_dtypes(tree):
    return [x.dtype for x in jax.tree_util.tree_leaves(tree)]


def assert_trees_equal(a, b):
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


class compilations:
    """Counts XLA compilations (not traces) while active, from jax's compile log."""

    def __enter__(self):
        self.count = 0
        outer = self

        class Handler(logging.Handler):
            def emit(self, record):
                if re.search(r"Finished .* compilation", record.getMessage()):
                    outer.count += 1

        self._handler = Handler(level=logging.DEBUG)
        self._logger = logging.getLogger("jax")
        self._level = self._logger.level
        self._logger.addHandler(self._handler)
        self._logger.setLevel(logging.DEBUG)
        self._ctx = jax.log_compiles(True)
        self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)
        return False


# ----------------------------------------------------------------------------------------------------------------------
# per learner: state shaped like the params, abstract init, one compilation, dtypes, equal and picklable states


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_state_follows_optax_conventions(learner):
    tx = o2nc(learner, learning_rate=0.1, epoch_length=2, averaging="epoch")
    params = {"w": jnp.linspace(-1.0, 1.0, 6, dtype=jnp.float32).reshape(3, 2), "b": (jnp.ones((2,), jnp.float64),)}

    @jax.jit
    def step(p, s):
        u, s = tx.update(jax.tree_util.tree_map(jnp.sign, p), s, p)
        return optax.apply_updates(p, u), s, u

    state = tx.init(params)
    p, new_state, updates = step(params, state)
    # mixed float32/float64 leaves keep their dtypes in the params, the updates and the state
    assert leaf_dtypes(updates) == leaf_dtypes(params) == leaf_dtypes(p)
    assert leaf_dtypes(new_state) == leaf_dtypes(state)
    # the second call compiles nothing (optax's common test counts compilations, not traces)
    with compilations() as log:
        for _ in range(3):
            p, new_state, _ = step(p, new_state)
    assert log.count == 0

    # tree_map_params reaches the parameter-shaped fields: w_sum, g_sum, epoch_mean and the learner's
    same = optax.tree_utils.tree_map_params(tx, lambda v: v, new_state)
    assert_trees_equal(same, new_state)
    marked = optax.tree_utils.tree_map_params(tx, lambda v: jnp.full_like(v, 7), new_state,
                                              transform_non_params=lambda _: None)
    mapped = jax.tree_util.tree_leaves(marked)
    assert sum(x.size for x in mapped) >= 4 * 8 and all(bool(jnp.all(x == 7)) for x in mapped)

    # abstract params, and a transformation built separately with the same configuration: equal structures
    abstract = jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), params)
    assert jax.tree_util.tree_structure(tx.init(abstract)) == jax.tree_util.tree_structure(state)
    again = o2nc(learner, learning_rate=0.1, epoch_length=2, averaging="epoch")
    assert_trees_equal(again.init(params), state)
    shape = jax.eval_shape(again.update, updates, new_state, p)
    assert jax.tree_util.tree_structure(shape[1]) == jax.tree_util.tree_structure(new_state)
    assert_trees_equal(pickle.loads(pickle.dumps(new_state)), new_state)


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_bfloat16_params_keep_their_dtype_and_counters_stay_integers(learner):
    tx = o2nc(learner, learning_rate=0.1, epoch_length=1000)
    params = {"w": jnp.ones((3,), jnp.bfloat16)}

    def body(s, n):
        u, s = tx.update({"w": jnp.where(n % 2 == 0, 1.0, -1.0).astype(jnp.bfloat16) * jnp.ones(3, jnp.bfloat16)},
                         s, params)
        return s, u["w"].dtype == jnp.bfloat16

    state, _ = jax.jit(lambda s: jax.lax.scan(body, s, jnp.arange(300)))(tx.init(params))
    updates, _ = jax.eval_shape(tx.update, params, state, params)
    assert updates["w"].dtype == jnp.bfloat16
    counts = [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(state)
              if jax.tree_util.keystr(path).endswith("count")]
    assert counts and all(jnp.issubdtype(c.dtype, jnp.integer) for c in counts)
    assert int(state.count) == 300  # past bfloat16's last exact integer, 256


def test_init_over_no_leaves_is_optax_params_placeholder():
    tx = o2nc()
    assert jax.tree_util.tree_leaves(tx.init({}).anchor) == []
    with pytest.raises(ValueError, match="no array leaves"):
        tx.update({}, tx.init({}), {})


def test_complex_params_are_refused_naming_params():
    with pytest.raises(TypeError, match="params.*complex"):
        o2nc().init({"w": jnp.ones((2,), jnp.complex64)})


# ----------------------------------------------------------------------------------------------------------------------
# arguments as optax takes them


def run(tx, steps=6, dtype=jnp.float64):
    def body(carry, _):
        p, s = carry
        u, s = tx.update(jax.grad(loss)(p), s, p)
        return (optax.apply_updates(p, u), s), None

    params = params_tree(dtype)
    return jax.jit(lambda p: jax.lax.scan(body, (p, tx.init(p)), length=steps)[0])(params)


def test_learning_rate_is_a_scalar_or_schedule_and_lr_is_its_deprecated_alias():
    import inspect

    assert inspect.signature(o2nc).parameters["learning_rate"].annotation is optax.ScalarOrSchedule
    constant, _ = run(o2nc(OGD(lr=0.1), learning_rate=0.5, epoch_length=4))
    scheduled, _ = run(o2nc(OGD(lr=0.1), learning_rate=optax.constant_schedule(0.5), epoch_length=4))
    assert_trees_equal(constant, scheduled)
    with pytest.warns(DeprecationWarning, match="learning_rate"):
        alias, _ = run(o2nc(OGD(lr=0.1), lr=0.5, epoch_length=4))
    assert_trees_equal(constant, alias)
    # a schedule is evaluated at the number of updates made so far: one that changes at step 3 changes the result
    late, _ = run(o2nc(OGD(lr=0.1), learning_rate=optax.piecewise_constant_schedule(0.5, {3: 0.1}), epoch_length=4))
    assert not np.array_equal(np.asarray(late["w"]), np.asarray(constant["w"]))
    injected = optax.inject_hyperparams(o2nc)(learner=OGD(lr=0.1), learning_rate=0.5)
    assert float(optax.tree_utils.tree_get(injected.init(params_tree()), "learning_rate")) == 0.5
    with pytest.raises(TypeError, match="not both"):
        o2nc(OGD(lr=0.1), learning_rate=0.5, lr=0.5)


def test_an_integer_key_seeds_as_jax_random_key():
    by_int, _ = run(o2nc(OGD(lr=0.1), key=7, epoch_length=4))
    by_key, _ = run(o2nc(OGD(lr=0.1), key=jax.random.key(7), epoch_length=4))
    other, _ = run(o2nc(OGD(lr=0.1), key=8, epoch_length=4))
    assert_trees_equal(by_int, by_key)
    assert not np.array_equal(np.asarray(by_int["w"]), np.asarray(other["w"]))
    with pytest.raises(ValueError, match="key"):
        o2nc(OGD(lr=0.1), key=-1)


# ----------------------------------------------------------------------------------------------------------------------
# composition


@pytest.mark.parametrize("averaging", [None, ("ema", 0.5)])
def test_eval_params_inside_masked_and_partition(averaging):
    params = {"a": jnp.linspace(0.0, 1.0, 4), "b": jnp.ones((2,))}
    grad = lambda p: jax.tree_util.tree_map(jnp.sign, p)  # noqa: E731
    plain = o2nc(OGD(lr=0.1), epoch_length=3, averaging=averaging, key=1)
    masked = optax.masked(o2nc(OGD(lr=0.1), epoch_length=3, averaging=averaging, key=1), {"a": True, "b": False})
    parted = optax.partition({"o2nc": o2nc(OGD(lr=0.1), epoch_length=3, averaging=averaging, key=1),
                              "sgd": optax.sgd(0.1)}, {"a": "o2nc", "b": "sgd"})
    results = []
    for tx, sub in ((plain, lambda p: {"a": p["a"]}), (masked, None), (parted, None)):
        p = sub(params) if sub else params
        state = tx.init(p)
        for _ in range(3):
            updates, state = tx.update(grad(p), state, p)
            p = optax.apply_updates(p, updates)
        results.append((p, o2nc_eval_params(state, p)))
    (p_plain, e_plain), *wrapped = results
    for p, evaluated in wrapped:
        assert jax.tree_util.tree_structure(evaluated) == jax.tree_util.tree_structure(params)
        np.testing.assert_allclose(np.asarray(evaluated["a"]), np.asarray(e_plain["a"]), rtol=1e-12)
        np.testing.assert_array_equal(np.asarray(evaluated["b"]), np.asarray(p["b"]))
    assert not np.allclose(np.asarray(e_plain["a"]), np.asarray(p_plain["a"])) or averaging is None
    with pytest.raises(ValueError, match="shaped like"):
        o2nc_eval_params(masked.init(params), {"c": jnp.ones(3)})


# ----------------------------------------------------------------------------------------------------------------------
# a learner's declared fast path against the generic path


class Undeclared:
    """The same learner without its declared capabilities: the shell takes its generic path."""

    def __init__(self, learner):
        self.learner = learner

    def init(self, params):
        return self.learner.init(params)

    def predict(self, state, hint=None):
        return self.learner.predict(state, hint)

    def update(self, state, grad):
        return self.learner.update(state, grad)


DECLARED = [
    (name, learner) for name, learner in registry.examples() if getattr(learner, "recovers_previous_play", False)
]


@pytest.mark.parametrize("learner", [l for _, l in DECLARED], ids=[n for n, _ in DECLARED])
@pytest.mark.parametrize("scaling", ["uniform", "exponential"])
def test_the_play_recovery_fast_path_agrees_with_the_generic_path(learner, scaling):
    assert DECLARED, "no learner declares recovers_previous_play"
    kwargs = dict(learning_rate=0.5, epoch_length=3, scaling=scaling, seed=4, store_anchor=False)
    fast, generic = o2nc(learner, **kwargs), o2nc(Undeclared(learner), **kwargs)
    p1 = p2 = params_tree(jnp.float64)
    s1, s2 = fast.init(p1), generic.init(p2)
    for _ in range(8):
        u1, s1 = fast.update(jax.grad(loss)(p1), s1, p1)
        u2, s2 = generic.update(jax.grad(loss)(p2), s2, p2)
        p1, p2 = optax.apply_updates(p1, u1), optax.apply_updates(p2, u2)
    for a, b in zip(jax.tree_util.tree_leaves((p1, o2nc_eval_params(s1, p1))),
                    jax.tree_util.tree_leaves((p2, o2nc_eval_params(s2, p2)))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)


# ----------------------------------------------------------------------------------------------------------------------
# sharded params (a separate process: the device count is fixed when jax starts)


def test_init_and_update_on_params_sharded_over_a_mesh():
    script = textwrap.dedent("""
        import jax, jax.numpy as jnp, numpy as np, optax
        from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
        from online_learners import OGD
        from o2nc.jax import o2nc
        mesh = Mesh(np.array(jax.devices()[:2]), ("x",))
        sharded = NamedSharding(mesh, P("x"))
        params = {"w": jax.device_put(jnp.arange(8.0), sharded)}
        for tx in (o2nc(), o2nc(OGD(lr=0.1))):
            state = tx.init(params)
            step = jax.jit(lambda p, s, tx=tx: tx.update(jax.tree_util.tree_map(jnp.sign, p), s, p))
            updates, state = step(params, state)
            updates, state = tx.update(updates, state, params)
            assert updates["w"].sharding.is_equivalent_to(sharded, 1), updates["w"].sharding
        print("ok", len(jax.devices()))
    """)
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0 and out.stdout.split() == ["ok", "2"], out.stderr[-3000:]


# ----------------------------------------------------------------------------------------------------------------------
# the parameter-free default makes progress on optax's test problems


def parabola():
    start, target = jnp.array([-1.0, 10.0, 1.0], jnp.float32), jnp.array([1.0, -1.0, 1.0], jnp.float32)
    return start, target, lambda p: jnp.sum((p - target) ** 2)


def rosenbrock():
    start, target = jnp.zeros(2, jnp.float32), jnp.ones(2, jnp.float32)
    return start, target, lambda p: (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] ** 2) ** 2


def optimise(tx, problem, steps):
    start, target, objective = problem()

    def body(carry, _):
        p, s = carry
        u, s = tx.update(jax.grad(objective)(p), s, p)
        return (optax.apply_updates(p, u), s), None

    (params, _), _ = jax.jit(lambda p: jax.lax.scan(body, (p, tx.init(p)), length=steps))(start)
    return params, target


@pytest.mark.parametrize("learning_rate", [1.0, optax.constant_schedule(1.0)], ids=["constant", "schedule"])
def test_the_default_makes_progress_on_the_parabola(learning_rate):
    assert o2nc().init(jnp.zeros(1)).learner._fields == default_learner().init(jnp.zeros(1))._fields
    params, target = optimise(o2nc(learning_rate=learning_rate), parabola, 10_000)
    np.testing.assert_allclose(np.asarray(params), np.asarray(target), rtol=3e-2, atol=3e-2)


@pytest.mark.slow
@pytest.mark.parametrize("steps", [10_000, 30_000])
@pytest.mark.parametrize("problem", [parabola, rosenbrock])
@pytest.mark.parametrize("learning_rate", [1.0, optax.constant_schedule(1.0)], ids=["constant", "schedule"])
def test_the_default_converges_as_optax_common_tests_require(problem, learning_rate, steps):
    """optax's `test_optimization` (optax/_src/alias_test.py: 10 000 steps) and `test_optimizers`
    (optax/contrib/_common_test.py: 30 000 scanned steps): the params then within 3e-2 (rtol and atol) of the target."""
    params, target = optimise(o2nc(learning_rate=learning_rate), problem, steps)
    np.testing.assert_allclose(np.asarray(params), np.asarray(target), rtol=3e-2, atol=3e-2)
