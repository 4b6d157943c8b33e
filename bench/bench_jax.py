"""Benchmark: the jitted ``o2nc.jax.o2nc(OGD)`` update against ``optax.sgd(momentum=0.9)``, as a ratio in one process.

``--params`` float32 parameters in ``--tensors`` leaves, fixed random gradients; each side is a jitted training step
``(params, state, grads) -> (params + updates, state)`` with params and state donated (``donate_argnums=(0, 1)``, as
a user's step would), so every buffer can be written in place. The two alternate and the median over ``--repeats``
calls is reported (target ≤ 1.3× for OGD, whose default ``store_anchor=None`` recovers the anchor; the stored-anchor
variant is shown for reference).

Usage: python bench/bench_jax.py [--params 10_000_000] [--tensors 50] [--repeats 30]
"""
from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import optax

from o2nc.jax import o2nc
from online_learners import OGD, registry


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", type=int, default=10_000_000)
    ap.add_argument("--tensors", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    size = args.params // args.tensors
    keys = jax.random.split(jax.random.key(0), 2 * args.tensors)
    params = [jax.random.normal(k, (size,), jnp.float32) for k in keys[: args.tensors]]
    grads = [1e-3 * jax.random.normal(k, (size,), jnp.float32) for k in keys[args.tensors:]]
    sgd = optax.sgd(1e-3, momentum=0.9)
    cases = [("o2nc(OGD) / sgd-momentum", o2nc(OGD(lr=1e-3), epoch_length=10**9), sgd),
             ("o2nc(OGD, store_anchor=True) / sgd-momentum",
              o2nc(OGD(lr=1e-3), epoch_length=10**9, store_anchor=True), sgd)]
    if "kt" in registry.names():
        cases.append(("o2nc(KT) / adam", o2nc(registry.get("kt"), epoch_length=10**9), optax.adam(1e-3)))
    print(f"params={args.params:,} tensors={args.tensors} repeats={args.repeats} jax={jax.__version__} "
          f"backend={jax.default_backend()}")
    for name, ours, theirs in cases:
        steps = {}
        for key, tx in (("ours", ours), ("theirs", theirs)):
            def step(p, s, g, tx=tx):
                u, s = tx.update(g, s, p)
                return optax.apply_updates(p, u), s

            steps[key] = (jax.jit(step, donate_argnums=(0, 1)), [jnp.array(x) for x in params])
            steps[key] = (steps[key][0], steps[key][1], tx.init(steps[key][1]))
        times = {"ours": [], "theirs": []}
        for i in range(args.repeats + 3):
            for key in ("ours", "theirs"):
                fn, p, s = steps[key]
                t0 = time.perf_counter()
                p, s = fn(p, s, grads)
                jax.block_until_ready(p)
                if i >= 3:
                    times[key].append(time.perf_counter() - t0)
                steps[key] = (fn, p, s)
        a, b = statistics.median(times["ours"]), statistics.median(times["theirs"])
        print(f"{name}: {a * 1e3:.2f} ms / {b * 1e3:.2f} ms = {a / b:.2f}x")


if __name__ == "__main__":
    main()
