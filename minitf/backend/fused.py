"""Fused CUDA kernels for the GPU's hottest chains of array operations: GELU (tanh form),
LayerNorm's rows, and the Adam/AdamW update.

On the GPU each array operation is a kernel launch and a pass over memory: the array path of
GELU's backward is 14 of them over an activation-sized array, LayerNorm's forward 8, Adam's
update 13 per parameter. Here each is one kernel, the same formula in the same order of
operations (so the values agree with the array path's to a rounding or two: the CUDA compiler
may contract a multiply and an add into one fused multiply-add):

- ``gelu_tanh(x) -> y`` and ``gelu_tanh_backward(x, g) -> dx``: elementwise, any shape;
- ``layer_norm_rows(x, w, b, eps) -> (y, xhat, rstd)`` and
  ``layer_norm_rows_backward(g, xhat, w, rstd) -> dx``: x, g, y, xhat, dx (N, C) C-contiguous,
  w, b (C,) or None, rstd (N, 1); one warp of 32 threads per row, its sums by warp shuffles;
- ``attention_softmax(s, scale, t_q, causal, shift)`` and ``attention_softmax_backward(ds, p, scale)``:
  in place on the (R, T_k) rows of the scores, R = (batch...) * T_q: P = softmax(scale S + causal
  mask), dS = scale P (dP - rowsum(dP P));
- ``cross_entropy_rows(logits, targets) -> (p, nll)`` and
  ``cross_entropy_rows_backward(p, targets, w) -> dlogits``: logits (N, V), one warp per row;
- ``adam_update(p, g, m, v, ...)``: p, m and v updated in place, one pass.

Only float32 and float64 arrays (float16 reaches GELU as float32, see
``minitf/ops/half_math.py``; elsewhere it keeps the array path). ``kernels_for(xp)`` returns this
module where ``xp`` is CuPy and ``MINITF_FUSED_KERNELS=1`` is set, else None: on the CPU and the
fake device the array path always runs. Each kernel is compiled (by CuPy, through NVRTC) on its
first call.

**Off by default, not yet run on a GPU.** Their CUDA source compiles (NVRTC, compute_90, float
and double, checked on a machine without a GPU), but the one GPU lease so far ended before
``tests/test_fused_kernels.py``, which compares each of them with the array path on a real GPU,
could run; until a run of ``benchmarks/gpu_check.py`` passes it, the array path, which the strict
fake device checks, stays the default. Their wiring into the ops is checked on the CPU, with the
same kernels written in NumPy standing in (``stand_in``, ``tests/fused_reference.py``).
"""
from __future__ import annotations

import os

import numpy as np

from .. import backend

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_compiled: dict = {}
# tests only: a module of these functions written with NumPy (tests/fused_reference.py), taken for
# NumPy arrays while set, so that the CPU suite runs the ops' fused branches and their wiring
stand_in = None


def kernels_for(xp, *arrays, allowed: bool = True):
    """This module where ``xp`` is CuPy and ``MINITF_FUSED_KERNELS=1`` asks for them, and the
    ``arrays`` a kernel would take are ones it computes (:func:`supports`), else None; None also
    when not ``allowed`` (an optimizer's ``fused=False``)."""
    if not allowed:
        return None
    if stand_in is not None and xp is np:
        kernels = stand_in
    elif xp is np or xp is not backend._cupy or os.environ.get("MINITF_FUSED_KERNELS", "0") != "1":
        return None
    else:
        kernels = _this()
    return kernels if not arrays or kernels.supports(*arrays) else None


def _this():
    import sys
    return sys.modules[__name__]


def supports(*arrays) -> bool:
    """Whether every array is float32 or float64, all of one dtype."""
    return all(a.dtype == arrays[0].dtype for a in arrays) and arrays[0].dtype in _DTYPES


def _kernel(name: str, build):
    k = _compiled.get(name)
    if k is None:
        k = _compiled[name] = build(backend._cupy)
    return k


# --- GELU, tanh form: 0.5 x (1 + tanh(c (x + a x^3))), as minitf/ops/elementwise.py's GELU ---
def _tanh_arg():
    """CUDA lines that set t's argument s = c (x + a x^3) = x (c + a c x^2), and a and c: GELU's
    constants of minitf/ops/elementwise.py (imported on a kernel's first build: ops imports this module)."""
    from ..ops.elementwise import _GELU_A as a, _GELU_C as c
    return f"T s = x * x; s *= (T){a * c!r}; s += (T){c!r}; s *= x;", a, c


def gelu_tanh(x):
    """GELU (tanh form) of a float32/float64 CuPy array: y, the same shape."""
    def build(cp):
        arg, _, _ = _tanh_arg()
        return cp.ElementwiseKernel("T x", "T y", arg + " T t = tanh(s); y = (t + (T)1) * x * (T)0.5;",
                                    "minitf_gelu_tanh")
    return _kernel("gelu_fwd", build)(x)


def gelu_tanh_backward(x, g):
    """dx = g (0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2)), t = tanh(c (x + a x^3))."""
    def build(cp):
        arg, a, c = _tanh_arg()
        return cp.ElementwiseKernel(
            "T x, T g", "T d",
            arg + " T t = tanh(s);"
            f" T u = x * x; u *= (T){3 * a * c!r}; u += (T){c!r};"
            " T e = t * t - (T)1; e *= u; e *= x; e *= (T)-0.5;"
            " e += t * (T)0.5; e += (T)0.5; d = e * g;", "minitf_gelu_tanh_backward")
    return _kernel("gelu_bwd", build)(x, g)


# --- LayerNorm over the last axis, one warp per row -----------------------------------------
_WARP = r"""
__device__ __forceinline__ T warp_sum(T s) {
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    return s;
}

__device__ __forceinline__ T warp_max(T s) {
    for (int o = 16; o > 0; o >>= 1) s = max(s, __shfl_xor_sync(0xffffffffu, s, o));
    return s;
}

// a product rounded on its own, never contracted into a fused multiply-add with the next
// operation: the array path rounds it before subtracting the row maximum
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }

#define ROW_AND_LANE \
    long long row = (long long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32; \
    int lane = threadIdx.x % 32; \
    if (row >= n) return;   /* a whole warp leaves together: its shuffles stay full */
"""

_LN_SOURCE = r"""
extern "C" __global__ void layer_norm_forward(const T* x, const T* w, const T* b, T* xhat, T* y, T* rstd,
                                              long long n, int c, T eps, int has_w, int has_b) {
    ROW_AND_LANE
    const T* xr = x + row * c;
    T s = 0;
    for (int j = lane; j < c; j += 32) s += xr[j];
    T mean = warp_sum(s) / (T)c;
    T q = 0;
    for (int j = lane; j < c; j += 32) { T d = xr[j] - mean; q += d * d; }
    T r = (T)1 / sqrt(warp_sum(q) / (T)c + eps);
    for (int j = lane; j < c; j += 32) {
        T h = (xr[j] - mean) * r;
        xhat[row * c + j] = h;
        T o = has_w ? h * w[j] : h;
        y[row * c + j] = o + (has_b ? b[j] : (T)0);   // + 0 all the same: -0 comes out +0, as torch
    }
    if (lane == 0) rstd[row] = r;
}

extern "C" __global__ void layer_norm_backward(const T* g, const T* xhat, const T* w, const T* rstd, T* dx,
                                               long long n, int c, int has_w) {
    ROW_AND_LANE
    const T* gr = g + row * c;
    const T* hr = xhat + row * c;
    T s1 = 0, s2 = 0;
    for (int j = lane; j < c; j += 32) {
        T dh = has_w ? gr[j] * w[j] : gr[j];
        s1 += dh;
        s2 += dh * hr[j];
    }
    T m1 = warp_sum(s1) / (T)c, m2 = warp_sum(s2) / (T)c, r = rstd[row];
    for (int j = lane; j < c; j += 32) {
        T dh = has_w ? gr[j] * w[j] : gr[j];
        dx[row * c + j] = (dh - hr[j] * m2 - m1) * r;   // rstd (dxhat - xhat mean(dxhat xhat) - mean(dxhat))
    }
}
"""

_SOFTMAX_SOURCE = r"""
// P = softmax(scale S + causal mask) in place; row r is query i = r % tq, which sees keys
// [0, i + shift] under the causal mask (shift = tk - tq bottom-right, 0 top-left), all without it
extern "C" __global__ void attention_softmax(T* s, long long n, int tk, int tq, int causal, int shift, T scale) {
    ROW_AND_LANE
    T* sr = s + row * tk;
    int i = (int)(row % tq);
    int lim = causal ? min(tk, i + shift + 1) : tk;
    T m = (T)__int_as_float(0xff800000);   // -inf
    for (int j = lane; j < lim; j += 32) m = max(m, mul_rn(sr[j], scale));
    m = warp_max(m);
    T z = 0;
    for (int j = lane; j < lim; j += 32) { T e = exp(mul_rn(sr[j], scale) - m); sr[j] = e; z += e; }
    z = warp_sum(z);
    for (int j = lane; j < tk; j += 32) sr[j] = j < lim ? sr[j] / z : (T)0;
}

// dS = scale P (dP - rowsum(dP P)), in place on dP
extern "C" __global__ void attention_softmax_backward(T* ds, const T* p, long long n, int tk, T scale) {
    ROW_AND_LANE
    T* dr = ds + row * tk;
    const T* pr = p + row * tk;
    T a = 0;
    for (int j = lane; j < tk; j += 32) a += dr[j] * pr[j];
    a = warp_sum(a);
    for (int j = lane; j < tk; j += 32) dr[j] = (dr[j] - a) * pr[j] * scale;
}

// softmax rows of logits (n, v) into p, and nll = log(sum e) - (x[t] - max); t in [0, v)
extern "C" __global__ void cross_entropy_forward(const T* x, const long long* t, T* p, T* nll, long long n, int v) {
    ROW_AND_LANE
    const T* xr = x + row * v;
    T* pr = p + row * v;
    T m = (T)__int_as_float(0xff800000);   // -inf
    for (int j = lane; j < v; j += 32) m = max(m, xr[j]);
    m = warp_max(m);
    T z = 0;
    for (int j = lane; j < v; j += 32) { T e = exp(xr[j] - m); pr[j] = e; z += e; }
    z = warp_sum(z);
    for (int j = lane; j < v; j += 32) pr[j] = pr[j] / z;
    if (lane == 0) nll[row] = log(z) - (xr[t[row]] - m);
}

// dlogits = (p - onehot(t)) w_row
extern "C" __global__ void cross_entropy_backward(const T* p, const long long* t, const T* w, T* d,
                                                  long long n, int v) {
    ROW_AND_LANE
    const T* pr = p + row * v;
    long long tr = t[row];
    T wr = w[row];
    for (int j = lane; j < v; j += 32) d[row * v + j] = (j == tr ? pr[j] - (T)1 : pr[j]) * wr;
}
"""
_ROWS_PER_BLOCK = 8   # 8 warps, 256 threads


def _rows_module(dtype):
    name = "double" if dtype == np.float64 else "float"
    return _kernel(f"rows_{name}", lambda cp: cp.RawModule(
        code=f"#define T {name}\n" + _WARP + _LN_SOURCE + _SOFTMAX_SOURCE))


def _launch(dtype, name: str, n: int, args) -> None:
    if n:
        f = _compiled.get((name, dtype.str))
        if f is None:
            f = _compiled[(name, dtype.str)] = _rows_module(dtype).get_function(name)
        f(*_grid(n), args)


def _grid(n: int):
    return (-(-n // _ROWS_PER_BLOCK),), (32 * _ROWS_PER_BLOCK,)


def layer_norm_rows(x, w, b, eps: float):
    """x (N, C) C-contiguous, w and b (C,) or None -> y (N, C), xhat (N, C), rstd (N, 1)."""
    cp = backend._cupy
    n, c = x.shape
    xhat, y = cp.empty_like(x), cp.empty_like(x)
    rstd = cp.empty((n, 1), dtype=x.dtype)
    _launch(x.dtype, "layer_norm_forward", n,
            (x, x if w is None else cp.ascontiguousarray(w), x if b is None else cp.ascontiguousarray(b),
             xhat, y, rstd, np.int64(n), np.int32(c), x.dtype.type(eps), np.int32(w is not None),
             np.int32(b is not None)))
    return y, xhat, rstd


def layer_norm_rows_backward(g, xhat, w, rstd):
    """g, xhat (N, C) C-contiguous, w (C,) or None, rstd (N, 1) -> dx (N, C)."""
    cp = backend._cupy
    n, c = xhat.shape
    dx = cp.empty_like(xhat)
    _launch(xhat.dtype, "layer_norm_backward", n,
            (g, xhat, xhat if w is None else cp.ascontiguousarray(w), rstd, dx, np.int64(n), np.int32(c),
             np.int32(w is not None)))
    return dx


def attention_softmax(s, scale: float, t_q: int, causal: bool, shift: int) -> None:
    """In place on the C-contiguous scores s (..., T_q, T_k): P = softmax(scale S + causal mask),
    query i seeing keys [0, i + shift] under the mask (every row must see one)."""
    t_k = s.shape[-1]
    n = s.size // t_k if t_k else 0
    _launch(s.dtype, "attention_softmax", n, (s, np.int64(n), np.int32(t_k), np.int32(t_q), np.int32(causal),
                                              np.int32(shift), s.dtype.type(scale)))


def attention_softmax_backward(ds, p, scale: float) -> None:
    """In place on the C-contiguous dP (..., T_q, T_k): dS = scale P (dP - rowsum(dP P))."""
    t_k = ds.shape[-1]
    n = ds.size // t_k if t_k else 0
    _launch(ds.dtype, "attention_softmax_backward", n, (ds, p, np.int64(n), np.int32(t_k), ds.dtype.type(scale)))


def cross_entropy_rows(logits, targets):
    """logits (N, V) C-contiguous, targets (N,) int64 in [0, V) -> p = softmax (N, V), nll (N,)."""
    cp = backend._cupy
    n, v = logits.shape
    p, nll = cp.empty_like(logits), cp.empty(n, dtype=logits.dtype)
    _launch(logits.dtype, "cross_entropy_forward", n,
            (logits, cp.ascontiguousarray(targets, dtype=np.int64), p, nll, np.int64(n), np.int32(v)))
    return p, nll


def cross_entropy_rows_backward(p, targets, w):
    """p (N, V) C-contiguous, targets (N,) in [0, V), w (N,) -> (p - onehot(targets)) w[:, None]."""
    cp = backend._cupy
    n, v = p.shape
    d = cp.empty_like(p)
    _launch(p.dtype, "cross_entropy_backward", n,
            (p, cp.ascontiguousarray(targets, dtype=np.int64), cp.ascontiguousarray(w, dtype=p.dtype), d,
             np.int64(n), np.int32(v)))
    return d


# --- Adam / AdamW, as minitf/optim/optimizers.py's Adam.step without amsgrad ----------------------
def adam_update(p, g, m, v, *, b1: float, b2: float, step_size: float, bias2_sqrt: float, eps: float,
                decay: float) -> None:
    """In place: p *= decay; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    p -= step_size m / (sqrt(v) / bias2_sqrt + eps). All of p's shape, one dtype."""
    k = _kernel("adam", lambda cp: cp.ElementwiseKernel(
        "T g, T b1, T omb1, T b2, T omb2, T step_size, T bias2_sqrt, T eps, T decay", "T p, T m, T v",
        "p *= decay;"
        " T t = g * omb1; m *= b1; m += t;"
        " t = g * g; t *= omb2; v *= b2; v += t;"
        " t = sqrt(v); t /= bias2_sqrt; t += eps; t = m / t; t *= step_size; p -= t;",
        "minitf_adam_update"))
    f = p.dtype.type
    k(g, f(b1), f(1 - b1), f(b2), f(1 - b2), f(step_size), f(bias2_sqrt), f(eps), f(decay), p, m, v)
