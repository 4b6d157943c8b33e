"""Noise models that turn any objective into a stochastic one: ``with_noise(obj, kind, scale)``.

The stochastic gradient is ``base(x) + ξ`` with ξ drawn with numpy from the given ``rng`` (so one seed gives the same
sample on every backend), independent across calls, zero-mean (hence unbiased) except where noted:

* ``"gaussian"``: ξ ~ N(0, (σ²/d) I), so E‖ξ‖² = σ².
* ``"student_t"``: i.i.d. Student-t coordinates with ``df > 2`` degrees of freedom, rescaled so E‖ξ‖² = σ²
  (finite variance, heavy tails).
* ``"pareto"``: i.i.d. symmetric Pareto (Lomax) coordinates ``±(σ/√d)·((1-U)^{-1/α} - 1)`` with tail index
  ``alpha`` in (1, 2]: finite mean (zero by symmetry), infinite variance. ``σ`` is then a scale, not a std.
* ``"cauchy"``: i.i.d. Cauchy coordinates of scale σ/√d (α-stable with α = 1): infinite variance and **no mean**;
  the oracle is not unbiased in the usual sense (its median is the gradient). For robustness stress tests only.
* ``"bounded"``: ξ uniform on the sphere of radius σ, so ‖ξ‖ = σ exactly.

The base oracle is ``grad`` for a deterministic objective, or the objective's own stochastic oracle otherwise.
Source of the heavy-tail models: e.g. Zhang, Karimireddy, Veit, Kim, Reddi, Kumar, Sra, 'Why are adaptive methods
good for attention models?', NeurIPS 2020 (heavy-tailed gradient noise, α-stable and Pareto models).
"""
from __future__ import annotations

import math

import numpy as np

from ._backend import asarray_like
from .base import Objective

KINDS = ("gaussian", "student_t", "pareto", "cauchy", "bounded")
#: ``extra["noise_model"]`` of an objective whose stochastic gradient is its exact gradient plus the Gaussian draw of
#: :func:`sample_noise` (mean of ``batch_size`` draws) from the caller's generator, nothing else.
ADDITIVE_GAUSSIAN = "additive-gaussian"


def sample_noise(rng: np.random.Generator, kind: str, d: int, scale: float, df: float = 3.0,
                 alpha: float = 1.5, size: int | None = None) -> np.ndarray:
    """Draw noise vectors of dimension d (shape (d,) or (size, d)) for the given model (numpy float64)."""
    shape = (d,) if size is None else (size, d)
    per = scale / math.sqrt(d)
    if kind == "gaussian":
        return per * rng.standard_normal(shape)
    if kind == "student_t":
        return per * math.sqrt((df - 2.0) / df) * rng.standard_t(df, shape)
    if kind == "pareto":
        mag = (1.0 - rng.random(shape)) ** (-1.0 / alpha) - 1.0
        return per * np.where(rng.random(shape) < 0.5, -mag, mag)
    if kind == "cauchy":
        return per * rng.standard_cauchy(shape)
    if kind == "bounded":
        u = rng.standard_normal(shape)
        return scale * u / np.linalg.norm(u, axis=-1, keepdims=True)
    raise ValueError(f"unknown noise kind {kind!r}; expected one of {KINDS}")


def with_noise(obj: Objective, kind: str = "gaussian", scale: float = 1.0, *, df: float = 3.0,
               alpha: float = 1.5) -> Objective:
    """A stochastic copy of ``obj`` whose ``stochastic_grad(x, rng)`` is the base oracle plus noise (see module doc).

    Args:
        obj: any objective of the bank.
        kind: "gaussian", "student_t" (df > 2), "pareto" (1 < alpha <= 2), "cauchy", or "bounded".
        scale: σ ≥ 0 (E‖ξ‖² = σ² for gaussian/student_t; ‖ξ‖ = σ for bounded; a scale for pareto/cauchy).
        df: Student-t degrees of freedom, > 2.
        alpha: Pareto tail index in (1, 2].

    Returns:
        An Objective named ``f"{obj.name}+{kind}"`` with tag "stochastic" (and "heavy-tailed" for the three
        heavy-tailed kinds); ``extra['noise_variance']`` is E‖ξ‖² (``inf`` for pareto and cauchy).  Gaussian
        noise on a deterministic objective also declares ``extra['noise_model'] = "additive-gaussian"``: the
        stochastic gradient is then ∇F(x) plus :func:`sample_noise`'s Gaussian draw and nothing else, which is
        what ``o2nc.experiments.batched`` replays to run the same seed compiled.

    Example:
        >>> import numpy as np, objectives
        >>> noisy = objectives.with_noise(objectives.get("nesterov_n2"), "student_t", scale=0.5, df=4)
        >>> g = noisy.stochastic_grad(noisy.x0, np.random.default_rng(0))
    """
    if kind not in KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; expected one of {KINDS}")
    if not scale >= 0:
        raise ValueError(f"with_noise: scale must be >= 0, got {scale}")
    if kind == "student_t" and not df > 2:
        raise ValueError(f"with_noise: student_t needs df > 2 (finite variance), got {df}")
    if kind == "pareto" and not 1.0 < alpha <= 2.0:
        raise ValueError(f"with_noise: pareto needs 1 < alpha <= 2 (finite mean, infinite variance), got {alpha}")
    scale = float(scale)
    d = obj.dim
    base_stoch = obj.stoch

    def stoch(xp, x, data, rng, batch_size):
        base = obj.g(xp, x, data) if base_stoch is None else base_stoch(xp, x, data, rng, batch_size)
        xi = sample_noise(rng, kind, d, scale, df=df, alpha=alpha, size=batch_size).mean(axis=0)
        return base + asarray_like(xp, xi, x)

    variance = {"gaussian": scale**2, "student_t": scale**2, "bounded": scale**2}.get(kind, math.inf)
    tags = set(obj.tags) | {"stochastic"} | ({"heavy-tailed"} if kind in ("student_t", "pareto", "cauchy") else set())
    extra = dict(obj.extra, base=obj.name, noise_kind=kind, noise_scale=scale, noise_variance=variance,
                 unbiased=kind != "cauchy")
    extra.pop("noise_model", None)  # a stochastic base's own model no longer describes the sum
    if kind == "gaussian" and base_stoch is None:
        extra["noise_model"] = ADDITIVE_GAUSSIAN
    return obj.replace(
        name=f"{obj.name}+{kind}", stoch=stoch, tags=tags,
        params=dict(obj.params, noise=kind, scale=scale, df=df, alpha=alpha), extra=extra,
    )
