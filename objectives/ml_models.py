"""Learning objectives with mini-batch oracles: ReLU teacher–student regression, hinge (SVM) and ramp losses,
least-absolute-deviation regression (seeded synthetic data) and a small ReLU network on scikit-learn's digits.

Sources: Zhang et al. ICML 2020 and Jordan, Kornowski, Lin, Shamir, Zampetakis COLT 2023 (ReLU networks motivate
(δ,ε)-stationarity); Cortes & Vapnik 1995 (SVM); Collobert, Sinz, Weston, Bottou ICML 2006 (ramp loss); the
teacher–student and LAD set-ups are derived here (standard formulations, see each docstring); E. Alpaydin &
C. Kaynak, UCI optical digits (shipped with scikit-learn as ``load_digits``).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linprog, minimize

from ._backend import nan_unless
from .base import sampled_lipschitz
from .finite_sum import finite_sum
from .registry import register


def _unit(rng, n):
    v = rng.standard_normal(n)
    return v / np.linalg.norm(v)


def _relu(xp, t):
    return xp.maximum(t, xp.zeros_like(t))


@register("relu_single_neuron", tags={"nonconvex", "nonsmooth", "stochastic", "ml"})
def relu_single_neuron(n: int = 10, N: int = 200, seed: int = 0, batch_size: int = 16):
    """Single ReLU neuron ``F(w) = (1/N) Σ_i (σ(wᵀz_i) - σ(w♮ᵀz_i))²``, σ = ReLU, ``z_i ~ N(0, I_n)``.

    f* = 0 at the teacher w♮ (unit). w = 0 is stationary and dead neurons give flat regions.
    x0: seeded random unit vector. Source: teacher–student ReLU regression, derived here.
    """
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((N, n))
    ws = _unit(rng, n)
    y = np.maximum(Z @ ws, 0.0)
    x0 = _unit(rng, n)

    def loss(xp, w, d, D):
        return xp.mean((_relu(xp, D["Z"] @ w) - D["y"]) ** 2)

    def grad(xp, w, d, D):
        h = D["Z"] @ w
        r = (_relu(xp, h) - D["y"]) * xp.astype(h > 0, w.dtype)
        return (2.0 / h.shape[0]) * (r @ D["Z"])

    return finite_sum(name="relu_single_neuron", x0=x0, n_samples=N, sample_keys=("Z", "y"), data={"Z": Z, "y": y},
                      loss=loss, grad=grad, default_batch=batch_size, f_star=0.0, x_star=ws,
                      lipschitz_spec=sampled_lipschitz(n_points=64), tags={"nonconvex", "nonsmooth", "ml"},
                      source="derived here (single-neuron teacher–student)",
                      params=dict(n=n, N=N, seed=seed, batch_size=batch_size))


@register("relu_teacher_student", tags={"nonconvex", "nonsmooth", "stochastic", "ml"})
def relu_teacher_student(n: int = 10, k: int = 4, N: int = 400, seed: int = 0, batch_size: int = 16):
    """Two-layer ReLU teacher–student ``F(W) = (1/N) Σ_i (vᵀσ(W z_i) - y_i)²``, ``y_i = vᵀσ(W♮ z_i)``.

    W ∈ R^{k×n} is learned (variable vec(W), row-major); the output layer ``v = **1**/k`` is fixed and shared by
    teacher and student. f* = 0 at W♮ (and its row permutations). x0 seeded N(0, 1/n).
    Source: two-layer teacher–student ReLU regression, derived here.
    """
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((N, n))
    Ws = rng.standard_normal((k, n)) / np.sqrt(n)
    v = np.full(k, 1.0 / k)
    y = np.maximum(Z @ Ws.T, 0.0) @ v
    x0 = (rng.standard_normal((k, n)) / np.sqrt(n)).reshape(-1)

    def loss(xp, x, d, D):
        H = D["Z"] @ xp.reshape(x, (k, n)).T
        return xp.mean((_relu(xp, H) @ d["v"] - D["y"]) ** 2)

    def grad(xp, x, d, D):
        H = D["Z"] @ xp.reshape(x, (k, n)).T                             # (B, k)
        r = _relu(xp, H) @ d["v"] - D["y"]                               # (B,)
        M = r[:, None] * xp.astype(H > 0, x.dtype) * d["v"][None, :]     # (B, k)
        return xp.reshape((2.0 / H.shape[0]) * (M.T @ D["Z"]), (-1,))

    return finite_sum(name="relu_teacher_student", x0=x0, n_samples=N, sample_keys=("Z", "y"),
                      data={"Z": Z, "y": y, "v": v}, loss=loss, grad=grad, default_batch=batch_size, f_star=0.0,
                      x_star=Ws.reshape(-1), lipschitz_spec=sampled_lipschitz(n_points=64),
                      tags={"nonconvex", "nonsmooth", "ml"}, source="derived here (two-layer teacher–student)",
                      params=dict(n=n, k=k, N=N, seed=seed, batch_size=batch_size))


def _svm_solution(Z, y, lam):
    """Exact linear-SVM optimum: the box-constrained dual by L-BFGS-B, then the KKT system on its support."""
    N = Z.shape[0]
    Y = y[:, None] * Z

    def dual(a):  # minimise -(dual objective)
        w = Y.T @ a / (lam * N)
        return 0.5 * lam * (w @ w) - a.sum() / N, (Y @ w) / N - 1.0 / N

    res = minimize(dual, np.full(N, 0.5), jac=True, method="L-BFGS-B", bounds=[(0.0, 1.0)] * N,
                   options=dict(ftol=1e-15, gtol=1e-13, maxiter=20000))
    a = res.x
    w = Y.T @ a / (lam * N)
    margin = Y @ w
    tol = 1e-6
    on = np.flatnonzero(np.abs(margin - 1.0) < tol)
    viol = np.flatnonzero(margin < 1.0 - tol)
    # KKT: w = (Σ_viol Y_i + Σ_on α_i Y_i)/(λN) and Y_on w = 1
    base = Y[viol].sum(axis=0)
    if on.size:
        K = Y[on] @ Y[on].T
        a_on, *_ = np.linalg.lstsq(K, lam * N - Y[on] @ base, rcond=None)
        w_polished = (base + Y[on].T @ a_on) / (lam * N)
        ok = np.all(a_on >= -1e-9) and np.all(a_on <= 1 + 1e-9)
    else:
        w_polished, ok = base / (lam * N), True
    return (w_polished if ok else w), -res.fun


@register("hinge_svm", tags={"convex", "nonsmooth", "stochastic", "ml"})
def hinge_svm(n: int = 10, N: int = 200, lam: float = 0.1, label_noise: float = 0.1, seed: int = 0,
              batch_size: int = 16):
    """Linear SVM ``F(w) = (1/N) Σ_i max(0, 1 - y_i wᵀz_i) + (λ/2)‖w‖²`` on seeded Gaussian data.

    Labels ``y_i = sign(w♮ᵀz_i)``, a fraction ``label_noise`` flipped. f* and x* exact: the box-constrained dual is
    solved by L-BFGS-B, then the KKT linear system is solved on the margin support (duality gap checked in the
    tests). The mini-batch oracle adds the full regulariser gradient (unbiased). x0 = 0.
    Source: Cortes & Vapnik, 'Support-vector networks', Machine Learning 20 (1995).
    """
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((N, n))
    y = np.sign(Z @ _unit(rng, n))
    flip = rng.random(N) < label_noise
    y[flip] = -y[flip]
    lam = float(lam)
    ws, dual_value = _svm_solution(Z, y, lam)
    fs = float(np.mean(np.maximum(0.0, 1.0 - y * (Z @ ws))) + 0.5 * lam * ws @ ws)

    def loss(xp, w, d, D):
        return xp.mean(_relu(xp, 1.0 - D["y"] * (D["Z"] @ w))) + 0.5 * lam * xp.sum(w * w)

    def grad(xp, w, d, D):
        act = xp.astype(1.0 - D["y"] * (D["Z"] @ w) > 0, w.dtype)
        return -((act * D["y"]) @ D["Z"]) / act.shape[0] + lam * w

    return finite_sum(name="hinge_svm", x0=np.zeros(n), n_samples=N, sample_keys=("Z", "y"), data={"Z": Z, "y": y},
                      loss=loss, grad=grad, default_batch=batch_size, f_star=fs, x_star=ws,
                      lipschitz_spec=sampled_lipschitz(n_points=64), tags={"convex", "nonsmooth", "ml"},
                      source="Cortes & Vapnik, Machine Learning 20 (1995)", extra={"dual_value": dual_value},
                      params=dict(n=n, N=N, lam=lam, label_noise=label_noise, seed=seed, batch_size=batch_size))


@register("ramp_loss", tags={"nonconvex", "nonsmooth", "stochastic", "ml"})
def ramp_loss(n: int = 10, N: int = 200, margin: float = 0.1, seed: int = 0, batch_size: int = 16):
    """Ramp (truncated hinge) loss ``F(w) = (1/N) Σ_i min(1, max(0, 1 - y_i wᵀz_i))`` on separable data.

    Gaussian z_i, ``y_i = sign(w♮ᵀz_i)``, points with ``|w♮ᵀz_i| < margin`` dropped (resampled), so with
    ``γ = min_i y_i w♮ᵀz_i`` the point ``x* = w♮/γ`` has every margin ≥ 1: f* = 0. x0: a seeded random vector of
    norm 0.1. Lipschitz ``(1/N) Σ_i ‖z_i‖`` (proven). Source: Collobert, Sinz, Weston, Bottou, 'Trading
    convexity for scalability', ICML 2006.
    """
    rng = np.random.default_rng(seed)
    ws = _unit(rng, n)
    rows = []
    while sum(len(r) for r in rows) < N:
        Zc = rng.standard_normal((2 * N, n))
        rows.append(Zc[np.abs(Zc @ ws) >= margin])
    Z = np.concatenate(rows)[:N]
    y = np.sign(Z @ ws)
    gamma = float(np.min(y * (Z @ ws)))
    x0 = 0.1 * _unit(rng, n)

    # clip saturates at ±inf and both comparisons are False at NaN, so a non-finite margin t_i would give a finite
    # loss term and a zero gradient term: NaN for it instead
    def loss(xp, w, d, D):
        t = 1.0 - D["y"] * (D["Z"] @ w)
        return xp.mean(nan_unless(xp, xp.isfinite(t), xp.clip(t, 0.0, 1.0)))

    def grad(xp, w, d, D):
        t = 1.0 - D["y"] * (D["Z"] @ w)
        act = nan_unless(xp, xp.isfinite(t), xp.astype((t > 0) & (t < 1), w.dtype))
        return -((act * D["y"]) @ D["Z"]) / t.shape[0]

    return finite_sum(name="ramp_loss", x0=x0, n_samples=N, sample_keys=("Z", "y"), data={"Z": Z, "y": y},
                      loss=loss, grad=grad, default_batch=batch_size, f_star=0.0, x_star=ws / gamma,
                      lipschitz_spec=float(np.linalg.norm(Z, axis=1).mean()), lipschitz_is_exact=True,
                      tags={"nonconvex", "nonsmooth", "ml"},
                      source="Collobert, Sinz, Weston, Bottou ICML 2006",
                      params=dict(n=n, N=N, margin=margin, seed=seed, batch_size=batch_size))


@register("l1_regression", tags={"convex", "nonsmooth", "stochastic", "ml"})
def l1_regression(n: int = 10, N: int = 200, seed: int = 0, batch_size: int = 16):
    """Least-absolute-deviation regression ``F(w) = (1/N)‖Zw - y‖₁``, ``y = Zw♮ + Laplace noise``.

    f* and x* exact: the LP ``min Σ t_i, -t ≤ Zw - y ≤ t`` is solved by HiGHS, then the vertex is polished by
    solving ``Z_S w = y_S`` on its n zero-residual rows. x0 = 0. Lipschitz ``(1/N) Σ_i ‖z_i‖`` (proven).
    Source: derived here (the standard LP form of least-absolute-deviation regression; f* from scipy linprog/HiGHS).
    """
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((N, n))
    y = Z @ rng.standard_normal(n) + rng.laplace(0.0, 1.0, N)
    res = linprog(np.r_[np.zeros(n), np.ones(N)],
                  A_ub=np.block([[Z, -np.eye(N)], [-Z, -np.eye(N)]]), b_ub=np.r_[y, -y],
                  bounds=[(None, None)] * n + [(0, None)] * N, method="highs")
    w = res.x[:n]
    S = np.argsort(np.abs(Z @ w - y))[:n]
    w_pol = np.linalg.solve(Z[S], y[S])
    if np.mean(np.abs(Z @ w_pol - y)) <= np.mean(np.abs(Z @ w - y)) + 1e-12:
        w = w_pol

    def loss(xp, x, d, D):
        return xp.mean(xp.abs(D["Z"] @ x - D["y"]))

    def grad(xp, x, d, D):
        r = D["Z"] @ x - D["y"]
        # sign(±inf) = ±1: NaN for a non-finite residual
        return (nan_unless(xp, xp.isfinite(r), xp.sign(r)) @ D["Z"]) / D["y"].shape[0]

    return finite_sum(name="l1_regression", x0=np.zeros(n), n_samples=N, sample_keys=("Z", "y"),
                      data={"Z": Z, "y": y}, loss=loss, grad=grad, default_batch=batch_size,
                      f_star=float(np.mean(np.abs(Z @ w - y))), x_star=w,
                      lipschitz_spec=float(np.linalg.norm(Z, axis=1).mean()), lipschitz_is_exact=True,
                      tags={"convex", "nonsmooth", "ml"}, source="derived here (LAD regression; LP by HiGHS)",
                      extra={"lp_value": float(res.fun) / N},
                      params=dict(n=n, N=N, seed=seed, batch_size=batch_size))


@register("digits_relu_net", tags={"nonconvex", "nonsmooth", "stochastic", "ml", "real-data"})
def digits_relu_net(hidden: int = 32, seed: int = 0, batch_size: int = 32):
    """Training loss of a 64-h-10 ReLU network on the 1797 handwritten digits shipped with scikit-learn.

    ``F(θ) = (1/N) Σ_i CE(softmax(W₂ σ(W₁ z_i + b₁) + b₂), y_i)``, inputs scaled to [0, 1]; θ = (vec W₁, b₁,
    vec W₂, b₂), dimension 64h + h + 10h + 10 (2410 for h = 32). x0: seeded He initialisation, zero biases.
    f* unknown (≥ 0). Needs scikit-learn (no download: the data ship inside the package).
    Source: E. Alpaydin, C. Kaynak, 'Optical recognition of handwritten digits', UCI ML repository (1998), via
    ``sklearn.datasets.load_digits``.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise ImportError("digits_relu_net needs scikit-learn (pip install 'o2nc[data]')") from exc
    digits = load_digits()
    X = digits.data.astype(np.float64) / 16.0
    Y = np.eye(10)[digits.target]
    N, p, h, c = X.shape[0], X.shape[1], int(hidden), 10
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((h, p)) * np.sqrt(2.0 / p)
    W2 = rng.standard_normal((c, h)) * np.sqrt(2.0 / h)
    x0 = np.concatenate([W1.ravel(), np.zeros(h), W2.ravel(), np.zeros(c)])
    s1, s2, s3 = h * p, h * p + h, h * p + h + c * h

    def unpack(xp, x):
        return (xp.reshape(x[:s1], (h, p)), x[s1:s2], xp.reshape(x[s2:s3], (c, h)), x[s3:])

    def forward(xp, x, D):
        W1_, b1, W2_, b2 = unpack(xp, x)
        H = D["X"] @ W1_.T + b1
        A = _relu(xp, H)
        logits = A @ W2_.T + b2
        mx = xp.max(logits, axis=1)
        E = xp.exp(logits - mx[:, None])
        S = xp.sum(E, axis=1)
        ce = mx + xp.log(S) - xp.sum(D["Y"] * logits, axis=1)
        return H, A, E / S[:, None], ce, W2_

    def loss(xp, x, d, D):
        return xp.mean(forward(xp, x, D)[3])

    def grad(xp, x, d, D):
        H, A, P, _, W2_ = forward(xp, x, D)
        B = H.shape[0]
        dlog = (P - D["Y"]) / B                          # (B, c)
        dA = (dlog @ W2_) * xp.astype(H > 0, x.dtype)    # (B, h)
        # a logit of -inf (a bias b₂ of -inf) has probability 0 and a finite P - Y: NaN where θ is not finite
        return nan_unless(xp, xp.isfinite(x), xp.concat([xp.reshape(dA.T @ D["X"], (-1,)), xp.sum(dA, axis=0),
                                                         xp.reshape(dlog.T @ A, (-1,)), xp.sum(dlog, axis=0)]))

    return finite_sum(name="digits_relu_net", x0=x0, n_samples=N, sample_keys=("X", "Y"), data={"X": X, "Y": Y},
                      loss=loss, grad=grad, default_batch=batch_size, f_star=None, x_star=None,
                      lipschitz_spec=None, tags={"nonconvex", "nonsmooth", "ml", "real-data"},
                      source="Alpaydin & Kaynak, UCI optical digits (1998), sklearn.datasets.load_digits",
                      params=dict(hidden=hidden, seed=seed, batch_size=batch_size))
