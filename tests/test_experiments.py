"""Tests of o2nc.experiments: specs, the results store, the sweep driver and executors, kill-and-resume, rate fits."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from o2nc.experiments import (
    SpecError,
    Store,
    StoreError,
    config_key,
    fit_exponent,
    fit_power_law,
    fit_store,
    fit_table,
    load_spec,
    run_config,
    run_sweep,
    summary_table,
    theory_budget,
)
from tests import test_experiments_toys as toys

HERE = Path(__file__).resolve().parent
TOY = toys.scaled_norm  # a factory passed from Python (a spec file may name registered objectives only)
TOY_NAME = "tests.test_experiments_toys:scaled_norm"  # its name in run configs; in a file only with allow_import
ALLOW = ["tests.test_experiments_toys"]


def small_spec(**over):
    spec = {
        "name": "t",
        "seeds": 2,
        "deltas": [0.1, 0.05],
        "measure": {"budgets": [400, 1600], "epsilons": [0.6, 0.4], "max_queries": 20000},
        "objectives": [{"name": TOY, "params": {"dim": 3}}],
        "methods": [{"name": "o2nc-ogd", "learner": "ogd"}],
    }
    spec.update(over)
    return spec


@pytest.fixture(autouse=True)
def _toys_on_path(monkeypatch):
    """Worker processes (spawned, dask) import the toy objectives from this folder."""
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE.parent), str(HERE), os.environ.get("PYTHONPATH", "")]))


# ----------------------------------------------------------------------------------------------------------------
# specs
# ----------------------------------------------------------------------------------------------------------------


def test_spec_expands_and_keys_are_stable():
    sp = load_spec(small_spec())
    runs = sp.runs()
    # 1 objective × 1 method × 2 δ × (2 budgets + 2 ε) × 2 seeds
    assert len(runs) == 16
    assert len({r.key for r in runs}) == 16
    assert [r.key for r in load_spec(small_spec()).runs()] == [r.key for r in runs]
    # the key is the hash of the full config: changing anything in it changes the key
    cfg = dict(runs[0].config)
    assert config_key(cfg) == runs[0].key
    cfg["seed"] = 99
    assert config_key(cfg) != runs[0].key
    # dict order does not matter
    assert config_key(dict(reversed(list(runs[0].config.items())))) == runs[0].key


def test_spec_toml_and_yaml(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text(textwrap.dedent(f"""
        name = "t"
        seeds = 2
        deltas = [0.1, 0.05]
        [measure]
        budgets = [400, 1600]
        epsilons = [0.6, 0.4]
        max_queries = 20000
        [[objectives]]
        name = "{TOY_NAME}"
        params = {{ dim = 3 }}
        [[methods]]
        name = "o2nc-ogd"
        learner = "ogd"
    """))
    a = load_spec(toml, allow_import=ALLOW)
    b = load_spec(small_spec())
    assert [r.key for r in a.runs()] == [r.key for r in b.runs()]
    yaml = pytest.importorskip("yaml", reason="PyYAML not installed: YAML specs unavailable")
    y = tmp_path / "s.yaml"
    y.write_text(yaml.safe_dump(small_spec(objectives=[{"name": TOY_NAME, "params": {"dim": 3}}])))
    assert [r.key for r in load_spec(y, allow_import=ALLOW).runs()] == [r.key for r in b.runs()]
    # a YAML document that would construct Python objects is refused by safe_load
    bad = tmp_path / "evil.yaml"
    bad.write_text("name: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(SpecError, match="evil.yaml"):
        load_spec(bad)


@pytest.mark.parametrize("change, field", [
    ({"deltas": [0.1, -1]}, "deltas[1]"),
    ({"seeds": 0}, "seeds"),
    ({"seeds": [1, 1]}, "seeds"),
    ({"measure": {"budgets": [0]}}, "measure.budgets[0]"),
    ({"measure": {"epsilons": [0.1]}}, "measure.max_queries"),
    ({"measure": {"budgets": [100], "certificate": "maybe"}}, "measure.certificate"),
    ({"measure": {}}, "measure"),
    ({"methods": [{"learner": "nope"}]}, "methods[0].learner"),
    ({"methods": [{"learner": "ogd", "tuning": "magic"}]}, "methods[0].tuning"),
    ({"methods": [{"learner": "ogd", "tuning": "fixed"}]}, "methods[0].epoch_length"),
    ({"methods": [{"learner": "ogd", "colour": 1}]}, "methods[0].colour"),
    ({"objectives": [{"name": "tests.test_experiments_toys:no_such"}]}, "objectives[0].name"),
    ({"objectives": [{"name": TOY, "params": {"bogus": 1}}]}, "objectives[0]"),
    ({"objectives": [{"name": TOY, "oracle": "stochastic"}]}, "objectives[0].oracle"),
    ({"objectives": []}, "objectives"),
    ({"extra_top": 1}, "extra_top"),
])
def test_spec_errors_name_the_field(change, field):
    with pytest.raises(SpecError) as ei:
        load_spec(small_spec(**change))
    assert f"{field}:" in str(ei.value)


def test_spec_file_errors_name_the_file(tmp_path):
    with pytest.raises(SpecError, match="missing.toml"):
        load_spec(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed")
    with pytest.raises(SpecError, match="bad.toml"):
        load_spec(bad)
    other = tmp_path / "s.ini"
    other.write_text("")
    with pytest.raises(SpecError, match="s.ini"):
        load_spec(other)


# ----------------------------------------------------------------------------------------------------------------
# the store
# ----------------------------------------------------------------------------------------------------------------


def test_store_wal_and_done_rows_are_never_overwritten(tmp_path):
    db = tmp_path / "r.db"
    with Store(db) as s:
        assert s._con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s.put("k", {"a": 1}, "error", error="boom")
        assert s.put("k", {"a": 1}, "done", result={"v": 1.0})  # a retry replaces an error
        assert not s.put("k", {"a": 1}, "done", result={"v": 2.0})  # but never a finished run
        assert not s.put("k", {"a": 1}, "error", error="late")
        assert s.get("k")["result"] == {"v": 1.0}
        with pytest.raises(ValueError, match="status"):
            s.put("k2", {}, "running")
    with Store(db, readonly=True) as s:
        assert s.status() == {"k": "done"}
        with pytest.raises(StoreError, match="read-only"):
            s.put("k3", {}, "done", result={})


def test_store_bad_files(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="junk.db"):
        Store(junk)
    assert junk.read_bytes() == b"this is not sqlite" * 100  # untouched
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE people(name TEXT)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="foreign.db.*not an o2nc results store"):
        Store(foreign)
    with pytest.raises(StoreError, match="nothere.db"):
        Store(tmp_path / "nothere.db", readonly=True)


def test_store_locked_database_is_a_clear_error(tmp_path):
    db = tmp_path / "r.db"
    with Store(db) as s:
        s.put("k", {"a": 1}, "done", result={"v": 1.0})
    holder = sqlite3.connect(db, timeout=0.1)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with Store(db, timeout=0.2) as s:
            with pytest.raises(StoreError, match=r"r\.db.*locked"):
                s.put("k2", {"a": 2}, "done", result={"v": 2.0})
            assert s.get("k")["result"] == {"v": 1.0}  # reads still work
    except StoreError as exc:  # opening may already need the lock (schema check)
        assert "locked" in str(exc) and "r.db" in str(exc)
    finally:
        holder.rollback()
        holder.close()
    with Store(db) as s:
        assert s.get("k")["result"] == {"v": 1.0}  # nothing stored was lost


# ----------------------------------------------------------------------------------------------------------------
# runs
# ----------------------------------------------------------------------------------------------------------------


def test_theory_budget_inverts_the_bound():
    from o2nc.theory import ogd_bound

    for eps in (0.5, 0.2):
        n = theory_budget(eps, 0.1, 1.0, 2.0)
        assert ogd_bound(n, 0.1, 1.0, 2.0) <= eps
        assert ogd_bound(int(n * 0.9), 0.1, 1.0, 2.0) > eps


def test_run_budget_and_epsilon_exact():
    sp = load_spec(small_spec(seeds=[0]))
    budget_cfg = next(r.config for r in sp.runs() if r.config["measure"] == "budget")
    res = run_config(budget_cfg)
    assert res["grad_calls"] <= budget_cfg["budget"] and res["grad_calls"] == res["epochs"] * res["epoch_length"]
    assert res["radius_max"] <= budget_cfg["delta"] + 1e-12  # D = δ/T keeps epochs in the δ-ball
    assert res["certificate_best"] <= res["certificate_mean"]
    assert res["certificate_mean"] <= res["bound"]  # Theorem 8 (exact gradients; here it holds per run)
    assert res["eval_calls"] == 0 and res["certificate_source"] == "algorithm-exact"
    eps_cfg = next(r.config for r in sp.runs() if r.config["measure"] == "epsilon")
    res = run_config(eps_cfg)
    assert not res["censored"] and res["certificate"] <= eps_cfg["epsilon"]
    assert res["queries"] % res["epoch_length"] == 0


def test_run_stochastic_recomputes_exact_certificates():
    sp = load_spec(small_spec(seeds=[0], objectives=[{"name": TOY, "params": {"dim": 3, "noise": 1.0}}]))
    cfgs = [r.config for r in sp.runs()]
    res = run_config(next(c for c in cfgs if c["measure"] == "budget"))
    assert res["oracle"] == "stochastic" and res["certificate_source"] == "exact-recomputed"
    assert res["eval_calls"] == res["grad_calls"]  # one exact call per step, counted apart
    res = run_config(next(c for c in cfgs if c["measure"] == "epsilon"))
    assert res["eval_calls"] == res["grad_calls"] == res["queries"]


def test_run_censored_when_never_certified():
    spec = small_spec(seeds=[0], measure={"epsilons": [1e-4], "max_queries": 300},
                      methods=[{"learner": "ogd", "tuning": "fixed", "epoch_length": 50,
                                "learner_params": {"lr": 1e-3, "radius": 1e-3}}])
    res = run_config(load_spec(spec).runs()[0].config)
    assert res["censored"] and res["queries"] is None and res["grad_calls"] == 300


# ----------------------------------------------------------------------------------------------------------------
# sweeps, executors, resume
# ----------------------------------------------------------------------------------------------------------------


def test_sweep_serial_resume_and_summary(tmp_path, capsys):
    db = tmp_path / "r.db"
    rep = run_sweep(small_spec(), db, executor="serial", progress=False)
    assert rep.total == 16 and rep.done == 16 and rep.complete
    with Store(db) as s:
        first = {r["key"]: r["finished"] for r in s.rows()}
    rep = run_sweep(small_spec(), db, executor="serial", progress=True)
    assert rep.skipped == 16 and rep.done == 0
    out = capsys.readouterr().out
    assert "queries@eps" in out and "certificate@N" in out and "16 already stored" in out
    with Store(db) as s:
        assert {r["key"]: r["finished"] for r in s.rows()} == first  # nothing recomputed
        table = summary_table(s, "t")
    assert len(table.splitlines()) == 2 + 8  # header, rule, 8 groups


def test_sweep_errors_are_stored_and_retried_on_request(tmp_path):
    db = tmp_path / "r.db"
    spec = small_spec(seeds=[0], deltas=[0.1], objectives=[{"name": TOY, "params": {"dim": 3, "fail_at": 1}}])
    rep = run_sweep(spec, db, executor="serial", progress=False)
    assert rep.failed == 4 and rep.done == 0 and "RuntimeError" in rep.errors[0][1]
    rep = run_sweep(spec, db, executor="serial", progress=False)
    assert rep.failed_before == 4 and rep.failed == 0
    rep = run_sweep(spec, db, executor="serial", progress=False, retry_failed=True)
    assert rep.failed == 4


def test_sweep_process_pool_matches_serial(tmp_path):
    a = tmp_path / "a.db"
    b = tmp_path / "b.db"
    spec = small_spec(seeds=[0, 1], deltas=[0.1])
    run_sweep(spec, a, executor="serial", progress=False)
    rep = run_sweep(spec, b, executor="process", workers=2, progress=False)
    assert rep.done == 8
    with Store(a) as sa, Store(b) as sb:
        ra = {r["key"]: r["result"] for r in sa.rows()}
        rb = {r["key"]: r["result"] for r in sb.rows()}
    strip = lambda d: {k: v for k, v in d.items() if k != "wall"}  # noqa: E731
    assert {k: strip(v) for k, v in ra.items()} == {k: strip(v) for k, v in rb.items()}  # same seeds, same results


def test_sweep_any_executor(tmp_path):
    with ThreadPoolExecutor(2) as ex:
        rep = run_sweep(small_spec(seeds=[0], deltas=[0.1]), tmp_path / "r.db", executor=ex, progress=False)
    assert rep.done == 4
    with pytest.raises(ValueError, match="executor"):
        run_sweep(small_spec(), tmp_path / "r.db", executor="cloud", progress=False)


def test_sweep_dask_local_cluster_on_loopback(tmp_path):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed (extra: sweep)")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                                  processes=True) as cluster, distributed.Client(cluster) as client:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        rep = run_sweep(small_spec(seeds=[0], deltas=[0.1]), tmp_path / "r.db", executor=client, progress=False)
        assert rep.done == 4
        # by address, as `o2nc sweep --executor dask --scheduler ADDRESS` does
        rep = run_sweep(small_spec(seeds=[1], deltas=[0.1]), tmp_path / "r.db", executor="dask",
                        scheduler=cluster.scheduler_address, progress=False)
        assert rep.done == 4
    with Store(tmp_path / "r.db") as s:
        assert len(list(s.rows(status="done"))) == 8


def test_sweep_survives_sigkill_and_resumes(tmp_path):
    db = tmp_path / "r.db"
    spec = small_spec(seeds=list(range(4)), deltas=[0.1], measure={"budgets": [300, 600], "max_queries": 1},
                      objectives=[{"name": TOY_NAME, "params": {"dim": 3, "sleep": 0.002}}])
    spec["measure"].pop("max_queries")
    spec_file = tmp_path / "s.json"
    spec_file.write_text(json.dumps(spec))
    script = ("import sys; from o2nc.experiments import load_spec, run_sweep; "
              f"run_sweep(load_spec({str(spec_file)!r}, allow_import={ALLOW!r}), {str(db)!r}, executor='process', "
              "workers=2, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True, cwd=str(HERE.parent),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stored = 0
    try:
        deadline = time.time() + 90
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
            if db.exists():
                try:
                    con = sqlite3.connect(db, timeout=1)
                    stored = con.execute("SELECT count(*) FROM runs WHERE status='done'").fetchone()[0]
                    con.close()
                except sqlite3.Error:
                    stored = 0
                if stored >= 2:
                    break
        assert proc.poll() is None, f"the sweep ended before it could be killed: {proc.stderr.read()!r}"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its pool, for real
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with Store(db) as s:
        assert s._con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        before = {r["key"]: (r["result"], r["finished"]) for r in s.rows(status="done")}
    total = 8
    assert 2 <= len(before) < total
    rep = run_sweep(load_spec(spec_file, allow_import=ALLOW), db, executor="serial", progress=False)
    assert rep.skipped == len(before) and rep.done == total - len(before) and rep.complete
    with Store(db) as s:
        after = {r["key"]: (r["result"], r["finished"]) for r in s.rows(status="done")}
    assert len(after) == total
    assert all(after[k] == v for k, v in before.items())  # nothing lost, nothing recomputed


# ----------------------------------------------------------------------------------------------------------------
# rate fits
# ----------------------------------------------------------------------------------------------------------------


def test_fit_recovers_known_exponent_with_calibrated_interval():
    # y = C ε^{-3} · lognormal noise, 5 seeds at 5 targets; the 95% interval should cover −3 about 95% of the time
    eps = np.repeat(np.geomspace(0.05, 0.5, 5), 5)
    rng = np.random.default_rng(0)
    hits, widths = 0, []
    for trial in range(200):
        y = 3.0 * eps ** -3.0 * np.exp(0.3 * rng.standard_normal(eps.size))
        f = fit_exponent(eps, y, n_boot=400, seed=trial, bootstrap="residual")
        hits += f.contains(-3.0)
        widths.append(f.ci_high[0] - f.ci_low[0])
    assert 0.88 <= hits / 200 <= 0.99
    # the OLS standard error of the slope is σ/sqrt(Σ(log ε − mean)²); a 95% interval is about ±1.96 of it
    lx = np.log(eps)
    se = 0.3 / np.sqrt(np.sum((lx - lx.mean()) ** 2))
    assert np.median(widths) == pytest.approx(2 * 1.96 * se, rel=0.15)


@pytest.mark.parametrize("cell_sd", [0.05, 0.0])
def test_fit_cell_interval_is_calibrated_where_the_residual_bootstrap_is_not(cell_sd):
    """5 targets × 5 seeds; each target's seeds share a random departure u_c ~ N(0, cell_sd²) from the line (a
    finite-size effect of the tuning), and differ by N(0, 0.01²).  The default interval (t on the cell means) covers
    −3 about 95% of the time with and without the cell effect; the residual bootstrap, which counts each u_c five
    times as independent evidence, covers it in about half of the trials when there is one."""
    eps = np.repeat(np.geomspace(0.02, 0.2, 5), 5)
    rng = np.random.default_rng(3)
    hits = {"cells": 0, "residual": 0}
    trials = 300
    for trial in range(trials):
        u = np.repeat(cell_sd * rng.standard_normal(5), 5)
        y = eps ** -3.0 * np.exp(u + 0.01 * rng.standard_normal(eps.size))
        for how in hits:
            f = fit_exponent(eps, y, n_boot=200, seed=trial, bootstrap=how)
            assert f.method == how and f.cells == 5
            hits[how] += f.contains(-3.0)
    assert 0.90 <= hits["cells"] / trials <= 0.99, hits
    if cell_sd > 0:
        assert hits["residual"] / trials <= 0.70, hits


def test_fit_cells_falls_back_without_spare_cells():
    # two targets, two parameters: the cell means lie on the line exactly, nothing measures their spread
    eps = np.repeat([0.1, 0.2], 4)
    y = eps ** -3.0 * np.exp(0.01 * np.random.default_rng(0).standard_normal(8))
    f = fit_exponent(eps, y)
    assert f.method == "residual" and f.cells == 2


def test_fit_joint_exponents_and_stratified():
    eps, delta = np.meshgrid(np.geomspace(0.05, 0.5, 4), np.geomspace(0.01, 0.1, 3))
    eps, delta = np.repeat(eps.ravel(), 4), np.repeat(delta.ravel(), 4)
    rng = np.random.default_rng(1)
    y = 2.0 * eps ** -3 * delta ** -1 * np.exp(0.2 * rng.standard_normal(eps.size))
    for how in ("cells", "residual", "stratified"):
        f = fit_power_law(np.column_stack([eps, delta]), y, bootstrap=how)
        assert f.method == how and f.cells == 12 and f.n == 48
        assert f.contains(-3.0, 0) and f.contains(-1.0, 1)
        assert abs(f.exponents[0] + 3) < 0.15 and abs(f.exponents[1] + 1) < 0.15


def test_fit_exact_power_law_and_errors():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    f = fit_exponent(x, 5 * x ** -1.5)
    assert f.exponent == pytest.approx(-1.5, abs=1e-12) and f.r2 == pytest.approx(1.0)
    assert f.ci_high[0] - f.ci_low[0] < 1e-9
    with pytest.raises(ValueError, match="y"):
        fit_exponent(x, [1, 2, 0, 3])
    with pytest.raises(ValueError, match="xs"):
        fit_exponent([1, 1, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="level"):
        fit_exponent(x, x, level=1.5)
    with pytest.raises(ValueError, match="stratified"):
        fit_exponent(x, x, bootstrap="stratified")
    with pytest.raises(ValueError, match="cells"):
        fit_exponent(x, x, bootstrap="seeds")


def test_fit_store_table(tmp_path):
    db = tmp_path / "r.db"
    run_sweep(small_spec(), db, executor="serial", progress=False)
    with Store(db, readonly=True) as s:
        rows = fit_store(s, against="epsilon", n_boot=200)
        by_delta = fit_store(s, against="delta", n_boot=200)
        budget = fit_store(s, against="budget", n_boot=200)
    assert {r.fixed for r in rows} == {"delta=0.1", "delta=0.05", "joint"}
    assert all(r.fit is not None and r.fit.exponent < 0 for r in rows)  # fewer queries for larger ε
    assert all(r.fit.exponent < 0 for r in by_delta)                      # and for larger δ
    assert all(r.fit.exponent < 0 for r in budget)                        # smaller certificates with more calls
    table = fit_table(rows)
    assert "epsilon (joint)" in table and "delta (joint)" in table and "95% CI" in table


def test_interval_words_name_the_scheme_of_every_fit():
    from o2nc.experiments import interval_words

    eps = np.repeat([0.1, 0.2, 0.4], 2)
    y = eps ** -2.0 * np.exp(0.01 * np.random.default_rng(0).standard_normal(6))
    cells, residual = fit_exponent(eps, y), fit_exponent(eps, y, bootstrap="residual")
    assert interval_words([cells.method]) == "95% t intervals on the design cells' means"
    assert interval_words([cells.method, residual.method], level=0.9) == (
        "90% t intervals on the design cells' means (1 fits) or residual-bootstrap intervals (1 fits)")
