"""F.embedding_bag and nn.EmbeddingBag: torch 2.13 in float64 over a grid of modes, offsets,
include_last_offset, per_sample_weights, padding_idx and empty bags (values and gradients),
gradchecks on both devices, torch's errors, repr and state dict key."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F, nn
from minitf.errors import ArgumentError, ShapeError

from .conftest import ATOL, RTOL, device_tensor
from .test_functional_fixes import grad_of

IDX = np.array([2, 2, 2, 5, 0, 9, 2, 3, 7])
BAGS = [  # (input, offsets, include_last_offset)
    (np.array([[1, 2, 4, 5], [4, 3, 2, 9], [2, 2, 0, 1]]), None, False),
    (IDX, np.array([0, 3, 3, 7]), False),        # an empty bag
    (IDX, np.array([0, 3, 3, 7, 9]), True),
    (IDX, np.array([0, 2, 6]), True),             # the last offset short of the end: the last bag runs to the end, as torch's
    (np.array([], dtype=np.int64), np.array([0, 0]), False)]


@pytest.mark.parametrize("mode, psw", [("sum", False), ("sum", True), ("mean", False), ("max", False)])
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
@pytest.mark.parametrize("bag", range(len(BAGS)))
def test_embedding_bag_matches_torch(mode, psw, padding_idx, bag):
    torch = pytest.importorskip("torch")
    idx, off, last = BAGS[bag]
    rng = np.random.default_rng(bag)
    W = rng.standard_normal((10, 4))
    w, wt = mt.tensor(W, requires_grad=True), torch.tensor(W, requires_grad=True)
    ps = rng.standard_normal(idx.shape) if psw else None
    pm = mt.tensor(ps, requires_grad=True) if psw else None
    pt = torch.tensor(ps, requires_grad=True) if psw else None
    y = F.embedding_bag(mt.tensor(idx), w, None if off is None else mt.tensor(off), mode=mode,
                        per_sample_weights=pm, include_last_offset=last, padding_idx=padding_idx)
    yt = torch.nn.functional.embedding_bag(torch.tensor(idx), wt, None if off is None else torch.tensor(off),
                                           mode=mode, per_sample_weights=pt, include_last_offset=last,
                                           padding_idx=padding_idx)
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-14, atol=1e-15)
    if not y.numel():
        return
    u = rng.standard_normal(tuple(yt.shape))
    y.backward(mt.tensor(u))
    yt.backward(torch.tensor(u))
    np.testing.assert_allclose(grad_of(w), wt.grad.numpy(), rtol=1e-14, atol=1e-15)
    if psw:
        np.testing.assert_allclose(grad_of(pm), pt.grad.numpy(), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_gradcheck_on_device(device, mode):
    rng = np.random.default_rng(1)
    w = device_tensor(rng.standard_normal((6, 3)), device)
    idx = mt.tensor(np.array([0, 4, 1, 4, 5, 2, 3]), device=device)
    off = mt.tensor(np.array([0, 2, 2, 5]), device=device)
    assert F.embedding_bag(idx, w, off, mode=mode).device == device
    assert mt.gradcheck(lambda t: F.embedding_bag(idx, t, off, mode=mode, padding_idx=1), [w], rtol=RTOL, atol=ATOL)
    if mode == "sum":
        ps = device_tensor(rng.standard_normal(7), device)
        assert mt.gradcheck(lambda t, s: F.embedding_bag(idx, t, off, mode="sum", per_sample_weights=s), [w, ps],
                            rtol=RTOL, atol=ATOL)


def test_embedding_bag_layer_and_errors():
    torch = pytest.importorskip("torch")
    for kw in [{}, {"mode": "sum", "padding_idx": 0}, {"mode": "max", "padding_idx": -1, "norm_type": 1.0}]:
        assert repr(nn.EmbeddingBag(10, 3, **kw)) == repr(torch.nn.EmbeddingBag(10, 3, **kw))
    bag = nn.EmbeddingBag(10, 3, padding_idx=4)
    assert list(bag.state_dict()) == ["weight"] and bag.weight.shape == (10, 3)
    np.testing.assert_array_equal(bag.weight.numpy()[4], 0.0)
    ref = torch.nn.EmbeddingBag(10, 3, padding_idx=4)
    ref.load_state_dict({"weight": torch.tensor(bag.weight.numpy())})
    idx = np.array([[1, 4, 3], [4, 4, 4]])
    np.testing.assert_allclose(bag(mt.tensor(idx)).numpy(), ref(torch.tensor(idx)).detach().numpy(), rtol=1e-6)
    w = mt.randn(5, 2)
    with pytest.raises(ArgumentError, match="if input is 2D, then offsets has to be None"):
        F.embedding_bag(mt.tensor([[0, 1]]), w, mt.tensor([0]))
    with pytest.raises(ArgumentError, match="offsets has to be a 1D Tensor but got None"):
        F.embedding_bag(mt.tensor([0, 1]), w)
    with pytest.raises(ArgumentError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(mt.tensor([0, 1]), w, mt.tensor([1]))
    with pytest.raises(ArgumentError, match="only supported for mode='sum' \\(got mode='mean'\\)"):
        F.embedding_bag(mt.tensor([[0, 1]]), w, per_sample_weights=mt.ones(1, 2))
    with pytest.raises(ShapeError, match="input has to be 1D or 2D Tensor, but got Tensor of dimension 3"):
        F.embedding_bag(mt.tensor([[[0]]]), w)
    with pytest.raises(ArgumentError, match="not supported"):
        F.embedding_bag(mt.tensor([[0, 1]]), w, max_norm=1.0)
    with pytest.raises(IndexError):
        F.embedding_bag(mt.tensor([[0, 7]]), w)
