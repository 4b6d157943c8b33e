"""Sweep specifications: a dict, a TOML file, or (when PyYAML is installed) a YAML file read with ``safe_load``.

A spec is data: objectives × methods × δ × (budgets and/or ε targets) × seeds.  :func:`load_spec` validates it and
:meth:`Spec.runs` expands it into run configurations, each keyed by a hash of its full configuration
(:func:`config_key`).

Format (TOML shown; the same keys in a dict or YAML)::

    name = "small"                 # the sweep's name in the results store
    seeds = 4                      # an integer n (seeds 0..n-1) or a list of integers
    deltas = [0.1, 0.05]           # Goldstein radii δ > 0

    [measure]
    budgets = [1000, 4000]         # "budget" runs: the certificate reached with N calls, parameters tuned for N
    epsilons = [0.5, 0.25]         # "epsilon" runs: calls until an epoch certificate is <= ε
    max_queries = 100000           # cap on the calls of an epsilon run (uncertified runs are stored as censored)
    epsilon_scale = "absolute"     # or "lipschitz": each ε is multiplied by the objective's G (certificates ≤ G)
    certificate = "auto"           # "auto": exact gradients recompute the certificate of stochastic runs;
                                   # "algorithm": the run's own ‖ĝ_k‖

    [[objectives]]
    name = "nesterov_n2"           # a name of the objective bank, or "package.module:factory"
    params = { n = 10 }            # keyword arguments of the factory
    oracle = "auto"                # "auto" (stochastic when the objective has a stochastic oracle), "exact",
                                   # "stochastic"
    # lipschitz = 1.0              # override G (else the objective's own constant)
    # gap = 2.0                    # override F(x0) − F* (else from f_star, else the objective's extra["gap_bound"])
    # epsilon_scale = "absolute"   # override measure.epsilon_scale for this objective
    # max_queries = 50000          # override measure.max_queries for this objective

    [[objectives]]                 # parameters may follow each run's ε and δ: "$epsilon", "$delta"
    name = "hard_chain"            # (such an objective takes part in epsilon runs only; its ε is absolute)
    params = { eps = "$epsilon", delta = "$delta", sigma = 40.0, gap = 3000.0 }

    [[methods]]
    name = "o2nc-ogd"              # the label stored with the results
    learner = "ogd"                # a learner of online_learners' registry
    tuning = "theory"              # "theory": T, D, η from o2nc.theory.ogd_parameters; "fixed": give them below
    scaling = "uniform"            # "uniform", "exponential" or "none"
    # epoch_length = 100           # with tuning = "fixed"
    # learner_params = { lr = 0.01, radius = 0.001 }

    [[methods]]                    # a baseline of o2nc.baselines instead of a learner
    name = "ingd"
    baseline = "ingd"              # o2nc.baselines.names()
    params = { descent = 0.25 }    # its hyperparameters; δ is each run's δ ("$epsilon" may be used too)

Objective and method parameters that are the strings ``"$epsilon"`` or ``"$delta"`` take each run's absolute ε
and δ (:func:`substitute`).  The hard instance of objectives.md §9 needs this: it is built for one (δ, ε), and only
the instance scaled to the run's own (δ, ε) is hard for that target (§9.3–9.4).

References for the two measurements: [CMO23] Theorem 8 and its OGD corollary (o2nc.md §5–6).
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Union

__all__ = ["SpecError", "Spec", "RunConfig", "load_spec", "config_key", "canonical_json", "SCHEMA_VERSION",
           "substitute", "follows", "PLACEHOLDERS"]

#: Bumped when the meaning of a run configuration changes; part of every key.  Version 2: the theory tuning of a
#: stochastic run takes G² = Lipschitz² + the objective's declared noise variance (E‖g‖² ≤ G², o2nc.md §1).
SCHEMA_VERSION = 2

_TOP_KEYS = {"name", "seeds", "deltas", "measure", "objectives", "methods", "description"}
_MEASURE_KEYS = {"budgets", "epsilons", "max_queries", "certificate", "epsilon_scale"}
_EPSILON_SCALES = ("absolute", "lipschitz")
_OBJECTIVE_KEYS = {"name", "params", "oracle", "lipschitz", "gap", "label", "epsilon_scale", "max_queries"}
_METHOD_KEYS = {"name", "learner", "tuning", "scaling", "epoch_length", "learner_params", "restart"}
_BASELINE_KEYS = {"name", "baseline", "params"}
#: Placeholders a parameter value may be: replaced by the run's absolute ε or its δ.
PLACEHOLDERS = ("$epsilon", "$delta")
_ORACLES = ("auto", "exact", "stochastic")
_TUNINGS = ("theory", "fixed")
_SCALINGS = ("uniform", "exponential", "none")
_CERTIFICATES = ("auto", "algorithm")


class SpecError(ValueError):
    """A malformed sweep specification; the message names the file (when there is one) and the field."""


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, floats as Python's shortest repr."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def follows(params: Mapping[str, Any], what: str) -> bool:
    """Whether some value of ``params`` is the placeholder ``"$" + what`` (``what`` is ``"epsilon"`` or ``"delta"``)."""
    return any(v == "$" + what for v in params.values())


def substitute(params: Mapping[str, Any], *, epsilon: float | None, delta: float | None) -> dict:
    """``params`` with ``"$epsilon"`` and ``"$delta"`` replaced by the run's absolute ε and δ.

    Raises:
        ValueError: a placeholder whose value the run does not have (``"$epsilon"`` in a budget run).

    Example:
        >>> substitute({"eps": "$epsilon", "delta": "$delta", "sigma": 4.0}, epsilon=0.2, delta=0.1)
        {'eps': 0.2, 'delta': 0.1, 'sigma': 4.0}
    """
    out = {}
    for k, v in params.items():
        if v == "$epsilon":
            if epsilon is None:
                raise ValueError(f"parameter {k!r} follows $epsilon, which a budget run does not have")
            v = float(epsilon)
        elif v == "$delta":
            if delta is None:
                raise ValueError(f"parameter {k!r} follows $delta, which this run does not have")
            v = float(delta)
        out[k] = v
    return out


def config_key(config: Mapping[str, Any]) -> str:
    """SHA-256 (hex, first 24 characters) of the canonical JSON of a full run configuration."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class RunConfig:
    """One run: ``config`` is plain JSON data (the executor ships it to a worker), ``key`` its hash."""

    key: str
    config: dict

    def label(self) -> str:
        c = self.config
        target = f"N={c['budget']}" if c["measure"] == "budget" else f"eps={c['epsilon']:g}"
        return f"{c['objective']['label']}/{c['method']['name']}/delta={c['delta']:g}/{target}/seed={c['seed']}"


@dataclass(frozen=True)
class Spec:
    """A validated sweep specification (see the module docstring for the format)."""

    name: str
    data: dict
    source: str = "<dict>"

    def runs(self) -> list[RunConfig]:
        """Every run configuration, in a stable order (objective, method, δ, measurement, target, seed)."""
        out = []
        d = self.data
        meas = d["measure"]
        for obj in d["objectives"]:
            for meth in d["methods"]:
                # an objective or method whose parameters follow ε exists only for ε targets
                eps_only = follows(obj["params"], "epsilon") or follows(meth.get("params", {}), "epsilon")
                for delta in d["deltas"]:
                    targets = [] if eps_only else [("budget", "budget", b) for b in meas.get("budgets", [])]
                    targets += [("epsilon", "epsilon", e) for e in meas.get("epsilons", [])]
                    for measure, field_, target in targets:
                        for seed in d["seeds"]:
                            cfg = {
                                "schema": SCHEMA_VERSION,
                                "objective": obj,
                                "method": meth,
                                "delta": delta,
                                "measure": measure,
                                field_: target,
                                "seed": seed,
                                "certificate": meas["certificate"],
                            }
                            if measure == "epsilon":
                                cfg["max_queries"] = obj.get("max_queries", meas["max_queries"])
                                cfg["epsilon_scale"] = obj.get("epsilon_scale", meas["epsilon_scale"])
                            if "baseline" in meth:  # the O2NC certificate option means nothing to a baseline
                                cfg.pop("certificate")
                            out.append(RunConfig(config_key(cfg), cfg))
        return out

    def __iter__(self) -> Iterator[RunConfig]:
        return iter(self.runs())


# ----------------------------------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------------------------------


def _read_file(path: Path) -> dict:
    if not path.exists():
        raise SpecError(f"{path}: no such spec file")
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec file ({exc.strerror})") from None
    suffix = path.suffix.lower()
    if suffix == ".toml":
        import tomllib

        try:
            return tomllib.loads(text.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(f"{path}: not valid TOML: {exc}") from None
    if suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise SpecError(f"{path}: YAML specs need PyYAML (pip install pyyaml); or write the spec in TOML") \
                from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise SpecError(f"{path}: the YAML document must be a mapping at the top level")
        return data
    if suffix == ".json":
        try:
            return json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(f"{path}: not valid JSON: {exc}") from None
    raise SpecError(f"{path}: unknown spec format {suffix!r}; use .toml, .yaml/.yml or .json")


def load_spec(spec: Union[str, os.PathLike, Mapping[str, Any], Spec]) -> Spec:
    """Read and validate a sweep spec from a path (TOML, YAML via ``safe_load``, JSON) or a dict.

    Raises:
        SpecError: unreadable file, syntax error, unknown or missing field, value out of range; the message names
            the file and the field (e.g. ``methods[1].learner``).
    """
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, Mapping):
        return _validate(copy.deepcopy(dict(spec)), "<dict>")
    if isinstance(spec, (str, os.PathLike)):
        path = Path(spec)
        return _validate(_read_file(path), str(path))
    raise SpecError(f"spec: expected a path or a dict, got {type(spec).__name__}")


# ----------------------------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------------------------


def _err(src: str, field: str, msg: str) -> SpecError:
    return SpecError(f"{src}: {field}: {msg}")


def _unknown(src: str, where: str, d: Mapping, allowed: set) -> None:
    extra = sorted(set(d) - allowed)
    if extra:
        raise _err(src, f"{where}{extra[0]}" if where else extra[0],
                   f"unknown field; allowed: {', '.join(sorted(allowed))}")


def _pos_number(src, field, v, *, integer=False) -> Union[int, float]:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _err(src, field, f"expected a {'positive integer' if integer else 'positive number'}, got {v!r}")
    if integer and not (isinstance(v, int) or float(v).is_integer()):
        raise _err(src, field, f"expected an integer, got {v!r}")
    if not math.isfinite(v) or v <= 0:
        raise _err(src, field, f"expected a finite value > 0, got {v!r}")
    return int(v) if integer else float(v)


def _list_of(src, field, v, *, integer=False) -> list:
    if not isinstance(v, (list, tuple)) or not v:
        raise _err(src, field, f"expected a non-empty list, got {v!r}")
    out = [_pos_number(src, f"{field}[{i}]", x, integer=integer) for i, x in enumerate(v)]
    if len(set(out)) != len(out):
        raise _err(src, field, "duplicate values")
    return out


def _json_params(src, field, v) -> dict:
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise _err(src, field, f"expected a table of parameters, got {v!r}")
    try:
        canonical_json(v)
    except (TypeError, ValueError) as exc:
        raise _err(src, field, f"parameters must be plain numbers, strings, booleans and lists ({exc})") from None
    return dict(v)


def _validate(d: dict, src: str) -> Spec:
    if not isinstance(d, dict):
        raise SpecError(f"{src}: the spec must be a mapping")
    _unknown(src, "", d, _TOP_KEYS)
    for req in ("name", "objectives", "methods", "deltas", "measure"):
        if req not in d:
            raise _err(src, req, "missing required field")
    name = d["name"]
    if not isinstance(name, str) or not name.strip():
        raise _err(src, "name", f"expected a non-empty string, got {name!r}")

    seeds = d.get("seeds", 1)
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise _err(src, "seeds", f"expected an integer >= 1 or a list of integers, got {seeds!r}")
        seeds = list(range(seeds))
    elif isinstance(seeds, (list, tuple)) and seeds and all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        if len(set(seeds)) != len(seeds):
            raise _err(src, "seeds", "duplicate seeds")
        seeds = list(seeds)
    else:
        raise _err(src, "seeds", f"expected an integer >= 1 or a non-empty list of integers >= 0, got {seeds!r}")

    deltas = _list_of(src, "deltas", d["deltas"])

    meas = d["measure"]
    if not isinstance(meas, Mapping):
        raise _err(src, "measure", "expected a table")
    _unknown(src, "measure.", meas, _MEASURE_KEYS)
    meas = dict(meas)
    if "budgets" not in meas and "epsilons" not in meas:
        raise _err(src, "measure", "give budgets, epsilons or both")
    if "budgets" in meas:
        meas["budgets"] = _list_of(src, "measure.budgets", meas["budgets"], integer=True)
        if min(meas["budgets"]) < 2:
            raise _err(src, "measure.budgets", "every budget must be at least 2")
    if "epsilons" in meas:
        meas["epsilons"] = _list_of(src, "measure.epsilons", meas["epsilons"])
        if "max_queries" not in meas:
            raise _err(src, "measure.max_queries", "required with epsilons (the cap on an epsilon run's calls)")
        meas["max_queries"] = _pos_number(src, "measure.max_queries", meas["max_queries"], integer=True)
    meas.setdefault("epsilon_scale", "absolute")
    if meas["epsilon_scale"] not in _EPSILON_SCALES:
        raise _err(src, "measure.epsilon_scale", f"expected one of {', '.join(_EPSILON_SCALES)}, got "
                                                 f"{meas['epsilon_scale']!r}")
    meas.setdefault("certificate", "auto")
    if meas["certificate"] not in _CERTIFICATES:
        raise _err(src, "measure.certificate", f"expected one of {', '.join(_CERTIFICATES)}, got "
                                               f"{meas['certificate']!r}")

    objs = d["objectives"]
    if not isinstance(objs, list) or not objs:
        raise _err(src, "objectives", "expected a non-empty list of tables")
    out_objs = []
    for i, o in enumerate(objs):
        f = f"objectives[{i}]"
        if not isinstance(o, Mapping):
            raise _err(src, f, "expected a table")
        _unknown(src, f + ".", o, _OBJECTIVE_KEYS)
        if not isinstance(o.get("name"), str) or not o["name"]:
            raise _err(src, f + ".name", "missing or not a string")
        o2 = {"name": o["name"], "params": _json_params(src, f + ".params", o.get("params")),
              "oracle": o.get("oracle", "auto")}
        _check_placeholders(src, f + ".params", o2["params"])
        if o2["oracle"] not in _ORACLES:
            raise _err(src, f + ".oracle", f"expected one of {', '.join(_ORACLES)}, got {o2['oracle']!r}")
        for k in ("lipschitz", "gap"):
            if k in o:
                o2[k] = _pos_number(src, f"{f}.{k}", o[k])
        if "epsilon_scale" in o:
            if o["epsilon_scale"] not in _EPSILON_SCALES:
                raise _err(src, f + ".epsilon_scale", f"expected one of {', '.join(_EPSILON_SCALES)}, got "
                                                      f"{o['epsilon_scale']!r}")
            o2["epsilon_scale"] = o["epsilon_scale"]
        if "max_queries" in o:
            o2["max_queries"] = _pos_number(src, f + ".max_queries", o["max_queries"], integer=True)
        if follows(o2["params"], "epsilon"):
            if "epsilons" not in meas:
                raise _err(src, f + ".params", "follows $epsilon, but the spec has no measure.epsilons")
            if o2.get("epsilon_scale", meas["epsilon_scale"]) != "absolute":
                # ε relative to G, where G itself depends on ε, would be circular
                raise _err(src, f + ".epsilon_scale", "parameters that follow $epsilon need an absolute ε; set "
                                                      "epsilon_scale = 'absolute' for this objective")
        label = o.get("label")
        if label is None:
            label = o["name"] + "".join(f",{k}={v}" for k, v in sorted(o2["params"].items()))
        o2["label"] = str(label)
        out_objs.append(o2)
    labels = [o["label"] for o in out_objs]
    if len(set(labels)) != len(labels):
        raise _err(src, "objectives", "two objectives have the same label; give them distinct 'label's")

    meths = d["methods"]
    if not isinstance(meths, list) or not meths:
        raise _err(src, "methods", "expected a non-empty list of tables")
    out_meths = []
    for i, m in enumerate(meths):
        f = f"methods[{i}]"
        if not isinstance(m, Mapping):
            raise _err(src, f, "expected a table")
        if "baseline" in m:
            out_meths.append(_baseline_method(src, f, m, meas, deltas))
            continue
        _unknown(src, f + ".", m, _METHOD_KEYS)
        if "learner" not in m:
            raise _err(src, f + ".learner", "missing (a learner of online_learners' registry, e.g. 'ogd'; or "
                                            "give 'baseline', a name of o2nc.baselines)")
        if not isinstance(m["learner"], str):
            raise _err(src, f + ".learner", f"expected a string, got {m['learner']!r}")
        m2 = {"name": str(m.get("name", m["learner"])), "learner": m["learner"],
              "tuning": m.get("tuning", "theory"), "scaling": m.get("scaling", "uniform"),
              "restart": m.get("restart", True),
              "learner_params": _json_params(src, f + ".learner_params", m.get("learner_params"))}
        if any(isinstance(v, str) and v.startswith("$") for v in m2["learner_params"].values()):
            raise _err(src, f + ".learner_params", "placeholders ($epsilon, $delta) are for objective and "
                                                   "baseline parameters; the theory tuning sets the learner's")
        if m2["tuning"] not in _TUNINGS:
            raise _err(src, f + ".tuning", f"expected one of {', '.join(_TUNINGS)}, got {m2['tuning']!r}")
        if m2["scaling"] not in _SCALINGS:
            raise _err(src, f + ".scaling", f"expected one of {', '.join(_SCALINGS)}, got {m2['scaling']!r}")
        if not isinstance(m2["restart"], bool):
            raise _err(src, f + ".restart", f"expected true or false, got {m2['restart']!r}")
        if m2["tuning"] == "fixed":
            if "epoch_length" not in m:
                raise _err(src, f + ".epoch_length", "required with tuning = 'fixed'")
            m2["epoch_length"] = _pos_number(src, f + ".epoch_length", m["epoch_length"], integer=True)
        elif "epoch_length" in m:
            raise _err(src, f + ".epoch_length", "only with tuning = 'fixed' (theory tuning sets it)")
        _check_learner(src, f + ".learner", m2["learner"])
        out_meths.append(m2)
    mnames = [m["name"] for m in out_meths]
    if len(set(mnames)) != len(mnames):
        raise _err(src, "methods", "two methods have the same name")

    for i, o in enumerate(out_objs):
        _check_objective(src, f"objectives[{i}]", o, meas, deltas)

    data = {"name": name, "seeds": seeds, "deltas": deltas, "measure": meas, "objectives": out_objs,
            "methods": out_meths, "description": str(d.get("description", ""))}
    return Spec(name=name, data=data, source=src)


def _check_learner(src, field, name) -> None:
    try:
        from online_learners import registry
    except ImportError:  # pragma: no cover
        return
    if name not in registry.names():
        raise _err(src, field, f"unknown learner {name!r}; known: {', '.join(registry.names())}")


def _check_placeholders(src, field, params) -> None:
    for k, v in params.items():
        if isinstance(v, str) and v.startswith("$") and v not in PLACEHOLDERS:
            raise _err(src, f"{field}.{k}", f"unknown placeholder {v!r}; use one of {', '.join(PLACEHOLDERS)}")


def _first_values(meas, deltas) -> dict:
    """The values used to build an objective or baseline once while validating (every (ε, δ) pair is too many)."""
    eps = meas.get("epsilons", [None])[0]
    return {"epsilon": eps, "delta": deltas[0]}


def _baseline_method(src, f, m, meas, deltas) -> dict:
    """Validate a ``[[methods]]`` table that names a baseline (``baseline = NAME``, ``params = {...}``)."""
    _unknown(src, f + ".", m, _BASELINE_KEYS)
    name = m["baseline"]
    if not isinstance(name, str) or not name:
        raise _err(src, f + ".baseline", f"expected a name of o2nc.baselines, got {name!r}")
    try:
        from o2nc import baselines
    except ImportError:  # pragma: no cover - the package ships with o2nc
        raise _err(src, f + ".baseline", "o2nc.baselines is not available in this installation") from None
    if name not in baselines.names():
        raise _err(src, f + ".baseline", f"unknown baseline {name!r}; known: {', '.join(baselines.names())}")
    params = _json_params(src, f + ".params", m.get("params"))
    _check_placeholders(src, f + ".params", params)
    if "delta" in params:
        raise _err(src, f + ".params.delta", "set by the sweep: each run's δ (top-level 'deltas') is the "
                                             "baseline's certificate radius")
    if follows(params, "epsilon") and "epsilons" not in meas:
        raise _err(src, f + ".params", "follows $epsilon, but the spec has no measure.epsilons")
    first = _first_values(meas, deltas)
    try:
        baseline_from(name, params, epsilon=first["epsilon"], delta=first["delta"])
    except (ValueError, TypeError) as exc:
        raise _err(src, f + ".params", str(exc)) from None
    return {"name": str(m.get("name", name)), "baseline": name, "params": params}


def baseline_from(name: str, params: Mapping[str, Any], *, epsilon: float | None, delta: float):
    """Build baseline ``name`` for one run: placeholders substituted, ``delta`` = the run's δ, JSON lists as tuples
    (baselines take tuples, e.g. Mechanic's ``betas``)."""
    from o2nc import baselines

    p = substitute(params, epsilon=epsilon, delta=delta)
    p = {k: tuple(v) if isinstance(v, list) else v for k, v in p.items()}
    return baselines.get(name, delta=float(delta), **p)


def _check_objective(src, field, o, meas, deltas) -> None:
    """Build the objective once in the driver so that an unknown name or parameter fails before any run."""
    from o2nc.experiments.runner import build_objective

    first = _first_values(meas, deltas)
    try:
        obj = build_objective(o, epsilon=first["epsilon"], delta=first["delta"])
    except SpecError:
        raise
    except Exception as exc:
        raise _err(src, field, f"cannot build objective {o['name']!r}: {exc}") from None
    if o["oracle"] == "stochastic" and getattr(obj, "stochastic_grad", None) is None:
        raise _err(src, field + ".oracle", f"objective {o['name']!r} has no stochastic oracle")
