"""optim.Muon: trajectories equal to torch 2.13's (whose Newton-Schulz iterations run here in float64 instead
of bfloat16, the one kept difference), the orthogonalisation itself, torch's argument checks, state dicts."""
import numpy as np
import pytest

import minitf as mt
from minitf import optim
from minitf.optim.muon import orthogonalize


def _torch_in_float64(torch):
    """Context: torch's Muon with its bfloat16 cast made a no-op, so that it runs in float64 like ours."""
    import contextlib

    @contextlib.contextmanager
    def ctx():
        orig = torch.Tensor.bfloat16
        torch.Tensor.bfloat16 = lambda self, *a, **k: self.clone()
        try:
            yield
        finally:
            torch.Tensor.bfloat16 = orig
    return ctx()


@pytest.mark.parametrize("kw", [{}, {"nesterov": False, "momentum": 0.9, "weight_decay": 0.0},
                                {"adjust_lr_fn": "match_rms_adamw", "lr": 0.02},
                                {"ns_steps": 3, "ns_coefficients": (2.0, -1.5, 0.5), "adjust_lr_fn": "original"}])
def test_trajectory_matches_torch(kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0 = [rng.standard_normal((5, 3)), rng.standard_normal((2, 6))]   # tall and wide
    grads = [[rng.standard_normal(w.shape) for w in w0] for _ in range(4)]
    ours = [mt.tensor(w, requires_grad=True) for w in w0]
    theirs = [torch.tensor(w, requires_grad=True) for w in w0]
    a, b = optim.Muon(ours, **kw), torch.optim.Muon(theirs, **kw)
    for step in grads:
        for p, q, g in zip(ours, theirs, step):
            p.grad, q.grad = mt.tensor(g), torch.tensor(g)
        a.step()
        with _torch_in_float64(torch):
            b.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-13)
    buf = a.state_dict()["state"][0]["momentum_buffer"]
    np.testing.assert_allclose(buf.numpy(), b.state_dict()["state"][0]["momentum_buffer"].numpy(), rtol=1e-14)


def test_newton_schulz_flattens_the_spectrum(device):
    rng = np.random.default_rng(1)
    m = rng.standard_normal((16, 8)) @ np.diag(np.geomspace(1, 50, 8))   # condition number 50
    x = orthogonalize(mt.backend.get_array_module(mt.tensor(m, device=device).data), mt.tensor(m, device=device).data,
                      (3.4445, -4.775, 2.0315), 5, 1e-7)
    s = np.linalg.svd(mt.backend.to_numpy(x), compute_uv=False)
    assert 0.6 < s.min() and s.max() < 1.25   # torch's docs: S' ~ U(0.5, 1.5) rather than 1
    u, _, vt = np.linalg.svd(m, full_matrices=False)
    assert np.sum(mt.backend.to_numpy(x) * (u @ vt)) > 0.9 * 8   # the same directions as U V^T


def test_step_on_device_and_state_dict_round_trip(device):
    w = mt.tensor(np.eye(3, 4), device=device, requires_grad=True)
    opt = optim.Muon([w], lr=0.1)
    w.grad = mt.ones(3, 4, device=device, dtype=mt.float64)
    opt.step()
    again = optim.Muon([w], lr=0.1)
    again.load_state_dict(opt.state_dict())
    np.testing.assert_array_equal(again.state[w]["momentum_buffer"].numpy(), opt.state[w]["momentum_buffer"].numpy())


def test_errors():
    with pytest.raises(ValueError, match="2D parameters"):
        optim.Muon([mt.ones(3, requires_grad=True)])
    with pytest.raises(ValueError, match="adjust_lr_fn"):
        optim.Muon([mt.ones(2, 2, requires_grad=True)], adjust_lr_fn="mine")
    with pytest.raises(ValueError, match="momentum"):
        optim.Muon([mt.ones(2, 2, requires_grad=True)], momentum=-1)
    with pytest.raises(ValueError, match="ns_steps"):
        optim.Muon([mt.ones(2, 2, requires_grad=True)], ns_steps=100)


def test_add_param_group_takes_a_generator_and_refuses_non_matrices_whole():
    a, b = mt.ones(2, 3, requires_grad=True), mt.ones(3, 2, requires_grad=True)
    opt = optim.Muon([a])
    opt.add_param_group({"params": (p for p in [b])})   # a generator, read once
    assert len(opt.param_groups[-1]["params"]) == 1 and opt.param_groups[-1]["params"][0] is b
    with pytest.raises(ValueError, match="2D parameters"):
        opt.add_param_group({"params": [mt.ones(4, requires_grad=True)]})
    assert len(opt.param_groups) == 2   # the refused group is not left behind
