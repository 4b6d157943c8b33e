"""Regret bounds at the edges of float64: huge comparators and gradient bounds, tiny ones, zero gradients.

A bound is a number or ``math.inf``, never an exception (Python's ``x**2`` raises ``OverflowError`` where ``x*x`` is
inf) and never NaN (inf·0); where no loss was suffered it is the regret itself, 0.
"""
import math

import pytest

from online_learners import FTRL, KT, OGD, AdaGradNorm, ONSBettor, OptimisticOGD

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
