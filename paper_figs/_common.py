"""Shared pieces of the figure scripts: style, the cached results store, and writing a figure with its data.

Every figure reads its numbers from a results store (SQLite, :class:`o2nc.experiments.Store`) keyed by the hash of
each computation's full configuration. :func:`cached` computes what is missing and stores it before returning, so an
interrupted regeneration resumes where it stopped and a second regeneration computes nothing.
"""
from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from o2nc.experiments import Store, config_key  # noqa: E402
from o2nc.plotting import PALETTE  # noqa: E402

HERE = Path(__file__).resolve().parent

#: matplotlib settings shared by every figure: readable at single-column width (3.4 in), mathtext only.
STYLE = {
    "figure.figsize": (3.4, 2.6),
    "figure.dpi": 150,
    "savefig.dpi": 200,
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 6.5,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "axes.prop_cycle": matplotlib.cycler(color=list(PALETTE)),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "text.usetex": False,
}
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def cache_dir() -> Path:
    """Where the results stores live: ``$O2NC_FIGS_CACHE`` when set (``o2nc figs`` sets it outside a source
    checkout), else ``paper_figs/cache/``."""
    return Path(os.environ.get("O2NC_FIGS_CACHE", HERE / "cache"))


def store(quick: bool) -> Store:
    """The figures' results store: ``quick.db`` or ``full.db`` in :func:`cache_dir`."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    return Store(cache / ("quick.db" if quick else "full.db"))


def cached(db: Store, config: Mapping[str, Any], compute: Callable[[], Any]) -> Any:
    """The stored result of ``config``, computing and storing it first when missing (JSON-serialisable)."""
    config = dict(config)
    key = config_key(config)
    row = db.get(key)
    if row is not None and row.get("status") == "done":
        return row["result"]
    start = time.perf_counter()
    result = compute()
    json.dumps(result, allow_nan=False)  # NaN/inf must be stored as None (see `finite`), never silently
    db.put(key, config, "done", result=result, wall=time.perf_counter() - start)
    return result


def finite(value) -> float | None:
    """A float for JSON (None for nan/inf)."""
    value = float(value)
    return value if math.isfinite(value) else None


def save(fig, name: str, out: Path, *, data: Mapping[str, Any], caption: str) -> list[Path]:
    """Write ``name``.png, .pdf, .json (the plotted numbers) and .txt (the caption) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.pdf", out / f"{name}.json", out / f"{name}.txt"]
    fig.savefig(paths[0])
    fig.savefig(paths[1])
    plt.close(fig)
    paths[2].write_text(json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n")
    paths[3].write_text(caption.strip() + "\n")
    return paths


def fit_text(fit, theory: float | None = None) -> str:
    """'−1.98 [−2.05, −1.91]' (and the theory value) for a fitted exponent with its 95% interval."""
    text = f"{fit.exponent:.2f} [{fit.ci_low[0]:.2f}, {fit.ci_high[0]:.2f}]"
    return text if theory is None else f"{text} (theory {theory:g})"


def new_figure(**kwargs):
    plt.rcParams.update(STYLE)
    return plt.subplots(constrained_layout=True, **kwargs)
