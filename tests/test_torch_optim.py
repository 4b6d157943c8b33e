"""The ``torch.optim.Optimizer`` contract of ``o2nc.torch.O2NC`` (torch/optim/optimizer.py and
torch's ``TestOptimRenewed`` in test/test_optim.py), for every registered learner."""
from __future__ import annotations

import copy
import io
import math

import numpy as np
import pytest

from online_learners import OGD, registry

torch = pytest.importorskip("torch")
from o2nc.torch import O2NC, NonFiniteGradientError  # noqa: E402

FIRST = [(f"{e.name}[0]", e.examples[0]) for e in registry.entries()]
IDS = [n for n, _ in FIRST]
LEARNERS = [l for _, l in FIRST]


def make_model(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1)).to(dtype)


def data(seed=1, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(32, 4, generator=g, dtype=dtype)
    return x, torch.sin(x.sum(1, keepdim=True))


def train(model, opt, steps, x, y):
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


ROUND_TRIPS = [(l, "epoch") for l in LEARNERS] + [(OGD(lr=0.1), None), (OGD(lr=0.1), ("ema", 0.9))]


@pytest.mark.parametrize("learner,averaging", ROUND_TRIPS, ids=IDS + ["ogd-none", "ogd-ema"])
def test_state_dict_round_trip_resumes_bit_identically(learner, averaging):
    x, y = data()
    if True:
        model = make_model()
        opt = O2NC(model.parameters(), learner=learner, epoch_length=7, averaging=averaging,
                   generator=torch.Generator().manual_seed(5))
        train(model, opt, 10, x, y)
        buf = io.BytesIO()
        torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
        train(model, opt, 9, x, y)
        expected = flat(model)
        expected_eval = [t.clone() for t in opt.eval_points()[0]]

        buf.seek(0)
        saved = torch.load(buf, weights_only=True)
        model2 = make_model(seed=3)
        model2.load_state_dict(saved["model"])
        opt2 = O2NC(model2.parameters(), learner=learner, epoch_length=7, averaging=averaging)  # other generator
        opt2.load_state_dict(saved["opt"])
        train(model2, opt2, 9, x, y)
        assert torch.equal(flat(model2), expected), averaging
        for a, b in zip(opt2.eval_points()[0], expected_eval):
            assert torch.equal(a, b), averaging


def test_load_state_dict_rejects_foreign_or_mismatched_state():
    model = make_model()
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    opt = O2NC(model.parameters(), learner=OGD(lr=0.1), epoch_length=5)
    with pytest.raises(ValueError, match="not produced by o2nc"):
        opt.load_state_dict(sgd.state_dict())
    x, y = data()
    train(model, opt, 2, x, y)
    other = O2NC(model.parameters(), learner=OGD(lr=0.2), epoch_length=5)
    with pytest.raises(ValueError, match="learner"):
        other.load_state_dict(opt.state_dict())
    other = O2NC(model.parameters(), learner=OGD(lr=0.1), epoch_length=5, scaling="exponential")
    with pytest.raises(ValueError, match="scaling"):
        other.load_state_dict(opt.state_dict())


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_loss_goes_down_with_and_without_scheduler(learner):
    x, y = data()
    for scheduled in (False, True):
        model = make_model()
        opt = O2NC(model.parameters(), learner=learner, epoch_length=20, lr=0.02,
                   generator=torch.Generator().manual_seed(0))
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.5) if scheduled else None
        first = float(torch.nn.functional.mse_loss(model(x), y).detach())
        for _ in range(60):
            train(model, opt, 1, x, y)
            if sched is not None:
                sched.step()
        with opt.eval_params():
            last = float(torch.nn.functional.mse_loss(model(x), y).detach())
        assert last < first, (learner, scheduled, first, last)
        if scheduled:
            assert opt.param_groups[0]["lr"] == 0.005


def test_lr_zero_freezes_the_anchor_and_tiny_lr_group_does_not_move():
    x, y = data()
    model = make_model()
    before = [p.detach().clone() for p in model.parameters()]
    first, rest = list(model.parameters())[:2], list(model.parameters())[2:]
    opt = O2NC([{"params": first, "lr": 1e-28}, {"params": rest}], learner=OGD(lr=0.1), epoch_length=5, lr=1.0)
    train(model, opt, 10, x, y)
    for p, b in zip(first, before[:2]):
        assert torch.allclose(p, b, rtol=0, atol=1e-20)
    assert not all(torch.equal(p, b) for p, b in zip(rest, before[2:]))
    model = make_model()
    opt = O2NC(model.parameters(), learner=OGD(lr=0.1), epoch_length=5, lr=0.0)
    train(model, opt, 10, x, y)
    with opt.eval_params():
        for p, b in zip(model.parameters(), before):
            assert torch.equal(p, b)


def test_tensor_lr_equals_float_lr():
    x, y = data()
    runs = []
    for lr in (0.3, torch.tensor(0.3, dtype=torch.float64)):
        model = make_model()
        opt = O2NC(model.parameters(), learner=OGD(lr=0.1), epoch_length=5, lr=lr,
                   generator=torch.Generator().manual_seed(2))
        train(model, opt, 12, x, y)
        runs.append(flat(model))
    assert torch.allclose(runs[0], runs[1], rtol=1e-14, atol=0)
    with pytest.raises(ValueError, match="1-element"):
        O2NC(make_model().parameters(), learner=OGD(lr=0.1), lr=torch.ones(2))


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_step_is_noop_without_grads(learner):
    model = make_model()
    opt = O2NC(model.parameters(), learner=learner, epoch_length=5)
    before = flat(model).clone()
    opt.step()
    assert torch.equal(flat(model), before)
    assert len(opt.state) == 0


def test_closure_returns_loss_and_steps():
    x, y = data()
    model = make_model()
    opt = O2NC(model.parameters(), learner=OGD(lr=0.1), epoch_length=5)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        return loss

    before = flat(model).clone()
    loss = opt.step(closure)
    assert isinstance(loss, torch.Tensor) and loss.requires_grad
    opt.step(closure)
    assert not torch.equal(flat(model), before)


def test_lazy_state_takes_weights_loaded_after_construction():
    x, y = data()
    model = make_model(seed=0)
    opt = O2NC(model.parameters(), learner=OGD(lr=0.1), epoch_length=5, averaging="epoch")
    loaded = make_model(seed=9)
    model.load_state_dict(loaded.state_dict())
    train(model, opt, 1, x, y)
    # After one step the running epoch mean is the first gradient point w_1: the loaded weights.
    for point, q in zip(opt.eval_points()[0], loaded.parameters()):
        assert torch.equal(point, q.detach())


@pytest.mark.parametrize("averaging", [None, "epoch", ("ema", 0.5)])
def test_eval_swaps_in_the_output_point_and_train_restores(averaging):
    x, y = data()
    model = make_model()
    opt = O2NC(model.parameters(), learner=OGD(lr=0.2), epoch_length=4, averaging=averaging)
    train(model, opt, 9, x, y)
    w = flat(model).clone()
    points = torch.cat([t.reshape(-1) for t in opt.eval_points()[0]])
    assert not torch.equal(points, w)
    opt.eval()
    opt.eval()  # idempotent
    assert torch.equal(flat(model), points)
    with pytest.raises(RuntimeError, match="eval mode"):
        train(model, opt, 1, x, y)
    opt.train()
    opt.train()
    assert torch.equal(flat(model), w)
    with pytest.raises(KeyError):
        with opt.eval_params():
            assert torch.equal(flat(model), points)
            raise KeyError("boom")
    assert torch.equal(flat(model), w)


def test_epoch_averaging_returns_the_epoch_mean_and_certificate():
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.randn(3, dtype=torch.float64))
    opt = O2NC([p], learner=OGD(lr=0.1, radius=0.05), epoch_length=4, averaging="epoch")
    ws, gs = [], []
    for n in range(8):
        ws.append(p.detach().clone())
        p.grad = torch.sign(p.detach()) + 0.1 * n
        gs.append(p.grad.clone())
        opt.step()
    (mean,) = opt.eval_points()[0]
    assert torch.allclose(mean, torch.stack(ws[4:]).mean(0), rtol=1e-14, atol=1e-15)
    diag = opt.diagnostics()[0]
    assert math.isclose(float(diag["certificate"]), float(torch.stack(gs[4:]).mean(0).norm()), rel_tol=1e-14)
    # the radius bound (path length) really bounds max_t ‖w_t − w̄‖ and is at most T·D
    spread = max(float((w - mean).norm()) for w in ws[4:])
    assert spread <= float(diag["radius_bound"]) + 1e-15 <= 4 * 0.05 + 1e-12
    assert math.isnan(float(diag["radius"]))  # the exact radius needs the epoch's points, which are not kept
    for key in ("step", "s", "delta_norm", "grad_norm", "effective_step", "certificate", "radius", "radius_bound"):
        assert isinstance(diag[key], torch.Tensor)


def test_nonfinite_gradient_raises_naming_the_parameter_and_changes_nothing():
    model = make_model()
    opt = O2NC(model.named_parameters(), learner=OGD(lr=0.1), epoch_length=5)
    x, y = data()
    train(model, opt, 2, x, y)
    before = flat(model).clone()
    state_before = copy.deepcopy(opt.state_dict())
    opt.zero_grad()
    torch.nn.functional.mse_loss(model(x), y).backward()
    model[2].weight.grad[0, 1] = float("nan")
    with pytest.raises(NonFiniteGradientError, match=r"'2\.weight'.*step 3"):
        opt.step()
    assert torch.equal(flat(model), before)
    after = opt.state_dict()
    for k, v in state_before["state"].items():
        for key, t in v.items():
            if isinstance(t, torch.Tensor):
                torch.testing.assert_close(after["state"][k][key], t, rtol=0, atol=0, equal_nan=True)
    unnamed = O2NC(make_model().parameters(), learner=OGD(lr=0.1), epoch_length=5)
    for p in unnamed.param_groups[0]["params"]:
        p.grad = torch.full_like(p, float("inf"))
    with pytest.raises(NonFiniteGradientError, match="parameter 0 of param group 0"):
        unnamed.step()


def test_bad_input_is_rejected_with_clear_errors():
    params = make_model().parameters
    with pytest.raises(TypeError, match="learner"):
        O2NC(params(), learner=object(), epoch_length=5)
    with pytest.raises(ValueError, match="learning rate"):
        O2NC(params(), learner=OGD(lr=0.1), lr=-1.0)
    with pytest.raises(ValueError, match="epoch_length"):
        O2NC(params(), learner=OGD(lr=0.1), epoch_length=0)
    with pytest.raises(ValueError, match="scaling"):
        O2NC(params(), learner=OGD(lr=0.1), scaling="gaussian")
    with pytest.raises(ValueError, match="averaging"):
        O2NC(params(), learner=OGD(lr=0.1), averaging="window")
    with pytest.raises(ValueError, match="EMA"):
        O2NC(params(), learner=OGD(lr=0.1), averaging=("ema", 1.5))
    with pytest.raises(TypeError, match="Tensors|Tensor"):
        O2NC([np.zeros(3)], learner=OGD(lr=0.1))
    with pytest.raises(ValueError, match="dtype"):
        O2NC([torch.zeros(2, requires_grad=True), torch.zeros(2, dtype=torch.float64, requires_grad=True)],
             learner=OGD(lr=0.1))
    with pytest.raises(TypeError, match="floating"):
        O2NC([torch.zeros(2, dtype=torch.int64)], learner=OGD(lr=0.1))
    with pytest.raises(TypeError, match="generator"):
        O2NC(params(), learner=OGD(lr=0.1), generator=3)
    with pytest.raises(ValueError, match="s-sequence"):
        p = torch.zeros(2, requires_grad=True)
        opt = O2NC([p], learner=OGD(lr=0.1), scaling=[0.5, 0.5])
        for _ in range(3):
            p.grad = torch.ones(2)
            opt.step()


def test_param_groups_have_their_own_hyperparameters_and_add_param_group_validates():
    model = make_model()
    layers = list(model.parameters())
    opt = O2NC([{"params": layers[:2], "learner": OGD(lr=0.05), "epoch_length": 3}, {"params": layers[2:]}],
               learner=OGD(lr=0.1), epoch_length=5)
    assert opt.param_groups[0]["epoch_length"] == 3 and opt.param_groups[1]["epoch_length"] == 5
    x, y = data()
    train(model, opt, 6, x, y)
    assert opt.diagnostics()[0]["step"] == 6
    extra = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="epoch_length"):
        opt.add_param_group({"params": [extra], "epoch_length": -1})
    assert len(opt.param_groups) == 2
    opt.add_param_group({"params": [extra]})
    extra.grad = torch.ones(2, dtype=torch.float64)
    opt.step()
    assert len(opt.param_groups) == 3


def test_printable_deepcopy_and_pickle_keep_behaviour():
    x, y = data()
    model = make_model()
    opt = O2NC(model.parameters(), learner=OGD(lr=0.1), epoch_length=5, generator=torch.Generator().manual_seed(1))
    text = repr(opt)
    assert "O2NC" in text and "OGD(lr=0.1" in text
    train(model, opt, 3, x, y)
    twin_model = copy.deepcopy(model)
    twin = O2NC(twin_model.parameters(), learner=OGD(lr=0.1), epoch_length=5)
    twin.load_state_dict(copy.deepcopy(opt.state_dict()))
    train(model, opt, 4, x, y)
    train(twin_model, twin, 4, x, y)
    assert torch.equal(flat(model), flat(twin_model))
    clone = copy.deepcopy(opt)
    assert clone._draws == opt._draws and torch.equal(clone._generator.get_state(), opt._generator.get_state())


def test_hooks_keep_working():
    calls = []
    model = make_model()
    opt = O2NC(model.parameters(), learner=OGD(lr=0.1), epoch_length=5)
    opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    opt.register_state_dict_post_hook(lambda o, sd: calls.append("sd"))
    opt.register_load_state_dict_post_hook(lambda o: calls.append("load"))
    x, y = data()
    train(model, opt, 1, x, y)
    opt.load_state_dict(opt.state_dict())
    assert calls == ["pre", "post", "sd", "load"]


def test_float32_and_bfloat16_parameters_keep_their_dtype():
    x, y = data(dtype=torch.float32)
    for dtype in (torch.float32, torch.bfloat16):
        model = make_model(dtype=dtype)
        opt = O2NC(model.parameters(), learner=OGD(lr=0.1), epoch_length=5, averaging="epoch")
        train(model, opt, 6, x.to(dtype), y.to(dtype))
        for p in model.parameters():
            assert p.dtype == dtype
            for k, v in opt.state[p].items():
                if k == "lag":  # a host scalar (float lr): float64 on the CPU, read without a device sync
                    assert v.dtype == torch.float64 and v.device.type == "cpu" and v.dim() == 0
                elif k in ("w_sum", "g_sum"):  # running sums over the epoch: at least float32 (accumulator_like)
                    assert v.dtype == torch.float32
                elif isinstance(v, torch.Tensor) and v.is_floating_point():
                    assert v.dtype == dtype


def test_large_gradient_steps_and_one_whose_norm_overflows_raises():
    """The fast check sums squares: ‖g‖ = 1.4e18 (‖g‖² near float32's limit) steps; ‖g‖ = 1.4e20, whose float32
    squares overflow but whose norm does not, steps too (the norms are then taken with float64 squares); a norm that
    overflows float32 itself raises, as documented ("or a norm that overflows its dtype"), naming the parameter."""
    p = torch.nn.Parameter(torch.zeros(3))
    opt = O2NC([p], learner=OGD(lr=1e-40), epoch_length=5)
    p.grad = torch.tensor([1e18, 0.0, -1e18])
    opt.step()
    assert bool(torch.isfinite(p).all())
    p.grad = torch.tensor([1e20, 0.0, -1e20])
    opt.step()
    assert bool(torch.isfinite(p).all())
    p.grad = torch.tensor([3e38, 0.0, -3e38])
    with pytest.raises(NonFiniteGradientError, match="parameter 0 of param group 0"):
        opt.step()
