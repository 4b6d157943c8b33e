"""Schedule-free SGD and Mechanic against plain float64 implementations of their published equations; SGD, momentum and
Adam against torch.optim on the same gradient stream."""
from __future__ import annotations

import numpy as np
import pytest

import objectives
from o2nc import baselines
from online_learners import OGD, AdaGradNorm


class Recorder:
    """A deterministic non-smooth non-convex problem (the O2NC toy function, d = 6) whose gradients are the stream
    both implementations see."""

    def __init__(self):
        self.obj = objectives.get("o2nc_toy", n=6, seed=3)
        self.x0 = np.linspace(-1.0, 1.5, 6)

    def value(self, x):
        return float(self.obj.value(x))

    def grad(self, x):
        return np.asarray(self.obj.grad(x), dtype=np.float64)


# --- schedule-free SGD ------------------------------------------------------------------------------------------------


def schedule_free_reference(grad, x0, steps, *, lr, beta, weight_power=None, warmup=0, anytime=False):
    """Defazio, Yang, Mehta, Mishchenko, Khaled, Cutkosky, *The Road Less Scheduled* (arXiv 2405.15682, 2024), written
    out: y = (1−β)z + βx, z ← z − γ_t g(y), x ← (1−c)x + cz.

    c_{t+1} = 1/(t+1) (uniform) or w_t/Σ_{i≤t} w_i with w_t = (max_{j≤t} γ_j)^p; γ_t = lr·min(1, t/warmup), further
    divided by √t for the anytime base step."""
    z = x0.copy()
    x = x0.copy()
    ys, xs, zs = [], [], []
    lr_max, wsum = 0.0, 0.0
    for t in range(1, steps + 1):
        y = (1 - beta) * z + beta * x
        g = grad(y)
        gamma = lr * (min(1.0, t / warmup) if warmup else 1.0)
        z = z - (gamma / np.sqrt(t) if anytime else gamma) * g
        if weight_power is None:
            c = 1.0 / (t + 1)
        else:
            lr_max = max(lr_max, gamma)
            w = lr_max**weight_power
            wsum += w
            c = w / wsum
        x = (1 - c) * x + c * z
        ys.append(y)
        xs.append(x)
        zs.append(z)
    return np.array(ys), np.array(xs), np.array(zs)


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.05, beta=0.9),
    dict(lr=0.02, beta=0.5, weight_power=2.0, warmup=25),
    dict(lr=0.1, beta=0.0),
    dict(lr=0.1, beta=1.0, weight_power=0.0),
])
def test_schedule_free_equals_its_published_equations(kwargs):
    p = Recorder()
    steps = 300
    ref_y, ref_x, ref_z = schedule_free_reference(p.grad, p.x0, steps, **kwargs)
    method = baselines.ScheduleFreeSGD(lr=kwargs["lr"], beta=kwargs["beta"],
                                       weight_power=kwargs.get("weight_power"), warmup_steps=kwargs.get("warmup", 0))
    res = method.minimize(p, p.x0, budget=steps, record=True)
    np.testing.assert_allclose(res.history["y"], ref_y, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(res.history["z"], ref_z, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(res.history["x"], ref_x, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(res.point, res.history["x"][-1])


def test_schedule_free_over_another_learner_equals_its_equations():
    """OGD with the anytime step lr/√t as the base learner: z_{t+1} = z_t − (lr/√t) g_t."""
    p = Recorder()
    ref_y, ref_x, _ = schedule_free_reference(p.grad, p.x0, 200, lr=0.08, beta=0.8, anytime=True)
    method = baselines.ScheduleFreeSGD(lr=0.08, beta=0.8, learner=OGD(lr=0.08, anytime=True))
    res = method.minimize(p, p.x0, budget=200, record=True)
    np.testing.assert_allclose(res.history["y"], ref_y, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(res.history["x"], ref_x, rtol=1e-13, atol=1e-13)


def test_schedule_free_with_a_constrained_learner_keeps_z_in_its_ball():
    p = Recorder()
    res = baselines.ScheduleFreeSGD(lr=0.1, learner=AdaGradNorm(radius=0.3)).minimize(p, p.x0, budget=200, record=True)
    assert np.linalg.norm(res.history["z"] - p.x0, axis=1).max() <= 0.3 * (1 + 1e-12)
    # x averages the z's, so it stays in the same (convex) ball
    assert np.linalg.norm(res.history["x"] - p.x0, axis=1).max() <= 0.3 * (1 + 1e-12)


def test_schedule_free_converges_on_a_convex_lipschitz_problem():
    obj = objectives.get("scaled_norm", n=3)
    res = baselines.ScheduleFreeSGD(lr=0.05).minimize(obj, obj.x0, budget=2000)
    assert float(obj.value(res.point)) < 0.02 * float(obj.value(obj.x0))


# --- Mechanic ---------------------------------------------------------------------------------------------------------


def mechanic_reference(grad, x0, steps, *, lr, betas, s_init, lam, eps, anytime=False):
    """Cutkosky, Defazio, Mehta, *Mechanic: A Learning Rate Tuner* (NeurIPS 2023, arXiv 2306.00144), written out with
    SGD (or anytime-step SGD) as the base."""
    n = len(betas)
    b = np.array(betas)
    m = np.zeros(n)
    v = np.zeros(n)
    r = np.zeros(n)
    s = np.zeros(n)
    delta = np.zeros_like(x0)
    x = x0.copy()
    xs, scales = [], []
    for t in range(1, steps + 1):
        g = grad(x)
        xn = np.linalg.norm(x)
        gt = g + lam * s.sum() * np.linalg.norm(g) / xn * x if xn > 0 else g
        h = gt @ delta
        delta = delta - (lr / np.sqrt(t) if anytime else lr) * g
        m = np.maximum(b * m, abs(h))
        v = b**2 * v + h**2
        r = np.maximum(0.0, b * r - s * h)
        W = s_init / n * m + r
        s = W / (np.sqrt(v) + eps)
        x = x0 + s.sum() * delta
        xs.append(x)
        scales.append(s.sum())
    return np.array(xs), np.array(scales)


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.01, betas=tuple(1 - 10.0 ** -i for i in range(1, 7)), s_init=1e-8, lam=0.01, eps=1e-8),
    dict(lr=0.05, betas=(0.9, 0.99), s_init=1e-4, lam=0.0, eps=1e-8),
    dict(lr=0.02, betas=(0.5,), s_init=1e-2, lam=0.1, eps=1e-6),
])
def test_mechanic_equals_its_published_equations(kwargs):
    p = Recorder()
    steps = 400
    ref_x, ref_s = mechanic_reference(p.grad, p.x0, steps, **kwargs)
    method = baselines.Mechanic(lr=kwargs["lr"], betas=kwargs["betas"], s_init=kwargs["s_init"],
                                weight_decay=kwargs["lam"], eps=kwargs["eps"])
    res = method.minimize(p, p.x0, budget=steps, record=True)
    np.testing.assert_allclose(res.history["scale"], ref_s, rtol=1e-11, atol=1e-300)
    np.testing.assert_allclose(res.history["x"], ref_x, rtol=1e-11, atol=1e-13)
    assert ref_s.max() > 100 * kwargs["s_init"]  # the tuner actually moved the scale: the comparison is not vacuous


def test_mechanic_over_another_learner_equals_its_equations():
    p = Recorder()
    kw = dict(lr=0.05, betas=(0.9, 0.99, 0.999), s_init=1e-6, lam=0.01, eps=1e-8)
    ref_x, _ = mechanic_reference(p.grad, p.x0, 300, anytime=True, **kw)
    method = baselines.Mechanic(learner=OGD(lr=0.05, anytime=True), betas=kw["betas"], s_init=kw["s_init"],
                                weight_decay=kw["lam"], eps=kw["eps"])
    res = method.minimize(p, p.x0, budget=300, record=True)
    np.testing.assert_allclose(res.history["x"], ref_x, rtol=1e-11, atol=1e-13)


def test_mechanic_tunes_a_badly_scaled_base_step():
    """With SGD steps 10^4 times too small, the learned scale grows by orders of magnitude and the loss falls."""
    obj = objectives.get("half_sq_norm", n=4)
    res = baselines.Mechanic(lr=1e-4, weight_decay=0.0).minimize(obj, obj.x0, budget=1500)
    plain = baselines.SGD(lr=1e-4).minimize(obj, obj.x0, budget=1500)
    assert res.trace["scale"][-1] > 50
    assert float(obj.value(res.point)) < 0.1 * float(obj.value(plain.point))


# --- SGD, momentum and Adam against torch.optim -----------------------------------------------------------------------


def torch_trajectory(make_optimizer, grad, x0, steps):
    torch = pytest.importorskip("torch")
    param = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer(torch, [param])
    xs = []
    for _ in range(steps):
        param.grad = torch.tensor(grad(param.detach().numpy().copy()), dtype=torch.float64)
        opt.step()
        xs.append(param.detach().numpy().copy())
    return np.array(xs)


@pytest.mark.parametrize("case", ["sgd", "momentum", "nesterov", "adam"])
def test_first_order_updates_equal_torch_optim(case):
    p = Recorder()
    steps = 200
    if case == "sgd":
        method = baselines.SGD(lr=0.01)
        ref = torch_trajectory(lambda t, ps: t.optim.SGD(ps, lr=0.01), p.grad, p.x0, steps)
    elif case in ("momentum", "nesterov"):
        nest = case == "nesterov"
        method = baselines.SGDMomentum(lr=0.01, momentum=0.8, nesterov=nest)
        ref = torch_trajectory(lambda t, ps: t.optim.SGD(ps, lr=0.01, momentum=0.8, nesterov=nest), p.grad, p.x0,
                               steps)
    else:
        method = baselines.Adam(lr=0.01, beta1=0.8, beta2=0.95, eps=1e-8)
        ref = torch_trajectory(lambda t, ps: t.optim.Adam(ps, lr=0.01, betas=(0.8, 0.95), eps=1e-8), p.grad, p.x0,
                               steps)
    res = method.minimize(p, p.x0, budget=steps, record=True)
    np.testing.assert_allclose(res.history["x"], ref, rtol=1e-12, atol=1e-13)


def test_normalized_sgd_momentum_takes_steps_of_length_lr():
    p = Recorder()
    res = baselines.NormalizedSGDMomentum(lr=0.03, momentum=0.7).minimize(p, p.x0, budget=150, record=True)
    xs = np.vstack([p.x0, res.history["x"]])
    np.testing.assert_allclose(np.linalg.norm(np.diff(xs, axis=0), axis=1), 0.03, rtol=1e-12)
