"""Benchmark of the objective bank's oracles on numpy and torch (CPU).

* value + grad of every Haarala–Miettinen–Mäkelä large-scale problem at n = 10^6;
* a mini-batch gradient of robust phase retrieval with m = 10^5 measurements in n = 10^3 (data 800 MB float64).

Run:  python bench/bench_objectives.py [--n 1000000] [--m 100000] [--dim 1000] [--batch 1000] [--repeat 5]
      [--threads 1]
Times are medians over ``repeat`` runs after one warm-up call (which also converts the data for the backend once).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import objectives


def _median_time(fn, repeat):
    fn()  # warm-up (and the one-off conversion of constant data for this backend)
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def _backends():
    out = {"numpy": lambda a: np.array(a, dtype=np.float64)}
    try:
        import torch
        out["torch"] = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))
    except ImportError:  # pragma: no cover
        pass
    return out


def bench_large_scale(n, repeat):
    rows = []
    for name in objectives.names(tags=["large-scale"]):
        obj = objectives.get(name, n=n)
        x = obj.x0 + 0.01 * np.random.default_rng(0).standard_normal(n)
        for bname, conv in _backends().items():
            xb = conv(x)
            t = _median_time(lambda: (obj.value(xb), obj.grad(xb)), repeat)
            rows.append((name, bname, t))
    return rows


def bench_phase_retrieval(m, dim, batch, repeat):
    t0 = time.perf_counter()
    obj = objectives.get("phase_retrieval", n=dim, m=m, seed=0, batch_size=batch)
    build = time.perf_counter() - t0
    rows = []
    for bname, conv in _backends().items():
        xb = conv(obj.x0)
        rng = np.random.default_rng(0)
        t = _median_time(lambda: obj.stochastic_grad(xb, rng), repeat)
        tf = _median_time(lambda: obj.grad(xb), max(1, repeat // 2))
        rows.append((bname, t, tf))
    return build, rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--m", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op threads (1 avoids oversubscription on a shared 2-core machine)")
    args = ap.parse_args(argv)
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:  # pragma: no cover
        pass

    print(f"value+grad, large-scale family, n = {args.n}")
    print(f"{'objective':22s} {'backend':7s} {'time':>10s}")
    for name, b, t in bench_large_scale(args.n, args.repeat):
        print(f"{name:22s} {b:7s} {t * 1e3:8.2f} ms")
    build, rows = bench_phase_retrieval(args.m, args.dim, args.batch, args.repeat)
    print(f"\nphase retrieval m = {args.m}, n = {args.dim} (data built in {build:.1f} s)")
    print(f"{'backend':7s} {'minibatch ' + str(args.batch):>16s} {'full gradient':>14s}")
    for b, t, tf in rows:
        print(f"{b:7s} {t * 1e3:13.2f} ms {tf * 1e3:11.1f} ms")


if __name__ == "__main__":
    main()
