"""Figure 8: a real network — a 64-64-10 ReLU network on scikit-learn's digits in PyTorch.

Training loss (full training set, at the optimizer's output point) and test accuracy after every epoch for O2NC
with OGD, with KT through the direction–magnitude reduction, and with DiscountedFTRL (Adam's form), against
``torch.optim.SGD`` with momentum and ``torch.optim.Adam``, each at its default learning rate from
``examples/digits.py`` (where the lr sensitivity over four decades is measured). O2NC's output point is the one its
``eval()`` swaps in ([CMO23] returns epoch averages; the shell's averaging option chooses it). Median over seeds.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from _common import MARKERS, cached, new_figure, save, store

NAME = "fig8_digits"
TITLE = "A ReLU network on digits: training loss and test accuracy per epoch"
FULL_TIME = "about 6 minutes on 2 cores"
ROOT = Path(__file__).resolve().parent.parent


def example():
    path = ROOT / "examples" / "digits.py"
    if not path.is_file():
        raise FileNotFoundError(f"{NAME} trains the network of examples/digits.py, which a source checkout has and an "
                                f"installed package does not ({path} is missing); run it from a clone of the "
                                "repository")
    spec = importlib.util.spec_from_file_location("digits_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def methods(ex) -> dict:
    table = {name: ("o2nc", entry) for name, entry in ex.learners().items()}
    table.update({name: ("torch", lr) for name, lr in ex.BASELINES.items()})
    return table


def train(ex, name, epochs, seed):
    """Per-epoch training loss and test accuracy at the output point: the example's own loop (``history=True``)."""
    Xtr, Xte, ytr, yte = ex.load()
    lr = ex.default_lrs()[name]
    return ex.run_torch(name, lr, Xtr, ytr, Xte, yte, epochs, seed=seed, history=True)


def make(out: Path, quick: bool = False) -> list[Path]:
    ex = example()
    epochs, seeds = (8, 2) if quick else (30, 5)
    db = store(quick)
    fig, (left, right) = new_figure(ncols=2, figsize=(6.8, 2.6))
    data, finals = {"epochs": epochs, "seeds": seeds, "methods": {}}, []
    for i, name in enumerate(methods(ex)):
        settings = repr(methods(ex)[name])  # the learner and its defaults: a changed default is a new computation
        runs = [cached(db, {"figure": NAME, "method": name, "settings": settings, "epochs": epochs, "seed": seed},
                       lambda seed=seed: train(ex, name, epochs, seed)) for seed in range(seeds)]
        loss = np.median([r["loss"] for r in runs], axis=0)
        accuracy = np.median([r["accuracy"] for r in runs], axis=0)
        x = np.arange(1, epochs + 1)
        left.semilogy(x, loss, marker=MARKERS[i], markevery=max(1, epochs // 8), label=name)
        right.plot(x, accuracy, marker=MARKERS[i], markevery=max(1, epochs // 8), label=name)
        data["methods"][name] = {"loss": loss.tolist(), "accuracy": accuracy.tolist()}
        finals.append(f"{name} {accuracy[-1]:.3f}")
    left.set_xlabel("epoch")
    left.set_ylabel("training loss (cross-entropy)")
    right.set_xlabel("epoch")
    right.set_ylabel("test accuracy")
    left.legend(loc="lower left")
    caption = (f"{TITLE}; median over {seeds} seeds, each method at its default learning rate. Test accuracy after "
               f"{epochs} epochs: " + ", ".join(finals) + ". The lr sensitivity over four decades is in "
               "examples/digits.py.")
    return save(fig, NAME, out, data=data, caption=caption)
