"""mt.autograd.Function with several outputs: backward allocates no gradient buffer the size of all
outputs (zeros only for an output that got no gradient, none with set_materialize_grads(False)); a
backward that failed midway leaves nothing for the next (None where torch passes None); and
ctx.mark_dirty of a tensor that is not an input, as torch 2.13 (a warning, or an error when it is
not returned)."""
import tracemalloc
import warnings

import numpy as np
import pytest

import minitf as mt


def _three(lib, materialize, seen):
    class Three(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(materialize)
            return x * 1, x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2, g3):
            seen.append(tuple(None if g is None else g.detach().numpy().copy() for g in (g1, g2, g3)))
            out = None
            for k, g in enumerate((g1, g2, g3)):
                if g is not None:
                    out = g * (k + 1) if out is None else out + g * (k + 1)
            return out
    return Three


class FirstOfThree(mt.autograd.Function):
    """Three outputs; backward passes the first one's gradient on as it is (allocating nothing)."""

    @staticmethod
    def forward(ctx, x, materialize, seen):
        ctx.set_materialize_grads(materialize)
        ctx.seen = seen
        return x * 1, x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2, g3):
        ctx.seen.append((g2, g3))
        return g1, None, None


def _peak_backward_bytes(materialize, n):
    seen = []
    x = mt.zeros(n, dtype=mt.float64, requires_grad=True)
    y1, _, _ = FirstOfThree.apply(x, materialize, seen)
    loss = y1.sum()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        loss.backward()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, seen


def test_backward_allocates_no_buffer_the_size_of_all_outputs():
    n = 200_000
    size = n * 8   # one output, float64
    peak, seen = _peak_backward_bytes(False, n)
    # x.grad's copy of the gradient: one output's size (was 4: a zero buffer of all three outputs too)
    assert peak < 1.5 * size, f"peak {peak / size:.2f} outputs' sizes"
    assert seen == [(None, None)]
    peak, seen = _peak_backward_bytes(True, n)
    # the same, plus zeros for the two outputs that got no gradient (was 6)
    assert peak < 3.5 * size, f"peak {peak / size:.2f} outputs' sizes"
    assert [g.tolist() for g in seen[0]] == [[0.0] * n] * 2


def test_several_outputs_gradients_and_materialization(device):
    x = mt.tensor([1.0, -2.0], dtype=mt.float64, device=device, requires_grad=True)
    for materialize in (True, False):
        seen = []
        fn = _three(mt, materialize, seen)
        y1, y2, y3 = fn.apply(x)
        x.grad = None
        (y1.sum() + (y3 * y3).sum()).backward()
        assert x.grad.tolist() == [19.0, -35.0]   # d/dx (x + 9 x^2) = 1 + 18 x
        g1, g2, g3 = seen[0]
        assert g1.tolist() == [1.0, 1.0] and g3.tolist() == [6.0, -12.0]
        assert (g2 is None) == (not materialize) and (materialize is False or g2.tolist() == [0.0, 0.0])
        assert mt.gradcheck(lambda t: fn.apply(t)[0] * fn.apply(t)[2], [x])
        assert mt.gradgradcheck(lambda t: (fn.apply(t)[1] ** 2).sum() + fn.apply(t)[2].sum(), [x])


def _failed_then_other_output(lib, grad_of):
    """A backward through both outputs that fails after one output's gradient was noted (a hook on the
    second raises), then one through the other output only, with set_materialize_grads(False): what
    the Function's backward gets for the output the failed pass had reached."""
    seen = []
    x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    ys = _three(lib, False, seen).apply(x)
    order = []

    def hook(k):
        def h(g):
            order.append(k)
            if len(order) == 2:
                raise ValueError("a hook fails this backward")
        return h
    for k in (0, 1):
        ys[k].register_hook(hook(k))
    with pytest.raises(ValueError, match="a hook fails"):
        grad_of((ys[0] + ys[1]).sum(), x)
    first, other = order[0], 1 - order[0]   # the output whose gradient reached the Function in the failed pass
    order.append("done")                    # the hooks pass from now on
    grad_of(ys[other].sum(), x)
    return first, seen[-1]


def test_a_failed_backward_leaves_no_gradient_for_the_next(device):
    first, got = _failed_then_other_output(mt, lambda y, x: mt.grad(y, x, retain_graph=True))
    assert got[first] is None, "the failed pass's gradient was handed to a later backward"
    assert got[1 - first].tolist() == [1.0, 1.0] and got[2] is None


def test_a_failed_backward_matches_torch():
    torch = pytest.importorskip("torch")
    for lib, grad in ((torch, torch.autograd.grad), (mt, mt.grad)):
        first, got = _failed_then_other_output(lib, lambda y, x: grad(y, x, retain_graph=True))
        assert [g is None for g in got] == [k != 1 - first for k in range(3)], lib.__name__


def _dirty_non_input(lib, returned):
    class MakesDirty(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            ctx.mark_dirty(y)
            return y if returned else x * 3

        @staticmethod
        def backward(ctx, g):
            return g * (2 if returned else 3)
    return MakesDirty


def _run_dirty(lib, returned, requires_grad):
    """(warning texts, the output's values and its gradient's) or the exception raised."""
    x = lib.tensor([1.0, -2.0], dtype=lib.float64, requires_grad=requires_grad)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            y = _dirty_non_input(lib, returned).apply(x)
        except RuntimeError as e:
            return e
    grad = None
    if requires_grad:
        y.sum().backward()
        grad = x.grad.tolist()
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)], y.tolist(), grad


@pytest.mark.filterwarnings("ignore:.*mark_dirty.*:UserWarning")   # gradcheck's calls warn too: meant
def test_mark_dirty_of_a_tensor_that_is_not_an_input(device):
    texts, values, grad = _run_dirty(mt, True, True)
    assert len(texts) == 1 and "mark_dirty() received a tensor that was not an input" in texts[0]
    assert values == [2.0, -4.0] and grad == [2.0, 2.0]   # an ordinary output
    assert _run_dirty(mt, True, False) == ([], [2.0, -4.0], None)   # nothing recorded: no warning, as torch
    for requires_grad in (True, False):   # not returned: an error, recorded or not
        err = _run_dirty(mt, False, requires_grad)
        assert isinstance(err, RuntimeError) and "marked as dirty" in str(err) and "not returned" in str(err)
    x = mt.tensor([1.0], dtype=mt.float64, device=device, requires_grad=True)
    with pytest.warns(UserWarning, match="not an input"):
        y = _dirty_non_input(mt, True).apply(x)
    assert y.grad_fn is not None and mt.gradcheck(lambda t: _dirty_non_input(mt, True).apply(t), [x])


@pytest.mark.filterwarnings("ignore:.*mark_dirty.*:UserWarning")
def test_mark_dirty_of_a_tensor_that_is_not_an_input_matches_torch():
    torch = pytest.importorskip("torch")
    for returned in (True, False):
        for requires_grad in (True, False):
            mine, theirs = _run_dirty(mt, returned, requires_grad), _run_dirty(torch, returned, requires_grad)
            if isinstance(theirs, Exception):
                assert isinstance(mine, type(theirs)), (returned, requires_grad, mine)
            else:
                assert (len(mine[0]), mine[1:]) == (len(theirs[0]), theirs[1:]), (returned, requires_grad)


def test_complex_input_and_outputs_need_takes_complex(complex_isolated):
    """A complex input is refused (naming the class and what to do) unless the class declares
    takes_complex; then complex outputs are differentiable, as torch's, with the user's gradient."""
    torch = pytest.importorskip("torch")

    def cube_class(takes):
        class Cube(mt.autograd.Function):
            takes_complex = takes

            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x * x

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * (3 * x * x).conj()
        return Cube

    z = mt.tensor([1 + 1j, 0.5 - 2j], dtype=mt.complex128, requires_grad=True)
    with pytest.raises(mt.errors.DtypeNotImplemented, match="cube: complex input to a custom autograd.Function: "
                                                             "set takes_complex = True"):
        cube_class(False).apply(z)
    y = cube_class(True).apply(z)
    assert y.requires_grad and y.dtype == mt.complex128
    (y.abs() ** 2).sum().backward()
    zt = torch.tensor(z.detach().numpy(), requires_grad=True)
    ((zt ** 3).abs() ** 2).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), zt.grad.numpy(), rtol=1e-12)


def test_a_complex_gradient_for_a_real_input_is_refused_as_torch(complex_isolated):
    """A real input with a complex output: backward must return a real gradient (torch's
    RuntimeError otherwise), not one whose imaginary part is dropped with a warning."""
    torch = pytest.importorskip("torch")

    def rotation(base, real_part):
        class Rotate(base.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * (1 + 2j)

            @staticmethod
            def backward(ctx, g):
                gx = g * (1 - 2j)
                return gx.real if real_part else gx
        return Rotate

    x, xt = mt.tensor([1.0, 2.0], dtype=mt.float64, requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError):
        (rotation(torch, False).apply(xt).abs() ** 2).sum().backward()
    with pytest.raises(RuntimeError, match="returned a complex gradient at index 0 for a real input"):
        (rotation(mt, False).apply(x).abs() ** 2).sum().backward()
    (rotation(torch, True).apply(xt).abs() ** 2).sum().backward()
    (rotation(mt, True).apply(x).abs() ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
