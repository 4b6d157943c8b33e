r"""O2NC as a method value: Algorithm 1 of [CMO23] with a learner of ``online_learners`` at the theory's tuning.

Cutkosky, Mehta, Orabona, *Optimal Stochastic Non-smooth Non-convex Optimization through Online-to-Non-convex
Conversion*, ICML 2023 (arXiv 2302.03775), [CMO23].  ``run`` wraps :func:`o2nc.minimize` (which loops over the
conversion core):

* ``tuning="theory"``: T, D = δ/T and η = D/(G√T) from :func:`o2nc.methods.tuning.theory_parameters` with the
  objective's G, σ and gap (:func:`o2nc.methods.tuning.constants`), for the run's budget N — or, with a target
  ``epsilon``, for N_ε, the smallest budget whose Theorem-8 bound is ≤ ε (:func:`~o2nc.methods.tuning.theory_budget`).
  The learner takes its defaults at that δ (:func:`o2nc.methods.learners.learner_defaults`) and, when it has no
  radius bound, plays in ``BallConstraint(·, radius=D)`` so every epoch has r_k ≤ T·D = δ ([CMO23] Theorem 8) with
  a full-step scaling (under ``"exponential"`` the anchor moves by s_n‖Δ_n‖, s_n ~ Exp(1): T·D in expectation).
* ``tuning="fixed"``: ``epoch_length`` and ``learner_params`` as given (no ball is added).

Certificates ([CMO23] §3, Definition 5: the epoch's points have mean w̄_k and lie in B(w̄_k, r_k)): with exact gradients
each epoch's ‖ĝ_k‖ certifies Goldstein (r_k, ‖ĝ_k‖)-stationarity of the epoch mean w̄_k (kind ``"exact-gradient
epoch"``, r_k exact).  On a stochastic oracle ‖ĝ_k‖ is only an estimate; with ``certificate="auto"`` each epoch's
certificate is recomputed from exact gradients at the same points w_t (one exact call per step, counted apart in
``Run.certificate_calls``), which is again a proof.  The returned point is the epoch ``output`` selects — ``"best"``:
the smallest certificate among the epochs of radius r_k ≤ δ (the epoch of smallest radius when none is: then
``Run.certified`` is False).  With a target ``epsilon`` the run stops after the first epoch with certificate ≤ ε and r_k
≤ δ (``stopped="target"``).

Oracle calls go through :class:`o2nc.methods.oracles.Oracles` (the budgeted stream, and a second counter for the
exact calls of recomputed certificates); the stochastic oracle's RNG is the second stream of
``numpy.random.SeedSequence(seed)``, the one :func:`o2nc.minimize` would give it, and the s-sequence is the
conversion core's counter-based draw of ``seed``.
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from o2nc.certificate import Certificate
from o2nc.methods.checks import check_choice, check_count, check_positive, check_seed
from o2nc.methods.oracles import Oracles, uses_stochastic
from o2nc.methods.result import Run

__all__ = ["O2NCMethod", "Plan", "TUNINGS", "SCALINGS", "OUTPUTS", "HINTS", "CERTIFICATES"]

TUNINGS = ("theory", "fixed")
SCALINGS = ("uniform", "exponential", "none", "midpoint")
OUTPUTS = ("best", "random", "last")
HINTS = (None, "last_gradient", "extrapolated", "fixed_point")
CERTIFICATES = ("auto", "algorithm")
RADIUS_KINDS = ("exact", "bound")


@dataclass(frozen=True)
class O2NCMethod:
    """O2NC with the learner ``learner`` (a name of ``online_learners.registry``); see the module docstring.

    Args:
        learner: the learner's registry name.
        learner_params: with ``tuning="theory"``, overrides of the learner's defaults at δ; with ``"fixed"``, all
            its hyperparameters.
        tuning: ``"theory"`` or ``"fixed"``.
        epoch_length: T; required with ``"fixed"``; with ``"theory"`` it replaces the balanced T (D = δ/T and
            η = D/(G√T) follow it).
        scaling: ``"uniform"`` (Algorithm 1), ``"exponential"``, ``"none"`` or ``"midpoint"``.
        restart: restart the learner every epoch ([CMO23] §3).
        output: ``"best"``, ``"random"`` or ``"last"`` epoch (:func:`o2nc.minimize`).
        hint: the optimistic hint of :func:`o2nc.minimize` (None, ``"last_gradient"``, ``"extrapolated"``,
            ``"fixed_point"``).
        epsilon: a target ε: stop after the first epoch certified at (δ, ε); with theory tuning, tune for N_ε.
        certificate: ``"auto"`` (exact-gradient recomputation on a stochastic oracle) or ``"algorithm"`` (the
            run's own ‖ĝ_k‖, an estimate on a stochastic oracle).
        lipschitz, gap, sigma: override the objective's G, gap and σ in the theory tuning.
        evaluate: evaluate F at every epoch mean into ``trace["value"]`` (counted in ``value_calls``; the algorithm
            itself never evaluates F, so the trace's values are NaN without it).
        radius_kind: the radius every epoch's certificate carries: ``"exact"`` (r_k = max_t ‖w_t − w̄_k‖, the
            default; :func:`o2nc.minimize` keeps the epoch's points for it) or ``"bound"`` (the path bound
            L_k ≥ r_k in O(d) memory).  ``trace["radius"]`` holds that radius, ``trace["radius_bound"]`` always L_k.
        name: the registry name this configuration is listed under (set by :func:`o2nc.methods.get`).
    """

    learner: str = "ogd"
    learner_params: Mapping[str, Any] = field(default_factory=dict)
    tuning: str = "theory"
    epoch_length: int | None = None
    scaling: str = "uniform"
    restart: bool = True
    output: str = "best"
    hint: str | None = None
    epsilon: float | None = None
    certificate: str = "auto"
    lipschitz: float | None = None
    gap: float | None = None
    sigma: float | None = None
    evaluate: bool = False
    radius_kind: str = "exact"
    name: str = "o2nc"

    family = "o2nc"
    order = "first-order"
    rate = "O(G² gap δ^-1 ε^-3) gradient calls ([CMO23] Theorem 8 with OGD)"

    def __post_init__(self):
        from online_learners import registry

        owner = self.name
        if not isinstance(self.learner, str) or self.learner not in registry.names():
            raise ValueError(f"{owner}: `learner` must be a learner of online_learners.registry "
                             f"({', '.join(registry.names())}), got {self.learner!r}")
        if not isinstance(self.learner_params, Mapping):
            raise ValueError(f"{owner}: `learner_params` must be a mapping of hyperparameters, got "
                             f"{self.learner_params!r}")
        object.__setattr__(self, "learner_params", dict(self.learner_params))
        check_choice(owner, "tuning", self.tuning, TUNINGS)
        check_count(owner, "epoch_length", self.epoch_length, optional=True)
        if self.tuning == "fixed" and self.epoch_length is None:
            raise ValueError(f"{owner}: `epoch_length` is required with tuning='fixed' (an integer ≥ 1)")
        check_choice(owner, "scaling", self.scaling, SCALINGS)
        check_choice(owner, "output", self.output, OUTPUTS)
        check_choice(owner, "hint", self.hint, HINTS)
        if self.hint is not None:
            from online_learners.base import reads_hint

            entry = next(e for e in registry.entries() if e.name == self.learner)
            if reads_hint(entry.examples[0]) is False:
                raise ValueError(f"{owner}: `hint` {self.hint!r} is ignored by the learner {self.learner!r} (its play "
                                 "does not read hints): it would change nothing but the oracle calls of the "
                                 "'extrapolated' and 'fixed_point' hints; give it to an optimistic learner "
                                 "(optimistic_ogd)")
        check_choice(owner, "certificate", self.certificate, CERTIFICATES)
        check_choice(owner, "radius_kind", self.radius_kind, RADIUS_KINDS)
        for flag in ("restart", "evaluate"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"{owner}: `{flag}` must be True or False, got {getattr(self, flag)!r}")
        for key in ("epsilon", "lipschitz", "gap"):
            if getattr(self, key) is not None:
                check_positive(owner, key, getattr(self, key))
        if self.sigma is not None:
            check_positive(owner, "sigma", self.sigma, allow_zero=True)
        if self.tuning == "fixed":
            for key in ("lipschitz", "gap", "sigma"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{owner}: `{key}` enters the theory tuning only; with tuning='fixed' give "
                                     "epoch_length and learner_params instead")
        else:  # build the learner once at placeholder constants, so a bad hyperparameter fails now
            from o2nc.methods.learners import build_learner
            from o2nc.theory import OGDParameters

            build_learner(self.learner, self.learner_params, OGDParameters(10, 10, 0.01, 0.001),
                          gradient_scale=1.0, size=1)
        if self.tuning == "fixed":
            from o2nc.methods.learners import make_learner

            make_learner(self.learner, self.learner_params)

    def params(self) -> dict:
        """The configuration as a dict."""
        from dataclasses import fields

        return {f.name: getattr(self, f.name) for f in fields(self)}

    def plan(self, objective, *, budget: int, delta: float, x0=None, oracle: str = "auto") -> Plan:
        """The run's tuning without running it: the learner, the epoch length T and the facts ``run`` reports in
        ``Run.info`` (theory constants G, gap, σ and their sources, the theory budget, D = δ/T, η)."""
        from o2nc.methods.learners import build_learner, learner_defaults, make_learner
        from o2nc.methods.tuning import constants, theory_budget, theory_parameters

        owner = self.name
        check_count(owner, "budget", budget)
        check_positive(owner, "delta", delta)
        if not callable(getattr(objective, "grad", None)):
            raise TypeError(f"{owner}: `objective` must have a callable `grad` method")
        stochastic = uses_stochastic(owner, objective, oracle)
        start = np.array(objective.x0 if x0 is None else x0, dtype=np.float64).reshape(-1)
        if start.size == 0 or not np.all(np.isfinite(start)):
            raise ValueError(f"{owner}: `x0` must be a non-empty finite vector")
        size = int(start.size)
        budget, delta = int(budget), float(delta)
        info: dict[str, Any] = {"oracle": "stochastic" if stochastic else "exact", "learner_name": self.learner}
        if self.tuning == "theory":
            c = constants(objective, stochastic=stochastic, lipschitz=self.lipschitz, gap=self.gap,
                          sigma=self.sigma, x0=start)
            n_theory = budget if self.epsilon is None else theory_budget(self.epsilon, delta, c.lipschitz, c.gap,
                                                                         c.sigma)
            p = theory_parameters(max(n_theory, 2, self.epoch_length or 0), delta, c.lipschitz, c.gap, c.sigma,
                                  epoch_length=self.epoch_length)
            lparams = {**learner_defaults(p, gradient_scale=c.lipschitz, size=size).get(self.learner, {}),
                       **self.learner_params}
            learner = build_learner(self.learner, self.learner_params, p, gradient_scale=c.lipschitz, size=size)
            T = p.epoch_length
            info.update(lipschitz=c.lipschitz, gap=c.gap, **c.info, theory_budget=n_theory, radius=p.radius,
                        lr=p.lr)
        else:
            T = int(self.epoch_length)
            lparams = dict(self.learner_params)
            learner = make_learner(self.learner, lparams)
            info["theory_budget"] = budget
        info.update(epoch_length=T, learner_params=lparams, learner=repr(learner))
        return Plan(learner=learner, epoch_length=T, info=info, stochastic=stochastic, start=start)

    def run(self, objective, *, budget: int, delta: float, seed: int = 0, x0=None, oracle: str = "auto",
            on_epoch=None, progress: bool = False) -> Run:
        """Run O2NC on ``objective`` (an objective of the bank, or any object with ``grad`` and the metadata the
        tuning needs) with ``budget`` gradient calls at radius ``delta``; see :class:`o2nc.methods.Run`.

        ``on_epoch(k, stats)`` is called after every epoch with :func:`o2nc.minimize`'s per-epoch ``stats``
        (``grad_calls``, ``certificate``, ``radius``, ``mean``, ...); ``progress=True`` shows a progress bar."""
        from o2nc.minimize import minimize

        owner = self.name
        seed = check_seed(owner, seed)
        plan = self.plan(objective, budget=budget, delta=delta, x0=x0, oracle=oracle)
        budget, delta, stochastic, start = int(budget), float(delta), plan.stochastic, plan.start
        learner, T, info, size = plan.learner, plan.epoch_length, dict(plan.info), start.size
        if budget < T:  # not one epoch: nothing is certified
            info["reason"] = f"budget {budget} < epoch length {T}"
            return Run(method=self.name, point=start, certificate=None, delta=delta, grad_calls=0, value_calls=0,
                       trace=_empty_trace(size), stopped="budget", certificate_source="none", info=info)
        recompute = stochastic and self.certificate == "auto"
        if recompute and self.hint in ("extrapolated", "fixed_point"):
            raise ValueError(f"{owner}: hint={self.hint!r} queries points outside the epochs, which the exact "
                             "recomputation of certificate='auto' on a stochastic oracle does not follow; use "
                             "certificate='algorithm' or oracle='exact'")
        _, oracle_seq, _ = np.random.SeedSequence(seed).spawn(3)
        calls = Oracles(objective, budget=budget, counts="grad", stochastic=stochastic,
                        rng=np.random.default_rng(oracle_seq), owner=owner)
        tracker = _ExactEpochs(Oracles(objective, budget=sys.maxsize, counts="grad", stochastic=False, rng=None,
                                       owner=owner), T) if recompute else None

        def grad(w):
            g = calls.grad(w)
            if tracker is not None:
                tracker.add(w)
            return g

        hit: dict[str, int] = {}

        if on_epoch is not None and not callable(on_epoch):
            raise TypeError(f"{owner}: `on_epoch` must be callable (k, stats) or None, got {on_epoch!r}")

        def callback(k, stats):
            if on_epoch is not None:
                on_epoch(k, stats)
            if self.epsilon is None:
                return False
            cert = tracker.certificates[k] if tracker is not None else float(stats["certificate"])
            if cert <= self.epsilon and float(stats["radius"]) <= delta:  # certified at (δ, ε)
                hit["epoch"] = k
                return True
            return False

        res = minimize(grad, start, learner=learner, budget=budget, epoch_length=T, scaling=self.scaling, seed=seed,
                       restart=self.restart, value=calls.value if self.evaluate else None, output=self.output,
                       hint=self.hint, delta=delta, stochastic=stochastic, callback=callback,
                       progress=bool(progress), radius_kind=self.radius_kind)
        K = len(res.epochs.calls)
        means = np.asarray(res.epochs.mean, dtype=np.float64)
        radii = np.asarray(res.epochs.radius, dtype=np.float64)
        own = np.asarray(res.epochs.certificate, dtype=np.float64)
        trace = {"calls": np.asarray(res.epochs.calls, dtype=np.int64),
                 "value": (np.asarray(res.epochs.value, dtype=np.float64) if self.evaluate else np.full(K, np.nan)),
                 "certificate": own, "radius": radii,
                 "radius_bound": np.asarray(res.epochs.radius_bound, dtype=np.float64), "mean": means}
        if tracker is not None:
            exact = np.asarray(tracker.certificates[:K], dtype=np.float64)
            if not np.allclose(np.vstack(tracker.means[:K]), means, rtol=1e-9, atol=1e-12):
                raise RuntimeError("exact-certificate epochs do not line up with the run's epochs")
            trace["certificate"], trace["certificate_estimate"] = exact, own
            k = best_epoch(exact, radii, delta) if self.output == "best" else res.selected_epoch
            certificate = Certificate(point=means[k], delta=float(radii[k]), epsilon=float(exact[k]),
                                      kind="exact-gradient epoch", radius_kind=self.radius_kind,
                                      calls=res.epochs.calls[k])
            source = "exact-recomputed"
        else:
            k = res.selected_epoch
            c0 = res.certificate
            certificate = Certificate(point=means[k], delta=c0.delta, epsilon=c0.epsilon, kind=c0.kind,
                                      radius_kind=c0.radius_kind, calls=c0.calls, estimate=c0.estimate)
            source = "algorithm-stochastic" if stochastic else "algorithm-exact"
        info.update(epochs=K, selected_epoch=k)
        return Run(method=self.name, point=means[k], certificate=certificate, delta=delta,
                   grad_calls=int(calls.grad_calls), value_calls=int(calls.value_calls), trace=trace,
                   stopped="target" if "epoch" in hit else "budget", certificate_source=source,
                   certificate_calls=0 if tracker is None else int(tracker.oracles.grad_calls), info=info)


class Plan(NamedTuple):
    """What :meth:`O2NCMethod.plan` decides before a run: the learner, T, the reported facts, the oracle and x0."""

    learner: Any
    epoch_length: int
    info: dict
    stochastic: bool
    start: np.ndarray


def best_epoch(certificates: np.ndarray, radii: np.ndarray, delta: float) -> int:
    """The epoch a run claims: the smallest certificate among the epochs of radius ≤ δ, else (no epoch within δ:
    no certificate at δ) the epoch of smallest radius — :func:`o2nc.minimize`'s ``output="best"`` rule."""
    within = np.flatnonzero(radii <= delta)
    if within.size:
        return int(within[np.argmin(certificates[within])])
    return int(np.argmin(radii))


def _empty_trace(size: int) -> dict:
    return {"calls": np.zeros(0, dtype=np.int64), "value": np.zeros(0), "certificate": np.zeros(0),
            "radius": np.zeros(0), "radius_bound": np.zeros(0), "mean": np.zeros((0, size))}


class _ExactEpochs:
    """Exact gradients at the run's gradient points, summed per epoch of T calls ([CMO23] §3: the epoch certificate
    ‖(1/T) Σ_t ∇F(w_t)‖ with exact gradients), through a counter apart from the budget."""

    def __init__(self, oracles: Oracles, epoch_length: int):
        self.oracles, self.T = oracles, epoch_length
        self.steps = 0
        self._gsum = None
        self._wsum = None
        self.certificates: list = []
        self.means: list = []

    def add(self, w) -> None:
        e = self.oracles.grad(np.asarray(w, dtype=np.float64).reshape(-1))
        ww = np.asarray(w, dtype=np.float64).reshape(-1)
        self._gsum = e.copy() if self._gsum is None else self._gsum + e
        self._wsum = ww.copy() if self._wsum is None else self._wsum + ww
        self.steps += 1
        if self.steps % self.T == 0:
            self.certificates.append(float(np.linalg.norm(self._gsum / self.T)))
            self.means.append(self._wsum / self.T)
            self._gsum = self._wsum = None
