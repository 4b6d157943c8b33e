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
import warnings

import torch

ABI = 3  # the calling convention of _cpu_kernels.c (its KERNELS_ABI)

try:
    from o2nc.torch import _cpu_kernels
except ImportError:  # built without a C compiler: the ATen path runs
    _cpu_kernels = None
if _cpu_kernels is not None and getattr(_cpu_kernels, "ABI", None) != ABI:
    warnings.warn(f"o2nc.torch._cpu_kernels was built from another version of its source (ABI "
                  f"{getattr(_cpu_kernels, 'ABI', None)}, expected {ABI}); the torch optimizer uses its ATen path "
                  "until the package is reinstalled", RuntimeWarning, stacklevel=2)
    _cpu_kernels = None

__all__ = ["available", "fits", "products", "descent_step", "kt_step"]

ENABLED = os.environ.get("O2NC_NATIVE", "1") != "0"
_CODES = {torch.float32: 0, torch.float64: 1}
PLAIN_TYPES = (torch.Tensor, torch.nn.Parameter)  # not a subclass: its data pointer is its own storage


def available() -> bool:
    """Whether the fused CPU sweeps are built and switched on."""
    return ENABLED and _cpu_kernels is not None


def fits(*lists) -> bool:
    """Whether the sweeps can run on these lists of tensors (None entries of ``lists`` are skipped): all plain tensors
    (``torch.Tensor`` or ``nn.Parameter``, not a subclass, whose data pointer may be no storage of its own, nor a
    lazily negated view), contiguous, on the CPU, of one dtype float32 or float64, of equal sizes across the lists;
    the first list's not inference tensors (an in-place write to one raises on the ATen path). Whether their memory
    overlaps is checked by the sweeps themselves."""
    if not available():
        return False
    present = [ts for ts in lists if ts is not None]
    if not present or not present[0]:
        return False
    first = present[0]
    dtype = first[0].dtype
    if dtype not in _CODES:
        return False
    sizes = [t.numel() for t in first]
    for ts in present:
        if len(ts) != len(sizes):
            return False
        for t in ts:
            if type(t) not in PLAIN_TYPES or t.dtype is not dtype or not t.is_cpu or not t.is_contiguous() \
                    or t.is_neg():
                return False
        if ts is not first and [t.numel() for t in ts] != sizes:
            return False
    return not any(t.is_inference() for t in first) or torch.is_inference_mode_enabled()


def _ptrs(ts) -> list[int] | None:
    return None if ts is None else [t.data_ptr() for t in ts]


def _float(x) -> float:
    return float(x) if x is not None else 1.0


def products(grads: list[torch.Tensor], deltas: list[torch.Tensor] | None) -> tuple[float, float, float]:
    """(‖g‖², ‖Δ‖², ⟨Δ, g⟩) over the lists, as Python floats summed in double precision from chunks summed in the
    dtype (‖Δ‖² and ⟨Δ, g⟩ are 0.0 without ``deltas``)."""
    sizes = [g.numel() for g in grads]
    return _cpu_kernels.products(_CODES[grads[0].dtype], sizes, _ptrs(grads), _ptrs(deltas), torch.get_num_threads())


def product_tensors(grads: list[torch.Tensor], deltas: list[torch.Tensor] | None) -> tuple:
    """:func:`products` as 0-d tensors of the gradients' dtype, as the ATen path returns them (a double sum beyond
    the dtype's range becomes inf there too)."""
    dtype = grads[0].dtype
    return tuple(torch.tensor(v, dtype=dtype) for v in products(grads, deltas))


def descent_step(params, deltas, grads, lag, step, factor, coef, sums=None, want_sq=False) -> float | None:
    """x_n = w_n + lag·Δ_n, Δ_{n+1} = (Δ_n − ηg_n)·factor, w_{n+1} = x_n + coef·Δ_{n+1} in place (``factor`` None
    for 1), with ``sums`` = (Σw, Σg) lists also Σw += w_n, Σg += g_n; returns Σ Δ_{n+1}² (with ``want_sq``, else
    0.0), summed in double precision from chunks summed in the dtype (inf where those overflow). None, and nothing
    written, where two of the tensors share memory (a gradient that is a view of its parameter): the caller takes the
    ATen path."""
    sw, sg = sums if sums is not None else (None, None)
    total = _cpu_kernels.ogd_step(
        _CODES[params[0].dtype], [p.numel() for p in params], _ptrs(params), _ptrs(deltas), _ptrs(grads), _ptrs(sw),
        _ptrs(sg), float(lag), float(step), _float(factor), float(coef), int(want_sq), torch.get_num_threads())
    if total is not None:
        _bump(params, deltas, sw, sg)
    return total


def kt_step(learner, per, count, params, grads, lag, coef, sums=None, want_sq=False) -> float | None:
    """KT's step (``online_learners.betting``'s multi-tensor kernel, fused): the bet β_n = X·W/(t+1) (t = ``count``
    before the update), x_n = w_n + lag·β_n, the coin from g_n, X and W updated, w_{n+1} = x_n + coef·X·W/(t+2); with
    ``sums`` also Σw += w_n, Σg += g_n. Returns Σ β_{n+1}² (with ``want_sq``, else 0.0), or None as
    :func:`descent_step`."""
    t = float(count)
    scales = per.get("scale")
    if scales is None:  # the clipped coin a·clip(g, −G, G), a = −1/G (_kt_clipped_coins)
        bound = float(learner.lipschitz)
        a = -1.0 / bound
    else:  # the scale-free coin −g/h (_kt_scale_free_coins)
        bound, a = 0.0, 1.0
    coef = float(coef)
    sw, sg = sums if sums is not None else (None, None)
    total = _cpu_kernels.kt_step(
        _CODES[params[0].dtype], [p.numel() for p in params], _ptrs(params), _ptrs(per["coin_sum"]),
        _ptrs(per["wealth"]), _ptrs(scales), _ptrs(grads), _ptrs(sw), _ptrs(sg), float(lag), 1.0 / (t + 1.0), bound,
        a, coef, 1.0 / (t + 2.0), coef / (t + 2.0), int(want_sq), torch.get_num_threads())
    if total is not None:
        _bump(params, per["coin_sum"], per["wealth"], scales, sw, sg)
    return total


def _bump(*lists) -> None:
    """The version counters of the written tensors, as an in-place ATen operation bumps them."""
    torch.autograd.graph.increment_version([t for ts in lists if ts is not None for t in ts])


def norm_from_squares(total: float, dtype: torch.dtype) -> torch.Tensor | None:
    """√total as a 0-d tensor of ``dtype``, or None where the sum is not finite (a square overflowed in the dtype's
    chunks: the caller takes the norm another way)."""
    if not math.isfinite(total):
        return None
    return torch.tensor(math.sqrt(total), dtype=dtype)
