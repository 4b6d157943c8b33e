"""Checks of a state dict for :meth:`o2nc.torch.O2NC.load_state_dict`: everything :meth:`~o2nc.torch.O2NC.step`
needs, before anything is changed (the param groups' learners and hyperparameters, each group's ``group_state``, each
parameter's entries, the s-sequence state)."""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from o2nc.torch._args import (
    _averaging_spec,
    _check_bool,
    _check_epoch_length,
    _check_foreach,
    _check_lr,
    _check_refused,
    _check_weight_decay,
)
from o2nc.torch._layout import _GSTATE, _LATER_FLAGS, _LEARNER, _REFUSED, _split
from o2nc.torch.functional import accumulator_dtype

__all__ = ["check_state_dict", "learner_key"]


def learner_key(learner) -> str:
    """How a state dict names a learner (and how :func:`check_state_dict` compares it): its ``repr``, or, where the
    class keeps object's default repr (``<module.Class object at 0x…>``, an address that differs in every process),
    the qualified name of its type."""
    kind = type(learner)
    if kind.__repr__ is object.__repr__:
        return f"{kind.__module__}.{kind.__qualname__}"
    return repr(learner)


def check_state_dict(opt, sd) -> tuple:
    """(state dict for torch's loader, integer tensors to restore after it, O2NC entries): raises ValueError on
    anything :meth:`step` could not run from, changing nothing."""
    where = "O2NC.load_state_dict"
    if not isinstance(sd, dict) or "o2nc" not in sd:
        raise ValueError(f"{where}: this state_dict was not produced by o2nc.torch.O2NC (it has no 'o2nc' entry)")
    for key in ("state", "param_groups"):
        if key not in sd:
            raise ValueError(f"{where}: the state_dict has no {key!r} entry")
    extra = sd["o2nc"]
    if not isinstance(extra, dict):
        raise ValueError(f"{where}: the 'o2nc' entry must be a dict, got {type(extra).__name__}")
    for key in ("generator_state", "seed", "s", "draws", "scaling", "store_anchor"):
        if key not in extra:
            raise ValueError(f"{where}: the 'o2nc' entry lacks {key!r}")
    if extra["scaling"] != opt._rule.name:
        raise ValueError(
            f"{where}: saved with scaling {extra['scaling']!r}, this optimizer uses {opt._rule.name!r}"
        )
    if extra["store_anchor"] != opt._store_anchor:
        raise ValueError(
            f"{where}: saved with store_anchor={extra['store_anchor']}, this optimizer has "
            f"store_anchor={opt._store_anchor}"
        )
    if extra["seed"] != opt._seed:
        raise ValueError(f"{where}: saved with seed={extra['seed']!r}, this optimizer has seed={opt._seed!r}")
    checked_extra = {
        "generator_state": _check_generator_state(opt, extra["generator_state"]),
        "s": extra["s"],
        "draws": extra["draws"],
    }
    s = extra["s"]
    if s is not None and (isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Real) or not math.isfinite(s)):
        raise ValueError(f"{where}: 'o2nc' entry 's' (the current s) must be None or a finite number, got {s!r}")
    checked_extra["s"] = None if s is None else float(s)
    draws = extra["draws"]
    if isinstance(draws, (bool, np.bool_)) or not isinstance(draws, numbers.Integral) or draws < 0:
        raise ValueError(f"{where}: 'o2nc' entry 'draws' must be an integer >= 0, got {draws!r}")
    checked_extra["draws"] = int(draws)

    saved_groups, saved_state = sd["param_groups"], sd["state"]
    if not isinstance(saved_groups, (list, tuple)) or not isinstance(saved_state, dict):
        raise ValueError(f"{where}: 'param_groups' must be a list and 'state' a dict")
    if len(saved_groups) != len(opt.param_groups):
        raise ValueError(
            f"{where}: the state_dict has {len(saved_groups)} param groups, this optimizer has "
            f"{len(opt.param_groups)}"
        )
    groups, listed, kept_entries = [], set(), []
    state = dict(saved_state)
    any_state = False
    for gi, (saved, ours) in enumerate(zip(saved_groups, opt.param_groups)):
        if not isinstance(saved, dict) or not isinstance(saved.get("params"), (list, tuple)):
            raise ValueError(f"{where}: param group {gi} must be a dict with a 'params' list")
        if len(saved["params"]) != len(ours["params"]):
            raise ValueError(
                f"{where}: param group {gi} was saved with {len(saved['params'])} parameters, this optimizer's "
                f"has {len(ours['params'])}"
            )
        if saved.get("learner") != learner_key(ours["learner"]):
            raise ValueError(
                f"{where}: param group {gi} was saved with learner {saved.get('learner')!r}, "
                f"this optimizer has {learner_key(ours['learner'])!r}"
            )
        group = dict(saved)
        gwhere = f" in the saved param group {gi}"
        for key in ("lr", "epoch_length", "restart", "averaging", "train_mode"):
            if key not in group:
                raise ValueError(f"{where}: param group {gi} lacks {key!r}")
        for key in _LATER_FLAGS:  # flags added after the first release: an older checkpoint keeps ours
            group.setdefault(key, ours[key])
        try:
            group["learner"] = ours["learner"]
            group["lr"] = _check_lr(group["lr"], gwhere)
            group["epoch_length"] = _check_epoch_length(group["epoch_length"], gwhere)
            group["restart"] = _check_bool("restart", group["restart"], gwhere)
            group["train_mode"] = _check_bool("train_mode", group["train_mode"], gwhere)
            averaging = group["averaging"]
            group["averaging"] = _averaging_spec(tuple(averaging) if isinstance(averaging, list) else averaging, gwhere)
            group["weight_decay"] = _check_weight_decay(group["weight_decay"], gwhere)
            group["maximize"] = _check_bool("maximize", group["maximize"], gwhere)
            group["foreach"] = _check_foreach(group["foreach"], gwhere)
            for name in _REFUSED:
                group[name] = _check_refused(name, group[name], gwhere)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: {err}") from None
        groups.append(group)
        ids = list(saved["params"])
        listed.update(ids)
        if _check_group_state(opt, gi, ours, group, ids, state, kept_entries):
            any_state = True
    # torch keeps entries that are not parameters' (keys other than indices) as they are
    unlisted = [k for k in state if k not in listed and isinstance(k, numbers.Integral)]
    if unlisted:
        raise ValueError(f"{where}: the state_dict has state for {unlisted!r}, which no param group lists")
    if any_state and checked_extra["s"] is None:
        raise ValueError(f"{where}: 'o2nc' entry 's' is None, but the parameters have state (s must be a number)")
    out = {k: v for k, v in sd.items() if k != "o2nc"}
    out["param_groups"] = groups
    out["state"] = state
    return out, kept_entries, checked_extra


def _check_generator_state(opt, value) -> torch.Tensor:
    ours = opt._generator.get_state()
    if not isinstance(value, torch.Tensor) or value.dtype != torch.uint8 or value.shape != ours.shape:
        got = (f"a {value.dtype} tensor of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor)
               else repr(type(value)))
        raise ValueError(
            f"O2NC.load_state_dict: 'o2nc' entry 'generator_state' must be a uint8 tensor of shape "
            f"{tuple(ours.shape)} (a CPU torch.Generator state), got {got}"
        )
    value = value.to("cpu")
    try:
        torch.Generator().set_state(value)
    except RuntimeError as err:
        raise ValueError(
            f"O2NC.load_state_dict: 'o2nc' entry 'generator_state' is not a generator state: {err}"
        ) from None
    return value


def _check_group_state(opt, gi: int, ours: dict, group: dict, ids: list, state: dict, kept_entries: list) -> bool:
    """Check the saved state of one param group (``group``: its checked hyperparameters, whose ``group_state``
    is replaced by a checked copy on this optimizer's device) and of its parameters; replaces entries of
    ``state`` by checked copies where they need a conversion. True when the group has state."""
    params = ours["params"]
    names = opt._names(ours)
    entries = [state.get(i) for i in ids]
    for name, st in zip(names, entries):
        if st is not None and not isinstance(st, dict):
            raise ValueError(f"O2NC.load_state_dict: {name}: the state must be a dict, got {type(st).__name__}")
    gsaved = group.get(_GSTATE, {})
    if not isinstance(gsaved, dict):
        raise ValueError(f"O2NC.load_state_dict: param group {gi}: {_GSTATE!r} must be a dict, got "
                         f"{type(gsaved).__name__}")
    if not params or "step" not in gsaved:
        for name, st in zip(names, entries):
            if st:
                raise ValueError(
                    f"O2NC.load_state_dict: param group {gi}: missing entry {_GSTATE!r}['step'] (the group's "
                    f"counters), and {name} has state"
                )
        if gsaved:
            raise ValueError(f"O2NC.load_state_dict: param group {gi}: {_GSTATE!r} has entries "
                             f"{sorted(gsaved)!r} but no 'step'")
        group[_GSTATE] = {}
        return False
    template, per_fields, shared_fields = opt._template(ours)
    tper, tshared = _split(template)
    averaging = group["averaging"]
    p0 = params[0]
    gname = f"param group {gi}"
    grequired = {"step": "count", "epochs": "count", "grad_norm": "norm", "certificate": "nan_norm",
                 "radius_bound": "nan_norm"}
    if averaging == "epoch":
        grequired["path"] = grequired["segment"] = "norm"
    for f in shared_fields:
        grequired[_LEARNER + f] = ("shared", tshared[f])
    _check_keys(opt, gname, f"{_GSTATE}", gsaved, grequired, {}, averaging)
    gchecked, gkept = {}, []
    for key, value in gsaved.items():
        gchecked[key] = _check_entry(p0, gname, key, grequired[key], value, gkept)
    for _, key, value in gkept:
        gchecked[key] = value
    wide = accumulator_dtype(p0.dtype)
    for key, value in gchecked.items():  # floating group tensors to the group's dtype and device, as torch does,
        if isinstance(value, torch.Tensor) and value.is_floating_point():  # a learner's to its template's dtype,
            leaf = tshared.get(key[len(_LEARNER):]) if key.startswith(_LEARNER) else None  # the running sums to
            dtype = leaf.dtype if isinstance(leaf, torch.Tensor) and leaf.is_floating_point() else (  # at least
                wide if key in _WIDE_GROUP else p0.dtype)  # float32 (accumulator_dtype), as the step keeps them
            gchecked[key] = value.to(dtype=dtype, device=p0.device)
    group[_GSTATE] = gchecked
    for i, (p, name, st) in enumerate(zip(params, names, entries)):
        if st is None:
            raise ValueError(f"O2NC.load_state_dict: {name}: no state (its param group {gi} has state)")
        required = {"lag": "lag"}
        for f in per_fields:
            required[_LEARNER + f] = ("learner", tper[f][0])
        if opt._store_anchor:
            required["anchor"] = "point"
        if averaging == "epoch":
            required["w_sum"] = required["g_sum"] = "point"
        elif averaging is not None:
            required["ema"] = "point"
        if not group["train_mode"]:
            required["train_point"] = "point"
        optional = {"epoch_mean": "point"} if averaging == "epoch" else {}
        _check_keys(opt, name, "", st, required, optional, averaging)
        checked = dict(st)
        for key, value in st.items():
            kind = required.get(key, optional.get(key))
            checked[key] = _check_entry(p, name, key, kind, value, kept_entries)
        if wide != p.dtype:  # the epoch sums stay in at least float32, not cast to the parameter's dtype by torch
            for key in _WIDE_ENTRIES:
                if key in checked:
                    kept_entries.append((p, key, checked[key].to(dtype=wide, device=p.device)))
        state[ids[i]] = checked
    return True


_WIDE_GROUP = ("path", "grad_norm")  # group entries kept in functional.accumulator_dtype
_WIDE_ENTRIES = ("w_sum", "g_sum")  # per-parameter entries kept in it


def _check_keys(opt, name, where, st, required, optional, averaging) -> None:
    for key in required:
        if key not in st:
            raise ValueError(f"O2NC.load_state_dict: {name}: missing entry {where + ' ' if where else ''}{key!r}")
    unknown = [k for k in st if k not in required and k not in optional]
    if unknown:
        raise ValueError(
            f"O2NC.load_state_dict: {name}: unexpected entr{'ies' if len(unknown) > 1 else 'y'} "
            f"{', '.join(map(repr, unknown))} (not part of this optimizer's state for this learner, "
            f"averaging={averaging!r}, store_anchor={opt._store_anchor})"
        )


def _check_entry(p, name: str, key: str, kind, value, integer_entries: list):
    """One checked entry (see :meth:`load_state_dict`)."""

    def fail(what):
        raise ValueError(f"O2NC.load_state_dict: {name}: entry {key!r} {what}")

    def describe(v):
        if isinstance(v, torch.Tensor):
            return f"a {v.dtype} tensor of shape {tuple(v.shape)}"
        return repr(v)

    def real_tensor(v, shape, what):
        if not isinstance(v, torch.Tensor) or not v.is_floating_point() or v.is_complex():
            fail(f"must be {what}, got {describe(v)}")
        if tuple(v.shape) != tuple(shape):
            fail(f"must have shape {tuple(shape)}, got {tuple(v.shape)}")
        return v

    if kind == "count":
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0:
            fail(f"(a step counter) must be an integer >= 0, got {describe(value)}")
        return int(value)
    if kind == "lag":
        if isinstance(value, torch.Tensor):
            if value.numel() != 1 or not value.is_floating_point() or value.is_complex():
                fail(f"must be a finite number or a 1-element floating tensor, got {describe(value)}")
            if not bool(torch.isfinite(value).all()):
                fail(f"must be finite, got {value.item()}")
            value = value.detach().reshape(())
            # kept as saved (a float64 CPU tensor for a float lr), not cast to the parameter's dtype by torch
            value = value.to(torch.float64) if value.device.type == "cpu" else value.to(p.device)
        elif isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            fail(f"must be a finite number or a 1-element floating tensor, got {describe(value)}")
        else:  # a float lag of an older checkpoint
            value = torch.tensor(float(value), dtype=torch.float64)
        integer_entries.append((p, key, value))
        return value
    if kind == "point":
        v = real_tensor(value, p.shape, f"a floating tensor shaped like the parameter {tuple(p.shape)}")
        if not bool(torch.isfinite(v).all()):
            fail("is not finite (it holds NaN or inf)")
        return v
    if kind in ("norm", "nan_norm"):
        v = real_tensor(value, (), "a 0-d floating tensor")
        x = float(v)
        if math.isnan(x) and kind == "nan_norm":
            return v
        if not math.isfinite(x) or x < 0:
            fail(f"must be {'NaN or ' if kind == 'nan_norm' else ''}a finite number >= 0, got {x}")
        return v
    role, t = kind  # a learner entry: like the template's leaf (per parameter: a (1,) leaf is parameter-shaped)
    shape = tuple(p.shape) if role == "learner" and isinstance(t, torch.Tensor) and tuple(t.shape) == (1,) else (
        tuple(t.shape) if isinstance(t, torch.Tensor) else None
    )
    if isinstance(t, torch.Tensor) and not t.is_floating_point():
        if not isinstance(value, torch.Tensor) or value.dtype != t.dtype:
            fail(f"(a learner counter) must be a {t.dtype} tensor, got {describe(value)}")
        if tuple(value.shape) != shape:
            fail(f"must have shape {shape}, got {tuple(value.shape)}")
        if t.dtype != torch.bool and bool((value < 0).any()):
            fail("(a learner counter) must be >= 0")
        integer_entries.append((p, key, value.to(device=p.device)))
        return value
    if isinstance(t, torch.Tensor):
        v = real_tensor(value, shape, f"a floating tensor of shape {shape} (the learner's state)")
        if t.dtype != p.dtype and p.is_floating_point():
            # a field the learner keeps wider than the parameter (tree.accumulator_like: a running sum of squares
            # on half-precision parameters): kept in that dtype, not cast to the parameter's by torch's loader
            integer_entries.append((p, key, value.to(dtype=t.dtype, device=p.device)))
    elif isinstance(t, numbers.Integral):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            fail(f"(a learner counter) must be an integer, got {describe(value)}")
        return int(value)
    else:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            fail(f"must be a real number (the learner's state), got {describe(value)}")
        v = torch.as_tensor(float(value))
    if not bool(torch.isfinite(v).all()):
        fail("is not finite (it holds NaN or inf): the learner's state must be finite")
    return value
