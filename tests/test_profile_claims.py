"""What the profile report claims holds of what it computes: crashed runs are told apart from unsolved ones, the
median ratio's ∞ at exactly half, what a count is and which cap it obeys, and bad problem parameters name their
field."""
from __future__ import annotations

import json
import math

import pytest

from o2nc.experiments import SpecError, Store
from o2nc.experiments.profile import CALLS_COUNTED, calls_of, collect, load_profile, problem_label, run_profile
from o2nc.experiments.profile_report import ERROR_MARK, entries, entry_errors, leaderboard, write_report
from o2nc.experiments.spec import load_spec

INF = math.inf


def spec(**over) -> dict:
    d = {"name": "claims", "seeds": 2, "delta": 0.1, "epsilons": [0.3], "max_queries": 50, "grid": [1.0, 10.0],
         "epoch_lengths": [10], "methods": ["sgd", "ingd"], "problems": [{"name": "mifflin1"}, {"name": "maxq"}]}
    d.update(over)
    return d


# ---------------------------------------------------------------------------------------------------------------
# crashed runs


def test_a_crashed_run_is_counted_apart_from_an_unsolved_one(tmp_path):
    prof = load_profile(spec(), check=False)
    mif = problem_label("mifflin1", 0.3)
    db = tmp_path / "p.db"
    with Store(db) as store:
        for r in load_spec(prof.sweep).runs():
            c = r.config
            name, prob = c["method"]["name"], problem_label(c["objective"]["label"], c["epsilon"])
            if name == "ingd@theory" and prob == mif:
                store.put(r.key, c, "error", error="ValueError: INGD: something broke\nTraceback ...")
            elif name == "sgd@x10" and prob == mif and c["seed"] == 1:
                continue  # not run yet
            elif name == "sgd@x10" and prob == mif:
                store.put(r.key, c, "error", error="RuntimeError: boom")
            else:  # certified with 20 calls of its own and 5 of its certificate, or censored at the cap
                certified = name != "sgd@theory"
                store.put(r.key, c, "done", result={"queries": 20 if certified else None, "eval_calls": 5,
                                                    "censored": not certified})
        got = collect(prof, store)
    assert got["missing"] == 1
    assert [(e["config"], e["problem"], e["seed"], e["error"]) for e in got["errors"]] == [
        ("sgd@x10", mif, 0, "RuntimeError: boom"),
        ("ingd@theory", mif, 0, "ValueError: INGD: something broke"),
        ("ingd@theory", mif, 1, "ValueError: INGD: something broke")]
    # a crash is unsolved in the calls table, like a run censored at the cap
    assert got["configs"]["ingd@theory"][mif] == [None, None] and got["configs"]["sgd@theory"][mif] == [None, None]
    errs = entry_errors(prof, got)
    # a tuned entry draws on every configuration of its grid: sgd@x10's crash might have been its best run
    assert errs["sgd (tuned)"][mif] == (1, 4) and errs["sgd (theory)"][mif] == (0, 2)
    assert errs["ingd (theory)"][mif] == (2, 2)
    data = write_report(prof, got, tmp_path / "out")
    saved = json.loads((tmp_path / "out" / "profile.json").read_text())
    assert saved["setup"]["error_runs"] == 3 and saved["setup"]["missing_runs"] == 1
    assert saved["errors"] == got["errors"]
    assert saved["errored_runs"]["ingd (theory)"] == {"errored": 2, "runs": 4}
    assert saved["errored_runs"]["sgd (theory)"] == {"errored": 0, "runs": 4}
    row = data["leaderboard"]["all"]["rows"]
    assert row["ingd (theory)"]["errored_runs"] == 2 and row["ingd (theory)"]["runs"] == 4
    text = (tmp_path / "out" / "leaderboard.md").read_text()
    assert f"| ingd (theory) {ERROR_MARK} | 50% |" in text and "| 2 of 4 |" in text
    assert f"| sgd (tuned) {ERROR_MARK} |" in text and "| sgd (theory) | 0% |" in text
    assert "3 run(s) stopped with an error" in text and "INGD: something broke" in text
    assert "1 run(s) not run yet" in text
    assert "count as unsolved" in text


def test_the_command_says_when_runs_crashed(tmp_path, capsys):
    from o2nc.cli import main

    path = tmp_path / "c.toml"
    path.write_text('name = "c"\nseeds = 1\nepsilons = [0.3]\nmax_queries = 50\nmethods = ["ingd", "bfgs"]\n'
                    '[[problems]]\nname = "mifflin1"\n')
    prof, db = load_profile(path, check=False), tmp_path / "c.db"
    with Store(db) as store:  # INGD's run crashed earlier (stored as an error); BFGS's runs now
        run = next(r for r in load_spec(prof.sweep).runs() if r.config["method"]["name"] == "ingd@theory")
        store.put(run.key, run.config, "error", error="ValueError: INGD: something broke")
    out = tmp_path / "out"
    assert main(["profile", str(path), "--out", str(out), "--db", str(db), "--executor", "serial",
                 "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "1 run(s) stopped with an error: counted as unsolved" in err
    assert f"| ingd (theory) {ERROR_MARK} | 0% |" in (out / "leaderboard.md").read_text()
    assert json.loads((out / "profile.json").read_text())["errors"][0]["config"] == "ingd@theory"


# ---------------------------------------------------------------------------------------------------------------
# the median ratio at exactly half


def test_the_median_ratio_is_infinite_at_exactly_half_and_the_caption_says_so(tmp_path):
    prof = load_profile(spec(methods=["ingd", "bfgs"]), check=False)
    p1, p2 = problem_label("mifflin1", 0.3), problem_label("maxq", 0.3)
    table = {"ingd@theory": {p1: [10, 10], p2: [None, None]}, "bfgs@theory": {p1: [20, 20], p2: [40, 40]}}
    got = {"configs": table, "problems": [p1, p2], "classes": {p1: "convex", p2: "convex"},
           "dims": {p1: 2, p2: 20}, "missing": 0}
    ents, _ = entries(prof, got)
    rows = leaderboard(ents, [p1, p2], got["classes"])["all"]["rows"]
    # INGD solves exactly half of the problems: the median ratio is (1 + ∞)/2 = ∞, per seed too
    assert rows["ingd (theory)"]["solved"] == 0.5 and rows["ingd (theory)"]["median_ratio"] == INF
    assert rows["ingd (theory)"]["median_ratio_seeds"] == [INF, INF]
    assert rows["bfgs (theory)"]["median_ratio"] == 1.5  # ratios 2 and 1
    # more than half (two of three): finite
    p3 = problem_label("o2nc_toy", 0.3)
    table["ingd@theory"][p3], table["bfgs@theory"][p3] = [5, 5], [5, 5]
    rows = leaderboard(entries(prof, {**got, "problems": [p1, p2, p3]})[0], [p1, p2, p3],
                       {**got["classes"], p3: "convex"})["all"]["rows"]
    assert rows["ingd (theory)"]["median_ratio"] == 1.0
    write_report(prof, got, tmp_path)
    text = (tmp_path / "leaderboard.md").read_text()
    assert "∞ unless it solves more than half of them" in text and "fails on more than half" not in text
    assert "| ingd (theory) | 50% | 50% – 50% | ∞ | ∞ – ∞ |" in text


# ---------------------------------------------------------------------------------------------------------------
# what a count is, and the cap it obeys


def test_counts_are_the_capped_calls_plus_the_certificates_and_the_report_says_so(tmp_path):
    db = tmp_path / "p.db"
    prof, report = run_profile(spec(seeds=1, methods=["sgd"], problems=[{"name": "maxq"}, {"name": "mxhilb"}]),
                               db, executor="serial", progress=False)
    assert report.complete
    cap = prof.data["max_queries"]
    with Store(db) as store:
        got = collect(prof, store)
        results = {(r["config"]["method"]["name"], problem_label(r["config"]["objective"]["label"], 0.3)):
                   r["result"] for r in store.rows()}
    assert not got["errors"]
    solved = 0
    for (cfg, prob), res in results.items():
        count, cert = got["configs"][cfg][prob][0], got["certificate_calls"][cfg][prob][0]
        assert count == calls_of(res)
        if count is None:
            assert cert is None
            continue
        solved += 1
        # the method's part is within the cap; only the certificate's part can take a count over it
        assert count - cert == res["queries"] <= cap and cert == res["eval_calls"]
        if res["resolution"] == "doubling":
            # the certified run alone: a budget of the grid, not the calls of its earlier, smaller runs
            n0 = res["doubling_start"]
            assert res["queries"] in [n0 * 2 ** j for j in range(8) if n0 * 2 ** j < cap] + [cap]
            assert res["work"]["grad_calls"] >= res["queries"]
    assert solved and any(c is not None and c > cap for p in got["configs"].values() for s in p.values() for c in s)
    data = write_report(prof, got, tmp_path / "out")
    stated = CALLS_COUNTED.format(cap=cap, start=prof.data["doubling_start"])
    assert data["setup"]["calls_counted"] == stated
    assert data["certificate_calls"] == got["certificate_calls"]
    text = (tmp_path / "out" / "leaderboard.md").read_text()
    assert stated in text and f"cap {cap} calls per run" not in text
    for words in (f"at most the cap of {cap} per run", "plus the calls of the certificate itself",
                  f"can exceed {cap} by them", "not its earlier, smaller runs"):
        assert words in stated


# ---------------------------------------------------------------------------------------------------------------
# bad problem parameters


@pytest.mark.parametrize("params, match", [
    ("abc", r"problems\[1\]\.params: expected a table of parameters, got 'abc'"),
    ({"n": 0}, r"problems\[1\]\.params: .*`n` must be an integer >= 1, got 0"),
    ({"n": "x"}, r"problems\[1\]\.params: .*`n` must be an integer >= 1"),
    ({"size": 3}, r"problems\[1\]\.params: .*no parameter\(s\) \['size'\]; accepted: \['n', 'seed'\]"),
])
def test_bad_problem_params_name_the_field(params, match):
    d = spec(methods=["o2nc_ogd", "sgd"], problems=[{"name": "maxq"}, {"name": "o2nc_toy", "params": params}])
    with pytest.raises(SpecError, match=match):
        load_profile(d, check=False)
    # without an O2NC method (no theory constants to check) the class alone still builds the objective
    with pytest.raises(SpecError, match=match):
        load_profile({**d, "methods": ["sgd"]}, check=False)


def test_quick_names_a_problem_by_its_index_in_the_spec():
    d = spec(problems=[{"name": "maxq"}, {"name": "o2nc_toy", "params": {"n": 0}}],
             quick={"problems": ["o2nc_toy"]})
    with pytest.raises(SpecError, match=r"problems\[1\]\.params"):
        load_profile(d, quick=True, check=False)


def test_the_command_exits_2_with_one_line_naming_the_params(tmp_path, capsys):
    from o2nc.cli import main

    for params, words in (('"abc"', "problems[1].params: expected a table"),
                          ("{ n = 0 }", "problems[1].params: objective 'o2nc_toy' refuses")):
        path = tmp_path / "bad.toml"
        path.write_text('name = "bad"\nepsilons = [0.3]\nmax_queries = 50\nmethods = ["sgd"]\n'
                        f'[[problems]]\nname = "maxq"\n[[problems]]\nname = "o2nc_toy"\nparams = {params}\n')
        assert main(["profile", str(path), "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
