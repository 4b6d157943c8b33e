"""``o2nc.jax.certify``: how Goldstein-stationary a params pytree is, as an :class:`o2nc.Certificate`.

The JAX counterpart of :func:`o2nc.torch.certify` (whose module docstring gives the bound and the rounding rule):
the δ-ball of the flattened params (``jax.flatten_util.ravel_pytree``) is sampled by :func:`o2nc.certify.sample_ball`,
the gradients are taken by ``jax.grad`` (``jax.vmap`` over a batch of points), and the min-norm element of their hull
is :func:`o2nc.certify.min_norm`'s. Goldstein, Math. Prog. 13, 1977; Burke, Lewis, Overton, SIAM J. Optim. 15(3),
2005.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from o2nc.certificate import Certificate
from o2nc.certify import _check_delta, ball_points, check_count, default_samples, hull_certificate, rounding_safe_radius

__all__ = ["certify"]


def certify(loss_fn: Callable[[Any], Any], params: Any, *, delta: float, samples: int | None = None,
            seed: int = 0, batch: int = 1, stochastic: bool = False, include_center: bool = True) -> Certificate:
    r"""Upper bound on dist(0, ∂_δ F(x)) at ``params``, F = ``loss_fn``, from gradients sampled in the δ-ball.

    As :func:`o2nc.torch.certify`: ε = min_{λ ∈ Δ} ‖Σ_i λ_i ∇F(y_i)‖ over x (``include_center``) and ``samples``
    points uniform in the ball, a ``"sampled one-sided"`` :class:`o2nc.certify.GoldsteinCertificate` (a proof for a
    deterministic ``loss_fn``) or, with ``stochastic=True``, a ``"stochastic estimate"`` :class:`o2nc.Certificate`.
    Point i is drawn by ``numpy.random.default_rng([seed, i])``, so torch and JAX models with the same flattened
    weights are probed at the same points.

    Args:
        loss_fn: ``loss_fn(params)`` -> a scalar, differentiable by ``jax.grad`` (under ``jax.vmap`` when
            ``batch`` > 1).
        params: a pytree of floating arrays (the point x, flattened by ``ravel_pytree``).
        delta: the radius δ > 0.
        samples: number of random points (default :func:`o2nc.certify.default_samples`); 0 uses only x.
        seed: seed of the sampling.
        batch: points per vectorised gradient call (≥ 1).
        stochastic: ``loss_fn`` is a stochastic estimate of F.
        include_center: also use the gradient at x itself.

    Returns:
        As :func:`o2nc.torch.certify`: ``point`` the flattened params (float64), ``delta`` the largest distance of the
        rounded points used (exact, ≤ δ), ``calls`` the gradients taken.

    Raises:
        TypeError: ``loss_fn`` not callable, ``params`` not floating, or ``loss_fn`` not scalar.
        ValueError: ``delta``, ``samples``, ``batch`` or ``seed`` out of range, ``delta`` below the params'
            resolution, no point, or a non-finite loss or gradient.

    Example:
        >>> import jax.numpy as jnp
        >>> from o2nc.jax.certify import certify
        >>> cert = certify(lambda p: jnp.abs(p["w"]).sum(), {"w": jnp.array([0.05, 0.0])}, delta=0.1, samples=40)
        >>> cert.kind, cert.epsilon < 1e-12, cert.delta <= 0.1
        ('sampled one-sided', True, True)
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn: expected a callable params -> scalar loss, got {type(loss_fn).__name__}")
    delta = _check_delta(delta)
    seed = check_count("seed", seed, 0)
    batch = check_count("batch", batch, 1)
    flat, unravel = ravel_pytree(params)
    if flat.size == 0 or not jnp.issubdtype(flat.dtype, jnp.floating):
        raise TypeError(f"params: expected a non-empty pytree of floating arrays, got flattened dtype {flat.dtype}")
    x = np.asarray(flat, dtype=np.float64)
    d = x.size
    samples = default_samples(d) if samples is None else check_count("samples", samples, 0)
    if samples == 0 and not include_center:
        raise ValueError("samples: no point to certify with (samples=0, include_center=False)")
    value = loss_fn(params)
    if jnp.ndim(value) != 0 or not jnp.issubdtype(jnp.result_type(value), jnp.floating):
        raise TypeError(f"loss_fn: must return a floating scalar, got {value!r}")
    if not np.isfinite(float(value)):
        raise ValueError(f"loss_fn: the loss at params is not finite ({float(value)})")
    # the ball shrunk by the unit roundoff of the leaves (o2nc.certify.rounding_safe_radius)
    u = max(float(jnp.finfo(leaf.dtype).eps) for leaf in jax.tree_util.tree_leaves(params)) / 2
    radius = rounding_safe_radius(delta, float(np.linalg.norm(x)), u, "certify float64 params (jax_enable_x64)")

    def rounded(v):
        return ravel_pytree(unravel(v))[0]  # the point as the leaves hold it

    def grad_flat(v):
        return ravel_pytree(jax.grad(loss_fn)(unravel(v)))[0]

    grad_batch = jax.jit(jax.vmap(lambda v: (rounded(v), grad_flat(v))))
    rows = ball_points(x, radius, samples, seed, include_center)
    G = np.empty((len(rows), d))
    reach = 0.0
    for start in range(0, len(rows), batch):
        P = jnp.asarray(np.stack(rows[start:start + batch]), dtype=flat.dtype)
        points, grads = grad_batch(P)
        reach = max(reach, float(np.max(np.linalg.norm(np.asarray(points, np.float64) - x, axis=1))))
        G[start:start + len(P)] = np.asarray(grads, np.float64)
    return hull_certificate(x, G, reach, delta, stochastic)
