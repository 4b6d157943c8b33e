"""Plots of a run: certificate and radius against gradient calls (matplotlib, Agg, mathtext only)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_run"]

# Okabe–Ito, a colour-blind-safe palette.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")


def plot_run(grad_calls, certificate, radius, path, *, title: str = "", delta: float | None = None) -> Path:
    """Write a two-panel PNG (or PDF, by suffix): ‖ĝ_k‖ and r_k per epoch against cumulative gradient calls."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    calls = np.asarray(grad_calls, dtype=float)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.0, 5.0), sharex=True, constrained_layout=True)
    top.plot(calls, np.asarray(certificate, dtype=float), color=PALETTE[0], marker=".", lw=1.2,
             label=r"epoch certificate $\|\hat g_k\|$")
    top.plot(calls, np.minimum.accumulate(np.asarray(certificate, dtype=float)), color=PALETTE[1], lw=1.5,
             ls="--", label="best so far")
    top.set_yscale("log")
    top.set_ylabel(r"certificate $\|\hat g_k\|$")
    top.legend(frameon=False)
    bottom.plot(calls, np.asarray(radius, dtype=float), color=PALETTE[2], marker=".", lw=1.2,
                label=r"epoch radius $r_k$")
    if delta is not None:
        bottom.axhline(delta, color="0.4", ls=":", lw=1.0, label=r"$\delta$")
    bottom.set_yscale("log")
    bottom.set_xlabel("gradient calls")
    bottom.set_ylabel(r"radius $r_k = \max_t \|w_t^k - \bar w_k\|$")
    bottom.legend(frameon=False)
    if title:
        top.set_title(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
