"""o2nc/experiments and o2nc/methods have no import cycle, and every module imports on its own.

The graph counts every import of a sibling module, including those hidden in function bodies (a cycle through a
lazy import is still a cycle of meaning: runner ↔ spec was one).  The package ``__init__`` files re-export their
modules and are left out of the graph.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("o2nc.experiments", "o2nc.methods")


def modules(package: str) -> list[str]:
    folder = ROOT / package.replace(".", "/")
    return sorted(f"{package}.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__")


def imports_of(module: str, package: str) -> set[str]:
    """Sibling modules of ``package`` that ``module`` imports anywhere in its source."""
    tree = ast.parse((ROOT / (module.replace(".", "/") + ".py")).read_text())
    siblings = set(modules(package))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            base = node.module if node.level == 0 else f"{package}.{node.module}"
            if base in siblings:
                found.add(base)
            elif base == package:
                found.update(f"{package}.{a.name}" for a in node.names if f"{package}.{a.name}" in siblings)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in siblings)
    found.discard(module)
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package):
    graph = {m: imports_of(m, package) for m in modules(package)}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_spec_schema_expressions_and_building_are_separate_modules():
    graph = {m: imports_of(m, "o2nc.experiments") for m in modules("o2nc.experiments")}
    assert graph["o2nc.experiments.expr"] == set()  # the expression language stands alone
    assert graph["o2nc.experiments.build"] == {"o2nc.experiments.expr"}
    assert "o2nc.experiments.runner" not in graph["o2nc.experiments.spec"]
    assert "o2nc.experiments.spec" not in graph["o2nc.experiments.runner"]


def test_each_module_imports_in_a_fresh_interpreter():
    names = modules("o2nc.experiments") + modules("o2nc.methods") + ["o2nc.methods", "o2nc.baselines"]
    script = "; ".join(f"subprocess.run([sys.executable, '-c', 'import {n}'], check=True)" for n in names)
    done = subprocess.run([sys.executable, "-c", f"import subprocess, sys; {script}"], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
