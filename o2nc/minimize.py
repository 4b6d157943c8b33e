"""``o2nc.minimize``: run the online-to-non-convex conversion on a (stochastic) subgradient oracle.

Algorithm 1 of Cutkosky, Mehta, Orabona, *Optimal Stochastic Non-smooth Non-convex Optimization through
Online-to-Non-convex Conversion*, ICML 2023 (arXiv 2302.03775), [CMO23] below; notation of o2nc.md §3:

    for n = 1 … N:   Δ_n = learner.predict(),   (x_n, w_n) from the scaling with s_n,
                     g_n = ∂f(w_n; ξ_n),         learner.update(g_n)

With ``restart=True`` the learner is re-initialised at the start of every epoch of T = ``epoch_length`` steps, so its
static regret bounds the K-shifting regret ([CMO23] §3; o2nc.md §5). For each epoch k the driver records the mean point
w̄_k, the mean gradient ĝ_k, the certificate ‖ĝ_k‖ and the radius r_k = max_t ‖w_t^k − w̄_k‖; with exact gradients
‖ĝ_k‖ certifies Goldstein (r_k, ‖ĝ_k‖)-stationarity of w̄_k (o2nc.md §8).
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Callable, NamedTuple, Optional

import array_api_compat
import numpy as np

from o2nc.scaling import resolve_scaling

__all__ = ["minimize", "Result", "Epochs", "History", "NonFiniteGradientError", "OUTPUTS"]

OUTPUTS = ("best", "random", "last")
HINTS = (None, "last_gradient", "extrapolated", "fixed_point")


class Epochs(NamedTuple):
    """Per-epoch statistics, arrays of the run's backend with K rows."""

    mean: Any  # (K, *shape): w̄_k
    grad_mean: Any  # (K, *shape): ĝ_k
    certificate: Any  # (K,): ‖ĝ_k‖
    radius: Any  # (K,): max_t ‖w_t^k − w̄_k‖
    value: Any  # (K,): F(w̄_k) when a value oracle was given, else None


class History(NamedTuple):
    """Every step in Algorithm 1's notation: row n−1 holds step n's x_n, w_n, Δ_n, s_n, g_n (n = 1..N)."""

    x: Any
    w: Any
    delta: Any
    s: Any
    grad: Any


class Result(NamedTuple):
    point: Any  # the selected epoch's mean point w̄_k
    selected_epoch: int
    epochs: Epochs
    grad_calls: int  # oracle calls made by the algorithm (value calls for epochs.value are not counted)
    history: Optional[History]
    final_anchor: Any  # x_N


class NonFiniteGradientError(FloatingPointError):
    """A gradient with NaN or inf entries; ``result`` holds the epochs completed before it (or None)."""

    def __init__(self, step: int, result: Optional[Result]):
        super().__init__(
            f"the gradient at step {step} is not finite; the {0 if result is None else len(result.epochs.certificate)} "
            "completed epochs are kept in this error's `result`"
        )
        self.step = step
        self.result = result


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
    return int(value)


def _takes_rng(grad: Callable) -> bool:
    """Whether the oracle accepts a second positional argument (the run's numpy Generator)."""
    try:
        params = list(inspect.signature(grad).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return True
    return len(positional) >= 2 and positional[1].default is inspect.Parameter.empty


def _check_grad(g, x0, xp, step: int) -> None:
    if not array_api_compat.is_array_api_obj(g) or array_api_compat.array_namespace(g) is not xp:
        raise TypeError(
            f"`grad` returned a {type(g).__name__} at step {step}, but x0 is a {type(x0).__name__}: "
            "the oracle must return an array of x0's backend"
        )
    if tuple(g.shape) != tuple(x0.shape):
        raise ValueError(f"`grad` returned shape {tuple(g.shape)} at step {step}; x0 has shape {tuple(x0.shape)}")


def minimize(
    grad: Callable,
    x0,
    *,
    learner,
    budget: int,
    epoch_length: int,
    scaling="uniform",
    seed: int = 0,
    restart: bool = True,
    value: Optional[Callable] = None,
    record: bool = False,
    output: str = "best",
    progress: bool = False,
    callback: Optional[Callable] = None,
    hint: Optional[str] = None,
    inner_steps: int = 20,
    inner_tol: float = 1e-10,
) -> Result:
    r"""Run O2NC for ⌊budget/epoch_length⌋ full epochs and return the epoch means with their certificates.

    Args:
        grad: the oracle, x ↦ a (sub)gradient at x, or (x, rng) ↦ a stochastic gradient, where ``rng`` is a
            ``numpy.random.Generator`` owned by the run (seeded from ``seed``).
        x0: the starting point, a numpy, torch or jax array; the run stays on that backend, dtype and device.
        learner: an online learner (``online_learners``), playing the increments Δ_n.
        budget: gradient calls N; the run makes K = ⌊N/T⌋ epochs of T calls (a partial last epoch is not run).
        epoch_length: T, the steps per epoch (certificate window and restart period).
        scaling: ``"uniform"`` (Algorithm 1), ``"exponential"``, ``"none"``, or a 1-D array of s values replayed in
            order (see :mod:`o2nc.scaling`).
        seed: seeds the scaling, the oracle's RNG and the ``"random"`` output choice (independent streams).
        restart: re-initialise the learner at the start of every epoch.
        value: optional x ↦ F(x); evaluated at each epoch mean into ``epochs.value`` (not counted in grad_calls).
        record: keep the full history (N rows of x, w, Δ, s, g).
        output: ``"best"`` (smallest certificate; o2nc.md §7), ``"random"`` (uniform epoch, as in Theorem 8) or
            ``"last"``.
        progress: show a progress bar over steps.
        callback: called as ``callback(k, epoch_stats)`` after each epoch, with a dict of that epoch's mean,
            certificate, radius and the gradient calls so far (e.g. for live printing); returning True stops the run
            after that epoch (e.g. once a target ε is certified).
        hint: the hint handed to ``learner.predict`` (optimistic learners use it; others ignore it):
            ``None``; ``"last_gradient"`` (h_n = g_{n−1}, free); ``"extrapolated"`` (h_n = ∇F(x_{n−1} + ½Δ_{n−1}),
            one extra call; Patitucci, Jiang, Mokhtari, arXiv 2510.03167); or ``"fixed_point"``, the deterministic
            second-order-smooth variant of [CMO23] (o2nc.md §9): starting from h = g_{n−1}, iterate
            h ← ∇F(x_{n−1} + ½·predict(state, h)) until ‖Δh‖ ≤ ``inner_tol``·max(1, ‖h‖) or ``inner_steps``
            calls; use it with ``scaling="midpoint"``. Every inner call counts in ``grad_calls`` and in the
            budget; with extra calls the run makes as many full epochs as the budget allows.
        inner_steps: the most inner calls per step of the fixed-point hint.
        inner_tol: the relative stopping tolerance of the fixed-point iteration.

    Returns:
        A :class:`Result`.

    Raises:
        NonFiniteGradientError: a gradient had NaN/inf entries; the error names the step and carries the completed
            epochs.

    Example:
        >>> import numpy as np, o2nc
        >>> from online_learners import OGD
        >>> res = o2nc.minimize(np.sign, np.array([1.0, -2.0]), learner=OGD(lr=0.1, radius=0.5),
        ...                     budget=400, epoch_length=20)
        >>> bool(res.epochs.certificate.min() < 1.0), res.grad_calls
        (True, 400)
    """
    budget = _check_count("budget", budget)
    epoch_length = _check_count("epoch_length", epoch_length)
    if budget < epoch_length:
        raise ValueError(f"`budget` ({budget}) must be at least `epoch_length` ({epoch_length})")
    if output not in OUTPUTS:
        raise ValueError(f"`output` must be one of {OUTPUTS}, got {output!r}")
    if not callable(grad):
        raise TypeError(f"`grad` must be callable, got {type(grad).__name__}")
    if not array_api_compat.is_array_api_obj(x0):
        raise TypeError(f"`x0` must be a numpy, torch or jax array, got {type(x0).__name__}")
    xp = array_api_compat.array_namespace(x0)
    if not xp.isdtype(x0.dtype, "real floating"):
        raise TypeError(f"`x0` must have a real floating dtype, got {x0.dtype}")
    if not bool(xp.all(xp.isfinite(x0))):
        raise ValueError("`x0` must be finite (it has NaN or inf entries)")
    for method in ("init", "predict", "update"):
        if not callable(getattr(learner, method, None)):
            raise TypeError(f"`learner` must have init/predict/update methods; {type(learner).__name__} lacks {method}")
    if hint not in HINTS:
        raise ValueError(f"`hint` must be one of {HINTS}, got {hint!r}")
    inner_steps = _check_count("inner_steps", inner_steps)
    if not isinstance(inner_tol, (int, float)) or not inner_tol >= 0:
        raise ValueError(f"`inner_tol` must be a number ≥ 0, got {inner_tol!r}")
    rule = resolve_scaling(scaling)
    epochs = budget // epoch_length
    if rule.values is not None and rule.values.shape[0] < epochs * epoch_length:
        raise ValueError(
            f"`scaling` replays {rule.values.shape[0]} s values but the run needs {epochs * epoch_length}"
        )

    scaling_rng, oracle_rng, output_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    oracle = (lambda w: grad(w, oracle_rng)) if _takes_rng(grad) else grad

    anchor = x0
    learner_state = learner.init(x0)
    means, grad_means, certificates, radii, values = [], [], [], [], []
    history = {k: [] for k in History._fields} if record else None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs * epoch_length, unit="grad", desc="O2NC")

    def partial_result():
        if not means:
            return None
        return _assemble(xp, means, grad_means, certificates, radii, values, value, output, output_rng,
                         calls, history, anchor)

    step = 0
    calls = 0
    last_grad = None
    last_delta = None

    def query(point):
        nonlocal calls
        calls += 1
        g = oracle(point)
        if calls == 1:
            _check_grad(g, x0, xp, step)
        if not bool(xp.all(xp.isfinite(g))):
            raise NonFiniteGradientError(step, partial_result())
        return g

    def play(state):
        """(Δ_n, h_n), after computing the hint h_n (which may query the oracle)."""
        if hint is None:
            return learner.predict(state), None
        if hint == "last_gradient":
            h = last_grad
        elif hint == "extrapolated":
            h = query(anchor if last_delta is None else anchor + 0.5 * last_delta)
        else:
            h = last_grad if last_grad is not None else query(anchor)
            for _ in range(inner_steps):
                h_new = query(anchor + 0.5 * learner.predict(state, h))
                change = float(xp.linalg.vector_norm(h_new - h))
                h = h_new
                if change <= inner_tol * max(1.0, float(xp.linalg.vector_norm(h))) or calls >= budget - 1:
                    break
        return learner.predict(state, h), h

    # Learners whose update needs the round's hint again (single-projection optimistic forms) take it as `hint=`.
    update_takes_hint = hint is not None and "hint" in inspect.signature(learner.update).parameters

    def affordable() -> bool:
        """Whether the budget still covers the cheapest possible step of this hint mode."""
        cheapest = {None: 1, "last_gradient": 1, "extrapolated": 2}.get(hint, 2 + (last_grad is None))
        return budget - calls >= cheapest

    for k in range(epochs):
        if not affordable():
            break
        if restart and k > 0:
            learner_state = learner.init(x0)
        s_values = rule.sample(scaling_rng, step, epoch_length)
        points = []
        grad_sum = None
        for t in range(epoch_length):
            if t > 0 and hint is not None and not affordable():
                break
            step += 1
            delta, h = play(learner_state)
            s = float(s_values[t])
            x_next, w = rule.points(anchor, delta, s)
            g = query(w)
            last_grad, last_delta = g, delta
            if update_takes_hint:
                learner_state = learner.update(learner_state, g, hint=h)
            else:
                learner_state = learner.update(learner_state, g)
            points.append(w)
            grad_sum = g if grad_sum is None else grad_sum + g
            if record:
                for name, item in zip(History._fields, (x_next, w, delta, s, g)):
                    history[name].append(item)
            anchor = x_next
        if len(points) < epoch_length:
            break  # the budget ran out inside this epoch: it is not certified
        stacked = xp.stack(points)
        mean = xp.mean(stacked, axis=0)
        grad_mean = grad_sum / epoch_length
        certificate = xp.linalg.vector_norm(grad_mean)
        radius = xp.max(xp.linalg.vector_norm(xp.reshape(stacked - mean, (epoch_length, -1)), axis=1))
        means.append(mean)
        grad_means.append(grad_mean)
        certificates.append(certificate)
        radii.append(radius)
        if value is not None:
            values.append(xp.asarray(value(mean), dtype=x0.dtype, device=array_api_compat.device(x0)))
        if bar is not None:
            bar.update(epoch_length)
            bar.set_postfix(certificate=f"{float(certificate):.3g}", radius=f"{float(radius):.3g}")
        if callback is not None and callback(k, {"mean": mean, "certificate": certificate, "radius": radius,
                                                 "grad_calls": calls}):
            break
    if bar is not None:
        bar.close()
    if not means:
        raise ValueError(f"`budget` ({budget}) ran out before the first epoch ended; raise it or shorten epochs")
    return _assemble(xp, means, grad_means, certificates, radii, values, value, output, output_rng, calls, history,
                     anchor)


def _assemble(xp, means, grad_means, certificates, radii, values, value, output, output_rng, grad_calls, history,
              anchor) -> Result:
    certificate = xp.stack(certificates)
    epochs = Epochs(
        mean=xp.stack(means),
        grad_mean=xp.stack(grad_means),
        certificate=certificate,
        radius=xp.stack(radii),
        value=xp.stack(values) if value is not None and values else None,
    )
    count = len(means)
    if output == "best":
        selected = int(np.argmin(np.asarray([float(c) for c in certificates])))
    elif output == "random":
        selected = int(output_rng.integers(count))
    else:
        selected = count - 1
    hist = None
    if history is not None:
        s_dtype = means[0].dtype
        hist = History(
            x=xp.stack(history["x"]),
            w=xp.stack(history["w"]),
            delta=xp.stack(history["delta"]),
            s=xp.asarray(history["s"], dtype=s_dtype, device=array_api_compat.device(means[0])),
            grad=xp.stack(history["grad"]),
        )
    return Result(point=means[selected], selected_epoch=selected, epochs=epochs, grad_calls=grad_calls,
                  history=hist, final_anchor=anchor)
