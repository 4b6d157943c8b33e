"""The norms of the blocked projected-descent step (``o2nc.torch._fast._descent_blocked``): ‖Δ_n − η g_n‖ from the
inner products the finiteness check takes (‖Δ_n‖² included, taken from Δ_n at every step), and the path's ‖Δ_{n+1}‖
from the projection where it acts, else from Δ_{n+1}'s squares. Held to the for-loop (the core learner) in float64
(1e-12) and float32 (1e-6 relative), including a step whose Δ − ηg nearly cancels, writes to Δ that bypass torch's
version counter, and a long run without restarts that stays in the ball."""
from __future__ import annotations

import pytest

from online_learners import OGD, AdaGradNorm

torch = pytest.importorskip("torch")
from o2nc.torch import O2NC, _fast  # noqa: E402


def make(dtype, foreach, *, learner=None, epoch_length=5, averaging=None, restart=True):
    g = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(s, generator=g, dtype=dtype)) for s in ((6, 4), (9,), (2, 3, 2))]
    learner = learner or OGD(lr=0.05, radius=0.3)
    opt = O2NC(params, learner=learner, epoch_length=epoch_length, foreach=foreach, averaging=averaging,
               restart=restart, generator=torch.Generator().manual_seed(1))
    return params, opt


def feed(params, step, dtype, skip=None):
    """Gradients of step ``step``: large ones on even steps (the projection acts), small ones on odd steps (Δ − ηg
    stays inside the ball)."""
    g = torch.Generator().manual_seed(100 + step)
    scale = 10.0 if step % 2 == 0 else 0.05
    for i, p in enumerate(params):
        p.grad = None if i == skip else scale * torch.randn(p.shape, generator=g, dtype=dtype)


def flat(ts):
    return torch.cat([t.detach().reshape(-1).to(torch.float64) for t in ts])


def assert_rel(got, ref, rel):
    a, b = flat(got), flat(ref)
    assert float(torch.linalg.vector_norm(a - b)) <= rel * float(torch.linalg.vector_norm(b))


def group_stat(opt, key):
    """The group's epoch statistic ``key`` (``"radius_bound"``, ``"certificate"``), as a float."""
    return float(opt.param_groups[0]["group_state"][key])


DTYPES = [(torch.float64, 1e-12), (torch.float32, 1e-6)]


@pytest.mark.parametrize("dtype,rel", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("averaging", [None, "epoch"])
@pytest.mark.parametrize("learner", [OGD(lr=0.05, radius=0.3), AdaGradNorm(radius=0.3)],
                         ids=["ogd", "adagrad_norm"])
def test_the_blocked_projection_matches_the_forloop(learner, averaging, dtype, rel, monkeypatch):
    """Over restarts (every 5 steps) and steps with the projection on and off, tensors cut into chunks and several
    tensors per block: parameters, every state field and, with averaging, the path bound match the for-loop."""
    monkeypatch.setattr(_fast, "BLOCK", 8)
    runs = {}
    for foreach in (False, True):
        params, opt = make(dtype, foreach, learner=learner, averaging=averaging)
        for n in range(17):
            feed(params, n, dtype)
            opt.step()
        runs[foreach] = (params, opt)
    (ref_p, ref_opt), (got_p, got_opt) = runs[False], runs[True]
    assert_rel(got_p, ref_p, rel)
    for key in ref_opt.state[ref_p[0]]:
        assert_rel([got_opt.state[p][key] for p in got_p], [ref_opt.state[p][key] for p in ref_p], rel)
    if averaging == "epoch":
        for key in ("radius_bound", "certificate"):
            assert group_stat(got_opt, key) == pytest.approx(group_stat(ref_opt, key), rel=rel)


@pytest.mark.parametrize("dtype,rel", DTYPES, ids=["float64", "float32"])
def test_a_nearly_cancelling_step_keeps_the_path_bound(dtype, rel):
    """A step with Δ_{n+1} = 10⁻³·Δ_n (g = (1 − 10⁻³)·Δ_n/η): the inner-product form of ‖Δ_n − ηg_n‖ cancels there,
    so the path's ‖Δ_{n+1}‖ must come from Δ_{n+1} itself; the epoch's path bound and certificate match the
    for-loop, and so do the later steps (whose projections start from the true ‖Δ‖²). Each run's cancelling
    gradient is taken from its own Δ_n: replaying one run's would turn a rounding between the two runs' first
    projections into a difference 10³ times larger in Δ_{n+1}, a property of the problem, not of either path."""
    d, lr = 50, 0.1

    def run(foreach):
        p = torch.nn.Parameter(torch.zeros(d, dtype=dtype))
        opt = O2NC([p], learner=OGD(lr=lr, radius=1.0), epoch_length=10, averaging="epoch", foreach=foreach,
                   generator=torch.Generator().manual_seed(1))
        noise = torch.Generator().manual_seed(5)
        for n in range(10):
            if n == 0:
                g = 100 * torch.randn(d, generator=noise, dtype=dtype)
            elif n == 1:
                g = opt.state[p]["learner.delta"] / lr * (1 - 1e-3)
            else:
                g = 1e-6 * torch.randn(d, generator=noise, dtype=dtype)
            p.grad = g.clone()
            opt.step()
        return p, opt

    got_p, got_opt = run(True)
    ref_p, ref_opt = run(False)
    for key in ("radius_bound", "certificate"):
        assert group_stat(got_opt, key) == pytest.approx(group_stat(ref_opt, key), rel=rel)
    assert_rel([got_p], [ref_p], rel)


def test_writes_that_bypass_the_version_counter_are_seen():
    """Δ scaled through ``.data`` (as a collective or a user's edit may, without bumping torch's version counter):
    the next steps project from the new Δ, as the for-loop does."""
    dtype = torch.float64
    runs = {}
    for foreach in (False, True):
        params, opt = make(dtype, foreach, epoch_length=100)
        for n in range(8):
            feed(params, n, dtype)
            if n == 4:
                for p in params:
                    opt.state[p]["learner.delta"].data.mul_(0.1)
            opt.step()
        runs[foreach] = params
    assert_rel(runs[True], runs[False], 1e-12)


def test_a_long_run_without_restarts_stays_in_the_ball():
    """3000 float32 steps without a restart, Δ wandering inside the ball and pushed against its edge at the end: the
    play never leaves the ball by more than a rounding (no norm drifts from step to step)."""
    dtype, radius = torch.float32, 1.0
    g = torch.Generator().manual_seed(3)
    p = torch.nn.Parameter(torch.zeros(32, dtype=dtype))
    opt = O2NC([p], learner=OGD(lr=0.01, radius=radius), epoch_length=10**9, restart=False,
               generator=torch.Generator().manual_seed(1))
    for n in range(3000):
        p.grad = torch.randn(32, generator=g, dtype=dtype) * (0.05 if n < 2990 else 1e3)
        opt.step()
        norm = float(torch.linalg.vector_norm(opt.state[p]["learner.delta"].double()))
        assert norm <= radius * (1 + 4e-7), (n, norm)
    assert norm == pytest.approx(radius, rel=1e-6)


@pytest.mark.parametrize("dtype,rel", DTYPES, ids=["float64", "float32"])
def test_a_non_contiguous_play_matches_the_forloop(dtype, rel):
    """A Δ with transposed strides (as a state dict may bring it) takes the two-pass blocked descent (Δ − ηg, then the
    factor); held to the for-loop while the projection acts."""
    runs = {}
    for foreach in (False, True):
        g = torch.Generator().manual_seed(7)
        params = [torch.nn.Parameter(torch.randn(4, 6, generator=g, dtype=dtype)),
                  torch.nn.Parameter(torch.randn(5, generator=g, dtype=dtype))]
        opt = O2NC(params, learner=OGD(lr=0.05, radius=0.3), epoch_length=100, foreach=foreach,
                   generator=torch.Generator().manual_seed(1))
        for n in range(9):
            feed(params, n, dtype)
            opt.step()
            if n == 2:
                st = opt.state[params[0]]
                st["learner.delta"] = st["learner.delta"].t().contiguous().t()  # same values, transposed strides
        if foreach:  # updated in place (the for-loop's update makes new tensors)
            assert not opt.state[params[0]]["learner.delta"].is_contiguous()
        runs[foreach] = (params, [opt.state[p]["learner.delta"] for p in params])
    (ref_p, ref_d), (got_p, got_d) = runs[False], runs[True]
    assert_rel(got_p, ref_p, rel)
    assert_rel(got_d, ref_d, rel)
    assert float(torch.linalg.vector_norm(flat(got_d))) == pytest.approx(0.3, rel=10 * rel)  # on the sphere
