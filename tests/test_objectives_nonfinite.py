"""The objective bank at a non-finite point: a NaN or ±inf coordinate reaches the value and the gradient, on every
backend.

Contract (every registered objective, numpy, torch and jax): with a NaN at the first, a middle or the last coordinate,
the value is NaN, at least one gradient entry is NaN (and one of the stochastic gradient's, where there is one), no
exception is raised and numpy prints no RuntimeWarning; with +inf or -inf there, the value and at least one gradient
entry are not finite and nothing raises (numpy may warn there: inf − inf and 0·inf are invalid operations).

Why "at least one" gradient entry, not every one: a consumer that checks the gradient (the conversion's finiteness
check, ‖g‖, ⟨g, Δ⟩, a learner's running sums) is poisoned by a single NaN entry, which is what stops it from stepping
on a wrong answer; and in the separable parts of an objective (‖x‖₁, a regulariser λ‖w‖²/2, Σ_{i≥2} x_i) the other
partial derivatives are genuine numbers that do not involve the non-finite coordinate, so poisoning them would take a
reduction over x in every oracle call of every objective for no consumer. What must never happen is an all-finite
gradient: before the guards of ``objectives._backend`` (``nan_unless``, ``nan_where_x_nonfinite``), ramp_loss (its
active-set indicator is False at NaN), wolfe, lewis, shell_dual, asl_overton and tight_ramp (branch tests and constant
partial derivatives) returned one at a NaN point, max_eigenvalue raised the eigensolver's LinAlgError, and at ±inf
eighteen entries did (sign(±inf) = ±1, the maximisers' weights of an infinite value, saturating Ψ and Φ in hard_chain,
min(|x₂|, c) in tight_ramp).
"""
from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import objectives
from objectives._backend import nan_unless
from tests.backends import BACKENDS, to_backend, to_numpy


@functools.cache
def _objective(name):
    return objectives.get(name)


def _positions(dim):
    return sorted({0, dim // 2, dim - 1})


@pytest.mark.parametrize("name", objectives.names())
def test_a_nan_coordinate_reaches_value_and_gradient(name):
    obj = _objective(name)
    for backend in BACKENDS:
        for i in _positions(obj.dim):
            x = np.array(obj.x0, dtype=np.float64)
            x[i] = np.nan
            xb = to_backend(x, backend)
            where = f"{name} on {backend}, NaN at x[{i}]"
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)
                value = to_numpy(obj.value(xb))
                grad = to_numpy(obj.grad(xb))
                stoch = None
                if obj.stochastic_grad is not None:
                    stoch = to_numpy(obj.stochastic_grad(xb, np.random.default_rng(0)))
            assert np.isnan(value), (where, value)
            assert grad.shape == (obj.dim,) and np.isnan(grad).any(), (where, grad)
            if stoch is not None:
                assert np.isnan(stoch).any(), (where, stoch)


@pytest.mark.parametrize("name", objectives.names())
def test_an_infinite_coordinate_reaches_value_and_gradient(name):
    obj = _objective(name)
    for backend in BACKENDS:
        for bad, i in ((np.inf, obj.dim - 1), (-np.inf, obj.dim // 2)):
            x = np.array(obj.x0, dtype=np.float64)
            x[i] = bad
            xb = to_backend(x, backend)
            where = f"{name} on {backend}, {bad} at x[{i}]"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                value = to_numpy(obj.value(xb))
                grad = to_numpy(obj.grad(xb))
                stoch = None
                if obj.stochastic_grad is not None:
                    stoch = to_numpy(obj.stochastic_grad(xb, np.random.default_rng(0)))
            assert not np.isfinite(value), (where, value)
            assert not np.isfinite(grad).all(), (where, grad)
            if stoch is not None:
                assert not np.isfinite(stoch).all(), (where, stoch)


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_max_eigenvalue_at_an_infinite_coordinate_is_nan_not_an_eigensolver_error(bad):
    obj = _objective("max_eigenvalue")
    x = np.array(obj.x0)
    x[1] = bad
    for backend in BACKENDS:
        value, grad = obj.value(to_backend(x, backend)), obj.grad(to_backend(x, backend))
        assert np.isnan(to_numpy(value)) and np.isnan(to_numpy(grad)).all(), backend


def test_the_ramp_loss_at_an_infinite_coordinate_is_nan():
    """clip saturates at ±inf (a finite loss of 0 or 1 per sample) and the active-set indicator is 0 there."""
    obj = _objective("ramp_loss")
    for bad in (np.inf, -np.inf):
        x = np.array(obj.x0)
        x[0] = bad
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            assert np.isnan(obj.value(x)) and np.isnan(obj.grad(x)).all()


def test_the_guards_leave_jitted_oracles_alone_at_finite_points():
    """The guards are selects: under jax.jit the guarded oracles trace, agree with eager jax at a finite point and give
    NaN at a non-finite one."""
    jax = pytest.importorskip("jax")
    for name in ("wolfe", "max_eigenvalue", "hard_chain", "tight_ramp", "active_faces"):
        obj = _objective(name)
        x = np.array(obj.x0, dtype=np.float64)
        jg = jax.jit(obj.grad)
        np.testing.assert_allclose(to_numpy(jg(to_backend(x, "jax"))), to_numpy(obj.grad(to_backend(x, "jax"))),
                                   rtol=1e-12, atol=0)
        x[0] = np.nan
        assert np.isnan(to_numpy(jg(to_backend(x, "jax")))).any(), name


def test_nan_unless_selects_without_arithmetic():
    out = np.array([1.5, -0.0, 3.0], dtype=np.float32)
    probe = np.array([0.0, np.nan, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = nan_unless(np, np.isfinite(probe), out)
    assert got.dtype == np.float32
    assert got[0] == out[0] and np.isnan(got[1:]).all()
    # where ``ok`` holds the result is ``out`` bit for bit (the sign of a zero included)
    same = nan_unless(np, np.ones(3, dtype=bool), out)
    assert same.tobytes() == out.tobytes()
