"""The expression language of sweep specs: parameter values that follow each run's constants.

A parameter string containing ``$`` is an expression: numbers and placeholders joined by ``*`` and ``/``, read left
to right (``"0.25 * $extra.lam / $epsilon"`` is λ/(4ε)); no other operators, no parentheses, nothing evaluated
by Python (:func:`evaluate` parses the tokens itself).  Placeholders: ``$epsilon``, ``$delta`` (every parameter),
``$lipschitz`` and ``$extra.KEY`` (method parameters; :mod:`o2nc.experiments.spec`).
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["canonical_json", "is_expression", "placeholders_of", "follows", "evaluate", "substitute",
           "PLACEHOLDERS", "METHOD_PLACEHOLDERS"]

#: Placeholders any parameter value may use: the run's absolute ε and its δ.
PLACEHOLDERS = ("$epsilon", "$delta")
#: Placeholders a method parameter may use besides: the objective's Lipschitz constant, a number of its ``extra``.
METHOD_PLACEHOLDERS = PLACEHOLDERS + ("$lipschitz", "$extra.KEY")


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, floats as Python's shortest repr."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _tokens(expr: str) -> list[str]:
    """``"0.25 * $extra.lam / $epsilon"`` -> ``["0.25", "*", "$extra.lam", "/", "$epsilon"]`` (ValueError if the
    string is not numbers and placeholders joined by ``*`` and ``/``)."""
    out: list[str] = []
    for part in expr.replace("*", " * ").replace("/", " / ").split():
        out.append(part)
    if not out or len(out) % 2 == 0 or any(out[i] not in ("*", "/") for i in range(1, len(out), 2)) or any(
            t in ("*", "/") for t in out[0::2]):
        raise ValueError(f"{expr!r} is not an expression of numbers and placeholders joined by '*' and '/'")
    for t in out[0::2]:
        if not t.startswith("$"):
            try:
                v = float(t)
            except ValueError:
                raise ValueError(f"{expr!r}: {t!r} is neither a number nor a placeholder") from None
            if not math.isfinite(v):
                raise ValueError(f"{expr!r}: {t!r} is not a finite number")
    return out


def is_expression(v: Any) -> bool:
    """Whether a parameter value is an expression with placeholders (a string containing ``$``)."""
    return isinstance(v, str) and "$" in v


def placeholders_of(v: Any) -> list[str]:
    """The placeholders of one parameter value (``[]`` for a plain value)."""
    if not is_expression(v):
        return []
    return [t for t in _tokens(v)[0::2] if t.startswith("$")]


def follows(params: Mapping[str, Any], what: str) -> bool:
    """Whether some value of ``params`` uses the placeholder ``"$" + what`` (``what`` is e.g. ``"epsilon"``)."""
    return any("$" + what in placeholders_of(v) for v in params.values())


def evaluate(expr: str, values: Mapping[str, float]) -> float:
    """The value of an expression (numbers and placeholders joined by ``*`` and ``/``, left to right).

    ``values`` maps placeholder names (``"$epsilon"``, ``"$extra.lam"``, …) to numbers.

    Raises:
        ValueError: a malformed expression, a placeholder without a value, a division by zero, or a value that
            is not finite (a product or quotient beyond float64's range).

    Example:
        >>> round(evaluate("0.25 * $extra.lam / $epsilon", {"$extra.lam": 30.4, "$epsilon": 0.1}), 12)
        76.0
    """
    toks = _tokens(expr)

    def val(t):
        if t.startswith("$"):
            if t not in values or values[t] is None:
                raise ValueError(f"{expr!r}: {t} has no value in this run")
            try:
                return float(values[t])
            except OverflowError:  # an integer beyond float64's range
                raise ValueError(f"{expr!r}: {t} = {values[t]} is beyond float64's range") from None
        return float(t)

    out = val(toks[0])
    for op, t in zip(toks[1::2], toks[2::2]):
        v = val(t)
        if op == "/" and v == 0:
            raise ValueError(f"{expr!r} divides by zero" + (f" ({t} is 0)" if t.startswith("$") else ""))
        out = out * v if op == "*" else out / v
    if not math.isfinite(out):
        raise ValueError(f"{expr!r} evaluates to {out}")
    return float(out)


def substitute(params: Mapping[str, Any], *, epsilon: float | None, delta: float | None,
               lipschitz: float | None = None, extra: Mapping[str, Any] | None = None) -> dict:
    """``params`` with every expression (a string with ``$``) replaced by its value for the run: ``"$epsilon"`` and
    ``"$delta"`` the run's absolute ε and δ; ``"$lipschitz"`` and ``"$extra.KEY"`` the objective's G and
    ``extra[KEY]`` (method parameters only).

    Raises:
        ValueError: a placeholder whose value the run does not have (``"$epsilon"`` in a budget run), or an
            expression without a finite value (:func:`evaluate`); the message names the parameter.

    Example:
        >>> substitute({"eps": "$epsilon", "delta": "$delta", "sigma": 4.0}, epsilon=0.2, delta=0.1)
        {'eps': 0.2, 'delta': 0.1, 'sigma': 4.0}
        >>> substitute({"lr": "2 * $delta / $lipschitz"}, epsilon=None, delta=0.1, lipschitz=4.0)
        {'lr': 0.05}
    """
    out = {}
    for k, v in params.items():
        if is_expression(v):
            values: dict[str, float | None] = {"$epsilon": epsilon, "$delta": delta, "$lipschitz": lipschitz}
            for t in placeholders_of(v):
                if t.startswith("$extra."):
                    x = (extra or {}).get(t[len("$extra."):])
                    values[t] = float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None
            for t in placeholders_of(v):
                if values.get(t) is None:
                    if t == "$epsilon":
                        raise ValueError(f"parameter {k!r} follows $epsilon, which a budget run does not have")
                    if t.startswith("$extra."):
                        raise ValueError(f"parameter {k!r} follows {t}, but the objective has no number "
                                         f"extra[{t[len('$extra.'):]!r}]")
                    raise ValueError(f"parameter {k!r} follows {t}, which this run does not have")
            try:
                v = evaluate(v, values)
            except ValueError as exc:
                raise ValueError(f"parameter {k!r}: {exc}") from None
        out[k] = v
    return out
