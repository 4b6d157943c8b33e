"""The benchopt benchmark generated from a profile spec runs under ``benchopt run`` (two problems, two solvers)."""
from __future__ import annotations

import ast
import math
import subprocess
import sys

import numpy as np
import pytest

from o2nc.benchopt import generate

SPEC = {"name": "bo", "seeds": 1, "delta": 0.1, "epsilons": [0.3], "max_queries": 300,
        "methods": ["sgd", "ingd"], "problems": [{"name": "mifflin1"}, {"name": "nesterov_n2"}]}


def test_generated_files_hold_only_names_and_parameters(tmp_path):
    dest = generate(tmp_path / "bench", SPEC)
    assert sorted(p.name for p in (dest / "solvers").iterdir()) == ["ingd.py", "sgd.py"]
    tree = ast.parse((dest / "datasets" / "bank.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    values = {t.targets[0].id: ast.literal_eval(t.value) for t in cls.body if isinstance(t, ast.Assign)}
    assert values["parameters"] == {"problem": ["mifflin1", "nesterov_n2"]}
    assert values["problems"]["nesterov_n2"] == {"name": "nesterov_n2"}
    solver = ast.parse((dest / "solvers" / "sgd.py").read_text())
    body = next(n for n in solver.body if isinstance(n, ast.ClassDef)).body
    params = next(ast.literal_eval(t.value) for t in body if isinstance(t, ast.Assign) and t.targets[0].id ==
                  "parameters")
    assert params == {"point": ["x0.1", "theory", "x10"]}


def test_benchopt_run_on_two_problems_and_two_solvers(tmp_path):
    pytest.importorskip("benchopt")
    pd = pytest.importorskip("pandas")
    dest = generate(tmp_path / "bench", SPEC)
    out = tmp_path / "result.parquet"
    cmd = [sys.executable, "-m", "benchopt", "run", str(dest), "-d", "bank[problem=mifflin1]",
           "-d", "bank[problem=nesterov_n2]", "-s", "sgd[point=theory]", "-s", "ingd", "-n", "4", "--no-plot",
           "--no-timeout", "--no-cache", "--output", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    df = pd.read_parquet(out)
    assert set(df["solver_name"]) == {"sgd[point=theory]", "ingd[point=theory]"}
    assert set(df["p_dataset_problem"]) == {"mifflin1", "nesterov_n2"}
    for (_, _), g in df.groupby(["solver_name", "p_dataset_problem"]):
        calls = g["objective_calls"].to_numpy()
        assert np.all(calls > 0) and np.all(np.diff(calls) >= 0)  # budgets 16, 16, 32, 64, ...
        assert np.all(np.isfinite(g["objective_value"]))
    # on mifflin1 (F(x0) = -0.8, min F = -1, G = 77.8) both descend and certify their point at δ = 0.1; INGD (its
    # own certificate) gets within 0.01 of the minimum with ε < 0.1 from 128 calls
    for solver in ("ingd[point=theory]", "sgd[point=theory]"):
        runs = df[(df["solver_name"] == solver) & (df["p_dataset_problem"] == "mifflin1")].sort_values("stop_val")
        last = runs.iloc[-1]
        assert math.isfinite(last["objective_certificate"]) and last["objective_value"] < -0.8, solver
    assert last["objective_certificate"] <= runs.iloc[0]["objective_certificate"]
    ingd = df[(df["solver_name"] == "ingd[point=theory]") & (df["p_dataset_problem"] == "mifflin1")]
    last = ingd.sort_values("stop_val").iloc[-1]
    assert last["objective_certificate"] < 0.1 and last["objective_value"] < -0.99
