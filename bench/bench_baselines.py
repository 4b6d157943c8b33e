"""Benchmark: the per-oracle-call overhead of every baseline, against the oracle's own cost.

Each registered baseline (its first example configuration) runs on d = 1000 with a cheap oracle (F = ‖x‖₁ + ½·0.1‖x‖²)
for a fixed budget; the figure is the time per budgeted oracle call, and its ratio to one bare oracle call. Medians over
repeats; the certificate is switched off so that only the method is timed.

    .venv/bin/python bench/bench_baselines.py
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from o2nc import baselines

D, REPEATS = 1000, 3


class Cheap:
    def value(self, x):
        return float(np.abs(x).sum() + 0.05 * x @ x)

    def grad(self, x):
        return np.sign(x) + 0.1 * x


def per_call(method, budget: int) -> float:
    x0 = np.linspace(-1.0, 1.0, D)
    times = []
    for _ in range(REPEATS):
        t = time.perf_counter()
        method.minimize(Cheap(), x0, budget=budget, seed=0, certify=False)
        times.append((time.perf_counter() - t) / budget)
    return statistics.median(times)


def main() -> None:
    x = np.linspace(-1.0, 1.0, D)
    p = Cheap()
    t = time.perf_counter()
    for _ in range(2000):
        p.grad(x)
    grad_cost = (time.perf_counter() - t) / 2000
    t = time.perf_counter()
    for _ in range(2000):
        p.value(x)
    value_cost = (time.perf_counter() - t) / 2000
    print(f"bare oracle: grad {grad_cost * 1e6:.1f} µs, value {value_cost * 1e6:.1f} µs (d = {D})")
    for e in baselines.entries():
        method = e.examples[0]
        budget = 2000 if e.order == "first-order" else 4000
        if e.name == "gradient_sampling":
            budget = 20 * (2 * D + 1)
        cost = per_call(method, budget)
        ref = grad_cost if e.order == "first-order" else value_cost
        print(f"{e.name:18s} {cost * 1e6:8.1f} µs per {'gradient' if e.order == 'first-order' else 'evaluation'}"
              f"  ({cost / ref:5.2f}× the bare oracle)")


if __name__ == "__main__":
    main()
