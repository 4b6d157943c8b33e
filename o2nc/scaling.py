"""Random scalings of the learner's increment: where the conversion queries the gradient.

The rule lives in the conversion core, :mod:`o2nc.conversion.scaling` (the table of s_n, x_n and w_n per scaling,
[CMO23] Algorithm 1 and §3); this module keeps the names ``o2nc.scaling.Scaling``, ``resolve_scaling`` and
``SCALINGS`` importable.
"""
from __future__ import annotations

from o2nc.conversion.scaling import SCALINGS, SHELLS, Scaling, resolve_scaling

__all__ = ["Scaling", "resolve_scaling", "SCALINGS", "SHELLS"]
