"""One step of Algorithm 1 of [CMO23] (Cutkosky, Mehta, Orabona, ICML 2023, arXiv 2302.03775), as pure functions.

    propose:  Δ_n = learner.predict(state),  x_n = x_{n−1} + c_n Δ_n,  w_n = x_{n−1} + s_n lr Δ_n   (scaling rule)
    (the shell queries g_n = ∂f(w_n; ξ_n))
    observe:  learner.update(state, g_n),  epoch sums += (w_n, g_n, ‖x_n − x_{n−1}‖),  anchor ← x_n
    at the end of an epoch of T steps:  close (w̄_k, ĝ_k, ‖ĝ_k‖, path bound) and, with restarts, learner.init
    ([CMO23] §3: restarting every T steps turns the learner's static regret into K-shifting regret)

The segment length needs ‖Δ_n‖: a learner whose state already holds it (e.g. from the projection of its last update)
declares ``play_norm(state)`` (‖predict(state)‖ as a 0-d array, or None where it does not hold it), and ``propose``
takes it from there instead of computing the norm again.  A learner whose update computes the norm of its next play
on the way (projected OGD: ‖Π(v)‖ = ‖v‖·min(1, D/‖v‖)) declares ``reports_play_norm`` (True) and
``update_and_norm(state, g) -> (state, ‖predict(state)‖)``; the core then carries that norm in
``ConversionState.play_norm`` (0 after ``init`` and ``restart``, where the play is 0) and ``propose`` uses it.

The state is a NamedTuple of trees and 0-d arrays, so a shell can loop over it eagerly (``minimize``), ``jax.jit`` or
``vmap`` it (the batched runners), or call it per step (the optimizers' reference path).
"""
from __future__ import annotations

from typing import Any, NamedTuple

from o2nc.conversion import epoch as _epoch
from o2nc.conversion.scaling import coefficients
from online_learners.tree import scalar_like, tree_map, tree_norm

__all__ = ["ConversionState", "Proposal", "init", "propose", "observe", "end_epoch", "restart"]


class ConversionState(NamedTuple):
    """x_{n−1} (``anchor``), the learner's state, the current epoch's running sums and, for a learner that reports
    it (module docstring), ‖Δ_n‖ of its next play (else None)."""

    anchor: Any
    learner: Any
    sums: _epoch.EpochSums
    play_norm: Any = None


class Proposal(NamedTuple):
    """Step n before its gradient: Δ_n, s_n, x_n, w_n and the segment length ‖x_n − x_{n−1}‖."""

    delta: Any
    s: Any
    x: Any
    w: Any
    segment: Any


def _reports_norm(learner) -> bool:
    return bool(getattr(learner, "reports_play_norm", False))


def init(learner, x0) -> ConversionState:
    """x_0 = ``x0``, the learner's initial state, zero epoch sums (and ‖Δ_1‖ = 0 for a learner that reports it:
    its first play is 0)."""
    return ConversionState(x0, learner.init(x0), _epoch.start(x0),
                           scalar_like(0, x0) if _reports_norm(learner) else None)


def propose(learner, full_step: bool, state: ConversionState, s, lr=1.0, delta=None) -> Proposal:
    """Step n's points from s_n ([CMO23] Algorithm 1; :mod:`o2nc.conversion.scaling`). ``delta``: a play already
    computed (e.g. with a hint), else ``learner.predict(state.learner)``; ‖Δ_n‖ is then the learner's ``play_norm``
    where it declares one (module docstring)."""
    norm = None
    if delta is None:
        delta = learner.predict(state.learner)
        norm = state.play_norm
        if norm is None:
            known = getattr(learner, "play_norm", None)
            norm = None if known is None else known(state.learner)
    w_coef, x_coef = coefficients(full_step, s, lr)
    anchor = state.anchor
    if isinstance(anchor, (list, tuple, dict)):
        w = tree_map(lambda a, d: a + w_coef * d, anchor, delta)
        x = tree_map(lambda a, d: a + x_coef * d, anchor, delta) if full_step else w
    else:  # one array: the same formulas without the tree walk
        w = anchor + w_coef * delta
        x = anchor + x_coef * delta if full_step else w
    segment = abs(x_coef) * (tree_norm(delta) if norm is None else norm)
    return Proposal(delta, s, x, w, segment)


def observe(learner, state: ConversionState, proposal: Proposal, g, **update_kwargs) -> ConversionState:
    """The learner sees the linear loss ⟨g_n, ·⟩; the epoch sums take (w_n, g_n, segment); the anchor moves to x_n."""
    sums = _epoch.add(state.sums, proposal.w, g, proposal.segment)
    if state.play_norm is not None:
        learner_state, norm = learner.update_and_norm(state.learner, g, **update_kwargs)
        return ConversionState(proposal.x, learner_state, sums, norm)
    return ConversionState(proposal.x, learner.update(state.learner, g, **update_kwargs), sums)


def end_epoch(state: ConversionState, length) -> tuple:
    """(the closed epoch's :class:`o2nc.conversion.epoch.EpochStats`, the state with fresh sums)."""
    stats = _epoch.close(state.sums, length)
    return stats, state._replace(sums=_epoch.start(state.anchor))


def restart(learner, state: ConversionState, like) -> ConversionState:
    """The learner re-initialised (``learner.init(like)``; ``like`` gives the shapes), the anchor kept (and the
    reported ‖Δ‖ back to 0, the norm of a fresh learner's play)."""
    if state.play_norm is None:
        return state._replace(learner=learner.init(like))
    return state._replace(learner=learner.init(like), play_norm=scalar_like(0, like))
