"""Sweeps over objectives that follow each run's (ε, δ) (the hard instance), theory constants read from the
objective, and baselines of o2nc.baselines as sweep methods."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from o2nc.experiments import SpecError, Store, load_spec, run_config, run_sweep
from tests import test_experiments_toys as toys

HERE = Path(__file__).resolve().parent
TOY = toys.scaled_norm  # a factory passed from Python (spec files name registered objectives only)


@pytest.fixture(autouse=True)
def _toys_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


def spec(**over):
    d = {"name": "m", "seeds": [0], "deltas": [0.1, 0.05],
         "measure": {"budgets": [400], "epsilons": [0.6, 0.4], "max_queries": 20000},
         "objectives": [{"name": TOY, "params": {"dim": 3}}],
         "methods": [{"name": "o2nc-ogd", "learner": "ogd"}]}
    d.update(over)
    return d


def bank_has(name):
    try:
        import objectives
        return name in objectives.names()
    except Exception:
        return False


# ------------------------------------------------------------------------------------------------ placeholders


def test_parameters_follow_each_runs_epsilon_and_delta():
    sp = load_spec(spec(objectives=[{"name": TOY, "label": "follow", "params": {"dim": 3, "a": "$epsilon"}},
                                    {"name": TOY, "label": "fixed", "params": {"dim": 3, "a": "$delta"}}]))
    runs = [r.config for r in sp.runs()]
    follow = [c for c in runs if c["objective"]["label"] == "follow"]
    fixed = [c for c in runs if c["objective"]["label"] == "fixed"]
    assert {c["measure"] for c in follow} == {"epsilon"}  # no ε in a budget run: epsilon runs only
    assert len(follow) == 4 and len(fixed) == 6
    for c in follow[:2] + [c for c in fixed if c["measure"] == "budget"][:1]:
        res = run_config(c)
        want = c["epsilon"] if c["objective"]["label"] == "follow" else c["delta"]
        assert res["lipschitz_declared"] == want  # the toy's Lipschitz constant is its parameter a


@pytest.mark.parametrize("change, field", [
    ({"objectives": [{"name": TOY, "params": {"a": "$eps"}}]}, "objectives[0].params.a"),
    ({"objectives": [{"name": TOY, "params": {"a": "$epsilon"}}], "measure": {"budgets": [400]}},
     "objectives[0].params"),
    ({"objectives": [{"name": TOY, "params": {"a": "$epsilon"}}],
      "measure": {"epsilons": [0.5], "max_queries": 100, "epsilon_scale": "lipschitz"}},
     "objectives[0].epsilon_scale"),
    ({"objectives": [{"name": TOY, "epsilon_scale": "relative"}]}, "objectives[0].epsilon_scale"),
    ({"objectives": [{"name": TOY, "max_queries": 0}]}, "objectives[0].max_queries"),
    ({"methods": [{"learner": "ogd", "learner_params": {"lr": "$epsilon"}}]}, "methods[0].learner_params"),
])
def test_placeholder_errors_name_the_field(change, field):
    with pytest.raises(SpecError) as ei:
        load_spec(spec(**change))
    assert f"{field}:" in str(ei.value)


def test_per_objective_cap_and_scale_are_in_the_config():
    sp = load_spec(spec(measure={"epsilons": [0.5], "max_queries": 1000, "epsilon_scale": "lipschitz"},
                        objectives=[{"name": TOY, "label": "a", "params": {"a": 2.0}},
                                    {"name": TOY, "label": "b", "params": {"a": 2.0}, "max_queries": 300,
                                     "epsilon_scale": "absolute"}]))
    by = {c["objective"]["label"]: c for c in (r.config for r in sp.runs()) if c["delta"] == 0.1}
    assert (by["a"]["max_queries"], by["a"]["epsilon_scale"]) == (1000, "lipschitz")
    assert (by["b"]["max_queries"], by["b"]["epsilon_scale"]) == (300, "absolute")
    assert run_config(by["a"])["epsilon_abs"] == 1.0 and run_config(by["b"])["epsilon_abs"] == 0.5


# ------------------------------------------------------------------------------------------------ theory constants


def test_gap_from_the_objectives_bound_and_noise_in_G():
    from o2nc.theory import ogd_parameters

    c = next(r.config for r in load_spec(spec(objectives=[{"name": TOY, "params": {"gap_bound": 7.5}}])).runs()
             if r.config["measure"] == "budget")
    res = run_config(c)
    assert res["gap_source"] == "gap_bound" and res["gap"] == 7.5
    assert res["epoch_length"] == ogd_parameters(400, c["delta"], 1.0, 7.5).epoch_length
    # a stochastic run: E‖g‖² ≤ a² + σ² d, so G = √(a² + σ² d) sets the step
    c = next(r.config for r in load_spec(spec(objectives=[{"name": TOY, "params": {
        "dim": 3, "a": 1.0, "noise": 2.0, "declare_noise": True}}])).runs() if r.config["measure"] == "budget")
    res = run_config(c)
    assert res["oracle"] == "stochastic" and res["noise_variance"] == 12.0
    assert res["lipschitz"] == pytest.approx(math.sqrt(13.0), rel=1e-15)
    assert res["sigma"] == pytest.approx(math.sqrt(12.0), rel=1e-15) and res["sigma_source"] == "declared variance"
    p = ogd_parameters(400, c["delta"], math.sqrt(13.0), res["gap"], sigma=math.sqrt(12.0))
    assert res["epoch_length"] == p.epoch_length
    assert res["learner_params"]["lr"] == pytest.approx(p.lr, rel=1e-15)
    with pytest.raises(ValueError, match="f_star.*gap_bound|gap"):
        from o2nc.experiments.runner import resolve_constants

        class NoGap:
            lipschitz, f_star, extra = 1.0, None, {}
        resolve_constants(NoGap(), {"name": "nogap"})


# ------------------------------------------------------------------------------------------------ the hard instance


@pytest.mark.skipif(not bank_has("hard_chain"), reason="the objective bank has no hard_chain")
def test_hard_instance_is_rebuilt_for_each_run_and_its_chain_progress_is_recorded():
    import objectives

    gap = 1200.0
    sp = load_spec({"name": "h", "seeds": [0], "deltas": [0.2, 0.1],
                    "measure": {"epsilons": [0.4, 0.2], "max_queries": 1500},
                    "objectives": [{"name": "hard_chain", "label": "hard",
                                    "params": {"eps": "$epsilon", "delta": "$delta", "sigma": 100.0, "gap": gap}}],
                    "methods": [{"name": "o2nc-ogd", "learner": "ogd"},
                                {"name": "fixed", "learner": "ogd", "tuning": "fixed", "epoch_length": 50,
                                 "learner_params": {"lr": 1e-3, "radius": 2e-3}}]})
    runs = [r.config for r in sp.runs()]
    assert len(runs) == 8 and all(c["measure"] == "epsilon" for c in runs)
    for c in runs:
        inst = objectives.get("hard_chain", eps=c["epsilon"], delta=c["delta"], sigma=100.0, gap=gap)
        T, lam = inst.extra["T"], inst.extra["lam"]
        # T = ⌊gap·L/(48ℓ₁ε²)⌋, L = ε/δ, ℓ₁ = 152 (Arjevani et al., Math. Prog. 2023): objectives/hard_instance.py
        assert T == math.floor(gap / (48 * 152 * c["epsilon"] * c["delta"]))
        res = run_config(c)
        assert res["censored"]
        D = res["learner_params"]["radius"]
        assert res["chain_min_queries"] == math.ceil(T * lam / (2 * D))
        if c["method"]["name"] == "o2nc-ogd":
            # the theory tuning's wall is far beyond the cap: censored before the first epoch ends
            assert res["gap_source"] == "gap_bound" and res["gap"] == inst.extra["gap_bound"]
            assert res["noise_variance"] == inst.extra["variance_bound"]
            assert res["epoch_length"] > 1500 and res["chain_min_queries"] > 10 ** 6
        else:
            # zero chain: no coordinate can pass λ/2 within λ/(2D) queries (here 1500 < λ/(2D))
            assert 1500 < lam / (2 * D)
            assert res["chain"]["T"] == T and res["chain"]["prog_half"] == 0


@pytest.mark.skipif(not bank_has("hard_chain"), reason="the objective bank has no hard_chain")
def test_chain_progress_moves_when_the_steps_allow_it():
    # the same instance with exact gradients and D large enough to cross λ/2 within the budget: progress is seen,
    # so the zero progress above is the wall and not a broken measurement
    sp = load_spec({"name": "h2", "seeds": [0], "deltas": [0.2], "measure": {"epsilons": [0.4], "max_queries": 4000},
                    "objectives": [{"name": "hard_chain", "label": "hard", "oracle": "exact",
                                    "params": {"eps": "$epsilon", "delta": "$delta", "sigma": 0.0, "T": 3}}],
                    "methods": [{"name": "big-steps", "learner": "ogd", "tuning": "fixed", "epoch_length": 100,
                                 "learner_params": {"lr": 1.0, "radius": 0.5}}]})
    res = run_config(sp.runs()[0].config)
    assert res["chain"]["prog_half"] >= 1


# ------------------------------------------------------------------------------------------------ baselines


def test_baselines_as_sweep_methods(tmp_path):
    pytest.importorskip("o2nc.baselines")
    s = spec(methods=[{"name": "o2nc-ogd", "learner": "ogd"}, {"baseline": "ingd"},
                      {"name": "sgd", "baseline": "sgd", "params": {"lr": 0.02, "schedule": "sqrt"}}],
             deltas=[0.1])
    sp = load_spec(s)
    runs = {(r.config["method"]["name"], r.config["measure"], r.config.get("epsilon")): r.config for r in sp.runs()}
    assert ("ingd", "budget", None) in runs and "certificate" not in runs[("ingd", "budget", None)]
    res = run_config(runs[("ingd", "budget", None)])
    assert res["grad_calls"] <= 400 and res["certificate_source"] == "own" and res["query_kind"] == "gradient"
    assert res["certificate_mean"] == res["certificate"]
    res = run_config(runs[("ingd", "epsilon", 0.4)])
    assert res["resolution"] == "trace" and not res["censored"] and res["certificate"] <= 0.4
    assert 0 < res["queries"] <= res["grad_calls"] <= 20000
    res = run_config(runs[("sgd", "epsilon", 0.4)])
    assert res["resolution"] == "doubling" and res["certificate_source"] == "goldstein"
    if not res["censored"]:
        assert res["certificate"] <= 0.4 and res["queries"] in [64 * 2 ** j for j in range(10)] + [20000]
        assert res["work"]["grad_calls"] >= res["queries"]
    db = tmp_path / "r.db"
    rep = run_sweep(s, db, executor="serial", progress=False)
    assert rep.done == rep.total == 9 and rep.failed == 0
    assert run_sweep(s, db, executor="serial", progress=False).skipped == 9
    with Store(db, readonly=True) as st:
        assert {r["config"]["method"]["name"] for r in st.rows()} == {"o2nc-ogd", "ingd", "sgd"}


@pytest.mark.parametrize("method, field", [
    ({"baseline": "ingdd"}, "methods[0].baseline"),
    ({"baseline": "sgd", "params": {"lr": -1.0}}, "methods[0].params"),
    ({"baseline": "sgd", "params": {"lr": 0.1, "momentum": 0.9}}, "methods[0].params"),
    ({"baseline": "ingd", "params": {"delta": 0.3}}, "methods[0].params.delta"),
    ({"baseline": "ingd", "learner": "ogd"}, "methods[0].learner"),
    ({"baseline": 3}, "methods[0].baseline"),
])
def test_baseline_errors_name_the_field(method, field):
    pytest.importorskip("o2nc.baselines")
    with pytest.raises(SpecError) as ei:
        load_spec(spec(methods=[method]))
    assert f"{field}:" in str(ei.value)


def test_baseline_parameters_may_follow_epsilon():
    pytest.importorskip("o2nc.baselines")
    sp = load_spec(spec(methods=[{"name": "ingd-stop", "baseline": "ingd", "params": {"epsilon": "$epsilon"}}]))
    cfgs = [r.config for r in sp.runs()]
    assert {c["measure"] for c in cfgs} == {"epsilon"}
    res = run_config(cfgs[0])
    assert res["baseline_params"]["epsilon"] == cfgs[0]["epsilon"] and res["stopped"] == "target"
    assert np.isfinite(res["certificate"])


# ------------------------------------------------------------------------------------------------ step rules


def test_expressions_evaluate_and_name_what_they_follow():
    from o2nc.experiments.spec import evaluate, follows, substitute

    assert evaluate("0.25 * $extra.lam / $epsilon", {"$extra.lam": 30.4, "$epsilon": 0.1}) == pytest.approx(76.0)
    assert evaluate("$delta", {"$delta": 0.1}) == 0.1
    assert follows({"lr": "2 * $epsilon / $lipschitz"}, "epsilon") and not follows({"lr": "$delta"}, "epsilon")
    assert substitute({"lr": "$delta / $lipschitz", "s": "sqrt"}, epsilon=None, delta=0.2, lipschitz=4.0) == \
        {"lr": 0.05, "s": "sqrt"}
    for bad in ("$delta +", "2 ** $delta", "* $delta", "$delta $epsilon", "x / $delta"):
        with pytest.raises(ValueError):
            evaluate(bad, {"$delta": 1.0, "$epsilon": 1.0})
    with pytest.raises(ValueError, match="extra"):
        substitute({"lr": "$extra.lam"}, epsilon=0.1, delta=0.1, extra={})


def test_step_rules_follow_the_objective_and_methods_can_be_restricted():
    pytest.importorskip("o2nc.baselines")
    sp = load_spec(spec(
        objectives=[{"name": TOY, "label": "a2", "params": {"dim": 3, "a": 2.0}},
                    {"name": TOY, "label": "a4", "params": {"dim": 3, "a": 4.0, "gap_bound": 3.0}}],
        methods=[{"name": "sgd", "baseline": "sgd", "params": {"lr": "$delta / $lipschitz"}},
                 {"name": "sgd-eps", "baseline": "sgd", "params": {"lr": "0.5 * $extra.gap_bound / $epsilon"},
                  "objectives": ["a4"]},
                 {"name": "fixed", "learner": "ogd", "tuning": "fixed", "epoch_length": 20,
                  "learner_params": {"lr": "$delta / $lipschitz", "radius": "0.5 * $delta"}, "objectives": ["a2"]}],
        deltas=[0.1], measure={"budgets": [200], "epsilons": [0.6], "max_queries": 400}))
    runs = {(r.config["objective"]["label"], r.config["method"]["name"], r.config["measure"]): r.config
            for r in sp.runs()}
    assert set(runs) == {("a2", "sgd", "budget"), ("a2", "sgd", "epsilon"), ("a4", "sgd", "budget"),
                         ("a4", "sgd", "epsilon"), ("a4", "sgd-eps", "epsilon"),  # follows ε: epsilon runs only
                         ("a2", "fixed", "budget"), ("a2", "fixed", "epsilon")}
    assert run_config(runs[("a2", "sgd", "budget")])["baseline_params"]["lr"] == pytest.approx(0.05)
    assert run_config(runs[("a4", "sgd", "budget")])["baseline_params"]["lr"] == pytest.approx(0.025)
    assert run_config(runs[("a4", "sgd-eps", "epsilon")])["baseline_params"]["lr"] == pytest.approx(2.5)
    res = run_config(runs[("a2", "fixed", "budget")])
    assert res["learner_params"] == pytest.approx({"lr": 0.05, "radius": 0.05})


@pytest.mark.parametrize("method, field", [
    ({"baseline": "sgd", "params": {"lr": "$delta / $G"}}, "methods[0].params.lr"),
    ({"baseline": "sgd", "params": {"lr": "$delta + 1"}}, "methods[0].params.lr"),
    ({"baseline": "sgd", "params": {"lr": "$extra.lam"}}, "methods[0].params"),  # the toy has no extra["lam"]
    ({"baseline": "sgd", "params": {"lr": "$delta"}, "objectives": ["nope"]}, "methods[0].objectives"),
    ({"baseline": "sgd", "params": {"lr": "$delta"}, "objectives": []}, "methods[0].objectives"),
    ({"learner": "ogd", "learner_params": {"lr": "$delta"}}, "methods[0].learner_params"),  # theory tuning
])
def test_step_rule_errors_name_the_field(method, field):
    pytest.importorskip("o2nc.baselines")
    with pytest.raises(SpecError) as ei:
        load_spec(spec(methods=[method]))
    assert f"{field}:" in str(ei.value)


def test_objective_parameters_cannot_follow_the_objective():
    with pytest.raises(SpecError, match=r"objectives\[0\]\.params\.a:"):
        load_spec(spec(objectives=[{"name": TOY, "params": {"a": "$lipschitz"}}]))


def test_doubling_grid_starts_where_asked_and_where_the_method_can():
    pytest.importorskip("o2nc.baselines")
    s = spec(methods=[{"name": "sgd", "baseline": "sgd", "params": {"lr": 0.02}},
                      {"name": "gs", "baseline": "gradient_sampling", "objectives": ["follow"]}],
             objectives=[{"name": TOY, "label": "follow", "params": {"dim": 3}}],
             deltas=[0.1], measure={"epsilons": [0.6], "max_queries": 2000, "doubling_start": 4})
    cfgs = {r.config["method"]["name"]: r.config for r in load_spec(s).runs()}
    assert cfgs["sgd"]["doubling_start"] == 4
    res = run_config(cfgs["sgd"])
    assert res["doubling_start"] == 4 and res["resolution"] == "doubling"
    assert res["censored"] or res["queries"] in [4 * 2 ** j for j in range(10)] + [2000]
    # gradient sampling needs 2d + 1 = 7 gradients for one iteration: its grid would start at 8, but it has a
    # certificate of its own, so it is read off the trace of one capped run
    res = run_config(cfgs["gs"])
    assert res["resolution"] == "trace" and res["certificate_source"] == "own"
    with pytest.raises(SpecError, match="measure.doubling_start"):
        load_spec(spec(measure={"budgets": [100], "doubling_start": 4}))


@pytest.mark.parametrize("name,params,dim", [("gradient_sampling", {}, 12), ("gfm", {"batch": 16}, 3)])
def test_a_cap_below_one_iteration_is_unsolved_not_an_error(name, params, dim):
    """A cap that cannot pay for one iteration of the method (gradient sampling: 2d + 1 = 25 gradients against a cap
    of 20; GFM: 2·batch = 32 evaluations) leaves the run unsolved within the cap, stored as censored with the
    reason, not as an error (which a profile reports as a crash); the calls table counts it unsolved."""
    pytest.importorskip("o2nc.baselines")
    from o2nc.experiments.profile import calls_of

    s = spec(methods=[{"name": "m", "baseline": name, "params": params}],
             objectives=[{"name": TOY, "params": {"dim": dim}}],
             deltas=[0.1], measure={"epsilons": [0.6], "max_queries": 20, "doubling_start": 4})
    (config,) = [r.config for r in load_spec(s).runs()]
    res = run_config(config)
    assert res["censored"] and res["queries"] is None and calls_of(res) is None
    assert "budget" in res["unsolved_reason"] and res["grad_calls"] == res["value_calls"] == 0
