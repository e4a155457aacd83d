"""Forward-mode rules (J t) of the fused ops, written from the op's own node.

A fused op (layer_norm, gelu, attention, cross_entropy, conv ...) computes its forward in one
pass over arrays and keeps on its node what its backward needs (layer_norm's xhat and 1/std,
attention's probabilities P). Its tangent is written here from those, in a few Tensor ops,
rather than by the double-vjp identity (:func:`minitf.forward_rules._by_double_vjp`: the op
again on fresh leaves and two recorded backward passes through its composition). The op runs
once, with its node kept (:func:`run_keeping`), and a rule ``rule(fn, inputs, tangents,
params, out, recorded)`` gives J t (or NotImplemented: the double-vjp identity after all):

- an elementwise op (diagonal Jacobian, so J = J^T): its backward applied to the tangent
  (of several inputs: sum_k backward(ones)_k t_k);
- an op with a 0-d output (a reduced loss): J t = sum_k <d out / d input_k, t_k>, one backward;
  a reduction over some axes (amax, var, std, norm): the same per slice;
- the normalisations (layer_norm, rms_norm, batch/group/instance norm): with xhat and r = 1/std
  of the statistics' axes, d xhat = r (t - mean(t) - xhat mean(t xhat)) and
  d y = d xhat w + xhat dw + db;
- attention: dS = (dQ K^T + Q dK^T) scale (+ the float mask's tangent),
  dP = P (dS - rowsum(P dS)), dO = (dP keep) V + (P keep) dV;
- the bilinear ones (conv, conv_transpose): one call per input, as matmul.

The tangent must be differentiable (recorded) wherever it depends on something that requires
grad while grad mode is on. The node's arrays are constants, which is exact while no primal
requires grad (the tangent then depends on the tangents only, through recorded Tensor ops);
when a primal does (``recorded``), the rule takes the same quantities from recorded Tensor ops
on the inputs instead (the op's backward_graph, or the statistics recomputed), so the tangent
differentiates in the primals too.
"""
from __future__ import annotations

from . import autograd
from .tensor import Tensor


def _const(a) -> Tensor:
    return Tensor._make(a, None)


def run_keeping(cls, inputs, params):
    """``(out, node, recorded)``: the op run once with its node kept (for its saved arrays) even
    where nothing records it; ``recorded``: the node is in the caller's graph (a primal requires
    grad under grad mode), so a rule must build the tangent from recorded ops on the inputs."""
    if autograd._tls.grad_enabled and any(x._requires_grad for x in inputs):
        out = cls.apply(*inputs, **params)
        return out, out._fn, True
    from .grad_modes import enable_grad
    probe = Tensor._make(inputs[0].data, None)   # a leaf requiring grad: apply keeps the node
    probe._requires_grad = True
    with enable_grad():
        y = cls.apply(probe, *inputs[1:], **params)
    fn = y._fn
    fn.inputs = tuple(inputs)   # (backward_graph reads the real inputs; none requires grad)
    return Tensor._make(y.data, None), fn, False


def _wants_graph(inputs, tangents) -> bool:
    return autograd._tls.grad_enabled and any(t is not None and t._requires_grad for t in list(inputs) + list(tangents))


def _add(total, term):
    return term if total is None else total if term is None else total + term


# ------------------------------------------------------------------ from the op's backward
def _vjp(fn, seed, inputs, tangents):
    """The node's backward of ``seed``: recorded (backward_graph) where the tangent must be."""
    if _wants_graph(inputs, tangents):
        from .ops.half_math import recorded_backward   # (float16 inputs computed in float32)
        return list(recorded_backward(fn, seed))
    return [None if g is None else _const(g) for g in fn.backward(seed.data)]


def elementwise(fn, inputs, tangents, params, out, recorded):
    """A one-input elementwise op: J is diagonal, so J t is the backward applied to t."""
    return _vjp(fn, tangents[0], inputs, tangents)[0]


def elementwise_several(fn, inputs, tangents, params, out, recorded):
    """An elementwise op of several inputs of the output's shape (binary_cross_entropy_with_logits):
    each input's Jacobian is diagonal, so J t = sum_k backward(ones)_k t_k."""
    shape = fn.inputs[0].shape
    if any(x.shape != shape for x in inputs):
        return NotImplemented
    total = None
    for g, t in zip(_vjp(fn, _ones(inputs[0], shape), inputs, tangents), tangents):
        if g is not None and t is not None:
            total = _add(total, g * t)
    return total


def reduction(fn, inputs, tangents, params, out, recorded):
    """A reduction over ``axis`` (amax, max, var, std, the 2-norm, max(dim)): each output element
    depends on its own slice only, so J t = sum over the slice of backward(ones) t."""
    from .ops.reduction import sum as _sum
    g = _vjp(fn, _ones(out, out.shape), inputs, tangents)[0]
    return _sum(g * tangents[0], params["axis"], keepdims=params.get("keepdims", params.get("keepdim")))


def scalar_output(fn, inputs, tangents, params, out, recorded):
    """An op with a 0-d output (a reduced loss): J t = sum_k <grad_k, t_k>, grad = backward(1)."""
    total = None
    for g, t in zip(_vjp(fn, _ones(inputs[0], ()), inputs, tangents), tangents):
        if g is not None and t is not None:
            total = _add(total, (g * t).sum())   # g may have t's broadcast shape: the sum is <sum_to(g), t>
    return None if total is None else total + _nan_where_nan(out)


def _nan_where_nan(out) -> Tensor:
    """0, or NaN where the 0-d ``out`` is NaN: a mean over no target (cross_entropy with every target
    ignored or of weight 0, an empty batch) is 0/0, and so is its tangent, the same mean of the
    tangent's terms (torch's), where the backward's gradient is 0 (torch's too). (On the device: no
    synchronisation to test it.)"""
    from . import backend
    xp = backend.get_array_module(out.data)
    return _const(xp.where(xp.isnan(out.data), out.data, xp.zeros((), dtype=out.dtype)))


def _ones(like, shape):
    from . import backend
    return _const(backend.get_array_module(like.data).ones(shape, dtype=like.dtype))


def weighted_cross_entropy(fn, inputs, tangents, params, out, recorded):
    """cross_entropy with class weights, smoothing or probability targets: reduced, a 0-d output;
    with reduction='none' loss_i depends on row i of the logits only, so J t = rowsum(backward(ones) t)
    (NotImplemented, so the double-vjp identity, where the probability targets carry a tangent too)."""
    if params["reduction"] != "none":
        return scalar_output(fn, inputs, tangents, params, out, recorded)
    if any(t is not None for t in tangents[1:]):
        return NotImplemented
    g = _vjp(fn, _ones(inputs[0], params["lead"]), inputs, tangents)[0]
    return (g * tangents[0]).sum(-1).reshape(params["lead"])


# ------------------------------------------------------------------ normalisations
def _norm_tangent(xhat, r, axes, centred, w, tangents):
    """d(xhat w + b) for the tangents (tx, tw, tb) (None where absent); means over ``axes``."""
    from .ops.reduction import mean
    tx, tw, tb = tangents
    total = None
    if tx is not None:
        inner = tx - xhat * mean(tx * xhat, axes, keepdims=True)
        if centred:
            inner = inner - mean(tx, axes, keepdims=True)
        dxhat = r * inner
        total = dxhat if w is None else dxhat * w
    if tw is not None:
        total = _add(total, xhat * tw)
    return _add(total, tb)


def _stats(x, axes, eps, centred):
    """(xhat, r) in recorded Tensor ops: r = 1 / sqrt(mean(xc^2) + eps), xhat = xc r."""
    from .ops.reduction import mean
    xc = x - mean(x, axes, keepdims=True) if centred else x
    r = (mean(xc * xc, axes, keepdims=True) + eps) ** -0.5
    return xc * r, r


def _split_wb(inputs, tangents, has_weight, has_bias):
    w = inputs[1] if has_weight else None
    tw = tangents[1] if has_weight else None
    tb = tangents[-1] if has_bias else None
    return w, (tangents[0], tw, tb)


def _norm(axes_of, centred, saved):
    def rule(fn, inputs, tangents, params, out, recorded):
        x = inputs[0]
        axes = axes_of(x)
        has_weight = params.get("has_weight", len(inputs) > 1)
        w, ts = _split_wb(inputs, tangents, has_weight, params.get("has_bias", False))
        if recorded:
            xhat, r = _stats(x, axes, params["eps"], centred)
        else:
            xhat_a, r_a = saved(fn, x)
            xhat, r = _const(xhat_a), _const(r_a)
        return _norm_tangent(xhat, r, axes, centred, w, ts)
    return rule


def _last(x):
    return (x.ndim - 1,)


layer_norm = _norm(_last, True, lambda fn, x: (fn.xhat.reshape(x.shape), fn.rstd.reshape(x.shape[:-1] + (1,))))
rms_norm = _norm(_last, False, lambda fn, x: (fn.xhat, fn.r))
channel_norm = _norm(lambda x: (0, 2), True, lambda fn, x: (fn.xhat, fn.rstd))


# ------------------------------------------------------------------ attention
def _attention_tangent(q, k, v, p, keep, scale, tq, tk, tv, tadd):
    """dO of O = (P keep) V, P = softmax(Q K^T scale + add), P the probabilities before dropout."""
    total = None
    ds = None
    if tq is not None:
        ds = tq @ k.transpose(-1, -2)
    if tk is not None:
        ds = _add(ds, q @ tk.transpose(-1, -2))
    if ds is not None:
        ds = ds * scale
    ds = _add(ds, tadd)
    if ds is not None:
        pd = p * ds
        dp = pd - p * pd.sum(-1, keepdim=True)
        total = (dp if keep is None else dp * keep) @ v
    if tv is not None:
        total = _add(total, (p if keep is None else p * keep) @ tv)
    return total


def _probs(fn, q, k, add, params, recorded):
    """Attention's P (before dropout): the node's, or recorded from the inputs."""
    if not recorded:
        return _const(fn.p)
    from .ops.composed import attention_probs
    return attention_probs(q, k, *(() if add is None else (add,)), mask=params["mask"], causal=params["causal"], scale=params["scale"],
                           add=params.get("add"), top_left=params.get("top_left", False))


def attention(fn, inputs, tangents, params, out, recorded):
    q, k, v = inputs[:3]
    add = inputs[3] if len(inputs) > 3 else None
    keep = None if params["keep"] is None else _const(params["keep"])
    p = _probs(fn, q, k, add, params, recorded)
    return _attention_tangent(q, k, v, p, keep, params["scale"], *tangents[:3],
                              tangents[3] if len(tangents) > 3 else None)


def multi_head_attention(fn, inputs, tangents, params, out, recorded):
    """Self-attention on qkv (B, T, 3C): the heads are views of qkv, as its composition's."""
    qkv, tqkv = inputs[0], tangents[0]
    B, T, C3 = qkv.shape
    H = params["n_head"]
    hd = C3 // (3 * H)

    def heads(a):
        return a.reshape(B, T, 3, H, hd).permute(2, 0, 3, 1, 4)
    h, th = heads(qkv), heads(tqkv)
    keep = None if params["keep"] is None else _const(params["keep"])
    sdpa = dict(mask=params["mask"], causal=params["causal"], scale=params["scale"])
    p = _probs(fn.attn, h[0], h[1], None, sdpa, recorded)
    o = _attention_tangent(h[0], h[1], h[2], p, keep, params["scale"], th[0], th[1], th[2], None)
    return o.permute(0, 2, 1, 3).reshape(B, T, H * hd)


# ------------------------------------------------------------------ bilinear
def bilinear_channels(cls, inputs, tangents, params):
    """conv / conv_transpose (x, w[, b]): bilinear in (x, w), plus the bias per channel (dim 1)."""
    total = None
    for k in (0, 1):
        if tangents[k] is not None:
            args = list(inputs[:2])
            args[k] = tangents[k]
            total = _add(total, cls.apply(*args, **params))
    if len(inputs) == 3 and tangents[2] is not None:
        tb = tangents[2]
        nd = inputs[0].ndim
        total = _add(total, tb.reshape((1, -1) + (1,) * (nd - 2)))   # (run_op expands a lone bias's)
    return total
