"""Gaussian noise added to a deterministic bank objective declares its noise model, so the compiled runner replays
the same noise stream: a compiled O2NC run equals the method's own run with the same seed."""
from __future__ import annotations

import os

os.environ.setdefault("JAX_ENABLE_X64", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import objectives  # noqa: E402
from o2nc import methods  # noqa: E402

pytest.importorskip("jax")

from o2nc.experiments.batched import NOISE_MODEL, compilable, run_method  # noqa: E402


def test_declared_only_where_the_oracle_is_gradient_plus_gaussian():
    base = objectives.get("o2nc_toy")
    assert objectives.with_noise(base, "gaussian", 0.3).extra["noise_model"] == NOISE_MODEL
    for kind in ("student_t", "bounded"):
        assert "noise_model" not in objectives.with_noise(base, kind, 0.3).extra
    # noise on an objective that is already stochastic adds to its own oracle: not the declared model
    for first in ("student_t", "gaussian"):
        twice = objectives.with_noise(objectives.with_noise(base, first, 0.3), "gaussian", 0.3)
        assert "noise_model" not in twice.extra, first
    tight = objectives.get("tight_ramp", eps=0.1, delta=0.05, G=0.5, sigma=0.2, gap=0.2)
    assert "noise_model" not in objectives.with_noise(tight, "gaussian", 0.3).extra


@pytest.mark.parametrize("name", ["o2nc_toy", "nesterov_n2"])
def test_compiled_run_on_a_noisy_bank_objective_equals_the_method_run(name):
    obj = objectives.with_noise(objectives.get(name), "gaussian", scale=0.2)
    m = methods.get("o2nc", learner="ogd", tuning="theory", epsilon=0.5)
    assert compilable(m, obj) is None
    a = m.run(obj, budget=4000, delta=0.1, seed=7)
    b = run_method(m, obj, budget=4000, delta=0.1, seed=7)
    assert a.grad_calls == b.grad_calls and a.stopped == b.stopped
    assert set(a.trace) == set(b.trace)
    for k in a.trace:
        if k in ("value", "radius"):  # checked below
            continue
        x, y = np.asarray(a.trace[k], dtype=float), np.asarray(b.trace[k], dtype=float)
        assert x.shape == y.shape and np.all(np.abs(x - y) <= 1e-12 * np.maximum(np.abs(x), 1e-300)), k
    assert np.all(np.isnan(a.trace["value"])) and np.all(np.isnan(b.trace["value"]))  # no value evaluation
    # the compiled run keeps the epoch's points: its radius is the exact r_k, never above the loop's radius
    assert np.all(np.asarray(b.trace["radius"]) <= np.asarray(a.trace["radius"]) * (1 + 1e-12))
    assert np.allclose(a.point, b.point, rtol=1e-12, atol=0)
