"""The multi-tensor fast path of ``o2nc.torch.O2NC`` against the for-loop over the core learners (ground truth), in
float64, on parameters of mixed shapes with a frozen layer, None gradients and a zero-size parameter
(the scenario of ``test_foreach_matches_forloop`` in torch's test/test_optim.py). Every test runs twice: with the
fused CPU sweeps (``o2nc.torch._native``) where they are built, and with the ATen path alone."""
from __future__ import annotations

import pytest

from online_learners import OGD, registry
from online_learners.base import declared_kernels

torch = pytest.importorskip("torch")
from o2nc.torch import O2NC, _fast, _native  # noqa: E402
from o2nc.torch.optimizer import _Leaves, _split  # noqa: E402

FIRST = [(f"{e.name}[0]", e.examples[0]) for e in registry.entries()]
# every registered example whose learner declares a multi-tensor kernel: a learner added to the registry with a
# kernel beside it is held to the for-loop here without new test code
DECLARING = [(n, l) for n, l in registry.examples() if declared_kernels(l)]
KERNEL_LEARNERS = [l for _, l in DECLARING]
KERNEL_IDS = [n for n, _ in DECLARING]


@pytest.fixture(autouse=True, params=["fused", "aten"])
def sweeps(request, monkeypatch):
    """Both CPU fast paths: the fused sweeps (where the extension is built) and the blocked ATen passes."""
    if request.param == "fused" and not _native.available():
        pytest.skip("the fused CPU sweeps are not built here (no C compiler at install)")
    monkeypatch.setattr(_native, "ENABLED", request.param == "fused")
    return request.param


def layout(learner) -> tuple:
    per, shared = _split(learner.init(_Leaves([torch.zeros(1)])))
    return tuple(per), tuple(shared)


def has_kernel(learner) -> bool:
    return _fast.kernel_for(learner, *layout(learner)) is not None


def test_the_declared_kernels_are_in_use_and_each_is_exercised():
    """Every example that declares kernels gets one for its state layout, and every declared kernel (one per layout,
    e.g. KT with and without a known G) is the one of some registered example, so the tests below reach it."""
    assert KERNEL_LEARNERS, "no registered learner declares a multi-tensor kernel"
    used = set()
    for learner in KERNEL_LEARNERS:
        kernel = _fast.kernel_for(learner, *layout(learner))
        assert kernel is not None, learner
        used.add(id(kernel.declared))
    for learner in KERNEL_LEARNERS:
        for declared in declared_kernels(learner):
            assert id(declared) in used, (type(learner).__name__, declared.fields)


def test_a_subclass_inherits_no_kernel():
    """A subclass may change the update: it declares its own kernels or runs the for-loop."""

    class Damped(OGD):
        pass

    learner = Damped(lr=0.1, radius=1.0)
    assert declared_kernels(learner) == () and not has_kernel(learner)
    assert has_kernel(OGD(lr=0.1, radius=1.0))


def run(learner, *, foreach, store_anchor, averaging, steps=12, dtype=torch.float64, **kwargs):
    g = torch.Generator().manual_seed(0)
    shapes = [(5, 3), (3,), (0,), (4, 2, 2), (1,)]
    params = [torch.nn.Parameter(torch.randn(s, generator=g, dtype=dtype)) for s in shapes]
    opt = O2NC(params, learner=learner, epoch_length=4, averaging=averaging, foreach=foreach,
               store_anchor=store_anchor, generator=torch.Generator().manual_seed(1), **kwargs)
    grads = torch.Generator().manual_seed(2)
    for n in range(steps):
        for _i, p in enumerate(params):
            p.grad = torch.randn(p.shape, generator=grads, dtype=dtype) + 0.3 * torch.tanh(p.detach())
        if n == 2:
            params[1].grad = None  # a None gradient at one step
        if 3 <= n < 6:
            params[3].grad = None  # a layer frozen for three steps (across an epoch restart at n = 3)
        opt.step()
    state = {i: {k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in opt.state[p].items()}
             for i, p in enumerate(params)}
    return [p.detach().clone() for p in params], state, opt


def assert_close_states(a, b):
    assert a.keys() == b.keys()
    for i in a:
        assert a[i].keys() == b[i].keys()
        for k in a[i]:
            x, y = a[i][k], b[i][k]
            if isinstance(x, torch.Tensor):
                torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-14, equal_nan=True, msg=f"param {i} {k}")
            else:
                assert x == pytest.approx(y, rel=1e-12, abs=1e-14), (i, k)


@pytest.mark.parametrize("store_anchor", [False, True])
@pytest.mark.parametrize("learner", KERNEL_LEARNERS, ids=KERNEL_IDS)
def test_foreach_kernels_match_the_forloop(learner, store_anchor):
    for averaging in (None, "epoch"):
        ref_params, ref_state, _ = run(learner, foreach=False, store_anchor=store_anchor, averaging=averaging)
        got_params, got_state, _ = run(learner, foreach=True, store_anchor=store_anchor, averaging=averaging)
        for a, b in zip(got_params, ref_params):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
        assert_close_states(got_state, ref_state)


@pytest.mark.parametrize("learner", KERNEL_LEARNERS, ids=KERNEL_IDS)
def test_blocked_step_cuts_tensors_without_changing_the_result(learner, monkeypatch):
    """Blocks of a few elements (tensors cut into chunks, several tensors per block) against one block: bit-identical
    in float32 without a projection (only the visiting order changes), to rounding with one (per-chunk norms); and
    the small blocks against the for-loop ground truth in float64."""
    runs = {}
    for block in (4, 1 << 40):
        monkeypatch.setattr(_fast, "BLOCK", block)
        runs[block] = run(learner, foreach=True, store_anchor=False, averaging=None, dtype=torch.float32)
    exact = getattr(learner, "radius", None) is None
    (small_p, small_s, _), (one_p, one_s, _) = runs[4], runs[1 << 40]
    for a, b in zip(small_p, one_p):
        if exact:
            assert torch.equal(a, b)
        else:
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    for i in small_s:
        for k, v in small_s[i].items():
            if isinstance(v, torch.Tensor) and exact:
                torch.testing.assert_close(v, one_s[i][k], rtol=0, atol=0, equal_nan=True, msg=f"param {i} {k}")
    monkeypatch.setattr(_fast, "BLOCK", 4)
    got_params, got_state, _ = run(learner, foreach=True, store_anchor=False, averaging=("ema", 0.8))
    ref_params, ref_state, _ = run(learner, foreach=False, store_anchor=False, averaging=("ema", 0.8))
    for a, b in zip(got_params, ref_params):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    assert_close_states(got_state, ref_state)


def assert_rel_close(got: list, ref: list, rel: float) -> None:
    """‖got − ref‖ ≤ rel·‖ref‖ over the concatenated tensors (one relative error for the whole list)."""
    a = torch.cat([t.detach().reshape(-1).to(torch.float64) for t in got])
    b = torch.cat([t.detach().reshape(-1).to(torch.float64) for t in ref])
    assert float(torch.linalg.vector_norm(a - b)) <= rel * float(torch.linalg.vector_norm(b))


@pytest.mark.parametrize("dtype,rel", [(torch.float64, 1e-12), (torch.float32, 1e-6)], ids=["float64", "float32"])
@pytest.mark.parametrize("learner", KERNEL_LEARNERS, ids=KERNEL_IDS)
def test_blocked_epoch_averaging_and_restarts_match_the_forloop(learner, dtype, rel, monkeypatch):
    """The blocked step with the epoch sums in its sweep, at restarts (where only the sums and x_n are kept), and
    with ``maximize`` (the products of the finiteness check's read of g, ⟨Δ, g⟩ negated), on blocks of a few
    elements, against the for-loop: parameters, per-parameter state and the group's certificate and path."""
    calls = {"step": 0, "recover": 0}
    for name in calls:
        original = getattr(_fast, f"blocked_{name}")

        def counted(*args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(_fast, f"blocked_{name}", counted)
    monkeypatch.setattr(_fast, "BLOCK", 4)
    for maximize in (False, True):
        got_p, got_s, got_opt = run(learner, foreach=True, store_anchor=False, averaging="epoch", dtype=dtype,
                                    maximize=maximize)
        ref_p, ref_s, ref_opt = run(learner, foreach=False, store_anchor=False, averaging="epoch", dtype=dtype,
                                    maximize=maximize)
        assert_rel_close(got_p, ref_p, rel)
        assert [got_s[i].keys() for i in got_s] == [ref_s[i].keys() for i in ref_s]
        for k in ref_s[0]:
            assert_rel_close([got_s[i][k] for i in got_s], [ref_s[i][k] for i in ref_s], rel)
        got_g, ref_g = got_opt.param_groups[0]["group_state"], ref_opt.param_groups[0]["group_state"]
        for k in ("certificate", "radius_bound", "path", "segment", "step", "epochs"):
            torch.testing.assert_close(torch.as_tensor(got_g[k]), torch.as_tensor(ref_g[k]), rtol=rel, atol=0,
                                       msg=k)
    assert calls["step"] > 0 and calls["recover"] > 0  # both blocked sweeps ran


def test_the_plan_cuts_large_contiguous_tensors_only(monkeypatch):
    monkeypatch.setattr(_fast, "BLOCK", 4)
    a, b, c, d = torch.zeros(3), torch.zeros(10), torch.zeros(5, 2).t(), torch.zeros(2)
    plan = _fast._plan([[a, b, c, d]])
    assert plan == [[(0, None)], [(1, slice(0, 4))], [(1, slice(4, 8))], [(1, slice(8, 10))], [(2, None)], [(3, None)]]


@pytest.mark.parametrize("learner", [l for _, l in FIRST], ids=[n for n, _ in FIRST])
def test_foreach_matches_forloop_for_every_learner(learner):
    ref_params, ref_state, _ = run(learner, foreach=False, store_anchor=False, averaging=("ema", 0.8))
    got_params, got_state, _ = run(learner, foreach=True, store_anchor=False, averaging=("ema", 0.8))
    for a, b in zip(got_params, ref_params):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    assert_close_states(got_state, ref_state)


def test_frozen_and_none_grad_parameters_do_not_move():
    g = torch.Generator().manual_seed(0)
    a = torch.nn.Parameter(torch.randn(3, generator=g, dtype=torch.float64))
    b = torch.nn.Parameter(torch.randn(2, generator=g, dtype=torch.float64))
    for foreach in (False, True):
        opt = O2NC([a, b], learner=OGD(lr=0.1, radius=1.0), epoch_length=3, foreach=foreach)
        for n in range(7):
            a.grad = torch.ones(3, dtype=torch.float64)
            b.grad = None if n >= 2 else torch.ones(2, dtype=torch.float64)
            if n == 2:
                frozen = b.detach().clone()
            opt.step()
        assert torch.equal(b, frozen)


def test_anchor_recomputation_keeps_one_buffer_for_ogd():
    """O2NC(OGD) without averaging keeps one parameter-sized buffer (Δ) per parameter; the issue's memory target."""
    p = torch.nn.Parameter(torch.zeros(1000, dtype=torch.float64))
    opt = O2NC([p], learner=OGD(lr=0.1), epoch_length=5)
    p.grad = torch.ones_like(p)
    opt.step()
    big = [k for k, v in opt.state[p].items() if isinstance(v, torch.Tensor) and v.numel() == p.numel()]
    assert big == ["learner.delta"]


def _ogd_run(dtype, foreach, grad_scale, steps=6, averaging=None):
    """O2NC(OGD, radius) on three parameters where the projection acts at every step (‖η g‖ ≫ D)."""
    g = torch.Generator().manual_seed(3)
    params = [torch.nn.Parameter(torch.randn(s, generator=g, dtype=dtype)) for s in ((7, 5), (11,), (2, 3, 4))]
    learner = OGD(lr=0.1, radius=0.25)
    opt = O2NC(params, learner=learner, epoch_length=10**6, foreach=foreach, averaging=averaging,
               generator=torch.Generator().manual_seed(4))
    grads = torch.Generator().manual_seed(5)
    for _ in range(steps):
        for p in params:
            p.grad = grad_scale * torch.randn(p.shape, generator=grads, dtype=dtype)
        opt.step()
    deltas = [opt.state[p]["learner.delta"] for p in params]
    return [p.detach().clone() for p in params], deltas


@pytest.mark.parametrize("dtype,rel", [(torch.float64, 1e-12), (torch.float32, 1e-6)], ids=["float64", "float32"])
@pytest.mark.parametrize("grad_scale", [1.0, 1e20], ids=["moderate", "squares-overflow-float32"])
@pytest.mark.parametrize("averaging", [None, "epoch"], ids=["blocked", "projection-pass"])
def test_projected_step_norm_from_inner_products_matches_the_forloop(dtype, rel, grad_scale, averaging):
    """The blocked OGD step takes ‖Δ − ηg‖ from ‖Δ‖², ⟨Δ, g⟩ and ‖g‖²; with the projection active at every step it
    matches the for-loop (which forms Δ − ηg), and where float32 squares overflow (g ~ 1e20) it falls back to
    forming Δ − ηg: the play stays on the sphere of radius D instead of collapsing to 0.  With epoch averaging the
    step projects in a separate pass (``_fast._project_``), held to the same."""
    ref_p, ref_d = _ogd_run(dtype, False, grad_scale, averaging=averaging)
    got_p, got_d = _ogd_run(dtype, True, grad_scale, averaging=averaging)
    for got, ref in ((got_p, ref_p), (got_d, ref_d)):
        a = torch.cat([t.reshape(-1).to(torch.float64) for t in got])
        b = torch.cat([t.reshape(-1).to(torch.float64) for t in ref])
        assert float(torch.linalg.vector_norm(a - b)) <= rel * float(torch.linalg.vector_norm(b))
    play_norm = float(torch.linalg.vector_norm(torch.cat([d.reshape(-1).double() for d in got_d])))
    assert play_norm == pytest.approx(0.25, rel=10 * rel)


def test_step_norm_from_inner_products_against_the_formed_difference():
    g = torch.Generator().manual_seed(6)
    deltas = [torch.randn(s, generator=g, dtype=torch.float64) for s in ((4, 3), (0,), (9,))]
    grads = [torch.randn(d.shape, generator=g, dtype=torch.float64) for d in deltas]
    plan = _fast._plan([deltas, grads])
    for step in (0.3, torch.tensor(0.3, dtype=torch.float64)):
        formed = torch.linalg.vector_norm(torch.cat([(d - 0.3 * q).reshape(-1) for d, q in zip(deltas, grads)]))
        for grad_sq in (None, sum(float(q.pow(2).sum()) for q in grads)):
            got = _fast._step_norm_by_products(plan, deltas, grads, step, grad_sq)
            torch.testing.assert_close(got, formed, rtol=1e-13, atol=0)
        torch.testing.assert_close(_fast._step_norm_by_sweep(plan, deltas, grads, step), formed, rtol=1e-15, atol=0)
