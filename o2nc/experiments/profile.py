r"""The bank as a benchmark: every method × many problems × seeds, at its theory tuning and tuned on an equal grid.

A *profile spec* (TOML, YAML or JSON, or a dict; ``experiments/profile.toml`` is the shipped one) names problems of
the objective bank, methods of :mod:`o2nc.methods`, one δ, a few ε, seeds and a cap on the calls.
:func:`load_profile` validates it and compiles it into an ordinary sweep spec (:mod:`o2nc.experiments.spec`): one
``measure = "epsilon"`` run per (problem, method configuration, ε, seed).  :func:`run_profile` runs that sweep with
:func:`o2nc.experiments.run_sweep` (local processes, threads, or dask; resumable on the results store) and
:func:`collect` reads the store back into the calls table that :mod:`o2nc.experiments.profile_report` turns into
performance and data profiles and a leaderboard.

**Calls.** A problem is solved by a run when it reaches a (δ, ε) certificate of :class:`o2nc.Certificate`
(:mod:`o2nc.experiments.runner`): O2NC at its first certified epoch; a baseline with a sound running certificate at
the first certified trace entry; any other baseline at the smallest budget 16·2^j whose returned point is certified.
Its count (:func:`calls_of`, stated in :data:`CALLS_COUNTED`) has two parts: the method's oracle calls until then,
which ``max_queries`` caps (the runner stops every run of a method there), and the calls the certificate itself made
(``eval_calls``: the exact gradients that recompute O2NC's certificates on a stochastic oracle, the sampled gradients
that certify a baseline's returned point), which the cap does not limit: a count exceeds ``max_queries`` by at most
those.  A doubling grid's count is the certified run's alone (its budget and its certificate); the grid's earlier,
smaller runs, which did not certify, are not counted (the stored result's ``work`` holds every call the grid spent).
Zero-order methods count function evaluations.  A run that is not certified within ``max_queries`` is unsolved
(``None``).  A run stored as an error (it raised instead of finishing) counts as unsolved as well, and
:func:`collect` lists it apart (``errors``), so that a report can tell a crash from a failure to converge.

**Tuning** (the same budget for every method that has a step to tune: three configurations per problem):

- O2NC with OGD and with AdaGradNorm: the theory tuning of [CMO23] Theorem 8 for N_ε (the smallest budget whose
  bound is ≤ ε; :func:`o2nc.methods.tuning.theory_budget`), and the same structure at two fixed epoch lengths T
  (``epoch_lengths``): radius D = δ/T (so every epoch has r_k ≤ δ) and, for OGD, η = D/(G√T) ([CMO23] §4).
- Baselines with a step size: a reference step rule (:data:`RULES`), multiplied by each factor of ``grid``
  (which must contain 1: the reference is the "theory" entry).
- O2NC with KT (parameter-free), INGD, perturbed INGD, gradient sampling and BFGS have no step size: one
  configuration, which is both their theory and their tuned entry.

The *tuned* entry of a method on a problem is its configuration with the fewest calls (median over seeds, unsolved
counted as +∞); choosing it on the seeds it is measured on favours tuned entries a little.

References: [CMO23] Cutkosky, Mehta, Orabona, ICML 2023 (arXiv 2302.03775); the profiles are Dolan & Moré,
Math. Program. 91 (2002) and Moré & Wild, SIAM J. Optim. 20 (2009) (:mod:`o2nc.experiments.profile_report`).
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from o2nc.experiments.spec import SpecError, _json_params, _read_file, load_spec
from o2nc.methods.builtin import PRESETS

__all__ = ["ProfileSpec", "Config", "RULES", "O2NC_LEARNERS", "OPTIONAL_METHODS", "load_profile", "run_profile",
           "collect", "DEFAULT_METHODS", "configurations", "calls_of", "certificate_calls_of", "problem_label",
           "CALLS_COUNTED"]

#: O2NC methods of :mod:`o2nc.methods` the profile runs, and their learner (``o2nc.methods.builtin.PRESETS``).
O2NC_LEARNERS = {m: PRESETS[m][0]["learner"] for m in ("o2nc_ogd", "o2nc_adagrad_norm", "o2nc_kt", "o2nc_optimistic")}

#: Methods the profile tunes when a spec names them, outside its default set (``o2nc_optimistic``: its hint,
#: the preset's, costs no extra query but the published profile was run without it).
OPTIONAL_METHODS = ("o2nc_optimistic",)

#: Baselines' reference settings: (the parameter the grid scales, its reference expression in the sweep's expression
#: language, the other fixed parameters).  The reference steps keep one step within δ, so that the iterates can settle
#: in a δ-ball where a Goldstein certificate is small: SGD-type steps η·g with ‖g‖ ≤ G move ≤ δ at η = δ/G; a
#: momentum method averages about 1/(1 − β) = 10 steps, so its steps are a tenth of that; zero-order O2NC is tuned by
#: its own theory from the G it is given, so the grid divides that G.
RULES: dict = {
    "sgd": ("lr", "$delta / $lipschitz", {}),
    "sgd_momentum": ("lr", "0.1 * $delta / $lipschitz", {}),
    "nsgdm": ("lr", "0.1 * $delta", {}),
    "adam": ("lr", "0.1 * $delta", {}),
    "mechanic": ("lr", "$delta / $lipschitz", {}),
    "schedule_free": ("lr", "$delta / $lipschitz", {}),
    "gfm": ("lr", "$delta / $lipschitz", {}),
    "gfm_plus": ("lr", "$delta / $lipschitz", {}),
    "zo_o2nc": ("lipschitz", "$lipschitz", {}),
    "ingd": (None, None, {"epsilon": "$epsilon"}),
    "pingd": (None, None, {"epsilon": "$epsilon"}),
    "gradient_sampling": (None, None, {}),
    "bfgs": (None, None, {}),
}

#: The methods a profile runs by default: every method of :mod:`o2nc.methods` the profile knows how to tune but the
#: optional ones (``o2nc`` is ``o2nc_ogd`` under another name).
DEFAULT_METHODS = tuple(m for m in list(O2NC_LEARNERS) + list(RULES) if m not in OPTIONAL_METHODS)

_KEYS = {"name", "description", "seeds", "delta", "epsilons", "epsilon_scale", "max_queries", "doubling_start",
         "methods", "grid", "epoch_lengths", "problems", "quick"}
_QUICK_KEYS = {"problems", "seeds", "epsilons", "max_queries"}
_PROBLEM_KEYS = {"name", "params", "label", "class", "oracle"}
CLASSES = ("convex", "nonconvex", "stochastic")


@dataclass(frozen=True)
class Config:
    """One configuration of one method: its sweep label, the method, the grid point (``"theory"``, ``"x0.1"``,
    ``"T=10"``) and whether it is the theory entry."""

    label: str
    method: str
    point: str
    theory: bool
    table: dict = field(compare=False, repr=False)  # the sweep spec's [[methods]] table


@dataclass(frozen=True)
class ProfileSpec:
    """A validated profile spec: its problems (sweep objective tables with ``class``), the method configurations and
    the sweep spec they compile to (:attr:`sweep`)."""

    name: str
    data: dict
    configs: tuple
    quick: bool = False
    source: str = "<dict>"

    @property
    def problems(self) -> list:
        return self.data["problems"]

    @property
    def methods(self) -> list:
        return list(self.data["methods"])

    @property
    def sweep(self) -> dict:
        """The sweep spec (:mod:`o2nc.experiments.spec` format) of every run of the profile."""
        d = self.data
        objs = [{k: v for k, v in p.items() if k != "class"} for p in d["problems"]]
        return {"name": self.name, "description": d["description"], "seeds": d["seeds"], "deltas": [d["delta"]],
                "measure": {"epsilons": d["epsilons"], "epsilon_scale": d["epsilon_scale"],
                            "max_queries": d["max_queries"], "doubling_start": d["doubling_start"]},
                "objectives": objs, "methods": [c.table for c in self.configs]}


def _err(src, fld, msg) -> SpecError:
    return SpecError(f"{src}: {fld}: {msg}")


def _numbers(src, fld, v, *, integer=False) -> list:
    if not isinstance(v, (list, tuple)) or not v:
        raise _err(src, fld, f"expected a non-empty list of positive {'integers' if integer else 'numbers'}, "
                             f"got {v!r}")
    out = []
    for i, x in enumerate(v):
        ok = isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0
        if not ok or (integer and not float(x).is_integer()):
            raise _err(src, f"{fld}[{i}]", f"expected a positive {'integer' if integer else 'number'}, got {x!r}")
        out.append(int(x) if integer else float(x))
    if len(set(out)) != len(out):
        raise _err(src, fld, "duplicate values")
    return out


def _objective(src: str, fld: str, p: Mapping):
    """Build problem ``p``'s objective of the bank; parameters it refuses are a SpecError naming
    ``{fld}.params`` and what the objective accepts (its own message)."""
    import objectives

    try:
        return objectives.get(p["name"], **dict(p.get("params") or {}))
    except (TypeError, ValueError) as exc:
        raise _err(src, fld + ".params", f"objective {p['name']!r} refuses these parameters: {exc}") from None


def _problem_class(p: Mapping, obj, src: str, fld: str) -> str:
    """A problem's class: the spec's ``class``, else ``stochastic`` when it runs on a stochastic oracle, else
    ``nonconvex`` or ``convex`` from the objective's tags (``obj``: the problem's objective)."""
    if "class" in p:
        if p["class"] not in CLASSES:
            raise _err(src, fld + ".class", f"expected one of {', '.join(CLASSES)}, got {p['class']!r}")
        return p["class"]
    stochastic = getattr(obj, "stochastic_grad", None) is not None and p.get("oracle", "auto") != "exact"
    if stochastic:
        return "stochastic"
    return "nonconvex" if "nonconvex" in getattr(obj, "tags", ()) else "convex"


def _check_theory_constants(src: str, fld: str, p: Mapping, obj) -> None:
    """O2NC's theory tuning needs the problem's G, gap and σ (:func:`o2nc.methods.tuning.constants`): a problem
    without them is refused now rather than failing every O2NC run (``obj``: the problem's objective)."""
    from o2nc.methods.oracles import uses_stochastic
    from o2nc.methods.tuning import constants

    try:
        constants(obj, stochastic=uses_stochastic("profile", obj, p.get("oracle", "auto")), name=p["name"])
    except ValueError as exc:
        raise _err(src, fld, f"O2NC's theory tuning cannot run on it: {exc}") from None


def configurations(methods: list, grid: list, epoch_lengths: list) -> list:
    """The configurations of ``methods`` (module docstring: theory, and the grid where a method has a step), each
    with its sweep spec table."""
    out = []
    for m in methods:
        if m in O2NC_LEARNERS:
            learner = O2NC_LEARNERS[m]
            hint = {"hint": PRESETS[m][0]["hint"]} if "hint" in PRESETS[m][0] else {}
            out.append(Config(f"{m}@theory", m, "theory", True,
                              {"name": f"{m}@theory", "learner": learner, "tuning": "theory", **hint}))
            if learner == "kt":  # parameter-free: nothing to tune (its ball needs the theory's D)
                continue
            for T in epoch_lengths:
                params = {"radius": f"{1.0 / T:.12g} * $delta"}
                if learner in ("ogd", "optimistic_ogd"):  # η = D/(G√T), [CMO23] §4 (o2nc.methods.learners)
                    params["lr"] = f"{1.0 / (T * math.sqrt(T)):.12g} * $delta / $lipschitz"
                out.append(Config(f"{m}@T={T}", m, f"T={T}", False,
                                  {"name": f"{m}@T={T}", "learner": learner, "tuning": "fixed", "epoch_length": T,
                                   "learner_params": params, **hint}))
            continue
        scaled, rule, fixed = RULES[m]
        if scaled is None:
            out.append(Config(f"{m}@theory", m, "theory", True,
                              {"name": f"{m}@theory", "baseline": m, "params": dict(fixed)}))
            continue
        for c in grid:
            # the G given to a theory tuning: a larger step is a smaller G
            factor = 1.0 / c if scaled == "lipschitz" else c
            expr = rule if factor == 1.0 else f"{factor:.12g} * {rule}"
            point = "theory" if c == 1.0 else f"x{c:g}"
            out.append(Config(f"{m}@{point}", m, point, c == 1.0,
                              {"name": f"{m}@{point}", "baseline": m, "params": {**fixed, scaled: expr}}))
    return out


def load_profile(spec: str | os.PathLike | Mapping[str, Any] | ProfileSpec, *, quick: bool = False,
                 check: bool = True) -> ProfileSpec:
    """Read and validate a profile spec (format: ``experiments/profile.toml``'s comments); ``quick``: use its
    ``[quick]`` table (fewer problems, seeds, ε).  ``check``: also validate the compiled sweep spec (builds every
    objective and baseline once).  A bad field is a :class:`~o2nc.experiments.spec.SpecError` naming it."""
    if isinstance(spec, ProfileSpec):
        return spec
    if isinstance(spec, Mapping):
        d, src = dict(spec), "<dict>"
    elif isinstance(spec, (str, os.PathLike)):
        d, src = _read_file(Path(spec)), str(spec)
    else:
        raise SpecError(f"spec: expected a path or a dict, got {type(spec).__name__}")
    if not isinstance(d, dict):
        raise SpecError(f"{src}: the profile spec must be a mapping")
    extra = sorted(set(d) - _KEYS)
    if extra:
        raise _err(src, extra[0], f"unknown field; allowed: {', '.join(sorted(_KEYS))}")
    for req in ("name", "problems", "epsilons", "max_queries"):
        if req not in d:
            raise _err(src, req, "missing required field")
    kept = None  # under --quick with quick.problems: the spec indices of the problems kept
    if quick:
        q = d.get("quick")
        if not isinstance(q, Mapping):
            raise _err(src, "quick", "--quick needs a [quick] table (problems, seeds, epsilons, max_queries)")
        bad = sorted(set(q) - _QUICK_KEYS)
        if bad:
            raise _err(src, f"quick.{bad[0]}", f"unknown field; allowed: {', '.join(sorted(_QUICK_KEYS))}")
        d = {**d, **{k: v for k, v in q.items() if k != "problems"}}
        if "problems" in q:
            keep = q["problems"]
            if not isinstance(keep, list) or not keep or not all(isinstance(x, str) for x in keep):
                raise _err(src, "quick.problems", f"expected a non-empty list of problem labels, got {keep!r}")
            labels = [p.get("label", p.get("name")) if isinstance(p, Mapping) else None for p in d["problems"]]
            missing = [x for x in keep if x not in labels]
            if missing:
                raise _err(src, "quick.problems", f"no problem has the label {missing[0]!r}")
            kept = [i for i, lab in enumerate(labels) if lab in keep]
            d["problems"] = [d["problems"][i] for i in kept]
    name = d["name"]
    if not isinstance(name, str) or not name:
        raise _err(src, "name", f"expected a plain name, got {name!r}")
    name = name + "-quick" if quick else name
    seeds = d.get("seeds", 3)
    seeds = list(range(seeds)) if isinstance(seeds, int) and not isinstance(seeds, bool) and seeds >= 1 else seeds
    delta = d.get("delta", 0.1)
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not (math.isfinite(delta) and delta > 0):
        raise _err(src, "delta", f"expected a number > 0, got {delta!r}")
    epsilons = _numbers(src, "epsilons", d["epsilons"])
    grid = _numbers(src, "grid", d.get("grid", [0.1, 1.0, 10.0]))
    if 1.0 not in grid:
        raise _err(src, "grid", f"must contain 1 (the reference setting, the theory entry), got {grid!r}")
    epoch_lengths = _numbers(src, "epoch_lengths", d.get("epoch_lengths", [10, 100]), integer=True)
    if len(epoch_lengths) + 1 != len(grid):
        raise _err(src, "epoch_lengths", f"O2NC's grid (theory + {len(epoch_lengths)} epoch lengths) must have the "
                                         f"size of the baselines' grid ({len(grid)}): an equal tuning budget")
    methods = d.get("methods", list(DEFAULT_METHODS))
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise _err(src, "methods", f"expected a non-empty list of names of o2nc.methods, got {methods!r}")
    for i, m in enumerate(methods):
        if m not in DEFAULT_METHODS + OPTIONAL_METHODS:
            raise _err(src, f"methods[{i}]", f"{m!r} is not a method the profile tunes; known: "
                                             f"{', '.join(DEFAULT_METHODS + OPTIONAL_METHODS)}")
    if len(set(methods)) != len(methods):
        raise _err(src, "methods", "duplicate names")
    probs = d["problems"]
    if not isinstance(probs, list) or not probs:
        raise _err(src, "problems", "expected a non-empty list of tables")
    out_probs = []
    for i, p in enumerate(probs):
        fld = f"problems[{i if kept is None else kept[i]}]"  # its index in the spec, also under --quick
        if not isinstance(p, Mapping) or not isinstance(p.get("name"), str):
            raise _err(src, fld, "expected a table with a 'name' (an objective of the bank)")
        bad = sorted(set(p) - _PROBLEM_KEYS)
        if bad:
            raise _err(src, f"{fld}.{bad[0]}", f"unknown field; allowed: {', '.join(sorted(_PROBLEM_KEYS))}")
        import objectives

        if p["name"] not in objectives.names():
            raise _err(src, fld + ".name", f"unknown objective {p['name']!r}; objectives.names() lists them")
        q = {k: v for k, v in p.items() if k in ("name", "params", "label", "oracle")}
        if "params" in q:
            q["params"] = _json_params(src, fld + ".params", q["params"])
        q["label"] = p.get("label", p["name"])
        obj = _objective(src, fld, q)
        q["class"] = _problem_class(p, obj, src, fld)
        if any(m in O2NC_LEARNERS for m in methods):
            _check_theory_constants(src, fld, q, obj)
        out_probs.append(q)
    data = {"name": name, "description": str(d.get("description", "")), "seeds": seeds, "delta": float(delta),
            "epsilons": epsilons, "epsilon_scale": d.get("epsilon_scale", "lipschitz"),
            "max_queries": d["max_queries"], "doubling_start": d.get("doubling_start", 16), "methods": methods,
            "grid": grid, "epoch_lengths": epoch_lengths, "problems": out_probs}
    prof = ProfileSpec(name=name, data=data, configs=tuple(configurations(methods, grid, epoch_lengths)), quick=quick,
                       source=src)
    try:
        load_spec(prof.sweep, imports=check)  # the sweep schema checks the rest (seeds, max_queries, parameters)
    except SpecError as exc:
        raise SpecError(f"{src}: {str(exc).removeprefix('<dict>: ')}") from None
    return prof


def run_profile(spec, db, *, quick: bool = False, **sweep_options):
    """Run (or resume) every run of a profile on the results store ``db`` (:func:`o2nc.experiments.run_sweep`; its
    keyword options: ``executor``, ``workers``, ``scheduler``, ``progress``, ``retry_failed``, ``out``).  Returns
    ``(ProfileSpec, SweepReport)``."""
    from o2nc.experiments.sweep import run_sweep

    prof = load_profile(spec, quick=quick)
    report = run_sweep(prof.sweep, db, **sweep_options)
    return prof, report


#: What a count of the calls table is (module docstring, "Calls"), in the words of the reports (``{cap}``: the
#: spec's ``max_queries``; ``{start}``: its ``doubling_start``).
CALLS_COUNTED = ("the method's oracle calls until its (δ, ε) certificate, at most the cap of {cap} per run, "
                 "plus the calls of the certificate itself (exact gradients that recompute O2NC's certificate on a "
                 "stochastic oracle, sampled gradients that certify a baseline's returned point), which the cap does "
                 "not limit, so a count can exceed {cap} by them; a doubling grid counts its certified run alone (its "
                 "budget, {start}·2^j or the cap, and its certificate), not its earlier, smaller runs")


def calls_of(result: Mapping[str, Any]) -> int | None:
    """A stored epsilon run's count (:data:`CALLS_COUNTED`): its oracle calls until its (δ, ε) certificate
    (``queries``, at most ``max_queries``) plus the certificate's own calls (``eval_calls``), or None when it was not
    certified within its cap."""
    if result.get("censored") or result.get("queries") is None:
        return None
    return int(result["queries"]) + (certificate_calls_of(result) or 0)


def certificate_calls_of(result: Mapping[str, Any]) -> int | None:
    """The part of :func:`calls_of` that the certificate made (``eval_calls``; not limited by ``max_queries``), or
    None when the run was not certified."""
    if result.get("censored") or result.get("queries") is None:
        return None
    return int(result.get("eval_calls") or 0)


def problem_label(objective_label: str, epsilon: float) -> str:
    """A profile problem: one objective at one ε."""
    return f"{objective_label}@eps={epsilon:g}"


def collect(prof: ProfileSpec, store) -> dict:
    """The calls table of a profile from its store: ``{"configs": {config label: {problem: [calls or None per
    seed]}}, "certificate_calls": {same shape: the certificate's part of each count}, "errors": [{"config", "problem",
    "seed", "error"} per run stored as an error], "problems": [...], "classes": {problem: class}, "dims": {problem: d},
    "missing": n}``.  A run stored as an error is listed in ``errors`` and a run not stored at all counts in
    ``missing`` (not run yet); both are ``None`` (unsolved) in the tables."""
    from o2nc.experiments.spec import load_spec as _load

    sp = _load(prof.sweep)
    seeds = list(prof.data["seeds"])
    cls = {p["label"]: p["class"] for p in prof.problems}
    problems = [problem_label(p["label"], e) for p in prof.problems for e in prof.data["epsilons"]]
    table = {c.label: {p: [None] * len(seeds) for p in problems} for c in prof.configs}
    cert = {c.label: {p: [None] * len(seeds) for p in problems} for c in prof.configs}
    keys = {r.key: r for r in sp.runs()}
    status = store.status(keys)
    missing, errors = 0, []
    for key, r in keys.items():
        c = r.config
        prob = problem_label(c["objective"]["label"], c["epsilon"])
        i = seeds.index(c["seed"])
        st = status.get(key)
        if st == "error":
            msg = (store.get(key).get("error") or "").strip()
            errors.append({"config": c["method"]["name"], "problem": prob, "seed": c["seed"],
                           "error": msg.splitlines()[0] if msg else "(no message)"})
            continue
        if st != "done":
            missing += 1
            continue
        res = store.get(key)["result"]
        table[c["method"]["name"]][prob][i] = calls_of(res)
        cert[c["method"]["name"]][prob][i] = certificate_calls_of(res)
    order = {c.label: j for j, c in enumerate(prof.configs)}
    errors.sort(key=lambda e: (order[e["config"]], problems.index(e["problem"]), seeds.index(e["seed"])))
    dims = {}
    for j, p in enumerate(prof.problems):
        d = int(_objective(prof.source, f"problems[{j}]", p).x0.size)
        for e in prof.data["epsilons"]:
            dims[problem_label(p["label"], e)] = d
    return {"configs": table, "certificate_calls": cert, "errors": errors, "problems": problems,
            "classes": {problem_label(lab, e): k for lab, k in cls.items() for e in prof.data["epsilons"]},
            "dims": dims, "missing": missing}
