"""tree_norm at every scale on every backend, and the projection that returns its own norm.

The reference is ``math.hypot`` of the entries as Python floats (float64, no intermediate under- or overflow).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from online_learners import tree

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
torch = pytest.importorskip("torch")

SCALES = {np.float32: (1e-30, 1e-5, 1.0, 1e5, 1e30), np.float64: (1e-300, 1e-30, 1.0, 1e30, 1e300)}


def leaves(dtype, scale, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(7) * scale).astype(dtype), (rng.standard_normal((3, 2)) * scale).astype(dtype)]


def reference(parts) -> float:
    return math.hypot(*(float(v) for p in parts for v in np.ravel(p)))


BACKENDS = {
    "numpy": lambda parts: [np.asarray(p) for p in parts],
    "torch": lambda parts: [torch.from_numpy(np.ascontiguousarray(p)) for p in parts],
    "jax": lambda parts: [jnp.asarray(p) for p in parts],
    "jax-jit": None,
}


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_norm_is_correctly_scaled_at_every_scale(backend, dtype):
    eps = float(np.finfo(dtype).eps)
    for scale in SCALES[dtype]:
        parts = leaves(dtype, scale)
        if backend == "jax-jit":
            got = jax.jit(tree.tree_norm)([jnp.asarray(p) for p in parts])
        else:
            got = tree.tree_norm(BACKENDS[backend](parts))
        ref = reference(parts)
        assert math.isfinite(float(got)) and float(got) > 0, f"{backend} {dtype.__name__} scale {scale:g}: {got}"
        assert abs(float(got) - ref) <= 4 * eps * ref, f"{backend} {dtype.__name__} scale {scale:g}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_device_norm_equals_the_plain_sum_where_nothing_underflows(dtype):
    """The scaled form multiplies by a power of two, which rounds nothing: it is √(Σ a²) computed by jax itself."""
    rng = np.random.default_rng(1)
    plain = jax.jit(lambda a: jnp.sqrt(jnp.sum(a * a)))
    norm = jax.jit(tree.tree_norm)
    for size in (1, 7, 33):  # a few shapes: one compilation each
        for _ in range(15):
            a = jnp.asarray((rng.standard_normal(size) * 10.0 ** rng.uniform(-4, 4)).astype(dtype))
            assert norm(a) == plain(a)


def test_norm_under_vmap_is_the_norm_of_each_row():
    rows = np.random.default_rng(2).standard_normal((5, 4)) * np.array([1e-300, 1e-30, 1.0, 1e30, 1e300])[:, None]
    got = np.asarray(jax.jit(jax.vmap(tree.tree_norm))(jnp.asarray(rows)))
    np.testing.assert_allclose(got, [reference([r]) for r in rows], rtol=4e-16)


@pytest.mark.parametrize("make", [np.asarray, jnp.asarray, torch.as_tensor], ids=["numpy", "jax", "torch"])
def test_zero_infinite_and_nan_entries(make):
    assert float(tree.tree_norm([make(np.zeros(3)), make(np.zeros((2, 2)))])) == 0.0
    assert float(tree.tree_norm([make(np.zeros(0)), make(np.array([3.0, 4.0]))])) == 5.0
    assert float(tree.tree_norm([make(np.zeros(0))])) == 0.0
    assert float(tree.tree_norm([make(np.array([1.0, -np.inf]))])) == math.inf
    assert math.isnan(float(tree.tree_norm([make(np.array([np.nan, np.inf, 1.0]))])))
    biggest = np.finfo(np.float64).max
    assert float(tree.tree_norm([make(np.array([biggest, biggest]))])) == math.inf  # the true norm overflows
    assert float(tree.tree_norm([make(np.array([biggest / 2, 0.0]))])) == biggest / 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [np.asarray, jnp.asarray], ids=["numpy", "jax"])
def test_projection_returns_the_norm_of_its_result(make, dtype):
    eps = float(np.finfo(dtype).eps)
    for scale in SCALES[dtype]:
        a = [make(p) for p in leaves(dtype, scale, seed=3)]
        norm = reference(leaves(dtype, scale, seed=3))
        for radius in (norm / 3, norm * 3):
            projected, projected_norm = tree.tree_project_ball_norm(a, radius)
            for x, y in zip(projected, tree.tree_project_ball(a, radius)):
                np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
            exact = float(tree.tree_norm(projected))
            assert abs(float(projected_norm) - exact) <= 4 * eps * exact
            assert abs(float(projected_norm) - min(norm, radius)) <= 8 * eps * min(norm, radius)
    a = [make(p) for p in leaves(dtype, 1.0)]
    same, norm = tree.tree_project_ball_norm(a, None)
    assert same is a and float(norm) == float(tree.tree_norm(a))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plain_traced_norms_agree_with_the_scaled_form(dtype):
    """Within ``plain_traced_norms`` a jitted norm is the plain sum where it is exact (bit for bit the scaled form's
    value there) and the scaled form under the cond where squares under- or overflow; under vmap too."""
    eps = float(np.finfo(dtype).eps)
    scaled = jax.jit(lambda a: tree.tree_norm(a))  # traced outside the context: the scaled form
    with tree.plain_traced_norms():  # (the context is read when a function is traced)
        plain = jax.jit(lambda a: tree.tree_norm(a))
        batched = jax.jit(jax.vmap(lambda a: tree.tree_norm(a)))
        for scale in SCALES[dtype]:
            parts = [jnp.asarray(p) for p in leaves(dtype, scale)]
            got, ref = float(plain(parts)), reference(leaves(dtype, scale))
            assert abs(got - ref) <= 4 * eps * ref, f"{dtype.__name__} scale {scale:g}"
            rows = jnp.asarray(np.stack([np.ravel(leaves(dtype, scale, seed=k)[0]) for k in range(3)]))
            np.testing.assert_allclose(np.asarray(batched(rows)), [reference([r]) for r in np.asarray(rows)],
                                       rtol=4 * eps)
        assert float(plain([jnp.zeros(3, dtype)])) == 0.0 and float(plain([jnp.zeros(0, dtype)])) == 0.0
        assert float(plain([jnp.asarray([1.0, np.inf], dtype)])) == math.inf
        assert math.isnan(float(plain([jnp.asarray([np.nan, 1.0], dtype)])))
        rng = np.random.default_rng(5)
        for _ in range(10):
            a = jnp.asarray((rng.standard_normal(9) * 10.0 ** rng.uniform(-4, 4)).astype(dtype))
            assert plain(a) == scaled(a)


@pytest.mark.parametrize("scale", [1e30, 1e-30])
def test_host_norm_of_huge_or_tiny_float32_raises_no_warning(scale):
    """The plain sum's overflow (or underflow) on numpy is expected and replaced by the scaled form: no
    floating-point warning reaches the user, and the norm is right."""
    import warnings

    x = np.full(10, scale, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        norm = tree.tree_norm([x, x])
    assert float(norm) == pytest.approx(math.sqrt(20) * scale, rel=1e-6)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_wide_norm_of_many_float32_entries_is_within_a_float32_rounding(backend):
    """4·10^6 float32 entries: the float32 sums of squares of numpy's and torch's inner products drift with n (about
    1e-5 relative at 10^7), the wide norm's float64 sum does not; at every scale of float32, with no scaling."""
    rng = np.random.default_rng(3)
    base = rng.standard_normal(4_000_000)
    for scale in (1e-30, 1e-3, 1e30):
        parts = [(base[:3_000_000] * scale).astype(np.float32), (base[3_000_000:] * scale).astype(np.float32)]
        exact = math.sqrt(sum(float(np.dot(p.astype(np.float64), p.astype(np.float64))) for p in parts))
        leaves = parts if backend == "numpy" else [torch.from_numpy(p) for p in parts]
        got = tree.tree_norm_wide(leaves)
        assert str(got.dtype).endswith("float32")
        assert abs(float(got) - exact) <= 2 * 2.0**-24 * exact, scale


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_the_float32_host_norm_of_many_entries_is_within_its_summation_error(backend):
    """``tree_norm`` of 3·10^6 float32 entries (the steps' norm: projections, segments) on the host: within 2e-5
    relative of the float64 norm, a float32 sum's error at this n. torch's went through array_api_compat's ``vecdot``
    before, 4.9e-4 relative off here; it now takes ``torch.dot`` (1.0e-6)."""
    base = np.random.default_rng(4).standard_normal(3_000_000).astype(np.float32)
    exact = math.sqrt(float(np.dot(base.astype(np.float64), base.astype(np.float64))))
    leaf = base if backend == "numpy" else torch.from_numpy(base)
    got = tree.tree_norm([leaf])
    assert abs(float(got) - exact) <= 2e-5 * exact


def test_the_wide_norm_falls_back_to_tree_norm_and_keeps_non_finite_values():
    f64 = [np.array([3.0, 4.0])]
    assert float(tree.tree_norm_wide(f64)) == float(tree.tree_norm(f64)) == 5.0
    mixed = [np.float32([3.0]), np.array([4.0])]
    assert float(tree.tree_norm_wide(mixed)) == float(tree.tree_norm(mixed))
    assert math.isinf(float(tree.tree_norm_wide([np.float32([np.inf, 1.0])])))
    assert math.isnan(float(tree.tree_norm_wide([np.float32([np.nan, 1.0])])))
    assert float(tree.tree_norm_wide([np.zeros(0, np.float32), np.float32([0.0])])) == 0.0
    traced = jax.jit(lambda x: tree.tree_norm_wide([x]))(jnp.float32([3.0, 4.0]))
    assert float(traced) == 5.0


def test_the_certificate_of_a_float32_epoch_sums_its_squares_in_float64():
    """ε_k of ``o2nc.conversion.epoch.close`` on float32 sums: within a float32 rounding of the float64 norm."""
    from o2nc.conversion import epoch

    rng = np.random.default_rng(4)
    g_sum = (rng.standard_normal(4_000_000) * 1e-3).astype(np.float32)
    sums = epoch.EpochSums(w_sum=[np.zeros(4_000_000, np.float32)], g_sum=[g_sum], path=np.float32(0.0))
    stats = epoch.close(sums, 100)
    mean = (g_sum / np.float32(100)).astype(np.float64)
    exact = math.sqrt(float(np.dot(mean, mean)))
    assert abs(float(stats.certificate) - exact) <= 2 * 2.0**-24 * exact
