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

The worker returns plain data; only the driver writes to the results store.
"""
from __future__ import annotations

import importlib
import inspect
import math
import time
import traceback
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["execute", "run_config", "build_objective", "resolve_constants", "theory_budget"]


class _Stop(Exception):
    """Raised from the epoch callback to end an epsilon run at its first certified epoch."""


def build_objective(ocfg: Mapping[str, Any]):
    """The objective of a config: a bank name (``objectives.get``) or ``"package.module:factory"``."""
    name, params = ocfg["name"], dict(ocfg.get("params", {}))
    if ":" in name:
        mod_name, _, attr = name.partition(":")
        try:
            mod = importlib.import_module(mod_name)
        except ImportError as exc:
            raise ValueError(f"cannot import module {mod_name!r} for objective {name!r}: {exc}") from None
        factory = getattr(mod, attr, None)
        if factory is None:
            raise ValueError(f"module {mod_name!r} has no attribute {attr!r}")
        return factory(**params)
    import objectives

    if not hasattr(objectives, "get"):
        raise ValueError("the objective bank (objectives.get) is not available in this installation")
    return objectives.get(name, **params)


def resolve_constants(obj, ocfg: Mapping[str, Any]) -> tuple[float, float]:
    """(G, gap) for the theory tuning: the config's overrides, else ``obj.lipschitz`` and F(x0) − f*."""
    G = ocfg.get("lipschitz", getattr(obj, "lipschitz", None))
    if G is None or not (G > 0 and math.isfinite(G)):
        raise ValueError(f"objective {ocfg['name']!r} has no Lipschitz constant; set 'lipschitz' in the spec")
    gap = ocfg.get("gap")
    if gap is None:
        f_star = getattr(obj, "f_star", None)
        if f_star is None:
            raise ValueError(f"objective {ocfg['name']!r} has no known f_star; set 'gap' (F(x0) − inf F) in the spec")
        gap = float(obj.value(np.asarray(obj.x0, dtype=np.float64))) - float(f_star)
        if not gap > 0:
            gap = max(gap, 0.0) + 1e-12 * (1 + abs(float(f_star)))  # x0 already optimal: any tiny positive gap
    return float(G), float(gap)


def theory_budget(epsilon: float, delta: float, lipschitz: float, gap: float, cap: int = 10 ** 13) -> int:
    """Smallest N with ogd_bound(N, δ, G, gap) ≤ ε (doubling, then bisection; the bound decreases in N up to the
    rounding of T and K).  ogd_bound = gap/(δK) + G/√T ([CMO23] Theorem 8 with restarted OGD; o2nc.md §6)."""
    from o2nc.theory import ogd_bound

    if ogd_bound(2, delta, lipschitz, gap) <= epsilon:
        return 2
    hi = 4
    while ogd_bound(hi, delta, lipschitz, gap) > epsilon:
        hi *= 2
        if hi > cap:
            raise ValueError(f"epsilon={epsilon:g} needs more than {cap} calls by the theory bound")
    lo = hi // 2
    while hi - lo > max(1, lo // 1000):
        mid = (lo + hi) // 2
        if ogd_bound(mid, delta, lipschitz, gap) <= epsilon:
            hi = mid
        else:
            lo = mid
    return hi


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


def run_config(config: Mapping[str, Any]) -> dict:
    """Run one configuration and return its measurements (plain JSON data).  Raises on any error."""
    import o2nc
    from o2nc.theory import ogd_bound, ogd_parameters

    t0 = time.perf_counter()
    ocfg, mcfg = config["objective"], config["method"]
    delta, seed = float(config["delta"]), int(config["seed"])
    obj = build_objective(ocfg)
    x0 = np.array(obj.x0, dtype=np.float64)

    stochastic = getattr(obj, "stochastic_grad", None)
    oracle_kind = ocfg.get("oracle", "auto")
    if oracle_kind == "auto":
        oracle_kind = "stochastic" if stochastic is not None else "exact"
    if oracle_kind == "stochastic" and stochastic is None:
        raise ValueError(f"objective {ocfg['name']!r} has no stochastic oracle")

    measure = config["measure"]
    theory = mcfg["tuning"] == "theory"
    G = gap = None
    if theory:
        G, gap = resolve_constants(obj, ocfg)
    if measure == "budget":
        n_theory = int(config["budget"])
        run_budget = n_theory
    else:
        eps = float(config["epsilon"])
        if config.get("epsilon_scale", "absolute") == "lipschitz":
            if G is None:
                G, _ = resolve_constants(obj, {**ocfg, "gap": 1.0})
            eps *= G
        n_theory = theory_budget(eps, delta, G, gap) if theory else int(config["max_queries"])
        run_budget = int(config["max_queries"])
    if theory:
        p = ogd_parameters(n_theory, delta, G, gap)
        T = p.epoch_length
        lparams = _learner_params(mcfg["learner"], {"lr": p.lr, "radius": p.radius}, mcfg["learner_params"])
    else:
        T = int(mcfg["epoch_length"])
        lparams = dict(mcfg["learner_params"])
    if run_budget < T:
        if measure == "epsilon":
            return {"queries": None, "censored": True, "reason": f"max_queries {run_budget} < epoch length {T}",
                    "epoch_length": T, "theory_budget": n_theory, "grad_calls": 0, "eval_calls": 0,
                    "oracle": oracle_kind, "wall": time.perf_counter() - t0}
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

    state = {"first": None}
    callback = None
    if measure == "epsilon":
        def callback(k, stats):
            cert = tracker.certificates[k] if tracker is not None else float(stats["certificate"])
            if cert <= eps:
                state["first"] = (k, cert, int(stats["grad_calls"]), float(stats["radius"]))
                raise _Stop

    res = None
    try:
        res = o2nc.minimize(grad, x0, learner=learner, budget=run_budget, epoch_length=T,
                            scaling=mcfg["scaling"], seed=seed, restart=mcfg["restart"], callback=callback)
    except _Stop:
        pass

    out: dict[str, Any] = {"oracle": oracle_kind, "epoch_length": T, "theory_budget": n_theory,
                           "certificate_source": "exact-recomputed" if tracker is not None else
                           ("algorithm-exact" if oracle_kind == "exact" else "algorithm-stochastic"),
                           "learner_params": lparams}
    if theory:
        out["lipschitz"], out["gap"] = G, gap
    if measure == "epsilon":
        if state["first"] is not None:
            k, cert, calls, radius = state["first"]
            out.update(queries=calls, censored=False, epoch=k, certificate=cert, radius=radius, grad_calls=calls,
                       epsilon_abs=eps)
        else:
            K = res.epochs.certificate.shape[0]
            certs = tracker.certificates if tracker is not None else np.asarray(res.epochs.certificate).tolist()
            out.update(queries=None, censored=True, epochs=K, grad_calls=int(res.grad_calls),
                       certificate_best=float(np.min(certs)), epsilon_abs=eps)
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
        if theory:
            out["bound"] = float(ogd_bound(n_theory, delta, G, gap))
    out["eval_calls"] = int(tracker.exact_calls) if tracker is not None else 0
    out["wall"] = time.perf_counter() - t0
    return out


def execute(config: Mapping[str, Any]) -> dict:
    """Worker entry point: never raises; returns ``{"status": "done"|"error", "result"|"error": ..., "wall"}``."""
    t0 = time.perf_counter()
    try:
        result = run_config(config)
        return {"status": "done", "result": result, "wall": time.perf_counter() - t0}
    except Exception as exc:  # stored as data; the driver decides
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}",
                "wall": time.perf_counter() - t0}
