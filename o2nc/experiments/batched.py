"""Many seeds of one O2NC configuration at once: the conversion core under ``jax.vmap`` and ``jax.jit``.

Algorithm 1 of [CMO23] (Cutkosky, Mehta, Orabona, ICML 2023, arXiv 2302.03775) is written once, in
:mod:`o2nc.conversion.step` (``propose`` / ``observe`` / ``end_epoch`` / ``restart``), with the learner's own
``init`` / ``predict`` / ``update`` from :mod:`online_learners`.  This module does not restate it: it traces that
core with jax, ``vmap``-s a step over the seeds, scans the T steps of an epoch (writing every seed's points into
one (T, S, d) buffer, for the exact radius) and scans the epochs of a chunk (:func:`run_batched`).
:func:`o2nc.minimize` loops over the same core eagerly; a test holds the two to 1e-12 in float64 with the same seed.

The s-values are the counter-based draw of :mod:`o2nc.conversion.draw` (``Scaling.sample``, the values
:func:`o2nc.minimize` draws for the same seed), computed in the compiled code from the seed's key and the step
counters, an epoch's T × S at once (a replayed sequence is passed in per chunk of epochs).  A stochastic oracle
enters as an additive noise stream ``noise(i, start, count)`` (seed i's noise for the steps start … start+count−1):
the gradient at w_n is ∇F(w_n) + ξ_n.  With :func:`numpy_gaussian_noise` that stream is the one the objective's own
``stochastic_grad`` draws from the run's generator (an objective declaring ``extra["noise_model"] =
"additive-gaussian"``), so a compiled stochastic run equals the :mod:`o2nc.methods` O2NC run with the same seed.

Per epoch k and seed ([CMO23] §3, Definition 5): the mean point w̄_k, the run's own certificate ‖ĝ_k‖ (of the
gradients the learner saw), the exact certificate ‖(1/T) Σ_t ∇F(w_t)‖ (the same as the own one with an exact oracle;
with noise it is the recomputation of ``certificate="auto"``, which proves Goldstein (r_k, ·)-stationarity of w̄_k),
the exact radius r_k = max_t ‖w_t − w̄_k‖ (:func:`o2nc.conversion.epoch.exact_radius`) and the path bound L_k.
With a target ε and δ, seed i stops after its first epoch with exact certificate ≤ ε and r_k ≤ δ (the rule of
:class:`o2nc.methods.O2NCMethod`), and its later epochs are dropped.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from o2nc.conversion import epoch as _epoch
from o2nc.conversion import step as _core
from o2nc.conversion.draw import check_seed, seed_key
from o2nc.conversion.scaling import Scaling, resolve_scaling

__all__ = ["BatchedEpochs", "CompiledRun", "run_batched", "run_method", "compilable", "numpy_gaussian_noise",
           "scaling_draws", "o2nc_ogd_jax", "o2nc_ogd_numpy", "NOISE_MODEL"]

#: ``extra["noise_model"]`` of an objective whose stochastic oracle is ∇F(x) + (σ/√d)·mean of ``batch`` standard
#: normal rows drawn with ``rng.standard_normal((batch, d))`` (``objectives.noise.sample_noise``'s Gaussian model).
NOISE_MODEL = "additive-gaussian"

#: Steps per compiled chunk (per seed): a chunk of ⌈CHUNK_STEPS/T⌉ epochs runs between two host checks.
CHUNK_STEPS = 1 << 15
#: Steps of an epoch unrolled into one iteration of the compiled loop (the T % UNROLL steps left run as one more
#: block after the loop), so that XLA fuses the elementwise work of consecutive steps.  ``bench/bench_sweep.py``
#: (d = 10, 1000 seeds, CPU time over the hand-written loop's): 3.9 with 1 step an iteration, 3.0 with 2, 2.7 with 4,
#: 2.8 with 5, 3.0 with 10, 3.4 with 20 (longer chains of x_n and Δ_n recomputed inside each fusion).
UNROLL = 4
#: XLA options of the compiled chunk on the CPU; they change which kernels run, not what they compute:
#:  * no intra-op split of a fusion over threads (the ``cpu-parallel-task-assigner`` pass): XLA's cost model splits
#:    some of the step's elementwise fusions (those reading many (S, d) arrays and a row of the epoch's s-values)
#:    over the threads, which on (S, d) = (1000, 10) arrays costs more in hand-offs than it saves;
#:  * YNNPACK fusions for dots only (``LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT``): the norms' and the radius' reductions
#:    and the elementwise work run as XLA's own loop fusions, without YNNPACK's per-call setup on arrays this small.
#: ``bench/bench_sweep.py``: with both, 2.6-2.7× the hand-written loop in CPU time; without the split or without
#: YNNPACK's reductions alone, about 3.35×; with neither, 3.6-3.9×.  A jaxlib that does not know an option compiles
#: without them (:func:`_jit`).
COMPILER_OPTIONS = {"xla_disable_hlo_passes": "cpu-parallel-task-assigner",
                    "xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"}


class BatchedEpochs(NamedTuple):
    """Per-seed epoch statistics of :func:`o2nc_ogd_jax` / :func:`o2nc_ogd_numpy` (fixed K epochs)."""

    mean: np.ndarray  # (S, K, d)
    certificate: np.ndarray  # (S, K)
    radius: np.ndarray  # (S, K)
    grad_calls: int  # per seed


class CompiledRun(NamedTuple):
    """What :func:`run_batched` returns: per seed i, its first ``epochs[i]`` epochs (the rest of each array is NaN).

    ``calls[k]`` = (k + 1)·T, the gradient calls at the end of epoch k; ``stopped[i]`` whether seed i met its target.
    """

    mean: np.ndarray  # (S, K, d)
    certificate: np.ndarray  # (S, K) own ‖ĝ_k‖
    exact_certificate: np.ndarray  # (S, K) ‖mean of exact gradients‖
    radius: np.ndarray  # (S, K) exact r_k
    radius_bound: np.ndarray  # (S, K) path length L_k
    epochs: np.ndarray  # (S,) int
    stopped: np.ndarray  # (S,) bool
    calls: np.ndarray  # (K,) int
    epoch_length: int


def scaling_draws(seeds: Sequence[int], steps: int, scaling="uniform") -> np.ndarray:
    """(S, steps) s-values (float64 runs), seed i's as :func:`o2nc.minimize` draws them with ``seed=seeds[i]``."""
    rule = resolve_scaling(scaling)
    if not len(seeds):
        return np.empty((0, steps))
    return np.stack([rule.sample(seed_key(seed), 0, steps) for seed in seeds])


def numpy_gaussian_noise(generators: Sequence[np.random.Generator], d: int, sigma: float, batch: int = 1):
    """The noise stream of ``objectives.noise.sample_noise(rng, "gaussian", d, σ, size=batch).mean(axis=0)`` drawn
    once per step from ``generators[i]``: a call (i, start, count) returns the next ``count`` draws, (count, d).

    numpy's ``Generator.standard_normal`` fills an array in order, so ``count·batch·d`` normals drawn at once are the
    ``count`` successive draws of ``batch·d`` (the steps must be asked for in order, as :func:`run_batched` does)."""
    per = float(sigma) / math.sqrt(d)
    nxt = [0] * len(generators)

    def draw(i: int, start: int, count: int) -> np.ndarray:
        if start != nxt[i]:
            raise ValueError(f"noise: seed {i}'s steps must be drawn in order (next {nxt[i]}, asked {start})")
        nxt[i] = start + count
        z = per * generators[i].standard_normal((count, batch, d))
        return z[:, 0, :] if batch == 1 else z.mean(axis=1)

    return draw


def _check_run(x0, seeds, budget, epoch_length):
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.ndim != 1 or x0.size == 0 or not np.all(np.isfinite(x0)):
        raise ValueError(f"x0: expected a finite 1-D starting point, got shape {x0.shape}")
    for name, v in (("budget", budget), ("epoch_length", epoch_length)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name}: expected an integer >= 1, got {v!r}")
    if budget < epoch_length:
        raise ValueError(f"epoch_length: expected 1 <= epoch_length <= budget, got {epoch_length} (budget {budget})")
    seeds = [check_seed(s, "seeds") for s in seeds]
    if not seeds:
        raise ValueError("seeds: expected at least one seed")
    return x0, seeds


def run_batched(grad_fn: Callable, x0, *, seeds: Sequence[int], learner, epoch_length: int, budget: int,
                scaling="uniform", restart: bool = True, noise: Callable | None = None,
                epsilon: float | None = None, delta: float | None = None,
                chunk_steps: int = CHUNK_STEPS, oracle_key=None) -> CompiledRun:
    """O2NC (:mod:`o2nc.conversion.step`) with ``learner`` for every seed at once, jitted and ``vmap``-ed over seeds.

    Args:
        grad_fn: one (d,) point -> its exact (sub)gradient, written with operations jax can trace (an objective of
            the bank's ``grad`` is: the bank is written against the Array API).
        x0: (d,) starting point shared by all seeds.
        seeds: one run per seed; seed i draws the s-sequence of :func:`o2nc.minimize` with ``seed=seeds[i]``.
        learner: a learner of :mod:`online_learners` (its ``init`` / ``predict`` / ``update`` are traced).
        epoch_length, budget: T and N; at most K = ⌊N/T⌋ epochs.
        scaling: a scaling name of :mod:`o2nc.conversion.scaling` or a 1-D replayed s-sequence.
        restart: re-initialise the learner at each epoch start ([CMO23] §3).
        noise: None (exact oracle) or a stream ``noise(i, start, count) -> (count, d)`` added to the gradients the
            learner sees (:func:`numpy_gaussian_noise`).
        epsilon, delta: a target: seed i stops after its first epoch with exact certificate ≤ ε and r_k ≤ δ.
        chunk_steps: steps per seed between two host checks (the compiled chunk holds ⌈chunk_steps/T⌉ epochs).
        oracle_key: a hashable value naming ``grad_fn``'s function (two oracles with the same key compute the same
            gradients), so that runs with equal keys, learners and T share one compilation; default: ``grad_fn``.

    Runs in float64 when jax's x64 mode is on (``JAX_ENABLE_X64=1``), else refuses: a float32 trajectory would not be
    the float64 one of :func:`o2nc.minimize`.

    Example:
        >>> import jax.numpy as jnp
        >>> from online_learners import OGD
        >>> out = run_batched(jnp.sign, [1.0, -2.0], seeds=[0, 1], learner=OGD(lr=0.01, radius=0.1),
        ...                   epoch_length=10, budget=100)
        >>> out.mean.shape, out.epochs.tolist(), int(out.calls[-1])
        ((2, 10, 2), [10, 10], 100)
    """
    import jax

    if not jax.config.jax_enable_x64:
        raise RuntimeError("run_batched: needs jax's 64-bit mode (set JAX_ENABLE_X64=1 before importing jax)")
    x0, seeds = _check_run(x0, seeds, budget, epoch_length)
    if (epsilon is None) != (delta is None):
        raise ValueError("epsilon and delta: give both (a target) or neither")
    if isinstance(chunk_steps, bool) or not isinstance(chunk_steps, int) or chunk_steps < 1:
        raise ValueError(f"chunk_steps: expected an integer >= 1, got {chunk_steps!r}")
    rule = resolve_scaling(scaling)
    S, d, T = len(seeds), x0.shape[0], int(epoch_length)
    K = int(budget) // T
    C = max(1, min(K, -(-chunk_steps // T)))
    keys = [seed_key(s) for s in seeds]
    drawn = rule.name in ("uniform", "exponential")  # s_n drawn on the device from (seed key, n); else replayed
    chunk = _compiled_chunk(grad_fn, learner, rule, bool(restart), T, noise is not None,
                            grad_fn if oracle_key is None else oracle_key)
    key_words = np.array(keys, dtype=np.uint32)
    state = jax.vmap(lambda _: _core.init(learner, jax.numpy.asarray(x0)))(np.arange(S))
    out = {name: np.full((S, K), np.nan) for name in ("certificate", "exact_certificate", "radius", "radius_bound")}
    mean = np.full((S, K, d), np.nan)
    epochs = np.zeros(S, dtype=np.int64)
    stopped = np.zeros(S, dtype=bool)
    done = 0
    while done < K and not stopped.all():
        n = min(C, K - done)
        if drawn:  # the step counters n of the chunk, shared by the seeds
            s = np.arange(done * T, (done + C) * T, dtype=np.uint32).reshape(C, T)
        else:
            s = np.stack([rule.sample(k, done * T, C * T) for k in keys], axis=-1).reshape(C, T, S)
        args = [state, s, key_words, jax.numpy.asarray(x0)]
        if noise is not None:
            # drawn only for the epochs kept, in order; the padding of a last, short chunk is zeros
            xi = np.zeros((C * T, S, d))
            for i in range(S):
                if not stopped[i]:
                    xi[:n * T, i] = noise(i, done * T, n * T)
            args.append(xi.reshape(C, T, S, d))
        state, stats = chunk(*args)
        m, own, exact, rad, path = (np.asarray(a)[:, :n] for a in stats)
        for i in np.flatnonzero(~stopped):
            keep = n
            if epsilon is not None:
                hit = np.flatnonzero((exact[i] <= epsilon) & (rad[i] <= delta))
                if hit.size:
                    keep, stopped[i] = int(hit[0]) + 1, True
            sl = slice(done, done + keep)
            mean[i, sl], out["certificate"][i, sl], out["exact_certificate"][i, sl] = m[i, :keep], own[i, :keep], \
                exact[i, :keep]
            out["radius"][i, sl], out["radius_bound"][i, sl] = rad[i, :keep], path[i, :keep]
            epochs[i] = done + keep
        done += n
    return CompiledRun(mean=mean, epochs=epochs, stopped=stopped, calls=T * np.arange(1, K + 1, dtype=np.int64),
                       epoch_length=T, **out)


_CACHE: dict = {}


def _compiled_chunk(grad_fn, learner, rule: Scaling, restart: bool, T: int, noisy: bool, oracle_key):
    """One jitted chunk of epochs for this (oracle, learner, scaling, T); cached.

    Its inputs: the seeds' states (leading axis S), (C, T) step counters n (drawn scalings: s_n =
    ``rule.traced(key, n)``, the counter-based draw of :mod:`o2nc.conversion.draw`) or (C, T, S) s-values (replayed
    or constant scalings), the seeds' two key words (S, 2), x0 (shared) and, with noise, (C, T, S, d) noise.  The
    chunk scans over its C epochs; an epoch scans over its T steps, each step the core's ``propose`` / oracle /
    ``observe`` ``vmap``-ed over the seeds, and writes the seeds' points w_n into one (T, S, d) buffer carried from
    epoch to epoch (allocated once per chunk: each epoch overwrites all of it).  The exact radius is the plain
    one-pass form when every seed's sum of squares is exact, else (``jax.lax.cond``) the scaled form
    (:func:`o2nc.conversion.epoch.exact_radius`)."""
    drawn = rule.name in ("uniform", "exponential")
    full_step = rule.full_step
    key = (oracle_key, learner, rule.name, restart, T, noisy, UNROLL, tuple(sorted(COMPILER_OPTIONS.items())))
    try:
        return _CACHE[key]
    except (KeyError, TypeError):
        pass
    import jax
    import jax.numpy as jnp

    from online_learners.tree import plain_is_exact, tree_norm

    def seed_step(state, s, xi):
        """One seed's step n: the core's proposal, the oracle at w_n, the core's update."""
        proposal = _core.propose(learner, full_step, state, s)
        g_exact = grad_fn(proposal.w)
        g = g_exact + xi if noisy else g_exact
        return _core.observe(learner, state, proposal, g), proposal.w, g_exact

    seeds_step = jax.vmap(seed_step, in_axes=(0, 0, 0 if noisy else None))

    def block(carry, inputs):
        """``len(s)`` consecutive steps of every seed (one iteration of the compiled loop), each step's points
        written into the buffer at its row t."""
        state, g_sum, points, t = carry
        s, xi = inputs
        for j in range(s.shape[0]):
            state, w, g_exact = seeds_step(state, s[j], None if xi is None else xi[j])
            if noisy:
                g_sum = g_sum + g_exact
            points = jax.lax.dynamic_update_index_in_dim(points, w, t + j, 0)
        return (state, g_sum, points, t + s.shape[0]), None

    U = min(UNROLL, T)
    full, rest = T // U * U, T % U

    def epoch(carry, inputs):
        state, points, words, x0 = carry
        s_k, xi_k = inputs
        if drawn:  # the epoch's T draws of every seed at once: the same elementwise hash, (T, S)
            s_k = rule.traced((words[:, 0], words[:, 1]), s_k[:, None], jnp.float64)
        g_sum = jnp.zeros(points.shape[1:], points.dtype) if noisy else None
        # the T steps: T // U iterations of U steps, then the T % U left (one more block, not a loop)
        blocks = (s_k[:full].reshape((full // U, U) + s_k.shape[1:]),
                  None if xi_k is None else xi_k[:full].reshape((full // U, U) + xi_k.shape[1:]))
        carry = (state, g_sum, points, 0)
        carry, _ = jax.lax.scan(block, carry, blocks)
        if rest:
            carry, _ = block(carry, (s_k[full:], None if xi_k is None else xi_k[full:]))
        state, g_sum, points, _ = carry
        closed, state = jax.vmap(lambda st: _core.end_epoch(st, T))(state)
        # w̄_k = (1/T) Σ_t w_t (epoch.close) summed over the kept points, in XLA's order of the reduction (within a
        # few roundings of the core's running sum): that Σw is then unused, and XLA drops it from the loop (one
        # fusion and T reads and writes of an (S, d) array less an epoch)
        closed = closed._replace(mean=jnp.sum(points, axis=0) / T)
        exact = jax.vmap(tree_norm)(g_sum / T) if noisy else closed.certificate
        if restart:
            state = jax.vmap(lambda st: _core.restart(learner, st, x0))(state)
        squares = _epoch.plain_radius_squared(points, closed.mean, batch=1)
        radius = jax.lax.cond(jnp.all(plain_is_exact(squares)), lambda: jnp.sqrt(squares),
                              lambda: jax.vmap(_epoch.exact_radius, in_axes=(1, 0))(points, closed.mean))
        return (state, points, words, x0), (closed.mean, closed.certificate, exact, radius, closed.radius_bound)

    def chunk(state, s, words, x0, xi=None):
        S = words.shape[0]
        points = jnp.zeros((T, S) + x0.shape, x0.dtype)
        (state, _, _, _), stats = jax.lax.scan(epoch, (state, points, words, x0), (s, xi))
        return state, tuple(jnp.swapaxes(a, 0, 1) for a in stats)  # (S, C, ...)

    fn = _jit(chunk)
    try:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = fn
    except TypeError:  # an unhashable oracle or learner: not cached
        pass
    return fn


def _jit(fn):
    """``jax.jit(fn)`` with :data:`COMPILER_OPTIONS` where the default backend is the CPU; the plain ``jax.jit(fn)``
    from the first call on which XLA refuses an option (an older or newer jaxlib)."""
    import jax

    plain = jax.jit(fn)
    if jax.default_backend() != "cpu" or not COMPILER_OPTIONS:
        return plain
    tuned = jax.jit(fn, compiler_options=dict(COMPILER_OPTIONS))
    use = [tuned]

    def call(*args):
        if use[0] is tuned:
            try:
                return tuned(*args)
            except Exception as exc:  # jax's runtime error type moved between versions
                # an unknown option ("No such compile option: 'name'") or a value it no longer takes ("While
                # setting option name, ...") names the option; any other error is the run's own
                if not any(name in str(exc) for name in COMPILER_OPTIONS):
                    raise
                use[0] = plain
        return plain(*args)

    call.lower = lambda *args: use[0].lower(*args)  # the HLO of what runs (kernel counts)
    return call


# --------------------------------------------------------------------------------------------------------------
# an o2nc.methods O2NC configuration, compiled: the same Run as O2NCMethod.run
# --------------------------------------------------------------------------------------------------------------


def compilable(method, objective, oracle: str = "auto") -> str | None:
    """None when :func:`run_method` runs ``method`` on ``objective``, else the reason it cannot (a sentence)."""
    from o2nc.methods.oracles import uses_stochastic

    if getattr(method, "family", None) != "o2nc":
        return "only O2NC methods are compiled (a baseline runs its own loop)"
    if method.hint is not None or method.evaluate or method.output != "best":
        return "hints, value evaluation and outputs other than 'best' run in o2nc.minimize only"
    if uses_stochastic(method.name, objective, oracle):
        extra = getattr(objective, "extra", None) or {}
        if extra.get("noise_model") != NOISE_MODEL or method.certificate != "auto":
            return (f"a stochastic oracle is compiled only for objectives with extra['noise_model'] = {NOISE_MODEL!r} "
                    "and certificate='auto'")
    return None


def run_method(method, objective, *, budget: int, delta: float, seed: int = 0, oracle: str = "auto"):
    """:meth:`o2nc.methods.O2NCMethod.run` through :func:`run_batched` (one seed): the same tuning, the same
    s-sequence and noise stream, the same :class:`o2nc.methods.Run` (its trace, certificate and info), compiled.

    Raises ValueError when :func:`compilable` names a reason.
    """
    import jax.numpy as jnp

    from o2nc.certificate import Certificate
    from o2nc.methods.o2nc_method import best_epoch
    from o2nc.methods.result import Run

    reason = compilable(method, objective, oracle)
    if reason is not None:
        raise ValueError(f"{method.name}: cannot compile this run: {reason}")
    plan = method.plan(objective, budget=budget, delta=delta, oracle=oracle)  # the method's own tuning
    stochastic, start, learner, T = plan.stochastic, plan.start, plan.learner, plan.epoch_length
    size = int(start.size)
    budget, delta = int(budget), float(delta)
    info = {**plan.info, "engine": "compiled"}
    if budget < T:
        info["reason"] = f"budget {budget} < epoch length {T}"
        empty = {"calls": np.zeros(0, dtype=np.int64), "value": np.zeros(0), "certificate": np.zeros(0),
                 "radius": np.zeros(0), "radius_bound": np.zeros(0), "mean": np.zeros((0, size))}
        return Run(method=method.name, point=start, certificate=None, delta=delta, grad_calls=0, value_calls=0,
                   trace=empty, stopped="budget", certificate_source="none", info=info)
    noise = None
    if stochastic:  # the generator O2NCMethod.run gives the oracle: the second stream of SeedSequence(seed)
        _, oracle_seq, _ = np.random.SeedSequence(seed).spawn(3)
        sigma = math.sqrt(float(objective.extra["noise_variance"]))
        noise = numpy_gaussian_noise([np.random.default_rng(oracle_seq)], size, sigma,
                                     int(getattr(objective, "default_batch", 1)))

    def grad_fn(w):
        return jnp.asarray(objective.grad(w), dtype=jnp.float64)

    target = {} if method.epsilon is None else {"epsilon": float(method.epsilon), "delta": delta}
    # objectives of the bank built with equal parameters have equal oracles: the seeds of one configuration share
    # one compilation
    params = getattr(objective, "params", None)
    try:
        oracle_key = ("objective", objective.name, _canonical(params)) if isinstance(params, dict) else None
    except TypeError:
        oracle_key = None
    out = run_batched(grad_fn, start, seeds=[seed], learner=learner, epoch_length=T, budget=budget,
                      scaling=method.scaling, restart=method.restart, noise=noise, oracle_key=oracle_key, **target)
    K = int(out.epochs[0])
    means, radii = out.mean[0, :K], out.radius[0, :K]
    own, exact = out.certificate[0, :K], out.exact_certificate[0, :K]
    trace = {"calls": out.calls[:K], "value": np.full(K, np.nan), "certificate": exact if stochastic else own,
             "radius": radii, "radius_bound": out.radius_bound[0, :K], "mean": means}
    if stochastic:
        trace["certificate_estimate"] = own
    k = best_epoch(trace["certificate"], radii, delta)
    proof = not stochastic or method.certificate == "auto"
    certificate = Certificate(point=means[k], delta=float(radii[k]), epsilon=float(trace["certificate"][k]),
                              kind="exact-gradient epoch" if proof else "stochastic estimate", radius_kind="exact",
                              calls=int(out.calls[k]), estimate=None if proof else "epoch mean")
    info.update(epochs=K, selected_epoch=k)
    calls = int(out.calls[K - 1])
    return Run(method=method.name, point=means[k], certificate=certificate, delta=delta, grad_calls=calls,
               value_calls=0, trace=trace, stopped="target" if bool(out.stopped[0]) else "budget",
               certificate_source="exact-recomputed" if stochastic else "algorithm-exact",
               certificate_calls=calls if stochastic else 0, info=info)


def _canonical(params: dict) -> str:
    """Plain parameters (numbers, strings, booleans, None) as sorted JSON; TypeError for anything else."""
    import json

    for v in params.values():
        if not (v is None or isinstance(v, (bool, int, float, str))):
            raise TypeError(f"not a plain parameter: {v!r}")
    return json.dumps(params, sort_keys=True)


# --------------------------------------------------------------------------------------------------------------
# O2NC + restarted projected OGD with fixed (D, η): the runner of the batched benchmark and its tests
# --------------------------------------------------------------------------------------------------------------


def o2nc_ogd_jax(grad_fn: Callable, x0, *, seeds: Sequence[int], budget: int, epoch_length: int, radius: float,
                 lr: float, s: np.ndarray | None = None) -> BatchedEpochs:
    """O2NC + restarted ``OGD(lr, radius)`` for all ``seeds``, K = ⌊N/T⌋ epochs: :func:`run_batched`.

    ``s``: optional (S, K·T) s-values replayed instead of the seeds' draws (seed i replays row i)."""
    from online_learners import OGD

    learner = OGD(lr=lr, radius=radius)
    if s is None:
        run = run_batched(grad_fn, x0, seeds=seeds, learner=learner, epoch_length=epoch_length, budget=budget)
        return BatchedEpochs(run.mean, run.certificate, run.radius, int(run.calls[-1]))
    s = np.asarray(s, dtype=np.float64).reshape(len(seeds), -1)
    runs = [run_batched(grad_fn, x0, seeds=[seed], learner=learner, epoch_length=epoch_length, budget=budget,
                        scaling=row) for seed, row in zip(seeds, s)]
    return BatchedEpochs(np.concatenate([r.mean for r in runs]), np.concatenate([r.certificate for r in runs]),
                         np.concatenate([r.radius for r in runs]), int(runs[0].calls[-1]))


def o2nc_ogd_numpy(grad_batch: Callable[[np.ndarray], np.ndarray], x0, *, seeds: Sequence[int], budget: int,
                   epoch_length: int, radius: float, lr: float, s: np.ndarray | None = None) -> BatchedEpochs:
    """The same runs without jax: :func:`o2nc.minimize` once per seed (the core's eager loop), with the oracle
    ``grad_batch`` ((m, d) points -> (m, d) gradients) called on one point at a time."""
    from o2nc.minimize import minimize
    from online_learners import OGD

    x0, seeds = _check_run(x0, seeds, budget, epoch_length)
    if not (radius > 0 and lr > 0):
        raise ValueError(f"radius and lr: expected > 0, got radius={radius}, lr={lr}")
    K = budget // epoch_length
    rows = [None] * len(seeds) if s is None else list(np.asarray(s, dtype=np.float64).reshape(len(seeds), -1))
    means, certs, radii = [], [], []
    for seed, row in zip(seeds, rows):
        res = minimize(lambda w: grad_batch(w[None])[0], x0, learner=OGD(lr=lr, radius=radius),
                       budget=K * epoch_length, epoch_length=epoch_length, seed=seed,
                       scaling="uniform" if row is None else Scaling("replay", row), radius_kind="exact")
        means.append(np.asarray(res.epochs.mean))
        certs.append(np.asarray(res.epochs.certificate))
        radii.append(np.asarray(res.epochs.radius))
    return BatchedEpochs(np.stack(means), np.stack(certs), np.stack(radii), K * epoch_length)
