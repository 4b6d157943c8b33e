"""Argument checks for the learners' constructors: one place that says what a hyperparameter accepts.

Every check takes the owner (the class name, for the message), the parameter's name and its value, raises a
``TypeError`` (wrong kind: a string, a bool where a number is expected, a complex number, an array with entries) or a
``ValueError`` (right kind, outside the accepted range: NaN, ±inf, ≤ 0, ...) whose message names ``owner``, the
parameter and what it accepts, and returns the value **normalised to a Python scalar**. Numpy scalars and 0-d arrays
(numpy, torch, jax) are accepted wherever a Python number is, and come back as ``int``/``float``: a frozen learner
then never holds a numpy float64 that would promote a float32 run (NumPy's promotion rules, NEP 50, treat numpy
scalars as typed and Python scalars as weak) nor a repr that ``torch.load(weights_only=True)`` cannot rebuild.

The objectives bank has its own copy of the scalar conversion (``objectives/_checks.py``): the two packages may not
import each other (DESIGN.md, dependencies point one way), so the ~20 lines that turn a value into a Python scalar
exist twice on purpose.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

__all__ = ["scalar", "real", "positive", "nonnegative", "unit_interval", "integer", "boolean", "choice", "learner",
           "gradient", "freeze"]

_KINDS = {"number": "a real number", "integer": "an integer", "bool": "a bool (True or False)"}


def scalar(owner: str, name: str, value, kind: str = "number", what: str | None = None):
    """``value`` as a Python ``int``/``float`` (``kind="number"``), ``int`` (``"integer"``) or ``bool`` (``"bool"``).

    Accepts Python scalars, numpy scalars and 0-d arrays of any backend (anything with ``shape == ()`` and ``item``);
    a TypeError names the parameter for everything else (strings, None, complex numbers, arrays with entries, a bool
    given for a number or a number given for a bool).
    """
    v = value
    if getattr(v, "shape", None) == () and callable(getattr(v, "item", None)):
        v = v.item()  # numpy scalars and 0-d numpy/torch/jax arrays
    want = _KINDS[kind] if what is None else what
    if kind == "bool":
        if isinstance(v, bool):
            return v
        raise TypeError(f"{owner}: `{name}` must be {want}, got {value!r}")
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{owner}: `{name}` must be {want}, got {value!r}")
    if kind == "integer":
        if isinstance(v, numbers.Integral):
            return int(v)
        raise TypeError(f"{owner}: `{name}` must be {want}, got {value!r}")
    return int(v) if isinstance(v, numbers.Integral) else float(v)


def real(owner: str, name: str, value, *, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False, what: str | None = None) -> float:
    """A finite real number in [low, high] (open ends with ``low_open``/``high_open``), as a Python float."""
    v = scalar(owner, name, value, what=what and f"{_KINDS['number']}: {what}")
    ok = math.isfinite(v)
    if ok and low is not None:
        ok = v > low if low_open else v >= low
    if ok and high is not None:
        ok = v < high if high_open else v <= high
    if not ok:
        if what is None:
            lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
            hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
            what = f"a finite number in {lo or '(-inf'}, {hi or 'inf)'}"
        raise ValueError(f"{owner}: `{name}` must be {what}, got {value!r}")
    return float(v)


def positive(owner: str, name: str, value, *, optional: bool = False):
    """A finite number > 0 as a Python float (``None`` too when ``optional``)."""
    if optional and value is None:
        return None
    return real(owner, name, value, low=0.0, low_open=True,
                what="a finite number > 0" + (" or None" if optional else ""))


def nonnegative(owner: str, name: str, value) -> float:
    """A finite number ≥ 0 as a Python float."""
    return real(owner, name, value, low=0.0, what="a finite number >= 0")


def unit_interval(owner: str, name: str, value, *, closed_right: bool = False) -> float:
    """A number in [0, 1) (or [0, 1] with ``closed_right``) as a Python float."""
    return real(owner, name, value, low=0.0, high=1.0, high_open=not closed_right,
                what="a number in " + ("[0, 1]" if closed_right else "[0, 1)"))


def integer(owner: str, name: str, value, *, least: int = 1) -> int:
    """An integer ≥ ``least`` (numpy integers and 0-d integer arrays included) as a Python int."""
    v = scalar(owner, name, value, "integer", what=f"an integer >= {least}")
    if v < least:
        raise ValueError(f"{owner}: `{name}` must be an integer >= {least}, got {value!r}")
    return v


def boolean(owner: str, name: str, value) -> bool:
    """A real bool (``numpy.bool_`` and 0-d bool arrays included): the string ``"no"`` is not False."""
    return scalar(owner, name, value, "bool")


def choice(owner: str, name: str, value, options: Sequence[str]) -> str:
    """One of ``options`` (strings)."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{owner}: `{name}` must be one of {tuple(options)}, got {value!r}")
    return value


def learner(owner: str, name: str, value):
    """An object with the learner protocol's methods (init/predict/update/regret_bound)."""
    for method in ("init", "predict", "update", "regret_bound"):
        if not callable(getattr(value, method, None)):
            raise TypeError(f"{owner}: `{name}` must be an online learner (init/predict/update/regret_bound), "
                            f"got {value!r}")
    return value


def gradient(owner: str, grad, like):
    """Check that ``grad`` is shaped like ``like`` (a parameter-shaped field of the learner's state): the same number
    of arrays, each with the same shape and a real floating dtype. A TypeError/ValueError names ``grad``.

    Only static metadata is read (structure, shapes, dtypes), so the check costs no device synchronisation and works
    on jax tracers under ``jit``. Non-finite *values* are the driver's to detect: :func:`o2nc.minimize` stops with an
    error naming the step (a learner fed a NaN plays NaN, it never hides it).
    """
    from online_learners import tree

    g_leaves, l_leaves = tree.tree_leaves(grad), tree.tree_leaves(like)
    if len(g_leaves) != len(l_leaves):
        raise ValueError(f"{owner}.update: `grad` must have the structure of the parameters ({len(l_leaves)} "
                         f"array(s)), got {len(g_leaves)}")
    for g, ref in zip(g_leaves, l_leaves):
        dtype = getattr(g, "dtype", None)
        if dtype is None or not hasattr(g, "shape"):
            raise TypeError(f"{owner}.update: `grad` must hold arrays (numpy, torch or jax), got {type(g).__name__}")
        xp = tree.array_namespace(g)
        if not xp.isdtype(dtype, "real floating"):
            raise TypeError(f"{owner}.update: `grad` must be a real floating-point array, got dtype {dtype}")
        if tuple(g.shape) != tuple(ref.shape):
            raise ValueError(f"{owner}.update: `grad` must have the parameters' shape {tuple(ref.shape)}, "
                             f"got {tuple(g.shape)}")
    return grad


def freeze(obj, **values) -> None:
    """Store normalised values on a frozen dataclass instance (``object.__setattr__``)."""
    for key, value in values.items():
        object.__setattr__(obj, key, value)
