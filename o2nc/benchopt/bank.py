"""The classes a generated benchopt benchmark subclasses: the bank's problems, the (δ, ε) objective, one method.

A benchmark written by :func:`o2nc.benchopt.generate` holds one dataset file (``datasets/bank.py``, parametrized by the
problem), one objective file and one solver file per method; each only names its parameters and subclasses a class
of this module, so the benchmark runs the same code as ``o2nc profile``: the objectives of the bank
(:func:`objectives.get`) and the methods of :mod:`o2nc.methods`, configured as the profile configures them
(:func:`o2nc.experiments.profile.configurations`, built by :func:`o2nc.experiments.build.method_from`).

Benchopt's ``iteration`` sampling gives a solver a growing budget: each point of a curve is one run of the method with
that many oracle calls (16 at least), so the curves are the value F(x) and the Goldstein certificate ε of the returned
point against the calls, the certificate's own calls included.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from benchopt import BaseDataset, BaseObjective, BaseSolver

__all__ = ["BankDataset", "BankObjective", "MethodSolver", "MIN_BUDGET"]

#: The smallest budget a solver is run with (benchopt starts its iteration sampling at 0).
MIN_BUDGET = 16


def _problem(name: str, params: Mapping[str, Any]):
    import objectives

    return objectives.get(name, **dict(params))


class BankDataset(BaseDataset):
    """One problem of the objective bank: ``problem`` names it (its label in the profile spec)."""

    name = "bank"
    problems: dict = {}  # label -> {"name": objective name, "params": {...}, "oracle": ...}
    parameters = {"problem": []}

    def get_data(self):
        spec = dict(self.problems[self.problem])
        return {"label": self.problem, "objective": spec}


class BankObjective(BaseObjective):
    """Goldstein (δ, ε)-stationarity on a problem of the bank: ``value`` is F at the returned point, ``certificate``
    its certified ε at radius δ (+∞ without a certificate), ``calls`` the oracle calls, certificate included."""

    name = "o2nc bank: Goldstein (delta, eps)-stationarity"
    url = "https://arxiv.org/abs/2302.03775"
    sampling_strategy = "iteration"
    parameters = {"delta": [0.1]}

    def set_data(self, label, objective):
        self.label, self.objective_spec = label, dict(objective)
        self.fn = _problem(objective["name"], objective.get("params", {}))

    def get_objective(self):
        return {"objective": self.objective_spec, "delta": float(self.delta)}

    def evaluate_result(self, point, certificate, calls):
        value = float(self.fn.value(np.asarray(point, dtype=np.float64)))
        return {"value": value, "certificate": float(certificate), "calls": int(calls)}

    def get_one_result(self):
        return {"point": np.asarray(self.fn.x0, dtype=np.float64), "certificate": math.inf, "calls": 0}


class MethodSolver(BaseSolver):
    """One method of :mod:`o2nc.methods` at one grid point of the profile (``point``: ``"theory"``, ``"x0.1"``,
    ``"T=10"``, ...); subclasses set ``name`` (the method), ``grid`` and ``epoch_lengths`` (the profile's)."""

    name = "method"
    grid = (0.1, 1.0, 10.0)
    epoch_lengths = (10, 100)
    sampling_strategy = "iteration"
    parameters = {"point": ["theory"]}

    def set_objective(self, objective, delta):
        from o2nc.experiments.build import method_from
        from o2nc.experiments.expr import follows
        from o2nc.experiments.profile import configurations

        cfg = next((c for c in configurations([self.name], list(self.grid), list(self.epoch_lengths))
                    if c.point == self.point), None)
        if cfg is None:
            raise ValueError(f"{self.name}: no grid point {self.point!r}")
        table = dict(cfg.table)
        # a stopping tolerance that follows the profile's ε: benchopt has no ε target, so the method's default
        for key in ("params", "learner_params"):
            if key in table:
                table[key] = {k: v for k, v in table[key].items() if not follows({k: v}, "epsilon")}
        self.fn = _problem(objective["name"], objective.get("params", {}))
        self.delta, self.oracle = float(delta), objective.get("oracle", "auto")
        config = {"objective": dict(objective), "method": table, "delta": self.delta, "measure": "budget",
                  "certificate": "auto"}
        self.method = method_from(config, self.fn, epsilon=None)

    def get_next(self, stop_val):
        return max(MIN_BUDGET, 2 * int(stop_val))

    def run(self, n_iter):
        budget = max(MIN_BUDGET, int(n_iter))
        try:
            self.result = self.method.run(self.fn, budget=budget, delta=self.delta, seed=0, oracle=self.oracle)
        except ValueError as exc:  # a budget below one iteration (gradient sampling needs 2d + 1 calls)
            if "budget" not in str(exc):
                raise
            self.result = None

    def get_result(self):
        res = self.result
        if res is None:
            return {"point": np.asarray(self.fn.x0, dtype=np.float64), "certificate": math.inf, "calls": 0}
        cert = res.certificate
        eps = float(cert.epsilon) if cert is not None and cert.proves(self.delta, math.inf) else math.inf
        calls = int(res.grad_calls) + int(res.value_calls) + int(res.certificate_calls)
        return {"point": np.asarray(res.point, dtype=np.float64), "certificate": eps, "calls": calls}
