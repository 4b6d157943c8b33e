"""The multi-tensor (``torch._foreach_*``) fast path of :class:`o2nc.torch.O2NC`: the plumbing around the kernels that
the learners declare beside their own ``predict``/``update`` (``multi_tensor_kernels`` on the learner's class,
:class:`online_learners.base.MultiTensorKernel`; e.g. ``online_learners/ogd.py``, ``adagrad_norm.py``,
``betting.py``), checked against the core learners in the tests.

:func:`kernel_for` selects a learner's kernel by the declaration of its own class and its state layout; a kernel
sees the group's state as two dicts (``per``: a field's list of tensors, ``shared``: group-level values) and updates
the lists in place. The for-loop path of :class:`o2nc.torch.O2NC` (the core learner, out of place) is the ground
truth; ``tests/test_torch_optim_foreach.py`` holds every declared kernel to it in float64 on mixed shapes, a frozen
layer, None gradients and a zero-size parameter.

:func:`blocked_step` runs a whole O2NC step (anchor recovery, the learner's update, the next weights) block by block
over the parameters (:data:`BLOCK` elements at a time), so that the step's several element-wise passes find their
operands in the CPU cache: on a 10M-parameter model this brings the step close to what SGD with momentum (OGD) or
Adam (KT) costs. It runs for learners whose kernel declares projected descent (``rate`` and ``descend``: OGD,
AdaGrad-norm) or a coordinatewise update with ``add_play`` (KT); the results are the pass-by-pass ones, bit for bit
(to rounding with a projection, whose norm is summed per tensor or chunk in a read-only first sweep).
"""
from __future__ import annotations

import torch

from o2nc.torch import _native
from online_learners.base import MultiTensorKernel, declared_kernels
from online_learners.ogd import _foreach_axpy_ as axpy_
from online_learners.ogd import _projection_factor

__all__ = ["Kernel", "kernel_for", "blocked_step", "blocked_recover", "axpy_", "global_norm", "grad_products"]


def global_norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    """‖(t_1, …, t_k)‖₂ of the concatenation, a 0-d tensor: √(Σ_i ‖t_i‖²) from per-tensor norms."""
    norms = torch._foreach_norm(tensors)
    return torch.linalg.vector_norm(torch.stack(norms))


def grad_products(grads: list[torch.Tensor], deltas: list[torch.Tensor] | None = None) -> tuple:
    """(‖g‖², ‖Δ‖², ⟨Δ, g⟩) summed over the lists, as 0-d tensors, in one read-only sweep block by block
    (:func:`_plan`): inner products (one read each, BLAS-vectorised on the CPU, about twice as fast there as
    ``torch._foreach_norm``), a block of g and Δ read from memory once for its products. Without ``deltas`` only ‖g‖²
    (the others None). ‖Δ‖² is taken from Δ at every step, never carried from the previous one: a carried value
    drifts by cancellation where ‖Δ − ηg‖ ≪ ‖Δ‖ and misses writes that bypass torch's version counter (``.data``,
    collectives), and its product costs no memory traffic here (the block of Δ is in the cache). A square can
    overflow where the norm does not: callers that must tell a huge gradient from a non-finite one re-check with
    norms when a sum is not finite."""
    if _native.fits(grads, deltas):
        sums = _native.product_tensors(grads, deltas)
        return (sums[0], None, None) if deltas is None else sums
    gg, dd, dg = [], [], []
    lists = [grads] if deltas is None else [grads, deltas]
    for block in _plan(lists):
        gs = _take(grads, block)
        ds = _take(deltas, block) if deltas is not None else [None] * len(gs)
        for g, d in zip(gs, ds):
            fg = g.reshape(-1)
            if d is not None:
                fd = d.reshape(-1)
                dg.append(torch.dot(fd, fg))
                dd.append(torch.dot(fd, fd))
            gg.append(torch.dot(fg, fg))
    total = torch.stack(gg).sum()
    if deltas is None:
        return total, None, None
    return total, torch.stack(dd).sum(), torch.stack(dg).sum()


class Kernel:
    """A learner's declared kernel (:class:`online_learners.base.MultiTensorKernel`) with the conversion's view of it:
    ``play``/``update`` as declared, ``add_play_`` (the declared one, or play and add), and ``blocked`` (the whole
    step block by block, or None where the declaration does not allow it)."""

    def __init__(self, declared: MultiTensorKernel):
        self.declared = declared
        self.play = declared.play
        self.update = declared.update
        self.fields = declared.fields
        self.shared_fields = declared.shared_fields
        self.update_uses_play = declared.update_uses_play  # the update needs Δ_t (e.g. the KT bet), computed once
        self.uses_grad_sq = declared.uses_grad_sq  # the update reads ‖g_t‖² of the group
        if declared.rate is not None and declared.descend is not None:
            self.blocked = _descent_blocked
        elif declared.coordinatewise and declared.add_play is not None and declared.update_uses_play:
            self.blocked = _coordinatewise_blocked
        else:
            self.blocked = None

    def add_play_(self, learner, per, shared, ys: list[torch.Tensor], coef, scratch=None) -> None:
        """y_i ← y_i + coef·Δ_{t,i}; ``scratch`` (optional) is a list of dead tensors shaped like ``ys`` to reuse
        (fresh temporaries of parameter size cost page faults on the CPU)."""
        if self.declared.add_play is not None:
            self.declared.add_play(learner, per, shared, ys, coef, scratch)
        else:
            axpy_(ys, self.play(learner, per, shared), coef)


_KERNELS: dict[int, Kernel] = {}  # id of a declaration -> its Kernel (declarations live as long as their class)


def kernel_for(learner, per_fields, shared_fields) -> Kernel | None:
    """The fast path that the learner's own class declares for this state layout, or None (KT's layout differs
    with and without a known gradient bound; a subclass declares its own kernels or has none)."""
    for declared in declared_kernels(learner):
        if tuple(sorted(per_fields)) == tuple(sorted(declared.fields)) and \
                tuple(sorted(shared_fields)) == tuple(sorted(declared.shared_fields)):
            kernel = _KERNELS.get(id(declared))
            if kernel is None or kernel.declared is not declared:
                kernel = _KERNELS[id(declared)] = Kernel(declared)
            return kernel
    return None


# --- projected descent (OGD, AdaGrad-norm): the norm of Δ − ηg, then one writing sweep ------------------------------


def _combine(dd, dg, gg, step):
    """‖Δ − ηg‖ = √(‖Δ‖² − 2η⟨Δ, g⟩ + η²‖g‖²) (clamped at 0 against rounding)."""
    return torch.sqrt(torch.clamp(dd - 2.0 * step * dg + step * step * gg, min=0.0))


def _step_norm_by_products(plan, deltas, grads, step, grad_sq):
    """‖Δ − ηg‖ from inner products, ‖Δ‖² − 2η⟨Δ, g⟩ + η²‖g‖², in one read-only sweep (‖g‖² is ``grad_sq`` when
    given). It loses no accuracy where a projection onto the ball of radius D acts: there ‖Δ − ηg‖ > D ≥ ‖Δ‖, so
    η‖g‖ ≤ 2‖Δ − ηg‖ and every term is at most 4‖Δ − ηg‖². Its squares can overflow where the norm does not:
    the result is then not finite."""
    if _native.fits(deltas, grads):
        g_sq, d_sq, dg_sum = _native.product_tensors(grads, deltas)
        return _combine(d_sq, dg_sum, grad_sq if grad_sq is not None else g_sq, step)
    dd, dg, gg = [], [], []
    for block in plan:
        for d, g in zip(_take(deltas, block), _take(grads, block)):
            fd, fg = d.reshape(-1), g.reshape(-1)
            dd.append(torch.dot(fd, fd))
            dg.append(torch.dot(fd, fg))
            if grad_sq is None:
                gg.append(torch.dot(fg, fg))
    g_sq = grad_sq if grad_sq is not None else torch.stack(gg).sum()
    return _combine(torch.stack(dd).sum(), torch.stack(dg).sum(), g_sq, step)


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


def _add_sums(sums, block, params, grads) -> None:
    """The epoch sums Σw += w_n, Σg += g_n on one block (``sums`` = (w sums, g sums), or None)."""
    if sums is not None:
        axpy_(_take(sums[0], block), params, 1.0)
        axpy_(_take(sums[1], block), grads, 1.0)


def _sq_sum(tensors: list[torch.Tensor], out: list) -> None:
    for t in tensors:
        flat = t.reshape(-1)
        out.append(torch.dot(flat, flat))


def _descent_blocked(declared, learner, per, shared, plan, params, grads, lag, coef, grad_sq, sums, products):
    """The blocked step of projected gradient descent on Δ: x_n = w_n + lag·Δ_n, Δ_{n+1} = Π(Δ_n − η g_n) with the
    learner's ``rate`` and ``descend``, w_{n+1} = x_n + coef·Δ_{n+1}. With a radius the norm of Δ_n − η g_n comes
    first, without forming it: from ``products`` (‖g‖², ‖Δ‖², ⟨Δ, g⟩, taken by the caller's read of g) or a
    read-only sweep of its own (:func:`_step_norm_by_products`); on an accelerator, or where its squares overflow on
    the CPU, by forming it in a block-sized scratch; so the writing sweep touches every buffer once, as without a
    radius. Where the projection leaves Δ − ηg as it is (factor 1, read on the CPU, where the norm's finiteness is
    read anyway) the multiplication by 1 is skipped: the same values.

    Returns (new shared, ‖Δ_{n+1}‖ with the sums, else None). Where the projection acts, ‖Π(v)‖ = ‖v‖·D/‖v‖ from the
    norm it took, as the core carries it for the path (``online_learners.tree.tree_project_ball_norm``,
    ``OGD.update_and_norm``, ``o2nc.conversion.step``): there ‖v‖ > D ≥ ‖Δ‖ and the inner-product form is accurate
    (:func:`_step_norm_by_products`). Where it does not act, the inner-product form cancels when ‖v‖ ≪ ‖Δ‖, so the
    norm comes from the per-block squares of Δ_{n+1} in the writing sweep (in the cache), as without a radius."""
    deltas = per["delta"]
    step, new_shared = declared.rate(learner, shared, grad_sq, deltas[0].dtype if deltas else None)
    radius = learner.radius
    factor = play_norm = None
    if radius is not None and deltas:
        norm = None
        on_cpu = deltas[0].device.type == "cpu"
        if on_cpu and deltas[0].dtype in (torch.float32, torch.float64):
            if products is not None:
                gg, dd, dg = products
                norm = _combine(dd, dg, gg, step)
            else:
                norm = _step_norm_by_products(plan, deltas, grads, step, grad_sq)
            if not bool(torch.isfinite(norm)):  # a host read, as the CPU finiteness check makes
                norm = None
        if norm is None:
            norm = _step_norm_by_sweep(plan, deltas, grads, step)
        factor = _projection_factor(norm, radius)
        if on_cpu and float(factor) == 1.0:
            factor = None
        elif on_cpu:  # the projection acts: ‖Π(v)‖ = D up to the rounding of ‖v‖·(D/‖v‖)
            play_norm = norm * factor
    if declared.fused == "descent" and _native.fits(params, deltas, grads, *(sums or ())):
        want_sq = sums is not None and play_norm is None
        total = _native.descent_step(params, deltas, grads, lag, step, factor, coef, sums, want_sq)
        if total is not None:  # else nothing was written (operands share memory): the ATen passes below
            if not want_sq:
                return new_shared, play_norm
            norm = _native.norm_from_squares(total, deltas[0].dtype)
            return new_shared, norm if norm is not None else global_norm(deltas)
    recover = isinstance(lag, torch.Tensor) or lag != 0.0
    squares = [] if sums is not None and play_norm is None else None
    for block in plan:
        p, d, g = _take(params, block), _take(deltas, block), _take(grads, block)
        _add_sums(sums, block, p, g)
        if recover:
            axpy_(p, d, lag)
        declared.descend(d, g, step, factor)
        if squares is not None:
            _sq_sum(d, squares)
        axpy_(p, d, coef)
    if sums is None:
        return new_shared, None
    return new_shared, (play_norm if squares is None else _total(squares, deltas))


def _total(squares, deltas):
    """‖Δ_{n+1}‖ from the per-block squares; by norms where the sum of squares is not finite (a float32 overflow) or
    off the CPU."""
    if not deltas:
        return torch.zeros(())
    if deltas[0].device.type == "cpu":
        total = torch.sqrt(torch.stack(squares).sum())
        if bool(torch.isfinite(total)):
            return total
    return global_norm(deltas)


# --- coordinatewise learners (KT): the whole step per block ----------------------------------------------------------


def _coordinatewise_blocked(declared, learner, per, shared, plan, params, grads, lag, coef, grad_sq, sums, products):
    """Per block: the play Δ_n, x_n = w_n + lag·Δ_n, the learner's update with Δ_n, then w_{n+1} = x_n + coef·Δ_{n+1}
    with the play's buffer reused as scratch (or, when the sums ask for ‖Δ_{n+1}‖, Δ_{n+1} formed per block). KT's
    step runs as one fused sweep per tensor where :mod:`o2nc.torch._native` can take it."""
    if declared.fused == "kt" and _native.fits(params, grads, *per.values(), *(sums or ())):
        total = _native.kt_step(learner, per, shared["count"], params, grads, lag, coef, sums, sums is not None)
        if total is not None:  # else nothing was written (operands share memory): the ATen passes below
            new_shared = {"count": shared["count"] + 1}  # as KT's declared update returns it
            if sums is None:
                return new_shared, None
            norm = _native.norm_from_squares(total, params[0].dtype)
            return new_shared, norm if norm is not None else global_norm(declared.play(learner, per, new_shared))
    recover = isinstance(lag, torch.Tensor) or lag != 0.0
    new_shared = shared
    squares = [] if sums is not None else None
    for block in plan:
        per_b = {f: _take(v, block) for f, v in per.items()}
        p, g = _take(params, block), _take(grads, block)
        _add_sums(sums, block, p, g)
        played = declared.play(learner, per_b, shared)
        if recover:
            axpy_(p, played, lag)
        new_shared = declared.update(learner, per_b, shared, g, played, grad_sq)
        if squares is None:
            declared.add_play(learner, per_b, new_shared, p, coef, played)
        else:
            nxt = declared.play(learner, per_b, new_shared)
            _sq_sum(nxt, squares)
            axpy_(p, nxt, coef)
    if squares is None:
        return new_shared, None
    if params and params[0].device.type != "cpu":
        return new_shared, global_norm(declared.play(learner, per, new_shared))
    total = torch.sqrt(torch.stack(squares).sum()) if squares else torch.zeros(())
    if not bool(torch.isfinite(total)):
        total = global_norm(declared.play(learner, per, new_shared))
    return new_shared, total


# --- the blocked step ---------------------------------------------------------------------------------------------

BLOCK = 1 << 17
"""Elements per block of :func:`blocked_step` (512 KiB per float32 operand): a block's operands and temporaries stay
in the CPU cache (a core's L2 of 2 MiB holds a step's three or four operands of a block) while all of a step's
element-wise passes run over it, so each parameter-sized buffer crosses the memory bus about once per step instead of
once per pass. Measured on a 10M-parameter model in 50 tensors: 1 << 17 is faster than 1 << 18 (whose blocks of two
tensors spill out of L2) and than 1 << 16 (each block's operations have a fixed cost)."""


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


class _LazyPlan:
    """The blocks of :func:`_plan`, made at the first iteration over them (the fused sweeps need none)."""

    def __init__(self, lists):
        self.lists, self.blocks = lists, None

    def __iter__(self):
        if self.blocks is None:
            self.blocks = _plan(self.lists)
        return iter(self.blocks)


def _take(ts: list[torch.Tensor], block: list) -> list[torch.Tensor]:
    return [ts[i] if sl is None else ts[i].view(-1)[sl] for i, sl in block]


def blocked_step(kernel: Kernel, learner, per, shared, params, grads, lag, coef, grad_sq, *, sums=None,
                 products=None) -> tuple:
    """One O2NC step of a group, block by block: x_n = w_n + lag·Δ_n, the learner's update with g_n, and
    w_{n+1} = x_n + coef·Δ_{n+1}, all in place in ``params`` and the state lists ``per``; with ``sums`` = (w sums,
    g sums) also Σw += w_n and Σg += g_n in the same pass. ``products``: (‖g‖², ‖Δ‖², ⟨Δ, g⟩) of this step when the
    caller took them (:func:`grad_products`), for a projection's norm. Returns the new ``shared`` and, with ``sums``,
    ‖Δ_{n+1}‖ (for the path length; else None).

    The same element-wise operations as the pass-by-pass path, in the same order for every element, so the results
    are bit-identical to it; only the order in which the elements are visited changes (with a projection, the norm
    of Δ is summed per block: a rounding-level difference where a tensor is cut into chunks; ‖Δ_{n+1}‖ is summed from
    per-block squares, one rounding apart from the pass-by-pass norm)."""
    lists = [params, grads] + list(per.values()) + (list(sums) if sums is not None else [])
    plan = _LazyPlan(lists)
    return kernel.blocked(kernel.declared, learner, per, shared, plan, params, grads, lag, coef, grad_sq, sums,
                          products)


def blocked_recover(kernel: Kernel, learner, per, shared, params, grads, lag, sums=None) -> None:
    """The part of a step that a restart keeps, block by block: Σw += w_n, Σg += g_n (``sums``, or None) and
    x_n = w_n + lag·Δ_n into ``params``. The learner's update is skipped: the restart discards it."""
    recover = isinstance(lag, torch.Tensor) or lag != 0.0
    if not recover and sums is None:
        return
    plan = _plan([params, grads] + list(per.values()) + (list(sums) if sums is not None else []))
    for block in plan:
        p = _take(params, block)
        _add_sums(sums, block, p, _take(grads, block))
        if recover:
            axpy_(p, kernel.play(learner, {f: _take(v, block) for f, v in per.items()}, shared), lag)
