"""``o2nc.minimize`` keeps O(d) state by default: the peak of its allocations does not grow with the epoch length, and
the certificate carries the proven path bound, which is at least the exact radius that ``radius_kind="exact"`` keeps
the epoch's points to compute."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import o2nc
from online_learners import KT, OGD, BallConstraint

D = 10_000
WORD = 8


def oracle(w):
    return np.sign(w) + 0.1 * w


def peak_bytes(T: int, *, d: int = D, budget=None, **kwargs) -> int:
    x0 = np.random.default_rng(0).standard_normal(d)
    learner = kwargs.pop("learner", OGD(lr=1e-4, radius=1e-3))
    o2nc.minimize(oracle, x0[:10], learner=learner, budget=4, epoch_length=2, **kwargs)  # imports, caches
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        res = o2nc.minimize(oracle, x0, learner=learner, budget=budget or T, epoch_length=T, **kwargs)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert len(res.epochs.calls) == (budget or T) // T
    return peak


def test_peak_memory_of_the_paper_configuration_is_ten_arrays_whatever_the_epoch_length():
    # OGD with D = δ/T restarted every epoch ([CMO23] Theorem 8) at T = 2000 and T = 200: one epoch each
    long, short = peak_bytes(2000), peak_bytes(200)
    constant = 64 * 1024  # Python objects, not the parameters
    assert long <= 10 * D * WORD + constant
    assert long <= short + D * WORD  # keeping the 1800 more points would take 1800 words per parameter


def test_the_core_path_is_also_independent_of_the_epoch_length():
    long = peak_bytes(1000, d=5000, learner=BallConstraint(KT(), radius=1e-3))
    short = peak_bytes(100, d=5000, learner=BallConstraint(KT(), radius=1e-3))
    assert long <= 20 * 5000 * WORD + 64 * 1024
    assert long <= short + 4 * 5000 * WORD  # (the learner's temporaries await the collector a little longer or not)


def test_the_exact_radius_keeps_the_epochs_points_and_no_more():
    T = 200
    exact = peak_bytes(T, d=5000, radius_kind="exact")
    # the points, the run's ten arrays and the radius's temporaries (three blocks of max(8, 2^16/d) stacked points)
    assert T * 5000 * WORD <= exact <= (T + 10 + 3 * (2**16 // 5000)) * 5000 * WORD + 64 * 1024


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("scaling", ["uniform", "exponential", "none", "midpoint"])
def test_the_default_certificate_carries_the_path_bound_which_bounds_the_exact_radius(fused, scaling):
    A = np.random.default_rng(2).standard_normal((8, 8)) / 3

    def grad(w):
        return np.sign(w) + A.T @ np.tanh(A @ w)

    x0 = np.linspace(-1, 1, 8)
    kw = dict(learner=OGD(lr=0.02, radius=0.03), budget=300, epoch_length=30, scaling=scaling, seed=5, delta=0.5,
              fused=fused)
    bound, exact = o2nc.minimize(grad, x0, **kw), o2nc.minimize(grad, x0, radius_kind="exact", **kw)
    assert bound.certificate.radius_kind == bound.epochs.radius_kind == "bound"
    assert exact.certificate.radius_kind == exact.epochs.radius_kind == "exact"
    np.testing.assert_array_equal(bound.epochs.radius, bound.epochs.radius_bound)
    np.testing.assert_array_equal(bound.epochs.mean, exact.epochs.mean)  # the same run, only the radius differs
    np.testing.assert_array_equal(bound.epochs.radius_bound, exact.epochs.radius_bound)
    assert np.all(exact.epochs.radius <= bound.epochs.radius * (1 + 1e-12))
    assert np.all(exact.epochs.radius < bound.epochs.radius)  # strictly, on a path that turns
    k = bound.selected_epoch
    assert bound.certificate.delta == float(bound.epochs.radius_bound[k])
    assert "(upper bound)" in bound.certificate.describe(0.5)
    # the exact radius is the largest distance of the epoch's points from their mean (the recorded history)
    rec = o2nc.minimize(grad, x0, radius_kind="exact", record=True, **{**kw, "fused": False})
    w = np.asarray(rec.history.w).reshape(10, 30, 8)
    np.testing.assert_allclose(exact.epochs.radius, np.linalg.norm(w - w.mean(axis=1, keepdims=True), axis=2).max(1),
                               rtol=1e-12)


def test_radius_kind_is_checked():
    with pytest.raises(ValueError, match="radius_kind"):
        o2nc.minimize(oracle, np.zeros(2), learner=OGD(lr=0.1), budget=4, epoch_length=2, radius_kind="tight")
