"""A baseline of :mod:`o2nc.baselines` as a method value: its hyperparameters now, the radius δ at ``run``."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from o2nc.methods.checks import check_positive
from o2nc.methods.result import Run

__all__ = ["BaselineMethod", "baseline_method"]


@dataclass(frozen=True)
class BaselineMethod:
    """The baseline ``name`` with hyperparameters ``params`` (every field of its class but ``delta``, which is the
    run's).  ``run`` builds ``o2nc.baselines.get(name, delta=delta, **params)`` and calls its ``minimize``
    (:meth:`o2nc.baselines.Baseline.minimize`: the budget counts gradient calls, or function evaluations for a
    zero-order method; the certificate is the method's own where it has a sound one, else a Goldstein certificate
    at the returned point with exact calls counted apart)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    certify: bool = True

    family = "baseline"

    @property
    def order(self) -> str:
        from o2nc import baselines

        return baselines.registry.entry(self.name).order

    def baseline(self, delta: float):
        """The :class:`o2nc.baselines.Baseline` at radius ``delta``."""
        from o2nc import baselines

        return baselines.get(self.name, delta=float(delta), **dict(self.params))

    def run(self, objective, *, budget: int, delta: float, seed: int = 0, x0=None, oracle: str = "auto",
            record: bool = False) -> Run:
        """Run the baseline on ``objective`` from ``x0`` (the objective's ``x0`` by default); see :class:`Run`
        (``record=True`` keeps the per-iteration iterates in ``Run.history``)."""
        check_positive(self.name, "delta", delta)
        method = self.baseline(delta)
        start = np.array(objective.x0 if x0 is None else x0, dtype=np.float64)
        kw = {"oracle": oracle} if method.order == "first-order" else {}
        return method.minimize(objective, start, budget=budget, seed=seed, certify=self.certify, record=record,
                               **kw)


def baseline_method(name: str):
    """The factory the methods registry keeps for baseline ``name``: checks the hyperparameters by building the
    baseline once (δ = 1, a placeholder; every run builds it at its own δ)."""
    from o2nc import baselines

    def build(certify: bool = True, **params) -> BaselineMethod:
        if "delta" in params:
            raise ValueError(f"method {name!r}: `delta` is the run's, given to run(..., delta=...), not a "
                             "parameter of the method")
        if not isinstance(certify, bool):
            raise ValueError(f"method {name!r}: `certify` must be True or False, got {certify!r}")
        baselines.get(name, delta=1.0, **params)  # ValueError naming a bad or unknown hyperparameter
        return BaselineMethod(name, dict(params), certify)

    entry = baselines.registry.entry(name)
    build.__name__ = f"baseline_{name}"
    build.__doc__ = f"{entry.summary}.  Parameters: those of {entry.factory.__name__} but delta, and certify."
    build.order = entry.order
    build.rate = entry.rate
    build.accepted = tuple(p for p in _fields(entry.factory) if p != "delta") + ("certify",)
    return build


def _fields(cls) -> tuple:
    import dataclasses

    return tuple(f.name for f in dataclasses.fields(cls) if f.init)
