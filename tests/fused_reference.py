"""The fused CUDA kernels of minitf/backend/fused.py written again with NumPy, kernel by kernel
(the same loops' arithmetic, a row at a time where the kernel takes a warp per row), for the CPU
tests: set as ``minitf.backend.fused.stand_in``, the ops take their fused branches on NumPy arrays,
so their wiring (shapes, in-place writes, masks, the optimizer's scalars) is checked without a GPU.
What it cannot check is the CUDA source itself: tests/test_fused_kernels.py compares that on a GPU."""
import numpy as np

from minitf.backend import fused as _fused

supports = _fused.supports   # the same test of dtypes


def gelu_tanh(x):
    s = x * x
    s *= x.dtype.type(0.044715 * (2 / np.pi) ** 0.5)
    s += x.dtype.type((2 / np.pi) ** 0.5)
    s *= x
    return (np.tanh(s) + 1) * x * x.dtype.type(0.5)


def gelu_tanh_backward(x, g):
    c = x.dtype.type((2 / np.pi) ** 0.5)
    s = x * x
    s *= x.dtype.type(0.044715 * (2 / np.pi) ** 0.5)
    s += c
    s *= x
    t = np.tanh(s)
    u = x * x * x.dtype.type(3 * 0.044715 * (2 / np.pi) ** 0.5) + c
    e = (t * t - 1) * u * x * x.dtype.type(-0.5) + t * x.dtype.type(0.5) + x.dtype.type(0.5)
    return e * g


def _contiguous_rows(a):
    assert a.flags.c_contiguous, "the kernel reads C-contiguous rows"
    return a


def layer_norm_rows(x, w, b, eps):
    _contiguous_rows(x)
    n, c = x.shape
    mean = x.sum(axis=1, keepdims=True) / x.dtype.type(c)
    d = x - mean
    r = x.dtype.type(1) / np.sqrt((d * d).sum(axis=1, keepdims=True) / x.dtype.type(c) + x.dtype.type(eps))
    xhat = d * r
    y = (xhat * w if w is not None else xhat) + (b if b is not None else x.dtype.type(0))
    return y, xhat, r


def layer_norm_rows_backward(g, xhat, w, rstd):
    _contiguous_rows(g)
    c = xhat.shape[1]
    dh = g * w if w is not None else g
    m1 = dh.sum(axis=1, keepdims=True) / g.dtype.type(c)
    m2 = (dh * xhat).sum(axis=1, keepdims=True) / g.dtype.type(c)
    return (dh - xhat * m2 - m1) * rstd


def attention_softmax(s, scale, t_q, causal, shift):
    _contiguous_rows(s)
    t_k = s.shape[-1]
    rows = s.reshape(-1, t_k)             # a view: written in place, as the kernel
    i = np.arange(rows.shape[0]) % t_q
    lim = np.minimum(t_k, i + shift + 1) if causal else np.full(rows.shape[0], t_k)
    allowed = np.arange(t_k)[None, :] < lim[:, None]
    assert allowed.any(axis=1).all(), "every row must see a key"
    a = rows * s.dtype.type(scale)
    m = np.where(allowed, a, -np.inf).max(axis=1, keepdims=True)
    e = np.where(allowed, np.exp(np.where(allowed, a, m) - m), 0)
    rows[...] = e / e.sum(axis=1, keepdims=True)


def attention_softmax_backward(ds, p, scale):
    _contiguous_rows(ds)
    _contiguous_rows(p)
    a = (ds * p).sum(axis=-1, keepdims=True)
    ds[...] = (ds - a) * p * ds.dtype.type(scale)


def cross_entropy_rows(logits, targets):
    _contiguous_rows(logits)
    assert ((0 <= targets) & (targets < logits.shape[1])).all()
    m = logits.max(axis=1, keepdims=True)
    e = np.exp(logits - m)
    z = e.sum(axis=1, keepdims=True)
    rows = np.arange(logits.shape[0])
    return e / z, np.log(z[:, 0]) - (logits[rows, targets] - m[:, 0])


def cross_entropy_rows_backward(p, targets, w):
    _contiguous_rows(p)
    d = p.copy()
    d[np.arange(p.shape[0]), targets] -= 1
    return d * w.astype(p.dtype)[:, None]


def adam_update(p, g, m, v, *, b1, b2, step_size, bias2_sqrt, eps, decay):
    f = p.dtype.type
    assert g.shape == p.shape == m.shape == v.shape
    p *= f(decay)
    m *= f(b1)
    m += g * f(1 - b1)
    v *= f(b2)
    v += g * g * f(1 - b2)
    t = np.sqrt(v)
    t /= f(bias2_sqrt)
    t += f(eps)
    p -= m / t * f(step_size)
