"""Indexing, ordering, layout and fixed-rank products (minitf/ops/indexing.py, sorting.py,
layout.py, matrix.py, masked_fill_): values, int64 indices and gradients against torch
through mt.* and the Tensor methods, float64 gradchecks on every device, ties, errors."""
import numpy as np
import pytest

import minitf as mt

R = np.random.default_rng(7)
X = R.standard_normal((3, 4))           # no ties: sort/topk orders are unique
IDX = np.array([[0, 3, 3], [1, 0, 2]])  # a gather/scatter index into X along dim 1 (rows 0, 1)
IDX0 = np.array([[2, 0, 1, 2], [0, 0, 1, 1]])  # along dim 0, repeated rows
MASK = X > 0.1


def _i(m, a):  # an int64 index on the device of the module ("mt" tensors carry one)
    return m.tensor(a)


# name -> call(m, x, dev): the same text for minitf and torch; dev puts constants on x's device
CALLS = {
    "gather(1)": lambda m, x, d: m.gather(x, 1, d(IDX)),
    "gather(0)": lambda m, x, d: m.gather(x, 0, d(IDX0)),
    "gather(-1) repeated": lambda m, x, d: m.gather(x, -1, d(np.zeros((3, 5), dtype=np.int64))),
    "scatter(1, src)": lambda m, x, d: m.scatter(x, 1, d(IDX[:, :2]), x[1:, :2] * 2),
    "scatter(0, value)": lambda m, x, d: m.scatter(x, 0, d(IDX0[:1]), 0.5),
    "scatter_add(0)": lambda m, x, d: m.scatter_add(x, 0, d(IDX0), x[:2] * 3),
    "scatter_add(1)": lambda m, x, d: m.scatter_add(x, 1, d(IDX), x[:2, :3] ** 2),
    "index_select(1)": lambda m, x, d: m.index_select(x, 1, d(np.array([3, 0, 0]))),
    "index_select(0)": lambda m, x, d: m.index_select(x, 0, d(np.array([2]))),
    "masked_select": lambda m, x, d: m.masked_select(x, d(MASK)),
    "masked_select broadcast": lambda m, x, d: m.masked_select(x, d(MASK[1])),
    "sort()": lambda m, x, d: m.sort(x).values,
    "sort(0, descending)": lambda m, x, d: m.sort(x, 0, descending=True).values,
    "sort indices": lambda m, x, d: m.sort(x, dim=1).indices,
    "argsort(0)": lambda m, x, d: m.argsort(x, 0),
    "argsort(descending)": lambda m, x, d: m.argsort(x, descending=True),
    "topk(2)": lambda m, x, d: m.topk(x, 2).values,
    "topk(2, 0, largest=False)": lambda m, x, d: m.topk(x, 2, 0, largest=False).values,
    "topk indices": lambda m, x, d: m.topk(x, 3, dim=1).indices,
    "flip(0)": lambda m, x, d: m.flip(x, (0,)),
    "flip(0, 1)": lambda m, x, d: m.flip(x, [0, -1]),
    "roll(1, 1)": lambda m, x, d: m.roll(x, 1, 1),
    "roll((1, -2), (0, 1))": lambda m, x, d: m.roll(x, (1, -2), (0, 1)),
    "roll(5) flat": lambda m, x, d: m.roll(x, 5),
    "unbind(1)[2]": lambda m, x, d: m.unbind(x, 1)[2],
    "narrow(1, 1, 2)": lambda m, x, d: m.narrow(x, 1, 1, 2),
    "narrow(0, -2, 2)": lambda m, x, d: m.narrow(x, 0, -2, 2),
    "movedim(0, 1)": lambda m, x, d: m.movedim(x.reshape(3, 2, 2), 0, 2),
    "movedim((0, 1), (2, 0))": lambda m, x, d: m.movedim(x.reshape(3, 2, 2), (0, 1), (2, 0)),
    "swapdims": lambda m, x, d: m.swapdims(x, 0, 1),
    "swapaxes": lambda m, x, d: m.swapaxes(x.reshape(3, 2, 2), 0, -1),
    "tile((2,))": lambda m, x, d: m.tile(x, (2,)),
    "tile((2, 1, 2))": lambda m, x, d: m.tile(x, (2, 1, 2)),
    "repeat_interleave(2)": lambda m, x, d: m.repeat_interleave(x, 2),
    "repeat_interleave(3, 0)": lambda m, x, d: m.repeat_interleave(x, 3, dim=0),
    "repeat_interleave(tensor, 1)": lambda m, x, d: m.repeat_interleave(x, d(np.array([0, 2, 1, 3])), dim=1),
    "repeat_interleave(tensor, 0, size)": lambda m, x, d: m.repeat_interleave(x, d(np.array([2, 0, 1])), dim=0,
                                                                          output_size=3),
    "repeat_interleave(0-d tensor) flat": lambda m, x, d: m.repeat_interleave(x, d(np.array(2))),
    "diag 2-D": lambda m, x, d: m.diag(x),
    "diag 2-D, 1": lambda m, x, d: m.diag(x, 1),
    "diag 2-D, -2": lambda m, x, d: m.diag(x, -2),
    "diag 1-D": lambda m, x, d: m.diag(x[0]),
    "diag 1-D, -1": lambda m, x, d: m.diag(x[1], -1),
    "mm": lambda m, x, d: m.mm(x, x.T),
    "bmm": lambda m, x, d: m.bmm(x.reshape(3, 2, 2), x.reshape(3, 2, 2)),
    "mv": lambda m, x, d: m.mv(x, x[0]),
    "dot": lambda m, x, d: m.dot(x[0], x[1]),
    "outer": lambda m, x, d: m.outer(x[0], x[1, :3]),
}
NO_GRAD = {"sort indices", "argsort(0)", "argsort(descending)", "topk indices"}
# torch spells these only as methods (or differently) in a way the table cannot share
METHOD_ONLY = set()


class _Methods:  # m.f(x, *args) spelled x.f(*args)
    def __init__(self, m):
        self.m = m

    def __getattr__(self, name):
        if name == "tensor":
            return self.m.tensor
        return lambda t, *a, **k: getattr(t, name)(*a, **k)


@pytest.mark.parametrize("method", [False, True], ids=["mt", "Tensor"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_matches_torch(device, name, method):
    torch = pytest.importorskip("torch")
    call = CALLS[name]
    x = mt.tensor(X, dtype="float64", device=device, requires_grad=True)
    xt = torch.tensor(X, requires_grad=True)
    m, mtorch = (_Methods(mt), _Methods(torch)) if method else (mt, torch)
    out = call(m, x, lambda a: mt.tensor(a, device=device))
    outt = call(mtorch, xt, torch.tensor)
    assert out.device == device and out.shape == tuple(outt.shape), (out.shape, outt.shape)
    assert str(out.dtype) == str(outt.dtype).replace("torch.", "")
    np.testing.assert_allclose(out.numpy(), outt.detach().numpy(), rtol=1e-12, atol=1e-12)
    if name in NO_GRAD:
        assert not out.requires_grad and outt.grad_fn is None
        return
    cot = R.standard_normal(out.shape)
    out.backward(mt.tensor(cot, dtype="float64", device=device))
    outt.backward(torch.tensor(cot))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(set(CALLS) - NO_GRAD))
def test_gradcheck(device, name):
    x = mt.tensor(X, dtype="float64", device=device, requires_grad=True)
    assert mt.gradcheck(lambda x: CALLS[name](mt, x, lambda a: mt.tensor(a, device=device)), [x])


def test_scatter_and_scatter_add_differentiate_src(device):
    torch = pytest.importorskip("torch")
    src = R.standard_normal((2, 3))
    # scatter's index without repeats: where a position is written twice, only one src value
    # lands there, yet torch (and minitf) pass the gradient to both; scatter_add's repeats add up
    unique = np.array([[0, 3, 2], [1, 0, 2]])
    for f, idx in ((lambda m, x, s, i: m.scatter(x, 1, i, s), unique),
                   (lambda m, x, s, i: m.scatter_add(x, 1, i, s), IDX)):
        x, s = (mt.tensor(a, dtype="float64", device=device, requires_grad=True) for a in (X, src))
        xt, st = (torch.tensor(a, requires_grad=True) for a in (X, src))
        out, outt = f(mt, x, s, mt.tensor(idx, device=device)), f(torch, xt, st, torch.tensor(idx))
        np.testing.assert_allclose(out.numpy(), outt.detach().numpy(), rtol=1e-12)
        (out * out).sum().backward()
        (outt * outt).sum().backward()
        np.testing.assert_allclose(s.grad.numpy(), st.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
        assert mt.gradcheck(lambda x, s: f(mt, x, s, mt.tensor(idx, device=device)), [x, s])


def test_a_larger_src_is_read_in_its_corner(device):
    torch = pytest.importorskip("torch")  # (torch's backward refuses such a src: values only there)
    src = R.standard_normal((3, 4))
    for f in ("scatter", "scatter_add"):
        x, s = (mt.tensor(a, dtype="float64", device=device, requires_grad=True) for a in (X, src))
        idx = IDX if f == "scatter_add" else np.array([[0, 3, 2], [1, 0, 2]])  # (see above)
        out = getattr(mt, f)(x, 1, mt.tensor(idx, device=device), s)
        want = getattr(torch, f)(torch.tensor(X), 1, torch.tensor(idx), torch.tensor(src))
        np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-12)
        assert mt.gradcheck(lambda x, s: getattr(mt, f)(x, 1, mt.tensor(idx, device=device), s), [x, s])


def test_ties_keep_index_order_and_nan_is_largest(device):
    torch = pytest.importorskip("torch")
    data = np.array([[2.0, np.nan, 1.0, 2.0, np.nan, 1.0, 2.0], [0.0, -0.0, 3.0, 3.0, 0.0, 5.0, 3.0]])
    x, xt = mt.tensor(data, device=device), torch.tensor(data)
    for descending in (False, True):
        got = x.sort(1, descending=descending)
        want = xt.sort(dim=1, descending=descending, stable=True)  # the documented order: torch's stable one
        assert got.indices.tolist() == want.indices.tolist()
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
        assert x.argsort(1, descending=descending).tolist() == want.indices.tolist()
    assert x.topk(3).indices.tolist() == [[1, 4, 0], [5, 2, 3]]  # NaN first, ties lower index first
    assert x.topk(2, largest=False).indices.tolist() == [[2, 5], [0, 1]]


def test_integer_and_bool_sorts(device):
    torch = pytest.importorskip("torch")
    for data in (np.array([[3, 1, 3, -2], [0, 0, 7, 1]]), np.array([[True, False, True, False]])):
        x, xt = mt.tensor(data, device=device), torch.tensor(data)
        got, want = x.sort(-1, descending=True), xt.sort(dim=-1, descending=True, stable=True)
        assert got.values.dtype == x.dtype and got.values.tolist() == want.values.tolist()
        assert got.indices.tolist() == want.indices.tolist()


def test_nonzero_matches_torch(device):
    torch = pytest.importorskip("torch")
    for data in (X * MASK, np.array([0.0, 2.0, 0.0, -1.0]), np.array(3.0), np.zeros((2, 0))):
        x, xt = mt.tensor(data, device=device), torch.tensor(data)
        got, want = x.nonzero(), xt.nonzero()
        assert got.dtype == mt.int64 and got.shape == tuple(want.shape) and got.tolist() == want.tolist()
        tup, tupt = mt.nonzero(x, as_tuple=True), torch.nonzero(xt, as_tuple=True)
        assert len(tup) == len(tupt) and all(a.tolist() == b.tolist() for a, b in zip(tup, tupt))
    x = mt.tensor(X, device=device)
    np.testing.assert_array_equal(x[x.nonzero(as_tuple=True)].numpy(), X[X != 0])


def test_unbind_gives_views_and_narrow_is_a_view(device):
    x = mt.tensor(X, device=device)
    rows = x.unbind()
    assert len(rows) == 3 and all(r.shape == (4,) for r in rows)
    n = x.narrow(1, 1, 2)
    x.add_(1.0)
    np.testing.assert_array_equal(n.numpy(), X[:, 1:3] + 1)
    np.testing.assert_array_equal(rows[2].numpy(), X[2] + 1)


def test_flip_is_a_copy(device):
    x = mt.tensor(X, device=device)
    f = x.flip(0)
    x.add_(1.0)
    np.testing.assert_array_equal(f.numpy(), X[::-1])


def test_masked_fill_in_place(device):
    torch = pytest.importorskip("torch")
    mask = mt.tensor(MASK, device=device)
    x = mt.tensor(X, device=device)
    v0 = x._version
    assert x.masked_fill_(mask, -1.0) is x and x._version == v0 + 1
    np.testing.assert_array_equal(x.numpy(), np.where(MASK, -1.0, X))
    # recorded on a tensor in the graph, with a broadcast mask and a value tensor that requires grad
    w = mt.tensor(X, dtype="float64", device=device, requires_grad=True)
    v = mt.tensor(2.5, dtype="float64", device=device, requires_grad=True)
    wt, vt = torch.tensor(X, requires_grad=True), torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    y, yt = w * 3, wt * 3
    y.masked_fill_(mt.tensor(MASK[0], device=device), v)
    yt.masked_fill_(torch.tensor(MASK[0]), vt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy())
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy())
    np.testing.assert_allclose(v.grad.numpy(), vt.grad.numpy())
    with pytest.raises(RuntimeError, match="leaf"):
        mt.tensor(X, requires_grad=True, device=device).masked_fill_(mask, 0.0)
    with pytest.raises(TypeError, match="bool"):
        x.masked_fill_(mt.tensor(X, device=device), 0.0)
    with pytest.raises(RuntimeError, match="broadcast"):
        x[0].masked_fill_(mask, 0.0)


def test_errors_name_the_problem(device):
    x = mt.tensor(X, device=device)
    i = mt.tensor(IDX, device=device)
    with pytest.raises(IndexError, match=r"out of range \[0, 4\)"):
        x.gather(1, mt.tensor([[4]], device=device))
    with pytest.raises(IndexError, match="out of range"):
        x.index_select(0, mt.tensor([-1], device=device))
    with pytest.raises(TypeError, match="integer"):
        x.gather(1, mt.tensor([[0.5]], device=device))
    with pytest.raises(ValueError, match="same number|must be equal"):
        x.gather(1, mt.tensor([0], device=device))
    with pytest.raises(ValueError, match="larger"):
        x.gather(1, mt.zeros(4, 1, dtype="int64", device=device))
    with pytest.raises(ValueError, match="at least as large"):
        x.scatter_add(1, i, x[:1])
    with pytest.raises(ValueError, match="out of range"):
        x.topk(5)
    with pytest.raises(TypeError, match="repeats must be an int or an integer tensor"):
        x.repeat_interleave(2.0)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        mt.diag(x.reshape(3, 2, 2))
    with pytest.raises(ValueError, match="exceeds"):
        x.narrow(1, 3, 2)
    with pytest.raises(ValueError, match="2-D"):
        mt.mm(x, x[0])
    with pytest.raises(ValueError, match="batch sizes differ"):
        mt.bmm(x.reshape(3, 2, 2), x.reshape(3, 2, 2)[:2])
    with pytest.raises(ValueError, match="different lengths"):
        mt.dot(x[0], x[0, :3])
    with pytest.raises(ValueError, match="more than once"):
        x.flip(0, 0)
    with pytest.raises(ValueError, match="same length"):
        x.roll((1, 2), 0)
    if device != "cpu":
        with pytest.raises(mt.DeviceError, match="index on cpu"):
            x.gather(1, mt.tensor(IDX))


def test_scatter_refuses_a_src_of_another_dtype(device):
    """torch: "Expected self.dtype to be equal to src.dtype" (it was cast silently)."""
    torch = pytest.importorskip("torch")
    idx = np.array([[0, 1, 1]])
    for dt in ("float64", "int64"):
        with pytest.raises(RuntimeError, match="dtype"):
            torch.scatter(torch.zeros(2, 3), 0, torch.tensor(idx), torch.ones(1, 3, dtype=getattr(torch, dt)))
        x, src = mt.zeros(2, 3, device=device), mt.ones(1, 3, dtype=dt, device=device)
        with pytest.raises(TypeError, match=f"scatter: src is {dt} but the tensor is float32"):
            mt.scatter(x, 0, mt.tensor(idx, device=device), src)
    assert mt.scatter(x, 0, mt.tensor(idx, device=device), 2.0).tolist() == [[2.0, 0.0, 0.0], [0.0, 2.0, 2.0]]


def test_roll_narrow_repeat_interleave_edge_cases_as_torch(device):
    """roll adds the shifts of a dim named twice; narrow takes 0-d integer tensors for start
    and length; repeat_interleave refuses a dim for a 0-d tensor."""
    torch = pytest.importorskip("torch")
    for m, kw in ((mt, {"device": device}), (torch, {})):
        a = m.arange(6, **kw).reshape(2, 3)
        r = [m.roll(m.arange(5, **kw), (1, 1), (0, 0)).tolist(), a.roll((1, 2, -2), (1, 0, -1)).tolist(),
             m.narrow(m.arange(5, **kw), 0, m.tensor(-2, **kw), 2).tolist(),
             m.arange(5, **kw).narrow(0, 1, m.tensor(3, **kw)).tolist()]
        if m is mt:
            got = r
        for d in (0, -1):
            with pytest.raises(IndexError):
                m.repeat_interleave(m.tensor(3, **kw), 2, dim=d)
        assert m.repeat_interleave(m.tensor(3, **kw), 2).tolist() == [3, 3]
    assert got == r == [[3, 4, 0, 1, 2], [[1, 2, 0], [4, 5, 3]], [3, 4], [1, 2, 3]]
    with pytest.raises(TypeError, match="0-d integer tensor"):
        mt.narrow(mt.arange(5, device=device), 0, mt.tensor([1], device=device), 2)


def test_repeat_interleave_with_tensor_repeats_as_torch(device):
    """Tensor repeats: one count per entry along dim (a single count serves all), the counts
    alone give arange's indices so repeated, and torch's refusals, each as torch's class."""
    torch = pytest.importorskip("torch")
    calls = {
        "alone": lambda m, x, r: m.repeat_interleave(r([2, 0, 1])),
        "alone int32": lambda m, x, r: m.repeat_interleave(r([1, 3], m.int32)),
        "alone empty": lambda m, x, r: m.repeat_interleave(r([], m.int64)),
        "one count, dim -1": lambda m, x, r: m.repeat_interleave(x, r([3]), dim=-1),
        "all zero": lambda m, x, r: m.repeat_interleave(x, r([0, 0, 0]), dim=0),
        "empty x": lambda m, x, r: m.repeat_interleave(x[:0], r([4]), dim=0),
        "int32 counts": lambda m, x, r: x.repeat_interleave(r([1, 0, 2, 1], m.int32), dim=1),
    }
    refused = {   # torch's message, minitf's class's other base
        "negative": (lambda m, x, r: m.repeat_interleave(x, r([-1, 2, 0]), dim=0), RuntimeError, "negative"),
        "too many": (lambda m, x, r: m.repeat_interleave(x, r([1, 2]), dim=0), RuntimeError, "same size"),
        "2-D": (lambda m, x, r: m.repeat_interleave(x, r([[1, 2, 1]]), dim=0), RuntimeError, "0-dim or 1-dim"),
        "float": (lambda m, x, r: m.repeat_interleave(x, r([1.0, 2.0, 1.0]), dim=0), NotImplementedError,
                  "Float|int64 or int32"),
        "bool": (lambda m, x, r: m.repeat_interleave(x, r([True, False, True]), dim=0), NotImplementedError,
                 "Bool|int64 or int32"),
        "uint8": (lambda m, x, r: m.repeat_interleave(x, r([1, 0, 2], m.uint8), dim=0), NotImplementedError,
                  "Byte|int64 or int32"),
        "alone 0-d": (lambda m, x, r: m.repeat_interleave(r(3)), RuntimeError, "1D|1-D"),
        "int, output_size": (lambda m, x, r: m.repeat_interleave(x, 2, dim=0, output_size=5), RuntimeError,
                             "output_size"),
        "int, negative": (lambda m, x, r: m.repeat_interleave(x, -1, dim=0), RuntimeError, "negative"),
    }
    got = {}
    for m, kw in ((mt, {"device": device}), (torch, {})):
        x = m.tensor(X, **kw)
        r = lambda a, dtype=None: m.tensor(a, dtype=dtype, **kw)   # noqa: E731
        got[m] = {k: (f(m, x, r).tolist(), str(f(m, x, r).dtype).replace("torch.", "")) for k, f in calls.items()}
        for name, (f, cls, msg) in refused.items():
            with pytest.raises(cls, match=msg):
                f(m, x, r)
    assert got[mt] == got[torch]
    x = mt.tensor(X, device=device)
    with pytest.raises(ValueError, match="output_size=4 but the repeats add up to 3"):
        x.repeat_interleave(mt.tensor([2, 0, 1], device=device), dim=0, output_size=4)
    if device != "cpu":
        with pytest.raises(mt.DeviceError, match="different devices"):
            x.repeat_interleave(mt.tensor([2, 0, 1]), dim=0)


def test_repeat_interleave_with_tensor_repeats_keeps_its_index_as_torch(device):
    """torch's IndexSelectBackward0 saves the repeated index: a second backward raises."""
    x = mt.tensor(X, dtype="float64", device=device, requires_grad=True)
    y = x.repeat_interleave(mt.tensor([1, 2, 0], device=device), dim=0).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward"):
        y.backward()


# (index, value shape): values with more leading size-1 dims than their slot, which the forward
# broadcasts (as torch); the backward summed the value's gradient with grad.ndim < value.ndim
SETITEM_LEADING_ONES = [(1, (1, 3)), (1, (1, 1, 3)), ((0, 0), (1,)), ((0, 0), (1, 1)), (slice(1, None), (1, 1, 3))]


@pytest.mark.parametrize("index, vshape", SETITEM_LEADING_ONES)
def test_setitem_value_with_extra_leading_ones_has_a_gradient(device, index, vshape):
    a = mt.tensor(np.ones((2, 3)), dtype="float64", device=device, requires_grad=True)
    v_np = (np.arange(float(np.prod(vshape))) + 2.0).reshape(vshape)
    v = mt.tensor(v_np, dtype="float64", device=device, requires_grad=True)
    b = a * 1
    b[index] = v
    (b * b).sum().backward()
    slot = np.zeros((2, 3), dtype=bool)
    slot[index] = True
    np.testing.assert_array_equal(a.grad.numpy(), np.where(slot, 0.0, 2.0))  # overwritten: no gradient
    # d sum(b^2) / dv = 2 v times the number of slot elements each value element fills
    np.testing.assert_allclose(v.grad.numpy(), 2 * v_np * (slot.sum() // v_np.size))
    assert mt.gradcheck(lambda a, v: _set(a, index, v) ** 2, [a, v])
    torch = pytest.importorskip("torch")
    at = torch.ones(2, 3, dtype=torch.float64, requires_grad=True)
    vt = torch.tensor(v_np, requires_grad=True)
    bt = at * 1
    bt[index] = vt
    (bt * bt).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), at.grad.numpy())
    np.testing.assert_allclose(v.grad.numpy(), vt.grad.numpy())


def _set(a, index, v):
    b = a * 1
    b[index] = v
    return b
