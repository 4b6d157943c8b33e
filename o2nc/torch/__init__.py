"""PyTorch shell of the online-to-non-convex conversion: ``o2nc.torch.O2NC``, a ``torch.optim.Optimizer``, and
``o2nc.torch.certify``, the Goldstein certificate of a trained model.

Import it explicitly (``import o2nc.torch``); ``import o2nc`` alone never imports torch.
"""
from __future__ import annotations

from o2nc.torch.certify import certify
from o2nc.torch.optimizer import O2NC, NonFiniteGradientError

__all__ = ["O2NC", "NonFiniteGradientError", "certify"]
