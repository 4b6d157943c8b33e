"""The baseline registry: every method with a one-line summary, example configurations and rejected parameters.

Adding a baseline means one ``register`` call; the registry-driven tests (seeded determinism, budgets respected,
zero-order methods making no gradient call, bad hyperparameters rejected) then cover it without new test code, and
:mod:`o2nc.methods` lists it.  The registry is an :class:`o2nc.methods.registry.Registry`, the one registry type.
"""
from __future__ import annotations

from o2nc.methods.registry import Entry, Registry

__all__ = ["BaselineEntry", "REGISTRY", "register", "get", "names", "entries", "entry", "examples"]

#: A registered baseline (the shared registry entry type).
BaselineEntry = Entry

#: The baselines, by name.
REGISTRY = Registry("baseline")


def register(name: str, factory, *, summary: str, examples, bad_params=()) -> Entry:
    """Register the hyperparameter class ``factory`` under ``name``."""
    return REGISTRY.register(name, factory, summary=summary, examples=examples, bad_params=bad_params,
                             family="baseline")


def names() -> list:
    """Sorted names of the registered baselines."""
    return REGISTRY.names()


def entries() -> list:
    return REGISTRY.entries()


def entry(name: str) -> Entry:
    return REGISTRY.entry(name)


def get(name: str, **params):
    """Build the baseline registered as ``name`` with ``params``; an unknown name lists the close matches, an
    unknown parameter the accepted ones."""
    return REGISTRY.get(name, **params)


def examples() -> list:
    """(test id, baseline) pairs over every registered example configuration."""
    return REGISTRY.examples()
