"""Every registered learner in float32 at gradient scales 1e-30, 1 and 1e30, and integer round counters.

A learner's hyperparameters carry units: a gradient bound (``lipschitz``) and COCOB's/Adam's ``eps`` are in gradient
units, a step ``lr`` of OGD/FTRL is in Δ per gradient unit. Multiplying the gradients by c and rescaling those
hyperparameters (``rescaled``) must give the same plays: every learner is then checked to be free of float32
under/overflow at c = 1e±30 (no NaN, no ∞, no silent 0). AdaGradNorm's accumulator Σ‖g‖² is the one documented
exception (see ``test_adagrad_norm_float32_range``), and so are the combinations built on it.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from online_learners import (
    COCOB,
    FTRL,
    KT,
    OGD,
    AdaGradNorm,
    DiscountedFTRL,
    OptimisticOGD,
    Restarting,
    registry,
    tree,
)

ROUNDS, DIM = 25, 4
GRADS = np.random.default_rng(3).standard_normal((ROUNDS, DIM)).astype(np.float32)


def rescaled(learner, c: float):
    """The learner for gradients multiplied by c: gradient-unit hyperparameters × c, OGD-type steps ÷ c."""
    if not dataclasses.is_dataclass(learner):
        return learner
    changes = {}
    for f in dataclasses.fields(learner):
        value = getattr(learner, f.name)
        if f.name == "lipschitz" and value is not None:
            changes[f.name] = value * c
        elif f.name == "lr" and isinstance(learner, (OGD, FTRL, OptimisticOGD)):
            changes[f.name] = value / c
        elif f.name == "mu":  # Discounted's weight decay μ‖Δ‖²/2 is a loss: gradient units per Δ unit
            changes[f.name] = value * c
        elif f.name == "eps" and isinstance(learner, (COCOB, DiscountedFTRL)):
            changes[f.name] = value * c
        elif dataclasses.is_dataclass(value):
            changes[f.name] = rescaled(value, c)
    return dataclasses.replace(learner, **changes)


def plays(learner, scale: float):
    state = learner.init(np.zeros(DIM, np.float32))
    out = []
    for g in GRADS:
        state = learner.update(state, g * np.float32(scale))
        out.append(np.asarray(learner.predict(state)))
    return np.array(out)


def _uses_adagrad_norm(learner) -> bool:
    if isinstance(learner, AdaGradNorm):
        return True
    return dataclasses.is_dataclass(learner) and any(
        _uses_adagrad_norm(getattr(learner, f.name)) for f in dataclasses.fields(learner))


EXAMPLES = [(tid, learner) for tid, learner in registry.examples() if not _uses_adagrad_norm(learner)]


@pytest.mark.parametrize("scale", [1e-30, 1e30])
@pytest.mark.parametrize("learner", [e[1] for e in EXAMPLES], ids=[e[0] for e in EXAMPLES])
def test_float32_plays_are_scale_free(learner, scale):
    base = plays(learner, 1.0)
    got = plays(rescaled(learner, scale), scale)
    assert got.dtype == np.float32 and base.dtype == np.float32
    assert np.isfinite(got).all(), f"non-finite play at gradient scale {scale:g}"
    # float32 rounding of the rescaled hyperparameters and of c·g: a few ulps per round, over 25 rounds
    np.testing.assert_allclose(got, base, rtol=2e-4, atol=2e-5 * np.abs(base).max())


@pytest.mark.parametrize("scale", [1e-30, 1.0, 1e30])
def test_adagrad_norm_float32_range(scale):
    """AdaGradNorm accumulates Σ‖g‖² (its state layout is shared with the torch shell's fused kernel), so in float32
    it is scale-free for ‖g‖ in about [1e-18, 1e18]; outside, the square under/overflows and the step is 0: the play
    stays finite (never NaN) and inside the ball. Documented on the class."""
    learner = AdaGradNorm(radius=1.0)
    got = plays(learner, scale)
    assert np.isfinite(got).all() and (np.linalg.norm(got, axis=1) <= 1.0 + 1e-6).all()
    for inside in (1e-15, 1e15):
        np.testing.assert_allclose(plays(learner, inside), plays(learner, 1.0), rtol=1e-4, atol=1e-6)


COUNTED = [OGD(lr=0.1, anytime=True), OptimisticOGD(lr=0.1), KT(lipschitz=1.0), KT(lipschitz=None),
           Restarting(OGD(lr=0.1), period=2**25)]


@pytest.mark.parametrize("learner", COUNTED, ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_counters_are_integers_and_count_past_2_to_the_24(learner, dtype):
    state = learner.init(np.zeros(3, dtype))
    assert np.asarray(state.count).dtype.kind == "i"
    near = 2**24 + 1  # float32 stops here: 2^24 + 1 rounds to 2^24
    state = state._replace(count=np.asarray(near, dtype=np.asarray(state.count).dtype))
    state = learner.update(state, np.ones(3, dtype))
    assert int(state.count) == near + 1 and np.asarray(state.count).dtype.kind == "i"
    assert learner.predict(state).dtype == dtype  # the integer counter never promotes the plays


def test_counter_dtype_is_the_backend_default_integer():
    assert tree.counter_like(np.zeros(2, np.float32)).dtype == np.int64
