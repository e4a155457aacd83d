"""Round-4 review of round 3's padpix group: torch 2.13's 3-d max unpooling and LP pooling
(F.max_unpool3d, F.lp_pool3d, nn.MaxUnpool3d, nn.LPPool3d), which it left out, against torch."""
import numpy as np
import pytest

import minitf as mt
from minitf.errors import DtypeNotImplemented

torch = pytest.importorskip("torch")
X = np.random.default_rng(0).standard_normal((2, 3, 6, 5, 4))


def _run(lib, f, x):
    X = lib.tensor(x, requires_grad=True)
    y = f(lib, X)
    u = np.random.default_rng(5).standard_normal(tuple(y.shape))
    (y * lib.tensor(u)).sum().backward()
    return (y.detach().numpy() if lib is torch else y.numpy()), (X.grad.numpy())


def _F(lib):
    return torch.nn.functional if lib is torch else mt.nn.functional


@pytest.mark.parametrize("k, s, p", [(2, 2, 0), (3, 2, 1), (2, 1, 0)])
@pytest.mark.parametrize("given_size", [False, True])
def test_max_unpool3d_as_torch(k, s, p, given_size):
    x0 = X if given_size else X[..., :4, :]   # (without output_size: one whose default size holds the indices)
    if not given_size and (k, s, p) != (2, 2, 0):
        pytest.skip("the default output size is smaller than the input: torch refuses the indices too")

    def f(lib, x):
        y, i = _F(lib).max_pool3d(x, k, s, p, return_indices=True)
        return _F(lib).max_unpool3d(y, i, k, s, p, output_size=x.shape if given_size else None)
    for got, want in zip(_run(mt, f, x0), _run(torch, f, x0)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("norm_type", [1, 2, 3.5, float("inf")])
@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.torch_behaviour("2.13")   # torch 2.11 fails it: an op, keyword, message or value new since
def test_lp_pool3d_as_torch(norm_type, ceil_mode):
    def f(lib, x):
        return _F(lib).lp_pool3d(x.abs() + 0.1, norm_type, (2, 3, 2), 2, ceil_mode=ceil_mode)
    for got, want in zip(_run(mt, f, X), _run(torch, f, X)):
        np.testing.assert_allclose(got, want, rtol=1e-10)


def test_3d_layers_unbatched_as_torch_and_on_device(device):
    x = X[0, :, :, :4, :]
    ty, ti = torch.nn.functional.max_pool3d(torch.tensor(x), 2, return_indices=True)
    my, mi = mt.nn.functional.max_pool3d(mt.tensor(x, device=device), 2, return_indices=True)
    got = mt.nn.MaxUnpool3d(2)(my, mi)
    np.testing.assert_array_equal(mt.backend.to_numpy(got.data), torch.nn.MaxUnpool3d(2)(ty, ti).numpy())
    got = mt.nn.LPPool3d(2, 2)(mt.tensor(np.abs(x), device=device))
    np.testing.assert_allclose(mt.backend.to_numpy(got.data), torch.nn.LPPool3d(2, 2)(torch.tensor(np.abs(x))).numpy(),
                               rtol=1e-12)
    assert repr(mt.nn.MaxUnpool3d(2)) == repr(torch.nn.MaxUnpool3d(2))
    a = mt.tensor(np.abs(X[:1, :1, :4, :4, :4]) + 0.5, requires_grad=True, device=device)
    assert mt.gradcheck(lambda a: mt.nn.functional.lp_pool3d(a, 2, 2), (a,))


def test_lp_pool_refuses_integers_under_its_own_name():
    with pytest.raises(DtypeNotImplemented, match="lp_pool2d"):
        mt.nn.functional.lp_pool2d(mt.zeros(1, 2, 4, 4, dtype=mt.int64), 2, 2)


def test_conv_refusal_of_integers_does_not_claim_torch_refuses():
    # torch 2.13's CPU convolves int64; the message said "(as torch)"
    torch.nn.functional.conv3d(torch.ones((1, 2, 3, 3, 3), dtype=torch.long), torch.ones((1, 2, 2, 2, 2), dtype=torch.long))
    with pytest.raises(DtypeNotImplemented, match="in minitf .torch's CPU takes integers"):
        mt.nn.functional.conv3d(mt.ones(1, 2, 3, 3, 3, dtype=mt.int64), mt.ones(1, 2, 2, 2, 2, dtype=mt.int64))
