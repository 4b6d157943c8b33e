"""The fused CPU sweeps of :class:`o2nc.torch.O2NC` (the C extension ``o2nc.torch._cpu_kernels``, source
``o2nc/torch/_cpu_kernels.c``): a projected-descent step (OGD, AdaGrad-norm) or a KT step in one read-and-write pass
per parameter tensor, and the step's inner products in one read-only pass, where the ATen path of
:mod:`o2nc.torch._fast` makes four to six passes per block. Each element gets the ATen path's arithmetic, operation
for operation; ``tests/test_torch_native.py`` holds them to it and to the core learners.

They run where every tensor of the step is a contiguous CPU tensor of one dtype, float32 or float64, and the learner's
declared kernel names its sweep (``MultiTensorKernel.fused``); elsewhere the ATen path runs. The extension is optional:
built at install time where a C compiler is found (``setup.py``). :func:`available` says whether it is loaded; the
environment variable ``O2NC_NATIVE=0``, read at import, turns it off.

The sweeps write through data pointers, which torch's autograd does not see: the version counters of the tensors they
write are bumped (:func:`torch.autograd.graph.increment_version`), as an in-place ATen operation does.
"""
from __future__ import annotations

import math
import os

import torch

try:
    from o2nc.torch import _cpu_kernels
except ImportError:  # built without a C compiler: the ATen path runs
    _cpu_kernels = None

__all__ = ["available", "fits", "products", "descent_step", "kt_step"]

ENABLED = os.environ.get("O2NC_NATIVE", "1") != "0"
_CODES = {torch.float32: 0, torch.float64: 1}


def available() -> bool:
    """Whether the fused CPU sweeps are built and switched on."""
    return ENABLED and _cpu_kernels is not None


def fits(*lists) -> bool:
    """Whether the sweeps can run on these lists of tensors (None entries of ``lists`` are skipped): all contiguous,
    on the CPU, of one dtype float32 or float64, of equal sizes across the lists."""
    if not available():
        return False
    first = next((ts for ts in lists if ts is not None), None)
    if not first:
        return False
    dtype = first[0].dtype
    if dtype not in _CODES:
        return False
    for ts in lists:
        if ts is None:
            continue
        if len(ts) != len(first):
            return False
        for t, ref in zip(ts, first):
            if t.dtype != dtype or t.device.type != "cpu" or not t.is_contiguous() or t.numel() != ref.numel():
                return False
    return True


def _ptr(t: torch.Tensor | None) -> int:
    return 0 if t is None else t.data_ptr()


def _float(x) -> float:
    return float(x) if x is not None else 1.0


def products(grads: list[torch.Tensor], deltas: list[torch.Tensor] | None) -> tuple[float, float, float]:
    """(‖g‖², ‖Δ‖², ⟨Δ, g⟩) over the lists, as Python floats summed in double precision (‖Δ‖² and ⟨Δ, g⟩ are 0.0
    without ``deltas``)."""
    code, threads = _CODES[grads[0].dtype], torch.get_num_threads()
    gg = dd = dg = 0.0
    for i, g in enumerate(grads):
        n = g.numel()
        if n:
            a, b, c = _cpu_kernels.products(code, g.data_ptr(), _ptr(deltas[i]) if deltas is not None else 0, n,
                                            threads)
            gg, dd, dg = gg + a, dd + b, dg + c
    return gg, dd, dg


def descent_step(params, deltas, grads, lag, step, factor, coef, sums=None, want_sq=False) -> float:
    """x_n = w_n + lag·Δ_n, Δ_{n+1} = (Δ_n − ηg_n)·factor, w_{n+1} = x_n + coef·Δ_{n+1} in place (``factor`` None
    for 1), with ``sums`` = (Σw, Σg) lists also Σw += w_n, Σg += g_n; returns Σ Δ_{n+1}² (with ``want_sq``, else
    0.0), summed in double precision from chunks summed in the dtype (inf where those overflow)."""
    code, threads = _CODES[params[0].dtype], torch.get_num_threads()
    lag, step, factor, coef = float(lag), float(step), _float(factor), float(coef)
    total = 0.0
    for i, p in enumerate(params):
        n = p.numel()
        if n:
            sw, sg = (sums[0][i], sums[1][i]) if sums is not None else (None, None)
            total += _cpu_kernels.ogd_step(code, p.data_ptr(), deltas[i].data_ptr(), grads[i].data_ptr(), _ptr(sw),
                                           _ptr(sg), n, lag, step, factor, coef, int(want_sq), threads)
    _bump(params, deltas, sums)
    return total


def kt_step(learner, per, count, params, grads, lag, coef, sums=None, want_sq=False) -> float:
    """KT's step (``online_learners.betting``'s multi-tensor kernel, fused): the bet β_n = X·W/(t+1) (t = ``count``
    before the update), x_n = w_n + lag·β_n, the coin from g_n, X and W updated, w_{n+1} = x_n + coef·X·W/(t+2); with
    ``sums`` also Σw += w_n, Σg += g_n. Returns Σ β_{n+1}² (with ``want_sq``, else 0.0)."""
    code, threads = _CODES[params[0].dtype], torch.get_num_threads()
    t = float(count)
    inv_now, inv_next = 1.0 / (t + 1.0), 1.0 / (t + 2.0)
    scales = per.get("scale")
    if scales is None:
        bound = float(learner.lipschitz)
        a = -1.0 / bound
    else:
        bound, a = 0.0, 1.0
    lag, coef = float(lag), float(coef)
    next_value = coef / (t + 2.0)
    coin_sums, wealths = per["coin_sum"], per["wealth"]
    total = 0.0
    for i, p in enumerate(params):
        n = p.numel()
        if n:
            sw, sg = (sums[0][i], sums[1][i]) if sums is not None else (None, None)
            total += _cpu_kernels.kt_step(
                code, p.data_ptr(), coin_sums[i].data_ptr(), wealths[i].data_ptr(),
                _ptr(scales[i]) if scales is not None else 0, grads[i].data_ptr(), _ptr(sw), _ptr(sg), n, lag,
                inv_now, bound, a, coef, inv_next, next_value, int(want_sq), threads)
    _bump(params, coin_sums, wealths, scales, sums)
    return total


def _bump(*lists) -> None:
    """The version counters of the written tensors, as an in-place ATen operation bumps them."""
    written = []
    for ts in lists:
        if ts is None:
            continue
        if isinstance(ts, tuple):
            for sub in ts:
                written.extend(sub)
        else:
            written.extend(ts)
    torch.autograd.graph.increment_version(written)


def norm_from_squares(total: float, dtype: torch.dtype) -> torch.Tensor | None:
    """√total as a 0-d tensor of ``dtype``, or None where the sum is not finite (a square overflowed in the dtype's
    chunks: the caller takes the norm another way)."""
    if not math.isfinite(total):
        return None
    return torch.tensor(math.sqrt(total), dtype=dtype)
