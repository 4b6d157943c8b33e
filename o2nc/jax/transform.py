"""``o2nc.jax.o2nc``: the online-to-non-convex conversion as an optax ``GradientTransformationExtraArgs``.

Algorithm 1 of Cutkosky, Mehta and Orabona (ICML 2023, arXiv 2302.03775), [CMO23] below, with the same notation,
scalings and s-sequence conventions as ``o2nc.minimize`` and ``o2nc.torch.O2NC``. The scaling rule, the counter-based
s-draw of ``seed=`` and the certificate norm are the conversion core's (:mod:`o2nc.conversion`), traced under ``jit``.
"""
import math
import numbers
import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from o2nc.conversion.draw import check_seed, seed_key
from o2nc.conversion.scaling import SCALINGS, check_supported, coefficients, resolve_scaling
from online_learners import ParameterFreeMirrorDescent
from online_learners.tree import plain_traced_norms, tree_norm

__all__ = ["O2NCState", "o2nc", "o2nc_eval_params", "o2nc_diagnostics", "find_o2nc_state"]


class O2NCState(NamedTuple):
    """State of :func:`o2nc` (a pytree).

    Fields hold, after n updates (the params then hold w_{n+1}):
        count: n, int32.
        anchor: x_{n+1}, the end of the current segment (a pytree like params).
        learner: the learner's state (for projected OGD, of its lazily projected form:
            ``online_learners.LazilyProjectedOGDState``), its parameter-shaped fields shaped like the params (so that
            ``optax.tree_utils.tree_map_params`` reaches them). After an update that closed an epoch with
            ``restart``, it is the state before the restart: the restart is applied when the next update reads it.
        key: the data of the PRNG key of the s-sequence (``jax.random.key_data``, uint32; already advanced past
            ``s_next``), or with ``seed=`` the seed's two 32-bit key words (uint32, shape (2,)) of the counter-based
            draw (:mod:`o2nc.conversion.draw`). A typed key put in its place is used as it is.
        s: s_{n+1}, the scalar of the current gradient point.
        draws: number of s values drawn (the index into a replayed s-sequence), int32: n + 2, as ``s_next`` is
            drawn one update ahead.
        w_sum, g_sum: running sums of w and g over the current epoch (``averaging="epoch"``; else ()), each leaf in
            at least float32 (``online_learners.tree.accumulator_like``'s rule: a bfloat16 sum of ones stops at 256);
            after an update that closed an epoch they still hold that epoch's sums, zeroed when the next update
            reads them.
        epoch_mean: w̄ of the last completed epoch (``averaging="epoch"``; else ()).
        ema: exponential moving average of w (``averaging=("ema", β)``; else ()).
        certificate: ‖ĝ_k‖ of the last completed epoch (NaN before one completes or without epoch averaging).
        radius_bound: Σ‖x_t − x_{t−1}‖ over the last completed epoch, which bounds its exact radius
            max_t ‖w_t − w̄_k‖ (:mod:`o2nc.conversion.epoch`). On half-precision params the norms of the segments
            and the stored bound and certificate are rounded to the params' dtype (each within its unit roundoff,
            2⁻⁸ in bfloat16, so within about 2⁻⁷ relative together), so there they hold to that rounding, not as
            strict bounds.
        path, segment: running path length of the current epoch (in at least float32, as the sums), and the length
            of the current segment.
        lag: x_{n+1} − w_{n+1} = lag · Δ_{n+1}, i.e. (1 − s_{n+1}) lr for the full-step scalings, else 0.
        play: ``store_anchor=False`` without averaging: the learner itself as a leafless pytree (equal for equal
            learners), so that :func:`o2nc_eval_params` can recover the anchor from its play; else None.
        s_next: s_{n+2}, drawn one update ahead so that the update's parameter pass does not wait on the PRNG (the
            s-sequence of a given ``key`` is unchanged).
        nonfinite: the number of updates skipped because their gradient (or a traced ``lr``) was not finite, int32
            (saturates at 2**31 − 1); such an update changes no other field and returns zero updates.
        restart_due: the last update closed an epoch with ``restart`` (bool): the params then hold the fresh
            learner's play, and the stored learner state is restarted by the next update.
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
    radius_bound: Any
    path: Any
    segment: Any
    lag: Any = None
    play: Any = None
    s_next: Any = None
    nonfinite: Any = None
    restart_due: Any = None


@jax.tree_util.register_pytree_node_class
class _Play:
    """The learner as a leafless pytree (static): two states of equal configurations have equal tree structures, and
    the state pickles with its learner."""

    __slots__ = ("learner",)

    def __init__(self, learner):
        self.learner = learner

    def __eq__(self, other):
        return isinstance(other, _Play) and other.learner == self.learner

    def __hash__(self):
        try:
            return hash(self.learner)
        except TypeError:  # an unhashable learner: equal structures still compare equal, only the hash is coarse
            return hash(type(self.learner))

    def __getstate__(self):
        return self.learner

    def __setstate__(self, learner):
        self.learner = learner

    def tree_flatten(self):
        return (), self

    @classmethod
    def tree_unflatten(cls, aux, children):
        return aux


@jax.tree_util.register_pytree_node_class
class _Leaves(list):
    """The params' leaves as the learner sees them. A list (the learners' tree helpers keep its type), so that every
    parameter-shaped field of a learner state is found and stored shaped like the params."""

    __slots__ = ()

    def tree_flatten(self):
        return list(self), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(children)


def _is_leaves(x) -> bool:
    return isinstance(x, _Leaves)


def _learner_init(learner, leaves):
    """The learner's state over ``leaves``; over no leaves (optax's params placeholder), over one float32 scalar, whose
    parameter-shaped fields :func:`_as_params` then drops."""
    return learner.init(_Leaves(leaves if leaves else [jnp.zeros((), jnp.float32)]))


def _as_params(lstate, treedef):
    """The learner state with every parameter-shaped field (a :class:`_Leaves`) as a tree shaped like the params."""
    return jax.tree_util.tree_map(
        lambda x: treedef.unflatten(list(x)[: treedef.num_leaves]) if _is_leaves(x) else x, lstate, is_leaf=_is_leaves
    )


def _as_leaves(lstate, template, treedef):
    """The inverse of :func:`_as_params`: ``template`` (a learner state over the leaves) marks the fields to flatten."""
    return jax.tree_util.tree_map(
        lambda t, x: _Leaves(treedef.flatten_up_to(x)) if _is_leaves(t) else x, template, lstate, is_leaf=_is_leaves
    )


def _concrete(leaf):
    """A ``jax.ShapeDtypeStruct`` (abstract params) as zeros of its shape, dtype and sharding; arrays unchanged."""
    if isinstance(leaf, jax.ShapeDtypeStruct):
        sharding = getattr(leaf, "sharding", None)
        return jnp.zeros(leaf.shape, leaf.dtype, device=sharding) if sharding is not None else jnp.zeros(
            leaf.shape, leaf.dtype)
    return leaf


def _check_params(leaves):
    for x in leaves:
        dtype = jnp.asarray(x).dtype if not hasattr(x, "dtype") else x.dtype
        if not jnp.issubdtype(dtype, jnp.floating):
            kind = "complex" if jnp.issubdtype(dtype, jnp.complexfloating) else "non-floating"
            raise TypeError(
                f"o2nc: `params` must hold real floating-point arrays, got a {kind} leaf of dtype {dtype} (the "
                "learners' inner products and norms are real; split a complex parameter into real and imaginary parts)"
            )


class _Unset:
    """The default of a deprecated argument that was not given."""

    def __repr__(self):
        return "<unset>"


_UNSET = _Unset()
_TRACED_SEED = _Unset()  # the key words of a seed given as a traced value (see ``o2nc``)


def _lowest_dtype(leaves):
    dtypes = [jnp.asarray(x).dtype for x in leaves if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)]
    if not dtypes:
        return jnp.float32
    return min(dtypes, key=lambda d: jnp.finfo(d).bits)


def _norm(leaves, dtype):
    """The global L2 norm of ``leaves`` (:func:`online_learners.tree.tree_norm`, in at least float32) as ``dtype``.

    Inside ``update`` (not under ``vmap``) the plain √(Σ x²), one fused reduction per leaf, where it is exact by
    ``tree_norm``'s own criterion, and the scaled form (two passes) only under a cond otherwise: ``update`` traces
    its step within :func:`online_learners.tree.plain_traced_norms`."""
    return tree_norm([x.astype(jnp.promote_types(x.dtype, jnp.float32)) for x in leaves]).astype(dtype)


def _vmapped(leaves) -> bool:
    """Whether ``leaves`` are traced by ``jax.vmap`` (a ``lax.cond`` on a batched value computes both branches)."""
    return any(type(x).__name__ == "BatchTracer" for x in leaves)


def _play_recovery(learner):
    """For a learner that declares it can undo its update (``recovers_previous_play``), a function (new learner state,
    g_n) → Δ_n, the play before the update (its ``previous_play``); else None."""
    if not getattr(learner, "recovers_previous_play", False) or not callable(getattr(learner, "previous_play", None)):
        return None

    def recover(lstate, grads):
        return learner.previous_play(lstate, _Leaves(grads))

    return recover


def _averaging_spec(averaging):
    if averaging is None or averaging == "epoch":
        return averaging
    if isinstance(averaging, (tuple, list)) and len(averaging) == 2 and averaging[0] == "ema":
        beta = averaging[1]
        if isinstance(beta, (bool, np.bool_)) or not isinstance(beta, (numbers.Real, np.ndarray, jax.Array)):
            raise TypeError(f"o2nc: `averaging` EMA factor must be a number in [0, 1), got {beta!r}")
        if isinstance(beta, numbers.Real) and not 0 <= beta < 1:
            raise ValueError(f"o2nc: `averaging` EMA factor must be in [0, 1), got {beta!r}")
        return ("ema", beta)
    raise ValueError(f"o2nc: `averaging` must be None, 'epoch' or ('ema', beta), got {averaging!r}")


def _is_traced(x) -> bool:
    return isinstance(x, jax.core.Tracer)


def _check_lr(lr, name="learning_rate"):
    """A Python/numpy number or a concrete array must be finite and >= 0 (ValueError naming ``{name}``); a traced value
    (under ``jit``, ``vmap`` or ``inject_hyperparams``' jitted update) is checked in the update instead (a step with
    a non-finite or negative lr is skipped and counted, as a non-finite gradient). Non-numbers are a TypeError."""
    if isinstance(lr, (bool, np.bool_)):
        raise TypeError(f"o2nc: `{name}` must be a finite number >= 0, got {lr!r}")
    if isinstance(lr, numbers.Real):
        if not (math.isfinite(float(lr)) and lr >= 0):
            raise ValueError(f"o2nc: `{name}` must be a finite number >= 0, got {lr!r}")
        return
    if isinstance(lr, (np.ndarray, jax.Array)):
        dtype = lr.dtype
        if not (jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.integer)) or dtype == jnp.bool_:
            raise TypeError(f"o2nc: `{name}` must be a real number >= 0, got an array of dtype {dtype}")
        if lr.size != 1:
            raise ValueError(f"o2nc: `{name}` must be a scalar (one element), got shape {tuple(lr.shape)}")
        if _is_traced(lr):
            return
        value = float(np.asarray(lr).reshape(()))
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"o2nc: `{name}` must be a finite number >= 0, got {value!r}")
        return
    raise TypeError(f"o2nc: `{name}` must be a finite number >= 0, a scalar array, or a schedule (a callable of the "
                    f"step count), got {lr!r}")


def _check_epoch_length(epoch_length):
    """A positive integer (Python/numpy integer or an integer array; a traced one is not checked for its value)."""
    if isinstance(epoch_length, (bool, np.bool_)):
        raise TypeError(f"o2nc: `epoch_length` must be a positive integer, got {epoch_length!r}")
    if isinstance(epoch_length, (np.ndarray, jax.Array)):
        if not jnp.issubdtype(epoch_length.dtype, jnp.integer) or epoch_length.size != 1:
            raise TypeError(
                f"o2nc: `epoch_length` must be a positive integer, got an array of dtype {epoch_length.dtype} "
                f"and shape {tuple(epoch_length.shape)}"
            )
        if _is_traced(epoch_length):
            return
        epoch_length = int(np.asarray(epoch_length).reshape(()))
    if not isinstance(epoch_length, numbers.Integral):
        raise TypeError(f"o2nc: `epoch_length` must be a positive integer, got {epoch_length!r}")
    if epoch_length <= 0:
        raise ValueError(f"o2nc: `epoch_length` must be a positive integer, got {epoch_length!r}")


def _check_restart(restart):
    if isinstance(restart, (bool, np.bool_)):
        return
    if isinstance(restart, (np.ndarray, jax.Array)) and restart.dtype == jnp.bool_ and restart.size == 1:
        return
    raise TypeError(f"o2nc: `restart` must be a bool (True or False), got {restart!r}")


def _is_integer_array(x) -> bool:
    """A 0-d integer array (not bool), e.g. the one ``optax.inject_hyperparams`` makes of a number it is given."""
    return isinstance(x, (np.ndarray, jax.Array)) and jnp.issubdtype(x.dtype, jnp.integer) and x.ndim == 0


def _integer_seed(seed, name):
    """An integer seed as a Python int in [0, 2**64) (:func:`o2nc.conversion.draw.check_seed`, naming ``name``): a
    Python/numpy integer, or a concrete 0-d integer array; a traced 0-d integer array (``inject_hyperparams``'
    jitted update re-builds the transformation from its hyperparameters) is returned as it is."""
    if _is_integer_array(seed):
        return seed if _is_traced(seed) else check_seed(int(np.asarray(seed)), name)
    return check_seed(seed, name)


def _check_key(key):
    """The PRNG key: a typed or raw jax key as given; an integer seed (as ``optax.noisy_sgd`` takes: a Python/numpy
    integer, or a 0-d integer array, e.g. the one ``inject_hyperparams`` makes of it) as ``jax.random.key(seed)``."""
    if key is None:
        return None
    if isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if isinstance(key, (np.ndarray, jax.Array)) and key.dtype == jnp.uint32 and key.ndim >= 1:
        return key  # a raw key (jax.random.PRNGKey)
    if _is_integer_array(key):
        _integer_seed(key, "key")
        return jax.random.key(key)
    if isinstance(key, numbers.Integral) and not isinstance(key, (bool, np.bool_)):
        return jax.random.key(_integer_seed(key, "key"))
    raise TypeError(f"o2nc: `key` must be a jax PRNG key (jax.random.key(...)) or an integer seed, got {key!r}")


def _finite_step(G, lr):
    """True when every gradient entry is finite (and a traced lr is finite and >= 0).

    One read of g: Σ g is finite only where every entry is (an inf or NaN entry makes the sum inf or NaN), and that
    sum is one fused reduction per leaf, where ``all(isfinite(g))`` writes and reduces a boolean array. A sum that
    overflows from finite entries is told apart by the entrywise check, under a ``lax.cond`` that runs only then.
    """
    total = None
    for g in G:
        term = jnp.sum(g, dtype=jnp.promote_types(g.dtype, jnp.float32))
        total = term if total is None else total + term
    ok = jax.lax.cond(jnp.isfinite(total), lambda gs: jnp.asarray(True),
                      lambda gs: jnp.all(jnp.asarray([jnp.all(jnp.isfinite(g)) for g in gs])), list(G))
    if isinstance(lr, jax.Array):  # a traced or array lr: checked here, as it could not be at construction
        ok = jnp.logical_and(ok, jnp.logical_and(jnp.isfinite(lr), lr >= 0).reshape(()))
    return ok


def _after(x, token):
    """``x`` (exactly: x·1), as a value XLA computes after ``token``, an array of the same step.

    The 1 is read from ``token``'s first entry (b − b·b + 1 = 1 for its sign bit b, which XLA does not fold), so the
    pass that writes ``x`` depends on the pass that writes ``token``: a buffer that the latter reads and the former
    overwrites (a donated argument) is then updated in place instead of copied. Empty or non-floating arrays are
    returned as they are.
    """
    if x.size == 0 or token.size == 0 or not jnp.issubdtype(x.dtype, jnp.floating):
        return x
    bits = jnp.dtype(token.dtype).itemsize * 8
    # the first entry by index, not through a reshape (which a leaf sharded with explicit axes refuses)
    word = jax.lax.bitcast_convert_type(token[(0,) * token.ndim], jnp.dtype(f"uint{bits}"))
    sign = jax.lax.shift_right_logical(word, jnp.asarray(bits - 1, word.dtype))
    one = (sign - sign * sign + 1).astype(x.dtype)
    return x * one


def _pinned(x):
    """``x`` as an array of its own buffer: its first entry written back in place (``dynamic_update_slice``). The
    passes that read it then read that buffer, where XLA would otherwise recompute an elementwise ``x`` from its
    inputs inside each of them (and keep those inputs alive, e.g. as a copy of a donated buffer that ``x``
    overwrites). Empty and 0-d arrays are returned as they are."""
    if x.ndim == 0 or x.size == 0:
        return x
    start = (0,) * x.ndim
    return jax.lax.dynamic_update_slice(x, jax.lax.slice(x, start, (1,) * x.ndim), start)


def _old_reads(learner, leaves) -> list:
    """The pairs (a, b), a ≠ b, of parameter-shaped fields of the learner state (indices into
    ``jax.tree_util.tree_leaves(state, is_leaf=_is_leaves)``) such that ``learner.update`` computes the new field a
    from the old field b (KT: the wealth from the old coin sum), read off the jaxpr of the update over ``leaves``'
    shapes and dtypes (an equation's outputs taken to depend on all its inputs: conservative); derived here. Empty
    where the reads form a cycle (no order of the writes then spares a copy) or the update cannot be traced alone."""
    from jax.extend import core as jcore

    like = _Leaves(jax.ShapeDtypeStruct(jnp.shape(x), jnp.result_type(x)) for x in leaves)
    try:
        fresh = jax.eval_shape(learner.init, like)
        fields = jax.tree_util.tree_leaves(fresh, is_leaf=_is_leaves)
        shaped = [_is_leaves(f) for f in fields]
        if sum(shaped) < 2:
            return []
        jaxpr = jax.make_jaxpr(lambda st, g: learner.update(st, g))(fresh, like).jaxpr
    except Exception:  # a learner that does not trace alone: no order (XLA copies as it did)
        return []
    owner = [i for i, f in enumerate(fields) for _ in jax.tree_util.tree_leaves(f)]  # the field of each flat input
    deps = {v: frozenset([owner[k]] if k < len(owner) else []) for k, v in enumerate(jaxpr.invars)}

    def reads(vs):
        return frozenset().union(*(deps.get(v, frozenset()) for v in vs if isinstance(v, jcore.Var)))

    for eqn in jaxpr.eqns:
        got = reads(eqn.invars)
        for v in eqn.outvars:
            deps[v] = got
    out = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(fresh), jaxpr.outvars)
    out_fields = jax.tree_util.tree_leaves(out, is_leaf=_is_leaves)
    pairs = [(a, b) for a, f in enumerate(out_fields) if shaped[a]
             for b in sorted(reads(jax.tree_util.tree_leaves(f))) if b != a and shaped[b]]
    left = set(range(len(fields)))  # an order that writes every reader before the fields it reads: none on a cycle
    while left:
        ready = {b for b in left if not any(a in left and bb == b for a, bb in pairs)}
        if not ready:
            return []
        left -= ready
    return pairs


#: T of the default configuration ``o2nc()``: with :func:`default_learner` it passes optax's test problems
#: (tests/test_optax_contract.py), where 100 steps per epoch miss the Rosenbrock target after 10 000 steps.
DEFAULT_EPOCH_LENGTH = 300


def default_learner():
    """The learner of ``o2nc()`` without one: parameter-free mirror descent (Jacobsen & Cutkosky, COLT 2022),
    ``ParameterFreeMirrorDescent(eps=0.1)``: no step size and no gradient bound to tune."""
    return ParameterFreeMirrorDescent(eps=0.1)


def o2nc(
    learner=None,
    learning_rate: optax.ScalarOrSchedule = 1.0,
    epoch_length: int | None = None,
    scaling="uniform",
    restart: bool = True,
    averaging=None,
    key=None,
    store_anchor=None,
    seed=None,
    *,
    lr=_UNSET,
) -> optax.GradientTransformationExtraArgs:
    r"""The online-to-non-convex conversion of an online learner, as an optax transformation.

    The learner runs over the params' leaves as one pytree (global norms); its state is stored shaped like the params,
    as optax's conventions ask (``optax.tree_utils.tree_map_params``, sharding rules). With Δ_n the learner's play and
    s_n from the scaling ([CMO23] Algorithm 1; Exp(1) scaling: Zhang & Cutkosky, ICML 2024; midpoint: the deterministic
    variant of [CMO23] as restated by Patitucci, Jiang, Mokhtari, arXiv 2510.03167):

        uniform, replay:  x_n = x_{n−1} + lr Δ_n,   w_n = x_{n−1} + s_n lr Δ_n,   s_n ~ U[0, 1)
        midpoint:         x_n = x_{n−1} + lr Δ_n,   w_n = x_{n−1} + lr Δ_n / 2
        exponential:      x_n = w_n = x_{n−1} + s_n lr Δ_n,                      s_n ~ Exp(1)
        none:             x_n = w_n = x_{n−1} + lr Δ_n

    The params passed to ``update`` are w_n (where ``grads`` were taken); the returned updates are w_{n+1} − params.
    With ``store_anchor=True`` they are computed from the stored anchor, not by accumulating differences (optax issues
    #1227 and #530): x_n = x_{n−1} + lr Δ_n, w_n = x_n − (1 − s_n) lr Δ_n. ``store_anchor=False`` recovers the anchor as
    x_n = w_n + (1 − s_n) lr_n Δ_n from the params and the learner's play instead (as ``o2nc.torch.O2NC`` does by
    default), saving one parameter-sized buffer. Under XLA, whose passes each write one array, the params' pass must
    then read the old play Δ_n while the learner's pass overwrites it in place: for a learner whose update can be undone
    elementwise (OGD: Δ_n = v_{n+1} + η_n g_n with v_{n+1} = Δ_n − η_n g_n) Δ_n is recomputed from the new state and
    g_n, and the compiled float32 step moves 8 words per parameter unconstrained (the finiteness check reads g; the
    learner's pass reads Δ, g and writes Δ; the params' pass reads w, Δ, g and writes w) against 11 with the stored
    anchor (counted from XLA's HLO by ``bench/bench_jax.py``); for any other learner it costs a copy of the learner
    state per step (slower, less memory). Projected OGD (``radius`` given) runs as
    :meth:`online_learners.OGD.lazily_projected`, the same plays from a state that keeps v_{n+1} and the projection's
    factor, so that its update can be undone too: its step moves 9 words (the norm of v is one more read), where the
    eager projection with the stored anchor moved 15. The default ``store_anchor=None`` picks the faster: ``False`` for
    a learner that declares ``recovers_previous_play`` (OGD, or its lazily projected form with a radius, whose
    ``previous_play`` gives Δ_n), ``True`` otherwise. Both agree to rounding (1e-12 in float64 in the parity tests). The
    scalars s and lag are kept in at least float32. The first ``update`` takes the params it is given as w_1 (anchor x_0
    = w_1 − s_1 lr Δ_1), so weights swapped in after ``init`` count. ``lr`` multiplies the increment: with a constant lr
    this is O2NC with the learner's domain scaled by lr (OGD(η, D) → OGD(lr·η, lr·D), KT(ε) → KT(lr·ε)). Every numeric
    argument may be a traced value, so ``optax.inject_hyperparams(o2nc)(learner=..., learning_rate=...)`` changes lr
    without recompiling. A schedule (``optax.ScalarOrSchedule``) gives lr_n = schedule(n − 1) at the n-th update,
    counted as optax counts. Params must be real floating-point arrays (a complex leaf is refused at ``init``); each
    leaf keeps its dtype.

    **Compiled passes.** Inside ``update`` (not under ``vmap``) the learner's norms, e.g. projected OGD's
    ‖Δ − ηg‖, are the plain √(Σ x²) with ``tree_norm``'s scaled form under a cond where the plain sum is not exact
    (:func:`online_learners.tree.plain_traced_norms`): one pass instead of two. With ``averaging="epoch"`` a learner
    that reports the norm of its next play (``reports_play_norm``) gives the path bound's segment from its update,
    as the conversion core takes it. A learner field whose new value reads another field's old value (KT's wealth
    reads the old coin sum) is written first, so that XLA updates both in place instead of copying the old one.

    **Bad input.** Arguments are checked at construction: a Python/numpy ``learning_rate`` that is NaN, inf or
    negative is a ValueError naming ``learning_rate`` (so is a concrete array's); ``epoch_length`` must be a positive
    integer, ``restart`` a bool, ``key`` a PRNG key, ``seed`` an integer in [0, 2**64). A *traced* lr (under
    ``jit``/``vmap``, or the jitted update of ``inject_hyperparams``) has no value to check then: it is checked in the
    update, as below.

    **Non-finite gradients** cannot raise under ``jit``. As ``optax.apply_if_finite``, an update whose gradient has
    a NaN or inf entry (or whose traced lr is not finite and >= 0) is skipped: it returns zero updates and leaves
    the state unchanged (step count, learner, anchor, epoch sums, s-sequence) except ``state.nonfinite``, the
    number of skipped updates, reported by :func:`o2nc_diagnostics` as ``nonfinite_steps``; the next finite update
    proceeds as if the skipped one had never been made. Unlike ``optax.apply_if_finite`` it never gives up and
    applies a non-finite update. The same holds outside ``jit`` (no exception there either, so that one program
    behaves alike jitted or not): watch ``nonfinite_steps``. The check is one reduction over the gradient per
    update. It covers the inputs (gradient, lr), not a learner whose own arithmetic overflows.

    Args:
        learner: an online learner of ``online_learners``; ``None`` (default): :func:`default_learner`, a
            parameter-free learner.
        learning_rate: increment multiplier lr (finite, ≥ 0): a number, a scalar array (traced values are checked
            per update), or a schedule of the update count.
        epoch_length: steps per epoch T (positive integer); the learner restarts at each epoch start when
            ``restart``. ``None`` (default): 100, or :data:`DEFAULT_EPOCH_LENGTH` (300) with the default learner.
        scaling: ``"uniform"``, ``"exponential"``, ``"none"``, ``"midpoint"`` or a 1-D array of s values replayed in
            order (beyond its end s is NaN, which makes the failure visible under ``jit``).
        restart: re-initialise the learner at every epoch start.
        averaging: ``None`` (output point: the anchor), ``"epoch"`` (mean of w over the last completed epoch) or
            ``("ema", beta)``; read it with :func:`o2nc_eval_params`.
        key: PRNG key of the s-sequence (default ``jax.random.key(0)``), or an integer seed of it, as
            ``optax.noisy_sgd`` takes; not with ``seed``.
        seed: an integer in [0, 2**64) (or a 0-d integer array, as ``inject_hyperparams`` makes of it): the
            counter-based s-sequence of :mod:`o2nc.conversion.draw` (53 bits in a float64 run, else 24), the one
            ``o2nc.minimize(seed=...)`` and ``o2nc.torch.O2NC(seed=...)`` draw, so one seed gives one trajectory in
            every shell. Its key words sit in ``state.key``, set by ``init``: replacing them (e.g. under ``vmap``)
            changes the seed; a later change of the argument (an injected hyperparameter) does not.
        store_anchor: keep x_n in the state instead of recovering it (one more parameter-sized buffer); ``None``
            (default): ``False`` where the learner's previous play can be recomputed (OGD), else
            ``True``. Without it and without averaging, :func:`o2nc_eval_params` needs the params of the last
            update.
        lr: deprecated alias of ``learning_rate`` (a DeprecationWarning).

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
    if lr is not _UNSET:
        if callable(learning_rate) or (isinstance(learning_rate, numbers.Real) and learning_rate != 1.0):
            raise TypeError("o2nc: give `learning_rate` (or its deprecated alias `lr`), not both")
        warnings.warn("o2nc: `lr` is deprecated; use `learning_rate`", DeprecationWarning, stacklevel=2)
        if not callable(lr):
            _check_lr(lr, "lr")
        learning_rate = lr
    if epoch_length is None:
        epoch_length = DEFAULT_EPOCH_LENGTH if learner is None else 100
    if learner is None:
        learner = default_learner()
    if isinstance(learner, type):
        example = "OGD(lr=...)" if learner.__name__ == "OGD" else f"{learner.__name__}(...)"
        raise TypeError(f"o2nc: `learner` must be an online learner instance, got the class {learner.__name__}; pass "
                        f"an instance, e.g. {example}")
    for method in ("init", "predict", "update"):
        if not callable(getattr(learner, method, None)):
            raise TypeError(f"o2nc: `learner` must have init/predict/update; {type(learner).__name__} lacks {method}")
    if getattr(learner, "projects_lazily", False) is True and callable(getattr(learner, "lazily_projected", None)):
        # Projected OGD as the lazily projected form of the same plays (online_learners.LazilyProjectedOGD): its
        # update can be undone, so the anchor is recovered instead of stored, and v = Δ − ηg is written in place.
        learner = learner.lazily_projected()
    schedule = learning_rate if callable(learning_rate) else None
    if schedule is None:
        _check_lr(learning_rate)
    _check_epoch_length(epoch_length)
    _check_restart(restart)
    key = _check_key(key)
    if isinstance(restart, np.bool_):
        restart = bool(restart)
    if isinstance(scaling, str) and scaling not in SCALINGS:
        raise ValueError(f"o2nc: `scaling` must be one of {SCALINGS} or a 1-D array of s values, got {scaling!r}")
    if isinstance(scaling, str):
        rule, values = resolve_scaling(scaling), None
    else:
        rule = resolve_scaling(np.asarray(scaling))
        values = jnp.asarray(scaling if isinstance(scaling, jax.Array) else rule.values)
    rule_name = rule.name
    check_supported(rule_name, "jax")
    if seed is not None and key is not None:
        raise TypeError("o2nc: give `seed` or `key`, not both")
    seed_words = None
    if seed is not None:
        seed = _integer_seed(seed, "seed")
        # A traced seed (the jitted update of ``inject_hyperparams``) has no words to compute; the update reads the
        # words from ``state.key`` and only needs to know that a seed was given.
        seed_words = _TRACED_SEED if _is_traced(seed) else seed_key(seed)
    averaging = _averaging_spec(averaging)
    if store_anchor is not None and not isinstance(store_anchor, (bool, np.bool_)):
        raise TypeError(f"o2nc: `store_anchor` must be None or a bool (True or False), got {store_anchor!r}")
    if isinstance(store_anchor, np.bool_):  # as ``restart`` takes it
        store_anchor = bool(store_anchor)
    full_step = rule.full_step
    recover = None if store_anchor else _play_recovery(learner)
    reports_norm = (averaging == "epoch" and bool(getattr(learner, "reports_play_norm", False))
                    and callable(getattr(learner, "update_and_norm", None)))
    if store_anchor is None:
        store_anchor = recover is None
    two_passes = (getattr(learner, "updates_in_two_passes", False) is True
                  and callable(getattr(learner, "descend", None)) and callable(getattr(learner, "rescale", None)))

    # A typed key is kept as its data and its implementation (static); a raw uint32 key is kept as it is.
    typed_key = key is None or jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    key_impl = jax.random.key_impl(jax.random.key(0) if key is None else key) if typed_key else None

    def learning_rate_at(count):
        """lr_n: the schedule at the number of updates made so far (optax's convention), or the constant."""
        return schedule(count) if schedule is not None else learning_rate

    def draw(key, draws, dtype):
        if seed_words is not None or rule_name not in ("uniform", "exponential"):  # the core's draw, traced
            words = (key[0], key[1]) if seed_words is not None else None
            return key, rule.traced(words, draws.astype(jnp.uint32), dtype, values), draws + 1
        typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
        # The state holds the key's data (uint32 words, which optax's tree utilities and numpy compare and copy);
        # a typed key put in its place (e.g. under vmap) is used as it is.
        key, sub = jax.random.split(key if typed or key_impl is None else jax.random.wrap_key_data(key, impl=key_impl))
        if not typed and key_impl is not None:
            key = jax.random.key_data(key)
        if rule_name == "uniform":
            s = jax.random.uniform(sub, (), dtype=jnp.float64 if dtype == jnp.float64 else jnp.float32)
        else:
            s = jax.random.exponential(sub, (), dtype=jnp.float64 if dtype == jnp.float64 else jnp.float32)
        return key, s.astype(dtype), draws + 1

    epoch = averaging == "epoch"
    ema_beta = averaging[1] if isinstance(averaging, tuple) else None

    def select(pred, a, b):
        """Elementwise choice by a scalar predicate: fused into the surrounding loop by XLA, where a ``lax.cond``
        returning full-size arrays costs a copy of every operand (its buffers cannot alias the donated state)."""
        return jax.tree_util.tree_map(lambda x, y: y if x is y else jnp.where(pred, x, y).astype(y.dtype), a, b)

    restarts = not (isinstance(restart, bool) and not restart)

    def pending_restart(state):
        """The previous update closed an epoch: the stored learner state is due for a restart."""
        return jnp.logical_and(restart, jnp.logical_and(state.count > 0, state.count % epoch_length == 0))

    def current_play(state, lstate, leaves):
        """Δ_n, the play that placed the current params (the fresh learner's after a pending restart)."""
        if not restarts:
            return learner.predict(lstate)
        return select(pending_restart(state), learner.predict(learner.init(_Leaves(leaves))), learner.predict(lstate))

    def init_fn(params):
        leaves, treedef = jax.tree_util.tree_flatten(params)
        leaves = [_concrete(x) for x in leaves]
        _check_params(leaves)
        dtype = _lowest_dtype(leaves)
        sdtype = jnp.promote_types(dtype, jnp.float32)  # s and lag: at least float32, even for bf16 params
        lstate = _learner_init(learner, leaves)
        if seed_words is _TRACED_SEED:
            raise TypeError("o2nc: `seed` is traced at init (e.g. init under jit with inject_hyperparams): its key "
                            "words need a concrete integer; pass it as a static argument "
                            "(inject_hyperparams(o2nc, static_args=('seed',))) or call init outside jit")
        if seed_words is not None:
            k = jnp.asarray(seed_words, dtype=jnp.uint32)
        else:
            k = jax.random.key(0) if key is None else key
            if key_impl is not None:
                k = jax.random.key_data(k)
        k, s, draws = draw(k, jnp.zeros((), jnp.int32), sdtype)
        k, s_next, draws = draw(k, draws, sdtype)
        nan = jnp.full((), jnp.nan, dtype)

        def sums():  # Σw, Σg in at least float32 (online_learners.tree.accumulator_like's rule, leaf by leaf)
            return treedef.unflatten([jnp.zeros_like(x, jnp.promote_types(x.dtype, jnp.float32)) for x in leaves])

        def copies():
            return treedef.unflatten([jnp.array(x, copy=True) for x in leaves])

        state = O2NCState(
            count=jnp.zeros((), jnp.int32),
            anchor=copies() if store_anchor else (),  # set at the first update
            learner=_as_params(lstate, treedef),
            key=k,
            s=s,
            draws=draws,
            w_sum=sums() if epoch else (),
            g_sum=sums() if epoch else (),
            epoch_mean=copies() if epoch else (),
            ema=copies() if ema_beta is not None else (),
            certificate=nan,
            radius_bound=nan,
            path=jnp.zeros((), sdtype),  # a running sum: at least float32, as the epoch sums
            segment=jnp.zeros((), dtype),
            lag=jnp.zeros((), sdtype),
            play=None if (store_anchor or averaging is not None) else _Play(learner),
            s_next=s_next,
            nonfinite=jnp.zeros((), jnp.int32),
            restart_due=jnp.zeros((), jnp.bool_),
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
        if not G:
            raise ValueError("o2nc: `updates` has no array leaves (give the gradients of at least one parameter)")
        P = treedef.flatten_up_to(params)
        leaves_of = treedef.flatten_up_to
        lr = learning_rate_at(state.count)
        # The learner runs over the leaves; its state is stored shaped like the params (``init``'s structure marks
        # the parameter-shaped fields; under jit it is traced only).
        template = learner.init(_Leaves(P))
        expected = jax.tree_util.tree_structure(_as_params(template, treedef))
        if jax.tree_util.tree_structure(state.learner) != expected:
            raise ValueError(
                f"o2nc: the state's learner fields ({type(state.learner).__name__}) are not those of this "
                f"transformation's learner ({type(template).__name__}): a state built for another learner or saved "
                "by an earlier version (projected OGD's state is now LazilyProjectedOGDState); build one with init"
            )
        stored = _as_leaves(state.learner, template, treedef)
        dtype, sdtype = state.certificate.dtype, state.lag.dtype
        reads = _old_reads(learner, P)
        # A non-finite gradient (or traced lr) skips the update: every field keeps its value but the counter, and
        # the updates are zero. The flag is one reduction over g; the state is then chosen elementwise (fused into
        # the passes that write it, so that donated buffers are still written in place).
        ok = _finite_step(G, lr)
        first = state.count == 0
        # x_n = w_n + lag_n Δ_n, lag_n = (1 − s_n) lr_n for the full-step scalings ([CMO23] Alg. 1: w_n = x_{n−1} +
        # s_n(x_n − x_{n−1})), 0 otherwise. The first update takes the params as w_1 and the current lr.
        w_c, x_c = coefficients(full_step, state.s, lr)
        has_lag = full_step and not rule.query_at_anchor
        lag = jnp.where(first, jnp.asarray(x_c - w_c, sdtype), state.lag) if has_lag else state.lag
        if store_anchor:
            # The first play Δ_1 is recomputed from the learner's ``init`` (a function of the params' shapes only),
            # not read from the state: an elementwise pass that read the old learner state next to the in-place
            # write of the new one would make XLA copy that state every step.
            def first_anchor(anchor, leaves):  # x_0 = w_1 + lag_1 Δ_1
                if not has_lag:
                    return list(leaves)
                fresh = learner.predict(learner.init(_Leaves(leaves)))
                return [(p + lag * d).astype(p.dtype) for p, d in zip(leaves, fresh)]

            # Only the first (finite) update sets x_0 from the params: a cond, whose other branch leaves the stored
            # anchor in place, so that the anchor's pass does not read the params at every step.
            x = jax.lax.cond(jnp.logical_and(first, ok), first_anchor, lambda anchor, leaves: list(anchor),
                             leaves_of(state.anchor), list(P))
        elif recover is None:
            x = [(p + lag * d).astype(p.dtype) for p, d in zip(P, current_play(state, stored, P))] if has_lag \
                else list(P)

        count = state.count + 1
        epoch_end = (count % epoch_length) == 0
        # Restarts ([CMO23] §3) are applied lazily: the update that closes an epoch plays the fresh learner's first
        # play but stores the learner state as updated, and the next update starts from ``learner.init``. Selecting
        # on the input (and on the play) instead of on the new state lets XLA write the state in place; a select on
        # the new state is duplicated into the passes that read it, which then read the old state and force a copy.
        lstate_in = select(pending_restart(state), template, stored) if restarts else stored
        if two_passes:
            # The elementwise pass is selected on ``ok`` before the norm reads it: one array written in place, read
            # once by the norm, where a select after the whole update reads the updated array twice and XLA then
            # writes it twice. A skipped update rescales the old state, which gives its own scalars again.
            stepped = select(ok, learner.descend(lstate_in, _Leaves(G)), stored)
            updated, reported = learner.rescale(stepped)
            lstate = select(ok, updated, stepped)
            reported = reported if reports_norm else None
        else:
            if reports_norm:  # ‖Δ_{n+1}‖ from the projection the update takes anyway (o2nc.conversion.step)
                updated, reported = learner.update_and_norm(lstate_in, _Leaves(G))
            else:
                updated, reported = learner.update(lstate_in, _Leaves(G)), None
            lstate = select(ok, updated, stored)
        if reads:
            # A field whose new value reads another's old value (KT's wealth reads the old coin sum) is written
            # first: the other field's pass is ordered after it (``_after``) and its value read from its buffer by
            # the passes that follow (``_pinned``), so that XLA updates both in place instead of copying the old one.
            fields, fields_def = jax.tree_util.tree_flatten(lstate, is_leaf=_is_leaves)
            for a, b in reads:
                fields[b] = _Leaves(_after(x, t) for x, t in zip(fields[b], fields[a]))
            for b in {b for _, b in reads}:
                fields[b] = _Leaves(_pinned(x) for x in fields[b])
            lstate = jax.tree_util.tree_unflatten(fields_def, fields)
        if not store_anchor and recover is not None:
            # Δ_n (the fresh learner's after a pending restart) from the new learner state and g_n: the params' pass
            # then reads only the new state, so that XLA writes the learner state in place without copying it.
            delta_now = recover(lstate, list(G))
            x = [(p + lag * d).astype(p.dtype) for p, d in zip(P, delta_now)] if has_lag else list(P)
        segment = state.segment
        if epoch:
            # ‖x_1 − x_0‖ = |x_c|·‖Δ_1‖ at the first update (a scalar cond: no reduction later), carried over
            # otherwise. Δ_1 is the fresh learner's play, taken from ``init`` over the params as ``first_anchor``
            # takes it: a cond that read Δ_n as recovered above would make XLA write Δ_n as an array of its own.
            segment = jax.lax.cond(
                first,
                lambda leaves: (_norm(list(learner.predict(learner.init(_Leaves(leaves)))), dtype)
                                * jnp.abs(jnp.asarray(x_c, dtype))).astype(dtype),
                lambda leaves: segment,
                list(P),
            )

        w_sum, g_sum, epoch_mean, ema = state.w_sum, state.g_sum, state.epoch_mean, state.ema
        certificate, radius_bound, path = state.certificate, state.radius_bound, state.path
        if epoch:
            w_sum, g_sum, epoch_mean = leaves_of(w_sum), leaves_of(g_sum), leaves_of(epoch_mean)
            # T in at least float32 (as the sums: bfloat16 rounds e.g. 257 to 256)
            t = jnp.asarray(epoch_length, sdtype)
            # The sums restart lazily too (see the restarts above): zeroed on input after an epoch end.
            closed = jnp.logical_and(state.count > 0, state.count % epoch_length == 0)
            w_sum = select(ok, [jnp.where(closed, jnp.zeros_like(a), a) + p for a, p in zip(w_sum, P)], w_sum)
            g_sum = select(ok, [jnp.where(closed, jnp.zeros_like(a), a) + g for a, g in zip(g_sum, G)], g_sum)
            path = path + segment.astype(path.dtype)
            # The epoch's statistics only at its end (a cond over scalar outputs: no per-step reduction).
            certificate = jax.lax.cond(
                epoch_end,
                lambda: tree_norm([a / t.astype(a.dtype) for a in g_sum]).astype(dtype),  # the core's norm
                lambda: certificate,
            )
            # w̄_k only when the epoch closes: a cond over the stored mean, which XLA writes in place (an elementwise
            # choice would read and write the mean at every step). The mean of the wider sums is rounded once, to
            # the params' dtype.
            epoch_mean = jax.lax.cond(jnp.logical_and(ok, epoch_end),
                                      lambda sums, mean: [(a / t.astype(a.dtype)).astype(m.dtype)
                                                          for a, m in zip(sums, mean)],
                                      lambda sums, mean: list(mean), w_sum, epoch_mean)
            radius_bound = jnp.where(epoch_end, path.astype(radius_bound.dtype), radius_bound)
            path = jnp.where(epoch_end, jnp.zeros_like(path), path)
            w_sum, g_sum, epoch_mean = treedef.unflatten(w_sum), treedef.unflatten(g_sum), treedef.unflatten(epoch_mean)
        elif ema_beta is not None:
            ema = leaves_of(ema)
            ema = select(ok, [jnp.where(first, p, (ema_beta * e + (1 - ema_beta) * p).astype(e.dtype))
                              for e, p in zip(ema, P)], ema)
            ema = treedef.unflatten(ema)

        delta = learner.predict(lstate)
        if restarts:
            delta = select(jnp.logical_and(epoch_end, restart), learner.predict(template), delta)
        # The new point w_{n+2} takes s_{n+2}, drawn by the previous update (state.s_next); s_{n+3} is drawn here for
        # the next one. The parameter pass then does not wait on the PRNG, a dependency that cost ~8% of the jitted
        # CPU step at 10M parameters in 50 tensors (bench/bench_jax.py).
        if state.s_next is None:  # a state built without s_next (e.g. by an earlier version): draw s_{n+1} now
            k, s, draws = draw(state.key, state.draws, sdtype)
            s_next = None
        else:
            s = state.s_next
            k, s_next, draws = draw(state.key, state.draws, sdtype)
        w_c, x_c = coefficients(full_step, s, lr)
        new_lag = jnp.asarray(x_c - w_c, sdtype) if has_lag else state.lag
        anchor = state.anchor
        if store_anchor:
            anchor = select(ok, [(xi + x_c * d).astype(xi.dtype) for xi, d in zip(x, delta)], x)  # x: the old anchor
            # w_{n+1} = x_{n+1} − lag_{n+1} Δ_{n+1}: from the new anchor and play only, so that XLA can write both in
            # place (w from x_n would read the old anchor after its in-place update and cost a copy).
            w_next = [(a - new_lag * d).astype(a.dtype) for a, d in zip(anchor, delta)] if has_lag else anchor
            anchor = treedef.unflatten(anchor)
        else:
            w_next = [(xi + w_c * d).astype(xi.dtype) for xi, d in zip(x, delta)]
        if epoch:
            # ‖x_{n+2} − x_{n+1}‖ = |x_c|·‖Δ_{n+2}‖, the norm taken of the stored play (or under the cond of a
            # restart, of the fresh learner's): the play as selected above is then not formed as an array of its own.
            # A learner that reports the norm of its next play (``reports_play_norm``: projected OGD's ‖Π(v)‖ =
            # ‖v‖·min(1, D/‖v‖)) gives it from its update, as the conversion core carries it (o2nc.conversion.step):
            # no reduction of its own. (A skipped update keeps the old segment: the scalar cond below.)
            def play_norm(ls, leaves):
                if reported is not None:
                    return jnp.asarray(reported).astype(dtype)
                return _norm(list(learner.predict(ls)), dtype)

            if restarts:
                norm_next = jax.lax.cond(jnp.logical_and(epoch_end, restart),
                                         lambda ls, leaves: _norm(list(learner.predict(learner.init(_Leaves(leaves)))),
                                                                  dtype),
                                         play_norm, lstate, list(P))
            else:
                norm_next = play_norm(lstate, P)
            segment = norm_next * jnp.abs(jnp.asarray(x_c, dtype))
        new_updates = [jnp.where(ok, w - p, jnp.zeros_like(p)).astype(p.dtype) for w, p in zip(w_next, P)]
        if epoch:
            # The sum Σw reads the params w_n, which the caller's ``params + updates`` overwrites in place: ordering
            # that write after the sum's pass spares XLA a copy of the params.
            new_updates = [_after(u, a) for u, a in zip(new_updates, leaves_of(w_sum))]
        restart_due = jnp.logical_and(restart, epoch_end) if restarts else jnp.zeros((), jnp.bool_)
        # The scalars of a skipped update: the old ones (a scalar cond, which also takes PRNG keys).
        scalars = (count, k, s, draws, certificate, radius_bound, path, segment, new_lag, s_next, restart_due)
        old = (state.count, state.key, state.s, state.draws, state.certificate, state.radius_bound, state.path,
               state.segment, state.lag, state.s_next, state.restart_due)
        if state.restart_due is None:  # (a state built without the flag, by an earlier version)
            scalars, old = scalars[:-1] + (None,), old
        (count, k, s, draws, certificate, radius_bound, path, segment, new_lag, s_next, restart_due) = jax.lax.cond(
            ok, lambda: scalars, lambda: old
        )
        nonfinite = state.nonfinite
        if nonfinite is not None:  # (a state built without the counter, by an earlier version, is skipped alike)
            limit = jnp.iinfo(nonfinite.dtype).max
            nonfinite = jnp.where(jnp.logical_or(ok, nonfinite == limit), nonfinite, nonfinite + 1)
        new_state = O2NCState(
            count=count,
            anchor=anchor,
            learner=_as_params(lstate, treedef),
            key=k,
            s=s,
            draws=draws,
            w_sum=w_sum,
            g_sum=g_sum,
            epoch_mean=epoch_mean,
            ema=ema,
            certificate=certificate,
            radius_bound=radius_bound,
            path=path,
            segment=segment,
            lag=new_lag,
            play=state.play,
            s_next=s_next,
            nonfinite=nonfinite,
            restart_due=restart_due,
        )
        return jax.tree_util.tree_unflatten(treedef, new_updates), new_state

    def update(updates, state, params=None, **extra_args):
        # The learner's norms (projected OGD's ‖Δ − ηg‖) as the plain sum of squares with the scaled form under a
        # cond where it is not exact: one pass instead of two. Not under vmap, where the cond would compute both.
        if _vmapped(jax.tree_util.tree_leaves(updates)):
            return update_fn(updates, state, params, **extra_args)
        with plain_traced_norms():
            return update_fn(updates, state, params, **extra_args)

    return optax.GradientTransformationExtraArgs(init_fn, update)


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


def _is_masked(x) -> bool:
    return isinstance(x, optax.MaskedNode)


def _param_trees(st: O2NCState):
    """The parameter-shaped trees of the state, in order: the stored anchor and averages, then the learner's fields."""
    for tree in (st.anchor, st.epoch_mean, st.ema):
        if not (isinstance(tree, tuple) and tree == ()):
            yield tree

    def fields(node):
        if isinstance(node, tuple) and hasattr(node, "_fields"):
            for child in node:
                yield child
                yield from fields(child)

    yield from fields(st.learner)


def _restrict(params, like):
    """``params`` shaped like ``like``, a tree of the state: as given when the structures agree; inside
    ``optax.masked``/``optax.partition``, whose inner state holds ``optax.MaskedNode`` for the leaves it does not
    own, with those leaves masked out. None when ``like`` is not shaped like (a masking of) the params."""
    like_def = jax.tree_util.tree_structure(like, is_leaf=_is_masked)
    if like_def.num_leaves == 0 or like_def == jax.tree_util.tree_structure(like):
        if jax.tree_util.tree_structure(params) != jax.tree_util.tree_structure(like) or like_def.num_leaves == 0:
            return None
        restricted = params
    else:
        try:
            restricted = jax.tree_util.tree_map(lambda m, p: m if _is_masked(m) else p, like, params,
                                                is_leaf=_is_masked)
        except (ValueError, TypeError):
            return None
    shapes = [jnp.shape(x) for x in jax.tree_util.tree_leaves(restricted)]
    if shapes != [jnp.shape(x) for x in jax.tree_util.tree_leaves(like)]:
        return None
    return restricted


def o2nc_eval_params(state, params):
    """The output point for evaluation, shaped like ``params`` (the training params are not changed).

    ``averaging="epoch"``: the mean of w over the last completed epoch ([CMO23] Theorem 8's w̄_k), or the running mean
    of the current epoch before one completes; ``("ema", β)``: the EMA of w; ``None``: the anchor x (stored, or
    recovered from ``params`` = w_n, which must then be the params of the last update). Before the first update it is
    ``params``. ``state`` may be any optax state holding one :class:`O2NCState`; inside ``optax.masked`` or
    ``optax.partition`` the params it does not update are returned as given.
    """
    st = find_o2nc_state(state)
    own = None
    for like in _param_trees(st):
        own = _restrict(params, like)
        if own is not None:
            break
    if own is None:
        raise ValueError(
            "o2nc_eval_params: `params` is not shaped like the params the O2NC state was built on (nor a tree of "
            f"which they are a masked part); got {jax.tree_util.tree_structure(params)}"
        )
    leaves, treedef = jax.tree_util.tree_flatten(own)
    first = st.count == 0
    if not _is_empty(st.w_sum):
        done = st.count  # any completed epoch has replaced epoch_mean
        has_epoch = jnp.isfinite(st.certificate)
        w_sum, epoch_mean = treedef.flatten_up_to(st.w_sum), treedef.flatten_up_to(st.epoch_mean)
        partial = [jnp.where(done > 0, a / jnp.maximum(done, 1).astype(a.dtype), p) for a, p in zip(w_sum, leaves)]
        out = [jnp.where(has_epoch, m, q) for m, q in zip(epoch_mean, partial)]
    elif not _is_empty(st.ema):
        out = treedef.flatten_up_to(st.ema)
    elif not _is_empty(st.anchor):
        out = treedef.flatten_up_to(st.anchor)
    else:  # the anchor recovered from the params: x_n = w_n + lag_n Δ_n (see ``store_anchor``)
        learner = st.play.learner
        fresh = learner.init(_Leaves(leaves))
        stored = _as_leaves(st.learner, fresh, treedef)
        play = learner.predict(stored)
        if st.restart_due is not None:
            play = [jnp.where(st.restart_due, f, d) for f, d in zip(learner.predict(fresh), play)]
        out = [(p + st.lag * d).astype(p.dtype) for p, d in zip(leaves, play)]
    out = treedef.unflatten([jnp.where(first, p, o).astype(p.dtype) for p, o in zip(leaves, out)])
    if own is params:
        return out
    return jax.tree_util.tree_map(lambda o, p: p if _is_masked(o) else o, out, params, is_leaf=_is_masked)


def _is_empty(tree) -> bool:
    return isinstance(tree, tuple) and not hasattr(tree, "_fields") and tree == ()


def o2nc_diagnostics(state) -> dict:
    """Step count, current s, and the last completed epoch's certificate ‖ĝ_k‖ and ``radius_bound`` (the path length
    Σ_t ‖x_t − x_{t−1}‖, a proven bound on the epoch's radius), as arrays. ``radius``, the exact radius
    max_t ‖w_t − w̄_k‖, needs the epoch's points, which the transformation does not keep: it is NaN
    (``o2nc.minimize`` reports it). ``nonfinite_steps``: the number of updates skipped for a non-finite gradient
    (or traced ``lr``), which ``step`` does not count."""
    st = find_o2nc_state(state)
    nonfinite = st.nonfinite if st.nonfinite is not None else jnp.zeros((), jnp.int32)
    return {"step": st.count, "s": st.s, "certificate": st.certificate, "radius_bound": st.radius_bound,
            "radius": jnp.full((), jnp.nan, st.certificate.dtype), "nonfinite_steps": nonfinite}
