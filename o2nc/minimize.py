"""``o2nc.minimize``: run the online-to-non-convex conversion on a (stochastic) subgradient oracle.

Algorithm 1 of Cutkosky, Mehta, Orabona, *Optimal Stochastic Non-smooth Non-convex Optimization through
Online-to-Non-convex Conversion*, ICML 2023 (arXiv 2302.03775), [CMO23] below; notation of [CMO23] Algorithm 1:

    for n = 1 … N:   Δ_n = learner.predict(),   (x_n, w_n) from the scaling with s_n,
                     g_n = ∂f(w_n; ξ_n),         learner.update(g_n)

With ``restart=True`` the learner is re-initialised at the start of every epoch of T = ``epoch_length`` steps, so its
static regret bounds the K-shifting regret ([CMO23] §3). For each epoch k the driver records the mean point
w̄_k, the mean gradient ĝ_k, the certificate ‖ĝ_k‖ and a radius: the path bound L_k = Σ_t ‖x_t − x_{t−1}‖ by default
(O(d) memory), or with ``radius_kind="exact"`` r_k = max_t ‖w_t^k − w̄_k‖ ≤ L_k (the epoch's T points kept); with exact
gradients ‖ĝ_k‖ certifies Goldstein (r_k, ‖ĝ_k‖)-stationarity of w̄_k, hence (L_k, ‖ĝ_k‖) ([CMO23] §3, Definition 5),
which the :class:`o2nc.Certificate` of the selected epoch states (``Result.certificate``).

With ``online_learners.OGD`` on a numpy array the steps run in place (:mod:`o2nc.conversion.fused`, the core's
arithmetic without per-step allocations of state), the configuration of [CMO23] Theorem 8.

The step, the scaling rule, the s-draw and the epoch statistics are the conversion core's (:mod:`o2nc.conversion`):
this driver adds the oracle, hints, checks, recording and the output choice. Norms of the epoch statistics are scaled,
‖v‖ = a·‖v/a‖ with a = max_i |v_i| (the overflow-free 2-norm of LAPACK's ``xNRM2``; Blue, ACM TOMS 4(1), 1978), so a
float32 run gives the same certificates at every gradient scale that float32 represents.

**The s-sequence of a seed.** s_n is the counter-based draw of :mod:`o2nc.conversion.draw`, a function of ``seed``
and n that ``o2nc.torch.O2NC(seed=...)`` and ``o2nc.jax.o2nc(seed=...)`` compute identically, so one seed gives one
run in every shell. (Before, the s-sequence came from the first of three ``numpy.random.SeedSequence(seed)`` streams:
a given seed now draws a different s-sequence than it did then. The oracle's RNG and the ``"random"`` output choice
still come from the second and third of those streams, unchanged.)
"""
from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import array_api_compat
import numpy as np

from o2nc.certificate import Certificate
from o2nc.conversion import draw as _draw
from o2nc.conversion import epoch as _epoch
from o2nc.conversion import fused as _fused
from o2nc.conversion import step as _core
from o2nc.conversion.scaling import coefficients, resolve_scaling
from online_learners.base import reads_hint
from online_learners.tree import tree_norm

__all__ = ["minimize", "Result", "Epochs", "History", "NonFiniteGradientError", "NonFiniteStepError",
           "NonFiniteEpochError", "GradientShapeError", "UnboundedRadiusWarning", "StalledRunWarning", "learner_radius",
           "OUTPUTS"]

OUTPUTS = ("best", "random", "last")
RADIUS_KINDS = ("bound", "exact")
HINTS = (None, "last_gradient", "extrapolated", "fixed_point")


class Epochs(NamedTuple):
    """Per-epoch statistics: arrays of the run's backend (and dtype) with K rows, one per completed epoch k.

    Attributes:
        mean: (K, *shape), w̄_k, the mean of the epoch's gradient points w_t.
        grad_mean: (K, *shape), ĝ_k, the mean of the epoch's gradients g_t.
        certificate: (K,), ‖ĝ_k‖ (a scaled norm: no underflow or overflow where ‖ĝ_k‖ itself is representable).
        radius: (K,), the radius the certificates carry: with ``radius_kind="exact"`` r_k = max_t ‖w_t − w̄_k‖, the
            exact radius of the epoch's points around w̄_k; with ``"bound"`` (``minimize``'s default) the proven
            bound ``radius_bound`` ≥ r_k, so ``radius ≤ δ`` certifies the δ-ball either way.
        value: (K,), F(w̄_k) when a value oracle was given, else None.
        calls: a tuple of K ints, the gradient calls made up to the end of epoch k (host-side counts).
        radius_bound: (K,), L_k = Σ_t ‖x_t − x_{t−1}‖, the path length of the epoch's anchors: the proven bound
            L_k ≥ r_k that the torch and jax shells report, which keep no points (:mod:`o2nc.conversion.epoch`).
        radius_kind: ``"exact"`` or ``"bound"``: what ``radius`` holds (``minimize``'s ``radius_kind``).
    """

    mean: Any
    grad_mean: Any
    certificate: Any
    radius: Any
    value: Any
    calls: tuple
    radius_bound: Any = None
    radius_kind: str = "exact"


class History(NamedTuple):
    """Every step in Algorithm 1's notation: row n−1 holds step n's x_n, w_n, Δ_n, s_n, g_n (n = 1..N)."""

    x: Any
    w: Any
    delta: Any
    s: Any
    grad: Any


class Result(NamedTuple):
    """What :func:`minimize` returns: the selected epoch's point and certificate, every epoch's statistics, the cost.

    Epoch k (0-based) is the T = ``epoch_length`` steps t = kT+1 … (k+1)T of Algorithm 1 of [CMO23]; its
    statistics are w̄_k (the mean of its gradient points w_t), ĝ_k (the mean of its gradients), the certificate
    ‖ĝ_k‖ and a radius around w̄_k (exact or the path bound, ``minimize``'s ``radius_kind``).

    Attributes:
        point: the output point, w̄_k of the selected epoch k (the same array as ``certificate.point``).
        selected_epoch: k, the 0-based index (into the rows of ``epochs``) of the epoch chosen by ``output``:
            ``"best"`` the smallest certificate ‖ĝ_k‖ (with ``delta``: among the epochs of radius ≤ δ, else the
            epoch of smallest radius), ``"random"`` a uniform epoch (Theorem 8 of [CMO23]), ``"last"`` the last one.
        epochs: :class:`Epochs`, the statistics of every completed epoch (K rows: ``mean``, ``grad_mean``,
            ``certificate``, ``radius``, ``radius_bound``, ``value``, ``calls``, ``radius_kind``).
        grad_calls: the oracle calls made by the whole run (value calls for ``epochs.value`` are not counted).
        history: :class:`History` of every step when ``record=True`` (N rows of x_n, w_n, Δ_n, s_n, g_n), else None.
        final_anchor: x_N, the conversion's anchor after the last step: the point the next step would start from (it
            is not the output point and carries no certificate).
        certificate: the :class:`o2nc.Certificate` of the selected epoch: point w̄_k; ``delta`` = its radius,
            ``epochs.radius[k]``, with ``radius_kind`` ``"bound"`` (the path bound L_k ≥ r_k, the default) or
            ``"exact"`` (r_k, with ``radius_kind="exact"``); ``epsilon`` = ‖ĝ_k‖ (a Python float from the scaled
            norm of ``epochs.certificate``); kind ``"exact-gradient epoch"`` for a deterministic oracle or
            ``"stochastic estimate"`` for a stochastic one; ``calls`` = the gradient calls up to the end of epoch k.
            ``certificate.describe(delta)`` is the sentence to print about it.
        certified: True when ``certificate`` proves (δ, ε)-stationarity of ``point`` at the requested ``delta``
            (``certificate.proves(delta)``); without ``delta``, True when its kind is a proof (exact gradients).
            False means: no certificate at that δ (or only a stochastic estimate).

    Example:
        >>> import numpy as np, o2nc
        >>> from online_learners import OGD
        >>> res = o2nc.minimize(np.sign, np.array([1.0, -2.0]), learner=OGD(lr=0.01, radius=0.005),
        ...                     budget=400, epoch_length=20, delta=0.1)
        >>> res.epochs.mean.shape, res.selected_epoch == int(np.argmin(res.epochs.certificate))
        ((20, 2), True)
        >>> res.certificate.radius_kind, res.certificate.delta == float(res.epochs.radius_bound[res.selected_epoch])
        ('bound', True)
    """

    point: Any
    selected_epoch: int
    epochs: Epochs
    grad_calls: int
    history: History | None
    final_anchor: Any
    certificate: Certificate
    certified: bool


class NonFiniteGradientError(FloatingPointError):
    """A gradient with NaN or inf entries; ``result`` holds the epochs completed before it (or None)."""

    def __init__(self, step: int, result: Result | None):
        super().__init__(
            f"the gradient at step {step} is not finite; the {_count(result)} "
            "completed epochs are kept in this error's `result`"
        )
        self.step = step
        self.result = result


class NonFiniteStepError(FloatingPointError):
    """A learner played an increment Δ_n with NaN or inf entries; ``result`` holds the completed epochs (or None)."""

    def __init__(self, step: int, learner, result: Result | None):
        super().__init__(
            f"the learner {learner!r} played a non-finite step Δ at step {step}; the {_count(result)} completed "
            "epochs are kept in this error's `result`"
        )
        self.step = step
        self.learner = learner
        self.result = result


class NonFiniteEpochError(FloatingPointError):
    """An epoch's statistics (mean point, mean gradient, certificate or radius) are not finite, e.g. a gradient sum
    that overflowed the run's dtype; ``result`` holds the epochs completed before it (or None)."""

    def __init__(self, epoch: int, what: str, result: Result | None):
        super().__init__(
            f"the statistics of epoch {epoch + 1} are not finite ({what}); the sum of its gradients or points "
            f"overflowed the run's dtype; the {_count(result)} earlier epochs are kept in this error's `result`"
        )
        self.epoch = epoch
        self.result = result


class GradientShapeError(ValueError):
    """The oracle returned a gradient whose shape is not x0's (checked at every step); ``result`` holds the epochs
    completed before that step (or None)."""

    def __init__(self, step: int, shape: tuple, expected: tuple, result: Result | None):
        super().__init__(
            f"`grad` returned shape {shape} at step {step}; x0 has shape {expected}; the {_count(result)} "
            "completed epochs are kept in this error's `result`"
        )
        self.step = step
        self.result = result


class UnboundedRadiusWarning(UserWarning):
    """``output="best"`` at a δ with a learner whose steps have no radius bound: no epoch may have r_k ≤ δ."""


class StalledRunWarning(UserWarning):
    """``epoch_length=1`` with restarts and no hint, for a learner whose fresh play is 0: every step plays that 0, so
    the iterate never moves (each epoch certifies x_0 at radius 0)."""


def _count(result: Result | None) -> int:
    return 0 if result is None else len(result.epochs.calls)


def learner_radius(learner, size: int) -> float | None:
    """A bound on every ‖Δ_n‖ that ``learner`` can play on ``size`` coordinates, or None when it has none.

    Read from the ``radius`` attribute, the convention of :mod:`online_learners`: OGD, AdaGradNorm, OptimisticOGD,
    FTRL, DiscountedFTRL and BallConstraint project their plays on the ball ‖Δ‖ ≤ radius, and Restarting and
    Discounted pass their inner learner's radius on (Discounted scales a projected play by β' ≤ 1). Coordinatewise
    projects each coordinate on [−radius, radius], a box whose points have ‖Δ‖ ≤ radius·√size. Learners without a
    ``radius`` (or with ``radius=None``: KT, ONSBettor, COCOB, FreeGrad, ParameterFreeMirrorDescent,
    DirectionMagnitude, unconstrained OGD) have no bound. With ‖Δ_n‖ ≤ D and a full-step scaling (uniform, none,
    midpoint, a replay) every epoch of T steps has r_k ≤ T·D (the anchor moves by at most D a step and each w_n lies
    on its step's segment; [CMO23] Theorem 8 takes D = δ/T for r_k ≤ δ). Under the exponential scaling the anchor
    moves by s_n‖Δ_n‖ with s_n ~ Exp(1), unbounded: r_k ≤ D·Σ_n s_n, T·D only in expectation.

    Example:
        >>> from online_learners import KT, OGD, BallConstraint
        >>> learner_radius(OGD(lr=0.1, radius=0.5), 3), learner_radius(KT(), 3)
        (0.5, None)
        >>> learner_radius(BallConstraint(KT(), radius=0.01), 3)
        0.01
    """
    radius = getattr(learner, "radius", None)
    if radius is None or isinstance(radius, bool) or not isinstance(radius, (int, float, np.floating)):
        return None
    radius = float(radius)
    if not (math.isfinite(radius) and radius > 0):
        return None
    from online_learners import Coordinatewise

    return radius * math.sqrt(size) if isinstance(learner, Coordinatewise) else radius


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


def _check_grad(g, x0, xp, step: int, first: bool, partial):
    """g_n as an array of x0's backend, shape and dtype: the backend (first call) and the shape (every call, so that a
    shape change fails at its step) are checked, a complex gradient refused, another real dtype cast to x0's (a
    float64 gradient on a float32 x0 keeps the run in float32)."""
    if first and (not array_api_compat.is_array_api_obj(g) or array_api_compat.array_namespace(g) is not xp):
        raise TypeError(
            f"`grad` returned a {type(g).__name__} at step {step}, but x0 is a {type(x0).__name__}: "
            "the oracle must return an array of x0's backend"
        )
    if tuple(g.shape) != tuple(x0.shape):
        if first:
            raise ValueError(f"`grad` returned shape {tuple(g.shape)} at step {step}; x0 has shape {tuple(x0.shape)}")
        raise GradientShapeError(step, tuple(g.shape), tuple(x0.shape), partial())
    if g.dtype != x0.dtype:
        if xp.isdtype(g.dtype, "complex floating"):
            raise TypeError(f"`grad` returned a complex gradient ({g.dtype}) at step {step}; O2NC needs real ones")
        g = xp.astype(g, x0.dtype)
    return g


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
    value: Callable | None = None,
    record: bool = False,
    output: str = "best",
    progress: bool = False,
    callback: Callable | None = None,
    hint: str | None = None,
    inner_steps: int = 20,
    inner_tol: float = 1e-10,
    delta: float | None = None,
    stochastic: bool | None = None,
    radius_kind: str = "bound",
    fused: bool | None = None,
) -> Result:
    r"""Run O2NC for ⌊budget/epoch_length⌋ full epochs and return the epoch means with their certificates.

    Args:
        grad: the oracle, x ↦ a (sub)gradient at x, or (x, rng) ↦ a stochastic gradient, where ``rng`` is a
            ``numpy.random.Generator`` owned by the run (seeded from ``seed``).
        x0: the starting point, a numpy, torch or jax array; the run stays on that backend, dtype and device (a
            gradient of another real dtype, e.g. float64 on a float32 x0, is cast to x0's dtype).
        learner: an online learner (``online_learners``), playing the increments Δ_n.
        budget: gradient calls N; the run makes K = ⌊N/T⌋ epochs of T calls (a partial last epoch is not run).
        epoch_length: T, the steps per epoch (certificate window and restart period).
        scaling: ``"uniform"`` (Algorithm 1), ``"exponential"``, ``"none"``, or a 1-D array of s values replayed in
            order (see :mod:`o2nc.scaling`).
        seed: an integer in [0, 2**64) (numpy integers accepted): the s-sequence is the counter-based draw of
            :mod:`o2nc.conversion.draw`, the same as ``o2nc.torch.O2NC(seed=seed)`` and ``o2nc.jax.o2nc(seed=seed)``
            draw (53 bits for a float64 x0, 24 otherwise); the oracle's RNG and the ``"random"`` output choice come
            from ``numpy.random.SeedSequence(seed)`` (independent streams).
        restart: re-initialise the learner at the start of every epoch (a bool).
        value: optional x ↦ F(x); evaluated at each epoch mean into ``epochs.value`` (not counted in grad_calls).
        record: keep the full history (N rows of x, w, Δ, s, g).
        output: ``"best"`` (smallest certificate; derived here: with exact gradients each one is a proof; with
            ``delta``, among the epochs of radius r_k ≤ δ), ``"random"`` (uniform epoch, as in Theorem 8) or
            ``"last"``.
        progress: show a progress bar over steps.
        callback: called as ``callback(k, epoch_stats)`` after each epoch, with a dict of that epoch's mean,
            certificate, radius and the gradient calls so far (e.g. for live printing); returning True stops the run
            after that epoch (e.g. once a target ε is certified).
        hint: the hint handed to ``learner.predict`` (optimistic learners use it; others ignore it):
            ``None``; ``"last_gradient"`` (h_n = g_{n−1}, free); ``"extrapolated"`` (h_n = ∇F(x_{n−1} + ½Δ_{n−1}),
            one extra call; Patitucci, Jiang, Mokhtari, arXiv 2510.03167); or ``"fixed_point"``, the deterministic
            second-order-smooth variant of [CMO23] (as restated by Patitucci, Jiang, Mokhtari): starting from
            h = g_{n−1}, iterate h ← ∇F(x_{n−1} + ½·predict(state, h)) until ‖Δh‖ ≤ ``inner_tol``·max(1, ‖h‖) or
            ``inner_steps`` calls; use it with ``scaling="midpoint"``. Every inner call counts in ``grad_calls`` and in
            the budget; with extra calls the run makes as many full epochs as the budget allows.
        inner_steps: the most inner calls per step of the fixed-point hint.
        inner_tol: the relative stopping tolerance of the fixed-point iteration.
        delta: the requested Goldstein radius δ (finite, > 0), or None. With ``output="best"`` the selected epoch
            is the one of smallest certificate among the epochs with r_k ≤ δ; when no epoch has r_k ≤ δ it is the
            epoch of smallest radius and ``Result.certified`` is False (``result.certificate.describe(delta)`` then
            says there is no certificate at δ). A learner without a radius bound (:func:`learner_radius`) warns
            with :class:`UnboundedRadiusWarning`. For every ``output``, ``Result.certified`` is checked at δ.
        stochastic: whether the oracle's gradients are stochastic, which makes the certificate a
            ``"stochastic estimate"`` rather than an ``"exact-gradient epoch"`` proof; None (default) detects it:
            stochastic iff ``grad`` takes the run's RNG.
        radius_kind: which radius the epochs and the certificate carry. ``"bound"`` (default): the path bound
            L_k = Σ_t ‖x_t − x_{t−1}‖ ≥ r_k (:mod:`o2nc.conversion.epoch`), kept in O(d) memory whatever the epoch
            length (the run holds about ten arrays of x0's size). ``"exact"``: r_k = max_t ‖w_t − w̄_k‖, which keeps
            the epoch's T points, T·d more numbers (8·T·d bytes in float64: 1.6 GB at d = 10^5, T = 2000).
        fused: run Algorithm 1 with OGD in place (:mod:`o2nc.conversion.fused`; the core's arithmetic, a few
            passes over the parameters per step); None (default) whenever it applies: ``online_learners.OGD`` on
            a float32/float64 numpy ``x0`` without ``hint`` or ``record``; False: always the core's step functions;
            True: the fused kernel or a ValueError.

    Returns:
        A :class:`Result`.

    Raises:
        NonFiniteGradientError: a gradient had NaN/inf entries; the error names the step and carries the completed
            epochs.
        NonFiniteStepError: the learner played a Δ with NaN/inf entries; the error names the learner and the step
            and carries the completed epochs.
        NonFiniteEpochError: an epoch's mean point, mean gradient, certificate or radius is not finite (an overflow
            of the run's dtype); it carries the earlier epochs.
        GradientShapeError: after the first step, a gradient whose shape is not x0's (a ValueError); it names the
            step and carries the completed epochs.
        TypeError: a complex gradient, or one of another backend.

    Example:
        >>> import numpy as np, o2nc
        >>> from online_learners import OGD
        >>> res = o2nc.minimize(np.sign, np.array([1.0, -2.0]), learner=OGD(lr=0.1, radius=0.5),
        ...                     budget=400, epoch_length=20)
        >>> bool(res.epochs.certificate.min() < 1.0), res.grad_calls
        (True, 400)
        >>> res = o2nc.minimize(np.sign, np.array([1.0, -2.0]), learner=OGD(lr=0.01, radius=0.005),
        ...                     budget=400, epoch_length=20, delta=0.1)
        >>> res.certified, res.certificate.delta <= 0.1, res.certificate.kind
        (True, True, 'exact-gradient epoch')
    """
    budget = _check_count("budget", budget)
    epoch_length = _check_count("epoch_length", epoch_length)
    if budget < epoch_length:
        raise ValueError(f"`budget` ({budget}) must be at least `epoch_length` ({epoch_length})")
    if output not in OUTPUTS:
        raise ValueError(f"`output` must be one of {OUTPUTS}, got {output!r}")
    seed = _draw.check_seed(seed)
    if not isinstance(restart, (bool, np.bool_)):
        raise TypeError(f"`restart` must be True or False, got {restart!r}")
    if not callable(grad):
        raise TypeError(f"`grad` must be callable, got {type(grad).__name__}")
    if not array_api_compat.is_array_api_obj(x0):
        raise TypeError(f"`x0` must be a numpy, torch or jax array, got {type(x0).__name__}")
    xp = array_api_compat.array_namespace(x0)
    if not xp.isdtype(x0.dtype, "real floating"):
        raise TypeError(f"`x0` must have a real floating dtype, got {x0.dtype}")
    if math.prod(x0.shape) == 0:
        raise ValueError(f"`x0` must have at least one entry, got shape {tuple(x0.shape)}")
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
    if delta is not None:
        if isinstance(delta, bool) or not isinstance(delta, (int, float, np.integer, np.floating)) or not (
            math.isfinite(delta) and delta > 0
        ):
            raise ValueError(f"`delta` must be a finite number > 0 (or None), got {delta!r}")
        delta = float(delta)
    if stochastic is not None and not isinstance(stochastic, (bool, np.bool_)):
        raise TypeError(f"`stochastic` must be True, False or None (detect from `grad`), got {stochastic!r}")
    if radius_kind not in RADIUS_KINDS:
        raise ValueError(f"`radius_kind` must be one of {RADIUS_KINDS}, got {radius_kind!r}")
    if fused is not None and not isinstance(fused, (bool, np.bool_)):
        raise TypeError(f"`fused` must be True, False or None (whenever it applies), got {fused!r}")
    applies = _fused.applies(learner, x0, hint=hint, record=record)
    if fused and not applies:
        raise ValueError("`fused=True` needs online_learners.OGD on a float32/float64 numpy x0, without `hint` and "
                         "`record`")
    use_fused = applies if fused is None else bool(fused)
    size = math.prod(x0.shape)
    if output == "best" and delta is not None and learner_radius(learner, size) is None:
        warnings.warn(UnboundedRadiusWarning(
            f"minimize: the learner {learner!r} has no radius bound, so output='best' at delta={delta:g} may find no "
            f"epoch of radius ≤ δ; constrain its steps, e.g. BallConstraint(learner, radius=δ/T) = "
            f"BallConstraint(..., radius={delta / epoch_length:.4g}) (online_learners; [CMO23] Theorem 8: "
            f"‖Δ‖ ≤ δ/T gives r_k ≤ δ with a full-step scaling)"), stacklevel=2)
    if hint is not None and reads_hint(learner) is False:
        raise ValueError(f"`hint`: {learner!r} ignores hints (its play is the same with or without one), so "
                         f"hint={hint!r} would change nothing but the oracle calls that the 'extrapolated' and "
                         f"'fixed_point' hints spend; hints are read by optimistic learners "
                         f"(online_learners.OptimisticOGD, or a wrapper of one)")
    if restart and epoch_length == 1 and hint is None:
        first = tree_norm(learner.predict(learner.init(x0)))
        if not bool(first > 0):
            warnings.warn(StalledRunWarning(
                f"minimize: epoch_length=1 with restart=True restarts {learner!r} before every step, and its fresh "
                f"play is 0, so the iterate never leaves x0; take epoch_length >= 2 or restart=False"), stacklevel=2)
    rule = resolve_scaling(scaling)
    epochs = budget // epoch_length
    if rule.values is not None and rule.values.shape[0] < epochs * epoch_length:
        raise ValueError(
            f"`scaling` replays {rule.values.shape[0]} s values but the run needs {epochs * epoch_length}"
        )

    key = _draw.seed_key(seed)
    bits = _draw.bits_for(64 if x0.dtype == xp.float64 else 32)
    _, oracle_rng, output_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    takes_rng = _takes_rng(grad)
    oracle = (lambda w: grad(w, oracle_rng)) if takes_rng else grad
    kind = "stochastic estimate" if (takes_rng if stochastic is None else bool(stochastic)) else "exact-gradient epoch"

    kernel = _fused.OGDKernel(learner, x0) if use_fused else None
    state = None if use_fused else _core.init(learner, x0)
    stats, radii, values, epoch_calls = [], [], [], []
    history = {k: [] for k in History._fields} if record else None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs * epoch_length, unit="grad", desc="O2NC")

    def partial_result():
        if not stats:
            return None
        return _assemble(xp, stats, radii, values, epoch_calls, value, output, output_rng, calls, history,
                         kernel.x if use_fused else state.anchor, delta, kind, radius_kind)

    step = 0
    calls = 0
    last_grad = None
    last_delta = None

    def query(point):
        nonlocal calls
        calls += 1
        g = _check_grad(oracle(point), x0, xp, step, calls == 1, partial_result)
        if not bool(xp.all(xp.isfinite(g))):
            raise NonFiniteGradientError(step, partial_result())
        return g

    def play(learner_state, anchor):
        """(Δ_n, h_n), after computing the hint h_n (which may query the oracle)."""
        if hint is None:
            return learner.predict(learner_state), None
        if hint == "last_gradient":
            h = last_grad
        elif hint == "extrapolated":
            h = query(anchor if last_delta is None else anchor + 0.5 * last_delta)
        else:
            h = last_grad if last_grad is not None else query(anchor)
            for _ in range(inner_steps):
                h_new = query(anchor + 0.5 * learner.predict(learner_state, h))
                change = float(xp.linalg.vector_norm(h_new - h))
                h = h_new
                if change <= inner_tol * max(1.0, float(xp.linalg.vector_norm(h))) or calls >= budget - 1:
                    break
        return learner.predict(learner_state, h), h

    # Learners whose update needs the round's hint again (single-projection optimistic forms) take it as `hint=`.
    update_takes_hint = hint is not None and "hint" in inspect.signature(learner.update).parameters

    def affordable() -> bool:
        """Whether the budget still covers the cheapest possible step of this hint mode."""
        cheapest = {None: 1, "last_gradient": 1, "extrapolated": 2}.get(hint, 2 + (last_grad is None))
        return budget - calls >= cheapest

    exact = radius_kind == "exact"
    shape, dtype = x0.shape, x0.dtype
    for k in range(epochs):
        if not affordable():
            break
        if restart and k > 0:
            if use_fused:
                kernel.restart()
            else:
                state = _core.restart(learner, state, x0)
        s_values = _draws(rule, key, step, epoch_length, bits)
        points = [] if exact else None
        done = 0
        if use_fused:
            for s in s_values:
                step += 1
                if not kernel.finite:
                    raise NonFiniteStepError(step, learner, partial_result())
                w_coef, x_coef = coefficients(rule.full_step, s)
                w = kernel.propose(w_coef)
                g = oracle(w)
                calls += 1
                if type(g) is not np.ndarray or g.shape != shape or g.dtype != dtype:
                    g = _check_grad(g, x0, xp, step, calls == 1, partial_result)
                if not kernel.observe(w, g, w_coef, x_coef):
                    raise NonFiniteGradientError(step, partial_result())
                if exact:
                    points.append(w)
            done = epoch_length
        for t, s in zip(range(done, epoch_length), s_values):
            if t > 0 and hint is not None and not affordable():
                break
            step += 1
            increment, h = play(state.learner, state.anchor)
            if not bool(xp.all(xp.isfinite(increment))):
                raise NonFiniteStepError(step, learner, partial_result())
            proposal = _core.propose(learner, rule.full_step, state, s, delta=increment)
            g = query(proposal.w)
            last_grad, last_delta = g, increment
            state = _core.observe(learner, state, proposal, g, **({"hint": h} if update_takes_hint else {}))
            if exact:
                points.append(proposal.w)
            if record:
                for name, item in zip(History._fields, (proposal.x, proposal.w, increment, s, g)):
                    history[name].append(item)
            done += 1
        if done < epoch_length:
            break  # the budget ran out inside this epoch: it is not certified
        if use_fused:
            closed = kernel.close(epoch_length)
        else:
            closed, state = _core.end_epoch(state, epoch_length)
        radius = _epoch.exact_radius_rows(points, closed.mean) if exact else closed.radius_bound
        points = None
        mean, certificate = closed.mean, closed.certificate
        if not bool(xp.isfinite(certificate) & xp.isfinite(radius) & xp.all(xp.isfinite(mean))):
            what = ", ".join(name for name, item in (("mean point", mean), ("mean gradient", closed.grad_mean),
                                                      ("certificate", certificate), ("radius", radius))
                             if not bool(xp.all(xp.isfinite(item))))
            raise NonFiniteEpochError(k, what, partial_result())
        epoch_calls.append(calls)
        stats.append(closed)
        radii.append(radius)
        if value is not None:
            values.append(xp.asarray(value(mean), dtype=x0.dtype, device=array_api_compat.device(x0)))
        if bar is not None:
            bar.update(epoch_length)
            bar.set_postfix(certificate=f"{float(certificate):.3g}", radius=f"{float(radius):.3g}")
        if callback is not None and callback(k, {"mean": mean, "certificate": certificate, "radius": radius,
                                                 "radius_bound": closed.radius_bound, "grad_calls": calls}):
            break
    if bar is not None:
        bar.close()
    if not stats:
        raise ValueError(f"`budget` ({budget}) ran out before the first epoch ended; raise it or shorten epochs")
    anchor = kernel.release() if use_fused else state.anchor
    # the last step's and epoch's arrays are not kept while the result is assembled
    w = g = proposal = last_grad = last_delta = closed = mean = kernel = None
    return _assemble(xp, stats, radii, values, epoch_calls, value, output, output_rng, calls, history, anchor,
                     delta, kind, radius_kind, consume=True)


def _draws(rule, key, start: int, count: int, bits: int, chunk: int = 1024):
    """s_{start+1}, …, s_{start+count} as Python floats, drawn ``chunk`` at a time (the draw's temporaries stay
    O(chunk) whatever the epoch length; the values are those of one ``rule.sample`` call)."""
    for first in range(start, start + count, chunk):
        yield from rule.sample(key, first, min(chunk, start + count - first), bits).tolist()


def _select(output: str, certificates, radii, delta: float | None, output_rng) -> int:
    """The epoch that ``output`` picks; with ``delta``, ``"best"`` looks only at the epochs of radius ≤ δ."""
    count = len(certificates)
    if output == "random":
        return int(output_rng.integers(count))
    if output == "last":
        return count - 1
    eps = np.asarray([float(c) for c in certificates])
    if delta is None:
        return int(np.argmin(eps))
    rad = np.asarray([float(r) for r in radii])
    within = np.flatnonzero(rad <= delta)
    if within.size:
        return int(within[np.argmin(eps[within])])
    return int(np.argmin(rad))  # no epoch has r_k ≤ δ: the closest one, reported as no certificate at δ


def _stack_rows(xp, stats: list, field: str, consume: bool):
    """``xp.stack`` of one field of the epochs' statistics; with ``consume`` (the run is over) each row is dropped from
    ``stats`` once copied where the backend writes in place (numpy, torch), so the peak is the stacked array and
    one row rather than every row twice."""
    rows = [getattr(e, field) for e in stats]
    if not consume or array_api_compat.is_jax_array(rows[0]):
        return xp.stack(rows)
    first = rows[0]
    out = xp.empty((len(rows), *first.shape), dtype=first.dtype, device=array_api_compat.device(first))
    del rows
    for i, e in enumerate(stats):
        out[i, ...] = getattr(e, field)
        stats[i] = e._replace(**{field: None})
    return out


def _assemble(xp, stats, radii, values, epoch_calls, value, output, output_rng, grad_calls, history, anchor, delta,
              kind, radius_kind, consume: bool = False) -> Result:
    certificates = [e.certificate for e in stats]
    radius_bounds = [e.radius_bound for e in stats]
    epochs = Epochs(
        mean=_stack_rows(xp, stats, "mean", consume),
        grad_mean=_stack_rows(xp, stats, "grad_mean", consume),
        certificate=xp.stack(certificates),
        radius=xp.stack(radii),
        value=xp.stack(values) if value is not None and values else None,
        calls=tuple(epoch_calls),
        radius_bound=xp.stack(radius_bounds),
        radius_kind=radius_kind,
    )
    selected = _select(output, certificates, radii, delta, output_rng)
    point = epochs.mean[selected, ...]
    cert = Certificate(point=point, delta=float(radii[selected]), epsilon=float(certificates[selected]),
                       kind=kind, radius_kind=radius_kind, calls=epoch_calls[selected],
                       estimate="epoch mean" if kind == "stochastic estimate" else None)
    certified = cert.proves(delta) if delta is not None else cert.is_proof
    hist = None
    if history is not None:
        hist = History(
            x=xp.stack(history["x"]),
            w=xp.stack(history["w"]),
            delta=xp.stack(history["delta"]),
            s=xp.asarray(history["s"], dtype=point.dtype, device=array_api_compat.device(point)),
            grad=xp.stack(history["grad"]),
        )
    return Result(point=point, selected_epoch=selected, epochs=epochs, grad_calls=grad_calls,
                  history=hist, final_anchor=anchor, certificate=cert, certified=certified)
