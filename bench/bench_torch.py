"""Benchmark: one ``o2nc.torch.O2NC`` step against ``torch.optim`` steps, as ratios measured in one process.

By default the configuration of [CMO23] (Cutkosky, Mehta, Orabona, ICML 2023, arXiv 2302.03775, Algorithm 1 and
Theorem 8): projected OGD of radius D = δ/T and step D/(G√T), restarted every epoch of T = 100 steps, with and
without the epoch averaging that gives each epoch's output point and certificate ‖ĝ_k‖ (the torch shell computes it
at every epoch end when ``averaging="epoch"``); beside it unconstrained OGD without epochs and KT. A model of
``--params`` float32 parameters split into ``--tensors`` tensors with fixed random gradients; steps of the two
optimizers of a row alternate (so slow phases of a shared machine hit both), ``--repeats`` steps each after three
warm-up steps (the default covers a whole epoch, its restart step included); the ratios of the medians, of the means
and of the fastest steps are reported (on a busy machine the fastest steps are the ones least disturbed).

Beside each ratio the *floor*: float32 words read + written per parameter per step, counted from the operations
(10M parameters are far larger than the caches, so memory traffic weighs most), and the ratio of the two floors:

* SGD(momentum): read p, g, m; write p, m: 5.  Adam: read p, g, m, v; write p, m, v: 7.
* O2NC(OGD) without a radius: the finiteness check reads g (1), the step reads w, Δ, g and writes w, Δ (5): 6.
* O2NC(OGD, radius D): the check's read of g also reads Δ for ⟨Δ, g⟩ and ‖Δ‖² (2), then 5: 7.
* with epoch averaging: the epoch sums Σw, Σg are read and written in the same sweep (4 more; ‖Δ_{n+1}‖ for the path
  comes from the projection where it acts, else from Δ_{n+1}'s squares in the sweep): 11.
* O2NC(KT): the check (1), then read w, g, X, W and write w, X, W (7): 8.

On the CPU the step runs the fused sweeps of ``o2nc.torch._native`` where the extension is built (``--sweeps fused``,
the default): one read-only pass for the products and one read-and-write pass per tensor for the whole update, so
each buffer crosses the memory bus once per pass, at the floor's count of words. ``--sweeps aten`` times the ATen
path instead (the blocked passes of ``o2nc.torch._fast``, what runs without a C compiler at install): per block
O2NC(OGD, radius D) makes 4 element-wise operations (x_n = w_n + lag·Δ_n; Δ − ηg; ·f with f = min(1, D/‖v‖),
skipped while f = 1; w_{n+1} = x_n + c·Δ_{n+1}), with epoch averaging 2 more, O2NC(KT) 6.

The reference is torch's multi-tensor step (``foreach=True``: SGD-momentum makes 3 passes over memory, Adam more), as
the targets were set; ``--peer fused`` times torch's own fused CPU kernels (``fused=True``) instead.

Usage: python bench/bench_torch.py [--params 10_000_000] [--tensors 50] [--repeats 100] [--device cpu|cuda]
                                   [--rows paper|all] [--clock wall|cpu] [--sweeps fused|aten] [--peer foreach|fused]
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import time

import torch

from o2nc.torch import O2NC, _native
from online_learners import KT, OGD

T = 100  # epoch length of the paper's configuration
DELTA = 0.1  # δ of the Goldstein (δ, ε)-stationarity sought: D = δ/T


def make_params(n, k, device):
    g = torch.Generator().manual_seed(0)
    size = n // k
    params = [torch.nn.Parameter(torch.randn(size, generator=g).to(device)) for _ in range(k)]
    for p in params:
        p.grad = torch.randn(size, generator=g).to(device) * 1e-3
    return params


def paper_ogd(params) -> OGD:
    """OGD with D = δ/T and η = D/(G√T), G = ‖g‖ of the benchmark's fixed gradients ([CMO23] Theorem 8)."""
    grad_norm = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in params))
    radius = DELTA / T
    return OGD(lr=radius / (grad_norm * math.sqrt(T)), radius=radius)


PEER = {"foreach": True}  # the keyword that picks torch's implementation: foreach=True, or fused=True (--peer)


def sgd(p):
    return torch.optim.SGD(p, lr=1e-3, momentum=0.9, **PEER)


def adam(p):
    return torch.optim.Adam(p, lr=1e-3, **PEER)


# (name, O2NC factory, reference factory, our words, the reference's words, in the default rows)
ROWS = [
    ("O2NC(OGD, radius D, restarts T=100) / SGD-momentum",
     lambda p: O2NC(p, learner=paper_ogd(p), epoch_length=T), sgd, 7, 5, True),
    ("O2NC(OGD, radius D, T=100, epoch averaging + certificate) / SGD-momentum",
     lambda p: O2NC(p, learner=paper_ogd(p), epoch_length=T, averaging="epoch"), sgd, 11, 5, True),
    ("O2NC(OGD, unconstrained, no epochs) / SGD-momentum",
     lambda p: O2NC(p, learner=OGD(lr=1e-3), epoch_length=10**9), sgd, 6, 5, True),
    ("O2NC(KT, T=100) / Adam", lambda p: O2NC(p, learner=KT(), epoch_length=T), adam, 8, 7, True),
    ("O2NC(OGD, radius D, no restarts) / SGD-momentum",
     lambda p: O2NC(p, learner=paper_ogd(p), epoch_length=10**9), sgd, 7, 5, False),
]


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def state_copies(opt, params):
    total = sum(p.numel() for p in params)
    held = sum(v.numel() for st in opt.state.values() for v in st.values()
               if isinstance(v, torch.Tensor) and v.numel() > 1)
    return held / total


def machine(device) -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    line = (f"{platform.platform()} {platform.machine()}; {os.cpu_count()} CPUs; load average "
            f"{' '.join(f'{v:.2f}' if isinstance(v, float) else v for v in load)}; torch {torch.__version__} with "
            f"{torch.get_num_threads()} threads; CPU sweeps: ")
    if _native.available():
        line += f"fused ({'OpenMP' if _native._cpu_kernels.openmp() else 'one thread'})"
    else:
        line += "ATen" + ("" if _native._cpu_kernels is not None else " (the extension is not built)")
    line += f"; reference: torch.optim with {next(iter(PEER))}=True"
    if device == "cuda":
        line += f"; {torch.cuda.get_device_name()}"
    return line


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", type=int, default=10_000_000)
    ap.add_argument("--tensors", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=T)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                    help="wall: perf_counter; cpu: the process's CPU time over all its threads (steadier on a "
                         "shared machine, where waiting for a core is not counted)")
    ap.add_argument("--rows", default="paper", choices=["paper", "all"],
                    help="paper: the configuration of [CMO23] and the unconstrained and KT rows; all: also without "
                         "restarts")
    ap.add_argument("--sweeps", default="fused", choices=["fused", "aten"],
                    help="fused: the C sweeps where built; aten: the blocked ATen passes")
    ap.add_argument("--peer", default="foreach", choices=["foreach", "fused"],
                    help="torch.optim's implementation to compare with")
    args = ap.parse_args()
    _native.ENABLED = args.sweeps == "fused"
    PEER.clear()
    PEER[args.peer] = True
    if args.repeats < 1 or args.params < args.tensors or args.tensors < 1:
        ap.error("need --repeats ≥ 1 and --params ≥ --tensors ≥ 1")
    dev = args.device
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    print(f"device={dev} params={args.params:,} tensors={args.tensors} repeats={args.repeats} (+3 warm-up) "
          f"clock={args.clock}")
    print(f"machine: {machine(dev)}")
    for name, make_ours, make_theirs, words, ref_words, default in ROWS:
        if not default and args.rows == "paper":
            continue
        ours_p = make_params(args.params, args.tensors, dev)
        theirs_p = make_params(args.params, args.tensors, dev)
        ours, theirs = make_ours(ours_p), make_theirs(theirs_p)
        times = {"ours": [], "theirs": []}
        for i in range(args.repeats + 3):
            for key, opt in (("ours", ours), ("theirs", theirs)):
                sync(dev)
                t0 = clock()
                opt.step()
                sync(dev)
                if i >= 3:
                    times[key].append(clock() - t0)
        a, b = statistics.median(times["ours"]), statistics.median(times["theirs"])
        mean_a, mean_b = statistics.fmean(times["ours"]), statistics.fmean(times["theirs"])
        min_a, min_b = min(times["ours"]), min(times["theirs"])
        line = (f"{name}: median {a * 1e3:.2f} ms / {b * 1e3:.2f} ms = {a / b:.2f}x (mean {mean_a / mean_b:.2f}x, "
                f"fastest {min_a / min_b:.2f}x); "
                f"floor {words} vs {ref_words} words = {words / ref_words:.2f}x; "
                f"state copies {state_copies(ours, ours_p):.2f} vs {state_copies(theirs, theirs_p):.2f}")
        if dev == "cuda":
            line += f"; reference bandwidth {ref_words * 4 * args.params / b / 1e12:.2f} TB/s"
        print(line, flush=True)
        del ours, theirs, ours_p, theirs_p


if __name__ == "__main__":
    main()
