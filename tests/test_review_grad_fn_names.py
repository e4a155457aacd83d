"""grad_fn names of the ops a GPT meets, and of round 1's shape ops and activations, against
torch 2.13's (each name differed before the review's fix)."""
import numpy as np
import pytest

import minitf as mt
from minitf import functional as F

A3 = np.random.default_rng(0).standard_normal((2, 3, 4))
A2 = A3[0]

CASES = {   # an expression over x (2, 3, 4), m (3, 4), L the library, F its functional
    "x.transpose(1, 2)": "TransposeBackward0", "x.mT": "TransposeBackward0", "x.swapaxes(0, 1)": "TransposeBackward0",
    "m.t()": "TBackward0", "x.permute(2, 0, 1)": "PermuteBackward0", "x.unsqueeze(0)": "UnsqueezeBackward0",
    "x[:1].squeeze()": "SqueezeBackward0", "x[:1].squeeze(0)": "SqueezeBackward1",
    "x[:1, :1].squeeze((0, 1))": "SqueezeBackward2",
    "x[:, -1, :]": "SelectBackward0", "x[1, :]": "SelectBackward0", "x[:, :]": "AliasBackward0", "x[:]": "SliceBackward0",
    "x[:, 1:2, :]": "SliceBackward0",
    "x.masked_fill(x > 0, float('-inf'))": "MaskedFillBackward0",
    "x.split(2, dim=-1)[1]": "SplitBackward0", "x.split([1, 3], dim=-1)[0]": "SplitWithSizesBackward0",
    "x.chunk(2, dim=-1)[0]": "SplitBackward0",
    "m.gather(1, L.tensor([[0], [1], [2]]))": "GatherBackward0",
    "x.index_select(1, L.tensor([0, 2]))": "IndexSelectBackward0",
    "x.topk(2)[0]": "TopkBackward0", "L.bmm(x, x.transpose(1, 2))": "BmmBackward0",
    "F.mse_loss(x, x.detach() * 2)": "MseLossBackward0", "1 - x": "RsubBackward1", "2 ** x": "PowBackward2",
    "x.transpose(1, 2).reshape(2, 12)": "UnsafeViewBackward0", "x.reshape(6, 4)": "ViewBackward0",
    "F.hardtanh(x)": "HardtanhBackward0", "F.threshold(x, 0.1, 0.0)": "ThresholdBackward0",
    "F.hardshrink(x)": "HardshrinkBackward0", "F.softshrink(x)": "SoftshrinkBackward0",
    "F.hardsigmoid(x)": "HardsigmoidBackward0", "F.rrelu(x)": "RreluWithNoiseBackward0",
    "F.rrelu(x, training=True)": "RreluWithNoiseBackward0", "F.selu(x)": "EluBackward0", "F.celu(x)": "CeluBackward0",
    "F.mish(x)": "MishBackward0", "F.prelu(x, L.tensor([0.25], dtype=L.float64))": "PreluKernelBackward0",
    "L.rot90(m)": "Rot90Backward0", "L.take(m, L.tensor([0, 5]))": "TakeBackward0",
    "L.take_along_dim(m, L.tensor([[1]]), 1)": "GatherBackward0", "L.block_diag(m, m)": "BlockDiagBackward0",
    "F.interpolate(x, scale_factor=2.0)": "UpsampleNearest1DBackward0",
    "F.interpolate(x, size=4, mode='linear')": "UpsampleLinear1DBackward0",
    "F.interpolate(x[None], scale_factor=2.0, mode='bilinear')": "UpsampleBilinear2DBackward0",
    "F.interpolate(x[None], size=(2, 2), mode='area')": "AdaptiveAvgPool2DBackward0",
    # a bool index is a 0-d mask to torch (an int to Python); a real sgn is its own node (it saves x)
    "x[True]": "IndexBackward0", "x[1, True]": "IndexBackward0", "x.sgn()": "SgnBackward0",
}


def _eval(expr, L, Fn, grad):
    x = L.tensor(A3).requires_grad_(True)
    m = L.tensor(A2).requires_grad_(True)
    return eval(expr, {"x": x, "m": m, "L": L, "F": Fn})


@pytest.mark.parametrize("expr,name", CASES.items())
def test_grad_fn_names_are_torchs(expr, name):
    out = _eval(expr, mt, F, True)
    assert out.grad_fn.name() == name
    out.sum().backward()                      # the name outlives backward (a slot, not __dict__)
    assert out.grad_fn.name() == name


@pytest.mark.parametrize("expr,name", CASES.items())
def test_the_expected_names_are_torchs_own(expr, name):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    assert _eval(expr, torch, torch.nn.functional, True).grad_fn.name() == name


def test_an_op_handing_back_its_input_keeps_the_inputs_name():
    x = mt.tensor(A3, requires_grad=True) * 2
    assert x.squeeze().grad_fn.name() in ("MulBackward0", "SqueezeBackward0")
    assert x.grad_fn.name() == "MulBackward0"   # renaming the result never renames the input's node
    y = x.reshape(2, 3, 4)
    assert x.grad_fn.name() == "MulBackward0" and y.grad_fn is not None
