"""Shared test configuration: headless matplotlib and 64-bit JAX before any array exists."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("JAX_ENABLE_X64", "1")
