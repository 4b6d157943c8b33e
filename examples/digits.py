"""Train a small ReLU network on scikit-learn's digits with O2NC and with torch.optim / optax baselines.

Methods: O2NC(OGD), O2NC(KT via the direction–magnitude reduction) and O2NC(DiscountedFTRL), against SGD with
momentum and Adam, in PyTorch (default) or JAX (``--framework jax``). For each method, test accuracy of the output
point at each lr multiplier of a 4-decade grid (the lr sensitivity), and the best.

The parameter-free variant (``o2nc-kt-reduction``, see :func:`parameter_free`) runs with default settings: no G, no
step size; its lr column only rescales its plays.

Usage: python examples/digits.py [--framework torch|jax] [--epochs 30] [--seeds 3] [--quick]
"""
from __future__ import annotations

import argparse
import math

import numpy as np


def load(seed=0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return train_test_split(X.astype(np.float32), y, test_size=0.3, random_state=seed, stratify=y)


EPOCH_LENGTH = 10  # O2NC's epoch T (steps per epoch of the conversion)


def parameter_free():
    """The parameter-free learner, with default settings and nothing tuned on the test set.

    ``DirectionMagnitude(KT(lipschitz=None), Restarting(AdaGradNorm(radius=1, scale=√2), period=T))``:

    - magnitude: KT with scale-free coins (``lipschitz=None``: the coins are normalised by the running max of |s_t|,
      so no gradient bound G is assumed; the default initial wealth ε = 1). Not restarted: its wealth is what makes it
      parameter-free.
    - direction: AdaGrad-norm on the unit ball, whose step radius·c/√Σ‖g‖² needs no G either, with c = √2, the
      constant that minimises its regret bound (2/c + c)·D·√V_T (see ``AdaGradNorm``), restarted at every O2NC epoch
      (T = ``EPOCH_LENGTH``), the restart of [CMO23] §3 that turns its static regret into K-shifting regret.
    - O2NC's ``lr`` = 1 (the learner untouched), EMA averaging as for the other O2NC variants.

    These choices were compared on a validation split of the training data (``validation_split``), never the test set.
    """
    from online_learners import KT, AdaGradNorm, DirectionMagnitude, Restarting

    return DirectionMagnitude(magnitude=KT(eps=1.0, lipschitz=None),
                              direction=Restarting(AdaGradNorm(radius=1.0, scale=2**0.5), period=EPOCH_LENGTH))


def learners():
    """The O2NC learners of the comparison: name -> (learner, default lr, restart every epoch)."""
    from online_learners import OGD, registry

    out = {"o2nc-ogd": (OGD(lr=0.02, radius=0.5), 1.0, True)}
    if "direction_magnitude" in registry.names() and "kt" in registry.names():
        out["o2nc-kt-reduction"] = (parameter_free(), 1.0, False)
    if "discounted_ftrl" in registry.names():
        from online_learners import DiscountedFTRL

        out["o2nc-discounted-ftrl"] = (DiscountedFTRL(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                                                      coordinatewise=True), 1.0, False)
    return out


BASELINES = {"sgd-momentum": 0.1, "adam": 1e-3}
MULTIPLIERS = (0.01, 0.1, 1.0, 10.0)  # 4 decades around each method's default


def validation_split(Xtr, ytr, seed=0):
    """(Xfit, Xval, yfit, yval): a stratified quarter of the *training* data held out, for choosing defaults."""
    from sklearn.model_selection import train_test_split

    return train_test_split(Xtr, ytr, test_size=0.25, random_state=seed, stratify=ytr)


def run_torch(method, lr, Xtr, ytr, Xte, yte, epochs, seed=0, batch=64, history=False, learner=None):
    """Train ``method`` at ``lr`` for ``epochs`` epochs; return the test accuracy of the output point.

    ``history=True`` returns ``{"loss": [...], "accuracy": [...]}`` instead: after every epoch, the cross-entropy on the
    full training set and the test accuracy, both at the optimizer's output point (O2NC's ``eval()`` point, swapped in
    and out; the model's own weights for the baselines). ``learner`` overrides the method's O2NC learner.
    """
    import torch

    from o2nc.torch import O2NC

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    if method == "sgd-momentum":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    elif method == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    else:
        default, _, restart = learners()[method]
        opt = O2NC(model.parameters(), learner=default if learner is None else learner, lr=lr,
                   epoch_length=EPOCH_LENGTH, restart=restart, averaging=("ema", 0.9),
                   generator=torch.Generator().manual_seed(seed))
    Xtr_t, ytr_t, Xte_t = torch.tensor(Xtr), torch.tensor(ytr), torch.tensor(Xte)
    g = torch.Generator().manual_seed(seed)

    def measure():
        if isinstance(opt, O2NC):
            opt.eval()
        try:
            with torch.no_grad():
                loss = float(torch.nn.functional.cross_entropy(model(Xtr_t), ytr_t)) if history else None
                accuracy = float((model(Xte_t).argmax(1).numpy() == yte).mean())
        finally:
            if isinstance(opt, O2NC):
                opt.train()
        return loss, accuracy

    losses, accuracies = [], []
    for _ in range(epochs):
        perm = torch.randperm(len(Xtr_t), generator=g)
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(Xtr_t[idx]), ytr_t[idx]).backward()
            opt.step()
        if history:
            loss, accuracy = measure()
            losses.append(loss)
            accuracies.append(accuracy)
    if history:
        return {"loss": losses, "accuracy": accuracies}
    return measure()[1]


def run_jax(method, lr, Xtr, ytr, Xte, yte, epochs, seed=0, batch=64):
    import jax
    import jax.numpy as jnp
    import optax

    from o2nc.jax import o2nc, o2nc_eval_params

    k1, k2 = jax.random.split(jax.random.key(seed))
    params = {
        "w1": jax.random.normal(k1, (64, 64), jnp.float32) / 8.0, "b1": jnp.zeros(64, jnp.float32),
        "w2": jax.random.normal(k2, (64, 10), jnp.float32) / 8.0, "b2": jnp.zeros(10, jnp.float32),
    }

    def logits(p, x):
        return jax.nn.relu(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]

    def loss(p, x, y):
        return optax.softmax_cross_entropy_with_integer_labels(logits(p, x), y).mean()

    if method == "sgd-momentum":
        tx = optax.sgd(lr, momentum=0.9)
    elif method == "adam":
        tx = optax.adam(lr)
    else:
        tx = o2nc(learners()[method][0], learning_rate=lr, epoch_length=EPOCH_LENGTH, restart=learners()[method][2],
                  averaging=("ema", 0.9), key=jax.random.key(seed))
    state = tx.init(params)

    @jax.jit
    def step(p, s, x, y):
        u, s = tx.update(jax.grad(loss)(p, x, y), s, p)
        return optax.apply_updates(p, u), s

    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        perm = rng.permutation(len(Xtr))
        for i in range(0, len(perm) - batch + 1, batch):
            idx = perm[i:i + batch]
            params, state = step(params, state, jnp.asarray(Xtr[idx]), jnp.asarray(ytr[idx]))
    if method.startswith("o2nc"):
        params = o2nc_eval_params(state, params)
    pred = np.asarray(logits(params, jnp.asarray(Xte)).argmax(1))
    return float((pred == yte).mean())


def default_lrs():
    """{method: default lr}: 1.0 (the learner untouched) for O2NC, the usual defaults for the baselines."""
    defaults = {name: spec[1] for name, spec in learners().items()}
    defaults.update(BASELINES)
    return defaults


def sweep(framework="torch", epochs=30, multipliers=MULTIPLIERS, methods=None, seeds=(0,)):
    """{method: {lr: test accuracy}} over the lr grid (default lr × ``multipliers``), the mean over ``seeds``."""
    Xtr, Xte, ytr, yte = load()
    run = run_torch if framework == "torch" else run_jax
    results = {}
    for method, base in default_lrs().items():
        if methods is not None and method not in methods:
            continue
        results[method] = {
            base * m: float(np.mean([run(method, base * m, Xtr, ytr, Xte, yte, epochs, seed=s) for s in seeds]))
            for m in multipliers
        }
    return results


def table(results, framework, epochs, seeds, multipliers=MULTIPLIERS) -> str:
    """The accuracy table: one row per method, one column per lr multiplier; * marks the default lr."""
    defaults = default_lrs()
    head = f"{'method':22s} {'default lr':>10s}  " + "  ".join(f"{f'lr×{m:g}':>8s}" for m in multipliers) + "    best"
    lines = [f"{framework}: test accuracy, digits, 64-64-10 ReLU net, {epochs} epochs, mean over seeds {list(seeds)}",
             head]
    for method, row in results.items():
        base = defaults[method]
        cells = []
        for m in multipliers:
            acc = next((a for lr, a in row.items() if math.isclose(lr, base * m)), None)
            cells.append(f"{'—' if acc is None else f'{acc:.3f}'}{'*' if m == 1 else ' '}".rjust(9))
        lines.append(f"{method:22s} {base:10.0e}  " + " ".join(cells) + f"   {max(row.values()):.3f}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--framework", default="torch", choices=["torch", "jax"])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seeds", type=int, default=1, help="mean over this many seeds")
    ap.add_argument("--quick", action="store_true", help="3 epochs, default lr only")
    args = ap.parse_args()
    multipliers = (1.0,) if args.quick else MULTIPLIERS
    epochs, seeds = (3 if args.quick else args.epochs), tuple(range(args.seeds))
    results = sweep(args.framework, epochs, multipliers, seeds=seeds)
    print(table(results, args.framework, epochs, seeds, multipliers))


if __name__ == "__main__":
    main()
