"""The results store: one embedded SQLite database in write-ahead-log mode, checked on open, every row checksummed.

Tables (schema version 2):

- ``runs(key PRIMARY KEY, config, status, result, error, wall, finished, checksum)`` — one row per run
  configuration, keyed by the hash of its full config (:func:`o2nc.experiments.spec.config_key`).  ``status`` is
  ``"done"`` or ``"error"``.  A ``"done"`` row is never overwritten; an ``"error"`` row may be replaced by a retry.
- ``sweeps(name PRIMARY KEY, spec, created, updated, checksum)`` and ``sweep_runs(sweep, key)`` — which runs a
  sweep holds (a run shared by two sweeps is stored once).
- ``leases(key PRIMARY KEY, owner, expires)`` — runs claimed by a running sweep driver (:meth:`Store.claim`), so
  that two sweeps on one store never compute a run twice.  A lease expires unless its driver renews it; a lease
  whose driver process is gone (same host, its pid no longer alive) is taken over at once.

Each finished run is committed in its own transaction by the driver, so a driver killed at any point (SIGKILL included)
loses at most the runs still in flight; SQLite's journal keeps the file consistent.

Integrity.  ``checksum`` is the SHA-256 of the canonical JSON of the row's columns (the run's: key, config, status,
result, error, wall, finished; the sweep's: name, spec, created, updated and its sorted run keys).  Opening a store
runs ``PRAGMA integrity_check`` (``quick_check`` above 256 MB) and verifies every checksum; every row read is
verified again.  A damaged store is a :class:`StoreDamaged` error naming the file and the damaged runs, never
silently used.  To drop the damaged rows and recompute them: ``o2nc sweep SPEC --drop-damaged`` (Python:
:func:`drop_damaged`): with a structurally sound file the rows whose checksum fails are deleted; otherwise every run
that can still be read and verified is copied into a fresh file and the damaged file is kept beside it as
``NAME.damaged-TIMESTAMP``.  The next sweep recomputes what was dropped.

Old stores (schema version 1, written before checksums): opened for writing they are migrated once — the columns
are added and the checksums computed from the content as it is then (which is trusted; the store's
:attr:`Store.notes` says so).  Opened read-only (``o2nc fit``) they are checked structurally only, with a note.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["Store", "StoreError", "StoreDamaged", "drop_damaged", "lease_owner"]

_SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'error')),
    result TEXT,
    error TEXT,
    wall REAL,
    finished REAL NOT NULL,
    checksum TEXT
);
CREATE TABLE IF NOT EXISTS sweeps (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    checksum TEXT
);
CREATE TABLE IF NOT EXISTS sweep_runs (
    sweep TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (sweep, key)
);
CREATE TABLE IF NOT EXISTS leases (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires REAL NOT NULL
);
"""
_RUN_COLS = "key, config, status, result, error, wall, finished"
#: What reading a damaged file can raise: SQLite's errors, and text that is no longer valid UTF-8.
_DB_ERRORS = (sqlite3.DatabaseError, UnicodeDecodeError)
#: Above this size the open-time check is ``quick_check`` (linear) instead of ``integrity_check``.
_FULL_CHECK_BYTES = 256 * 2 ** 20


class StoreError(RuntimeError):
    """The results database cannot be used; the message names the file and the reason."""


class StoreDamaged(StoreError):
    """The results database is corrupted or was changed outside o2nc (``damaged``: the keys of the damaged runs,
    ``sweeps``: the names of damaged sweep records; both empty when the file itself is malformed)."""

    def __init__(self, msg: str, damaged: Iterable[str] = (), sweeps: Iterable[str] = ()):
        super().__init__(msg)
        self.damaged = list(damaged)
        self.sweeps = list(sweeps)


def _run_checksum(row) -> str:
    """SHA-256 of the canonical JSON of a run row (key, config, status, result, error, wall, finished)."""
    return hashlib.sha256(json.dumps(list(row[:7]), separators=(",", ":")).encode()).hexdigest()


def _sweep_checksum(name, spec, created, updated, keys) -> str:
    data = [name, spec, created, updated, sorted(keys)]
    return hashlib.sha256(json.dumps(data, separators=(",", ":")).encode()).hexdigest()


def lease_owner() -> str:
    """A lease owner id for this process: ``host:pid:nonce``."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def _owner_gone(owner: str) -> bool:
    """Whether the process that owns a lease is known to be dead (same host, pid not alive)."""
    try:
        host, pid, _ = owner.rsplit(":", 2)
        pid = int(pid)
    except ValueError:
        return False
    if host != socket.gethostname() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. EPERM: alive, another user's
        return False
    return False


class Store:
    """An SQLite results store (WAL), integrity-checked on open.  Only sweep drivers write to it.

    Args:
        path: the database file; created with its parent folder when missing.
        timeout: seconds to wait for a lock held by another process before failing.
        readonly: open without creating or writing (``o2nc fit``).
        verify: check the file and every checksum on open (default); False only for :func:`drop_damaged`.

    Raises:
        StoreDamaged: the file is malformed, or a row's checksum fails (the message names the file, the damaged
            runs and how to drop them).
        StoreError: not an o2nc store, locked, unreadable.

    Example:
        >>> import tempfile, os
        >>> with Store(os.path.join(tempfile.mkdtemp(), "r.db")) as s:
        ...     _ = s.put("k1", {"a": 1}, "done", result={"x": 2.0})
        ...     s.get("k1")["result"]
        {'x': 2.0}
    """

    def __init__(self, path: str | os.PathLike, *, timeout: float = 10.0, readonly: bool = False,
                 verify: bool = True):
        self.path = Path(path)
        self.readonly = readonly
        self.timeout = timeout
        #: Things the caller should tell the user (a migration, unverifiable old rows).
        self.notes: list[str] = []
        self._checksums = True
        if readonly and not self.path.exists():
            raise StoreError(f"{self.path}: no such results database")
        if not readonly:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{self.path}: cannot create the folder ({exc.strerror})") from None
        try:
            if readonly:
                self._con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=timeout)
            else:
                self._con = sqlite3.connect(str(self.path), timeout=timeout)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the results database ({exc})") from None
        try:
            self._init(readonly)
            if verify:
                self.verify()
        except _DB_ERRORS as exc:
            self._con.close()
            raise self._error(exc) from None
        except StoreError:
            self._con.close()
            raise

    def _remedy(self) -> str:
        return (f"to drop the damaged runs and recompute them: o2nc sweep SPEC --db {self.path} --drop-damaged "
                "(Python: o2nc.experiments.store.drop_damaged)")

    def _explain(self, exc: Exception) -> str:
        msg = str(exc)
        if "locked" in msg or "busy" in msg:
            return f"{self.path}: the results database is locked by another process ({msg}); try again later"
        if "not a database" in msg or "malformed" in msg:
            return f"{self.path}: not an o2nc results database or corrupted ({msg}); {self._remedy()}"
        if "readonly" in msg or "unable to open" in msg or "permission" in msg.lower():
            return f"{self.path}: cannot write the results database ({msg})"
        return f"{self.path}: database error ({msg})"

    def _error(self, exc: Exception) -> StoreError:
        if isinstance(exc, UnicodeDecodeError):
            return StoreDamaged(f"{self.path}: the results database is corrupted (text that is not UTF-8: {exc}); "
                                f"{self._remedy()}")
        msg = self._explain(exc)
        if "corrupted" in msg:
            return StoreDamaged(msg)
        return StoreError(msg)

    def _init(self, readonly: bool) -> None:
        cur = self._con.cursor()
        cur.execute("PRAGMA schema_version").fetchone()  # raises 'not a database' early
        version = cur.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in cur.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if version not in (0, 1, _SCHEMA_VERSION):
            raise StoreError(f"{self.path}: results schema version {version}, this o2nc reads versions 1 and "
                             f"{_SCHEMA_VERSION}")
        if version == 0 and tables and not {"runs", "sweeps", "sweep_runs"} <= tables:
            raise StoreError(f"{self.path}: an SQLite database that is not an o2nc results store "
                             f"(tables: {', '.join(sorted(tables))})")
        if version in (1, 2) and not {"runs", "sweeps", "sweep_runs"} <= tables:
            raise StoreDamaged(f"{self.path}: the results tables are missing (the store is damaged); "
                               f"{self._remedy()}")
        if readonly:
            if version == 0 and not tables:
                raise StoreError(f"{self.path}: empty database, no results")
            if version == 1 or (version == 0 and tables):
                self._checksums = False
                self.notes.append(f"{self.path}: written by an older o2nc without checksums; only the file's "
                                  "structure is checked (open it once with `o2nc sweep` to add checksums)")
            return
        mode = cur.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":  # pragma: no cover - e.g. some network file systems
            raise StoreError(f"{self.path}: cannot switch the database to WAL mode (got {mode})")
        cur.execute("PRAGMA synchronous=NORMAL")
        if version == _SCHEMA_VERSION and "leases" in tables:
            return
        with self._con:
            self._con.execute("BEGIN IMMEDIATE")
            if version == 1 or (version == 0 and tables):
                self._migrate_v1()
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    self._con.execute(stmt)
            self._con.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    def _migrate_v1(self) -> None:
        """Add the checksum columns to a version-1 store and compute them from the content as it is now."""
        con = self._con
        for table in ("runs", "sweeps"):
            cols = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
            if "checksum" not in cols:
                con.execute(f"ALTER TABLE {table} ADD COLUMN checksum TEXT")
        n = 0
        for row in con.execute(f"SELECT {_RUN_COLS} FROM runs").fetchall():
            con.execute("UPDATE runs SET checksum=? WHERE key=?", (_run_checksum(row), row[0]))
            n += 1
        for name, in con.execute("SELECT name FROM sweeps").fetchall():
            self._reseal_sweep(con, name)
        self.notes.append(f"{self.path}: written by an older o2nc without checksums; checksums added to its {n} "
                          "runs (their content as it is now is trusted)")

    # -------------------------------------------------------------------------------------------------- integrity
    def verify(self) -> None:
        """Check the file (``PRAGMA integrity_check``, or ``quick_check`` for large files) and every checksum.

        Raises:
            StoreDamaged: naming the file, the damaged runs and sweeps, and how to drop them.
        """
        damaged, sweeps = self.damaged()
        if damaged or sweeps:
            what = []
            if damaged:
                shown = ", ".join(damaged[:5]) + (f" and {len(damaged) - 5} more" if len(damaged) > 5 else "")
                what.append(f"{len(damaged)} run(s) whose checksum fails ({shown})")
            if sweeps:
                what.append(f"sweep record(s) {', '.join(map(repr, sweeps))} whose checksum fails")
            raise StoreDamaged(f"{self.path}: the results database was changed outside o2nc or is corrupted: "
                               f"{'; '.join(what)}; {self._remedy()}", damaged, sweeps)

    def _structure_check(self) -> None:
        try:
            size = self.path.stat().st_size
        except OSError:
            size = 0
        pragma = "integrity_check" if size <= _FULL_CHECK_BYTES else "quick_check"
        rows = [r[0] for r in self._con.execute(f"PRAGMA {pragma}(20)").fetchall()]
        if rows != ["ok"]:
            raise StoreDamaged(f"{self.path}: the results database is corrupted (PRAGMA {pragma}: "
                               f"{'; '.join(rows[:3])}); {self._remedy()}")

    def damaged(self) -> tuple[list[str], list[str]]:
        """(keys of the runs, names of the sweeps) whose checksum fails; StoreDamaged if the file is malformed."""
        try:
            self._structure_check()
            if not self._checksums:
                return [], []
            bad = [r[0] for r in self._con.execute(f"SELECT {_RUN_COLS}, checksum FROM runs").fetchall()
                   if r[7] != _run_checksum(r)]
            bad_sweeps = [name for name, in self._con.execute("SELECT name FROM sweeps").fetchall()
                          if not self._sweep_ok(self._con, name)]
        except _DB_ERRORS as exc:
            raise self._error(exc) from None
        return bad, bad_sweeps

    @staticmethod
    def _sweep_ok(con, name) -> bool:
        rows = con.execute("SELECT name, spec, created, updated, checksum FROM sweeps WHERE name=?",
                           (name,)).fetchall()
        if not rows:
            return False
        keys = [k for k, in con.execute("SELECT key FROM sweep_runs WHERE sweep=?", (name,))]
        return rows[0][4] == _sweep_checksum(*rows[0][:4], keys)

    @staticmethod
    def _reseal_sweep(con, name) -> None:
        row = con.execute("SELECT name, spec, created, updated FROM sweeps WHERE name=?", (name,)).fetchone()
        keys = [k for k, in con.execute("SELECT key FROM sweep_runs WHERE sweep=?", (name,))]
        con.execute("UPDATE sweeps SET checksum=? WHERE name=?", (_sweep_checksum(*row, keys), name))

    # ------------------------------------------------------------------------------------------------------ writes
    def _write(self, fn) -> Any:
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only")
        try:
            with self._con:
                self._con.execute("BEGIN IMMEDIATE")
                return fn(self._con)
        except _DB_ERRORS as exc:
            raise self._error(exc) from None

    def register_sweep(self, name: str, spec: dict, keys: Iterable[str]) -> None:
        """Record (or update) a sweep's spec and its run keys; existing runs are untouched."""
        now = time.time()
        spec_json = json.dumps(spec, sort_keys=True)
        keys = list(keys)

        def fn(con):
            con.execute("INSERT INTO sweeps(name, spec, created, updated) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(name) DO UPDATE SET spec=excluded.spec, updated=excluded.updated",
                        (name, spec_json, now, now))
            con.executemany("INSERT OR IGNORE INTO sweep_runs(sweep, key) VALUES (?, ?)", [(name, k) for k in keys])
            self._reseal_sweep(con, name)

        self._write(fn)

    def put(self, key: str, config: dict, status: str, *, result: dict | None = None,
            error: str | None = None, wall: float | None = None, owner: str | None = None) -> bool:
        """Store one finished run in its own transaction (with its checksum).  A ``done`` row is never replaced.
        With ``owner``, that owner's lease on ``key`` is released in the same transaction.

        Returns:
            True when the row was written, False when a ``done`` row with this key already existed.
        """
        if status not in ("done", "error"):
            raise ValueError(f"status: expected 'done' or 'error', got {status!r}")
        row = [key, json.dumps(config, sort_keys=True), status,
               None if result is None else json.dumps(result, sort_keys=True), error,
               None if wall is None else float(wall), time.time()]
        row.append(_run_checksum(row))

        def fn(con):
            cur = con.execute(
                "INSERT INTO runs(key, config, status, result, error, wall, finished, checksum) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET config=excluded.config, status=excluded.status, "
                "result=excluded.result, error=excluded.error, wall=excluded.wall, finished=excluded.finished, "
                "checksum=excluded.checksum WHERE runs.status != 'done'", row)
            if owner is not None:
                con.execute("DELETE FROM leases WHERE key=? AND owner=?", (key, owner))
            return cur.rowcount > 0

        return self._write(fn)

    def delete_runs(self, keys: Iterable[str]) -> int:
        """Delete runs (and their leases); returns how many rows were deleted."""
        keys = list(keys)

        def fn(con):
            n = 0
            for k in keys:
                n += con.execute("DELETE FROM runs WHERE key=?", (k,)).rowcount
                con.execute("DELETE FROM leases WHERE key=?", (k,))
            return n

        return self._write(fn)

    # ------------------------------------------------------------------------------------------------------ leases
    def claim(self, keys: Iterable[str], owner: str, ttl: float, *, retry_failed: bool = False) -> dict[str, str]:
        """Claim runs for ``owner`` in one transaction: key -> ``"claimed"``, ``"done"`` (stored), ``"error"``
        (stored error, not retried) or ``"leased"`` (another live driver holds an unexpired lease).

        A lease is taken when there is none, when it expired, when ``owner`` holds it already, or when its owner's
        process is gone (same host).  It lasts ``ttl`` seconds unless renewed (:meth:`renew`).
        """
        keys = list(keys)

        def fn(con):
            now = time.time()
            out = {}
            for k in keys:
                st = con.execute("SELECT status FROM runs WHERE key=?", (k,)).fetchone()
                if st is not None and (st[0] == "done" or not retry_failed):
                    out[k] = st[0]
                    continue
                lease = con.execute("SELECT owner, expires FROM leases WHERE key=?", (k,)).fetchone()
                if lease is not None and lease[0] != owner and lease[1] > now and not _owner_gone(lease[0]):
                    out[k] = "leased"
                    continue
                con.execute("INSERT INTO leases(key, owner, expires) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE "
                            "SET owner=excluded.owner, expires=excluded.expires", (k, owner, now + ttl))
                out[k] = "claimed"
            return out

        return self._write(fn)

    def renew(self, owner: str, ttl: float) -> int:
        """Extend every lease of ``owner`` to now + ``ttl``; returns how many."""
        return self._write(lambda con: con.execute("UPDATE leases SET expires=? WHERE owner=?",
                                                   (time.time() + ttl, owner)).rowcount)

    def release(self, owner: str, keys: Iterable[str] | None = None) -> None:
        """Drop the leases of ``owner`` (all, or those of ``keys``)."""
        def fn(con):
            if keys is None:
                con.execute("DELETE FROM leases WHERE owner=?", (owner,))
            else:
                con.executemany("DELETE FROM leases WHERE key=? AND owner=?", [(k, owner) for k in keys])

        self._write(fn)

    def leases(self) -> dict[str, tuple[str, float]]:
        """key -> (owner, expires) of the current leases."""
        return {k: (o, e) for k, o, e in self._read("SELECT key, owner, expires FROM leases")}

    # ------------------------------------------------------------------------------------------------------- reads
    def _read(self, sql: str, args: tuple = ()) -> list:
        try:
            return self._con.execute(sql, args).fetchall()
        except _DB_ERRORS as exc:
            raise self._error(exc) from None

    def status(self, keys: Iterable[str] | None = None) -> dict[str, str]:
        """key -> status for the stored runs (restricted to ``keys`` when given)."""
        rows = self._read("SELECT key, status FROM runs")
        out = dict(rows)
        if keys is not None:
            keys = set(keys)
            out = {k: v for k, v in out.items() if k in keys}
        return out

    def _cols(self) -> str:
        return f"{_RUN_COLS}, checksum" if self._checksums else f"{_RUN_COLS}, NULL"

    def get(self, key: str) -> dict | None:
        rows = self._read(f"SELECT {self._cols()} FROM runs WHERE key=?", (key,))
        return self._row(rows[0]) if rows else None

    def _row(self, r) -> dict:
        if self._checksums and r[7] != _run_checksum(r):
            raise StoreDamaged(f"{self.path}: run {r[0]} was changed outside o2nc (its checksum fails); "
                               f"{self._remedy()}", [r[0]])
        try:
            config = json.loads(r[1])
            result = None if r[3] is None else json.loads(r[3])
        except (TypeError, ValueError) as exc:
            raise StoreDamaged(f"{self.path}: run {r[0]} is not valid JSON ({exc}); {self._remedy()}",
                               [r[0]]) from None
        return {"key": r[0], "config": config, "status": r[2], "result": result, "error": r[4], "wall": r[5],
                "finished": r[6]}

    def rows(self, sweep: str | None = None, status: str | None = None) -> Iterator[dict]:
        """Stored runs as dicts (config and result decoded, checksums verified), optionally of one sweep and/or one
        status."""
        sql = f"SELECT {', '.join('r.' + c.strip() for c in self._cols().split(','))} FROM runs r"
        sql = sql.replace("r.NULL", "NULL")
        args: list = []
        where = []
        if sweep is not None:
            sql += " JOIN sweep_runs s ON s.key = r.key"
            where.append("s.sweep = ?")
            args.append(sweep)
        if status is not None:
            where.append("r.status = ?")
            args.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY r.finished"
        for r in self._read(sql, tuple(args)):
            yield self._row(r)

    def sweeps(self) -> list[str]:
        return [r[0] for r in self._read("SELECT name FROM sweeps ORDER BY created")]

    def sweep_keys(self, name: str) -> list[str]:
        return [r[0] for r in self._read("SELECT key FROM sweep_runs WHERE sweep=?", (name,))]

    def sweep_spec(self, name: str) -> dict | None:
        rows = self._read("SELECT spec FROM sweeps WHERE name=?", (name,))
        return json.loads(rows[0][0]) if rows else None

    # ------------------------------------------------------------------------------------------------------ misc
    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def drop_damaged(path: str | os.PathLike, *, timeout: float = 10.0) -> dict:
    """Drop the damaged rows of a results store so that the next sweep recomputes them.

    A structurally sound file: the runs whose checksum fails are deleted, and damaged sweep records are dropped
    (the next ``o2nc sweep`` registers its sweep again).  A malformed file: every run and sweep that can still be
    read and whose checksum verifies is copied into a fresh store at ``path``; the damaged file is kept beside it
    as ``NAME.damaged-TIMESTAMP``.

    Returns:
        ``{"dropped": [keys], "sweeps": [names], "kept": n, "rebuilt": bool, "moved_to": path or None}``.
    """
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such results database")
    try:
        with Store(path, timeout=timeout, verify=False) as s:
            bad, bad_sweeps = s.damaged()

            def fn(con):
                for k in bad:
                    con.execute("DELETE FROM runs WHERE key=?", (k,))
                    con.execute("DELETE FROM leases WHERE key=?", (k,))
                for name in bad_sweeps:
                    con.execute("DELETE FROM sweeps WHERE name=?", (name,))
                    con.execute("DELETE FROM sweep_runs WHERE sweep=?", (name,))

            s._write(fn)
            kept = s._read("SELECT count(*) FROM runs")[0][0]
            s.verify()
        return {"dropped": bad, "sweeps": bad_sweeps, "kept": kept, "rebuilt": False, "moved_to": None}
    except StoreDamaged:
        pass  # the file itself is malformed: salvage what verifies into a fresh one
    except StoreError as exc:
        if "not an o2nc results store" in str(exc):
            raise
    return _rebuild(path)


def _salvage_rows(con, table: str, cols: str) -> list:
    """Every row of ``table`` that can be read from a malformed file (rowid by rowid past unreadable pages)."""
    out = []
    try:
        top = con.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0
    except _DB_ERRORS:
        top = 100000
    for rowid in range(1, int(top) + 1):
        try:
            r = con.execute(f"SELECT {cols} FROM {table} WHERE rowid=?", (rowid,)).fetchone()
        except _DB_ERRORS:
            continue
        if r is not None:
            out.append(r)
    return out


def _rebuild(path: Path) -> dict:
    runs, sweeps, members = [], [], []
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            runs = _salvage_rows(con, "runs", f"{_RUN_COLS}, checksum")
            sweeps = _salvage_rows(con, "sweeps", "name, spec, created, updated, checksum")
            members = _salvage_rows(con, "sweep_runs", "sweep, key")
        finally:
            con.close()
    except _DB_ERRORS:
        pass  # nothing readable: every run is recomputed
    good = [r for r in runs if len(r) == 8 and r[7] == _run_checksum(r)]
    good_keys = {r[0] for r in good}
    by_sweep: dict[str, list] = {}
    for sw, k in members:
        by_sweep.setdefault(sw, []).append(k)
    good_sweeps = [s for s in sweeps if s[4] == _sweep_checksum(*s[:4], by_sweep.get(s[0], []))]
    fresh = path.with_name(path.name + ".rebuild")
    for p in (fresh, Path(str(fresh) + "-wal"), Path(str(fresh) + "-shm")):
        p.unlink(missing_ok=True)
    with Store(fresh) as s:
        def fn(con):
            con.executemany(f"INSERT INTO runs({_RUN_COLS}, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", good)
            for sw in good_sweeps:
                con.execute("INSERT INTO sweeps(name, spec, created, updated, checksum) VALUES (?, ?, ?, ?, ?)", sw)
                con.executemany("INSERT OR IGNORE INTO sweep_runs(sweep, key) VALUES (?, ?)",
                                [(sw[0], k) for k in by_sweep.get(sw[0], [])])
        s._write(fn)
    moved = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    os.replace(path, moved)
    for suffix in ("-wal", "-shm"):
        side = Path(str(path) + suffix)
        if side.exists():
            os.replace(side, Path(str(moved) + suffix))
    os.replace(fresh, path)
    for suffix in ("-wal", "-shm"):
        Path(str(fresh) + suffix).unlink(missing_ok=True)
    dropped = sorted({r[0] for r in runs if r[0] not in good_keys})
    return {"dropped": dropped, "sweeps": sorted({s[0] for s in sweeps} - {s[0] for s in good_sweeps}),
            "kept": len(good), "rebuilt": True, "moved_to": str(moved)}
