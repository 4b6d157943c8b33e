"""Step cost of the zoo's learners against OGD on one d = 10^6 vector, numpy and torch (float64 and float32).

One step is ``predict`` then ``update`` (what a conversion does per gradient). Everything runs in one process and the
figures reported are ratios to OGD's step on the same backend and dtype, measured interleaved, so that machine load
moves numerator and denominator together.

    python bench/bench_learners.py [--dim 1000000] [--repeats 30]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from online_learners import KT, OGD, DirectionMagnitude, DiscountedFTRL


def learners():
    return {
        "OGD": OGD(lr=0.01, radius=1.0),
        "KT": KT(eps=1.0, lipschitz=1.0),
        "DirectionMagnitude(KT, OGD)": DirectionMagnitude(KT(eps=1.0), OGD(lr=0.01, radius=1.0)),
        "DiscountedFTRL (Adam)": DiscountedFTRL(lr=1e-3),
    }


def make(backend, dtype, dim, seed):
    rng = np.random.default_rng(seed)
    grads = [rng.uniform(-1, 1, dim).astype(dtype) for _ in range(4)]
    if backend == "numpy":
        return np.zeros(dim, dtype=dtype), grads
    import torch

    tdtype = {np.float64: torch.float64, np.float32: torch.float32}[dtype]
    return torch.zeros(dim, dtype=tdtype), [torch.asarray(g) for g in grads]


def time_steps(learner, zeros, grads, repeats):
    state = learner.init(zeros)
    for g in grads:  # warm-up
        learner.predict(state)
        state = learner.update(state, g)
    times = []
    for i in range(repeats):
        g = grads[i % len(grads)]
        start = time.perf_counter()
        learner.predict(state)
        state = learner.update(state, g)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=10**6)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median ratio is reported")
    args = parser.parse_args(argv)
    backends = ["numpy"]
    try:
        import torch

        torch.set_num_threads(max(1, torch.get_num_threads()))
        backends.append("torch")
    except ImportError:
        pass
    zoo = learners()
    print(f"d = {args.dim}, median of {args.repeats} steps, median ratio over {args.rounds} interleaved rounds")
    print(f"{'backend':8s} {'dtype':8s} {'learner':30s} {'ms/step':>9s} {'× OGD':>7s}")
    for backend in backends:
        for dtype in (np.float64, np.float32):
            zeros, grads = make(backend, dtype, args.dim, seed=0)
            per_round = {name: [] for name in zoo}
            for _ in range(args.rounds):
                for name, learner in zoo.items():
                    per_round[name].append(time_steps(learner, zeros, grads, args.repeats))
            base = [t for t in per_round["OGD"]]
            for name in zoo:
                ratio = statistics.median(t / b for t, b in zip(per_round[name], base))
                ms = 1e3 * statistics.median(per_round[name])
                print(f"{backend:8s} {np.dtype(dtype).name:8s} {name:30s} {ms:9.3f} {ratio:7.2f}")


if __name__ == "__main__":
    main()
