"""The compiled runner's exact radius: the plain one-pass form where every seed's sum of squares is exact, the
scaled form (under jax.lax.cond) where one seed's is not; both equal o2nc.minimize's radius (float64)."""
from __future__ import annotations

import numpy as np
import pytest

import o2nc
from online_learners import OGD

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

from o2nc.experiments.batched import run_batched  # noqa: E402

pytestmark = pytest.mark.skipif(not jax.config.jax_enable_x64, reason="needs JAX_ENABLE_X64=1 (set by conftest)")


@pytest.mark.parametrize("scale", [1.0, 1e-160, 1e160])
def test_radius_at_scales_where_the_plain_sum_under_or_overflows(scale):
    """At 1e-160 the squared distances (~1e-326) underflow and at 1e160 they overflow: the batch takes the scaled
    radius; at 1 the plain one. Each equals minimize's (exact_radius_rows, numpy) to 1e-12 relative."""
    x0 = np.linspace(-1, 1, 4) * scale
    learner = OGD(lr=0.01 * scale, radius=0.05 * scale)
    out = run_batched(jnp.sign, x0, seeds=[0, 1], learner=learner, epoch_length=10, budget=40)
    for i, seed in enumerate([0, 1]):
        ref = o2nc.minimize(np.sign, x0, learner=learner, budget=40, epoch_length=10, seed=seed,
                            radius_kind="exact").epochs
        assert np.all(ref.radius > 0) and np.all(np.isfinite(ref.radius))
        np.testing.assert_allclose(out.radius[i], ref.radius, rtol=1e-12)
