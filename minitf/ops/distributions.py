"""Random draws shaped by a tensor: ``multinomial``, ``bernoulli`` and the in-place fills
``normal_``, ``uniform_``, ``bernoulli_``, ``exponential_``, ``random_`` (torch's names,
signatures and checks). None is differentiable; all draw on the tensor's device, from
``generator`` (a :class:`minitf.Generator` of that device, a NumPy generator) or the device's
default generator (see ``minitf.manual_seed``).

The checks of a tensor's values (negative or NaN weights, probabilities outside [0, 1]) read
one small array of flags back from a GPU, as torch's checks synchronise.
"""
from __future__ import annotations

import numpy as np

from .. import autograd, backend, debughooks
from ..tensor import Tensor
from ._util import check_writable


def _gen(generator, device, name):
    from ..generator import resolve
    return resolve(generator, device, name)


def _check_tensor(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")


def _flags(xp, *conditions) -> list:
    """Several boolean scalars of the device in one read (one synchronisation on a GPU)."""
    return [bool(v) for v in backend.to_numpy(xp.stack([xp.asarray(c) for c in conditions]))]


# ------------------------------------------------------------------ out of place

def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """Indices of categories drawn with probabilities proportional to the rows of ``input``.

    input: (V,) -> int64 (num_samples,), or (B, V) -> int64 (B, num_samples); the weights need
    not sum to 1 but must be finite, non-negative, with a positive sum per row. With
    replacement, each draw inverts the row's cumulative sum at a uniform point (a zero-weight
    category is never drawn). Without, the draws are the ``num_samples`` largest of
    ``w / E`` (E exponential), which is successive weighted sampling without replacement;
    ``num_samples`` may exceed the number of positive weights, as in torch: the zero-weight
    categories then follow all positive ones, in an unspecified order (as in torch).
    """
    name = "multinomial"
    _check_tensor(input, name)
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: only supports floating-point dtypes for input, got {input.dtype}")
    if input.ndim not in (1, 2):
        raise RuntimeError(f"{name}: input must be 1-D or 2-D (prob_dist must be 1 or 2 dim), got shape {input.shape}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
        raise TypeError(f"{name}: num_samples must be an integer, got {num_samples!r}")
    n, V = int(num_samples), input.shape[-1]
    if n <= 0:
        raise RuntimeError(f"{name}: cannot sample n_sample <= 0 samples (num_samples={n})")
    if not replacement and n > V:
        raise RuntimeError(f"{name}: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                           f"({n} > {V})")
    gen = _gen(generator, input.device, name)  # before the flags: a wrong generator costs no sync
    xp = backend.get_array_module(input.data)
    w = input.data.reshape(-1, V).astype(np.float64)
    B = w.shape[0]
    if B == 0:
        out = xp.zeros((0, n), dtype=np.int64)
        return Tensor._make(out, None)
    bad, empty = _flags(xp, (~xp.isfinite(w) | (w < 0)).any(), (w.sum(axis=-1) <= 0).any())
    if bad:
        raise RuntimeError(f"{name}: probability tensor contains either inf, nan or element < 0")
    if empty:
        raise RuntimeError(f"{name}: invalid multinomial distribution (sum of probabilities <= 0)")
    if replacement:
        idx = _with_replacement(xp, w, n, gen)
    else:
        q = gen.standard_exponential((B, V), dtype=np.float64)
        # zero weights rank below every positive key (their order among themselves is unspecified)
        keys = xp.where(w > 0, w / xp.maximum(q, np.finfo(np.float64).tiny),
                        -(V - xp.arange(V, dtype=np.float64)))
        idx = xp.argsort(-keys, axis=-1)[:, :n]
    idx = idx.astype(np.int64)
    return Tensor._make(idx[0] if input.ndim == 1 else idx, None)


def _with_replacement(xp, w, n, gen):
    """(B, V) weights -> (B, n) indices: the first category whose cumulative weight exceeds u."""
    B, V = w.shape
    cdf = xp.cumsum(w, axis=-1)
    u = gen.random((B, n), dtype=np.float64) * cdf[:, -1:]
    # u can round up to the total: then the last positive category, never a zero-weight one after it
    last = (V - 1) - xp.argmax((w[:, ::-1] > 0).astype(np.int8), axis=-1)
    step = max(1, (1 << 22) // (B * V))  # draws per block: the comparison holds B * step * V booleans
    parts = [(cdf[:, None, :] <= u[:, i:i + step, None]).sum(axis=-1) for i in range(0, n, step)]
    idx = parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=1)
    return xp.minimum(idx, last[:, None])


class Bernoulli(autograd.Function):
    """The draws of ``bernoulli(p)``: piecewise constant in ``p``, so a zero gradient (torch's
    BernoulliBackward0; zeros, not None, so that ``p.grad`` becomes 0)."""

    saves_inputs = saves_output = False

    def forward(self, p, sample=None):
        return sample

    def backward(self, g):
        return (backend.get_array_module(g).zeros_like(g),)

    def backward_graph(self, g):
        return (g * 0,)


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """0 or 1 per element, 1 with probability ``input`` (float, values in [0, 1]), or with
    probability ``p`` (a number; then ``input`` of any dtype only gives the shape); the same
    shape and dtype. Of probabilities ``input`` that require grad, the output requires grad
    with a zero gradient, as torch's; with a number ``p`` it does not.

    Checking that ``input`` holds probabilities reads one flag back from the device: one
    synchronisation per call on a GPU (torch's CUDA kernel checks on the device, without one).
    """
    name = "bernoulli"
    _check_tensor(input, name)
    if p is not None:
        out = Tensor._make(backend.get_array_module(input.data).zeros(input.shape, dtype=input.dtype), None)
        return bernoulli_(out, _number(p, name, "p"), generator=generator)
    gen = _gen(generator, input.device, name)  # before the flag: a wrong generator costs no sync
    p = _probabilities(input, name)
    u = gen.random(input.shape, dtype=np.float64)
    return Bernoulli.apply(input, sample=(u < p).astype(input.dtype))


def _probabilities(p: Tensor, name):
    if p.dtype.kind != "f":
        raise TypeError(f"{name}: the probabilities must be a floating tensor, got {p.dtype}")
    xp = backend.get_array_module(p.data)
    (bad,) = _flags(xp, ~((p.data >= 0) & (p.data <= 1)).all())  # NaN fails both
    if bad:
        raise RuntimeError(f"{name}: expected every probability to be in [0, 1]")
    return p.data


# ------------------------------------------------------------------ in place

def _write(x: Tensor, values, name: str) -> Tensor:
    """Fill ``x`` with ``values`` (an array of its device and shape), with the in-place rules."""
    if autograd._tls.grad_enabled and x.requires_grad:
        if x._fn is None:
            raise RuntimeError(f"{name}: a leaf Variable that requires grad is being used in an in-place "
                               f"operation (fill it under minitf.no_grad(), as nn.init does)")
        # in a graph: recorded as an assignment of a constant, so the old value's gradient is 0
        # (torch's NormalBackward and friends)
        from .inplace import setitem
        setitem(x, Ellipsis, Tensor._make(values, None))
        return x
    if autograd._tls.hooks:   # allow_mutation_on_saved_tensors: a saved x is cloned before the fill
        debughooks.before_write(x)
    x.data[...] = values
    autograd.bump_version(x)
    return x


def _float_draw_dtype(x: Tensor, name: str):
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: needs a floating tensor, got {x.dtype}")
    return x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float32)  # float16: drawn in float32


def _number(v, name, what):
    """``v`` as a float: a number, or a 0-d tensor that does not require grad (torch takes those too;
    one read of its value, from a GPU a sync)."""
    if isinstance(v, Tensor):
        if v.ndim == 0 and not v.requires_grad:
            return float(v.item())
        raise TypeError(f"{name}: {what} must be a number or a 0-d tensor that does not require grad, got a "
                        f"Tensor of shape {tuple(v.shape)}{' that requires grad' if v.requires_grad else ''}")
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: {what} must be a number, got {type(v).__name__}")
    return float(v)


def normal_(x: Tensor, mean=0.0, std=1.0, *, generator=None) -> Tensor:
    """In place: samples of N(mean, std**2) (float tensors)."""
    name = "normal_"
    _check_tensor(x, name)
    check_writable(x, name)
    mean, std = _number(mean, name, "mean"), _number(std, name, "std")
    if not std >= 0:
        raise RuntimeError(f"{name}: expects std >= 0.0, but found std {std}")
    dt = _float_draw_dtype(x, name)
    z = _gen(generator, x.device, name).standard_normal(x.shape, dtype=dt)
    return _write(x, (z * dt.type(std) + dt.type(mean)).astype(x.dtype, copy=False), name)


def uniform_(x: Tensor, low=0.0, high=1.0, *, generator=None) -> Tensor:
    """In place: samples uniform in [low, high) (torch's ``from``, ``to``; float tensors)."""
    name = "uniform_"
    _check_tensor(x, name)
    check_writable(x, name)
    low, high = _number(low, name, "from"), _number(high, name, "to")
    if not low <= high:
        raise RuntimeError(f"{name}: expects to return a [from, to) range, but found from={low} > to={high}")
    _float_draw_dtype(x, name)  # a floating tensor; the draws are float64, rounded once into x's dtype
    u = _gen(generator, x.device, name).random(x.shape, dtype=np.float64)
    return _write(x, (low + (high - low) * u).astype(x.dtype), name)


def exponential_(x: Tensor, lambd=1.0, *, generator=None) -> Tensor:
    """In place: samples of the exponential distribution of rate ``lambd`` (float tensors)."""
    name = "exponential_"
    _check_tensor(x, name)
    check_writable(x, name)
    lambd = _number(lambd, name, "lambd")
    if not lambd > 0:
        raise RuntimeError(f"{name}: expects lambda > 0.0, but found lambda={lambd}")
    dt = _float_draw_dtype(x, name)
    e = _gen(generator, x.device, name).standard_exponential(x.shape, dtype=dt)
    return _write(x, (e / dt.type(lambd)).astype(x.dtype, copy=False), name)


def bernoulli_(x: Tensor, p=0.5, *, generator=None) -> Tensor:
    """In place: 1 with probability ``p`` (a number, or a float tensor broadcastable to ``x``'s
    shape), else 0; any dtype. A tensor ``p`` is checked to hold probabilities by reading one
    flag back from the device: one synchronisation per call on a GPU (torch's CUDA kernel
    checks on the device, without one)."""
    name = "bernoulli_"
    _check_tensor(x, name)
    check_writable(x, name)
    gen = _gen(generator, x.device, name)  # before the flag: a wrong generator costs no sync
    if isinstance(p, Tensor):
        if p.device != x.device:
            raise backend.DeviceError(f"{name}: tensor on {x.device}, p on {p.device}")
        try:
            if np.broadcast_shapes(p.shape, x.shape) != x.shape:
                raise ValueError
        except ValueError:
            raise RuntimeError(f"{name}: p of shape {p.shape} cannot be broadcast to {x.shape}") from None
        p = _probabilities(p, name)
    else:
        p = _number(p, name, "p")
        if not 0 <= p <= 1:
            raise RuntimeError(f"{name}: expects p to be in [0, 1], but got p={p}")
    u = gen.random(x.shape, dtype=np.float64)
    return _write(x, (u < p).astype(x.dtype), name)


# the largest integer random_() draws without bounds: floats stop where every integer is exact
_FLOAT_TOP = {np.dtype(np.float16): 2 ** 11, np.dtype(np.float32): 2 ** 24, np.dtype(np.float64): 2 ** 53}


def random_(x: Tensor, low=0, high=None, *, generator=None) -> Tensor:
    """In place: integers uniform in [low, high) (torch's ``from``, ``to``; ``random_(to)`` is
    [0, to)). Without ``high``: up to the dtype's largest value, for floats 2**mantissa
    (inclusive), as torch."""
    name = "random_"
    _check_tensor(x, name)
    check_writable(x, name)
    for v, what in ((low, "from"), (high, "to")):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))):
            raise TypeError(f"{name}: {what} must be an integer, got {v!r}")
    dt = x.dtype
    if dt.kind == "f":
        lo_lim, hi_lim = -_FLOAT_TOP[dt], _FLOAT_TOP[dt]
    elif dt.kind == "b":
        lo_lim, hi_lim = 0, 1
    else:
        info = np.iinfo(dt)
        lo_lim, hi_lim = int(info.min), int(info.max)
    low = int(low)
    top = hi_lim if high is None else int(high) - 1  # inclusive
    if high is not None and not low < int(high):
        raise RuntimeError(f"{name}: expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if dt.kind != "f":  # floats take any range (torch warns past 2**mantissa, where not every integer exists)
        if low < lo_lim:
            raise RuntimeError(f"{name}: from={low} is out of bounds for {dt}")
        if top > hi_lim:
            raise RuntimeError(f"{name}: to - 1 = {top} is out of bounds for {dt}")
    if low > top:
        raise RuntimeError(f"{name}: expects 'from' to be less than 'to', but got from={low} > {top}")
    k = _gen(generator, x.device, name).integers(low, top, size=x.shape, dtype=np.int64, endpoint=True)
    return _write(x, k.astype(dt), name)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Normal draws, as torch.normal: ``normal(mean, std)`` with tensor mean and/or std (the
    broadcast shape, their dtype and device; differentiable in both: mean + std z), or
    ``normal(mean, std, size)`` with numbers (``dtype``, ``device``, ``requires_grad`` as randn)."""
    from ..creation import randn
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if size is not None:
            raise TypeError("normal: size= goes with a number mean and std, not tensors")
        ref = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(tuple(getattr(mean, "shape", ())), tuple(getattr(std, "shape", ())))
        z = randn(shape, dtype=ref.dtype if ref.dtype.kind == "f" else None, device=ref.device, generator=generator)
        return mean + std * z
    if size is None:
        raise TypeError("normal(mean, std, size): size is needed when mean and std are numbers")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    z = randn(*(size if isinstance(size, (tuple, list)) else (size,)), dtype=dtype,
              device="cpu" if device is None else device, generator=generator)
    z.data *= std
    z.data += mean
    return z.requires_grad_(requires_grad)
