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
verified again.  A plain hash, not a keyed signature: it detects corruption (bit rot, a torn or overwritten page, a
file spliced from two stores) and edits made without recomputing it, not deliberate forgery — whoever recomputes
the hash of an edited row, or clears it and marks the file as schema version 1, is not detected.  A damaged store
is a :class:`StoreDamaged` error naming the file and the damaged runs, never silently used.  To drop the damaged rows
and recompute them: ``o2nc sweep SPEC --drop-damaged`` (Python: :func:`drop_damaged`): with a structurally sound
file the rows whose checksum fails are deleted; otherwise every run that can still be read and verified is copied
into a fresh file and the damaged file is kept beside it as ``NAME.damaged-TIMESTAMP``.  The next sweep recomputes
what was dropped.  A file that is not an o2nc store (not an SQLite database, or one without the store's tables) is
a :class:`StoreError` that does not suggest ``--drop-damaged``, and :func:`drop_damaged` never moves it.

Old stores (schema version 1, written before checksums): opened for writing they are migrated once — the columns
are added and the checksums computed from the content as it is then (which is trusted; the store's
:attr:`Store.notes` says so).  Opened read-only (``o2nc fit``) their rows without a checksum are checked
structurally only, with a note.  Wherever a ``checksum`` column exists (whatever the version number says), its
non-null values are verified: a mismatch is :class:`StoreDamaged`, read-only or not, and a migration only computes
the checksums that are NULL.

JSON.  Configs, results and sweep specs are stored as strict JSON (RFC 8259: no ``NaN`` or ``Infinity`` tokens).
A non-finite float inside them is written as the one-key object ``{"$float": "NaN"}`` (or ``"Infinity"``,
``"-Infinity"``) and read back as the float, so :meth:`Store.get` and :meth:`Store.rows` return what
:meth:`Store.put` was given; ``"$float"`` is therefore a reserved key (a dict holding it is a ValueError on write).
Rows written before this rule, with bare ``NaN``/``Infinity`` tokens, read as before.  ``wall`` (an SQLite REAL,
which has no NaN) stores a NaN as NULL.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
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
#: SQLite's words for a file it cannot read as a database: a damaged store (header, pages, or text that is not
#: UTF-8: ``Could not decode``) when the file is recognised as one (:func:`_looks_like_store`), else not a store.
_DAMAGE_WORDS = ("not a database", "malformed", "unsupported file format", "Could not decode")
#: Above this size the open-time check is ``quick_check`` (linear) instead of ``integrity_check``.
_FULL_CHECK_BYTES = 256 * 2 ** 20
#: The store's own tables (a database holding none of them is not an o2nc store).
_STORE_TABLES = {"runs", "sweeps", "sweep_runs"}
#: The schema record (``sqlite_master``) of one of the store's tables, as SQLite's record format lays it out: the
#: type, name and tbl_name side by side, the root page (an integer of up to 8 bytes), then the CREATE statement as
#: SQLite keeps it (without IF NOT EXISTS; versions 1 and 2 start alike).  A file holding one of them near its start
#: is an o2nc store, however damaged its header or other pages; a text file quoting the schema is not.
_SIGNATURE = re.compile(rb"table(runs|sweeps|sweep_runs)\1[\x00-\xff]{0,8}CREATE TABLE \1 \(\n    "
                        rb"(?:key TEXT PRIMARY KEY,\n    config|name TEXT PRIMARY KEY,\n    spec|"
                        rb"sweep TEXT NOT NULL,\n    key) TEXT NOT NULL,")
#: How much of the file is searched for a signature (the schema lives on page 1; its records can move as it grows).
_SIGNATURE_BYTES = 2 ** 20
#: The tag of a non-finite float in stored JSON (module docstring).
_FLOAT_TAG = "$float"
_NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class StoreError(RuntimeError):
    """The results database cannot be used; the message names the file and the reason."""


class StoreDamaged(StoreError):
    """The results database is corrupted, or rows were edited without recomputing their checksums (``damaged``: the
    keys of the damaged runs, ``sweeps``: the names of damaged sweep records; both empty when the file itself is
    malformed).  The checksums are plain hashes: an edit whose author recomputed them is not detected."""

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


def _encode(obj: Any, where: str) -> Any:
    """``obj`` with every non-finite float replaced by its tag (module docstring); ValueError naming ``where`` for a
    dict that holds the reserved key."""
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return {_FLOAT_TAG: "NaN" if obj != obj else ("Infinity" if obj > 0 else "-Infinity")}
    if isinstance(obj, dict):
        if _FLOAT_TAG in obj:
            raise ValueError(f"{where}: the key {_FLOAT_TAG!r} is reserved by the results store (it tags a non-finite "
                             "float); rename it")
        return {k: _encode(v, where) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v, where) for v in obj]
    return obj


def _dumps(obj: Any, where: str) -> str:
    """Strict JSON (sorted keys) of ``obj``, non-finite floats tagged.  The walk of :func:`_encode` runs only where
    the plain dump meets a non-finite float or the text holds the reserved key."""
    try:
        text = json.dumps(obj, sort_keys=True, allow_nan=False)
    except ValueError as exc:
        if "Out of range float" not in str(exc):
            raise
        return json.dumps(_encode(obj, where), sort_keys=True, allow_nan=False)
    if f'"{_FLOAT_TAG}"' in text:
        _encode(obj, where)  # a ValueError if a dict holds the reserved key (else a string that reads alike)
    return text


def _decode_tag(d: dict) -> Any:
    if len(d) == 1 and _FLOAT_TAG in d and d[_FLOAT_TAG] in _NONFINITE:
        return _NONFINITE[d[_FLOAT_TAG]]
    return d


def _loads(text: str) -> Any:
    """Inverse of :func:`_dumps`; also reads the bare ``NaN``/``Infinity`` tokens of older rows.  Text without the
    tag is decoded without the hook."""
    return json.loads(text, object_hook=_decode_tag) if f'"{_FLOAT_TAG}"' in text else json.loads(text)


def _looks_like_store(path: Path) -> bool:
    """Whether the file holds the schema record of one of the store's tables in its first MiB (``_SIGNATURE``):
    true for an o2nc store however damaged its header or pages, false for any other file."""
    try:
        with open(path, "rb") as f:
            head = f.read(_SIGNATURE_BYTES)
    except OSError:
        return False
    return _SIGNATURE.search(head) is not None


def _not_a_store(path: Path, why: str) -> StoreError:
    return StoreError(f"{path}: not an o2nc results store ({why}); --db takes a database written by `o2nc sweep`; "
                      "the file was left as it is")


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
        self._run_sums = self._sweep_sums = True  # whether runs / sweeps have a checksum column
        self._strict = True  # a NULL checksum fails (schema version 2); else only non-null checksums are verified
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
            self._init(readonly, verify)
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

    def _error(self, exc: Exception) -> StoreError:
        """The StoreError for an SQLite error: damage (with the remedy) only for a file recognised as an o2nc store
        (:func:`_looks_like_store`); any other file is 'not an o2nc results store', never offered to
        ``--drop-damaged``."""
        if isinstance(exc, UnicodeDecodeError):
            return StoreDamaged(f"{self.path}: the results database is corrupted (text that is not UTF-8: {exc}); "
                                f"{self._remedy()}")
        msg = str(exc)
        if "locked" in msg or "busy" in msg:
            return StoreError(f"{self.path}: the results database is locked by another process ({msg}); "
                              "try again later")
        if any(w in msg for w in _DAMAGE_WORDS):
            if _looks_like_store(self.path):
                return StoreDamaged(f"{self.path}: the results database is corrupted ({msg}); {self._remedy()}")
            return _not_a_store(self.path, f"SQLite: {msg}")
        if "readonly" in msg or "unable to open" in msg or "permission" in msg.lower():
            return StoreError(f"{self.path}: cannot write the results database ({msg})")
        return StoreError(f"{self.path}: database error ({msg})")

    def _init(self, readonly: bool, verify: bool = True) -> None:
        cur = self._con.cursor()
        cur.execute("PRAGMA schema_version").fetchone()  # raises 'not a database' early
        version = cur.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in cur.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and not tables & _STORE_TABLES:
            raise _not_a_store(self.path, f"an SQLite database with the tables {', '.join(sorted(tables))}")
        if (version < 0 or version > 100) and _looks_like_store(self.path):  # not a version number: damage
            raise StoreDamaged(f"{self.path}: the results database is corrupted (its header's schema version field "
                               f"holds {version}, which no o2nc writes); {self._remedy()}")
        if version not in (0, 1, _SCHEMA_VERSION):
            raise StoreError(f"{self.path}: results schema version {version}, this o2nc reads versions 1 and "
                             f"{_SCHEMA_VERSION}")
        if version == 0 and tables and not _STORE_TABLES <= tables:
            raise _not_a_store(self.path, f"an SQLite database with the tables {', '.join(sorted(tables))}")
        if version in (1, 2) and not _STORE_TABLES <= tables:
            if not _looks_like_store(self.path):
                raise _not_a_store(self.path, f"an SQLite database with the tables {', '.join(sorted(tables))}"
                                   if tables else "an SQLite database without tables")
            raise StoreDamaged(f"{self.path}: the results tables {', '.join(sorted(_STORE_TABLES - tables))} are "
                               f"missing (the store is damaged); {self._remedy()}")
        old = version == 1 or (version == 0 and bool(tables))
        if old:  # written before checksums, or relabelled: verify whatever checksums there are (module docstring)
            self._strict = False
            self._run_sums, self._sweep_sums = (
                "checksum" in {r[1] for r in cur.execute(f"PRAGMA table_info({t})")} for t in ("runs", "sweeps"))
        if readonly:
            if version == 0 and not tables:
                raise StoreError(f"{self.path}: empty database, no results")
            if old:
                unsealed = (cur.execute("SELECT count(*) FROM runs WHERE checksum IS NULL").fetchone()[0]
                            if self._run_sums else None)
                if unsealed != 0:
                    what = ("only the file's structure is checked" if unsealed is None else
                            f"{unsealed} of its runs have no checksum: only the file's structure and the checksums "
                            "present are checked")
                    self.notes.append(f"{self.path}: written by an older o2nc without checksums; {what} (open it "
                                      "once with `o2nc sweep` to add checksums)")
            return
        mode = cur.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":  # pragma: no cover - e.g. some network file systems
            raise StoreError(f"{self.path}: cannot switch the database to WAL mode (got {mode})")
        cur.execute("PRAGMA synchronous=NORMAL")
        if version == _SCHEMA_VERSION and "leases" in tables:
            return
        with self._con:
            self._con.execute("BEGIN IMMEDIATE")
            if old:
                self._migrate_v1(verify)
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    self._con.execute(stmt)
            self._con.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        self._run_sums = self._sweep_sums = self._strict = True

    def _migrate_v1(self, verify: bool) -> None:
        """Add the checksum columns to a version-1 store and compute the missing ones (NULL) from the content as it
        is now.  Checksums already present are verified first (with ``verify``; a mismatch is StoreDamaged and the
        transaction rolls back) and never recomputed: a row that fails keeps failing, for :func:`drop_damaged`."""
        con = self._con
        if verify:
            self._raise_if_damaged(*self._failing())
        for table in ("runs", "sweeps"):
            cols = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
            if "checksum" not in cols:
                con.execute(f"ALTER TABLE {table} ADD COLUMN checksum TEXT")
        n = 0
        for row in con.execute(f"SELECT {_RUN_COLS} FROM runs WHERE checksum IS NULL").fetchall():
            con.execute("UPDATE runs SET checksum=? WHERE key=?", (_run_checksum(row), row[0]))
            n += 1
        for name, in con.execute("SELECT name FROM sweeps WHERE checksum IS NULL").fetchall():
            self._reseal_sweep(con, name)
        if n:
            self.notes.append(f"{self.path}: written by an older o2nc without checksums; checksums added to its {n} "
                              "runs that had none (their content as it is now is trusted)")

    # -------------------------------------------------------------------------------------------------- integrity
    def verify(self) -> None:
        """Check the file (``PRAGMA integrity_check``, or ``quick_check`` for large files) and every checksum.

        Raises:
            StoreDamaged: naming the file, the damaged runs and sweeps, and how to drop them.
        """
        self._raise_if_damaged(*self.damaged())

    def _raise_if_damaged(self, damaged: list[str], sweeps: list[str]) -> None:
        if damaged or sweeps:
            what = []
            if damaged:
                shown = ", ".join(damaged[:5]) + (f" and {len(damaged) - 5} more" if len(damaged) > 5 else "")
                what.append(f"{len(damaged)} run(s) whose checksum fails ({shown})")
            if sweeps:
                what.append(f"sweep record(s) {', '.join(map(repr, sweeps))} whose checksum fails")
            raise StoreDamaged(f"{self.path}: the results database is corrupted or was edited without updating its "
                               f"checksums: {'; '.join(what)}; {self._remedy()}", damaged, sweeps)

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
            return self._failing()
        except _DB_ERRORS as exc:
            raise self._error(exc) from None

    def _fails(self, stored, expected) -> bool:
        """Whether a stored checksum fails: a mismatch, or a NULL where every row must have one (version 2)."""
        return (stored is not None or self._strict) and stored != expected

    def _failing(self) -> tuple[list[str], list[str]]:
        """(run keys, sweep names) whose checksum fails (only the checksums present, in a version-1 store)."""
        bad, bad_sweeps = [], []
        if self._run_sums:
            bad = [r[0] for r in self._con.execute(f"SELECT {_RUN_COLS}, checksum FROM runs").fetchall()
                   if self._fails(r[7], _run_checksum(r))]
        if self._sweep_sums:
            bad_sweeps = [name for name, in self._con.execute("SELECT name FROM sweeps").fetchall()
                          if not self._sweep_ok(self._con, name)]
        return bad, bad_sweeps

    def _sweep_ok(self, con, name) -> bool:
        rows = con.execute("SELECT name, spec, created, updated, checksum FROM sweeps WHERE name=?",
                           (name,)).fetchall()
        if not rows:
            return False
        keys = [k for k, in con.execute("SELECT key FROM sweep_runs WHERE sweep=?", (name,))]
        return not self._fails(rows[0][4], _sweep_checksum(*rows[0][:4], keys))

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
        spec_json = _dumps(spec, "spec")
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
        With ``owner``, that owner's lease on ``key`` is released in the same transaction.  ``config`` and
        ``result`` are stored as strict JSON, non-finite floats tagged (module docstring); a NaN ``wall`` as NULL.

        Returns:
            True when the row was written, False when a ``done`` row with this key already existed.

        Raises:
            ValueError: a status other than 'done' or 'error', or a dict with the reserved key ``"$float"``.
        """
        if status not in ("done", "error"):
            raise ValueError(f"status: expected 'done' or 'error', got {status!r}")
        wall = None if wall is None or wall != wall else float(wall)
        row = [key, _dumps(config, "config"), status, None if result is None else _dumps(result, "result"), error,
               wall, time.time()]
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
        return f"{_RUN_COLS}, checksum" if self._run_sums else f"{_RUN_COLS}, NULL"

    def get(self, key: str) -> dict | None:
        rows = self._read(f"SELECT {self._cols()} FROM runs WHERE key=?", (key,))
        return self._row(rows[0]) if rows else None

    def _row(self, r) -> dict:
        if self._run_sums and self._fails(r[7], _run_checksum(r)):
            raise StoreDamaged(f"{self.path}: run {r[0]} fails its checksum (corrupted, or edited without updating "
                               f"the checksum); {self._remedy()}", [r[0]])
        try:
            config = _loads(r[1])
            result = None if r[3] is None else _loads(r[3])
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
        return _loads(rows[0][0]) if rows else None

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
    as ``NAME.damaged-TIMESTAMP``.  Only a file recognised as an o2nc store is ever moved: anything else (not an
    SQLite database, a database without the store's tables, a newer schema) is a StoreError and stays as it is, and
    so does a store that is locked or cannot be written.

    Returns:
        ``{"dropped": [keys], "sweeps": [names], "kept": n, "rebuilt": bool, "moved_to": path or None}``.

    Raises:
        StoreError: no such file, not an o2nc results store, locked, not writable.
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
    return _rebuild(path)


def _salvage_rows(con, table: str, cols: str) -> list:
    """Every row of ``table`` that can be read from a malformed file (rowid by rowid past unreadable pages)."""
    out = []
    try:
        top = con.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0
    except _DB_ERRORS as exc:
        if "schema" in str(exc):  # the schema itself cannot be parsed: no row of any table can be read
            return []
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
    if not _looks_like_store(path):  # never move a file that is not an o2nc store
        raise _not_a_store(path, "no o2nc results tables in it")
    runs, sweeps, members, keys = [], [], [], []
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            runs = _salvage_rows(con, "runs", f"{_RUN_COLS}, checksum")
            keys = _salvage_rows(con, "runs", "key")  # also of the rows that cannot be read whole
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
    dropped = sorted({r[0] for r in runs + keys if r[0] not in good_keys})
    return {"dropped": dropped, "sweeps": sorted({s[0] for s in sweeps} - {s[0] for s in good_sweeps}),
            "kept": len(good), "rebuilt": True, "moved_to": str(moved)}
