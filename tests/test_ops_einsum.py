"""einsum (minitf/ops/einsum.py) against torch.einsum: values and gradients of every operand
for contractions, traces, diagonals, sums only in one operand, ellipses, broadcasting and
implicit outputs; float64 gradchecks and gradgradchecks on every device; the errors."""
import numpy as np
import pytest

import minitf as mt

# equation -> operand shapes
CASES = {
    "ij,jk->ik": [(3, 4), (4, 2)],
    "bij,bjk->bik": [(2, 3, 4), (2, 4, 5)],
    "ii": [(3, 3)],
    "ii->i": [(4, 4)],
    "ij->i": [(3, 5)],
    "ij->": [(3, 5)],
    "ij->ji": [(3, 5)],
    "i,j->ij": [(3,), (4,)],
    "i,i->": [(5,), (5,)],
    "ij,ij->ij": [(2, 3), (2, 3)],
    "bhqd,bhkd->bhqk": [(2, 2, 3, 4), (2, 2, 5, 4)],
    "ij,jk,kl->il": [(2, 3), (3, 4), (4, 2)],
    "iij->ij": [(3, 3, 2)],
    "iji,j->j": [(3, 2, 3), (2,)],
    "...ij,...jk->...ik": [(2, 3, 4), (4, 2)],
    "b...,b->...": [(2, 3, 4), (2,)],
    "ij,jk": [(3, 4), (4, 2)],          # implicit output: the letters seen once, sorted
    "ba,ca": [(3, 4), (2, 4)],
    "ij,kj->ik broadcast": [(3, 1), (2, 4)],
}


def _eq(name):
    return name.split(" ")[0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_gradients_match_torch(device, name, rng):
    torch = pytest.importorskip("torch")
    datas = [rng.standard_normal(s) for s in CASES[name]]
    xs = [mt.tensor(d, dtype="float64", device=device, requires_grad=True) for d in datas]
    ts = [torch.tensor(d, requires_grad=True) for d in datas]
    out, outt = mt.einsum(_eq(name), *xs), torch.einsum(_eq(name), *ts)
    assert out.shape == tuple(outt.shape) and out.device == device and out.dtype == mt.float64
    np.testing.assert_allclose(out.numpy(), outt.detach().numpy(), rtol=1e-12, atol=1e-12)
    cot = rng.standard_normal(out.shape)
    out.backward(mt.tensor(cot, dtype="float64", device=device))
    outt.backward(torch.tensor(cot))
    for x, t in zip(xs, ts):
        assert x.grad.shape == x.shape
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["ij,jk->ik", "ii->i", "ij->i", "iij->ij", "b...,b->...", "ij,kj->ik broadcast"])
def test_gradcheck_and_gradgradcheck(device, name, rng):
    xs = [mt.tensor(rng.standard_normal(s), dtype="float64", device=device, requires_grad=True)
          for s in CASES[name]]
    assert mt.gradcheck(lambda *a: mt.einsum(_eq(name), *a), xs)
    assert mt.gradgradcheck(lambda *a: mt.einsum(_eq(name), *a), xs)


def test_operands_as_a_list_and_only_some_requiring_grad(device, rng):
    a = mt.tensor(rng.standard_normal((2, 3)), dtype="float64", device=device, requires_grad=True)
    b = mt.tensor(rng.standard_normal((3,)), dtype="float64", device=device)
    out = mt.einsum("ij,j->i", [a, b])
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(b.numpy(), (2, 3)))
    assert b.grad is None


def test_errors_name_the_problem():
    a, b = mt.zeros(2, 3), mt.zeros(4, 5)
    with pytest.raises(ValueError, match="2 operands, 1"):
        mt.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="for 2 dims"):
        mt.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="do not broadcast"):
        mt.einsum("ij,jk->ik", a, b)
    with pytest.raises(ValueError, match="appear in no operand"):
        mt.einsum("ij->iz", a)
    with pytest.raises(ValueError, match="repeats a letter"):
        mt.einsum("ij->ii", a)
    with pytest.raises(TypeError, match="same dtype"):
        mt.einsum("ij,ij->", a, a.double())
    with pytest.raises(TypeError, match="tensors"):
        mt.einsum("ij", np.zeros((2, 3)))
    with pytest.raises(ValueError, match="invalid characters"):
        mt.einsum("i1->i", a)


@pytest.mark.parametrize("eq,shapes,dtypes", [
    ("ij,kl->k", ((2, 2), (2, 2)), ("int32", "int32")), ("ij,j->j", ((2, 2), (2,)), ("int32", "int32")),
    ("i,j->", ((2,), (2,)), ("int32", "int32")), ("ij,ij->", ((2, 2), (2, 2)), ("int32", "int32")),
    ("i,i->", ((2,), (2,)), ("int32", "int32")), ("ii->", ((2, 2),), ("int32",)), ("ii", ((2, 2),), ("int32",)),
    ("ii->i", ((2, 2),), ("int32",)), ("ij->i", ((2, 2),), ("int32",)), ("ij", ((2, 2),), ("int32",)),
    ("...->", ((2, 2),), ("int32",)), ("ij,jk", ((2, 2), (2, 2)), ("int32", "int32")),
    ("i,i->i", ((2,), (2,)), ("int32", "int64")), ("i->", ((2,),), ("uint8",)), ("i->", ((2,),), ("bool",)),
    ("i,i->i", ((2,), (2,)), ("bool", "bool"))])
def test_integer_result_dtype_as_torch(device, eq, shapes, dtypes):
    """A letter summed within one operand goes through torch.sum (int64), a contraction keeps
    the dtype; minitf kept int32 everywhere."""
    torch = pytest.importorskip("torch")
    arrays = [np.arange(1, 1 + int(np.prod(s))).reshape(s) % 3 for s in shapes]
    out = mt.einsum(eq, *[mt.tensor(a, dtype=d, device=device) for a, d in zip(arrays, dtypes)])
    want = torch.einsum(eq, *[torch.tensor(a).to(getattr(torch, d)) for a, d in zip(arrays, dtypes)])
    assert str(out.dtype) == str(want.dtype).replace("torch.", "")
    assert out.tolist() == want.tolist()


def test_outer_of_integers_and_floats_takes_the_float_dtype(device):
    torch = pytest.importorskip("torch")
    for da, db in (("int64", "float32"), ("float64", "int32"), ("int32", "int64")):
        a, b = [1, 2], [0.5, 3.0] if db.startswith("float") else [3, 4]
        out = mt.outer(mt.tensor(a, dtype=da, device=device), mt.tensor(b, dtype=db, device=device))
        want = torch.outer(torch.tensor(a, dtype=getattr(torch, da)), torch.tensor(b, dtype=getattr(torch, db)))
        assert str(out.dtype) == str(want.dtype).replace("torch.", "") and out.tolist() == want.tolist()
