"""``Run``: the one result type of the library's methods — every method of :mod:`o2nc.methods` (O2NC configurations
and baselines alike) and every baseline's own ``minimize`` return it (``o2nc.baselines.BaselineResult`` is this
type)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from o2nc.certificate import Certificate

__all__ = ["Run", "STOPPED", "CERTIFICATE_SOURCES"]

#: Why a run ended.
STOPPED = ("budget", "target", "converged")
#: Where a run's certificate comes from.
CERTIFICATE_SOURCES = (
    "algorithm-exact",       # O2NC: the run's own epoch ‖ĝ_k‖ on exact gradients
    "exact-recomputed",      # O2NC on a stochastic oracle: each epoch's ‖ĝ_k‖ recomputed from exact gradients
    "algorithm-stochastic",  # O2NC on a stochastic oracle: its own ‖ĝ_k‖, an estimate
    "own",                   # a baseline's own certificate, exact gradients
    "estimate",              # a baseline's running quantity from stochastic gradients
    "goldstein",             # o2nc.certify.goldstein at the returned point (exact calls counted apart)
    "none",                  # no certificate
)


@dataclass(frozen=True)
class Run:
    """One run of a method.

    Attributes:
        method: the registry name of the method (:func:`o2nc.methods.names`).
        point: the returned point (numpy float64, shape (d,)); for O2NC the selected epoch's mean w̄_k.
        certificate: the :class:`o2nc.Certificate` of ``point``, or None when the method has none for this run.
            ``certificate.delta`` is the radius achieved; print it with ``certificate.describe(delta)``.
        delta: the radius the run targeted (the requested δ; a baseline may report the smaller radius it ended at).
        grad_calls: budgeted gradient calls (exact or stochastic) the algorithm made.
        value_calls: function evaluations the algorithm made (zero-order methods, line searches, descent tests;
            for O2NC with ``evaluate=True`` the trace's values).
        trace: a dict of 1-D arrays, one entry per iteration (baselines) or per epoch (O2NC): ``calls`` (budgeted
            oracle calls so far), ``value`` (F where the method evaluated it, else NaN) and ``certificate`` (the
            running certificate where the method has one, else NaN); O2NC adds ``radius`` (exact r_k),
            ``radius_bound`` (the path bound L_k ≥ r_k) and ``mean`` (K × d, the epoch means).
        stopped: ``"budget"``, ``"target"`` (a certificate ≤ the method's ε) or ``"converged"``.
        certificate_source: one of :data:`CERTIFICATE_SOURCES`.
        certificate_calls: exact-gradient calls spent on certificates apart from the budget (a baseline's computed
            Goldstein certificate; O2NC's exact recomputation on a stochastic oracle).
        info: method-specific facts as plain data (theory constants and parameters, epoch length, hyperparameters).
        history: a baseline run with ``record=True``: per-iteration arrays of the iterates (``x``) and
            method-specific quantities; else None.
    """

    method: str
    point: np.ndarray
    certificate: Certificate | None
    delta: float
    grad_calls: int
    value_calls: int
    trace: dict[str, np.ndarray]
    stopped: str
    certificate_source: str = "none"
    certificate_calls: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    history: dict[str, Any] | None = None

    @property
    def epsilon(self) -> float:
        """``certificate.epsilon``, or NaN when there is no certificate (a number for tables and plots)."""
        return math.nan if self.certificate is None else float(self.certificate.epsilon)

    @property
    def certified(self) -> bool:
        """Whether the certificate proves (δ, ε)-stationarity of ``point`` at the targeted δ (a proof kind and
        ``certificate.delta ≤ delta``).  False: no certificate at δ, or only an estimate."""
        return self.certificate is not None and self.certificate.proves(self.delta)

    @property
    def has_certificate_at_delta(self) -> bool:
        """Whether the run has a certificate whose radius is within the targeted δ (a proof or an estimate)."""
        return self.certificate is not None and self.certificate.delta <= self.delta
