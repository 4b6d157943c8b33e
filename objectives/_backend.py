"""Backend helpers: one code path for numpy, torch and jax arrays (Array API through array-api-compat)."""
from __future__ import annotations

import array_api_compat as aac
import numpy as np


def namespace(x):
    """The Array API namespace of ``x``; a TypeError names the accepted array types."""
    try:
        return aac.array_namespace(x)
    except TypeError as exc:  # pragma: no cover - message only
        raise TypeError(
            f"expected a numpy, torch or jax array, got {type(x).__name__}") from exc


def is_tracer(x) -> bool:
    """True for an abstract jax value (inside jit/vmap/grad): such values must never be cached."""
    return type(x).__name__.endswith("Tracer")


def device_of(x):
    """The device of ``x`` or None where it has none (numpy, jax tracers)."""
    if is_tracer(x):
        return None
    try:
        return aac.device(x)
    except Exception:  # pragma: no cover - exotic arrays
        return None


def backend_key(xp, x) -> tuple:
    """Cache key for constants converted for the backend, dtype and device of ``x``."""
    return (xp.__name__, str(x.dtype), str(device_of(x)))


def asarray_like(xp, value, like, dtype=None):
    """``value`` (numpy data or a Python scalar) as an array of ``like``'s backend, device and float dtype."""
    dev = device_of(like)
    dt = like.dtype if dtype is None else dtype
    if dev is None or aac.is_numpy_namespace(xp):
        return xp.asarray(value, dtype=dt)
    return xp.asarray(value, dtype=dt, device=dev)


def index_array(xp, idx, like):
    """Integer indices (numpy) as an index array for ``like``'s backend and device."""
    return asarray_like(xp, np.asarray(idx, dtype=np.int64), like, dtype=xp.int64)


def erf(xp, x):
    """The error function for any supported backend (not part of the Array API standard)."""
    if aac.is_numpy_namespace(xp):
        from scipy.special import erf as _erf
        return np.asarray(_erf(x))
    if aac.is_torch_namespace(xp):
        import torch
        return torch.special.erf(x)
    if aac.is_jax_namespace(xp):
        import jax.scipy.special as jss
        return jss.erf(x)
    raise NotImplementedError(f"erf is not available for namespace {xp.__name__}")


def to_numpy(x) -> np.ndarray:
    """A float64 numpy copy of any supported array (moves torch tensors to the host)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu()
    return np.asarray(x, dtype=np.float64)


def select_rows(xp, values, rows):
    """A Clarke subgradient of ``max_k f_k`` from the piece values ``values`` (k,) and gradients ``rows`` (k, n).

    Returns the mean of the rows whose value attains the maximum: for a pointwise maximum of smooth pieces the
    Clarke subdifferential is the convex hull of the active gradients, so any average of them is an element.
    """
    return max_weights(xp, values) @ rows


def max_weights(xp, values, axis=None):
    """Uniform weights over the maximisers of ``values`` (along ``axis``; all of it by default), summing to 1: the
    averaging behind every Clarke subgradient of a pointwise maximum in the bank (:func:`select_rows`).

    Some value attains the maximum unless the values hold a NaN; then the weights are NaN, as ``0/0`` would make them,
    but without its floating-point warning (the count is replaced by NaN before the division), so a gradient at a NaN
    point stays NaN for the conversion's finiteness check."""
    w = xp.astype(values == xp.max(values, axis=axis, keepdims=True), values.dtype)
    count = xp.sum(w, axis=axis, keepdims=True)
    return w / nan_unless(xp, count > 0, count)


def nan_unless(xp, ok, out):
    """``out`` where the boolean ``ok`` holds (broadcast against ``out``) and NaN elsewhere, in ``out``'s dtype.

    The guard of the bank at a non-finite point: an oracle whose branch selection turns a NaN or ±inf coordinate into
    a finite answer (a comparison with NaN is False, ``clip`` and ``sign`` saturate at ±inf, an eigensolver refuses
    the matrix) passes ``ok = xp.isfinite(...)`` of the quantity it branches on, so the non-finite input reaches the
    output as NaN, as plain arithmetic would carry it. Where ``ok`` holds, ``out`` is returned unchanged (a select,
    no arithmetic: results at finite points are bit-identical), and no floating-point warning is raised."""
    return xp.where(ok, out, xp.nan)  # a Python scalar takes out's dtype (no full array of NaN is built)


def nan_where_x_nonfinite(g):
    """The gradient oracle ``g(xp, x, d)`` with NaN in the coordinates where ``x`` is NaN or ±inf (:func:`nan_unless`).

    For the objectives whose gradient would otherwise be finite there: a sign or a selected branch saturates at ±inf
    (``sign(±inf) = ±1``, the maximisers' weights of an infinite value), a comparison with NaN is False, or a partial
    derivative does not involve the coordinate itself (``∂/∂x_i Σ_j x_j = 1``)."""

    def guarded(xp, x, d):
        return nan_unless(xp, xp.isfinite(x), g(xp, x, d))

    return guarded


def shift_add(xp, gu, gv):
    """Gradient of a chained sum ``Σ_i h(x_i, x_{i+1})`` from the partials ``gu = ∂h/∂u`` and ``gv = ∂h/∂v``.

    Returns the length-n vector ``[gu, 0] + [0, gv]``, i.e. scatters both halves without in-place updates.
    """
    z = xp.zeros_like(gu[:1])
    return xp.concat([gu, z]) + xp.concat([z, gv])
