"""minitf.errors: each mistake raises a class deriving from minitf's former class and torch's."""
import pytest

import minitf as mt
from minitf import functional as F
from minitf.errors import (ArgumentError, ArgumentTypeError, DimError, DtypeError, ScalarConversionError,
                           ShapeError)

T = mt.tensor
CASES = [  # (what, the call, minitf's class, torch's class, the base minitf raised before)
    ("broadcast", lambda: mt.ones(2) + mt.ones(3), ShapeError, RuntimeError, ValueError),
    ("broadcast mul", lambda: mt.ones(2) * mt.ones(3), ShapeError, RuntimeError, ValueError),
    ("broadcast compare", lambda: mt.ones(2) == mt.ones(3), ShapeError, RuntimeError, ValueError),
    ("broadcast maximum", lambda: mt.maximum(mt.ones(2), mt.ones(3)), ShapeError, RuntimeError, ValueError),
    ("broadcast where", lambda: mt.where(mt.ones(2) > 0, mt.ones(2), mt.ones(3)), ShapeError, RuntimeError, ValueError),
    ("broadcast copy_", lambda: mt.ones(2).copy_(mt.ones(3)), ShapeError, RuntimeError, RuntimeError),
    ("broadcast setitem", lambda: mt.ones(2).__setitem__(slice(None), mt.ones(3)), ShapeError, RuntimeError, ValueError),
    ("matmul", lambda: mt.ones(2, 3) @ mt.ones(2, 3), ShapeError, RuntimeError, ValueError),
    ("linear", lambda: F.linear(mt.ones(2, 3), mt.ones(4, 2)), ShapeError, RuntimeError, ValueError),
    ("view", lambda: mt.ones(6).view(4, 2), ShapeError, RuntimeError, ValueError),
    ("reshape", lambda: mt.ones(6).reshape(4, -1), ShapeError, RuntimeError, ValueError),
    ("cat", lambda: mt.cat([mt.ones(2, 3), mt.ones(2, 4)]), ShapeError, RuntimeError, ValueError),
    ("stack", lambda: mt.stack([mt.ones(2), mt.ones(3)]), ShapeError, RuntimeError, ValueError),
    ("split", lambda: mt.ones(5).split([2, 2]), ShapeError, RuntimeError, ValueError),
    ("expand", lambda: mt.ones(2).expand(3), ShapeError, RuntimeError, ValueError),
    ("arange step 0", lambda: mt.arange(0, 5, 0), ArgumentError, RuntimeError, ValueError),
    ("int ** -1", lambda: T([2]) ** -1, ArgumentError, RuntimeError, ValueError),
    ("item", lambda: mt.ones(2).item(), ScalarConversionError, RuntimeError, ValueError),
    ("float", lambda: float(mt.ones(2)), ScalarConversionError, ValueError, TypeError),
    ("bool", lambda: bool(mt.ones(2)), ScalarConversionError, RuntimeError, TypeError),
    ("unsqueeze", lambda: mt.ones(2).unsqueeze(3), DimError, IndexError, ValueError),
    ("transpose", lambda: mt.ones(2, 2).transpose(0, 2), DimError, IndexError, ValueError),
    ("sum dim", lambda: mt.ones(2).sum(dim=1), DimError, IndexError, ValueError),
    ("size", lambda: mt.ones(2).size(3), DimError, IndexError, ValueError),
    ("permute", lambda: mt.ones(2, 2).permute(0, 2), DimError, IndexError, ValueError),
    ("softmax", lambda: mt.ones(2).softmax(2), DimError, IndexError, ValueError),
    ("cumsum", lambda: mt.ones(2).cumsum(2), DimError, IndexError, ValueError),
    ("requires_grad_ int", lambda: mt.ones(2, dtype=mt.int64).requires_grad_(), DtypeError, RuntimeError, TypeError),
    ("masked_fill int mask", lambda: mt.ones(2).masked_fill(T([1, 0]), 0.0), DtypeError, RuntimeError, TypeError),
    ("masked_fill_ int mask", lambda: mt.ones(2).masked_fill_(T([1, 0]), 0.0), DtypeError, RuntimeError, TypeError),
    ("permute length", lambda: mt.ones(2, 3).permute(0), ShapeError, RuntimeError, ValueError),
    ("stack of none", lambda: mt.stack([]), ArgumentError, RuntimeError, ValueError),
    ("negative size", lambda: mt.zeros(-1), ArgumentError, RuntimeError, ValueError),
    ("float size", lambda: mt.randn(2.0), ArgumentTypeError, TypeError, ValueError),
    ("lstm h0 shape", lambda: mt.nn.LSTM(3, 4)(mt.ones(5, 2, 3), (mt.zeros(1, 3, 4), mt.zeros(1, 3, 4))),
     ShapeError, RuntimeError, ValueError),
    ("sdpa mask and causal", lambda: F.scaled_dot_product_attention(
        mt.ones(1, 4, 8), mt.ones(1, 4, 8), mt.ones(1, 4, 8), attn_mask=mt.ones(4, 4, dtype=mt.bool), is_causal=True),
     ArgumentError, RuntimeError, ValueError),
]


@pytest.mark.parametrize("what, call, cls, torch_cls, old_cls", CASES, ids=[c[0] for c in CASES])
def test_error_classes_derive_from_minitfs_and_torchs(what, call, cls, torch_cls, old_cls):
    with pytest.raises(cls) as info:
        call()
    assert isinstance(info.value, torch_cls) and isinstance(info.value, old_cls)
    assert type(info.value) is cls and str(info.value)  # one class per kind, with a message


def test_messages_name_the_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"add: shapes \(2,\) and \(3,\) cannot be broadcast together"):
        mt.ones(2) + mt.ones(3)
    with pytest.raises(IndexError, match=r"unsqueeze: dim 3 is out of range \[-2, 1\]"):
        mt.ones(2).unsqueeze(3)
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        T([2]) ** -1


TORCH_CASES = {  # the same mistakes under torch: the class asserted above is torch's
    "broadcast": (lambda t: t.ones(2) + t.ones(3), RuntimeError),
    "matmul": (lambda t: t.ones(2, 3) @ t.ones(2, 3), RuntimeError),
    "view": (lambda t: t.ones(6).view(4, 2), RuntimeError),
    "split": (lambda t: t.ones(5).split([2, 2]), RuntimeError),
    "arange step 0": (lambda t: t.arange(0, 5, 0), RuntimeError),
    "int ** -1": (lambda t: t.tensor([2]) ** -1, RuntimeError),
    "item": (lambda t: t.ones(2).item(), RuntimeError),
    "float": (lambda t: float(t.ones(2)), ValueError),
    "bool": (lambda t: bool(t.ones(2)), RuntimeError),
    "unsqueeze": (lambda t: t.ones(2).unsqueeze(3), IndexError),
    "sum dim": (lambda t: t.ones(2).sum(dim=1), IndexError),
    "requires_grad_ int": (lambda t: t.ones(2, dtype=t.int64).requires_grad_(), RuntimeError),
    "masked_fill int mask": (lambda t: t.ones(2).masked_fill(t.tensor([1, 0]), 0.0), RuntimeError),
    "permute length": (lambda t: t.ones(2, 3).permute(0), RuntimeError),
    "stack of none": (lambda t: t.stack([]), RuntimeError),
    "negative size": (lambda t: t.zeros(-1), RuntimeError),
    "float size": (lambda t: t.randn(2.0), TypeError),
    "lstm h0 shape": (lambda t: t.nn.LSTM(3, 4)(t.ones(5, 2, 3), (t.zeros(1, 3, 4), t.zeros(1, 3, 4))), RuntimeError),
    "sdpa mask and causal": (lambda t: t.nn.functional.scaled_dot_product_attention(
        t.ones(1, 4, 8), t.ones(1, 4, 8), t.ones(1, 4, 8), attn_mask=t.ones(4, 4, dtype=t.bool), is_causal=True),
        RuntimeError),
}


def test_a_size_can_be_a_one_element_integer_tensor_as_in_torch():
    assert mt.ones(mt.tensor(2)).shape == (2,) and mt.zeros((mt.tensor(2), 3)).shape == (2, 3)
    with pytest.raises(ArgumentTypeError):
        mt.zeros(mt.tensor(2.0))


@pytest.mark.parametrize("what", sorted(TORCH_CASES))
def test_torch_raises_those_classes(what):
    torch = pytest.importorskip("torch")
    call, cls = TORCH_CASES[what]
    with pytest.raises(cls):
        call(torch)
    assert any(c[0] == what and c[3] is cls for c in CASES)


def test_the_module_is_reachable_as_mt_errors():
    assert mt.errors.ShapeError is ShapeError and issubclass(mt.errors.DimError, IndexError)
