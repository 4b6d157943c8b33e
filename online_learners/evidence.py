"""Data for the parameter-free evidence: regret against comparators of every scale, with no tuning.

:func:`parameter_free_regret` runs parameter-free learners and OGD (tuned for ‖u‖ = 1) on adversarial linear losses
and returns, for each comparator norm, the regret on each gradient stream next to the learner's documented bound for
that stream. ``tests/test_parameter_free.py`` asserts on it; a figure can plot it (worst regret against ‖u‖, log–log,
next to the oracle-tuned OGD rate ‖u‖G√T).

Example:
    >>> from online_learners.evidence import parameter_free_regret
    >>> data = parameter_free_regret(norms=(1e-2, 1.0, 1e2), rounds=64, dim=2)
    >>> sorted(data["learners"])[:2]
    ['DirectionMagnitude(KT, OGD)', 'FreeGrad']
    >>> all(r <= b for entry in data["learners"].values() for stream in entry["streams"].values()
    ...     for r, b in zip(stream["regret"], stream["bound"]))
    True
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from online_learners._ops import call_bound
from online_learners.betting import KT
from online_learners.ogd import OGD
from online_learners.paramfree import FreeGrad, ParameterFreeMirrorDescent
from online_learners.reductions import DirectionMagnitude

__all__ = ["adversarial_streams", "parameter_free_learners", "parameter_free_regret", "OGD_NAME"]

OGD_NAME = "OGD (tuned for |u|=1)"


def adversarial_streams(rounds: int, dim: int, seed: int = 0, lipschitz: float = 1.0) -> dict[str, np.ndarray]:
    """Gradient streams with ‖g_t‖ ≤ lipschitz (rounds × dim): fair and biased coins, a fixed direction, a switch,
    independent coins per coordinate."""
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(dim)
    direction /= np.linalg.norm(direction)
    coin = rng.choice([-1.0, 1.0], size=(rounds, 1))
    biased = np.where(rng.random((rounds, 1)) < 0.75, 1.0, -1.0)
    switch = np.where(np.arange(rounds)[:, None] < rounds // 3, 1.0, -1.0)
    per_coordinate = rng.choice([-1.0, 1.0], size=(rounds, dim)) / math.sqrt(dim)
    return {
        "fair_coin": lipschitz * coin * direction,
        "biased_coin": lipschitz * biased * direction,
        "constant": lipschitz * np.tile(direction, (rounds, 1)),
        "switch": lipschitz * switch * direction,
        "coordinate_coins": lipschitz * per_coordinate,
    }


def parameter_free_learners(lipschitz: float = 1.0) -> dict:
    """The parameter-free learners of the evidence, with default settings (nothing tuned to the comparator)."""
    return {
        "KT": KT(eps=1.0, lipschitz=lipschitz),
        "DirectionMagnitude(KT, OGD)": DirectionMagnitude(
            KT(eps=1.0, lipschitz=lipschitz), OGD(lr=1.0 / lipschitz, radius=1.0)
        ),
        "FreeGrad": FreeGrad(lipschitz=lipschitz),
        "ParameterFreeMirrorDescent": ParameterFreeMirrorDescent(eps=1.0),
    }


def _plays(learner, grads: np.ndarray) -> np.ndarray:
    state = learner.init(np.zeros(grads.shape[1]))
    out = np.empty_like(grads)
    for t, g in enumerate(grads):
        out[t] = learner.predict(state)
        state = learner.update(state, g)
    return out


def parameter_free_regret(
    norms: Sequence[float] = tuple(10.0**k for k in range(-3, 4)),
    rounds: int = 400,
    dim: int = 3,
    seed: int = 0,
    lipschitz: float = 1.0,
    learners: dict | None = None,
) -> dict:
    """Regret at every comparator norm on :func:`adversarial_streams`, with the documented bounds.

    The comparator of norm r is the worst one for linear losses, u = −r Σg/‖Σg‖, so Reg(u) = Σ⟨g_t, Δ_t⟩ + r‖Σg‖.
    Besides the parameter-free learners, OGD runs with the step η = 1/(G√T) tuned for ‖u‖ = 1: its bound
    ‖u‖²/(2η) + (η/2)Σ‖g‖² grows quadratically in the mistuning ‖u‖, and on drifting streams its regret grows like
    ‖u‖·‖Σg‖ once ‖u‖ is beyond the reach of its iterates.

    Returns:
        ``{"norms", "rounds", "dim", "lipschitz", "oracle": [r G √T ...], "learners": {name: {"regret", "bound",
        "streams": {stream: {"regret", "bound"}}}}}``, every list aligned with ``norms``; "regret" and "bound" are the
        maxima over the streams, and each stream's regret is to be compared with that stream's bound.
    """
    if learners is None:
        learners = dict(parameter_free_learners(lipschitz))
        learners[OGD_NAME] = OGD(lr=1.0 / (lipschitz * math.sqrt(rounds)))
    streams = adversarial_streams(rounds, dim, seed, lipschitz)
    out = {
        "norms": [float(r) for r in norms],
        "rounds": rounds,
        "dim": dim,
        "lipschitz": lipschitz,
        "oracle": [float(r) * lipschitz * math.sqrt(rounds) for r in norms],
        "learners": {},
    }
    for name, learner in learners.items():
        per_stream = {}
        for stream, grads in streams.items():
            plays = _plays(learner, grads)
            loss = float(np.sum(grads * plays))
            total = float(np.linalg.norm(grads.sum(axis=0)))
            sq = [float(v) for v in np.sum(grads**2, axis=1)]
            per_stream[stream] = {
                "regret": [loss + float(r) * total for r in norms],
                "bound": [call_bound(learner, float(r), sq, dim) for r in norms],
            }
        out["learners"][name] = {
            "regret": [max(v["regret"][i] for v in per_stream.values()) for i in range(len(norms))],
            "bound": [max(v["bound"][i] for v in per_stream.values()) for i in range(len(norms))],
            "streams": per_stream,
        }
    return out
