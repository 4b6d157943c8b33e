"""Figure 7: SGD with momentum and Adam are instances of O2NC — trajectory differences at round-off.

- SGD with momentum: O2NC with s ≡ 1, no restarts and ``Discounted(OGD(lr=η), beta=β, mu=μ)`` against
  ``torch.optim.SGD(lr=γ, momentum=ρ, dampening=0, weight_decay=λ)`` with ρ = β/(1+ημ), γ = ηρ (derived here
  after Zhang & Cutkosky, ICML 2024, arXiv 2405.09742; the mapping is documented in ``online_learners.Discounted``).
- Adam without bias correction: O2NC with s ≡ 1, no restarts and ``DiscountedFTRL(lr=α, beta1, beta2, eps)``
  against the Adam recursion m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², x ← x − α m/(√v + ε) written out below
  (Kingma & Ba, ICLR 2015, without the bias correction; Adam as discounted FTRL: Ahn, Zhang, Kook, Dai, ICML 2024,
  arXiv 2402.01567).

O2NC's first step plays Δ₁ = 0, so its x_{n+1} is the peer's x_n. Float64 throughout.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from _common import cached, new_figure, save, store

import o2nc
from online_learners import OGD, Discounted, DiscountedFTRL

NAME = "fig7_equivalences"
TITLE = "SGD with momentum and Adam as O2NC instances"
FULL_TIME = "under 10 seconds"
X0 = np.array([0.4, -0.8, 1.1, 0.3, -1.5])


def grad_f(x):
    """∇f for f(x) = ¼Σ(x_i² − 1)² + 0.3 Σ_i x_i x_{i+1} + 0.2 Σ sin(3x_i): smooth, non-convex."""
    coupling = np.zeros_like(x)
    coupling[:-1] += x[1:]
    coupling[1:] += x[:-1]
    return x * (x**2 - 1) + 0.3 * coupling + 0.6 * np.cos(3 * x)


def o2nc_trajectory(learner, steps, weight_decay=0.0):
    res = o2nc.minimize(lambda w: grad_f(w) + weight_decay * w, X0, learner=learner, budget=steps + 1,
                        epoch_length=steps + 1, scaling="none", restart=False, record=True)
    return np.asarray(res.history.x)[1:]  # x_2 … x_{N+1} = the peer's x_1 … x_N


def sgd_momentum_torch(lr, momentum, weight_decay, steps):
    import torch

    param = torch.nn.Parameter(torch.tensor(X0, dtype=torch.float64))
    optimizer = torch.optim.SGD([param], lr=lr, momentum=momentum, dampening=0, weight_decay=weight_decay)
    path = []
    for _ in range(steps):
        param.grad = torch.as_tensor(grad_f(param.detach().numpy()))
        optimizer.step()
        path.append(param.detach().numpy().copy())
    return np.array(path)


def adam_without_bias_correction(lr, beta1, beta2, eps, steps):
    x, m, v, path = X0.copy(), np.zeros_like(X0), np.zeros_like(X0), []
    for _ in range(steps):
        g = grad_f(x)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        x = x - lr * m / (np.sqrt(v) + eps)
        path.append(x.copy())
    return np.array(path)


def compute(steps):
    momentum, lr, mu, weight_decay = 0.9, 0.01, 0.5, 1e-2
    eta = lr / momentum
    beta = momentum * (1 + eta * mu)
    sgdm_o2nc = o2nc_trajectory(Discounted(OGD(lr=eta), beta=beta, mu=mu), steps, weight_decay)
    sgdm_peer = sgd_momentum_torch(lr, momentum, weight_decay, steps)
    adam_o2nc = o2nc_trajectory(DiscountedFTRL(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8), steps)
    adam_peer = adam_without_bias_correction(0.01, 0.9, 0.999, 1e-8, steps)
    return {
        "sgdm_difference": np.max(np.abs(sgdm_o2nc - sgdm_peer), axis=1).tolist(),
        "sgdm_scale": np.max(np.abs(sgdm_peer), axis=1).tolist(),
        "adam_difference": np.max(np.abs(adam_o2nc - adam_peer), axis=1).tolist(),
        "adam_scale": np.max(np.abs(adam_peer), axis=1).tolist(),
        "sgdm_travel": float(np.linalg.norm(sgdm_peer[-1] - X0)),
        "adam_travel": float(np.linalg.norm(adam_peer[-1] - X0)),
        "settings": {"sgdm": {"lr": lr, "momentum": momentum, "mu": mu, "weight_decay": weight_decay,
                              "o2nc_eta": eta, "o2nc_beta": beta},
                     "adam": {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}},
    }


def make(out: Path, quick: bool = False) -> list[Path]:
    steps = 300 if quick else 3000
    data = cached(store(quick), {"figure": NAME, "steps": steps, "version": 1}, lambda: compute(steps))
    fig, ax = new_figure()
    n = np.arange(1, steps + 1)
    floor = np.finfo(np.float64).eps
    for key, label, marker in (("sgdm", "SGD momentum vs O2NC(Discounted(OGD))", "o"),
                               ("adam", "Adam (no bias corr.) vs O2NC(DiscountedFTRL)", "s")):
        diff = np.maximum(np.array(data[f"{key}_difference"]), floor / 4)  # exact zeros drawn at the axis floor
        ax.semilogy(n, diff, marker=marker, markevery=max(1, steps // 12), label=label)
    ax.axhline(floor, color="0.4", ls=":", lw=0.9, label="float64 machine ε")
    ax.set_xlabel("step n (gradient calls)")
    ax.set_ylabel(r"$\max_i |x_n^{\mathrm{O2NC}} - x_n^{\mathrm{peer}}|_i$")
    ax.set_ylim(floor / 8, 1e-10)
    ax.legend(loc="upper left")
    caption = (
        f"{TITLE}. Largest coordinate difference between the O2NC trajectory (s ≡ 1, no restarts) and the peer's over "
        f"{steps} steps in float64: SGD with momentum {max(data['sgdm_difference']):.2e} (trajectory travels "
        f"{data['sgdm_travel']:.2f}); Adam without bias correction {max(data['adam_difference']):.2e} (travels "
        f"{data['adam_travel']:.2f}). Mapping: momentum ρ = β/(1+ημ), lr γ = ηρ; Adam's (α, β₁, β₂, ε) are "
        "DiscountedFTRL's."
    )
    return save(fig, NAME, out, data=data, caption=caption)
