"""Throughput of vectorised seeds: O2NC + OGD on a d = 10 non-smooth objective, 1000 seeds × 10^4 steps.

Compares, in one process:
  1. the compiled runner ``o2nc.experiments.batched.run_batched``: the conversion core (``o2nc.conversion.step``) with
     OGD's own update, jitted, an epoch's steps ``vmap``-ed over seeds, s_n drawn on the device (the counter-based
     draw of ``o2nc.conversion.draw``), exact radius and certificates per epoch;
  2. a hand-written jitted gradient-descent loop on the same problem and sizes (``jit(vmap(fori_loop))``): the floor;
  3. ``o2nc_ogd_numpy`` (``o2nc.minimize`` once per seed, a few seeds timed, extrapolated) — the eager loop.

Objective: f(x) = ‖x‖₁ − ½‖Ax‖₁ (non-smooth, non-convex), A fixed, gradient sign(x) − ½Aᵀsign(Ax).
Target (issue 16): the compiled runner within 2× of the hand-written loop; issue 12: no regression.

Times are best of ``--repeats`` after compilation, the two jax variants timed in alternation so that load from other
processes hits them alike; the ratio is printed for wall time and for process CPU time (less sensitive to other
processes on a shared machine).  Kernels per step, read off the compiled HLO (the loop body of an epoch's steps,
``UNROLL`` = 4 steps per iteration, divided by 4): 25 before the changes below, 15.25 after the first four, 12.75
now (GD: 5).
  * ``tree_norm`` on traced arrays: one power-of-two scaled form (max, then Σ(a·2^−e)², two passes) instead of a
    plain and a scaled branch selected by ``where`` (three reductions and the selects): 6-7 kernels a norm → 3;
  * the epoch's points stacked as the scan's output instead of a carried buffer written at a traced index (the
    bounds checks were four kernels a step; the layout change below carries a buffer again, written at the loop's
    own counter, whose clamp XLA fuses into the write);
  * the exact radius: the plain one-pass form when every seed's is exact, under ``jax.lax.cond`` over the batch,
    with the points left in the layout the steps wrote (it had a transposed copy and two passes every epoch).
  * the segment norm of the path bound: projected OGD reports ‖Δ_{n+1}‖ from its projection
    (``update_and_norm``) and the core carries it (``o2nc.conversion.step``), instead of a second norm a step.
  * the layout of an epoch: a step ``vmap``-ed over the seeds inside the scan over the T steps (not the scan inside
    the ``vmap``), its points written at their row of one (T, S, d) buffer carried across the chunk's epochs (the
    scan's stacked output was zero-filled every epoch, 8 MB here, and the vmapped radius transposed it), the plain
    radius taken over the batch in that layout (``epoch.plain_radius_squared(..., batch=1)``);
  * the chunk compiled without XLA's intra-op split of fusions over threads and with YNNPACK for the dots only
    (``batched.COMPILER_OPTIONS``; measured one by one: either alone about 3.35×, both 2.6-2.9×);
  * the epoch mean summed over the kept points at the epoch's end, so that the core's running Σw is dead code XLA
    drops from the step loop (2.65-2.85× → 2.4×).

Measured on a shared 2-core x86_64 machine under load (load average 5-9 from other work, so noisy), three runs of
each side alternated, ``--repeats 5``: before these changes the ratio was 5.9-6.3 (wall) and 6.0-6.1 (CPU); after the
first three, 4.3-4.8 (wall) and 4.8-5.0 (CPU).  With the carried norm, on the quiet machine (load average about 1,
three runs, ``--single 0 --repeats 5``): 3.86, 3.77 and 3.83 (wall), 4.68, 4.55 and 4.64 (CPU); the same code
remeasured before the layout and options changes (load average 0.9-1.0): 3.76, 3.94 and 3.76 (wall), 4.56, 4.80 and
4.64 (CPU: XLA's split of fusions over two threads).  After them and the mean from the points (load average 2.7-2.8):
2.41, 2.44 and 2.37 (wall), 2.39, 2.46 and 2.39 (CPU).  Side by side
in one process, the runner this module had before the conversion core was shared (a hand-written O2NC + OGD step
with plain norms, no path bound and no stop rule, its s-values computed beforehand and already on the device) took
3.71× the loop in wall time and 4.97× in CPU time where the core's took 3.83× and 4.69× (before the layout change).
The 2× target is not met on this CPU: the runner's step still has about two and a half times the kernels of the GD
step (the iterate and the anchor, the epoch sums of w and g, the stored point, the path, the projection's norm and
factor), each on a (1000, 10) array, and each epoch writes and reads back its 8 MB of points for the exact radius
and the mean (about a fifth of the time).  Where the time went before the mean change (jax's profiler, per kernel):
the two dots and the sign about 40%, the step's elementwise fusions about 20%, the points' writes and the radius about
20%, the epoch sums about 10%, the scaled norm's four small kernels about 7%.  A plain √Σv² in the projection (one
reduction) instead of the scaled form measured 3-7% less time, not taken: it is OGD's projection
(``online_learners``), and would need a fallback to the scaled form where a plain sum under- or overflows.

Usage:  python bench/bench_sweep.py [--seeds 1000] [--steps 10000] [--epoch-length 100] [--single 3]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("JAX_ENABLE_X64", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--epoch-length", type=int, default=100)
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--single", type=int, default=3, help="seeds timed one by one with o2nc.minimize (0: skip)")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)

    import jax
    import jax.numpy as jnp

    from o2nc.experiments.batched import o2nc_ogd_numpy, run_batched
    from online_learners import OGD

    d, S, N, T = args.dim, args.seeds, args.steps, args.epoch_length
    A = np.random.default_rng(0).standard_normal((d, d)) / np.sqrt(d)
    Aj = jnp.asarray(A)
    x0 = np.random.default_rng(1).standard_normal(d)
    radius, lr = 0.1 / T, 0.1 / T / np.sqrt(T)
    seeds = list(range(S))
    learner = OGD(lr=lr, radius=radius)

    def g_jax(x):
        return jnp.sign(x) - 0.5 * Aj.T @ jnp.sign(Aj @ x)

    def g_batch(W):
        return np.sign(W) - 0.5 * np.sign(W @ A.T) @ A

    def o2nc_compiled():
        return run_batched(g_jax, x0, seeds=seeds, learner=learner, epoch_length=T, budget=N,
                           chunk_steps=N).certificate

    @jax.jit
    def gd(x0s, lrs):
        def one(x, eta):
            return jax.lax.fori_loop(0, N, lambda i, x: x - eta * g_jax(x), x)
        return jax.vmap(one)(x0s, lrs)

    x0s = jnp.asarray(np.broadcast_to(x0, (S, d)).copy())
    lrs = jnp.asarray(np.geomspace(1e-4, 1e-2, S))

    def gd_run():
        return gd(x0s, lrs).block_until_ready()

    for fn in (o2nc_compiled, gd_run):
        fn()  # compile / warm
    load_start = os.getloadavg()
    times = {o2nc_compiled: [], gd_run: []}
    cpu = {o2nc_compiled: [], gd_run: []}
    for _ in range(args.repeats):
        for fn in times:
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            times[fn].append(time.perf_counter() - t0)
            cpu[fn].append(time.process_time() - c0)
    t_jax, t_gd = (min(times[f]) for f in (o2nc_compiled, gd_run))
    c_jax, c_gd = (min(cpu[f]) for f in (o2nc_compiled, gd_run))
    t_single = None
    if args.single > 0:
        t0 = time.perf_counter()
        o2nc_ogd_numpy(g_batch, x0, seeds=seeds[:args.single], budget=N, epoch_length=T, radius=radius, lr=lr)
        t_single = (time.perf_counter() - t0) / args.single * S

    steps = S * N
    load_end = os.getloadavg()
    print(f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{v:.2f}' for v in load_start)} at start, {' '.join(f'{v:.2f}' for v in load_end)} at end")
    print(f"O2NC+OGD, d={d}, {S} seeds x {N} steps (T={T}); jax {jax.__version__} x64={jax.config.jax_enable_x64}, "
          f"numpy {np.__version__}, python {platform.python_version()}; best of {args.repeats}")
    rows = [("O2NC compiled runner (run_batched)", t_jax), ("hand-written jitted GD loop", t_gd)]
    if t_single is not None:
        rows.append((f"O2NC one seed at a time (x{args.single}, extrapolated)", t_single))
    for name, t in rows:
        print(f"  {name:<48} {t:9.3f} s   {steps / t / 1e6:9.2f} M run-steps/s")
    ratio = t_jax / t_gd
    print(f"process CPU time: O2NC compiled {c_jax:.3f} s, GD loop {c_gd:.3f} s, ratio {c_jax / c_gd:.2f}")
    print(f"ratio O2NC(compiled) / GD loop = {ratio:.2f} (wall; target <= 2): {'met' if ratio <= 2 else 'NOT met'}")
    if t_single is not None:
        print(f"speed-up of the compiled runner over one seed at a time: {t_single / t_jax:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
