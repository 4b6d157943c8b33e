"""The O2NC step of one param group as functions of plain tensors, lists and the group's hyperparameters and state.

:class:`o2nc.torch.O2NC` checks its arguments, initialises the state, gathers each group's parameters, gradients
and state, and calls :func:`o2nc`, which dispatches to :func:`_single_tensor_o2nc` (the for-loop reference: one step
of the conversion core, :mod:`o2nc.conversion.step`) or :func:`_multi_tensor_o2nc` (the learner's multi-tensor
kernel, declared beside the learner and driven by :mod:`o2nc.torch._fast`, held to the reference by the tests).
The update is the one documented on :class:`o2nc.torch.O2NC` ([CMO23] = Cutkosky, Mehta, Orabona, ICML 2023,
arXiv 2302.03775, Algorithm 1).

State, as the class keeps it: ``states`` holds one dict per parameter (the learner's parameter-shaped state under
``"learner.<field>"``, the lag x_n − w_n = lag·Δ_n, and the anchor, epoch sums or EMA when asked for) and
``group_state`` the group's counters, norms and the learner's shared leaves; both are updated in place.
"""
from __future__ import annotations

import functools
from typing import Any

import torch

from o2nc.conversion import epoch as _epoch
from o2nc.conversion import step as _core
from o2nc.conversion.scaling import Scaling, coefficients
from o2nc.torch import _fast, _native
from o2nc.torch._layout import _LEARNER, Layout, _Leaves, learner_lists, learner_state, store_learner_state
from online_learners.tree import accumulator_like, tree_norm, tree_norm_wide

__all__ = ["o2nc", "lag", "host", "default_foreach", "vector_norm"]


def host(lag_tensor):
    """A lag as the kernels take it: a Python float for a CPU tensor (no device sync), else the tensor itself."""
    return float(lag_tensor) if lag_tensor.device.type == "cpu" else lag_tensor


def _is_zero(coef) -> bool:
    return not isinstance(coef, torch.Tensor) and coef == 0.0


def lag(s: float, lr, full_step: bool) -> torch.Tensor:
    """x_n − w_n = lag · Δ_n as a 0-d tensor: (1 − s) lr for the full-step scalings (0 for ``none``, s = 1), 0 for
    exponential (:mod:`o2nc.conversion.scaling`). A float lr gives a float64 CPU tensor (read back on the host without
    a device sync); a tensor lr keeps its dtype and device."""
    value = (1.0 - s) * lr if full_step and s != 1.0 else 0.0
    if isinstance(value, torch.Tensor):
        return value.detach().reshape(())
    return torch.tensor(value, dtype=torch.float64)


def default_foreach(params: list[torch.Tensor]) -> bool:
    """The multi-tensor path by default: whenever the parameters are plain dense tensors on the CPU or CUDA."""
    return all(type(p) in _native.PLAIN_TYPES and (p.is_cpu or p.is_cuda) for p in params)


def vector_norm(xs, foreach: bool):
    """‖(x_1, …, x_k)‖₂ of the concatenation, a 0-d tensor."""
    if foreach:
        return _fast.global_norm(list(xs))
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(x) for x in xs]))


def _add_(ys, xs, coef, foreach: bool) -> None:
    """y ← y + coef·x (coef a Python number or a 0-d tensor)."""
    if foreach:
        _fast.axpy_(ys, xs, coef)
        return
    for y, x in zip(ys, xs):
        if isinstance(coef, torch.Tensor):
            y.addcmul_(x, coef)
        elif coef != 0:
            y.add_(x, alpha=coef)


def _scale_(ys, factor, foreach: bool) -> None:
    """y ← factor·y (factor a Python number or a 0-d tensor)."""
    if foreach and ys:
        torch._foreach_mul_(ys, factor)
    else:
        for y in ys:
            y.mul_(factor)


def _copy_(ys, xs, foreach: bool) -> None:
    if foreach and ys:
        torch._foreach_copy_(ys, xs)
    else:
        for y, x in zip(ys, xs):
            y.copy_(x)


def _ema_(states: list, params: list, beta: float, foreach: bool) -> None:
    """The EMA of w (Ahn & Cutkosky, NeurIPS 2024, arXiv 2405.18199): e ← e + (1 − β)(w_n − e)."""
    ema, weight = [st["ema"] for st in states], 1.0 - beta
    if foreach:
        torch._foreach_lerp_(ema, params, weight)
    else:
        for e, p in zip(ema, params):
            e.lerp_(p, weight)


def _sum_skipped_(params, states, active: list[int], foreach: bool) -> None:
    """Σw += w_n for the parameters without a gradient this step: each still has its point w_n (its value, unchanged
    by the step), so the epoch mean w̄_k = (1/T) Σ_t w_t ([CMO23] Theorem 8) counts it at every one of the group's T
    steps; its gradient counts as 0 in Σg (nothing to add). Derived here from the definition of w̄_k."""
    if len(active) == len(params):
        return
    taken = set(active)
    skipped = [i for i in range(len(params)) if i not in taken]
    _add_([states[i]["w_sum"] for i in skipped], [params[i] for i in skipped], 1.0, foreach)


@functools.cache
def accumulator_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype of a running sum over steps on parameters of ``dtype``, by ``online_learners.tree.accumulator_like``'s
    rule (the parameter dtype, but at least float32: a bfloat16 sum of ones stops at 256, a float16 one at 2048)."""
    return accumulator_like(0.0, [torch.empty(0, dtype=dtype)]).dtype


def _grad_sq(grad_norm, grads):
    """‖g‖² of the group, from the norm the finiteness check took when there is one."""
    return grad_norm * grad_norm if grad_norm is not None else _fast.global_norm(grads) ** 2


def _recover_anchor_(params, played, lags, foreach: bool) -> None:
    """x_n = w_n + lag·Δ_n in place, grouping parameters that share a lag (usually all of them)."""
    by_lag: dict[Any, list] = {}
    for i, value in enumerate(lags):
        by_lag.setdefault(id(value) if isinstance(value, torch.Tensor) else value, []).append(i)
    for idx in by_lag.values():
        value = lags[idx[0]]
        if _is_zero(value):
            continue
        _add_([params[i] for i in idx], [played[i] for i in idx], value, foreach)


def _anchor_skipped(params, states, active: list[int], store_anchor: bool) -> None:
    """At a restart, a parameter without a gradient keeps its value, which becomes its anchor (lag 0)."""
    taken = set(active)
    zero_lag = None
    for i, p in enumerate(params):
        if i in taken:
            continue
        st = states[i]
        if zero_lag is None:
            zero_lag = torch.zeros((), dtype=torch.float64)
        st["lag"] = zero_lag
        if store_anchor:
            st["anchor"].copy_(p)


def o2nc(
    params: list[torch.Tensor],
    grads: list[torch.Tensor | None],
    states: list[dict],
    group_state: dict,
    *,
    learner,
    layout: Layout,
    lr,
    s: float,
    s_next: float,
    scaling: Scaling,
    epoch_length: int,
    restart: bool,
    averaging,
    weight_decay: float,
    maximize: bool,
    store_anchor: bool,
    grad_norm: torch.Tensor | None,
    foreach: bool | None,
    products: tuple | None = None,
) -> None:
    """One O2NC step of a param group, in place: observe g_n at w_n (the parameters), update the learner, close the
    epoch and restart where due, and write w_{n+1} into the parameters.

    Args:
        params: the group's parameters (all of them: a restart re-anchors those without a gradient), holding w_n.
        grads: their gradients, None where a parameter has none (it is skipped, see :class:`o2nc.torch.O2NC`).
        states: one state dict per parameter; ``group_state``: the group's; both updated in place.
        learner, layout: the group's online learner and its state layout (:class:`o2nc.torch._layout.Layout`).
        lr: the increment multiplier; ``s``, ``s_next``: s_n of the current point and s_{n+1} of the next one.
        scaling: the scaling rule (:class:`o2nc.conversion.scaling.Scaling`).
        epoch_length, restart, averaging, weight_decay, maximize, store_anchor: as on :class:`o2nc.torch.O2NC`.
        grad_norm: ‖g_n‖ over the parameters with a gradient when the caller took it (kept as ``"grad_norm"``).
        foreach: the multi-tensor kernel of the learner when it has one (None: :func:`default_foreach`).
        products: (‖g_n‖², ‖Δ_n‖², ⟨Δ_n, g_n⟩) over the parameters with a gradient (g_n as given, before
            ``maximize``), when the caller took them with its finiteness check (:func:`descent_play`); the blocked
            step then needs no read-only sweep of its own for a projection's norm.
    """
    active = [i for i, g in enumerate(grads) if g is not None]
    P = [params[i] for i in active]
    G = [grads[i] for i in active]
    if maximize:
        G = torch._foreach_neg(G)  # ascent on f is descent on −f: the learner sees −g
    kernel = fast_kernel(P, learner, layout, foreach)
    if products is not None and maximize:
        products = (products[0], products[1], -products[2])  # ⟨Δ, −g⟩
    common = dict(learner=learner, layout=layout, lr=lr, s_next=s_next, scaling=scaling, epoch_length=epoch_length,
                  restart=restart, averaging=averaging, weight_decay=weight_decay, store_anchor=store_anchor)
    if averaging == "epoch":
        _sum_skipped_(params, states, active, kernel is not None)
    if kernel is None:
        if averaging is not None and averaging != "epoch":
            # every parameter of the group: one without a gradient still has its point w_n (its unchanged value)
            _ema_(states, params, averaging[1], foreach)
        _single_tensor_o2nc(params, G, states, group_state, active, s=s, **common)
    else:
        _multi_tensor_o2nc(params, G, states, group_state, active, grad_norm=grad_norm, kernel=kernel,
                           products=products, **common)
    if grad_norm is not None:
        group_state["grad_norm"] = grad_norm


def fast_kernel(params: list[torch.Tensor], learner, layout: Layout, foreach: bool | None):
    """The learner's multi-tensor kernel for this group (:func:`o2nc.torch._fast.kernel_for`), or None for the
    for-loop (``foreach`` off, or None and not :func:`default_foreach`)."""
    if foreach is None:
        foreach = default_foreach(params)
    return _fast.kernel_for(learner, layout.per, layout.shared) if foreach else None


def _blocked(kernel, store_anchor: bool, weight_decay: float, shared_lag: bool) -> bool:
    """Whether the step runs block by block (:func:`o2nc.torch._fast.blocked_step`): everything but a stored
    anchor, weight decay and parameters with different lags (one param group resumed from parts)."""
    return kernel is not None and kernel.blocked is not None and shared_lag and not store_anchor and \
        weight_decay == 0.0


def descent_play(params: list[torch.Tensor], states: list[dict], group_state: dict, *, learner, layout: Layout,
                 foreach, store_anchor: bool, weight_decay: float):
    """Δ_n of the parameters with a gradient (``params``, their ``states``) when the step will project by a norm taken
    from inner products (the blocked step of a projected-descent kernel with a radius, on the CPU), so that the
    caller's read of g for the finiteness check can take ‖Δ_n‖² and ⟨Δ_n, g_n⟩ with ‖g_n‖² (:func:`o2nc`'s
    ``products``); else None."""
    if not params or params[0].device.type != "cpu" or params[0].dtype not in (torch.float32, torch.float64):
        return None
    if getattr(learner, "radius", None) is None:
        return None
    kernel = fast_kernel(params, learner, layout, foreach)
    if not _blocked(kernel, store_anchor, weight_decay, True) or kernel.declared.descend is None:
        return None
    per, shared = learner_lists(layout, states, group_state)
    return kernel.play(learner, per, shared)


def _close_epoch(states: list[dict], group_state: dict, length: int, dtype: torch.dtype) -> None:
    """The epoch's statistics over every parameter of the group (:func:`o2nc.conversion.epoch.close`): the mean
    point w̄_k, the certificate ‖ĝ_k‖ ([CMO23] Definition 5) and the path length that bounds the radius; the sums
    (kept in :func:`accumulator_dtype`) start again. The mean and the two scalars are kept in the parameters'
    ``dtype`` (a no-op for float32 and float64)."""
    whole = _epoch.EpochSums(_Leaves(st["w_sum"] for st in states), _Leaves(st["g_sum"] for st in states),
                             group_state["path"])
    stats = _epoch.close(whole, length)
    group_state["certificate"] = stats.certificate.to(dtype)
    group_state["radius_bound"] = stats.radius_bound.to(dtype)
    group_state["path"] = torch.zeros_like(group_state["path"])
    for st, mean in zip(states, stats.mean):
        st["epoch_mean"] = mean.to(dtype)
        st["w_sum"] = torch.zeros_like(st["w_sum"])
        st["g_sum"] = torch.zeros_like(st["g_sum"])


def _close_epoch_in_place(states: list[dict], group_state: dict, length: int, dtype: torch.dtype) -> None:
    """The multi-tensor paths' epoch close (the statistics of :func:`_close_epoch`, the sums zeroed in place): the
    mean point w̄_k, the certificate ‖ĝ_k‖ ([CMO23] Definition 5) with the core's norm, the path length; the mean
    and the scalars in the parameters' ``dtype``, as there."""
    grad_mean = [st["g_sum"] / length for st in states]
    group_state["certificate"] = tree_norm_wide(grad_mean).to(dtype)
    group_state["radius_bound"] = group_state["path"].to(dtype)
    group_state["path"] = torch.zeros_like(group_state["path"])
    for st in states:
        st["epoch_mean"] = (st["w_sum"] / length).to(dtype)
        st["w_sum"].zero_()
        st["g_sum"].zero_()


def _end_step(params, states, group_state, active, learner, store_anchor: bool, averaging, n_step: int, length: int,
              restarting: bool) -> None:
    """The step counter n; at an epoch's end (n a multiple of T) the epoch count, the closed epoch's statistics
    (``averaging="epoch"``) and, with ``restarting``, the restart."""
    group_state["step"] = n_step
    if n_step % length == 0:
        group_state["epochs"] += 1
        if averaging == "epoch":
            _close_epoch_in_place(states, group_state, length, params[0].dtype)
        if restarting:
            _restart(params, states, group_state, active, learner, store_anchor)


def _set_lag(states: list[dict], value: torch.Tensor) -> None:
    """Every parameter's lag, x_n − w_n = lag·Δ: one tensor shared by the group (the blocked step's fast test)."""
    for st in states:
        st["lag"] = value


def _magnitude(coef):
    """|c| of a scaling coefficient, a Python number or a 0-d tensor."""
    return coef.abs() if isinstance(coef, torch.Tensor) else abs(coef)


def _restart(params, states, group_state, active, learner, store_anchor: bool) -> None:
    """The learner re-initialised over all of the group's parameters ([CMO23] §3); those without a gradient are
    anchored where they are."""
    store_learner_state(states, group_state, learner.init(_Leaves(list(params))))
    _anchor_skipped(params, states, active, store_anchor)


def _single_tensor_o2nc(params, G, states, group_state, active, *, learner, layout, lr, s, s_next, scaling,
                        epoch_length, restart, averaging, weight_decay, store_anchor) -> None:
    """The for-loop reference: one step of the conversion core (:mod:`o2nc.conversion.step`) over the group's
    parameters that have a gradient. The proposal of step n (Δ_n, x_n, w_n and its segment) was made by the
    previous step and is rebuilt from the weights (w_n) and the anchor (stored, or x_n = w_n + lag·Δ_n); the core
    observes g_n, closes the epoch and restarts the learner where due, and proposes step n + 1, whose w_{n+1} is
    written into the parameters."""
    gstate = group_state
    P = [params[i] for i in active]
    A = [states[i] for i in active]
    lstate = learner_state(layout, A, gstate)
    delta = _Leaves(learner.predict(lstate))
    w = _Leaves(p.detach().clone() for p in P)
    if store_anchor:
        x = _Leaves(st["anchor"] for st in A)
    else:
        x = _Leaves(p.detach() + host(st["lag"]) * d for p, st, d in zip(P, A, delta))
    sums = None
    if averaging == "epoch":
        sums = _epoch.EpochSums(_Leaves(st["w_sum"] for st in A), _Leaves(st["g_sum"] for st in A), gstate["path"])
    proposal = _core.Proposal(delta, s, x, w, gstate.get("segment"))
    conv = _core.ConversionState(None, lstate, sums)
    if sums is not None:
        conv = _core.observe(learner, conv, proposal, _Leaves(G))
        for st, ws, gs in zip(A, conv.sums.w_sum, conv.sums.g_sum):
            st["w_sum"], st["g_sum"] = ws, gs
        gstate["path"] = conv.sums.path
    else:  # no epoch statistics to keep: observe's learner update alone
        conv = conv._replace(anchor=proposal.x, learner=learner.update(lstate, _Leaves(G)))
    store_learner_state(A, gstate, conv.learner)

    n_step = gstate["step"] + 1
    gstate["step"] = n_step
    if n_step % epoch_length == 0:
        gstate["epochs"] += 1
        if averaging == "epoch":
            _close_epoch(states, gstate, epoch_length, params[0].dtype)
        if restart:
            fresh = _core.restart(learner, conv, _Leaves(params)).learner
            store_learner_state(states, gstate, fresh)
            conv = conv._replace(learner=learner_state(layout, A, gstate))
            _anchor_skipped(params, states, active, store_anchor)

    anchor_norm = None
    if weight_decay != 0.0:  # decoupled weight decay on the anchor (Loshchilov & Hutter, ICLR 2019, Algorithm 2)
        if averaging == "epoch":
            anchor_norm = tree_norm(conv.anchor)
        conv = conv._replace(anchor=_Leaves(a * (1.0 - lr * weight_decay) for a in conv.anchor))
    nxt = _core.propose(learner, scaling.full_step, conv, s_next, lr)
    for p, w_next in zip(P, nxt.w):
        p.copy_(w_next)
    if store_anchor:
        for st, x_next in zip(A, nxt.x):
            st["anchor"].copy_(x_next)
    if averaging == "epoch":
        segment = nxt.segment
        if anchor_norm is not None:  # ‖x_{n+1} − x_n‖ ≤ |c| ‖Δ_{n+1}‖ + lr λ ‖x_n‖
            segment = segment + anchor_norm * (lr * weight_decay)
        gstate["segment"] = segment
    _set_lag(A, lag(s_next, lr, scaling.full_step))


def _multi_tensor_o2nc(params, G, states, group_state, active, *, learner, layout, lr, s_next, scaling,
                       epoch_length, restart, averaging, weight_decay, store_anchor, grad_norm, kernel,
                       products=None) -> None:
    """The step with the learner's declared multi-tensor kernel (:mod:`o2nc.torch._fast`), in place; held to
    :func:`_single_tensor_o2nc` by the tests."""
    gstate = group_state
    P = [params[i] for i in active]
    A = [states[i] for i in active]
    foreach = True  # kernels run only where foreach is on (the helpers below take the flag)
    n_step = gstate["step"] + 1
    length = epoch_length

    if averaging is not None and averaging != "epoch":  # the EMA of w_n (the current weights) of every parameter
        _ema_(states, params, averaging[1], foreach)

    lag_tensors = [st["lag"] for st in A]
    shared_lag = all(t is lag_tensors[0] for t in lag_tensors)
    lags = [host(lag_tensors[0])] * len(P) if shared_lag else [host(t) for t in lag_tensors]
    if not shared_lag:  # one value in several tensors (e.g. a loaded state dict) is one lag too
        shared_lag = all(not isinstance(v, torch.Tensor) and v == lags[0] for v in lags)
    w_coef, x_coef = coefficients(scaling.full_step, s_next, lr)  # the core's scaling rule
    restarting = restart and n_step % length == 0
    if _blocked(kernel, store_anchor, weight_decay, shared_lag):
        # One sweep over blocks of the parameters (the epoch sums, x_n, the learner's update, w_{n+1}), so that the
        # buffers stay in the cache between the passes (_fast.blocked_step); at a restart only what it keeps.
        per, shared = learner_lists(layout, A, gstate)
        sums = ([st["w_sum"] for st in A], [st["g_sum"] for st in A]) if averaging == "epoch" else None
        if sums is not None:
            gstate["path"] = gstate["path"] + gstate["segment"]
        new_norm = None
        if restarting:
            _fast.blocked_recover(kernel, learner, per, shared, P, G, lags[0], sums)
        else:
            if kernel.uses_grad_sq:
                grad_sq = _grad_sq(grad_norm, G)
            else:  # offered when the finiteness check took it (a projection's norm can use it)
                grad_sq = grad_norm * grad_norm if grad_norm is not None else None
            new_shared, new_norm = _fast.blocked_step(kernel, learner, per, shared, P, G, lags[0], w_coef, grad_sq,
                                                      sums=sums, products=products)
            for path, value in new_shared.items():
                gstate[_LEARNER + path] = value
        _end_step(params, states, gstate, active, learner, store_anchor, averaging, n_step, length, restarting)
        if restarting:
            per, shared = learner_lists(layout, A, gstate)
            if averaging == "epoch":
                delta = kernel.play(learner, per, shared)
                _add_(P, delta, w_coef, True)
                new_norm = vector_norm(delta, True)
            else:
                kernel.add_play_(learner, per, shared, P, w_coef)
        if averaging == "epoch":
            gstate["segment"] = new_norm.to(gstate["path"].dtype) * _magnitude(x_coef)
        _set_lag(A, lag(s_next, lr, scaling.full_step))
        return

    # Bookkeeping at w_n: epoch sums and path length.
    if averaging == "epoch":
        _add_([st["w_sum"] for st in A], P, 1.0, foreach)
        _add_([st["g_sum"] for st in A], G, 1.0, foreach)
        gstate["path"] = gstate["path"] + gstate["segment"]

    # Δ_n: needed to recover x_n when the anchor is not stored (and by kernels that reuse it).
    need_play = not store_anchor and not all(_is_zero(v) for v in lags)
    per, shared = learner_lists(layout, A, gstate)
    played = kernel.play(learner, per, shared) if need_play or kernel.update_uses_play else None

    # x_n into the parameters: from the stored anchor, or x_n = w_n + lag·Δ_n.
    if store_anchor:
        _copy_(P, [st["anchor"] for st in A], foreach)
    else:
        _recover_anchor_(P, played, lags, foreach)

    # The learner sees the linear loss ⟨g_n, ·⟩ (unless a restart discards it).
    if not restarting:
        grad_sq = _grad_sq(grad_norm, G) if kernel.uses_grad_sq else None
        for path, value in kernel.update(learner, per, shared, G, played, grad_sq).items():
            gstate[_LEARNER + path] = value
    scratch = played if kernel.update_uses_play else None  # dead now: reusable
    del played

    # Epoch end: statistics, then the restart.
    _end_step(params, states, gstate, active, learner, store_anchor, averaging, n_step, length, restarting)

    # Decoupled weight decay on the anchor: x_n ← (1 − lr λ) x_n (Loshchilov & Hutter, ICLR 2019, Algorithm 2).
    anchor_norm = None
    if weight_decay != 0.0:
        shrink = 1.0 - lr * weight_decay
        anchors = [st["anchor"] for st in A] if store_anchor else P
        if averaging == "epoch":
            anchor_norm = vector_norm(anchors, foreach)
        _scale_(anchors, shrink, foreach)
        if store_anchor:
            _scale_(P, shrink, foreach)

    # Δ_{n+1}, then x_{n+1} and w_{n+1}.
    per, shared = learner_lists(layout, A, gstate)
    if not store_anchor and averaging != "epoch":
        # Δ_{n+1} is needed only in w_{n+1} = x_n + w_coef Δ_{n+1}: the kernel adds it in place.
        kernel.add_play_(learner, per, shared, P, w_coef, scratch)
        delta = None
    else:
        delta = kernel.play(learner, per, shared)
    if delta is not None and store_anchor:
        anchors = [st["anchor"] for st in A]
        _add_(anchors, delta, x_coef, foreach)
        if scaling.full_step and not scaling.query_at_anchor:
            _add_(P, delta, w_coef, foreach)  # w_{n+1} = x_n + s lr Δ_{n+1}
        else:
            _copy_(P, anchors, foreach)  # w_{n+1} = x_{n+1}
    elif delta is not None:
        _add_(P, delta, w_coef, foreach)
    # (delta is None: the kernel has already added the play into the parameters)
    if averaging == "epoch":
        segment = vector_norm(delta, foreach) * _magnitude(x_coef)
        if anchor_norm is not None:
            # ‖x_{n+1} − x_n‖ ≤ |c| ‖Δ_{n+1}‖ + lr λ ‖x_n‖ (triangle inequality): the path still bounds the radius
            segment = segment + anchor_norm * (lr * weight_decay)
        gstate["segment"] = segment
    _set_lag(A, lag(s_next, lr, scaling.full_step))
