"""Benchmark: ``o2nc.minimize`` with OGD against a hand-written numpy loop of the same algorithm.

Both run Algorithm 1 with uniform scaling, projected OGD restarted every epoch, and the epoch statistics (mean point,
mean gradient, certificate, radius), on d = 1000 with a cheap oracle. The figure is the ratio of per-step times,
measured alternately in one process (medians over repeats), so machine noise cancels.

    .venv/bin/python bench/bench_minimize.py
"""
from __future__ import annotations

import statistics
import time

import numpy as np

import o2nc
from o2nc.conversion.draw import seed_key, uniform
from online_learners import OGD

D, BUDGET, EPOCH, LR, RADIUS = 1000, 4000, 100, 1e-3, 1e-2


def oracle(w):
    return np.sign(w) + 0.1 * w


def hand_loop(x0, seed=0):
    key = seed_key(seed)  # minimize's s-draw: the counter-based hash of (seed, n), o2nc.conversion.draw
    x = x0.copy()
    certificates, radii = [], []
    step = 0
    for _ in range(BUDGET // EPOCH):
        delta = np.zeros_like(x0)
        s_values = uniform(key, np.arange(step, step + EPOCH, dtype=np.uint32), 53)
        step += EPOCH
        points = np.empty((EPOCH, D))
        grad_sum = np.zeros(D)
        for t in range(EPOCH):
            w = x + s_values[t] * delta
            x = x + delta
            g = oracle(w)
            if not np.all(np.isfinite(g)):
                raise FloatingPointError(t)
            delta = delta - LR * g
            norm = np.sqrt(delta @ delta)
            delta = delta * (RADIUS / max(norm, RADIUS))
            points[t] = w
            grad_sum += g
        mean = points.mean(axis=0)
        certificates.append(np.linalg.norm(grad_sum / EPOCH))
        radii.append(np.linalg.norm(points - mean, axis=1).max())
    return np.array(certificates)


def library(x0, seed=0):
    res = o2nc.minimize(oracle, x0, learner=OGD(lr=LR, radius=RADIUS), budget=BUDGET, epoch_length=EPOCH, seed=seed)
    return np.asarray(res.epochs.certificate)


def main(repeats: int = 7) -> None:
    x0 = np.random.default_rng(0).standard_normal(D)
    assert np.allclose(hand_loop(x0), library(x0), rtol=1e-10), "the two loops disagree"
    times = {"hand": [], "minimize": []}
    for _ in range(repeats):
        for name, fn in (("hand", hand_loop), ("minimize", library)):
            start = time.perf_counter()
            fn(x0)
            times[name].append((time.perf_counter() - start) / BUDGET)
    hand, lib = statistics.median(times["hand"]), statistics.median(times["minimize"])
    print(f"d = {D}, {BUDGET} steps, epoch {EPOCH}: hand-written numpy {hand * 1e6:.1f} µs/step, "
          f"o2nc.minimize {lib * 1e6:.1f} µs/step, ratio {lib / hand:.2f} (target ≤ 2)")


if __name__ == "__main__":
    main()
