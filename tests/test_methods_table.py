"""Every method of :mod:`o2nc.methods` on every applicable bank objective with an exact Goldstein oracle.

One table drives the tests (optimistix-style): the rows are the registered method names (a new O2NC configuration
or baseline is picked up without new test code), the columns the objectives with ``has_goldstein``.  For each pair
the run's certificate must be

* sound: for a proof kind, ε ≥ dist(0, ∂_δ F(point)) at the certificate's own δ, the exact value of the objective's
  Goldstein oracle (Goldstein 1977; Zhang et al., ICML 2020, Definition 4), minus rounding;
* honest about δ: every point whose gradient entered ε lies within ``certificate.delta`` of the point (checked where
  the run names the points: an O2NC epoch's gradient points, the sampled points of a computed Goldstein
  certificate), and ``certificate.delta`` ≤ the requested δ unless the run says it has no certificate at δ;

and the calls must add up: the gradients the objective served are the run's budgeted ones plus those counted apart.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import o2nc.methods as methods
import objectives
from o2nc.certificate import Certificate

DELTA = 0.1
SEED = 3
#: Oracle calls per run: small, so the whole table takes well under a minute.
BUDGET = {"first-order": 300, "zero-order": 400}
#: Rounding allowed between a certificate's ε and the exact Goldstein value (both computed in float64).
ROUNDING = 1e-9

GOLDSTEIN = [n for n in objectives.names() if objectives.get(n).has_goldstein]


def applicable(name: str, objective) -> bool:
    """O2NC's theory tuning needs the gap F(x0) − inf F: an objective unbounded below with no gap bound is not in
    its domain (``gap`` must then be given, which the table does not invent)."""
    if methods.entry(name).family != "o2nc":
        return True
    return objective.f_star is not None or (objective.extra or {}).get("gap_bound") is not None


TABLE = [(m, o) for m in methods.names() for o in GOLDSTEIN if applicable(m, objectives.get(o))]


class Recording:
    """The objective with every exact gradient and value query recorded (its other attributes passed through)."""

    def __init__(self, objective):
        self.wrapped = objective
        self.grad_points: list = []
        self.value_calls = 0

    stochastic_grad = None
    is_stochastic = False

    def grad(self, x):
        self.grad_points.append(np.array(x, dtype=np.float64, copy=True))
        return self.wrapped.grad(x)

    def value(self, x):
        self.value_calls += 1
        return self.wrapped.value(x)

    def __getattr__(self, name):
        return getattr(self.__dict__["wrapped"], name)


def certificate_points(run, recorded: list) -> np.ndarray | None:
    """The points whose gradients entered ``run.certificate``, where the run names them; else None."""
    if run.certificate_source == "algorithm-exact":  # an O2NC epoch: its T gradient points, in query order
        k, T = run.info["selected_epoch"], run.info["epoch_length"]
        end = int(run.trace["calls"][k])
        return np.stack(recorded[end - T:end])
    if run.certificate_source == "goldstein":  # sampled at the returned point after the run, counted apart
        return np.stack(recorded[len(recorded) - run.certificate_calls:])
    return None


@pytest.fixture(scope="module")
def banks():
    return {name: objectives.get(name) for name in GOLDSTEIN}


def test_the_table_covers_every_method_and_objective():
    assert {m for m, _ in TABLE} == set(methods.names())
    assert len(GOLDSTEIN) >= 5 and {o for _, o in TABLE} == set(GOLDSTEIN)


@pytest.mark.parametrize("name,problem", TABLE, ids=[f"{m}-{o}" for m, o in TABLE])
def test_certificate_is_sound_and_its_delta_honest(name, problem, banks):
    objective = banks[problem]
    method = methods.get(name)
    recorded = Recording(objective)
    budget = BUDGET[methods.entry(name).order]
    run = method.run(recorded, budget=budget, delta=DELTA, seed=SEED)

    assert isinstance(run, methods.Run) and run.method == name
    assert run.point.shape == (objective.dim,) and np.all(np.isfinite(run.point))
    assert run.stopped in ("budget", "target", "converged")
    # one counter: the objective served the budgeted gradients and those counted apart, nothing else
    assert len(recorded.grad_points) == run.grad_calls + run.certificate_calls
    used = run.grad_calls if methods.entry(name).order == "first-order" else run.value_calls
    assert 0 < used <= budget
    calls = np.asarray(run.trace["calls"])
    assert calls.ndim == 1 and np.all(np.diff(calls) >= 0) and (calls.size == 0 or calls[-1] <= budget)
    for key in ("value", "certificate"):
        assert np.asarray(run.trace[key]).shape == calls.shape

    cert = run.certificate
    if cert is None:
        assert run.certificate_source == "none" and not run.certified
        return
    assert isinstance(cert, Certificate)
    np.testing.assert_array_equal(np.asarray(cert.point, dtype=np.float64), run.point)
    # δ honest: within the requested δ, or the run says it has no certificate at δ
    if cert.delta > DELTA:
        assert not run.certified and not run.has_certificate_at_delta
        assert cert.describe(DELTA).startswith("no certificate at δ")
    else:
        assert run.certified == cert.is_proof
    points = certificate_points(run, recorded.grad_points)
    if points is not None:
        distances = np.linalg.norm(points - run.point[None, :], axis=1)
        assert distances.max() <= cert.delta * (1 + 1e-12) + 1e-15, (distances.max(), cert.delta)
        if cert.radius_kind == "exact" and run.certificate_source == "algorithm-exact":
            assert distances.max() == pytest.approx(cert.delta, rel=1e-12, abs=1e-15)
    # sound: a proof's ε bounds the exact Goldstein value at the certificate's own δ
    if cert.is_proof:
        exact = objective.goldstein(run.point, cert.delta)
        assert cert.epsilon >= exact - ROUNDING * max(1.0, float(objective.lipschitz)), (cert, exact)


@pytest.mark.parametrize("name", methods.names())
def test_bad_parameters_are_refused_by_name(name):
    entry = methods.entry(name)
    for bad in entry.bad_params:
        with pytest.raises(ValueError) as err:
            methods.get(name, **bad)
        assert any(key in str(err.value) for key in bad), (bad, str(err.value))
    with pytest.raises(ValueError) as err:
        methods.get(name, no_such_parameter=1)
    message = str(err.value)
    assert "no_such_parameter" in message and "accepted parameters" in message
    for accepted in entry.accepted():
        assert accepted in message


@pytest.mark.parametrize("name", methods.names())
def test_examples_build_frozen_values(name):
    import dataclasses

    for example in methods.entry(name).examples:
        method = methods.get(name, **example)
        assert dataclasses.is_dataclass(method)
        field = dataclasses.fields(method)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(method, field, None)


def test_unknown_method_lists_the_names():
    with pytest.raises(ValueError) as err:
        methods.get("o2nc_kx")
    assert "o2nc_kt" in str(err.value) and "ingd" in str(err.value)


def test_names_cover_the_presets_and_every_baseline():
    from o2nc import baselines

    names = set(methods.names())
    assert {"o2nc_ogd", "o2nc_adagrad_norm", "o2nc_kt"} <= names
    assert set(baselines.names()) <= names
    assert {"sgd", "sgd_momentum", "adam", "nsgdm", "ingd", "pingd", "gradient_sampling", "gfm", "gfm_plus",
            "zo_o2nc", "schedule_free", "mechanic", "bfgs"} <= names


def test_run_arguments_are_checked():
    method = methods.get("o2nc_ogd")
    objective = objectives.get("abs_1d")
    for kwargs, key in ((dict(budget=0, delta=0.1), "budget"), (dict(budget=100, delta=0.0), "delta"),
                        (dict(budget=100, delta=0.1, seed=-1), "seed"),
                        (dict(budget=100, delta=0.1, oracle="noisy"), "oracle")):
        with pytest.raises(ValueError, match=key):
            method.run(objective, **kwargs)


def test_presets_fix_their_learner():
    with pytest.raises(ValueError, match="learner"):
        methods.get("o2nc_kt", learner="ogd")
    assert methods.get("o2nc", learner="kt").learner == "kt"


def test_o2nc_ogd_is_the_papers_tuning():
    """o2nc_ogd plays OGD with T, D = δ/T, η = D/(G√T) of o2nc.theory.ogd_parameters ([CMO23] Theorem 8)."""
    from o2nc.theory import ogd_parameters

    objective = objectives.get("max_affine")
    run = methods.get("o2nc_ogd").run(objective, budget=2000, delta=DELTA)
    gap = float(objective.value(objective.x0)) - objective.f_star
    p = ogd_parameters(2000, DELTA, float(objective.lipschitz), gap)
    assert run.info["epoch_length"] == p.epoch_length
    assert run.info["learner_params"] == {"lr": p.lr, "radius": p.radius}
    assert run.grad_calls == p.epochs * p.epoch_length


def test_o2nc_kt_plays_in_the_ball_of_radius_delta_over_T():
    run = methods.get("o2nc_kt").run(objectives.get("abs_affine"), budget=1000, delta=DELTA)
    assert run.info["learner"].startswith("BallConstraint(") and run.info["learner_name"] == "kt"
    assert np.all(run.trace["radius_bound"] <= DELTA * (1 + 1e-12))


def test_a_target_epsilon_stops_at_the_first_certified_epoch():
    run = methods.get("o2nc_ogd", epsilon=0.5).run(objectives.get("abs_1d"), budget=50_000, delta=DELTA)
    assert run.stopped == "target" and run.certificate.proves(DELTA, 0.5)
    assert np.all(run.trace["certificate"][:-1] > 0.5) or np.all(run.trace["radius"][:-1] > DELTA)
    assert run.grad_calls == int(run.trace["calls"][-1]) < 50_000


def test_a_budget_shorter_than_one_epoch_certifies_nothing():
    run = methods.get("o2nc", tuning="fixed", epoch_length=50, learner_params={"lr": 0.01, "radius": 0.001}).run(
        objectives.get("abs_1d"), budget=20, delta=DELTA)
    assert run.certificate is None and run.grad_calls == 0 and math.isnan(run.epsilon)


def test_the_registry_loads_once_under_concurrent_first_lookups():
    """Threads that look a name up first at the same time all see every entry (the sweep's thread executor)."""
    import threading

    from o2nc.methods.registry import Registry

    started = threading.Event()

    def slow_loader(registry):
        started.wait(1.0)
        for i in range(50):
            registry.register(f"m{i}", dict, summary="-")

    registry = Registry("method", loader=slow_loader)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(len(registry.names()))) for _ in range(8)]
    for t in threads:
        t.start()
    started.set()
    for t in threads:
        t.join()
    assert seen == [50] * 8


def test_a_failed_load_runs_again():
    from o2nc.methods.registry import Registry

    calls = []

    def loader(registry):
        calls.append(1)
        registry.register("a", dict, summary="-")
        if len(calls) == 1:
            raise ImportError("first try fails")

    registry = Registry("method", loader=loader)
    with pytest.raises(ImportError):
        registry.names()
    assert registry.names() == ["a"] and len(calls) == 2
