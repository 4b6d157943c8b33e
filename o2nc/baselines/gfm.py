r"""Gradient-free method GFM (Lin, Zheng, Jordan, "Gradient-free methods for deterministic and stochastic nonsmooth
nonconvex optimization", NeurIPS 2022).

SGD on the uniform smoothing f_ρ(x) = E_{u∼Unif(B)} f(x + ρu) with the two-point estimator (Lin, Zheng, Jordan
2022; the form restated by Liu, Luo, Low, NeurIPS 2024, Algorithms 1–2):

    w_j ∼ Unif(S^{d−1}),   v_t = (1/b) Σ_{j≤b} (d/(2ρ)) (f(x_t + ρw_j) − f(x_t − ρw_j)) w_j,   x_{t+1} = x_t − η v_t.

E v_t = ∇f_ρ(x_t) ∈ ∂_ρ f(x_t) (Lin, Zheng, Jordan 2022, as restated by Liu, Luo, Low, NeurIPS 2024, Lemmas
3.7–3.8), so a small ‖∇f_ρ‖ at a point is a (ρ, ·) Goldstein statement;
the default ρ = δ makes the method's target radius the certificate's. The paper's guarantee is for a uniformly random
iterate (``output="random"``).

Rate: O(d^{3/2} δ^-1 ε^-4) function evaluations to E‖∇f_δ(x_R)‖ ≤ ε (Lin, Zheng, Jordan, NeurIPS 2022).
Uses function values only; each estimator sample costs two evaluations.
"""
from __future__ import annotations

from dataclasses import dataclass

from o2nc.baselines._base import (
    OUTPUTS,
    Baseline,
    RunOutput,
    Trace,
    check_choice,
    check_count,
    check_positive,
    select_output,
    sphere_directions,
    two_point_estimate,
)
from o2nc.methods.oracles import BudgetTooSmall

__all__ = ["GFM"]


@dataclass(frozen=True, kw_only=True)
class GFM(Baseline):
    r"""Zero-order SGD on the uniform smoothing with the two-point estimator (module docstring).

    Args:
        lr: the step η > 0.
        smoothing: ρ > 0, the smoothing radius (None: δ).
        batch: b, directions per estimate (2b evaluations per step).
        output: ``"last"``, ``"random"`` (the paper's) or ``"average"``.
        delta: radius of the certificate computed at the output (exact gradients, counted apart).
    """

    lr: float = 0.01
    smoothing: float | None = None
    batch: int = 1
    output: str = "last"

    order = "zero-order"
    rate = "O(d^{3/2} δ^-1 ε^-4) function evaluations (Lin–Zheng–Jordan 2022)"

    def _validate(self):
        check_positive("GFM", "lr", self.lr)
        if self.smoothing is not None:
            check_positive("GFM", "smoothing", self.smoothing)
        check_count("GFM", "batch", self.batch)
        check_choice("GFM", "output", self.output, OUTPUTS)

    def _run(self, problem, x0, calls, rng, record):
        rho = float(self.delta if self.smoothing is None else self.smoothing)
        d, b, lr = x0.shape[0], int(self.batch), float(self.lr)
        x = x0.copy()
        trace = Trace()
        history = {"x": [], "estimate": []} if record else None
        candidates = []
        while calls.remaining >= 2 * b:
            v = two_point_estimate(calls, x, rho, sphere_directions(rng, b, d))
            if self.output != "last":
                candidates.append(x)
            x = x - lr * v
            trace.add(calls.used)
            if record:
                history["x"].append(x)
                history["estimate"].append(v)
        if calls.value_calls == 0:
            raise BudgetTooSmall(f"GFM: `budget` must allow one estimate (2·batch = {2 * b} evaluations)", 2 * b)
        return RunOutput(point=select_output(self.output, candidates, x, rng), certificate=None, trace=trace,
                         history=history, stopped="budget")
