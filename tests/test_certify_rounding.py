"""certify.goldstein reports the radius its points reach, not δ, where rounding or a caller's point exceeds δ beyond
the rounding of the computed distance: a certificate at δ must not rest on points outside the δ-ball."""
import numpy as np

from o2nc.certify import goldstein

X1, KINK, DELTA = 1e8, 1.2e-8, 1e-8  # ulp(1e8) = 1.49e-8 > δ: y = x + v rounds to x or to x ± 1.49e-8


class Kink:
    """F(y) = |y − X1 − KINK| with slope 10 right of the kink: every real point of B(X1, δ) has F' = −1, so
    dist(0, ∂_δF(X1)) = 1."""

    def value(self, x):
        t = (x[0] - X1) - KINK
        return float(-t if t < 0 else 10 * t)

    def grad(self, x):
        t = (x[0] - X1) - KINK
        return np.array([-1.0 if t < 0 else 10.0])


def test_points_that_rounding_moved_outside_the_ball_are_reported_at_their_distance():
    c = goldstein(Kink(), np.array([X1]), DELTA, samples=16, seed=0)
    reach = float(np.abs(c.points[:, 0] - X1).max())
    assert reach > DELTA  # the rounded samples: some lie at 1.49e-8, past the kink
    assert c.delta == reach
    assert not c.proves(DELTA, 0.5)  # ε ≈ 0 there, but only at radius 1.49e-8; at δ the true value is 1
    assert "no certificate at δ" in c.describe(DELTA)


def test_a_caller_point_accepted_within_the_tolerance_is_reported_at_its_distance():
    # 9δ from x in its second coordinate (exactly representable there), within the acceptance tolerance
    # 1e-15·(1 + ‖x‖) ≈ 1e-7; the kink 5δ away: dist(0, ∂_δF(x)) = 1, and at the point the slope is +1
    x = np.array([X1, 0.0])
    c = goldstein(lambda y: np.array([0.0, 1.0 if y[1] >= 5e-8 else -1.0]), x, DELTA, samples=0,
                  points=np.array([[X1, 9e-8]]), include_center=False)
    assert c.delta == 9e-8 and not c.proves(DELTA, 0.5)
    assert "no certificate at δ" in c.describe(DELTA)


def test_ordinary_certificates_keep_their_radius():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(5)
    c = goldstein(type("Abs", (), {"grad": staticmethod(np.sign), "value": staticmethod(lambda y: float(
        np.abs(y).sum()))})(), x, 0.1, samples=32, seed=1)
    assert 0 < c.delta <= 0.1
    assert float(np.max(np.linalg.norm(c.points - x, axis=1))) == c.delta
