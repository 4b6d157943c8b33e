"""Fault suite of the sweep driver and the results store: workers killed at random points, the driver SIGKILLed
at random points and resumed, concurrent sweeps on one store, and tampering with the store (SQL edits and raw
bytes).  Asserted: no run lost, no finished run computed twice, every tampering detected (or provably harmless:
the stored data is unchanged).  Each test prints its counts (run with ``-s`` to see them)."""
from __future__ import annotations

import json
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from o2nc.experiments import Store, StoreError, load_spec, run_sweep
from o2nc.experiments.store import StoreDamaged, drop_damaged
from tests import test_experiments_toys as toys

ROOT = Path(__file__).resolve().parents[1]
TOYS = "tests.test_experiments_toys"


def spec(name="faults", seeds=4, budgets=(300, 600), objective=None):
    return {"name": name, "seeds": seeds, "deltas": [0.1], "measure": {"budgets": list(budgets)},
            "objectives": [objective or {"name": toys.scaled_norm, "params": {"dim": 3}}],
            "methods": [{"name": "o2nc-ogd", "learner": "ogd"}]}


def dump(db: Path) -> dict:
    """Every stored row, read with plain sqlite (what a tampering could change)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {t: sorted(map(tuple, con.execute(f"SELECT * FROM {t}").fetchall()))
                for t in ("runs", "sweeps", "sweep_runs")}
    finally:
        con.close()


def cli(*argv, cwd=ROOT, timeout=120):
    return subprocess.run([sys.executable, "-m", "o2nc", *map(str, argv)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


# ----------------------------------------------------------------------------------------------------------------
# worker kills
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_killed_workers_are_detected_and_their_runs_rerun(tmp_path, how):
    """Workers die (os._exit / SIGKILL from inside a run) at random points: every run is stored once or reported
    missing (a run may take all three kills and exhaust its two retries), and a resume stores the missing ones."""
    obj = {"name": toys.saboteur, "params": {"dim": 3, "marker": str(tmp_path), "slots": 3, "how": how, "p": 0.6}}
    db = tmp_path / "r.db"
    sweep_spec = spec(seeds=5, objective=obj)
    rep = run_sweep(sweep_spec, db, executor="process", workers=2, progress=False)
    kills = len(list(tmp_path.glob("kill-*")))
    print(f"\nworker kills ({how}): tried {kills}, pool breaks detected {rep.worker_failures}, runs resubmitted "
          f"{rep.retried}, reported missing {len(rep.missing)}")
    assert rep.done + len(rep.missing) == rep.total == 10 and rep.complete == (not rep.missing)
    assert (kills == 0) == (rep.worker_failures == 0) and rep.retried >= kills
    resumed = run_sweep(sweep_spec, db, executor="process", workers=2, progress=False)  # the kill slots are spent
    assert resumed.complete and not resumed.missing and resumed.done == len(rep.missing)
    with Store(db, readonly=True) as s:
        assert len(list(s.rows(status="done"))) == 10


def test_a_run_that_always_kills_its_worker_is_reported_missing(tmp_path):
    """A run whose worker dies every time is rerun max_retries times, then listed as missing: exit status 1."""
    marker = tmp_path / "m"
    marker.mkdir()
    sp = spec(seeds=1, budgets=(300,), objective={"name": f"{TOYS}:saboteur",
                                                 "params": {"dim": 3, "marker": str(marker), "slots": 50, "p": 1.0}})
    path = tmp_path / "s.json"
    path.write_text(json.dumps(sp))
    out = cli("sweep", path, "--db", tmp_path / "r.db", "--allow-import", TOYS, "--workers", "1", "--no-progress")
    assert out.returncode == 1, out.stderr
    assert "1 missing" in out.stdout and "missing: " in out.stderr and "died 3 times" in out.stderr
    assert "Traceback" not in out.stderr
    assert len(list(marker.glob("kill-*"))) == 3  # the first try and max_retries = 2 more
    with Store(tmp_path / "r.db", readonly=True) as s:
        assert s.status() == {}  # nothing stored: the next plain resume tries it again


# ----------------------------------------------------------------------------------------------------------------
# driver kills and concurrent drivers
# ----------------------------------------------------------------------------------------------------------------


def _driver(tmp_path, name, seeds, *extra):
    obj = {"name": f"{TOYS}:saboteur", "params": {"dim": 3, "marker": str(tmp_path), "slots": 0, "p": 0.0,
                                                   "sleep": 0.001, "log": True}}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(spec(name=name, seeds=seeds, objective=obj)))
    cmd = [sys.executable, "-m", "o2nc", "sweep", str(path), "--db", str(tmp_path / "r.db"), "--allow-import",
           TOYS, "--executor", "thread", "--workers", "2", "--no-progress", *extra]
    return path, cmd


def _computed(tmp_path) -> int:
    log = tmp_path / "computed.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def _driver_kills(tmp_path, n_kills):
    path, cmd = _driver(tmp_path, "killed", 4)
    db = tmp_path / "r.db"
    rng = random.Random(1234)
    total, lost, recomputed = 8, 0, 0
    for _trial in range(n_kills):
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 3.0))  # a random point: before the store exists, mid-run, or after the end
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        before = dump(db)["runs"] if db.exists() else []
        started = _computed(tmp_path)
        rep = run_sweep(load_spec(path, allow_import=[TOYS]), db, executor="thread", workers=2, progress=False)
        after = dump(db)["runs"]
        lost += total - len(after)
        recomputed += (_computed(tmp_path) - started) - (total - len(before))
        assert rep.complete and rep.skipped == len(before)
        assert set(before) <= set(after)  # every stored row unchanged
        with sqlite3.connect(db) as con:  # start the next trial from scratch
            con.execute("DELETE FROM runs")
        (tmp_path / "computed.log").unlink(missing_ok=True)
    print(f"\ndriver kills: tried {n_kills}, lost runs {lost}, finished runs recomputed {recomputed}")
    assert lost == 0 and recomputed == 0


def test_driver_sigkill_at_random_points_then_resume(tmp_path):
    _driver_kills(tmp_path, 3)


@pytest.mark.slow
def test_driver_sigkill_at_random_points_then_resume_long(tmp_path):
    _driver_kills(tmp_path, 15)


def test_concurrent_sweeps_compute_each_run_once(tmp_path):
    path, cmd = _driver(tmp_path, "shared", 8)
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=180) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    done_now = [int(re.search(r"(\d+) done now", out).group(1)) for out, _ in outs]
    print(f"\nconcurrent sweeps: runs computed {_computed(tmp_path)} of 16, done now per sweep {done_now}")
    assert _computed(tmp_path) == 16 and sum(done_now) == 16
    with Store(tmp_path / "r.db", readonly=True) as s:
        assert len(list(s.rows(status="done"))) == 16 and s.leases() == {}


def test_expired_and_orphaned_leases_are_taken_over(tmp_path):
    db = tmp_path / "r.db"
    keys = [r.key for r in load_spec(spec(seeds=1)).runs()]
    with Store(db) as s:
        assert s.claim(keys[:1], "otherhost:1:x", ttl=0.05) == {keys[0]: "claimed"}
        assert s.claim(keys[1:], "host:999999999:x", ttl=1e6) == {keys[1]: "claimed"}  # a pid that cannot be alive
        assert s.claim(keys, "me:1:y", ttl=10) == {keys[0]: "leased", keys[1]: "leased"}  # another host, unexpired
        time.sleep(0.1)
        assert s.claim(keys[:1], "me:1:y", ttl=10) == {keys[0]: "claimed"}  # expired
    import socket

    with Store(db) as s:
        s.release("host:999999999:x")
        assert s.claim(keys[1:], f"{socket.gethostname()}:999999999:x", ttl=1e6) == {keys[1]: "claimed"}
        assert s.claim(keys[1:], "me:1:y", ttl=10) == {keys[1]: "claimed"}  # its driver is gone: taken over


# ----------------------------------------------------------------------------------------------------------------
# tampering
# ----------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    db = tmp_path_factory.mktemp("pristine") / "r.db"
    sp = spec(name="tamper", seeds=3, objective={"name": "scaled_norm"})
    run_sweep(sp, db, executor="serial", progress=False)
    return db, sp


def _bump_digit(text: str, rng: random.Random) -> str:
    spots = [m.start() for m in re.finditer(r"\d", text)]
    i = rng.choice(spots)
    return text[:i] + str((int(text[i]) + rng.randint(1, 9)) % 10) + text[i + 1:]


SQL_TAMPERINGS = {
    "result digit": lambda con, k, rng: con.execute(
        "UPDATE runs SET result=? WHERE key=?", (_bump_digit(con.execute(
            "SELECT result FROM runs WHERE key=?", (k,)).fetchone()[0], rng), k)),
    "config digit": lambda con, k, rng: con.execute(
        "UPDATE runs SET config=? WHERE key=?", (_bump_digit(con.execute(
            "SELECT config FROM runs WHERE key=?", (k,)).fetchone()[0], rng), k)),
    "status flip": lambda con, k, rng: con.execute("UPDATE runs SET status='error' WHERE key=?", (k,)),
    "finished time": lambda con, k, rng: con.execute("UPDATE runs SET finished=finished+1 WHERE key=?", (k,)),
    "checksum": lambda con, k, rng: con.execute("UPDATE runs SET checksum=? WHERE key=?", ("0" * 64, k)),
    "sweep membership": lambda con, k, rng: con.execute("DELETE FROM sweep_runs WHERE key=?", (k,)),
    "sweep spec": lambda con, k, rng: con.execute("UPDATE sweeps SET spec=replace(spec, '0.1', '0.2')"),
}


@pytest.mark.parametrize("kind", sorted(SQL_TAMPERINGS))
def test_sql_tampering_is_detected_then_dropped_and_recomputed(tmp_path, pristine, kind):
    src, sp = pristine
    db = tmp_path / "r.db"
    shutil.copy(src, db)
    rng = random.Random(kind)
    with sqlite3.connect(db) as con:
        key = rng.choice([k for k, in con.execute("SELECT key FROM runs")])
        SQL_TAMPERINGS[kind](con, key, rng)
    with pytest.raises(StoreDamaged, match=re.escape(str(db)) + ".*--drop-damaged"):
        Store(db, readonly=True)
    if kind == "result digit":  # the commands: a clear error, then the documented way back
        path = tmp_path / "s.json"
        path.write_text(json.dumps(sp))
        out = cli("fit", db)
        assert out.returncode == 2 and str(db) in out.stderr and "Traceback" not in out.stderr
        out = cli("sweep", path, "--db", db, "--executor", "serial", "--no-progress")
        assert out.returncode == 2 and str(db) in out.stderr and "--drop-damaged" in out.stderr
        out = cli("sweep", path, "--db", db, "--executor", "serial", "--no-progress", "--drop-damaged")
        assert out.returncode == 0, out.stderr
        assert "dropped 1 damaged run" in out.stderr and "1 done now" in out.stdout
    else:
        info = drop_damaged(db)
        assert info["dropped"] or info["sweeps"]
        rep = run_sweep(sp, db, executor="serial", progress=False)
        assert rep.complete and rep.done == len(info["dropped"])
    with Store(db, readonly=True) as s:
        assert len(list(s.rows(sweep="tamper", status="done"))) == 6


def _classify(db: Path, original: dict) -> str:
    """'detected' (a clear StoreError naming the file), 'harmless' (opens and every row is unchanged) or
    'UNDETECTED' (opens, but the data differ)."""
    try:
        with Store(db, readonly=True) as s:
            list(s.rows())
    except StoreError as exc:
        assert str(db) in str(exc)
        return "detected"
    try:
        return "harmless" if dump(db) == original else "UNDETECTED"
    except (sqlite3.DatabaseError, UnicodeDecodeError):
        return "UNDETECTED"


def _byte_tamperings(tmp_path, pristine, n, seed):
    src, sp = pristine
    raw = src.read_bytes()
    original = dump(src)
    rng = random.Random(seed)
    counts = {"detected": 0, "harmless": 0, "UNDETECTED": 0}
    targeted = [m.start() for m in re.finditer(rb'"certificate_mean": (\d)', raw)]
    recovered = 0
    for trial in range(n):
        data = bytearray(raw)
        if trial % 4 == 0:  # a digit of a stored result, in the file
            i = rng.choice(targeted) + len(b'"certificate_mean": ')
            data[i] = ord(str((data[i] - 48 + 1) % 10))
        else:  # random bytes at a random place (header, b-tree pages, record payloads, free space)
            i = rng.randrange(len(data))
            for j in range(i, min(len(data), i + rng.randint(1, 8))):
                data[j] = rng.randrange(256)
        db = tmp_path / f"t{trial}.db"
        db.write_bytes(bytes(data))
        verdict = _classify(db, original)
        counts[verdict] += 1
        if trial % 4 == 0:
            assert verdict == "detected"
        if verdict == "detected" and recovered < 3:  # the documented way back: drop, then recompute
            drop_damaged(db)
            rep = run_sweep(sp, db, executor="serial", progress=False)
            assert rep.complete
            kept = {r for r in dump(db)["runs"]}
            assert len(kept) == 6 and len(kept & set(original["runs"])) == rep.skipped
            recovered += 1
    print(f"\nbyte tamperings: tried {n}, detected {counts['detected']}, harmless (data unchanged) "
          f"{counts['harmless']}, undetected {counts['UNDETECTED']}")
    assert counts["UNDETECTED"] == 0


def test_overwritten_bytes_are_detected(tmp_path, pristine):
    _byte_tamperings(tmp_path, pristine, 40, 0)


@pytest.mark.slow
def test_overwritten_bytes_are_detected_long(tmp_path, pristine):
    _byte_tamperings(tmp_path, pristine, 400, 1)


def test_old_store_without_checksums_is_migrated_with_a_note(tmp_path, pristine):
    src, sp = pristine
    db = tmp_path / "old.db"
    shutil.copy(src, db)
    with sqlite3.connect(db) as con:  # make it a version-1 store: no checksum columns, no leases
        con.execute("ALTER TABLE runs DROP COLUMN checksum")
        con.execute("ALTER TABLE sweeps DROP COLUMN checksum")
        con.execute("DROP TABLE leases")
        con.execute("PRAGMA user_version=1")
    with Store(db, readonly=True) as s:
        assert any("without checksums" in n for n in s.notes) and len(list(s.rows())) == 6
    with Store(db) as s:
        assert any("checksums added to its 6 runs" in n for n in s.notes)
    with Store(db, readonly=True) as s:
        assert s.notes == [] and len(list(s.rows())) == 6


def test_a_pool_that_breaks_between_waits_is_renewed_at_submit(tmp_path, monkeypatch):
    """A worker can die after the driver's last wait; the next submit then raises BrokenExecutor at once.  The driver
    renews the pool, reruns the in-flight runs and submits the run it was starting: every run is stored once."""
    from concurrent.futures import BrokenExecutor

    from o2nc.experiments import sweep as sweep_module

    original = sweep_module._Driver._submit
    calls = {"n": 0}

    def flaky_submit(self, r):
        calls["n"] += 1
        if calls["n"] == 3:
            raise BrokenExecutor("a worker died between two waits")
        return original(self, r)

    monkeypatch.setattr(sweep_module._Driver, "_submit", flaky_submit)
    sweep_spec = spec(seeds=3)
    rep = run_sweep(sweep_spec, tmp_path / "r.db", executor="thread", workers=2, progress=False)
    assert calls["n"] > 3 and rep.worker_failures == 1
    assert rep.done == 6 and not rep.missing and not rep.failed
    assert len(list(Store(tmp_path / "r.db").rows(status="done"))) == 6
