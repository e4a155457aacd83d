"""What torch.func.vmap refuses, refused by minitf's vmap the same way and at once (no loop over
the examples, which would stack outputs of different shapes or write every example into one
tensor): an in-place write of a batched value into an unbatched tensor, a batched boolean mask
(indexing, masked_select, nonzero). And what it allows next to them, batched: in-place ops on a
batched tensor (add_ / sub_ / mul_ / div_ and writes through basic indices, views too, values
and gradients), an unbatched boolean mask (batched as its index arrays)."""
import numpy as np
import pytest

import minitf as mt
from minitf.func import grad, vmap

from .test_vmap_batching import _arr, check

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:There is a performance drop")   # (torch's, for its own loop)
B = 4

INPLACE = {   # x batched (3,), w an unbatched (3,) tensor that f writes into
    "add_": lambda M, w: lambda x: w.add_(x),
    "iadd": lambda M, w: lambda x: w.__iadd__(x),
    "mul_": lambda M, w: lambda x: w.mul_(x),
    "setitem": lambda M, w: lambda x: w.__setitem__(0, x[1]),
    "copy_": lambda M, w: lambda x: w.copy_(x),
    "clamp_": lambda M, w: lambda x: w.clamp_(min=x),
    "masked_fill_": lambda M, w: lambda x: w.masked_fill_(x > 0, 1.0),
    "lerp_": lambda M, w: lambda x: w.lerp_(x, 0.5),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_an_inplace_write_of_a_batched_value_into_an_unbatched_tensor_is_refused(name):
    xs, w0 = _arr(B, 3), _arr(3)
    w = mt.tensor(w0)
    calls = [0]
    f = INPLACE[name](mt, w)

    def counted(x):
        calls[0] += 1
        return f(x)
    with pytest.raises(RuntimeError, match="batched .* into a tensor that is not"):
        vmap(counted)(mt.tensor(xs))
    assert calls[0] == 1                           # refused in the batched run: no loop
    np.testing.assert_array_equal(w.numpy(), w0)   # and nothing written (the loop summed every example into w)
    tw = torch.tensor(w0)
    with pytest.raises(RuntimeError):
        torch.func.vmap(INPLACE[name](torch, tw))(torch.tensor(xs))


def _written(z, key, v):
    z[key] = v
    return z


INPLACE_BATCHED = {   # x (2, 3) batched, y (3,) batched or not
    "arithmetic": lambda M, F: lambda x, y: (x * 1).add_(y).mul_(x).sub_(y, alpha=2).div_(2.0),
    "operators": lambda M, F: lambda x, y: (lambda z: (z.__iadd__(y), z.__imul__(x), z.__itruediv__(3.0), z)[-1])(x * 1),
    "setitem": lambda M, F: lambda x, y: (_written(x.clone(), (0, 1), y[0]), _written(x.clone(), 0, y),
                                          _written(x.clone(), (Ellipsis, slice(1, None)), 5.0),
                                          _written(x.clone(), (slice(None), None, 2), y[:2, None])),
    "views": lambda M, F: lambda x, y: (lambda z: (z[0].mul_(2), z.T.add_(1), z[:, 1:].sub_(y[1:]), z)[-1])(x.clone()),
    "clamp_falls_back": lambda M, F: lambda x, y: (x * 1).add_(y).clamp_(min=-0.5),   # (no rule: the loop)
    "unbatched_written_with_unbatched": lambda M, F: lambda x, y: x + (y * 1).mul_(2).unsqueeze(0),
}


@pytest.mark.parametrize("name", sorted(INPLACE_BATCHED))
def test_inplace_ops_on_batched_tensors(name, monkeypatch):
    batched = name != "clamp_falls_back"
    check(INPLACE_BATCHED[name], [_arr(B, 2, 3), _arr(3)], monkeypatch, in_dims=(0, None), batched=batched)
    check(INPLACE_BATCHED[name], [_arr(2, B, 3), _arr(3, B)], monkeypatch, in_dims=(1, 1), batched=batched)


def test_inplace_gradients_on_batched_tensors(monkeypatch):
    def make(M, F):
        g = grad if M is mt else torch.func.grad
        return lambda w, x: (g(lambda w, x: ((x * 1).mul_(w).add_(x) ** 2).sum())(w, x),
                             g(lambda x: _written(x * 1, 0, x[1] * 3).pow(2).sum())(x))
    check(make, [_arr(3), _arr(B, 2, 3)], monkeypatch, in_dims=(None, 0))


def test_inplace_on_a_mapped_input_writes_the_input_as_torch():
    xs = _arr(B, 3)
    ours, theirs = mt.tensor(xs), torch.tensor(xs)
    out = vmap(lambda x: x.mul_(2).add_(1), in_dims=0)(ours)
    torch.func.vmap(lambda x: x.mul_(2).add_(1))(theirs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(out.numpy(), theirs.numpy())
    with pytest.raises(RuntimeError):   # an unbatched value of more dims than the example: an error, not a
        vmap(lambda x, y: x.add_(y), in_dims=(0, None))(mt.tensor(xs), mt.tensor(xs))   # write meeting the batch


DATA_DEPENDENT = {
    "mask": lambda M: lambda x: x[x > 0],
    "mask_in_a_tuple": lambda M: lambda x: x[:, x[0] > 0],
    "mask_of_an_unbatched_tensor": lambda M: lambda x: M.arange(3.0, dtype=M.float64)[x[0] > 0],
    "masked_select": lambda M: lambda x: M.masked_select(x, x > 0),
    "nonzero": lambda M: lambda x: M.nonzero(x > 0),
    "where_of_one_argument": lambda M: lambda x: M.where(x > 0)[0],
}


@pytest.mark.parametrize("name", sorted(DATA_DEPENDENT))
def test_a_batched_boolean_mask_is_refused_as_torch_refuses_it(name):
    xs = _arr(B, 2, 3)
    with pytest.raises(RuntimeError, match="vmap"):
        torch.func.vmap(DATA_DEPENDENT[name](torch))(torch.tensor(xs))
    with pytest.raises(RuntimeError, match="shape depends on its values"):
        vmap(DATA_DEPENDENT[name](mt))(mt.tensor(xs))


def test_an_unbatched_boolean_mask_selects_in_the_batched_run(monkeypatch):
    m1, m2 = np.array([True, False, True]), np.array([[True, False], [False, False], [True, True]])

    def make(M, F):
        a, b = M.tensor(m1), M.tensor(m2)
        return lambda x: (x[a], x[:, a[:2]], x[b], x[..., a[1:]] * 2, x[b] + x[b].sum())
    out = check(make, [_arr(B, 3, 2)], monkeypatch)
    assert tuple(out[0].shape) == (B, 2, 2) and tuple(out[2].shape) == (B, 3)
    check(make, [_arr(3, 2, B)], monkeypatch, in_dims=-1, out_dims=1)
