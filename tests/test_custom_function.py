"""mt.autograd.Function in torch.autograd.Function's style: static forward(ctx, ...) / backward(ctx, grad),
ctx.save_for_backward / saved_tensors / needs_input_grad, checked with gradcheck and against torch."""
import numpy as np
import pytest

import minitf as mt


class Cube(mt.autograd.Function):
    """scale * x^3, its backward written in Tensor ops (so differentiable again)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return scale * x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * ctx.scale * x ** 2, None


class MulAdd(mt.autograd.Function):
    """a * b + c with a None gradient for c when it needs none."""

    @staticmethod
    def forward(ctx, a, b, c):
        ctx.save_for_backward(a, b)
        return a * b + c

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        assert ctx.needs_input_grad == (True, True, False)
        return grad * b, (grad * a).sum(dim=0), None


def _t(a, device, grad=True):
    return mt.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=grad)


def test_custom_function_gradcheck_and_gradgradcheck(device):
    x = _t(np.random.default_rng(0).standard_normal((2, 3)), device)
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward" and y.device == device
    np.testing.assert_allclose(y.numpy(), 2.0 * x.numpy() ** 3)
    assert mt.gradcheck(lambda t: Cube.apply(t, 2.0), [x])
    assert mt.gradgradcheck(lambda t: Cube.apply(t, 2.0), [x])


def test_custom_function_mixed_arguments_and_broadcast_gradients(device):
    rng = np.random.default_rng(1)
    a, b = _t(rng.standard_normal((4, 3)), device), _t(rng.standard_normal(3), device)
    c = _t(rng.standard_normal((4, 3)), device, grad=False)
    assert mt.gradcheck(lambda p, q: MulAdd.apply(p, q, c), [a, b])
    MulAdd.apply(a, b, c).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(b.numpy(), (4, 3)))
    assert c.grad is None


def test_forward_runs_without_recording_and_nothing_needing_grad_gives_a_leaf():
    seen = []

    class Probe(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(mt.is_grad_enabled())
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    x = mt.ones(2, requires_grad=True)
    assert Probe.apply(x).requires_grad and seen == [False]
    assert Probe.apply(mt.ones(2)).grad_fn is None
    with mt.no_grad():
        assert Probe.apply(x).grad_fn is None


def test_saved_tensor_changed_in_place_is_refused():
    x = mt.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    y = Cube.apply(h, 1.0)
    with mt.no_grad():
        h.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_wrong_gradients_and_outputs_are_errors_naming_the_function():
    class TooFew(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, grad):
            return grad

    class BadShape(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, grad):
            return grad

    class NotATensor(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return 3.0

    class MixedDtypes(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x, x.double()

    x = mt.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="TooFewBackward returned an incorrect number of gradients"):
        TooFew.apply(x, 2.0).sum().backward()
    with pytest.raises(RuntimeError, match="BadShapeBackward returned an invalid gradient at index 0"):
        BadShape.apply(x).backward()
    with pytest.raises(TypeError, match="must return a Tensor or a tuple, got float"):
        NotATensor.apply(x)
    with pytest.raises(TypeError, match="several floating outputs of one dtype"):
        MixedDtypes.apply(x)
    with pytest.raises(TypeError, match="save_for_backward can only save Tensors"):
        class SavesNumber(mt.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(3.0)
                return x
        SavesNumber.apply(x)


def test_engine_ops_are_untouched():
    # the ops' own Function subclasses (forward on arrays, an instance method) keep the engine's apply
    from minitf.ops.reduction import Sum
    assert Sum.apply.__func__ is mt.autograd.Function.apply.__func__
    assert Cube.apply.__func__ is not mt.autograd.Function.apply.__func__


def test_custom_function_matches_torch():
    torch = pytest.importorskip("torch")

    class TorchCube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return scale * x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * ctx.scale * x ** 2, None

    a = np.random.default_rng(2).standard_normal((3, 2))
    x, xt = mt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = Cube.apply(x, 0.5), TorchCube.apply(xt, 0.5)
    (g,) = mt.grad(y.sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad(yt.sum(), xt, create_graph=True)
    np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), rtol=1e-14)
    (h,) = mt.grad(g.sum(), x)
    (ht,) = torch.autograd.grad(gt.sum(), xt)
    np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-14)
    assert y.grad_fn.name() == "CubeBackward" and yt.grad_fn.name() == "TorchCubeBackward"  # class + "Backward"


SEEN = {}  # what the backwards below were given for their integer and number outputs


class SinCosArgmax(mt.autograd.Function):
    """Several outputs: sin x, cos x (both differentiable), argmax (an integer) and a Python number."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin(), x.cos(), x.argmax(), 7

    @staticmethod
    def backward(ctx, g_sin, g_cos, g_idx, g_seven):
        (x,) = ctx.saved_tensors
        SEEN["minitf"] = (g_idx.tolist(), str(g_idx.dtype), g_seven)
        return g_sin * x.cos() - g_cos * x.sin()


def test_several_outputs_gradcheck_and_gradgradcheck(device):
    x = _t(np.random.default_rng(3).standard_normal((2, 3)), device)
    s, c, i, seven = SinCosArgmax.apply(x)
    assert s.requires_grad and c.requires_grad and not i.requires_grad and seven == 7
    assert s.shape == c.shape == (2, 3) and i.dtype == mt.int64 and s.device == device
    np.testing.assert_allclose(c.numpy(), np.cos(x.numpy()))
    assert mt.gradcheck(lambda t: SinCosArgmax.apply(t)[0] * 2 + SinCosArgmax.apply(t)[1] ** 2, [x])
    assert mt.gradgradcheck(lambda t: SinCosArgmax.apply(t)[0] * SinCosArgmax.apply(t)[1], [x])


def test_an_unused_output_gets_zeros_an_integer_one_zeros_a_number_none():
    x = mt.tensor([0.5, 1.5], dtype=mt.float64, requires_grad=True)
    s, c, i, _ = SinCosArgmax.apply(x)
    s.sum().backward()  # cos x unused: its gradient is zeros, so x.grad = cos x
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.5, 1.5]))
    assert SEEN["minitf"] == (0, "int64", None)
    assert s.grad_fn is not None and i.grad_fn is None


def test_several_outputs_match_torch():
    torch = pytest.importorskip("torch")
    seen = {}

    class TorchSinCos(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos(), x.argmax(), 7

        @staticmethod
        def backward(ctx, g_sin, g_cos, g_idx, g_seven):
            (x,) = ctx.saved_tensors
            seen["torch"] = (g_idx.tolist(), str(g_idx.dtype), g_seven)
            return g_sin * x.cos() - g_cos * x.sin()

    a = np.random.default_rng(4).standard_normal(4)
    x, xt = mt.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    s, c, i, n = SinCosArgmax.apply(x)
    st, ct, it, nt = TorchSinCos.apply(xt)
    assert (i.item(), n, i.requires_grad) == (it.item(), nt, it.requires_grad)
    (3 * s + c * c).sum().backward()
    (3 * st + ct * ct).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-14)
    assert seen["torch"] == (0, "torch.int64", None)  # zeros of the integer output's shape and dtype
    assert SEEN["minitf"] == (0, "int64", None)
