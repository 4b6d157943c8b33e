"""Shared test configuration: headless matplotlib and 64-bit JAX before any array exists."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("JAX_ENABLE_X64", "1")

# Generated inputs are the same on every run (a failure in CI reproduces locally); set HYPOTHESIS_PROFILE=explore to
# draw new examples each run.
from hypothesis import settings  # noqa: E402

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
