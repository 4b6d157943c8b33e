"""Regret bounds at the edges of float64: huge comparators and gradient bounds, tiny ones, zero gradients.

A bound is a number or ``math.inf``, never an exception (Python's ``x**2`` raises ``OverflowError`` where ``x*x`` is
inf) and never NaN (inf·0); where no loss was suffered it is the regret itself, 0.
"""
import math

import pytest

from online_learners import FTRL, KT, OGD, AdaGradNorm, FreeGrad, ONSBettor, OptimisticOGD

CASES = [
    # (learner, comparator norm, squared gradient norms, expected or None for "a number ≥ 0 or inf")
    (OGD(lr=0.1), 1e155, [1.0], math.inf),
    (FTRL(lr=0.1), 1e155, [1.0], math.inf),
    (OptimisticOGD(lr=0.1), 1e155, [1.0], math.inf),
    # one round: the anytime step's D²·(1/(2η_T) − 1/(2η_1)) term is 0 even where D² overflows
    (OGD(lr=1e-3, radius=1e155, anytime=True), 1.0, [1.0], 1.0 / (2 * 1e-3) + 0.5 * 1e-3),
    (OGD(lr=1e-3, radius=1e155, anytime=True), 1.0, [1.0, 1.0], math.inf),
    (KT(lipschitz=1e155), 1.0, [1.0], None),
    (ONSBettor(lipschitz=1e155), 1.0, [1.0], None),
    (ONSBettor(lipschitz=1e-170), 1.0, [0.0], None),
    (AdaGradNorm(radius=1.0, scale=1e-320), 0.5, [0.0], 0.0),
    (AdaGradNorm(radius=1e200, scale=1e200), 1.0, [], 0.0),
    (AdaGradNorm(radius=1.0, scale=1e-320), 0.5, [1.0], math.inf),
    # FreeGrad in units of h: h² is never formed (h = 1e155 overflowed, 1e-170 underflowed to a division by zero)
    (FreeGrad(lipschitz=1e155), 1.0, [1.0], 1.0),  # one round from the play 0: the regret −⟨g, u⟩ is at most 1
    (FreeGrad(lipschitz=1e-170), 1.0, [0.0], 0.0),
    (FreeGrad(lipschitz=1e-170), 1.0, [], 0.0),
]


@pytest.mark.parametrize("learner, comparator, sq, expected", CASES, ids=[f"{type(c[0]).__name__}-{i}"
                                                                           for i, c in enumerate(CASES)])
def test_regret_bound_is_a_number_or_inf(learner, comparator, sq, expected):
    kwargs = {"dim": 1} if isinstance(learner, (KT, ONSBettor)) else {}
    bound = learner.regret_bound(comparator, sq, **kwargs)
    assert not math.isnan(bound)
    assert bound >= 0.0
    if expected is not None:
        assert bound == pytest.approx(expected, rel=1e-12) if math.isfinite(expected) else bound == expected


def test_freegrad_bound_is_not_below_a_tiny_realised_regret():
    """h − Φ(G_T, V_T) cancels where Φ ≈ h: taken as −h·expm1(·) the bound stays above the regret of one round from
    the play 0 with g = 1e-6 against ‖u‖ = 1e-3 (regret 1e-9; the subtraction gave 9.9999997e-10)."""
    learner = FreeGrad(lipschitz=1.0)
    assert learner.regret_bound(1e-3, [1e-12]) >= 1e-9
