"""The ``ctx`` of a user's :class:`minitf.autograd.Function` (:mod:`minitf.custom_function`):
what forward keeps for backward (``save_for_backward``, ``save_for_forward``, attributes), what it
declares (``mark_non_differentiable``, ``mark_dirty``, ``set_materialize_grads``), and
``saved_tensors``, which checks the version of each saved tensor and unpacks what
``saved_tensors_hooks`` packed, as torch's.
"""
from __future__ import annotations

import weakref

from . import autograd as _engine
from .tensor import Tensor


class FunctionCtx:
    """The ``ctx`` of a custom Function: what ``forward`` leaves for ``backward``."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._to_save = ()
        self._saved = ()
        self._non_differentiable = ()
        self._dirty = ()
        self.materialize_grads = True
        self._for_forward = ()   # save_for_forward's tensors: what saved_tensors gives inside jvp
        self._in_jvp = False

    def save_for_backward(self, *tensors) -> None:
        """Keep these tensors (or None) for ``backward``; their versions are taken when forward
        returns (as torch's), and checked when read."""
        for k, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save Tensors or None, got {type(t).__name__} "
                                f"at position {k} (keep other values as attributes of ctx)")
        self._to_save = tensors

    def save_for_forward(self, *tensors) -> None:
        """Keep these tensors (or None) for ``jvp`` (forward-mode AD, :mod:`minitf.forward_ad`):
        inside it ``ctx.saved_tensors`` gives them, as torch's."""
        for k, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_forward expects all arguments to be tensors, got {type(t).__name__} "
                                f"at position {k} (keep other values as attributes of ctx)")
        self._for_forward = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """These outputs of forward get no gradient: they do not require grad, and backward is
        given zeros for them (None with ``set_materialize_grads(False)``), as torch's."""
        self._non_differentiable = tuple(tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """``False``: backward gets None, not zeros, for an output that got no gradient."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors) -> None:
        """These inputs were changed in place by forward, which returns them: each becomes that output
        (its grad_fn this Function's node, its version bumped), as torch's."""
        self._dirty = tuple(tensors)

    def _finish(self, inputs, outputs, results) -> None:
        """End of forward: each saved tensor with its version; a saved output of forward stands for the
        Tensor ``apply`` returned for it (``results``, held weakly: the node holds ctx), as torch's."""
        saved = []
        for t in self._to_save:
            k = next((k for k, o in enumerate(outputs) if o is t and results[k] is not None), None)
            if any(t is a for a in inputs) and not any(t is d for d in self._dirty):
                # an input returned as is stays the input, as torch's (a dirty one is the output)
                k = None
            if t is None:
                saved.append((None, None, None))
            elif k is None:  # an input as passed (graph-carrying), or a tensor forward made
                saved.append((t, t._version, None))
            else:
                saved.append((weakref.ref(results[k]), t._version, (k, t)))
        self._saved = tuple(saved)
        self._to_save = ()
        if _engine._tls.hooks and any(r is not None for r in results):   # a recorded call: saved_tensors_hooks?
            from . import saved_tensors
            hooks = saved_tensors.current()
            if hooks is not None:
                self._saved = saved_tensors.pack_saved(self._saved, inputs, hooks)

    @property
    def saved_tensors(self) -> tuple:
        """What :meth:`save_for_backward` kept; an error if one was changed in place since (inside
        ``jvp``: what :meth:`save_for_forward` kept)."""
        if self._in_jvp:
            return tuple(self._for_forward)
        out = []
        for k, (t, version, output) in enumerate(self._saved):
            if t is not None and output is None and not isinstance(t, Tensor):  # packed: saved_tensors_hooks
                out.append(t.unpack(self, k, version, _modified_error))
                continue
            if output is not None:
                ref, (i, plain) = t, output
                t = ref()
                if t is None:  # the Tensor apply returned is gone: rebuilt on the node, as torch unpacks
                    t = self._rebuild(i, plain)
            if t is not None and t._version != version:
                raise _modified_error(k, t, version)
            out.append(t)
        return tuple(out)

    def _rebuild(self, i, plain) -> Tensor:
        node = getattr(self, "_running", None)  # set while the node's backward runs
        if node is None:
            return plain
        if node.outputs is None:
            t = Tensor._make(plain.data, node)
        else:
            packed = self._packed()
            unpack = node.unpack_type
            t = unpack.apply(packed, out=plain.data, k=i, node=node)
        t._vc = _engine.shared_counter(plain)
        return t


def _modified_error(k: int, t: Tensor, version: int) -> RuntimeError:
    return RuntimeError(f"one of the variables needed for gradient computation has been modified by an inplace "
                        f"operation: saved tensor {k} of shape {t.shape} is at version {t._version}; expected "
                        f"version {version} instead")
