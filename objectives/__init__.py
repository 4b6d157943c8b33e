"""o2nc objective bank: non-smooth, non-convex, stochastic and hard test objectives with exact metadata.

    >>> import objectives
    >>> obj = objectives.get("nesterov_n2", n=5)
    >>> obj.dim, float(obj.value(obj.x0)), obj.f_star
    (5, 0.5, 0.0)

``objectives.get(name, **params)`` builds an entry, ``objectives.names(tags=...)`` lists them,
``objectives.Counting(obj)`` counts oracle calls and ``objectives.with_noise(obj, kind, scale)`` adds a noise model.
"""
# Entries register themselves on import.
from . import (  # noqa: F401,E402
    diagnostics,  # noqa: F401,E402
    hard_instance,  # noqa: F401,E402
    large_scale,  # noqa: F401,E402
    luksan_vlcek,  # noqa: F401,E402
    ml_models,
    ml_sensing,
    nesterov,  # noqa: F401,E402
    tight_family,  # noqa: F401,E402
)
from .base import Objective
from .counting import Counting
from .noise import with_noise
from .registry import factory_of, get, names, register, tags_of

__all__ = ["Objective", "Counting", "with_noise", "get", "names", "register", "tags_of", "factory_of"]
