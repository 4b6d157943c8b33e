"""Smoke run of the digits example: every method trains for one epoch in PyTorch and in JAX and beats chance."""
from __future__ import annotations

import importlib.util
import pathlib

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("torch")
pytest.importorskip("jax")

PATH = pathlib.Path(__file__).resolve().parents[1] / "examples" / "digits.py"


def load_example():
    spec = importlib.util.spec_from_file_location("digits_example", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_digits_smoke(framework):
    digits = load_example()
    results = digits.sweep(framework, epochs=3, multipliers=(1.0,), methods=["o2nc-ogd", "o2nc-discounted-ftrl", "adam"])
    for method, row in results.items():
        (acc,) = row.values()
        assert acc > 0.6, (framework, method, acc)  # chance is 0.1; 3 epochs reach 0.8-0.9
