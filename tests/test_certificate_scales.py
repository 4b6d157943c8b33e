"""Epoch certificates of float32 runs do not under- or overflow: gradient scales 1e-30, 1 and 1e30 give the same
certificates after scaling (relative 1e-6), in the torch optimizer and the optax transformation.

The oracle returns the constant gradient scale·c, so every epoch's mean gradient is scale·c whatever the steps, and
its norm must be scale·‖c‖ (the projected learner keeps the steps finite at every scale).  A float32 sum of squares
would give 0 at 1e-30 and ∞ at 1e30.
"""
import numpy as np
import pytest

from online_learners import OGD

SCALES = (1e-30, 1.0, 1e30)
C = np.array([0.3, -0.7, 1.1, 0.05], dtype=np.float32)


def torch_certificates(scale):
    torch = pytest.importorskip("torch")
    from o2nc.torch import O2NC

    w = torch.zeros(4, dtype=torch.float32, requires_grad=True)
    opt = O2NC([w], learner=OGD(lr=0.01, radius=0.05), epoch_length=10, averaging="epoch",
               generator=torch.Generator().manual_seed(0))
    certificates = []
    for step in range(60):
        w.grad = torch.from_numpy(C) * torch.tensor(scale, dtype=torch.float32)
        opt.step()
        if (step + 1) % 10 == 0:
            certificates.append(float(opt.diagnostics()[0]["certificate"]))
    return np.array(certificates)


def jax_certificates(scale):
    jax = pytest.importorskip("jax")
    pytest.importorskip("optax")
    import jax.numpy as jnp

    from o2nc.jax import o2nc, o2nc_diagnostics

    tx = o2nc(OGD(lr=0.01, radius=0.05), epoch_length=10, averaging="epoch", key=jax.random.key(0))
    params = {"w": jnp.zeros(4, jnp.float32)}
    state = tx.init(params)
    update = jax.jit(tx.update)
    certificates = []
    for step in range(60):
        grads = {"w": jnp.asarray(C) * jnp.float32(scale)}
        updates, state = update(grads, state, params)
        params = jax.tree_util.tree_map(lambda p, u: p + u, params, updates)
        if (step + 1) % 10 == 0:
            certificates.append(float(o2nc_diagnostics(state)["certificate"]))
    return np.array(certificates)


@pytest.mark.parametrize("run", [torch_certificates, jax_certificates], ids=["torch", "optax"])
def test_float32_certificates_scale_with_the_gradients(run):
    exact = np.linalg.norm(C.astype(np.float64))
    for scale in SCALES:
        certificates = run(scale)
        assert certificates.shape == (6,)
        np.testing.assert_allclose(certificates / np.float64(np.float32(scale)), exact, rtol=1e-6)
