"""The conversion core: Algorithm 1 of [CMO23] written once, against the Array API, for every shell.

[CMO23] A. Cutkosky, H. Mehta, F. Orabona, *Optimal Stochastic Non-smooth Non-convex Optimization through
Online-to-Non-convex Conversion*, ICML 2023 (arXiv 2302.03775).

- :mod:`o2nc.conversion.draw`: the counter-based s-draw, the same bits in numpy, torch and jax from one seed;
- :mod:`o2nc.conversion.scaling`: the scaling rule (s_n and the points x_n, w_n per scaling);
- :mod:`o2nc.conversion.epoch`: epoch sums, the epoch mean, the certificate, the exact radius and the path bound;
- :mod:`o2nc.conversion.step`: one step (propose, observe), epoch ends and restarts over a NamedTuple state.

``o2nc.minimize`` loops over it; ``o2nc.jax.o2nc`` and the batched runners jit/vmap it; ``o2nc.torch.O2NC`` draws s
and forms its coefficients and epoch statistics with it, and its fused kernels are tested against it.
"""
from __future__ import annotations

from o2nc.conversion import draw, epoch, scaling, step
from o2nc.conversion.scaling import SCALINGS, SHELLS, Scaling, resolve_scaling

__all__ = ["draw", "epoch", "scaling", "step", "Scaling", "resolve_scaling", "SCALINGS", "SHELLS"]
