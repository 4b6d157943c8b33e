"""Benchmark: ``o2nc.minimize`` in the configuration of [CMO23] Theorem 8, against hand-written numpy and the oracle.

[CMO23] Cutkosky, Mehta, Orabona, ICML 2023 (arXiv 2302.03775): Algorithm 1 with uniform scaling, projected OGD of
radius D = δ/T restarted every epoch of T steps, the epoch mean as output. Three rows:

* ``loop``: per-step time at d = 1000 against a hand-written numpy loop of the same algorithm, for (a) the paper's
  configuration with per-epoch means, certificates and path bounds (``minimize``'s default), (b) the same with the
  exact radius (``radius_kind="exact"``: both keep the epoch's points), (c) one epoch over the whole budget (no
  restarts, one average at the end: the configuration earlier benchmarks timed). Target ≤ 1.3.
* ``large``: per-step time at d = 10^6, T = 50, against the oracle's own time on the same point. Target ≤ 4.
* ``memory``: the peak of the run's allocations (``tracemalloc``, which numpy reports to) at d = 10^5, T = 2000, in
  words of 8 bytes per parameter. Target ≤ 10.

Ratios are medians of per-run times measured alternately in one process, so slow phases of a shared machine hit
both sides; a quiet machine is still needed for numbers to quote (or ``--clock cpu``, the process's CPU time). Beside
each ratio the *floor* is printed: for the loop rows 1 (the same arithmetic on both sides); for the large row the
8-byte words read + written per parameter per step, counted from the operations (at d = 10^6 the arrays are far
larger than the caches, so memory traffic weighs most):

* oracle ``sign(w) + 0.1 w``: sign (read 1, write 1), 0.1·w (1 + 1), the sum in place (2 + 1): 7 words;
* one O2NC step must read x, Δ, g, Σw, Σg and write x, Δ, w, Σw, Σg: a floor of 10 words;
* ``o2nc.conversion.fused`` moves 22: w = sΔ + x (5), v = Δ − ηg (5), ‖v‖² (1), x += Δ (3), Δ = v·factor (2),
  Σw += w (3), Σg += g (3).

    .venv/bin/python bench/bench_minimize.py                 # all rows (about a minute on an idle machine)
    .venv/bin/python bench/bench_minimize.py --rows memory   # one row
    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/bench_minimize.py --clock cpu   # CPU time, on a shared machine
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import tracemalloc

import numpy as np

import o2nc
from o2nc.conversion.draw import seed_key, uniform
from online_learners import OGD

DELTA = 0.1
ORACLE_WORDS, STEP_WORDS_FLOOR, FUSED_WORDS = 7, 10, 22


def oracle(w):
    return np.sign(w) + 0.1 * w


def ogd(T: int, d: int) -> OGD:
    """OGD with D = δ/T and η = D/(G√T), G = 1.1·√d ≥ ‖sign(w) + 0.1 w‖ near the start ([CMO23] Theorem 8)."""
    radius = DELTA / T
    return OGD(lr=radius / (1.1 * np.sqrt(d) * np.sqrt(T)), radius=radius)


def hand_loop(x0, budget: int, T: int, learner: OGD, exact: bool, seed: int = 0):
    """Algorithm 1 with OGD restarted every T steps, written out in numpy; per epoch the certificate ‖ĝ_k‖ and the
    path bound (``exact=False``) or the exact radius max_t ‖w_t − w̄_k‖ (``exact=True``, keeping the points)."""
    key = seed_key(seed)  # minimize's s-draw: the counter-based hash of (seed, n), o2nc.conversion.draw
    lr, radius = learner.lr, learner.radius
    x = x0.copy()
    certificates, radii = [], []
    step = 0
    for _ in range(budget // T):
        delta = np.zeros_like(x0)
        s_values = uniform(key, np.arange(step, step + T, dtype=np.uint32), 53)
        step += T
        points = np.empty((T, x0.size)) if exact else None
        w_sum, g_sum, path = np.zeros_like(x0), np.zeros_like(x0), 0.0
        for t in range(T):
            w = x + s_values[t] * delta
            path += np.sqrt(delta @ delta)
            x += delta
            g = oracle(w)
            delta = delta - lr * g
            norm = np.sqrt(delta @ delta)
            if not np.isfinite(norm):
                raise FloatingPointError(t)
            delta *= radius / max(norm, radius)
            if exact:
                points[t] = w
            w_sum += w
            g_sum += g
        mean = w_sum / T
        certificates.append(np.linalg.norm(g_sum / T))
        radii.append(np.linalg.norm(points - mean, axis=1).max() if exact else path)
    return np.array(certificates), np.array(radii)


def library(x0, budget: int, T: int, learner: OGD, exact: bool, seed: int = 0):
    res = o2nc.minimize(oracle, x0, learner=learner, budget=budget, epoch_length=T, seed=seed,
                        radius_kind="exact" if exact else "bound")
    return np.asarray(res.epochs.certificate), np.asarray(res.epochs.radius)


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f} at start; python "
            f"{platform.python_version()}, numpy {np.__version__}")


CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCK["wall"]


def interleaved(fns: dict, repeats: int) -> dict:
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = clock()
            fn()
            times[name].append(clock() - start)
    return {name: statistics.median(v) for name, v in times.items()}


def row_loop(repeats: int) -> None:
    d, budget = 1000, 4000
    x0 = np.random.default_rng(0).standard_normal(d)
    for label, T, exact in (("paper: T = 100, restarts, path bound", 100, False),
                            ("paper: T = 100, restarts, exact radius", 100, True),
                            ("one epoch of 4000 steps, path bound", budget, False)):
        learner = ogd(T, d)
        ours, theirs = library(x0, budget, T, learner, exact), hand_loop(x0, budget, T, learner, exact)
        assert np.allclose(ours[0], theirs[0], rtol=1e-10) and np.allclose(ours[1], theirs[1], rtol=1e-10), label
        med = interleaved({"hand": lambda: hand_loop(x0, budget, T, learner, exact),
                           "ours": lambda: library(x0, budget, T, learner, exact)}, repeats)
        print(f"  d = {d}, {label}: hand-written {med['hand'] / budget * 1e6:.1f} µs/step, minimize "
              f"{med['ours'] / budget * 1e6:.1f} µs/step, ratio {med['ours'] / med['hand']:.2f} "
              f"(floor 1.00: the same arithmetic; target ≤ 1.3)")


def row_large(repeats: int) -> None:
    d, T, budget = 10**6, 50, 100
    x0 = np.random.default_rng(0).standard_normal(d)
    learner = ogd(T, d)
    calls = 20

    def oracle_alone():
        for _ in range(calls):
            oracle(x0)

    med = interleaved({"oracle": oracle_alone,
                       "ours": lambda: library(x0, budget, T, learner, False)}, repeats)
    per_oracle, per_step = med["oracle"] / calls, med["ours"] / budget
    print(f"  d = 10^6, T = {T}, {budget} steps: oracle {per_oracle * 1e3:.2f} ms, "
          f"minimize {per_step * 1e3:.2f} ms/step "
          f"(oracle included), ratio {per_step / per_oracle:.2f} (target ≤ 4); words/param per step: floor "
          f"{STEP_WORDS_FLOOR}, fused kernel {FUSED_WORDS}, oracle {ORACLE_WORDS}")


def peak_words(d: int, T: int, budget: int, radius_kind: str = "bound") -> float:
    x0 = np.random.default_rng(0).standard_normal(d)
    learner = ogd(T, d)
    o2nc.minimize(oracle, x0[:10], learner=learner, budget=4, epoch_length=2, radius_kind=radius_kind)  # imports
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    res = o2nc.minimize(oracle, x0, learner=learner, budget=budget, epoch_length=T, radius_kind=radius_kind)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del res
    return peak / (8 * d)


def row_memory(_repeats: int) -> None:
    d, T, short = 10**5, 2000, 200
    words, fewer = peak_words(d, T, T), peak_words(d, short, short)
    print(f"  d = 10^5, one epoch: peak {words:.1f} words/param ({words * 8 * d / 1e6:.1f} MB) at T = {T}, "
          f"{fewer:.1f} at T = {short} (target ≤ 10; floor 3: the anchor, the result's mean and mean gradient)")
    exact = peak_words(d, short, short, "exact")
    print(f"  radius_kind='exact' keeps the epoch's points: peak {exact:.1f} words/param at T = {short}, "
          f"T + {exact - short:.0f}")


ROWS = {"loop": row_loop, "large": row_large, "memory": row_memory}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {', '.join(ROWS)}")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--clock", choices=tuple(CLOCK), default="wall",
                    help="wall: time.perf_counter; cpu: the process's CPU time (time.process_time), which a shared "
                         "machine's other work does not inflate")
    args = ap.parse_args(argv)
    global clock
    clock = CLOCK[args.clock]
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        ap.error(f"--rows: unknown {unknown}; choose from {', '.join(ROWS)}")
    print(f"o2nc.minimize benchmark on {machine()}, {args.clock} clock (timings on a shared machine are noisy: rerun "
          f"on a quiet one)")
    for row in rows:
        print(f"{row}:")
        ROWS[row](args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
