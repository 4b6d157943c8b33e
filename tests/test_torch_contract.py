"""``o2nc.torch.O2NC`` against torch.optim's generic contract, as torch's ``TestOptimRenewed`` (test/test_optim.py)
states it, in tables over the learner registry: arguments checked before ``Optimizer.__init__``, tensor-only parameter
state, per-group learner and ``foreach``, hooks in torch's order on the finished dict, ``maximize``, decoupled
``weight_decay``, refused ``differentiable``/``capturable``/``fused`` and complex parameters, the foreach kernels
against the for-loop reference, and progress of the default parameter-free configuration on torch's own problems."""
from __future__ import annotations

import copy

import pytest

from online_learners import OGD, ParameterFreeMirrorDescent, registry

torch = pytest.importorskip("torch")
from o2nc.torch import O2NC, _fast  # noqa: E402
from o2nc.torch.optimizer import _Leaves, _split  # noqa: E402

FIRST = [(f"{e.name}[0]", e.examples[0]) for e in registry.entries()]
IDS = [n for n, _ in FIRST]
LEARNERS = [l for _, l in FIRST]


def has_kernel(learner) -> bool:
    per, shared = _split(learner.init(_Leaves([torch.zeros(1)])))
    return _fast.kernel_for(learner, tuple(per), tuple(shared)) is not None


# every registered example that has a multi-tensor kernel (each KT state layout, OGD with and without a radius, ...)
# besides the first example of every learner
KERNEL_EXAMPLES = [(n, l) for n, l in registry.examples() if has_kernel(l) and n not in IDS]
FOREACH_CASES = FIRST + KERNEL_EXAMPLES


def sequential(dtype):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 1), torch.nn.Sigmoid())
    return model.to(dtype)


def run_frozen_layer(learner, dtype, foreach, steps=7, **kwargs):
    """torch's foreach-vs-for-loop scenario: a 0-d extra parameter, no gradients at step 2, the second linear layer
    frozen at steps 3 and 4; returns the parameters and the per-parameter state after every step."""
    model = sequential(dtype)
    extra = torch.nn.Parameter(torch.tensor(0.5, dtype=dtype))
    params = list(model.parameters()) + [extra]
    opt = O2NC(params, learner=learner, epoch_length=3, foreach=foreach, seed=3, **kwargs)
    x = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], dtype=dtype).reshape(3, 2)
    trace = []
    for i in range(steps):
        opt.zero_grad()
        model[2].requires_grad_(i not in (3, 4))
        if i != 2:
            (model(x).sum() + extra * extra).backward()
        opt.step()
        trace.append(([p.detach().clone() for p in params],
                      [{k: v.clone() for k, v in opt.state[p].items()} for p in params]))
    return trace, opt


def assert_rel_close(a, b, rel):
    """‖a − b‖ ≤ rel·‖b‖ (lists of tensors are concatenated: one relative error over all the parameters)."""
    if isinstance(a, (list, tuple)):
        a = torch.cat([t.detach().reshape(-1).to(torch.float64) for t in a])
        b = torch.cat([t.detach().reshape(-1).to(torch.float64) for t in b])
    diff, scale = float(torch.linalg.vector_norm(a - b)), float(torch.linalg.vector_norm(b))
    assert diff <= rel * scale, (diff, scale)


@pytest.mark.parametrize("dtype,rel", [(torch.float64, 1e-12), (torch.float32, 1e-6)], ids=["float64", "float32"])
@pytest.mark.parametrize("learner", [l for _, l in FOREACH_CASES], ids=[n for n, _ in FOREACH_CASES])
def test_foreach_matches_the_forloop_reference_on_params_and_state(learner, dtype, rel):
    ref, _ = run_frozen_layer(learner, dtype, foreach=False)
    got, _ = run_frozen_layer(learner, dtype, foreach=True)
    for (p_ref, s_ref), (p_got, s_got) in zip(ref, got):
        assert_rel_close(p_got, p_ref, rel)
        assert [a.keys() for a in s_got] == [b.keys() for b in s_ref]
        for k in s_ref[0]:
            assert_rel_close([st[k] for st in s_got], [st[k] for st in s_ref], rel)


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_parameter_state_holds_only_tensors_and_group_state_lives_in_the_group(learner):
    _, opt = run_frozen_layer(learner, torch.float64, foreach=None, averaging="epoch", store_anchor=True)
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state[p].items():
                assert isinstance(value, torch.Tensor), (key, type(value))
                assert not key.startswith("group"), key
        assert group["group_state"]["step"] == 6  # step 2 had no gradients: no step
        assert isinstance(group["group_state"]["certificate"], torch.Tensor)
    copied = copy.deepcopy(opt)  # upstream's deepcopy of every state value works only on tensors
    assert copied.param_groups[0]["group_state"]["step"] == 6


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(lr=torch.tensor([0.1, 0.1])), ValueError, "Tensor lr must be 1-element"),
        (dict(lr=-1.0), ValueError, "Invalid learning rate"),
        (dict(weight_decay=-0.5), ValueError, "Invalid weight_decay value: -0.5"),
        (dict(weight_decay="0.1"), TypeError, "weight_decay"),
        (dict(maximize="yes"), TypeError, "maximize"),
        (dict(foreach="yes"), TypeError, "foreach"),
        (dict(epoch_length=0), ValueError, "epoch_length"),
        (dict(learner=object()), TypeError, "learner"),
        (dict(differentiable=True), ValueError, "differentiable=True.*supports is foreach"),
        (dict(capturable=True), ValueError, "capturable=True.*supports is foreach"),
        (dict(fused=True), ValueError, "fused=True.*supports is foreach"),
    ],
)
def test_arguments_are_checked_before_the_params(kwargs, error, match):
    # params=None: torch's own check of the params would fail with a TypeError if it came first
    with pytest.raises(error, match=match):
        O2NC(None, **kwargs)


def test_refused_flags_are_accepted_when_off_and_complex_parameters_are_refused_once():
    p = torch.nn.Parameter(torch.zeros(3))
    opt = O2NC([p], differentiable=False, capturable=False, fused=None)
    assert opt.param_groups[0]["differentiable"] is False and opt.param_groups[0]["fused"] is None
    with pytest.raises(ValueError, match="fused=True in param group 1"):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "fused": True})
    with pytest.raises(TypeError, match="complex parameters are not supported.*view_as_real"):
        O2NC([torch.zeros(2, dtype=torch.complex64, requires_grad=True)])


def test_each_group_has_its_own_learner_and_foreach_with_a_parameter_free_default():
    model = sequential(torch.float64)
    first, second = list(model.parameters())[:2], list(model.parameters())[2:]
    opt = O2NC([{"params": first, "learner": OGD(lr=0.1, radius=1.0), "foreach": True},
                {"params": second, "foreach": False}])
    assert opt.param_groups[0]["learner"] == OGD(lr=0.1, radius=1.0)
    assert isinstance(opt.param_groups[1]["learner"], ParameterFreeMirrorDescent)
    assert opt.param_groups[0]["foreach"] is True and opt.param_groups[1]["foreach"] is False
    ref_model = sequential(torch.float64)
    ref = O2NC([{"params": list(ref_model.parameters())[:2], "learner": OGD(lr=0.1, radius=1.0)},
                {"params": list(ref_model.parameters())[2:]}], foreach=False)
    x = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(3, 2)
    for m, o in ((model, opt), (ref_model, ref)):
        o._generator.manual_seed(0)
        for _ in range(5):
            o.zero_grad()
            m(x).sum().backward()
            o.step()
    for a, b in zip(model.parameters(), ref_model.parameters()):
        assert_rel_close(a.detach(), b.detach(), 1e-12)


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_maximize_f_is_minimize_minus_f(learner):
    runs = []
    for maximize in (True, False):
        model = sequential(torch.float64)
        opt = O2NC(model.parameters(), learner=learner, maximize=maximize, seed=0, epoch_length=4)
        x = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(3, 2)
        for _ in range(6):
            opt.zero_grad()
            out = model(x).sum()
            (out if maximize else -out).backward()
            opt.step()
        runs.append(torch.cat([p.detach().reshape(-1) for p in model.parameters()]))
    assert torch.equal(runs[0], runs[1])


@pytest.mark.parametrize("store_anchor", [False, True])
def test_weight_decay_shrinks_the_anchor_by_one_minus_lr_lambda_per_step(store_anchor):
    """With zero gradients OGD plays Δ = 0, so the anchor (and w) follow x_n = (1 − lr λ) x_{n−1} exactly."""
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 4.0], dtype=torch.float64))
    start = p.detach().clone()
    opt = O2NC([p], learner=OGD(lr=0.1), lr=0.5, weight_decay=0.2, store_anchor=store_anchor)
    for _ in range(4):
        p.grad = torch.zeros_like(p)
        opt.step()
    torch.testing.assert_close(p.detach(), start * (1 - 0.5 * 0.2) ** 4, rtol=1e-15, atol=0)
    torch.testing.assert_close(opt.eval_points()[0][0], start * (1 - 0.5 * 0.2) ** 4, rtol=1e-15, atol=0)


def test_weight_decay_keeps_the_path_an_upper_bound_on_the_anchor_movement():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    opt = O2NC([p], learner=OGD(lr=0.1, radius=0.5), weight_decay=0.3, epoch_length=5, averaging="epoch",
               scaling="none")
    anchors = [p.detach().clone()]  # scaling "none": the parameters hold the anchor, x_1 first
    for _ in range(5):
        p.grad = torch.sin(p.detach())
        opt.step()
        anchors.append(p.detach().clone())
    # the epoch of steps 1..5 adds ‖x_n − x_{n−1}‖ for n = 2..5 (x_1 = w_1: the first segment is 0 for OGD)
    moved = sum(float(torch.linalg.vector_norm(b - a)) for a, b in zip(anchors[:4], anchors[1:5]))
    assert moved > 0
    assert float(opt.param_groups[0]["group_state"]["radius_bound"]) >= moved - 1e-12


def test_hooks_run_in_torchs_order_and_see_the_finished_state_dict():
    p = torch.nn.Parameter(torch.ones(3))
    opt = O2NC([p], learner=OGD(lr=0.1), generator=torch.Generator().manual_seed(4))
    p.grad = torch.ones(3)
    opt.step()
    seen = {}

    def state_post(o, sd):
        seen["o2nc"] = "o2nc" in sd
        seen["learner"] = sd["param_groups"][0]["learner"]
        sd["tag"] = 1
        return sd

    opt.register_state_dict_pre_hook(lambda o: seen.setdefault("pre", True))
    opt.register_state_dict_post_hook(state_post)
    sd = opt.state_dict()
    assert seen == {"pre": True, "o2nc": True, "learner": repr(OGD(lr=0.1))} and sd["tag"] == 1
    del sd["tag"]

    other = O2NC([torch.nn.Parameter(torch.ones(3))], learner=OGD(lr=0.1))
    old = copy.deepcopy(sd)
    old["param_groups"][0]["lr"] = 0.25
    draws = []
    other.register_load_state_dict_pre_hook(lambda o, s: s["param_groups"][0].__setitem__("lr", 0.5))
    other.register_load_state_dict_post_hook(lambda o: draws.append((o._draws, o.param_groups[0]["lr"])))
    other.load_state_dict(old)
    assert draws == [(sd["o2nc"]["draws"], 0.5)]  # after the pre-hook adapted it, with the s-sequence in place


def test_a_state_dict_without_the_later_flags_loads():
    model = sequential(torch.float32)
    opt = O2NC(model.parameters(), weight_decay=0.1, maximize=True, foreach=False)
    x = torch.rand(3, 2)
    for _ in range(3):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()
    old = copy.deepcopy(opt.state_dict())
    for group in old["param_groups"]:
        for flag in ("foreach", "maximize", "weight_decay", "differentiable", "capturable", "fused"):
            del group[flag]
    opt.load_state_dict(old)
    assert opt.param_groups[0]["maximize"] is True and opt.param_groups[0]["weight_decay"] == 0.1


def quadratic_problem(seed, contiguous):
    torch.manual_seed(seed)
    if contiguous:
        weight, bias = torch.nn.Parameter(torch.randn(10, 5)), torch.nn.Parameter(torch.randn(10))
    else:
        weight = torch.nn.Parameter(torch.randn(10, 5, 2)[..., 0])
        bias = torch.nn.Parameter(torch.randn(10, 2)[..., 0])
    return weight, bias, torch.randn(5)


@pytest.mark.parametrize("case", ["plain", "noncontiguous", "schedulers", "param_group_lr"])
def test_the_default_configuration_makes_progress_on_torchs_problems(case):
    """torch's "goes right direction" problems: ‖Wx + b‖² after 20 steps below its start, for the default learner and
    lr, with StepLR(γ = 0.9 every 10 steps) and ReduceLROnPlateau, and with a second group at lr = 0.01; 10 seeds."""
    for seed in range(10):
        weight, bias, x = quadratic_problem(seed, contiguous=case != "noncontiguous")
        groups = [{"params": [weight]}, {"params": [bias], "lr": 0.01}] if case == "param_group_lr" else [weight, bias]
        opt = O2NC(groups)
        schedulers = []
        if case in ("schedulers", "param_group_lr"):
            schedulers = [torch.optim.lr_scheduler.StepLR(opt, gamma=0.9, step_size=10),
                          torch.optim.lr_scheduler.ReduceLROnPlateau(opt)]

        def closure():
            opt.zero_grad()
            loss = (weight.mv(x) + bias).pow(2).sum()
            loss.backward()
            return loss

        first = float(closure())
        for _ in range(20):
            loss = opt.step(closure)
            for scheduler in schedulers:
                scheduler.step(float(loss)) if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau) \
                    else scheduler.step()
        assert float(closure()) < first, (case, seed)
