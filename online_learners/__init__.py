"""Online learners over pytrees of numpy, torch or jax arrays, written once against the Array API.

Every learner follows one protocol (see :mod:`online_learners.base`): ``init(params)``, ``predict(state, hint)``,
``update(state, grad)`` and ``regret_bound(comparator_norm, grad_sq_norms)``.
"""
from online_learners import registry, tree
from online_learners.adagrad_norm import AdaGradNorm, AdaGradNormState
from online_learners.base import Learner
from online_learners.ogd import OGD, OGDState

registry.register(
    "ogd",
    OGD,
    summary="projected online gradient descent, constant or anytime step (Zinkevich 2003)",
    examples=(OGD(lr=0.1, radius=1.0), OGD(lr=0.05), OGD(lr=0.5, radius=1.0, anytime=True)),
    bad_params=(dict(lr=0.0), dict(lr=-1.0), dict(lr=float("nan")), dict(lr=0.1, radius=0.0), dict(lr=0.1, radius=-2.0)),
)
registry.register(
    "adagrad_norm",
    AdaGradNorm,
    summary="projected OGD with the AdaGrad-norm step scale·radius/√Σ‖g‖² (Streeter & McMahan 2010)",
    examples=(AdaGradNorm(radius=1.0), AdaGradNorm(radius=0.3, scale=2**0.5)),
    bad_params=(dict(radius=0.0), dict(radius=-1.0), dict(radius=1.0, scale=0.0), dict(radius=float("inf"))),
)

__all__ = ["Learner", "OGD", "OGDState", "AdaGradNorm", "AdaGradNormState", "registry", "tree"]
