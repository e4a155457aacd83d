"""The names of graph nodes as torch prints them: ``grad_fn=<MulBackward0>``.

torch names each backward node after its kernel and overload (``MulBackward0``,
``AddmmBackward0``, ``SumBackward1`` for a sum over dims). minitf's ops are Function classes
named after the op (``Mul``, ``Linear``); :func:`node_name` gives torch's name for one
recorded node: the table below where torch's kernel has another name, the overload picked
from the inputs' shapes (which the node keeps after backward) or from the reduced dims
or the index of ``x[...]`` (kept in slots for that reason), and ``<Class>Backward0`` for every other op of
:mod:`minitf.ops`. Where torch's name depends on arguments minitf does not keep
(``x.transpose(0, 1)`` is ``TransposeBackward0``, ``x.permute(1, 0)`` ``PermuteBackward0``:
minitf's one Permute), minitf's op gives the name. A Function that is not one of minitf's ops (a user's custom
Function, the hooks of nn) is ``<Class>Backward``, as torch names custom Functions.

Only ever computed when asked for (a repr, ``name()``, an error message): never on the
engine's path.
"""
from __future__ import annotations

# minitf class -> torch's node name, where torch's kernel differs from the class name
_RENAMED = {
    "ReLU": "ReluBackward0", "GELU": "GeluBackward0", "GELUErf": "GeluBackward0", "SiLU": "SiluBackward0",
    "LeakyReLU": "LeakyReluBackward0", "ELU": "EluBackward0", "ReLU6": "HardtanhBackward0",
    "Log1p": "Log1PBackward0", "PowTensor": "PowBackward1", "Square": "PowBackward0",
    "Max": "MaxBackward1", "Min": "MinBackward1", "MaxDim": "MaxBackward0", "MinDim": "MinBackward0",
    "Clamp": "ClampBackward1", "ClampTensor": "ClampBackward0", "Reshape": "ViewBackward0",
    "Concatenate": "CatBackward0", "Contiguous": "CloneBackward0", "AsType": "ToCopyBackward0",
    "ToDevice": "ToCopyBackward0", "BroadcastTo": "ExpandBackward0",
    "Norm0": "LinalgVectorNormBackward0", "Norm2": "LinalgVectorNormBackward0", "NormP": "LinalgVectorNormBackward0",
    "LayerNorm": "NativeLayerNormBackward0", "CrossEntropy": "NllLossBackward0",
    "WeightedCrossEntropy": "NllLossBackward0", "NLLLoss": "NllLossBackward0", "Dropout": "MulBackward0",
    "ConstantPad": "ConstantPadNdBackward0", "SmoothL1": "SmoothL1LossBackward0", "RoundedDiv": "DivBackward2",
    "Recompute": "RecomputeBackward",  # torch's checkpoint shows the recomputed ops; minitf's one node
    # conv/pool/norm results: the reshape of an op's intermediate that is not a view (ops/_util.as_result)
    "OpResult": "ViewBackward0",
}

# torch's matmul kernel by the (ndim of a, ndim of b): mm, mv, dot; 1-d @ 2-d squeezes an mm;
# batched ones end in a view of a bmm
_MATMUL = {(2, 2): "MmBackward0", (2, 1): "MvBackward0", (1, 1): "DotBackward0", (1, 2): "SqueezeBackward4"}

_by_class: dict = {}


def class_name(cls) -> str:
    """The node name of every instance of ``cls`` whose name does not depend on its inputs."""
    name = _by_class.get(cls)
    if name is None:
        if not cls.__module__.startswith("minitf.ops"):
            name = f"{cls.__name__}Backward"  # a custom Function: torch's naming of those
        else:
            name = _RENAMED.get(cls.__name__, f"{cls.__name__}Backward0")
        _by_class[cls] = name
    return name


def node_name(fn) -> str:
    """torch's name for the recorded node ``fn`` (``grad_fn.name()``)."""
    given = getattr(fn, "_torch_name", None)
    if given is not None:
        return given
    cls = type(fn)
    kind = cls.__name__ if cls.__module__.startswith("minitf.ops") else None
    inputs = getattr(fn, "inputs", None)
    if kind in ("Sum", "Mean", "Prod"):
        # sum() and sum(dim) are two of torch's overloads (SumBackward0 / SumBackward1)
        return f"{kind}Backward{0 if getattr(fn, 'axis', None) is None else 1}"
    if kind == "GetItem":
        return _getitem_name(getattr(fn, "index", None))
    if kind == "MatMul" and inputs is not None:
        return _MATMUL.get((inputs[0].ndim, inputs[1].ndim), "UnsafeViewBackward0")
    if kind == "Linear" and inputs is not None:
        # F.linear: addmm (with a bias) or mm on a 2-d input; a view of those on any other
        if inputs[0].ndim == 2:
            return "AddmmBackward0" if len(inputs) == 3 else "MmBackward0"
        return "ViewBackward0" if len(inputs) == 3 else "UnsafeViewBackward0"
    return class_name(cls)


def named(out, name: str, *inputs):
    """``out`` (a Tensor, or a tuple / list of them), its node named ``name`` where the op that
    made it is one of several torch kernels minitf computes with one class (``x.transpose`` and
    ``x.permute`` are both minitf's Permute). A node that is one of ``inputs``' own (an op that
    handed an input back) keeps its name."""
    if isinstance(out, (tuple, list)):
        for o in out:
            named(o, name, *inputs)
        return out
    fn = getattr(out, "_fn", None)
    if fn is not None and all(fn is not getattr(i, "_fn", None) for i in inputs):
        fn._torch_name = name
    return out


def named_copy(x, name: str):
    """A copy of ``x`` in its own dtype (a bool stays bool, where ``x * 1`` made it int64), its node
    named ``name``: the result of a kernel that is the identity on ``x`` (torch's flip, sort, mode,
    kthvalue, aminmax ... of a 0-d tensor)."""
    return named(x.clone(), name, x)


def getitem_key_name(key):
    """torch's node for ``x[key]``, from the key as given, or None where :func:`_getitem_name`
    decides: in a tuple key torch skips a full slice (``x[1, :]`` is a select, ``x[:, :]`` an
    alias), a lone slice it always applies (``x[:]`` is a slice)."""
    import numpy as np
    if not isinstance(key, tuple):
        return None
    rest = [k for k in key if k is not Ellipsis
            and not (isinstance(k, slice) and k.start in (None, 0) and k.stop is None and k.step in (None, 1))]
    if not rest:
        return "AliasBackward0"
    if not all(k is None or isinstance(k, (int, np.integer, slice)) or isinstance(k, bool) for k in rest):
        return None
    if any(isinstance(k, bool) for k in rest):
        return None
    return _getitem_name(tuple(rest))


def _getitem_name(index) -> str:
    """torch's node for ``x[key]``: basic indexing applies select (an int), slice, unsqueeze
    (None) dim by dim, so the last of them names the node; any array in the key is advanced
    indexing (IndexBackward0); ``x[...]`` alone an alias."""
    from .ops.subscript import basic_index
    key = index if isinstance(index, tuple) else (index,)
    key = [k for k in key if k is not Ellipsis]
    if not key:
        return "AliasBackward0"
    if not basic_index(tuple(key)):
        return "IndexBackward0"
    last = key[-1]
    return "SliceBackward0" if isinstance(last, slice) else "UnsqueezeBackward0" if last is None else "SelectBackward0"
