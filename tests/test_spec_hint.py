"""A sweep spec names an optimistic learner's hint (``hint`` of a ``[[methods]]`` table): it reaches the method as
:func:`o2nc.minimize`'s ``hint``, is refused with the compiled engine and outside the known hints, and leaves the run
keys of specs without it unchanged."""
from __future__ import annotations

import pytest

from o2nc.experiments import SpecError, load_spec, run_config
from o2nc.experiments.build import build_objective, method_from
from tests.test_experiments import _toys_on_path, small_spec  # noqa: F401  (the fixture puts the toys on the path)

OPTIMISTIC = {"name": "o2nc-optimistic", "learner": "optimistic_ogd", "hint": "last_gradient"}


def _budget_run(method):
    spec = load_spec(small_spec(seeds=[0], deltas=[0.1], methods=[method]))
    return next(r for r in spec.runs() if r.config["measure"] == "budget")


def test_the_hint_reaches_the_method_and_changes_the_run():
    run = _budget_run(OPTIMISTIC)
    assert run.config["method"]["hint"] == "last_gradient"
    obj = build_objective(run.config["objective"], delta=run.config["delta"])
    assert method_from(run.config, obj, epsilon=None).hint == "last_gradient"
    with_hint = run_config(run.config)
    without = run_config(_budget_run({k: v for k, v in OPTIMISTIC.items() if k != "hint"}).config)
    assert with_hint["grad_calls"] <= run.config["budget"]
    assert with_hint["certificate_mean"] != without["certificate_mean"]  # the hint moves the optimistic plays


def test_specs_without_a_hint_keep_their_keys():
    plain = {"name": "o2nc-ogd", "learner": "ogd"}
    assert "hint" not in _budget_run(plain).config["method"]


@pytest.mark.parametrize("method, message", [
    ({**OPTIMISTIC, "hint": "psychic"}, "expected one of last_gradient, extrapolated, fixed_point"),
    ({**OPTIMISTIC, "hint": None}, "expected one of"),
    ({**OPTIMISTIC, "engine": "compiled"}, "loop engine only"),
])
def test_bad_hints_name_the_field(method, message):
    with pytest.raises(SpecError) as info:
        load_spec(small_spec(methods=[method]))
    assert "methods[0].hint:" in str(info.value) and message in str(info.value)


def test_a_profile_may_name_the_optimistic_preset_with_its_hint(tmp_path):
    """``o2nc_optimistic`` is outside the profile's default set but tunable when named: every configuration carries
    the preset's hint into the sweep spec, and the runs execute."""
    from o2nc.experiments.profile import DEFAULT_METHODS, OPTIONAL_METHODS, run_profile
    from o2nc.methods.builtin import PRESETS

    assert "o2nc_optimistic" in OPTIONAL_METHODS and "o2nc_optimistic" not in DEFAULT_METHODS
    spec = {"name": "optimistic", "seeds": 1, "delta": 0.1, "epsilons": [0.3], "max_queries": 300,
            "methods": ["o2nc_optimistic"], "problems": [{"name": "nesterov_n2"}]}
    prof, report = run_profile(spec, tmp_path / "p.db", executor="serial", progress=False)
    assert [c.point for c in prof.configs] == ["theory", "T=10", "T=100"]
    assert all(c.table["hint"] == PRESETS["o2nc_optimistic"][0]["hint"] for c in prof.configs)
    assert report.complete and report.done == len(prof.configs)
