"""nn.utils.clip_grad_value_, parameters_to_vector and vector_to_parameters against torch's."""
import numpy as np
import pytest

import minitf as mt
from minitf import nn, optim
from minitf.fakedevice import count_host_transfers

SHAPES = ((3, 4), (5,), (2, 1, 3))


def params(device, seed=0, grads=True):
    rng = np.random.default_rng(seed)
    ps = [mt.tensor(rng.standard_normal(s), device=device, requires_grad=True) for s in SHAPES]
    if grads:
        for p in ps:
            p.grad = mt.tensor(3 * rng.standard_normal(p.shape), device=device)
    return ps


def test_clip_grad_value_matches_torch(device):
    torch = pytest.importorskip("torch")
    for clip in (0.5, 2, 0.0, float("inf")):
        ps = params(device)
        ps[1].grad = None                                    # skipped
        ps[2].grad.data[...] = mt.tensor(np.full((2, 1, 3), np.nan), device=device).data
        tps = []
        for p in params("cpu"):
            tp = torch.tensor(p.numpy(), requires_grad=True)
            tp.grad = torch.tensor(p.grad.numpy())
            tps.append(tp)
        tps[1].grad = None
        tps[2].grad.fill_(float("nan"))
        versions = [p.grad._version for p in ps if p.grad is not None]
        with count_host_transfers() as n:
            assert nn.utils.clip_grad_value_(ps, clip) is None
        assert n["to_host"] == 0
        torch.nn.utils.clip_grad_value_(tps, clip)
        for p, tp in zip(ps, tps):
            if tp.grad is None:
                assert p.grad is None
                continue
            np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy())
        assert [p.grad._version for p in ps if p.grad is not None] == [v + 1 for v in versions]
    one = params(device)[0]
    nn.utils.clip_grad_value_(one, 0.1)                      # a single tensor
    assert np.abs(one.grad.numpy()).max() <= 0.1
    for bad in (-1.0, float("nan"), "1", None):
        with pytest.raises(ValueError, match="clip_value must be a number >= 0"):
            nn.utils.clip_grad_value_(ps, bad)


def test_parameters_to_vector_matches_torch_and_is_differentiable(device):
    torch = pytest.importorskip("torch")
    ps = params(device, grads=False)
    vec = nn.utils.parameters_to_vector(ps)
    want = torch.nn.utils.parameters_to_vector([torch.tensor(p.numpy()) for p in ps])
    assert vec.shape == (sum(p.numel() for p in ps),) and vec.device == device
    np.testing.assert_array_equal(vec.numpy(), want.numpy())
    weights = mt.tensor(np.arange(vec.shape[0], dtype=np.float64), device=device)
    (vec * weights).sum().backward()                          # d/dp of sum(w . vec) = w, in p's shape
    start = 0
    for p in ps:
        np.testing.assert_array_equal(p.grad.numpy(), np.arange(start, start + p.numel()).reshape(p.shape))
        start += p.numel()
    assert mt.gradcheck(lambda *xs: nn.utils.parameters_to_vector(xs), [mt.tensor(p.numpy(), device=device,
                                                                                   requires_grad=True) for p in ps])


def test_vector_to_parameters_matches_torch(device):
    torch = pytest.importorskip("torch")
    ps = params(device, grads=False)
    total = sum(p.numel() for p in ps)
    values = np.random.default_rng(9).standard_normal(total)
    vec = mt.tensor(values, device=device)
    versions = [p._version for p in ps]
    assert nn.utils.vector_to_parameters(vec, ps) is None
    tps = [torch.zeros(s, dtype=torch.float64) for s in SHAPES]
    torch.nn.utils.vector_to_parameters(torch.tensor(values), tps)
    for p, tp in zip(ps, tps):
        assert p.shape == tuple(tp.shape) and p.device == device and p.requires_grad
        np.testing.assert_array_equal(p.numpy(), tp.numpy())
    assert [p._version for p in ps] == [v + 1 for v in versions]
    # the round trip, and the parameters share the vector's memory, as torch's do
    np.testing.assert_array_equal(nn.utils.parameters_to_vector(ps).numpy(), values)
    vec.data[0] = 42.0
    assert ps[0].numpy()[0, 0] == 42.0
    # the parameters still train: an optimizer steps them in place
    for p in ps:
        p.grad = mt.ones_like(p)
    optim.SGD(ps, lr=0.5).step()
    assert ps[1].numpy()[0] == values[12] - 0.5
    # float32 parameters keep their dtype
    p32 = [mt.tensor(np.zeros(3, np.float32), device=device, requires_grad=True)]
    nn.utils.vector_to_parameters(mt.tensor(np.arange(3.0), device=device), p32)
    assert p32[0].dtype == np.float32 and p32[0].numpy().tolist() == [0.0, 1.0, 2.0]


def test_conversion_errors():
    ps = params("cpu", grads=False)
    total = sum(p.numel() for p in ps)
    with pytest.raises(TypeError, match="expected a Tensor"):
        nn.utils.vector_to_parameters(np.zeros(total), ps)
    with pytest.raises(ValueError, match=f"expected a vector of {total} elements"):
        nn.utils.vector_to_parameters(mt.zeros(total + 1), ps)
    with pytest.raises(ValueError, match="expected a vector"):
        nn.utils.vector_to_parameters(mt.zeros(1, total), ps)
    mixed = [ps[0], mt.tensor(np.zeros(2), device="fake", requires_grad=True)]
    with pytest.raises(TypeError, match="different devices"):
        nn.utils.parameters_to_vector(mixed)
    with pytest.raises(TypeError, match="different devices"):
        nn.utils.vector_to_parameters(mt.zeros(14), mixed)
    with pytest.raises(TypeError, match="the vector is on fake"):
        nn.utils.vector_to_parameters(mt.tensor(np.zeros(total), device="fake"), ps)
    with pytest.raises(ValueError, match="got no parameters"):
        nn.utils.parameters_to_vector([])
