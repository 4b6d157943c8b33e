"""`o2nc fit`: censored groups refused and counted, bound ratios and violations, the travel flag, zero-spread notes, and
the --json form {"fits": [{objective, method, variable, exponent, ci, runs, censored, bound_violations,
travel_limited}]}, on synthetic stores and on a real sweep of the tight family."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from o2nc.commands import fit as fit_cmd
from o2nc.experiments.fit import TRAVEL_LIMIT, bound_ratios, fit_store, fits_json

FIT_KEYS = {"objective", "method", "variable", "exponent", "ci", "runs", "censored", "bound_violations",
            "travel_limited"}


class FakeStore:
    """The one method fit_store reads: rows(sweep=...)."""

    def __init__(self, rows):
        self._rows = rows

    def rows(self, sweep=None):
        return iter(self._rows)


def row(eps, delta, seed, queries, *, label="p", method="m", bound=None, travel=None, censored=False, cap=None):
    config = {"objective": {"label": label}, "method": {"name": method}, "measure": "epsilon", "epsilon": eps,
              "delta": delta, "seed": seed}
    result = {"queries": None if censored else queries, "censored": censored,
              "certificate_claim": {"is_proof": True}}
    if bound is not None:
        if censored:
            result["bound_ratio_above"] = cap / bound
        else:
            result["bound_ratio"] = queries / bound
    if travel is not None and not censored:
        result["travel_ratio"] = travel
    return {"status": "done", "config": config, "result": result}


def synthetic(noise=0.05, **kw):
    rng = np.random.default_rng(0)
    out = []
    for eps in (0.4, 0.2, 0.1, 0.05):
        for delta in (0.1, 0.05):
            for seed in range(3):
                q = 3.0 * eps ** -3 / delta * np.exp(noise * rng.standard_normal())
                out.append(row(eps, delta, seed, q, bound=4.0 * eps ** -3 / delta, **kw))
    return out


def test_exponents_bound_ratios_and_json_shape():
    rows = fit_store(FakeStore(synthetic(travel=3.0)), against="epsilon", n_boot=300)
    joint = next(r for r in rows if r.fixed == "joint")
    assert joint.fit.contains(-3.0, 0) and joint.fit.contains(-1.0, 1)
    assert joint.runs == 24 and joint.censored == 0 and joint.travel_limited is False
    ratios = np.array(joint.bound_ratios)
    assert ratios.size == 24 and np.all((ratios > 0.6) & (ratios < 0.9))       # 3/4 · e^{±0.05·3}
    assert joint.bound_violations == 0
    data = fits_json(rows)
    assert set(data) == {"fits", "budget_fits", "bound_ratios"}
    fits = data["fits"]
    assert all(FIT_KEYS <= set(f) for f in fits)
    joint_rows = [f for f in fits if f["fixed"] == "joint"]
    assert [f["variable"] for f in joint_rows] == ["epsilon", "delta"]
    assert joint_rows[0]["ci"][0] <= -3 <= joint_rows[0]["ci"][1]
    dist = bound_ratios(rows)
    assert len(dist) == 1 and dist[0]["n"] == 24 and dist[0]["above_1"] == 0    # each run once, not per fit
    assert dist[0]["min"] <= dist[0]["median"] <= dist[0]["max"]
    json.dumps(data)                                                            # plain JSON


def test_censored_group_is_refused_and_counted():
    rows = synthetic()
    # the hardest target of δ = 0.05 censored in one seed, with a cap above its Theorem-8 budget: a violation
    rows[-1] = row(0.05, 0.05, 2, None, bound=4.0 * 0.05 ** -3 / 0.05, censored=True, cap=10 ** 7)
    fits = {r.fixed: r for r in fit_store(FakeStore(rows), against="epsilon", n_boot=300)}
    assert fits["delta=0.05"].fit is None and fits["delta=0.05"].censored == 1
    assert "censored" in fits["delta=0.05"].note and fits["delta=0.05"].runs == 12
    assert fits["delta=0.05"].bound_violations == 1
    assert fits["joint"].fit is None and fits["joint"].censored == 1          # the joint fit holds the run too
    assert fits["delta=0.1"].fit is not None and fits["delta=0.1"].censored == 0
    entry = next(f for f in fits_json(list(fits.values()))["fits"] if f["fixed"] == "delta=0.05")
    assert entry["exponent"] is None and entry["ci"] is None and entry["censored"] == 1


def test_violations_travel_flag_and_zero_spread_note():
    over = synthetic(noise=0.0, travel=1.2)
    for r in over[:5]:
        r["result"]["bound_ratio"] = 1.5
    fits = fit_store(FakeStore(over), against="epsilon", n_boot=300)
    joint = next(r for r in fits if r.fixed == "joint")
    assert joint.bound_violations == 5 and joint.travel_limited is True and joint.travel_ratio == 1.2 <= TRAVEL_LIMIT
    assert "travel-limited" in joint.note and "no spread" in joint.note
    assert joint.fit.ci_high[0] - joint.fit.ci_low[0] < 1e-9
    plain = fit_store(FakeStore(synthetic()), against="epsilon", n_boot=300)
    assert all(r.travel_limited is None and "no spread" not in r.note for r in plain)


@pytest.fixture(scope="module")
def tight_db(tmp_path_factory):
    pytest.importorskip("jax")
    from o2nc.experiments import run_sweep

    spec = {"name": "tiny", "seeds": 2, "deltas": [0.02],
            "measure": {"epsilons": [0.2, 0.1125], "epsilon_scale": "absolute", "max_queries": 10 ** 6},
            "objectives": [{"name": "tight_ramp", "label": "tight",
                            "params": {"eps": "$epsilon", "delta": "$delta", "G": 0.5, "sigma": 0.1, "gap": 0.15,
                                       "slope_factor": 1.2}},
                           {"name": "tight_ramp", "label": "tight-capped", "max_queries": 200,
                            "params": {"eps": "$epsilon", "delta": "$delta", "G": 0.5, "sigma": 0.1, "gap": 0.15,
                                       "slope_factor": 1.2}}],
            "methods": [{"name": "o2nc-ogd", "learner": "ogd", "engine": "compiled"}]}
    db = tmp_path_factory.mktemp("fit") / "tiny.db"
    report = run_sweep(spec, db, executor="serial", progress=False)
    assert report.complete
    return db


def test_fit_json_command_on_a_tight_family_sweep(tight_db, capsys):
    parser = argparse.ArgumentParser()
    fit_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["fit", str(tight_db), "--json", "--boot", "200"])
    assert args.run(args) == 0
    data = json.loads(capsys.readouterr().out)
    fits = [f for f in data["fits"] if f["fixed"] == "delta=0.02"]
    by_label = {f["objective"]: f for f in fits}
    tight, capped = by_label["tight"], by_label["tight-capped"]
    assert tight["runs"] == 4 and tight["censored"] == 0 and tight["bound_violations"] == 0
    assert tight["exponent"] < -2.5 and tight["travel_limited"] is True        # the ramp is walked at ≤ δ per epoch
    assert capped["exponent"] is None and capped["censored"] == capped["runs"] == 4
    ratios = {b["objective"]: b for b in data["bound_ratios"]}
    assert 0 < ratios["tight"]["min"] <= ratios["tight"]["max"] <= 1 and ratios["tight"]["n"] == 4
    args = parser.parse_args(["fit", str(tight_db), "--against", "epsilon", "--boot", "200"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "bound ratios" in out and "queries/budget" in out and "censored at max_queries" in out
