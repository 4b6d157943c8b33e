"""The learner registry: every learner class with example configurations that the shared tests iterate over.

Adding a learner means one ``register`` call; the registry-driven tests (parity across backends, regret within the
documented bound, bad hyperparameters rejected) then cover it without new test code.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LearnerEntry", "register", "get", "names", "entries", "examples"]


@dataclass(frozen=True)
class LearnerEntry:
    name: str
    factory: Callable
    summary: str
    examples: tuple  # learner instances used by the shared tests (all with a finite regret bound)
    bad_params: tuple  # keyword dicts that must be rejected with a ValueError/TypeError


_REGISTRY: dict[str, LearnerEntry] = {}


def register(name: str, factory: Callable, *, summary: str, examples, bad_params=()) -> LearnerEntry:
    if name in _REGISTRY:
        raise ValueError(f"learner {name!r} is already registered")
    entry = LearnerEntry(name, factory, summary, tuple(examples), tuple(bad_params))
    _REGISTRY[name] = entry
    return entry


def names() -> list:
    """Sorted names of the registered learners."""
    return sorted(_REGISTRY)


def entries() -> list:
    return [_REGISTRY[n] for n in names()]


def get(name: str, **params):
    """Build the learner registered as ``name`` with ``params``; an unknown name lists the close matches."""
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown learner {name!r}{hint} Known: {', '.join(names())}")
    return _REGISTRY[name].factory(**params)


def examples() -> list:
    """(test id, learner) pairs over every registered example configuration."""
    return [(f"{e.name}[{i}]", learner) for e in entries() for i, learner in enumerate(e.examples)]
