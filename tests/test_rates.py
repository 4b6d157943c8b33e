"""experiments/rates.toml: the grid a referee asks for (≥ 5 ε over ≥ 1 decade, ≥ 3 δ, ≥ 5 seeds; O2NC + OGD at theory
tuning, INGD and SGD on the tight family), epoch lengths long enough not to bend the fit, and (slow) the sweep and
its fit: at each fixed δ the O2NC ε-interval contains −3 and lies below −2.5, the joint δ-interval contains −1, no run
above its budget."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

import objectives
from o2nc import methods
from o2nc.experiments import load_spec

SPEC = Path(__file__).resolve().parents[1] / "experiments" / "rates.toml"


def test_rates_spec_grid():
    spec = load_spec(SPEC)
    d = spec.data
    eps = d["measure"]["epsilons"]
    assert len(eps) >= 5 and max(eps) / min(eps) >= 10 * (1 - 1e-3)
    assert len(d["deltas"]) >= 3 and len(d["seeds"]) >= 5
    by_name = {m["name"]: m for m in d["methods"]}
    o2nc_ogd = by_name["o2nc-ogd"]
    assert o2nc_ogd["learner"] == "ogd" and o2nc_ogd["tuning"] == "theory" and o2nc_ogd["engine"] == "compiled"
    assert by_name["ingd"]["baseline"] == "ingd" and by_name["sgd"]["baseline"] == "sgd"
    labels = {o["label"]: o for o in d["objectives"]}
    for m in d["methods"]:                                          # every method runs on the tight family
        assert all(labels[lab]["name"] == "tight_ramp" for lab in m.get("objectives", labels))
    runs = spec.runs()
    assert len(runs) == len(eps) * len(d["deltas"]) * len(d["seeds"]) * 3


def test_rates_epoch_lengths_and_ramp_lengths():
    """T ≥ 30 at every (ε, δ) (a short epoch's rounding bent the old fit) and ℓ/δ ≥ 80 epochs of travel."""
    d = load_spec(SPEC).data
    params = next(o for o in d["objectives"] if o["label"] == "tight_ramp")["params"]
    for eps in d["measure"]["epsilons"]:
        for delta in d["deltas"]:
            kw = {k: v for k, v in params.items() if k not in ("eps", "delta")}
            obj = objectives.get("tight_ramp", eps=eps, delta=delta, **kw)
            info = methods.get("o2nc", learner="ogd", epsilon=eps).run(obj, budget=1, delta=delta).info
            assert info["epoch_length"] >= 30, (eps, delta, info["epoch_length"])
            assert obj.extra["lower_bound_epochs"] >= 80
            assert info["oracle"] == "stochastic" and info["sigma"] == pytest.approx(params["sigma"])
            assert info["theory_budget"] <= d["measure"]["max_queries"]   # no O2NC run is capped below N_ε


@pytest.mark.slow
def test_rates_sweep_and_fit(tmp_path):
    """The whole sweep from an empty store (about 10 minutes of 2 cores), then its fit."""
    pytest.importorskip("jax")
    from o2nc.experiments import Store, run_sweep
    from o2nc.experiments.fit import fit_store, fits_json

    db = tmp_path / "rates.db"
    assert run_sweep(load_spec(SPEC), db, workers=2, progress=False).complete
    with Store(db, readonly=True) as store:
        rows = fit_store(store, against="epsilon", n_boot=2000)
    fits = {(f["objective"], f["method"], f["fixed"], f["variable"]): f for f in fits_json(rows)["fits"]}
    # the ε-interval at each fixed δ (the joint one misses −3 by 6e-5: test_objectives_tight's strict xfail)
    for delta in (0.01, 0.01414, 0.02):
        e = fits[("tight_ramp", "o2nc-ogd", f"delta={delta:g}", "epsilon")]
        assert e["ci"][0] <= -3 <= e["ci"][1] and e["ci"][1] < -2.5, e
        assert e["censored"] == 0 and e["bound_violations"] == 0 and e["runs"] == 25 and e["travel_limited"]
    d = fits[("tight_ramp", "o2nc-ogd", "joint", "delta")]
    assert d["ci"][0] <= -1 <= d["ci"][1], d
    for method in ("ingd", "sgd"):                                   # reported, and better than ε^-3 here
        label = "tight_ramp-exact" if method == "ingd" else "tight_ramp"
        f = fits[(label, method, "joint", "epsilon")]
        assert f["censored"] == 0 and math.isfinite(f["exponent"]) and f["exponent"] > -2.9, f
