"""Figure 9: a character-level transformer on the standard library's source — validation loss and certificates.

Left: validation loss (nats per character) at each method's output point against gradient steps, mean over seeds with
the band from the lowest to the highest seed, each method at the learning rate its tuning chose
(``examples/char_lm.py``: O2NC with the parameter-free learner untuned; O2NC(OGD), O2NC(DiscountedFTRL), AdamW, SGD
with momentum, schedule-free AdamW and Mechanic tuned on one grid by the loss on held-out files). Right: the sampled
Goldstein certificate ε of each trained model (seed 0) against the radius δ: ``o2nc.torch.certify``, the min-norm
element of the hull of exact gradients of a fixed training loss at points of the δ-ball — an upper bound on
dist(0, ∂_δ F) (Burke, Lewis, Overton, SIAM J. Optim. 15(3), 2005).

Full budgets read the committed results of ``examples/char_lm.py`` (``experiments/char_lm/full_*.json``, one file per
method, each written by ``python examples/char_lm.py --methods NAME --json ...``); ``--quick`` trains the example's
quick configuration (one seed, default learning rates) through the results store. ``python paper_figs/fig9_char_lm.py``
also writes the docs images ``docs/figures/char_lm_curves.png`` and ``docs/figures/char_lm_certificates.png``.
"""
from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
from _common import MARKERS, cached, new_figure, plt, save, store

NAME = "fig9_char_lm"
TITLE = "A character-level transformer: validation loss per method and the certificate ε(δ) of the trained models"
FULL_TIME = ("reads committed results (computing them took 67 minutes of wall time on a busy shared 2-core machine, "
             "one process per method)")
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "char_lm"
FREE = "o2nc-free"


def example():
    path = ROOT / "examples" / "char_lm.py"
    if not path.is_file():
        raise FileNotFoundError(f"{NAME} trains the network of examples/char_lm.py, which a source checkout has and "
                                f"an installed package does not ({path} is missing); run it from a clone")
    spec = importlib.util.spec_from_file_location("char_lm_example", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["char_lm_example"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def merge(parts: list) -> dict:
    """One results dict from per-method files of the same configuration and data (an error if they differ)."""
    if not parts:
        raise FileNotFoundError(f"no results in {RESULTS}: run examples/char_lm.py --json {RESULTS}/full_NAME.json")
    parts = [json.loads(json.dumps(part)) for part in parts]  # tuples of a fresh computation as stored: lists
    merged = {"config": parts[0]["config"], "data": parts[0]["data"], "methods": {}}
    for part in parts:
        if part["config"] != merged["config"] or part["data"] != merged["data"]:
            raise ValueError("results: the per-method files were computed with different configurations or data")
        merged["methods"].update(part["methods"])
    return merged


def full_results(folder: Path = RESULTS) -> dict:
    return merge([json.loads(p.read_text()) for p in sorted(folder.glob("full_*.json"))])


def quick_results() -> dict:
    """The example's quick configuration, one method per stored computation, on one torch thread (a model this
    small gains nothing from more, and on a busy machine the threads' spinning costs several times the work)."""
    import torch

    ex = example()
    db = store(True)
    parts = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name in ex.available():
            config = {"figure": NAME, "method": name, "config": repr(ex.QUICK)}
            parts.append(cached(db, config, lambda name=name: ex.compare(ex.QUICK, [name], log=lambda *a: None)))
    finally:
        torch.set_num_threads(threads)
    return merge(parts)


def parameters(cfg: dict) -> int:
    """The model's number of parameters (the dimension the certificate samples)."""
    ex = example()
    model = ex.CharTransformer(cfg["context"], cfg["d_model"], cfg["heads"], cfg["layers"])
    return sum(p.numel() for p in model.parameters())


def summary(results: dict) -> dict:
    """Per method: mean, sd, min, max of the validation loss over seeds; the tuned lr; the certificates."""
    out = {}
    for name, row in results["methods"].items():
        v = np.array(row["val_loss"], dtype=float)
        out[name] = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                     "min": float(v.min()), "max": float(v.max()), "seeds": len(v), "lr": row["tuned"]["lr"],
                     "tuned": len(row["tuned"]["grid"]) > 1,
                     "delta": [c["delta"] for c in row["certificates"]],
                     "ball": [c["ball"] for c in row["certificates"]],
                     "epsilon": [c["epsilon"] for c in row["certificates"]]}
    return out


def _evaluation(cfg: dict) -> str:
    """Which validation characters the curves and the final numbers use, when the results record it."""
    if "curve_chars" not in cfg or "val_chars" not in cfg:
        return ""
    return (f"The curves: validation loss on the first {cfg['curve_chars']:,} validation characters every "
            f"{cfg['eval_every']} steps; the final numbers on {cfg['val_chars']:,} characters. ")


def draw_curves(ax, results: dict) -> None:
    for i, (name, row) in enumerate(results["methods"].items()):
        steps = np.array(row["curves"][0]["step"])
        values = np.array([c["val_loss"] for c in row["curves"]], dtype=float)
        ax.plot(steps, values.mean(axis=0), marker=MARKERS[i % len(MARKERS)], markevery=max(1, len(steps) // 6),
                label=name, color=f"C{i}")
        ax.fill_between(steps, values.min(axis=0), values.max(axis=0), alpha=0.2, color=f"C{i}", lw=0)
    ax.set_xlabel("gradient steps")
    ax.set_ylabel("validation loss (nats/char)")
    finals = [np.mean(r["val_loss"]) for r in results["methods"].values()]
    first = [np.mean([c["val_loss"][1] for c in r["curves"]]) for r in results["methods"].values()
             if len(r["curves"][0]["val_loss"]) > 1]
    if finals and first:  # the early transient (ln 98 ≈ 4.6 at step 0) would flatten the end of the curves
        ax.set_ylim(min(finals) - 0.1, max(first) + 0.1)
    ax.legend(loc="upper right")


def draw_certificates(ax, results: dict) -> None:
    for i, (name, row) in enumerate(results["methods"].items()):
        certs = row["certificates"]
        if certs:
            ax.semilogx([c["ball"] for c in certs], [c["epsilon"] for c in certs], marker=MARKERS[i % len(MARKERS)],
                      label=name, color=f"C{i}")
    balls = sorted({c["ball"] for row in results["methods"].values() for c in row["certificates"]})
    if balls:
        ax.set_xlim(balls[0] / 2, balls[-1] * 2)
        ax.set_xticks(balls, [f"{b:g}" for b in balls])
        ax.minorticks_off()
    ax.set_xlabel(r"radius $\delta$ (every point used lies within it)")
    ax.set_ylabel(r"sampled certificate $\varepsilon$")


def caption(results: dict, stats: dict) -> str:
    cfg, data = results["config"], results["data"]
    rows = "; ".join(f"{n} {s['mean']:.4f} ± {s['sd']:.4f} (lr {s['lr']:.3g}{', tuned' if s['tuned'] else ''})"
                     for n, s in stats.items())
    text = (f"{TITLE}. Decoder-only transformer (width {cfg['d_model']}, {cfg['layers']} layers, {cfg['heads']} heads, "
            f"context {cfg['context']}), {cfg['steps']} steps of {cfg['batch']} windows, on "
            f"{len(data['train']['files'])} standard-library files of Python {data['python']}; "
            f"{len(cfg['seeds'])} seed(s), band = lowest to highest seed. {_evaluation(cfg)}"
            f"Validation loss (mean ± sd over seeds): {rows}.")
    tuned = {n: s for n, s in stats.items() if s["tuned"]}
    if FREE in stats and tuned:
        best = min(tuned, key=lambda n: tuned[n]["mean"])
        gap = stats[FREE]["mean"] - tuned[best]["mean"]
        text += (f" Parameter-free O2NC (untuned) {'trails' if gap > 0 else 'matches or beats'} the best tuned "
                 f"method, {best}, by {abs(gap):.4f} nats/char ({abs(gap) / tuned[best]['mean']:.1%}).")
    certs = {n: s for n, s in stats.items() if s["epsilon"]}
    if certs:
        balls = sorted({b for s in certs.values() for b in s["ball"]})
        parts = []
        for b in balls:
            eps = [s["epsilon"][s["ball"].index(b)] for s in certs.values() if b in s["ball"]]
            parts.append(f"δ = {b:g}: ε from {min(eps):.3g} to {max(eps):.3g}")
        text += (f" Certificates (seed 0, loss on {cfg['cert_windows']} fixed training windows, x and "
                 f"{cfg['cert_samples']} sampled points per ball, kind 'sampled one-sided'): " + "; ".join(parts)
                 + f". With so few points in d = {parameters(cfg):,} dimensions ε is a loose upper bound; it proves "
                 "(δ, ε) for the fixed loss, not for the population loss.")
    return text


def make(out: Path, quick: bool = False) -> list[Path]:
    results = quick_results() if quick else full_results()
    stats = summary(results)
    fig, (left, right) = new_figure(ncols=2, figsize=(6.8, 2.8))
    draw_curves(left, results)
    draw_certificates(right, results)
    data = {"config": results["config"], "python": results["data"]["python"], "methods": stats}
    if not all(math.isfinite(v) for s in stats.values() for v in (s["mean"], s["sd"])):
        raise ValueError("results: a method diverged at its chosen lr (non-finite validation loss)")
    return save(fig, NAME, out, data=data, caption=caption(results, stats))


def docs_images(results: dict, folder: Path = ROOT / "docs" / "figures") -> list[Path]:
    """``char_lm_curves.png`` and ``char_lm_certificates.png`` for docs/networks.md."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, draw in (("char_lm_curves", draw_curves), ("char_lm_certificates", draw_certificates)):
        fig, ax = new_figure(figsize=(5.6, 3.2))
        draw(ax, results)
        if stem == "char_lm_certificates":
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        path = folder / f"{stem}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


if __name__ == "__main__":
    results = full_results()
    for p in make(ROOT / "paper_figs" / "full") + docs_images(results):
        print("wrote", p)
    print(caption(results, summary(results)))
