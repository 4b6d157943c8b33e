"""The built-in entries of :func:`o2nc.methods.names`: the named O2NC configurations and every registered baseline.

O2NC configurations (:class:`~o2nc.methods.o2nc_method.O2NCMethod`, theory tuning of [CMO23] Theorem 8 and §4):

============================ ====================================================================================
``o2nc``                     any learner of ``online_learners.registry`` (``learner=...``; OGD by default)
``o2nc_ogd``                 projected OGD, T from N, δ, G, σ, gap; D = δ/T; η = D/(G√T) (the paper's tuning)
``o2nc_adagrad_norm``        AdaGradNorm in the ball of radius D = δ/T (no step size to tune)
``o2nc_kt``                  KT (coin betting, initial wealth D·G/√d) in ``BallConstraint`` of radius D = δ/T: the
                             parameter-free default (Cutkosky & Orabona, COLT 2018, §4)
``o2nc_optimistic``          optimistic OGD with the last gradient as hint, radius D and the theory step
============================ ====================================================================================

Baselines: every name of :mod:`o2nc.baselines` (its hyperparameters but ``delta``, which is each run's δ).
"""
from __future__ import annotations

from o2nc.methods.registry import Registry

__all__ = ["load", "PRESETS"]

#: name -> (the parameters the name fixes, summary).
PRESETS = {
    "o2nc": ({}, "O2NC (Algorithm 1 of Cutkosky, Mehta, Orabona 2023) with any registered learner at the theory's "
                 "δ/T ball"),
    "o2nc_ogd": ({"learner": "ogd"}, "O2NC with projected OGD at the paper's tuning: T, D = δ/T, η = D/(G√T) "
                                     "([CMO23] Theorem 8)"),
    "o2nc_adagrad_norm": ({"learner": "adagrad_norm"}, "O2NC with AdaGradNorm in the ball of radius δ/T"),
    "o2nc_kt": ({"learner": "kt"}, "O2NC with KT coin betting in BallConstraint(δ/T): the parameter-free default "
                                   "(Cutkosky & Orabona 2018)"),
    "o2nc_optimistic": ({"learner": "optimistic_ogd", "hint": "last_gradient"},
                        "O2NC with optimistic OGD, the last gradient as hint (Rakhlin & Sridharan 2013)"),
}


def load(registry: Registry) -> None:
    """Register the O2NC presets and every baseline of :mod:`o2nc.baselines` into ``registry``."""
    from o2nc import baselines
    from o2nc.methods.baseline import baseline_method
    from o2nc.methods.o2nc_method import O2NCMethod

    for name, (fixed, summary) in PRESETS.items():
        registry.register(name, O2NCMethod, summary=summary, family="o2nc", fixed={"name": name, **fixed},
                          examples=({},), bad_params=(dict(tuning="guess"), dict(epoch_length=0),
                                                      dict(scaling="gaussian"), dict(epsilon=-1.0)))
    for entry in baselines.entries():
        registry.register(entry.name, baseline_method(entry.name), summary=entry.summary, family="baseline",
                          examples=tuple(_example_params(x) for x in entry.examples),
                          bad_params=tuple(b for b in entry.bad_params if "delta" not in b))


def _example_params(example) -> dict:
    """A baseline example instance as the keyword dict of :func:`o2nc.methods.get` (its fields but ``delta``)."""
    return {k: v for k, v in example.params().items() if k != "delta"}
