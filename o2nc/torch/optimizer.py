"""``o2nc.torch.O2NC``: the online-to-non-convex conversion as a ``torch.optim.Optimizer``.

Algorithm 1 of Cutkosky, Mehta and Orabona (ICML 2023, arXiv 2302.03775), [CMO23] below, in the notation of
``o2nc.minimize``: the learner plays Δ_n, the anchor moves x_n = x_{n−1} + lr_n Δ_n, and the gradient is taken at
w_n = x_{n−1} + s_n lr_n Δ_n (the ``uniform`` scaling; see :mod:`o2nc.conversion.scaling` for ``exponential``,
``none``, ``midpoint`` and a replayed s-sequence). The scaling rule, the s-draw of ``seed=`` and the epoch statistics
are the conversion core's (:mod:`o2nc.conversion`). As in ``torch.optim``, the class checks its arguments, creates
the state lazily, gathers each group's parameters, gradients and state, and calls the functional step
:func:`o2nc.torch.functional.o2nc`, whose for-loop (reference) path is one step of :mod:`o2nc.conversion.step` and
whose multi-tensor path runs the kernels that the learners declare beside their ``predict``/``update``
(:mod:`o2nc.torch._fast` drives them), held to it by the parity tests. The model's
parameters hold w_n; the optimizer keeps the learner's state and, when asked (``store_anchor=True``), the anchor.
Argument checks live in :mod:`o2nc.torch._args`, the state layout in :mod:`o2nc.torch._layout`, the checks of a state
dict in :mod:`o2nc.torch._checkpoint`.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import torch
from torch.optim import Optimizer

from o2nc.conversion import draw as _draw_mod
from o2nc.conversion.scaling import SCALINGS, Scaling, check_supported, resolve_scaling
from o2nc.torch import _fast, functional
from o2nc.torch._args import (
    _averaging_spec,
    _check_bool,
    _check_epoch_length,
    _check_foreach,
    _check_learner,
    _check_lr,
    _check_refused,
    _check_weight_decay,
)
from o2nc.torch._checkpoint import check_state_dict, learner_key
from o2nc.torch._layout import _GSTATE, _REFUSED, Layout, _Leaves, _split, learner_state, store_learner_state
from online_learners import ParameterFreeMirrorDescent

__all__ = ["O2NC", "NonFiniteGradientError"]

class NonFiniteGradientError(FloatingPointError):
    """A gradient with NaN or inf entries (or a norm that overflows its dtype); names the parameter and the step."""

    def __init__(self, name: str, step: int, late: bool = False):
        when = (
            f"at step {step} (detected after that step was applied: the optimizer state is no longer valid, "
            "reload a checkpoint)"
            if late
            else f"at step {step}; nothing was updated"
        )
        super().__init__(f"the gradient of {name} is not finite {when}")
        self.parameter = name
        self.step = step



class O2NC(Optimizer):
    r"""The online-to-non-convex conversion (O2NC) of any online learner, as a ``torch.optim.Optimizer``.

    Per parameter group, the learner runs over the group's parameter list as one pytree (norms are global over the
    group). With Δ_n = ``learner.predict`` and s_n from the scaling ([CMO23] Algorithm 1; Exp(1) scaling: Zhang &
    Cutkosky, ICML 2024; midpoint: the deterministic variant of [CMO23] as restated by Patitucci, Jiang, Mokhtari,
    arXiv 2510.03167):

        uniform, replay:  x_n = x_{n−1} + lr_n Δ_n,      w_n = x_{n−1} + s_n lr_n Δ_n,   s_n ~ U[0, 1)
        midpoint:         x_n = x_{n−1} + lr_n Δ_n,      w_n = x_{n−1} + lr_n Δ_n / 2
        exponential:      x_n = w_n = x_{n−1} + s_n lr_n Δ_n,                          s_n ~ Exp(1)
        none:             x_n = w_n = x_{n−1} + lr_n Δ_n

    then the learner sees the linear loss ⟨g_n, ·⟩ with g_n the gradient at w_n. The parameters hold w_n between
    steps. One s_n per ``step()`` is shared by all groups, so the whole model's gradient point lies on one segment.

    **What ``lr`` scales.** ``lr`` multiplies the increment (above). With a constant lr this is exactly O2NC with the
    learner's domain scaled by lr — e.g. OGD(η, D) behaves as OGD(lr·η, lr·D) and KT(ε) as KT(lr·ε) — so LR
    schedulers (warm-up, decay) shorten or lengthen the step as with SGD, and lr = 0 freezes the anchor. The default
    1.0 leaves parameter-free learners untouched. A 0-d tensor ``lr`` is accepted.

    **First step and lazy state.** State is created at the first ``step`` from the current weights, so weights loaded
    after construction count. Those weights are the first gradient point w_1, with the anchor x_0 = w_1 − s_1 lr Δ_1
    (= w_1 for every learner whose first play is 0, as OGD, AdaGradNorm and KT).

    **Epochs.** Every ``epoch_length`` steps of a group (steps where at least one of its parameters has a gradient)
    close an epoch; with ``restart=True`` the learner is re-initialised there ([CMO23] §3, K-shifting regret).

    **Anchor memory.** With ``store_anchor=False`` (default) the anchor is recomputed as x_n = w_n + (1 − s_n) lr_n Δ_n
    from the weights and the learner's play, so O2NC(OGD) keeps one parameter-sized buffer (Δ). ``store_anchor=True``
    keeps x_n (one more buffer) and forms w from it without accumulated round-off (optax issues #1227 and #530); both
    agree to rounding.

    **Output point.** ``averaging`` chooses the point returned by :meth:`eval` / :meth:`eval_params`: ``None`` the
    anchor x_n; ``"epoch"`` the mean of w over the last completed epoch ([CMO23] Theorem 8's output w̄_k; the running
    mean of the current epoch before one is complete), which also keeps the epoch's mean gradient for the certificate
    ‖ĝ_k‖ ([CMO23] Definition 5); ``("ema", β)`` the exponential moving average of w (Ahn & Cutkosky, NeurIPS
    2024, arXiv 2405.18199).

    **Parameters without gradients** are skipped: the learner then runs over the group's parameters that have one
    (global norms over those), and the others keep their value and state. At an epoch restart a skipped parameter's
    current value becomes its anchor. The output point still counts a skipped parameter at every step of its group:
    its unchanged value is its point w_n, added to the epoch's Σw (its gradient counts as 0 in Σg) and to the EMA.

    **Half precision.** The epoch sums Σw, Σg, the path length and ‖g‖ are kept in at least float32 (the rule of
    ``online_learners.tree.accumulator_like``: a bfloat16 sum of ones stops at 256, a float16 one at 2048, and a
    finite float16 gradient can have a norm beyond float16's 65504); the epoch mean, the certificate and the radius
    bound are given in the parameters' dtype. Checkpoints keep those dtypes.

    **Non-finite gradients** raise :class:`NonFiniteGradientError` naming the parameter. The check reads the
    per-parameter gradient norms that the step computes anyway (for ‖g‖ in :meth:`diagnostics`). On the CPU the
    value is read at once and nothing is updated. On an accelerator it is copied to pinned host memory without
    blocking, and checked at a later ``step`` once the copy has landed (or at ``diagnostics``, ``eval``,
    ``state_dict``), so the step never waits on the device; the error then says that the state is already spoilt.
    ``check_finite=False`` skips the check (and ‖g‖).

    **Checkpoints.** :meth:`load_state_dict` checks the whole state dict (after torch's load pre-hooks, which may
    adapt an old one) before changing anything: a NaN learner state, a missing, unknown or wrongly shaped entry or a
    non-integral counter is a ValueError naming the parameter and the entry. Integer learner counters keep their
    dtype (torch's loader would cast them to the parameters' floating dtype).

    **One seed, one run.** With ``seed=`` the s-sequence is the counter-based draw of :mod:`o2nc.conversion.draw`
    (53 bits when every parameter is float64, else 24), the one ``o2nc.minimize(seed=...)`` and
    ``o2nc.jax.o2nc(seed=...)`` draw: the same learner, gradients and seed give the same trajectory in every shell.
    Without it the s-sequence comes from ``generator`` (a CPU ``torch.Generator``, by default seeded from
    ``torch.initial_seed()``; its state is saved as a uint8 tensor).

    **No host syncs in ``step``.** s is computed on the host (a hash of the seed and the step, or the generator);
    counters are Python integers; everything else stays on the parameters' device.

    **Default learner.** Without ``learner`` (in the constructor or in a param group) a group runs parameter-free
    mirror descent, ``online_learners.ParameterFreeMirrorDescent()`` (Jacobsen & Cutkosky, COLT 2022, arXiv
    2203.00444): it needs neither a step size nor a gradient bound, and its first plays are small (of order ε = 1
    over a few dozen steps), so the default configuration makes progress with lr = 1 and under LR schedulers without
    tuning (tested on torch's own "goes right direction" problems).

    **maximize** runs the conversion on −f: the learner sees −g_n (and the epoch statistics hold −g).

    **weight_decay** λ is decoupled weight decay (Loshchilov & Hutter, ICLR 2019, Algorithm 2) applied to the
    anchor: x_n = (1 − lr_n λ) x_{n−1} + lr_n Δ_n, with the gradient point w_n on the segment from
    (1 − lr_n λ) x_{n−1} as before. In O2NC terms the conversion is unchanged but the anchor is shrunk towards 0
    before each increment; the learner never sees λ. With ``averaging="epoch"`` the path length adds lr_n λ ‖x_{n−1}‖
    per step (triangle inequality), so ``radius_bound`` stays a proven bound.

    **State layout.** Per parameter, tensors only: the learner's parameter-shaped state (``"learner.<field>"``), the
    lag x_n − w_n = lag·Δ_n as a 0-d tensor (float64 on the CPU for a float lr, read on the host without a device
    sync), and the anchor, epoch sums or EMA when asked for. Group-level state (step and epoch counters, ‖g‖, the
    certificate, the path length, the learner's shared scalars such as a step count) lives in the param group's
    ``"group_state"`` dict, and so in the state dict's ``param_groups``.

    **Not supported**: ``differentiable``, ``capturable`` and ``fused`` (accepted only off; the step runs under
    ``torch.no_grad``, takes lr and s as host values and has no fused kernel), sparse gradients, and complex
    parameters (refused at construction: the learners' norms and inner products are real; optimize
    ``torch.view_as_real(p)`` instead).

    Args:
        params: parameters or param groups (dicts). Every group may override ``learner``, ``lr``,
            ``epoch_length``, ``restart``, ``averaging``, ``weight_decay``, ``maximize`` and ``foreach``.
        learner: an online learner of ``online_learners`` (e.g. ``OGD(lr=0.01)``, ``KT()``); default
            ``ParameterFreeMirrorDescent()``.
        lr: increment multiplier (≥ 0), see above.
        epoch_length: steps per epoch T (positive integer).
        scaling: ``"uniform"`` ([CMO23]), ``"exponential"``, ``"none"``, ``"midpoint"``, or a 1-D array of s values
            replayed in order (an optimizer-wide setting).
        restart: re-initialise the learner at every epoch start.
        averaging: ``None``, ``"epoch"`` or ``("ema", beta)``.
        generator: a CPU ``torch.Generator`` for the s-sequence (default: seeded from ``torch.initial_seed()``); not
            with ``seed``.
        weight_decay: decoupled weight decay λ ≥ 0 on the anchor, see above.
        maximize: maximize the objective instead of minimizing it.
        seed: an integer in [0, 2**64): the counter-based s-sequence shared with ``minimize`` and the jax shell.
        store_anchor: keep x_n instead of recomputing it.
        foreach: use the multi-tensor fast path (None: whenever the parameters are plain dense tensors).
        check_finite: raise on non-finite gradients.
        differentiable, capturable, fused: accepted only off (False, or None for ``fused``); True is a ValueError.

    :meth:`diagnostics` reports, for ``averaging="epoch"``, the certificate ‖ĝ_k‖ and ``radius_bound``, the path
    length Σ_t ‖x_t − x_{t−1}‖ of the last completed epoch, a proven bound on its radius max_t ‖w_t − w̄_k‖
    (:mod:`o2nc.conversion.epoch`; the exact radius needs the epoch's points, which this optimizer does not keep:
    ``radius`` is NaN; ``o2nc.minimize`` reports both).

    Example:
        >>> import torch
        >>> from online_learners import OGD
        >>> from o2nc.torch import O2NC
        >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
        <...>
        >>> model = torch.nn.Linear(3, 1)
        >>> opt = O2NC(model.parameters(), learner=OGD(lr=0.01, radius=0.1), epoch_length=10)
        >>> x, y = torch.randn(64, 3), torch.randn(64, 1)
        >>> start = torch.nn.functional.mse_loss(model(x), y).item()
        >>> for _ in range(50):
        ...     opt.zero_grad()
        ...     loss = torch.nn.functional.mse_loss(model(x), y)
        ...     loss.backward()
        ...     opt.step()
        >>> with opt.eval_params():
        ...     final = torch.nn.functional.mse_loss(model(x), y)
        >>> bool(final < 0.6 * start)
        True

    References:
        A. Cutkosky, H. Mehta, F. Orabona. Optimal Stochastic Non-smooth Non-convex Optimization through
        Online-to-Non-convex Conversion. ICML 2023 (arXiv 2302.03775).
    """

    def __init__(
        self,
        params,
        learner=None,
        lr: float | torch.Tensor = 1.0,
        epoch_length: int = 100,
        scaling="uniform",
        restart: bool = True,
        averaging=None,
        generator: torch.Generator | None = None,
        *,
        weight_decay: float = 0.0,
        maximize: bool = False,
        store_anchor: bool = False,
        foreach: bool | None = None,
        check_finite: bool = True,
        seed: int | None = None,
        differentiable: bool = False,
        capturable: bool = False,
        fused: bool | None = None,
    ):
        # Every argument is checked before torch.optim.Optimizer sees it (as torch's own optimizers do: an invalid lr
        # is a ValueError raised by the constructor); groups that override one are checked in add_param_group.
        if learner is None:
            learner = ParameterFreeMirrorDescent()
        _check_learner(learner)
        lr = _check_lr(lr)
        epoch_length = _check_epoch_length(epoch_length)
        restart = _check_bool("restart", restart)
        averaging = _averaging_spec(averaging)
        weight_decay = _check_weight_decay(weight_decay)
        maximize = _check_bool("maximize", maximize)
        foreach = _check_foreach(foreach)
        refused = {name: _check_refused(name, value) for name, value in
                   (("differentiable", differentiable), ("capturable", capturable), ("fused", fused))}
        if isinstance(scaling, str) and scaling not in SCALINGS:
            raise ValueError(f"Invalid scaling: {scaling!r} (use one of {SCALINGS} or a 1-D array of s values)")
        rule = resolve_scaling(scaling.detach().cpu().numpy() if isinstance(scaling, torch.Tensor) else scaling)
        check_supported(rule.name, "torch")
        if seed is not None:
            if generator is not None:
                raise TypeError("O2NC: give `seed` or `generator`, not both")
            seed = _draw_mod.check_seed(seed)
        if generator is None:
            generator = torch.Generator().manual_seed(torch.initial_seed() % (2**63))
        if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
            raise TypeError(f"Invalid generator: need a CPU torch.Generator, got {generator!r}")
        store_anchor = _check_bool("store_anchor", store_anchor)
        check_finite = _check_bool("check_finite", check_finite)
        defaults = dict(
            learner=learner,
            lr=lr,
            epoch_length=epoch_length,
            restart=restart,
            averaging=averaging,
            weight_decay=weight_decay,
            maximize=maximize,
            foreach=foreach,
            train_mode=True,
            **refused,
        )
        self._rule: Scaling = rule
        self._generator = generator
        self._seed = seed
        self._key = None if seed is None else _draw_mod.seed_key(seed)
        self._bits: int | None = None  # bits of the counter-based u: set at the first draw from the dtypes
        self._s: float | None = None  # s of the current gradient point (drawn at the first step)
        self._draws = 0
        self._store_anchor = store_anchor
        self._check_finite = check_finite
        self._pending: list = []  # accelerator non-finite flags not read yet
        self._templates: dict = {}
        super().__init__(params, defaults)

    # ------------------------------------------------------------------------------------------------------------
    # groups and validation

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        try:
            self._validate_group(group)
        except Exception:
            self.param_groups.pop()
            raise

    def _validate_group(self, group: dict) -> None:
        where = f" in param group {len(self.param_groups) - 1}" if len(self.param_groups) > 1 else ""
        if group["learner"] is None:
            group["learner"] = ParameterFreeMirrorDescent()
        _check_learner(group["learner"], where)
        group["lr"] = _check_lr(group["lr"], where)
        group["epoch_length"] = _check_epoch_length(group["epoch_length"], where)
        group["restart"] = _check_bool("restart", group["restart"], where)
        group["averaging"] = _averaging_spec(group["averaging"], where)
        group["weight_decay"] = _check_weight_decay(group["weight_decay"], where)
        group["maximize"] = _check_bool("maximize", group["maximize"], where)
        group["foreach"] = _check_foreach(group["foreach"], where)
        for name in _REFUSED:
            group[name] = _check_refused(name, group[name], where)
        params = group["params"]
        for p in params:
            if p.is_complex():
                raise TypeError(
                    f"O2NC: complex parameters are not supported (got {p.dtype}{where}): the learners' inner products "
                    "and norms are real; optimize torch.view_as_real(p) instead"
                )
            if not p.is_floating_point():
                raise TypeError(f"O2NC: parameters must have a real floating dtype, got {p.dtype}{where}")
        if params:
            dtypes = {p.dtype for p in params}
            devices = {p.device for p in params}
            if len(dtypes) > 1:
                raise ValueError(
                    "O2NC: one param group must hold one dtype (global norms over the group), "
                    f"got {sorted(map(str, dtypes))}"
                    "; put parameters of other dtypes in their own group"
                )
            if len(devices) > 1:
                raise ValueError(
                    f"O2NC: one param group must live on one device, got {sorted(map(str, devices))}; "
                    "put parameters of other devices in their own group"
                )
        group[_GSTATE] = {}  # filled at the group's first step (lazy state)

    def _names(self, group: dict) -> list[str]:
        names = group.get("param_names")
        gi = self.param_groups.index(group)
        if names is not None:
            return [f"parameter {n!r}" for n in names]
        return [f"parameter {i} of param group {gi} (shape {tuple(p.shape)})" for i, p in enumerate(group["params"])]

    # ------------------------------------------------------------------------------------------------------------
    # state layout

    def _template(self, group: dict) -> Layout:
        """The state layout of the group's learner (cached per learner, dtype and device)."""
        p0 = group["params"][0]
        key = (id(group["learner"]), p0.dtype, p0.device)
        cached = self._templates.get(key)
        if cached is None or cached[0] is not group["learner"]:
            template = group["learner"].init(_Leaves([torch.zeros(1, dtype=p0.dtype, device=p0.device)]))
            per, shared = _split(template)
            if not per:
                raise TypeError(
                    f"O2NC: the state of {type(group['learner']).__name__} has no parameter-shaped part; the torch "
                    "shell needs a learner built on online_learners.tree (tree_map keeps the list type)"
                )
            cached = (group["learner"], Layout(template, tuple(per), tuple(shared)))
            self._templates[key] = cached
        return cached[1]

    def _learner_state(self, group: dict):
        """The learner's state over all of the group's parameters."""
        return learner_state(self._template(group), [self.state[p] for p in group["params"]], group[_GSTATE])

    def _draw(self) -> float:
        """The next s of the scaling, as a Python float computed on the host (no device work)."""
        rule = self._rule
        if self._key is not None or rule.name not in ("uniform", "exponential"):
            if self._bits is None:
                wide = all(p.dtype == torch.float64 for g in self.param_groups for p in g["params"])
                self._bits = _draw_mod.bits_for(64 if wide else 32)
            s = rule.at(self._key, self._draws, self._bits)
        elif rule.name == "uniform":
            s = float(torch.rand((), generator=self._generator, dtype=torch.float64))
        else:
            s = float(torch.empty((), dtype=torch.float64).exponential_(1.0, generator=self._generator))
        self._draws += 1
        return s

    def _init_state(self, group: dict) -> None:
        """The group's state at its first step (lazy state, class docstring), from the current weights w_1."""
        params = group["params"]
        learner = group["learner"]
        self._template(group)
        states = [self.state[p] for p in params]
        state = learner.init(_Leaves(list(params)))
        store_learner_state(states, group[_GSTATE], state)
        if self._s is None:
            self._s = self._draw()
        s, lr = self._s, group["lr"]
        state_play = learner.predict(state)
        wide = functional.accumulator_dtype(params[0].dtype)
        lag = functional.lag(s, lr, self._rule.full_step)
        lag_value = functional.host(lag)
        for p, st, d in zip(params, states, state_play):
            st["lag"] = lag
            if self._store_anchor:
                # x_1 = x_0 + lr Δ_1 with x_0 = w_1 − s_1 lr Δ_1 (uniform); x_1 = w_1 otherwise.
                zero_lag = not isinstance(lag_value, torch.Tensor) and lag_value == 0.0
                st["anchor"] = p.detach().clone() if zero_lag else p.detach() + lag_value * d
            if group["averaging"] == "epoch":  # running sums over the epoch: at least float32 (accumulator_dtype)
                st["w_sum"] = torch.zeros_like(p, dtype=wide)
                st["g_sum"] = torch.zeros_like(p, dtype=wide)
            elif group["averaging"] is not None:
                st["ema"] = p.detach().clone()
        gstate = group[_GSTATE]
        gstate["step"] = 0
        gstate["grad_norm"] = torch.zeros((), dtype=wide, device=params[0].device)  # as _grad_norms keeps it
        nan = torch.full((), float("nan"), dtype=params[0].dtype, device=params[0].device)
        gstate["certificate"] = nan.clone()
        gstate["radius_bound"] = nan.clone()
        gstate["epochs"] = 0
        if group["averaging"] == "epoch":
            gstate["path"] = torch.zeros((), dtype=wide, device=params[0].device)
            x_coef = lr * (s if not self._rule.full_step else 1.0)
            x_abs = x_coef.abs() if isinstance(x_coef, torch.Tensor) else abs(x_coef)
            gstate["segment"] = functional.vector_norm(list(state_play), False) * x_abs

    def _init_group(self, group: dict) -> tuple:
        """(params, grads, states) of the group, as :func:`o2nc.torch.functional.o2nc` takes them (grads None where a
        parameter has no gradient), after creating the state at the group's first step."""
        if "step" not in group[_GSTATE]:
            self._init_state(group)
        params = group["params"]
        return params, [p.grad for p in params], [self.state[p] for p in params]

    # ------------------------------------------------------------------------------------------------------------
    # the step

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None):
        """One O2NC step for every group with gradients; returns ``closure()`` when given.

        Raises:
            RuntimeError: the optimizer is in eval mode (call :meth:`train` first).
            NonFiniteGradientError: a gradient is NaN/inf (see the class docstring for when).
        """
        loss = None
        if closure is not None and not all(group["train_mode"] for group in self.param_groups):
            raise RuntimeError(  # refused before the closure runs its forward and backward pass
                "O2NC.step(closure) in eval mode: the parameters hold the averaged point; call optimizer.train() "
                "before stepping (and optimizer.eval() before evaluating)"
            )
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._read_pending(block=False)
        active_groups = []
        for group in self.param_groups:
            active = [i for i, p in enumerate(group["params"]) if p.grad is not None]
            if not active:
                continue
            if not group["train_mode"]:
                raise RuntimeError(
                    "O2NC.step() in eval mode: the parameters hold the averaged point; call optimizer.train() "
                    "before stepping (and optimizer.eval() before evaluating)"
                )
            for i in active:
                if group["params"][i].grad.is_sparse:
                    raise TypeError("O2NC does not support sparse gradients")
            active_groups.append((group, active))
        if not active_groups:
            return loss
        gathered = [self._init_group(group) for group, _ in active_groups]
        norms = [self._grad_norms(group, active) for group, active in active_groups]
        s_next = self._draw()
        for (group, _), (params, grads, states), (norm, products) in zip(active_groups, gathered, norms):
            functional.o2nc(
                params, grads, states, group[_GSTATE],
                learner=group["learner"], layout=self._template(group), lr=group["lr"], s=self._s, s_next=s_next,
                scaling=self._rule, epoch_length=group["epoch_length"], restart=group["restart"],
                averaging=group["averaging"], weight_decay=group["weight_decay"], maximize=group["maximize"],
                store_anchor=self._store_anchor, grad_norm=norm, foreach=group["foreach"], products=products,
            )
        self._s = s_next
        return loss

    def _grad_norms(self, group: dict, active: list[int]):
        """(‖g‖ over the group's parameters with a gradient, or None without the check; and, where the step projects
        by a norm from inner products, (‖g‖², ‖Δ‖², ⟨Δ, g⟩) taken in the same read of g, else None). Checks
        finiteness on the CPU before anything is updated."""
        if not self._check_finite:
            return None, None
        grads = [group["params"][i].grad for i in active]
        step = group[_GSTATE]["step"] + 1
        if grads[0].device.type == "cpu" and grads[0].dtype in (torch.float32, torch.float64):
            # ‖g‖² from inner products (one fast read, which also takes Δ's products when the projection uses
            # them); only when that sum is not finite are the norms taken, to tell a non-finite gradient from a
            # square that overflowed.
            params = [group["params"][i] for i in active]
            deltas = functional.descent_play(
                params, [self.state[p] for p in params], group[_GSTATE], learner=group["learner"],
                layout=self._template(group), foreach=group["foreach"], store_anchor=self._store_anchor,
                weight_decay=group["weight_decay"])
            sq, dd, dg = _fast.grad_products(grads, deltas)
            if bool(torch.isfinite(sq)):
                return torch.sqrt(sq), (None if deltas is None else (sq, dd, dg))
        # ‖g‖ is kept in at least float32 (functional.accumulator_dtype): a finite float16 gradient of norm 1e5 has
        # a norm beyond float16's largest value 65504.
        wide = functional.accumulator_dtype(grads[0].dtype)
        if grads[0].device.type == "cpu":
            # Norms with float64 squares: a finite float32 gradient of size 1e30 has a finite norm, but its float32
            # squares overflow; only NaN/inf entries make these non-finite.
            stacked = torch.stack([torch.linalg.vector_norm(g, dtype=torch.float64) for g in grads])
            norm = torch.linalg.vector_norm(stacked).to(wide)
        else:
            stacked = torch.stack(torch._foreach_norm(grads, 2, dtype=wide) if wide != grads[0].dtype
                                  else torch._foreach_norm(grads))
            norm = torch.linalg.vector_norm(stacked)
        if norm.device.type == "cpu":
            if not (bool(torch.isfinite(stacked).all()) and bool(torch.isfinite(norm))):
                self._raise_nonfinite(group, active, stacked, step, late=False)
        else:
            flags = torch.isfinite(stacked)
            host = torch.empty(flags.shape, dtype=torch.bool, pin_memory=torch.cuda.is_available())
            host.copy_(flags, non_blocking=True)
            event = torch.cuda.Event() if flags.device.type == "cuda" else None
            if event is not None:
                event.record()
            self._pending.append((event, host, group, list(active), step))
        return norm, None

    def _raise_nonfinite(self, group, active, stacked, step, late):
        finite = torch.isfinite(stacked).tolist() if isinstance(stacked, torch.Tensor) else stacked
        names = self._names(group)
        bad = [names[i] for i, ok in zip(active, finite) if not ok]
        raise NonFiniteGradientError(bad[0] if bad else names[active[0]], step, late=late)

    def _read_pending(self, block: bool) -> None:
        keep = []
        for event, host, group, active, step in self._pending:
            if event is not None and not event.query():
                if not block:
                    keep.append((event, host, group, active, step))
                    continue
                event.synchronize()
            if not bool(host.all()):
                self._pending = []
                self._raise_nonfinite(group, active, host.tolist(), step, late=True)
        self._pending = keep

    # ------------------------------------------------------------------------------------------------------------
    # output point, modes and diagnostics

    def _eval_points(self, group: dict) -> list[torch.Tensor | None]:
        """The output point of each parameter of the group (None where the parameter has no state yet)."""
        params = group["params"]
        gstate = group[_GSTATE]
        if not params or "step" not in gstate:
            return [None] * len(params)
        averaging = group["averaging"]
        out: list[torch.Tensor | None] = []
        if averaging is None and not self._store_anchor:
            deltas = list(group["learner"].predict(self._learner_state(group)))
        for i, p in enumerate(params):
            st = self.state[p]
            if averaging == "epoch":
                if "epoch_mean" in st:
                    out.append(st["epoch_mean"].clone())
                else:
                    done = gstate["step"] % group["epoch_length"]
                    out.append((st["w_sum"] / done).to(p.dtype) if done else p.detach().clone())
            elif averaging is not None:
                out.append(st["ema"].clone())
            elif self._store_anchor:
                out.append(st["anchor"].clone())
            else:
                out.append(p.detach() + functional.host(st["lag"]) * deltas[i])
        return out

    def eval_points(self) -> list[list[torch.Tensor | None]]:
        """The output point (see ``averaging``) of every parameter, per group; the weights are not touched."""
        self._read_pending(block=True)
        return [self._eval_points(g) for g in self.param_groups]

    def eval(self) -> O2NC:
        """Swap the output point into the parameters (the training point is kept in the state). Idempotent."""
        self._read_pending(block=True)
        for group in self.param_groups:
            if not group["train_mode"]:
                continue
            for p, point in zip(group["params"], self._eval_points(group)):
                if point is None:
                    continue
                st = self.state[p]
                st["train_point"] = p.detach().clone()
                with torch.no_grad():
                    p.copy_(point)
            group["train_mode"] = False
        return self

    def train(self) -> O2NC:
        """Put the training point (w_n) back into the parameters. Idempotent."""
        for group in self.param_groups:
            if group["train_mode"]:
                continue
            for p in group["params"]:
                st = self.state.get(p)
                if st and "train_point" in st:
                    with torch.no_grad():
                        p.copy_(st.pop("train_point"))
            group["train_mode"] = True
        return self

    @contextmanager
    def eval_params(self):
        """Context manager: the output point in the parameters inside, the training point restored on exit."""
        was_training = [g["train_mode"] for g in self.param_groups]
        self.eval()
        try:
            yield self
        finally:
            if any(was_training):
                self.train()

    def diagnostics(self) -> list[dict[str, torch.Tensor]]:
        """Per group, as tensors: the step, s, ‖lr·Δ‖ of the current play, ‖g‖ of the last gradient, the effective
        step lr‖Δ‖/‖g‖, and for ``averaging="epoch"`` the last completed epoch's certificate ‖ĝ_k‖ and
        ``radius_bound`` (the path length Σ_t ‖x_t − x_{t−1}‖ within the epoch, which bounds the exact radius
        max_t ‖w_t − w̄_k‖; :mod:`o2nc.conversion.epoch`). ``radius``, the exact radius, needs the epoch's points,
        which this optimizer does not keep: it is NaN (``o2nc.minimize`` reports it). Values a group does not track
        are NaN."""
        self._read_pending(block=True)
        out = []
        for group in self.param_groups:
            params = group["params"]
            gstate = group[_GSTATE]
            if not params or "step" not in gstate:
                out.append({})
                continue
            delta = list(group["learner"].predict(self._learner_state(group)))
            lr = group["lr"]
            delta_norm = functional.vector_norm(delta, False) * (lr if isinstance(lr, torch.Tensor) else abs(lr))
            grad_norm = gstate["grad_norm"]
            dtype, device = grad_norm.dtype, grad_norm.device
            out.append(
                {
                    "step": torch.tensor(gstate["step"], device=device),
                    "s": torch.tensor(self._s if self._s is not None else float("nan"), dtype=dtype, device=device),
                    "delta_norm": delta_norm,
                    "grad_norm": grad_norm,
                    "effective_step": delta_norm / grad_norm,
                    "certificate": gstate["certificate"],
                    "radius_bound": gstate["radius_bound"],
                    "radius": torch.full((), float("nan"), dtype=dtype, device=device),
                }
            )
        return out

    # ------------------------------------------------------------------------------------------------------------
    # checkpoints

    def _extra_state(self) -> dict:
        return {
            "generator_state": self._generator.get_state(),
            "seed": self._seed,
            "s": self._s,
            "draws": self._draws,
            "scaling": self._rule.name,
            "store_anchor": self._store_anchor,
        }

    def state_dict(self) -> dict:
        """``torch.optim`` state dict plus an ``"o2nc"`` entry (the s-sequence RNG as a uint8 tensor, the current s
        and the draw count). Learners are stored as their ``repr`` strings (the qualified name of the type where the
        class has object's default repr, which holds an address), so ``torch.load(weights_only=True)`` reads the file;
        :meth:`load_state_dict` checks them against this optimizer's learners."""
        self._read_pending(block=True)
        # torch's pre-hooks run inside Optimizer.state_dict; its post-hooks run here, on the finished dict.
        post = self._optimizer_state_dict_post_hooks
        self._optimizer_state_dict_post_hooks = OrderedDict()
        try:
            sd = super().state_dict()
        finally:
            self._optimizer_state_dict_post_hooks = post
        for group in sd["param_groups"]:
            group["learner"] = learner_key(group["learner"])
            if isinstance(group["averaging"], tuple):
                group["averaging"] = list(group["averaging"])
            group[_GSTATE] = dict(group[_GSTATE])
        sd["o2nc"] = self._extra_state()
        for post_hook in post.values():
            result = post_hook(self, sd)
            if result is not None:
                sd = result
        return sd

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state dict of :meth:`state_dict`, after checking all of it: nothing is changed when it fails.

        torch's load pre-hooks run first (so a hook can adapt an old checkpoint), then every entry is checked: the
        param groups' learners and hyperparameters; for every parameter of a group that has state, every entry
        present and none unknown, each of the right shape and kind (floating tensors like the parameter, integer
        counters integral and >= 0, integer tensors in their dtype), finite where it must be (the learner's state,
        the anchor, the epoch sums and means, the EMA, the lag, the path length; the certificate and radius bound
        may be NaN before an epoch completes); the s-sequence state. A failure is a ValueError naming the parameter
        (its name, or its index in its param group) and the entry. Then torch loads it (casting floating tensors to
        the parameter's dtype and device), integer tensors keep their dtype, and the post-hooks run.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"O2NC.load_state_dict: need a dict (from O2NC.state_dict()), got {type(state_dict).__name__}"
            )
        sd = state_dict.copy()  # shallow, as torch does
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, sd)
            if result is not None:
                sd = result
        prepared, kept_entries, extra = check_state_dict(self, sd)
        # torch would run the pre-hooks again and the post-hooks before the O2NC entries are in place: run its
        # loader without them.
        pre, post = self._optimizer_load_state_dict_pre_hooks, self._optimizer_load_state_dict_post_hooks
        self._optimizer_load_state_dict_pre_hooks, self._optimizer_load_state_dict_post_hooks = (
            OrderedDict(),
            OrderedDict(),
        )
        try:
            super().load_state_dict(prepared)
        finally:
            self._optimizer_load_state_dict_pre_hooks, self._optimizer_load_state_dict_post_hooks = pre, post
        for p, key, value in kept_entries:  # torch casts every tensor of a floating parameter to its dtype
            self.state[p][key] = value
        self._generator.set_state(extra["generator_state"])
        self._s = extra["s"]
        self._draws = extra["draws"]
        self._bits = None
        self._pending = []
        for post_hook in post.values():
            post_hook(self)

    def __getstate__(self):
        state = super().__getstate__()
        state["_o2nc"] = dict(self._extra_state(), rule=self._rule, check_finite=self._check_finite)
        return state

    def __setstate__(self, state):
        extra = state.pop("_o2nc", None)
        super().__setstate__(state)
        if extra is not None:
            self._rule = extra["rule"]
            self._seed = extra.get("seed")
            self._key = None if self._seed is None else _draw_mod.seed_key(self._seed)
            self._bits = None
            self._generator = torch.Generator()
            self._generator.set_state(extra["generator_state"])
            self._s = extra["s"]
            self._draws = extra["draws"]
            self._store_anchor = extra["store_anchor"]
            self._check_finite = extra["check_finite"]
            self._pending = []
            self._templates = {}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} (scaling={self._rule.name!r}, store_anchor={self._store_anchor})"]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k not in ("params", "param_names", _GSTATE)):
                lines.append(f"    {key}: {group[key]!r}")
        return "\n".join(lines)
