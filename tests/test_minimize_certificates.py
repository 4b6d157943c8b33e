"""``minimize``'s certificate: the selected epoch as an ``o2nc.Certificate``, selection at a requested δ, the
unbounded-radius warning, scale-free (float32) certificate arithmetic, and the errors that stop a run."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import o2nc
from online_learners import KT, OGD, AdaGradNorm, BallConstraint, Coordinatewise, Restarting
from tests.backends import to_numpy


def quadratic(w):
    return w - 1.0


# --- the Certificate of the selected epoch --------------------------------------------------------------------------


def test_result_certificate_is_the_selected_epoch():
    res = o2nc.minimize(np.sign, np.array([1.0, -2.0, 0.5]), learner=OGD(lr=0.05, radius=0.05), budget=300,
                        epoch_length=20, seed=3, radius_kind="exact")
    k = res.selected_epoch
    cert = res.certificate
    assert isinstance(cert, o2nc.Certificate)
    assert cert.point is res.point and np.array_equal(res.point, res.epochs.mean[k])
    assert cert.delta == float(res.epochs.radius[k]) and cert.radius_kind == "exact"
    assert cert.epsilon == float(res.epochs.certificate[k])
    assert cert.kind == "exact-gradient epoch" and res.certified
    assert cert.calls == res.epochs.calls[k] == 20 * (k + 1)
    assert res.epochs.calls == tuple(20 * (j + 1) for j in range(15))
    # by default the same epochs carry the path bound, which is at least the exact radius
    default = o2nc.minimize(np.sign, np.array([1.0, -2.0, 0.5]), learner=OGD(lr=0.05, radius=0.05), budget=300,
                            epoch_length=20, seed=3)
    assert default.certificate.radius_kind == "bound" and default.selected_epoch == k
    assert default.certificate.delta == float(res.epochs.radius_bound[k]) >= cert.delta
    # the radius is the exact max distance of the epoch's points from their mean
    full = o2nc.minimize(np.sign, np.array([1.0, -2.0, 0.5]), learner=OGD(lr=0.05, radius=0.05), budget=300,
                         epoch_length=20, seed=3, record=True)
    w = full.history.w[20 * k:20 * (k + 1)]
    assert cert.delta == pytest.approx(np.max(np.linalg.norm(w - w.mean(axis=0), axis=1)), rel=1e-12)
    assert cert.epsilon == pytest.approx(np.linalg.norm(full.history.grad[20 * k:20 * (k + 1)].mean(axis=0)),
                                         rel=1e-12)


def test_stochastic_oracle_gives_an_estimate_and_the_override_wins():
    def noisy(w, rng):
        return w - 1.0 + 0.1 * rng.standard_normal(w.shape)

    kw = dict(learner=OGD(lr=0.05, radius=0.05), budget=200, epoch_length=20)
    res = o2nc.minimize(noisy, np.zeros(3), **kw)
    assert res.certificate.kind == "stochastic estimate" and not res.certified
    assert "estimate, not a proof" in res.certificate.describe()
    assert o2nc.minimize(quadratic, np.zeros(3), **kw).certificate.kind == "exact-gradient epoch"
    assert o2nc.minimize(quadratic, np.zeros(3), stochastic=True, **kw).certificate.kind == "stochastic estimate"
    assert o2nc.minimize(noisy, np.zeros(3), stochastic=False, **kw).certificate.kind == "exact-gradient epoch"
    with pytest.raises(TypeError, match="`stochastic`"):
        o2nc.minimize(quadratic, np.zeros(3), stochastic="yes", **kw)


# --- selection at a requested δ -------------------------------------------------------------------------------------


def test_best_at_delta_chooses_only_among_epochs_within_delta():
    # Unconstrained KT on ‖x‖₁: its smallest certificate comes with a radius of about 9, other epochs lie within 5.
    kw = dict(learner=KT(), budget=400, epoch_length=10, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", o2nc.UnboundedRadiusWarning)
        free = o2nc.minimize(np.sign, np.array([3.0, -2.0]), **kw)
        radii, certs = np.asarray(free.epochs.radius), np.asarray(free.epochs.certificate)
        delta = 5.0
        assert radii[free.selected_epoch] > delta  # without δ the best certificate lies outside δ: the bug case
        res = o2nc.minimize(np.sign, np.array([3.0, -2.0]), delta=delta, **kw)
    within = np.flatnonzero(radii <= delta)
    assert res.selected_epoch == within[np.argmin(certs[within])]
    assert res.certificate.delta <= delta and res.certified and res.certificate.proves(delta)
    assert "r = " in res.certificate.describe(delta) and "≤ δ" in res.certificate.describe(delta)


def test_no_epoch_within_delta_is_said_plainly():
    kw = dict(learner=OGD(lr=0.3, radius=1.0), budget=200, epoch_length=10, seed=2)
    res = o2nc.minimize(np.sign, np.array([3.0, -2.0]), delta=1e-6, **kw)
    radii = np.asarray(res.epochs.radius)
    assert radii.min() > 1e-6
    assert res.selected_epoch == int(np.argmin(radii))  # the smallest radius it reached
    assert not res.certified and not res.certificate.proves(1e-6)
    text = res.certificate.describe(1e-6)
    assert text.startswith("no certificate at δ = 1e-06") and f"{radii.min():.4g}" in text


def test_delta_is_checked_for_every_output_and_validated():
    kw = dict(learner=OGD(lr=0.05, radius=0.005), budget=200, epoch_length=20)
    assert o2nc.minimize(np.sign, np.ones(2), output="last", delta=0.1, **kw).certified
    assert not o2nc.minimize(np.sign, np.ones(2), output="last", delta=1e-9, **kw).certified
    for bad in (0.0, -1.0, float("nan"), float("inf"), "0.1", True):
        with pytest.raises(ValueError, match="`delta`"):
            o2nc.minimize(np.sign, np.ones(2), delta=bad, **kw)


# --- the unbounded-radius warning -----------------------------------------------------------------------------------


def test_plain_kt_at_delta_warns_and_names_the_fix():
    with pytest.warns(o2nc.UnboundedRadiusWarning, match=r"KT\(.*BallConstraint\(learner, radius=δ/T\)") as record:
        res = o2nc.minimize(np.sign, np.array([1.0, -2.0]), learner=KT(), budget=200, epoch_length=20,
                            delta=0.1)
    assert "radius=0.005" in str(record[0].message)  # δ/T = 0.1/20
    assert res.certified == res.certificate.proves(0.1)


@pytest.mark.parametrize("learner", [OGD(lr=0.1, radius=0.01), AdaGradNorm(radius=0.01),
                                     BallConstraint(KT(), radius=0.005), Restarting(OGD(lr=0.1, radius=0.01), 5),
                                     Coordinatewise(OGD(lr=0.1, radius=0.01))],
                         ids=["ogd", "adagrad_norm", "ball_kt", "restarting", "coordinatewise"])
def test_bounded_learners_do_not_warn(learner):
    with warnings.catch_warnings():
        warnings.simplefilter("error", o2nc.UnboundedRadiusWarning)
        o2nc.minimize(np.sign, np.array([1.0, -2.0]), learner=learner, budget=100, epoch_length=20, delta=0.1)
        o2nc.minimize(np.sign, np.array([1.0, -2.0]), learner=KT(), budget=100, epoch_length=20)  # no δ asked
        o2nc.minimize(np.sign, np.array([1.0, -2.0]), learner=KT(), budget=100, epoch_length=20, delta=0.1,
                      output="last")


def test_learner_radius_reads_the_bound():
    assert o2nc.learner_radius(OGD(lr=0.1, radius=0.5), 4) == 0.5
    assert o2nc.learner_radius(Coordinatewise(OGD(lr=0.1, radius=0.5)), 4) == pytest.approx(1.0)  # box: r√d
    assert o2nc.learner_radius(OGD(lr=0.1), 4) is None
    assert o2nc.learner_radius(Restarting(KT(), period=3), 4) is None


# --- float32: certificates at every gradient scale ------------------------------------------------------------------

SCALES = (1e-30, 1.0, 1e30)


def _float32_run(backend: str, scale: float):
    """A float32 run on a fixed gradient stream scaled by ``scale``, OGD's step scaled by 1/scale (same plays)."""
    rng = np.random.default_rng(5)
    stream = 1.0 + 0.5 * rng.standard_normal((200, 7))  # nonzero mean: no cancellation in ĝ_k
    if backend == "numpy":
        x0 = np.zeros(7, dtype=np.float32)
        rows = (scale * stream).astype(np.float32)
        wrap = np.asarray
    else:
        torch = pytest.importorskip("torch")
        x0 = torch.zeros(7, dtype=torch.float32)
        rows = torch.asarray(scale * stream, dtype=torch.float32)
        wrap = torch.as_tensor
    calls = {"n": 0}

    def grad(w):
        calls["n"] += 1
        return wrap(rows[calls["n"] - 1])

    res = o2nc.minimize(grad, x0, learner=OGD(lr=0.01 / scale, radius=0.05), budget=200, epoch_length=20,
                        seed=0, record=True)
    return res, to_numpy(rows)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_float32_certificates_do_not_underflow_or_overflow(backend):
    reference, _ = _float32_run(backend, 1.0)
    ref_cert = to_numpy(reference.epochs.certificate)
    ref_radius = to_numpy(reference.epochs.radius)
    for scale in SCALES:
        res, rows = _float32_run(backend, scale)
        assert str(res.epochs.certificate.dtype).endswith("float32")  # statistics stay in the run's dtype
        assert str(res.history.delta.dtype).endswith("float32")
        cert = to_numpy(res.epochs.certificate)
        # float64 truth: the norm of each epoch's mean of the gradients actually fed
        truth = np.linalg.norm(rows.reshape(10, 20, 7).mean(axis=1), axis=1)
        assert np.all(np.abs(cert - truth) <= 1e-6 * truth), scale
        assert np.all(np.abs(cert / scale - ref_cert) <= 1e-6 * ref_cert), scale
        assert np.all(np.abs(to_numpy(res.epochs.radius) - ref_radius) <= 1e-6 * ref_radius), scale
        eps = res.certificate.epsilon
        assert isinstance(eps, float) and abs(eps / scale - reference.certificate.epsilon) <= 1e-6 * eps / scale
        assert res.selected_epoch == reference.selected_epoch


def test_float32_overflowing_epoch_sum_is_an_error():
    def grad(w):
        return np.full(3, 3e38, dtype=np.float32)

    with pytest.raises(o2nc.NonFiniteEpochError, match="epoch 1") as info, np.errstate(over="ignore", invalid="ignore"):
        o2nc.minimize(grad, np.zeros(3, dtype=np.float32), learner=OGD(lr=1e-40, radius=0.1), budget=40,
                      epoch_length=10)
    assert info.value.result is None and info.value.epoch == 0


# --- input that cannot give a certificate ---------------------------------------------------------------------------


def test_empty_x0_is_refused():
    with pytest.raises(ValueError, match="`x0`"):
        o2nc.minimize(np.sign, np.zeros(0), learner=OGD(lr=0.1, radius=1.0), budget=20, epoch_length=10)
    with pytest.raises(ValueError, match="`x0`"):
        o2nc.minimize(np.sign, np.zeros((3, 0)), learner=OGD(lr=0.1, radius=1.0), budget=20, epoch_length=10)


class BlowsUp:
    """OGD that plays NaN from round ``at`` on (a learner whose state went bad)."""

    def __init__(self, at: int):
        self.inner, self.at, self.rounds = OGD(lr=0.1, radius=1.0), at, 0

    def init(self, params):
        return self.inner.init(params)

    def predict(self, state, hint=None):
        self.rounds += 1
        return state.delta * np.nan if self.rounds >= self.at else state.delta

    def update(self, state, grad):
        return self.inner.update(state, grad)

    def __repr__(self):
        return "BlowsUp(at=34)"


def test_non_finite_step_names_the_learner_and_step_and_keeps_completed_epochs():
    with pytest.raises(o2nc.NonFiniteStepError, match=r"BlowsUp\(at=34\).*step 34") as info:
        o2nc.minimize(np.sign, np.ones(2), learner=BlowsUp(at=34), budget=100, epoch_length=10)
    err = info.value
    assert isinstance(err, FloatingPointError) and err.step == 34
    assert err.result.epochs.calls == (10, 20, 30) and err.result.grad_calls == 33
    assert np.all(np.isfinite(err.result.epochs.radius)) and err.result.certified
