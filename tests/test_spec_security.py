"""Spec files cannot run code: names are looked up in registries only; a factory of the user's own is imported only
behind an explicit ``--allow-import MODULE`` (never with ``--dry-run``); sweep names are plain names; and generated
bad specs all get a SpecError naming the offending key."""
from __future__ import annotations

import json
import math
import re
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from o2nc.cli import main
from o2nc.experiments import SpecError, Store, load_spec

yaml = pytest.importorskip("yaml", reason="PyYAML is a dependency of the YAML specs")


def base(**over) -> dict:
    spec = {"name": "sec", "seeds": 1, "deltas": [0.1], "measure": {"budgets": [300]},
            "objectives": [{"name": "scaled_norm"}], "methods": [{"name": "o2nc-ogd", "learner": "ogd"}]}
    spec.update(over)
    return spec


def write(tmp_path, spec: dict, fmt: str, stem="spec"):
    path = tmp_path / f"{stem}.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps(spec))
    elif fmt == "yaml":
        path.write_text(yaml.safe_dump(spec))
    else:
        lines = [f"name = {json.dumps(spec['name'])}", f"seeds = {spec['seeds']}", f"deltas = {spec['deltas']}",
                 "[measure]", f"budgets = {spec['measure']['budgets']}"]
        for o in spec["objectives"]:
            params = ", ".join(f"{k} = {json.dumps(v)}" for k, v in o.get("params", {}).items())
            lines += ["[[objectives]]", f"name = {json.dumps(o['name'])}", f"params = {{ {params} }}"]
        for m in spec["methods"]:
            lines += ["[[methods]]", f"name = {json.dumps(m['name'])}", f"learner = {json.dumps(m['learner'])}"]
        path.write_text("\n".join(lines) + "\n")
    return path


def sweep(tmp_path, path, *extra):
    return main(["sweep", str(path), "--db", str(tmp_path / "r.db"), "--executor", "serial", "--no-progress",
                 *map(str, extra)])


# ----------------------------------------------------------------------------------------------------------------
# "module:factory" in a file
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["toml", "json", "yaml"])
@pytest.mark.parametrize("dry", [False, True])
@pytest.mark.parametrize("allow", [[], ["os"], ["subprocess"]])
def test_os_system_in_a_spec_runs_nothing(tmp_path, capsys, monkeypatch, fmt, dry, allow):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    spec = base(objectives=[{"name": "os:system", "params": {"command": f"touch {marker}"}}])
    path = write(tmp_path, spec, fmt)
    flags = (["--dry-run"] if dry else []) + [x for m in allow for x in ("--allow-import", m)]
    assert sweep(tmp_path, path, *flags) == 2
    err = capsys.readouterr().err
    assert "objectives[0].name" in err and "Traceback" not in err
    # refused as not allowed, or (with --allow-import os) as not defined in os (os.system is posix.system)
    assert "--allow-import" in err or "defined in module" in err
    with pytest.raises(SpecError, match=r"objectives\[0\]\.name"):
        load_spec(path, allow_import=allow)
    assert not marker.exists()
    assert not (tmp_path / "results").exists() and not (tmp_path / "r.db").exists()


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module of the user's own, on sys.path: it records its import and every factory call in marker files."""
    name = f"user_toys_{abs(hash(str(tmp_path))) % 10 ** 8}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(f"""
        import pathlib
        from os import system  # re-exported: not a factory of this module
        from tests.test_experiments_toys import ScaledNorm

        pathlib.Path({str(tmp_path / "imported")!r}).touch()

        def toy(dim=3):
            with open({str(tmp_path / "called")!r}, "a") as f:
                f.write("called\\n")
            return ScaledNorm(dim=dim)

        def _private(dim=3):
            return ScaledNorm(dim=dim)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_allow_import_imports_that_module_only(tmp_path, capsys, user_module):
    spec = base(objectives=[{"name": f"{user_module}:toy", "params": {"dim": 3}}])
    path = write(tmp_path, spec, "toml")
    # without the flag: refused, nothing imported
    assert sweep(tmp_path, path) == 2
    assert f"--allow-import {user_module}" in capsys.readouterr().err
    # --dry-run with the flag: listed, nothing imported, nothing called
    assert sweep(tmp_path, path, "--dry-run", "--allow-import", user_module) == 0
    assert "1 runs; 0 done" in capsys.readouterr().out
    assert user_module not in sys.modules and not (tmp_path / "imported").exists()
    assert not (tmp_path / "called").exists() and not (tmp_path / "r.db").exists()
    # another module allowed: still refused
    assert sweep(tmp_path, path, "--allow-import", "tests.test_experiments_toys") == 2
    assert user_module not in sys.modules
    # the flag naming it: it runs
    assert sweep(tmp_path, path, "--allow-import", user_module) == 0
    assert (tmp_path / "imported").exists() and (tmp_path / "called").exists()
    with Store(tmp_path / "r.db", readonly=True) as s:
        assert list(s.status().values()) == ["done"]
    # only public callables defined in that very module
    for attr, why in (("system", "defined in module"), ("_private", "neither a registered name"),
                      ("missing", "has no callable")):
        bad = write(tmp_path, base(objectives=[{"name": f"{user_module}:{attr}"}]), "json", stem=attr)
        assert sweep(tmp_path, bad, "--allow-import", user_module) == 2
        assert why in capsys.readouterr().err
    # a sub-module or parent of an allowed module is not allowed
    with pytest.raises(SpecError, match="names code in module 'tests'"):
        load_spec(base(objectives=[{"name": "tests:helper"}]), allow_import=["tests.test_experiments_toys"])


def test_allow_import_flag_is_a_module_name(tmp_path, capsys):
    path = write(tmp_path, base(), "json")
    for bad in ("../x", "os/path", "a..b", "", "1abc"):
        assert sweep(tmp_path, path, "--allow-import", bad) == 2
        assert "--allow-import" in capsys.readouterr().err


def test_a_factory_passed_from_python_runs(tmp_path):
    from tests import test_experiments_toys as toys

    sp = load_spec(base(objectives=[{"name": toys.scaled_norm, "params": {"dim": 3}}]))
    assert sp.data["objectives"][0]["name"] == "tests.test_experiments_toys:scaled_norm"
    with pytest.raises(SpecError, match=r"objectives\[0\]\.name: .*module-level"):
        load_spec(base(objectives=[{"name": lambda dim=3: toys.scaled_norm(dim)}]))


# ----------------------------------------------------------------------------------------------------------------
# names
# ----------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../escaped", "a/b", "..", ".hidden", "/abs", "a\\b", "", " ", "-x", "a b",
                                  "x" * 200, "ok\x00"])
def test_sweep_names_are_plain(tmp_path, capsys, monkeypatch, name):
    monkeypatch.chdir(tmp_path / "..")
    path = write(tmp_path, base(name=name), "json")
    assert main(["sweep", str(path), "--executor", "serial", "--no-progress"]) == 2
    assert ": name: " in capsys.readouterr().err
    assert not (tmp_path.parent / "escaped.db").exists() and not (tmp_path.parent / "results").exists()


@pytest.mark.parametrize("field, change", [
    ("objectives[0].name", {"objectives": [{"name": "../scaled_norm"}]}),
    ("objectives[0].name", {"objectives": [{"name": "no_such_objective"}]}),
    ("methods[0].learner", {"methods": [{"learner": "os:system"}]}),
    ("methods[0].baseline", {"methods": [{"baseline": "../ingd"}]}),
    ("methods[0].baseline", {"methods": [{"baseline": "subprocess:run"}]}),
    ("methods[0].name", {"methods": [{"name": "", "learner": "ogd"}]}),
    ("objectives[0].label", {"objectives": [{"name": "scaled_norm", "label": "a\nb"}]}),
])
def test_registry_names_only(field, change):
    with pytest.raises(SpecError, match=re.escape(field) + ":"):
        load_spec(base(**change))


# ----------------------------------------------------------------------------------------------------------------
# generated bad specs
# ----------------------------------------------------------------------------------------------------------------

_text = st.text(min_size=0, max_size=12)
_not_number = st.one_of(st.text(max_size=5), st.none(), st.booleans(), st.lists(st.integers(), max_size=2),
                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=1))
_bad_positive = st.one_of(st.sampled_from([0, -1, -0.5, math.nan, math.inf, -math.inf]), _not_number)
_code = st.builds(lambda m, a: f"{m}:{a}", st.sampled_from(["os", "subprocess", "builtins", "shutil", "sys",
                                                            "importlib", "pathlib", "tests.test_experiments_toys"]),
                  st.sampled_from(["system", "run", "eval", "exec", "rmtree", "exit", "import_module", "Path",
                                   "scaled_norm", "__import__"]))
_pathy = st.builds(lambda a, b: a + b, st.sampled_from(["../", "/", "./", "..\\", ".", "-", "a/"]),
                   st.text(alphabet="abc./", max_size=6))
_bad_name = st.one_of(_code, _pathy, st.integers(), st.none(), st.just(""), st.lists(st.text(max_size=2), max_size=2))


def _unknown_key(allowed):
    return st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10).filter(lambda k: k not in allowed)


def _positive_distinct(v) -> bool:
    """A valid list of radii (distinct positive integers such as [1]): not a bad value for ``deltas``."""
    return (isinstance(v, list) and bool(v) and len(set(v)) == len(v)
            and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v))


def _set(spec, path, value):
    d = spec
    for p in path[:-1]:
        d = d[p]
    d[path[-1]] = value


# (the key the error must name, the path to change, a strategy of bad values)
MUTATIONS = [
    ("name", ("name",), _bad_name),
    ("seeds", ("seeds",), st.one_of(st.sampled_from([0, -1, 1.5, True, [], [-1], [1, 1], "a"]), st.none())),
    ("deltas", ("deltas",), st.one_of(_bad_positive.map(lambda v: [v]), st.just([]),
                                      _not_number.filter(lambda v: not _positive_distinct(v)), st.just([0.1, 0.1]))),
    ("measure.budgets", ("measure", "budgets"), st.one_of(_bad_positive.map(lambda v: [v]), st.just([1]),
                                                          st.just([1.5]), st.just([]))),
    ("measure.certificate", ("measure", "certificate"), _text.filter(lambda t: t not in ("auto", "algorithm"))),
    ("measure.epsilon_scale", ("measure", "epsilon_scale"),
     _text.filter(lambda t: t not in ("absolute", "lipschitz"))),
    ("objectives[0].name", ("objectives", 0, "name"), _bad_name),
    ("objectives[0].oracle", ("objectives", 0, "oracle"),
     _text.filter(lambda t: t not in ("auto", "exact", "stochastic"))),
    ("objectives[0].lipschitz", ("objectives", 0, "lipschitz"), _bad_positive),
    ("objectives[0].gap", ("objectives", 0, "gap"), _bad_positive),
    ("objectives[0].params", ("objectives", 0, "params"), st.one_of(st.lists(st.integers(), max_size=2),
                                                                   st.text(min_size=1, max_size=4), st.integers())),
    ("methods[0].learner", ("methods", 0, "learner"), st.one_of(_code, _pathy, _text.filter(
        lambda t: t not in __import__("online_learners").registry.names()), st.integers())),
    ("methods[0].tuning", ("methods", 0, "tuning"), _text.filter(lambda t: t not in ("theory", "fixed"))),
    ("methods[0].scaling", ("methods", 0, "scaling"),
     _text.filter(lambda t: t not in ("uniform", "exponential", "none"))),
    ("methods[0].restart", ("methods", 0, "restart"), st.one_of(st.sampled_from(["no", "yes", 0, 1, None]),
                                                               st.text(max_size=3))),
    ("methods[0].name", ("methods", 0, "name"), st.one_of(st.sampled_from(["", "\n", "a\x00b"]), st.integers(),
                                                         st.none())),
    ("methods[0].learner_params", ("methods", 0, "learner_params"), st.one_of(st.lists(st.integers(), max_size=2),
                                                                             st.text(min_size=1, max_size=4))),
]
UNKNOWN = [
    ("", (), {"name", "seeds", "deltas", "measure", "objectives", "methods", "description"}),
    ("measure.", ("measure",), {"budgets", "epsilons", "max_queries", "certificate", "epsilon_scale",
                                "doubling_start"}),
    ("objectives[0].", ("objectives", 0), {"name", "params", "oracle", "lipschitz", "gap", "sigma", "label",
                                           "epsilon_scale", "max_queries"}),
    # "baseline" and "params" are known fields of a method too (they make it a baseline method, whose error then
    # names the O2NC field "learner"): not unknown keys
    ("methods[0].", ("methods", 0), {"name", "learner", "tuning", "scaling", "epoch_length", "learner_params",
                                     "restart", "objectives", "baseline", "params"}),
]
COUNTS = {"tried": 0, "clear": 0}


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    if COUNTS["tried"]:
        print(f"\nbad specs: tried {COUNTS['tried']}, clear {COUNTS['clear']}")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_generated_bad_specs_get_an_error_naming_the_key(data):
    spec = base()
    if data.draw(st.booleans()):
        field, path, values = data.draw(st.sampled_from(MUTATIONS))
        value = data.draw(values)
        _set(spec, path, value)
    else:
        prefix, path, allowed = data.draw(st.sampled_from(UNKNOWN))
        key = data.draw(_unknown_key(allowed))
        d = spec
        for p in path:
            d = d[p]
        d[key] = 1
        field = prefix + key
    COUNTS["tried"] += 1
    with pytest.raises(SpecError) as ei:
        load_spec(spec)
    msg = str(ei.value)
    assert isinstance(ei.value, ValueError)
    assert re.search(re.escape(field) + r"(\[\d+\])?(\.\w+)?:", msg), (field, msg)
    COUNTS["clear"] += 1
