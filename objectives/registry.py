"""Registry of the bank: ``register`` a factory under a name, ``get`` an instance, list ``names``."""
from __future__ import annotations

import difflib
import inspect
from typing import Callable, Iterable

from .base import Objective

_FACTORIES: dict[str, Callable[..., Objective]] = {}
_TAGS: dict[str, frozenset] = {}


def register(name: str, tags: Iterable[str]):
    """Decorator: register ``factory(**params) -> Objective`` under ``name`` with its static ``tags``."""

    def deco(factory):
        if name in _FACTORIES:
            raise ValueError(f"objective {name!r} is already registered")
        doc = inspect.getdoc(factory) or ""
        if "Source" not in doc:
            raise ValueError(f"objective {name!r}: the factory docstring must cite its Source")
        _FACTORIES[name] = factory
        _TAGS[name] = frozenset(tags)
        return factory

    return deco


def get(name: str, **params) -> Objective:
    """The objective registered as ``name``, built with ``params`` (e.g. ``n=1000``, ``seed=3``).

    Raises:
        ValueError: unknown name (close matches are listed) or invalid parameters.
    """
    try:
        factory = _FACTORIES[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_FACTORIES), n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown objective {name!r}{hint} (objectives.names() lists all "
                         f"{len(_FACTORIES)})") from None
    sig = inspect.signature(factory)
    unknown = [p for p in params if p not in sig.parameters]
    if unknown:
        raise ValueError(f"objective {name!r} has no parameter(s) {unknown}; accepted: "
                         f"{list(sig.parameters)}")
    obj = factory(**params)
    missing = _TAGS[name] - obj.tags
    if missing:  # pragma: no cover - guards the registry's own consistency
        raise RuntimeError(f"objective {name!r} lost its registered tags {sorted(missing)}")
    return obj


def names(tags: Iterable[str] | None = None) -> list[str]:
    """Sorted registered names; with ``tags``, only those carrying every one of them."""
    if isinstance(tags, str):
        tags = [tags]
    want = frozenset(tags or ())
    return sorted(n for n, t in _TAGS.items() if want <= t)


def tags_of(name: str) -> frozenset:
    """The static tags registered for ``name``."""
    return _TAGS[name]


def factory_of(name: str) -> Callable[..., Objective]:
    """The factory registered for ``name`` (its docstring holds the formula and the source)."""
    return _FACTORIES[name]
