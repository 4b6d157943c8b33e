"""The torch optimizer's epoch statistics with parameters that skip steps and in half precision, its ‖g‖ on float16,
checkpoints of a learner without a repr, and argument checks.

The epoch mean is w̄_k = (1/T) Σ_t w_t over the group's T steps and the certificate ‖ĝ_k‖ = ‖(1/T) Σ_t g_t‖ ([CMO23] =
Cutkosky, Mehta, Orabona, ICML 2023, §3, Theorem 8 and Definition 5); a parameter without a gradient at step t has
its unchanged value as its point w_t and a zero gradient. The EMA is e ← e + (1 − β)(w_n − e) (Ahn & Cutkosky,
NeurIPS 2024, arXiv 2405.18199). The for-loop path (foreach=False) is the reference.
"""
from __future__ import annotations

import pytest
import torch

from o2nc.torch import O2NC
from online_learners import OGD


def _skip_run(foreach: bool, lr: float, steps: int, length: int, dtype=torch.float64, radius=None, restart=True):
    """Two parameters, b without a gradient on even steps; returns (optimizer, a, b, the points w_t of each step)."""
    gen = torch.Generator().manual_seed(3)
    a = torch.nn.Parameter(torch.full((3,), 1.0, dtype=dtype))
    b = torch.nn.Parameter(torch.full((2,), 2.0, dtype=dtype))
    opt = O2NC([a, b], learner=OGD(lr=0.1, radius=radius), lr=lr, epoch_length=length, averaging="epoch", seed=0,
               foreach=foreach, restart=restart)
    points = []
    for i in range(steps):
        opt.zero_grad(set_to_none=True)
        a.grad = torch.randn(3, generator=gen, dtype=dtype)
        gb = torch.randn(2, generator=gen, dtype=dtype)
        if i % 2:
            b.grad = gb
        points.append(torch.cat([a.detach(), b.detach()]).clone())
        opt.step()
    return opt, a, b, points


@pytest.mark.parametrize("foreach", [True, False])
def test_frozen_parameter_skipped_on_alternate_steps_has_its_value_as_epoch_mean(foreach):
    """lr = 0 freezes both parameters: the mean of each is its value (b was counted on half the steps before), and
    the path bound 0 is at least the exact radius max_t ‖w_t − w̄_k‖ = 0."""
    opt, a, b, points = _skip_run(foreach, 0.0, 8, 4)
    ma, mb = opt.eval_points()[0]
    assert torch.equal(ma, torch.full((3,), 1.0, dtype=torch.float64))
    assert torch.equal(mb, torch.full((2,), 2.0, dtype=torch.float64))
    mean = torch.cat([ma, mb])
    exact = max(float(torch.linalg.vector_norm(w - mean)) for w in points[4:8])
    assert float(opt.diagnostics()[0]["radius_bound"]) >= exact
    # the running mean of the current epoch before it closes: every step counts every parameter
    opt.zero_grad(set_to_none=True)
    a.grad = torch.ones(3, dtype=torch.float64)
    opt.step()
    assert torch.equal(opt.eval_points()[0][1], torch.full((2,), 2.0, dtype=torch.float64))


@pytest.mark.parametrize("radius", [None, 0.05])
@pytest.mark.parametrize("restart", [True, False])
def test_skipped_parameter_both_paths_agree_and_bound_holds(radius, restart):
    """A parameter skipped on alternate steps, lr > 0: the multi-tensor path equals the for-loop path (float64,
    1e-12 relative), the epoch mean is the mean of the recorded points and radius_bound ≥ the exact radius."""
    runs = {fe: _skip_run(fe, 1.0, 12, 6, radius=radius, restart=restart) for fe in (False, True)}
    ref_opt, ref_a, ref_b, ref_points = runs[False]
    for fe in (False, True):
        opt, a, b, points = runs[fe]
        for x, y in zip(opt.eval_points()[0] + [a.detach(), b.detach()],
                        ref_opt.eval_points()[0] + [ref_a.detach(), ref_b.detach()]):
            torch.testing.assert_close(x, y, rtol=1e-12, atol=0)
        d, ref_d = opt.diagnostics()[0], ref_opt.diagnostics()[0]
        for key in ("certificate", "radius_bound"):
            torch.testing.assert_close(d[key], ref_d[key], rtol=1e-12, atol=0)
        mean = torch.cat(opt.eval_points()[0])
        torch.testing.assert_close(mean, torch.stack(points[6:12]).mean(0), rtol=1e-12, atol=1e-15)
        exact = max(float(torch.linalg.vector_norm(w - mean)) for w in points[6:12])
        assert float(d["radius_bound"]) >= exact


@pytest.mark.parametrize("foreach", [True, False])
def test_ema_advances_for_a_skipped_parameter(foreach):
    """b moves for four steps, then has no gradient: its EMA keeps taking its (now constant) point at every step."""
    a = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    b = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    beta = 0.5
    opt = O2NC([a, b], learner=OGD(lr=0.5), averaging=("ema", beta), scaling="none", seed=0, foreach=foreach)
    ema = [a.detach().clone(), b.detach().clone()]
    for i in range(25):
        opt.zero_grad(set_to_none=True)
        a.grad = torch.ones(2, dtype=torch.float64)
        if i < 4:
            b.grad = -torch.ones(2, dtype=torch.float64)
        ema = [e + (1 - beta) * (p.detach() - e) for e, p in zip(ema, (a, b))]  # at w_n, before the step
        opt.step()
    got = opt.eval_points()[0]
    for x, y in zip(got, ema):
        torch.testing.assert_close(x, y, rtol=1e-12, atol=0)
    # b stopped at 5 after four steps; its EMA follows it (2^-21 of the gap left), not stuck where b stopped moving
    assert float(b.detach()[0]) == 5.0 and abs(float(got[1][0]) - 5.0) < 1e-5


@pytest.mark.parametrize("foreach", [True, False])
@pytest.mark.parametrize(("dtype", "length"), [(torch.bfloat16, 600), (torch.float16, 2500)])
def test_half_precision_epoch_sums_are_exact_and_survive_a_checkpoint(dtype, length, foreach):
    """lr = 0 holds w at 1 and every gradient is 1 over an epoch longer than the half-precision sums reach (256 in
    bfloat16, 2048 in float16): the mean is 1 and the certificate ‖ĝ‖ = √4 = 2 exactly; a save/load half-way keeps
    the sums in float32."""
    p = torch.nn.Parameter(torch.full((4,), 1.0, dtype=dtype))
    opt = O2NC([p], learner=OGD(lr=0.1), lr=0.0, epoch_length=length, averaging="epoch", seed=0, foreach=foreach)
    for i in range(length):
        if i == length - 100:  # beyond where a half-precision sum stops growing
            sd = opt.state_dict()
            opt = O2NC([p], learner=OGD(lr=0.1), lr=0.0, epoch_length=length, averaging="epoch", seed=0,
                       foreach=foreach)
            opt.load_state_dict(sd)
            st = opt.state[p]
            assert st["w_sum"].dtype == torch.float32 and st["g_sum"].dtype == torch.float32
            assert opt.param_groups[0]["group_state"]["path"].dtype == torch.float32
            assert float(st["w_sum"][0]) == i
        p.grad = torch.ones_like(p)
        opt.step()
    mean = opt.eval_points()[0][0]
    assert mean.dtype == dtype and torch.equal(mean, torch.ones(4, dtype=dtype))
    cert = opt.diagnostics()[0]["certificate"]
    assert cert.dtype == dtype and float(cert) == 2.0


@pytest.mark.parametrize("foreach", [True, False])
def test_float16_gradient_with_a_norm_beyond_float16_steps(foreach):
    """A finite float16 gradient of norm 1e5 > 65504: the step runs and ‖g‖ is reported in float32; NaN still
    raises."""
    p = torch.nn.Parameter(torch.zeros(10000, dtype=torch.float16))
    opt = O2NC([p], learner=OGD(lr=1e-6, radius=0.01), seed=0, foreach=foreach)
    p.grad = torch.full_like(p, 1000.0)
    opt.step()
    assert bool(torch.isfinite(p).all())
    norm = opt.diagnostics()[0]["grad_norm"]
    assert norm.dtype == torch.float32 and abs(float(norm) - 1e5) <= 1e5 * 2**-10
    p.grad = torch.full_like(p, float("nan"))
    with pytest.raises(FloatingPointError, match="not finite"):
        opt.step()


class _PlainOGD:
    """A learner written by a user: init/predict/update, no __repr__."""

    def __init__(self, lr):
        self._inner = OGD(lr=lr)

    def init(self, params):
        return self._inner.init(params)

    def predict(self, state):
        return self._inner.predict(state)

    def update(self, state, grad):
        return self._inner.update(state, grad)


class _OtherPlainOGD(_PlainOGD):
    pass


def test_learner_without_repr_checkpoint_loads_in_a_fresh_optimizer():
    p = torch.nn.Parameter(torch.ones(3))
    opt = O2NC([p], learner=_PlainOGD(0.1), seed=0)
    p.grad = torch.ones(3)
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["learner"] == f"{__name__}._PlainOGD"
    O2NC([p], learner=_PlainOGD(0.1), seed=0).load_state_dict(sd)
    with pytest.raises(ValueError, match="_OtherPlainOGD"):
        O2NC([p], learner=_OtherPlainOGD(0.1), seed=0).load_state_dict(sd)


def test_argument_checks_name_what_is_wrong():
    p = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(TypeError, match=r"learner.*pass an instance, e\.g\. OGD\(lr=\.\.\.\)"):
        O2NC([p], learner=OGD)
    q = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError, match="averaging in param group 1"):
        O2NC([{"params": [p]}, {"params": [q], "averaging": "mean"}])
    opt = O2NC([p], learner=OGD(lr=0.1))
    p.grad = torch.ones(2)
    opt.step()
    opt.eval()
    calls = []

    def closure():
        calls.append(1)
        return torch.zeros(())

    with pytest.raises(RuntimeError, match="eval mode"):
        opt.step(closure)
    assert calls == []
