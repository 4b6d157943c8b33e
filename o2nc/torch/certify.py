"""``o2nc.torch.certify``: how Goldstein-stationary a trained PyTorch model is, as an :class:`o2nc.Certificate`.

A point x is (δ, ε)-stationary when dist(0, ∂_δ F(x)) ≤ ε, with ∂_δ F(x) the convex hull of the gradients in the
δ-ball around x (Goldstein, Math. Prog. 13, 1977; Zhang, Lin, Jegelka, Sra, Jadbabaie, ICML 2020, Definition 4).
Gradients at points y_i of the ball span a hull inside ∂_δ F(x), so the minimal norm over that hull is an upper bound
on dist(0, ∂_δ F(x)) (Burke, Lewis, Overton, SIAM J. Optim. 15(3), 2005) — the ``"sampled one-sided"`` certificate of
:func:`o2nc.certify.goldstein`, here for the weights of a network: the points come from
:func:`o2nc.certify.sample_ball` over the flattened trainable parameters, the gradients from ``torch.func`` (a batch of
points per vectorised call), the min-norm element from :func:`o2nc.certify.min_norm` (Wolfe's algorithm, checked by
its optimality gap).

Rounding. The sampled points are rounded to the parameters' dtype before the gradient is taken, and ``delta`` is the
largest distance of the *rounded* points from x, computed in float64: the ball is shrunk by the unit roundoff u of the
dtype, to (δ − u‖x‖)/(1 + u), so that every rounded point y' obeys ‖y' − x‖ ≤ ‖y − x‖ + u‖y‖ ≤ δ.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from o2nc.certificate import Certificate
from o2nc.certify import _check_delta, ball_points, check_count, default_samples, hull_certificate, rounding_safe_radius

__all__ = ["certify"]


class _Objective(torch.nn.Module):
    """``forward()`` is ``loss_fn(model)``: lets ``torch.func.functional_call`` swap the model's parameters."""

    def __init__(self, model: torch.nn.Module, loss_fn: Callable):
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self):
        return self.loss_fn(self.model)


def certify(model: torch.nn.Module, loss_fn: Callable[[torch.nn.Module], torch.Tensor], *, delta: float,
            samples: int | None = None, seed: int = 0, batch: int = 1, stochastic: bool = False,
            include_center: bool = True) -> Certificate:
    r"""Upper bound on dist(0, ∂_δ F(x)) at the model's current weights x, from gradients sampled in the δ-ball.

    F is ``loss_fn(model)`` as a function of the trainable parameters (flattened, in ``model.named_parameters()``
    order). With points y_0 = x (``include_center``) and y_1..y_m uniform in the ball,

        ε = min_{λ ∈ Δ} ‖Σ_i λ_i ∇F(y_i)‖  ≥  dist(0, ∂_δ F(x))          (Burke, Lewis, Overton 2005)

    for exact gradients: a fixed batch (e.g. the full training set) makes ``loss_fn`` deterministic and the result a
    ``"sampled one-sided"`` :class:`o2nc.certify.GoldsteinCertificate`, a proof of (δ, ε)-stationarity of F (a large
    ε proves nothing; few samples in high dimension give a loose bound). With ``stochastic=True`` (``loss_fn`` draws
    a fresh mini-batch at each call, each point of a batch its own under ``vmap``) the same number is a plain
    :class:`o2nc.Certificate` of kind ``"stochastic estimate"``, not a proof.

    The model's weights, buffers and mode are not changed (``torch.func.functional_call``); put a model with batch
    normalisation or dropout in ``eval()`` mode first for a deterministic F.

    Args:
        model: the trained ``torch.nn.Module``.
        loss_fn: ``loss_fn(model)`` -> a 0-d floating tensor, differentiable in the parameters. With ``batch`` > 1 it
            runs under ``torch.func.vmap`` (no ``.item()``, no in-place writes to the parameters); ``batch=1``
            lifts that restriction.
        delta: the radius δ > 0.
        samples: number of random points (default :func:`o2nc.certify.default_samples` of the dimension); 0 uses
            only x.
        seed: seed of the sampling; point i is drawn by ``numpy.random.default_rng([seed, i])``, so the points do
            not depend on ``batch``.
        batch: points per vectorised gradient call (≥ 1); memory grows with it.
        stochastic: ``loss_fn`` is a stochastic estimate of F (see above).
        include_center: also use the gradient at x itself.

    Returns:
        A ``GoldsteinCertificate`` (``weights``, ``direction``, ``gap``, ``ball`` = δ asked; ``points`` and
        ``gradients`` are not kept: m × d arrays) or, with ``stochastic``, a ``Certificate``. ``point`` is the
        flattened weights (float64), ``delta`` the largest distance of the points used (exact, ≤ δ), ``calls`` the
        number of gradients taken.

    Raises:
        TypeError: ``model`` is not a module, ``loss_fn`` not callable, or it does not return a 0-d floating tensor.
        ValueError: ``delta`` not a positive number or below the weights' resolution, ``samples``/``batch``/``seed``
            not integers in range, no trainable parameter, no point, or a non-finite loss or gradient.

    Example:
        >>> import torch
        >>> from o2nc.torch import certify
        >>> model = torch.nn.Linear(2, 1, bias=False)
        >>> with torch.no_grad():
        ...     _ = model.weight.copy_(torch.tensor([[0.05, 0.0]]))
        >>> loss = lambda m: m.weight.abs().sum()          # F(w) = ‖w‖₁, Goldstein-stationary near 0
        >>> cert = certify(model, loss, delta=0.1, samples=40, seed=0)
        >>> cert.kind, cert.epsilon < 1e-12, cert.delta <= 0.1      # both signs of w₁ and w₂ sampled: 0 in the hull
        ('sampled one-sided', True, True)

    References:
        Goldstein, Math. Prog. 13, 1977. Burke, Lewis, Overton, SIAM J. Optim. 15(3), 2005. Cutkosky, Mehta,
        Orabona, ICML 2023 (arXiv 2302.03775), §2 and Definition 4.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn: expected a callable model -> scalar loss, got {type(loss_fn).__name__}")
    delta = _check_delta(delta)
    seed = check_count("seed", seed, 0)
    batch = check_count("batch", batch, 1)
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("model: has no trainable parameter (requires_grad=True) to certify")
    names = ["model." + name for name, _ in named]
    shapes = [p.shape for _, p in named]
    sizes = [p.numel() for _, p in named]
    dtypes = [p.dtype for _, p in named]
    device = named[0][1].device
    x = np.concatenate([p.detach().to("cpu", torch.float64).reshape(-1).numpy() for _, p in named])
    d = x.size
    samples = default_samples(d) if samples is None else check_count("samples", samples, 0)
    if samples == 0 and not include_center:
        raise ValueError("samples: no point to certify with (samples=0, include_center=False)")
    radius = rounding_safe_radius(delta, float(np.linalg.norm(x)), max(torch.finfo(dt).eps for dt in dtypes) / 2,
                                  "certify a float64 copy of the model (model.double())")

    objective = _Objective(model, loss_fn)
    with torch.no_grad():
        value = objective()
    if not isinstance(value, torch.Tensor) or value.ndim != 0 or not value.is_floating_point():
        raise TypeError(f"loss_fn: must return a 0-d floating tensor, got {value!r}")
    if not torch.isfinite(value):
        raise ValueError(f"loss_fn: the loss at the model's weights is not finite ({float(value)})")

    def loss_at(params):
        return torch.func.functional_call(objective, dict(zip(names, params)), ())

    grad = torch.func.grad(loss_at)
    grad_batch = torch.func.vmap(grad, randomness="different" if stochastic else "error")

    def to_params(P: np.ndarray) -> list:
        flat = torch.from_numpy(P)
        out, start = [], 0
        for shape, size, dtype in zip(shapes, sizes, dtypes):
            out.append(flat[:, start:start + size].reshape(len(P), *shape).to(device=device, dtype=dtype))
            start += size
        return out

    def from_params(ts) -> np.ndarray:
        return np.concatenate([t.detach().to("cpu", torch.float64).reshape(t.shape[0], -1).numpy() for t in ts],
                              axis=1)

    rows = ball_points(x, radius, samples, seed, include_center)
    G = np.empty((len(rows), d))
    reach = 0.0
    for start in range(0, len(rows), batch):
        params = to_params(np.stack(rows[start:start + batch]))
        reach = max(reach, float(np.max(np.linalg.norm(from_params(params) - x, axis=1))))
        if len(params[0]) == 1:
            grads = [g[None] for g in grad([t[0] for t in params])]
        else:
            grads = grad_batch(params)
        G[start:start + len(params[0])] = from_params(grads)
    return hull_certificate(x, G, reach, delta, stochastic)
