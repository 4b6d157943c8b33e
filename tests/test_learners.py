"""Registry-driven tests every learner must pass: backend parity, pytrees, regret bounds, bad hyperparameters."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

from online_learners import registry, tree
from tests.backends import BACKENDS, max_rel_diff, to_backend, to_numpy

EXAMPLES = registry.examples()
IDS = [name for name, _ in EXAMPLES]
LEARNERS = [learner for _, learner in EXAMPLES]


def play(learner, grads, make, hints=None):
    """Run ``learner`` on the gradient rows of ``grads`` (numpy, T×d); return the plays as numpy (T×d)."""
    state = learner.init(make(np.zeros(grads.shape[1])))
    takes_hint = "hint" in inspect.signature(learner.update).parameters
    plays = []
    for t, g in enumerate(grads):
        hint = None if hints is None else make(hints[t])
        delta = learner.predict(state, hint)
        plays.append(to_numpy(delta))
        state = learner.update(state, make(g), hint=hint) if takes_hint else learner.update(state, make(g))
    return np.stack(plays)


# --- adversarial linear losses -------------------------------------------------------------------------------------


def sequences(d: int, steps: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(d)
    direction /= np.linalg.norm(direction)
    signs = rng.choice([-1.0, 1.0], size=(steps, 1))
    scale = np.where(np.arange(steps) < steps // 2, 0.01, 10.0)[:, None]
    return {
        "random_signs": rng.choice([-1.0, 1.0], size=(steps, d)) / math.sqrt(d),
        "alternating": np.where(np.arange(steps)[:, None] % 2 == 0, 1.0, -1.0) * direction,
        "constant": np.tile(direction, (steps, 1)),
        "scale_change": scale * signs * direction,
        "gaussian": rng.standard_normal((steps, d)),
    }


def regret_bound(learner, comparator_norm, grad_sq_norms, dim):
    """The documented bound; coordinate-wise learners' bounds also take the dimension (as ``dim=``)."""
    if "dim" in inspect.signature(learner.regret_bound).parameters:
        return learner.regret_bound(comparator_norm, grad_sq_norms, dim=dim)
    return learner.regret_bound(comparator_norm, grad_sq_norms)


def comparator_norms(learner):
    radius = getattr(learner, "radius", None)
    if radius is not None:
        return [0.0, 0.25 * radius, 0.5 * radius, radius]
    return [0.0, 1e-3, 1e-1, 1.0, 10.0, 1e3]


@pytest.mark.parametrize("d", [1, 10, 1000])
@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_regret_within_documented_bound(learner, d):
    steps = 300
    for name, grads in sequences(d, steps, seed=d).items():
        plays = play(learner, grads, lambda a: a.copy())
        loss = float(np.sum(grads * plays))
        total = grads.sum(axis=0)
        sq = np.sum(grads**2, axis=1)
        for r in comparator_norms(learner):
            # the worst comparator of norm r for linear losses points against the summed gradient
            regret = loss + r * float(np.linalg.norm(total))
            bound = regret_bound(learner, r, sq, d)
            assert math.isfinite(bound), f"{name}: no finite bound at comparator norm {r}"
            assert regret <= bound * (1 + 1e-9) + 1e-9, f"{name}, ‖u‖={r}: regret {regret:.6g} > bound {bound:.6g}"


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_regret_bound_refuses_comparators_outside_the_ball(learner):
    radius = getattr(learner, "radius", None)
    if radius is None:
        assert math.isfinite(regret_bound(learner, 1e6, [1.0] * 5, 3))
    else:
        assert regret_bound(learner, 2 * radius, [1.0] * 5, 3) == math.inf


# --- parity across backends and pytrees ----------------------------------------------------------------------------


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_backend_parity_float64(learner):
    rng = np.random.default_rng(1)
    grads = rng.standard_normal((80, 7)) * np.linspace(0.1, 3.0, 80)[:, None]
    hints = grads + 0.1 * rng.standard_normal(grads.shape)
    reference = play(learner, grads, lambda a: to_backend(a, "numpy"), hints)
    assert np.all(np.isfinite(reference))
    for backend in BACKENDS[1:]:
        got = play(learner, grads, lambda a: to_backend(a, backend), hints)
        assert max_rel_diff(got, reference) <= 1e-12, backend


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_pytree_equals_flat_vector(learner, backend):
    """A learner on a dict/list pytree plays exactly what it plays on the concatenated vector (global norms)."""
    rng = np.random.default_rng(2)
    grads = rng.standard_normal((40, 6))
    split = lambda v: {"a": to_backend(v[:2], backend), "b": [to_backend(v[2:3], backend), to_backend(v[3:], backend)]}
    flat = play(learner, grads, lambda a: to_backend(a, backend))
    state = learner.init(split(np.zeros(6)))
    plays = []
    for g in grads:
        delta = learner.predict(state)
        plays.append(np.concatenate([to_numpy(leaf) for leaf in tree.tree_leaves(delta)]))
        state = learner.update(state, split(g))
    assert np.allclose(np.stack(plays), flat, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("learner", LEARNERS, ids=IDS)
def test_state_holds_backend_arrays_only(learner):
    torch = pytest.importorskip("torch")
    state = learner.init(torch.zeros(3, dtype=torch.float64))
    state = learner.update(state, torch.ones(3, dtype=torch.float64))
    for leaf in tree.tree_leaves(state):
        assert isinstance(leaf, torch.Tensor), f"state leaf {leaf!r} is not a tensor"


# --- bad hyperparameters --------------------------------------------------------------------------------------------

BAD = [(f"{e.name}-{i}", e.factory, bad) for e in registry.entries() for i, bad in enumerate(e.bad_params)]


@pytest.mark.parametrize("factory,params", [(f, p) for _, f, p in BAD], ids=[i for i, _, _ in BAD])
def test_bad_hyperparameters_rejected_naming_the_parameter(factory, params):
    with pytest.raises((ValueError, TypeError)) as info:
        factory(**params)
    assert any(f"`{key}`" in str(info.value) or key in str(info.value) for key in params), str(info.value)


def test_every_registered_learner_has_examples_and_bad_params():
    for entry in registry.entries():
        assert entry.examples, entry.name
        assert entry.bad_params, entry.name


def test_unknown_learner_lists_close_matches():
    with pytest.raises(ValueError, match="ogd"):
        registry.get("ogdd", lr=0.1)


LAZY_OGD = [dict(lr=0.3, radius=0.5), dict(lr=0.3, radius=0.5, anytime=True), dict(lr=0.3)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("config", LAZY_OGD, ids=["radius", "radius_anytime", "unconstrained"])
def test_lazily_projected_ogd_plays_ogd_bit_for_bit_and_undoes_its_update(config, backend):
    """``OGD.lazily_projected()`` keeps v = Δ − ηg and the projection's factor: its plays are OGD's, bit for bit on
    every backend (float32 and float64, the projection binding at most steps), and ``previous_play`` recovers Δ_t
    from the new state and g_t within a few roundings."""
    from online_learners import OGD, LazilyProjectedOGD

    pytest.importorskip(backend)
    ogd = OGD(**config)
    lazy = ogd.lazily_projected()
    assert isinstance(lazy, LazilyProjectedOGD) and lazy.recovers_previous_play
    assert ogd.projects_lazily is (ogd.radius is not None)
    grads = np.random.default_rng(1).standard_normal((40, 2, 3))
    for dtype in ("float32", "float64"):
        def make(a, dtype=dtype):
            x = to_backend(a, backend)
            return x.astype(dtype) if hasattr(x, "astype") else x.to(getattr(__import__("torch"), dtype))

        zero = {"a": make(np.zeros((2, 3))), "b": make(np.zeros(2))}
        eager, lazy_state = ogd.init(zero), lazy.init(zero)
        bound = 0
        for g in grads:
            grad = {"a": make(g), "b": make(g[0, :2])}
            before = to_numpy(tree.tree_norm(ogd.predict(eager)))
            eager_next, lazy_next = ogd.update(eager, grad), lazy.update(lazy_state, grad)
            for k in ("a", "b"):
                assert np.array_equal(to_numpy(ogd.predict(eager_next)[k]), to_numpy(lazy.predict(lazy_next)[k]))
                recovered = to_numpy(lazy.previous_play(lazy_next, grad)[k])
                tol = 1e-5 if dtype == "float32" else 1e-13
                assert np.allclose(recovered, to_numpy(ogd.predict(eager)[k]), rtol=tol, atol=tol * max(before, 1))
            new_state, norm = lazy.rescale(lazy_next)  # a second rescale gives the same factor
            assert np.array_equal(to_numpy(new_state.scale), to_numpy(lazy_next.scale))
            bound += int(ogd.radius is not None and float(to_numpy(lazy_next.scale)) < 1)
            eager, lazy_state = eager_next, lazy_next
        assert ogd.radius is None or bound > 20  # the projection bound at most steps
    assert lazy.regret_bound(0.5, [1.0] * 10) == ogd.regret_bound(0.5, [1.0] * 10)


def test_lazily_projected_ogd_refuses_other_learners_and_subclasses_do_not_project_lazily():
    from online_learners import OGD, AdaGradNorm, LazilyProjectedOGD

    with pytest.raises(TypeError, match="ogd"):
        LazilyProjectedOGD(AdaGradNorm(radius=1.0))

    class Shrinking(OGD):
        def update(self, state, grad):
            return super().update(state, tree.tree_scale(grad, 0.5))

    assert not Shrinking(lr=0.1, radius=1.0).projects_lazily


def test_lazily_projected_ogd_keeps_its_scale_dtype_and_ogd_plays_on_mixed_and_empty_leaves():
    """Mixed float32/float64 leaves and a zero-size float64 leaf beside a bfloat16 one (jax's norm skips empty leaves,
    so its dtype can be narrower than ``init``'s scale): the scale keeps ``init``'s dtype, so ``lax.scan`` carries the
    state, and the plays equal OGD's operation by operation (no ``jit``)."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    from online_learners import OGD

    ogd = OGD(lr=0.5, radius=0.1)
    lazy = ogd.lazily_projected()
    rng = np.random.default_rng(2)
    with jax.enable_x64(True):
        for params in ({"a": jnp.zeros(4, jnp.float32), "b": jnp.zeros(3, jnp.float64)},
                       {"a": jnp.zeros(4, jnp.bfloat16), "b": jnp.zeros(0, jnp.float32)}):
            grads = [jax.tree_util.tree_map(lambda x: jnp.asarray(rng.standard_normal(x.shape), x.dtype), params)
                     for _ in range(6)]
            eager, state = ogd.init(params), lazy.init(params)
            dtype = state.scale.dtype
            for g in grads:
                eager, state = ogd.update(eager, g), lazy.update(state, g)
                assert state.scale.dtype == dtype
                for x, y in zip(jax.tree_util.tree_leaves(ogd.predict(eager)),
                                jax.tree_util.tree_leaves(lazy.predict(state))):
                    assert x.dtype == y.dtype and bool(jnp.array_equal(x, y))
            stacked = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *grads)
            final, _ = jax.lax.scan(lambda st, g: (lazy.update(st, g), None), lazy.init(params), stacked)
            assert final.scale.dtype == dtype


def test_a_zero_gradient_round_adds_nothing_to_the_elementary_bound_even_with_an_infinite_play_envelope():
    """COCOB's play envelope is infinite from round 1001 on; a zero gradient there gave 0·∞ = NaN."""
    from online_learners import COCOB
    from online_learners._ops import elementary_bound

    assert elementary_bound(1.0, [4.0, 0.0, 1.0], [1.0, math.inf, 2.0]) == 2 * (1 + 1) + 1 * (2 + 1)
    bound = COCOB().regret_bound(1.0, [1.0] * 1000 + [0.0], dim=2)
    assert not math.isnan(bound) and bound == COCOB().regret_bound(1.0, [1.0] * 1000, dim=2)


@pytest.mark.parametrize("form", ["single_projection", "two_projection"])
def test_restarting_passes_the_rounds_hint_to_the_inner_update(form):
    """Within a block, ``Restarting(OptimisticOGD)`` plays the bare learner's plays when both are given the hints:
    the single-projection form's update replays its hinted play, which ``Restarting`` used to drop."""
    from online_learners import OptimisticOGD, Restarting

    bare = OptimisticOGD(lr=0.1, radius=1.0, form=form)
    wrapped = Restarting(bare, period=1000)
    rng = np.random.default_rng(0)
    sb, sw, hint = bare.init(np.zeros(3)), wrapped.init(np.zeros(3)), np.zeros(3)
    for _ in range(50):
        g = rng.standard_normal(3)
        np.testing.assert_array_equal(bare.predict(sb, hint), wrapped.predict(sw, hint))
        sb = bare.update(sb, g, hint=hint)
        sw = wrapped.update(sw, g, hint=hint)
        hint = g


def test_ball_constraint_takes_the_surrogate_at_the_hinted_inner_play():
    """The reduction's bound needs the surrogate at the x̂_t whose projection was played: with a hint that puts the
    inner play outside the ball while the hint-free one is inside, the update uses the outward normal at the hinted
    play (it used the hint-free play, whose surrogate was g/2)."""
    from online_learners import BallConstraint, OptimisticOGD

    inner = OptimisticOGD(lr=1.0, form="single_projection")
    learner = BallConstraint(inner, radius=1.0)
    state = learner.init(np.zeros(2))
    hint = np.array([-3.0, 0.0])
    raw = inner.predict(state.inner, hint)
    assert np.linalg.norm(raw) > 1.0 and np.linalg.norm(inner.predict(state.inner)) <= 1.0
    grad = np.array([0.0, 2.0])
    normal = (raw - raw / np.linalg.norm(raw)) / np.linalg.norm(raw - raw / np.linalg.norm(raw))
    surrogate = 0.5 * (grad + np.linalg.norm(grad) * normal)
    expected = inner.update(state.inner, surrogate, hint=hint)
    got = learner.update(state, grad, hint=hint).inner
    np.testing.assert_allclose(got.base, expected.base, rtol=1e-15, atol=1e-15)


def _at_the_bound(d, steps, seed):
    """Gradient streams of norm exactly G = 1 (the bettors' coins at ±1, where KT's potential step is tight): 20
    rounds one way and 20 back (longer same-sign runs make the float64 plays' rounding, ε·2^n, exceed the bound's
    slack: see ``online_learners.base``), blocks of 10, alternating, constant and random directions."""
    rng = np.random.default_rng(seed)
    unit = np.ones(d) / np.sqrt(d)
    signs = {
        "reversal": [1.0] * 20 + [-1.0] * 20,  # KT's bound is met with equality at u = 0 here
        "blocks": [1.0 if (t // 10) % 2 == 0 else -1.0 for t in range(steps)],
        "alternating": [(-1.0) ** t for t in range(steps)],
        "constant": [1.0] * steps,
    }
    out = {name: np.array([s * unit for s in row]) for name, row in signs.items()}
    random = rng.standard_normal((steps, d))
    out["random directions"] = random / np.linalg.norm(random, axis=1, keepdims=True)
    return out


def _bettors_at_the_bound():
    from online_learners import (
        KT,
        OGD,
        BallConstraint,
        DirectionMagnitude,
        FreeGrad,
        ONSBettor,
        ParameterFreeMirrorDescent,
        Restarting,
    )

    return [KT(lipschitz=1.0), KT(eps=0.1, lipschitz=1.0), ONSBettor(lipschitz=1.0), FreeGrad(lipschitz=1.0),
            FreeGrad(lipschitz=1.0, coordinatewise=True), ParameterFreeMirrorDescent(eps=1.0),
            DirectionMagnitude(KT(lipschitz=1.0), OGD(lr=0.1, radius=1.0)),
            BallConstraint(KT(lipschitz=1.0), radius=0.5), Restarting(KT(lipschitz=1.0), period=30)]


@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("learner", _bettors_at_the_bound(), ids=repr)
def test_bettors_meet_their_bounds_with_gradients_at_the_bound(learner, d):
    """The bettors with coins at ±1 (‖g_t‖ = G = 1, where the registry's examples with G = 100 keep the coins
    small), a dense grid of comparator norms against the worst direction, and the losses summed exactly
    (``math.fsum``)."""
    for name, grads in _at_the_bound(d, 120, seed=d).items():
        plays = play(learner, grads, lambda a: a.copy())
        loss = math.fsum((grads * plays).ravel().tolist())
        total = float(np.linalg.norm(grads.sum(axis=0)))
        sq = np.sum(grads**2, axis=1)
        radius = getattr(learner, "radius", None)
        for r in np.linspace(0.0, radius if radius is not None else 10.0, 41):
            regret = loss + float(r) * total
            bound = regret_bound(learner, float(r), sq, d)
            assert regret <= bound + 1e-9 * (1 + abs(bound)), f"{name}, ‖u‖={r}: regret {regret:.9g} > {bound:.9g}"
