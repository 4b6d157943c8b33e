"""The results store's integrity check against a relabelled schema version, files that are not o2nc stores, damaged
headers, and the strict JSON of stored rows (o2nc/experiments/store.py, module docstring)."""
from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from o2nc.experiments.store import Store, StoreDamaged, StoreError, _run_checksum, drop_damaged

ROOT = Path(__file__).resolve().parents[1]
KEYS = ["k0", "k1", "k2"]
SPEC = {"name": "integrity", "seeds": 1, "deltas": [0.1], "measure": {"budgets": [300]},
        "objectives": [{"name": "scaled_norm"}], "methods": [{"name": "o2nc-ogd", "learner": "ogd"}]}


def make_store(path: Path) -> Path:
    with Store(path) as s:
        for i, k in enumerate(KEYS):
            s.put(k, {"seed": i}, "done", result={"certificate_mean": 0.5 + i, "queries": 100 * (i + 1)}, wall=0.1)
        s.register_sweep("integrity", SPEC, KEYS)
    return path


def dump(db: Path) -> dict:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out = {t: sorted(map(tuple, con.execute(f"SELECT * FROM {t}").fetchall()))
               for t in ("runs", "sweeps", "sweep_runs")}
        out["user_version"] = con.execute("PRAGMA user_version").fetchone()[0]
        return out
    finally:
        con.close()


def sql(db: Path, *stmts) -> None:
    con = sqlite3.connect(db)
    try:
        for st in stmts:
            con.execute(*st) if isinstance(st, tuple) else con.execute(st)
        con.commit()
    finally:
        con.close()


def cli(*argv, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "o2nc", *map(str, argv)], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def one_line_error(out, code=2):
    assert out.returncode == code, out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


# ----------------------------------------------------------------------------------------------------------------
# a version number does not switch the checksums off
# ----------------------------------------------------------------------------------------------------------------


def test_relabelled_version_1_still_verifies_the_checksums_present(tmp_path):
    """A result edited without its checksum, then ``PRAGMA user_version=1``: read-only and writable opens are
    StoreDamaged naming the run (nothing re-sealed, the file unchanged), and drop_damaged drops that run only."""
    db = make_store(tmp_path / "r.db")
    sql(db, "UPDATE runs SET result=replace(result, '0.5', '0.25') WHERE key='k0'", "PRAGMA user_version=1")
    before = dump(db)
    with pytest.raises(StoreDamaged, match=r"r\.db.*1 run\(s\) whose checksum fails \(k0\).*--drop-damaged") as e:
        Store(db, readonly=True)
    assert e.value.damaged == ["k0"]
    with pytest.raises(StoreDamaged, match=r"k0.*--drop-damaged") as e:
        Store(db)
    assert e.value.damaged == ["k0"] and dump(db) == before  # the migration rolled back: nothing re-sealed
    info = drop_damaged(db)
    assert info["dropped"] == ["k0"] and info["kept"] == 2 and not info["rebuilt"]
    with Store(db, readonly=True) as s:
        assert s.notes == [] and sorted(s.status()) == ["k1", "k2"] and s.get("k1")["result"]["queries"] == 200


def test_relabelled_version_1_sweep_record_is_verified(tmp_path):
    db = make_store(tmp_path / "r.db")
    sql(db, "UPDATE sweeps SET spec=replace(spec, '300', '301')", "PRAGMA user_version=1")
    with pytest.raises(StoreDamaged, match="sweep record.*'integrity'") as e:
        Store(db, readonly=True)
    assert e.value.sweeps == ["integrity"]
    with pytest.raises(StoreDamaged, match="'integrity'"):
        Store(db)


def test_relabelled_store_commands_refuse_it(tmp_path):
    """`o2nc fit` no longer fits the tampered rows with a note, `o2nc sweep` no longer re-seals them: both exit 2 with
    one line naming the run."""
    db = make_store(tmp_path / "r.db")
    sql(db, "UPDATE runs SET result=replace(result, '0.5', '0.25') WHERE key='k0'", "PRAGMA user_version=1")
    before = dump(db)
    out = cli("fit", db)
    one_line_error(out)
    assert "k0" in out.stderr and "checksum fails" in out.stderr and "older o2nc" not in out.stderr
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps(SPEC))
    out = cli("sweep", spec, "--db", db, "--executor", "serial", "--no-progress")
    one_line_error(out)
    assert "k0" in out.stderr and dump(db) == before


def test_version_1_rows_without_checksum_are_sealed_and_the_others_kept(tmp_path):
    """Only NULL checksums are computed by the migration; the ones present are verified and left as they are."""
    db = make_store(tmp_path / "r.db")
    sql(db, "UPDATE runs SET checksum=NULL WHERE key='k1'", "PRAGMA user_version=1")
    sums = {k: c for k, c in sqlite3.connect(db).execute("SELECT key, checksum FROM runs")}
    with Store(db, readonly=True) as s:
        assert any("1 of its runs have no checksum" in n for n in s.notes)
        assert len(list(s.rows())) == 3
    with Store(db) as s:
        assert any("checksums added to its 1 runs" in n for n in s.notes)
    after = {k: c for k, c in sqlite3.connect(db).execute("SELECT key, checksum FROM runs")}
    assert after["k0"] == sums["k0"] and after["k2"] == sums["k2"] and after["k1"] is not None
    with Store(db, readonly=True) as s:
        assert s.notes == [] and len(list(s.rows())) == 3


def test_version_2_null_checksum_is_damage(tmp_path):
    db = make_store(tmp_path / "r.db")
    sql(db, "UPDATE runs SET checksum=NULL WHERE key='k2'")
    with pytest.raises(StoreDamaged, match=r"k2") as e:
        Store(db, readonly=True)
    assert e.value.damaged == ["k2"]


# ----------------------------------------------------------------------------------------------------------------
# files that are not o2nc stores are never offered to --drop-damaged, and never moved
# ----------------------------------------------------------------------------------------------------------------


def _refuses(path: Path) -> None:
    content = path.read_bytes()
    siblings = sorted(path.parent.iterdir())
    for kw in ({"readonly": True}, {}):
        with pytest.raises(StoreError, match=rf"{path.name}: not an o2nc results store") as e:
            Store(path, **kw)
        assert not isinstance(e.value, StoreDamaged) and "--drop-damaged" not in str(e.value)
    with pytest.raises(StoreError, match=rf"{path.name}: not an o2nc results store") as e:
        drop_damaged(path)
    assert not isinstance(e.value, StoreDamaged)
    assert path.read_bytes() == content and sorted(path.parent.iterdir()) == siblings


def test_text_file_is_not_a_store(tmp_path):
    (tmp_path / "x.txt").write_text("myhost\n")
    _refuses(tmp_path / "x.txt")
    big = tmp_path / "big.txt"
    big.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n" * 200)
    _refuses(big)


def test_text_quoting_the_store_schema_is_not_a_store(tmp_path):
    """A dump of a store (the CREATE statements in plain text) is not mistaken for a damaged store."""
    db = make_store(tmp_path / "r.db")
    con = sqlite3.connect(db)
    dumped = tmp_path / "dump.sql"
    dumped.write_text("\n".join(con.iterdump()))
    con.close()
    assert "CREATE TABLE runs" in dumped.read_text()
    _refuses(dumped)


@pytest.mark.parametrize("version", [0, 1, 2])
def test_foreign_database_is_not_a_store(tmp_path, version):
    """Another application's SQLite file, whatever its user_version (version 1 or 2 with a table named ``runs`` was
    'damaged' and offered to --drop-damaged)."""
    db = tmp_path / "other.db"
    sql(db, "CREATE TABLE runs(id INTEGER PRIMARY KEY, note TEXT)", "CREATE TABLE people(name TEXT)",
        ("INSERT INTO runs(note) VALUES (?)", ("mine",)), f"PRAGMA user_version={version}")
    _refuses(db)


def test_sweep_drop_damaged_leaves_a_text_file_alone(tmp_path):
    x = tmp_path / "x.txt"
    x.write_text("myhost\n")
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps(SPEC))
    out = cli("sweep", spec, "--db", x, "--executor", "serial", "--no-progress")
    one_line_error(out)
    assert "not an o2nc results store" in out.stderr and "--drop-damaged" not in out.stderr
    out = cli("sweep", spec, "--db", x, "--executor", "serial", "--no-progress", "--drop-damaged")
    one_line_error(out)
    assert "not an o2nc results store" in out.stderr
    assert x.read_text() == "myhost\n" and sorted(p.name for p in tmp_path.iterdir()) == ["s.json", "x.txt"]
    out = cli("fit", x)
    one_line_error(out)
    assert "not an o2nc results store" in out.stderr and "--drop-damaged" not in out.stderr


def test_drop_damaged_leaves_a_locked_store_alone(tmp_path):
    """A store another process is writing to is locked, not damaged: drop_damaged moved it aside and rebuilt it."""
    db = make_store(tmp_path / "r.db")
    before = dump(db)
    holder = sqlite3.connect(db, timeout=0.1)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match=r"r\.db.*locked") as e:
            drop_damaged(db, timeout=0.2)
        assert not isinstance(e.value, StoreDamaged)
    finally:
        holder.rollback()
        holder.close()
    assert not list(tmp_path.glob("r.db.damaged-*")) and dump(db) == before


# ----------------------------------------------------------------------------------------------------------------
# a damaged store is still recognised as one
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["magic", "version field", "text encoding"])
def test_damaged_store_is_damage_and_drop_damaged_rebuilds(tmp_path, where):
    db = make_store(tmp_path / "r.db")
    with Store(db) as s:  # fold the write-ahead log into the file
        s._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if where == "text encoding":  # bytes that are not UTF-8 in a stored result
        sql(db, "UPDATE runs SET result=CAST(X'7B22FF22' AS TEXT) WHERE key='k2'")
    else:
        data = bytearray(db.read_bytes())
        if where == "magic":
            data[0:16] = b"\x00" * 16
        else:  # PRAGMA user_version is the big-endian int at offset 60 of the header
            data[60:64] = (-7 & 0xFFFFFFFF).to_bytes(4, "big")
        db.write_bytes(bytes(data))
    with pytest.raises(StoreDamaged, match=r"r\.db: the results database is corrupted.*--drop-damaged"):
        Store(db, readonly=True)
    info = drop_damaged(db)
    assert info["rebuilt"] and Path(info["moved_to"]).exists()
    # a header without its magic hides every row (all recomputed); the others lose only what fails to verify
    kept, dropped = {"magic": (set(), []), "version field": (set(KEYS), []),
                     "text encoding": ({"k0", "k1"}, ["k2"])}[where]
    assert info["kept"] == len(kept) and info["dropped"] == dropped
    with Store(db, readonly=True) as s:
        assert set(s.status()) == kept


# ----------------------------------------------------------------------------------------------------------------
# strict JSON on disk, floats back on read
# ----------------------------------------------------------------------------------------------------------------


def _strict(text: str):
    def bad(token):
        raise ValueError(f"non-strict JSON token {token}")

    return json.loads(text, parse_constant=bad)


def test_nonfinite_floats_are_stored_as_strict_json_and_read_back(tmp_path):
    db = tmp_path / "r.db"
    result = {"certificate_mean": math.nan, "bound_ratio": math.inf, "low": -math.inf, "ok": 1.5,
              "trace": [1.0, math.nan, {"deep": -math.inf}], "label": "NaN"}
    spec = dict(SPEC, extra={"cap": math.inf})
    with Store(db) as s:
        assert s.put("k", {"seed": 0, "eps": math.inf}, "done", result=result, wall=math.nan)
        s.register_sweep("nf", spec, ["k"])
    con = sqlite3.connect(db)
    config_text, result_text, wall = con.execute("SELECT config, result, wall FROM runs").fetchone()
    spec_text, = con.execute("SELECT spec FROM sweeps").fetchone()
    con.close()
    stored = _strict(result_text)  # no NaN/Infinity tokens anywhere
    _strict(config_text)
    _strict(spec_text)
    assert stored["certificate_mean"] == {"$float": "NaN"} and stored["low"] == {"$float": "-Infinity"}
    assert wall is None
    with Store(db, readonly=True) as s:
        row = s.get("k")
        back = row["result"]
        assert math.isnan(back["certificate_mean"]) and back["bound_ratio"] == math.inf and back["low"] == -math.inf
        assert back["ok"] == 1.5 and math.isnan(back["trace"][1]) and back["trace"][2] == {"deep": -math.inf}
        assert back["label"] == "NaN" and row["config"]["eps"] == math.inf and row["wall"] is None
        assert [r["key"] for r in s.rows()] == ["k"] and s.sweep_spec("nf")["extra"]["cap"] == math.inf


def test_reserved_key_is_refused(tmp_path):
    with Store(tmp_path / "r.db") as s:
        with pytest.raises(ValueError, match=r"result: the key '\$float' is reserved"):
            s.put("k", {}, "done", result={"x": {"$float": "NaN"}})
        assert s.status() == {}
        assert s.put("k", {}, "done", result={"x": "$float", "y": ["$float", {"$floats": 1}]})  # only the key
        assert s.get("k")["result"] == {"x": "$float", "y": ["$float", {"$floats": 1}]}


def test_rows_with_bare_nan_tokens_still_read(tmp_path):
    """Rows written before the strict-JSON rule (bare NaN/Infinity tokens, their checksum over that text)."""
    db = make_store(tmp_path / "r.db")
    row = ["old", json.dumps({"seed": 9}), "done", '{"certificate_mean": NaN, "bound_ratio": Infinity}', None, 0.1,
           1.0]
    sql(db, ("INSERT INTO runs(key, config, status, result, error, wall, finished, checksum) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (*row, _run_checksum(row))))
    with Store(db, readonly=True) as s:
        r = s.get("old")["result"]
        assert math.isnan(r["certificate_mean"]) and r["bound_ratio"] == math.inf


def test_drop_damaged_on_a_sound_store_says_nothing_was_dropped(tmp_path):
    import subprocess
    import sys

    spec = tmp_path / "s.toml"
    spec.write_text('name = "s"\nseeds = 1\ndeltas = [0.1]\n[measure]\nbudgets = [400]\n'
                    '[[objectives]]\nname = "o2nc_toy"\n[[methods]]\nname = "ogd"\nlearner = "ogd"\n')
    db = tmp_path / "r.db"
    run = [sys.executable, "-m", "o2nc", "sweep", str(spec), "--db", str(db)]
    first = subprocess.run(run, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(run + ["--drop-damaged"], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "nothing to drop" in again.stderr and "recomputed now" not in again.stderr
