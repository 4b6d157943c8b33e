"""A learner that declares ``play_norm`` (its state holds ‖Δ_n‖) gives the core its segment length: the compiled
runner with such a learner equals o2nc.minimize with plain OGD (float64, 1e-12), and propose takes the declared
norm (or computes it where the learner declares none or returns None)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pytest

import o2nc
from o2nc.conversion import step as core
from online_learners import OGD, tree

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

from o2nc.experiments.batched import run_batched  # noqa: E402

pytestmark = pytest.mark.skipif(not jax.config.jax_enable_x64, reason="needs JAX_ENABLE_X64=1 (set by conftest)")

A = np.random.default_rng(0).standard_normal((6, 6)) / 3
AJ = jnp.asarray(A)


class NormState(NamedTuple):
    delta: Any
    count: Any
    norm: Any


@dataclass(frozen=True)
class OGDWithNorm(OGD):
    """OGD whose state keeps ‖Δ‖ from its projection (tree_project_ball_norm) and declares it as play_norm."""

    def init(self, params):
        return NormState(tree.tree_zeros_like(params), tree.counter_like(params), tree.scalar_like(0, params))

    def update(self, state, grad):
        delta, norm = tree.tree_project_ball_norm(tree.tree_axpy(-self.lr, grad, state.delta), self.radius)
        return NormState(delta, state.count + 1, norm)

    def play_norm(self, state):
        return state.norm


@dataclass(frozen=True)
class DoubledNorm(OGDWithNorm):
    def play_norm(self, state):
        return 2 * state.norm


@dataclass(frozen=True)
class UnknownNorm(OGDWithNorm):
    def play_norm(self, state):
        return None


def rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def test_runner_with_a_declared_norm_equals_minimize():
    x0 = np.linspace(-1, 1, 6)
    grad = lambda x: jnp.sign(x) - 0.5 * AJ.T @ jnp.sign(AJ @ x)
    out = run_batched(grad, x0, seeds=[0, 4], learner=OGDWithNorm(lr=0.003, radius=0.01), epoch_length=20,
                      budget=200)
    for i, seed in enumerate([0, 4]):
        ref = o2nc.minimize(lambda w: np.sign(w) - 0.5 * np.sign(A @ w) @ A, x0, learner=OGD(lr=0.003, radius=0.01),
                            budget=200, epoch_length=20, seed=seed, radius_kind="exact").epochs
        for got, want in ((out.mean[i], ref.mean), (out.certificate[i], ref.certificate),
                          (out.radius[i], ref.radius), (out.radius_bound[i], ref.radius_bound)):
            assert rel(got, want) <= 1e-12


def test_propose_takes_the_declared_norm():
    x0 = np.array([0.3, -0.2, 0.5])
    g = np.array([4.0, -1.0, 2.0])
    for learner, factor in ((OGDWithNorm(lr=0.5, radius=0.1), 1.0), (DoubledNorm(lr=0.5, radius=0.1), 2.0),
                            (UnknownNorm(lr=0.5, radius=0.1), 1.0)):
        state = core.init(learner, x0)
        state = core.observe(learner, state, core.propose(learner, True, state, 0.5), g)
        proposal = core.propose(learner, True, state, 0.5, lr=0.7)
        play = learner.predict(state.learner)
        assert float(proposal.segment) == pytest.approx(0.7 * factor * float(np.linalg.norm(play)), rel=1e-15)
        # a play passed in is measured, whatever the learner declares
        given = core.propose(learner, True, state, 0.5, lr=0.7, delta=play)
        assert float(given.segment) == float(0.7 * tree.tree_norm(play))


def test_core_carries_the_norm_a_projected_ogd_reports():
    """OGD with a radius reports ‖Δ_{t+1}‖ from its projection; the core carries it (0 after init and restart) and
    it stays within a rounding of the norm of the play; unconstrained OGD and a subclass with its own update do not
    report one."""
    assert OGD(lr=0.1, radius=1.0).reports_play_norm
    assert not OGD(lr=0.1).reports_play_norm
    assert not OGDWithNorm(lr=0.1, radius=1.0).reports_play_norm
    learner = OGD(lr=0.3, radius=0.5)
    x0 = np.zeros(4)
    state = core.init(learner, x0)
    assert float(state.play_norm) == 0.0
    rng = np.random.default_rng(0)
    for n in range(6):
        proposal = core.propose(learner, True, state, 1.0)
        assert proposal.segment == pytest.approx(float(tree.tree_norm(proposal.delta)), rel=1e-15, abs=0)
        state = core.observe(learner, state, proposal, rng.standard_normal(4) * 10.0 ** (n - 3))
        assert float(state.play_norm) == pytest.approx(float(tree.tree_norm(learner.predict(state.learner))),
                                                       rel=1e-15)
    assert float(state.play_norm) > 0
    state = core.restart(learner, state, x0)
    assert float(state.play_norm) == 0.0 and float(tree.tree_norm(learner.predict(state.learner))) == 0.0
    with pytest.raises(ValueError, match="radius"):
        OGD(lr=0.1).update_and_norm(OGD(lr=0.1).init(x0), np.ones(4))
