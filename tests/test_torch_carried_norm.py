"""The carried ‖Δ_n‖² of the blocked projected-descent step (``O2NC._carry_play_sq``): the finiteness check's read of
g takes only ⟨Δ_n, g_n⟩ and ‖g_n‖² when the previous step left ‖Δ_n‖² (‖Π(v)‖ = ‖v‖·min(1, D/‖v‖) from its
projection, 0 after a restart), and takes ‖Δ_n‖² again whenever Δ_n may have changed since: a loaded state dict,
a step of the for-loop, an in-place change of the state, another set of parameters with a gradient. Held to the
for-loop (the core learner) in float64 (1e-12) and float32 (1e-6 relative)."""
from __future__ import annotations

import pytest

from online_learners import OGD, AdaGradNorm

torch = pytest.importorskip("torch")
from o2nc.torch import O2NC, _fast  # noqa: E402


class Spy:
    """Wraps ``_fast.grad_products``: records, per call, whether ‖Δ‖² came carried and the true ‖Δ‖² then."""

    def __init__(self, monkeypatch):
        self.calls = []
        original = _fast.grad_products

        def spy(grads, deltas=None, delta_sq=None):
            if deltas is not None:
                true = sum(float(d.double().pow(2).sum()) for d in deltas)
                self.calls.append((None if delta_sq is None else float(delta_sq), true))
            return original(grads, deltas, delta_sq)

        monkeypatch.setattr(_fast, "grad_products", spy)

    def carried(self) -> list[bool]:
        return [c is not None for c, _ in self.calls]


def make(dtype, foreach, *, learner=None, epoch_length=5, averaging=None, block=None):
    g = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(s, generator=g, dtype=dtype)) for s in ((6, 4), (9,), (2, 3, 2))]
    learner = learner or OGD(lr=0.05, radius=0.3)
    opt = O2NC(params, learner=learner, epoch_length=epoch_length, foreach=foreach, averaging=averaging,
               generator=torch.Generator().manual_seed(1))
    return params, opt


def feed(params, step, dtype, skip=None):
    """Gradients of step ``step``: large ones on even steps (the projection acts), small ones on odd steps (Δ − ηg
    stays inside the ball), so the carried norm comes both from the projection and from the plain difference."""
    g = torch.Generator().manual_seed(100 + step)
    scale = 10.0 if step % 2 == 0 else 0.05
    for i, p in enumerate(params):
        p.grad = None if i == skip else scale * torch.randn(p.shape, generator=g, dtype=dtype)


def flat(ts):
    return torch.cat([t.detach().reshape(-1).to(torch.float64) for t in ts])


def assert_rel(got, ref, rel):
    a, b = flat(got), flat(ref)
    assert float(torch.linalg.vector_norm(a - b)) <= rel * float(torch.linalg.vector_norm(b))


DTYPES = [(torch.float64, 1e-12), (torch.float32, 1e-6)]


@pytest.mark.parametrize("dtype,rel", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("averaging", [None, "epoch"])
@pytest.mark.parametrize("learner", [OGD(lr=0.05, radius=0.3), AdaGradNorm(radius=0.3)],
                         ids=["ogd", "adagrad_norm"])
def test_the_carried_norm_is_the_norm_of_the_play_and_matches_the_forloop(learner, averaging, dtype, rel,
                                                                           monkeypatch):
    """Over restarts (every 5 steps) and steps with the projection on and off: the carried ‖Δ_n‖² is the play's
    squared norm to rounding (0 right after a restart for OGD) and the run matches the for-loop."""
    spy = Spy(monkeypatch)
    monkeypatch.setattr(_fast, "BLOCK", 8)  # tensors cut into chunks and several tensors per block
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
    carried = [(c, t) for c, t in spy.calls if c is not None]
    assert len(carried) >= 12, spy.calls  # every step but the first of the foreach run (the for-loop takes none)
    for c, t in carried:
        assert c == pytest.approx(t, rel=10 * rel, abs=1e-300)
    if getattr(learner, "reports_play_norm", False):  # its fresh play is 0 (o2nc.conversion.step): 0 past a restart
        assert any(c == 0.0 for c, _ in carried)


def test_the_carried_norm_is_dropped_when_the_state_may_have_changed(monkeypatch):
    """A loaded state dict, an in-place edit of Δ, a step of the for-loop (foreach switched off and on again) and a
    change of the parameters with a gradient all make the next step take ‖Δ‖² again; the run still matches the
    for-loop given the same interventions."""
    dtype = torch.float64
    spy = Spy(monkeypatch)

    def scenario(foreach):
        params, opt = make(dtype, foreach, epoch_length=100)
        checkpoints = {}
        for n in range(14):
            feed(params, n, dtype, skip=2 if n == 9 else None)
            if n == 3:
                checkpoints["sd"] = opt.state_dict()
            if n == 5:
                opt.load_state_dict(checkpoints["sd"])
            if n == 7:
                with torch.no_grad():
                    opt.state[params[1]]["learner.delta"].mul_(0.5)
            if foreach and n == 11:
                opt.param_groups[0]["foreach"] = False
            if foreach and n == 12:
                opt.param_groups[0]["foreach"] = True
            opt.step()
        return params, opt

    ref_p, _ = scenario(False)
    assert spy.calls == []  # the for-loop takes no products
    got_p, _ = scenario(True)
    assert_rel(got_p, ref_p, 1e-12)
    carried = spy.carried()
    # calls: steps 0..13 except step 11 (the for-loop); fresh ‖Δ‖² at the first step, after the load (step 5), the
    # edit (step 7), the change of active parameters (steps 9 and 10) and the for-loop step (step 12)
    steps = [n for n in range(14) if n != 11]
    fresh = {n for n, c in zip(steps, carried) if not c}
    assert fresh == {0, 5, 7, 9, 10, 12}, (fresh, spy.calls)
    for c, t in spy.calls:
        if c is not None:
            assert c == pytest.approx(t, rel=1e-12)


def test_no_carried_norm_without_a_radius_or_the_blocked_step(monkeypatch):
    """Unconstrained OGD takes no products of Δ; a stored anchor or weight decay (not the blocked step) neither."""
    spy = Spy(monkeypatch)
    for learner, kwargs in ((OGD(lr=0.05), {}), (OGD(lr=0.05, radius=0.3), {"store_anchor": True}),
                            (OGD(lr=0.05, radius=0.3), {"weight_decay": 0.1})):
        params = [torch.nn.Parameter(torch.randn(5, dtype=torch.float64))]
        opt = O2NC(params, learner=learner, **kwargs)
        for n in range(3):
            feed(params, n, torch.float64)
            opt.step()
        assert opt._play_sq == {}
    assert spy.calls == []


@pytest.mark.parametrize("dtype,rel", DTYPES, ids=["float64", "float32"])
def test_a_non_contiguous_play_matches_the_forloop(dtype, rel):
    """A Δ with transposed strides (as a state dict may bring it) takes the two-pass blocked descent (Δ − ηg, then the
    factor) beside the one-pass form of the contiguous ones; both held to the for-loop while the projection acts."""
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
