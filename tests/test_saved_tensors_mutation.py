"""mt.autograd.graph.allow_mutation_on_saved_tensors against torch's: an in-place change of a saved
tensor inside the context clones it first, so backward gives the gradient of the values as they
were saved; outside it, the usual in-place error; backward outside the context, and nesting, raise
torch's error types."""
import numpy as np
import pytest

import minitf as mt
from minitf.autograd import graph

from .test_custom_function import SqSavesOutput   # x^2, saving its input and its output


def _cases(lib):
    """(name, function of a leaf `a` giving a loss whose graph saved something later changed in place)."""
    def pow_then_sin(a):
        b = a.clone()
        out = (b ** 2).sum()
        b.sin_()                       # recorded: b takes SinBackward as grad_fn
        return out

    def saved_constant(a):
        x = lib.arange(6.0, dtype=a.dtype).reshape(2, 3)
        out = (a * x).sum()            # x needs no grad: written directly, not recorded
        x.mul_(10)
        return out

    def leaf_under_no_grad(a):
        w = a.detach().clone().requires_grad_()
        out = (w * a).sum()            # saves w and a
        with lib.no_grad():
            w.add_(3)
        return out + 0 * w.sum()

    def saved_output(a):
        b = a.clone()
        e = b.exp()                    # saves its output
        f = e * 3                      # saves e, as it was
        e.mul_(2)
        return f.sum() + e.sum()

    def fills(a):   # (x[i] = v: torch writes through a view, see the test below)
        b = a.clone()
        out = (b * b).sum()
        b.zero_()
        b.fill_(3.0)
        b.copy_(a * 7)
        b.clamp_(-1, 1)
        return out + b.sum()

    def twice_saved(a):
        b = a.clone()
        out = (b * b.tanh()).sum()     # b saved by Mul and Tanh
        b.exp_()
        b.exp_()                       # the second write finds it already cloned
        return out
    return [pow_then_sin, saved_constant, leaf_under_no_grad, saved_output, fills, twice_saved]


@pytest.mark.parametrize("k", range(6))
def test_gradients_are_those_of_the_saved_values_as_torchs(k):
    torch = pytest.importorskip("torch")
    a0 = np.random.default_rng(k).standard_normal((2, 3))
    grads = []
    for lib in (mt, torch):
        a = lib.tensor(a0, requires_grad=True)
        with lib.autograd.graph.allow_mutation_on_saved_tensors():
            loss = _cases(lib)[k](a)
            loss.backward()
        grads.append((a.grad.numpy(), loss.item()))
        a = lib.tensor(a0, requires_grad=True)   # outside the context: the version error
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            _cases(lib)[k](a).backward()
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12)


def test_a_write_through_a_view_clones_the_saved_tensor(device):
    # w * x with x[1:] changed: torch's check (by data pointer) misses a view at an offset and gives
    # the new values' gradient; minitf's counter is the storage's, so the saved x is cloned
    w = mt.ones(4, dtype="float64", device=device, requires_grad=True)
    x0 = np.arange(4.0)
    with graph.allow_mutation_on_saved_tensors() as ctx:
        x = mt.tensor(x0, device=device)
        y = (w * x).sum()
        x[1:].mul_(10)
        x[0] = 7.0                     # (torch: a view's copy_, missed too)
        x.unsqueeze_(0)                # a shape change of the saved tensor: cloned already
        assert len(ctx.cloned) == 1 and not ctx.original.get(next(iter(ctx.cloned)))
        y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), x0)
    np.testing.assert_array_equal(x.numpy(), [[7.0, 10, 20, 30]])


def test_custom_function_saved_tensors_are_cloned():
    x0 = np.array([1.0, -2.0, 0.5])
    with graph.allow_mutation_on_saved_tensors():
        x = mt.tensor(x0, dtype="float64", requires_grad=True)
        b = x * 1
        y = SqSavesOutput.apply(b)     # saves b and b^2 through ctx.save_for_backward
        b.mul_(4)
        y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x0, rtol=1e-12)


def test_gradcheck_through_a_mutated_saved_tensor():
    def f(a):
        b = a * 1
        out = b.sin() * b              # b saved by Sin and Mul, then changed: the gradient is (sin(a) a)'
        b.add_(1)
        return out
    a = mt.tensor(np.random.default_rng(1).standard_normal(5), dtype="float64", requires_grad=True)
    with graph.allow_mutation_on_saved_tensors():   # (gradcheck's backward passes run inside too)
        assert mt.gradcheck(f, [a])
        (g,) = mt.autograd.grad(f(a).sum(), a)
    x = a.detach().numpy()
    np.testing.assert_allclose(g.numpy(), np.cos(x) * x + np.sin(x), rtol=1e-12)


def test_outside_and_nested_as_torchs():
    torch = pytest.importorskip("torch")
    for lib in (mt, torch):
        G = lib.autograd.graph
        with G.allow_mutation_on_saved_tensors():
            a = lib.ones(2, 3, requires_grad=True)
            out = (a.clone() ** 2).sum()
        with pytest.raises(AssertionError, match="outside of the 'allow_mutation_on_saved_tensors' context"):
            out.backward()                 # recorded inside, run outside
        with pytest.raises(RuntimeError, match="cannot be nested"):
            with G.allow_mutation_on_saved_tensors():
                with G.allow_mutation_on_saved_tensors():
                    pass
        with G.allow_mutation_on_saved_tensors() as ctx:   # usable again after the error; state cleared on exit
            a = lib.ones(2, requires_grad=True)
            b = a.clone()
            y = (b * b).sum()
            b.mul_(2)
            assert len(ctx.cloned) == 1
            y.backward()
            assert a.grad.tolist() == [2.0, 2.0]
        assert not ctx.cloned and not ctx.original


def test_a_write_that_does_not_tell_still_raises():
    # an optimizer-style write into .data (no in-place op): not cloned, so backward refuses it
    with graph.allow_mutation_on_saved_tensors():
        w = mt.ones(3, dtype="float64", requires_grad=True)
        y = (w * w).sum()
        w.data[...] = 5
        graph.increment_version(w)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()
