"""Tests of the `o2nc sweep` and `o2nc fit` commands and of the shipped experiment specs."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from o2nc.commands import fit as fit_cmd
from o2nc.commands import sweep as sweep_cmd
from o2nc.experiments import Store, load_spec

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _toys_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


TOYS = "tests.test_experiments_toys"


def parse(argv):
    if argv[0] == "sweep" and "--allow-import" not in argv:
        argv = [*argv, "--allow-import", TOYS]  # the specs below name the test toys' factory
    ap = argparse.ArgumentParser(prog="o2nc")
    sub = ap.add_subparsers(dest="command")
    sweep_cmd.add_parser(sub)
    fit_cmd.add_parser(sub)
    return ap.parse_args(argv)


def write_spec(tmp_path, **over):
    spec = {"name": "cli", "seeds": 2, "deltas": [0.1, 0.05],
            "measure": {"epsilons": [0.6, 0.4, 0.3], "max_queries": 20000, "budgets": [400, 1600]},
            "objectives": [{"name": TOYS + ":scaled_norm", "params": {"dim": 3}}],
            "methods": [{"name": "o2nc-ogd", "learner": "ogd"}]}
    spec.update(over)
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def test_sweep_then_fit(tmp_path, capsys):
    spec = write_spec(tmp_path)
    db = tmp_path / "out" / "r.db"
    args = parse(["sweep", str(spec), "--db", str(db), "--executor", "serial", "--no-progress"])
    assert args.run(args) == 0
    assert "20 done now" in capsys.readouterr().out
    args = parse(["sweep", str(spec), "--db", str(db), "--dry-run"])
    assert args.run(args) == 0
    assert "20 runs; 20 done, 0 failed, 0 pending" in capsys.readouterr().out
    args = parse(["fit", str(db), "--boot", "200"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "exponents against epsilon" in out and "epsilon (joint)" in out and "budget @ delta=0.1" in out
    args = parse(["fit", str(db), "--against", "delta", "--json", "--boot", "200"])
    assert args.run(args) == 0
    rows = json.loads(capsys.readouterr().out)["fits"]
    assert {r["fixed"] for r in rows} == {"epsilon=0.6", "epsilon=0.4", "epsilon=0.3"}
    # two δ values: as many design cells as parameters, so no interval ("ci": null) — the exponent is still fitted
    assert all(r["variable"] == "delta" and r["exponent"] < 0 and r["ci"] is None and r["interval"] == "none"
               for r in rows)


def test_sweep_bad_inputs_are_clear(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\ndeltas = [0.1]\n")
    args = parse(["sweep", str(bad), "--db", str(tmp_path / "r.db")])
    assert args.run(args) == 2
    assert "bad.toml" in capsys.readouterr().err
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 64)
    args = parse(["sweep", str(write_spec(tmp_path)), "--db", str(junk), "--executor", "serial", "--no-progress"])
    assert args.run(args) == 2
    assert "junk.db" in capsys.readouterr().err
    assert junk.read_bytes() == b"not a database" * 64
    args = parse(["fit", str(tmp_path / "none.db")])
    assert args.run(args) == 2
    assert "none.db" in capsys.readouterr().err
    args = parse(["sweep", str(write_spec(tmp_path)), "--scheduler", "tcp://127.0.0.1:1"])
    assert args.run(args) == 2
    assert "--executor dask" in capsys.readouterr().err


def test_fit_unknown_sweep(tmp_path, capsys):
    db = tmp_path / "r.db"
    with Store(db) as s:
        s.register_sweep("a", {}, [])
    args = parse(["fit", str(db), "--sweep", "b"])
    assert args.run(args) == 2
    assert "no sweep 'b'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["small.toml", "full.toml"])
def test_shipped_specs_are_valid(name):
    try:
        import objectives
        objectives.names()
    except Exception:
        pytest.skip("the objective bank is not available")
    sp = load_spec(ROOT / "experiments" / name)
    assert sp.name == name.removesuffix(".toml") and len(sp.runs()) > 0
