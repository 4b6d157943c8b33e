r"""Every registered learner at the requested δ: its theory defaults, and the ball that keeps its plays within δ/T.

[CMO23] Theorem 8 (Cutkosky, Mehta, Orabona, ICML 2023) takes plays ‖Δ_n‖ ≤ D = δ/T so that every epoch of T steps has
radius r_k ≤ T·D = δ ([CMO23]'s locality argument: ‖w_n − w_m‖ ≤ (n − m + 1)D within an epoch, for the full-step
scalings; under the exponential scaling a step moves the anchor by s_n‖Δ_n‖, s_n ~ Exp(1), so T·D in expectation).
:func:`learner_defaults` gives each learner of ``online_learners.registry`` its parameters at the theory's T, D and η
(:func:`o2nc.methods.tuning.theory_parameters`); :func:`build_learner` builds one with overrides and wraps a learner
without a radius bound in ``BallConstraint(learner, radius=D)`` (Cutkosky & Orabona, COLT 2018, §4), so that its plays
satisfy ‖Δ‖ ≤ D like projected OGD's.  ``o2nc run`` and the O2NC methods of :mod:`o2nc.methods` share these.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["learner_defaults", "build_learner"]


def learner_defaults(theory, *, gradient_scale: float, size: int) -> dict:
    """Each registered learner's parameters at the requested δ, keyed by registry name.

    D = δ/T and η = D/(G√T) are the theory's ([CMO23] §4; :func:`o2nc.theory.ogd_parameters`); G is
    ``gradient_scale``. A per-coordinate learner gets the per-coordinate scale D/√d: a box of side D/√d lies in the
    ball of radius D. The bettors' initial wealth (KT, ONS bettor, the KT magnitude of direction-magnitude) and PFMD's
    ε are D·G, the convention of paper_figs/fig5_parameter_free.py (whose multiplier sweep measures how little the
    certificate depends on it), split as D·G/√d over the coordinates of a per-coordinate bettor. The combinators
    get a projected OGD at the theory's step as their inner learner; Restarting restarts it every T rounds and
    Discounted keeps a memory of about T rounds (β = 1 − 1/T).

    Args:
        theory: an :class:`o2nc.theory.OGDParameters` (T, K, D, η).
        gradient_scale: G, the gradient bound the learners assume.
        size: d, the number of coordinates.
    """
    from online_learners import KT, OGD

    T, D, lr, G = theory.epoch_length, theory.radius, theory.lr, gradient_scale
    per_coordinate = D / math.sqrt(size)
    wealth = D * G
    return {
        "ogd": {"lr": lr, "radius": D},
        "adagrad_norm": {"radius": D},
        "optimistic_ogd": {"lr": lr, "radius": D},
        "ftrl": {"lr": lr, "radius": D},
        "discounted_ftrl": {"lr": per_coordinate, "radius": D},  # Adam-like: each coordinate moves by about lr
        "kt": {"eps": wealth / math.sqrt(size), "lipschitz": G},
        "ons_bettor": {"eps": wealth / math.sqrt(size), "lipschitz": G},
        "cocob": {},
        "freegrad": {"lipschitz": G},
        "pfmd": {"eps": wealth},
        "direction_magnitude": {"magnitude": KT(eps=wealth, lipschitz=G), "direction": OGD(lr=1.0 / G, radius=1.0)},
        "ball_constraint": {"learner": KT(eps=wealth / math.sqrt(size), lipschitz=G), "radius": D},
        "coordinatewise": {"learner": OGD(lr=lr, radius=per_coordinate)},
        "restarting": {"learner": OGD(lr=lr, radius=D), "period": T},
        "discounted": {"learner": OGD(lr=lr, radius=D), "beta": 1.0 - 1.0 / T},
    }


def build_learner(name: str, overrides: Mapping[str, Any], theory, *, gradient_scale: float, size: int):
    """The learner ``name`` at the requested δ: its defaults (:func:`learner_defaults`) updated by ``overrides``;
    a learner without a radius bound (:func:`o2nc.learner_radius`) is wrapped in ``BallConstraint(learner,
    radius=D)`` so its plays satisfy ‖Δ‖ ≤ D = δ/T ([CMO23] Theorem 8).  An unknown name or a missing or bad
    hyperparameter is a ValueError naming it."""
    from o2nc.minimize import learner_radius
    from online_learners import BallConstraint

    params = dict(learner_defaults(theory, gradient_scale=gradient_scale, size=size).get(name, {}))
    params.update(overrides)
    learner = make_learner(name, params)
    if learner_radius(learner, size) is None:
        learner = BallConstraint(learner, radius=theory.radius)
    return learner


def make_learner(name: str, params: Mapping[str, Any]):
    """``online_learners.registry.get(name, **params)`` with a ValueError (naming the learner and the accepted
    parameters) for an unknown name or keyword."""
    import inspect

    from online_learners import registry

    if name not in registry.names():
        raise ValueError(f"unknown learner {name!r}; known: {', '.join(registry.names())}")
    try:
        return registry.get(name, **params)
    except TypeError as err:
        factory = next(e.factory for e in registry.entries() if e.name == name)
        accepted = ", ".join(inspect.signature(factory).parameters)
        raise ValueError(f"learner {name!r}: {err}; accepted parameters: {accepted}") from None
