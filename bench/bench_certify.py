"""Benchmark of the min-norm solve behind o2nc.certify: m = 50 gradients in d = 1000.

Two instance families (objectives.md §10.5): A, gradients i.i.d. N(0, I) (interior solution); B, u + 0.1 z_i with a
shared u (ill-conditioned, sparse weights).  For each, the median wall time of ``o2nc.certify.min_norm`` (default
solver, Gram matrix formed inside the timing) and the largest disagreement with a reference QP solver
(daqp or quadprog, optional packages) in the squared norm, relative to max(1, q_ref).

Usage:
    python bench/bench_certify.py [--instances 100] [--repeats 5] [--reference daqp|quadprog]

Target (issue 5): median ≤ 0.3 ms per solve and agreement to 1e-8.
"""
from __future__ import annotations

import argparse
import importlib.util
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from o2nc.certify import min_norm  # noqa: E402


def instances(family: str, n: int, m: int, d: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        if family == "A":
            yield rng.standard_normal((m, d))
        else:
            yield rng.standard_normal(d) + 0.1 * rng.standard_normal((m, d))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5, help="timed solves per instance (the median is taken over all)")
    ap.add_argument("-m", type=int, default=50)
    ap.add_argument("-d", type=int, default=1000)
    ap.add_argument("--reference", choices=["auto", "daqp", "quadprog", "none"], default="auto")
    args = ap.parse_args(argv)

    ref = args.reference
    if ref == "auto":
        ref = next((r for r in ("daqp", "quadprog") if importlib.util.find_spec(r)), "none")
    elif ref != "none" and importlib.util.find_spec(ref) is None:
        print(f"reference solver {ref} is not installed (pip install {ref})", file=sys.stderr)
        return 2

    print(f"min-norm QP, m={args.m}, d={args.d}, {args.instances} instances per family; numpy {np.__version__}, "
          f"python {platform.python_version()}, {platform.machine()}")
    worst_all = 0.0
    medians = {}
    for fam in ("A", "B"):
        times, worst, ref_times = [], 0.0, []
        for G in instances(fam, args.instances, args.m, args.d, seed=1 if fam == "A" else 2):
            min_norm(G)  # warm
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                _, v = min_norm(G)
                times.append(time.perf_counter() - t0)
            if ref != "none":
                t0 = time.perf_counter()
                _, vr = min_norm(G, solver=ref)
                ref_times.append(time.perf_counter() - t0)
                worst = max(worst, abs(v * v - vr * vr) / max(1.0, vr * vr))
        med = float(np.median(times)) * 1e3
        medians[fam] = med
        worst_all = max(worst_all, worst)
        line = f"family {fam}: median {med:.3f} ms (p90 {np.percentile(times, 90) * 1e3:.3f} ms)"
        if ref != "none":
            line += (f"; {ref} median {np.median(ref_times) * 1e3:.3f} ms; max |q - q_ref|/max(1, q_ref) "
                     f"= {worst:.1e}")
        print(line)
    ok_time = max(medians.values()) <= 0.3
    ok_ref = ref == "none" or worst_all <= 1e-8
    print(f"target median <= 0.3 ms: {'met' if ok_time else 'NOT met'}; "
          f"agreement <= 1e-8: {'not checked (no reference solver)' if ref == 'none' else ('met' if ok_ref else 'NOT met')}")
    return 0 if ok_ref else 1


if __name__ == "__main__":
    raise SystemExit(main())
