"""Execute one run configuration (in a worker): build the objective and the method, run O2NC, measure.

Two measurements ([CMO23] Theorem 8 and its OGD corollary; o2nc.md §5–6):

- ``measure = "budget"``: N gradient calls with the parameters the theory prescribes for N
  (:func:`o2nc.theory.ogd_parameters`: T = min(⌈(GδN/gap)^{2/3}⌉, ⌈N/2⌉), D = δ/T, η = D/(G√T)); the result holds the
  mean epoch certificate (the quantity Theorem 8 bounds), the best one and the bound itself.
- ``measure = "epsilon"``: the gradient calls at the end of the first epoch whose certificate is ≤ ε.  The parameters
  are the theory's for N_ε, the smallest budget whose Theorem-8 bound (:func:`o2nc.theory.ogd_bound`) is ≤ ε; the run
  stops at the first certified epoch or at ``max_queries`` (then stored as censored).

Certificates: with exact gradients the run's own ‖ĝ_k‖ certifies ‖∇F(w̄_k)‖_{r_k} (o2nc.md §8).  With a stochastic
oracle and ``certificate = "auto"``, each epoch's certificate is recomputed from exact gradients at the same points
w_t (one exact call per step, counted apart in ``eval_calls``), since ‖ĝ_k‖ is then only an estimate.

Theory constants (:func:`resolve_constants`): G is the objective's Lipschitz constant; for a stochastic run whose
noise level σ is known — the spec's ``sigma``, else the variance σ² the objective declares (``extra["variance_bound"]``
or ``extra["noise_variance"]``) — G² is Lipschitz² + σ², since the tuning needs E‖g‖² ≤ G² ([CMO23]'s assumption,
o2nc.md §1; E‖g‖² = ‖∇F‖² + E‖g − ∇F‖² ≤ Lipschitz² + σ² for an unbiased oracle).  A stochastic run whose σ is
not known takes σ = G: E‖g − ∇F‖² = E‖g‖² − ‖∇F‖² ≤ E‖g‖² ≤ G² under the same assumption (the "σ ≤ G" of o2nc.md §6).
An exact oracle has σ = 0.  σ enters every Theorem-8 budget and bound (:func:`o2nc.theory.ogd_parameters`,
:func:`o2nc.theory.ogd_bound`, :func:`theory_budget`): [CMO23] Theorem 8 bounds the mean exact-gradient epoch
certificate by gap/(DM) + E[R_T]/(DM) + σ/√T, which with restarted OGD is gap/(δK) + (G + σ)/√T.  The gap is
F(x0) − f*, or the objective's own ``extra["gap_bound"]`` when f* is unknown (the zero-chain hard instance,
objectives.md §9.3).

The certificate of an O2NC run (``certificate_claim``, the scalar fields of an :class:`o2nc.Certificate` with
``is_proof``): the certified epoch of an epsilon run, else the epoch with the smallest certificate among those of
radius r_k ≤ δ (the epoch of smallest radius when none is, which then proves nothing at δ); kind
``"exact-gradient epoch"`` for an exact oracle or exact-recomputed certificates, ``"stochastic estimate"`` for the
run's own ‖ĝ_k‖ on a stochastic oracle (``certificate = "algorithm"``); radius r_k exact.  An epsilon run counts an
epoch as certified only when its radius is ≤ δ as well.

Zero-chain instances (``extra`` holding ``T`` and ``lam``): the result also records the chain progress
prog_α(w̄/λ) = max{i : |w̄_i/λ| > α} of the last epoch mean for α = 1/4, 1/2, 1 (objectives.md §9.1), and, for
a learner with a radius D, the queries before coordinate T can move at all: each coordinate must pass λ/2 before
the next one has a non-zero gradient (Ψ = 0 on (−∞, ½]) and moves at most D per query, so ≥ T·λ/(2D) queries
(derived from the zero-chain property, §9.1, and ‖Δ_n‖ ≤ D).

Method parameters may be expressions of the run's ε, δ and of the objective's G and ``extra`` (``"$delta /
$lipschitz"``, ``"0.25 * $extra.lam / $epsilon"``; :mod:`o2nc.experiments.spec`): they are evaluated here, for
the objective built for the run (:func:`method_params`), and the results store the values used.

Baselines (``method["baseline"]``, :mod:`o2nc.baselines`) run through their own ``minimize``: the budget run keeps
the certificate of the returned point; the epsilon run takes the first entry of the method's trace whose own
certificate is ≤ ε (methods with a sound certificate of their own, exact gradients), else the smallest budget of a
doubling grid n0·2^j (n0 = ``measure.doubling_start``, 64 by default; then the cap) whose returned point has a
certificate ≤ ε (resolution: a factor 2; the runs stop at the first certified budget).  The chain progress of a
baseline's epsilon run is that of the last run made (the certified one, or the cap run).

The worker returns plain data; only the driver writes to the results store.
"""
from __future__ import annotations

import dataclasses
import inspect
import math
import time
import traceback
from typing import Any, Callable, Mapping

import numpy as np

from o2nc.experiments.build import baseline_from, build_objective
from o2nc.experiments.expr import substitute

__all__ = ["execute", "run_config", "build_objective", "resolve_constants", "theory_budget", "method_params"]


def noise_variance(obj) -> float | None:
    """The noise variance σ² ≥ E‖g − ∇F‖² an objective declares (``extra["variance_bound"]`` or
    ``extra["noise_variance"]``), or None.  Infinite values (heavy tails) are returned as they are."""
    extra = getattr(obj, "extra", None) or {}
    for k in ("variance_bound", "noise_variance"):
        v = extra.get(k)
        if v is not None:
            return float(v)
    return None


def resolve_constants(obj, ocfg: Mapping[str, Any], *, stochastic: bool = False) -> tuple[float, float, dict]:
    """(G, gap, info) for the theory tuning; ``info["sigma"]`` is the σ of [CMO23] Theorem 8 for this run.

    σ (E‖g − ∇F‖² ≤ σ²): 0 for an exact oracle; for a stochastic one the config's ``sigma``, else √ of the variance
    the objective declares, else G (module docstring: σ ≤ G follows from E‖g‖² ≤ G²).  G: the config's
    ``lipschitz``, else ``obj.lipschitz``; for a stochastic oracle with a known σ > 0, G = √(Lipschitz² + σ²) so that
    E‖g‖² ≤ G² (o2nc.md §1).  gap: the config's ``gap``, else F(x0) − f*, else the objective's ``extra["gap_bound"]``
    (an upper bound on F(x0) − inf F, as the hard instance gives).  ``info`` records each value and where it came
    from (``sigma_source``: ``"exact oracle"``, ``"spec"``, ``"declared variance"`` or ``"second moment (σ ≤ G)"``).
    """
    lip = ocfg.get("lipschitz", getattr(obj, "lipschitz", None))
    if lip is None or not (lip > 0 and math.isfinite(lip)):
        raise ValueError(f"objective {ocfg['name']!r} has no Lipschitz constant; set 'lipschitz' in the spec")
    info: dict[str, Any] = {"lipschitz_declared": float(lip)}
    G = float(lip)
    var, sigma_source = None, "exact oracle"
    if stochastic:
        if ocfg.get("sigma") is not None:
            var, sigma_source = float(ocfg["sigma"]) ** 2, "spec"
        else:
            var = noise_variance(obj)
            sigma_source = "declared variance" if var is not None else "second moment (σ ≤ G)"
    if var is not None:
        if not math.isfinite(var):
            raise ValueError(f"objective {ocfg['name']!r} declares an infinite noise variance; the theory tuning "
                             "needs E‖g‖² ≤ G² < ∞ (set 'lipschitz' to a second-moment bound, or oracle = 'exact')")
        if var > 0:
            G = math.sqrt(G * G + var)
            info["noise_variance"] = var
        sigma = math.sqrt(var)
    else:
        sigma = G if stochastic else 0.0
    info["sigma"], info["sigma_source"] = float(sigma), sigma_source
    gap = ocfg.get("gap")
    if gap is not None:
        info["gap_source"] = "spec"
    else:
        f_star = getattr(obj, "f_star", None)
        bound = (getattr(obj, "extra", None) or {}).get("gap_bound")
        if f_star is not None:
            gap = float(obj.value(np.asarray(obj.x0, dtype=np.float64))) - float(f_star)
            if not gap > 0:
                gap = max(gap, 0.0) + 1e-12 * (1 + abs(float(f_star)))  # x0 already optimal: any tiny positive gap
            info["gap_source"] = "f_star"
        elif bound is not None and float(bound) > 0:
            gap = float(bound)
            info["gap_source"] = "gap_bound"
        else:
            raise ValueError(f"objective {ocfg['name']!r} has no known f_star and no gap_bound; set 'gap' "
                             "(F(x0) − inf F) in the spec")
    return float(G), float(gap), info


def chain_progress(obj, point) -> dict | None:
    """prog_α(point/λ) for α = 1/4, 1/2, 1 on a zero-chain instance (``extra`` with ``T`` and ``lam``), else None
    (objectives.md §9.1: prog_α(x) = max{i : |x_i| > α}, 0 when there is none)."""
    extra = getattr(obj, "extra", None) or {}
    if "lam" not in extra or "T" not in extra:
        return None
    y = np.abs(np.asarray(point, dtype=np.float64)) / float(extra["lam"])

    def prog(alpha):
        idx = np.flatnonzero(y > alpha)
        return int(idx[-1] + 1) if idx.size else 0

    return {"T": int(extra["T"]), "prog_quarter": prog(0.25), "prog_half": prog(0.5), "prog_one": prog(1.0)}


def theory_budget(epsilon: float, delta: float, lipschitz: float, gap: float, sigma: float = 0.0,
                  cap: int = 10 ** 13) -> int:
    """Smallest N with ogd_bound(N, δ, G, gap, σ) ≤ ε (doubling, then bisection; the bound decreases in N up to the
    rounding of T and K).  ogd_bound = gap/(δK) + (G + σ)/√T ([CMO23] Theorem 8 with restarted OGD, σ/√T its noise
    term; o2nc.md §5–6), with T and K of ``ogd_parameters(N, δ, G, gap, σ)``; σ = 0 for an exact oracle."""
    from o2nc.theory import ogd_bound

    if ogd_bound(2, delta, lipschitz, gap, sigma) <= epsilon:
        return 2
    hi = 4
    while ogd_bound(hi, delta, lipschitz, gap, sigma) > epsilon:
        hi *= 2
        if hi > cap:
            raise ValueError(f"epsilon={epsilon:g} needs more than {cap} calls by the theory bound")
    lo = hi // 2
    while hi - lo > max(1, lo // 1000):
        mid = (lo + hi) // 2
        if ogd_bound(mid, delta, lipschitz, gap, sigma) <= epsilon:
            hi = mid
        else:
            lo = mid
    return hi


def method_params(params: Mapping[str, Any], obj, ocfg: Mapping[str, Any], eps: float | None, delta: float) -> dict:
    """A method's parameters for one run: expressions evaluated with the run's absolute ε and δ, the objective's
    Lipschitz constant (the spec's ``lipschitz``, else the objective's) and its ``extra``
    (:func:`o2nc.experiments.spec.substitute`)."""
    lip = ocfg.get("lipschitz", getattr(obj, "lipschitz", None))
    return substitute(params, epsilon=eps, delta=delta, lipschitz=lip, extra=getattr(obj, "extra", None))


def _learner(name: str, params: dict):
    from online_learners import registry

    return registry.get(name, **params)


def _learner_params(name: str, theory: dict, user: dict) -> dict:
    """Theory values (lr, radius) for the parameters the learner accepts, overridden by the user's."""
    from online_learners import registry

    entry = next((e for e in registry.entries() if e.name == name), None)
    accepted = set(inspect.signature(entry.factory).parameters) if entry is not None else set(theory)
    out = {k: v for k, v in theory.items() if k in accepted}
    out.update(user)
    return out


class _ExactTracker:
    """Wraps a stochastic oracle; sums exact gradients and points per epoch of T calls (counted apart)."""

    def __init__(self, stochastic: Callable, exact: Callable, epoch_length: int):
        self.stochastic, self.exact, self.T = stochastic, exact, epoch_length
        self.calls = 0
        self.exact_calls = 0
        self._gsum = None
        self._wsum = None
        self.certificates: list[float] = []
        self.means: list[np.ndarray] = []

    def __call__(self, w, rng):
        g = self.stochastic(w, rng)
        e = np.asarray(self.exact(w), dtype=np.float64)
        self.exact_calls += 1
        ww = np.asarray(w, dtype=np.float64)
        self._gsum = e.copy() if self._gsum is None else self._gsum + e
        self._wsum = ww.copy() if self._wsum is None else self._wsum + ww
        self.calls += 1
        if self.calls % self.T == 0:
            self.certificates.append(float(np.linalg.norm(self._gsum / self.T)))
            self.means.append(self._wsum / self.T)
            self._gsum = self._wsum = None
        return g


def _epsilon_abs(config, obj, ocfg) -> float:
    """The run's absolute ε: the spec's ε, times G when ``epsilon_scale = "lipschitz"`` (G = the Lipschitz
    constant, which bounds every certificate)."""
    eps = float(config["epsilon"])
    if config.get("epsilon_scale", "absolute") == "lipschitz":
        lip = ocfg.get("lipschitz", getattr(obj, "lipschitz", None))
        if lip is None or not (lip > 0 and math.isfinite(lip)):
            raise ValueError(f"objective {ocfg['name']!r} has no Lipschitz constant; set 'lipschitz' in the spec "
                             "or use epsilon_scale = 'absolute'")
        eps *= float(lip)
    return eps


def run_config(config: Mapping[str, Any], factories: Mapping[str, Callable] | None = None) -> dict:
    """Run one configuration and return its measurements (plain JSON data).  Raises on any error.

    ``factories``: ``"module:factory"`` -> callable for an objective that is not registered (a callable passed from
    Python, an allowed import; :mod:`o2nc.experiments.build`); nothing is imported from a name."""
    import o2nc
    from o2nc.certificate import Certificate
    from o2nc.theory import ogd_bound, ogd_parameters

    t0 = time.perf_counter()
    ocfg, mcfg = config["objective"], config["method"]
    delta, seed = float(config["delta"]), int(config["seed"])
    measure = config["measure"]
    eps = None
    if measure == "epsilon" and config.get("epsilon_scale", "absolute") == "absolute":
        eps = float(config["epsilon"])
    obj = build_objective(ocfg, epsilon=eps, delta=delta, factories=factories)
    if measure == "epsilon" and eps is None:
        eps = _epsilon_abs(config, obj, ocfg)
    if "baseline" in mcfg:
        return _run_baseline(config, obj, eps, t0)
    x0 = np.array(obj.x0, dtype=np.float64)

    stochastic = getattr(obj, "stochastic_grad", None)
    oracle_kind = ocfg.get("oracle", "auto")
    if oracle_kind == "auto":
        oracle_kind = "stochastic" if stochastic is not None else "exact"
    if oracle_kind == "stochastic" and stochastic is None:
        raise ValueError(f"objective {ocfg['name']!r} has no stochastic oracle")

    theory = mcfg["tuning"] == "theory"
    G = gap = None
    sigma = 0.0
    info: dict = {}
    if theory:
        G, gap, info = resolve_constants(obj, ocfg, stochastic=oracle_kind == "stochastic")
        sigma = info["sigma"]
    if measure == "budget":
        n_theory = int(config["budget"])
        run_budget = n_theory
    else:
        n_theory = theory_budget(eps, delta, G, gap, sigma) if theory else int(config["max_queries"])
        run_budget = int(config["max_queries"])
    if theory:
        p = ogd_parameters(n_theory, delta, G, gap, sigma)
        T = p.epoch_length
        lparams = _learner_params(mcfg["learner"], {"lr": p.lr, "radius": p.radius}, mcfg["learner_params"])
    else:
        T = int(mcfg["epoch_length"])
        lparams = method_params(mcfg["learner_params"], obj, ocfg, eps, delta)
    chain_min = None
    extra = getattr(obj, "extra", None) or {}
    if "lam" in extra and "T" in extra and lparams.get("radius"):
        # zero chain: coordinate i+1 moves only once |w_i| > λ/2; each query moves a coordinate by <= D
        chain_min = int(math.ceil(int(extra["T"]) * float(extra["lam"]) / (2.0 * float(lparams["radius"]))))
    if run_budget < T:
        if measure == "epsilon":
            out = {"queries": None, "censored": True, "reason": f"max_queries {run_budget} < epoch length {T}",
                   "epoch_length": T, "theory_budget": n_theory, "grad_calls": 0, "eval_calls": 0,
                   "oracle": oracle_kind, "epsilon_abs": eps, "learner_params": lparams}
            if theory:
                out.update(lipschitz=G, gap=gap, **info)
            out["wall"] = time.perf_counter() - t0
            if chain_min is not None:
                out["chain_min_queries"] = chain_min
            return out
        raise ValueError(f"budget {run_budget} is shorter than one epoch ({T})")
    learner = _learner(mcfg["learner"], lparams)

    recompute = oracle_kind == "stochastic" and config.get("certificate", "auto") == "auto"
    tracker = None
    if oracle_kind == "stochastic":
        grad = stochastic
        if recompute:
            tracker = _ExactTracker(stochastic, obj.grad, T)
            grad = tracker
    else:
        grad = obj.grad

    state = {"first": None, "last_mean": None}
    callback = None
    if measure == "epsilon":
        def callback(k, stats):
            state["last_mean"] = stats["mean"]
            cert = tracker.certificates[k] if tracker is not None else float(stats["certificate"])
            radius = float(stats["radius"])
            if cert <= eps and radius <= delta:  # a certificate at the run's δ (theory tuning: r_k ≤ δ always)
                state["first"] = (k, cert, int(stats["grad_calls"]), radius)
                return True  # stop the run after this epoch (o2nc.minimize)
            return False

    res = o2nc.minimize(grad, x0, learner=learner, budget=run_budget, epoch_length=T, scaling=mcfg["scaling"],
                        seed=seed, restart=mcfg["restart"], callback=callback)

    out: dict[str, Any] = {"oracle": oracle_kind, "epoch_length": T, "theory_budget": n_theory,
                           "certificate_source": "exact-recomputed" if tracker is not None else
                           ("algorithm-exact" if oracle_kind == "exact" else "algorithm-stochastic"),
                           "learner_params": lparams}
    all_certs = np.asarray(tracker.certificates if tracker is not None else res.epochs.certificate, dtype=float)
    all_radii = np.asarray(res.epochs.radius, dtype=float)[: all_certs.shape[0]]
    if theory:
        out["lipschitz"], out["gap"] = G, gap
        out.update(info)
    if measure == "epsilon":
        if state["first"] is not None:
            k, cert, calls, radius = state["first"]
            out.update(queries=calls, censored=False, epoch=k, certificate=cert, radius=radius, grad_calls=calls,
                       epsilon_abs=eps)
            claim_epoch = k
        else:
            K = len(tracker.certificates) if tracker is not None else res.epochs.certificate.shape[0]
            certs = tracker.certificates if tracker is not None else np.asarray(res.epochs.certificate).tolist()
            out.update(queries=None, censored=True, epochs=K, grad_calls=int(res.grad_calls),
                       certificate_best=float(np.min(certs)), epsilon_abs=eps)
            claim_epoch = _claim_epoch(all_certs, all_radii, delta)
        last = state["last_mean"]
    else:
        certs = np.asarray(tracker.certificates if tracker is not None else res.epochs.certificate, dtype=float)
        if tracker is not None:  # the tracker's epochs must be the driver's epochs
            if not np.allclose(np.vstack(tracker.means), np.asarray(res.epochs.mean), rtol=1e-9, atol=1e-12):
                raise RuntimeError("exact-certificate epochs do not line up with the run's epochs")
        radii = np.asarray(res.epochs.radius, dtype=float)
        out.update(grad_calls=int(res.grad_calls), epochs=int(certs.shape[0]),
                   certificate_mean=float(certs.mean()), certificate_best=float(certs.min()),
                   certificate_last=float(certs[-1]), radius_max=float(radii.max()),
                   certificate=float(certs.mean()))
        if theory:  # [CMO23] Theorem 8 with restarted OGD: gap/(δK) + (G + σ)/√T at this run's T and K
            out["bound"] = float(ogd_bound(n_theory, delta, G, gap, sigma))
        last = np.asarray(res.epochs.mean)[-1]
        claim_epoch = _claim_epoch(all_certs, all_radii, delta)
    kind = "stochastic estimate" if oracle_kind == "stochastic" and tracker is None else "exact-gradient epoch"
    # calls: the T gradients of the epoch, whose mean is ε (exact ones when recomputed, counted in eval_calls)
    claim = Certificate(point=np.asarray(res.epochs.mean)[claim_epoch], delta=float(all_radii[claim_epoch]),
                        epsilon=float(all_certs[claim_epoch]), kind=kind, radius_kind="exact", calls=T)
    out["certificate_claim"] = _claim(claim)
    if last is not None:
        prog = chain_progress(obj, last)
        if prog is not None:
            out["chain"] = prog
    if chain_min is not None:
        out["chain_min_queries"] = chain_min
    out["eval_calls"] = int(tracker.exact_calls) if tracker is not None else 0
    out["wall"] = time.perf_counter() - t0
    return out


def _claim_epoch(certs: np.ndarray, radii: np.ndarray, delta: float) -> int:
    """The epoch whose certificate the run claims: the smallest certificate among the epochs of radius ≤ δ, else (no
    epoch within δ: no certificate at δ) the epoch of smallest radius."""
    within = np.flatnonzero(radii <= delta)
    if within.size:
        return int(within[np.argmin(certs[within])])
    return int(np.argmin(radii))


#: The smallest budget of the doubling grid of a baseline's epsilon run (``measure.doubling_start`` overrides it).
DOUBLING_START = 64


def _first_certified(trace: Mapping[str, np.ndarray], eps: float) -> int | None:
    """Index of the first trace entry whose (finite) certificate is ≤ ε, or None."""
    cert = np.asarray(trace.get("certificate", []), dtype=float)
    hit = np.flatnonzero(np.isfinite(cert) & (cert <= eps))
    return int(hit[0]) if hit.size else None


def _run_baseline(config: Mapping[str, Any], obj, eps: float | None, t0: float) -> dict:
    """One run of a baseline of :mod:`o2nc.baselines` (see the module docstring for the two measurements)."""
    ocfg, mcfg = config["objective"], config["method"]
    delta, seed = float(config["delta"]), int(config["seed"])
    lip = ocfg.get("lipschitz", getattr(obj, "lipschitz", None))
    method = baseline_from(mcfg["baseline"], mcfg.get("params", {}), epsilon=eps, delta=delta, lipschitz=lip,
                           extra=getattr(obj, "extra", None))
    x0 = np.array(obj.x0, dtype=np.float64)
    oracle = ocfg.get("oracle", "auto")
    kw = {"oracle": oracle} if method.order == "first-order" else {}
    query_kind = "gradient" if method.order == "first-order" else "evaluation"
    out: dict[str, Any] = {"baseline": mcfg["baseline"], "baseline_params": _plain(method.params()),
                           "query_kind": query_kind}

    def summary(res) -> dict:
        cert = res.certificate
        return {"certificate": float(res.epsilon), "certificate_source": res.certificate_source,
                "grad_calls": int(res.grad_calls), "value_calls": int(res.value_calls),
                "eval_calls": int(res.certificate_calls), "stopped": res.stopped,
                "certificate_delta": float(res.delta),
                "certificate_claim": None if cert is None else _claim(cert)}

    if config["measure"] == "budget":
        res = method.minimize(obj, x0, budget=int(config["budget"]), seed=seed, **kw)
        out.update(summary(res))
        out["certificate_mean"] = out["certificate"]  # one output point: its certificate (what the fit uses)
        prog = chain_progress(obj, res.point)
        if prog is not None:
            out["chain"] = prog
        out["wall"] = time.perf_counter() - t0
        return out

    cap = int(config["max_queries"])
    n0 = min(int(config.get("doubling_start", DOUBLING_START)), cap)
    out["epsilon_abs"] = eps
    # the first run of the doubling grid also tells whether the method has a sound running certificate here; a
    # method that needs more calls than n0 for one iteration (gradient sampling: 2d + 1) starts at the first
    # budget of the grid it accepts
    while True:
        try:
            first = method.minimize(obj, x0, budget=n0, seed=seed, **kw)
            break
        except ValueError as exc:
            if "budget" not in str(exc) or n0 >= cap:
                raise
            n0 = min(2 * n0, cap)
    if first.certificate_source == "own" and first.certificate.proves(delta, math.inf):
        res = first if n0 == cap else method.minimize(obj, x0, budget=cap, seed=seed, **kw)
        i = _first_certified(res.trace, eps)
        out.update(summary(res), resolution="trace")
        if i is not None:
            calls_i, cert_i = int(res.trace["calls"][i]), float(res.trace["certificate"][i])
            out.update(queries=calls_i, censored=False, certificate=cert_i)
            # the claim is the certified trace entry's: the method's own kind and radius, its ε, and the calls made
            # up to it (an upper bound on the gradients that entered it)
            out["certificate_claim"] = _claim(dataclasses.replace(res.certificate, point=None, epsilon=cert_i,
                                                                  calls=calls_i))
        else:
            out.update(queries=None, censored=True, certificate_best=float(res.epsilon))
    else:
        # no sound running certificate: certify the returned point of runs with budgets 2^j·n0 (and the cap),
        # smallest first, and stop at the first certified one (the cap run only when nothing smaller certifies)
        budgets, n = [], n0
        while n < cap:
            budgets.append(n)
            n *= 2
        budgets.append(cap)
        spent = {"grad_calls": 0, "value_calls": 0, "eval_calls": 0}
        found = None
        best = math.inf
        res = first
        for n in budgets:
            res = first if n == n0 else method.minimize(obj, x0, budget=n, seed=seed, **kw)
            for k in spent:
                spent[k] += summary(res)[k]
            best = min(best, res.epsilon)  # NaN (no certificate) leaves it unchanged
            if res.certificate is not None and res.certificate.proves(delta, eps):
                found = (n, res)
                break
        if found is None:
            out.update(summary(res), queries=None, censored=True, certificate_best=best, resolution="doubling")
        else:
            out.update(summary(found[1]), queries=found[0], censored=False, resolution="doubling")
        out["work"] = spent  # all the calls the doubling grid spent
        out["doubling_start"] = n0
    prog = chain_progress(obj, res.point)
    if prog is not None:
        out["chain"] = prog
    out["wall"] = time.perf_counter() - t0
    return out


def _json_number(value: float) -> float | None:
    """A float for the results store (JSON): None for NaN/inf (no certificate, or an unbounded one)."""
    value = float(value)
    return value if math.isfinite(value) else None


def _claim(cert) -> dict:
    """The scalar fields of an :class:`o2nc.Certificate` (``as_dict()``: delta, epsilon, kind, radius_kind, calls)
    with ``is_proof``, as JSON data: what fits and figures read to tell a proof from an estimate."""
    out = dict(cert.as_dict())
    out["delta"], out["epsilon"] = _json_number(out["delta"]), _json_number(out["epsilon"])
    out["is_proof"] = bool(cert.is_proof)
    return out


def _plain(params: Mapping[str, Any]) -> dict:
    """A baseline's hyperparameters as JSON data (learner objects by their repr)."""
    out = {}
    for k, v in params.items():
        if isinstance(v, (bool, int, float, str)) or v is None:
            out[k] = v
        elif isinstance(v, (list, tuple)) and all(isinstance(x, (bool, int, float, str)) for x in v):
            out[k] = list(v)
        else:
            out[k] = repr(v)
    return out


def execute(config: Mapping[str, Any], factories: Mapping[str, Callable] | None = None) -> dict:
    """Worker entry point: never raises; returns ``{"status": "done"|"error", "result"|"error": ..., "wall"}``.

    ``factories``: the run's objective factory when it is not registered (sent by the driver, which authorized
    it)."""
    t0 = time.perf_counter()
    try:
        result = run_config(config, factories)
        return {"status": "done", "result": result, "wall": time.perf_counter() - t0}
    except Exception as exc:  # stored as data; the driver decides
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}",
                "wall": time.perf_counter() - t0}
