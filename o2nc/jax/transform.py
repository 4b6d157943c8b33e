"""``o2nc.jax.o2nc``: the online-to-non-convex conversion as an optax ``GradientTransformationExtraArgs``.

Algorithm 1 of Cutkosky, Mehta and Orabona (ICML 2023, arXiv 2302.03775), [CMO23] below, with the same notation,
scalings and s-sequence conventions as ``o2nc.minimize`` and ``o2nc.torch.O2NC``.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from o2nc.scaling import SCALINGS, resolve_scaling

__all__ = ["O2NCState", "o2nc", "o2nc_eval_params", "o2nc_diagnostics", "find_o2nc_state"]


class O2NCState(NamedTuple):
    """State of :func:`o2nc` (a pytree).

    Fields hold, after n updates (the params then hold w_{n+1}):
        count: n, int32.
        anchor: x_{n+1}, the end of the current segment (a pytree like params).
        learner: the learner's state over the list of param leaves.
        key: the PRNG key of the s-sequence.
        s: s_{n+1}, the scalar of the current gradient point.
        draws: number of s values drawn (the index into a replayed s-sequence), int32.
        w_sum, g_sum: running sums of w and g over the current epoch (``averaging="epoch"``; else ()).
        epoch_mean: w̄ of the last completed epoch (``averaging="epoch"``; else ()).
        ema: exponential moving average of w (``averaging=("ema", β)``; else ()).
        certificate: ‖ĝ_k‖ of the last completed epoch (NaN before one completes or without epoch averaging).
        radius: Σ‖x_t − x_{t−1}‖ over the last completed epoch, which bounds max_t ‖w_t − w̄_k‖ (o2nc.md §8).
        path, segment: running path length of the current epoch, and the length of the current segment.
    """

    count: Any
    anchor: Any
    learner: Any
    key: Any
    s: Any
    draws: Any
    w_sum: Any
    g_sum: Any
    epoch_mean: Any
    ema: Any
    certificate: Any
    radius: Any
    path: Any
    segment: Any


def _lowest_dtype(leaves):
    dtypes = [jnp.asarray(x).dtype for x in leaves if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)]
    if not dtypes:
        return jnp.float32
    return min(dtypes, key=lambda d: jnp.finfo(d).bits)


def _global_norm(leaves, dtype):
    total = jnp.zeros((), jnp.float32 if dtype != jnp.float64 else jnp.float64)
    for x in leaves:
        total = total + jnp.sum(jnp.square(x.astype(total.dtype)))
    return jnp.sqrt(total).astype(dtype)


def _averaging_spec(averaging):
    if averaging is None or averaging == "epoch":
        return averaging
    if isinstance(averaging, (tuple, list)) and len(averaging) == 2 and averaging[0] == "ema":
        beta = averaging[1]
        if isinstance(beta, (int, float)) and not isinstance(beta, bool) and not 0 <= beta < 1:
            raise ValueError(f"o2nc: `averaging` EMA factor must be in [0, 1), got {beta!r}")
        return ("ema", beta)
    raise ValueError(f"o2nc: `averaging` must be None, 'epoch' or ('ema', beta), got {averaging!r}")


def o2nc(
    learner,
    lr=1.0,
    epoch_length=100,
    scaling="uniform",
    restart=True,
    averaging=None,
    key=None,
) -> optax.GradientTransformationExtraArgs:
    r"""The online-to-non-convex conversion of an online learner, as an optax transformation.

    The learner runs over the list of the params' leaves as one pytree (global norms). With Δ_n the learner's play and
    s_n from the scaling ([CMO23] Algorithm 1; o2nc.md §3, §15):

        uniform, replay:  x_n = x_{n−1} + lr Δ_n,   w_n = x_{n−1} + s_n lr Δ_n,   s_n ~ U[0, 1]
        exponential:      x_n = w_n = x_{n−1} + s_n lr Δ_n,                      s_n ~ Exp(1)
        none:             x_n = w_n = x_{n−1} + lr Δ_n

    The params passed to ``update`` are w_n (where ``grads`` were taken); the returned updates are w_{n+1} − params,
    computed from the stored anchor rather than by accumulating differences (ecosystem.md §2, optax #1227). The first
    ``update`` takes the params it is given as w_1 (anchor x_0 = w_1 − s_1 lr Δ_1), so weights swapped in after
    ``init`` count. ``lr`` multiplies the increment: with a constant lr this is O2NC with the learner's domain scaled
    by lr (OGD(η, D) → OGD(lr·η, lr·D), KT(ε) → KT(lr·ε)). Every numeric argument may be a traced value, so
    ``optax.inject_hyperparams(o2nc)(learner=..., lr=...)`` changes lr without recompiling.

    Args:
        learner: an online learner of ``online_learners``.
        lr: increment multiplier (≥ 0).
        epoch_length: steps per epoch T (positive integer); the learner restarts at each epoch start when
            ``restart``.
        scaling: ``"uniform"``, ``"exponential"``, ``"none"`` or a 1-D array of s values replayed in order (beyond
            its end s is NaN, which makes the failure visible under ``jit``).
        restart: re-initialise the learner at every epoch start.
        averaging: ``None`` (output point: the anchor), ``"epoch"`` (mean of w over the last completed epoch) or
            ``("ema", beta)``; read it with :func:`o2nc_eval_params`.
        key: PRNG key of the s-sequence (default ``jax.random.key(0)``).

    Returns:
        An ``optax.GradientTransformationExtraArgs`` whose state is an :class:`O2NCState`.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> from online_learners import OGD
        >>> from o2nc.jax import o2nc, o2nc_eval_params
        >>> f = lambda p: jnp.sum(jnp.abs(p["x"] - 1.0))
        >>> tx = o2nc(OGD(lr=0.05), epoch_length=20, averaging="epoch", key=jax.random.key(0))
        >>> params = {"x": jnp.zeros(3)}
        >>> state = tx.init(params)
        >>> update = jax.jit(tx.update)
        >>> for _ in range(200):
        ...     updates, state = update(jax.grad(f)(params), state, params)
        ...     params = optax.apply_updates(params, updates)
        >>> bool(f(o2nc_eval_params(state, params)) < 0.5)
        True

    References:
        A. Cutkosky, H. Mehta, F. Orabona. Optimal Stochastic Non-smooth Non-convex Optimization through
        Online-to-Non-convex Conversion. ICML 2023 (arXiv 2302.03775).
    """
    for method in ("init", "predict", "update"):
        if not callable(getattr(learner, method, None)):
            raise TypeError(f"o2nc: `learner` must have init/predict/update; {type(learner).__name__} lacks {method}")
    if isinstance(lr, (int, float)) and not isinstance(lr, bool) and not lr >= 0:
        raise ValueError(f"o2nc: `lr` must be >= 0, got {lr!r}")
    if isinstance(epoch_length, bool) or (
        isinstance(epoch_length, (int, np.integer)) and epoch_length <= 0
    ) or isinstance(epoch_length, float):
        raise ValueError(f"o2nc: `epoch_length` must be a positive integer, got {epoch_length!r}")
    if isinstance(scaling, str) and scaling not in SCALINGS:
        raise ValueError(f"o2nc: `scaling` must be one of {SCALINGS} or a 1-D array of s values, got {scaling!r}")
    if isinstance(scaling, str):
        rule_name, values = resolve_scaling(scaling).name, None
    else:
        arr = scaling if isinstance(scaling, jax.Array) else resolve_scaling(np.asarray(scaling)).values
        rule_name, values = "replay", jnp.asarray(arr)
    averaging = _averaging_spec(averaging)
    full_step = rule_name in ("uniform", "replay")

    def draw(key, draws, dtype):
        key, sub = jax.random.split(key)
        if rule_name == "uniform":
            s = jax.random.uniform(sub, (), dtype=jnp.float64 if dtype == jnp.float64 else jnp.float32)
        elif rule_name == "exponential":
            s = jax.random.exponential(sub, (), dtype=jnp.float64 if dtype == jnp.float64 else jnp.float32)
        elif rule_name == "none":
            s = jnp.ones((), jnp.float32)
        else:
            n = values.shape[0]
            s = jnp.where(draws < n, values[jnp.minimum(draws, n - 1)], jnp.nan)
        return key, s.astype(dtype), draws + 1

    def coefs(s):
        """(coefficient of Δ in w − x_prev, coefficient of Δ in x − x_prev)."""
        if rule_name == "none":
            return lr, lr
        if full_step:
            return s * lr, lr
        return s * lr, s * lr

    def init_fn(params):
        leaves = jax.tree_util.tree_leaves(params)
        dtype = _lowest_dtype(leaves)
        lstate = learner.init(list(leaves))
        k = jax.random.key(0) if key is None else key
        k, s, draws = draw(k, jnp.zeros((), jnp.int32), dtype)
        anchor = [jnp.array(x, copy=True) for x in leaves]  # recomputed from the params at the first update
        zeros = [jnp.zeros_like(x) for x in leaves]
        nan = jnp.full((), jnp.nan, dtype)
        epoch = averaging == "epoch"
        state = O2NCState(
            count=jnp.zeros((), jnp.int32),
            anchor=anchor,
            learner=lstate,
            key=k,
            s=s,
            draws=draws,
            w_sum=zeros if epoch else (),
            g_sum=[jnp.zeros_like(x) for x in leaves] if epoch else (),
            epoch_mean=[jnp.array(x, copy=True) for x in leaves] if epoch else (),
            ema=[jnp.array(x, copy=True) for x in leaves] if isinstance(averaging, tuple) else (),
            certificate=nan,
            radius=nan,
            path=jnp.zeros((), dtype),
            segment=jnp.zeros((), dtype),
        )
        # Distinct buffers for every leaf, so that donating the state (jit donate_argnums) never donates one twice.
        return jax.tree_util.tree_map(
            lambda x: x if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else jnp.array(x, copy=True), state
        )

    def update_fn(updates, state: O2NCState, params=None, **extra_args):
        del extra_args
        if params is None:
            raise ValueError("o2nc: `update` needs `params` (the point w_n where the gradients were taken)")
        G, treedef = jax.tree_util.tree_flatten(updates)
        P = treedef.flatten_up_to(params)
        dtype = state.path.dtype
        first = state.count == 0
        # x_n: from the stored anchor, or from the params at the first update (x_1 = w_1 + (1 − s_1) lr Δ_1).
        delta_now = learner.predict(state.learner)
        _, x_c = coefs(state.s)
        w_c, _ = coefs(state.s)
        lag = (x_c - w_c) if full_step else 0.0
        # lax.cond: one real branch under jit (a select only under vmap), not a full-size select every step.
        x = jax.lax.cond(
            first,
            lambda: [(p + lag * d).astype(a.dtype) for p, d, a in zip(P, delta_now, state.anchor)],
            lambda: list(state.anchor),
        )
        seg_first = _global_norm(list(delta_now), dtype) * jnp.abs(jnp.asarray(x_c, dtype))
        segment = jnp.where(first, seg_first, state.segment)

        lstate = learner.update(state.learner, list(G))
        count = state.count + 1
        epoch_end = (count % epoch_length) == 0
        do_restart = jnp.logical_and(epoch_end, restart)
        lstate = jax.lax.cond(do_restart, lambda: learner.init(list(P)), lambda: lstate)

        w_sum, g_sum, epoch_mean, ema = state.w_sum, state.g_sum, state.epoch_mean, state.ema
        certificate, radius, path = state.certificate, state.radius, state.path
        if averaging == "epoch":
            w_sum = [a + p for a, p in zip(w_sum, P)]
            g_sum = [a + g for a, g in zip(g_sum, G)]
            path = path + segment
            t = jnp.asarray(epoch_length, dtype)
            mean_now = [a / t.astype(a.dtype) for a in w_sum]
            cert_now = _global_norm([a / t.astype(a.dtype) for a in g_sum], dtype)
            epoch_mean = [jnp.where(epoch_end, m, e) for m, e in zip(mean_now, epoch_mean)]
            certificate = jnp.where(epoch_end, cert_now, certificate)
            radius = jnp.where(epoch_end, path, radius)
            path = jnp.where(epoch_end, jnp.zeros_like(path), path)
            w_sum = [jnp.where(epoch_end, jnp.zeros_like(a), a) for a in w_sum]
            g_sum = [jnp.where(epoch_end, jnp.zeros_like(a), a) for a in g_sum]
        elif averaging is not None:
            beta = averaging[1]
            ema = [jnp.where(first, p, (beta * e + (1 - beta) * p).astype(e.dtype)) for e, p in zip(ema, P)]

        delta = learner.predict(lstate)
        k, s, draws = draw(state.key, state.draws, dtype)
        w_c, x_c = coefs(s)
        anchor = [(xi + x_c * d).astype(xi.dtype) for xi, d in zip(x, delta)]
        if full_step:
            w_next = [(xi + w_c * d).astype(xi.dtype) for xi, d in zip(x, delta)]
        else:
            w_next = anchor
        if averaging == "epoch":
            segment = _global_norm(list(delta), dtype) * jnp.abs(jnp.asarray(x_c, dtype))
        new_updates = [(w - p).astype(p.dtype) for w, p in zip(w_next, P)]
        new_state = O2NCState(
            count=count,
            anchor=anchor,
            learner=lstate,
            key=k,
            s=s,
            draws=draws,
            w_sum=w_sum,
            g_sum=g_sum,
            epoch_mean=epoch_mean,
            ema=ema,
            certificate=certificate,
            radius=radius,
            path=path,
            segment=segment,
        )
        return jax.tree_util.tree_unflatten(treedef, new_updates), new_state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def find_o2nc_state(state) -> O2NCState:
    """The :class:`O2NCState` inside an optax state (e.g. of ``optax.chain`` or ``inject_hyperparams``)."""
    if isinstance(state, O2NCState):
        return state
    found = [
        leaf
        for leaf in jax.tree_util.tree_leaves(state, is_leaf=lambda x: isinstance(x, O2NCState))
        if isinstance(leaf, O2NCState)
    ]
    if len(found) != 1:
        raise ValueError(f"o2nc: expected exactly one O2NCState in the optimizer state, found {len(found)}")
    return found[0]


def o2nc_eval_params(state, params):
    """The output point for evaluation, shaped like ``params`` (the training params are not changed).

    ``averaging="epoch"``: the mean of w over the last completed epoch ([CMO23] Theorem 8's w̄_k), or the running mean
    of the current epoch before one completes; ``("ema", β)``: the EMA of w; ``None``: the anchor x. Before the first
    update it is ``params``. ``state`` may be any optax state holding one :class:`O2NCState`.
    """
    st = find_o2nc_state(state)
    leaves, treedef = jax.tree_util.tree_flatten(params)
    first = st.count == 0
    if isinstance(st.w_sum, list):
        done = st.count  # any completed epoch has replaced epoch_mean
        has_epoch = jnp.isfinite(st.certificate)
        partial = [jnp.where(done > 0, a / jnp.maximum(done, 1).astype(a.dtype), p) for a, p in zip(st.w_sum, leaves)]
        out = [jnp.where(has_epoch, m, q) for m, q in zip(st.epoch_mean, partial)]
    elif isinstance(st.ema, list):
        out = st.ema
    else:
        out = st.anchor
    out = [jnp.where(first, p, o).astype(p.dtype) for p, o in zip(leaves, out)]
    return jax.tree_util.tree_unflatten(treedef, out)


def o2nc_diagnostics(state) -> dict:
    """Step count, current s, and the last completed epoch's certificate ‖ĝ_k‖ and radius bound, as arrays."""
    st = find_o2nc_state(state)
    return {"step": st.count, "s": st.s, "certificate": st.certificate, "radius": st.radius}
