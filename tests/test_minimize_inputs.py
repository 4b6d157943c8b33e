"""``o2nc.minimize`` refuses bad seeds, non-bool restarts and complex gradients, stops at a gradient whose shape
changes (keeping the completed epochs), and keeps x0's dtype when the oracle returns another real dtype."""
from __future__ import annotations

import numpy as np
import pytest

import o2nc
from o2nc.minimize import GradientShapeError
from online_learners import OGD

X0 = np.array([1.0, -2.0])


def run(grad=np.sign, x0=X0, **kw):
    kw.setdefault("budget", 40)
    kw.setdefault("epoch_length", 10)
    return o2nc.minimize(grad, x0, learner=OGD(lr=0.1, radius=0.5), **kw)


@pytest.mark.parametrize("seed", [-1, "a", 1.5, True, 2**64, None])
def test_bad_seeds_are_refused_naming_seed(seed):
    with pytest.raises((TypeError, ValueError), match="`seed`"):
        run(seed=seed)


def test_numpy_integer_seeds_are_accepted_and_equal_python_ones():
    a, b = run(seed=np.int64(5), record=True), run(seed=5, record=True)
    assert np.array_equal(a.history.s, b.history.s)
    assert not np.array_equal(a.history.s, run(seed=6, record=True).history.s)


@pytest.mark.parametrize("restart", [1, 0, "yes", None])
def test_restart_must_be_a_bool(restart):
    with pytest.raises(TypeError, match="`restart`"):
        run(restart=restart)


def test_a_complex_gradient_is_refused_naming_grad():
    with pytest.raises(TypeError, match="`grad`.*complex"):
        run(grad=lambda w: w.astype(np.complex128))


def test_a_shape_change_fails_at_its_step_keeping_the_completed_epochs():
    calls = {"n": 0}

    def grad(w):
        calls["n"] += 1
        return np.sign(w) if calls["n"] <= 25 else np.ones(3)

    with pytest.raises(GradientShapeError, match="step 26") as info:
        run(grad=grad)
    assert isinstance(info.value, ValueError) and info.value.step == 26
    assert len(info.value.result.epochs.calls) == 2


def test_a_float64_gradient_on_a_float32_x0_keeps_float32():
    res = run(grad=lambda w: np.sign(w).astype(np.float64) + 1e-3, x0=X0.astype(np.float32), record=True)
    assert res.point.dtype == np.float32 and res.final_anchor.dtype == np.float32
    assert res.epochs.certificate.dtype == np.float32 and res.history.grad.dtype == np.float32
    assert res.epochs.radius_bound.dtype == np.float32


def test_every_scaling_reports_both_radii_with_the_bound_above():
    for scaling in o2nc.scaling.SCALINGS:
        res = run(scaling=scaling, radius_kind="exact")
        assert np.all(res.epochs.radius <= res.epochs.radius_bound * (1 + 1e-12)), scaling
        assert res.certificate.radius_kind == "exact"
        default = run(scaling=scaling)
        assert default.certificate.radius_kind == "bound"
        assert np.array_equal(default.epochs.radius, res.epochs.radius_bound), scaling
