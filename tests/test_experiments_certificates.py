"""What the sweep runner records about certificates and Theorem-8 bounds: σ in every budget and bound, and each run's
o2nc.Certificate fields (so fits and figures can tell a proof from an estimate)."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from o2nc.certificate import KINDS
from o2nc.experiments import Store, load_spec, run_config, run_sweep
from o2nc.experiments.runner import theory_budget
from o2nc.theory import ogd_bound, ogd_parameters
from tests import test_experiments_toys as toys

HERE = Path(__file__).resolve().parent
TOY = toys.scaled_norm  # a factory passed from Python (spec files name registered objectives only)


@pytest.fixture(autouse=True)
def _toys_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


def configs(objective, *, methods=None, measure=None, deltas=(0.1,)):
    d = {"name": "c", "seeds": [0], "deltas": list(deltas),
         "measure": measure or {"budgets": [2000], "epsilons": [0.6], "max_queries": 20000},
         "objectives": [objective], "methods": methods or [{"name": "o2nc-ogd", "learner": "ogd"}]}
    return [r.config for r in load_spec(d).runs()]


def one(cfgs, measure):
    return next(c for c in cfgs if c["measure"] == measure)


# ------------------------------------------------------------------------------------------------ σ in the bound


def test_reported_bound_of_a_stochastic_run_includes_sigma():
    """[CMO23] Theorem 8 with restarted OGD: gap/(δK) + (G + σ)/√T, T and K of ogd_parameters(…, σ)."""
    c = one(configs({"name": TOY, "params": {"dim": 3, "a": 1.0, "noise": 2.0, "declare_noise": True}}), "budget")
    res = run_config(c)
    N, delta = c["budget"], c["delta"]
    sigma, G, gap = math.sqrt(12.0), math.sqrt(13.0), res["gap"]
    assert res["oracle"] == "stochastic" and res["sigma"] == pytest.approx(sigma, rel=1e-15)
    assert res["lipschitz"] == pytest.approx(G, rel=1e-15)
    p = ogd_parameters(N, delta, G, gap, sigma=sigma)
    assert res["epoch_length"] == p.epoch_length
    want = gap / (delta * (N // p.epoch_length)) + (G + sigma) / math.sqrt(p.epoch_length)
    assert res["bound"] == pytest.approx(want, rel=1e-12)
    assert res["bound"] == pytest.approx(ogd_bound(N, delta, G, gap, sigma), rel=1e-15)
    assert res["bound"] > ogd_bound(N, delta, G, gap)  # the old, σ-free report was smaller


def test_exact_oracle_has_sigma_zero_and_the_old_bound():
    c = one(configs({"name": TOY, "params": {"dim": 3, "a": 1.0}}), "budget")
    res = run_config(c)
    assert res["oracle"] == "exact" and res["sigma"] == 0.0 and res["sigma_source"] == "exact oracle"
    assert res["bound"] == ogd_bound(c["budget"], c["delta"], 1.0, res["gap"])


def test_undeclared_noise_takes_sigma_equal_to_G_and_the_spec_can_set_it():
    """E‖g − ∇F‖² ≤ E‖g‖² ≤ G²: σ = G when the objective declares no variance (derived here: the variance is at most
    the second moment)."""
    c = one(configs({"name": TOY, "params": {"dim": 3, "a": 1.0, "noise": 0.1}}), "budget")
    res = run_config(c)
    assert res["sigma"] == res["lipschitz"] == 1.0 and res["sigma_source"] == "second moment (σ ≤ G)"
    assert res["bound"] == pytest.approx(ogd_bound(c["budget"], c["delta"], 1.0, res["gap"], 1.0), rel=1e-15)
    c = one(configs({"name": TOY, "params": {"dim": 3, "a": 1.0, "noise": 0.1}, "sigma": 0.2}), "budget")
    res = run_config(c)
    assert res["sigma"] == pytest.approx(0.2) and res["sigma_source"] == "spec"
    assert res["lipschitz"] == pytest.approx(math.sqrt(1.04), rel=1e-15)


def test_spec_sigma_must_be_a_number_at_least_zero():
    from o2nc.experiments import SpecError

    with pytest.raises(SpecError, match=r"objectives\[0\]\.sigma"):
        configs({"name": TOY, "sigma": -1.0})
    assert configs({"name": TOY, "params": {"noise": 0.1}, "sigma": 0})[0]["objective"]["sigma"] == 0.0


def test_epsilon_run_budget_uses_sigma():
    c = one(configs({"name": TOY, "params": {"dim": 3, "a": 1.0, "noise": 2.0, "declare_noise": True}},
                    measure={"epsilons": [2.0], "max_queries": 500}), "epsilon")
    res = run_config(c)
    sigma, G = math.sqrt(12.0), math.sqrt(13.0)
    assert res["theory_budget"] == theory_budget(c["epsilon"], c["delta"], G, res["gap"], sigma)
    assert res["theory_budget"] > theory_budget(c["epsilon"], c["delta"], G, res["gap"])


# ------------------------------------------------------------------------------------------------ certificate fields


def check_claim(claim, *, kind, delta):
    assert set(claim) == {"delta", "epsilon", "kind", "radius_kind", "calls", "is_proof"}
    assert claim["kind"] == kind and kind in KINDS
    assert claim["is_proof"] == (kind != "stochastic estimate")
    assert claim["delta"] <= delta and claim["epsilon"] >= 0 and claim["calls"] > 0


def test_o2nc_runs_record_the_certificate_kind():
    exact = run_config(one(configs({"name": TOY, "params": {"dim": 3}}), "budget"))
    check_claim(exact["certificate_claim"], kind="exact-gradient epoch", delta=0.1)
    assert exact["certificate_claim"]["epsilon"] == pytest.approx(exact["certificate_best"], rel=1e-12)
    # calls: the gradient calls the run had made at the end of the claimed epoch (o2nc.Certificate's one meaning)
    calls = exact["certificate_claim"]["calls"]
    assert calls % exact["epoch_length"] == 0 and exact["epoch_length"] <= calls <= exact["grad_calls"]
    noisy = {"name": TOY, "params": {"dim": 3, "noise": 0.5}}
    recomputed = run_config(one(configs(noisy), "budget"))
    assert recomputed["certificate_source"] == "exact-recomputed"
    check_claim(recomputed["certificate_claim"], kind="exact-gradient epoch", delta=0.1)
    d = {"name": "c", "seeds": [0], "deltas": [0.1], "objectives": [noisy],
         "measure": {"budgets": [2000], "certificate": "algorithm"},
         "methods": [{"name": "o2nc-ogd", "learner": "ogd"}]}
    own = run_config(next(r.config for r in load_spec(d).runs()))
    assert own["certificate_source"] == "algorithm-stochastic"
    check_claim(own["certificate_claim"], kind="stochastic estimate", delta=0.1)


def test_epsilon_run_records_the_certified_epoch():
    res = run_config(one(configs({"name": TOY, "params": {"dim": 3}},
                                 measure={"epsilons": [0.6], "max_queries": 20000}), "epsilon"))
    assert not res["censored"]
    claim = res["certificate_claim"]
    check_claim(claim, kind="exact-gradient epoch", delta=0.1)
    assert claim["epsilon"] == res["certificate"] <= 0.6 and claim["delta"] == res["radius"]


def test_an_epoch_wider_than_delta_certifies_nothing():
    """Fixed tuning with a large radius: epochs of radius > δ never count as certified at δ."""
    methods = [{"name": "wide", "learner": "ogd", "tuning": "fixed", "epoch_length": 20,
                "learner_params": {"lr": 0.5, "radius": 1.0}}]
    c = one(configs({"name": TOY, "params": {"dim": 3}}, methods=methods,
                    measure={"epsilons": [10.0], "max_queries": 400}, deltas=(0.01,)), "epsilon")
    res = run_config(c)
    assert res["censored"] and res["queries"] is None  # ε = 10 > every certificate, but every radius > δ
    claim = res["certificate_claim"]
    assert claim["delta"] > 0.01 and claim["is_proof"]  # an exact-gradient epoch, at a radius that is not δ


def test_baseline_runs_record_the_certificate_kind(tmp_path):
    d = {"name": "b", "seeds": [0], "deltas": [0.1],
         "measure": {"budgets": [300], "epsilons": [0.5], "max_queries": 2000},
         "objectives": [{"name": TOY, "params": {"dim": 3}}],
         "methods": [{"name": "ingd", "baseline": "ingd"}, {"name": "sgd", "baseline": "sgd",
                                                             "params": {"lr": "$delta / $lipschitz"}}]}
    store = Store(tmp_path / "r.db")
    run_sweep(load_spec(d), store, workers=1)
    rows = [r for r in store.rows() if r["status"] == "done"]
    assert len(rows) == 4
    for r in rows:
        res = r["result"]
        check_claim(res["certificate_claim"], kind="sampled one-sided", delta=0.1)
        assert res["certificate_claim"]["epsilon"] == pytest.approx(res["certificate"], rel=1e-15)
        if r["config"]["measure"] == "epsilon" and res.get("resolution") == "trace" and not res["censored"]:
            assert res["certificate_claim"]["calls"] == res["queries"]
        if res["certificate_source"] == "goldstein":
            assert res["certificate_claim"]["radius_kind"] == "exact"
            assert res["certificate_claim"]["calls"] == res["eval_calls"]
        else:
            assert res["certificate_source"] == "own" and res["certificate_claim"]["radius_kind"] == "bound"
    store.close()


# ------------------------------------------------------------------------------------------------ fits


def test_fits_name_the_runs_whose_certificate_is_only_an_estimate(tmp_path):
    from o2nc.experiments import fit_store
    from o2nc.experiments.fit import is_proof

    noisy = {"name": TOY, "params": {"dim": 3, "noise": 0.5}}
    d = {"name": "f", "seeds": [0, 1], "deltas": [0.1], "objectives": [noisy],
         "measure": {"budgets": [400, 1600], "certificate": "algorithm"},
         "methods": [{"name": "o2nc-ogd", "learner": "ogd"}]}
    store = Store(tmp_path / "f.db")
    run_sweep(load_spec(d), store, workers=1)
    rows = fit_store(store, against="budget", n_boot=200)
    assert len(rows) == 1 and rows[0].estimates == 4 and "4 of 4 runs: stochastic estimates" in rows[0].note
    store.close()
    # results stored before certificate_claim existed are read off their certificate_source
    assert is_proof({"certificate_source": "algorithm-stochastic"}) is False
    assert is_proof({"certificate_source": "exact-recomputed"}) is True
    assert is_proof({}) is None
