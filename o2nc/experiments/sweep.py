"""The sweep driver: expand a spec, skip the runs already stored, execute the rest, store each result as it arrives.

Executors: ``"process"`` (a local process pool, the default), ``"thread"``, ``"serial"`` (in the driver), ``"dask"``
(a ``dask.distributed`` cluster: the scheduler at ``scheduler=ADDRESS``, else a LocalCluster on 127.0.0.1), or any
object with a ``concurrent.futures``-style ``submit`` (a ``dask.distributed.Client`` is used through its
``get_executor()``).  Workers return plain data; **only the driver writes to the store**, one transaction per run, so
a sweep killed at any point resumes without losing or recomputing a finished run.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter, deque
from concurrent.futures import BrokenExecutor
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from o2nc.experiments.runner import execute
from o2nc.experiments.spec import RunConfig, load_spec
from o2nc.experiments.store import Store, StoreError, lease_owner

__all__ = ["run_sweep", "SweepReport", "summary_table", "EXECUTORS", "CostModel", "execution_order"]

EXECUTORS = ("process", "thread", "serial", "dask")


@dataclass
class SweepReport:
    """What a call of :func:`run_sweep` did, and where every run of the sweep stands.

    ``skipped + done + done_elsewhere`` runs are stored as done; ``failed + failed_before`` as errors (``errors``
    lists them: label, first line); ``missing`` runs are in neither state (their worker died more often than the
    retries allow, or another sweep still holds them): ``(label, reason)``.  :attr:`complete` is True when every
    run is done.
    """

    name: str
    total: int
    skipped: int = 0  # already done before this call
    done: int = 0  # finished now
    failed: int = 0  # raised an error now
    failed_before: int = 0  # stored errors not retried (also those another sweep stored meanwhile)
    done_elsewhere: int = 0  # finished meanwhile by another sweep on the same store
    retried: int = 0  # runs resubmitted after their worker died
    worker_failures: int = 0  # times a worker died (a broken pool counts once)
    wall: float = 0.0
    errors: list = field(default_factory=list)
    missing: list = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.skipped + self.done + self.done_elsewhere == self.total

    @property
    def failed_total(self) -> int:
        return self.failed + self.failed_before

    def summary(self) -> str:
        """One line: done / failed / missing (what the CLI prints)."""
        parts = [f"{self.skipped} already stored", f"{self.done} done now"]
        if self.done_elsewhere:
            parts.append(f"{self.done_elsewhere} done by another sweep")
        line = f"{self.name}: {self.total} runs: {', '.join(parts)}; {self.failed_total} failed"
        if self.failed_total:
            bits = [f"{self.failed} now"] if self.failed else []
            if self.failed_before:
                bits.append(f"{self.failed_before} stored before, not retried: use --retry-failed")
            line += f" ({'; '.join(bits)})"
        line += f", {len(self.missing)} missing"
        if self.missing:
            line += " (not stored: run the same command to retry them)"
        if self.retried:
            line += f"; {self.retried} resubmitted after a worker died"
        return line


def _group(config: dict) -> tuple:
    """The (objective label, method name) of a run configuration: runs of one group cost about the same."""
    return (config["objective"]["label"], config["method"]["name"])


def execution_order(runs: list) -> list:
    """The pending runs in the order of their keys (a hash of the configuration: a fixed, well-mixed order), so
    that the first runs to finish sample every objective and method and the ETA is right after a few of them
    (in the spec's order the first objective's runs come first, and the ETA follows their cost)."""
    return sorted(runs, key=lambda r: r.key)


class CostModel:
    """Expected seconds of runs from the walls of the finished ones, per configuration.

    A run's estimate is the mean wall of the finished runs of its (objective, method) group; for a group not seen
    yet, the mean wall of all finished runs times the objective's factor and the method's factor (the mean wall of
    the finished runs of that objective, resp. method, over the overall mean; 1 when none has finished).
    :meth:`remaining` is the estimated wall time of the pending runs on ``workers`` parallel workers.
    """

    def __init__(self, configs=()):
        self.pending: Counter = Counter(_group(c) for c in configs)
        self._sum: dict = {}  # key -> [sum of walls, count]; keys: ("g", group), ("o", label), ("m", name), "all"

    def _add(self, key, wall: float) -> None:
        acc = self._sum.setdefault(key, [0.0, 0])
        acc[0] += wall
        acc[1] += 1

    def _mean(self, key) -> float | None:
        acc = self._sum.get(key)
        return acc[0] / acc[1] if acc else None

    def finished(self, config: dict, wall: float | None) -> None:
        """Record a finished run (its wall, when known) and drop it from the pending ones."""
        g = _group(config)
        if self.pending[g] > 0:
            self.pending[g] -= 1
        if wall is None or not wall >= 0:
            return
        for key in (("g", g), ("o", g[0]), ("m", g[1]), "all"):
            self._add(key, float(wall))

    def estimate(self, config_or_group) -> float | None:
        """Expected seconds of one run (a configuration, or its (objective, method) group); None before any run
        has finished."""
        g = config_or_group if isinstance(config_or_group, tuple) else _group(config_or_group)
        seen = self._mean(("g", g))
        if seen is not None:
            return seen
        overall = self._mean("all")
        if overall is None:
            return None
        if overall == 0:
            return 0.0
        factor_o = (self._mean(("o", g[0])) or overall) / overall
        factor_m = (self._mean(("m", g[1])) or overall) / overall
        return overall * factor_o * factor_m

    def remaining(self, workers: int = 1) -> float | None:
        """Estimated seconds until the pending runs have finished on ``workers`` workers (None before any run has
        finished)."""
        total = 0.0
        for g, n in self.pending.items():
            if n:
                e = self.estimate(g)
                if e is None:
                    return None
                total += n * e
        return total / max(1, int(workers))


def _clock(seconds: float | None) -> str:
    if seconds is None or not seconds == seconds:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


class _SerialExecutor(cf.Executor):
    """Runs each task in the calling thread at submit time (debugging, tiny sweeps)."""

    def submit(self, fn, /, *args, **kwargs):
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # pragma: no cover - execute() never raises
            fut.set_exception(exc)
        return fut


def _make_executor(executor: Any, workers: int | None, scheduler: str | None):
    """(executor, owned, closers): ``owned`` executors are shut down by the driver."""
    if executor is None:
        executor = "process"
    if isinstance(executor, str):
        if executor not in EXECUTORS:
            raise ValueError(f"executor: expected one of {', '.join(EXECUTORS)} or an Executor, got {executor!r}")
        n = workers or max(1, os.cpu_count() or 1)
        if executor == "process":
            # spawn: safe with threads in the driver (tqdm's monitor, jax); children import o2nc afresh
            ctx = multiprocessing.get_context("spawn")
            return cf.ProcessPoolExecutor(max_workers=n, mp_context=ctx), True, []
        if executor == "thread":
            return cf.ThreadPoolExecutor(max_workers=n), True, []
        if executor == "serial":
            return _SerialExecutor(), True, []
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ImportError("executor 'dask' needs dask.distributed (pip install 'dask[distributed]')") from None
        closers = []
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                                   processes=True)
            closers.append(cluster.close)
            client = Client(cluster)
        closers.insert(0, client.close)
        return client.get_executor(), True, closers
    if hasattr(executor, "get_executor") and not hasattr(executor, "map_partitions"):  # a dask Client
        return executor.get_executor(), False, []
    if callable(getattr(executor, "submit", None)):
        return executor, False, []
    raise TypeError(f"executor: expected a name ({', '.join(EXECUTORS)}) or an object with submit(), "
                    f"got {type(executor).__name__}")


def run_sweep(spec: Any, db: Any, *, executor: Any = "process", workers: int | None = None,
              scheduler: str | None = None, progress: bool = True, retry_failed: bool = False,
              max_in_flight: int | None = None, out: TextIO | None = None, max_retries: int = 2,
              lease_ttl: float = 120.0) -> SweepReport:
    """Run (or resume) a sweep and store every result.

    Args:
        spec: a path (TOML/YAML/JSON), a dict or a :class:`~o2nc.experiments.spec.Spec`.
        db: the results database path, or an open :class:`~o2nc.experiments.store.Store`.
        executor: ``"process"`` (default), ``"thread"``, ``"serial"``, ``"dask"``, or an executor object.
        workers: pool size (default: the number of CPUs).
        scheduler: address of a running dask scheduler (``executor="dask"``).
        progress: show a progress bar with ETA and print the summary table.
        retry_failed: run again the configurations stored with an error.
        max_in_flight: tasks submitted ahead (default 2 × workers); bounds the work lost to a kill.
        out: where the summary goes (default stdout).
        max_retries: how often a run whose worker process died is run again (alone, in a fresh pool) before it is
            reported missing.
        lease_ttl: seconds a claim on a run lasts unless renewed (the driver renews it every ``lease_ttl/4``); a
            concurrent sweep on the same store waits for the runs another one holds instead of computing them.

    Returns:
        :class:`SweepReport`.

    Example:
        >>> import os, tempfile
        >>> spec = {"name": "demo", "seeds": 2, "deltas": [0.1], "measure": {"budgets": [500, 2000]},
        ...         "objectives": [{"name": "scaled_norm"}], "methods": [{"learner": "ogd"}]}
        >>> db = os.path.join(tempfile.mkdtemp(), "demo.db")
        >>> run_sweep(spec, db, executor="serial", progress=False).done
        4
        >>> run_sweep(spec, db, executor="serial", progress=False).skipped   # resumed: nothing recomputed
        4
    """
    sp = load_spec(spec)
    if max_retries < 0:
        raise ValueError(f"max_retries: expected an integer >= 0, got {max_retries!r}")
    if not lease_ttl > 0:
        raise ValueError(f"lease_ttl: expected a number of seconds > 0, got {lease_ttl!r}")
    store = db if isinstance(db, Store) else Store(db)
    owns_store = not isinstance(db, Store)
    out = out or sys.stdout
    t0 = time.perf_counter()
    try:
        runs = sp.runs()
        by_key: dict[str, RunConfig] = {}
        for r in runs:
            by_key.setdefault(r.key, r)
        store.register_sweep(sp.name, sp.data, by_key)
        stored = store.status(by_key)
        report = SweepReport(name=sp.name, total=len(by_key))
        pending = []
        for k, r in by_key.items():
            st = stored.get(k)
            if st == "done":
                report.skipped += 1
            elif st == "error" and not retry_failed:
                report.failed_before += 1
                report.errors.append((r.label(), "stored error: " + _first_line(store, k)))
            else:
                pending.append(r)
        if pending:
            _Driver(sp, pending, store, report, executor, workers, scheduler, progress, max_in_flight,
                    retry_failed, max_retries, lease_ttl).run()
        report.wall = time.perf_counter() - t0
        if progress:
            print(summary_table(store, sp.name), file=out)
            print(report.summary() + f" [{report.wall:.1f} s]", file=out)
        return report
    finally:
        if owns_store:
            store.close()


def _first_line(store: Store, key: str) -> str:
    row = store.get(key)
    return ((row or {}).get("error") or "").splitlines()[0] if (row or {}).get("error") else "(no message)"


class _LeaseKeeper(threading.Thread):
    """Renews the driver's leases every ``ttl/4`` s from its own connection (so a long run, even in the driver
    thread, keeps its claim)."""

    def __init__(self, path, owner: str, ttl: float):
        super().__init__(daemon=True, name="o2nc-lease-keeper")
        self.path, self.owner, self.ttl = path, owner, ttl
        self.stop = threading.Event()

    def run(self) -> None:
        import sqlite3

        con = sqlite3.connect(str(self.path), timeout=self.ttl)
        try:
            while not self.stop.wait(self.ttl / 4):
                try:
                    with con:
                        con.execute("UPDATE leases SET expires=? WHERE owner=?", (time.time() + self.ttl, self.owner))
                except sqlite3.Error:
                    continue  # busy: the next beat renews (the lease lasts 4 beats)
        finally:
            con.close()


class _Driver:
    """Claims, submits, retries and stores the pending runs of one sweep (see :func:`run_sweep`)."""

    POLL = 0.25  # seconds between looks at runs another sweep holds

    def __init__(self, sp, pending, store, report, executor, workers, scheduler, progress, max_in_flight,
                 retry_failed, max_retries, lease_ttl):
        self.sp, self.store, self.report = sp, store, report
        self.spec_executor, self.workers, self.scheduler = executor, workers, scheduler
        self.retry_failed, self.max_retries, self.ttl = retry_failed, max_retries, float(lease_ttl)
        self.max_in_flight = max_in_flight
        self.queue: deque = deque(execution_order(pending))
        self.costs = CostModel(r.config for r in pending)
        self._eta_at = 0.0
        self.suspects: deque = deque()  # runs in flight when a worker died: rerun one at a time
        self.deaths: Counter = Counter()
        self.owner = lease_owner()
        self.progress = progress
        self.bar = None

    # ------------------------------------------------------------------------------------------------------------
    def run(self) -> None:
        if self.progress:
            from tqdm.auto import tqdm

            # the ETA is the cost model's (per configuration), not tqdm's average rate
            self.bar = tqdm(total=len(self.queue), unit="run", desc="sweep", dynamic_ncols=True,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")
        keeper = _LeaseKeeper(self.store.path, self.owner, self.ttl)
        keeper.start()
        self.ex, self.owned, self.closers = _make_executor(self.spec_executor, self.workers, self.scheduler)
        try:
            self._loop()
        finally:
            keeper.stop.set()
            keeper.join(timeout=5)
            try:
                self.store.release(self.owner)
            except StoreError:  # pragma: no cover - the leases expire on their own
                pass
            if self.bar is not None:
                self.bar.close()
            self._close_executor()

    def _close_executor(self) -> None:
        if self.owned:
            try:
                self.ex.shutdown(wait=True, cancel_futures=True)
            except TypeError:  # executors without cancel_futures
                self.ex.shutdown(wait=True)
            except Exception:  # a broken pool: its processes are gone already
                pass
        for close in self.closers:
            try:
                close()
            except Exception:  # pragma: no cover
                pass
        self.closers = []

    def _window(self) -> int:
        n = self.workers or getattr(self.ex, "_max_workers", None) or os.cpu_count() or 1
        return self.max_in_flight or max(2, 2 * n)

    def _tick(self, r: RunConfig | None = None, wall: float | None = None) -> None:
        if r is not None:
            self.costs.finished(r.config, wall)
        if self.bar is not None:
            self.bar.update(1)
            now = time.perf_counter()
            if now - self._eta_at >= 1.0 or self.bar.n >= self.bar.total:  # the sum over groups, once a second
                self._eta_at = now
                self._eta = _clock(self.costs.remaining(self._parallel()))
            self.bar.set_postfix_str(f"eta {getattr(self, '_eta', '?')}, failed={self.report.failed}, "
                                     f"missing={len(self.report.missing)}")

    def _parallel(self) -> int:
        return self.workers or getattr(self.ex, "_max_workers", None) or os.cpu_count() or 1

    def _submit(self, r: RunConfig):
        return self.ex.submit(execute, r.config, self.sp.factories_of(r.config))

    def _start(self, r: RunConfig, in_flight: dict) -> None:
        """Submit the claimed run ``r``.  A pool can break between two waits (a worker died running an in-flight
        run); submitting to it then raises at once: the in-flight runs died with it (each rerun alone, as when the
        wait reports the break), the pool is renewed and ``r``, which never started, goes to the new one."""
        try:
            in_flight[self._submit(r)] = r
            return
        except BrokenExecutor as exc:
            dead = list(in_flight.values())
            in_flight.clear()
            self.report.worker_failures += 1
            self._renew_pool()
            for other in dead:
                self._died(other, exc)
        if self.ex is None:  # a caller's executor: it cannot be replaced, so r goes missing with the others
            self._died(r, BrokenExecutor("the pool broke before the run started"))
            return
        in_flight[self._submit(r)] = r

    def _claim(self, batch: list) -> list:
        """Claim ``batch``; return the runs claimed; account for those stored or held elsewhere."""
        outcome = self.store.claim([r.key for r in batch], self.owner, self.ttl, retry_failed=self.retry_failed)
        claimed, held = [], []
        for r in batch:
            o = outcome[r.key]
            if o == "claimed":
                claimed.append(r)
            elif o == "done":
                self.report.done_elsewhere += 1
                self._tick(r)
            elif o == "error":
                self.report.failed_before += 1
                self.report.errors.append((r.label(), "stored error (by another sweep): "
                                           + _first_line(self.store, r.key)))
                self._tick(r)
            else:
                held.append(r)
        self.held.extend(held)
        return claimed

    def _loop(self) -> None:
        in_flight: dict = {}
        self.held: list = []
        try:
            while self.queue or self.suspects or in_flight or self.held:
                if self.suspects:
                    if not in_flight:  # alone, so that a second death names its run
                        r = self.suspects.popleft()
                        if self._claim([r]):
                            self._start(r, in_flight)
                else:
                    room = self._window() - len(in_flight)
                    if room > 0 and self.queue:
                        batch = [self.queue.popleft() for _ in range(min(room, len(self.queue)))]
                        for r in self._claim(batch):
                            self._start(r, in_flight)
                if not in_flight:
                    if self.held and not self.queue and not self.suspects:
                        time.sleep(self.POLL)  # another sweep computes them: wait, then look again
                        self.queue.extend(self.held)
                        self.held = []
                    continue
                done, _ = cf.wait(list(in_flight), timeout=self.POLL, return_when=cf.FIRST_COMPLETED)
                if not done and self.held and not self.queue:
                    self.queue.extend(self.held)  # look at the held runs again while ours run
                    self.held = []
                broken = []
                for fut in done:
                    r = in_flight.pop(fut)
                    try:
                        res = fut.result()
                    except Exception as exc:  # the worker died (not an error inside the run: execute() returns)
                        broken.append((r, exc))
                        continue
                    self._store(r, res)
                if broken:
                    self.report.worker_failures += 1
                if any(isinstance(exc, BrokenExecutor) for _, exc in broken):
                    # every other task of a broken pool fails too: collect them now
                    for _fut, r in list(in_flight.items()):
                        broken.append((r, BrokenExecutor("the pool broke")))
                    in_flight.clear()
                    self._renew_pool()
                for r, exc in broken:
                    self._died(r, exc)
        except BaseException:
            for fut in in_flight:
                fut.cancel()
            raise

    def _store(self, r: RunConfig, res: dict) -> None:
        if res["status"] == "done":
            self.store.put(r.key, r.config, "done", result=res["result"], wall=res.get("wall"), owner=self.owner)
            self.report.done += 1
        else:
            self.store.put(r.key, r.config, "error", error=res["error"], wall=res.get("wall"), owner=self.owner)
            self.report.failed += 1
            self.report.errors.append((r.label(), res["error"].splitlines()[0]))
        self._tick(r, res.get("wall"))

    def _died(self, r: RunConfig, exc: BaseException) -> None:
        """A run whose worker died: rerun it (alone) up to ``max_retries`` times, else report it missing."""
        self.deaths[r.key] += 1
        why = f"{type(exc).__name__}: {exc}".strip()
        if self.ex is None:
            self.report.missing.append((r.label(), f"the executor broke ({why}) and cannot be restarted"))
            self.store.release(self.owner, [r.key])
            self._tick(r)
        elif self.deaths[r.key] > self.max_retries:
            self.report.missing.append((r.label(), f"its worker died {self.deaths[r.key]} times ({why})"))
            self.store.release(self.owner, [r.key])
            self._tick(r)
        else:
            self.report.retried += 1
            self.suspects.append(r)

    def _renew_pool(self) -> None:
        """Replace a broken pool the driver owns; a caller's executor cannot be replaced (its runs go missing)."""
        if not (self.owned and isinstance(self.spec_executor, (str, type(None)))):
            self.ex = None
            for r in list(self.queue) + list(self.suspects) + list(self.held):
                self.report.missing.append((r.label(), "the executor broke (a worker died) and cannot be "
                                                       "restarted"))
                self._tick(r)
            self.queue.clear()
            self.suspects.clear()
            self.held = []
            return
        self._close_executor()
        self.ex, self.owned, self.closers = _make_executor(self.spec_executor, self.workers, self.scheduler)


# --------------------------------------------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------------------------------------------


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def format_table(header: list, rows: list) -> str:
    """A plain-text table with aligned columns."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) if cells else len(str(h)) for i, h in enumerate(header)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) if i >= 3 else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
              for r in cells]
    return "\n".join(lines)


def summary_table(store: Store, sweep: str | None = None) -> str:
    """Per (objective, method, δ, measurement, target): runs done/failed/censored and the median outcome.

    For budget runs the outcome is the mean epoch certificate (what Theorem 8 of [CMO23] bounds); for epsilon runs
    the gradient calls until the first certified epoch (medians over the certified seeds: the censored ones are
    counted in their own column, not in the median, whose header says so).
    """
    groups: dict[tuple, dict] = {}
    for row in store.rows(sweep=sweep):
        c = row["config"]
        target = c.get("budget") if c["measure"] == "budget" else c.get("epsilon")
        key = (c["objective"]["label"], c["method"]["name"], c["delta"], c["measure"], target)
        g = groups.setdefault(key, {"done": 0, "error": 0, "censored": 0, "values": []})
        if row["status"] == "error":
            g["error"] += 1
            continue
        g["done"] += 1
        res = row["result"]
        if c["measure"] == "budget":
            g["values"].append(res["certificate_mean"])
        elif res.get("censored"):
            g["censored"] += 1
        else:
            g["values"].append(res["queries"])
    header = ["objective", "method", "measure", "delta", "target", "done", "failed", "censored",
              "median (uncensored)"]
    rows = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[3], k[2], k[4])):
        g = groups[key]
        med = float(np.median(g["values"])) if g["values"] else None
        rows.append([key[0], key[1], "certificate@N" if key[3] == "budget" else "queries@eps", key[2], key[4],
                     g["done"], g["error"], g["censored"] if key[3] == "epsilon" else "-", med])
    if not rows:
        return "(no stored runs)"
    return format_table(header, rows)
