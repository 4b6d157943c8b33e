"""Half-precision parameters keep full-precision running sums (``online_learners.tree.accumulator_like``): AdaGradNorm's
V_t = Σ_s ‖g_s‖² would stop at 256 in bfloat16 (256 + 1 rounds to 256), freezing its step c·D/√V_t. The play stays in
the parameters' dtype; the torch shell's foreach kernel and its for-loop path agree on bfloat16 parameters."""
from __future__ import annotations

import math

import numpy as np
import pytest

from online_learners import AdaGradNorm

ROUNDS = 600  # past bfloat16's 256


def _backends():
    out = [("numpy-float16", np.zeros(4, dtype=np.float16), np.full(4, 0.5, dtype=np.float16))]
    try:
        import torch

        half = torch.bfloat16
        out.append(("torch-bfloat16", torch.zeros(4, dtype=half), torch.full((4,), 0.5, dtype=half)))
    except ImportError:  # pragma: no cover - torch is a dev dependency
        pass
    try:
        import jax.numpy as jnp

        out.append(("jax-bfloat16", jnp.zeros(4, dtype=jnp.bfloat16), jnp.full(4, 0.5, dtype=jnp.bfloat16)))
    except ImportError:  # pragma: no cover
        pass
    return out


@pytest.mark.parametrize("name, params, grad", _backends(), ids=[b[0] for b in _backends()])
def test_adagrad_norm_sums_past_the_half_precision_range(name, params, grad):
    learner = AdaGradNorm(radius=1.0)
    state = learner.init(params)
    for _ in range(ROUNDS):
        state = learner.update(state, grad)  # ‖g‖² = 4 · 0.25 = 1 each round
    assert float(state.sum_sq) == ROUNDS
    assert str(state.delta.dtype).endswith(str(params.dtype).split(".")[-1])  # the play keeps the params' dtype
    want = learner.step_size(np.float64(ROUNDS))
    assert float(learner.step_size(state.sum_sq)) == pytest.approx(float(want), rel=1e-6)
    assert float(want) < learner.scale * learner.radius / math.sqrt(256)  # below where a bfloat16 sum would freeze it


def test_torch_shell_bfloat16_foreach_matches_the_forloop():
    torch = pytest.importorskip("torch")
    from o2nc.torch import O2NC

    runs = {}
    for foreach in (False, True):
        p = torch.nn.Parameter(torch.zeros(64, dtype=torch.bfloat16))
        opt = O2NC([p], learner=AdaGradNorm(radius=1.0), epoch_length=10**6, foreach=foreach,
                   generator=torch.Generator().manual_seed(0))
        g = torch.Generator().manual_seed(1)
        for _ in range(ROUNDS):
            p.grad = (torch.randn(64, generator=g) / 8).to(torch.bfloat16)  # ‖g‖ ≈ 1
            opt.step()
        state = opt.param_groups[0]["group_state"]
        runs[foreach] = (p.detach().float(), float(state["learner.sum_sq"]), state["learner.sum_sq"].dtype)
    (ref_p, ref_v, ref_dt), (got_p, got_v, got_dt) = runs[False], runs[True]
    assert ref_dt == got_dt == torch.float32
    # grown past bfloat16's 256; each path rounds a round's ‖g‖² (or ‖g‖) to bfloat16 on its own way (relative error
    # ≤ 2⁻⁸ a term), so the two sums agree within 2·2⁻⁸ relative
    assert ref_v > 300 and got_v == pytest.approx(ref_v, rel=2 * 2.0**-8)
    assert float((got_p - ref_p).norm()) <= 2e-2 * float(ref_p.norm())  # bfloat16 roundings of the same steps
