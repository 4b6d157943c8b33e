"""o2nc: non-smooth non-convex stochastic optimization through online learning.

The online-to-non-convex conversion of Cutkosky, Mehta and Orabona (ICML 2023, arXiv 2302.03775) turns an online
learner (see the ``online_learners`` package) into a stochastic optimizer that finds Goldstein (δ,ε)-stationary points
with O(ε^-3 δ^-1) gradient queries.

``o2nc.certify`` (certificates by sampling), ``o2nc.methods`` (every method behind one interface) and
``o2nc.baselines`` load on first use, as attributes of ``o2nc``; the framework shells ``o2nc.torch`` and ``o2nc.jax``
are imported explicitly (``import o2nc.torch``). ``import o2nc`` needs only numpy and scipy.
"""
import importlib

from o2nc import theory
from o2nc.certificate import Certificate
from o2nc.minimize import (
    Epochs,
    GradientShapeError,
    History,
    NonFiniteEpochError,
    NonFiniteGradientError,
    NonFiniteStepError,
    Result,
    StalledRunWarning,
    UnboundedRadiusWarning,
    learner_radius,
    minimize,
)
from o2nc.scaling import Scaling

__version__ = "0.1.0"


_LAZY = ("certify", "methods", "baselines")  # submodules loaded on first attribute access


def __getattr__(name):
    """``o2nc.certify``, ``o2nc.methods`` and ``o2nc.baselines`` load on first use (none imports torch or jax)."""
    if name in _LAZY:
        return importlib.import_module(f"o2nc.{name}")
    raise AttributeError(f"module 'o2nc' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Certificate",
    "minimize",
    "Result",
    "Epochs",
    "History",
    "NonFiniteGradientError",
    "NonFiniteStepError",
    "NonFiniteEpochError",
    "GradientShapeError",
    "StalledRunWarning",
    "UnboundedRadiusWarning",
    "learner_radius",
    "Scaling",
    "baselines",
    "certify",
    "methods",
    "theory",
]
