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
    # doubling_start = 64          # epsilon runs of baselines without a running certificate of their own:
                                   # certify the output of runs with budgets 64·2^j (the grid's first budget)

    [[objectives]]
    name = "nesterov_n2"           # a name of the objective bank (a "module:factory" only with --allow-import)
    params = { n = 10 }            # keyword arguments of the factory
    oracle = "auto"                # "auto" (stochastic when the objective has a stochastic oracle), "exact",
                                   # "stochastic"
    # lipschitz = 1.0              # override G (else the objective's own constant)
    # gap = 2.0                    # override F(x0) − F* (else from f_star, else the objective's extra["gap_bound"])
    # sigma = 0.5                  # override σ, E‖g − ∇F‖² ≤ σ², for stochastic runs (else the objective's declared
                                   # variance, else σ = G; [CMO23] Theorem 8's σ/√T term)
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
    # engine = "compiled"          # "loop" (default: o2nc.minimize) or "compiled": the same run, jitted with jax
                                   # (o2nc.experiments.batched.run_method; needs jax)
    # hint = "last_gradient"       # an optimistic learner's hint (e.g. learner = "optimistic_ogd"): "last_gradient",
                                   # "extrapolated" or "fixed_point", as o2nc.minimize's `hint`; loop engine only

    [[methods]]                    # a baseline of o2nc.baselines instead of a learner
    name = "ingd"
    baseline = "ingd"              # o2nc.baselines.names()
    params = { descent = 0.25 }    # its hyperparameters; δ is each run's δ ("$epsilon" may be used too)

    [[methods]]
    name = "sgd"
    baseline = "sgd"
    params = { lr = "$delta / $lipschitz" }   # a step rule: an expression of the run's constants (below)
    objectives = ["nesterov_n2"]   # run this method on these objectives (labels) only; default: all of them

Objective and method parameters that are the strings ``"$epsilon"`` or ``"$delta"`` take each run's absolute ε
and δ (:func:`substitute`).  The hard instance (Carmon, Duchi, Hinder, Sidford, Math. Prog. 2020; Arjevani et al.,
Math. Prog. 2023) needs this: it is built for one (δ, ε), and only the instance scaled to the run's own (δ, ε) is
hard for that target (derived here: with smoothness L = ε/δ a (δ, ε)-stationary point is 2ε-stationary, so
Arjevani et al.'s Ω(gap·L·σ²ε⁻⁴) becomes Ω(gap·σ²δ⁻¹ε⁻³); see ``objectives/hard_instance.py``).

Method parameters (a baseline's ``params``; the ``learner_params`` of a ``tuning = "fixed"`` method) may also
follow the objective of the run, so that a step rule such as "η = δ/G" or figure 4's "η = λ/(4ε)" on the hard
instance is written once for every objective and target:

- ``"$lipschitz"``: the objective's Lipschitz constant G (the objective's ``lipschitz`` in the spec, else its own
  declared constant; without the noise term of the theory tuning);
- ``"$extra.KEY"``: the number ``extra[KEY]`` of the objective built for the run (e.g. ``"$extra.lam"``, the
  chain scale λ of ``hard_chain``).

A parameter string containing ``$`` is an expression: numbers and placeholders joined by ``*`` and ``/``, read
left to right (``"0.25 * $extra.lam / $epsilon"`` is λ/(4ε)); no other operators, no parentheses
(:func:`evaluate`).  Objective parameters may use only ``$epsilon`` and ``$delta`` (the objective does not exist
before they are known).  A method with an expression that uses ``$epsilon`` exists for ε targets only.

Names (:mod:`o2nc.experiments.build`): a spec names only registered objectives, learners and baselines; the
sweep's ``name`` (which names its results file) is a plain name (letters, digits, ``_.-``, not starting with
``.``).  A spec file cannot run code: an objective ``"module:factory"`` is refused unless the caller allows that
module (``load_spec(path, allow_import=["module"])``, ``o2nc sweep SPEC --allow-import module``); from Python, an
objective's ``name`` may be the factory itself (a module-level callable).

Limits, checked before any run: a spec file is a regular file of at most :data:`MAX_SPEC_BYTES` (a device, a FIFO
or a larger file is refused unread); a spec expands to at most :data:`MAX_RUNS` runs (counted first,
:meth:`Spec.count`); a budget, ``max_queries`` or ``doubling_start`` is at most :data:`MAX_CALLS` gradient calls;
seeds lie in [0, 2**64) (the counter-based draw of :mod:`o2nc.conversion.draw`); a ``tuning = "fixed"`` epoch is
no longer than the smallest budget; every method is built once as its first run builds it, so a hyperparameter its
learner or baseline rejects, or an expression without a finite value (a division by zero), is an error naming the
field.

References for the two measurements: [CMO23] Theorem 8 and its OGD corollary (Cutkosky, Mehta, Orabona, ICML 2023).
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from o2nc.conversion.draw import check_seed
from o2nc.experiments.build import (
    authorize,
    baseline_from,
    build_objective,
    check_plain_name,
    import_factory,
    is_factory_name,
    method_from,
)
from o2nc.experiments.expr import (  # noqa: F401  (re-exported: the expression language of specs)
    METHOD_PLACEHOLDERS,
    PLACEHOLDERS,
    _tokens,
    canonical_json,
    evaluate,
    follows,
    is_expression,
    placeholders_of,
    substitute,
)

__all__ = ["SpecError", "Spec", "RunConfig", "load_spec", "config_key", "canonical_json", "SCHEMA_VERSION",
           "substitute", "follows", "evaluate", "placeholders_of", "PLACEHOLDERS", "METHOD_PLACEHOLDERS",
           "baseline_from"]

#: Bumped when the meaning of a run configuration changes; part of every key.  Version 2: the theory tuning of a
#: stochastic run takes G² = Lipschitz² + the objective's declared noise variance (E‖g‖² ≤ G², as [CMO23] assumes).
SCHEMA_VERSION = 2

#: The most bytes a spec file may hold (a larger file, or one that is not a regular file, is refused unread).
MAX_SPEC_BYTES = 4 * 2**20
#: The most runs a spec may expand to (counted before any is expanded; each run configuration takes about 1 KB and
#: its key a hash: 10⁶ runs are about a gigabyte and half a minute of ``o2nc sweep --dry-run``).
MAX_RUNS = 10**6
#: The largest budget, ``max_queries`` or ``doubling_start`` (gradient calls of one run): a larger one would not end.
MAX_CALLS = 10**9
_TOO_DEEP = "nested too deeply (lists or tables within one another beyond Python's recursion limit)"

_TOP_KEYS = {"name", "seeds", "deltas", "measure", "objectives", "methods", "description"}
_MEASURE_KEYS = {"budgets", "epsilons", "max_queries", "certificate", "epsilon_scale", "doubling_start"}
_EPSILON_SCALES = ("absolute", "lipschitz")
_OBJECTIVE_KEYS = {"name", "params", "oracle", "lipschitz", "gap", "sigma", "label", "epsilon_scale", "max_queries"}
_METHOD_KEYS = {"name", "learner", "tuning", "scaling", "epoch_length", "learner_params", "restart", "objectives",
                "engine", "hint"}
#: The optimistic hints a method may name (those of :func:`o2nc.minimize`, without None: leave ``hint`` out).
_HINTS = ("last_gradient", "extrapolated", "fixed_point")
#: How an O2NC run executes: ``o2nc.minimize``'s loop, or the jitted core of ``o2nc.experiments.batched`` (jax).
_ENGINES = ("loop", "compiled")
_BASELINE_KEYS = {"name", "baseline", "params", "objectives"}
_ORACLES = ("auto", "exact", "stochastic")
_TUNINGS = ("theory", "fixed")
_SCALINGS = ("uniform", "exponential", "none")
_CERTIFICATES = ("auto", "algorithm")


class SpecError(ValueError):
    """A malformed sweep specification; the message names the file (when there is one) and the field."""


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
    #: ``"module:factory"`` -> the callable, for objectives given as callables or allowed imports (sent to workers)
    factories: dict = field(default_factory=dict, compare=False, repr=False)

    def factories_of(self, config: Mapping[str, Any]) -> dict:
        """The factories one run configuration needs (empty for registered objectives)."""
        name = config["objective"]["name"]
        return {name: self.factories[name]} if name in self.factories else {}

    def _pairs(self) -> Iterator[tuple[dict, dict, list]]:
        """(objective, method, targets) for every method on the objectives it runs on; a target is (measurement,
        field, value)."""
        meas = self.data["measure"]
        for obj in self.data["objectives"]:
            for meth in self.data["methods"]:
                if "objectives" in meth and obj["label"] not in meth["objectives"]:
                    continue  # the method is restricted to other objectives
                budgets = [] if _epsilon_only(obj, meth) else meas.get("budgets", [])
                targets = [("budget", "budget", b) for b in budgets]
                targets += [("epsilon", "epsilon", e) for e in meas.get("epsilons", [])]
                yield obj, meth, targets

    def count(self) -> int:
        """The number of runs of :meth:`runs`, without expanding them."""
        per_target = len(self.data["deltas"]) * len(self.data["seeds"])
        return sum(len(targets) for _, _, targets in self._pairs()) * per_target

    def runs(self) -> list[RunConfig]:
        """Every run configuration, in a stable order (objective, method, δ, measurement, target, seed)."""
        out = []
        d = self.data
        meas = d["measure"]
        for obj, meth, targets in self._pairs():
            for delta in d["deltas"]:
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
                            if measure == "epsilon" and "doubling_start" in meas:
                                cfg["doubling_start"] = meas["doubling_start"]
                        out.append(RunConfig(config_key(cfg), cfg))
        return out

    def __iter__(self) -> Iterator[RunConfig]:
        return iter(self.runs())


def _epsilon_only(obj: Mapping[str, Any], meth: Mapping[str, Any]) -> bool:
    """Whether an objective or method parameter follows ε: the pair then exists for ε targets only."""
    return (follows(obj["params"], "epsilon") or follows(meth.get("params", {}), "epsilon")
            or follows(meth.get("learner_params", {}), "epsilon"))


# ----------------------------------------------------------------------------------------------------------------
# loading
# ----------------------------------------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_SPEC_BYTES`; a device (``/dev/zero``), a FIFO (whose read
    would wait for a writer) or a directory is refused before any read.  The file is opened without blocking and
    checked on its open descriptor, so a path swapped for a FIFO after a check cannot hang the read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise SpecError(f"{path}: no such spec file") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec file ({exc.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SpecError(f"{path}: not a regular file; a spec is a .toml, .yaml/.yml or .json file")
        chunks, size = [], 0
        while size <= MAX_SPEC_BYTES:
            chunk = os.read(fd, MAX_SPEC_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec file ({exc.strerror})") from None
    finally:
        os.close(fd)
    if size > MAX_SPEC_BYTES:
        raise SpecError(f"{path}: larger than {MAX_SPEC_BYTES} bytes (MAX_SPEC_BYTES), the most a spec file may "
                        "hold")
    return b"".join(chunks)


def _read_file(path: Path) -> dict:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml", ".json"):  # before opening: /dev/zero or a FIFO is never read
        raise SpecError(f"{path}: unknown spec format {suffix!r}; use .toml, .yaml/.yml or .json")
    text = _read_bytes(path)
    if suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10: the same parser, published as tomli (a dependency there)
            import tomli as tomllib

        try:
            return tomllib.loads(text.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(f"{path}: not valid TOML: {exc}") from None
        except RecursionError:
            raise SpecError(f"{path}: not valid TOML: {_TOO_DEEP}") from None
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
        except RecursionError:
            raise SpecError(f"{path}: not valid YAML: {_TOO_DEEP}") from None
        if not isinstance(data, dict):
            raise SpecError(f"{path}: the YAML document must be a mapping at the top level")
        return data
    if suffix == ".json":
        try:
            return json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SpecError(f"{path}: not valid JSON: {exc}") from None
        except RecursionError:
            raise SpecError(f"{path}: not valid JSON: {_TOO_DEEP}") from None
    raise AssertionError(suffix)  # pragma: no cover - the suffixes are checked above


def load_spec(spec: str | os.PathLike | Mapping[str, Any] | Spec, *, allow_import: Iterable[str] = (),
              imports: bool = True) -> Spec:
    """Read and validate a sweep spec from a path (TOML, YAML via ``safe_load``, JSON) or a dict.

    Names are looked up in the registries only (objectives, learners, baselines; :mod:`o2nc.experiments.build`).
    An objective ``"module:factory"`` is accepted only when ``module`` is one of ``allow_import`` (exactly that
    module); in a dict spec an objective's ``name`` may also be a module-level callable.

    Args:
        spec: a path, a dict or a :class:`Spec`.
        allow_import: modules whose factories the spec may name (the CLI's ``--allow-import``).
        imports: False (``o2nc sweep --dry-run``): import nothing and build no objective of an allowed module;
            registered objectives and baselines are still built once to check their parameters.

    Raises:
        SpecError: unreadable file, syntax error, unknown or missing field, value out of range, a name that is not
            registered or not allowed; the message names the file and the field (e.g. ``methods[1].learner``).
    """
    if isinstance(allow_import, str):
        allow_import = [allow_import]
    allow = tuple(allow_import or ())
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, Mapping):
        src, read = "<dict>", lambda: copy.deepcopy(dict(spec))
    elif isinstance(spec, (str, os.PathLike)):
        src, read = str(Path(spec)), lambda: _read_file(Path(spec))
    else:
        raise SpecError(f"spec: expected a path or a dict, got {type(spec).__name__}")
    try:
        return _validate(read(), src, allow, imports)
    except RecursionError:  # parameters nested within the parser's depth but beyond a copy's or an encoder's
        raise SpecError(f"{src}: {_TOO_DEEP}") from None


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


def _pos_number(src, field, v, *, integer=False, calls=False) -> int | float:
    """A finite number > 0 (an integer with ``integer``); with ``calls`` (a count of gradient calls) at most
    :data:`MAX_CALLS`."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _err(src, field, f"expected a {'positive integer' if integer else 'positive number'}, got {v!r}")
    if integer and not (isinstance(v, int) or float(v).is_integer()):
        raise _err(src, field, f"expected an integer, got {v!r}")
    if not math.isfinite(v) or v <= 0:
        raise _err(src, field, f"expected a finite value > 0, got {v!r}")
    if calls and v > MAX_CALLS:
        raise _err(src, field, f"expected at most {MAX_CALLS} gradient calls (MAX_CALLS), got {v!r}")
    return int(v) if integer else float(v)


def _list_of(src, field, v, *, integer=False, calls=False) -> list:
    if not isinstance(v, (list, tuple)) or not v:
        raise _err(src, field, f"expected a non-empty list, got {v!r}")
    out = [_pos_number(src, f"{field}[{i}]", x, integer=integer, calls=calls) for i, x in enumerate(v)]
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


def _validate(d: dict, src: str, allow_import: tuple = (), imports: bool = True) -> Spec:
    if not isinstance(d, dict):
        raise SpecError(f"{src}: the spec must be a mapping")
    _unknown(src, "", d, _TOP_KEYS)
    for req in ("name", "objectives", "methods", "deltas", "measure"):
        if req not in d:
            raise _err(src, req, "missing required field")
    name = d["name"]
    try:
        check_plain_name(name, "a sweep name")  # it names the results file: results/<name>.db
    except (TypeError, ValueError) as exc:
        raise _err(src, "name", str(exc)) from None
    if "description" in d and not isinstance(d["description"], str):
        raise _err(src, "description", f"expected a string, got {d['description']!r}")
    factories: dict[str, Callable] = {}

    seeds = d.get("seeds", 1)
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise _err(src, "seeds", f"expected an integer >= 1 or a list of integers, got {seeds!r}")
        if seeds > MAX_RUNS:  # every seed is at least one run; the list is not built
            raise _err(src, "seeds", f"{seeds} seeds are more runs than the {MAX_RUNS} a spec may have (MAX_RUNS)")
        seeds = list(range(seeds))
    elif isinstance(seeds, (list, tuple)) and seeds and all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        if len(set(seeds)) != len(seeds):
            raise _err(src, "seeds", "duplicate seeds")
        for i, s in enumerate(seeds):
            try:
                check_seed(s)  # the draw's range (o2nc.conversion.draw), checked before any run
            except ValueError as exc:
                raise _err(src, f"seeds[{i}]", str(exc)) from None
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
        meas["budgets"] = _list_of(src, "measure.budgets", meas["budgets"], integer=True, calls=True)
        if min(meas["budgets"]) < 2:
            raise _err(src, "measure.budgets", "every budget must be at least 2")
    if "epsilons" in meas:
        meas["epsilons"] = _list_of(src, "measure.epsilons", meas["epsilons"])
        if "max_queries" not in meas:
            raise _err(src, "measure.max_queries", "required with epsilons (the cap on an epsilon run's calls)")
        meas["max_queries"] = _pos_number(src, "measure.max_queries", meas["max_queries"], integer=True,
                                          calls=True)
    if "doubling_start" in meas:
        if "epsilons" not in meas:
            raise _err(src, "measure.doubling_start", "only with epsilons (it sets the budgets of epsilon runs)")
        meas["doubling_start"] = _pos_number(src, "measure.doubling_start", meas["doubling_start"], integer=True,
                                             calls=True)
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
        oname = _objective_name(src, f + ".name", o.get("name"), allow_import, imports, factories,
                                from_python=src == "<dict>")
        o2 = {"name": oname, "params": _json_params(src, f + ".params", o.get("params")),
              "oracle": o.get("oracle", "auto")}
        _check_placeholders(src, f + ".params", o2["params"], PLACEHOLDERS)
        if o2["oracle"] not in _ORACLES:
            raise _err(src, f + ".oracle", f"expected one of {', '.join(_ORACLES)}, got {o2['oracle']!r}")
        for k in ("lipschitz", "gap"):
            if k in o:
                o2[k] = _pos_number(src, f"{f}.{k}", o[k])
        if "sigma" in o:  # σ = 0 is allowed: a stochastic oracle without noise
            sig = o["sigma"]
            if isinstance(sig, bool) or not isinstance(sig, (int, float)) or not math.isfinite(sig) or sig < 0:
                raise _err(src, f + ".sigma", f"expected a finite number ≥ 0, got {sig!r}")
            o2["sigma"] = float(sig)
        if "epsilon_scale" in o:
            if o["epsilon_scale"] not in _EPSILON_SCALES:
                raise _err(src, f + ".epsilon_scale", f"expected one of {', '.join(_EPSILON_SCALES)}, got "
                                                      f"{o['epsilon_scale']!r}")
            o2["epsilon_scale"] = o["epsilon_scale"]
        if "max_queries" in o:
            o2["max_queries"] = _pos_number(src, f + ".max_queries", o["max_queries"], integer=True, calls=True)
        if follows(o2["params"], "epsilon"):
            if "epsilons" not in meas:
                raise _err(src, f + ".params", "follows $epsilon, but the spec has no measure.epsilons")
            if o2.get("epsilon_scale", meas["epsilon_scale"]) != "absolute":
                # ε relative to G, where G itself depends on ε, would be circular
                raise _err(src, f + ".epsilon_scale", "parameters that follow $epsilon need an absolute ε; set "
                                                      "epsilon_scale = 'absolute' for this objective")
        label = o.get("label")
        if label is None:
            label = oname + "".join(f",{k}={v}" for k, v in sorted(o2["params"].items()))
        elif not isinstance(label, str) or not label.strip() or not label.isprintable():
            raise _err(src, f + ".label", f"expected a non-empty printable string, got {label!r}")
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
        _check_learner(src, f + ".learner", m["learner"])
        m2 = {"name": _method_name(src, f + ".name", m.get("name", m["learner"])), "learner": m["learner"],
              "tuning": m.get("tuning", "theory"), "scaling": m.get("scaling", "uniform"),
              "restart": m.get("restart", True),
              "learner_params": _json_params(src, f + ".learner_params", m.get("learner_params"))}
        if m2["tuning"] not in _TUNINGS:
            raise _err(src, f + ".tuning", f"expected one of {', '.join(_TUNINGS)}, got {m2['tuning']!r}")
        if any(is_expression(v) for v in m2["learner_params"].values()):
            if m2["tuning"] != "fixed":
                raise _err(src, f + ".learner_params", "placeholders ($epsilon, $delta, ...) need tuning = 'fixed'; "
                                                       "the theory tuning sets the learner's parameters")
            _check_placeholders(src, f + ".learner_params", m2["learner_params"], METHOD_PLACEHOLDERS)
            if follows(m2["learner_params"], "epsilon") and "epsilons" not in meas:
                raise _err(src, f + ".learner_params", "follows $epsilon, but the spec has no measure.epsilons")
        if "objectives" in m:
            m2["objectives"] = _method_objectives(src, f + ".objectives", m["objectives"])
        if m2["scaling"] not in _SCALINGS:
            raise _err(src, f + ".scaling", f"expected one of {', '.join(_SCALINGS)}, got {m2['scaling']!r}")
        if not isinstance(m2["restart"], bool):
            raise _err(src, f + ".restart", f"expected true or false, got {m2['restart']!r}")
        if "engine" in m:  # stored only when given: the keys of specs without it do not change
            if m["engine"] not in _ENGINES:
                raise _err(src, f + ".engine", f"expected one of {', '.join(_ENGINES)}, got {m['engine']!r}")
            m2["engine"] = m["engine"]
        if "hint" in m:  # stored only when given, like the engine
            if m["hint"] not in _HINTS:
                raise _err(src, f + ".hint", f"expected one of {', '.join(_HINTS)} (or leave it out: no hint), "
                                             f"got {m['hint']!r}")
            if m2.get("engine") == "compiled":
                raise _err(src, f + ".hint", "a hint runs in the loop engine only (o2nc.minimize); drop "
                                             "engine = 'compiled' or the hint")
            m2["hint"] = m["hint"]
        if m2["tuning"] == "fixed":
            if "epoch_length" not in m:
                raise _err(src, f + ".epoch_length", "required with tuning = 'fixed'")
            m2["epoch_length"] = _pos_number(src, f + ".epoch_length", m["epoch_length"], integer=True)
        elif "epoch_length" in m:
            raise _err(src, f + ".epoch_length", "only with tuning = 'fixed' (theory tuning sets it)")
        out_meths.append(m2)
    mnames = [m["name"] for m in out_meths]
    if len(set(mnames)) != len(mnames):
        raise _err(src, "methods", "two methods have the same name")
    for i, m in enumerate(out_meths):
        for lab in m.get("objectives", []):
            if lab not in labels:
                raise _err(src, f"methods[{i}].objectives", f"no objective has the label {lab!r}; labels: "
                                                            f"{', '.join(labels)}")
        if "epoch_length" in m and "budgets" in meas and min(meas["budgets"]) < m["epoch_length"] and any(
                not _epsilon_only(o, m) for o in out_objs if o["label"] in m.get("objectives", [o["label"]])):
            # a budget run shorter than one epoch has no certificate (o2nc.experiments.runner refuses it)
            raise _err(src, f"methods[{i}].epoch_length", f"{m['epoch_length']} is longer than the smallest budget "
                                                          f"{min(meas['budgets'])} (measure.budgets); a budget run "
                                                          "needs at least one epoch")

    data = {"name": name, "seeds": seeds, "deltas": deltas, "measure": meas, "objectives": out_objs,
            "methods": out_meths, "description": str(d.get("description", ""))}
    spec = Spec(name=name, data=data, source=src, factories=factories)
    count = spec.count()  # before building anything: a spec too large to expand is refused at once
    if count > MAX_RUNS:
        raise _err(src, "seeds", f"the spec has {count} runs (objectives × methods × deltas × targets × seeds), "
                                 f"more than the {MAX_RUNS} a spec may have (MAX_RUNS); split it into several specs")

    built = [None if o["name"] in factories and not imports else
             _check_objective(src, f"objectives[{i}]", o, meas, deltas, factories)
             for i, o in enumerate(out_objs)]
    for i, m in enumerate(out_meths):
        _check_method_on_objectives(src, f"methods[{i}]", m, out_objs, built, meas, deltas)
    return spec


def _check_learner(src, field, name) -> None:
    try:
        from online_learners import registry
    except ImportError:  # pragma: no cover
        return
    if name not in registry.names():
        raise _err(src, field, f"unknown learner {name!r}; known: {', '.join(registry.names())}")


def _method_name(src, field, v) -> str:
    """A method's label: a non-empty printable string (it is stored and printed, never a path or a lookup)."""
    if not isinstance(v, str) or not v.strip() or not v.isprintable() or len(v) > 200:
        raise _err(src, field, f"expected a non-empty printable string of at most 200 characters, got {v!r}")
    return v


def _objective_name(src, field, v, allow_import, imports, factories, *, from_python) -> str:
    """An objective's name: a registered name; from Python also a module-level callable; ``"module:factory"``
    only for an allowed module (imported here unless ``imports`` is False).  Returns the name stored in the run
    configs; records the factories in ``factories``."""
    if callable(v) and not isinstance(v, str):
        if not from_python:  # pragma: no cover - files hold data only
            raise _err(src, field, "a callable can be passed only from Python")
        try:
            ident = authorize(v, "a factory")
        except (TypeError, ValueError) as exc:
            raise _err(src, field, str(exc)) from None
        factories[ident] = v
        return ident
    if not isinstance(v, str) or not v:
        raise _err(src, field, f"missing or not a string (a name of the objective bank, e.g. 'nesterov_n2'), "
                               f"got {v!r}")
    if is_factory_name(v):
        try:
            fn = import_factory(v, allow_import, "an objective", load=imports)
        except ValueError as exc:
            raise _err(src, field, str(exc)) from None
        factories[v] = fn
        return v
    try:
        check_plain_name(v, "an objective name")
    except ValueError as exc:
        raise _err(src, field, str(exc)) from None
    try:
        import objectives

        known = objectives.names()
    except (ImportError, AttributeError):  # pragma: no cover - the bank ships with o2nc
        return v
    if v not in known:
        import difflib

        close = difflib.get_close_matches(v, known, n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
        raise _err(src, field, f"unknown objective {v!r}; {hint}objectives.names() lists the {len(known)} "
                               "registered ones")
    return v


def _check_placeholders(src, field, params, allowed) -> None:
    """Every expression of ``params`` parses and uses only the placeholders ``allowed``."""
    for k, v in params.items():
        if not is_expression(v):
            continue
        try:
            names = placeholders_of(v)
        except ValueError as exc:
            raise _err(src, f"{field}.{k}", str(exc)) from None
        for t in names:
            ok = t in allowed or ("$extra.KEY" in allowed and t.startswith("$extra.") and len(t) > len("$extra."))
            if not ok:
                raise _err(src, f"{field}.{k}", f"unknown placeholder {t!r}; use one of {', '.join(allowed)}")


def _method_objectives(src, field, v) -> list:
    if not isinstance(v, (list, tuple)) or not v or not all(isinstance(x, str) and x for x in v):
        raise _err(src, field, f"expected a non-empty list of objective labels, got {v!r}")
    if len(set(v)) != len(v):
        raise _err(src, field, "duplicate labels")
    return list(v)


def _check_method_on_objectives(src, field, m, objs, built, meas, deltas) -> None:
    """Build a method as its first run does (the first (ε, δ); :func:`o2nc.experiments.build.method_from` for a
    learner, whose own constructor checks ``learner_params``; :func:`baseline_from` for a baseline), so that a value
    the learner or baseline rejects, or an expression naming an ``extra`` the objective lacks or without a finite
    value, fails here and not in every run.  Parameters with expressions are checked on every objective the method
    runs on; a learner without them once (a baseline without them was built by :func:`_baseline_method`)."""
    params = m.get("params", m.get("learner_params", {}))
    expressions = any(is_expression(v) for v in params.values())
    if "baseline" in m and not expressions:
        return
    which = "params" if "baseline" in m else "learner_params"
    first = _first_values(meas, deltas)
    for o, obj in zip(objs, built):
        if "objectives" in m and o["label"] not in m["objectives"]:
            continue
        if obj is None and expressions:  # an objective not imported (--dry-run): its G and extra are unknown
            continue
        lip = o.get("lipschitz", getattr(obj, "lipschitz", None))
        try:
            if "baseline" in m:
                p = substitute(params, epsilon=first["epsilon"], delta=first["delta"], lipschitz=lip,
                               extra=getattr(obj, "extra", None))
                baseline_from(m["baseline"], p, epsilon=first["epsilon"], delta=first["delta"])
            else:
                measure = "epsilon" if _epsilon_only(o, m) or "budgets" not in meas else "budget"
                config = {"objective": o, "method": m, "delta": first["delta"], "measure": measure,
                          "certificate": meas["certificate"]}
                method_from(config, obj, epsilon=first["epsilon"] if measure == "epsilon" else None)
        except (ValueError, TypeError) as exc:
            on = f"on objective {o['label']!r}: " if expressions else ""
            raise _err(src, f"{field}.{which}", f"{on}{exc}") from None
        if not expressions:
            return


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
        check_plain_name(name, "a baseline name")
    except ValueError as exc:
        raise _err(src, f + ".baseline", str(exc)) from None
    try:
        from o2nc import baselines
    except ImportError:  # pragma: no cover - the package ships with o2nc
        raise _err(src, f + ".baseline", "o2nc.baselines is not available in this installation") from None
    if name not in baselines.names():
        raise _err(src, f + ".baseline", f"unknown baseline {name!r}; known: {', '.join(baselines.names())}")
    params = _json_params(src, f + ".params", m.get("params"))
    _check_placeholders(src, f + ".params", params, METHOD_PLACEHOLDERS)
    if "delta" in params:
        raise _err(src, f + ".params.delta", "set by the sweep: each run's δ (top-level 'deltas') is the "
                                             "baseline's certificate radius")
    if follows(params, "epsilon") and "epsilons" not in meas:
        raise _err(src, f + ".params", "follows $epsilon, but the spec has no measure.epsilons")
    first = _first_values(meas, deltas)
    if not any(t in ("$lipschitz",) or t.startswith("$extra.") for v in params.values() for t in placeholders_of(v)):
        # (parameters that follow the objective are checked once the objectives are built)
        try:
            baseline_from(name, params, epsilon=first["epsilon"], delta=first["delta"])
        except (ValueError, TypeError) as exc:
            raise _err(src, f + ".params", str(exc)) from None
    out = {"name": _method_name(src, f + ".name", m.get("name", name)), "baseline": name, "params": params}
    if "objectives" in m:
        out["objectives"] = _method_objectives(src, f + ".objectives", m["objectives"])
    return out


def _check_objective(src, field, o, meas, deltas, factories):
    """Build the objective once in the driver so that an unknown name or parameter fails before any run; return
    it."""
    first = _first_values(meas, deltas)
    try:
        obj = build_objective(o, epsilon=first["epsilon"], delta=first["delta"], factories=factories)
    except SpecError:
        raise
    except Exception as exc:
        raise _err(src, field, f"cannot build objective {o['name']!r}: {exc}") from None
    if o["oracle"] == "stochastic" and getattr(obj, "stochastic_grad", None) is None:
        raise _err(src, field + ".oracle", f"objective {o['name']!r} has no stochastic oracle")
    return obj
