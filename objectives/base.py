"""The ``Objective`` value: a function, its (stochastic) subgradient oracle and its metadata.

Every oracle is written once against the Array API: the pieces receive the namespace ``xp`` of the input, the input
``x`` and the objective's constant data already converted to that backend, dtype and device (converted once per
backend and cached). numpy, torch and jax inputs therefore give outputs of the same backend and dtype.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._backend import asarray_like, backend_key, is_tracer, namespace, to_numpy

# Tags every entry carries one of.
CONVEXITY_TAGS = frozenset({"convex", "nonconvex"})
SMOOTHNESS_TAGS = frozenset({"smooth", "nonsmooth"})


@dataclass(frozen=True, eq=False)
class Objective:
    """A test objective ``f: R^dim -> R`` with a subgradient oracle and metadata.

    Attributes:
        name: registry name.
        x0: standard starting point, numpy float64 of shape ``(dim,)``.
        f_star: optimal value (best known where marked so in ``notes``), or None when unknown/unbounded.
        x_star: a minimiser (numpy float64) or None.
        lipschitz_is_exact: True when ``lipschitz`` is a proven global Lipschitz constant; False when it is an
            estimate (sampled maximum gradient norm around ``x0`` and ``x_star``; valid only near them).
        tags: frozenset of str, e.g. ``{"convex", "nonsmooth", "luksan-vlcek"}``.
        source: the citation (paper, report or code the formula and data were taken from).
        params: the constructor parameters the registry was called with.
        notes: what was verified numerically, and anything UNVERIFIED.

    Methods ``value(x)``, ``grad(x)``, ``stochastic_grad(x, rng)`` (None for deterministic entries), and
    ``goldstein(x, delta)`` (diagnostic entries only; ``has_goldstein``).

    Example:
        >>> import numpy as np, objectives
        >>> obj = objectives.get("nesterov_n2", n=3)
        >>> float(obj.value(obj.x0)), obj.f_star
        (0.5, 0.0)
    """

    name: str
    x0: np.ndarray
    f: Callable[..., Any] = field(repr=False)
    g: Callable[..., Any] = field(repr=False)
    data: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    stoch: Callable[..., Any] | None = field(default=None, repr=False)
    f_star: float | None = None
    x_star: np.ndarray | None = field(default=None, repr=False)
    lipschitz_spec: float | Callable[[Objective], float] | None = field(default=None, repr=False)
    lipschitz_is_exact: bool = False
    tags: frozenset = frozenset()
    source: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    notes: str = field(default="", repr=False)
    goldstein_fn: Callable[[np.ndarray, float], float] | None = field(default=None, repr=False)
    default_batch: int = field(default=1, repr=False)
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self):
        x0 = np.array(self.x0, dtype=np.float64).reshape(-1)
        x0.setflags(write=False)
        object.__setattr__(self, "x0", x0)
        if self.x_star is not None:
            xs = np.array(self.x_star, dtype=np.float64).reshape(-1)
            if xs.shape != x0.shape:
                raise ValueError(f"{self.name}: x_star has shape {xs.shape}, expected {x0.shape}")
            xs.setflags(write=False)
            object.__setattr__(self, "x_star", xs)
        object.__setattr__(self, "tags", frozenset(self.tags))
        if len(self.tags & CONVEXITY_TAGS) != 1 or len(self.tags & SMOOTHNESS_TAGS) != 1:
            raise ValueError(f"{self.name}: tags must hold exactly one of {sorted(CONVEXITY_TAGS)} and one of "
                             f"{sorted(SMOOTHNESS_TAGS)}, got {sorted(self.tags)}")

    # ----------------------------------------------------------------------------------------------- metadata
    @property
    def dim(self) -> int:
        return int(self.x0.shape[0])

    @property
    def is_stochastic(self) -> bool:
        return self.stoch is not None

    @property
    def has_goldstein(self) -> bool:
        return self.goldstein_fn is not None

    @property
    def lipschitz(self) -> float | None:
        """Lipschitz constant (see ``lipschitz_is_exact``); estimates are computed once, on first access."""
        spec = self.lipschitz_spec
        if spec is None or isinstance(spec, (int, float)):
            return None if spec is None else float(spec)
        if "lipschitz" not in self._cache:
            self._cache["lipschitz"] = float(spec(self))
        return self._cache["lipschitz"]

    def __repr__(self) -> str:
        return (f"Objective({self.name!r}, dim={self.dim}, f_star={self.f_star}, "
                f"tags={sorted(self.tags)})")

    # ----------------------------------------------------------------------------------------------- oracles
    def _prepare(self, x):
        xp = namespace(x)
        if tuple(x.shape) != (self.dim,):
            raise ValueError(f"{self.name}: expected x of shape ({self.dim},), got {tuple(x.shape)}")
        if not xp.isdtype(x.dtype, "real floating"):
            raise TypeError(f"{self.name}: expected a real floating-point array, got dtype {x.dtype}")
        return xp, self._data_for(xp, x)

    def _data_for(self, xp, x):
        if not self.data:
            return {}
        key = backend_key(xp, x)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        out = {}
        for k, v in self.data.items():
            v = np.asarray(v)
            if v.dtype.kind in "iub":
                out[k] = asarray_like(xp, v, x, dtype=xp.int64)
            else:
                out[k] = asarray_like(xp, v, x)
        if not is_tracer(x):
            self._cache[key] = out
        return out

    def value(self, x):
        """f(x) as a 0-d array of x's backend and dtype."""
        xp, d = self._prepare(x)
        return xp.asarray(self.f(xp, x, d))

    def grad(self, x):
        """An element of the Clarke subdifferential of f at x (the gradient where f is differentiable)."""
        xp, d = self._prepare(x)
        return self.g(xp, x, d)

    def value_and_grad(self, x):
        """``(value(x), grad(x))``."""
        return self.value(x), self.grad(x)

    @property
    def stochastic_grad(self):
        """``stochastic_grad(x, rng, batch_size=None)``: an unbiased stochastic subgradient, or None.

        ``rng`` is a ``numpy.random.Generator``; all randomness is drawn with numpy and converted to x's
        backend, so one seed gives the same sample on every backend.
        """
        if self.stoch is None:
            return None
        return self._stochastic_grad

    def _stochastic_grad(self, x, rng, batch_size=None):
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"{self.name}: rng must be a numpy.random.Generator, got {type(rng).__name__}")
        if batch_size is None:
            batch_size = self.default_batch
        if int(batch_size) < 1:
            raise ValueError(f"{self.name}: batch_size must be >= 1, got {batch_size}")
        xp, d = self._prepare(x)
        return self.stoch(xp, x, d, rng, int(batch_size))

    def goldstein(self, x, delta: float) -> float:
        """Exact ``dist(0, ∂_δ f(x))``, the min norm of the Goldstein δ-subdifferential (diagnostics only)."""
        if self.goldstein_fn is None:
            raise NotImplementedError(f"{self.name} has no exact Goldstein oracle (see has_goldstein)")
        xn = to_numpy(x)
        if xn.shape != (self.dim,):
            raise ValueError(f"{self.name}: expected x of shape ({self.dim},), got {xn.shape}")
        if not (delta >= 0):
            raise ValueError(f"{self.name}: delta must be >= 0, got {delta}")
        return float(self.goldstein_fn(xn, float(delta)))

    def replace(self, **changes) -> Objective:
        """A copy with some fields changed (constant-data caches are not shared)."""
        return dataclasses.replace(self, **changes)


def sampled_lipschitz(radius_scale: float = 1.0, n_points: int = 256, seed: int = 0):
    """A lazy Lipschitz *estimate*: the largest ‖grad‖ over points sampled around x0 and x*.

    Points: x0, x* and uniform samples of the balls ``B(c, r)`` around both, with
    ``r = radius_scale * max(1, ‖x0 - x*‖)`` (``‖x0‖`` when x* is unknown). Valid as a local constant there only.
    """

    def estimate(obj: Objective) -> float:
        rng = np.random.default_rng(seed)
        centres = [obj.x0] + ([obj.x_star] if obj.x_star is not None else [])
        ref = obj.x_star if obj.x_star is not None else np.zeros_like(obj.x0)
        r = radius_scale * max(1.0, float(np.linalg.norm(obj.x0 - ref)))
        best = 0.0
        for c in centres:
            best = max(best, float(np.linalg.norm(obj.grad(np.array(c)))))
            u = rng.standard_normal((n_points // len(centres), obj.dim))
            u /= np.linalg.norm(u, axis=1, keepdims=True)
            rad = r * rng.random(u.shape[0]) ** (1.0 / obj.dim)
            for p in c + rad[:, None] * u:
                best = max(best, float(np.linalg.norm(obj.grad(p))))
        return best

    return estimate
