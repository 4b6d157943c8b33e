"""Bad input to the two shells: ``o2nc.torch.O2NC`` (constructor arguments, ``load_state_dict``) and
``o2nc.jax.o2nc`` (constructor arguments, non-finite gradients and lr under and outside ``jit``). Every error is a
ValueError/TypeError naming the parameter; a refused state dict changes nothing; a non-finite optax update is
skipped and counted, never returned as NaN. A generated (hypothesis) part tries ~60 bad constructor arguments."""
from __future__ import annotations

import collections
import copy
import math

import numpy as np
import pytest

from online_learners import KT, OGD

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from o2nc.jax import o2nc, o2nc_diagnostics  # noqa: E402
from o2nc.torch import O2NC  # noqa: E402

NAN, INF = float("nan"), float("inf")


# ------------------------------------------------------------------------------------------------------------------
# torch: constructor arguments


def torch_params():
    return [torch.zeros(3, requires_grad=True)]


@pytest.mark.parametrize(
    "kwargs,error,name",
    [
        (dict(lr=INF), ValueError, "lr"),
        (dict(lr=NAN), ValueError, "lr"),
        (dict(lr=-1.0), ValueError, "lr"),
        (dict(lr=np.float32("nan")), ValueError, "lr"),
        (dict(lr=np.array(-0.5)), ValueError, "lr"),
        (dict(lr=torch.tensor(INF)), ValueError, "lr"),
        (dict(lr=torch.tensor(-1.0)), ValueError, "lr"),
        (dict(lr=torch.tensor([0.1, 0.2])), ValueError, "lr"),
        (dict(lr="0.1"), TypeError, "lr"),
        (dict(lr=True), TypeError, "lr"),
        (dict(lr=1j), TypeError, "lr"),
        (dict(epoch_length=0), ValueError, "epoch_length"),
        (dict(epoch_length=-3), ValueError, "epoch_length"),
        (dict(epoch_length=2.5), TypeError, "epoch_length"),
        (dict(epoch_length=10.0), TypeError, "epoch_length"),
        (dict(epoch_length="10"), TypeError, "epoch_length"),
        (dict(epoch_length=True), TypeError, "epoch_length"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed=2**64), ValueError, "seed"),
        (dict(seed="a"), TypeError, "seed"),
        (dict(seed=1.5), TypeError, "seed"),
        (dict(seed=True), TypeError, "seed"),
        (dict(restart="no"), TypeError, "restart"),
        (dict(restart=1), TypeError, "restart"),
        (dict(restart=None), TypeError, "restart"),
        (dict(store_anchor="yes"), TypeError, "store_anchor"),
        (dict(check_finite=0), TypeError, "check_finite"),
        (dict(foreach="no"), TypeError, "foreach"),
        (dict(averaging=("ema", NAN)), ValueError, "averaging"),
        (dict(averaging="window"), ValueError, "averaging"),
    ],
)
def test_torch_constructor_refuses_bad_arguments_naming_them(kwargs, error, name):
    with pytest.raises(error) as info:
        O2NC(torch_params(), learner=OGD(lr=0.1), **kwargs)
    message = str(info.value)
    assert name in message or (name == "lr" and "learning rate" in message), message


def test_torch_checks_the_defaults_before_optimizer_init():
    """torch's own test cases expect ``ValueError`` for an invalid lr from the constructor: raised before
    ``torch.optim.Optimizer.__init__`` (which would say "empty parameter list" here)."""
    with pytest.raises(ValueError, match="Invalid learning rate"):
        O2NC([], learner=OGD(lr=0.1), lr=-0.5)
    with pytest.raises(ValueError, match="epoch_length"):
        O2NC([], learner=OGD(lr=0.1), epoch_length=0)
    with pytest.raises(TypeError, match="restart"):
        O2NC([], learner=OGD(lr=0.1), restart="no")
    with pytest.raises(TypeError, match="learner"):
        O2NC([], learner=object())


def test_torch_group_overrides_are_checked_naming_the_group():
    params = torch_params()
    with pytest.raises(ValueError, match=r"learning rate in param group 1"):
        O2NC([{"params": params}, {"params": [torch.zeros(2, requires_grad=True)], "lr": INF}], learner=OGD(lr=0.1))
    opt = O2NC(params, learner=OGD(lr=0.1))
    with pytest.raises(TypeError, match="restart"):
        opt.add_param_group({"params": [torch.zeros(2, requires_grad=True)], "restart": "no"})
    assert len(opt.param_groups) == 1


def test_torch_accepts_numpy_scalars_and_0d_arrays():
    opt = O2NC(torch_params(), learner=OGD(lr=0.1), lr=np.float32(0.5), epoch_length=np.int64(4),
               restart=np.bool_(False), seed=np.uint64(3))
    group = opt.param_groups[0]
    assert group["lr"] == 0.5 and type(group["lr"]) is float
    assert group["epoch_length"] == 4 and type(group["epoch_length"]) is int
    assert group["restart"] is False
    assert O2NC(torch_params(), learner=OGD(lr=0.1), lr=np.array(0.25)).param_groups[0]["lr"] == 0.25


# ------------------------------------------------------------------------------------------------------------------
# torch: load_state_dict


def model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()


def trained(m, steps=4, **kwargs):
    kwargs.setdefault("learner", OGD(lr=0.05))
    kwargs.setdefault("epoch_length", 3)
    opt = O2NC(m.named_parameters(), generator=torch.Generator().manual_seed(1), **kwargs)
    x = torch.linspace(-1, 1, 15, dtype=torch.float64).reshape(5, 3)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(m(x), torch.ones(5, 1, dtype=torch.float64)).backward()
        opt.step()
    return opt


def same_state(a: dict, b: dict) -> bool:
    """Two state dicts hold the same values (NaN equal to NaN)."""
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, dict):
            if not isinstance(y, dict) or not same_state(x, y):
                return False
        elif isinstance(x, torch.Tensor):
            if not isinstance(y, torch.Tensor) or x.dtype != y.dtype or x.shape != y.shape:
                return False
            if not torch.equal(torch.nan_to_num(x, nan=12345.0), torch.nan_to_num(y, nan=12345.0)):
                return False
        elif isinstance(x, list):
            if not isinstance(y, list) or len(x) != len(y):
                return False
            if not all(same_state({0: u}, {0: v}) for u, v in zip(x, y)):
                return False
        elif not (x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))):
            return False
    return True


def corrupt(sd, index, key, value=None, drop=False):
    sd = copy.deepcopy(sd)
    if drop:
        del sd["state"][index][key]
    else:
        sd["state"][index][key] = value
    return sd


def corrupt_group(sd, key, value=None, drop=False, group=0):
    sd = copy.deepcopy(sd)
    if drop:
        del sd["param_groups"][group]["group_state"][key]
    else:
        sd["param_groups"][group]["group_state"][key] = value
    return sd


def nan_at(t):
    t = t.clone()
    t.view(-1)[0] = NAN
    return t


BAD_STATES = {
    # name: (build from the good state dict, parameter named in the error, entry named in the error)
    "nan learner state": (lambda sd: corrupt(sd, 1, "learner.delta", nan_at(sd["state"][1]["learner.delta"])),
                          "'0.bias'", "learner.delta"),
    "inf epoch sum": (lambda sd: corrupt(sd, 2, "g_sum", sd["state"][2]["g_sum"] * INF), "'2.weight'", "g_sum"),
    "nan lag": (lambda sd: corrupt(sd, 3, "lag", NAN), "'2.bias'", "lag"),
    "nan path": (lambda sd: corrupt_group(sd, "path", torch.tensor(NAN, dtype=torch.float64)), "param group 0",
                 "'path'"),
    "wrong shape": (lambda sd: corrupt(sd, 2, "learner.delta", torch.zeros(4, dtype=torch.float64)), "'2.weight'",
                    "learner.delta"),
    "wrong shape shared": (lambda sd: corrupt_group(sd, "learner.count", torch.zeros(2, dtype=torch.int64)),
                           "param group 0", "learner.count"),
    "missing entry": (lambda sd: corrupt(sd, 3, "learner.delta", drop=True), "'2.bias'", "learner.delta"),
    "missing epoch sum": (lambda sd: corrupt(sd, 1, "w_sum", drop=True), "'0.bias'", "w_sum"),
    "missing group counter": (lambda sd: corrupt_group(sd, "step", drop=True), "param group 0", "'step'"),
    "extra entry": (lambda sd: corrupt(sd, 2, "momentum_buffer", torch.zeros(1, 4, dtype=torch.float64)),
                    "'2.weight'", "momentum_buffer"),
    "group entry in a parameter's state": (lambda sd: corrupt(sd, 1, "step", 3), "'0.bias'", "'step'"),
    "float learner counter": (lambda sd: corrupt_group(sd, "learner.count", torch.tensor(4.0)), "param group 0",
                              "learner.count"),
    "int32 learner counter": (lambda sd: corrupt_group(sd, "learner.count", torch.tensor(4, dtype=torch.int32)),
                              "param group 0", "learner.count"),
    "fractional step": (lambda sd: corrupt_group(sd, "step", 2.5), "param group 0", "'step'"),
    "negative epochs": (lambda sd: corrupt_group(sd, "epochs", -1), "param group 0", "'epochs'"),
    "integer epoch sum": (lambda sd: corrupt(sd, 1, "w_sum", torch.zeros(4, dtype=torch.int64)), "'0.bias'", "w_sum"),
    "complex learner state": (lambda sd: corrupt(sd, 1, "learner.delta", torch.zeros(4, dtype=torch.complex128)),
                              "'0.bias'", "learner.delta"),
    "inf certificate": (lambda sd: corrupt_group(sd, "certificate", torch.tensor(INF, dtype=torch.float64)),
                        "param group 0", "'certificate'"),
    "no state for one parameter": (lambda sd: (lambda c: (c["state"].pop(3), c)[1])(copy.deepcopy(sd)), "'2.bias'",
                                   "no state"),
}


@pytest.mark.parametrize("case", sorted(BAD_STATES))
def test_torch_load_state_dict_refuses_bad_state_and_changes_nothing(case):
    build, parameter, entry = BAD_STATES[case]
    good = trained(model(), averaging="epoch").state_dict()
    m = model()
    opt = trained(m, steps=2, averaging="epoch")
    before = copy.deepcopy(opt.state_dict())
    weights = [p.detach().clone() for p in m.parameters()]
    with pytest.raises(ValueError) as info:
        opt.load_state_dict(build(good))
    message = str(info.value)
    assert parameter in message and entry in message, message
    assert same_state(opt.state_dict(), before)
    assert all(torch.equal(p, w) for p, w in zip(m.parameters(), weights))
    opt.load_state_dict(good)  # the optimizer still loads a good one
    assert same_state(opt.state_dict(), good)


@pytest.mark.parametrize(
    "change,match",
    [
        (lambda sd: sd["param_groups"][0].__setitem__("lr", NAN), "lr"),
        (lambda sd: sd["param_groups"][0].__setitem__("epoch_length", 0), "epoch_length"),
        (lambda sd: sd["param_groups"][0].__setitem__("restart", "no"), "restart"),
        (lambda sd: sd["param_groups"][0].__setitem__("params", [0, 1]), "parameters"),
        (lambda sd: sd["o2nc"].__setitem__("seed", 7), "seed"),
        (lambda sd: sd["o2nc"].__setitem__("s", NAN), "'s'"),
        (lambda sd: sd["o2nc"].__setitem__("draws", -2), "draws"),
        (lambda sd: sd["o2nc"].__setitem__("generator_state", torch.zeros(3, dtype=torch.uint8)), "generator_state"),
        (lambda sd: sd["state"].__setitem__(17, {"lag": 0.0}), "17"),
    ],
)
def test_torch_load_state_dict_refuses_bad_groups_and_o2nc_entries(change, match):
    good = trained(model()).state_dict()
    opt = trained(model(), steps=1)
    before = copy.deepcopy(opt.state_dict())
    bad = copy.deepcopy(good)
    change(bad)
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(bad)
    assert same_state(opt.state_dict(), before)


def test_torch_load_keeps_integer_counters_and_a_pre_hook_can_adapt_an_old_checkpoint():
    good = trained(model(), learner=KT(), steps=5).state_dict()
    old = copy.deepcopy(good)
    old["param_groups"][0]["group_state"]["old.count"] = old["param_groups"][0]["group_state"].pop("learner.count")

    def adapt(optimizer, sd):  # an "old" layout, adapted by a pre-hook
        sd["param_groups"] = [dict(g, group_state=dict(g["group_state"])) for g in sd["param_groups"]]
        gstate = sd["param_groups"][0]["group_state"]
        if "old.count" in gstate:
            gstate["learner.count"] = gstate.pop("old.count")
        return sd

    posted = []
    opt = O2NC(model().parameters(), learner=KT(), epoch_length=3)
    with pytest.raises(ValueError, match="missing entry group_state .learner.count"):
        opt.load_state_dict(old)
    opt.register_load_state_dict_pre_hook(adapt)
    opt.register_load_state_dict_post_hook(lambda o: posted.append(o.state_dict()["o2nc"]["draws"]))
    opt.load_state_dict(old)
    assert posted == [good["o2nc"]["draws"]]  # the post-hook runs once, after the O2NC entries are in place
    count = opt.state_dict()["param_groups"][0]["group_state"]["learner.count"]
    assert count.dtype == torch.int64 and int(count) == int(good["param_groups"][0]["group_state"]["learner.count"])
    assert same_state(opt.state_dict(), good)


# ------------------------------------------------------------------------------------------------------------------
# optax: constructor arguments


@pytest.mark.parametrize(
    "kwargs,error,name",
    [
        (dict(learning_rate=INF), ValueError, "learning_rate"),
        (dict(learning_rate=NAN), ValueError, "learning_rate"),
        (dict(learning_rate=-1), ValueError, "learning_rate"),
        (dict(learning_rate=-1.0), ValueError, "learning_rate"),
        (dict(learning_rate=np.float32("inf")), ValueError, "learning_rate"),
        (dict(learning_rate=np.array(NAN)), ValueError, "learning_rate"),
        (dict(learning_rate=jnp.asarray(-0.5)), ValueError, "learning_rate"),
        (dict(learning_rate=jnp.ones(2)), ValueError, "learning_rate"),
        (dict(learning_rate="0.1"), TypeError, "learning_rate"),
        (dict(learning_rate=None), TypeError, "learning_rate"),
        (dict(learning_rate=True), TypeError, "learning_rate"),
        (dict(learning_rate=1j), TypeError, "learning_rate"),
        (dict(epoch_length=0), ValueError, "epoch_length"),
        (dict(epoch_length=-3), ValueError, "epoch_length"),
        (dict(epoch_length=2.5), ValueError, "epoch_length"),
        (dict(epoch_length="10"), TypeError, "epoch_length"),
        (dict(epoch_length=True), TypeError, "epoch_length"),
        (dict(epoch_length=jnp.asarray(0)), ValueError, "epoch_length"),
        (dict(epoch_length=jnp.asarray(5.0)), TypeError, "epoch_length"),
        (dict(restart="no"), TypeError, "restart"),
        (dict(restart=1), TypeError, "restart"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(seed="a"), TypeError, "seed"),
        (dict(seed=1.5), TypeError, "seed"),
        (dict(key=-3), ValueError, "key"),
        (dict(key=1.5), TypeError, "key"),
        (dict(key="abc"), TypeError, "key"),
        (dict(averaging=("ema", NAN)), ValueError, "averaging"),
        (dict(averaging=("ema", "high")), TypeError, "averaging"),
        (dict(store_anchor="yes"), TypeError, "store_anchor"),
        (dict(scaling="gaussian"), ValueError, "scaling"),
        (dict(scaling=[0.5, NAN]), ValueError, "scaling"),
        (dict(scaling=[0.5, 2.0]), ValueError, "scaling"),
    ],
)
def test_optax_constructor_refuses_bad_arguments_naming_them(kwargs, error, name):
    # epoch_length=2.5: a float is refused (TypeError since this change; ValueError is accepted as the older class)
    with pytest.raises((error, TypeError) if error is ValueError and name == "epoch_length" else error) as info:
        o2nc(OGD(lr=0.1), **kwargs)
    assert name in str(info.value), str(info.value)


def test_optax_accepts_numpy_scalars_and_arrays():
    for lr in (np.float32(0.5), np.array(0.5), jnp.asarray(0.5), 1):
        o2nc(OGD(lr=0.1), learning_rate=lr, epoch_length=np.int32(3), restart=np.bool_(True))


# ------------------------------------------------------------------------------------------------------------------
# optax: non-finite gradients and lr are skipped and counted


def params0():
    return {"w": jnp.linspace(-1.0, 1.0, 6).reshape(3, 2), "b": jnp.ones((2,))}


def grad_fn(p):
    return jax.grad(lambda q: jnp.sum(jnp.abs(q["w"] - 0.3)) + 0.5 * jnp.sum(q["b"] ** 2))(p)


def leaves_equal(a, b):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    if len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        if not bool(jnp.array_equal(x, y, equal_nan=True)):
            return False
    return True


def without_counter(state):
    return state._replace(nonfinite=None)


BAD_GRADS = {
    "nan": lambda g: {**g, "w": g["w"].at[1, 0].set(jnp.nan)},
    "inf": lambda g: {**g, "b": g["b"].at[0].set(jnp.inf)},
    "-inf everywhere": lambda g: jax.tree_util.tree_map(lambda x: jnp.full_like(x, -jnp.inf), g),
}


@pytest.mark.parametrize("bad,jit", [(b, True) for b in sorted(BAD_GRADS)] + [("nan", False)],
                         ids=[f"{b}-jit" for b in sorted(BAD_GRADS)] + ["nan-eager"])
@pytest.mark.parametrize(
    "config",
    [dict(learner=OGD(lr=0.1)), dict(learner=OGD(lr=0.1, radius=1.0), averaging="epoch"),
     dict(learner=KT(), averaging=("ema", 0.9)), dict(learner=OGD(lr=0.1), seed=3, scaling="exponential")],
    ids=["ogd", "ogd-ball-epoch", "kt-ema", "seeded-exponential"],
)
def test_optax_nonfinite_gradient_skips_the_update_and_counts_it(config, bad, jit):
    tx = o2nc(epoch_length=3, **config)
    update = jax.jit(tx.update) if jit else tx.update
    params, state = params0(), tx.init(params0())
    ref_params, ref_state = params, state
    for n in range(7):
        if n == 3:  # a non-finite gradient mid-run (just after an epoch end: a pending restart is kept)
            assert int(state.count) == 3 and bool(state.restart_due)
            updates, new_state = update(BAD_GRADS[bad](grad_fn(params)), state, params)
            assert all(bool(jnp.all(u == 0)) for u in jax.tree_util.tree_leaves(updates))
            assert int(o2nc_diagnostics(new_state)["nonfinite_steps"]) == 1
            assert leaves_equal(without_counter(new_state), without_counter(state))
            state = new_state
        updates, state = update(grad_fn(params), state, params)
        params = optax.apply_updates(params, updates)
        ref_updates, ref_state = update(grad_fn(ref_params), ref_state, ref_params)
        ref_params = optax.apply_updates(ref_params, ref_updates)
        # the next finite update proceeds as if the skipped one had never been made
        assert leaves_equal(params, ref_params), n
        assert leaves_equal(without_counter(state), without_counter(ref_state)), n
        assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree_util.tree_leaves(updates))
    assert int(o2nc_diagnostics(state)["nonfinite_steps"]) == 1
    assert int(o2nc_diagnostics(state)["step"]) == 7


def test_optax_nonfinite_first_update_and_counter_in_a_scan():
    tx = o2nc(OGD(lr=0.1), epoch_length=4)
    params = params0()
    state = tx.init(params)
    nan_grads = jax.tree_util.tree_map(lambda x: jnp.full_like(x, jnp.nan), params)
    updates, state1 = tx.update(nan_grads, state, params)  # the very first update
    assert int(state1.count) == 0 and int(state1.nonfinite) == 1
    assert leaves_equal(without_counter(state1), without_counter(state))

    def body(carry, bad):
        p, s = carry
        g = grad_fn(p)
        g = jax.tree_util.tree_map(lambda x: jnp.where(bad, jnp.nan, x), g)
        u, s = tx.update(g, s, p)
        return (optax.apply_updates(p, u), s), None

    flags = jnp.asarray([False, True, False, True, True, False])
    (p, s), _ = jax.lax.scan(body, (params, state), flags)
    assert int(s.nonfinite) == 3 and int(s.count) == 3
    assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree_util.tree_leaves(p))


@pytest.mark.parametrize("config", [dict(learner=OGD(lr=0.1)),
                                    dict(learner=OGD(lr=0.1, radius=0.05), averaging="epoch")],
                         ids=["ogd", "ogd-ball-epoch"])
def test_optax_vmap_skips_only_the_members_with_a_nonfinite_gradient(config):
    """Under vmap the skip is a select per member; with a radius the lazily projected learner's two passes are
    selected per member too: the skipped member's state is unchanged bit for bit, across a pending restart."""
    tx = o2nc(epoch_length=2, seed=0, **config)
    params = params0()
    batch = jax.tree_util.tree_map(lambda x: jnp.stack([x, x, x]), params)
    states = jax.vmap(tx.init)(batch)
    update = jax.jit(jax.vmap(tx.update))
    for _ in range(2):  # an epoch: the next update has a restart pending
        updates, states = update(jax.vmap(grad_fn)(batch), states, batch)
        batch = optax.apply_updates(batch, updates)
    before = states
    grads = jax.vmap(grad_fn)(batch)
    grads = {**grads, "w": grads["w"].at[1, 0, 0].set(jnp.nan)}
    updates, states = update(grads, states, batch)
    assert [int(c) for c in states.nonfinite] == [0, 1, 0]
    assert [int(c) for c in states.count] == [3, 2, 3]
    assert bool(jnp.all(updates["w"][1] == 0)) and not bool(jnp.all(updates["w"][0] == 0))
    assert all(bool(jnp.all(jnp.isfinite(u))) for u in jax.tree_util.tree_leaves(updates))
    member = lambda tree, i: jax.tree_util.tree_map(lambda x: x[i], tree)  # noqa: E731
    assert leaves_equal(without_counter(member(states, 1)), without_counter(member(before, 1)))


def test_optax_traced_lr_that_is_not_finite_skips_the_update_without_recompiling():
    """``inject_hyperparams``: lr is traced in the jitted update, so it cannot be checked at construction; an
    inf/NaN/negative lr skips the update (counted), and going back to a good lr proceeds, with one compilation."""
    calls = {"n": 0}
    tx = optax.inject_hyperparams(o2nc, static_args=("epoch_length",))(
        learner=OGD(lr=0.1), learning_rate=0.5, epoch_length=3
    )

    def counted(*args):
        calls["n"] += 1
        return tx.update(*args)

    update = jax.jit(counted)
    params = params0()
    state = tx.init(params)
    for lr, skipped in ((0.5, 0), (INF, 1), (NAN, 2), (-1.0, 3), (0.25, 3)):
        state.hyperparams["learning_rate"] = jnp.asarray(lr, state.hyperparams["learning_rate"].dtype)
        updates, state = update(grad_fn(params), state, params)
        params = optax.apply_updates(params, updates)
        assert int(o2nc_diagnostics(state)["nonfinite_steps"]) == skipped
        assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree_util.tree_leaves(params))
    assert int(o2nc_diagnostics(state)["step"]) == 2
    assert calls["n"] == 1
    with pytest.raises(ValueError, match="learning_rate"):  # a concrete bad lr is refused where it is built (init)
        optax.inject_hyperparams(o2nc)(learner=OGD(lr=0.1), learning_rate=INF).init(params)


# ------------------------------------------------------------------------------------------------------------------
# generated bad constructor arguments (hypothesis)

_BAD_FLOATS = st.one_of(
    st.sampled_from([NAN, INF, -INF]),
    st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False),
)
_NOT_NUMBERS = st.sampled_from(["0.1", "", None, [0.1], (1,), {}, 1j, b"1", object()])
_NOT_BOOLS = st.one_of(st.sampled_from(["no", "yes", "", None, 0, 1, 0.0, [True]]), st.integers(2, 10))

_ARGS = {
    "lr": st.one_of(
        _BAD_FLOATS,
        _BAD_FLOATS.map(np.float64),
        _BAD_FLOATS.map(np.array),
        _NOT_NUMBERS,
        st.booleans(),
        st.integers(max_value=-1),
    ),
    "epoch_length": st.one_of(
        st.integers(max_value=0),
        st.integers(max_value=0).map(np.int64),
        st.floats(allow_nan=True, allow_infinity=True),
        _NOT_NUMBERS,
        st.booleans(),
    ),
    "seed": st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=2**64, max_value=2**80),
        st.floats(allow_nan=True),
        st.sampled_from(["a", "1", 1j, [1]]),
        st.booleans(),
    ),
    "restart": _NOT_BOOLS,
    "store_anchor": _NOT_BOOLS.filter(lambda v: v is not None),
    "averaging": st.one_of(
        st.text(max_size=8).filter(lambda s: s != "epoch"),
        st.tuples(st.just("ema"), st.one_of(st.floats().filter(lambda b: not 0 <= b < 1), _NOT_NUMBERS)),
        st.tuples(st.sampled_from(["EMA", "avg", 1]), st.floats(0, 0.9)),
    ),
    "scaling": st.one_of(
        st.text(max_size=10).filter(lambda s: s not in ("uniform", "exponential", "none", "midpoint")),
        st.lists(st.sampled_from([NAN, INF, -INF]), min_size=1, max_size=3).map(lambda v: [0.5] + v),
        st.just([]),
        st.just([[0.5, 0.5]]),
    ),
}


def _classify(build, name):
    """'clear' (ValueError/TypeError naming the parameter), 'unclear' (another error, or one that does not name
    it) or 'silent' (accepted)."""
    try:
        build()
    except (ValueError, TypeError) as err:
        message = str(err)
        named = name in message or (name == "lr" and "learning rate" in message)
        return "clear" if named else "unclear", f"{type(err).__name__}: {message}"
    except Exception as err:  # noqa: BLE001 - counted as unclear, and reported
        return "unclear", f"{type(err).__name__}: {err}"
    return "silent", "accepted"


TALLY: collections.Counter = collections.Counter()


@settings(max_examples=60, derandomize=True, deadline=None)
@given(shell=st.sampled_from(["torch", "optax"]), data=st.data())
def test_generated_bad_constructor_arguments_get_clear_errors(shell, data):
    name = data.draw(st.sampled_from(sorted(_ARGS)), label="parameter")
    value = data.draw(_ARGS[name], label="value")
    if shell == "optax" and name == "lr":
        name = "learning_rate"  # the optax shell's name (optax's own); ``lr`` is its deprecated alias
    # epoch_length=None is the optax shell's default (100, or the default learner's T)
    assume(not (shell == "optax" and name == "epoch_length" and value is None))
    kwargs = {name: value}
    if shell == "torch":
        build = lambda: O2NC([torch.zeros(2, requires_grad=True)], learner=OGD(lr=0.1), **kwargs)  # noqa: E731
    else:
        build = lambda: o2nc(OGD(lr=0.1), **kwargs)  # noqa: E731
    outcome, detail = _classify(build, name)
    TALLY["tried"] += 1
    TALLY[outcome] += 1
    TALLY[f"{shell}:{outcome}"] += 1
    assert outcome == "clear", f"{shell} {name}={value!r}: {outcome} ({detail})"
