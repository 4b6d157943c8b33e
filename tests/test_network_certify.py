"""o2nc.torch.certify and o2nc.jax.certify: the sampled Goldstein certificate of a model's weights.

Checked: the bound against the bank's exact Goldstein oracles (it may never be below them), closed forms (a constant
gradient, a kink inside the ball), the radius after rounding to float32, independence from ``batch``, weights left
untouched, the stochastic kind, torch/JAX agreement on the same points, and the errors.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import objectives  # noqa: E402
from o2nc.certificate import Certificate  # noqa: E402
from o2nc.certify import GoldsteinCertificate  # noqa: E402
from o2nc.torch import certify  # noqa: E402


class Vector(torch.nn.Module):
    """One trainable vector ``w``."""

    def __init__(self, x, dtype=torch.float64):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(np.array(x, dtype=np.float64), dtype=dtype))


def l1(model):
    return model.w.abs().sum()


@pytest.mark.parametrize("name,point,delta", [("max_affine", None, 0.1), ("max_affine", None, 1.0),
                                              ("abs_affine", None, 0.5), ("l1_norm", "near-kink", 0.05)])
def test_never_below_the_exact_goldstein_distance(name, point, delta):
    objective = objectives.get(name)
    x = np.asarray(objective.x0, dtype=np.float64)
    if point == "near-kink":
        x = np.full(objective.dim, 0.02)
    model = Vector(x)
    cert = certify(model, lambda m: objective.value(m.w), delta=delta, samples=60, seed=1)
    exact = float(objective.goldstein(x, delta))
    assert isinstance(cert, GoldsteinCertificate) and cert.kind == "sampled one-sided" and cert.is_proof
    assert cert.epsilon >= exact - 1e-9, (cert.epsilon, exact)
    assert 0 < cert.delta <= delta and cert.calls == 61 and cert.gap <= 1e-10
    assert np.isclose(np.linalg.norm(cert.direction), cert.epsilon)


def test_constant_gradient_gives_its_norm_and_a_kink_gives_zero():
    far = certify(Vector([1.0, -2.0]), l1, delta=0.1, samples=30, seed=0)
    assert far.epsilon == pytest.approx(math.sqrt(2), rel=1e-12)  # every sampled gradient is (1, −1)
    near = certify(Vector([0.01, -0.01]), l1, delta=0.1, samples=30, seed=0)
    assert near.epsilon < 1e-12  # opposite sign patterns are sampled: 0 is in the hull
    assert near.proves(delta=0.1, epsilon=1e-9) and not far.proves(delta=0.1, epsilon=1.0)


def test_points_do_not_depend_on_batch_and_weights_are_untouched():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)).double()
    x, y = torch.randn(20, 3, dtype=torch.float64), torch.randn(20, 1, dtype=torch.float64)
    before = [p.detach().clone() for p in model.parameters()]

    def loss(m):
        return torch.nn.functional.l1_loss(m(x), y)  # non-smooth in the weights

    one = certify(model, loss, delta=0.3, samples=7, seed=3, batch=1)
    three = certify(model, loss, delta=0.3, samples=7, seed=3, batch=3)
    assert one.delta == three.delta
    assert one.epsilon == pytest.approx(three.epsilon, rel=1e-9, abs=1e-12)
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters()))
    other = certify(model, loss, delta=0.3, samples=7, seed=4)
    assert other.delta != one.delta  # another seed, other points


def test_float32_points_stay_inside_the_ball():
    """The ball is shrunk by the unit roundoff so that the rounded points are within δ (module docstring)."""
    model = Vector(np.linspace(0.5, 1.5, 1000), dtype=torch.float32)
    delta = 1e-4
    cert = certify(model, lambda m: (m.w ** 2).sum(), delta=delta, samples=20, seed=0, batch=4)
    assert 0.9 * delta < cert.delta <= delta


def test_stochastic_loss_is_an_estimate_not_a_proof():
    data = torch.randn(64, 2, dtype=torch.float64)

    def minibatch(m):
        idx = torch.randint(0, 64, (8,))
        return (data[idx] @ m.w).abs().mean()

    cert = certify(Vector([0.3, -0.2]), minibatch, delta=0.05, samples=5, seed=0, batch=3, stochastic=True)
    assert type(cert) is Certificate and cert.kind == "stochastic estimate"
    assert not cert.is_proof and not cert.proves(delta=1.0, epsilon=1e9) and cert.calls == 6


def test_errors_name_the_parameter():
    model = Vector([1.0, 2.0])
    with pytest.raises(ValueError, match="delta"):
        certify(model, l1, delta=0.0)
    with pytest.raises(ValueError, match="samples"):
        certify(model, l1, delta=0.1, samples=-1)
    with pytest.raises(ValueError, match="batch"):
        certify(model, l1, delta=0.1, batch=0)
    with pytest.raises(ValueError, match="samples"):
        certify(model, l1, delta=0.1, samples=0, include_center=False)
    with pytest.raises(TypeError, match="model"):
        certify(lambda: 0, l1, delta=0.1)
    with pytest.raises(TypeError, match="loss_fn"):
        certify(model, lambda m: m.w, delta=0.1)  # not a scalar
    with pytest.raises(ValueError, match="loss_fn: non-finite gradient"):
        certify(model, lambda m: (m.w - 1.0).abs().sqrt().sum(), delta=0.5, samples=0)  # ∞·0 at w₁ = 1
    with pytest.raises(ValueError, match="resolution"):
        certify(Vector([1e3] * 10, dtype=torch.float32), l1, delta=1e-6)
    frozen = Vector([1.0])
    frozen.w.requires_grad_(False)
    with pytest.raises(ValueError, match="trainable"):
        certify(frozen, l1, delta=0.1)


def test_jax_certificate_matches_torch_on_the_same_points():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    from o2nc.jax import certify as jax_certify

    rng = np.random.default_rng(0)
    W1, b1, W2 = rng.standard_normal((4, 6)), rng.standard_normal(6), rng.standard_normal(6)
    X = rng.standard_normal((30, 4))

    def jax_loss(p):
        return jnp.abs(jnp.maximum(jnp.asarray(X) @ p["W1"] + p["b1"], 0.0) @ p["W2"] - 1.0).mean()

    params = {"W1": jnp.asarray(W1, jnp.float32), "W2": jnp.asarray(W2, jnp.float32),
              "b1": jnp.asarray(b1, jnp.float32)}
    # ravel_pytree orders the leaves by key (W1, W2, b1); the torch module registers them in that order too
    module = torch.nn.Module()
    for key in ("W1", "W2", "b1"):
        module.register_parameter(key, torch.nn.Parameter(torch.tensor(np.asarray(params[key]))))
    Xt = torch.tensor(X, dtype=torch.float32)

    def torch_loss(m):
        return (torch.relu(Xt @ m.W1 + m.b1) @ m.W2 - 1.0).abs().mean()

    for batch in (1, 4):
        a = jax_certify(jax_loss, params, delta=0.2, samples=9, seed=5, batch=batch)
        b = certify(module, torch_loss, delta=0.2, samples=9, seed=5, batch=batch)
        assert a.kind == b.kind == "sampled one-sided" and a.calls == b.calls == 10
        assert a.delta == pytest.approx(b.delta, rel=1e-12) and a.delta <= 0.2
        assert a.epsilon == pytest.approx(b.epsilon, rel=1e-4, abs=1e-6)
        assert np.array_equal(a.point, b.point)
    with pytest.raises(ValueError, match="delta"):
        jax_certify(jax_loss, params, delta=-1.0)
    with pytest.raises(TypeError, match="loss_fn"):
        jax_certify(lambda p: p["W1"], params, delta=0.1)
