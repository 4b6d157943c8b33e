"""The one registry type: named factories with a summary, example configurations and rejected parameters.

:mod:`o2nc.methods` (every method) and :mod:`o2nc.baselines` (the baselines' hyperparameter classes) each keep one
:class:`Registry`.  Adding an entry is one ``register`` call; the registry-driven tests pick it up without new test
code.  An unknown name or parameter is a ``ValueError`` that names it and lists what is accepted.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Entry", "Registry", "accepted_parameters"]


def accepted_parameters(factory: Callable) -> tuple[str, ...]:
    """The keyword names ``factory`` accepts: its ``accepted`` attribute when it declares one, a dataclass's init
    fields, else its signature's parameters."""
    declared = getattr(factory, "accepted", None)
    if isinstance(declared, tuple):
        return declared
    if dataclasses.is_dataclass(factory):
        return tuple(f.name for f in dataclasses.fields(factory) if f.init)
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return ()
    return tuple(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))


@dataclass(frozen=True)
class Entry:
    """One registered name.

    Attributes:
        name: the registry name.
        factory: builds the value from keyword parameters.
        summary: one line: what it is and its source.
        examples: values (or keyword dicts) the shared tests run.
        bad_params: keyword dicts that must be rejected with a ValueError.
        family: what kind of thing it is (``"o2nc"`` or ``"baseline"`` in :mod:`o2nc.methods`).
        fixed: parameters the name fixes (a named configuration); passing another value for one is a ValueError.
    """

    name: str
    factory: Callable
    summary: str
    examples: tuple = ()
    bad_params: tuple = ()
    family: str = ""
    fixed: Mapping[str, Any] = field(default_factory=dict)

    @property
    def order(self) -> str:
        """``"first-order"`` (budget = gradient calls) or ``"zero-order"`` (budget = function evaluations)."""
        return getattr(self.factory, "order", "first-order")

    @property
    def rate(self) -> str:
        """The proven rate, one line (details and sources in the factory's docstring)."""
        return getattr(self.factory, "rate", "")

    def accepted(self) -> tuple[str, ...]:
        """The parameters :meth:`Registry.get` accepts for this name."""
        return tuple(p for p in accepted_parameters(self.factory) if p not in self.fixed)


class Registry:
    """Named entries of one kind (``what``: ``"method"``, ``"baseline"``), with close-match errors.

    ``loader``: called once, before the first lookup, to register the built-in entries (so that importing the
    registry module imports none of them).
    """

    def __init__(self, what: str, loader: Callable[[Registry], None] | None = None):
        self.what = what
        self._entries: dict[str, Entry] = {}
        self._loader = loader
        self._lock = threading.RLock()
        self._ready = loader is None
        self._loading = False

    def _load(self) -> None:
        """Run the loader once; other threads wait until it has finished, and a loader that fails runs again on
        the next lookup (its partial entries are dropped)."""
        if self._ready:
            return
        with self._lock:
            if self._ready or self._loading:  # loaded meanwhile, or a lookup from inside the loader (same thread)
                return
            self._loading = True
            before = dict(self._entries)
            try:
                self._loader(self)
                self._ready = True
            except BaseException:
                self._entries = before
                raise
            finally:
                self._loading = False

    def register(self, name: str, factory: Callable, *, summary: str, examples=(), bad_params=(), family: str = "",
                 fixed: Mapping[str, Any] | None = None) -> Entry:
        """Add ``name``; a name registered twice is a ValueError."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"{self.what} name must be a non-empty string, got {name!r}")
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} is already registered")
        entry = Entry(name, factory, summary, tuple(examples), tuple(bad_params), family, dict(fixed or {}))
        self._entries[name] = entry
        return entry

    def names(self) -> list:
        """Sorted registered names."""
        self._load()
        return sorted(self._entries)

    def entries(self) -> list:
        return [self._entries[n] for n in self.names()]

    def entry(self, name: str) -> Entry:
        """The entry of ``name``; an unknown name is a ValueError listing close matches and every known name."""
        self._load()
        if not isinstance(name, str) or name not in self._entries:
            close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.4) if isinstance(name, str) \
                else []
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"unknown {self.what} {name!r}{hint} Known: {', '.join(self.names())}")
        return self._entries[name]

    def get(self, name: str, **params):
        """Build ``name`` with ``params``.  An unknown parameter, or one the name fixes, is a ValueError naming it
        and listing the accepted ones."""
        entry = self.entry(name)
        accepted = entry.accepted()
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            fixed = [k for k in unknown if k in entry.fixed]
            why = (f"{', '.join(map(repr, fixed))} fixed by this name "
                   f"({', '.join(f'{k}={entry.fixed[k]!r}' for k in fixed)})"
                   if fixed else f"unknown parameter(s) {', '.join(map(repr, unknown))}")
            raise ValueError(f"{self.what} {name!r}: {why}; accepted parameters: {', '.join(accepted) or 'none'}")
        try:
            return entry.factory(**{**entry.fixed, **params})
        except TypeError as err:  # a keyword the factory refused after all: name the accepted ones
            raise ValueError(f"{self.what} {name!r}: {err}; accepted parameters: {', '.join(accepted)}") from None

    def examples(self) -> list:
        """(test id, example) pairs over every registered example configuration."""
        return [(f"{e.name}[{i}]", x) for e in self.entries() for i, x in enumerate(e.examples)]

    def __contains__(self, name) -> bool:
        self._load()
        return name in self._entries
