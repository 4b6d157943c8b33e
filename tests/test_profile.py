"""o2nc profile: the profile spec, the calls table, performance/data profiles, the leaderboard and the command."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from o2nc.experiments import SpecError, Store
from o2nc.experiments.profile import (
    DEFAULT_METHODS,
    calls_of,
    collect,
    configurations,
    load_profile,
    problem_label,
    run_profile,
)
from o2nc.experiments.profile_report import (
    data_profile,
    entries,
    leaderboard,
    median_calls,
    performance_profile,
    performance_ratios,
    write_report,
)

ROOT = Path(__file__).resolve().parents[1]
INF = math.inf


def tiny(**over) -> dict:
    spec = {"name": "tiny", "seeds": 2, "delta": 0.1, "epsilons": [0.3], "max_queries": 300,
            "methods": ["o2nc_kt", "ingd", "sgd"],
            "problems": [{"name": "mifflin1"}, {"name": "nesterov_n2"}]}
    spec.update(over)
    return spec


# ---------------------------------------------------------------------------------------------------------------
# the statistics


def test_median_counts_an_unsolved_seed_as_infinite():
    assert median_calls([3, None, 5]) == 5
    assert median_calls([2, 4]) == 3
    assert median_calls([2, None]) == INF  # the mean of the two middle values, one of them +∞
    assert median_calls([None, None, 1]) == INF
    assert median_calls([]) == INF


def test_performance_profile_on_a_hand_computed_table():
    t = np.array([[1.0, 2.0], [4.0, 2.0], [INF, 3.0], [INF, INF]])
    r = performance_ratios(t)
    np.testing.assert_array_equal(r, [[1, 2], [2, 1], [INF, 1], [INF, INF]])
    rho = performance_profile(t, np.array([1.0, 2.0, 100.0]))
    # a problem no entry solves stays in the denominator: no curve reaches 1
    np.testing.assert_allclose(rho, [[0.25, 0.5], [0.5, 0.75], [0.5, 0.75]])


def test_performance_profile_counts_ties_as_fastest_for_both():
    t = np.array([[5.0, 5.0], [1.0, 2.0]])
    np.testing.assert_allclose(performance_profile(t, np.array([1.0]))[0], [1.0, 0.5])


def test_data_profile_divides_by_dimension_plus_one():
    t = np.array([[30.0], [30.0], [INF]])
    dims = np.array([2, 29, 1])
    # 30/3 = 10 and 30/30 = 1 calls per (d + 1)
    np.testing.assert_allclose(data_profile(t, dims, np.array([0.5, 1.0, 9.9, 10.0]))[:, 0], [0, 1 / 3, 1 / 3, 2 / 3])


def test_calls_add_the_certificates_own_calls_and_censored_runs_are_unsolved():
    assert calls_of({"queries": 100, "eval_calls": 31, "censored": False}) == 131
    assert calls_of({"queries": 100, "censored": False}) == 100
    assert calls_of({"queries": None, "censored": True, "eval_calls": 5}) is None


# ---------------------------------------------------------------------------------------------------------------
# the spec


def test_configurations_give_every_tunable_method_the_same_grid_size():
    cfgs = configurations(list(DEFAULT_METHODS), [0.1, 1.0, 10.0], [10, 100])
    per = {}
    for c in cfgs:
        per.setdefault(c.method, []).append(c)
    for m, cs in per.items():
        assert sum(c.theory for c in cs) == 1, m
        assert len(cs) in (1, 3), m
    assert {m for m, cs in per.items() if len(cs) == 1} == {"o2nc_kt", "ingd", "pingd", "gradient_sampling", "bfgs"}
    sgd = {c.point: c.table for c in per["sgd"]}
    assert sgd["theory"]["params"]["lr"] == "$delta / $lipschitz"
    assert sgd["x0.1"]["params"]["lr"] == "0.1 * $delta / $lipschitz"
    ogd = {c.point: c.table for c in per["o2nc_ogd"]}
    assert ogd["theory"]["tuning"] == "theory"
    # T = 10: D = δ/10 keeps every epoch within δ; η = D/(G√T)
    assert ogd["T=10"]["epoch_length"] == 10 and ogd["T=10"]["learner_params"]["radius"] == "0.1 * $delta"
    assert float(ogd["T=10"]["learner_params"]["lr"].split()[0]) == pytest.approx(1 / (10 * math.sqrt(10)))
    # zero-order O2NC is tuned by the G it is given: a larger step is a smaller G
    zo = {c.point: c.table for c in per["zo_o2nc"]}
    assert zo["x10"]["params"]["lipschitz"] == "0.1 * $lipschitz"


@pytest.mark.parametrize("change, field", [
    (dict(colour=1), "colour"),
    (dict(grid=[0.5, 2.0]), "grid"),
    (dict(epoch_lengths=[10]), "epoch_lengths"),
    (dict(methods=["o2nc_ogd", "newton"]), "methods[1]"),
    (dict(problems=[{"name": "no_such_objective"}]), "problems[0].name"),
    (dict(problems=[{"name": "maxq", "class": "easy"}]), "problems[0].class"),
    (dict(epsilons=[0.3, -1]), "epsilons[1]"),
    (dict(delta=0), "delta"),
    # O2NC's theory tuning needs F(x0) − inf F: refused at load time, not in every run
    (dict(methods=["o2nc_kt"], problems=[{"name": "max_eigenvalue"}]), "problems[0]: O2NC's theory tuning"),
])
def test_a_bad_spec_names_the_field(change, field):
    with pytest.raises(SpecError, match=field.replace("[", r"\[").replace("]", r"\]")):
        load_profile(tiny(**change))


def test_quick_needs_a_quick_table_naming_known_problems():
    with pytest.raises(SpecError, match="quick"):
        load_profile(tiny(), quick=True)
    with pytest.raises(SpecError, match=r"quick\.problems.*'maxq'"):
        load_profile(tiny(quick={"problems": ["maxq"]}), quick=True)
    q = load_profile(tiny(quick={"problems": ["mifflin1"], "seeds": 1}), quick=True)
    assert q.name == "tiny-quick" and [p["label"] for p in q.problems] == ["mifflin1"] and q.data["seeds"] == [0]


def test_problem_classes_follow_the_oracle_and_the_tags():
    prof = load_profile(tiny(problems=[{"name": "mifflin1"}, {"name": "nesterov_n2"}, {"name": "phase_retrieval"},
                                       {"name": "phase_retrieval", "label": "pr_exact", "oracle": "exact"}]))
    assert [p["class"] for p in prof.problems] == ["convex", "nonconvex", "stochastic", "nonconvex"]


def test_shipped_spec_covers_thirty_problems_every_class_and_method():
    prof = load_profile(ROOT / "experiments" / "profile.toml", check=False)
    assert len(prof.problems) >= 30
    classes = [p["class"] for p in prof.problems]
    assert {c: classes.count(c) >= 5 for c in ("convex", "nonconvex", "stochastic")} == dict.fromkeys(
        ("convex", "nonconvex", "stochastic"), True)
    assert set(prof.methods) == set(DEFAULT_METHODS) and len(prof.data["epsilons"]) >= 2
    quick = load_profile(ROOT / "experiments" / "profile.toml", quick=True, check=False)
    assert len(quick.problems) < len(prof.problems) and set(quick.methods) == set(DEFAULT_METHODS)


# ---------------------------------------------------------------------------------------------------------------
# end to end


def test_tuned_entry_takes_the_best_configuration_per_problem():
    prof = load_profile(tiny(methods=["sgd", "ingd"]), check=False)
    p1, p2 = problem_label("mifflin1", 0.3), problem_label("nesterov_n2", 0.3)
    table = {"sgd@x0.1": {p1: [50, 60], p2: [None, None]},
             "sgd@theory": {p1: [80, 90], p2: [300, None]},
             "sgd@x10": {p1: [None, 10], p2: [200, 100]},
             "ingd@theory": {p1: [5, 5], p2: [None, 7]}}
    ents, chosen = entries(prof, {"configs": table, "problems": [p1, p2]})
    assert list(ents) == ["sgd (theory)", "sgd (tuned)", "ingd (theory)"]
    assert ents["sgd (tuned)"] == {p1: [50, 60], p2: [200, 100]}
    assert chosen["sgd (tuned)"] == {p1: "x0.1", p2: "x10"}
    board = leaderboard(ents, [p1, p2], {p1: "convex", p2: "nonconvex"})
    conv = board["convex"]["rows"]
    assert conv["ingd (theory)"]["fastest"] == 1.0 and conv["sgd (tuned)"]["median_ratio"] == 11.0
    allp = board["all"]["rows"]
    assert allp["sgd (theory)"]["solved"] == 0.5 and allp["ingd (theory)"]["solved"] == 0.5
    # per seed: ingd solves p1 on both seeds and p2 on seed 1 only
    assert allp["ingd (theory)"]["solved_seeds"] == [0.5, 1.0]


def test_profile_runs_resumes_and_writes_its_outputs(tmp_path):
    spec = tiny()
    db = tmp_path / "p.db"
    prof, report = run_profile(spec, db, executor="serial", progress=False)
    n_runs = len(prof.configs) * 2 * 1 * 2  # configurations × problems × ε × seeds
    assert report.complete and report.done == n_runs
    _, again = run_profile(spec, db, executor="serial", progress=False)
    assert again.skipped == n_runs and again.done == 0
    with Store(db) as store:
        got = collect(prof, store)
    assert got["missing"] == 0
    data = write_report(prof, got, tmp_path / "out")
    for f in ("performance_profile.png", "data_profile.png", "leaderboard.md", "profile.json"):
        assert (tmp_path / "out" / f).stat().st_size > 0
    saved = json.loads((tmp_path / "out" / "profile.json").read_text())
    assert saved["methods"] == ["o2nc_kt (theory)", "ingd (theory)", "sgd (theory)", "sgd (tuned)"]
    assert saved["problems"] == [problem_label("mifflin1", 0.3), problem_label("nesterov_n2", 0.3)]
    for m in saved["methods"]:
        for p in saved["problems"]:
            seeds = saved["calls"][m][p]
            assert len(seeds) == 2 and all(c is None or (isinstance(c, int) and c > 0) for c in seeds)
    # ρ(1) recomputed from the saved calls: the share of problems where the entry's median is the smallest
    med = {m: {p: median_calls(saved["calls"][m][p]) for p in saved["problems"]} for m in saved["methods"]}
    for m in saved["methods"]:
        share = np.mean([math.isfinite(med[m][p]) and med[m][p] == min(med[k][p] for k in med)
                         for p in saved["problems"]])
        assert saved["performance_profile_at_1"][m] == pytest.approx(share)
    assert data["leaderboard"]["all"]["problems"] == 2
    # INGD certifies both problems at ε = 0.3 G within the cap (its own running certificate)
    assert all(c is not None for p in saved["problems"] for c in saved["calls"]["ingd (theory)"][p])
    text = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "## convex (1 problems)" in text and "| ingd (theory) |" in text


def test_cli_profile_writes_the_outputs_and_reports_bad_specs(tmp_path, capsys):
    from o2nc.cli import main

    spec = tmp_path / "p.toml"
    spec.write_text('name = "clip"\nseeds = 1\nepsilons = [0.3]\nmax_queries = 200\nmethods = ["ingd", "bfgs"]\n'
                    '[[problems]]\nname = "mifflin1"\n')
    out = tmp_path / "out"
    assert main(["profile", str(spec), "--out", str(out), "--executor", "serial", "--no-progress"]) == 0
    assert json.loads((out / "profile.json").read_text())["methods"] == ["ingd (theory)", "bfgs (theory)"]
    assert (out / "profile.db").exists()
    printed = capsys.readouterr().out
    assert "2 runs" in printed and "fastest on the most problems" in printed
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nepsilons = [0.3]\nmax_queries = 200\nmethods = ["newton"]\n'
                   '[[problems]]\nname = "mifflin1"\n')
    assert main(["profile", str(bad), "--out", str(out)]) == 2
    assert "methods[0]" in capsys.readouterr().err
    assert main(["profile", str(spec), "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err
