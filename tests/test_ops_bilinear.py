"""F.bilinear and nn.Bilinear against torch 2.13 (values and gradients, float64, over a grid of shapes
including unbatched, empty, size-1 and non-contiguous inputs), gradcheck and gradgradcheck on each
device, torch's parameter names and initialisation bounds, and the errors."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F, nn

from .torch_compare import compare_with_torch

SHAPES = [((2, 3), (2, 4)), ((3,), (4,)), ((2, 5, 3), (2, 5, 4)), ((0, 3), (0, 4)), ((1, 1, 3), (1, 1, 4))]


@pytest.mark.parametrize("s1,s2", SHAPES)
@pytest.mark.parametrize("with_bias", [True, False])
def test_matches_torch(s1, s2, with_bias):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s1), rng.standard_normal(s2), rng.standard_normal((5, 3, 4))]
    if with_bias:
        arrays.append(rng.standard_normal(5))
    compare_with_torch(lambda *t: F.bilinear(*t), lambda *t: torch.nn.functional.bilinear(*t), arrays)


def test_non_contiguous_inputs_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    # inputs that are transposed views, and a weight that is a permuted view
    arrays = [rng.standard_normal((3, 6)), rng.standard_normal((4, 6)), rng.standard_normal((3, 4, 2)),
              rng.standard_normal(2)]
    compare_with_torch(lambda a, b, w, c: F.bilinear(a.T, b.T, w.permute(2, 0, 1), c),
                       lambda a, b, w, c: torch.nn.functional.bilinear(a.T, b.T, w.permute(2, 0, 1), c), arrays)


def test_gradcheck_and_gradgradcheck(device):
    rng = np.random.default_rng(2)
    xs = [mt.tensor(rng.standard_normal(s), dtype="float64", device=device, requires_grad=True)
          for s in ((2, 3), (2, 4), (5, 3, 4), (5,))]
    assert mt.gradcheck(lambda *t: F.bilinear(*t), xs)
    assert mt.gradgradcheck(lambda *t: F.bilinear(*t), xs)
    y = F.bilinear(*xs)
    assert y.device == xs[0].device and y.shape == (2, 5)


def test_layer_keys_init_and_torch_state_dict():
    torch = pytest.importorskip("torch")
    ref = torch.nn.Bilinear(3, 4, 5).double()
    layer = nn.Bilinear(3, 4, 5)
    assert list(layer.state_dict()) == list(ref.state_dict()) == ["weight", "bias"]
    assert layer.weight.shape == (5, 3, 4) and layer.bias.shape == (5,)
    assert repr(layer) == repr(ref)
    # torch's bounds: U(-1/sqrt(in1), 1/sqrt(in1)) for weight and bias
    big = nn.Bilinear(16, 4, 300)
    for p in (big.weight, big.bias):
        a = np.abs(p.numpy())
        assert a.max() <= 0.25 and a.max() > 0.24
    layer.double().load_state_dict(ref.state_dict())
    rng = np.random.default_rng(3)
    x1, x2 = rng.standard_normal((6, 3)), rng.standard_normal((6, 4))
    np.testing.assert_allclose(layer(mt.tensor(x1), mt.tensor(x2)).numpy(),
                               ref(torch.tensor(x1), torch.tensor(x2)).detach().numpy(), rtol=1e-12, atol=1e-12)
    assert nn.Bilinear(3, 4, 5, bias=False).bias is None


def test_errors_name_the_problem():
    w = mt.randn(5, 3, 4)
    with pytest.raises(ValueError, match="batch dimensions do not match"):
        F.bilinear(mt.randn(2, 3), mt.randn(1, 4), w)
    with pytest.raises(ValueError, match="input2 size does not match weight size: got 5 but expected 4"):
        F.bilinear(mt.randn(2, 3), mt.randn(2, 5), w)
    with pytest.raises(ValueError, match="bias size"):
        F.bilinear(mt.randn(2, 3), mt.randn(2, 4), w, mt.randn(4))
    with pytest.raises(TypeError, match="same dtype"):
        F.bilinear(mt.randn(2, 3, dtype="float64"), mt.randn(2, 4), w)
    with pytest.raises(ValueError, match="in2_features"):
        nn.Bilinear(3, -1, 2)
