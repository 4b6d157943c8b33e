"""What every baseline shares: the result type, oracle counting under a budget, validation, certificates, traces.

A baseline is a frozen dataclass of hyperparameters with one method,
``minimize(problem, x0, *, budget, seed=0, record=False, oracle="auto", certify=True) -> Run`` (the library's one
result type, :class:`o2nc.methods.Run`; ``BaselineResult`` is another name for it).
``problem`` offers ``value(x)``, ``grad(x)`` and optionally ``stochastic_grad(x, rng)`` (an objective of the bank,
a counting wrapper around one, or any object with those methods). Each method calls only the oracles it needs,
through :class:`Oracles`, which counts the calls and refuses to exceed the budget.

The budget counts oracle calls: gradient calls (exact or stochastic) for first-order methods, function
evaluations for zero-order ones. Calls spent on a certificate computed after the run are reported apart
(``certificate_calls``) and never taken from the budget.

Certificates (Goldstein (δ,ε)-stationarity; Zhang, Lin, Jegelka, Sra, Jadbabaie, ICML 2020) are
:class:`o2nc.Certificate` values:

* a method's own certificate where it has a sound one — INGD's and perturbed INGD's ‖m‖ (radius ``δ`` as a proven
  bound, ``radius_kind="bound"``: their points are drawn within the rounding-safe radius of
  :func:`o2nc.certify.rounding_safe_radius`, so that the computed points lie in the δ-ball; their distances are not
  recomputed), gradient sampling's and BFGS's min-norm values (the exact largest distance as radius), each an element
  of the hull of exact gradients at points within the radius of the returned point, hence an upper bound on
  dist(0, ∂_δ F(point)): kind ``"sampled one-sided"``;
* with a stochastic oracle the same running quantity is built from stochastic gradients and proves nothing: it is
  returned as kind ``"stochastic estimate"`` (``estimate="baseline running"``) only when no exact certificate is
  computed (``certify=False``);
* otherwise :func:`o2nc.certify.goldstein` at the output point with exact gradients — an upper bound on
  dist(0, ∂_δ F(x)) (Burke, Lewis, Overton, SIAM J. Optim. 15(3), 2005): kind ``"sampled one-sided"``, with the
  radius that function reports (radius_kind ``"exact"``); the problem must then have a callable ``grad`` (checked
  before the run, zero-order methods included), and a non-finite gradient there is a :class:`NonFiniteOracleError`;
* with ``certify=False`` and no certificate of the method's own, ``certificate`` is None: the run claims nothing.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

import numpy as np

from o2nc.certificate import Certificate
from o2nc.methods.checks import (  # noqa: F401  (the shared argument checks, re-exported for the baselines)
    check_choice,
    check_count,
    check_learner,
    check_open_unit,
    check_positive,
    check_seed,
)
from o2nc.methods.oracles import (  # noqa: F401  (the one oracle counter, re-exported)
    ORACLE_MODES,
    BudgetExhausted,
    NonFiniteOracleError,
    Oracles,
    stochastic_oracle,
    uses_stochastic,
)
from o2nc.methods.result import Run

__all__ = [
    "BaselineResult",
    "Baseline",
    "Oracles",
    "NonFiniteOracleError",
    "BudgetExhausted",
    "Trace",
    "ORACLE_MODES",
    "OUTPUTS",
]

OUTPUTS = ("last", "random", "average")


#: What a baseline's ``minimize`` returns: the library's one result type, :class:`o2nc.methods.Run` (``method`` is the
#: baseline's registry name, ``info`` its hyperparameters and order, ``history`` the per-iteration record with
#: ``record=True``).  ``certificate_source`` is ``"own"`` (the method's certificate, exact gradients), ``"estimate"``
#: (its running quantity from stochastic gradients, ``certify=False``), ``"goldstein"`` (:func:`o2nc.certify.goldstein`
#: at ``point``, its exact calls in ``certificate_calls``, apart from the budget) or ``"none"``.
BaselineResult = Run


# ------------------------------------------------------------------------------------------------ the base class


@dataclass(frozen=True, kw_only=True)
class Baseline:
    """Shared fields: the certificate radius ``delta`` and the number of sampled points of a computed certificate.

    Args:
        delta: the Goldstein radius δ > 0 the certificate is for (for INGD, perturbed INGD and gradient sampling it
            is also the method's own step length or sampling radius).
        certificate_samples: points sampled in B(x, δ) by :func:`o2nc.certify.goldstein` when the method has no
            certificate of its own; None: max(16, HANSO's min(100, 2d, d + 10)).
    """

    delta: float = 0.1
    certificate_samples: int | None = None

    #: "first-order" (budget = gradient calls) or "zero-order" (budget = function evaluations); set per class.
    order = "first-order"
    #: The proven rate, one line (the class docstring has the details and the source).
    rate = ""

    def __post_init__(self):
        owner = type(self).__name__
        check_positive(owner, "delta", self.delta)
        check_count(owner, "certificate_samples", self.certificate_samples, minimum=0, optional=True)
        self._validate()

    def _validate(self) -> None:
        """Per-class hyperparameter checks (a ValueError naming the parameter); the shared fields need no more."""

    def params(self) -> dict[str, Any]:
        """The hyperparameters as a dict (for result stores and ``o2nc run``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    # subclasses implement _run(problem, x0, calls, rngs, record) -> _RunOutput
    def minimize(self, problem, x0, *, budget: int, seed: int = 0, record: bool = False, oracle: str = "auto",
                 certify: bool = True) -> BaselineResult:
        """Run the method on ``problem`` from ``x0`` with ``budget`` oracle calls.

        Args:
            problem: an object with ``value(x)`` and ``grad(x)`` and optionally ``stochastic_grad(x, rng)``.
            x0: the starting point (converted to a numpy float64 vector).
            budget: oracle calls: gradient calls for first-order methods, function evaluations for zero-order ones.
            seed: seeds every random choice of the run (algorithm, oracle noise, certificate samples) through
                independent streams of ``numpy.random.SeedSequence(seed)``.
            record: keep per-iteration ``history``.
            oracle: ``"auto"`` (the stochastic oracle when the problem has one, else the exact gradient),
                ``"exact"`` or ``"stochastic"`` (a ValueError when the problem has no ``stochastic_grad``).
                Zero-order methods query function values only, and the deterministic first-order methods (BFGS,
                gradient sampling) use exact gradients only: for them ``"auto"`` and ``"exact"`` run alike, and
                ``"stochastic"`` is refused with a ValueError, rather than run on exact gradients unsaid.
            certify: compute a :func:`o2nc.certify.goldstein` certificate at the output when the method has no
                sound one of its own (exact-gradient calls counted apart, in ``certificate_calls``).  With False,
                such a run returns ``certificate=None`` (a method's running quantity from stochastic gradients is
                returned as a ``"stochastic estimate"``).

        Returns:
            a :class:`o2nc.methods.Run` (``BaselineResult`` is that type).

        Raises:
            TypeError: naming ``problem`` when it lacks the oracle the run needs: ``grad`` (first-order methods, and
                every method with ``certify=True``), ``value`` (zero-order methods); checked before any call.
            ValueError: naming the argument (``budget``, ``seed``, ``oracle``, ``x0``).
            NonFiniteOracleError: an oracle returned NaN or inf, in the run or in the certificate.
        """
        owner = type(self).__name__
        check_count(owner, "budget", budget)
        seed = check_seed(owner, seed)
        check_choice(owner, "oracle", oracle, ORACLE_MODES)
        x0 = np.array(x0, dtype=np.float64).reshape(-1)
        if x0.size == 0 or not np.all(np.isfinite(x0)):
            raise ValueError(f"{owner}: `x0` must be a non-empty finite vector")
        for name in ("grad",) if self.order == "first-order" else ("value",):
            if not callable(getattr(problem, name, None)):
                raise TypeError(f"{owner}: `problem` must have a callable `{name}` method")
        if certify and not callable(getattr(problem, "grad", None)):  # zero-order: the certificate needs gradients
            raise TypeError(f"{owner}: `problem` must have a callable `grad` method for the certificate computed "
                            "with certify=True; pass certify=False to run on function values alone")
        algo_seq, oracle_seq, cert_seq = np.random.SeedSequence(int(seed)).spawn(3)
        stochastic = False
        if self.order == "first-order":
            if oracle == "stochastic" and not self._uses_stochastic():
                raise ValueError(f"{owner}: `oracle='stochastic'` is not accepted by a deterministic method (it runs "
                                 "on exact gradients only, see its docstring); accepted: 'auto' (exact gradients "
                                 "here) or 'exact'")
            stochastic = uses_stochastic(owner, problem, oracle) and self._uses_stochastic()
        elif oracle == "stochastic":
            raise ValueError(f"{owner}: `oracle='stochastic'` is not accepted by a zero-order method (it queries "
                             "function values only); accepted: 'auto' or 'exact'")
        calls = Oracles(problem, budget=int(budget), counts="grad" if self.order == "first-order" else "value",
                        stochastic=stochastic, rng=np.random.default_rng(oracle_seq), owner=owner)
        out = self._run(problem, x0, calls, np.random.default_rng(algo_seq), bool(record))
        point = np.asarray(out.point, dtype=np.float64)
        delta = float(out.delta if out.delta is not None else self.delta)
        cert_calls = 0
        certificate: Certificate | None = None
        if out.certificate is not None and not (stochastic and out.certificate_needs_exact):
            certificate, source = _own_certificate(out, point, delta, calls.grad_calls, "own"), "own"
        elif certify:
            certificate = goldstein_certificate(problem, point, delta, self.certificate_samples,
                                                int(cert_seq.generate_state(1)[0]), owner=owner)
            source, cert_calls = "goldstein", certificate.calls
        elif out.certificate is not None:  # a running quantity of stochastic gradients: an estimate, not a proof
            certificate, source = _own_certificate(out, point, delta, calls.grad_calls, "estimate"), "estimate"
        else:
            source = "none"
        return Run(method=_registry_name(type(self)), point=point, certificate=certificate, delta=delta,
                   grad_calls=int(calls.grad_calls), value_calls=int(calls.value_calls), trace=out.trace.arrays(),
                   stopped=out.stopped, certificate_source=source, certificate_calls=int(cert_calls),
                   info={"params": self.params(), "order": self.order},
                   history=None if out.history is None else _stack_history(out.history))

    def _uses_stochastic(self) -> bool:
        """Whether this method may use the stochastic oracle (deterministic methods override with False)."""
        return True

    def _run(self, problem, x0, calls: Oracles, rng: np.random.Generator, record: bool) -> RunOutput:
        raise NotImplementedError


def _registry_name(cls) -> str:
    """The name ``cls`` is registered under in :mod:`o2nc.baselines` (its class name when it is not registered)."""
    from o2nc.baselines import registry

    for entry in registry.entries():
        if entry.factory is cls:
            return entry.name
    return cls.__name__


class RunOutput(NamedTuple):
    point: np.ndarray
    certificate: float | None  # the method's own certificate value ε, or None
    trace: Trace
    history: dict | None
    stopped: str
    delta: float | None = None  # the certificate radius when it differs from the field `delta`
    certificate_needs_exact: bool = True  # an own certificate is sound only with exact gradients
    certificate_calls: int | None = None  # calls the run had made when its own certificate was obtained
    certificate_kind: str = "sampled one-sided"  # what the own certificate is with exact gradients (o2nc.Certificate)
    certificate_radius_kind: str = "bound"  # "bound": the points lie within `delta` by construction
    certificate_estimate: str | None = None  # what the own quantity is on a stochastic oracle (o2nc.Certificate)


def _own_certificate(out: RunOutput, point: np.ndarray, delta: float, grad_calls: int, source: str) -> Certificate:
    """The method's own certificate as an :class:`o2nc.Certificate`.

    ``source="own"``: exact gradients, the method's kind.  ``source="estimate"``: stochastic gradients, kind
    ``"stochastic estimate"`` (the running quantity is a norm of a combination of noisy gradients; nothing bounds
    the Goldstein distance by it for this run).  ``calls``: the budgeted calls the run had made when the certificate was
    obtained where the method records it, else all the run's calls (an upper bound on that).
    """
    kind = out.certificate_kind if source == "own" else "stochastic estimate"
    calls = int(out.certificate_calls) if out.certificate_calls is not None else int(grad_calls)
    return Certificate(point=point, delta=delta, epsilon=float(out.certificate), kind=kind,
                       radius_kind=out.certificate_radius_kind, calls=calls,
                       estimate=None if source == "own" else (out.certificate_estimate or "baseline running"))


def _stack_history(history: dict) -> dict:
    out = {}
    for k, v in history.items():
        try:
            out[k] = np.asarray(v, dtype=np.float64)
        except (ValueError, TypeError):  # ragged (e.g. per-iteration lists of different lengths)
            out[k] = list(v)
    return out


# ------------------------------------------------------------------------------------------------ trace


class Trace:
    """Per-iteration lists: budgeted calls so far, F at the iterate (NaN if not evaluated), running certificate."""

    def __init__(self):
        self.calls, self.value, self.certificate = [], [], []
        self.extra: dict[str, list] = {}  # method-specific per-iteration series (e.g. estimated certificates)

    def add(self, calls: int, value: float = math.nan, certificate: float = math.nan) -> None:
        self.calls.append(int(calls))
        self.value.append(float(value))
        self.certificate.append(float(certificate))

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"calls": np.asarray(self.calls, dtype=np.int64), "value": np.asarray(self.value, dtype=np.float64),
               "certificate": np.asarray(self.certificate, dtype=np.float64)}
        out.update({k: np.asarray(v, dtype=np.float64) for k, v in self.extra.items()})
        return out


# ------------------------------------------------------------------------------------------------ certificates


def certificate_sample_count(samples: int | None, dim: int) -> int:
    if samples is not None:
        return int(samples)
    from o2nc.certify import default_samples

    return max(16, default_samples(dim))


def goldstein_certificate(problem, x: np.ndarray, delta: float, samples: int | None, seed: int, *,
                          owner: str = "certificate") -> Certificate:
    """:func:`o2nc.certify.goldstein` at ``x`` with the problem's exact gradient (an :class:`o2nc.Certificate`).

    Kind ``"sampled one-sided"``: ε = min ‖Σ λ_i ∇F(y_i)‖ over the hull of exact gradients at points y_i sampled in
    B(x, δ), an upper bound on dist(0, ∂_r F(x)) for the radius r it reports (Burke, Lewis, Overton, SIAM J. Optim.
    15(3), 2005); the radius is the one :func:`o2nc.certify.goldstein` reports (``radius_kind="exact"``), ``calls``
    the exact-gradient calls it cost (counted apart from the budget).  A non-finite gradient is a
    :class:`NonFiniteOracleError` naming ``owner`` and the sampled point, as in the run itself.
    """
    from o2nc.certify import goldstein

    grad, count = problem.grad, [0]

    def checked_grad(y):
        g = np.asarray(grad(y), dtype=np.float64)
        count[0] += 1
        if not np.all(np.isfinite(g)):
            raise NonFiniteOracleError(f"{owner}: the gradient at certificate point {count[0]} is not finite")
        return g

    return goldstein(checked_grad, x, delta, samples=certificate_sample_count(samples, x.shape[0]), seed=seed,
                     exact=False)


# ------------------------------------------------------------------------------------------------ shared helpers


def select_output(output: str, iterates: list, last: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The output point: ``last`` iterate, a uniformly ``random`` query point (Ghadimi & Lan 2013), or their
    ``average``."""
    if output == "last" or not iterates:
        return last
    if output == "random":
        return iterates[int(rng.integers(len(iterates)))]
    return np.mean(np.stack(iterates), axis=0)


def two_point_estimate(calls: Oracles, x: np.ndarray, radius: float, directions: np.ndarray) -> np.ndarray:
    r"""Mean over the rows w_j of ``directions`` (unit vectors) of (d/(2ρ))(f(x + ρw_j) − f(x − ρw_j)) w_j.

    An unbiased estimate of ∇f_ρ(x), the gradient of the uniform smoothing f_ρ(x) = E_{u∼Unif(B)} f(x + ρu), with
    E‖g‖² ≤ 16√(2π) d L² for L-Lipschitz f (Lin, Zheng, Jordan, NeurIPS 2022, Lemma D.1, as restated by Liu, Luo, Low,
    NeurIPS 2024, Lemmas 3.7–3.8; the constant is quoted, not re-derived here). Costs 2·(rows) function evaluations.
    """
    d = x.shape[0]
    g = np.zeros(d)
    for w in directions:
        diff = calls.value(x + radius * w) - calls.value(x - radius * w)
        g += (d / (2.0 * radius)) * diff * w
    return g / directions.shape[0]


def sphere_directions(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    """``count`` independent directions uniform on the unit sphere S^{dim−1} (normalised Gaussians)."""
    w = rng.standard_normal((count, dim))
    n = np.linalg.norm(w, axis=1, keepdims=True)
    while np.any(n == 0.0):  # probability zero; redraw rather than divide by zero
        bad = (n == 0.0).reshape(-1)
        w[bad] = rng.standard_normal((int(bad.sum()), dim))
        n = np.linalg.norm(w, axis=1, keepdims=True)
    return w / n


def run_first_order(x0: np.ndarray, calls: Oracles, rng: np.random.Generator, record: bool, output: str,
                    init: Callable[[np.ndarray], dict], step: Callable[[dict, np.ndarray, int], dict]) -> RunOutput:
    """The loop shared by the gradient methods without a certificate of their own.

    ``init(x0)`` returns the state, a dict holding at least ``query`` (where the next gradient is taken) and ``x``
    (the method's current output candidate); ``step(state, g, t)`` returns the state after the t-th gradient g
    (t = 1, 2, …). One gradient call per iteration until the budget is spent. ``output`` selects the returned
    point among the candidates (:func:`select_output`).
    """
    state = init(x0)
    trace = Trace()
    history = {"x": [], "query": []} if record else None
    candidates = [] if output != "last" else None
    t = 0
    while calls.remaining > 0:
        t += 1
        query = state["query"]
        g = calls.grad(query)
        if candidates is not None:
            candidates.append(state["x"] if output == "average" else query)
        state = step(state, g, t)
        trace.add(calls.used)
        if record:
            history["query"].append(query)
            history["x"].append(state["x"])
    point = select_output(output, candidates or [], state["x"], rng)
    return RunOutput(point=point, certificate=None, trace=trace, history=history, stopped="budget")
