"""Backends for the parity tests: numpy, torch and jax in float64."""
from __future__ import annotations

import numpy as np

BACKENDS = ("numpy", "torch", "jax")


def to_backend(array, backend: str):
    """A float64 copy of a numpy array on ``backend``."""
    array = np.asarray(array, dtype=np.float64)
    if backend == "numpy":
        return array.copy()
    if backend == "torch":
        import torch

        return torch.asarray(array.copy(), dtype=torch.float64)
    if backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        return jnp.asarray(array, dtype=jnp.float64)
    raise ValueError(backend)


def to_numpy(array):
    """A numpy copy of a backend array (torch tensors are detached first)."""
    if hasattr(array, "detach"):
        array = array.detach().cpu()
    return np.asarray(array, dtype=np.float64)


def max_rel_diff(a, b) -> float:
    a, b = to_numpy(a), to_numpy(b)
    scale = max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300)
    return float(np.max(np.abs(a - b)) / scale)
