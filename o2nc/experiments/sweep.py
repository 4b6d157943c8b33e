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
import time
from dataclasses import dataclass, field
from typing import Any, Optional, TextIO

import numpy as np

from o2nc.experiments.runner import execute
from o2nc.experiments.spec import RunConfig, Spec, load_spec
from o2nc.experiments.store import Store

__all__ = ["run_sweep", "SweepReport", "summary_table", "EXECUTORS"]

EXECUTORS = ("process", "thread", "serial", "dask")


@dataclass
class SweepReport:
    """What a call of :func:`run_sweep` did."""

    name: str
    total: int
    skipped: int = 0  # already done before this call
    done: int = 0  # finished now
    failed: int = 0  # raised an error now
    failed_before: int = 0  # stored errors not retried
    wall: float = 0.0
    errors: list = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.skipped + self.done == self.total


class _SerialExecutor(cf.Executor):
    """Runs each task in the calling thread at submit time (debugging, tiny sweeps)."""

    def submit(self, fn, /, *args, **kwargs):
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # pragma: no cover - execute() never raises
            fut.set_exception(exc)
        return fut


def _make_executor(executor: Any, workers: Optional[int], scheduler: Optional[str]):
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


def run_sweep(spec: Any, db: Any, *, executor: Any = "process", workers: Optional[int] = None,
              scheduler: Optional[str] = None, progress: bool = True, retry_failed: bool = False,
              max_in_flight: Optional[int] = None, out: Optional[TextIO] = None) -> SweepReport:
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
            else:
                pending.append(r)
        if pending:
            _execute_all(pending, store, report, executor, workers, scheduler, progress, max_in_flight)
        report.wall = time.perf_counter() - t0
        if progress:
            print(summary_table(store, sp.name), file=out)
            print(f"{sp.name}: {report.total} runs: {report.skipped} already stored, {report.done} done now, "
                  f"{report.failed} failed now" + (f", {report.failed_before} failed before (not retried; "
                                                  f"use retry_failed)" if report.failed_before else "")
                  + f" [{report.wall:.1f} s]", file=out)
        return report
    finally:
        if owns_store:
            store.close()


def _execute_all(pending, store, report, executor, workers, scheduler, progress, max_in_flight) -> None:
    ex, owned, closers = _make_executor(executor, workers, scheduler)
    n_workers = workers or getattr(ex, "_max_workers", None) or os.cpu_count() or 1
    window = max_in_flight or max(2, 2 * n_workers)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(pending), unit="run", desc="sweep", dynamic_ncols=True)
    queue = list(reversed(pending))
    in_flight: dict[cf.Future, RunConfig] = {}
    try:
        while queue or in_flight:
            while queue and len(in_flight) < window:
                r = queue.pop()
                in_flight[ex.submit(execute, r.config)] = r
            done, _ = cf.wait(list(in_flight), return_when=cf.FIRST_COMPLETED)
            for fut in done:
                r = in_flight.pop(fut)
                try:
                    res = fut.result()
                except Exception as exc:  # the worker itself died (not an error inside the run)
                    res = {"status": "error", "error": f"worker failure: {type(exc).__name__}: {exc}", "wall": None}
                if res["status"] == "done":
                    store.put(r.key, r.config, "done", result=res["result"], wall=res.get("wall"))
                    report.done += 1
                else:
                    store.put(r.key, r.config, "error", error=res["error"], wall=res.get("wall"))
                    report.failed += 1
                    report.errors.append((r.label(), res["error"].splitlines()[0]))
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(failed=report.failed)
    except BaseException:
        for fut in in_flight:
            fut.cancel()
        raise
    finally:
        if bar is not None:
            bar.close()
        if owned:
            try:
                ex.shutdown(wait=True, cancel_futures=True)
            except TypeError:  # executors without cancel_futures
                ex.shutdown(wait=True)
        for close in closers:
            try:
                close()
            except Exception:  # pragma: no cover
                pass


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


def summary_table(store: Store, sweep: Optional[str] = None) -> str:
    """Per (objective, method, δ, measurement, target): runs done/failed/censored and the median outcome.

    For budget runs the outcome is the mean epoch certificate (what Theorem 8 of [CMO23] bounds); for epsilon runs
    the gradient calls until the first certified epoch (medians over the certified seeds).
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
    header = ["objective", "method", "measure", "delta", "target", "done", "failed", "censored", "median"]
    rows = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[3], k[2], k[4])):
        g = groups[key]
        med = float(np.median(g["values"])) if g["values"] else None
        rows.append([key[0], key[1], "certificate@N" if key[3] == "budget" else "queries@eps", key[2], key[4],
                     g["done"], g["error"], g["censored"] if key[3] == "epsilon" else "-", med])
    if not rows:
        return "(no stored runs)"
    return format_table(header, rows)
