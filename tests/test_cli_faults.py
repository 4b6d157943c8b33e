"""The command line under faults: a run that stops early keeps its epochs, Ctrl-C and a closed pipe end quietly with
the statuses a shell expects, out-of-range flags and bad output folders are refused in one line before any work."""
from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest

import o2nc
from o2nc.cli import BROKEN_PIPE, INTERRUPTED, main


def o2nc_cli(*args, cwd, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "o2nc", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "MPLBACKEND": "Agg", **(env or {})})


def rows(path):
    with open(path) as fh:
        return list(csv.DictReader(fh))


def one_line(stderr: str, prefix: str) -> str:
    """The command's own report: exactly one line that starts with ``prefix``, and no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("o2nc")]
    assert len(lines) == 1 and lines[0].startswith(prefix), stderr
    return lines[0]


def test_a_non_finite_value_stops_the_run_in_one_line(tmp_path):
    # δ = 1e300: the paper's step D/(G√T) overflows the first epoch's mean; F there is inf (the value oracle's
    # NonFiniteOracleError, which was a traceback)
    done = o2nc_cli("run", "--delta", "1e300", "--epoch-length", "2", "--budget", "100", "--quiet", "--out",
                    str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "o2nc run: the run stopped: o2nc: the function value at evaluation 1 is not " \
                                  "finite; no epoch was completed; nothing was written"
    assert not (tmp_path / "o2nc-run.csv").exists()


def test_the_epochs_before_a_non_finite_value_are_written(tmp_path):
    # δ = 1e155: two epochs complete before F at the third epoch's mean overflows
    done = o2nc_cli("run", "--delta", "1e155", "--epoch-length", "2", "--budget", "200", "--quiet", "--out",
                    str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    line = one_line(done.stderr, "o2nc run: the run stopped: ")
    assert "not finite" in line and "2 completed epochs" in line and "`result`" not in line
    table = rows(tmp_path / "o2nc-run.csv")
    assert [r["epoch"] for r in table] == ["1", "2"] and [r["grad_calls"] for r in table] == ["2", "4"]
    assert (tmp_path / "o2nc-run.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class _NaNGradientAfter:
    """A bank objective whose gradient turns NaN after ``calls`` calls (everything else is the objective's)."""

    def __init__(self, inner, calls: int):
        self._inner, self._calls, self._seen = inner, calls, 0

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def grad(self, x):
        self._seen += 1
        g = np.asarray(self._inner.grad(x), dtype=np.float64)
        return np.full_like(g, np.nan) if self._seen > self._calls else g


def _cli_in_process(argv):
    err, out = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_the_epochs_before_a_non_finite_gradient_are_those_of_the_full_run(tmp_path, monkeypatch):
    """The CSV of a run stopped by a NaN gradient (the oracle's NonFiniteOracleError) holds the completed epochs,
    row for row the same numbers as the full run's CSV (one writer for both)."""
    import objectives

    argv = ["run", "--objective", "o2nc_toy", "--budget", "100", "--epoch-length", "10", "--seed", "3", "--quiet"]
    code, _, err = _cli_in_process([*argv, "--out", str(tmp_path / "full")])
    assert code == 0, err
    real = objectives.get
    monkeypatch.setattr(objectives, "get", lambda name, **kw: _NaNGradientAfter(real(name, **kw), 35))
    code, _, err = _cli_in_process([*argv, "--out", str(tmp_path / "stopped")])
    assert code == 2
    line = one_line(err, "o2nc run: the run stopped: o2nc: the gradient at oracle call 36 is not finite; ")
    assert "wrote the 3 completed epochs to " in line
    full, stopped = rows(tmp_path / "full" / "o2nc-run.csv"), rows(tmp_path / "stopped" / "o2nc-run.csv")
    assert len(full) == 10 and len(stopped) == 3
    for a, b in zip(full, stopped):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_allclose(float(b[key]), float(a[key]), rtol=1e-12, atol=0)
    assert (tmp_path / "stopped" / "o2nc-run.png").exists()


def test_the_warnings_of_a_run_that_ends_still_reach_the_caller(tmp_path):
    """A run's warnings are held while it runs (a non-finite stop drops them: its one line says what they led to);
    a run that ends gives them back through the warning filters, where a caller's catch_warnings sees them."""
    from o2nc.minimize import StalledRunWarning

    with pytest.warns(StalledRunWarning, match="epoch_length=1"):
        code, _, err = _cli_in_process(["run", "--quiet", "--epoch-length", "1", "--budget", "50", "--out",
                                        str(tmp_path)])
    assert code == 0, err


def test_minimize_errors_are_reported_without_their_note_for_library_callers():
    """minimize's NonFinite* errors tell a library caller that the epochs are in the error's `result`; the command
    line writes them instead, and its line says so rather than that."""
    from o2nc.commands.run import _reason
    from o2nc.minimize import NonFiniteEpochError, NonFiniteGradientError, NonFiniteStepError

    for err, text in [(NonFiniteGradientError(37, None), "the gradient at step 37 is not finite"),
                      (NonFiniteStepError(2, "OGD()", None), "the learner 'OGD()' played a non-finite step Δ at "
                                                               "step 2"),
                      (NonFiniteEpochError(4, "certificate", None), "the statistics of epoch 5 are not finite "
                                                                   "(certificate); the sum of its gradients or points "
                                                                   "overflowed the run's dtype")]:
        assert "`result`" in str(err) and _reason(err) == text


def test_seed_beyond_two_to_the_64_is_refused_up_front(tmp_path):
    done = o2nc_cli("run", "--seed", "99999999999999999999999", "--budget", "100", "--quiet", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "o2nc run: `--seed` must be an integer in [0, 2**64), got 99999999999999999999999"
    code, _, err = _cli_in_process(["run", "--seed", str(2**64 - 1), "--budget", "100", "--epoch-length", "10",
                                    "--objective", "o2nc_toy", "--quiet", "--out", str(tmp_path)])
    assert code == 0, err


def test_ctrl_c_writes_the_epochs_so_far_and_exits_130(tmp_path):
    """SIGINT after the first epoch is printed: the completed epochs are in the CSV (and the plot), one line says so,
    and the status is 130, as a shell reports an interrupted command."""
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "o2nc", "run", "--budget", "5000000", "--out", str(out)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for line in proc.stdout:
            if line.split()[:2] == ["1", "2604"]:  # epoch 1 of T = 2604 gradient calls
                break
        else:
            raise AssertionError(f"no first epoch: {proc.stderr.read()}")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == INTERRUPTED == 130, err
    line = one_line(err, "o2nc run: interrupted; wrote the ")
    table = rows(out / "o2nc-run.csv")
    assert f"the {len(table)} completed epoch" in line and len(table) >= 1
    assert table[0]["epoch"] == "1" and table[0]["grad_calls"] == "2604"
    assert (out / "o2nc-run.png").exists()


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`o2nc list learners | head -1`: the reader is gone before the output is flushed; no traceback, status 141."""
    proc = subprocess.Popen([sys.executable, "-m", "o2nc", "list", "learners"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # the reader goes away before anything is read
    err = proc.stderr.read()
    proc.wait(timeout=120)
    assert err == "" and proc.returncode == BROKEN_PIPE == 141, err


def test_version(tmp_path):
    done = o2nc_cli("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"o2nc {o2nc.__version__}", done.stderr


def test_figs_refuses_a_file_as_out_before_any_work(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    cache = tmp_path / "cache"
    done = o2nc_cli("figs", "fig6_optimistic", "--quick", "--out", str(afile), cwd=tmp_path,
                    env={"O2NC_FIGS_CACHE": str(cache)})
    assert done.returncode == 2
    assert one_line(done.stderr, "o2nc figs: --out: cannot write into ").endswith("give a writable folder")
    assert not cache.exists() and afile.read_text() == "not a folder"  # nothing computed, nothing stored


def test_figs_list_refuses_an_unknown_name_and_lists_a_known_one(tmp_path):
    done = o2nc_cli("figs", "--list", "nope", cwd=tmp_path)
    assert done.returncode == 2
    line = one_line(done.stderr, "o2nc figs: unknown figure(s) nope; known: ")
    assert "fig1_certificates" in line and "fig6_optimistic" in line
    done = o2nc_cli("figs", "--list", "fig6_optimistic", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == ["fig6_optimistic"]
