"""Hostile sweep specs: every bad file or value is a :class:`SpecError` naming the file and the field before any run,
and ``o2nc sweep --dry-run`` answers it with one line and exit status 2 (no traceback, no endless read or expansion).

Covers: an expression without a finite value (a division by zero, an overflow), nesting beyond the parsers' recursion
limit, files that are not regular or too large, a run count over ``MAX_RUNS``, and values that only failed in every
run before (a fixed learner's hyperparameter, an epoch longer than a budget, a seed outside [0, 2**64), a budget
that would not end)."""
from __future__ import annotations

import argparse
import json
import os
import time

import pytest

from o2nc.commands import sweep as sweep_cmd
from o2nc.experiments import SpecError, load_spec
from o2nc.experiments import spec as spec_module
from o2nc.experiments.expr import evaluate, substitute


def base(**over):
    d = {"name": "hostile", "seeds": 1, "deltas": [0.1], "measure": {"budgets": [500]},
         "objectives": [{"name": "scaled_norm"}], "methods": [{"learner": "ogd"}]}
    d.update(over)
    return d


def refused(d, field, *words):
    with pytest.raises(SpecError) as info:
        load_spec(d)
    msg = str(info.value)
    assert f"<dict>: {field}:" in msg, msg
    for w in words:
        assert w in msg, msg
    return msg


def sweep_dry_run(path, capsys):
    ap = argparse.ArgumentParser(prog="o2nc")
    sweep_cmd.add_parser(ap.add_subparsers(dest="command"))
    args = ap.parse_args(["sweep", str(path), "--dry-run", "--db", str(path) + ".db"])
    status = args.run(args)
    err = capsys.readouterr().err
    return status, err


# ---------------------------------------------------------------------------------------------------------------
# expressions


def test_an_expression_without_a_finite_value_is_a_value_error_naming_the_parameter():
    with pytest.raises(ValueError, match="divides by zero"):
        evaluate("$delta / 0", {"$delta": 0.1})
    with pytest.raises(ValueError, match=r"divides by zero \(\$epsilon is 0\)"):
        evaluate("1 / $epsilon", {"$epsilon": 0.0})
    with pytest.raises(ValueError, match="evaluates to inf"):
        evaluate("1e308 * 1e308 * $delta", {"$delta": 0.1})
    with pytest.raises(ValueError, match="beyond float64's range"):
        evaluate("$extra.n * 2", {"$extra.n": 10**400})
    with pytest.raises(ValueError, match="parameter 'lr': '2 / \\$delta / 0' divides by zero"):
        substitute({"lr": "2 / $delta / 0"}, epsilon=None, delta=0.1)
    assert evaluate("0 / $delta", {"$delta": 0.1}) == 0.0  # a zero numerator is a number


@pytest.mark.parametrize("method, field", [
    ({"baseline": "sgd", "params": {"lr": "$delta / 0"}}, "methods[0].params"),
    ({"baseline": "sgd", "params": {"lr": "$lipschitz / 0"}}, "methods[0].params"),
    ({"learner": "ogd", "tuning": "fixed", "epoch_length": 10,
      "learner_params": {"lr": "$delta / 0", "radius": 0.01}}, "methods[0].learner_params"),
])
def test_a_division_by_zero_in_a_method_parameter_is_a_spec_error(method, field):
    refused(base(methods=[method]), field, "'lr'", "divides by zero")


def test_a_division_by_zero_in_an_objective_parameter_is_a_spec_error():
    d = base(objectives=[{"name": "hard_chain", "params": {"eps": "$epsilon", "delta": "$delta / 0"}}],
             measure={"epsilons": [0.5], "max_queries": 1000})
    refused(d, "objectives[0]", "divides by zero")


def test_the_cli_answers_a_division_by_zero_with_one_line(tmp_path, capsys):
    path = tmp_path / "bl_expr.toml"
    path.write_text('name = "x"\ndeltas = [0.1]\n[measure]\nbudgets = [500]\n[[objectives]]\nname = "scaled_norm"\n'
                    '[[methods]]\nbaseline = "sgd"\nparams = { lr = "$delta / 0" }\n')
    status, err = sweep_dry_run(path, capsys)
    assert status == 2 and err.count("\n") == 1 and "methods[0].params" in err and "divides by zero" in err


# ---------------------------------------------------------------------------------------------------------------
# files


@pytest.mark.parametrize("suffix, text", [
    (".json", "[" * 100_000 + "]" * 100_000),
    (".toml", "a = " + "[" * 100_000 + "]" * 100_000 + "\n"),
    (".yaml", "a: " + "[" * 100_000 + "]" * 100_000 + "\n"),
])
def test_nesting_beyond_the_recursion_limit_is_a_spec_error(tmp_path, capsys, suffix, text):
    path = tmp_path / f"deep{suffix}"
    path.write_text(text)
    with pytest.raises(SpecError, match="nested too deeply"):
        load_spec(path)
    status, err = sweep_dry_run(path, capsys)
    assert status == 2 and err.count("\n") == 1 and "nested too deeply" in err


def test_a_dict_spec_nested_too_deeply_is_a_spec_error():
    params: dict = {}
    inner = params
    for _ in range(100_000):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.raises(SpecError, match="<dict>: nested too deeply"):
        load_spec(base(objectives=[{"name": "scaled_norm", "params": params}]))


def test_devices_fifos_and_directories_are_refused_unread(tmp_path, capsys):
    with pytest.raises(SpecError, match="unknown spec format ''"):
        load_spec("/dev/zero")
    link = tmp_path / "zero.toml"
    link.symlink_to("/dev/zero")
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)  # no writer: a blocking read would wait forever
    folder = tmp_path / "dir.json"
    folder.mkdir()
    for path in (link, fifo, folder):
        t0 = time.perf_counter()
        with pytest.raises(SpecError, match="not a regular file"):
            load_spec(path)
        assert time.perf_counter() - t0 < 5
        status, err = sweep_dry_run(path, capsys)
        assert status == 2 and err.count("\n") == 1 and "not a regular file" in err
    with pytest.raises(SpecError, match="no such spec file") as info:
        load_spec(f"{tmp_path}/./missing.toml")
    assert str(info.value).startswith(f"{tmp_path / 'missing.toml'}: ")  # the file named as pathlib writes it


def test_a_file_larger_than_the_cap_is_refused_naming_the_limit(tmp_path):
    cap = spec_module.MAX_SPEC_BYTES
    assert cap >= 2**20  # a few MB: large explicit seed lists still fit
    body = json.dumps(base())
    path = tmp_path / "big.json"
    path.write_text(body + " " * (cap - len(body)))  # exactly the cap: read
    assert load_spec(path).count() == 1
    path.write_text(body + " " * (cap + 1 - len(body)))
    with pytest.raises(SpecError, match=f"larger than {cap} bytes \\(MAX_SPEC_BYTES\\)"):
        load_spec(path)


# ---------------------------------------------------------------------------------------------------------------
# run counts


def test_a_billion_seeds_are_refused_at_once():
    t0 = time.perf_counter()
    refused(base(seeds=10**9), "seeds", "1000000000", str(spec_module.MAX_RUNS), "MAX_RUNS")
    assert time.perf_counter() - t0 < 5


def test_the_run_count_is_checked_before_expanding():
    d = base(seeds=1000, deltas=[0.001 * (i + 1) for i in range(1001)])  # 1,001,000 runs
    refused(d, "seeds", "1001000 runs", "MAX_RUNS")


def test_a_few_hundred_thousand_runs_load_and_count_without_expanding():
    spec = load_spec(base(seeds=300_000))
    assert spec.count() == 300_000


def test_the_count_is_the_number_of_runs():
    d = base(seeds=[3, 5], deltas=[0.1, 0.05],
             measure={"budgets": [400, 800], "epsilons": [0.5, 0.3, 0.2], "max_queries": 5000},
             objectives=[{"name": "scaled_norm", "label": "a"},
                         {"name": "hard_chain", "label": "chain",
                          "params": {"eps": "$epsilon", "delta": "$delta", "sigma": 40.0, "gap": 3000.0}}],
             methods=[{"name": "ogd", "learner": "ogd"},
                      {"name": "sgd", "baseline": "sgd", "params": {"lr": "$delta"}, "objectives": ["a"]},
                      {"name": "eps-ogd", "learner": "ogd", "tuning": "fixed", "epoch_length": 10,
                       "learner_params": {"lr": "$epsilon", "radius": 0.01}, "objectives": ["a"]}])
    spec = load_spec(d)
    assert spec.count() == len(spec.runs()) == 2 * 2 * (5 + 3 + 5 + 3)


# ---------------------------------------------------------------------------------------------------------------
# values that failed in every run


def test_a_fixed_learner_is_built_while_checking():
    fixed = {"learner": "ogd", "tuning": "fixed", "epoch_length": 10, "learner_params": {"lr": -1.0, "radius": 0.01}}
    refused(base(methods=[fixed]), "methods[0].learner_params", "`lr`", "-1.0")
    expr = {**fixed, "learner_params": {"lr": "-1 * $delta", "radius": 0.01}}
    refused(base(methods=[expr]), "methods[0].learner_params", "on objective 'scaled_norm'", "`lr`")
    unknown = {**fixed, "learner_params": {"lr": 0.1, "wealth": 1.0}}
    refused(base(methods=[unknown]), "methods[0].learner_params", "wealth", "accepted parameters")
    theory = {"learner": "ogd", "learner_params": {"lr": -1.0}}  # an override of the theory's defaults
    refused(base(methods=[theory]), "methods[0].learner_params", "`lr`")
    assert load_spec(base(methods=[{**fixed, "learner_params": {"lr": 0.1, "radius": 0.01}}])).count() == 1


def test_an_epoch_longer_than_the_smallest_budget_is_refused():
    fixed = {"learner": "ogd", "tuning": "fixed", "epoch_length": 100_000,
             "learner_params": {"lr": 0.1, "radius": 0.01}}
    refused(base(methods=[fixed]), "methods[0].epoch_length", "100000", "smallest budget 500")
    refused(base(methods=[{**fixed, "epoch_length": 501}], measure={"budgets": [500, 10_000]}),
            "methods[0].epoch_length", "501")
    assert load_spec(base(methods=[{**fixed, "epoch_length": 500}])).count() == 1
    # epsilon runs of such a method are censored, not failed: an epoch longer than max_queries stays allowed
    eps = base(methods=[fixed], measure={"epsilons": [0.5], "max_queries": 500})
    assert load_spec(eps).count() == 1
    # a method whose parameters follow ε has no budget runs
    follows = {**fixed, "learner_params": {"lr": "$epsilon", "radius": 0.01}}
    mixed = base(methods=[follows], measure={"budgets": [500], "epsilons": [0.5], "max_queries": 500})
    assert load_spec(mixed).count() == 1


def test_seeds_outside_the_draws_range_are_refused():
    refused(base(seeds=[0, 2**64]), "seeds[1]", "[0, 2**64)", str(2**64))
    refused(base(seeds=[10**20]), "seeds[0]", "[0, 2**64)")
    assert load_spec(base(seeds=[0, 2**64 - 1])).count() == 2


@pytest.mark.parametrize("measure, field", [
    ({"budgets": [500, 10**20]}, "measure.budgets[1]"),
    ({"budgets": [spec_module.MAX_CALLS + 1]}, "measure.budgets[0]"),
    ({"epsilons": [0.5], "max_queries": 10**20}, "measure.max_queries"),
    ({"epsilons": [0.5], "max_queries": 1000, "doubling_start": 10**20}, "measure.doubling_start"),
])
def test_budgets_are_capped(measure, field):
    refused(base(measure=measure), field, f"at most {spec_module.MAX_CALLS}", "MAX_CALLS")


def test_an_objectives_max_queries_is_capped():
    d = base(measure={"epsilons": [0.5], "max_queries": 1000},
             objectives=[{"name": "scaled_norm", "max_queries": 10**20}])
    refused(d, "objectives[0].max_queries", "MAX_CALLS")
    assert load_spec(base(measure={"budgets": [spec_module.MAX_CALLS]})).count() == 1


@pytest.mark.parametrize("text, field", [
    ('seeds = 1000000000\n', "seeds"),
    ('seeds = [99999999999999999999]\n', "seeds[0]"),
])
def test_the_cli_refuses_hostile_seeds_with_one_line(tmp_path, capsys, text, field):
    path = tmp_path / "seeds.toml"
    path.write_text('name = "x"\n' + text + 'deltas = [0.1]\n[measure]\nbudgets = [500]\n[[objectives]]\n'
                    'name = "scaled_norm"\n[[methods]]\nlearner = "ogd"\n')
    status, err = sweep_dry_run(path, capsys)
    assert status == 2 and err.count("\n") == 1 and f": {field}:" in err
