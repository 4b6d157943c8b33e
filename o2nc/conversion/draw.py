"""The s-draw: a counter-based random number s_n = S(seed, n) that numpy, torch and jax compute bit for bit alike.

A shell never carries a generator: s_n is a pure function of the integer seed and the step counter n (0-based, the
scalar of step n + 1), as in counter-based generators (Salmon, Moraes, Dror, Shaw, *Parallel random numbers: as easy
as 1, 2, 3*, SC 2011). The function is built from the 32-bit finalizer of MurmurHash3 (Appleby, ``fmix32``), a
bijection of 32-bit words that mixes every input bit into every output bit:

    fmix32(h):  h ^= h >> 16;  h *= 0x85EBCA6B;  h ^= h >> 13;  h *= 0xC2B2AE35;  h ^= h >> 16   (mod 2^32)

    key (K0, K1) from the seed (< 2^64, split into 32-bit halves lo, hi):
        K0 = fmix32(lo ^ fmix32(hi + 0x9E3779B9)),   K1 = fmix32(K0 + 0x7F4A7C15)
    word j of step n:  H_j(n) = fmix32(fmix32((2n + j) ^ K0) ^ K1),   j ∈ {0, 1}

    u_n = ⌊H_0/2^8⌋ · 2^-24                            for float32 (and narrower) runs: 24 bits, exact in float32
    u_n = (⌊H_0/2^5⌋ · 2^26 + ⌊H_1/2^6⌋) · 2^-53          for float64 runs: 53 bits, exact in float64

so u_n ∈ [0, 1) and the float64 u_n agrees with the float32 one in its first 24 bits. Exponential draws are
s_n = −log(1 − u_n) = −log1p(−u_n) (inversion; Devroye, *Non-Uniform Random Variate Generation*, 1986, §II.2).

Every word operation is written with ``^ >> * &`` on integers, so one function serves Python ints (exact), numpy and
jax ``uint32`` arrays (multiplication wraps mod 2^32) and torch ``int64`` tensors (no unsigned 32-bit arithmetic: the
product of two 32-bit words wraps mod 2^64 and ``& 0xFFFFFFFF`` keeps its low 32 bits, the uint32 product). The
counter 2n + j wraps after 2^31 steps.

Example:
    >>> import numpy as np
    >>> key = seed_key(7)
    >>> u = uniform(key, np.arange(3, dtype=np.uint32), 53)
    >>> bool(np.all((0 <= u) & (u < 1))), uniform(key, 1, 53) == float(u[1])
    (True, True)
"""
from __future__ import annotations

import math
import numbers

import array_api_compat

__all__ = ["MASK", "fmix32", "seed_key", "check_seed", "words", "uniform", "exponential", "bits_for"]

MASK = 0xFFFFFFFF


def _mul(h, c: int):
    """h·c mod 2^32 for a 32-bit word h (Python int, uint32 array, or int64 tensor) and a constant c < 2^32."""
    if isinstance(h, numbers.Integral):
        return (h * c) & MASK
    xp = array_api_compat.array_namespace(h)
    if h.dtype == xp.uint32:  # wraps mod 2^32 by itself
        return h * xp.asarray(c, dtype=h.dtype)
    return (h * c) & MASK  # int64: the product wraps mod 2^64, its low 32 bits are the uint32 product


def _xor(h, k: int):
    if isinstance(h, numbers.Integral):
        return h ^ k
    xp = array_api_compat.array_namespace(h)
    return h ^ xp.asarray(k, dtype=h.dtype)


def fmix32(h):
    """MurmurHash3's 32-bit finalizer (Appleby) on a Python int, a uint32 array or an int64 tensor in [0, 2^32)."""
    h = h ^ (h >> 16)
    h = _mul(h, 0x85EBCA6B)
    h = h ^ (h >> 13)
    h = _mul(h, 0xC2B2AE35)
    return h ^ (h >> 16)


def check_seed(seed, name: str = "seed") -> int:
    """The seed as a Python int in [0, 2^64); a bool, a float, a string or a negative number is refused.

    numpy integer scalars are accepted. Raises TypeError (not an integer) or ValueError (out of range), naming
    ``name``.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer in [0, 2**64), got {seed!r}")
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"`{name}` must be an integer in [0, 2**64), got {seed}")
    return seed


def seed_key(seed) -> tuple:
    """(K0, K1), the two 32-bit key words of ``seed`` (Python ints)."""
    seed = check_seed(seed)
    lo, hi = seed & MASK, seed >> 32
    k0 = fmix32(lo ^ fmix32((hi + 0x9E3779B9) & MASK))
    return k0, fmix32((k0 + 0x7F4A7C15) & MASK)


def words(key, counter):
    """H_j = fmix32(fmix32(counter ^ K0) ^ K1): one 32-bit word per counter value (same type as ``counter``)."""
    k0, k1 = key
    return fmix32(_xor(fmix32(_xor(counter, k0)), k1))


def bits_for(dtype_bits: int) -> int:
    """Bits of u: 53 for a float64 run, 24 otherwise (float32, and the float32 s of bfloat16/float16 runs)."""
    return 53 if dtype_bits >= 64 else 24


def _to_float(xp, h, dtype):
    if xp is None:
        return float(h)
    return xp.astype(h, dtype)


def uniform(key, n, bits: int, dtype=None):
    """u_n ∈ [0, 1) for the step counters ``n`` (module docstring), with ``bits`` ∈ {24, 53}.

    ``n`` a Python int: a Python float is returned. Otherwise ``n`` is an integer array (uint32 for numpy and jax,
    int64 for torch) and the result is an array of its namespace with ``dtype`` (default float64 for 53 bits,
    float32 for 24).
    """
    if bits not in (24, 53):
        raise ValueError(f"`bits` must be 24 or 53, got {bits!r}")
    xp = None if isinstance(n, numbers.Integral) else array_api_compat.array_namespace(n)
    if xp is not None and dtype is None:
        dtype = xp.float64 if bits == 53 else xp.float32
    if xp is not None and n.ndim == 0:  # numpy turns 0-d results into scalars, whose wrapping products warn
        return uniform(key, xp.reshape(n, (1,)), bits, dtype)[0]
    c = _mul(n, 2)
    h0 = words(key, c)
    if bits == 24:
        return _to_float(xp, h0 >> 8, dtype) * 2.0**-24
    h1 = words(key, c + 1)  # c is even: c + 1 < 2^32
    return (_to_float(xp, h0 >> 5, dtype) * 2.0**26 + _to_float(xp, h1 >> 6, dtype)) * 2.0**-53


def exponential(u):
    """s = −log1p(−u) ~ Exp(1) for u ~ U[0, 1) (inversion); finite since u < 1. A Python float or an array."""
    if isinstance(u, float):
        return -math.log1p(-u)
    return -array_api_compat.array_namespace(u).log1p(-u)
