"""The tie-averaged weights behind the bank's Clarke subgradients of pointwise maxima
(``objectives._backend.max_weights``): one implementation for every max-type objective, exact on ties, NaN (without a
floating-point warning) at a NaN point."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import objectives
from objectives._backend import max_weights, select_rows


def test_weights_are_uniform_over_the_maximisers():
    values = np.array([1.0, 3.0, -2.0, 3.0, 0.5])
    np.testing.assert_array_equal(max_weights(np, values), [0.0, 0.5, 0.0, 0.5, 0.0])
    rows = np.arange(10.0).reshape(5, 2)
    np.testing.assert_array_equal(select_rows(np, values, rows), 0.5 * (rows[1] + rows[3]))


def test_axis_weights_match_a_loop_over_columns():
    rng = np.random.default_rng(0)
    P = rng.integers(0, 3, size=(4, 7)).astype(float)  # small integers: many ties
    W = max_weights(np, P, axis=0)
    for j in range(P.shape[1]):
        np.testing.assert_array_equal(W[:, j], max_weights(np, P[:, j]))
    np.testing.assert_allclose(W.sum(axis=0), 1.0, rtol=0, atol=1e-15)


def test_nan_values_give_nan_weights_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = max_weights(np, np.array([1.0, np.nan, 2.0]))
    assert np.isnan(w).all()


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_backends_agree_with_numpy(backend):
    values = np.array([[0.0, 2.0, 2.0], [1.0, 2.0, -1.0]])
    if backend == "torch":
        torch = pytest.importorskip("torch")
        import array_api_compat.torch as xp

        def to(a):
            return torch.asarray(a)
    else:
        jnp = pytest.importorskip("jax.numpy")
        xp = jnp

        def to(a):
            return jnp.asarray(a)
    for axis in (None, 0, 1):
        np.testing.assert_allclose(np.asarray(max_weights(xp, to(values), axis=axis)),
                                   max_weights(np, values, axis=axis), rtol=0, atol=0)
    assert np.isnan(np.asarray(max_weights(xp, to(np.array([np.nan, 1.0]))))).all()


@pytest.mark.parametrize("name", objectives.names())
def test_a_gradient_at_a_nan_point_raises_no_floating_point_warning(name):
    """A NaN in x (which the conversion's checks stop before it reaches an oracle, but a user may pass) gives no
    'invalid value' warning from a tie count of zero (the weights themselves are NaN there: the test above)."""
    objective = objectives.get(name)
    x = np.array(objective.x0, dtype=float)
    x.flat[0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            objective.grad(x)
        except np.linalg.LinAlgError:  # an eigensolver refusing a NaN matrix is an error, not a warning
            pass
