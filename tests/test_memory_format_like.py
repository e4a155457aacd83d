"""``memory_format=`` on clone and the ``*_like`` factories, as torch 2.13: preserve_format (the
default) keeps a dense input's strides and gives a non-dense one the layout its strides suggest;
contiguous_format, channels_last and channels_last_3d lay the result out so (``.stride()`` as
torch's), the values as the row-major ones (minitf/type_objects.py like_strides)."""
import numpy as np
import pytest

import minitf as mt

torch = pytest.importorskip("torch")

LAYOUTS = {   # name -> (shape, how the input is made from a row-major tensor), the same for both libraries
    "row_major": ((2, 3, 4, 5), lambda L, x: x),
    "permuted": ((2, 3, 4, 5), lambda L, x: x.permute(0, 2, 3, 1)),
    "channels_last": ((2, 3, 4, 5), lambda L, x: x.contiguous(memory_format=L.channels_last)),
    "channels_last_sliced": ((2, 3, 4, 5), lambda L, x: x.contiguous(memory_format=L.channels_last)[:, :, ::2]),
    "sliced": ((2, 3, 4, 5), lambda L, x: x[:, :, ::2]),
    "transposed": ((2, 3, 4, 5), lambda L, x: x.transpose(0, 3)),
    "n111": ((2, 3, 4, 5), lambda L, x: x[:, :1, :1, :1]),
    "expanded": ((2, 3, 4, 5), lambda L, x: x[:, :1].expand(-1, 3, -1, -1)),
    "channels_last_3d": ((2, 3, 2, 4, 5), lambda L, x: x.contiguous(memory_format=L.channels_last_3d)),
    "sliced_3d": ((2, 3, 2, 4, 5), lambda L, x: x.contiguous(memory_format=L.channels_last_3d)[..., ::2]),
    "matrix_t": ((3, 4), lambda L, x: x.t()),
}
FORMATS = [None, "preserve_format", "contiguous_format", "channels_last", "channels_last_3d"]
OPS = {   # name -> call(lib, x, **memory_format)
    "clone": lambda L, x, **kw: x.clone(**kw),
    "mt.clone": lambda L, x, **kw: L.clone(x, **kw),
    "empty_like": lambda L, x, **kw: L.empty_like(x, **kw),
    "zeros_like": lambda L, x, **kw: L.zeros_like(x, **kw),
    "ones_like": lambda L, x, **kw: L.ones_like(x, **kw),
    "full_like": lambda L, x, **kw: L.full_like(x, 2.5, **kw),
    "rand_like": lambda L, x, **kw: L.rand_like(x, **kw),
    "randn_like": lambda L, x, **kw: L.randn_like(x, **kw),
    "randint_like": lambda L, x, **kw: L.randint_like(x, 5, **kw),
}
RANDOM = ("empty_like", "rand_like", "randn_like", "randint_like")


def _inputs(layout, device="cpu"):
    shape, make = LAYOUTS[layout]
    a = np.random.default_rng(0).standard_normal(shape)
    return make(torch, torch.tensor(a)), make(mt, mt.tensor(a, device=device))


def _call(op, lib, x, fmt):
    kw = {} if fmt is None else {"memory_format": getattr(lib, fmt)}
    try:
        return OPS[op](lib, x, **kw), None
    except RuntimeError as e:
        return None, str(e)


@pytest.mark.parametrize("fmt", FORMATS, ids=str)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("op", sorted(OPS))
def test_strides_and_values_as_torch(op, layout, fmt, device):
    theirs_in, ours_in = _inputs(layout, device)
    assert ours_in.stride() == theirs_in.stride()   # (the inputs themselves agree)
    theirs, their_error = _call(op, torch, theirs_in, fmt)
    ours, our_error = _call(op, mt, ours_in, fmt)
    assert our_error == their_error   # (channels_last of a tensor of another rank: torch's message)
    if theirs is None:
        return
    assert ours.stride() == theirs.stride() and tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    if op not in RANDOM:
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif op != "empty_like":
        assert np.isfinite(ours.numpy()).all()


def test_clone_in_a_format_is_differentiable_and_keeps_requires_grad_of_the_factories():
    x = mt.tensor(np.arange(120.0).reshape(2, 3, 4, 5), requires_grad=True)
    y = x.clone(memory_format=mt.channels_last)
    assert y.is_contiguous(memory_format=mt.channels_last) and not y.is_contiguous()
    (y * mt.arange(5.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(np.arange(5.0), (2, 3, 4, 5)))
    z = mt.zeros_like(x.permute(0, 2, 3, 1), requires_grad=True)
    assert z.requires_grad and z.is_leaf and z.stride() == x.permute(0, 2, 3, 1).stride()


def test_a_format_that_is_not_one_is_a_type_error():
    with pytest.raises(TypeError, match="memory_format"):
        mt.zeros_like(mt.zeros(2, 3), memory_format=3)
    with pytest.raises(TypeError, match="memory_format"):
        mt.zeros(2, 3).clone(memory_format="channels_last")
