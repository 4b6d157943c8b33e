"""The fused CPU sweeps of the torch shell (``o2nc/torch/_cpu_kernels.c`` through ``o2nc.torch._native``): built where
a C compiler is, held to the ATen path and the core learners on tensors large enough for several threads, in
float32 (1e-6 relative) and float64 (1e-12), and seen by autograd's version counters."""
from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

import pytest

from online_learners import KT, OGD, AdaGradNorm

torch = pytest.importorskip("torch")
from o2nc.torch import O2NC, _native  # noqa: E402

needs_sweeps = pytest.mark.skipif(not _native.available(), reason="the fused CPU sweeps are not built here")


def test_the_sweeps_are_built_where_a_compiler_is():
    """A C compiler and the Python headers at install time build the extension; a build that failed silently would
    leave the ATen path running with nothing said (setup.py installs without it), so it is checked here."""
    headers = Path(sysconfig.get_paths()["include"], "Python.h").is_file()
    if sys.platform.startswith("linux") and (shutil.which("cc") or shutil.which("gcc")) and headers:
        assert _native._cpu_kernels is not None, "o2nc.torch._cpu_kernels was not built (see the pip install log)"
    if sys.platform.startswith("linux") and _native._cpu_kernels is not None and shutil.which("gcc"):
        assert _native._cpu_kernels.openmp(), "built without OpenMP threads where gcc (which has them) is found"


LEARNERS = [
    ("ogd-radius", lambda: OGD(lr=0.02, radius=0.05)),
    ("ogd-anytime-radius", lambda: OGD(lr=0.05, radius=0.05, anytime=True)),
    ("ogd-unconstrained", lambda: OGD(lr=1e-3)),
    ("adagrad-norm", lambda: AdaGradNorm(radius=0.05)),
    ("kt-known-G", lambda: KT(lipschitz=2.0)),
    ("kt-scale-free", lambda: KT()),
]


def run(make_learner, *, fused, dtype, averaging, steps=9, threads=2, foreach=True, monkeypatch):
    """O2NC over tensors of 140k (two threads' parts), 7k and 3 elements, across an epoch
    restart, with gradients that depend on the point; returns the parameters, the state and the group state."""
    monkeypatch.setattr(_native, "ENABLED", fused)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        g = torch.Generator().manual_seed(0)
        params = [torch.nn.Parameter(torch.randn(s, generator=g, dtype=dtype)) for s in ((350, 400), (7_001,), (3,))]
        opt = O2NC(params, learner=make_learner(), epoch_length=4, averaging=averaging, foreach=foreach,
                   generator=torch.Generator().manual_seed(1))
        noise = torch.Generator().manual_seed(2)
        for _ in range(steps):
            for p in params:
                p.grad = torch.randn(p.shape, generator=noise, dtype=dtype) + torch.sin(3 * p.detach())
            opt.step()
        state = [{k: v.clone() for k, v in opt.state[p].items() if isinstance(v, torch.Tensor)} for p in params]
        group = {k: v for k, v in opt.param_groups[0]["group_state"].items() if isinstance(v, torch.Tensor)}
        return [p.detach().clone() for p in params], state, group
    finally:
        torch.set_num_threads(previous)


def rel_error(got, ref) -> float:
    """‖got − ref‖/‖ref‖ over the concatenation; 0 where both are the same NaNs (a certificate not yet taken)."""
    if all(bool(torch.isnan(x).all()) and bool(torch.isnan(y).all()) for x, y in zip(got, ref)):
        return 0.0
    a = torch.cat([t.reshape(-1).double() for t in got])
    b = torch.cat([t.reshape(-1).double() for t in ref])
    scale = float(torch.linalg.vector_norm(b))
    return float(torch.linalg.vector_norm(a - b)) / (scale if scale > 0 else 1.0)


@needs_sweeps
@pytest.mark.parametrize("dtype,rel", [(torch.float32, 1e-6), (torch.float64, 1e-12)], ids=["float32", "float64"])
@pytest.mark.parametrize("averaging", [None, "epoch"], ids=["plain", "epoch-averaging"])
@pytest.mark.parametrize("make_learner", [m for _, m in LEARNERS], ids=[n for n, _ in LEARNERS])
def test_fused_sweeps_match_the_aten_path_and_the_forloop(make_learner, averaging, dtype, rel, monkeypatch):
    """Parameters, every state buffer and the group's certificate, radius bound and path agree with the blocked
    ATen path at the same thread count (one and two threads) and with the for-loop over the core learner."""
    calls = []
    for name in ("descent_step", "kt_step"):
        original = getattr(_native, name)

        def counted(*args, _original=original, **kwargs):
            calls.append(1)
            return _original(*args, **kwargs)

        monkeypatch.setattr(_native, name, counted)
    for threads in (1, 2):
        fused = run(make_learner, fused=True, dtype=dtype, averaging=averaging, threads=threads,
                    monkeypatch=monkeypatch)
        assert calls, "the fused sweep did not run"
        calls.clear()
        aten = run(make_learner, fused=False, dtype=dtype, averaging=averaging, threads=threads,
                   monkeypatch=monkeypatch)
        assert not calls
        assert rel_error(fused[0], aten[0]) <= rel
        for mine, theirs in zip(fused[1], aten[1]):
            assert mine.keys() == theirs.keys()
            for k in mine:
                assert rel_error([mine[k]], [theirs[k]]) <= rel, k
        for k in ("certificate", "radius_bound", "path", "segment"):
            if k in aten[2]:
                assert rel_error([fused[2][k]], [aten[2][k]]) <= rel, k
    # the ground truth: the for-loop over the core learner. The certificate sums float32 squares in float64 on both
    # (tree_norm_wide); the per-step segment norms, and the path and radius bound summed from them, are float32 sums
    # of another order on the for-loop (1e-6 apart at 140k entries): compared in float64.
    loop = run(make_learner, fused=False, dtype=dtype, averaging=averaging, foreach=False, monkeypatch=monkeypatch)
    assert rel_error(fused[0], loop[0]) <= rel
    for k in ("certificate", "radius_bound", "path", "segment") if dtype == torch.float64 else ("certificate",):
        if k in loop[2]:
            assert rel_error([fused[2][k]], [loop[2][k]]) <= rel, k


@needs_sweeps
def test_the_threads_partition_does_not_change_the_step_beyond_rounding(monkeypatch):
    """One thread sweeps the 140k-element tensor whole, two split it in halves: the same step to rounding (the sums
    of the projection's norm and of the path are added in another order)."""
    runs = [run(LEARNERS[0][1], fused=True, dtype=torch.float64, averaging="epoch", threads=k,
                monkeypatch=monkeypatch) for k in (1, 2)]
    assert rel_error(runs[1][0], runs[0][0]) <= 1e-14
    assert rel_error([runs[1][2]["path"]], [runs[0][2]["path"]]) <= 1e-14


@needs_sweeps
def test_the_sweeps_bump_the_version_counters(monkeypatch):
    """Writes through data pointers are invisible to autograd: the sweeps bump the versions, so a graph that saved a
    parameter before the step refuses to backpropagate through the stale value, as after an ATen in-place step."""
    monkeypatch.setattr(_native, "ENABLED", True)
    p = torch.nn.Parameter(torch.ones(1000))
    opt = O2NC([p], learner=OGD(lr=0.1, radius=1.0), epoch_length=10)
    p.grad = torch.ones(1000)
    opt.step()
    y = (p * p).sum()  # saves p for the backward pass
    before = p._version
    p.grad = torch.ones(1000)
    opt.step()
    assert p._version > before
    assert opt.state[p]["learner.delta"]._version > 0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_fits_takes_contiguous_cpu_float32_and_float64_lists_only():
    a, b = torch.zeros(4, 3), torch.zeros(4, 3)
    if not _native.available():
        assert not _native.fits([a], [b])
        return
    assert _native.fits([a], [b]) and _native.fits([a.double()], None, [b.double()])
    assert not _native.fits([a.t()], [b])  # not contiguous
    assert not _native.fits([a], [b.double()])  # two dtypes
    assert not _native.fits([a.half()], [b.half()])  # half precision: the ATen path widens its sums
    assert not _native.fits([a], [torch.zeros(5)])  # sizes differ
    assert not _native.fits([a], [b, b])  # lengths differ
    assert not _native.fits([], [])


@needs_sweeps
def test_the_extension_refuses_bad_arguments():
    kernels = _native._cpu_kernels
    x = torch.zeros(8)
    ptr = [x.data_ptr()]
    with pytest.raises(ValueError, match="dtype code"):
        kernels.products(2, [8], ptr, None, 1)
    with pytest.raises(TypeError, match="takes 5 arguments"):
        kernels.products(0, [8], ptr, None)
    with pytest.raises(ValueError, match="1 pointers for 2 sizes"):
        kernels.products(0, [8, 8], ptr, None, 1)
    with pytest.raises(ValueError, match="null pointer"):
        kernels.products(0, [8], [0], None, 1)
    with pytest.raises(ValueError, match="in pairs"):
        kernels.ogd_step(0, [8], ptr, ptr, ptr, ptr, None, 0.0, 0.1, 1.0, 0.5, 0, 1)


@needs_sweeps
def test_products_match_the_float64_sums():
    g = torch.Generator().manual_seed(7)
    grads = [torch.randn(s, generator=g) for s in (300_000, 5, 0)]
    deltas = [torch.randn(t.shape, generator=g) for t in grads]
    gg, dd, dg = _native.products(grads, deltas)
    wide = [t.double() for t in grads], [t.double() for t in deltas]
    assert gg == pytest.approx(sum(float((a * a).sum()) for a in wide[0]), rel=1e-6)
    assert dd == pytest.approx(sum(float((b * b).sum()) for b in wide[1]), rel=1e-6)
    exact = sum(float((a * b).sum()) for a, b in zip(*wide))
    scale = sum(float((a.abs() * b.abs()).sum()) for a, b in zip(*wide))
    assert abs(dg - exact) <= 1e-6 * scale
    assert _native.products(grads, None)[0] == gg


def test_an_extension_of_another_version_is_not_loaded(monkeypatch):
    """A stale build (an editable install whose C source changed since) is refused with a warning, not called with
    arguments it does not take."""
    import importlib
    import types

    built = _native._cpu_kernels is not None
    stale = types.ModuleType("o2nc.torch._cpu_kernels")
    stale.ABI = _native.ABI - 1
    monkeypatch.setitem(sys.modules, "o2nc.torch._cpu_kernels", stale)
    monkeypatch.setattr(sys.modules["o2nc.torch"], "_cpu_kernels", stale, raising=False)
    try:
        with pytest.warns(RuntimeWarning, match="another version"):
            importlib.reload(_native)
        assert _native._cpu_kernels is None and not _native.available()
    finally:
        monkeypatch.undo()
        importlib.reload(_native)
    assert (_native._cpu_kernels is not None) == built


@needs_sweeps
def test_a_wrapper_subclass_takes_the_aten_path():
    """A wrapper subclass (no storage of its own: its data pointer is 0) is refused by ``fits``; the step runs."""
    two_tensor = pytest.importorskip("torch.testing._internal.two_tensor")
    a = torch.randn(200)
    p = torch.nn.Parameter(two_tensor.TwoTensor(a, a.clone()))
    p.grad = two_tensor.TwoTensor(torch.ones(200), torch.ones(200))
    assert not _native.fits([p], [p.grad])
    assert not _native.fits([torch.zeros(3).as_subclass(type("Tagged", (torch.Tensor,), {}))])
    opt = O2NC([p], learner=OGD(lr=0.1, radius=1.0), epoch_length=10)
    opt.step()
    assert bool(torch.isfinite(p.detach()).all())


@needs_sweeps
def test_operands_that_share_memory_are_not_swept(monkeypatch):
    """A gradient that is a view of its parameter: the sweep would read g after writing p where the ATen path reads
    it before, so the sweep refuses (None, nothing written) and the step runs the ATen path, with its result."""
    p, d = torch.full((1000,), 2.0), torch.full((1000,), 1.0)
    before = p.clone(), d.clone()
    assert _native.descent_step([p], [d], [p], 0.5, 0.1, None, 0.5) is None
    assert torch.equal(p, before[0]) and torch.equal(d, before[1])
    results = []
    for fused in (True, False):
        monkeypatch.setattr(_native, "ENABLED", fused)
        q = torch.nn.Parameter(torch.linspace(-1, 1, 1000))
        opt = O2NC([q], learner=OGD(lr=0.1, radius=10.0), epoch_length=10, generator=torch.Generator().manual_seed(0))
        for _ in range(3):
            q.grad = q.detach()  # shares q's memory
            opt.step()
        results.append(q.detach().clone())
    assert torch.equal(results[0], results[1])


@needs_sweeps
def test_the_sweeps_follow_the_aten_path_at_the_edges():
    """A zero lag or coef adds nothing (an infinite Δ stays out of the point, as the ATen path skips that pass); the
    scale-free KT's h keeps a NaN as torch.maximum does and takes |−0| = +0."""
    kernels = _native._cpu_kernels
    p, d, g = torch.tensor([1.0, 2.0]), torch.tensor([float("inf"), 1.0]), torch.tensor([0.5, 0.5])
    assert kernels.ogd_step(0, [2], [p.data_ptr()], [d.data_ptr()], [g.data_ptr()], None, None, 0.0, 0.1, 1.0, 0.0,
                            0, 1) == 0.0
    assert torch.equal(p, torch.tensor([1.0, 2.0]))
    p, x, w = torch.ones(3), torch.zeros(3), torch.ones(3)
    h, g = torch.tensor([float("nan"), 0.0, 1.0]), torch.tensor([1.0, -0.0, 3.0])
    kernels.kt_step(0, [3], [p.data_ptr()], [x.data_ptr()], [w.data_ptr()], [h.data_ptr()], [g.data_ptr()], None,
                    None, 0.0, 0.5, 0.0, 1.0, 1.0, 1 / 3, 1 / 3, 0, 1)
    reference = torch.maximum(torch.tensor([float("nan"), 0.0, 1.0]), torch.tensor([1.0, -0.0, 3.0]).abs())
    torch.testing.assert_close(h, reference, equal_nan=True)
    assert not torch.signbit(h[1])
    with pytest.raises(TypeError, match="operand 0 is required"):
        kernels.products(0, [8], None, None, 1)
