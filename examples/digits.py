"""Train a small ReLU network on scikit-learn's digits with O2NC and with torch.optim / optax baselines.

Methods: O2NC(OGD), O2NC(KT via the direction–magnitude reduction) and O2NC(DiscountedFTRL), against SGD with
momentum and Adam, in PyTorch (default) or JAX (``--framework jax``). For each method, test accuracy of the output
point at each lr multiplier of a 4-decade grid (the lr sensitivity), and the best.

Usage: python examples/digits.py [--framework torch|jax] [--epochs 30] [--quick]
"""
from __future__ import annotations

import argparse

import numpy as np


def load(seed=0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return train_test_split(X.astype(np.float32), y, test_size=0.3, random_state=seed, stratify=y)


def learners():
    """The O2NC learners of the comparison, by registry name where the registry has them."""
    from online_learners import OGD, registry

    out = {"o2nc-ogd": (OGD(lr=0.02, radius=0.5), 1.0, True)}  # (learner, default lr, restart every 10 steps)
    if "direction_magnitude" in registry.names() and "kt" in registry.names():
        from online_learners import DirectionMagnitude, KT

        out["o2nc-kt-reduction"] = (DirectionMagnitude(magnitude=KT(eps=1.0, lipschitz=10.0),
                                                      direction=OGD(lr=0.1, radius=1.0)), 1.0, False)
    if "discounted_ftrl" in registry.names():
        from online_learners import DiscountedFTRL

        out["o2nc-discounted-ftrl"] = (DiscountedFTRL(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                                                      coordinatewise=True), 1.0, False)
    return out


BASELINES = {"sgd-momentum": 0.1, "adam": 1e-3}
MULTIPLIERS = (0.01, 0.1, 1.0, 10.0)  # 4 decades around each method's default


def run_torch(method, lr, Xtr, ytr, Xte, yte, epochs, seed=0, batch=64):
    import torch

    from o2nc.torch import O2NC

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    table = learners()
    if method == "sgd-momentum":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    elif method == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    else:
        opt = O2NC(model.parameters(), learner=table[method][0], lr=lr, epoch_length=10, restart=table[method][2],
                   averaging=("ema", 0.9), generator=torch.Generator().manual_seed(seed))
    Xtr_t, ytr_t = torch.tensor(Xtr), torch.tensor(ytr)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(Xtr_t), generator=g)
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(Xtr_t[idx]), ytr_t[idx]).backward()
            opt.step()
    if isinstance(opt, O2NC):
        opt.eval()
    with torch.no_grad():
        pred = model(torch.tensor(Xte)).argmax(1).numpy()
    return float((pred == yte).mean())


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
        tx = o2nc(learners()[method][0], lr=lr, epoch_length=10, restart=learners()[method][2], averaging=("ema", 0.9),
                  key=jax.random.key(seed))
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


def sweep(framework="torch", epochs=30, multipliers=MULTIPLIERS, methods=None):
    """{method: {lr: test accuracy}} over the lr grid."""
    Xtr, Xte, ytr, yte = load()
    run = run_torch if framework == "torch" else run_jax
    defaults = {name: spec[1] for name, spec in learners().items()}
    defaults.update(BASELINES)
    results = {}
    for method, base in defaults.items():
        if methods is not None and method not in methods:
            continue
        results[method] = {base * m: run(method, base * m, Xtr, ytr, Xte, yte, epochs) for m in multipliers}
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--framework", default="torch", choices=["torch", "jax"])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--quick", action="store_true", help="3 epochs, default lr only")
    args = ap.parse_args()
    multipliers = (1.0,) if args.quick else MULTIPLIERS
    results = sweep(args.framework, 3 if args.quick else args.epochs, multipliers)
    print(f"{args.framework}: test accuracy per lr (digits, 64-64-10 ReLU net)")
    for method, row in results.items():
        cells = "  ".join(f"lr={lr:.0e}: {acc:.3f}" for lr, acc in row.items())
        print(f"{method:22s} best {max(row.values()):.3f}   {cells}")


if __name__ == "__main__":
    main()
