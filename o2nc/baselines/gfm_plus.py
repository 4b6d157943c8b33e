r"""GFM+, variance-reduced gradient-free method (Chen, Xu, Luo, "Faster gradient-free algorithms for nonsmooth
nonconvex stochastic optimization", ICML 2023).

SPIDER-style recursion on the two-point estimator of the uniform smoothing f_ρ (Chen, Xu, Luo, ICML 2023; the form
restated by Liu, Luo, Low, NeurIPS 2024, Algorithms 1–2): with
g(x; W) = (1/|W|) Σ_{w∈W} (d/(2ρ)) (f(x + ρw) − f(x − ρw)) w and fresh directions W at every step,

    t ≡ 0 (mod q):  v_t = g(x_t; W_t),  |W_t| = b                                 (checkpoint, 2b evaluations)
    otherwise:      v_t = v_{t−1} + g(x_t; W'_t) − g(x_{t−1}; W'_t),  |W'_t| = b'   (4b' evaluations)
    x_{t+1} = x_t − η v_t.

The same directions W'_t at x_t and x_{t−1} make the correction's variance scale with ‖x_t − x_{t−1}‖² (that is the
point of the recursion). With a stochastic f(·; ξ) the same sample ξ is used at both points as well; the bank's
value oracle is deterministic, so only the directions are shared here.

Rate: O(d^{3/2} δ^-1 ε^-3) function evaluations to E‖∇f_δ(x_R)‖ ≤ ε (Chen, Xu, Luo, ICML 2023), with b, b', q and η
as in the paper's theorem (their exact values are not reproduced here; pass them explicitly).
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

__all__ = ["GFMPlus"]


@dataclass(frozen=True, kw_only=True)
class GFMPlus(Baseline):
    r"""GFM with SPIDER variance reduction (module docstring).

    Args:
        lr: the step η > 0.
        smoothing: ρ > 0 (None: δ).
        batch: b, directions at a checkpoint.
        inner_batch: b', directions of a correction step.
        period: q, steps between checkpoints.
        output: ``"last"``, ``"random"`` (the paper's) or ``"average"``.
        delta: radius of the certificate computed at the output (exact gradients, counted apart).
    """

    lr: float = 0.01
    smoothing: float | None = None
    batch: int = 16
    inner_batch: int = 4
    period: int = 4
    output: str = "last"

    order = "zero-order"
    rate = "O(d^{3/2} δ^-1 ε^-3) function evaluations (Chen–Xu–Luo 2023)"

    def _validate(self):
        check_positive("GFMPlus", "lr", self.lr)
        if self.smoothing is not None:
            check_positive("GFMPlus", "smoothing", self.smoothing)
        check_count("GFMPlus", "batch", self.batch)
        check_count("GFMPlus", "inner_batch", self.inner_batch)
        check_count("GFMPlus", "period", self.period)
        check_choice("GFMPlus", "output", self.output, OUTPUTS)

    def _run(self, problem, x0, calls, rng, record):
        rho = float(self.delta if self.smoothing is None else self.smoothing)
        d, lr = x0.shape[0], float(self.lr)
        b, bi, q = int(self.batch), int(self.inner_batch), int(self.period)
        x, x_prev, v = x0.copy(), None, None
        trace = Trace()
        history = {"x": [], "estimate": []} if record else None
        candidates = []
        t = 0
        while True:
            if t % q == 0:
                if calls.remaining < 2 * b:
                    break
                v = two_point_estimate(calls, x, rho, sphere_directions(rng, b, d))
            else:
                if calls.remaining < 4 * bi:
                    break
                W = sphere_directions(rng, bi, d)
                v = v + two_point_estimate(calls, x, rho, W) - two_point_estimate(calls, x_prev, rho, W)
            if self.output != "last":
                candidates.append(x)
            x_prev, x = x, x - lr * v
            t += 1
            trace.add(calls.used)
            if record:
                history["x"].append(x)
                history["estimate"].append(v)
        if t == 0:
            raise BudgetTooSmall(f"GFMPlus: `budget` must allow one checkpoint (2·batch = {2 * b} evaluations)",
                                 2 * b)
        return RunOutput(point=select_output(self.output, candidates, x, rng), certificate=None, trace=trace,
                         history=history, stopped="budget")
