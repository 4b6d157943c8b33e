"""O2NC with s ≡ 1, no restarts and the learner Discounted(OGD(lr=η), β, μ) is SGD with momentum.

Mapping (documented in online_learners.Discounted): torch.optim.SGD(lr=γ, momentum=ρ, dampening=0, weight_decay=λ)
on f equals O2NC(scaling="none", restart=False) on the oracle ∇f(w) + λw with ρ = β/(1 + ημ) and γ = ηρ; O2NC's
x_{n+1} is torch's x_n (O2NC spends its first step at Δ_1 = 0).
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
minimize_module = pytest.importorskip("o2nc.minimize")

from online_learners import OGD, Discounted  # noqa: E402


def grad_f(x):
    """∇f for f(x) = ¼Σ(x_i² − 1)² + 0.3 x_0 x_1 + 0.2 sin(3 x_2), smooth and non-convex (numpy or torch, float64)."""
    mod = torch if isinstance(x, torch.Tensor) else np
    return mod.stack(
        [
            x[0] * (x[0] ** 2 - 1) + 0.3 * x[1],
            x[1] * (x[1] ** 2 - 1) + 0.3 * x[0],
            x[2] * (x[2] ** 2 - 1) + 0.6 * mod.cos(3 * x[2]),
        ]
    )


@pytest.mark.parametrize(
    "momentum,lr,mu,weight_decay", [(0.9, 0.01, 0.0, 0.0), (0.8, 0.02, 0.5, 1e-2), (0.5, 0.05, 2.0, 0.1)]
)
def test_o2nc_with_discounted_ogd_is_sgd_with_momentum(momentum, lr, mu, weight_decay):
    steps = 300
    eta = lr / momentum
    beta = momentum * (1 + eta * mu)
    assert beta <= 1
    learner = Discounted(OGD(lr=eta), beta=beta, mu=mu)
    x0 = np.array([0.4, -0.8, 1.1])

    result = minimize_module.minimize(
        lambda w: grad_f(w) + weight_decay * w,
        x0,
        learner=learner,
        budget=steps,
        epoch_length=steps,
        scaling="none",
        restart=False,
        record=True,
    )
    xs = np.asarray(result.history.x)

    param = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    optimizer = torch.optim.SGD([param], lr=lr, momentum=momentum, dampening=0, weight_decay=weight_decay)
    reference = [param.detach().numpy().copy()]
    for _ in range(steps - 1):
        optimizer.zero_grad()
        param.grad = grad_f(param.detach()).clone()
        optimizer.step()
        reference.append(param.detach().numpy().copy())
    reference = np.asarray(reference)

    assert np.all(np.isfinite(xs))
    assert np.max(np.abs(xs - reference)) <= 1e-10
    # the trajectory moved: the comparison is not vacuous
    assert np.linalg.norm(reference[-1] - reference[0]) > 1e-2
