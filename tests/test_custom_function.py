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


# ---- saved outputs stand for the returned (recorded) output; several outputs; torch's gradient rules


class SqSavesOutput(mt.autograd.Function):
    """x^2 whose backward reads the saved output y: 2 y / x."""

    @staticmethod
    def forward(ctx, x):
        y = x * x
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * 2 * y / x


class ExpSavesOutput(mt.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y


class TwoSavesOutputs(mt.autograd.Function):
    """(exp x, x^2), both saved: backward ga e^x + gb 2 x^2 / x."""

    @staticmethod
    def forward(ctx, x):
        a, b = x.exp(), x * x
        ctx.save_for_backward(x, a, b)
        return a, b

    @staticmethod
    def backward(ctx, ga, gb):
        x, a, b = ctx.saved_tensors
        return ga * a + gb * 2 * b / x


def test_saved_output_is_differentiated_again(device):
    a = np.array([1.0, 2.0, 0.5])
    x = _t(a, device)
    (g,) = mt.autograd.grad(SqSavesOutput.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 2 * a)
    (h,) = mt.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [2.0, 2.0, 2.0])  # d^2/dx^2 x^2 (was -2: y read as a constant)
    (g,) = mt.autograd.grad(ExpSavesOutput.apply(x).sum(), x, create_graph=True)
    (h,) = mt.autograd.grad(g.sum(), x)  # raised "output 0 does not require grad" before
    np.testing.assert_allclose(h.numpy(), np.exp(a), rtol=1e-14)
    xr = _t(np.random.default_rng(5).uniform(0.5, 2.0, (2, 3)), device)
    for fn in (SqSavesOutput.apply, ExpSavesOutput.apply, lambda t: sum(o * o for o in TwoSavesOutputs.apply(t))):
        assert mt.gradcheck(fn, [xr]) and mt.gradgradcheck(fn, [xr])


def test_saved_outputs_of_several_and_a_dropped_one(device):
    a = np.array([1.0, 2.0])
    x = _t(a, device)
    p, q = TwoSavesOutputs.apply(x)
    (g,) = mt.autograd.grad((p + q).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), np.exp(a) + 2 * a, rtol=1e-14)
    (h,) = mt.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), np.exp(a) + 2, rtol=1e-14)
    p = TwoSavesOutputs.apply(x)[0]  # the second output is gone: its saved value is rebuilt on the node
    (g,) = mt.autograd.grad((p * p).sum(), x, create_graph=True)
    (h,) = mt.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 4 * np.exp(2 * a), rtol=1e-14)  # d^2/dx^2 e^2x


def test_saved_non_leaf_input_carries_its_graph(device):
    x = _t([1.0, 2.0], device)
    h = x * 3
    (g,) = mt.autograd.grad(Cube.apply(h, 1.0).sum(), x, create_graph=True)  # 3 (3x)^2 * 3
    (gg,) = mt.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 2 * 81 * np.array([1.0, 2.0]))
    seen = []

    class ReturnsItsInput(mt.autograd.Function):  # the saved x is both input and output: the input, as torch's
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, g):
            (s,) = ctx.saved_tensors
            seen.append(s is h)
            return g * s

    h = x * 3  # afresh: the grad above freed the first one's graph
    ReturnsItsInput.apply(h).sum().backward()
    assert seen == [True] and x.grad.tolist() == [9.0, 18.0]  # 3x * 3


def test_saved_outputs_match_torch():
    torch = pytest.importorskip("torch")

    class TSq(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * x
            ctx.save_for_backward(x, y)
            return y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * 2 * y / x

    class TTwo(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            a, b = x.exp(), x * x
            ctx.save_for_backward(x, a, b)
            return a, b

        @staticmethod
        def backward(ctx, ga, gb):
            x, a, b = ctx.saved_tensors
            return ga * a + gb * 2 * b / x

    v = np.random.default_rng(6).uniform(0.5, 2.0, 4)
    for mine, theirs in ((lambda t: SqSavesOutput.apply(t) ** 3, lambda t: TSq.apply(t) ** 3),
                         (lambda t: TwoSavesOutputs.apply(t)[0] * TwoSavesOutputs.apply(t)[1],
                          lambda t: TTwo.apply(t)[0] * TTwo.apply(t)[1])):
        x, xt = mt.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
        (g,) = mt.autograd.grad(mine(x).sum(), x, create_graph=True)
        (gt,) = torch.autograd.grad(theirs(xt).sum(), xt, create_graph=True)
        np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), rtol=1e-13)
        (h,) = mt.autograd.grad(g.sum(), x)
        (ht,) = torch.autograd.grad(gt.sum(), xt)
        np.testing.assert_allclose(h.numpy(), ht.numpy(), rtol=1e-13)


class Two(mt.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, ga, gb):
        return ga * 2 + gb * 3


class TwoSavesFirst(mt.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        a, b = x * 2, x * 3
        ctx.save_for_backward(a)
        return a, b

    @staticmethod
    def backward(ctx, ga, gb):
        (a,) = ctx.saved_tensors
        return ga * a + gb * 3


def test_an_output_of_several_can_change_in_place(device):
    x = _t([1.0, 2.0], device)
    a, b = Two.apply(x)
    a.add_(1)  # was refused as an in-place change of a reshaped view
    assert a.grad_fn.name() == "AddBackward0" and b.grad_fn.name() == "TwoBackward"
    (a * a + b).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 8 * np.array([1.0, 2.0]) + 7)  # d/dx (2x+1)^2 + 3x
    assert mt.gradcheck(lambda t: (lambda p, q: p.mul_(q) + q)(*Two.apply(t)), [_t([0.3, -1.2], device)])
    p, q = TwoSavesFirst.apply(x)
    q.mul_(2)  # not saved: fine
    x.grad = None
    (p + q).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.0, 2.0]) + 2 * 3)  # ga * a + gb * 3; ga = 1, gb = 2
    p, q = TwoSavesFirst.apply(x)
    p.add_(1)  # saved: backward refuses it, as torch
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (p + q).sum().backward()


def test_an_output_in_place_matches_torch():
    torch = pytest.importorskip("torch")

    class TTwo(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            return ga * 2 + gb * 3

    v = np.array([0.5, -1.5, 2.0])
    x, xt = mt.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    for f, t in ((Two, x), (TTwo, xt)):
        a, b = f.apply(t)
        b.mul_(a)
        (a * b).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-14)


def _returns_grad_of(shape):
    class Bc(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return mt.ones(shape, dtype=g.dtype, device=g.device)
    return Bc


# (input shape, gradient shape): summed down where the input's shape expands to the gradient's, else an error
BROADCAST_CASES = [((2,), (3, 2)), ((2,), (1, 2)), ((3, 1), (3, 4)), ((), (1,)), ((), (3,)),
                   ((3, 2), (2,)), ((2,), (2, 1)), ((1,), ()), ((2,), ()), ((3, 2), (1,))]


def _broadcast_results(make_input, fn_of_shape):
    out = []
    for inshape, gshape in BROADCAST_CASES:
        x = make_input(inshape)
        try:
            fn_of_shape(gshape).apply(x).sum().backward()
            out.append(x.grad.tolist())
        except RuntimeError as e:
            out.append(str(e))
    return out


def test_broadcastable_gradient_is_summed_to_the_input(device):
    got = _broadcast_results(lambda s: mt.zeros(s, dtype=mt.float64, device=device, requires_grad=True),
                             _returns_grad_of)
    assert got[:5] == [[3.0, 3.0], [1.0, 1.0], [[4.0], [4.0], [4.0]], 1.0, 3.0]
    assert got[5] == ("Function BcBackward returned an invalid gradient at index 0 - got [2] but expected "
                      "shape compatible with [3, 2]")
    assert all("returned an invalid gradient" in e for e in got[6:])

    class Spread(mt.autograd.Function):  # x: (2,) -> (3, 2); backward hands back g: (3, 2) unsummed
        @staticmethod
        def forward(ctx, x):
            return x * mt.ones(3, 2, dtype=x.dtype, device=x.device)

        @staticmethod
        def backward(ctx, g):
            return g * 1

    x = _t([0.5, -1.0], device)
    assert mt.gradcheck(Spread.apply, [x]) and mt.gradgradcheck(Spread.apply, [x])


def test_broadcastable_gradient_matches_torch():
    torch = pytest.importorskip("torch")

    def torch_fn(shape):
        class Bc(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return torch.ones(shape, dtype=g.dtype)
        return Bc

    mine = _broadcast_results(lambda s: mt.zeros(s, dtype=mt.float64, requires_grad=True), _returns_grad_of)
    theirs = _broadcast_results(lambda s: torch.zeros(s, dtype=torch.float64, requires_grad=True), torch_fn)
    assert mine == theirs  # the same sums, and the same messages for the refused shapes


# ---- mark_non_differentiable, set_materialize_grads, once_differentiable, mark_dirty


def _sort_like(lib, materialize, seen):
    class SortWithCopy(lib.autograd.Function):
        """(x * 2, x * 3 marked non-differentiable, argmax): backward sees what each output got."""

        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(materialize)
            a, b = x * 2, x * 3
            ctx.mark_non_differentiable(b)
            return a, b, x.argmax()

        @staticmethod
        def backward(ctx, ga, gb, gi):
            seen.append(tuple(None if g is None else g.tolist() for g in (ga, gb, gi)))
            return None if ga is None else ga * 2
    return SortWithCopy


def _non_differentiable_run(lib, tensor, materialize):
    seen = []
    fn = _sort_like(lib, materialize, seen)
    x = tensor([1.0, -2.0, 0.5])
    a, b, i = fn.apply(x)
    flags = (a.requires_grad, b.requires_grad, b.grad_fn is None, i.requires_grad)
    (a.sum() + (b * b).sum()).backward()
    return flags, seen, x.grad.tolist()


def test_mark_non_differentiable_and_materialize_grads(device):
    def tensor(v):
        return _t(v, device)
    flags, seen, grad = _non_differentiable_run(mt, tensor, True)
    assert flags == (True, False, True, False)
    assert seen == [([1.0] * 3, [0.0] * 3, 0)] and grad == [2.0] * 3  # zeros for b and the index
    flags, seen, grad = _non_differentiable_run(mt, tensor, False)
    assert seen == [([1.0] * 3, None, None)] and grad == [2.0] * 3

    class NonDiff(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            ctx.mark_non_differentiable(y)
            return y

        @staticmethod
        def backward(ctx, g):
            raise AssertionError("not called")

    y = NonDiff.apply(tensor([1.0]))
    assert not y.requires_grad and y.grad_fn is None

    class Unused(mt.autograd.Function):  # two outputs, only one used: the other's gradient is None
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, ga, gb):
            assert (ga is None) != (gb is None)
            return 2 * ga if gb is None else 3 * gb

    x = tensor([1.0, 2.0])
    Unused.apply(x)[1].sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    assert mt.gradcheck(lambda t: Unused.apply(t)[0], [x]) and mt.gradgradcheck(lambda t: Unused.apply(t)[1], [x])


def test_mark_non_differentiable_and_materialize_grads_match_torch():
    torch = pytest.importorskip("torch")
    for materialize in (True, False):
        mine = _non_differentiable_run(mt, lambda v: mt.tensor(v, dtype=mt.float64, requires_grad=True), materialize)
        theirs = _non_differentiable_run(torch, lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True),
                                         materialize)
        assert mine == theirs


def _once(lib, once_differentiable):
    class Sq(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            assert not lib.is_grad_enabled()
            return g * 2 * x
    return Sq


def _once_run(lib, fn, x):
    (g,) = lib.autograd.grad(fn.apply(x).sum(), x, create_graph=True)  # seed ones: g needs no grad
    first = (g.tolist(), g.requires_grad)
    (g,) = lib.autograd.grad((fn.apply(x) ** 2).sum(), x, create_graph=True)  # the incoming gradient needs grad
    with pytest.raises(RuntimeError) as e:
        g.sum().backward()  # (grad(g.sum(), x) would say x is unused: the marked gradient is cut from x)
    return first, g.requires_grad, str(e.value)


def test_once_differentiable(device):
    fn = _once(mt, mt.autograd.function.once_differentiable)
    x = _t([1.0, 2.0], device)
    first, marked, error = _once_run(mt, fn, x)
    assert first == ([2.0, 4.0], False) and marked
    assert error == "trying to differentiate twice a function that was marked with @once_differentiable"
    assert mt.gradcheck(fn.apply, [x])
    fn.apply(x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_once_differentiable_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.autograd.function import once_differentiable
    v = [1.0, 2.0]
    mine = _once_run(mt, _once(mt, mt.autograd.function.once_differentiable), mt.tensor(v, requires_grad=True))
    theirs = _once_run(torch, _once(torch, once_differentiable), torch.tensor(v, requires_grad=True))
    assert mine == theirs


def _doubles(lib, saves):
    class Doubles(lib.autograd.Function):
        """x *= 2 in place, marked dirty: the input itself is returned as the output."""

        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            if saves:
                ctx.save_for_backward(x)
            return x

        @staticmethod
        def backward(ctx, g):
            if saves:
                (y,) = ctx.saved_tensors
                return g * y / y * 2
            return g * 2
    return Doubles


def _dirty_run(lib, x, saves):
    h = x * 1
    y = _doubles(lib, saves).apply(h)
    got = (y is h, y.grad_fn.name(), h._version, h.tolist())
    (h * h).sum().backward()
    return got, x.grad.tolist()


def test_mark_dirty(device):
    for saves in (False, True):
        x = _t([1.0, -2.0], device)
        (same, name, version, values), grad = _dirty_run(mt, x, saves)
        assert same and name == "DoublesBackward" and version == 2 and values == [2.0, -4.0]
        assert grad == [8.0, -16.0]  # d/dx (2x)^2
    fn = _doubles(mt, True)
    xr = _t([0.3, -1.1, 2.0], device)
    assert mt.gradcheck(lambda t: fn.apply(t * 1) ** 2, [xr]) and mt.gradgradcheck(lambda t: fn.apply(t * 1) ** 2, [xr])
    h = xr * 1
    z = h * h  # saved h before forward changed it: refused at backward, as torch
    fn.apply(h)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        fn.apply(_t([1.0], device))
    plain = mt.ones(2, device=device)
    assert fn.apply(plain) is plain and plain.tolist() == [2.0, 2.0] and not plain.requires_grad

    class NotReturned(mt.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x * 1

    with pytest.raises(RuntimeError, match="marked as dirty .* not returned as output"):
        NotReturned.apply(xr * 1)


def test_mark_dirty_matches_torch():
    torch = pytest.importorskip("torch")
    for saves in (False, True):
        mine = _dirty_run(mt, mt.tensor([1.0, -2.0], dtype=mt.float64, requires_grad=True), saves)
        theirs = _dirty_run(torch, torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True), saves)
        assert mine == theirs


class HalfPrecisionGrad(mt.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return (g * 2).float()   # a float32 gradient for a float64 input


def test_a_gradient_of_another_dtype_is_cast_to_the_inputs_as_torch(device):
    x = mt.tensor([1.0, 2.0], dtype=mt.float64, device=device, requires_grad=True)
    y = x * 1
    y.retain_grad()                                           # what flows on from the custom node
    HalfPrecisionGrad.apply(y).sum().backward()
    assert y.grad.dtype == x.grad.dtype == mt.float64 and x.grad.tolist() == [2.0, 2.0]
    (g,) = mt.grad(HalfPrecisionGrad.apply(x * 1).sum(), x, create_graph=True)
    assert g.dtype == mt.float64
