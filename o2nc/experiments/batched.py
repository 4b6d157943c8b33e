"""Many seeds of one O2NC + OGD configuration at once: batched numpy, or jax ``vmap`` + ``jit``.

Algorithm 1 of [CMO23] (Cutkosky, Mehta, Orabona, ICML 2023, arXiv 2302.03775) with restarted projected OGD
(Zinkevich, ICML 2003; the learner of [CMO23]'s OGD corollary of Theorem 8), for S seeds in parallel:

    Δ ← 0 at each epoch start;  for each step:  x_n = x_{n−1} + Δ_n,  w_n = x_{n−1} + s_n Δ_n,  g_n = ∇F(w_n),
                                               Δ_{n+1} = Π_{‖·‖≤D}(Δ_n − η g_n)

with s_n ~ U[0,1).  Seed i draws its s-sequence exactly as :func:`o2nc.minimize` does with ``seed=seeds[i]`` and
``scaling="uniform"`` (the counter-based draw of :mod:`o2nc.conversion.draw`), so with an exact gradient each
batched trajectory equals the corresponding single run (a test checks this).

Per epoch k and seed: the mean point w̄_k, the certificate ‖(1/T) Σ_t ∇F(w_t)‖ and the radius max_t ‖w_t − w̄_k‖
([CMO23] Definition 5: the T points have mean w̄_k and lie in B(w̄_k, r_k), so with exact gradients the certificate
bounds ‖∇F(w̄_k)‖_{r_k}).
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import numpy as np

from o2nc.conversion.draw import seed_key
from o2nc.conversion.scaling import Scaling

__all__ = ["BatchedEpochs", "scaling_draws", "o2nc_ogd_numpy", "o2nc_ogd_jax"]


class BatchedEpochs(NamedTuple):
    mean: np.ndarray  # (S, K, d)
    certificate: np.ndarray  # (S, K)
    radius: np.ndarray  # (S, K)
    grad_calls: int  # per seed


def scaling_draws(seeds: Sequence[int], steps: int) -> np.ndarray:
    """(S, steps) uniform s-values (float64 runs), seed i's as in :func:`o2nc.minimize` (``scaling="uniform"``)."""
    rule = Scaling("uniform")
    return np.stack([rule.sample(seed_key(seed), 0, steps) for seed in seeds]) if len(seeds) else np.empty((0, steps))


def _check(x0, budget, epoch_length, radius, lr):
    if epoch_length < 1 or budget < epoch_length:
        raise ValueError(f"epoch_length: expected 1 <= epoch_length <= budget, got {epoch_length} (budget {budget})")
    if not (radius > 0 and lr > 0):
        raise ValueError(f"radius and lr: expected > 0, got radius={radius}, lr={lr}")
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.ndim != 1:
        raise ValueError(f"x0: expected a 1-D starting point, got shape {x0.shape}")
    return x0


def o2nc_ogd_numpy(grad_batch: Callable[[np.ndarray], np.ndarray], x0, *, seeds: Sequence[int], budget: int,
                   epoch_length: int, radius: float, lr: float, s: np.ndarray | None = None) -> BatchedEpochs:
    """O2NC + restarted OGD for all ``seeds`` at once, vectorised over seeds with numpy.

    Args:
        grad_batch: (S, d) points -> (S, d) exact (sub)gradients.
        x0: (d,) starting point shared by all seeds.
        seeds: the seeds (one run each).
        budget, epoch_length: N and T; K = ⌊N/T⌋ epochs are run.
        radius, lr: OGD's D and η (e.g. from :func:`o2nc.theory.ogd_parameters`).
        s: optional (S, K·T) s-values (default :func:`scaling_draws`).
    """
    x0 = _check(x0, budget, epoch_length, radius, lr)
    S, d, T = len(seeds), x0.shape[0], epoch_length
    K = budget // T
    s = scaling_draws(seeds, K * T) if s is None else np.asarray(s, dtype=np.float64)
    X = np.broadcast_to(x0, (S, d)).copy()
    means = np.empty((S, K, d))
    certs = np.empty((S, K))
    radii = np.empty((S, K))
    W = np.empty((T, S, d))
    for k in range(K):
        D = np.zeros((S, d))
        gsum = np.zeros((S, d))
        for t in range(T):
            sn = s[:, k * T + t, None]
            W[t] = X + sn * D
            X += D
            g = grad_batch(W[t])
            gsum += g
            D -= lr * g
            nrm = np.sqrt(np.einsum("ij,ij->i", D, D))[:, None]
            D *= np.minimum(1.0, radius / np.maximum(nrm, 1e-300))
        m = W.mean(axis=0)
        means[:, k] = m
        certs[:, k] = np.linalg.norm(gsum / T, axis=1)
        radii[:, k] = np.sqrt(((W - m) ** 2).sum(axis=2)).max(axis=0)
    return BatchedEpochs(means, certs, radii, K * T)


def o2nc_ogd_jax(grad_fn: Callable, x0, *, seeds: Sequence[int], budget: int, epoch_length: int, radius: float,
                 lr: float, s: np.ndarray | None = None, unroll: int = 4) -> BatchedEpochs:
    """Same as :func:`o2nc_ogd_numpy` under ``jax.jit``; ``grad_fn`` maps one (d,) point to its gradient with jax
    operations (it is ``vmap``-ed over the seeds).  Runs in float64 when jax's x64 mode is on.

    Layout (what makes it fast on CPU): the seeds are the leading axis of every carried array, (S, d), and the s-values
    are passed as (K, T, S), so each step reads one contiguous row; the inner scan over an epoch's T steps is unrolled
    ``unroll`` times.  The epoch's points are kept, (T, S, d), because the exact radius max_t ‖w_t − w̄_k‖ needs the
    mean first (derived here: r_k is measured from w̄_k); that buffer is the main cost over plain gradient descent.
    """
    import jax.numpy as jnp

    x0 = _check(x0, budget, epoch_length, radius, lr)
    if isinstance(unroll, bool) or not isinstance(unroll, int) or unroll < 1:
        raise ValueError(f"unroll: expected an integer >= 1, got {unroll!r}")
    T = epoch_length
    K = budget // T
    S = len(seeds)
    s = scaling_draws(seeds, K * T) if s is None else np.asarray(s, dtype=np.float64)
    if s.shape != (S, K * T) and s.shape != (S, K, T):
        raise ValueError(f"s: expected shape ({S}, {K * T}), got {s.shape}")
    run = _jax_runner(grad_fn, K, T, min(unroll, T))
    out = run(jnp.asarray(x0), np.ascontiguousarray(s.reshape(S, K * T)), jnp.asarray(radius), jnp.asarray(lr))
    m, c, r = (np.asarray(a) for a in out)  # (K, S, d), (K, S), (K, S)
    return BatchedEpochs(np.ascontiguousarray(m.transpose(1, 0, 2)), np.ascontiguousarray(c.T),
                         np.ascontiguousarray(r.T), K * T)


_JAX_CACHE: dict = {}


def _jax_runner(grad_fn, K: int, T: int, unroll: int):
    key = (grad_fn, K, T, unroll)
    if key in _JAX_CACHE:
        return _JAX_CACHE[key]
    import jax
    import jax.numpy as jnp

    grad_batch = jax.vmap(grad_fn)

    def run(x0, s, radius, lr):  # s: (S, K·T), laid out as (K, T, S) on the device
        S = s.shape[0]
        s = jnp.transpose(s.reshape(S, K, T), (1, 2, 0))
        X0 = jnp.broadcast_to(x0, (S, x0.shape[0]))

        def epoch(X, s_k):
            def step(carry, sn):
                X, D, gsum = carry
                W = X + sn[:, None] * D                      # w_n = x_{n-1} + s_n Δ_n
                G = grad_batch(W)
                D2 = D - lr * G                              # OGD step, then projection on ‖Δ‖ ≤ D
                nrm = jnp.sqrt(jnp.sum(D2 * D2, axis=1, keepdims=True))
                D2 = D2 * jnp.minimum(1.0, radius / jnp.maximum(nrm, 1e-300))
                return (X + D, D2, gsum + G), W              # x_n = x_{n-1} + Δ_n

            zero = jnp.zeros_like(X)                         # restart: Δ ← 0 at each epoch start
            (X, _, gsum), Ws = jax.lax.scan(step, (X, zero, zero), s_k, unroll=unroll)
            m = Ws.mean(axis=0)
            cert = jnp.sqrt(jnp.sum((gsum / T) ** 2, axis=1))
            rad = jnp.sqrt(jnp.max(jnp.sum((Ws - m) ** 2, axis=2), axis=0))
            return X, (m, cert, rad)

        _, (means, certs, radii) = jax.lax.scan(epoch, X0, s)
        return means, certs, radii

    run = jax.jit(run)
    _JAX_CACHE[key] = run
    return run
