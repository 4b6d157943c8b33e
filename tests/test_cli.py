"""The command line as a user types it: ``o2nc run`` writes certificates and a plot; bad input fails clearly."""
from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest


def o2nc_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "o2nc", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_run_with_defaults_writes_certificates_and_plot(tmp_path):
    done = o2nc_cli("run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "final certificate" in done.stdout and "(δ, ε)-stationary" in done.stdout
    png = tmp_path / "o2nc-run.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    with open(tmp_path / "o2nc-run.csv") as fh:
        rows = list(csv.DictReader(fh))
    certificates = np.array([float(r["certificate"]) for r in rows])
    radii = np.array([float(r["radius"]) for r in rows])
    assert len(rows) > 10 and np.all(radii <= 0.1)  # every epoch inside the δ-ball of the default δ = 0.1
    assert certificates[-5:].min() < 0.2 * certificates[0]  # the default run makes visible progress


def test_run_out_folder_and_options(tmp_path):
    out = tmp_path / "results"
    done = o2nc_cli("run", "--objective", "o2nc_toy", "--budget", "3000", "--delta", "0.05", "--learner",
                    "adagrad_norm", "--scaling", "exponential", "--out", str(out), "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (out / "o2nc-run.png").exists() and not (tmp_path / "o2nc-run.png").exists()


def test_bad_input_is_a_clear_error(tmp_path):
    done = o2nc_cli("run", "--objective", "chained_cresent_1", cwd=tmp_path)
    assert done.returncode == 2 and "chained_crescent_1" in done.stderr
    done = o2nc_cli("run", "--budget", "-3", cwd=tmp_path)
    assert done.returncode == 2 and "budget" in done.stderr
    done = o2nc_cli("run", "--learner", "ogd", "--learner-param", "lr=-1", cwd=tmp_path)
    assert done.returncode == 2 and "lr" in done.stderr


def test_list_names_objectives_and_learners(tmp_path):
    done = o2nc_cli("list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "chained_crescent_1" in done.stdout and "ogd" in done.stdout and "adagrad_norm" in done.stdout


def test_run_a_baseline_by_name(tmp_path):
    done = o2nc_cli("run", "--method", "ingd", "--objective", "o2nc_toy", "--budget", "3000", "--delta", "0.1",
                    "--method-param", "descent=0.3", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "final certificate (the method's own certificate" in done.stdout
    with open(tmp_path / "o2nc-run.csv") as fh:
        rows = list(csv.DictReader(fh))
    calls = np.array([int(r["calls"]) for r in rows])
    cert = np.array([float(r["certificate"]) for r in rows])
    assert np.all(np.diff(calls) >= 0) and calls[-1] <= 3000
    stated = float(done.stdout.split("ε = ")[1].split(" ")[0])
    assert stated == pytest.approx(np.nanmin(cert), rel=1e-4)  # INGD returns its best-certified iterate
    assert (tmp_path / "o2nc-run.png").read_bytes()[:4] == b"\x89PNG"


def test_run_baseline_bad_input_and_hard_instance(tmp_path):
    done = o2nc_cli("run", "--baseline", "sgd", "--method-param", "lr=-1", cwd=tmp_path)
    assert done.returncode == 2 and "lr" in done.stderr
    done = o2nc_cli("run", "--method", "ingdd", cwd=tmp_path)
    assert done.returncode == 2 and "ingd" in done.stderr
    done = o2nc_cli("run", "--method", "sgd", "--learner", "adagrad_norm", cwd=tmp_path)
    assert done.returncode == 2 and "--method-param" in done.stderr
    # no known F*: the gap comes from the objective's own bound
    done = o2nc_cli("run", "--objective", "hard_chain", "--budget", "2000", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "F* = unknown" in done.stdout


def test_list_baselines(tmp_path):
    done = o2nc_cli("list", "baselines", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ingd" in done.stdout and "gradient_sampling" in done.stdout and "zero-order" in done.stdout
    assert "chained_crescent_1" not in done.stdout


def test_baseline_trace_shows_its_data(tmp_path):
    """SGD evaluates no F and has no running certificate: the CSV still carries F at every iterate (evaluated for
    the report) and the certificate of the returned point is the one printed."""
    done = o2nc_cli("run", "--method", "sgd", "--method-param", "lr=0.01", "--objective", "o2nc_toy", "--budget",
                    "400", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    import objectives

    with open(tmp_path / "o2nc-run.csv") as fh:
        rows = list(csv.DictReader(fh))
    values = np.array([float(r["value"]) for r in rows])
    assert len(rows) == 400 and np.all(np.isfinite(values))
    obj = objectives.get("o2nc_toy")
    assert values[0] < obj.value(obj.x0)  # F after the first step, not at x0: one row per iterate


def test_compare_draws_o2nc_and_a_baseline(tmp_path):
    done = o2nc_cli("run", "--objective", "o2nc_toy", "--budget", "2000", "--compare", "ingd", "--quiet",
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "final certificate (epoch" in done.stdout and "ingd's final certificate" in done.stdout
    with open(tmp_path / "o2nc-run-ingd.csv") as fh:
        ingd = list(csv.DictReader(fh))
    with open(tmp_path / "o2nc-run.csv") as fh:
        o2nc_rows = list(csv.DictReader(fh))
    assert int(ingd[-1]["calls"]) <= 2000 and int(o2nc_rows[-1]["grad_calls"]) <= 2000
    assert (tmp_path / "o2nc-run.png").read_bytes()[:4] == b"\x89PNG"
    bad = o2nc_cli("run", "--compare", "o2nc_kt", cwd=tmp_path)
    assert bad.returncode == 2 and "--compare o2nc_kt" in bad.stderr and "baselines: " in bad.stderr


def test_display_floor_keeps_tiny_certificates_visible():
    from o2nc.plotting import FLOOR_RATIO, display_floor

    assert display_floor(np.array([10.0, 1e-169, np.nan]), [0.0]) == pytest.approx(10.0 * FLOOR_RATIO)
    assert display_floor(np.array([np.nan])) == pytest.approx(FLOOR_RATIO)
