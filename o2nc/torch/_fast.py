"""Multi-tensor (``torch._foreach_*``) kernels for the hot learners (selected by the learner's type), checked against
the core learners in the tests.

Each kernel mirrors, operation for operation, the learner's own ``predict``/``update`` of ``online_learners`` on a
list of parameters (one group, global norms over the group), but updates the state tensors in place with one
multi-tensor call per operation instead of one Python-level call per parameter and operation. The for-loop path of
:class:`o2nc.torch.O2NC` (the core learner, out of place) is the ground truth; ``tests/test_torch_optim_foreach.py``
holds every kernel to it in float64 on mixed shapes, a frozen layer, None gradients and a zero-size parameter.

A kernel sees the group's state as two dicts: ``per`` maps a state field (its dotted path in the learner's NamedTuple
state, e.g. ``"delta"``) to the list of that field's tensors for the parameters being stepped, and ``shared`` maps a
field to its group-level value (0-d tensors such as a step count). ``update`` mutates the lists in place and returns
the new ``shared`` dict.

:func:`blocked_step` runs a whole O2NC step (anchor recovery, the learner's update, the next weights) block by block
over the parameters (:data:`BLOCK` elements at a time), so that the step's several element-wise passes find their
operands in the CPU cache: on a 10M-parameter model this cuts the step to about what SGD with momentum (OGD) or less
than Adam (KT) costs. The optimizer takes it whenever nothing else happens in the step (no stored anchor, no epoch
averaging, no restart at this step, one lag for all parameters); the results are the pass-by-pass ones, bit for bit
(to rounding with a projection, whose norm is summed per tensor or chunk in a read-only first sweep).
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from online_learners import KT, OGD, AdaGradNorm

__all__ = ["Kernel", "kernel_for", "blocked_step", "axpy_", "global_norm", "sq_norms"]


def global_norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    """‖(t_1, …, t_k)‖₂ of the concatenation, a 0-d tensor: √(Σ_i ‖t_i‖²) from per-tensor norms."""
    norms = torch._foreach_norm(tensors)
    return torch.linalg.vector_norm(torch.stack(norms))


def sq_norms(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """‖t_i‖² for every i, as 0-d tensors: an inner product per tensor (one read, BLAS-vectorised on the CPU, about
    twice as fast there as ``torch._foreach_norm``, which also takes a square root). Non-contiguous tensors use
    ``vdot`` of their ``reshape``. A square can overflow where the norm does not: callers that must tell a huge
    gradient from a non-finite one re-check with norms when a sum is not finite."""
    out = []
    for t in tensors:
        flat = t.reshape(-1)
        out.append(torch.dot(flat, flat))
    return out


def axpy_(ys: list[torch.Tensor], xs: list[torch.Tensor], coef) -> None:
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
                 add_play: Callable | None = None, blocked: Callable | None = None, uses_grad_sq=False):
        self.update_uses_play = update_uses_play  # the update needs Δ_t (e.g. the KT bet), computed once
        self.play = play
        self.update = update
        self.fields = fields
        self.shared_fields = shared_fields
        self._add_play = add_play
        # blocked(learner, per, shared, plan, params, grads, lag, coef, grad_sq) -> new shared: the whole step
        # (x_n, update, w_{n+1}) block by block, see blocked_step
        self.blocked = blocked
        self.uses_grad_sq = uses_grad_sq  # the update reads ‖g_t‖² of the group

    def add_play_(self, learner, per, shared, ys: list[torch.Tensor], coef, scratch=None) -> None:
        """y_i ← y_i + coef·Δ_{t,i}; ``scratch`` (optional) is a list of dead tensors shaped like ``ys`` to reuse
        (fresh temporaries of parameter size cost page faults on the CPU)."""
        if self._add_play is not None:
            self._add_play(learner, per, shared, ys, coef, scratch)
        else:
            axpy_(ys, self.play(learner, per, shared), coef)


# --- projected online gradient descent (online_learners.OGD) ------------------------------------------------------


def _project_(deltas: list[torch.Tensor], radius) -> None:
    """Π_{‖·‖≤D}(v) = v · D/max(‖v‖, D) in place (Zinkevich 2003; the core's ``tree_project_ball``). On the CPU the
    norm is taken with float64 squares, as the blocked step's (:func:`_step_norm_by_sweep`): a float32 v whose squares
    overflow still has its finite norm, so the play lands on the sphere instead of collapsing to 0."""
    if radius is None or not deltas:
        return
    if deltas[0].device.type == "cpu":
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(d, dtype=torch.float64)
                                                     for d in deltas]))
    else:
        norm = global_norm(deltas)
    bound = torch.as_tensor(radius, dtype=norm.dtype, device=norm.device)
    torch._foreach_mul_(deltas, (bound / torch.maximum(norm, bound)).to(deltas[0].dtype))


def _ogd_play(learner, per, shared):
    return per["delta"]


def _ogd_rate(learner, shared, grad_sq, dtype=None):
    """(η_t, new shared): η_t = lr or lr/√t (OGD's docstring; Zinkevich 2003); t, an integer counter, is taken in
    the parameters' ``dtype`` as the learner does (``tree.count_as``)."""
    count = shared["count"] + 1
    if not learner.anytime:
        return learner.lr, {"count": count}
    t = count.to(dtype) if dtype is not None and not count.is_floating_point() else count
    return learner.lr / torch.sqrt(t), {"count": count}


def _ogd_update(learner, per, shared, grads, played, grad_sq):
    """Δ_{t+1} = Π(Δ_t − η_t g_t)."""
    deltas = per["delta"]
    step, new_shared = _ogd_rate(learner, shared, grad_sq, deltas[0].dtype if deltas else None)
    axpy_(deltas, grads, -step)
    _project_(deltas, learner.radius)
    return new_shared


# --- AdaGrad-norm (online_learners.AdaGradNorm) -------------------------------------------------------------------


def _agn_rate(learner, shared, grad_sq, dtype=None):
    """V_t = V_{t−1} + ‖g_t‖², η_t = c·D/√V_t (0 while V_t = 0) (Streeter & McMahan 2010)."""
    sum_sq = shared["sum_sq"] + grad_sq
    positive = sum_sq > 0
    step = torch.where(positive, learner.scale * learner.radius / torch.sqrt(torch.where(positive, sum_sq, 1.0)), 0.0)
    return step, {"sum_sq": sum_sq}


def _agn_update(learner, per, shared, grads, played, grad_sq):
    """Δ_{t+1} = Π_D(Δ_t − η_t g_t)."""
    step, new_shared = _agn_rate(learner, shared, grad_sq)
    deltas = per["delta"]
    axpy_(deltas, grads, -step)
    _project_(deltas, learner.radius)
    return new_shared


def _step_norm_by_products(plan, deltas, grads, step, grad_sq):
    """‖Δ − ηg‖ from inner products, ‖Δ‖² − 2η⟨Δ, g⟩ + η²‖g‖², in one read-only sweep (‖g‖² is ``grad_sq`` when
    given). It loses no accuracy where a projection onto the ball of radius D acts: there ‖Δ − ηg‖ > D ≥ ‖Δ‖, so
    η‖g‖ ≤ 2‖Δ − ηg‖ and every term is at most 4‖Δ − ηg‖². Its squares can overflow where the norm does not:
    the result is then not finite."""
    dd, dg, gg = [], [], []
    for block in plan:
        for d, g in zip(_take(deltas, block), _take(grads, block)):
            fd, fg = d.reshape(-1), g.reshape(-1)
            dd.append(torch.dot(fd, fd))
            dg.append(torch.dot(fd, fg))
            if grad_sq is None:
                gg.append(torch.dot(fg, fg))
    g_sq = grad_sq if grad_sq is not None else torch.stack(gg).sum()
    sq = torch.stack(dd).sum() - 2.0 * step * torch.stack(dg).sum() + step * step * g_sq
    return torch.sqrt(torch.clamp(sq, min=0.0))


def _step_norm_by_sweep(plan, deltas, grads, step):
    """‖Δ − ηg‖ from Δ − ηg formed block by block in a block-sized scratch; on the CPU the norms are taken with
    float64 squares, so that a float32 difference whose squares overflow still has its finite norm."""
    wide = torch.float64 if deltas[0].device.type == "cpu" else None
    norms = []
    scratch = None
    for block in plan:
        for d, g in zip(_take(deltas, block), _take(grads, block)):
            if d.numel() == 0:
                norms.append(torch.linalg.vector_norm(d, dtype=wide))
                continue
            if scratch is None or scratch.numel() < d.numel():
                scratch = torch.empty(d.numel(), dtype=d.dtype, device=d.device)
            t = scratch[: d.numel()].view(d.shape)
            if isinstance(step, torch.Tensor):
                torch.addcmul(d, g, -step, out=t)
            else:
                torch.add(d, g, alpha=-step, out=t)
            norms.append(torch.linalg.vector_norm(t, dtype=wide))
    return torch.linalg.vector_norm(torch.stack(norms)).to(deltas[0].dtype)


def _descent_blocked(rate, learner, per, shared, plan, params, grads, lag, coef, grad_sq):
    """The blocked step of projected gradient descent on Δ (OGD, AdaGrad-norm): x_n = w_n + lag·Δ_n,
    Δ_{n+1} = Π(Δ_n − η g_n), w_{n+1} = x_n + coef·Δ_{n+1}. With a radius, a first read-only sweep takes the norm of
    Δ_n − η g_n without forming it (:func:`_step_norm_by_products`; on an accelerator, or where its squares
    overflow on the CPU, by forming it in a block-sized scratch), so that the second writes every buffer once, as
    without a radius."""
    deltas = per["delta"]
    step, new_shared = rate(learner, shared, grad_sq, deltas[0].dtype if deltas else None)
    radius = learner.radius
    factor = None
    if radius is not None and deltas:
        norm = None
        if deltas[0].device.type == "cpu" and deltas[0].dtype in (torch.float32, torch.float64):
            norm = _step_norm_by_products(plan, deltas, grads, step, grad_sq)
            if not bool(torch.isfinite(norm)):  # a host read, as the CPU finiteness check makes
                norm = None
        if norm is None:
            norm = _step_norm_by_sweep(plan, deltas, grads, step)
        bound = torch.as_tensor(radius, dtype=norm.dtype, device=norm.device)
        factor = bound / torch.maximum(norm, bound)
    recover = isinstance(lag, torch.Tensor) or lag != 0.0
    for block in plan:
        p, d, g = _take(params, block), _take(deltas, block), _take(grads, block)
        if recover:
            axpy_(p, d, lag)
        axpy_(d, g, -step)
        if factor is not None:
            torch._foreach_mul_(d, factor)
        axpy_(p, d, coef)
    return new_shared


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


def _clipped_coins(learner, per, grads):
    coins = torch._foreach_div(grads, -float(learner.lipschitz))
    for c in coins:  # one two-sided clamp per tensor: one pass where the foreach clamps take two
        c.clamp_(-1.0, 1.0)
    return coins


def _scale_free_coins(learner, per, grads):
    """``lipschitz=None``: h_t = max(h_{t−1}, |g_t|) in place, c_t = −g_t/h_t (0 where h_t = 0)."""
    coins = []
    for h, g in zip(per["scale"], grads):
        torch.maximum(h, g.abs(), out=h)
        positive = h > 0
        c = torch.neg(g).div_(torch.where(positive, h, 1.0))
        coins.append(c.masked_fill_(positive.logical_not_(), 0.0))
    return coins


def _kt_bet_(coin_fn, learner, per, grads, bets) -> None:
    """X_t = X_{t−1} + c_t; W_t = W_{t−1} + c_t w_t, with w_t = ``bets`` (KT's docstring)."""
    coins = coin_fn(learner, per, grads)
    torch._foreach_add_(per["coin_sum"], coins)
    torch._foreach_addcmul_(per["wealth"], coins, bets)


def _kt_updater(coin_fn):
    def update(learner, per, shared, grads, played, grad_sq):
        bets = played if played is not None else _kt_play(learner, per, shared)
        _kt_bet_(coin_fn, learner, per, grads, bets)
        return {"count": shared["count"] + 1}

    return update


def _kt_blocked_for(coin_fn):
    def blocked(learner, per, shared, plan, params, grads, lag, coef, grad_sq):
        """Per block: the bet w_n (Δ_n), x_n = w_n + lag·Δ_n, the coins and the new X and W, then
        w_{n+1} = x_n + coef·Δ_{n+1}, with the bet's buffer reused for Δ_{n+1}'s ratio; the counts formed once."""
        n1 = shared["count"] + 1  # t + 1 of the bet w_n = X/(t+1)·W, and the new count
        now = {"count": n1}
        recover = isinstance(lag, torch.Tensor) or lag != 0.0
        for block in plan:
            per_b = {f: _take(v, block) for f, v in per.items()}
            p = _take(params, block)
            bets = torch._foreach_div(per_b["coin_sum"], n1)
            torch._foreach_mul_(bets, per_b["wealth"])
            if recover:
                axpy_(p, bets, lag)
            _kt_bet_(coin_fn, learner, per_b, _take(grads, block), bets)
            _kt_add_play(learner, per_b, now, p, coef, bets)
        return now

    return blocked


_KERNELS: dict[type, list[Kernel]] = {}  # by learner class (the class itself, not a subclass or a name)


def _register(cls: type, kernel: Kernel) -> None:
    _KERNELS.setdefault(cls, []).append(kernel)


_register(OGD, Kernel(_ogd_play, _ogd_update, ("delta",), ("count",),
                      blocked=lambda *a: _descent_blocked(_ogd_rate, *a)))
_register(AdaGradNorm, Kernel(_ogd_play, _agn_update, ("delta",), ("sum_sq",), uses_grad_sq=True,
                              blocked=lambda *a: _descent_blocked(_agn_rate, *a)))
_register(KT, Kernel(_kt_play, _kt_updater(_clipped_coins), ("coin_sum", "wealth"), ("count",),
                     update_uses_play=True, add_play=_kt_add_play, blocked=_kt_blocked_for(_clipped_coins)))
_register(KT, Kernel(_kt_play, _kt_updater(_scale_free_coins), ("coin_sum", "scale", "wealth"), ("count",),
                     update_uses_play=True, add_play=_kt_add_play, blocked=_kt_blocked_for(_scale_free_coins)))


def kernel_for(learner, per_fields, shared_fields) -> Kernel | None:
    """The fast path for this learner's type, or None; the state layout must be the one the kernel was written for
    (KT's layout differs with and without a known gradient bound)."""
    for kernel in _KERNELS.get(type(learner), ()):
        if tuple(sorted(per_fields)) == tuple(sorted(kernel.fields)) and \
                tuple(sorted(shared_fields)) == tuple(sorted(kernel.shared_fields)):
            return kernel
    return None


# --- the blocked step ---------------------------------------------------------------------------------------------

BLOCK = 1 << 18
"""Elements per block of :func:`blocked_step` (about 1 MiB per float32 operand): a block's operands and temporaries
stay in the CPU cache while all of a step's element-wise passes run over it, so each parameter-sized buffer crosses
the memory bus about once per step instead of once per pass."""


def _plan(tensors: list[list[torch.Tensor]]) -> list[list]:
    """Blocks of about :data:`BLOCK` elements: consecutive whole tensors, and the contiguous tensors over twice that
    size cut into flat chunks of BLOCK elements (a multiple of every vector width). A block is a list of
    (index, slice or None)."""
    first = tensors[0]
    blocks, current, filled = [], [], 0
    for i, t in enumerate(first):
        n = t.numel()
        if n > 2 * BLOCK and all(ts[i].is_contiguous() for ts in tensors):
            if current:
                blocks.append(current)
                current, filled = [], 0
            blocks.extend([(i, slice(a, min(a + BLOCK, n)))] for a in range(0, n, BLOCK))
            continue
        current.append((i, None))
        filled += n
        if filled >= BLOCK:
            blocks.append(current)
            current, filled = [], 0
    if current:
        blocks.append(current)
    return blocks


def _take(ts: list[torch.Tensor], block: list) -> list[torch.Tensor]:
    return [ts[i] if sl is None else ts[i].view(-1)[sl] for i, sl in block]


def blocked_step(kernel: Kernel, learner, per, shared, params, grads, lag, coef, grad_sq):
    """One O2NC step of a group, block by block: x_n = w_n + lag·Δ_n, the learner's update with g_n, and
    w_{n+1} = x_n + coef·Δ_{n+1}, all in place in ``params`` and the state lists ``per``; returns the new ``shared``.

    The same element-wise operations as the pass-by-pass path, in the same order for every element, so the results
    are bit-identical to it; only the order in which the elements are visited changes (with a projection, the norm
    of Δ is summed per block: a rounding-level difference where a tensor is cut into chunks)."""
    plan = _plan([params, grads] + list(per.values()))
    return kernel.blocked(learner, per, shared, plan, params, grads, lag, coef, grad_sq)
