"""In-place safety: the checks backward makes of the version counters (see :mod:`minitf.autograd`).

A recorded Function notes the epoch of its forward; an in-place change bumps the storage's counter
``t._vc`` ([count, epoch of the last change]). Backward calls
:func:`_check_versions` only once some in-place change happened since the forward; it raises,
naming the op, when a saved input or output changed after it was saved.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:   # (annotations only: the engine and the Tensor import this module)
    from .autograd import Function
    from .tensor import Tensor

def _changed_since(t: Tensor, epoch: int) -> bool:
    vc = getattr(t, "_vc", None)
    return vc is not None and vc[1] > epoch


def _check_versions(out: Tensor, fn: Function, inputs) -> None:
    """Raise if a tensor that ``fn`` saved for backward was changed in place after its forward."""
    # (a view whose base changed in place since is no error: it was re-based, minitf/view_rebase.py)
    culprit = None
    kept = _kept(fn) if "_saved_packed" in fn.__dict__ else ()
    if fn.saves_output and _changed_since(out, fn._epoch) and "output" not in kept:
        culprit = f"output 0 of {fn.name()}"
    else:
        for k in fn.saved_inputs(inputs):
            inp = inputs[k]
            if _changed_since(inp, fn._epoch) and k not in kept:
                culprit = f"input {k} of {fn.name()}"
                t = inp
                break
    if culprit is None:
        return
    t = out if culprit.startswith("output") else t
    raise RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: the {culprit} (a tensor of shape {t.shape}), now at version {t._version}, was "
        f"changed after {fn.name()} saved it. Change it out of place, or clone() it first")


def _kept(fn: Function) -> set:
    """The saved tensors of a packed node (:mod:`minitf.saved_tensors`) that
    ``allow_mutation_on_saved_tensors`` cloned before an in-place change: input indices, and
    "output" (a packed array that is no input's is the output: only it can be written to)."""
    from .saved_tensors_mutation import kept
    return {"output" if v.index is None else v.index for _, _, _, items in fn.__dict__["_saved_packed"]
            for v in items if kept(getattr(v, "value", None))}


def _freed_error() -> RuntimeError:
    """PyTorch's error for a second backward through a graph whose saved arrays were freed."""
    return RuntimeError("Trying to backward through the graph a second time (or directly access saved "
                        "tensors after they have already been freed): pass retain_graph=True to the "
                        "first backward() if you need to call it twice")
