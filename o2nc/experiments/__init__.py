"""Complexity-verification experiments: sweep specs, a resumable SQLite results store, executors, rate fits.

- :func:`load_spec` — a sweep spec from TOML, YAML (``safe_load``), JSON or a dict, validated, expanded into run
  configurations keyed by a hash of their full config (:mod:`o2nc.experiments.spec`).  Methods are O2NC with a
  learner of ``online_learners`` or a baseline of :mod:`o2nc.baselines`; parameters may follow each run's ε and δ
  (``"$epsilon"``, ``"$delta"``), as the lower-bound instance needs (the zero chain of Carmon, Duchi, Hinder,
  Sidford, Math. Prog. 2020, with the stochastic oracle of Arjevani et al., Math. Prog. 2023).
- :func:`run_sweep` — run or resume a sweep on local processes, threads, a dask cluster or any
  ``concurrent.futures``-style executor; only the driver writes results (:mod:`o2nc.experiments.sweep`).
- :class:`Store` — the results database (SQLite, WAL; every row checksummed, checked on open; :func:`drop_damaged`
  removes what fails) (:mod:`o2nc.experiments.store`).
- Spec files are data: they name registered objectives, learners and baselines only; a factory of your own comes
  from Python (a callable in a dict spec) or behind ``allow_import`` (:mod:`o2nc.experiments.build`).
- :func:`fit_power_law`, :func:`fit_store` — log–log exponents with confidence intervals
  (:mod:`o2nc.experiments.fit`).
- :mod:`o2nc.experiments.batched` — many seeds of one O2NC+OGD configuration at once (batched numpy, jax vmap+jit).

Example:
    >>> from o2nc.experiments import fit_exponent
    >>> round(fit_exponent([1, 2, 4, 8], [8.0, 1.0, 0.125, 0.015625]).exponent, 6)
    -3.0
"""
from o2nc.experiments.fit import (
    THEORY,
    FitRow,
    RateFit,
    fit_exponent,
    fit_power_law,
    fit_store,
    fit_table,
    interval_words,
)
from o2nc.experiments.runner import execute, run_config, theory_budget
from o2nc.experiments.spec import RunConfig, Spec, SpecError, config_key, load_spec
from o2nc.experiments.store import Store, StoreDamaged, StoreError, drop_damaged
from o2nc.experiments.sweep import EXECUTORS, SweepReport, run_sweep, summary_table

__all__ = [
    "load_spec", "Spec", "SpecError", "RunConfig", "config_key",
    "Store", "StoreError", "StoreDamaged", "drop_damaged",
    "run_sweep", "SweepReport", "summary_table", "EXECUTORS",
    "execute", "run_config", "theory_budget",
    "fit_power_law", "fit_exponent", "fit_store", "fit_table", "interval_words", "RateFit", "FitRow", "THEORY",
]
