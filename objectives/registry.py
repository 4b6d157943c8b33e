"""Registry of the bank: ``register`` a factory under a name, ``get`` an instance, list ``names``."""
from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Iterable

from . import _checks
from .base import Objective

_FACTORIES: dict[str, Callable[..., Objective]] = {}
_TAGS: dict[str, frozenset] = {}


# What each parameter name accepts, for every factory that has it (``_checks.integer``/``_checks.real`` keywords).
# A factory still checks what depends on other parameters (k >= n + 1, n in {30, 50}, ...) itself.
_INTEGER_RANGES = {"seed": dict(least=0), "T": dict(least=2)}  # others: >= 1 (dimensions, sample and batch sizes)
_REAL_RANGES = {
    "a": dict(low=0.0, low_open=True), "eps": dict(low=0.0, low_open=True), "delta": dict(low=0.0, low_open=True),
    "sigma": dict(low=0.0), "gap": dict(low=0.0, low_open=True), "p_fail": dict(low=0.0, high=0.5, high_open=True),
    "lam": dict(low=0.0, low_open=True), "label_noise": dict(low=0.0, high=1.0), "w": dict(low=0.0, low_open=True),
    # ramp_loss resamples until |w♮ᵀz| >= margin with z ~ N(0, I): a margin beyond 2 would take ages (P < 5%)
    "margin": dict(low=0.0, high=2.0, low_open=True),
}


def _checked(name: str, factory: Callable) -> Callable:
    """``factory`` with every parameter checked and normalised from its annotation (``int``, ``float``, optional
    ``| None``) and the ranges above: a bad value is a TypeError/ValueError naming the objective and the parameter
    before any data is drawn; numpy scalars and 0-d arrays come in as Python numbers."""
    sig = inspect.signature(factory)

    @functools.wraps(factory)
    def build(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        for key, value in bound.arguments.items():
            kind = str(sig.parameters[key].annotation).replace(" ", "")
            if kind.endswith("|None"):
                if value is None:
                    continue
                kind = kind[: -len("|None")]
            if kind == "int":
                bound.arguments[key] = _checks.integer(name, key, value, **_INTEGER_RANGES.get(key, {}))
            elif kind == "float":
                bound.arguments[key] = _checks.real(name, key, value, **_REAL_RANGES.get(key, {}))
        return factory(*bound.args, **bound.kwargs)

    return build


def register(name: str, tags: Iterable[str]):
    """Decorator: register ``factory(**params) -> Objective`` under ``name`` with its static ``tags``; the
    registered (and returned) factory checks its parameters first (:func:`_checked`)."""

    def deco(factory):
        if name in _FACTORIES:
            raise ValueError(f"objective {name!r} is already registered")
        doc = inspect.getdoc(factory) or ""
        if "Source" not in doc:
            raise ValueError(f"objective {name!r}: the factory docstring must cite its Source")
        checked = _checked(name, factory)
        _FACTORIES[name] = checked
        _TAGS[name] = frozenset(tags)
        return checked

    return deco


def get(name: str, **params) -> Objective:
    """The objective registered as ``name``, built with ``params`` (e.g. ``n=1000``, ``seed=3``).

    Raises:
        ValueError: unknown name (close matches are listed) or invalid parameters.
    """
    if not isinstance(name, str):
        raise TypeError(f"objective name must be a string, got {name!r}")
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
