"""Execute one run configuration (in a worker): build the objective and the method (:mod:`o2nc.methods`), run, measure.

Every method — O2NC with a learner, or a baseline — is an :mod:`o2nc.methods` value
(:func:`o2nc.experiments.build.method_from`) run through its one ``run(objective, *, budget, delta, seed, oracle)``;
this module only turns a :class:`o2nc.methods.Run` into the stored measurements.

Two measurements ([CMO23] = Cutkosky, Mehta, Orabona, ICML 2023, Theorem 8 and its OGD corollary):

- ``measure = "budget"``: N gradient calls with the parameters the theory prescribes for N
  (:func:`o2nc.theory.ogd_parameters`: T = min(⌈(GδN/gap)^{2/3}⌉, ⌈N/2⌉), D = δ/T, η = D/(G√T)); the result holds the
  mean epoch certificate (the quantity Theorem 8 bounds), the best one and the bound itself.
- ``measure = "epsilon"``: the gradient calls at the end of the first epoch whose certificate is ≤ ε.  The parameters
  are the theory's for N_ε, the smallest budget whose Theorem-8 bound (:func:`o2nc.theory.ogd_bound`) is ≤ ε; the run
  stops at the first certified epoch or at ``max_queries`` (then stored as censored).

Certificates: with exact gradients the run's own ‖ĝ_k‖ certifies ‖∇F(w̄_k)‖_{r_k} ([CMO23] Definition 5: the epoch's
points have mean w̄_k and lie in B(w̄_k, r_k)).  With a stochastic oracle and ``certificate = "auto"``, each epoch's
certificate is recomputed from exact gradients at the same points w_t (one exact call per step, counted apart in
``eval_calls``), since ‖ĝ_k‖ is then only an estimate.

Theory constants (:func:`resolve_constants`, :func:`o2nc.methods.tuning.constants`): G is the objective's Lipschitz
constant; for a stochastic run whose noise level σ is known — the spec's ``sigma``, else the variance σ² the objective
declares (``extra["variance_bound"]`` or ``extra["noise_variance"]``) — G² is Lipschitz² + σ², since the tuning needs
E‖g‖² ≤ G² ([CMO23]'s assumption; derived here: E‖g‖² = ‖∇F‖² + E‖g − ∇F‖² ≤ Lipschitz² + σ² for an unbiased oracle).  A
stochastic run whose σ is not known takes σ = G: E‖g − ∇F‖² = E‖g‖² − ‖∇F‖² ≤ E‖g‖² ≤ G² under the same assumption (the
σ ≤ G of [CMO23]'s OGD corollary). An exact oracle has σ = 0.  σ enters every Theorem-8 budget and bound
(:func:`o2nc.theory.ogd_parameters`, :func:`o2nc.theory.ogd_bound`, :func:`theory_budget`): [CMO23] Theorem 8 bounds the
mean exact-gradient epoch certificate by gap/(DM) + E[R_T]/(DM) + σ/√T, which with restarted OGD is gap/(δK) + (G +
σ)/√T.  The gap is F(x0) − f*, or the objective's own ``extra["gap_bound"]`` when f* is unknown (the zero-chain hard
instance, whose bound is derived in ``objectives/hard_instance.py``).

The certificate of an O2NC run (``certificate_claim``, the scalar fields of an :class:`o2nc.Certificate` with
``is_proof``): the certified epoch of an epsilon run, else the epoch with the smallest certificate among those of
radius r_k ≤ δ (the epoch of smallest radius when none is, which then proves nothing at δ); kind
``"exact-gradient epoch"`` for an exact oracle or exact-recomputed certificates, ``"stochastic estimate"`` for the
run's own ‖ĝ_k‖ on a stochastic oracle (``certificate = "algorithm"``); radius r_k exact; ``calls`` the gradient calls
the run had made at the end of that epoch (what :class:`o2nc.Certificate` means by calls; before the runner went through
:mod:`o2nc.methods` it stored T, the epoch's own calls).  An epsilon run counts an epoch as certified only when its
radius is ≤ δ as well.

Zero-chain instances (``extra`` holding ``T`` and ``lam``): the result also records the chain progress prog_α(w̄/λ) =
max{i : |w̄_i/λ| > α} of the last epoch mean for α = 1/4, 1/2, 1 (Arjevani et al., Math. Prog. 2023), and, for a learner
with a radius D, the queries before coordinate T can move at all: each coordinate must pass λ/2 before the next one has
a non-zero gradient (Ψ = 0 on (−∞, ½]) and moves at most D per query, so ≥ T·λ/(2D) queries (derived here from the
zero-chain property of Carmon, Duchi, Hinder, Sidford, Math. Prog. 2020, and ‖Δ_n‖ ≤ D).

Method parameters may be expressions of the run's ε, δ and of the objective's G and ``extra`` (``"$delta /
$lipschitz"``, ``"0.25 * $extra.lam / $epsilon"``; :mod:`o2nc.experiments.spec`): they are evaluated here, for
the objective built for the run (:func:`method_params`), and the results store the values used.

Theory-tuned learners take :func:`o2nc.methods.learners.learner_defaults` at the run's δ (the defaults of
``o2nc run``): OGD, AdaGradNorm, optimistic OGD and FTRL exactly the step and radius they had before; a learner with
no radius bound (KT, ONS bettor, COCOB, FreeGrad, PFMD, direction-magnitude) now plays in BallConstraint(δ/T).

Baselines (``method["baseline"]``, :mod:`o2nc.baselines` through :mod:`o2nc.methods`): the budget run keeps
the certificate of the returned point; the epsilon run takes the first entry of the method's trace whose own
certificate is ≤ ε (methods with a sound certificate of their own, exact gradients), else the smallest budget of a
doubling grid n0·2^j (n0 = ``measure.doubling_start``, 64 by default; then the cap) whose returned point has a
certificate ≤ ε (resolution: a factor 2; the runs stop at the first certified budget).  The chain progress of a
baseline's epsilon run is that of the last run made (the certified one, or the cap run).

Engines: an O2NC method with ``engine = "compiled"`` runs through :func:`o2nc.experiments.batched.run_method`, the
conversion core jitted with jax (the same tuning, s-sequence, noise stream and results as the default loop, a test
holds them equal; below 1 µs per query on the 2-dimensional tight family against hundreds for the eager loop,
measured on a loaded 2-core machine, ``docs/complexity.md``).

Bound ratio and travel (every epsilon run, O2NC or baseline): ``bound_budget`` is O2NC's Theorem-8 budget N_ε at the
run's (ε, δ) and the objective's G, gap and σ (:func:`theory_budget`, the smallest N with gap/(δK) + (G+σ)/√T ≤ ε),
and ``bound_ratio`` = queries / N_ε: above 1 an O2NC run needed more than its theorem allows (in expectation; one
run may), for a baseline it compares its count with O2NC's guarantee.  A censored run stores ``bound_ratio_above`` =
max_queries / N_ε instead.  A budget run stores ``bound_ratio`` = its mean certificate / its Theorem-8 bound.  An
O2NC epsilon run on an objective with a known minimiser x* also stores ``travel_queries`` = T·‖x0 − x*‖/δ and
``travel_ratio`` = queries / travel_queries: each epoch moves the anchor by at most T·D = δ ([CMO23] Theorem 8's
D = δ/T; with a full-step scaling, and in expectation under the exponential one, whose steps move it by s_n‖Δ_n‖,
s_n ~ Exp(1)), so reaching x* takes at least ‖x0 − x*‖/δ epochs; a ratio near 1 says the run was *travel-limited* — its
count is set by T(ε) and the distance, not by the certificate's convergence (when x* is the nearest (δ, ε)-stationary
point this is a lower bound; otherwise a reference scale).

The worker returns plain data; only the driver writes to the results store.
"""
from __future__ import annotations

import dataclasses
import math
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from o2nc.experiments.build import build_objective, method_from
from o2nc.experiments.expr import substitute
from o2nc.methods.oracles import BudgetTooSmall
from o2nc.methods.tuning import constants, noise_variance, theory_budget  # noqa: F401  (re-exported)

__all__ = ["execute", "run_config", "build_objective", "resolve_constants", "theory_budget", "method_params",
           "noise_variance"]

#: The theory constants an O2NC result stores (:func:`o2nc.methods.tuning.constants`).
THEORY_KEYS = ("lipschitz", "gap", "lipschitz_declared", "noise_variance", "sigma", "sigma_source", "gap_source")


def resolve_constants(obj, ocfg: Mapping[str, Any], *, stochastic: bool = False) -> tuple[float, float, dict]:
    """(G, gap, info) for the theory tuning of a run on the objective config ``ocfg`` (its ``lipschitz``,
    ``gap`` and ``sigma`` override the objective's): :func:`o2nc.methods.tuning.constants`, whose docstring
    derives σ, G = √(Lipschitz² + σ²) and the gap; ``info["sigma"]`` is the σ of [CMO23] Theorem 8."""
    c = constants(obj, stochastic=stochastic, lipschitz=ocfg.get("lipschitz"), gap=ocfg.get("gap"),
                  sigma=ocfg.get("sigma"), name=ocfg.get("name"))
    return c.lipschitz, c.gap, c.info


def chain_progress(obj, point) -> dict | None:
    """prog_α(point/λ) for α = 1/4, 1/2, 1 on a zero-chain instance (``extra`` with ``T`` and ``lam``), else None
    (Arjevani et al., Math. Prog. 2023: prog_α(x) = max{i : |x_i| > α}, 0 when there is none)."""
    extra = getattr(obj, "extra", None) or {}
    if "lam" not in extra or "T" not in extra:
        return None
    y = np.abs(np.asarray(point, dtype=np.float64)) / float(extra["lam"])

    def prog(alpha):
        idx = np.flatnonzero(y > alpha)
        return int(idx[-1] + 1) if idx.size else 0

    return {"T": int(extra["T"]), "prog_quarter": prog(0.25), "prog_half": prog(0.5), "prog_one": prog(1.0)}


def method_params(params: Mapping[str, Any], obj, ocfg: Mapping[str, Any], eps: float | None, delta: float) -> dict:
    """A method's parameters for one run: expressions evaluated with the run's absolute ε and δ, the objective's
    Lipschitz constant (the spec's ``lipschitz``, else the objective's) and its ``extra``
    (:func:`o2nc.experiments.expr.substitute`)."""
    lip = ocfg.get("lipschitz", getattr(obj, "lipschitz", None))
    return substitute(params, epsilon=eps, delta=delta, lipschitz=lip, extra=getattr(obj, "extra", None))


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
    t0 = time.perf_counter()
    ocfg = config["objective"]
    delta = float(config["delta"])
    measure = config["measure"]
    eps = None
    if measure == "epsilon" and config.get("epsilon_scale", "absolute") == "absolute":
        eps = float(config["epsilon"])
    obj = build_objective(ocfg, epsilon=eps, delta=delta, factories=factories)
    if measure == "epsilon" and eps is None:
        eps = _epsilon_abs(config, obj, ocfg)
    method = method_from(config, obj, epsilon=eps)
    out = _run_baseline(config, method, obj, eps, t0) if method.family == "baseline" else \
        _run_o2nc(config, method, obj, eps, t0)
    out.update(_bound_and_travel(config, method, obj, eps, out))
    return out


def _bound_and_travel(config: Mapping[str, Any], method, obj, eps: float | None, out: Mapping[str, Any]) -> dict:
    """The run's bound ratio and travel ratio (module docstring, "Bound ratio and travel")."""
    from o2nc.methods.oracles import uses_stochastic

    extra: dict[str, Any] = {}
    delta = float(config["delta"])
    if config["measure"] == "budget":
        if out.get("bound"):
            extra["bound_ratio"] = float(out["certificate_mean"]) / float(out["bound"])
        return extra
    try:
        stochastic = uses_stochastic("run", obj, config["objective"].get("oracle", "auto"))
        G, gap, info = resolve_constants(obj, config["objective"], stochastic=stochastic)
        budget = int(theory_budget(eps, delta, G, gap, info["sigma"]))
    except (ValueError, TypeError, KeyError) as exc:  # no Lipschitz constant or gap: no Theorem-8 budget
        extra["bound_note"] = f"no Theorem-8 budget: {exc}"
        return extra
    extra["bound_budget"] = budget
    q = out.get("queries")
    if q is not None:
        extra["bound_ratio"] = q / budget
    else:  # censored: the queries exceed the cap, so the ratio exceeds cap / budget
        extra["bound_ratio_above"] = int(config["max_queries"]) / budget
    x_star = getattr(obj, "x_star", None)
    T = out.get("epoch_length")
    if method.family == "o2nc" and x_star is not None and T:
        dist = float(np.linalg.norm(np.asarray(obj.x0, dtype=np.float64) - np.asarray(x_star, dtype=np.float64)))
        if dist > 0:
            extra["travel_queries"] = T * dist / delta
            if q is not None:
                extra["travel_ratio"] = q / extra["travel_queries"]
    return extra


def _run_o2nc(config: Mapping[str, Any], method, obj, eps: float | None, t0: float) -> dict:
    """One run of an O2NC method (see the module docstring for the two measurements)."""
    from o2nc.theory import ogd_bound

    ocfg = config["objective"]
    delta, seed, measure = float(config["delta"]), int(config["seed"]), config["measure"]
    run_budget = int(config["budget"]) if measure == "budget" else int(config["max_queries"])
    if config["method"].get("engine", "loop") == "compiled":
        from o2nc.experiments.batched import run_method

        _jax_float64()
        run = run_method(method, obj, budget=run_budget, delta=delta, seed=seed, oracle=ocfg.get("oracle", "auto"))
    else:
        run = method.run(obj, budget=run_budget, delta=delta, seed=seed, oracle=ocfg.get("oracle", "auto"))
    info = run.info
    T = int(info["epoch_length"])
    theory = method.tuning == "theory"
    out: dict[str, Any] = {"oracle": info["oracle"], "epoch_length": T, "theory_budget": int(info["theory_budget"]),
                           "learner_params": _plain(info["learner_params"])}
    if theory:
        out.update({k: info[k] for k in THEORY_KEYS if k in info})
    chain_min = None
    extra = getattr(obj, "extra", None) or {}
    step = info.get("radius") if theory else info["learner_params"].get("radius")
    if "lam" in extra and "T" in extra and step:
        # zero chain: coordinate i+1 moves only once |w_i| > λ/2; each query moves a coordinate by <= D
        chain_min = int(math.ceil(int(extra["T"]) * float(extra["lam"]) / (2.0 * float(step))))
    if run.certificate is None:  # the budget is shorter than one epoch
        if measure != "epsilon":
            raise ValueError(f"budget {run_budget} is shorter than one epoch ({T})")
        out.update(queries=None, censored=True, reason=f"max_queries {run_budget} < epoch length {T}",
                   grad_calls=0, eval_calls=0, epsilon_abs=eps)
        out["wall"] = time.perf_counter() - t0
        if chain_min is not None:
            out["chain_min_queries"] = chain_min
        return out
    out["certificate_source"] = run.certificate_source
    certs = np.asarray(run.trace["certificate"], dtype=float)
    radii = np.asarray(run.trace["radius"], dtype=float)
    if measure == "epsilon":
        if run.stopped == "target":  # the run stopped after its first epoch certified at (δ, ε)
            k = certs.shape[0] - 1
            calls = int(run.trace["calls"][k])
            out.update(queries=calls, censored=False, epoch=k, certificate=float(certs[k]), radius=float(radii[k]),
                       grad_calls=calls, epsilon_abs=eps)
        else:
            out.update(queries=None, censored=True, epochs=int(certs.shape[0]), grad_calls=int(run.grad_calls),
                       certificate_best=float(np.min(certs)), epsilon_abs=eps)
    else:
        out.update(grad_calls=int(run.grad_calls), epochs=int(certs.shape[0]),
                   certificate_mean=float(certs.mean()), certificate_best=float(certs.min()),
                   certificate_last=float(certs[-1]), radius_max=float(radii.max()),
                   certificate=float(certs.mean()))
        if theory:  # [CMO23] Theorem 8 with restarted OGD: gap/(δK) + (G + σ)/√T at this run's T and K
            out["bound"] = float(ogd_bound(int(info["theory_budget"]), delta, info["lipschitz"], info["gap"],
                                           info["sigma"]))
    out["certificate_claim"] = _claim(run.certificate)
    prog = chain_progress(obj, np.asarray(run.trace["mean"])[-1])
    if prog is not None:
        out["chain"] = prog
    if chain_min is not None:
        out["chain_min_queries"] = chain_min
    out["eval_calls"] = int(run.certificate_calls)
    out["wall"] = time.perf_counter() - t0
    return out


def _jax_float64() -> None:
    """jax in 64-bit mode (a compiled run must give the float64 trajectory of :func:`o2nc.minimize`)."""
    import jax

    if not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)


#: The smallest budget of the doubling grid of a baseline's epsilon run (``measure.doubling_start`` overrides it).
DOUBLING_START = 64


def _first_certified(trace: Mapping[str, np.ndarray], eps: float) -> int | None:
    """Index of the first trace entry whose (finite) certificate is ≤ ε, or None."""
    cert = np.asarray(trace.get("certificate", []), dtype=float)
    hit = np.flatnonzero(np.isfinite(cert) & (cert <= eps))
    return int(hit[0]) if hit.size else None


def _run_baseline(config: Mapping[str, Any], method, obj, eps: float | None, t0: float) -> dict:
    """One run of a baseline (see the module docstring for the two measurements)."""
    ocfg, mcfg = config["objective"], config["method"]
    delta, seed = float(config["delta"]), int(config["seed"])
    oracle = ocfg.get("oracle", "auto")
    out: dict[str, Any] = {"baseline": mcfg["baseline"], "baseline_params": _plain(method.baseline(delta).params()),
                           "query_kind": "gradient" if method.order == "first-order" else "evaluation"}

    def run(budget: int):
        return method.run(obj, budget=budget, delta=delta, seed=seed, oracle=oracle)

    def summary(res) -> dict:
        cert = res.certificate
        return {"certificate": float(res.epsilon), "certificate_source": res.certificate_source,
                "grad_calls": int(res.grad_calls), "value_calls": int(res.value_calls),
                "eval_calls": int(res.certificate_calls), "stopped": res.stopped,
                "certificate_delta": float(res.delta),
                "certificate_claim": None if cert is None else _claim(cert)}

    if config["measure"] == "budget":
        res = run(int(config["budget"]))
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
            first = run(n0)
            break
        except BudgetTooSmall as exc:
            if n0 < cap:
                n0 = min(2 * n0, cap)
                continue
            # the cap cannot pay for one iteration: unsolved within the cap (no call made, no point returned)
            out.update(queries=None, censored=True, certificate=None, certificate_best=None, resolution="doubling",
                       stopped="budget", grad_calls=0, value_calls=0, eval_calls=0, certificate_source="none",
                       certificate_claim=None, doubling_start=n0, unsolved_reason=str(exc),
                       work={"grad_calls": 0, "value_calls": 0, "eval_calls": 0})
            out["wall"] = time.perf_counter() - t0
            return out
    if first.certificate_source == "own" and first.certificate.proves(delta, math.inf):
        res = first if n0 == cap else run(cap)
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
            res = first if n == n0 else run(n)
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
