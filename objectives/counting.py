"""Oracle-call counting: complexity is measured in oracle calls, never in iterations."""
from __future__ import annotations

from .base import Objective


class Counting:
    """Wrap an objective and count its oracle calls separately.

    Attributes ``value_calls``, ``grad_calls`` and ``stochastic_grad_calls`` (ints; ``value_and_grad`` counts one of
    each of the first two); ``reset()`` sets them to zero. Every other attribute is the wrapped objective's.

    Example:
        >>> import objectives
        >>> obj = objectives.Counting(objectives.get("nesterov_n2"))
        >>> _ = obj.grad(obj.x0); obj.grad_calls
        1
    """

    def __init__(self, obj: Objective):
        if isinstance(obj, Counting):
            obj = obj.wrapped
        self.wrapped = obj
        self.reset()

    def reset(self) -> None:
        self.value_calls = 0
        self.grad_calls = 0
        self.stochastic_grad_calls = 0

    def value(self, x):
        self.value_calls += 1
        return self.wrapped.value(x)

    def grad(self, x):
        self.grad_calls += 1
        return self.wrapped.grad(x)

    def value_and_grad(self, x):
        return self.value(x), self.grad(x)

    @property
    def stochastic_grad(self):
        inner = self.wrapped.stochastic_grad
        if inner is None:
            return None

        def counted(x, rng, batch_size=None):
            self.stochastic_grad_calls += 1
            return inner(x, rng, batch_size)

        return counted

    @property
    def calls(self) -> dict:
        """All three counters as a dict."""
        return dict(value=self.value_calls, grad=self.grad_calls, stochastic_grad=self.stochastic_grad_calls)

    def __getattr__(self, name):
        return getattr(self.__dict__["wrapped"], name) if "wrapped" in self.__dict__ else \
            object.__getattribute__(self, name)

    def __repr__(self) -> str:
        return f"Counting({self.wrapped!r}, calls={self.calls})"
