"""Building what a sweep spec names — registered objectives, learners and baselines — and nothing else.

A spec file is data that people share and download, so a name in it is only ever looked up in a registry:
``objectives.get`` (the objective bank), ``online_learners.registry`` and :mod:`o2nc.baselines`.  No string of a
spec reaches ``importlib``, ``getattr`` on a module, ``eval`` or a path, except in two cases the *user* (not the
file) authorizes:

- from Python, an objective whose ``name`` is a callable (a module-level function or class): the dict spec itself
  carries the code, and the run configuration records it as ``"module:qualname"``;
- an objective named ``"module:factory"`` whose module the caller allowed explicitly
  (``load_spec(path, allow_import=["module"])``, ``o2nc sweep SPEC --allow-import module``).  Only that exact
  module is imported (not its parent or sub-packages), the factory must be a public callable defined in it, and
  ``o2nc sweep --dry-run`` imports nothing.

Factories authorized in this process are kept in a table (:func:`authorized`) that :func:`build_objective` reads;
the sweep driver sends each run's factory to its worker with the run.

Plain names (the sweep's ``name``, which names its results file, and every registry name) match
``[A-Za-z0-9_][A-Za-z0-9_.-]*`` (at most 128 characters): no path separator, no leading dot.
"""
from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from o2nc.experiments.expr import substitute

__all__ = ["PLAIN_NAME", "check_plain_name", "check_module_name", "factory_ident", "authorize", "authorized",
           "import_factory", "build_objective", "baseline_from", "method_from", "is_factory_name"]

#: A plain name: letters, digits, ``_``, ``.``, ``-``; not starting with ``.`` or ``-``.
PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}")
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_ATTR = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

#: Factories authorized in this process: ``"module:qualname"`` (or the ``"module:attr"`` of an allowed import) ->
#: the callable.
_AUTHORIZED: dict[str, Callable] = {}


def check_plain_name(value: Any, what: str) -> str:
    """``value`` if it is a plain name, else ValueError/TypeError naming ``what`` and the accepted form."""
    if not isinstance(value, str):
        raise TypeError(f"{what}: expected a string, got {type(value).__name__} {value!r}")
    if not PLAIN_NAME.fullmatch(value) or ".." in value:
        raise ValueError(f"{what}: {value!r} is not a plain name; use letters, digits, '_', '.' and '-' (at most "
                         "128 characters, not starting with '.' or '-', no '..', no path separators)")
    return value


def check_module_name(value: Any, what: str = "--allow-import") -> str:
    """``value`` if it is a dotted module name (``pkg.mod``), else ValueError naming ``what``."""
    if not isinstance(value, str) or not _MODULE.fullmatch(value):
        raise ValueError(f"{what}: expected a dotted module name such as 'mypackage.objectives', got {value!r}")
    return value


def is_factory_name(name: Any) -> bool:
    """Whether an objective name has the ``"module:factory"`` form."""
    return isinstance(name, str) and ":" in name


def factory_ident(fn: Any, what: str = "factory") -> str:
    """``"module:qualname"`` of a callable passed from Python; it must be reachable under that name (a module-level
    function or class), so that the name identifies it in run keys and worker processes can receive it."""
    if not callable(fn):
        raise TypeError(f"{what}: expected a name or a callable, got {type(fn).__name__}")
    mod, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    obj: Any = sys.modules.get(mod) if isinstance(mod, str) else None
    for part in (qual.split(".") if isinstance(qual, str) and "<" not in qual else [None]):
        obj = getattr(obj, part, None) if part is not None and obj is not None else None
    if obj is not fn:
        raise ValueError(f"{what}: a factory passed from Python must be a module-level function or class (its "
                         f"'module:qualname' names it in the run keys and in worker processes); got {fn!r}")
    return f"{mod}:{qual}"


def authorize(fn: Callable, what: str = "factory") -> str:
    """Record a callable passed from Python as an objective factory; returns its ``"module:qualname"``."""
    ident = factory_ident(fn, what)
    _AUTHORIZED[ident] = fn
    return ident


def authorized(name: str) -> Callable | None:
    """The factory authorized in this process under ``name`` (``"module:qualname"``), or None."""
    return _AUTHORIZED.get(name)


def import_factory(name: str, allow_import: Iterable[str], what: str = "name", *, load: bool = True):
    """Resolve ``"module:factory"`` when ``module`` is one of ``allow_import`` (exactly); ValueError otherwise.

    With ``load=False`` nothing is imported and None is returned: the form and the allow-list are checked, and the
    factory itself only when its module is imported already.
    """
    mod_name, _, attr = name.partition(":")
    allowed = set(allow_import or ())
    if not _MODULE.fullmatch(mod_name) or not _ATTR.fullmatch(attr):
        raise ValueError(f"{what}: {name!r} is neither a registered name nor 'module:factory' (a dotted module and "
                         "a public attribute)")
    if mod_name not in allowed:
        how = (f"only {', '.join(sorted(allowed))} may be imported" if allowed else "no module may be imported")
        raise ValueError(f"{what}: {name!r} names code in module {mod_name!r}; a spec may name only registered "
                         f"objectives ({how}). To run a factory of your own, pass the callable in a dict spec "
                         f"from Python, or allow its module explicitly: o2nc sweep SPEC --allow-import {mod_name}")
    if not load:
        mod = sys.modules.get(mod_name)
        if mod is None:
            return None  # not imported: nothing more can be checked without running its code
    else:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError as exc:
            raise ValueError(f"{what}: cannot import the allowed module {mod_name!r}: {exc}") from None
    fn = vars(mod).get(attr)
    if fn is None or not callable(fn):
        raise ValueError(f"{what}: module {mod_name!r} has no callable {attr!r}")
    if getattr(fn, "__module__", None) != mod_name:
        raise ValueError(f"{what}: {attr!r} is defined in module {getattr(fn, '__module__', None)!r}, not in "
                         f"the allowed {mod_name!r}; allow and name that module instead")
    if not load:
        return None  # checked against the module already imported; nothing is built or recorded
    _AUTHORIZED[name] = fn
    return fn


def build_objective(ocfg: Mapping[str, Any], *, epsilon: float | None = None, delta: float | None = None,
                    factories: Mapping[str, Callable] | None = None):
    """The objective of a config: a name of the objective bank (``objectives.get``), or a ``"module:factory"``
    authorized in this process (a callable passed from Python, an allowed import) or given in ``factories``.
    Parameters ``"$epsilon"`` / ``"$delta"`` take the run's absolute ε and δ
    (:func:`o2nc.experiments.expr.substitute`)."""
    name = ocfg["name"]
    params = substitute(dict(ocfg.get("params", {})), epsilon=epsilon, delta=delta)
    if is_factory_name(name):
        fn = (factories or {}).get(name) or _AUTHORIZED.get(name)
        if fn is None:
            raise ValueError(f"objective {name!r}: not a registered objective, and no factory of that name was "
                             "passed from Python or allowed (--allow-import); nothing is imported for it")
        return fn(**params)
    check_plain_name(name, "objective name")
    import objectives

    if not hasattr(objectives, "get"):
        raise ValueError("the objective bank (objectives.get) is not available in this installation")
    return objectives.get(name, **params)


def baseline_from(name: str, params: Mapping[str, Any], *, epsilon: float | None, delta: float,
                  lipschitz: float | None = None, extra: Mapping[str, Any] | None = None):
    """Build baseline ``name`` (a name of :mod:`o2nc.baselines`) for one run: expressions substituted
    (:func:`~o2nc.experiments.expr.substitute`; ``lipschitz`` and ``extra`` are the objective's), ``delta`` = the
    run's δ, JSON lists as tuples (baselines take tuples, e.g. Mechanic's ``betas``)."""
    from o2nc import baselines

    check_plain_name(name, "baseline")
    p = substitute(params, epsilon=epsilon, delta=delta, lipschitz=lipschitz, extra=extra)
    p = {k: tuple(v) if isinstance(v, list) else v for k, v in p.items()}
    return baselines.get(name, delta=float(delta), **p)


def method_from(config: Mapping[str, Any], obj, *, epsilon: float | None):
    """The :mod:`o2nc.methods` value of one run configuration, for the objective ``obj`` built for it.

    A baseline method (``method["baseline"]``): ``o2nc.methods.get(baseline, **params)`` with its expressions
    substituted (the run's ε and δ, the objective's Lipschitz constant and ``extra``) and JSON lists as tuples.  An
    O2NC method (``method["learner"]``): ``o2nc.methods.get("o2nc", learner=..., tuning=..., ...)``; with
    ``tuning = "fixed"`` its ``learner_params`` substituted likewise and its ``epoch_length``; with ``"theory"`` the
    objective config's ``lipschitz``, ``gap`` and ``sigma`` override the objective's constants.  An epsilon run
    (``measure = "epsilon"``) gives O2NC its target ε (stop at the first certified epoch; the theory tunes for N_ε).
    """
    from o2nc import methods

    ocfg, mcfg = config["objective"], config["method"]
    delta = float(config["delta"])
    lip = ocfg.get("lipschitz", getattr(obj, "lipschitz", None))
    extra = getattr(obj, "extra", None)
    if "baseline" in mcfg:
        check_plain_name(mcfg["baseline"], "baseline")
        p = substitute(dict(mcfg.get("params", {})), epsilon=epsilon, delta=delta, lipschitz=lip, extra=extra)
        p = {k: tuple(v) if isinstance(v, list) else v for k, v in p.items()}
        if methods.entry(mcfg["baseline"]).family != "baseline":
            raise ValueError(f"baseline: {mcfg['baseline']!r} is not a baseline; o2nc.baselines.names() lists them")
        return methods.get(mcfg["baseline"], **p)
    kw: dict[str, Any] = {"learner": mcfg["learner"], "tuning": mcfg["tuning"], "scaling": mcfg["scaling"],
                          "restart": mcfg["restart"], "certificate": config.get("certificate", "auto")}
    if mcfg["tuning"] == "fixed":
        kw["epoch_length"] = int(mcfg["epoch_length"])
        kw["learner_params"] = substitute(dict(mcfg["learner_params"]), epsilon=epsilon, delta=delta, lipschitz=lip,
                                          extra=extra)
    else:
        kw["learner_params"] = dict(mcfg["learner_params"])
        for key in ("lipschitz", "gap", "sigma"):
            if ocfg.get(key) is not None:
                kw[key] = float(ocfg[key])
    if "hint" in mcfg:
        kw["hint"] = mcfg["hint"]
    if config["measure"] == "epsilon":
        kw["epsilon"] = float(epsilon)
    return methods.get("o2nc", **kw)
