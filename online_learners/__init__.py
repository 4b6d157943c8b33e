"""Online learners over pytrees of numpy, torch or jax arrays, written once against the Array API.

Every learner follows one protocol (see :mod:`online_learners.base`): ``init(params)``, ``predict(state, hint)``,
``update(state, grad)`` and ``regret_bound(comparator_norm, grad_sq_norms)``. Learners whose bound depends on the
number of coordinates (the per-coordinate ones) also take ``regret_bound(..., dim=d)`` and return ``math.inf`` without
it.
"""
from online_learners import registry, tree
from online_learners.adagrad_norm import AdaGradNorm, AdaGradNormState
from online_learners.base import Learner
from online_learners.betting import COCOB, KT, COCOBState, KTScaleFreeState, KTState, ONSBettor, ONSBettorState
from online_learners.combinators import Coordinatewise, Discounted, Restarting, RestartingState
from online_learners.ftrl import FTRL, DiscountedFTRL, DiscountedFTRLState, FTRLState
from online_learners.ogd import OGD, LazilyProjectedOGD, LazilyProjectedOGDState, OGDState
from online_learners.optimistic import OptimisticOGD, OptimisticOGDState
from online_learners.paramfree import FreeGrad, FreeGradState, ParameterFreeMirrorDescent, PFMDState
from online_learners.reductions import BallConstraint, BallConstraintState, DirectionMagnitude, DirectionMagnitudeState

_NAN = float("nan")

registry.register(
    "ogd",
    OGD,
    summary="projected online gradient descent, constant or anytime step (Zinkevich 2003)",
    examples=(OGD(lr=0.1, radius=1.0), OGD(lr=0.05), OGD(lr=0.5, radius=1.0, anytime=True)),
    bad_params=(
        dict(lr=0.0), dict(lr=-1.0), dict(lr=float("nan")), dict(lr=0.1, radius=0.0), dict(lr=0.1, radius=-2.0)
    ),
)
registry.register(
    "adagrad_norm",
    AdaGradNorm,
    summary="projected OGD with the AdaGrad-norm step scale·radius/√Σ‖g‖² (Streeter & McMahan 2010)",
    examples=(AdaGradNorm(radius=1.0), AdaGradNorm(radius=0.3, scale=2**0.5)),
    bad_params=(dict(radius=0.0), dict(radius=-1.0), dict(radius=1.0, scale=0.0), dict(radius=float("inf"))),
)
registry.register(
    "optimistic_ogd",
    OptimisticOGD,
    summary="optimistic projected OGD with hints, two-projection or single-projection form (Rakhlin & Sridharan 2013)",
    examples=(
        OptimisticOGD(lr=0.1, radius=1.0),
        OptimisticOGD(lr=0.1, radius=1.0, form="single_projection"),
        OptimisticOGD(lr=0.05),
    ),
    bad_params=(dict(lr=0.0), dict(lr=-1.0), dict(lr=_NAN), dict(lr=0.1, radius=0.0), dict(lr=0.1, form="three")),
)
registry.register(
    "kt",
    KT,
    summary="Krichevsky–Trofimov coin betting per coordinate, known G or scale-free coins (Orabona & Pál 2016)",
    examples=(KT(lipschitz=100.0), KT(eps=0.1, lipschitz=100.0), KT(lipschitz=None)),
    bad_params=(dict(eps=0.0), dict(eps=-1.0), dict(eps=_NAN), dict(lipschitz=0.0), dict(lipschitz=float("inf"))),
)
registry.register(
    "ons_bettor",
    ONSBettor,
    summary="coin betting with the fraction learned by Online Newton Step, per coordinate (Cutkosky & Orabona 2018)",
    examples=(ONSBettor(lipschitz=100.0), ONSBettor(eps=0.5, lipschitz=100.0)),
    bad_params=(dict(eps=0.0), dict(eps=-1.0), dict(lipschitz=-1.0), dict(lipschitz=_NAN)),
)
registry.register(
    "cocob",
    COCOB,
    summary="COCOB-Backprop, per coordinate (Orabona & Tommasi 2017)",
    examples=(COCOB(), COCOB(alpha=10.0, eps=1e-6)),
    bad_params=(dict(alpha=0.5), dict(alpha=-1.0), dict(alpha=_NAN), dict(eps=0.0), dict(eps=-1e-8)),
)
registry.register(
    "direction_magnitude",
    DirectionMagnitude,
    summary="1-D magnitude × direction in the unit ball (Cutkosky & Orabona 2018)",
    examples=(
        DirectionMagnitude(KT(lipschitz=100.0), OGD(lr=0.1, radius=1.0)),
        DirectionMagnitude(ONSBettor(lipschitz=100.0), OGD(lr=0.1, radius=1.0)),
        DirectionMagnitude(KT(eps=0.1, lipschitz=100.0), AdaGradNorm(radius=1.0)),
        DirectionMagnitude(KT(lipschitz=None), Restarting(AdaGradNorm(radius=1.0, scale=2**0.5), period=10)),
    ),
    bad_params=(
        dict(magnitude=KT(), direction=OGD(lr=0.1)),
        dict(magnitude=KT(), direction=OGD(lr=0.1, radius=2.0)),
        dict(magnitude="kt", direction=OGD(lr=0.1, radius=1.0)),
    ),
)
registry.register(
    "ball_constraint",
    BallConstraint,
    summary="unconstrained learner restricted to a ball via the surrogate gradient (Cutkosky & Orabona 2018)",
    examples=(
        BallConstraint(FreeGrad(lipschitz=100.0), radius=1.0),
        BallConstraint(DirectionMagnitude(KT(lipschitz=100.0), OGD(lr=0.1, radius=1.0)), radius=0.5),
        BallConstraint(OGD(lr=0.1), radius=1.0),
    ),
    bad_params=(
        dict(learner=OGD(lr=0.1), radius=0.0),
        dict(learner=OGD(lr=0.1), radius=-1.0),
        dict(learner=OGD(lr=0.1), radius=_NAN),
        dict(learner=None, radius=1.0),
    ),
)
registry.register(
    "ftrl",
    FTRL,
    summary="FTRL with a quadratic regulariser on the ball (lazy projection)",
    examples=(FTRL(lr=0.1, radius=1.0), FTRL(lr=0.05)),
    bad_params=(dict(lr=0.0), dict(lr=-0.1), dict(lr=_NAN), dict(lr=0.1, radius=0.0)),
)
registry.register(
    "discounted_ftrl",
    DiscountedFTRL,
    summary="β-FTRL with an adaptive quadratic regulariser: Adam without bias correction (Ahn et al. 2024)",
    examples=(
        DiscountedFTRL(lr=0.01, coordinatewise=False),
        DiscountedFTRL(lr=0.01, radius=1.0),
        DiscountedFTRL(lr=0.1, beta1=0.5, beta2=0.9, eps=1e-8, radius=0.5),
    ),
    bad_params=(
        dict(lr=0.0),
        dict(lr=0.1, beta1=1.0),
        dict(lr=0.1, beta1=-0.1),
        dict(lr=0.1, beta2=1.0),
        dict(lr=0.1, eps=-1.0),
        dict(lr=0.1, radius=0.0),
    ),
)
registry.register(
    "freegrad",
    FreeGrad,
    summary="FreeGrad, parameter-free and scale-adaptive with a known gradient bound (Mhammedi & Koolen 2020)",
    examples=(FreeGrad(lipschitz=100.0), FreeGrad(lipschitz=50.0, coordinatewise=True)),
    bad_params=(dict(lipschitz=0.0), dict(lipschitz=-1.0), dict(lipschitz=_NAN)),
)
registry.register(
    "pfmd",
    ParameterFreeMirrorDescent,
    summary="parameter-free mirror descent (Jacobsen & Cutkosky 2022)",
    examples=(ParameterFreeMirrorDescent(), ParameterFreeMirrorDescent(eps=0.1)),
    bad_params=(dict(eps=0.0), dict(eps=-1.0), dict(eps=_NAN)),
)
registry.register(
    "coordinatewise",
    Coordinatewise,
    summary="one copy of a learner per coordinate, vectorised",
    examples=(
        Coordinatewise(OGD(lr=0.1, radius=1.0)), Coordinatewise(FTRL(lr=0.1, radius=1.0)), Coordinatewise(OGD(lr=0.05))
    ),
    bad_params=(dict(learner=None), dict(learner=DirectionMagnitude(KT(), OGD(lr=0.1, radius=1.0)))),
)
registry.register(
    "restarting",
    Restarting,
    summary="restart a learner every `period` rounds, resetting its whole state",
    examples=(
        Restarting(OGD(lr=0.1, radius=1.0), period=5),
        Restarting(DirectionMagnitude(KT(lipschitz=100.0), OGD(lr=0.1, radius=1.0)), period=7),
    ),
    bad_params=(
        dict(learner=OGD(lr=0.1), period=0),
        dict(learner=OGD(lr=0.1), period=1.5),
        dict(learner=OGD(lr=0.1), period=-3),
        dict(learner=None, period=5),
    ),
)
registry.register(
    "discounted",
    Discounted,
    summary="OGD/FTRL with discount β and weight decay μ: the SGD-with-momentum learner (Zhang & Cutkosky 2024)",
    examples=(
        Discounted(OGD(lr=0.1), beta=0.9),
        Discounted(OGD(lr=0.1, radius=1.0), beta=0.9, mu=0.5),
        Discounted(FTRL(lr=0.1, radius=1.0), beta=0.8),
    ),
    bad_params=(
        dict(learner=OGD(lr=0.1), beta=1.5),
        dict(learner=OGD(lr=0.1), beta=-0.1),
        dict(learner=OGD(lr=0.1), beta=_NAN),
        dict(learner=OGD(lr=0.1), beta=0.9, mu=-1.0),
        dict(learner=OGD(lr=0.1, anytime=True), beta=0.9),
        dict(learner=KT(), beta=0.9),
    ),
)

__all__ = [
    "Learner",
    "OGD",
    "OGDState",
    "LazilyProjectedOGD",
    "LazilyProjectedOGDState",
    "AdaGradNorm",
    "AdaGradNormState",
    "OptimisticOGD",
    "OptimisticOGDState",
    "KT",
    "KTState",
    "KTScaleFreeState",
    "ONSBettor",
    "ONSBettorState",
    "COCOB",
    "COCOBState",
    "DirectionMagnitude",
    "DirectionMagnitudeState",
    "BallConstraint",
    "BallConstraintState",
    "FTRL",
    "FTRLState",
    "DiscountedFTRL",
    "DiscountedFTRLState",
    "FreeGrad",
    "FreeGradState",
    "ParameterFreeMirrorDescent",
    "PFMDState",
    "Coordinatewise",
    "Restarting",
    "RestartingState",
    "Discounted",
    "registry",
    "tree",
]
