"""Finite-sum objectives ``F(x) = (1/N) Σ_i f_i(x)`` with a seeded mini-batch oracle.

The oracle draws ``batch_size`` indices uniformly with replacement (numpy), converts them to the input's backend
and evaluates the batch mean of the per-sample subgradients: unbiased for ``grad``, and the same seed gives the same
batch on every backend.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from ._backend import index_array
from .base import Objective


def finite_sum(*, name: str, x0, n_samples: int, sample_keys: Iterable[str], data: dict,
               loss: Callable, grad: Callable, default_batch: int = 16, **meta) -> Objective:
    """Build an Objective from batch-mean ``loss(xp, x, d, D)`` and ``grad(xp, x, d, D)``.

    ``D`` holds the per-sample arrays named in ``sample_keys`` (leading dimension N), either all of them (value and
    full gradient) or the rows of one mini-batch; ``d`` holds every data array (shared constants included).
    """
    keys = tuple(sample_keys)
    for k in keys:
        if np.asarray(data[k]).shape[0] != n_samples:
            raise ValueError(f"{name}: data[{k!r}] has {np.asarray(data[k]).shape[0]} rows, expected {n_samples}")

    def f(xp, x, d):
        return loss(xp, x, d, {k: d[k] for k in keys})

    def g(xp, x, d):
        return grad(xp, x, d, {k: d[k] for k in keys})

    def stoch(xp, x, d, rng, batch_size):
        idx = index_array(xp, rng.integers(0, n_samples, size=batch_size), x)
        return grad(xp, x, d, {k: xp.take(d[k], idx, axis=0) for k in keys})

    tags = set(meta.pop("tags")) | {"stochastic", "finite-sum"}
    extra = dict(meta.pop("extra", {}), n_samples=n_samples)
    return Objective(name=name, x0=x0, f=f, g=g, data=data, stoch=stoch, default_batch=default_batch,
                     tags=tags, extra=extra, **meta)
