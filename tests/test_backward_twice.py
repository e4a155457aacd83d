"""A second backward without retain_graph, as torch's: a node that saved no tensor (SumBackward0 keeps
sizes, AddBackward0 nothing, a basic index's SliceBackward0 its bounds) runs again and the leaves
accumulate twice; one that saved a tensor (x * x, x * 2: the number is a saved tensor in torch too,
an advanced index's indices) was freed and the second pass raises torch's "second time" error."""
import numpy as np
import pytest

import minitf as mt

torch = pytest.importorskip("torch")

# name -> f(lib, x, w, c): x, w (3, 4) requiring grad, c (3, 4) a constant; a scalar result
CASES = {
    "sum": lambda L, x, w, c: x.sum(),
    "sum_dim": lambda L, x, w, c: x.sum(1).sum(),
    "mean_dim": lambda L, x, w, c: x.mean(0).sum(),
    "add": lambda L, x, w, c: (x + w).sum(),
    "add_const": lambda L, x, w, c: (x + c + 2).sum(),
    "add_alpha": lambda L, x, w, c: L.add(x, w, alpha=3).sum(),
    "sub_alpha": lambda L, x, w, c: L.sub(x, w, alpha=2).sum(),
    "rsub_neg": lambda L, x, w, c: (2 - (-x)).sum(),
    "mul_scalar": lambda L, x, w, c: (x * 2).sum(),
    "div_scalar": lambda L, x, w, c: (x / 2).sum(),
    "mul_self": lambda L, x, w, c: (x * x).sum(),
    "mul_const": lambda L, x, w, c: (x * c).sum(),
    "expand": lambda L, x, w, c: x[:1].expand(5, 4).sum(),
    "reshape_view": lambda L, x, w, c: x.reshape(12).view(2, 6).flatten().sum(),
    "squeeze": lambda L, x, w, c: x.unsqueeze(0).squeeze(0).sum(),
    "permute_transpose": lambda L, x, w, c: x.permute(1, 0).transpose(0, 1).t().sum(),
    "getitem_basic": lambda L, x, w, c: x[1:, ::2].sum() + x[1].sum() + x[..., None].sum(),
    "getitem_indices": lambda L, x, w, c: x[L.tensor([0, 2])].sum(),
    "getitem_mask": lambda L, x, w, c: x[c > 0].sum(),
    "split_unbind_narrow": lambda L, x, w, c: x.split(2)[0].sum() + x.unbind(0)[1].sum() + x.narrow(1, 1, 2).sum(),
    "cat_stack": lambda L, x, w, c: L.cat([x, w]).sum() + L.stack([x, w]).sum(),
    "clone_contiguous": lambda L, x, w, c: x.clone().t().contiguous().sum(),
    "cast": lambda L, x, w, c: x.float().sum(),
    "repeat_flip_roll": lambda L, x, w, c: x.repeat(2, 1).flip(0).roll(1, 0).sum(),
    "tril_diagonal_cumsum": lambda L, x, w, c: x.tril().diagonal().sum() + x.cumsum(0).sum(),
    "floor_sign": lambda L, x, w, c: (x.floor() + x.sign()).sum(),
    "exp": lambda L, x, w, c: x.exp().sum(),
    "relu": lambda L, x, w, c: x.relu().sum(),
    "matmul": lambda L, x, w, c: (x @ w.t()).sum(),
    "gather": lambda L, x, w, c: x.gather(1, L.tensor([[0], [1], [2]])).sum(),
    "max_dim": lambda L, x, w, c: x.max(1)[0].sum(),
    "where": lambda L, x, w, c: L.where(c > 0, x, w).sum(),
    # torch's IndexBackward0 (x[True] is a 0-d mask: its indices saved), SgnBackward0 (x and the result saved)
    "getitem_bool": lambda L, x, w, c: x[True].sum() + x[1, True].sum(),
    "sgn": lambda L, x, w, c: x.sgn().sum(),
    # nodes that keep sizes or dims only, also where minitf's op is a subclass or a view of another
    "diagonal_scatter_unfold": lambda L, x, w, c: L.diagonal_scatter(x, w[0, :3]).sum() + x.unfold(1, 2, 1).sum(),
    "pad_round_trunc_ceil": lambda L, x, w, c: L.nn.functional.pad(x, (1, 2), value=3.0).sum()
    + (x.round() + x.trunc() + x.ceil()).sum(),
    # nodes that keep only sizes, numbers or indices of their own making (torch's DiagBackward0,
    # FracBackward0, a number-weighted LerpBackward0, one-operand einsum's views and sums)
    "frac_deg_rad": lambda L, x, w, c: (x.frac() + L.deg2rad(x) + L.rad2deg(x)).sum(),
    "diag_diagflat": lambda L, x, w, c: L.diag(x).sum() + L.diag(x, 1).sum() + L.diag(x[0]).sum()
    + L.diag(x[1], -2).sum() + L.diagflat(x[:2]).sum(),
    "repeat_interleave": lambda L, x, w, c: x.repeat_interleave(2).sum() + x.repeat_interleave(3, dim=1).sum(),
    "lerp_number": lambda L, x, w, c: L.lerp(x, w, 0.3).sum(),
    "lerp_tensor": lambda L, x, w, c: L.lerp(x, w, c).sum(),
    "einsum_one": lambda L, x, w, c: L.einsum("ii->", x[:, :3]) + L.einsum("ij->", x) + L.einsum("ij->i", x).sum()
    + L.einsum("ij->ji", x).sum() + L.einsum("ii->i", x[:, :3]).sum(),
    "einsum_two": lambda L, x, w, c: L.einsum("ij,kj->ik", x, w).sum(),
    "scatters": lambda L, x, w, c: L.select_scatter(x, w[0], 0, 1).sum() + L.slice_scatter(x, w[:2], 0, 0, 2).sum(),
    "trapezoid": lambda L, x, w, c: L.trapezoid(x).sum() + L.trapezoid(x, dx=0.5, dim=0).sum()
    + L.cumulative_trapezoid(x).sum() + L.cumulative_trapezoid(x, dx=2.0).sum(),
    "trapezoid_x": lambda L, x, w, c: L.trapezoid(x, L.arange(4.0, dtype=L.float64)).sum(),
    "complex_views": lambda L, x, w, c: L.complex(x, w).real.sum() + L.view_as_real(L.complex(x, w)).sum()
    + L.view_as_complex(L.stack([x, w], -1)).imag.sum(),
}


def _grads(lib, tensors):
    # (force=True: torch's gradient of sgn is a ZeroTensor, which numpy() refuses otherwise)
    return [None if t.grad is None else t.grad.numpy(**({"force": True} if lib is torch else {})).copy()
            for t in tensors]


def _run(lib, name):
    rng = np.random.default_rng(0)
    x, w, c = (lib.tensor(rng.standard_normal((3, 4)), dtype=lib.float64, requires_grad=k < 2) for k in range(3))
    y = CASES[name](lib, x, w, c)
    y.backward()
    first = _grads(lib, (x, w))
    try:
        y.backward()
    except RuntimeError as e:
        assert "second time" in str(e).lower()
        return first, None
    return first, _grads(lib, (x, w))


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_second_backward_runs_or_raises_as_torchs(name):
    (mt_first, mt_second), (t_first, t_second) = _run(mt, name), _run(torch, name)
    assert (mt_second is None) == (t_second is None), "torch " + ("raises" if t_second is None else "runs again")
    for got, want in zip(mt_first, t_first):
        assert (got is None) == (want is None)
        if got is not None:
            np.testing.assert_allclose(got, want, rtol=1e-12)
    if t_second is not None:
        for got, want, once in zip(mt_second, t_second, t_first):
            if once is not None:
                np.testing.assert_allclose(got, want, rtol=1e-12)
                np.testing.assert_allclose(got, 2 * once, rtol=1e-12)


def test_a_node_that_saved_nothing_runs_again_in_the_general_walk_and_under_create_graph():
    x = mt.tensor([1.0, 2.0], dtype=mt.float64, requires_grad=True)
    y = (x.reshape(2, 1) + x.reshape(1, 2)).sum()
    y.backward()
    x.register_hook(lambda g: g * 10)   # the general walk (a tensor hook)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4 + 40, 4 + 40])
    (g,) = mt.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), [40, 40])


class _SavesNothing(mt.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 3

    @staticmethod
    def backward(ctx, g):
        return g * 3


class _KeepsAnAttribute(_SavesNothing):   # a tensor as a ctx attribute is not a saved tensor (torch frees none)
    @staticmethod
    def forward(ctx, x):
        ctx.t = x.detach() * 2
        return x * 3

    @staticmethod
    def backward(ctx, g):
        return g * ctx.t


class _SavesNone(_SavesNothing):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(None)
        return x * 3


class _SavesItsInput(_SavesNothing):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x


class _TwoOutputs(_SavesNothing):   # each output an _Unpack of the node's token
    @staticmethod
    def forward(ctx, x):
        return x * 3, x * 2

    @staticmethod
    def backward(ctx, g1, g2):
        return g1 * 3 + g2 * 2


@pytest.mark.parametrize("cls, runs_again, once", [(_SavesNothing, True, [3, 3]), (_KeepsAnAttribute, True, [2, 4]),
                                                    (_SavesNone, True, [3, 3]), (_SavesItsInput, False, [1, 2]),
                                                    (_TwoOutputs, True, [5, 5])])
def test_a_custom_function_runs_again_unless_it_saved_a_tensor(cls, runs_again, once):
    # torch 2.13 does the same for each (checked: a Function that saved nothing runs again)
    x = mt.tensor([1.0, 2.0], dtype=mt.float64, requires_grad=True)
    out = cls.apply(x)
    y = sum(o.sum() for o in out) if isinstance(out, tuple) else out.sum()
    y.backward()
    assert x.grad.tolist() == once
    if runs_again:
        y.backward()
        assert x.grad.tolist() == [2 * v for v in once]
    else:
        with pytest.raises(RuntimeError, match="second time"):
            y.backward()
