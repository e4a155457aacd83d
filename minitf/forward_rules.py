"""How forward-mode AD (:mod:`minitf.forward_ad`) gives each op's output its tangent.

While a dual level is open, :class:`ForwardHook` is registered with :mod:`minitf.debughooks`
and runs every op (``run_op``). An op none of whose inputs carries a tangent runs as ever.
Otherwise its output's tangent J t comes from

- the op itself, for the ops linear in their floating inputs (add, views, reductions by sum,
  joins, casts, index writes): the op applied to the tangents (zeros for an input without one),
  so a view's tangent is the same view of its base's tangent, sharing its memory, as torch's;
- a sum of one op call per input, for the multilinear ops (mul, matmul, einsum, linear);
- a written rule from the output, for the common nonlinear ones (exp, log, sqrt, tanh, sigmoid,
  div, pow, softmax, log_softmax);
- a rule written from the op's node for the fused ones (:mod:`minitf.forward_fused`), or for
  the others with a composition in primitive ops (the RNN, LSTM and GRU cells,
  cosine_similarity) that composition
  run on the duals;
- else the double-vjp identity on that one node: with u a cotangent, ``backward_graph(u)`` is
  J^T u, linear in u, and d<J^T u, t>/du = J t. The op runs once, on fresh leaves over its
  inputs' arrays, so its node exists even under ``no_grad()`` (and a random op's draw is the
  one the output got); an op without a differentiable backward raises, never a silent zero.

The tangents are Tensor ops, recorded when grad mode is on (so a tangent can be
differentiated, in the primals and the tangents).
In-place changes of duals: :mod:`minitf.forward_inplace`; custom Functions' ``jvp``:
:func:`custom_apply`.
"""
from __future__ import annotations

from . import forward_ad, forward_fused
from .tensor import Tensor

# op classes (module, name) whose tangent is the op applied to the tangents, and the multilinear ones
_LINEAR = [("arithmetic", "Add"), ("arithmetic", "AddScaled"), ("arithmetic", "Sub"), ("arithmetic", "Neg"),
           ("shape", "Reshape"),
           ("shape", "Permute"), ("subscript", "GetItem"), ("joining", "Concatenate"), ("joining", "Stack"),
           ("selection", "Where"), ("casting", "AsType"), ("casting", "ToDevice"), ("views", "Clone"),
           ("views", "Contiguous"), ("views", "Expand"), ("views", "Repeat"), ("reduction", "Sum"),
           ("reduction", "Mean"), ("inplace", "IndexPut"), ("_util", "OpResult"), ("layout", "Flip"),
           ("layout", "Roll"), ("nn", "Dropout"), ("nn", "Embedding"), ("loss", "NLLLoss"), ("pointwise", "TriMask"),
           ("avg_pooling", "AvgPool"), ("cumulative", "Cumsum"), ("padding", "GatherPad"),
           ("backward_ops", "ZeroSlopeAnchor")]   # (y's tangent: the anchor ignores x's values)
_MULTILINEAR = [("arithmetic", "Mul"), ("arithmetic", "MatMul"), ("einsum", "Einsum")]
# (module, name) -> rule(inputs, tangents, params, out) of the common nonlinear ops: J t from the output
_NONLINEAR = {
    ("elementwise", "Exp"): lambda xs, ts, p, y: ts[0] * y,
    ("elementwise", "Log"): lambda xs, ts, p, y: ts[0] / xs[0],
    ("elementwise", "Sqrt"): lambda xs, ts, p, y: ts[0] / (2 * y),
    ("elementwise", "Tanh"): lambda xs, ts, p, y: ts[0] * (1 - y * y),
    ("arithmetic", "Pow"): lambda xs, ts, p, y: _pow_rule(xs[0], ts[0], p["p"]),
    ("arithmetic", "Div"): lambda xs, ts, p, y: _div_rule(xs[1], ts, y),
    ("nn", "Softmax"): lambda xs, ts, p, y: y * (ts[0] - (y * ts[0]).sum(dim=p["axis"], keepdim=True)),
    ("nn", "LogSoftmax"): lambda xs, ts, p, y: ts[0] - (y.exp() * ts[0]).sum(dim=p["axis"], keepdim=True),
}
# (module, name) -> name of the rule in minitf.forward_fused of the fused ops: J t from the op's node
# (Sigmoid among them: its backward, g y (1 - y), is computed in float32 for a float16 input)
_FUSED = {("elementwise", n): "elementwise" for n in ("ReLU", "GELU", "GELUErf", "SiLU", "Sigmoid")}
_FUSED.update({("activation", n): "elementwise" for n in ("LeakyReLU", "ReLU6", "ELU", "Softplus", "LogSigmoid")})
_FUSED.update({("piecewise_activations", "PiecewiseLinear"): "elementwise", ("pointwise", "Abs"): "elementwise",
               ("piecewise_activations", "Hardswish"): "elementwise", ("pointwise", "Clamp"): "elementwise",
               ("smooth_activations", "ScaledELU"): "elementwise", ("layer_normalization", "LayerNorm"): "layer_norm",
               ("rms_norm", "RMSNorm"): "rms_norm", ("batch_norm", "ChannelNorm"): "channel_norm",
               ("nn", "CrossEntropy"): "scalar_output", ("loss", "WeightedCrossEntropy"): "weighted_cross_entropy",
               ("attention", "ScaledDotProductAttention"): "attention",
               ("multihead", "MultiHeadSelfAttention"): "multi_head_attention",
               ("pointwise_loss", "BinaryCrossEntropyWithLogits"): "elementwise_several"})
_FUSED.update({("extrema", n): "reduction" for n in ("Amax", "Amin", "Max", "Min", "MaxDim", "MinDim")})
_FUSED.update({("reduction", "Var"): "reduction", ("statistics", "Std"): "reduction",
               ("statistics", "Norm2"): "reduction"})
_rules = None   # cls -> rule, built at the first op on a dual
_fused = None   # cls -> rule(node, inputs, tangents, params, out, recorded) of minitf.forward_fused


def _rule_table() -> dict:
    global _rules
    if _rules is None:
        import importlib
        importlib.import_module("minitf.ops.composed")   # (it gives the fused ops their ``composed``)
        table = {}
        def cls_of(mod, name):
            return getattr(importlib.import_module(f"minitf.ops.{mod}"), name)
        for names, rule in ((_LINEAR, _linear), (_MULTILINEAR, _multilinear)):
            for mod, name in names:
                table[cls_of(mod, name)] = lambda cls, xs, ts, p, y, rule=rule: rule(cls, xs, ts, p)
        for (mod, name), rule in _NONLINEAR.items():
            table[cls_of(mod, name)] = lambda cls, xs, ts, p, y, rule=rule: rule(xs, ts, p, y)
        table[cls_of("linear", "Linear")] = lambda cls, xs, ts, p, y: _linear_layer(cls, xs, ts, p)
        # a constant pad is linear in x once its fill is 0 (the fill's derivative)
        table[cls_of("padding", "ConstantPad")] = lambda cls, xs, ts, p, y: cls.apply(ts[0], **{**p, "value": 0.0})
        for name in ("Conv", "ConvTranspose"):
            table[cls_of("conv", name)] = lambda cls, xs, ts, p, y: forward_fused.bilinear_channels(cls, xs, ts, p)
        _rules = table
    return _rules


def _fused_rule(cls):
    """The node rule of ``cls`` (:mod:`minitf.forward_fused`), or None: the listed fused ops and
    every op marked ``forward_elementwise`` (one input, a diagonal Jacobian: sin, rsqrt, erf ...)."""
    global _fused
    if _fused is None:
        import importlib
        _fused = {getattr(importlib.import_module(f"minitf.ops.{mod}"), name): getattr(forward_fused, rule)
                  for (mod, name), rule in _FUSED.items()}
    rule = _fused.get(cls, False)
    if rule is False:   # (minitf.ops.unary's, special's and more_math's one-input ops say so)
        rule = forward_fused.elementwise if getattr(cls, "forward_elementwise", False) else None
        _fused[cls] = rule
    return rule


def _composed_of(cls):
    """The fused op's composition in primitive ops (``cls.composed``), or None."""
    return getattr(cls, "composed", None)


def _is_float(t) -> bool:
    return t.data.dtype.kind == "f"


def _zeros(x):
    from .creation import zeros_like
    return zeros_like(x)


def _linear(cls, inputs, tangents, params):
    args = [t if t is not None else _zeros(x) if _is_float(x) else x for x, t in zip(inputs, tangents)]
    return cls.apply(*args, **params)


def _multilinear(cls, inputs, tangents, params):
    total = None
    for k, t in enumerate(tangents):
        if t is not None:
            term = cls.apply(*inputs[:k], t, *inputs[k + 1:], **params)
            total = term if total is None else total + term
    return total


def _linear_layer(cls, inputs, tangents, params):   # x W^T + b: bilinear in (x, W), linear in b
    total = _multilinear(cls, inputs[:2], tangents[:2], params)
    if len(inputs) == 3 and tangents[2] is not None:
        total = tangents[2] if total is None else total + tangents[2]
    return total


def _pow_rule(a, t, p):   # d a^p = p a^(p-1) da (0 for p = 0, as the op's backward)
    from .ops.arithmetic import Pow
    return _zeros(a) if p == 0 else t * (p * Pow.apply(a, p=p - 1))


def _div_rule(b, ts, y):   # d(a/b) = da/b - (a/b) db/b
    ta, tb = ts
    total = None if ta is None else ta / b
    if tb is not None:
        term = -(y / b) * tb
        total = term if total is None else total + term
    return total


def _by_double_vjp(cls, inputs, tangents, params):
    """``(output, tangent)``: the op run once on fresh leaves (its node kept), J t from its backward_graph."""
    from . import autograd
    from .backprop import grad
    from .grad_modes import enable_grad
    if cls.backward_graph is None:
        raise RuntimeError(f"forward AD: the op {cls.__name__} has no forward-mode rule and no differentiable "
                           f"backward (backward_graph) to derive one from")
    outer = autograd._tls.grad_enabled
    leaves = []
    for x in inputs:
        if outer and x._requires_grad:   # a node of its own on x: the tangent stays differentiable in x
            s = x.view_as(x)
        else:
            s = Tensor._make(x.data, None)
            s._requires_grad = _is_float(x)
        leaves.append(s)
    with enable_grad():
        y = cls.apply(*leaves, **params)
    fn = y._fn
    tangent = None
    if fn is not None and _is_float(y):
        u = _zeros(y).requires_grad_(True)
        with enable_grad():
            total = None
            for g, t in zip(fn.backward_graph(u), tangents):
                if g is not None and t is not None and g.requires_grad:
                    term = (g * t).sum()   # g may have the broadcast shape: the sum is <sum_to(g), t>
                    total = term if total is None else total + term
            if total is not None:
                create = outer and any(t is not None and t.requires_grad for t in list(tangents) + list(inputs))
                tangent, = grad(total, u, retain_graph=True, create_graph=create, allow_unused=True)
        if tangent is None:
            tangent = _zeros(y)
    if fn is not None and outer and any(x._requires_grad for x in inputs):
        fn.inputs = inputs   # the caller's graph: the node on the real inputs
        return Tensor._make(y.data, fn), tangent
    return Tensor._make(y.data, None), tangent


class ForwardHook:
    """The debug hook of one open dual level: runs each op and attaches its output's tangent."""

    synchronize = False

    def __init__(self, level):
        self.level = level

    def on_forward(self, cls, inputs, out, seconds):
        pass

    def on_backward(self, fn, grad_out, grads_in, seconds):
        pass

    def run_op(self, cls, inputs, params):
        lv = self.level
        tangents = None if forward_ad._active() is None else [lv.tangent_of(t) for t in inputs]
        if tangents is None or all(t is None for t in tangents):
            return cls.apply(*inputs, **params)
        rule = _rule_table().get(cls)
        # (the node rules read J t off real ops' backward: a complex op's, J^T in Wirtinger's sense, is not J)
        fused = None if rule is not None or any(x.data.dtype.kind == "c" for x in inputs) else _fused_rule(cls)
        if rule is not None:
            out = cls.apply(*inputs, **params)
            tangent = rule(cls, inputs, tangents, params, out) if _is_float(out) else None
        elif fused is not None:
            out, fn, recorded = forward_fused.run_keeping(cls, inputs, params)
            tangent = fused(fn, inputs, tangents, params, out, recorded) if _is_float(out) else None
            if tangent is NotImplemented:
                out, tangent = _by_double_vjp(cls, inputs, tangents, params)
        elif _composed_of(cls) is not None and _is_float(inputs[0]):
            out = cls.apply(*inputs, **params)
            tangent = self._through_composition(cls, inputs, params) if _is_float(out) else None
        else:
            out, tangent = _by_double_vjp(cls, inputs, tangents, params)
        if out.data.dtype.kind == "c":   # no complex tangents: func.jvp sees this and takes reverse mode
            lv.dropped_complex = True
        if tangent is not None:
            if tangent.shape != out.shape:   # a term that broadcasts (a lone bias's): the output's shape
                tangent = tangent.expand(*out.shape)
            lv.set(out, tangent)
        return out


    def _through_composition(self, cls, inputs, params):
        """J t of a fused op without a written rule that has a composition in primitive ops
        (:mod:`minitf.ops.composed`; the RNN, LSTM and GRU cells, cosine_similarity): the
        composition run on the duals with this hook on, so each of its ops carries the tangent
        (one pass, not the double vjp's three); its value is dropped, the fused op's kept."""
        from . import debughooks
        prev = debughooks.swap((self,))   # (only forward AD's: the debug tools saw the fused op itself)
        try:
            return self.level.tangent_of(_composed_of(cls)(*inputs, **params))
        finally:
            debughooks.restore(prev)


# ------------------------------------------------------------------ custom Functions
def custom_apply(cls, args, run):
    """``cls.apply(*args)`` of a custom Function while a level is open: forward runs on the primals
    (its ops see no tangents, as torch's), then ``cls.jvp(ctx, *tangents)`` gives the outputs'."""
    lv = forward_ad._active()
    tangents = [lv.tangent_of(a) if isinstance(a, Tensor) else None for a in args] if lv is not None else ()
    if not any(t is not None for t in tangents):
        return run(cls, args)
    jvp = getattr(cls, "jvp", None)
    if jvp is None and cls.__module__.startswith("minitf."):   # minitf's own (linalg): from its backward
        return _custom_by_double_vjp(cls, args, tangents, lv)
    if jvp is None:
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                  "with forward mode AD.")
    keep = []
    with forward_ad._paused(lv):
        result = run(cls, args, keep)
        ctx = keep[0]
        ins = [t if t is not None else _zeros(a) if isinstance(a, Tensor) else None for a, t in zip(args, tangents)]
        ctx._in_jvp = True
        try:
            out_t = jvp(ctx, *ins)
        finally:
            ctx._in_jvp = False
    outs = result if isinstance(result, tuple) else (result,)
    out_t = out_t if isinstance(out_t, tuple) else (out_t,)
    if len(out_t) != len(outs):
        raise RuntimeError(f"Function's jvp returned an invalid number of forward gradients (expected {len(outs)} "
                           f"but got {len(out_t)})")
    for o, t in zip(outs, out_t):
        if t is None or not isinstance(o, Tensor) or not _is_float(o):
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"{cls.__name__}.jvp: a forward gradient is a {type(t).__name__}, not a Tensor or None")
        if tuple(t.shape) != tuple(o.shape):
            raise RuntimeError(f"Trying to set a forward gradient that has a different size than that of the "
                               f"original Tensor, this is not supported. Tensor is of size {list(o.shape)} while "
                               f"the given forward gradient is of size {list(t.shape)}.")
        lv.set(o, t)
    return result


def _custom_by_double_vjp(cls, args, tangents, lv):
    """A custom Function of minitf's own without ``jvp`` (linalg's): J t by the double-vjp identity
    through its (differentiable) backward, i.e. :func:`minitf.func.jvp` of the call."""
    from .func import jvp
    at = [k for k, a in enumerate(args) if isinstance(a, Tensor) and _is_float(a)]

    def call(*floats):
        full = list(args)
        for k, f in zip(at, floats):
            full[k] = f
        return cls.apply(*full)
    ts = tuple(tangents[k] if tangents[k] is not None else _zeros(args[k]) for k in at)
    with forward_ad._paused(lv):
        value, out_t = jvp(call, tuple(args[k] for k in at), ts)
    several = isinstance(value, tuple)
    for o, t in zip(value if several else (value,), out_t if several else (out_t,)):
        if isinstance(o, Tensor) and _is_float(o):
            lv.set(o, t)
    return value
