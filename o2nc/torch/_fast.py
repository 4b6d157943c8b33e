"""Multi-tensor (``torch._foreach_*``) kernels for the hot learners, checked against the core learners in the tests.

Each kernel mirrors, operation for operation, the learner's own ``predict``/``update`` of ``online_learners`` on a
list of parameters (one group, global norms over the group), but updates the state tensors in place with one
multi-tensor call per operation instead of one Python-level call per parameter and operation. The for-loop path of
:class:`o2nc.torch.O2NC` (the core learner, out of place) is the ground truth; ``tests/test_torch_optim_foreach.py``
holds every kernel to it in float64 on mixed shapes, a frozen layer, None gradients and a zero-size parameter.

A kernel sees the group's state as two dicts: ``per`` maps a state field (its dotted path in the learner's NamedTuple
state, e.g. ``"delta"``) to the list of that field's tensors for the parameters being stepped, and ``shared`` maps a
field to its group-level value (0-d tensors such as a step count). ``update`` mutates the lists in place and returns
the new ``shared`` dict.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional

import torch

__all__ = ["Kernel", "kernel_for", "axpy_", "global_norm", "sq_norms"]


def global_norm(tensors: List[torch.Tensor]) -> torch.Tensor:
    """‖(t_1, …, t_k)‖₂ of the concatenation, a 0-d tensor: √(Σ_i ‖t_i‖²) from per-tensor norms."""
    norms = torch._foreach_norm(tensors)
    return torch.linalg.vector_norm(torch.stack(norms))


def sq_norms(tensors: List[torch.Tensor]) -> List[torch.Tensor]:
    """‖t_i‖² for every i, as 0-d tensors: an inner product per tensor (one read, BLAS-vectorised on the CPU, about
    twice as fast there as ``torch._foreach_norm``, which also takes a square root). Non-contiguous tensors use
    ``vdot`` of their ``reshape``. A square can overflow where the norm does not: callers that must tell a huge
    gradient from a non-finite one re-check with norms when a sum is not finite."""
    out = []
    for t in tensors:
        flat = t.reshape(-1)
        out.append(torch.dot(flat, flat))
    return out


def axpy_(ys: List[torch.Tensor], xs: List[torch.Tensor], coef) -> None:
    """y_i ← y_i + coef · x_i for every i; ``coef`` a Python number or a 0-d tensor (no host sync either way)."""
    if not ys:
        return
    if isinstance(coef, torch.Tensor):
        torch._foreach_addcmul_(ys, xs, [coef] * len(xs))
    elif coef != 0:
        torch._foreach_add_(ys, xs, alpha=coef)


class Kernel:
    """A fast path: ``play`` gives Δ_t as a list of tensors, ``update`` applies the loss ⟨g_t, ·⟩ in place, and
    ``add_play`` (optional) adds coef·Δ_t to a list of tensors without materialising Δ_t when Δ_t is a product."""

    def __init__(self, play: Callable, update: Callable, fields: tuple, shared_fields: tuple, update_uses_play=False,
                 add_play: Optional[Callable] = None):
        self.update_uses_play = update_uses_play  # the update needs Δ_t (e.g. the KT bet), computed once
        self.play = play
        self.update = update
        self.fields = fields
        self.shared_fields = shared_fields
        self._add_play = add_play

    def add_play_(self, learner, per, shared, ys: List[torch.Tensor], coef, scratch=None) -> None:
        """y_i ← y_i + coef·Δ_{t,i}; ``scratch`` (optional) is a list of dead tensors shaped like ``ys`` to reuse
        (fresh temporaries of parameter size cost page faults on the CPU)."""
        if self._add_play is not None:
            self._add_play(learner, per, shared, ys, coef, scratch)
        else:
            axpy_(ys, self.play(learner, per, shared), coef)


# --- projected online gradient descent (online_learners.OGD) ------------------------------------------------------


def _project_(deltas: List[torch.Tensor], radius) -> None:
    """Π_{‖·‖≤D}(v) = v · D/max(‖v‖, D) in place (Zinkevich 2003; the core's ``tree_project_ball``)."""
    if radius is None or not deltas:
        return
    norm = global_norm(deltas)
    bound = torch.as_tensor(radius, dtype=norm.dtype, device=norm.device)
    torch._foreach_mul_(deltas, bound / torch.maximum(norm, bound))


def _ogd_play(learner, per, shared):
    return per["delta"]


def _ogd_update(learner, per, shared, grads, played, grad_sq):
    """Δ_{t+1} = Π(Δ_t − η_t g_t), η_t = lr or lr/√t (OGD's docstring; Zinkevich 2003)."""
    count = shared["count"] + 1
    step = learner.lr / torch.sqrt(count) if learner.anytime else learner.lr
    deltas = per["delta"]
    axpy_(deltas, grads, -step)
    _project_(deltas, learner.radius)
    return {"count": count}


# --- AdaGrad-norm (online_learners.AdaGradNorm) -------------------------------------------------------------------


def _agn_update(learner, per, shared, grads, played, grad_sq):
    """V_t = V_{t−1} + ‖g_t‖², η_t = c·D/√V_t (0 while V_t = 0), Δ_{t+1} = Π_D(Δ_t − η_t g_t) (Streeter & McMahan 2010)."""
    sum_sq = shared["sum_sq"] + grad_sq
    positive = sum_sq > 0
    step = torch.where(positive, learner.scale * learner.radius / torch.sqrt(torch.where(positive, sum_sq, 1.0)), 0.0)
    deltas = per["delta"]
    axpy_(deltas, grads, -step)
    _project_(deltas, learner.radius)
    return {"sum_sq": sum_sq}


# --- Krichevsky–Trofimov coin betting per coordinate (online_learners.KT) -----------------------------------------


def _kt_play(learner, per, shared):
    """w_{t+1} = X_t/(t+1) · W_t per coordinate (Orabona & Pál 2016; KT's docstring)."""
    bets = torch._foreach_div(per["coin_sum"], shared["count"] + 1)
    torch._foreach_mul_(bets, per["wealth"])
    return bets


def _kt_add_play(learner, per, shared, ys, coef, scratch=None):
    """y ← y + coef · (X_t/(t+1)) · W_t in one ``addcmul`` pass after the division, without the product as a buffer
    (the same factors as :func:`_kt_play`; the product is associated as (coef·X_t/(t+1))·W_t, a rounding-level
    difference)."""
    if not ys:
        return
    if scratch is None:
        ratios = torch._foreach_div(per["coin_sum"], shared["count"] + 1)
    else:
        ratios, n1 = scratch, shared["count"] + 1
        for r, x in zip(ratios, per["coin_sum"]):
            torch.div(x, n1, out=r)
    if isinstance(coef, torch.Tensor):
        torch._foreach_mul_(ratios, coef)
        torch._foreach_addcmul_(ys, ratios, per["wealth"])
    elif coef != 0:
        torch._foreach_addcmul_(ys, ratios, per["wealth"], value=coef)


def _kt_update(learner, per, shared, grads, played, grad_sq):
    """c_t = clip(−g_t/G, −1, 1); X_t = X_{t−1} + c_t; W_t = W_{t−1} + c_t w_t (KT's docstring)."""
    bets = played if played is not None else _kt_play(learner, per, shared)
    coins = torch._foreach_div(grads, -float(learner.lipschitz))
    for c in coins:  # one two-sided clamp per tensor: one pass where the foreach clamps take two
        c.clamp_(-1.0, 1.0)
    torch._foreach_add_(per["coin_sum"], coins)
    torch._foreach_addcmul_(per["wealth"], coins, bets)
    return {"count": shared["count"] + 1}


_KERNELS: Dict[str, Kernel] = {}  # by class name, for the classes of the online_learners package


def _register(name: str, kernel: Kernel) -> None:
    _KERNELS[name] = kernel


_register("OGD", Kernel(_ogd_play, _ogd_update, ("delta",), ("count",)))
_register("AdaGradNorm", Kernel(_ogd_play, _agn_update, ("delta",), ("sum_sq",)))
_register("KT", Kernel(_kt_play, _kt_update, ("coin_sum", "wealth"), ("count",), update_uses_play=True,
                      add_play=_kt_add_play))


def kernel_for(learner, per_fields, shared_fields) -> Optional[Kernel]:
    """The fast path for this learner, or None; the state layout must be the one the kernel was written for."""
    cls = type(learner)
    if not cls.__module__.startswith("online_learners"):
        return None
    kernel = _KERNELS.get(cls.__name__)
    if kernel is None:
        return None
    if tuple(sorted(per_fields)) != tuple(sorted(kernel.fields)):
        return None
    if tuple(sorted(shared_fields)) != tuple(sorted(kernel.shared_fields)):
        return None
    return kernel
