"""The results store: one embedded SQLite database in write-ahead-log mode.

Tables:

- ``runs(key PRIMARY KEY, config, status, result, error, wall, finished)`` — one row per run configuration, keyed by
  the hash of its full config (:func:`o2nc.experiments.spec.config_key`).  ``status`` is ``"done"`` or ``"error"``.
  A ``"done"`` row is never overwritten; an ``"error"`` row may be replaced by a retry.
- ``sweeps(name PRIMARY KEY, spec, created, updated)`` and ``sweep_runs(sweep, key)`` — which runs a sweep holds (a run
  shared by two sweeps is stored once).

Each finished run is committed in its own transaction by the driver, so a driver killed at any point (SIGKILL included)
loses at most the runs still in flight; SQLite's journal keeps the file consistent.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

__all__ = ["Store", "StoreError"]

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'error')),
    result TEXT,
    error TEXT,
    wall REAL,
    finished REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sweeps (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sweep_runs (
    sweep TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (sweep, key)
);
"""


class StoreError(RuntimeError):
    """The results database cannot be used; the message names the file and the reason."""


class Store:
    """An SQLite results store (WAL).  Only the sweep driver writes to it.

    Args:
        path: the database file; created with its parent folder when missing.
        timeout: seconds to wait for a lock held by another process before failing.
        readonly: open without creating or writing (``o2nc fit``).

    Example:
        >>> import tempfile, os
        >>> with Store(os.path.join(tempfile.mkdtemp(), "r.db")) as s:
        ...     _ = s.put("k1", {"a": 1}, "done", result={"x": 2.0})
        ...     s.get("k1")["result"]
        {'x': 2.0}
    """

    def __init__(self, path: str | os.PathLike, *, timeout: float = 10.0, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
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
        except sqlite3.DatabaseError as exc:
            self._con.close()
            raise StoreError(self._explain(exc)) from None

    def _explain(self, exc: Exception) -> str:
        msg = str(exc)
        if "locked" in msg or "busy" in msg:
            return f"{self.path}: the results database is locked by another process ({msg}); try again later"
        if "not a database" in msg or "malformed" in msg:
            return f"{self.path}: not an o2nc results database or corrupted ({msg})"
        if "readonly" in msg or "unable to open" in msg or "permission" in msg.lower():
            return f"{self.path}: cannot write the results database ({msg})"
        return f"{self.path}: database error ({msg})"

    def _init(self, readonly: bool) -> None:
        cur = self._con.cursor()
        cur.execute("PRAGMA schema_version").fetchone()  # raises 'not a database' early
        version = cur.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in cur.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if version not in (0, _SCHEMA_VERSION):
            raise StoreError(f"{self.path}: results schema version {version}, this o2nc reads version "
                             f"{_SCHEMA_VERSION}")
        if version == 0 and tables and not {"runs", "sweeps", "sweep_runs"} <= tables:
            raise StoreError(f"{self.path}: an SQLite database that is not an o2nc results store "
                             f"(tables: {', '.join(sorted(tables))})")
        if readonly:
            if version == 0 and not tables:
                raise StoreError(f"{self.path}: empty database, no results")
            return
        mode = cur.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":  # pragma: no cover - e.g. some network file systems
            raise StoreError(f"{self.path}: cannot switch the database to WAL mode (got {mode})")
        cur.execute("PRAGMA synchronous=NORMAL")
        with self._con:
            self._con.executescript(_SCHEMA)
            self._con.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    # ------------------------------------------------------------------------------------------------------ writes
    def _write(self, fn) -> Any:
        if self.readonly:
            raise StoreError(f"{self.path}: opened read-only")
        try:
            with self._con:
                return fn(self._con)
        except sqlite3.OperationalError as exc:
            raise StoreError(self._explain(exc)) from None

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

        self._write(fn)

    def put(self, key: str, config: dict, status: str, *, result: Optional[dict] = None,
            error: Optional[str] = None, wall: Optional[float] = None) -> bool:
        """Store one finished run in its own transaction.  A ``done`` row is never replaced.

        Returns:
            True when the row was written, False when a ``done`` row with this key already existed.
        """
        if status not in ("done", "error"):
            raise ValueError(f"status: expected 'done' or 'error', got {status!r}")
        row = (key, json.dumps(config, sort_keys=True), status,
               None if result is None else json.dumps(result, sort_keys=True), error, wall, time.time())

        def fn(con):
            cur = con.execute(
                "INSERT INTO runs(key, config, status, result, error, wall, finished) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET config=excluded.config, status=excluded.status, "
                "result=excluded.result, error=excluded.error, wall=excluded.wall, finished=excluded.finished "
                "WHERE runs.status != 'done'", row)
            return cur.rowcount > 0

        return self._write(fn)

    # ------------------------------------------------------------------------------------------------------- reads
    def _read(self, sql: str, args: tuple = ()) -> list:
        try:
            return self._con.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            raise StoreError(self._explain(exc)) from None

    def status(self, keys: Optional[Iterable[str]] = None) -> dict[str, str]:
        """key -> status for the stored runs (restricted to ``keys`` when given)."""
        rows = self._read("SELECT key, status FROM runs")
        out = dict(rows)
        if keys is not None:
            keys = set(keys)
            out = {k: v for k, v in out.items() if k in keys}
        return out

    def get(self, key: str) -> Optional[dict]:
        rows = self._read("SELECT key, config, status, result, error, wall, finished FROM runs WHERE key=?", (key,))
        return self._row(rows[0]) if rows else None

    @staticmethod
    def _row(r) -> dict:
        return {"key": r[0], "config": json.loads(r[1]), "status": r[2],
                "result": None if r[3] is None else json.loads(r[3]), "error": r[4], "wall": r[5], "finished": r[6]}

    def rows(self, sweep: Optional[str] = None, status: Optional[str] = None) -> Iterator[dict]:
        """Stored runs as dicts (config and result decoded), optionally of one sweep and/or one status."""
        sql = "SELECT r.key, r.config, r.status, r.result, r.error, r.wall, r.finished FROM runs r"
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

    def sweep_spec(self, name: str) -> Optional[dict]:
        rows = self._read("SELECT spec FROM sweeps WHERE name=?", (name,))
        return json.loads(rows[0][0]) if rows else None

    # ------------------------------------------------------------------------------------------------------ misc
    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
