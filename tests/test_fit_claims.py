"""What `o2nc fit` and a certificate's sentence print agrees with their numbers: the travel flag only in its band
[1, 1.5] (below 1 the runs stopped before they could reach x*), no interval from as many design cells as parameters,
censored runs in the bound-ratio distribution, the --level in the header, groups keyed by the stored float, the
empty-store message naming what the store holds, and r against δ printed with the digits that show the comparison."""
from __future__ import annotations

import argparse
import json
import math
import re

import numpy as np
import pytest

from o2nc import Certificate
from o2nc.commands import fit as fit_cmd
from o2nc.experiments import Store
from o2nc.experiments.fit import (
    NO_INTERVAL,
    TRAVEL_FLOOR,
    TRAVEL_LIMIT,
    bound_ratios,
    fit_store,
    fit_table,
    fits_json,
    is_travel_limited,
    ratio_table,
)


class FakeStore:
    """The one method fit_store reads: rows(sweep=...)."""

    def __init__(self, rows):
        self._rows = rows

    def rows(self, sweep=None):
        return iter(self._rows)


def row(eps, delta, seed, queries, *, bound=None, travel=None, censored=False, cap=None, measure="epsilon"):
    config = {"objective": {"label": "p"}, "method": {"name": "m"}, "measure": measure, "epsilon": eps,
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


def sweep_rows(epsilons=(0.4, 0.2, 0.1), deltas=(0.1,), seeds=3, noise=0.05, **kw):
    rng = np.random.default_rng(0)
    return [row(e, d, s, 3.0 * e ** -3 / d * np.exp(noise * rng.standard_normal()), bound=4.0 * e ** -3 / d, **kw)
            for e in epsilons for d in deltas for s in range(seeds)]


def by_fixed(rows):
    return {r.fixed: r for r in rows}


# ------------------------------------------------------------------------------------------------ travel band


@pytest.mark.parametrize("travel, limited", [(0.03, False), (0.63, False), (0.9996, False), (1.0, True), (1.2, True),
                                             (1.5, True), (1.51, False), (3.0, False)])
def test_travel_flag_only_in_its_band(travel, limited):
    fit = by_fixed(fit_store(FakeStore(sweep_rows(travel=travel)), against="epsilon", n_boot=200))["delta=0.1"]
    assert fit.travel_ratio == pytest.approx(travel) and fit.travel_limited is limited
    assert is_travel_limited(travel) is limited and TRAVEL_FLOOR == 1.0 and TRAVEL_LIMIT == 1.5
    assert ("travel-limited" in fit.note) is limited
    table = fit_table([fit])
    assert bool(re.search(r"\d\.\d\d \*", table.splitlines()[2])) is limited  # the travel column's mark
    if travel < 1:  # the runs certified before the anchor, moving ≤ δ per epoch, could reach x*
        shown = re.search(r"= ([0-9.]+) < 1", fit.note).group(1)
        assert "stopped before reaching x*" in fit.note and float(shown) < 1
    else:
        assert "stopped before" not in fit.note
    assert fits_json([fit])["fits"][0]["travel_limited"] is limited


# ------------------------------------------------------------------------------------------------ no interval


def test_as_many_cells_as_parameters_give_no_interval():
    # two ε at one δ, deterministic seeds: the old fit printed a zero-width "95% CI" [x, x]
    rows = fit_store(FakeStore(sweep_rows(epsilons=(0.4, 0.2), noise=0.0)), against="epsilon", n_boot=200)
    fit = by_fixed(rows)["delta=0.1"]
    assert fit.fit.method == "none" and fit.fit.exponent == pytest.approx(-3.0, abs=1e-12)
    assert all(math.isnan(v) for v in fit.fit.ci_low + fit.fit.ci_high) and not fit.fit.contains(-3.0)
    assert "no spread" not in fit.note
    entry = fits_json(rows)["fits"][0]
    assert entry["ci"] is None and entry["interval"] == "none" and entry["exponent"] == pytest.approx(-3.0)
    assert NO_INTERVAL in entry["note"]
    json.dumps(fits_json(rows), allow_nan=False)  # strict JSON: no NaN reaches it
    twice = fit_table(rows + rows)
    assert "—" in twice and twice.count(NO_INTERVAL) == 1 and "(2 fits)" in twice  # the reason said once
    # with a spare cell the t interval on the cell means is back; the explicit bootstraps are the caller's choice
    three = by_fixed(fit_store(FakeStore(sweep_rows()), against="epsilon", n_boot=200))["delta=0.1"]
    assert three.fit.method == "cells" and three.fit.contains(-3.0)
    seeds = by_fixed(fit_store(FakeStore(sweep_rows(epsilons=(0.4, 0.2))), against="epsilon", n_boot=200,
                               bootstrap="stratified"))["delta=0.1"]
    assert seeds.fit.method == "stratified" and seeds.fit.ci_low[0] < seeds.fit.ci_high[0]


def test_no_spread_note_names_the_interval_used():
    rows = fit_store(FakeStore(sweep_rows(noise=0.0)), against="epsilon", n_boot=200)
    fit = by_fixed(rows)["delta=0.1"]
    assert fit.fit.method == "cells" and "no spread" in fit.note
    assert "t intervals on the design cells' means" in fit.note and "bootstrap" not in fit.note


# ------------------------------------------------------------------------------------------------ bound ratios


def test_censored_runs_enter_the_bound_ratio_distribution():
    rows = sweep_rows(epsilons=(0.4, 0.2, 0.1, 0.05))  # 12 runs, ratios about 3/4
    bound = 4.0 * 0.05 ** -3 / 0.1
    for seed, cap in enumerate((1.93 * bound, 3.86 * bound, 0.95 * bound)):  # two caps above the budget, one below
        rows[9 + seed] = row(0.05, 0.1, seed, None, bound=bound, censored=True, cap=cap)
    fits = fit_store(FakeStore(rows), against="epsilon", n_boot=200)
    assert by_fixed(fits)["delta=0.1"].bound_violations == 2
    (dist,) = bound_ratios(fits)
    assert dist["n"] == 12 and dist["censored"] == 3 and dist["above_1"] == 2  # the fit table's "over bound" too
    assert dist["max"] == pytest.approx(3.86) and "max" in dist["lower_bound"] and "min" not in dist["lower_bound"]
    certified = np.array(by_fixed(fits)["delta=0.1"].bound_ratios)
    assert dist["min"] == pytest.approx(certified.min()) and certified.size == 9
    table = ratio_table(fits)
    assert "censored" in table and "≥3.860" in table and "lower bound" in table
    # the delta fits hold the same runs: each counted once
    (again,) = bound_ratios(fit_store(FakeStore(rows), against="delta", n_boot=200))
    assert again["n"] == 12 and again["censored"] == 3 and again["above_1"] == 2


def test_a_low_censored_bound_makes_every_quantile_a_lower_bound():
    rows = sweep_rows(epsilons=(0.4, 0.2))  # 6 runs, ratios about 3/4
    bound = 4.0 * 0.2 ** -3 / 0.1
    rows[-1] = row(0.2, 0.1, 2, None, bound=bound, censored=True, cap=0.1 * bound)  # cap far below the budget
    (dist,) = bound_ratios(fit_store(FakeStore(rows), against="epsilon", n_boot=200))
    assert dist["min"] == pytest.approx(0.1) and dist["lower_bound"] == ["min", "q1", "median", "q3", "max"]
    assert dist["above_1"] == 0 and dist["censored"] == 1


def test_uncensored_distribution_is_exact():
    (dist,) = bound_ratios(fit_store(FakeStore(sweep_rows()), against="epsilon", n_boot=200))
    assert dist["censored"] == 0 and dist["lower_bound"] == [] and dist["n"] == 9
    assert "≥" not in ratio_table(fit_store(FakeStore(sweep_rows()), against="epsilon", n_boot=200))


# ------------------------------------------------------------------------------------------------ groups, level


def test_groups_keyed_by_the_float_not_its_label():
    rows = sweep_rows(epsilons=(0.4, 0.2, 0.1), deltas=(0.1, 0.1000001, 0.05), seeds=2)
    fits = fit_store(FakeStore(rows), against="epsilon", n_boot=200)
    fixed = [r for r in fits if r.fixed != "joint"]
    assert [r.fixed for r in fixed] == ["delta=0.05", "delta=0.1", "delta=0.1000001"]
    assert [r.fixed_value for r in fixed] == [0.05, 0.1, 0.1000001]
    assert all(r.runs == 6 for r in fixed)  # not 12 runs from two δ under one label
    assert {e["fixed_value"] for e in fits_json(fits)["fits"]} == {0.05, 0.1, 0.1000001, None}
    by_eps = fit_store(FakeStore(rows), against="delta", n_boot=200)
    assert [r.fixed for r in by_eps] == ["epsilon=0.1", "epsilon=0.2", "epsilon=0.4"]


def test_level_reaches_the_header():
    rows = fit_store(FakeStore(sweep_rows()), against="epsilon", n_boot=200, level=0.5)
    assert "50% CI" in fit_table(rows) and "95%" not in fit_table(rows)
    assert "97.5% CI" in fit_table(rows, level=0.975)


def parse(argv):
    ap = argparse.ArgumentParser(prog="o2nc")
    fit_cmd.add_parser(ap.add_subparsers(dest="command"))
    return ap.parse_args(argv)


def stored(tmp_path, rows, name="r.db"):
    db = tmp_path / name
    with Store(db) as s:
        for i, r in enumerate(rows):
            s.put(f"k{i}", r["config"], "done", result=r["result"])
    return db


def test_command_level_and_empty_kind(tmp_path, capsys):
    db = stored(tmp_path, sweep_rows())
    args = parse(["fit", str(db), "--against", "epsilon", "--level", "0.5", "--boot", "200"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "50% CI" in out and "95%" not in out
    budget_only = [row(None, 0.1, s, None, measure="budget") for s in range(3)]
    db = stored(tmp_path, budget_only, name="budget.db")
    args = parse(["fit", str(db), "--against", "epsilon"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "no finished epsilon runs" in out and "3 budget" in out and "--against budget" in out


# ------------------------------------------------------------------------------------------------ certificates


def printed(sentence):
    r = float(re.search(r"r = ([0-9.e+-]+)", sentence).group(1))
    d = float(re.search(r"δ = ([0-9.e+-]+)", sentence).group(1))
    return r, d


@pytest.mark.parametrize("r, delta", [(0.099995, 0.099996), (0.10004, 0.1), (0.1 + 1e-12, 0.1), (0.1, 0.1),
                                      (0.1, 0.1 + 1e-12), (0.0999999999, 0.1), (0.02, 0.1), (0.25, 0.1)])
@pytest.mark.parametrize("radius_kind", ["exact", "bound"])
def test_certificate_sentence_compares_r_and_delta_as_the_numbers(r, delta, radius_kind):
    c = Certificate(point=np.zeros(1), delta=r, epsilon=0.5, kind="exact-gradient epoch", radius_kind=radius_kind,
                    calls=10)
    text = c.describe(delta)
    pr, pd = printed(text)
    assert (pr <= pd) == (r <= delta) and (pr < pd) == (r < delta)
    assert text.startswith("no certificate") == (not r <= delta)


def test_certificate_sentence_keeps_short_numbers_where_they_compare():
    c = Certificate(point=np.zeros(1), delta=0.0123456, epsilon=0.5, kind="exact-gradient epoch", calls=10)
    assert "r = 0.01235 (exact) ≤ δ" in c.describe(0.1) and "δ = 0.1," in c.describe(0.1)
    rng = np.random.default_rng(0)
    for _ in range(2000):
        d = float(rng.uniform(1e-3, 1.0))
        r = d * (1 + float(rng.choice([-1, 1])) * 10.0 ** float(rng.uniform(-15, -1)))
        c = Certificate(point=np.zeros(1), delta=r, epsilon=0.5, kind="sampled one-sided", calls=1)
        pr, pd = printed(c.describe(d))
        assert (pr <= pd) == (r <= d) and (pr < pd) == (r < d), (r, d)
