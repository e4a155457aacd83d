"""optim.Adafactor: trajectories equal to torch 2.13's (vectors, matrices, batched matrices; weight decay,
maximize, eps, d), the factored state's shapes, state dicts from torch, torch's argument checks, the fake device."""
import numpy as np
import pytest

import minitf as mt
from minitf import optim

SHAPES = [(3,), (4, 5), (2, 3, 4)]


@pytest.mark.parametrize("kw", [{}, {"weight_decay": 0.1, "lr": 0.05}, {"maximize": True, "eps": (1e-6, 1e-2)},
                                {"d": 2.0, "beta2_decay": -0.5}])
def test_trajectory_matches_torch(kw):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0 = [rng.standard_normal(s) for s in SHAPES]
    ours = [mt.tensor(w, requires_grad=True) for w in w0]
    theirs = [torch.tensor(w, requires_grad=True) for w in w0]
    a, b = optim.Adafactor(ours, **kw), torch.optim.Adafactor(theirs, foreach=False, **kw)
    for _ in range(6):
        for p, q in zip(ours, theirs):
            g = rng.standard_normal(p.shape)
            p.grad, q.grad = mt.tensor(g), torch.tensor(g)
        a.step()
        b.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-14)
    # a state dict of torch's loads, and both continue alike
    c = optim.Adafactor([mt.tensor(q.detach().numpy(), requires_grad=True) for q in theirs], **kw)
    c.load_state_dict(b.state_dict())
    for key in ("row_var", "col_var"):
        assert tuple(c.state_dict()["state"][1][key].shape) == tuple(b.state_dict()["state"][1][key].shape)


def test_factored_state_and_device(device):
    w = mt.ones(2, 3, 4, device=device, requires_grad=True)
    v = mt.ones(5, device=device, requires_grad=True)
    opt = optim.Adafactor([w, v])
    w.grad, v.grad = mt.ones(2, 3, 4, device=device), mt.ones(5, device=device)
    opt.step()
    st = opt.state
    assert st[w]["row_var"].shape == (2, 3, 1) and st[w]["col_var"].shape == (2, 1, 4) and "variance" not in st[w]
    assert st[v]["variance"].shape == (5,) and int(st[v]["step"].item()) == 1
    with pytest.raises(ValueError, match="expected"):
        bad = opt.state_dict()
        bad["state"][0]["row_var"] = np.zeros((2, 3, 4), dtype=np.float32)
        optim.Adafactor([w, v]).load_state_dict(bad)


def test_errors():
    p = [mt.ones(2, requires_grad=True)]
    for kw, match in [({"beta2_decay": 0.1}, "beta2_decay"), ({"eps": (-1, 1e-3)}, "epsilon1"),
                      ({"eps": (None, -1)}, "epsilon2"), ({"d": 0.5}, "Clipping threshold"),
                      ({"lr": -1}, "learning rate")]:
        with pytest.raises(ValueError, match=match):
            optim.Adafactor(p, **kw)
