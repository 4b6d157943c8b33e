"""The baseline registry: every method with a one-line summary, example configurations and rejected parameters.

Adding a baseline means one ``register`` call; the registry-driven tests (seeded determinism, budgets respected,
zero-order methods making no gradient call, bad hyperparameters rejected) then cover it without new test code.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Callable, Dict, Tuple

__all__ = ["BaselineEntry", "register", "get", "names", "entries", "examples"]


@dataclass(frozen=True)
class BaselineEntry:
    name: str
    factory: Callable
    summary: str
    examples: Tuple  # baseline instances used by the shared tests
    bad_params: Tuple  # keyword dicts that must be rejected with a ValueError

    @property
    def order(self) -> str:
        """``"first-order"`` (budget = gradient calls) or ``"zero-order"`` (budget = function evaluations)."""
        return self.factory.order

    @property
    def rate(self) -> str:
        """The proven rate, one line (details and sources in the class's module docstring)."""
        return self.factory.rate


_REGISTRY: Dict[str, BaselineEntry] = {}


def register(name: str, factory: Callable, *, summary: str, examples, bad_params=()) -> BaselineEntry:
    if name in _REGISTRY:
        raise ValueError(f"baseline {name!r} is already registered")
    entry = BaselineEntry(name, factory, summary, tuple(examples), tuple(bad_params))
    _REGISTRY[name] = entry
    return entry


def names() -> list:
    """Sorted names of the registered baselines."""
    return sorted(_REGISTRY)


def entries() -> list:
    return [_REGISTRY[n] for n in names()]


def entry(name: str) -> BaselineEntry:
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown baseline {name!r}{hint} Known: {', '.join(names())}")
    return _REGISTRY[name]


def get(name: str, **params):
    """Build the baseline registered as ``name`` with ``params``; an unknown name lists the close matches."""
    factory = entry(name).factory
    try:
        return factory(**params)
    except TypeError as err:  # an unknown keyword: name the accepted ones
        from dataclasses import fields

        accepted = ", ".join(f.name for f in fields(factory))
        raise ValueError(f"baseline {name!r}: {err}; accepted parameters: {accepted}") from None


def examples() -> list:
    """(test id, baseline) pairs over every registered example configuration."""
    return [(f"{e.name}[{i}]", b) for e in entries() for i, b in enumerate(e.examples)]
