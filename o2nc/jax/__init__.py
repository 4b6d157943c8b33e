"""JAX/optax shell of the online-to-non-convex conversion: ``o2nc.jax.o2nc`` and its eval-point accessor, and
``o2nc.jax.certify``, the Goldstein certificate of a params pytree.

Import it explicitly (``import o2nc.jax``); ``import o2nc`` alone never imports jax.
"""
from __future__ import annotations

from o2nc.jax.certify import certify
from o2nc.jax.transform import O2NCState, find_o2nc_state, o2nc, o2nc_diagnostics, o2nc_eval_params

__all__ = ["o2nc", "O2NCState", "o2nc_eval_params", "o2nc_diagnostics", "find_o2nc_state", "certify"]
