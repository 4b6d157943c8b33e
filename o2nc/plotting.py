"""Plots of runs: certificate, radius and F against oracle calls (matplotlib, Agg, mathtext only)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_run", "plot_runs", "display_floor"]

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
    return _save(fig, path)


#: Certificates below this fraction of a curve's largest value are drawn at it (a log axis cannot show 0, and a
#: method that reaches ε = 1e-169 would flatten every other curve); the legend says so.
FLOOR_RATIO = 1e-12


def display_floor(*series) -> float:
    """The lowest certificate drawn: ``FLOOR_RATIO`` × the largest finite positive value of ``series``."""
    values = [np.asarray(v, dtype=float) for v in series]
    top = max((float(np.max(v[np.isfinite(v) & (v > 0)])) for v in values if np.any(np.isfinite(v) & (v > 0))),
              default=1.0)
    return top * FLOOR_RATIO


def plot_runs(runs, path, *, delta: float, title: str = "") -> Path:
    """Write the runs of :mod:`o2nc.methods` (``Run`` values) on one figure: their certificates (O2NC: each epoch's
    ‖ĝ_k‖ at r_k; a baseline: its running certificate where it has one) and the certificate of each returned point
    (a marker at the calls it was obtained), F against oracle calls, and O2NC's epoch radii r_k against δ."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_radius = any("radius" in r.trace for r in runs)
    panels = 3 if has_radius else 2
    fig, axes = plt.subplots(panels, 1, figsize=(6.4, 2.4 * panels + 0.6), sharex=True, constrained_layout=True)
    top, middle = axes[0], axes[1]
    finals = [r.epsilon for r in runs]
    floor = display_floor(*[r.trace["certificate"] for r in runs], finals)
    clipped = False
    for i, r in enumerate(runs):
        color = PALETTE[i % len(PALETTE)]
        label = "O2NC" if r.method == "o2nc" else r.method
        calls = np.asarray(r.trace["calls"], dtype=float)
        cert = np.asarray(r.trace["certificate"], dtype=float)
        ok = np.isfinite(cert)
        if ok.any():
            what = r"epoch certificate $\|\hat g_k\|$" if "radius" in r.trace else "running certificate"
            clipped |= bool(np.any(cert[ok] < floor))
            top.plot(calls[ok], np.maximum(cert[ok], floor), color=color, lw=1.2,
                     marker="." if ok.sum() < 200 else None, label=f"{label}: {what}")
        if r.certificate is not None:
            eps = float(r.certificate.epsilon)
            clipped |= eps < floor
            # a certificate computed after the run (certificate_source "goldstein") counts its own cost in `calls`:
            # it belongs at the end of the run
            end = float(calls[-1]) if calls.size else 0.0
            at = end if r.certificate_source == "goldstein" or not r.certificate.calls else float(r.certificate.calls)
            top.plot([at], [max(eps, floor)], ls="none", marker="*", ms=13, color=color, mec="black", mew=0.6,
                     label=f"{label}: returned point, ε = {eps:.3g}", zorder=5)
        value = np.asarray(r.trace["value"], dtype=float)
        fin = np.isfinite(value)
        if fin.any():
            middle.plot(calls[fin], value[fin], color=color, lw=1.2, label=label)
        if has_radius and "radius" in r.trace:
            axes[2].plot(calls, np.asarray(r.trace["radius"], dtype=float), color=color, marker=".", lw=1.2,
                         label=rf"{label}: epoch radius $r_k$")
    top.set_yscale("log")
    top.set_ylabel("certificate ε")
    if clipped:
        top.axhline(floor, color="0.6", lw=0.8, ls=":", label=f"values below {floor:.1e} drawn at it")
    top.legend(frameon=False, fontsize=8)
    middle.set_ylabel("F")
    values = np.concatenate([np.asarray(r.trace["value"], dtype=float) for r in runs])
    values = values[np.isfinite(values)]
    if values.size and values.min() > 0 and values.max() / 100 > values.min():  # (100·min overflows near 1e308)
        middle.set_yscale("log")
    if middle.has_data():
        middle.legend(frameon=False, fontsize=8)
    else:
        middle.text(0.5, 0.5, "F was not evaluated", ha="center", va="center", transform=middle.transAxes)
    if has_radius:
        axes[2].axhline(delta, color="0.4", ls=":", lw=1.0, label=r"$\delta$")
        axes[2].set_yscale("log")
        axes[2].set_ylabel("radius")
        axes[2].legend(frameon=False, fontsize=8)
    axes[-1].set_xlabel("oracle calls")
    if title:
        top.set_title(title)
    return _save(fig, path)


def _save(fig, path) -> Path:
    """Write ``fig`` to ``path`` (PNG or PDF by suffix; the folder is created) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
