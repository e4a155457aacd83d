"""A shared check for modules mirrored in torch: n SGD steps on both, comparing outputs and gradients."""
import numpy as np

import minitf as mt
from minitf import optim


def compare_steps(torch, m, t, x, n=3, lr=0.05, check=None, rtol=1e-9, atol=1e-11):
    """``n`` SGD steps on minitf's ``m`` and torch's ``t`` (float64) with loss mean(y^2): the outputs
    and every parameter's gradient (in named_parameters order, names equal) must agree at each
    step; ``check()`` runs after each backward."""
    om, ot = optim.SGD(m.parameters(), lr=lr), torch.optim.SGD(t.parameters(), lr=lr)
    assert [k for k, _ in m.named_parameters()] == [k for k, _ in t.named_parameters()]
    for _ in range(n):
        ym, yt = m(mt.tensor(x)), t(torch.tensor(x))
        np.testing.assert_allclose(ym.numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
        (ym ** 2).mean().backward()
        (yt ** 2).mean().backward()
        for (k, p), (_, q) in zip(m.named_parameters(), t.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=100 * rtol, atol=10 * atol, err_msg=k)
        if check:
            check()
        om.step(), ot.step()
        om.zero_grad(), ot.zero_grad()
