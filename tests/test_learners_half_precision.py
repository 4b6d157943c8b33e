"""Half-precision parameters keep full-precision running sums (``online_learners.tree.accumulator_like``): AdaGradNorm's
V_t = Σ_s ‖g_s‖² would stop at 256 in bfloat16 (256 + 1 rounds to 256), freezing its step c·D/√V_t. The play stays in
the parameters' dtype; the torch shell's foreach kernel and its for-loop path agree on bfloat16 parameters.

ParameterFreeMirrorDescent's u_t = V_t/G_t² and FreeGrad's V_t/h² (scalar or per coordinate) likewise; their plays are
computed in that wider dtype (σ² = (‖S_t‖/G_t)² and (‖G_t‖/h)² overflow float16 beyond 256) and cast back to the
parameters' dtype. Their parameter-shaped Σ_s g_s stays in the parameters' dtype (see paramfree.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from online_learners import AdaGradNorm, FreeGrad, ParameterFreeMirrorDescent

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


# --- ParameterFreeMirrorDescent and FreeGrad --------------------------------------------------------------------------


def _half_converters():
    """(name, numpy array -> the backend's half-precision array) for numpy float16, torch and jax bfloat16."""
    out = [("numpy-float16", lambda a: np.asarray(a, dtype=np.float16))]
    try:
        import torch

        out.append(("torch-bfloat16", lambda a: torch.asarray(np.asarray(a, dtype=np.float32)).to(torch.bfloat16)))
    except ImportError:  # pragma: no cover - torch is a dev dependency
        pass
    try:
        import jax.numpy as jnp

        out.append(("jax-bfloat16", lambda a: jnp.asarray(a, dtype=jnp.bfloat16)))
    except ImportError:  # pragma: no cover
        pass
    return out


HALF = _half_converters()
PARAMETER_FREE = [(f"{cls.__name__}{'-coordinatewise' if cw else ''}", cls, cw)
                  for cls in (ParameterFreeMirrorDescent, FreeGrad) for cw in (False, True)]


def _learner(cls, coordinatewise):
    # FreeGrad with h = 64: the unit increments ‖g_t/h‖² (or (g_t,i/h)²) are 2⁻¹² (2⁻¹⁴) of a sum that starts at 1
    return cls(lipschitz=64.0, coordinatewise=coordinatewise) if cls is FreeGrad else cls(coordinatewise=coordinatewise)


def _as_float64(a):
    if hasattr(a, "detach"):
        a = a.detach().float()
    return np.asarray(a, dtype=np.float64)


def _run(learner, grads, convert):
    state = learner.init(convert(np.zeros(4)))
    for g in grads:
        state = learner.update(state, convert(g))
    return state, learner.predict(state)


@pytest.mark.parametrize("label, cls, coordinatewise", PARAMETER_FREE, ids=[p[0] for p in PARAMETER_FREE])
@pytest.mark.parametrize("backend, convert", HALF, ids=[h[0] for h in HALF])
def test_parameter_free_sums_of_squares_keep_growing_in_half_precision(label, cls, coordinatewise, backend, convert):
    """A spike g_1 = 32·1 (‖g_1‖ = 64), then ±0.5·1: every later increment of u_t (PFMD: (‖g_t‖/G_t)² = 2⁻¹²; FreeGrad
    with h = 64: ‖g_t/h‖² = 2⁻¹², per coordinate 2⁻¹⁴) is below half an ulp of u_t ≥ 1 in float16 (2⁻¹¹) and bfloat16
    (2⁻⁸), so a half-precision sum never moves; in float32 it is exact (dyadic). Σ_s g_s alternates between 32 and 32.5
    (exact in both half formats): the play equals the float64 run's within the half format's rounding."""
    rounds = 301
    grads = [np.full(4, 32.0)] + [np.full(4, 0.5 * (-1.0) ** t) for t in range(rounds - 1)]
    learner = _learner(cls, coordinatewise)
    state, play = _run(learner, grads, convert)
    ref_state, ref_play = _run(learner, grads, lambda a: np.asarray(a, dtype=np.float64))
    assert str(state.sum_sq.dtype).endswith("float32")  # at least float32 (one parameter array here)
    np.testing.assert_array_equal(_as_float64(state.sum_sq), ref_state.sum_sq)  # every increment counted, exactly
    assert float(np.max(ref_state.sum_sq)) > 1.0 + (rounds - 2) * 2.0**-14
    params_dtype = str(convert(np.zeros(1)).dtype)
    assert str(play.dtype) == params_dtype  # the play is cast back to the parameters' dtype
    np.testing.assert_allclose(_as_float64(play), ref_play, rtol=1e-2)


@pytest.mark.parametrize("coordinatewise", [False, True])
def test_pfmd_play_past_sigma_256_is_finite_in_float16(coordinatewise):
    """A constant gradient 0.5·1 for 300 rounds: σ_t = ‖S_t‖/G_t = t, so σ² = 90,000 is beyond float16's 65,504 while
    the play −(S/‖S‖)·α(e^θ − 1), θ = σ²/(4k²u) = t/36, is about 7: θ is computed in sum_sq's float32."""
    learner = ParameterFreeMirrorDescent(coordinatewise=coordinatewise)
    grads = [np.full(4, 0.5)] * 300
    _, play = _run(learner, grads, lambda a: np.asarray(a, dtype=np.float16))
    _, ref_play = _run(learner, grads, lambda a: np.asarray(a, dtype=np.float64))
    assert play.dtype == np.float16 and np.isfinite(play).all()
    np.testing.assert_allclose(play.astype(np.float64), ref_play, rtol=1e-2)


def test_freegrad_play_past_n_256_is_finite_in_float16():
    """‖G_t‖/h = 300 with V_t/h² = 10⁴ (reached after ≥ 10⁴ rounds of full-norm gradients): n² = 90,000 is beyond
    float16's range while the play, n·(2u + n)/(2(u + n)²√u)·e^{n²/(2u + 2n)} ≈ 0.02 per coordinate, is not."""
    learner = FreeGrad(lipschitz=1.0)
    state = learner.init(np.zeros(4, dtype=np.float16))
    state = state._replace(grad_sum=np.full(4, 150.0, dtype=np.float16), sum_sq=state.sum_sq * 0 + 1e4)
    play = learner.predict(state)
    ref = learner.predict(state._replace(grad_sum=np.full(4, 150.0), sum_sq=np.float64(1e4)))
    assert play.dtype == np.float16 and np.isfinite(play).all()
    np.testing.assert_allclose(play.astype(np.float64), ref, rtol=1e-2)


def test_torch_shell_default_learner_sums_past_bfloat16_on_bfloat16_parameters():
    """The torch shell's default learner (ParameterFreeMirrorDescent) on bfloat16 parameters: its u_t grows past 256
    in float32, and the parameters stay bfloat16."""
    torch = pytest.importorskip("torch")
    from o2nc.torch import O2NC

    p = torch.nn.Parameter(torch.zeros(64, dtype=torch.bfloat16))
    opt = O2NC([p], epoch_length=10**6, generator=torch.Generator().manual_seed(0))
    assert isinstance(opt.param_groups[0]["learner"], ParameterFreeMirrorDescent)
    g = torch.Generator().manual_seed(1)
    for _ in range(ROUNDS):
        p.grad = (torch.randn(64, generator=g) / 8).to(torch.bfloat16)  # ‖g‖ ≈ 1: u_t grows by about 1 a round
        opt.step()
    state = opt.param_groups[0]["group_state"]
    assert state["learner.sum_sq"].dtype == torch.float32 and float(state["learner.sum_sq"]) > 300
    assert p.dtype == torch.bfloat16 and bool(torch.isfinite(p).all())


@pytest.mark.parametrize("learner", [AdaGradNorm(radius=1.0), ParameterFreeMirrorDescent(),
                                     ParameterFreeMirrorDescent(coordinatewise=True)],
                         ids=["adagrad_norm", "pfmd", "pfmd-coordinatewise"])
def test_torch_checkpoint_keeps_the_widened_sums(learner):
    """A state dict reloaded into the torch shell keeps the float32 sums of squares of bfloat16 parameters (torch's
    loader casts every floating entry to the parameter's dtype, which would round them back to bfloat16)."""
    torch = pytest.importorskip("torch")
    from o2nc.torch import O2NC

    p = torch.nn.Parameter(torch.ones(5, dtype=torch.bfloat16))
    opt = O2NC([p], learner=learner, epoch_length=1000)
    for _ in range(300):
        p.grad = torch.full((5,), 1.01, dtype=torch.bfloat16)
        opt.step()
    q = torch.nn.Parameter(p.detach().clone())
    reloaded = O2NC([q], learner=learner, epoch_length=1000)
    reloaded.load_state_dict(opt.state_dict())
    saved = {**opt.param_groups[0]["group_state"], **opt.state[p]}
    loaded = {**reloaded.param_groups[0]["group_state"], **reloaded.state[q]}
    sums = [k for k in saved if k.endswith("sum_sq")]
    assert sums
    for key in sums:
        assert saved[key].dtype == torch.float32 and loaded[key].dtype == torch.float32, key
        assert torch.equal(saved[key], loaded[key]), key
