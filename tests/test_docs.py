"""The documentation site: it builds strictly, every page is in the navigation, and every example runs as written.

The tutorials' and concept pages' ```python blocks run in order in one namespace per page, and their ```shell
blocks run line by line with the virtual environment's scripts first on PATH, in a temporary working folder. The
claims a page's prose makes about its printed numbers are checked here on the page's namespace.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CONFIG = ROOT / "mkdocs.yml"
BLOCK = re.compile(r"^```(python|shell)\n(.*?)^```", flags=re.S | re.M)
TUTORIALS = sorted((DOCS / "tutorials").glob("*.md"))
EXECUTED = TUTORIALS + sorted(p for p in [DOCS / "index.md", *(DOCS / "concepts").glob("*.md")]
                              if BLOCK.search(p.read_text()))


def nav_pages() -> list[str]:
    return re.findall(r":\s*([\w./-]+\.md)\s*$", CONFIG.read_text(), flags=re.M)


def test_site_builds_strictly(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(CONFIG),
                           "-d", str(tmp_path / "site")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "site" / "index.html").is_file()
    api = (tmp_path / "site" / "api" / "o2nc" / "index.html").read_text()
    assert "selected_epoch" in api and "final_anchor" in api   # o2nc.Result's fields are documented
    assert (tmp_path / "site" / "tutorials" / "parameter-free" / "index.html").is_file()


def test_every_page_is_in_the_navigation():
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    listed = nav_pages()
    assert sorted(set(listed)) == sorted(listed), "a page is listed twice"
    assert pages == set(listed), f"not in nav: {sorted(pages - set(listed))}; missing: {sorted(set(listed) - pages)}"


def test_the_readme_links_to_the_site_and_says_how_to_build_it():
    readme = (ROOT / "README.md").read_text()
    assert "docs/index.md" in readme and ".venv/bin/mkdocs build --strict" in readme


# What each page's prose claims about the numbers it prints.
CHECKS = {
    "own-function": lambda ns: (ns["res"].certified and ns["res"].certificate.epsilon < ns["first"] / 4
                                and ns["noisy"].certificate.kind == "stochastic estimate"),
    "parameter-free": lambda ns: (not ns["naked"].certified and ns["caught"]
                                  and ns["caught"][0].category.__name__ == "UnboundedRadiusWarning"
                                  and ns["res"].certified and repr(ns["built"]) == repr(ns["learner"])
                                  # a tiny wealth makes no progress; the default and a large one do
                                  and ns["f"](ns["by_wealth"][0.01].point) > 0.99 * ns["f"](ns["x0"])
                                  and ns["f"](ns["res"].point) < 0 and ns["f"](ns["by_wealth"][100.0].point) < 0
                                  and ns["bank_run"].certificate.proves(0.1)),
    "certify": lambda ns: (ns["epoch"].kind == "exact-gradient epoch" and ns["sampled"].kind == "sampled one-sided"
                           and ns["combined"].epsilon <= min(ns["epoch"].epsilon, ns["sampled"].epsilon)
                           and ns["exact"].is_proof and not ns["run"].certificate.is_proof),
    "torch": lambda ns: ns["final"] < ns["start"] / 4 and float(ns["diag"]["radius_bound"]) <= ns["delta"],
    "optax": lambda ns: float(ns["loss"](ns["output"])) < ns["start"] / 4 and int(ns["diag"]["nonfinite_steps"]) == 0,
    "sweep": lambda ns: (ns["report"].done == 12 and ns["again"].skipped == 12 and ns["report"].failed == 0
                         and all(-3.0 <= float(e) < 0 for e in ns["joint"].fit.exponents)),
}


def run_page(page: Path, folder: Path) -> dict:
    blocks = BLOCK.findall(page.read_text())
    assert blocks or page.parent.name != "tutorials", f"the tutorial {page.name} has no example"
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
           "O2NC_FIGS_CACHE": str(folder / "figs-cache"), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    for language, code in blocks:
        if language == "python":
            exec(compile(code, str(page), "exec"), namespace)
            continue
        for line in code.splitlines():
            if line.strip():
                done = subprocess.run(line, shell=True, env=env, cwd=folder, capture_output=True, text=True,
                                      timeout=300)
                assert done.returncode == 0, f"{page.name}: `{line}` failed:\n{done.stderr[-3000:]}"
    return namespace


@pytest.mark.parametrize("page", EXECUTED, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("O2NC_FIGS_CACHE", str(tmp_path / "figs-cache"))
    if page.stem == "torch":
        torch = pytest.importorskip("torch")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)    # a small model: one thread is the fastest on a shared machine
        try:
            namespace = run_page(page, tmp_path)
        finally:
            torch.set_num_threads(threads)
    else:
        namespace = run_page(page, tmp_path)
    check = CHECKS.get(page.stem) if page.parent.name == "tutorials" else None
    if check is not None:
        assert check(namespace), f"{page.name}: a number the page describes is not what it says"
    if page.stem == "figures":
        assert (tmp_path / "figs" / "fig6_optimistic.png").is_file()


def test_every_tutorial_with_numbers_in_its_prose_is_checked():
    tutorials = {p.stem for p in TUTORIALS}
    assert set(CHECKS) <= tutorials
    assert tutorials - set(CHECKS) <= {"figures"}    # checked by its files above


def test_import_o2nc_loads_certify_methods_baselines_lazily_without_frameworks():
    code = ("import sys, o2nc\n"
            "before = {m for m in ('o2nc.certify', 'o2nc.baselines') if m in sys.modules}\n"
            "o2nc.certify.goldstein, o2nc.methods.get, o2nc.baselines.get\n"
            "frameworks = [m for m in ('torch', 'jax', 'optax', 'dask') if m in sys.modules]\n"
            "print(sorted(before), frameworks, sorted({'certify', 'methods', 'baselines'} - set(dir(o2nc))))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] [] []"


def test_help_of_result_documents_every_field():
    import pydoc

    import o2nc

    text = pydoc.render_doc(o2nc.Result, renderer=pydoc.plaintext)
    doc = o2nc.Result.__doc__
    for field in o2nc.Result._fields:
        assert f"{field}:" in doc, f"o2nc.Result's docstring does not describe {field}"
    assert "final_anchor" in text and "selected_epoch" in text
