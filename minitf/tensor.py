"""The Tensor: an array on a device that can record the ops applied to it.

A :class:`Tensor` wraps one backend array (``.data``): this module holds what is the
tensor's own (its data, gradient, version, backward, device and dtype moves, repr); its
conversions to Python values come from :class:`minitf.tensor_conversions.ConversionMethods`,
and the one-line PyTorch-named methods that delegate to :mod:`minitf.ops` (operators, math,
reductions, shapes) from :class:`minitf.tensor_methods.TensorMethods`. The engine that records
ops and runs backward is :mod:`minitf.autograd`.
"""
from __future__ import annotations

import operator

import numpy as np

from . import backend
from .devices import device as _device
from .dtypes import _DTYPE_NAMES, _check_dtype  # noqa: F401  (re-exported: creation, casting, nn use them)
from .errors import DtypeError
from .size import Size as _Size
from .tensor_conversions import ConversionMethods
from .tensor_methods import TensorMethods


# Tensor.device: one mt.device object per kind, made here once (not stored in each tensor)
_DEVICES = {"cpu": _device("cpu"), "fake": _device("fake"), "gpu": _device("cuda", 0)}
_DEVICE_OF_TYPE = {np.ndarray: _DEVICES["cpu"]}  # array type -> its device, learnt on first sight


def _device_of(data):
    dev = _DEVICES[backend.device_of(data)]
    if not isinstance(data, np.generic):  # (Tensor(np.float64(1)) must keep making a 0-d array)
        _DEVICE_OF_TYPE[type(data)] = dev
    return dev


def _refuse(fn):
    """A view that its base's in-place change left with no grad_fn (minitf/view_rebase.py): torch's error."""
    raise RuntimeError(fn.view_refusal)


def current_fn(t):
    """``t``'s node, a view whose re-base was left for later (minitf/view_rebase.py) re-based first:
    what ``grad_fn`` and the repr show, with torch's names."""
    if getattr(t, "_stale", False):
        from .view_rebase import refresh
        refresh(t)
    return t._fn


def _grad_fn(t):
    fn = current_fn(t)
    return fn if getattr(fn, "view_refusal", None) is None else _refuse(fn)


class Tensor(ConversionMethods, TensorMethods):
    """An n-dimensional array on a device, optionally recording gradients.

    Build one with :func:`minitf.tensor`. ``.grad`` is a Tensor of the same
    shape, dtype and device as this one (or None), as in PyTorch.
    """

    # _vc (version counter), _base (the tensor a view shares storage with) and _view_of
    # ((base, index) of a getitem view) and _prev ((epoch, the value before a recorded in-place
    # change)) are set only when needed: read with getattr(t, name, None); so is _views (on a base:
    # its live views, re-based after a recorded in-place change: minitf/view_rebase.py; _stale on
    # such a view: a re-base left for later, the change did not touch its elements)
    __slots__ = ("data", "_grad", "_requires_grad", "_fn", "_retain", "_vc", "_base", "_view_of", "_prev", "_views",
                 "_bounds", "_grad_hooks", "_hooks_finalizer", "_post_hooks", "_stale", "__weakref__")
    __array_priority__ = 1000  # so ndarray + Tensor calls Tensor.__radd__
    # True on vmap's BatchedTensor (minitf/func/batching.py): the ops that read storage before
    # Function.apply ask for it and hand a batched call to its rule (a class attribute, so that
    # the ordinary tensor's answer is one plain read)
    _vmap_batched = False

    def __init__(self, data=None, *sizes, requires_grad: bool = False):
        # the library wraps a backend array as is (dtype kept, memory shared); anything else
        # is torch.Tensor's constructor: sizes, or data converted to the default float dtype
        if type(data) not in _DEVICE_OF_TYPE or sizes:  # (the array types seen so far: NumPy's at first)
            data = _constructor.constructor_data(self, data, sizes)
        if data.dtype.kind == "c":   # a complex tensor: from now on ops check their inputs (minitf/complex_guard.py)
            _check_dtype(data.dtype)
        self.data = data
        self._grad = None
        self._fn = None
        self._retain = False
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _make(data, fn):
        if isinstance(data, np.generic):  # NumPy reductions give scalars; keep 0-d arrays, as CuPy does
            data = np.asarray(data)
        t = Tensor.__new__(Tensor)
        t.data, t._grad, t._fn, t._retain = data, None, fn, False
        t._requires_grad = fn is not None
        return t

    def _set_requires_grad(self, flag) -> None:
        if self._fn is not None:  # torch's rule: only a leaf's flag is the user's to set
            raise RuntimeError("you can only change requires_grad flags of leaf variables; to use a computed "
                               "tensor in a subgraph that needs no gradient, take t.detach()")
        if flag and self.data.dtype.kind not in "fc":
            # (torch's words, though complex dtypes may too)
            raise DtypeError(f"only Tensors of floating point dtype can require gradients, got dtype {self.data.dtype}")
        self._requires_grad = bool(flag)

    # a property so that ``x.requires_grad = ...`` checks what requires_grad_() does (a leaf, a
    # floating dtype: torch's rules); the getter is a C attrgetter, nearly as cheap as a slot (the
    # engine reads the slot itself)
    requires_grad = property(operator.attrgetter("_requires_grad"), _set_requires_grad,
                             doc="Whether gradients flow to this tensor (settable on floating leaf tensors).")

    # ------------------------------------------------------------ attributes
    shape = property(lambda self: tuple(self.data.shape))
    ndim = property(lambda self: self.data.ndim)
    dtype = property(lambda self: self.data.dtype)
    device = property(lambda self: _DEVICE_OF_TYPE.get(type(self.data)) or _device_of(self.data),
                      doc="The device, an ``mt.device``: a ``str`` equal to its name (\"cpu\", \"fake\", \"gpu\"), "
                          "with torch's ``.type`` (\"cuda\" for the GPU) and ``.index``.")
    is_leaf = property(lambda self: self._fn is None)
    grad_fn = property(lambda self: _grad_fn(self), doc="The Function that made this tensor (None for a leaf).")
    mT = property(lambda self: _ops.transpose(self, -2, -1), doc="The last two dims swapped.")

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's storage has had (PyTorch's ``_version``)."""
        vc = getattr(self, "_vc", None)
        return 0 if vc is None else vc[0]

    def size(self, dim=None):
        """The shape as an ``mt.Size`` (a tuple with ``numel()``), or the length of dim ``dim``."""
        return _Size(self.data.shape) if dim is None else self.shape[_ops.check_dim("size", dim, self.ndim)]

    def numel(self) -> int:
        """The number of elements."""
        return int(self.data.size)

    def dim(self) -> int:
        """The number of dimensions (``ndim``)."""
        return self.data.ndim

    @property
    def grad(self):
        """The accumulated gradient: a Tensor like this one, or None (PyTorch's ``.grad``). Read
        on a non-leaf that does not retain its gradient, it warns, as torch's (backward never
        fills it: ``retain_grad()`` does). minitf's own code reads ``_grad``."""
        g = self._grad
        if g is None and self._fn is not None and not self._retain:
            import warnings
            warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                                f"{type(value).__name__}")
            if value.shape != self.shape or value.dtype != self.dtype or value.device != self.device:
                raise RuntimeError(f"assigned grad has shape {value.shape}, dtype {value.dtype} on "
                                   f"{value.device}; the tensor has shape {self.shape}, dtype "
                                   f"{self.dtype} on {self.device}")
        self._grad = value

    def __repr__(self):
        # torch's layout: 4 decimals, scientific notation when the range needs it, summarised
        # past 1000 elements, then device / dtype / grad_fn suffixes (minitf/printing.py, imported
        # by the first repr: `import minitf` stays light)
        from .printing import tensor_repr
        return tensor_repr(self)

    def requires_grad_(self, flag: bool = True) -> "Tensor":
        """Mark this leaf as requiring (or not) gradients; floating dtypes only. Returns self.
        On a non-leaf (which requires grad), ``requires_grad_(True)`` does nothing, as torch's."""
        if self._fn is not None and flag:
            return self
        self._set_requires_grad(flag)
        return self

    def retain_grad(self) -> "Tensor":
        """Keep ``.grad`` of this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retain = True
        return self

    @property
    def retains_grad(self) -> bool:
        """Whether this non-leaf keeps its ``.grad`` after backward (``retain_grad()``); False for leaves."""
        return self._retain and self._fn is not None

    def register_hook(self, hook):
        """Call ``hook(grad)`` with this tensor's gradient, once complete, in every backward; a
        Tensor it returns replaces the gradient (what flows on, and what ``.grad`` gets), as
        torch's. Returns a handle whose ``remove()`` takes the hook off. See
        :mod:`minitf.tensor_hooks`."""
        from . import tensor_hooks
        return tensor_hooks.register(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` in every backward pass once this leaf's ``.grad`` has received its
        last contribution of the pass (all uses summed in), as torch's; ``hook`` returns None.
        Leaves only. Returns a handle whose ``remove()`` takes it off."""
        from . import tensor_hooks
        return tensor_hooks.register_post(self, hook)

    def detach_(self) -> "Tensor":
        """Cut this tensor from the graph in place: it becomes a leaf not requiring grad (torch's).
        Ops recorded before keep their path through it; refused on a view (slice, reshape, ...)."""
        if getattr(self, "_base", None) is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead")
        if self._fn is not None:
            # ops recorded before hold this Tensor as an input: they find it as it was (same data
            # and counter, the old grad_fn) in _prev, as after a recorded in-place change; the
            # epoch advances so that the engine looks there (no version changes: the data didn't)
            old = _engine.as_it_was(self)
            _engine._epoch += 1
            self._prev = (_engine._epoch, old)
            from . import tensor_hooks
            tensor_hooks.move_to_detached(self, old)  # its hooks (and retained grad) still run, as torch
        self._fn, self._requires_grad = None, False
        return self

    def detach(self) -> "Tensor":
        """The same data (and version counter), cut from the graph."""
        out = Tensor._make(self.data, None)
        out._vc = _engine.shared_counter(self)
        return out

    def to(self, *args, device=None, dtype=None, non_blocking: bool = False) -> "Tensor":
        """Copy to another device and/or dtype, as PyTorch: ``to(mt.float64)``, ``to("cpu")``,
        ``to("cpu", mt.float64)``, ``to(other_tensor)`` or by keyword. Differentiable.
        ``non_blocking`` is accepted and ignored (minitf's copies between devices complete
        before ``to`` returns)."""
        from .ops import _util as _ops_util, shape as _shape
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif backend.is_device_name(a):
                device = a
            else:
                dtype = a
        out = self
        if dtype is not None:
            out = _shape.astype(out, dtype)
        if device is not None and backend.check_device(device) != out.device:
            host = out.data if out.device == "cpu" else None
            out = _shape.ToDevice.apply(out, device=backend.check_device(device))
            if host is not None:  # integers sent from the host: their range, known there, goes along
                _ops_util.note_host_index_bounds(out, host)
        return out

    def cpu(self):
        return self.to("cpu")

    def pin_memory(self) -> "Tensor":
        """Self: minitf has no page-locked host memory (``to("gpu")`` copies from ordinary memory),
        so ``x.pin_memory().to(dev, non_blocking=True)`` runs as ``x.to(dev)``."""
        return self

    def is_pinned(self) -> bool:
        return False

    def float(self):
        return self.to(dtype=np.float32)

    def double(self):
        return self.to(dtype=np.float64)

    def zero_grad(self):
        self._grad = None

    def clone(self, memory_format=None) -> "Tensor":
        """A copy of the data with its own storage (differentiable), laid out as ``memory_format``
        (torch's preserve_format by default)."""
        return _ops.clone(self, memory_format)

    def contiguous(self, memory_format=None) -> "Tensor":
        """Self if the array is C-contiguous (or laid out as ``memory_format``: ``mt.channels_last``
        ...), else such a copy (differentiable)."""
        return _ops.contiguous(self, memory_format)

    # ------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires grad.

        ``gradient`` (torch's name) is the gradient of some scalar with respect to ``self``; it may
        be omitted only when ``self`` has one element. ``create_graph=True`` records
        the backward pass (``.grad`` becomes a Tensor in the graph, differentiable
        again); ``retain_graph`` defaults to ``create_graph``. ``inputs`` (a Tensor or
        a sequence), as PyTorch's: only these accumulate, leaves or not; the others
        are left alone, and an input the graph does not reach gets nothing.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad "
                               "(no input required grad, or it was made under no_grad())")
        xp = backend.get_array_module(self.data)
        grad = gradient
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() without a gradient argument needs a scalar output; "
                                   f"this tensor has shape {self.shape}: pass gradient= of that shape")
            if self.data.dtype.kind == "c":   # torch's rule: a loss is real (take .abs(), .real, ...)
                raise RuntimeError("grad can be implicitly created only for real scalar outputs")
            grad = xp.ones(self.data.shape, dtype=self.data.dtype)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            if not hasattr(grad, "shape") or type(grad) is not type(self.data):
                grad = backend.to_device(np.asarray(grad, dtype=self.data.dtype), self.device)
            if tuple(grad.shape) != self.shape:
                raise ValueError(f"backward(): gradient has shape {tuple(grad.shape)}, output has shape {self.shape}")
            grad = _engine.seed_in_dtype(grad, self)
        if inputs is not None:
            return self._backward_into(grad, retain_graph, create_graph, inputs)
        _engine._run_backward(self, grad, retain_graph, create_graph)

    def _backward_into(self, grad, retain_graph, create_graph, inputs) -> None:
        """``backward(inputs=...)``: the gradients of ``mt.grad``, added to each input's ``.grad``
        by the engine's own rules (in place, or out of place under a graph)."""
        from .backprop import _accumulate_inputs, backward_inputs, grad as _grad
        inputs, into = backward_inputs(inputs)   # (a GradientEdge stands for its tensor)
        grads = _grad([self], inputs, [Tensor._make(grad, None)], retain_graph=retain_graph,
                      create_graph=create_graph, allow_unused=True)
        _accumulate_inputs(inputs, grads, create_graph, into)


_NON_LEAF_GRAD = ("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                  "attribute won't be populated during autograd.backward(). If you indeed want the .grad field "
                  "to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you "
                  "access the non-leaf Tensor by mistake, make sure you access the leaf Tensor instead.")


from . import autograd as _engine  # noqa: E402  (the engine needs Tensor defined above)
from .creation import tensor  # noqa: E402,F401  (re-exported: minitf.tensor is this function)
from . import creation as _creation  # noqa: E402
from .autograd import Function, no_grad, is_grad_enabled, sum_to  # noqa: E402,F401  (re-exported)
from . import ops as _ops  # noqa: E402  (ops need Function and Tensor defined above)
from . import tensor_methods as _methods  # noqa: E402
from . import tensor_constructor as _constructor  # noqa: E402
_methods._ops = _ops  # the mixin's methods delegate to the ops, imported only now (they need Tensor)
from . import tensor_inplace as _inplace_methods  # noqa: E402
_inplace_methods._ops = _ops
# tensor API group: torch's aliases and the in-place family set on the class (one function, two names)
from . import tensor_api as _api  # noqa: E402
_api.install(Tensor)
