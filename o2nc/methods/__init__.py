"""One method interface: every O2NC configuration worth naming and every baseline, behind one ``run``.

``names()`` lists them; ``get(name, **params)`` returns a method value (a frozen dataclass) whose
``run(objective, *, budget, delta, seed=0, x0=None, oracle="auto")`` returns a :class:`Run`: the point, its
:class:`o2nc.Certificate` (or None), the gradient and value calls, a per-iteration (baselines) or per-epoch (O2NC)
trace and why the run stopped.  Sweeps (:mod:`o2nc.experiments.runner`) and figures speak only this.

Modules, one idea each:

- :mod:`~o2nc.methods.registry` — the one registry type (also :mod:`o2nc.baselines`');
- :mod:`~o2nc.methods.checks` — the one set of argument checks;
- :mod:`~o2nc.methods.oracles` — the one oracle counter;
- :mod:`~o2nc.methods.tuning` — the one tuning: theory parameters from budget, δ, G, σ, gap;
- :mod:`~o2nc.methods.learners` — every learner at the requested δ (shared with ``o2nc run``);
- :mod:`~o2nc.methods.o2nc_method`, :mod:`~o2nc.methods.baseline` — the two families of methods;
- :mod:`~o2nc.methods.result` — the :class:`Run` type; :mod:`~o2nc.methods.builtin` — the built-in names.

Example:
    >>> import objectives, o2nc.methods
    >>> run = o2nc.methods.get("o2nc_ogd").run(objectives.get("abs_1d"), budget=2000, delta=0.1)
    >>> run.certificate.kind, run.certificate.delta <= 0.1, run.grad_calls
    ('exact-gradient epoch', True, 1995)
    >>> run = o2nc.methods.get("ingd").run(objectives.get("abs_1d"), budget=200, delta=0.1)
    >>> run.certified, run.certificate_source
    (True, 'own')
"""
from __future__ import annotations

from o2nc.methods.registry import Entry, Registry

__all__ = ["names", "get", "entries", "entry", "REGISTRY", "Run", "O2NCMethod", "BaselineMethod", "Entry",
           "Registry"]


def _load(registry: Registry) -> None:
    from o2nc.methods.builtin import load

    load(registry)


#: Every method, by name (the built-ins are registered on first use).
REGISTRY = Registry("method", loader=_load)


def names() -> list:
    """Sorted names of every method: the O2NC configurations and the baselines."""
    return REGISTRY.names()


def entries() -> list:
    """The registry entries (``family``: ``"o2nc"`` or ``"baseline"``; ``summary``; ``examples``)."""
    return REGISTRY.entries()


def entry(name: str) -> Entry:
    return REGISTRY.entry(name)


def get(name: str, **params):
    """The method ``name`` with ``params``; an unknown name or parameter (or a value out of range) is a
    ValueError naming it and listing the accepted ones."""
    return REGISTRY.get(name, **params)


def __getattr__(attr: str):  # the value types, imported on first use (o2nc.theory imports the checks of this package)
    if attr == "Run":
        from o2nc.methods.result import Run

        return Run
    if attr == "O2NCMethod":
        from o2nc.methods.o2nc_method import O2NCMethod

        return O2NCMethod
    if attr == "BaselineMethod":
        from o2nc.methods.baseline import BaselineMethod

        return BaselineMethod
    raise AttributeError(f"module 'o2nc.methods' has no attribute {attr!r}")
