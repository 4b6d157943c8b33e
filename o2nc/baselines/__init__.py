"""Baselines: the methods O2NC is compared against, run through the same oracle counting and certificates.

Every baseline is a frozen dataclass of hyperparameters with
``minimize(problem, x0, *, budget, seed=0, record=False) -> BaselineResult`` (see :mod:`o2nc.baselines._base`).
``get(name, **params)`` builds one by name, ``names()`` lists them.

=================== ========================================== =======================================================
name                method                                     proven rate (module docstrings give sources)
=================== ========================================== =======================================================
``sgd``             SGD                                        smooth O(ε^-4); no (δ,ε) guarantee
``sgd_momentum``    SGD with heavy-ball momentum               smooth O(ε^-4); no (δ,ε) guarantee
``adam``            Adam                                       smooth Õ(ε^-4); no (δ,ε) guarantee
``nsgdm``           normalized SGD with momentum               smooth O(ε^-4); no (δ,ε) guarantee
``ingd``            INGD (Zhang et al. 2020)                   Õ(δ^-1 ε^-3) exact (derived); stochastic: none claimed
``pingd``           perturbed INGD (Davis et al.; Tian et al.) Õ(δ^-1 ε^-3) exact if ρ ≤ δε/(8L); none stochastic
``gradient_sampling`` gradient sampling (BLO 2005)             asymptotic (Clarke stationary cluster points)
``bfgs``            non-smooth BFGS (Lewis & Overton 2013)     none proven; observed R-linear; exact only
``gfm``             zero-order GFM (Lin, Zheng, Jordan 2022)   O(d^{3/2} δ^-1 ε^-4) evaluations
``gfm_plus``        zero-order GFM+ (Chen, Xu, Luo 2023)       O(d^{3/2} δ^-1 ε^-3) evaluations
``zo_o2nc``         zero-order O2NC (Kornowski & Shamir 2024)  O(d δ^-1 ε^-3) evaluations
``schedule_free``   schedule-free SGD (Defazio et al. 2024)    convex: DG/√T anytime
``mechanic``        Mechanic (Cutkosky, Defazio, Mehta 2023)   convex: best base scale up to logs
=================== ========================================== =======================================================

Example:
    >>> import numpy as np
    >>> from o2nc import baselines
    >>> class AbsX:
    ...     def value(self, x): return float(np.abs(x).sum())
    ...     def grad(self, x): return np.sign(x)
    >>> res = baselines.get("ingd", delta=0.1).minimize(AbsX(), np.array([0.95]), budget=100)
    >>> res.certificate.epsilon, res.certificate.kind, res.certificate_source
    (0.0, 'sampled one-sided', 'own')
    >>> res.certificate.describe(0.1)  # doctest: +ELLIPSIS
    '(δ, ε)-stationary with δ = 0.1, ε = 0 (...; r = 0.1 (upper bound) ≤ δ; 11 calls)'
"""
from o2nc.baselines import registry
from o2nc.baselines._base import Baseline, BaselineResult, NonFiniteOracleError
from o2nc.baselines.adam import Adam
from o2nc.baselines.bfgs import NonsmoothBFGS
from o2nc.baselines.gfm import GFM
from o2nc.baselines.gfm_plus import GFMPlus
from o2nc.baselines.gradient_sampling import GradientSampling
from o2nc.baselines.ingd import INGD
from o2nc.baselines.mechanic import Mechanic
from o2nc.baselines.momentum import SGDMomentum
from o2nc.baselines.nsgdm import NormalizedSGDMomentum
from o2nc.baselines.pingd import PerturbedINGD
from o2nc.baselines.registry import entries, examples, get, names
from o2nc.baselines.schedule_free import ScheduleFreeSGD
from o2nc.baselines.sgd import SGD
from o2nc.baselines.zo_o2nc import ZeroOrderO2NC

_NAN = float("nan")

registry.register(
    "sgd", SGD,
    summary="stochastic subgradient descent, constant or 1/√t step (Robbins–Monro 1951; Ghadimi–Lan 2013)",
    examples=(SGD(lr=0.01), SGD(lr=0.05, schedule="sqrt", output="random")),
    bad_params=(dict(lr=0.0), dict(lr=-1.0), dict(lr=_NAN), dict(schedule="cosine"), dict(output="best"),
                dict(delta=0.0)),
)
registry.register(
    "sgd_momentum", SGDMomentum,
    summary="SGD with heavy-ball or Nesterov momentum (Polyak 1964; Sutskever et al. 2013)",
    examples=(SGDMomentum(lr=0.005, momentum=0.9), SGDMomentum(lr=0.005, momentum=0.5, nesterov=True)),
    bad_params=(dict(lr=0.0), dict(momentum=1.0), dict(momentum=-0.1), dict(nesterov="yes"), dict(delta=-1.0)),
)
registry.register(
    "adam", Adam,
    summary="Adam with bias correction (Kingma & Ba 2015)",
    examples=(Adam(lr=0.01), Adam(lr=0.01, beta1=0.0, beta2=0.99)),
    bad_params=(dict(lr=0.0), dict(beta1=1.0), dict(beta2=1.5), dict(eps=0.0), dict(delta=_NAN)),
)
registry.register(
    "nsgdm", NormalizedSGDMomentum,
    summary="normalized SGD with momentum, steps of length lr (Cutkosky & Mehta 2020)",
    examples=(NormalizedSGDMomentum(lr=0.01, momentum=0.9), NormalizedSGDMomentum(lr=0.005, momentum=0.0)),
    bad_params=(dict(lr=0.0), dict(momentum=1.0), dict(output="first")),
)
registry.register(
    "ingd", INGD,
    summary="interpolated normalized gradient descent: δ-steps under sufficient descent, else min-norm "
            "update of m (Zhang et al. 2020)",
    examples=(INGD(delta=0.1), INGD(delta=0.05, epsilon=1e-3, descent=0.5)),
    bad_params=(dict(delta=0.0), dict(epsilon=-1.0), dict(descent=0.0), dict(descent=1.0)),
)
registry.register(
    "pingd", PerturbedINGD,
    summary="INGD with a random perturbation of every outer iterate (Davis et al. 2022; Tian, Zhou, So 2022)",
    examples=(PerturbedINGD(delta=0.1), PerturbedINGD(delta=0.1, perturbation=0.01, epsilon=1e-4)),
    bad_params=(dict(delta=-0.1), dict(perturbation=0.0), dict(perturbation=2.0), dict(descent=1.5)),
)
registry.register(
    "gradient_sampling", GradientSampling,
    summary="gradient sampling with the certifier's min-norm solver and radius reduction "
            "(Burke, Lewis, Overton 2005)",
    examples=(GradientSampling(delta=0.1), GradientSampling(delta=0.1, samples=6, output="best",
                                                            radius_reduction=0.5)),
    bad_params=(dict(samples=0), dict(tolerance=0.0), dict(radius_reduction=0.0), dict(armijo=1.0),
                dict(backtrack=0.0), dict(max_backtracks=0), dict(output="random"), dict(min_radius=-1.0)),
)
registry.register(
    "bfgs", NonsmoothBFGS,
    summary="BFGS with the weak Wolfe line search and gradient-sampling-like termination, deterministic only "
            "(Lewis & Overton 2013)",
    examples=(NonsmoothBFGS(delta=0.1), NonsmoothBFGS(delta=0.05, epsilon=0.0, curvature=0.5, recent_gradients=4,
                                                      scale=False)),
    bad_params=(dict(epsilon=-1.0), dict(armijo=0.0), dict(curvature=1.0), dict(armijo=0.5, curvature=0.4),
                dict(recent_gradients=0), dict(max_bisections=0), dict(max_expansions=0), dict(scale="yes"),
                dict(start_perturbation=-1.0), dict(delta=0.0)),
)
registry.register(
    "gfm", GFM,
    summary="zero-order SGD on the uniform smoothing, two-point estimator (Lin, Zheng, Jordan 2022)",
    examples=(GFM(lr=0.005), GFM(lr=0.01, batch=2, smoothing=0.05, output="average")),
    bad_params=(dict(lr=0.0), dict(batch=0), dict(smoothing=-1.0), dict(output="best")),
)
registry.register(
    "gfm_plus", GFMPlus,
    summary="zero-order SPIDER variance reduction on the two-point estimator (Chen, Xu, Luo 2023)",
    examples=(GFMPlus(lr=0.005), GFMPlus(lr=0.01, batch=8, inner_batch=2, period=3)),
    bad_params=(dict(lr=0.0), dict(batch=0), dict(inner_batch=0), dict(period=0), dict(smoothing=0.0)),
)
registry.register(
    "zo_o2nc", ZeroOrderO2NC,
    summary="O2NC with restarted OGD on the two-point estimator of the uniform smoothing (Kornowski & Shamir 2024)",
    examples=(ZeroOrderO2NC(delta=0.2, epoch_length=10, lr=0.002),
              ZeroOrderO2NC(delta=0.2, smoothing=0.05, lipschitz=2.0, gap=2.0)),
    bad_params=(dict(smoothing=0.1, delta=0.1), dict(smoothing=-0.01), dict(lipschitz=0.0), dict(gap=-1.0),
                dict(epoch_length=0), dict(lr=0.0), dict(batch=0), dict(output="average")),
)
registry.register(
    "schedule_free", ScheduleFreeSGD,
    summary="schedule-free SGD over any online learner: interpolate and average (Defazio et al. 2024)",
    examples=(ScheduleFreeSGD(lr=0.05), ScheduleFreeSGD(lr=0.05, beta=0.5, weight_power=2.0, warmup_steps=20)),
    bad_params=(dict(lr=0.0), dict(beta=1.5), dict(beta=-0.1), dict(weight_power=-1.0), dict(warmup_steps=-1),
                dict(learner="ogd")),
)
registry.register(
    "mechanic", Mechanic,
    summary="Mechanic's multi-β betting scale tuner over any base learner (Cutkosky, Defazio, Mehta 2023)",
    examples=(Mechanic(lr=0.01), Mechanic(lr=0.05, betas=(0.9, 0.99), s_init=1e-6, weight_decay=0.0)),
    bad_params=(dict(lr=0.0), dict(betas=()), dict(betas=(0.9, 1.0)), dict(betas=[0.9]), dict(s_init=0.0),
                dict(weight_decay=-0.1), dict(eps=0.0), dict(learner=3)),
)

__all__ = [
    "Baseline", "BaselineResult", "NonFiniteOracleError", "get", "names", "entries", "examples", "registry",
    "SGD", "SGDMomentum", "Adam", "NormalizedSGDMomentum", "INGD", "PerturbedINGD", "GradientSampling",
    "NonsmoothBFGS", "GFM", "GFMPlus", "ZeroOrderO2NC", "ScheduleFreeSGD", "Mechanic",
]
