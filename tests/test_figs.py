"""The paper figures: the committed quick set is complete and well-formed; figures regenerate from the command line."""
from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIGS = ROOT / "paper_figs"
NAMES = sorted(p.stem for p in FIGS.glob("fig*_*.py"))


def numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield obj


def check_outputs(folder: Path, name: str) -> None:
    png, pdf, data, caption = (folder / f"{name}{ext}" for ext in (".png", ".pdf", ".json", ".txt"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000, png
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 2_000, pdf
    values = list(numbers(json.loads(data.read_text())))
    assert len(values) >= 4 and all(math.isfinite(v) for v in values), data
    assert len(caption.read_text().strip()) > 80, caption


def figs(*args, cache: Path, timeout: int):
    env = {**os.environ, "O2NC_FIGS_CACHE": str(cache), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "o2nc", "figs", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT)


def test_the_paper_figures_are_all_there():
    expected = {"fig1_certificates", "fig2_complexity_eps", "fig3_complexity_delta", "fig4_hard_instance",
                "fig5_parameter_free", "fig6_optimistic", "fig7_equivalences", "fig8_digits"}
    assert expected <= set(NAMES), sorted(expected - set(NAMES))


def test_list_gives_every_figure_its_measured_quick_time_and_full_time(tmp_path):
    done = figs("--list", cache=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert sorted(lines) == NAMES
    for _name, line in lines.items():
        quick = re.search(r"--quick: ([^;]+);", line)
        assert quick and re.search(r"\d", quick.group(1)), line      # a measured time, not "not measured"
        assert "full budgets:" in line, line


@pytest.mark.parametrize("name", NAMES)
def test_committed_quick_figure_is_complete_and_in_the_readme(name):
    check_outputs(FIGS / "quick", name)
    readme = (ROOT / "README.md").read_text()
    assert f"paper_figs/quick/{name}.png" in readme and f"o2nc figs {name}" in readme


def test_figures_regenerate_into_a_folder(tmp_path):
    done = figs("fig7_equivalences", "fig6_optimistic", "--quick", "--out", str(tmp_path), cache=tmp_path / "cache",
                timeout=600)
    assert done.returncode == 0, done.stderr
    for name in ("fig7_equivalences", "fig6_optimistic"):
        check_outputs(tmp_path, name)
    # a second run reads the stored results instead of recomputing them: no new row in the store
    db = tmp_path / "cache" / "quick.db"
    rows = sqlite3.connect(db).execute("SELECT COUNT(*), MAX(finished) FROM runs").fetchone()
    again = figs("fig6_optimistic", "--quick", "--out", str(tmp_path / "again"), cache=tmp_path / "cache", timeout=600)
    assert again.returncode == 0, again.stderr
    assert sqlite3.connect(db).execute("SELECT COUNT(*), MAX(finished) FROM runs").fetchone() == rows
    assert json.loads((tmp_path / "again" / "fig6_optimistic.json").read_text()) == \
        json.loads((tmp_path / "fig6_optimistic.json").read_text())


def test_unknown_figure_is_a_clear_error(tmp_path):
    done = figs("fig9_nothing", cache=tmp_path, timeout=120)
    assert done.returncode == 2 and "fig9_nothing" in done.stderr and "fig1_certificates" in done.stderr


@pytest.mark.slow
def test_whole_quick_set_regenerates_from_nothing(tmp_path):
    """The whole quick set from an empty store (its target is under 5 minutes on 2 cores; the time is printed)."""
    start = time.perf_counter()
    done = figs("--quick", "--out", str(tmp_path), cache=tmp_path / "cache", timeout=1200)
    assert done.returncode == 0, done.stderr
    for name in NAMES:
        check_outputs(tmp_path, name)
    print(f"quick set: {time.perf_counter() - start:.0f} s")


def test_outputs_go_to_the_checkout_or_to_the_working_folder_of_an_installed_package(tmp_path, monkeypatch):
    from o2nc.commands import figs as command

    assert command.figures_dir() == FIGS and command.output_root(FIGS) == FIGS     # a source checkout
    installed = tmp_path / "site-packages" / "paper_figs"                           # no pyproject.toml beside it
    installed.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert command.output_root(installed) == tmp_path / "o2nc-figs"


def test_the_wheel_ships_the_figure_scripts():
    from setuptools.discovery import PEP420PackageFinder

    text = (ROOT / "pyproject.toml").read_text()
    include = re.search(r"^include = (\[.*?\])", text, flags=re.M).group(1)
    packages = PEP420PackageFinder.find(str(ROOT), include=json.loads(include))
    assert "paper_figs" in packages and "paper_figs.quick" not in packages and "o2nc.commands" in packages
