"""Argument checks of :class:`o2nc.torch.O2NC` and its param groups: each names the parameter and what it accepts
(ValueError for a bad value, TypeError for a bad type), as torch.optim's optimizers do."""
from __future__ import annotations

import math
import numbers
import operator

import numpy as np
import torch


def _averaging_spec(averaging, where: str = ""):
    """None, ("epoch",) or ("ema", β): validated form of the ``averaging`` argument."""
    if averaging is None:
        return None
    if averaging == "epoch":
        return "epoch"
    if isinstance(averaging, (tuple, list)) and len(averaging) == 2 and averaging[0] == "ema":
        beta = averaging[1]
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0 <= beta < 1:
            raise ValueError(f"Invalid averaging EMA factor{where}: {beta!r} (need 0 <= beta < 1)")
        return ("ema", float(beta))
    raise ValueError(f"Invalid averaging{where}: {averaging!r} (use None, 'epoch' or ('ema', beta))")


def _check_lr(lr, where: str = ""):
    """``lr`` as accepted: a finite real number >= 0 (Python or numpy scalar, or a 1-element numpy array; returned as
    a float) or a 1-element real floating tensor with a finite value >= 0 (returned as is). ValueError names ``lr``
    ("Invalid learning rate", as ``torch.optim`` says) for a bad value, TypeError for a non-number."""
    if isinstance(lr, torch.Tensor):
        if lr.numel() != 1:
            raise ValueError(f"Invalid learning rate{where}: Tensor lr must be 1-element, got shape {tuple(lr.shape)}")
        if not lr.is_floating_point() or lr.is_complex():
            raise TypeError(
                f"Invalid learning rate{where}: a tensor `lr` must have a real floating dtype, got {lr.dtype}"
            )
        value = float(lr.detach().reshape(()).to("cpu", torch.float64))
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"Invalid learning rate{where}: `lr` must be finite and >= 0, got tensor({value})")
        return lr
    if isinstance(lr, np.ndarray) and lr.size == 1 and lr.dtype.kind in "iuf":
        lr = lr.reshape(()).item()
    if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, numbers.Real):
        raise TypeError(
            f"Invalid learning rate{where}: `lr` must be a finite real number >= 0 or a 1-element tensor, got {lr!r}"
        )
    value = float(lr)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"Invalid learning rate{where}: `lr` must be a finite number >= 0, got {lr!r}")
    return value


def _check_epoch_length(length, where: str = "") -> int:
    """A positive integer (Python or numpy integer, or a 0-d integer array/tensor) as an int; else ValueError for a
    value <= 0 and TypeError for a non-integer, naming ``epoch_length``."""
    if isinstance(length, (bool, np.bool_)) or (isinstance(length, torch.Tensor) and length.dtype == torch.bool):
        raise TypeError(f"Invalid epoch_length{where}: need a positive integer, got {length!r}")
    try:
        value = operator.index(length)
    except TypeError:
        raise TypeError(f"Invalid epoch_length{where}: need a positive integer, got {length!r}") from None
    if value <= 0:
        raise ValueError(f"Invalid epoch_length{where}: need a positive integer, got {value}")
    return value


def _check_bool(name: str, flag, where: str = "") -> bool:
    """A Python or numpy bool as a bool; anything else (a string such as "no", an int, None) is a TypeError."""
    if isinstance(flag, (bool, np.bool_)):
        return bool(flag)
    raise TypeError(f"Invalid {name}{where}: need a bool (True or False), got {flag!r}")


def _check_learner(learner, where: str = "") -> None:
    """An online learner instance (init/predict/update methods); a class (``OGD`` for ``OGD(lr=...)``) is a
    TypeError naming ``learner``."""
    if isinstance(learner, type):
        raise TypeError(
            f"Invalid learner{where}: got the class {learner.__name__}; pass an instance, e.g. "
            f"{learner.__name__}(lr=...)"
        )
    for method in ("init", "predict", "update"):
        if not callable(getattr(learner, method, None)):
            raise TypeError(
                f"Invalid learner{where}: need init/predict/update methods; {type(learner).__name__} lacks {method}"
            )


def _check_weight_decay(value, where: str = "") -> float:
    """A finite real number >= 0 as a float (ValueError names ``weight_decay``; TypeError for a non-number)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"Invalid weight_decay value{where}: need a finite real number >= 0, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"Invalid weight_decay value: {value}{where} (need a finite real number >= 0)")
    return value


def _check_foreach(value, where: str = ""):
    if value is None:
        return None
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Invalid foreach{where}: need None or a bool, got {value!r}")
    return bool(value)


def _check_refused(name: str, value, where: str = ""):
    """``differentiable``, ``capturable`` and ``fused`` are accepted off (False, or None for ``fused``) only."""
    if value is None or (isinstance(value, (bool, np.bool_)) and not value):
        return None if value is None else False
    raise ValueError(
        f"O2NC does not support {name}={value!r}{where}: it runs under torch.no_grad() (no autograd through the step), "
        "takes the learning rate and s as host values (no CUDA-graph capture) and has no fused kernel; what it "
        "supports is foreach=None/True/False (the multi-tensor kernels or the for-loop reference), a tensor lr, "
        "maximize and weight_decay"
    )
