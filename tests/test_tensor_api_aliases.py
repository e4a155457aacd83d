"""torch's other names (minitf/tensor_api.py), the in-place family (ops/inplace_family.py), the
type and layout queries, torch's top-level functional names (ops/torch_functions.py) and the
semantic fixes of the tensor API group, against torch 2.13."""
import warnings

import numpy as np
import pytest

import minitf as mt
from minitf import functional as F
from minitf.ops.inplace_family import FUNCTIONS
from minitf.tensor_api import METHOD_ALIASES

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((3, 4))


def test_every_alias_is_its_target_itself():
    for alias, target in METHOD_ALIASES.items():
        assert getattr(mt.Tensor, alias) is getattr(mt.Tensor, target), alias
    for alias, target in [("absolute", "abs"), ("negative", "neg"), ("multiply", "mul"), ("subtract", "sub"),
                          ("greater", "gt"), ("greater_equal", "ge"), ("less", "lt"), ("less_equal", "le"),
                          ("not_equal", "ne"), ("fix", "trunc"), ("ger", "outer"),
                          ("argwhere", "nonzero"), ("celu", None), ("rms_norm", None)]:
        if target is not None:
            assert getattr(mt, alias) is getattr(mt, target), alias
    assert mt.celu is F.celu and mt.rms_norm is F.rms_norm and mt.layer_norm is F.layer_norm
    assert mt.is_nonzero is mt.Tensor.is_nonzero and mt.cos_ is mt.Tensor.cos_


# (alias, args after x): each Tensor alias called on float tensors, against torch's of the same name
_ARGS = {"multiply": (B,), "subtract": (B,), "greater": (B,), "greater_equal": (B,), "less": (B,),
         "less_equal": (B,), "not_equal": (B,), "multiply_": (B,), "subtract_": (B,), "divide_": (B,),
         "true_divide_": (B,), "greater_": (B,), "greater_equal_": (B,), "less_": (B,), "less_equal_": (B,),
         "not_equal_": (B,), "clip_": (-0.5, 0.5), "swapaxes_": (0, 1), "swapdims_": (0, 1),
         "split_with_sizes": ([1, 3], 1), "unsafe_split": (2, 1), "unsafe_split_with_sizes": ([2, 1],),
         "unsafe_chunk": (2, 1)}
_ONE_D = {"ger": (B[0],), "vdot": (B[0],)}


def _pair(a, b=None):
    return mt.tensor(a), torch.tensor(a)


def _args(args, lib):
    return [lib.tensor(a) if isinstance(a, np.ndarray) else a for a in args]


def _same(m, t):
    if isinstance(t, (tuple, list)):
        assert len(m) == len(t)
        for a, b in zip(m, t):
            _same(a, b)
    elif isinstance(t, torch.Tensor):
        np.testing.assert_allclose(np.asarray(m.detach().numpy(), dtype=float), t.detach().double().numpy(), rtol=1e-6, atol=1e-12)
        assert tuple(m.shape) == tuple(t.shape)
    else:
        assert m == t


@pytest.mark.parametrize("alias", sorted(METHOD_ALIASES))
def test_each_method_alias_matches_torch(alias):
    x = A[0] if alias in _ONE_D else A
    args = _ONE_D.get(alias, _ARGS.get(alias, ()))
    m, t = mt.tensor(x), torch.tensor(x)
    _same(getattr(m, alias)(*_args(args, mt)), getattr(t, alias)(*_args(args, torch)))
    _same(m, t)   # in place: the tensor itself changed alike


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_in_place_form_matches_torch_in_values_and_gradient(name):
    args = {"clamp_min_": (0.1,), "clamp_max_": (0.1,), "tril_": (0,), "triu_": (1,), "cumsum_": (1,),
            "cumprod_": (1,), "nan_to_num_": (), "scatter_reduce_": None}.get(name, (B,) if name[:-1] in (
                "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor") else ())
    if name == "scatter_reduce_":
        idx = np.array([[0, 1, 0, 1]] * 3)
        args = (1, idx, B, "sum")
    if name == "renorm_":
        args = (2, 0, 1.0)
    if name in ("gcd_", "lcm_"):   # integers only, never recorded
        m, t = mt.tensor([4, 6, -9]), torch.tensor([4, 6, -9])
        assert getattr(m, name)(mt.tensor([6, 4, 6])) is m
        assert getattr(t, name)(torch.tensor([6, 4, 6])).tolist() == m.tolist()
        return
    if name == "bitwise_not_":
        m, t = mt.tensor([1, 2, -3]), torch.tensor([1, 2, -3])
        assert getattr(m, name)() is m and getattr(t, name)().tolist() == m.tolist()
        return
    x = np.abs(A) + 0.5 if name in ("rsqrt_", "reciprocal_", "log1p_") else A
    leaf_m, leaf_t = mt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    m, t = leaf_m * 1, leaf_t * 1
    rm, rt = getattr(m, name)(*_args(args, mt)), getattr(t, name)(*_args(args, torch))
    assert rm is m and rm.requires_grad == rt.requires_grad
    _same(m, t)
    cot = RNG.standard_normal(A.shape)
    (m * mt.tensor(cot)).sum().backward()
    (t * torch.tensor(cot)).sum().backward()
    _same(leaf_m.grad, leaf_t.grad)


def test_in_place_forms_gradcheck_and_fake_device(device):
    x = mt.tensor(np.abs(A) + 0.5, dtype=mt.float64, device=device, requires_grad=True)
    for name in ("cos_", "rsqrt_", "cumsum_", "tril_", "clamp_min_"):
        extra = {"cumsum_": (1,), "tril_": (0,), "clamp_min_": (0.9,)}.get(name, ())
        assert mt.gradcheck(lambda a: getattr(a * 1, name)(*extra), (x,)), name


def test_in_place_forms_raise_torch_errors():
    leaf = mt.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.cos_()
    with pytest.raises(RuntimeError, match="^cos_: a view of a leaf Variable that requires grad"):
        leaf[0:1].cos_()   # torch's words, and the op's name (not setitem's)
    with pytest.raises(RuntimeError, match="can't be cast"):
        mt.tensor([1, 2]).cos_()   # torch: result type Float can't be cast to Long
    a = mt.tensor([1.0, 2.0], requires_grad=True)
    b = a * 1
    c = b * b      # saves b
    b.sin_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.sum().backward()
    with mt.no_grad():
        leaf.cos_()    # allowed, as torch
    np.testing.assert_allclose(leaf.detach().numpy(), np.cos([1.0, 2.0]), rtol=1e-6)


def test_comparison_in_place_keeps_the_graph_with_zero_gradient_as_torch():
    a = mt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = a * 2
    b.eq_(mt.tensor([2.0, 0.0, 6.0]))
    assert b.requires_grad and b.tolist() == [1.0, 0.0, 1.0]
    b.sum().backward()
    assert a.grad.tolist() == [0.0, 0.0, 0.0]
    leaf = mt.tensor([1.0, 0.0, 2.0], requires_grad=True)   # the logical ones are not recorded, as torch's
    leaf.logical_and_(mt.tensor([1.0, 1.0, 0.0]))
    assert leaf.is_leaf and leaf.tolist() == [1.0, 0.0, 0.0]
    i = mt.tensor([1, 2, 3])
    assert i.eq_(2).tolist() == [0, 1, 0] and i.dtype == mt.int64


def test_top_level_in_place_and_tensor_functions_match_torch():
    for name in ("abs_", "cos_", "sin_", "exp_", "rsqrt_", "sigmoid_", "tanh_", "floor_", "round_", "trunc_",
                 "reciprocal_", "square_", "neg_", "negative_", "fix_", "frac_", "zero_", "arctan_", "expm1_"):
        m, t = mt.tensor(np.abs(A) + 0.5), torch.tensor(np.abs(A) + 0.5)
        assert getattr(mt, name)(m) is m
        getattr(torch, name)(t)
        _same(m, t)
    m, t = mt.tensor(A), torch.tensor(A)
    _same(mt.clamp_(m, -0.1, 0.2), torch.clamp_(t, -0.1, 0.2))
    _same(mt.fill(m, 2.5), torch.fill(t, 2.5))
    _same(mt.select(m, 1, -1), torch.select(t, 1, -1))
    _same(mt.msort(m), torch.msort(t))
    _same(mt.rsub(m, 2.0, alpha=3), torch.rsub(t, 2.0, alpha=3))
    _same(mt.split_with_sizes(m, [2, 2], 1), torch.split_with_sizes(t, [2, 2], 1))
    _same(mt.masked_fill(m, m > 0, 0.0), torch.masked_fill(t, t > 0, 0.0))
    _same(mt.constant_pad_nd(m, [1, 2], 3.0), torch.constant_pad_nd(t, [1, 2], 3.0))
    _same(m.sum_to_size(1, 4), t.sum_to_size(1, 4))
    with pytest.raises(mt.errors.ShapeError, match="not expandable"):
        m.sum_to_size(2, 4)
    with pytest.raises(IndexError, match="out of range"):
        m.select(0, 3)


def test_index_put_matches_torch_with_accumulate_and_gradients():
    x = RNG.standard_normal((4, 3))
    idx = (np.array([0, 2, 0]), np.array([1, 1, 1]))
    v = np.array([1.0, 2.0, 3.0])
    for acc in (False, True):
        if not acc:
            idx_, v_ = (np.array([0, 2]), np.array([1, 1])), v[:2]
        else:
            idx_, v_ = idx, v
        mx, tx = mt.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        mv, tv = mt.tensor(v_, requires_grad=True), torch.tensor(v_, requires_grad=True)
        rm = mt.index_put(mx, tuple(mt.tensor(i) for i in idx_), mv, acc)
        rt = torch.index_put(tx, tuple(torch.tensor(i) for i in idx_), tv, acc)
        _same(rm, rt)
        cot = RNG.standard_normal((4, 3))
        (rm * mt.tensor(cot)).sum().backward()
        (rt * torch.tensor(cot)).sum().backward()
        _same(mx.grad, tx.grad)
        _same(mv.grad, tv.grad)
        m, t = mt.tensor(x), torch.tensor(x)
        m.index_put_(tuple(mt.tensor(i) for i in idx_), mt.tensor(v_), accumulate=acc)
        t.index_put_(tuple(torch.tensor(i) for i in idx_), torch.tensor(v_), accumulate=acc)
        _same(m, t)


def test_queries_match_torch(device):
    for dt, tdt in [("float32", torch.float32), ("int64", torch.int64), ("uint8", torch.uint8),
                    ("bool", torch.bool), ("int8", torch.int8), ("float64", torch.float64)]:
        m, t = mt.zeros((2, 3), dtype=dt), torch.zeros((2, 3), dtype=tdt)
        assert (m.is_signed(), m.is_complex(), m.nbytes, m.itemsize, m.element_size()) == \
               (t.is_signed(), t.is_complex(), t.nbytes, t.itemsize, t.element_size()), dt
        assert mt.is_signed(m) == torch.is_signed(t) and mt.is_complex(m) is False
    m, t = mt.tensor(A), torch.tensor(A)
    assert m.is_cpu and m.get_device() == t.get_device() == -1
    assert mt.zeros(2, device=device).get_device() == (-1 if device == "cpu" else 0)
    assert m.ndimension() == t.ndimension() and m.is_same_size(mt.tensor(B)) and not m.is_same_size(m[0])
    assert mt.is_same_size(m, m) and not m.is_inference() and not m.is_neg() and m.resolve_neg() is m
    for v in ([0.0], [2.0], [[0.5]]):
        assert mt.tensor(v).is_nonzero() == torch.tensor(v).is_nonzero() == mt.is_nonzero(mt.tensor(v))
    for v in ([], [1.0, 2.0]):
        with pytest.raises(RuntimeError, match="Boolean value of Tensor with .* is ambiguous"):
            mt.tensor(v).is_nonzero()
        with pytest.raises(RuntimeError, match="Boolean value of Tensor with .* is ambiguous"):
            torch.tensor(v).is_nonzero()
    _same(m.H, t.H)
    _same(m.mH, t.mH)
    _same(m.adjoint(), t.adjoint())
    x3 = RNG.standard_normal((2, 3, 4))
    _same(mt.tensor(x3).mH, torch.tensor(x3).mH)
    with pytest.raises(mt.errors.DimError, match="only supported on matrices"):
        mt.tensor(x3).H
    for perm in [(0, 1, 2), (2, 0, 1), (1, 2, 0)]:
        assert mt.tensor(x3).permute(perm).dim_order() == torch.tensor(x3).permute(perm).dim_order()
    assert (m.byte().dtype, m.char().dtype, m.short().dtype) == (mt.uint8, mt.int8, mt.int16)


def test_top_level_functional_names_take_torch_argument_orders():
    x = torch.tensor(RNG.standard_normal((4, 3, 5)))
    w, b = torch.tensor(RNG.standard_normal(3)), torch.tensor(RNG.standard_normal(3))
    rm, rv = torch.tensor(RNG.standard_normal(3)), torch.tensor(np.abs(RNG.standard_normal(3)) + 0.5)
    m = lambda t: mt.tensor(t.numpy())  # noqa: E731
    _same(mt.batch_norm(m(x), m(w), m(b), m(rm), m(rv), False, 0.1, 1e-5, True),
          torch.batch_norm(x, w, b, rm, rv, False, 0.1, 1e-5, True))
    _same(mt.instance_norm(m(x), m(w), m(b), None, None, True, 0.1, 1e-5, True),
          torch.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, True))
    _same(mt.group_norm(m(x), 3, m(w), m(b)), torch.group_norm(x, 3, w, b))
    _same(mt.layer_norm(m(x), [5]), torch.layer_norm(x, [5]))
    table, ids = torch.tensor(RNG.standard_normal((6, 2))), torch.tensor([[0, 5], [2, 2]])
    _same(mt.embedding(m(table), m(ids)), torch.embedding(table, ids))
    _same(mt.dropout(m(x), 0.5, False), torch.dropout(x, 0.5, False))
    p, q = torch.log_softmax(x, -1), torch.softmax(torch.tensor(RNG.standard_normal((4, 3, 5))), -1)
    for red in (0, 1, 2):
        with warnings.catch_warnings():
            warnings.simplefilter("error")   # torch.kl_div warns about 'mean' nowhere, nor does mt.kl_div
            _same(mt.kl_div(m(p), m(q), red), torch.kl_div(p, q, red))
    y = torch.tensor(RNG.random((4, 3, 5)))
    _same(mt.binary_cross_entropy_with_logits(m(x), m(y), None, None, 2),
          torch.binary_cross_entropy_with_logits(x, y, None, None, 2))
    x1, x2 = torch.tensor(RNG.standard_normal((4, 3))), torch.tensor(RNG.standard_normal((4, 3)))
    sgn = torch.tensor([1.0, -1.0, 1.0, -1.0])
    _same(mt.cosine_embedding_loss(m(x1), m(x2), m(sgn), 0.1, 0), torch.cosine_embedding_loss(x1, x2, sgn, 0.1, 0))
    _same(mt.hinge_embedding_loss(m(x1), m(torch.sign(x2)), 0.5, 2),
          torch.hinge_embedding_loss(x1, torch.sign(x2), 0.5, 2))
    _same(mt.margin_ranking_loss(m(x1[:, 0]), m(x2[:, 0]), m(sgn), 0.2, 1),
          torch.margin_ranking_loss(x1[:, 0], x2[:, 0], sgn, 0.2, 1))
    _same(mt.triplet_margin_loss(m(x1), m(x2), m(x1 * 2), 1.0, 2.0, 1e-6, False, 1),
          torch.triplet_margin_loss(x1, x2, x1 * 2, 1.0, 2.0, 1e-6, False, 1))
    _same(mt.poisson_nll_loss(m(x1), m(x2.abs()), True, False, 1e-8, 1),
          torch.poisson_nll_loss(x1, x2.abs(), True, False, 1e-8, 1))
    _same(mt.cosine_similarity(m(x1), m(x2)), torch.cosine_similarity(x1, x2))
    _same(mt.pairwise_distance(m(x1), m(x2)), torch.pairwise_distance(x1, x2))
    for name in ("celu", "selu", "hardshrink"):
        _same(getattr(mt, name)(m(x1)), getattr(torch, name)(x1))
    _same(mt.threshold(m(x1), 0.1, 2.0), torch.threshold(x1, 0.1, 2.0))
    pw = torch.tensor([0.25], dtype=x1.dtype)
    _same(mt.prelu(m(x1), m(pw)), torch.prelu(x1, pw))
    _same(mt.rms_norm(m(x1), [3]), torch.rms_norm(x1, [3]))
    with pytest.raises(mt.errors.ArgumentError, match="reduction must be"):
        mt.kl_div(m(p), m(q), 3)


def test_recurrent_cells_from_raw_weights_match_torch():
    B_, I, H = 2, 3, 4
    x, h, c = (torch.tensor(RNG.standard_normal(s)) for s in ((B_, I), (B_, H), (B_, H)))
    m = lambda t: mt.tensor(t.numpy())  # noqa: E731
    for name, k in (("rnn_tanh_cell", 1), ("rnn_relu_cell", 1), ("gru_cell", 3), ("lstm_cell", 4)):
        w_ih, w_hh = torch.tensor(RNG.standard_normal((k * H, I))), torch.tensor(RNG.standard_normal((k * H, H)))
        b_ih, b_hh = torch.tensor(RNG.standard_normal(k * H)), torch.tensor(RNG.standard_normal(k * H))
        hx_t, hx_m = ((h, c), (m(h), m(c))) if name == "lstm_cell" else (h, m(h))
        _same(getattr(mt, name)(m(x), hx_m, m(w_ih), m(w_hh), m(b_ih), m(b_hh)),
              getattr(torch, name)(x, hx_t, w_ih, w_hh, b_ih, b_hh))


def test_relu_keeps_the_sign_of_zero_as_torch(device):
    x = mt.tensor([-0.0, 0.0, -1.0, float("nan")], device=device)
    r = F.relu(x).numpy()
    assert np.signbit(r[0]) and not np.signbit(r[1]) and np.isnan(r[3])
    assert np.array_equal(np.signbit(r), torch.relu(torch.tensor([-0.0, 0.0, -1.0, float("nan")])).signbit().numpy())


def test_median_of_all_shares_the_gradient_among_ties_as_torch():
    for v in ([1.0, 2.0, 2.0, 3.0, 2.0], [[1.0, 2.0], [2.0, float("nan")]], [4.0, 4.0], [5.0]):
        m, t = mt.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
        rm, rt = m.median(), t.median()
        rm.backward()
        rt.backward()
        _same(m.grad, t.grad)
        assert rm.grad_fn.name() == "MedianBackward0"
    x = mt.tensor(RNG.standard_normal(7), dtype=mt.float64, requires_grad=True)
    assert mt.gradcheck(lambda a: a.median(), (x,)) and mt.gradgradcheck(lambda a: a.median() ** 2, (x,))


def test_numpy_of_a_tensor_that_requires_grad_is_kept_as_documented():
    # a kept difference (docs/api.md): torch raises 'Can't call numpy() on Tensor that requires grad'
    x = mt.tensor([1.0], requires_grad=True)
    assert x.numpy().tolist() == [1.0]
    with pytest.raises(RuntimeError, match="requires grad"):
        torch.tensor([1.0], requires_grad=True).numpy()


@pytest.mark.parametrize("name, args", [("alias_copy", ()), ("detach_copy", ()), ("diagonal_copy", (0, 0, 1)),
                                        ("expand_copy", ((2, 3, 4),)), ("permute_copy", ((1, 0),)),
                                        ("select_copy", (1, -1)), ("split_copy", (2, 1)),
                                        ("split_with_sizes_copy", ([1, 3], 1)), ("squeeze_copy", ()),
                                        ("t_copy", ()), ("transpose_copy", (0, 1)), ("unbind_copy", (1,)),
                                        ("unfold_copy", (1, 2, 1)), ("unsqueeze_copy", (0,)),
                                        ("view_copy", ((4, 3),))])
def test_copy_functions_match_torch_and_own_their_memory(name, args):
    leaf_m, leaf_t = mt.tensor(A, requires_grad=True), torch.tensor(A, requires_grad=True)
    rm, rt = getattr(mt, name)(leaf_m, *args), getattr(torch, name)(leaf_t, *args)
    _same(rm, rt)
    outs = rm if isinstance(rm, (tuple, list)) else [rm]
    assert all(not np.shares_memory(o.data, leaf_m.data) for o in outs)
    if name != "detach_copy":
        sum(o.sum() * (i + 1) for i, o in enumerate(outs)).backward()
        sum(o.sum() * (i + 1) for i, o in enumerate(rt if isinstance(rt, (tuple, list)) else [rt])).backward()
        _same(leaf_m.grad, leaf_t.grad)


def test_fill_gradient_goes_to_the_value_as_torch(device):
    x = mt.tensor(A, device=device, requires_grad=True)
    v = mt.tensor(2.0, dtype=mt.float64, device=device, requires_grad=True)
    tx, tv = torch.tensor(A, requires_grad=True), torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    r, rt = mt.fill(x, v), torch.fill(tx, tv)
    assert r.device == x.device
    r.sum().backward()
    rt.sum().backward()
    _same(x.grad.cpu(), tx.grad)
    _same(v.grad.cpu(), tv.grad)
    assert mt.fill(mt.tensor([1, 2]), 2.7).tolist() == torch.fill(torch.tensor([1, 2]), 2.7).tolist()


def test_index_put_gradcheck_on_both_devices(device):
    x = mt.tensor(RNG.standard_normal((4, 3)), dtype=mt.float64, device=device, requires_grad=True)
    v = mt.tensor(RNG.standard_normal(3), dtype=mt.float64, device=device, requires_grad=True)
    idx = (mt.tensor([0, 2, 0], device=device), mt.tensor([1, 1, 1], device=device))
    assert mt.gradcheck(lambda a, b: mt.index_put(a, idx, b, accumulate=True), (x, v))
    assert mt.gradgradcheck(lambda a, b: mt.index_put(a, idx, b, accumulate=True) ** 2, (x, v))


def test_fill_diagonal_and_broadcast_shapes_match_torch():
    for shape, wrap in [((3, 3), False), ((7, 3), True), ((7, 3), False), ((3, 5), False), ((2, 2, 2), False)]:
        m, t = mt.zeros(shape), torch.zeros(shape)
        assert m.fill_diagonal_(5.0, wrap=wrap) is m
        _same(m, t.fill_diagonal_(5.0, wrap=wrap))
    leaf_m, leaf_t = mt.zeros((3, 3), requires_grad=True), torch.zeros((3, 3), requires_grad=True)
    (leaf_m * 1).fill_diagonal_(2.0).sum().backward()
    (leaf_t * 1).fill_diagonal_(2.0).sum().backward()
    _same(leaf_m.grad, leaf_t.grad)
    with pytest.raises(mt.errors.ShapeError, match="equal length"):
        mt.zeros((2, 3, 2)).fill_diagonal_(1.0)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf_m.fill_diagonal_(1.0)
    assert mt.broadcast_shapes((2, 1), (3,)) == torch.broadcast_shapes((2, 1), (3,)) == (2, 3)
    assert isinstance(mt.broadcast_shapes(4, (1,)), mt.Size)
    with pytest.raises(mt.errors.ShapeError, match="cannot be broadcast"):
        mt.broadcast_shapes((2,), (3,))
    assert mt.promote_types(mt.int32, mt.float16) == mt.float16 and mt.promote_types(mt.uint8, mt.int8) == mt.int16


def test_every_name_of_the_group_is_torch_s():
    from minitf.tensor_api import APIMethods
    methods = set(METHOD_ALIASES) | set(FUNCTIONS) | {n for n in vars(APIMethods) if not n.startswith("_")}
    assert sorted(n for n in methods if not hasattr(torch.Tensor, n)) == []
    top = {n for names in mt._TENSOR_API_GROUPS.values() for n in names}
    assert sorted(n for n in top if not hasattr(torch, n)) == []
    assert all(callable(getattr(mt, n)) for n in top)
