"""o2nc: non-smooth non-convex stochastic optimization through online learning.

The online-to-non-convex conversion of Cutkosky, Mehta and Orabona (ICML 2023, arXiv 2302.03775) turns an online
learner (see the ``online_learners`` package) into a stochastic optimizer that finds Goldstein (δ,ε)-stationary points
with O(ε^-3 δ^-1) gradient queries. Framework shells (``o2nc.torch``, ``o2nc.jax``) are imported lazily: ``import
o2nc`` needs only numpy and scipy.
"""
from o2nc import certify, theory
from o2nc.certificate import Certificate
from o2nc.minimize import (
    Epochs,
    GradientShapeError,
    History,
    NonFiniteEpochError,
    NonFiniteGradientError,
    NonFiniteStepError,
    Result,
    UnboundedRadiusWarning,
    learner_radius,
    minimize,
)
from o2nc.scaling import Scaling

__version__ = "0.1.0"


def __getattr__(name):
    """``o2nc.methods`` (every method behind one interface) loads on first use: it builds the baselines' registry."""
    if name == "methods":
        import importlib

        return importlib.import_module("o2nc.methods")
    raise AttributeError(f"module 'o2nc' has no attribute {name!r}")

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
    "UnboundedRadiusWarning",
    "learner_radius",
    "Scaling",
    "certify",
    "methods",
    "theory",
]
