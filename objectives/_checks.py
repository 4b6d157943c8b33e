"""Argument checks for the bank's factories: a bad parameter fails when the objective is built, naming it.

Each check raises a ``TypeError`` (wrong kind: a string, a bool, a complex number, an array with entries, a float
where an integer is needed) or a ``ValueError`` (NaN, ±inf, out of range) whose message names the objective, the
parameter and what it accepts, and returns the value as a Python ``int``/``float``. Numpy scalars and 0-d arrays of
any backend are accepted wherever a Python number is.

``online_learners/_checks.py`` holds the same scalar conversion for the learners: the two packages may not import
each other (DESIGN.md), so those few lines exist twice on purpose.
"""
from __future__ import annotations

import math
import numbers

__all__ = ["integer", "real", "optional_integer"]


def _scalar(owner: str, name: str, value, what: str, integral: bool):
    v = value
    if getattr(v, "shape", None) == () and callable(getattr(v, "item", None)):
        v = v.item()  # numpy scalars and 0-d numpy/torch/jax arrays
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or (integral and not isinstance(v, numbers.Integral)):
        raise TypeError(f"{owner}: `{name}` must be {what}, got {value!r}")
    return v


def integer(owner: str, name: str, value, *, least: int = 1, most: int | None = None) -> int:
    """An integer in [least, most] (numpy integers and 0-d integer arrays included) as a Python int."""
    what = f"an integer >= {least}" + ("" if most is None else f" and <= {most}")
    v = int(_scalar(owner, name, value, what, True))
    if v < least or (most is not None and v > most):
        raise ValueError(f"{owner}: `{name}` must be {what}, got {value!r}")
    return v


def optional_integer(owner: str, name: str, value, *, least: int = 1) -> int | None:
    """``None`` or an integer ≥ ``least``."""
    return None if value is None else integer(owner, name, value, least=least)


def real(owner: str, name: str, value, *, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number in the interval given by ``low``/``high`` (open ends with ``*_open``), as a float."""
    lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
    hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
    what = f"a finite number in {lo}, {hi}"
    v = float(_scalar(owner, name, value, what, False))
    ok = math.isfinite(v)
    if ok and low is not None:
        ok = v > low if low_open else v >= low
    if ok and high is not None:
        ok = v < high if high_open else v <= high
    if not ok:
        raise ValueError(f"{owner}: `{name}` must be {what}, got {value!r}")
    return v
