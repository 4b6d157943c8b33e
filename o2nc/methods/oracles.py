"""The one oracle counter: counting, budget-enforcing access to a problem's oracles.

Complexity is measured in oracle calls, never in iterations (DESIGN.md, Objectives).  Every method of
:mod:`o2nc.methods` — the baselines and the O2NC configurations — queries the problem through an :class:`Oracles`:
the budgeted calls of the algorithm through one, the calls spent apart on certificates (exact gradients at the run's
points, counted apart from the budget) through another.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from o2nc.methods.checks import check_choice

__all__ = ["Oracles", "BudgetExhausted", "NonFiniteOracleError", "ORACLE_MODES", "stochastic_oracle",
           "uses_stochastic"]

ORACLE_MODES = ("auto", "exact", "stochastic")


class NonFiniteOracleError(FloatingPointError):
    """An oracle returned NaN or inf; the message names the method and the oracle call."""


class BudgetTooSmall(ValueError):
    """The budget cannot pay for one iteration of the method: it needs ``needed`` calls. Raised before the method
    makes progress; a runner with a grid of budgets reads it as "unsolved at this budget", not as a crash."""

    def __init__(self, message: str, needed: int):
        super().__init__(message)
        self.needed = int(needed)


class BudgetExhausted(RuntimeError):
    """Raised inside a method when an oracle call would exceed the budget (caught by the method)."""


def stochastic_oracle(problem) -> Callable | None:
    """The problem's ``stochastic_grad(x, rng)``, or None when it has none (or declares ``is_stochastic = False``)."""
    fn = getattr(problem, "stochastic_grad", None)
    if fn is None or not callable(fn):
        return None
    if getattr(problem, "is_stochastic", True) is False:
        return None
    return fn


def uses_stochastic(owner: str, problem, oracle: str) -> bool:
    """Whether a first-order run with ``oracle`` (one of :data:`ORACLE_MODES`) queries the stochastic oracle:
    ``"auto"`` takes it when the problem has one; ``"stochastic"`` on a problem without one is a ValueError."""
    check_choice(owner, "oracle", oracle, ORACLE_MODES)
    has = stochastic_oracle(problem) is not None
    if oracle == "stochastic" and not has:
        raise ValueError(f"{owner}: `oracle='stochastic'` but the problem has no stochastic_grad")
    return has and oracle in ("auto", "stochastic")


class Oracles:
    """Counting, budget-enforcing access to a problem's oracles.

    ``counts="grad"``: the budget bounds gradient calls (value calls are counted, not bounded);
    ``counts="value"``: the budget bounds function evaluations and gradient calls are refused outright.
    ``stochastic=True``: :meth:`grad` queries ``problem.stochastic_grad(x, rng)`` with this counter's ``rng``.
    """

    def __init__(self, problem, *, budget: int, counts: str, stochastic: bool, rng: np.random.Generator, owner: str):
        self.problem = problem
        self.budget = budget
        self.counts = counts
        self.stochastic = stochastic
        self.rng = rng
        self.owner = owner
        self.grad_calls = 0
        self.value_calls = 0
        self._stoch = stochastic_oracle(problem) if stochastic else None

    @property
    def used(self) -> int:
        return self.grad_calls if self.counts == "grad" else self.value_calls

    @property
    def remaining(self) -> int:
        return self.budget - self.used

    def grad(self, x: np.ndarray, *, exact: bool = False) -> np.ndarray:
        """One gradient call (stochastic when the run uses the stochastic oracle and ``exact`` is False)."""
        if self.counts != "grad":
            raise RuntimeError(f"{self.owner}: a zero-order method asked for a gradient")
        if self.grad_calls >= self.budget:
            raise BudgetExhausted
        self.grad_calls += 1
        if self._stoch is not None and not exact:
            g = self._stoch(x.copy(), self.rng)
        else:
            g = self.problem.grad(x.copy())
        g = np.asarray(g, dtype=np.float64).reshape(-1)
        if g.shape != x.shape:
            raise ValueError(f"{self.owner}: the gradient oracle returned shape {g.shape} for x of shape {x.shape}")
        if not np.all(np.isfinite(g)):
            raise NonFiniteOracleError(f"{self.owner}: the gradient at oracle call {self.grad_calls} is not finite")
        return g

    def value(self, x: np.ndarray) -> float:
        """One function evaluation."""
        if self.counts == "value" and self.value_calls >= self.budget:
            raise BudgetExhausted
        self.value_calls += 1
        v = float(np.asarray(self.problem.value(x.copy())))
        if not math.isfinite(v):
            raise NonFiniteOracleError(f"{self.owner}: the function value at evaluation {self.value_calls} is not "
                                       "finite")
        return v
