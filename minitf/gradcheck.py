"""Finite-difference gradient checking: a public tool, not only a test helper.

For a function ``f`` of some tensors, pick a random cotangent ``u`` of the
output's shape and look at the scalar ``L(x) = <u, f(x)>``. Its gradient is
exactly what ``f(x).backward(u)`` computes, and central differences estimate it:

    dL/dx_i  ~  (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)          (elementwise)
    <v, dL/dx> ~ (L(x + eps v) - L(x - eps v)) / (2 eps)             (random direction v)

A random ``u`` matters: contracting with a plain ``sum`` would make a softmax
(rows sum to 1) or a LayerNorm (rows sum to 0) pass whatever its backward does.
Everything runs in float64; central differences have error O(eps^2).

Complex inputs and outputs (complex128) follow torch's convention (docs/autograd.md): with a
complex cotangent u, ``L = Re <u, f(x)> = sum Re(conj(u) f(x))``, and the gradient of a complex
input is dL/d(re x) + i dL/d(im x), each part estimated by its own central difference (a step of
eps, then of i eps).
"""
from __future__ import annotations

import numpy as np

from . import backend
from .tensor import Tensor, no_grad


class GradcheckError(AssertionError):
    """The analytic and numeric gradients disagree; the message says where."""


def _as_tuple(out):
    return out if isinstance(out, (tuple, list)) else (out,)


def _contract_difference(plus, minus, cotangents) -> float:
    """L(x + d) - L(x - d) = sum_k <u_k, out_k(x + d) - out_k(x - d)>, in float64 on the host.

    The outputs are subtracted before they are contracted (as torch's gradcheck does, one Jacobian
    column at a time): an output that ``d`` does not move then cancels exactly, where the two
    contracted sums would carry the rounding of every large output (log_ndtr(-40) = -804.6 swamped
    the slope 0.013 at x = 1.7 by 3e-8)."""
    return float(sum(np.vdot(u, p - m).real for p, m, u in zip(plus, minus, cotangents)))


def _draw(rng, shape, dtype):
    """A standard normal array of ``shape``: complex (both parts drawn) for a complex dtype."""
    if np.dtype(dtype).kind == "c":
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    return rng.standard_normal(shape)


def _gradient_pairs(fn, inputs, eps, max_elements, num_directions, seed):
    """Yield (input index, analytic, numeric, elementwise, shape) for each checked input."""
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype not in (np.float64, np.complex128):
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need float64 "
                            f"or complex128 (build inputs with dtype='float64')")
    rng = np.random.default_rng(seed)

    saved = {i: inputs[i]._grad for i in checked}  # put back afterwards: the check leaves no trace
    try:
        for i in checked:
            inputs[i].grad = None
        analytic, cotangents = _analytic(fn, inputs, checked, rng)
    finally:
        for i in checked:
            inputs[i].grad = saved[i]
    yield from _numeric_pairs(fn, inputs, checked, analytic, cotangents, eps, max_elements, num_directions, rng)


def _analytic(fn, inputs, checked, rng):
    """The gradients that backward gives for L = <u, fn(inputs)>, with random cotangents u."""
    outputs = _as_tuple(fn(*inputs))
    for k, o in enumerate(outputs):
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors; "
                            f"output {k} is a {type(o).__name__}")
    cotangents = [_draw(rng, o.shape, o.dtype) for o in outputs]
    live = [(o, u) for o, u in zip(outputs, cotangents) if o.requires_grad]
    if not live:
        raise GradcheckError("gradcheck: the output does not depend on any input that requires grad")
    # other leaves that fn reaches (a weight it closes over) get their .grad back too
    others = {id(t): t for o, _ in live for t in _leaves(o) if all(t is not inputs[i] for i in checked)}
    kept = {k: t._grad for k, t in others.items()}
    try:
        for t in others.values():
            t.grad = None  # backward accumulates in place: let it write into a fresh buffer
        for k, (o, u) in enumerate(live):
            o.backward(backend.to_device(u.astype(o.dtype), o.device), retain_graph=k < len(live) - 1)
    finally:
        for k, t in others.items():
            t.grad = kept[k]
    analytic = {i: (backend.to_numpy(inputs[i]._grad.data).astype(inputs[i].dtype) if inputs[i]._grad is not None
                    else np.zeros(inputs[i].shape, dtype=inputs[i].dtype)) for i in checked}
    return analytic, cotangents


def _leaves(root: Tensor):
    """The leaves that require grad among the inputs of the ops that made ``root``."""
    from .autograd import _topological_order
    return [inp for t in _topological_order(root) if t._fn is not None
            for inp in t._fn.inputs if inp._fn is None and inp.requires_grad]


def _numeric_pairs(fn, inputs, checked, analytic, cotangents, eps, max_elements, num_directions, rng):

    def outputs_at(i, delta):
        """fn's outputs (host arrays) with input i moved by ``delta`` (a host array), other inputs fixed."""
        original = inputs[i].data
        moved = original + backend.to_device(delta, inputs[i].device)
        # keep an array: NumPy turns 0-d + 0-d into a scalar, which no tensor should hold
        inputs[i].data = backend.get_array_module(original).asarray(moved)
        try:
            with no_grad():
                return [backend.to_numpy(o.data) for o in _as_tuple(fn(*inputs))]
        finally:
            inputs[i].data = original

    def difference(i, delta):
        """(L(x_i + delta) - L(x_i - delta)) / (2 eps)."""
        return _contract_difference(outputs_at(i, delta), outputs_at(i, -delta), cotangents) / (2 * eps)

    for i in checked:
        shape, size = inputs[i].shape, inputs[i].numel()
        steps = (1, 1j) if inputs[i].dtype.kind == "c" else (1,)   # a complex input: each part on its own
        if size <= max_elements:
            numeric = np.zeros(size, dtype=inputs[i].dtype)
            for j in range(size):
                for step in steps:
                    e = np.zeros(size, dtype=inputs[i].dtype)
                    e[j] = eps * step
                    e = e.reshape(shape)
                    numeric[j] += step * difference(i, e)
            yield i, analytic[i].reshape(-1), numeric, True, shape
        else:
            dirs = _draw(rng, (num_directions,) + tuple(shape), inputs[i].dtype)
            dirs /= np.sqrt((np.abs(dirs.reshape(num_directions, -1)) ** 2).sum(1)).reshape((-1,) + (1,) * len(shape))
            a = np.array([np.vdot(d, analytic[i]).real for d in dirs])
            n = np.array([difference(i, eps * d) for d in dirs])
            yield i, a, n, False, shape


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-8, rtol: float = 1e-6,
              max_elements: int = 256, num_directions: int = 3, seed: int = 0) -> bool:
    """Compare the analytic gradient of ``fn(*inputs)`` with central finite differences.

    Parameters
    ----------
    fn : callable
        Takes the tensors in ``inputs`` and returns a tensor (or a tuple of
        tensors). It must be deterministic (reseed inside it if it draws).
    inputs : Tensor or sequence of Tensor
        The float64 tensors that require grad are checked; others are held fixed.
        Their ``.grad`` is left as it was.
    eps : float
        Finite-difference step.
    atol, rtol : float
        An element passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.
    max_elements : int
        Inputs with at most this many elements are checked element by element;
        larger ones along ``num_directions`` random unit directions.
    seed : int
        Seeds the cotangent and the directions.

    Returns True, or raises :class:`GradcheckError` naming the input, the worst
    index, the analytic and numeric values and the relative error.

    Example
    -------
    >>> import minitf as mt
    >>> x = mt.tensor([[0.1, -0.4, 2.0]], dtype="float64", requires_grad=True)
    >>> mt.gradcheck(lambda x: mt.functional.softmax(x, dim=-1), [x])
    True
    """
    for i, analytic, numeric, elementwise, shape in _gradient_pairs(
            fn, inputs, eps, max_elements, num_directions, seed):
        _compare(i, analytic, numeric, atol, rtol, elementwise, shape)
    return True


def _compare(i, analytic, numeric, atol, rtol, elementwise, shape):
    err = np.abs(analytic - numeric)
    bad = err > atol + rtol * np.abs(numeric)
    if not bad.any():
        return
    rel = err / np.maximum(np.abs(numeric), atol / max(rtol, 1e-300))
    worst = int(np.argmax(np.where(bad, rel, -1.0)))
    where = (f"index {tuple(int(j) for j in np.unravel_index(worst, shape))}" if elementwise
             else f"random direction {worst} (input has {int(np.prod(shape))} elements)")
    raise GradcheckError(
        f"gradcheck failed for input {i} (shape {tuple(shape)}) at {where}: "
        f"analytic {_number(analytic[worst])}, numeric {_number(numeric[worst])}, "
        f"abs error {err[worst]:.3g}, relative error {rel[worst]:.3g} "
        f"({int(bad.sum())} of {bad.size} checks failed; atol={atol}, rtol={rtol})")


def _number(v) -> str:
    return f"{complex(v):.10g}" if np.iscomplexobj(v) else f"{v:.10g}"


def max_relative_error(fn, inputs, eps: float = 1e-6, max_elements: int = 256,
                       num_directions: int = 3, seed: int = 0, floor: float = 1e-8) -> float:
    """The worst ``|analytic - numeric| / max(|numeric|, floor)`` over every check (for reports)."""
    worst = 0.0
    for _, analytic, numeric, _, _ in _gradient_pairs(fn, inputs, eps, max_elements, num_directions, seed):
        worst = max(worst, float(np.max(np.abs(analytic - numeric) / np.maximum(np.abs(numeric), floor))))
    return worst


def gradgradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-8, rtol: float = 1e-6,
                  max_elements: int = 256, num_directions: int = 3, seed: int = 0) -> bool:
    """Check second derivatives: finite differences of the first gradient against the second.

    The first gradient of ``fn`` is itself a function of the inputs ``x`` and of a
    cotangent ``u`` (random, float64, drawn here, one per output):

        G(x, u) = d <u, fn(x)> / dx        (``grad(..., create_graph=True)``)

    and :func:`gradcheck` checks ``G`` against central differences, with its own random
    cotangents and directions: the analytic side runs the recorded backward of the
    backward (double backprop), the numeric side only the first backward. This is
    Chainer's ``check_double_backward`` and PyTorch's ``gradgradcheck``. Parameters as in
    :func:`gradcheck`; raises :class:`GradcheckError` (naming an input of ``fn`` or, after
    them, a cotangent) or returns True.

    Example
    -------
    >>> import minitf as mt
    >>> x = mt.tensor([[0.1, -0.4, 2.0]], dtype="float64", requires_grad=True)
    >>> mt.gradgradcheck(lambda x: mt.functional.softmax(x, dim=-1), [x])
    True
    """
    from .autograd import enable_grad
    from .backprop import grad
    inputs = list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input requires grad")
    outputs = _as_tuple(fn(*inputs))
    rng = np.random.default_rng(seed + 1)  # not gradcheck's stream: other cotangents
    live = [k for k, o in enumerate(outputs) if isinstance(o, Tensor) and o.requires_grad]
    if not live:
        raise GradcheckError("gradgradcheck: the output does not depend on any input that requires grad")
    cotangents = [Tensor(backend.to_device(_draw(rng, outputs[k].shape, outputs[k].dtype), outputs[k].device),
                         requires_grad=True) for k in live]
    n = len(inputs)
    _same_first_gradient(fn, inputs, checked, live, cotangents, atol, rtol)

    def first_gradient(*args):
        xs, us = list(args[:n]), args[n:]
        with enable_grad():  # gradcheck evaluates under no_grad(); G needs its graph
            outs = _as_tuple(fn(*xs))
            gs = grad([outs[k] for k in live], [xs[i] for i in checked], list(us),
                      create_graph=True, allow_unused=True)
        # an input fn does not use has gradient 0 (a constant)
        return tuple(g if g is not None else Tensor._make(
            backend.get_array_module(xs[i].data).zeros(xs[i].shape, dtype=xs[i].dtype), None) for g, i in zip(gs, checked))

    return gradcheck(first_gradient, inputs + cotangents, eps=eps, atol=atol, rtol=rtol,
                     max_elements=max_elements, num_directions=num_directions, seed=seed)


def _same_first_gradient(fn, inputs, checked, live, cotangents, atol, rtol):
    """The recorded backward (``backward_graph``) must give the values of the plain one:
    gradgradcheck differentiates the former, training uses the latter."""
    from .backprop import grad
    for create_graph in (False, True):
        outs = _as_tuple(fn(*inputs))
        got = grad([outs[k] for k in live], [inputs[i] for i in checked], cotangents,
                   create_graph=create_graph, allow_unused=True)
        got = [None if g is None else backend.to_numpy(g.data) for g in got]
        if not create_graph:
            plain = got
            continue
        for i, a, b in zip(checked, plain, got):
            if (a is None) != (b is None) or a is not None and not np.allclose(b, a, rtol=rtol, atol=atol):
                err = "one of them is None" if a is None or b is None else f"max abs difference {np.abs(a - b).max():.3g}"
                raise GradcheckError(f"gradgradcheck: for input {i} the recorded backward (create_graph=True) "
                                     f"and the plain backward disagree: {err}")
