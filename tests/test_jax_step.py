"""The jitted optax step in the configuration of [CMO23] Theorem 8 (Cutkosky, Mehta, Orabona, ICML 2023): projected
OGD restarted every T steps, with and without the epoch mean. What the compiled step does (buffers written in place,
no per-step pass over the epoch mean, the params not copied) and that the passes it saves change no result."""
import re

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
optax = pytest.importorskip("optax")

from o2nc.jax import o2nc, o2nc_diagnostics, o2nc_eval_params  # noqa: E402
from o2nc.jax.transform import _after, _finite_step  # noqa: E402
from online_learners import OGD  # noqa: E402

SIZE = 1000


def compiled(tx, leaves=3, size=SIZE):
    params = [jnp.linspace(-1.0, 1.0, size, dtype=jnp.float32) * (i + 1) for i in range(leaves)]
    grads = [jnp.full((size,), 0.5, jnp.float32) for _ in range(leaves)]

    def step(p, s, g):
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s

    return jax.jit(step, donate_argnums=(0, 1)).lower(params, tx.init(params), grads).compile().as_text()


def entry(text):
    return text[text.index("\nENTRY"):]


@pytest.mark.parametrize("averaging", [None, "epoch"])
def test_the_paper_configuration_writes_every_buffer_in_place(averaging):
    """No parameter-sized copy in the donated step: with the epoch mean, the sum Σw reads the params before the
    caller's ``params + updates`` overwrites them (ordered by ``_after``), where XLA copied the params before."""
    hlo = compiled(o2nc(OGD(lr=1e-3, radius=1e-3), epoch_length=100, averaging=averaging))
    assert not re.search(rf"= f32\[{SIZE}\]\S* copy\(", hlo)


@pytest.mark.parametrize("averaging, written", [(None, 2), ("epoch", 4)])
def test_the_paper_configuration_writes_each_state_array_once(averaging, written):
    """Projected OGD runs lazily projected (v = Δ − ηg kept with the projection's factor) with the anchor recovered:
    per leaf the compiled step writes the params and v (and with the epoch mean the sums Σw and Σg), each once and
    in place, where the eager projection wrote Δ − ηg as an array of its own, then Δ, then the stored anchor. (At
    the bench's leaf size: on small arrays XLA:CPU writes the squares before it reduces them.)"""
    size = 200_000
    tx = o2nc(OGD(lr=1e-3, radius=1e-3), epoch_length=100, averaging=averaging)
    assert tx.init([jnp.zeros(3)]).anchor == ()
    hlo = entry(compiled(tx, leaves=1, size=size))
    writes = re.findall(rf"= f32\[{size}\]\{{0\}} (\S+)\(", hlo)
    assert len([op for op in writes if op not in ("parameter", "bitcast", "get-tuple-element")]) == written, writes


def test_the_epoch_mean_is_written_only_when_an_epoch_closes():
    """The stored mean w̄_k is the output of a conditional (its other branch leaves it in place), not of an
    elementwise pass that reads and writes it at every step."""
    tx = o2nc(OGD(lr=1e-3, radius=1e-3), epoch_length=100, averaging="epoch")
    hlo = entry(compiled(tx, leaves=1))
    mean = re.search(r"%(s_epoch_mean\S*) = f32\[" + str(SIZE), hlo).group(1)
    readers = [line for line in hlo.splitlines() if re.search(rf"%{re.escape(mean)}\b", line) and " = " in line
               and "parameter(" not in line]
    assert readers and all(" conditional(" in line or " tuple(" in line for line in readers), readers


def test_the_anchor_pass_does_not_read_the_params():
    """x_0 = w_1 + lag_1 Δ_1 is set under a cond at the first update only: the pass that writes the stored anchor
    reads the anchor and the play, not the params."""
    hlo = entry(compiled(o2nc(OGD(lr=1e-3, radius=1e-3), epoch_length=100, store_anchor=True), leaves=1))
    anchor_out = re.search(r"ROOT %\S+ = \(([^)]*)\) tuple\(([^)]*)\)", hlo)
    names = [a.strip().lstrip("%") for a in anchor_out.group(2).split(",")]
    # the outputs: params, count, anchor, ... (the step returns (params, state))
    anchor = names[2]
    line = next(line for line in hlo.splitlines() if line.strip().startswith(f"%{anchor} ="))
    assert "%p_" not in line.split("calls=")[0], line


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, -0.0, 0.0, "tiny", "max", -1.5])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_after_returns_its_argument_bit_for_bit(value, dtype):
    info = jnp.finfo(dtype)
    value = {"tiny": float(info.smallest_subnormal), "max": float(info.max)}.get(value, value)
    x = jnp.asarray([value, 2.0, -3.0], dtype)
    for token in (jnp.asarray([-0.0, 1.0], jnp.float32), jnp.asarray([np.nan], jnp.float32),
                  jnp.asarray([-np.inf], jnp.bfloat16), jnp.asarray([[-2.0, 1.0]], jnp.float32),
                  jnp.asarray(-7.0, jnp.float16)):
        out = jax.jit(_after)(x, token)
        assert out.dtype == x.dtype
        assert np.array_equal(np.asarray(out).view(np.uint16 if x.dtype.itemsize == 2 else np.uint32),
                              np.asarray(x).view(np.uint16 if x.dtype.itemsize == 2 else np.uint32))
    empty = jnp.zeros((0,), jnp.float32)
    assert _after(empty, x) is empty and _after(x, empty) is x


@pytest.mark.parametrize("jit", [False, True])
def test_the_finiteness_check_tells_an_overflowing_sum_from_a_non_finite_entry(jit):
    """Σ g is the check's one pass; a sum that overflows from finite entries (3e38 + 3e38 in float32) falls back to
    the entrywise check and is finite; an inf or NaN entry is not, whatever the other entries sum to."""
    check = jax.jit(_finite_step) if jit else _finite_step
    big = [jnp.asarray([3e38, 3e38], jnp.float32), jnp.asarray([1.0], jnp.float32)]
    assert bool(check(big, 1.0))
    assert bool(check([jnp.asarray([3e38, -3e38], jnp.float32)], 1.0))
    assert not bool(check([jnp.asarray([3e38, np.inf], jnp.float32)], 1.0))
    assert not bool(check([jnp.asarray([np.inf, -np.inf], jnp.float32)], 1.0))
    assert not bool(check([jnp.asarray([1.0], jnp.float32), jnp.asarray([np.nan], jnp.bfloat16)], 1.0))
    assert not bool(check([jnp.asarray([1.0], jnp.float32)], jnp.asarray(np.nan, jnp.float32)))
    assert not bool(check([jnp.asarray([1.0], jnp.float32)], jnp.asarray(-1.0, jnp.float32)))


def test_an_update_with_finite_gradients_whose_sum_overflows_is_made():
    tx = o2nc(OGD(lr=1e-40, radius=1.0), epoch_length=3, averaging="epoch", seed=1)
    params = {"w": jnp.zeros(4, jnp.float32)}
    state = tx.init(params)
    updates, state = jax.jit(tx.update)({"w": jnp.full(4, 3e38, jnp.float32)}, state, params)
    assert int(o2nc_diagnostics(state)["nonfinite_steps"]) == 0 and int(state.count) == 1


def run(tx, steps, params, grad_fn, bad_at=()):
    """The donated jitted step over ``steps`` updates; at the steps in ``bad_at`` the gradient is NaN."""
    def step(p, s, g):
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s

    step = jax.jit(step, donate_argnums=(0, 1))
    state = tx.init(params)
    params = jax.tree_util.tree_map(lambda x: jnp.array(x, copy=True), params)
    for n in range(steps):
        g = grad_fn(params)
        if n in bad_at:
            g = jax.tree_util.tree_map(lambda x: jnp.full_like(x, jnp.nan), g)
        params, state = step(params, state, g)
    return params, state


def grad_fn(p):
    return jax.grad(lambda q: jnp.sum(jnp.abs(q["w"] - 0.3)) + 0.5 * jnp.sum(q["b"] ** 2))(p)


@pytest.mark.parametrize("averaging", [None, "epoch"])
def test_a_skipped_first_update_leaves_the_stored_anchor_and_the_run_unchanged(averaging):
    """A non-finite first update (and another mid-run) is skipped: the donated run then equals the run without
    them, including the stored anchor set at the first finite update from the params it is given."""
    params = {"w": jnp.linspace(-1.0, 1.0, 6, dtype=jnp.float32).reshape(3, 2), "b": jnp.ones(2, jnp.float32)}
    tx = o2nc(OGD(lr=0.05, radius=0.2), epoch_length=4, averaging=averaging, seed=7)
    clean_p, clean_s = run(tx, 11, params, grad_fn)
    bad_p, bad_s = run(tx, 13, params, grad_fn, bad_at=(0, 6))
    assert int(bad_s.nonfinite) == 2 and int(bad_s.count) == int(clean_s.count) == 11
    for a, b in zip(jax.tree_util.tree_leaves((clean_p, o2nc_eval_params(clean_s, clean_p))),
                    jax.tree_util.tree_leaves((bad_p, o2nc_eval_params(bad_s, bad_p)))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("scale", [1.0, 1e-30, 1e30, 0.0])
def test_the_segment_norm_takes_the_scaled_form_where_the_plain_sum_is_not_exact(scale):
    """``_norm`` as ``update`` traces it (within ``plain_traced_norms``): the one-pass plain norm where it is exact,
    tree_norm's scaled form under the cond otherwise; in float32 entries of 1e-30 underflow and entries of 1e30
    overflow in the plain sum, and the norm is still right."""
    from o2nc.jax.transform import _norm
    from online_learners.tree import plain_traced_norms

    rng = np.random.default_rng(0)
    leaves = [rng.standard_normal(n) * scale for n in (7, 3)]
    expected = np.sqrt(sum(float(np.sum(x.astype(np.float64) ** 2)) for x in leaves))
    with plain_traced_norms():
        got = jax.jit(lambda xs: _norm(xs, jnp.float32))([jnp.asarray(x, jnp.float32) for x in leaves])
    assert got.dtype == jnp.float32
    np.testing.assert_allclose(float(got), expected, rtol=1e-6, atol=0)


def stream_grad(stream, n, w, dtype):
    """g_n = stream[n] + ½·tanh(w) in ``dtype``: a smooth oracle with a fixed noise stream, replayed on both sides."""
    return (stream[n] + 0.5 * np.tanh(w)).astype(dtype)


def replayed(stream, dtype):
    """:func:`stream_grad` as the oracle of ``o2nc.minimize``, n counting its calls."""
    calls = {"n": 0}

    def grad(w):
        g = stream_grad(stream, calls["n"], w, dtype)
        calls["n"] += 1
        return g

    return grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("restart", [True, False])
def test_the_path_bound_and_certificate_match_the_core(dtype, restart):
    """Projected OGD reports ‖Δ_{n+1}‖ from its projection (``update_and_norm``) and the optax shell's path bound
    (``radius_bound``, the epochs' Σ‖x_t − x_{t−1}‖) takes it as ``o2nc.minimize`` does: equal to 1e-6 relative in
    float32 and 1e-12 in float64, restarted or not, with the plain norm of the projection (``plain_traced_norms``)
    in the jitted update."""
    from o2nc import minimize

    T, steps, tol = 4, 13, {"float32": 1e-6, "float64": 1e-12}[dtype]
    rng = np.random.default_rng(11)
    stream = rng.standard_normal((steps, 5))
    s_values = np.random.default_rng(12).random(steps + 1)
    learner = OGD(lr=0.3, radius=0.4)
    with jax.enable_x64(dtype == "float64"):
        x0 = rng.standard_normal(5).astype(dtype)
        grad = replayed(stream, dtype)
        ref = minimize(grad, x0, learner=learner, budget=steps, epoch_length=T, scaling=s_values, seed=7,
                            restart=restart, record=True)
        tx = o2nc(learner, epoch_length=T, scaling=s_values, restart=restart, averaging="epoch")
        params = jnp.asarray(x0)
        state = tx.init(params)
        update = jax.jit(tx.update)
        bounds, certificates = [], []
        for n in range(steps):
            g = jnp.asarray(stream_grad(stream, n, np.asarray(params), dtype))
            updates, state = update(g, state, params)
            params = optax.apply_updates(params, updates)
            if (n + 1) % T == 0:
                diag = o2nc_diagnostics(state)
                bounds.append(float(diag["radius_bound"]))
                certificates.append(float(diag["certificate"]))
        assert params.dtype == jnp.dtype(dtype)
    expected = np.asarray(ref.epochs.radius_bound, np.float64)[: len(bounds)]
    assert len(bounds) == 3 and np.all(expected > 0)
    np.testing.assert_allclose(bounds, expected, rtol=tol, atol=0)
    np.testing.assert_allclose(certificates, np.asarray(ref.epochs.certificate)[: len(bounds)], rtol=tol, atol=0)


def test_a_learner_whose_fields_read_each_other_is_updated_in_place():
    """KT's new wealth reads the old coin sum (``_old_reads`` finds it in the update's jaxpr; OGD has one field): the
    coin sum's pass is ordered after the wealth's and read from its buffer, so the donated step copies neither."""
    from o2nc.jax.transform import _old_reads
    from online_learners import registry

    kt = registry.get("kt")
    leaves = [jnp.zeros((3, 2), jnp.float32), jnp.zeros(4, jnp.float32)]
    fields = kt.init(leaves)._fields
    assert [(fields[a], fields[b]) for a, b in _old_reads(kt, leaves)] == [("wealth", "coin_sum")]
    assert _old_reads(OGD(lr=1e-3, radius=1e-3), leaves) == []
    hlo = compiled(o2nc(kt, epoch_length=100))
    assert not re.search(rf"= f32\[{SIZE}\]\S* copy\(", hlo)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_kt_in_place_matches_the_core(dtype):
    """The donated jitted KT step (its fields written in the order above) against ``o2nc.minimize``: 1e-6 relative
    in float32, 1e-12 in float64, across restarts, with the stored anchor."""
    from o2nc import minimize
    from online_learners import registry

    kt = registry.get("kt")
    T, steps, tol = 3, 10, {"float32": 1e-6, "float64": 1e-12}[dtype]
    rng = np.random.default_rng(21)
    stream = rng.standard_normal((steps, 6))
    s_values = np.random.default_rng(22).random(steps + 1)
    with jax.enable_x64(dtype == "float64"):
        x0 = rng.standard_normal(6).astype(dtype)
        grad = replayed(stream, dtype)
        ref = minimize(grad, x0, learner=kt, budget=steps, epoch_length=T, scaling=s_values, seed=7, record=True)
        tx = o2nc(kt, epoch_length=T, scaling=s_values)

        def step(p, st, g):
            u, st = tx.update(g, st, p)
            return optax.apply_updates(p, u), st

        step = jax.jit(step, donate_argnums=(0, 1))
        params = {"a": jnp.asarray(x0[:4]), "b": jnp.asarray(x0[4:])}
        state = tx.init(params)
        ws = []
        for n in range(steps):
            w = np.concatenate([np.asarray(params["a"]), np.asarray(params["b"])])
            ws.append(w)
            g = stream_grad(stream, n, w, dtype)
            params, state = step(params, state, {"a": jnp.asarray(g[:4]), "b": jnp.asarray(g[4:])})
    ref_w = np.asarray(ref.history.w)  # (minimize runs whole epochs: 9 of the 10 steps)
    assert np.asarray(ws).dtype == np.dtype(dtype) and len(ref_w) == 9
    ws = ws[: len(ref_w)]
    scale = np.max(np.abs(ref_w))
    assert np.max(np.abs(np.asarray(ws, np.float64) - ref_w)) <= tol * scale
