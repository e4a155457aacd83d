"""Casts, new_* constructors, layout queries and the new top-level constructors and grad
modes, against torch where it has them."""
import numpy as np
import pytest

import minitf as mt


def _dt(t):
    return str(t.dtype).replace("torch.", "")


def test_cast_methods_match_torch(device):
    torch = pytest.importorskip("torch")
    data = np.array([[1.7, -2.2, 0.0]])
    x, xt = mt.tensor(data, dtype="float32", device=device), torch.tensor(data, dtype=torch.float32)
    for name in ("half", "long", "int", "bool", "float", "double"):
        out, outt = getattr(x, name)(), getattr(xt, name)()
        assert _dt(out) == _dt(outt) and out.device == device, name
        np.testing.assert_array_equal(out.numpy(), outt.numpy(), err_msg=name)
    other = mt.tensor([1], device=device)
    assert x.type_as(other).dtype == mt.int64 and x.type_as(x) is x


def test_casts_are_differentiable_between_floats(device):
    x = mt.tensor([1.5, -2.0], dtype="float64", device=device, requires_grad=True)
    (x.half().float() * 3).sum().backward()
    assert x.grad.dtype == mt.float64 and x.grad.tolist() == [3.0, 3.0]
    assert not x.long().requires_grad


def test_view_as_and_reshape_as(device):
    x = mt.arange(6.0, device=device, dtype="float64").requires_grad_()
    y = x.view_as(mt.zeros(2, 3)) * mt.tensor([1.0, 2.0, 3.0], dtype="float64", device=device)
    assert y.shape == (2, 3) and x.reshape_as(mt.zeros(3, 2)).shape == (3, 2)
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]


def test_new_constructors_follow_torch(device):
    torch = pytest.importorskip("torch")
    x = mt.tensor([[1.0]], dtype="float64", device=device)
    xt = torch.tensor([[1.0]], dtype=torch.float64)
    cases = [lambda t: t.new_zeros(2, 3), lambda t: t.new_ones((2,)), lambda t: t.new_full((2, 2), 7),
             lambda t: t.new_tensor([1, 2]), lambda t: t.new_zeros(3, dtype=_int64(t)),
             lambda t: t.new_empty(4).zero_(), lambda t: t.new_ones(2, requires_grad=True)]
    for f in cases:
        out, outt = f(x), f(xt)
        assert out.shape == tuple(outt.shape) and _dt(out) == _dt(outt) and out.device == device
        assert out.requires_grad == outt.requires_grad
        np.testing.assert_array_equal(out.numpy(), outt.detach().numpy())
    assert x.new_zeros(2, device="cpu").device == "cpu"


def _int64(t):
    return mt.int64 if isinstance(t, mt.Tensor) else __import__("torch").int64


def test_layout_queries_match_torch(device):
    torch = pytest.importorskip("torch")
    data = np.arange(24.0).reshape(2, 3, 4)
    x, xt = mt.tensor(data, dtype="float32", device=device), torch.tensor(data, dtype=torch.float32)
    for f in (lambda t: t, lambda t: t.transpose(0, 2), lambda t: t[:, 1:, ::2], lambda t: t.double()):
        a, b = f(x), f(xt)
        assert a.stride() == b.stride() and a.stride(-1) == b.stride(-1)
        assert a.is_contiguous() == b.is_contiguous()
        assert a.element_size() == b.element_size() and a.nelement() == b.nelement()
    assert x.is_cuda == (device != "cpu")  # the fake device stands for a GPU
    with pytest.raises(ValueError, match="out of range"):
        x.stride(3)


def test_as_tensor_shares_when_it_can():
    arr = np.arange(3.0)
    t = mt.as_tensor(arr)
    arr[0] = 5.0
    assert t.dtype == mt.float64 and t[0].item() == 5.0  # shares memory, as torch.as_tensor
    c = mt.as_tensor(arr, dtype=mt.float32)
    arr[1] = 7.0
    assert c.dtype == mt.float32 and c[1].item() == 1.0  # a cast is a copy
    assert mt.as_tensor(t) is t and mt.as_tensor([1, 2]).dtype == mt.int64
    assert mt.as_tensor(t, device="fake").device == "fake" and mt.as_tensor(arr, device="fake").device == "fake"
    assert mt.is_tensor(t) and not mt.is_tensor(arr)


def test_like_constructors(device):
    x = mt.zeros(3, 4, dtype="float64", device=device)
    for f in (mt.empty_like, mt.rand_like, mt.randn_like):
        out = f(x)
        assert out.shape == (3, 4) and out.dtype == mt.float64 and out.device == device
    u = mt.rand_like(x).numpy()
    assert (u >= 0).all() and (u < 1).all() and len(np.unique(u)) == 12
    r = mt.randint_like(x, 2, 5)
    assert r.dtype == mt.float64 and set(np.unique(r.numpy())) <= {2.0, 3.0, 4.0}
    assert mt.randint_like(mt.zeros(50, dtype="int32"), 3).dtype == mt.int32
    with pytest.raises(TypeError, match="randint_like"):
        mt.randint_like(x)


def test_linspace_matches_torch(device):
    torch = pytest.importorskip("torch")
    for args in ((0, 1, 5), (-2.5, 3, 7), (1, 1, 1), (0, 1, 0), (3, -1, 4)):
        out, outt = mt.linspace(*args, device=device), torch.linspace(*args)
        assert out.dtype == mt.float32 and out.device == device
        np.testing.assert_allclose(out.numpy(), outt.numpy(), rtol=1e-6, atol=1e-7)
    assert mt.linspace(0, 1, 3, dtype=mt.float64).dtype == mt.float64
    # float32 values are the float64 ones rounded (not torch's float32 arithmetic, which is off
    # by up to an ulp of the largest end: 9.5e-7 here, as the docstring says)
    out, outt = mt.linspace(-3.7, 11.3, 1001, device=device).numpy(), torch.linspace(-3.7, 11.3, 1001).numpy()
    np.testing.assert_array_equal(out, np.linspace(-3.7, 11.3, 1001).astype(np.float32))
    assert 0 < np.abs(out - outt).max() <= np.spacing(np.float32(11.3))
    with pytest.raises(ValueError, match="steps"):
        mt.linspace(0, 1, -1)


def test_randperm_is_a_seeded_permutation(device):
    mt.manual_seed(3)
    p = mt.randperm(100, device=device)
    mt.manual_seed(3)
    q = mt.randperm(100, device=device)
    assert p.dtype == mt.int64 and p.device == device
    assert sorted(p.tolist()) == list(range(100)) and p.tolist() == q.tolist()
    assert p.tolist() != list(range(100)) and mt.randperm(0).shape == (0,)
    with pytest.raises(ValueError, match="randperm"):
        mt.randperm(-1)


def test_set_grad_enabled_as_function_and_context():
    x = mt.tensor([1.0], requires_grad=True)
    try:
        mt.set_grad_enabled(False)   # a call switches at once and stays
        assert not mt.is_grad_enabled() and not (x * 2).requires_grad
        with mt.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not mt.is_grad_enabled()  # the mode before the with comes back
    finally:
        mt.set_grad_enabled(True)
    with mt.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert mt.is_grad_enabled()
    with pytest.raises(TypeError, match="bool"):
        mt.set_grad_enabled("no")


def test_inference_mode_behaves_as_no_grad():
    x = mt.tensor([1.0], requires_grad=True)
    assert not mt.is_inference_mode_enabled()
    with mt.inference_mode():
        assert not (x * 2).requires_grad and mt.is_inference_mode_enabled()
        with mt.inference_mode(False):
            assert mt.is_grad_enabled() and not mt.is_inference_mode_enabled()  # as torch
        assert not mt.is_grad_enabled() and mt.is_inference_mode_enabled()
    assert mt.is_grad_enabled() and not mt.is_inference_mode_enabled()

    @mt.inference_mode()
    def f(t):
        return t * 2
    assert not f(x).requires_grad and mt.is_grad_enabled()


@pytest.mark.parametrize("value", [np.float64(1.5), np.float32(1.5), np.int32(3), np.int16(-2), np.bool_(True)])
def test_a_numpy_scalar_keeps_its_dtype_as_in_torch(value):
    torch = pytest.importorskip("torch")
    for make, ref in ((mt.tensor, torch.tensor), (mt.as_tensor, torch.as_tensor)):
        t = make(value)
        assert t.shape == () and str(t.dtype) == str(ref(value).dtype).removeprefix("torch.")
        assert t.item() == value


def test_grad_mode_decorators_match_torch():
    """``@set_grad_enabled(False)`` and a bare ``@inference_mode``: the function runs in the
    mode, the mode outside is left alone (it was left off for good, and the call raised)."""
    torch = pytest.importorskip("torch")
    seen = {}
    for m in (mt, torch):
        @m.set_grad_enabled(False)
        def off(t):
            """doc"""
            return (t * 2).requires_grad, m.is_grad_enabled()

        @m.inference_mode
        def inf(t):
            return (t * 2).requires_grad, m.is_inference_mode_enabled()

        outside = m.is_grad_enabled()
        try:
            m.set_grad_enabled(False)

            @m.set_grad_enabled(True)
            def on():
                return m.is_grad_enabled()
            inside_on, after = on(), m.is_grad_enabled()
        finally:
            m.set_grad_enabled(True)
        x = m.tensor([1.0], requires_grad=True)
        seen[m.__name__] = (outside, off(x), m.is_grad_enabled(), off.__name__, off.__doc__,
                            inf(x), inf.__name__, inside_on, after, m.is_grad_enabled())
    assert seen["minitf"] == seen["torch"]
    assert seen["minitf"] == (True, (False, False), True, "off", "doc", (False, True), "inf", True, False, True)
