"""Anomaly detection: stop at the first op whose forward output or backward gradient is not finite.

    with mt.detect_anomaly():
        loss = model(x)            # every op's output is checked for NaN and inf
        loss.backward()            # and every gradient an op's backward returns

The error names the op, the direction (forward or backward), the shapes of the op's
inputs and where in your code the op was created (the file and line of the first
frame outside minitf, recorded at forward time, only while anomaly mode is on). An
inf that an input already carried (a deliberate ``masked_fill(mask, -inf)``) is not
an anomaly in forward; a NaN always is. Off by default: the engine then does no
checks at all (one test of an empty tuple per op). Like every debug tool here it
reads the graph and never changes it. The mode is the process's, as torch's: entered in one
thread, it checks the ops of every thread.
"""
from __future__ import annotations

import os
import sys

from . import backend, debughooks
from .tensor import Tensor

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


class AnomalyError(RuntimeError):
    """An op produced NaN or inf under :class:`detect_anomaly`; the message says which and where."""


def _user_frame() -> str:
    """``file:line (in function)`` of the innermost frame outside the minitf package."""
    f = sys._getframe(1)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_PACKAGE):
        f = f.f_back
    return "<unknown>" if f is None else f"{f.f_code.co_filename}:{f.f_lineno} (in {f.f_code.co_name})"


def _bad(a):
    """'nan', 'inf' or None for a floating array (other dtypes are always fine)."""
    if a is None or a.dtype.kind not in "fc":
        return None
    xp = backend.get_array_module(a)
    if bool(xp.isfinite(a).all()):
        return None
    return "nan" if bool(xp.isnan(a).any()) else "inf"


def _shapes(tensors) -> str:
    return ", ".join(str(t.shape) for t in tensors)


class detect_anomaly:
    """Context manager: raise :class:`AnomalyError` at the first non-finite forward output or
    backward gradient, naming the op, the direction, the input shapes and the creating line."""

    synchronize = False

    def __enter__(self):
        debughooks.push(self)
        return self

    def __exit__(self, *exc):
        debughooks.pop(self)

    def on_forward(self, cls, inputs, out, seconds):
        origin = _user_frame()
        if out._fn is not None:
            out._fn._anomaly_origin = origin  # read back by on_backward
        what = _bad(out.data)
        if what == "inf" and any(_bad(t.data) == "inf" for t in inputs):
            return  # the inf came in (a -inf mask), it was not made here
        if what is None:
            return
        came_in = [k for k, t in enumerate(inputs) if _bad(t.data) == "nan"]
        if came_in:  # not made here: it was in a tensor built outside the ops (or before the block)
            raise AnomalyError(f"detect_anomaly: the forward of {cls.__name__} received nan in input "
                               f"{came_in[0]} (input shapes {_shapes(inputs)}), made before "
                               f"detect_anomaly() was entered or outside minitf's ops; the op was called at {origin}")
        raise AnomalyError(f"detect_anomaly: the forward of {cls.__name__} produced {what} "
                           f"(input shapes {_shapes(inputs)}); the op was called at {origin}")

    def on_backward(self, fn, grad_out, grads_in, seconds):
        for k, g in enumerate(grads_in):
            what = _bad(g.data if isinstance(g, Tensor) else g)  # a Tensor under create_graph
            if what is not None:
                origin = getattr(fn, "_anomaly_origin", "<created before detect_anomaly() was entered>")
                raise AnomalyError(
                    f"detect_anomaly: the backward of {type(fn).__name__} produced {what} in the "
                    f"gradient of input {k} (input shapes {_shapes(fn.inputs)}); the op was created at {origin}")
