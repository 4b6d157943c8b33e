"""Algorithm 1 of [CMO23] with projected OGD on one numpy array, in place: the fast path of ``o2nc.minimize``.

[CMO23] A. Cutkosky, H. Mehta, F. Orabona, *Optimal Stochastic Non-smooth Non-convex Optimization through
Online-to-Non-convex Conversion*, ICML 2023 (arXiv 2302.03775), Algorithm 1; the learner is
``online_learners.OGD`` (Zinkevich, ICML 2003), Δ_{n+1} = Π_{‖·‖≤D}(Δ_n − η_n g_n).

The same arithmetic as the core (:mod:`o2nc.conversion.step` over ``OGD.predict``/``OGD.update``), in the same
order and dtype, written into buffers the kernel owns instead of fresh arrays (the learner's part, v and its
projection, is OGD's own in-place step beside it in ``online_learners/ogd.py``), so a step costs a few passes over the
parameters and no per-step tree walks, checks or NamedTuples:

    w_n = x_{n−1} + (s_n) Δ_n                      (a fresh array: the oracle may keep it)
    v = Δ_n − η_n g_n,  ‖v‖² by one inner product  (non-finite iff g_n or v is: the gradient check, for free)
    x_n = x_{n−1} + c_n Δ_n,  Δ_{n+1} = v · D/max(‖v‖, D),  epoch sums += (w_n, g_n, c_n‖Δ_n‖)

The only difference from the core is the segment length c_n‖Δ_n‖ of the path bound: the core recomputes ‖Δ_n‖,
the kernel carries ‖Δ_{n+1}‖ = ‖v‖·D/max(‖v‖, D) from the projection (one rounding apart).
``tests/test_o2nc.py`` holds the kernel to the core (1e-12 in float64, 1e-6 in float32).

Memory: the anchor, two increments and the two epoch sums, five arrays of the parameters' size, whatever the epoch
length.
"""
from __future__ import annotations

import math

import numpy as np

from o2nc.conversion import epoch as _epoch
from online_learners import ogd as _ogd
from online_learners.tree import tree_norm

__all__ = ["OGDKernel", "applies"]


def applies(learner, x0, *, hint, record: bool) -> bool:
    """Whether :class:`OGDKernel` runs this configuration: ``online_learners.OGD`` itself (not a subclass) on a
    float32/float64 numpy array, without hints or a recorded history."""
    from online_learners import OGD

    return (type(learner) is OGD and type(x0) is np.ndarray and x0.dtype in (np.float32, np.float64)
            and hint is None and not record)


class OGDKernel:
    """The conversion state of a run with OGD, kept in place: anchor x, increment Δ, epoch sums and path.

    ``propose(w_coef)`` returns w_n for the oracle; ``observe(w, g, w_coef, x_coef)`` takes g_n, moves the anchor
    and the learner and adds to the sums (False when g_n is not finite: nothing is changed then but the scratch
    increment; ``finite`` says whether the next increment is); ``close(T)`` closes the epoch
    (:func:`o2nc.conversion.epoch.close`); ``restart()`` re-initialises the learner (Δ = 0, the step counter 0), as
    ``OGD.init`` does.
    """

    def __init__(self, learner, x0: np.ndarray):
        self.dtype = x0.dtype
        self._scalar = x0.dtype.type
        self.x = np.array(x0, dtype=x0.dtype, order="C", copy=True)
        self.delta = np.zeros_like(self.x)
        self._next = np.empty_like(self.x)
        self.w_sum = np.zeros_like(self.x)
        self.g_sum = np.zeros_like(self.x)
        self.path = self._scalar(0)
        self.norm = self._scalar(0)  # ‖Δ_n‖
        self.count = 0
        self.finite = True  # whether Δ_n is finite
        self.learner = learner
        info = np.finfo(self.dtype)
        # tree_norm's plain branch: a sum of squares in [tiny/eps, inf) (online_learners.tree.tree_norm)
        self._floor = float(info.smallest_normal) / float(info.eps)

    def propose(self, w_coef: float) -> np.ndarray:
        """w_n = x_{n−1} + w_coef·Δ_n, a fresh array (the core's ``anchor + w_coef * delta``)."""
        w = self.delta * w_coef
        w += self.x
        return w

    def observe(self, w: np.ndarray, g: np.ndarray, w_coef: float, x_coef: float) -> bool:
        """The step after g_n, or False (and nothing changed) when g_n is not finite.

        A non-finite next increment (an overflow of v) is kept, as the core keeps it: ``finite`` is then False and
        the driver stops at the next step, naming the learner.
        """
        count = self.count + 1
        v = _ogd._inplace_descend(self.learner, self.delta, g, count, self._next)  # Δ_n − η_n g_n, the learner's
        flat = v.reshape(-1)
        # np.vdot: the same value as np.dot without its overflow warning (an overflowing plain sum is expected here:
        # the scaled norm below replaces it), and without the microsecond of an errstate context every step
        sq = np.vdot(flat, flat)
        if self._floor <= float(sq) < math.inf:
            norm = np.sqrt(sq)
        else:
            if not bool(np.all(np.isfinite(g))):
                return False
            norm = tree_norm(v)  # scaled (Blue 1978): tiny or huge entries, or an overflow of v
        segment = abs(x_coef) * self.norm
        if x_coef == 1.0:
            self.x += self.delta
        elif x_coef == w_coef:
            np.copyto(self.x, w)  # x_n = w_n (exponential scaling): the same sum, already computed
        else:
            self.x += self.delta * x_coef
        norm = _ogd._inplace_project(self.learner, v, norm)
        self.delta, self._next = v, self.delta
        self.norm = norm
        self.finite = math.isfinite(float(norm))
        self.count = count
        self.w_sum += w
        self.g_sum += g
        self.path = self.path + segment
        return True

    def close(self, length: int) -> _epoch.EpochStats:
        """The closed epoch's statistics (the core's ``epoch.close``), and fresh sums."""
        stats = _epoch.close(_epoch.EpochSums(self.w_sum, self.g_sum, np.asarray(self.path)), length)
        self.w_sum[...] = 0
        self.g_sum[...] = 0
        self.path = self._scalar(0)
        return stats

    def restart(self) -> None:
        """``OGD.init``: Δ = 0 and the step counter 0; the anchor is kept."""
        self.delta[...] = 0
        self.norm = self._scalar(0)
        self.count = 0
        self.finite = True

    def release(self) -> np.ndarray | None:
        """Drop the scratch buffers and return the anchor (the run is over)."""
        self.delta = self._next = self.w_sum = self.g_sum = None
        return self.x
