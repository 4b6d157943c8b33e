"""Argument checks shared by every method of :mod:`o2nc.methods`, the baselines and the theory tuning.

One argument order everywhere: ``check_*(owner, name, value, ...)``; each raises a ``ValueError`` that names
``owner``, the parameter and the accepted range, and accepts numpy scalars but never a bool as a number.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["check_positive", "check_open_unit", "check_count", "check_choice", "check_learner", "check_seed",
           "is_number"]


def is_number(value) -> bool:
    """A real number (Python or numpy), not a bool."""
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.floating, np.integer))


def _prefix(owner: str) -> str:
    return f"{owner}: " if owner else ""


def check_positive(owner: str, name: str, value, *, allow_zero: bool = False) -> None:
    """ValueError naming ``owner.name`` unless ``value`` is a finite number > 0 (≥ 0 with ``allow_zero``)."""
    ok = is_number(value) and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        rng = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{_prefix(owner)}`{name}` must be a finite number {rng}, got {value!r}")


def check_open_unit(owner: str, name: str, value, *, low_closed: bool = False, high_closed: bool = False) -> None:
    """ValueError unless ``value`` lies in (0, 1) (endpoints as given)."""
    ok = is_number(value) and math.isfinite(value)
    if ok:
        ok = (value >= 0 if low_closed else value > 0) and (value <= 1 if high_closed else value < 1)
    if not ok:
        interval = ("[" if low_closed else "(") + "0, 1" + ("]" if high_closed else ")")
        raise ValueError(f"{_prefix(owner)}`{name}` must be a number in {interval}, got {value!r}")


def check_count(owner: str, name: str, value, *, minimum: int = 1, optional: bool = False) -> None:
    """ValueError unless ``value`` is an integer ≥ ``minimum`` (or None when ``optional``)."""
    if optional and value is None:
        return
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{_prefix(owner)}`{name}` must be an integer ≥ {minimum}, got {value!r}")


def check_choice(owner: str, name: str, value, choices) -> None:
    """ValueError unless ``value`` is one of ``choices`` (listed in the message)."""
    if value not in tuple(choices):
        raise ValueError(f"{_prefix(owner)}`{name}` must be one of {tuple(choices)}, got {value!r}")


def check_learner(owner: str, name: str, learner, *, optional: bool = True) -> None:
    """ValueError unless ``learner`` is an online learner with init/predict/update (or None when ``optional``)."""
    if learner is None and optional:
        return
    for method in ("init", "predict", "update"):
        if not callable(getattr(learner, method, None)):
            raise ValueError(f"{_prefix(owner)}`{name}` must be an online learner with init/predict/update "
                             f"(see online_learners), got {type(learner).__name__}")


def check_seed(owner: str, seed) -> int:
    """The seed as an int in [0, 2^64), the range of :func:`o2nc.conversion.draw.check_seed` (the one check, which
    ``minimize`` applies too); ValueError otherwise, prefixed with ``owner``."""
    from o2nc.conversion.draw import check_seed as check_draw_seed

    if isinstance(seed, np.bool_):
        seed = bool(seed)
    try:
        return check_draw_seed(seed)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{_prefix(owner)}{exc}") from None
