"""The sweep's ETA: per-configuration cost estimates over runs executed in a well-mixed order, stable after a few
runs."""
from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

from o2nc.experiments.spec import RunConfig, config_key
from o2nc.experiments.sweep import CostModel, execution_order, run_sweep


def synthetic_runs():
    """10 objectives × 5 methods × 4 seeds whose cost is (objective factor) × (method factor), 0.01 s to 2 s, in the
    spec's order (objective-major, the cheapest objective first)."""
    obj_cost = np.geomspace(0.01, 1.0, 10)
    meth_cost = [1.0, 2.0, 0.5, 1.5, 1.0]
    runs, cost = [], {}
    for i, a in enumerate(obj_cost):
        for j, b in enumerate(meth_cost):
            for seed in range(4):
                cfg = {"objective": {"label": f"o{i}"}, "method": {"name": f"m{j}"}, "seed": seed}
                r = RunConfig(config_key(cfg), cfg)
                runs.append(r)
                cost[r.key] = float(a * b)
    return runs, cost


def predicted_totals(order, cost, *, model: bool):
    """After each finished run: elapsed + the predicted remaining time (one worker)."""
    cm = CostModel(r.config for r in order)
    elapsed, out = 0.0, []
    for k, r in enumerate(order):
        elapsed += cost[r.key]
        cm.finished(r.config, cost[r.key])
        if model:
            out.append(elapsed + cm.remaining(1))
        else:  # a rate-based ETA: the mean time per finished run × the runs left
            out.append(elapsed + elapsed / (k + 1) * (len(order) - k - 1))
    return np.array(out)


def test_eta_is_stable_after_the_first_runs():
    runs, cost = synthetic_runs()
    truth = sum(cost.values())
    order = execution_order(runs)
    assert sorted(r.key for r in order) == sorted(r.key for r in runs)
    totals = predicted_totals(order, cost, model=True)
    # once every objective has been sampled (the most expensive one first finishes as run 22 of this fixed order),
    # from run 25 of 200 on every prediction of the total is within 15% of the truth
    rel = np.abs(totals[25:] / truth - 1)
    assert rel.max() < 0.15, rel.max()
    assert abs(totals[-1] - truth) < 1e-9 * truth


def test_the_spec_order_with_a_rate_eta_swings():
    """What the ETA did before: the objective-major order with a rate-based estimate is off by a factor > 5 after
    25 runs (so the test above measures something)."""
    runs, cost = synthetic_runs()
    truth = sum(cost.values())
    totals = predicted_totals(runs, cost, model=False)
    assert totals[25] < truth / 5


def test_estimates_use_the_group_then_the_objective_and_method_factors():
    cm = CostModel([{"objective": {"label": "c"}, "method": {"name": "z"}}])
    assert cm.estimate(("a", "x")) is None and cm.remaining() is None  # nothing finished: no estimate
    cm.finished({"objective": {"label": "a"}, "method": {"name": "x"}}, 1.0)
    cm.finished({"objective": {"label": "b"}, "method": {"name": "y"}}, 3.0)
    assert cm.estimate(("a", "x")) == 1.0
    # unseen (a, y): overall mean 2 × objective a's factor 1/2 × method y's factor 3/2
    assert cm.estimate(("a", "y")) == pytest.approx(1.5)
    assert cm.estimate(("c", "z")) == pytest.approx(2.0)
    pending = CostModel([{"objective": {"label": "a"}, "method": {"name": "x"}}] * 3)
    pending.finished({"objective": {"label": "a"}, "method": {"name": "x"}}, 4.0)
    assert pending.remaining(2) == pytest.approx(4.0)  # two runs of 4 s left, on two workers


def test_progress_bar_shows_the_model_eta(capsys):
    spec = {"name": "eta", "seeds": 2, "deltas": [0.1], "measure": {"budgets": [200]},
            "objectives": [{"name": "scaled_norm"}, {"name": "abs_1d"}], "methods": [{"learner": "ogd"}]}
    db = os.path.join(tempfile.mkdtemp(), "eta.db")
    report = run_sweep(spec, db, executor="serial", progress=True)
    assert report.done == 4
    err = capsys.readouterr().err
    assert "eta 00:00" in err and "4/4" in err
