"""Benchmark: one ``o2nc.torch.O2NC`` step against ``torch.optim`` steps, as ratios measured in one process.

A model of ``--params`` float32 parameters split into ``--tensors`` tensors with fixed random gradients. Steps of the
optimizers under comparison alternate and the median over ``--repeats`` steps is reported:

- O2NC(OGD) against SGD(momentum=0.9, foreach=True): unconstrained (target ≤ 1.3×), and with a radius, without
  restarts and with T = 100 (target ≤ 1.5×: the radius costs one read-only sweep for ⟨Δ, g⟩ and ‖Δ‖²);
- O2NC(KT) against Adam(foreach=True) (target ≤ 1.5×);
- optimizer state, in copies of the parameters (target for O2NC(OGD) without averaging: ≤ 1 extra copy);
- with ``--device cuda``, the effective bandwidth (bytes the step must move / step time).

Usage: python bench/bench_torch.py [--params 10_000_000] [--tensors 50] [--repeats 30] [--device cpu|cuda]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from o2nc.torch import O2NC
from online_learners import OGD, registry


def make_params(n, k, device):
    g = torch.Generator().manual_seed(0)
    size = n // k
    params = [torch.nn.Parameter(torch.randn(size, generator=g).to(device)) for _ in range(k)]
    for p in params:
        p.grad = torch.randn(size, generator=g).to(device) * 1e-3
    return params


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def state_copies(opt, params):
    total = sum(p.numel() for p in params)
    held = sum(v.numel() for st in opt.state.values() for v in st.values()
               if isinstance(v, torch.Tensor) and v.numel() > 1)
    return held / total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", type=int, default=10_000_000)
    ap.add_argument("--tensors", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = ap.parse_args()
    dev = args.device
    kt = registry.get("kt") if "kt" in registry.names() else None
    pairs = [
        ("O2NC(OGD) / SGD-momentum", lambda p: O2NC(p, learner=OGD(lr=1e-3), epoch_length=10**9),
         lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9, foreach=True), 5),
        ("O2NC(OGD, radius) / SGD-momentum", lambda p: O2NC(p, learner=OGD(lr=1e-3, radius=10.0), epoch_length=10**9),
         lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9, foreach=True), 5),
        ("O2NC(OGD, radius, T=100) / SGD-momentum",
         lambda p: O2NC(p, learner=OGD(lr=1e-3, radius=10.0), epoch_length=100),
         lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9, foreach=True), 5),
    ]
    if kt is not None:
        pairs.append(("O2NC(KT) / Adam", lambda p: O2NC(p, learner=kt, epoch_length=10**9),
                      lambda p: torch.optim.Adam(p, lr=1e-3, foreach=True), 7))
    print(f"device={dev} params={args.params:,} tensors={args.tensors} repeats={args.repeats} torch={torch.__version__}"
          f" threads={torch.get_num_threads()}")
    for name, make_ours, make_theirs, words in pairs:
        ours_p = make_params(args.params, args.tensors, dev)
        theirs_p = make_params(args.params, args.tensors, dev)
        ours, theirs = make_ours(ours_p), make_theirs(theirs_p)
        times = {"ours": [], "theirs": []}
        for i in range(args.repeats + 3):
            for key, opt in (("ours", ours), ("theirs", theirs)):
                sync(dev)
                t0 = time.perf_counter()
                opt.step()
                sync(dev)
                if i >= 3:
                    times[key].append(time.perf_counter() - t0)
        a, b = statistics.median(times["ours"]), statistics.median(times["theirs"])
        line = (f"{name}: {a * 1e3:.2f} ms / {b * 1e3:.2f} ms = {a / b:.2f}x; "
                f"state copies {state_copies(ours, ours_p):.2f} vs {state_copies(theirs, theirs_p):.2f}")
        if dev == "cuda":
            bytes_theirs = words * 4 * args.params
            line += f"; reference bandwidth {bytes_theirs / b / 1e12:.2f} TB/s"
        print(line)
        del ours, theirs, ours_p, theirs_p


if __name__ == "__main__":
    main()
