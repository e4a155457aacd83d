"""The reverse-mode autograd engine: Function, graph recording, topological order, backward.

Every differentiable op is a small :class:`Function` subclass whose ``forward``
computes on arrays and whose ``backward`` maps the gradient of the output to
gradients of the inputs; the two sit side by side in :mod:`minitf.ops`. When
recording is on and some input requires grad, the output remembers the
Function that made it (``tensor._fn``) and the Function remembers its inputs:
that is the graph.

``loss.backward()`` orders the graph topologically (iteratively, so a
10,000-step RNN unroll is fine), then walks it from the output back, summing
the gradient contributions that reach every tensor before passing them on (so
``b = a + a; c = b + b`` gives dc/da = 4, never more). Gradients are summed to
the shape of each input here, once, for all broadcasting ops; leaves that
require grad accumulate into ``.grad``.

In-place safety (PyTorch's version counter): every in-place change through a
Tensor method bumps ``tensor._version`` and the global ``_epoch``; a recorded
Function notes the epoch of its forward. Backward skips all checks while no
in-place change happened since (the common case costs one comparison per op);
otherwise a Function whose saved input or output changed since its forward
raises, naming the op. Writes to ``.data`` itself cannot be seen.

The :class:`~minitf.tensor.Tensor` (its data, attributes and PyTorch-named
methods) lives in :mod:`minitf.tensor`; this module is only the engine.
"""
from __future__ import annotations

from _thread import _local as _thread_local  # threading.local itself, without importing threading

from . import backend, debughooks
from .tensor import Tensor
from .graph_nodes import NodeAPI  # torch's Node API on every node: next_functions, metadata, node hooks
from . import tensor_hooks  # Tensor.register_hook: while any is set, backward() takes the general walk
# the checks backward makes of the version counters (re-exported: backprop's general walk uses them too)
from .version_checks import _changed_since, _check_versions, _freed_error  # noqa: F401



class _ThreadState(_thread_local):
    """This thread's autograd modes, as torch's (thread-local). Class-level defaults, so that a new
    thread reads them with no setup: grad mode on, outside inference mode, and the debug hooks of
    the whole process (``hooks``; :mod:`minitf.debughooks` sets the class's value, and an instance
    value while the thread has hooks of its own, or runs an op unhooked)."""

    grad_enabled = True   # read once per op by Function.apply (one attribute of _tls: keep it cheap)
    inference = False     # inside inference_mode(True) (is_inference_mode_enabled)
    hooks: tuple = ()     # the debug hooks this thread's ops see (apply tests it once _hooks is non-empty)
    own: tuple = ()       # the hooks registered from this thread that only it sees (profile, ...)
    base: tuple = ()      # the process-wide hooks when hooks was last set from own
    swapped = 0           # debughooks.swap()s under way (an op running unhooked: apply_hooked)
    written = None        # the array a view's in-place change writes (minitf/view_rebase.py)


_tls = _ThreadState()
_epoch = 0  # in-place changes so far (all tensors): a Function saved at this epoch is still valid
# The debug tools registered in any thread (detect_anomaly, profile): set by minitf/debughooks.py, and
# kept here because apply and backward test it on every call (one test of an empty tuple when none is
# on); only then do they read the hooks of this thread (_tls.hooks, debughooks.active()).
_hooks: tuple = ()
# those of them that watch the ops (all but route-only hooks such as the complex guard): backward() takes the
# general walk, which times and shows each backward, only while one is registered (debughooks.watchers())
_watchers: tuple = ()
# recompute's record of the tensors requiring grad its function reads while recording is off (a list,
# set by minitf/ops/recompute.py around that run; None otherwise: one test per op without grad)
_reads = None


def is_grad_enabled() -> bool:
    """Whether ops record the graph in this thread (torch's grad mode: per thread, on in a new one)."""
    return _tls.grad_enabled


def sum_to(grad, shape):
    """Sum ``grad`` down to ``shape``: the backward of NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    if grad.ndim < len(shape):  # shape has extra leading 1s (a (1, 3) value set into a (3,) slot): add them
        grad = grad.reshape((1,) * (len(shape) - grad.ndim) + grad.shape)
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1)
    grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape) if lead else grad


def seed_in_dtype(grad, out: Tensor, k: int = 0):
    """``grad`` (an array, or a Tensor under create_graph), given as d root / d ``out`` (the k-th
    output), in out's dtype, as torch casts it: each op's backward takes its output's dtype (a
    float32 gradient into a float64 mask op's bits would split its elements). Real and complex
    mixed, or two complex widths, is torch's error."""
    have, want = (grad.data if isinstance(grad, Tensor) else grad).dtype, out.data.dtype
    if have == want:
        return grad
    if have.kind == "c" or want.kind == "c":
        raise RuntimeError(f"For complex Tensors, both grad_output and output are required to have the same dtype. "
                           f"Mismatch in dtype: grad_output[{k}] has a dtype of {have} and output[{k}] has a "
                           f"dtype of {want}.")
    return grad.to(out.dtype) if isinstance(grad, Tensor) else grad.astype(want)


class Function(NodeAPI):
    """One recorded op. Subclasses define ``forward(*arrays, **params) -> array``
    and ``backward(grad_out) -> tuple of grads`` (one per input, None allowed).

    ``forward`` may keep what ``backward`` needs on ``self``; the engine drops
    the whole Function (and so those arrays) once backward has used it, unless
    ``retain_graph=True`` or the op saves no tensor (``saves_tensors``).

    ``backward_graph(g) -> tuple of Tensors`` is the same backward written in
    Tensor ops on ``self.inputs`` and ``self.params`` (the keyword arguments of
    ``apply``), so that ``create_graph=True`` records it; an op without one
    cannot be differentiated twice (see :mod:`minitf.ops.composed` for the
    fused ops, whose differentiable backward is built from primitive ops).
    """

    # _torch_name: the node name an op gave its node where one class serves several of torch's
    # kernels (grad_fn_names.named); a slot, as __dict__ is freed after backward
    __slots__ = ("inputs", "freed", "_epoch", "_torch_name", "__dict__", "__weakref__")
    backward_graph = None
    # (leaf, gradient) pairs a backward sets for the general walk to deliver beyond the inputs'
    # (recompute: the leaves its function closes over); None for every other op
    extra_grads = None

    # What backward reads, for the version check: an op whose backward uses only shapes, or
    # arrays it derived itself, sets these False; the default (True) is the safe one.
    saves_inputs = True
    saves_output = True
    # Whether torch's node for this op saves a tensor (a SavedVariable) that backward frees: an op whose
    # node keeps only sizes, dims or numbers (Sum, Add, Reshape, a basic GetItem) sets it False, and its
    # backward can run again after a pass without retain_graph (`y = x.sum(); y.backward(); y.backward()`
    # accumulates twice, as torch's); one that saves a tensor is freed and a second pass raises
    saves_tensors = True
    is_view = False  # a view op: its output shares its input's storage (re-based as torch's: minitf/view_rebase.py)

    def saved_inputs(self, inputs):
        """Indices of the inputs whose arrays backward reads (for the version check)."""
        return range(len(inputs)) if self.saves_inputs else ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # forward as a staticmethod (ctx, *args): torch.autograd.Function's style, a user's
        # custom Function (minitf/custom_function.py); the ops here take (self, *arrays)
        if isinstance(cls.__dict__.get("forward"), staticmethod):
            from .custom_function import apply
            cls.apply = classmethod(apply)

    @classmethod
    def backward_name(cls) -> str:
        """torch's name of this op's nodes where it does not depend on the inputs (``MulBackward0``)."""
        from .grad_fn_names import class_name   # (imported when a name is first asked for)
        return class_name(cls)

    def __repr__(self):  # torch's: <MulBackward0 object at 0x7f...> (<CopySlices ...> for torch::autograd::CopySlices)
        return f"<{self.name().rpartition('::')[2]} object at {id(self):#x}>"

    def name(self) -> str:
        """torch's ``grad_fn.name()``: ``MulBackward0``, ``AddmmBackward0`` (:mod:`minitf.grad_fn_names`)."""
        from .grad_fn_names import node_name
        return node_name(self)

    @classmethod
    def apply(cls, *inputs: "Tensor", **params) -> "Tensor":
        if _hooks and _tls.hooks:  # a debug tool is on for this thread (detect_anomaly, profile): the checked, timed path
            return debughooks.apply_hooked(cls, inputs, params)
        fn = cls()
        data0 = inputs[0].data
        if len(inputs) > 1:
            t0 = type(data0)
            for t in inputs[1:]:
                if type(t.data) is not t0 and backend.device_of(t.data) != backend.device_of(data0):
                    raise backend.DeviceError(
                        f"{cls.__name__.lower()}: tensors on different devices: "
                        f"{inputs[0].device} and {t.device}")
        out = fn.forward(*[t.data for t in inputs], **params)
        if _tls.grad_enabled:
            for t in inputs:
                if t._requires_grad:
                    fn.inputs = inputs
                    fn.freed = False
                    fn.params = params
                    fn._epoch = _epoch
                    return Tensor._make(out, fn)
        elif _reads is not None:   # recompute's first, unrecorded run: which tensors needing grad fn reads
            _reads.extend(t for t in inputs if t._requires_grad)
        return Tensor._make(out, None)

    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError


def bump_version(t: Tensor, advance: bool = True) -> None:
    """Record an in-place change of ``t`` (and of every view sharing its storage).

    ``advance=False``: the caller advanced the epoch before recording the change's ops (their
    epoch is that of the change: minitf/ops/inplace.py's _record).
    """
    global _epoch
    if advance:
        _epoch += 1
    vc = shared_counter(t)
    vc[0] += 1
    vc[1] = _epoch


def keeps_no_tensor(t: Tensor) -> Tensor:
    """``t``, the node that made it (if any) marked as one whose torch counterpart keeps no tensor
    (an op built from a general one, such as diag from an index, whose own node in torch saves only
    sizes or numbers): a backward without retain_graph leaves it to run again."""
    if t._fn is not None:
        t._fn.saves_tensors = False
    return t


def zero_grad_in_place(g: Tensor) -> None:
    """Zero a ``.grad`` in place (``zero_grad(set_to_none=False)``) as PyTorch does: detached
    from any graph first (a ``create_graph=True`` gradient), and its version bumped."""
    g._fn = None
    g._requires_grad = False
    g.data[...] = 0
    bump_version(g)


def shared_counter(t: Tensor) -> list:
    """The version counter of ``t``'s storage, created on first need:
    [count, epoch of the last change]."""
    vc = getattr(t, "_vc", None)
    if vc is None:
        vc = t._vc = [0, 0]
    return vc


def as_it_was(t: Tensor) -> Tensor:
    """A stand-in for ``t`` as the ops recorded so far saw it, before ``t`` changes in place or
    leaves the graph: the same array, grad_fn, requires_grad and version counter, and the stand-in
    ``t`` had before (``_prev``). The caller sets ``t._prev = (epoch, stand-in)``, where the
    engine looks for it (_inputs_as_of)."""
    old = Tensor._make(t.data, t._fn)
    old._requires_grad = t._requires_grad
    old._vc = shared_counter(t)
    old._prev = getattr(t, "_prev", None)
    return old


def _topological_order(root: Tensor):
    """Tensors reachable from ``root`` through recorded ops, inputs before outputs (``root``
    itself even when it is a leaf). Iterative: recursion would overflow on long RNN unrolls."""
    return _graph_order([root]) if root._fn is not None else [root]


def _inputs_as_of(fn: Function) -> tuple:
    """``fn``'s inputs as they were when it ran: an input changed since by a recorded in-place
    op has a new grad_fn, and its value before the change lives on in ``t._prev``."""
    out = []
    for t in fn.inputs:
        prev = getattr(t, "_prev", None)
        while prev is not None and prev[0] > fn._epoch:
            t = prev[1]
            prev = getattr(t, "_prev", None)
        out.append(t)
    return tuple(out)


def _accumulate_leaf(t: Tensor, g, walk: _Walk) -> None:
    """Add ``g`` into the ``.grad`` of leaf ``t`` (noting it in ``walk``, for its version)."""
    tg = t._grad
    if tg is None:
        # own the buffer: g may be shared with another path or be an input's data
        t._grad = tg = Tensor._make(g.copy() if g.dtype == t.data.dtype else g.astype(t.data.dtype), None)
        walk.made.add(id(tg))
    elif tg._fn is None:
        tg.data += g
        if id(tg) not in walk.made:
            walk.changed[id(tg)] = tg
    else:  # a .grad recorded by create_graph=True is part of a graph: add out of place, as PyTorch
        t._grad = Tensor._make(tg.data + g, None)


def _accumulate_retained(t: Tensor, g) -> None:
    """A non-leaf's ``.grad`` (``retain_grad``): a new Tensor each backward, as PyTorch (a
    ``.grad`` handed out before keeps its values)."""
    tg = t._grad
    t._grad = Tensor._make(g.copy() if tg is None else tg.data + g, None)


def _run_backward(root: Tensor, grad, retain_graph: bool, create_graph: bool = False) -> None:
    if create_graph or (_watchers and debughooks.watchers()) or tensor_hooks.active:  # the general walk (minitf/backprop.py); this one stays the plain fast path
        from .backprop import _backward
        _backward([root], [Tensor._make(grad, None) if create_graph else grad], create_graph=create_graph,
                  retain_graph=create_graph if retain_graph is None else retain_graph)
        return
    with _Walk() as walk:  # no NumPy warnings for inf/NaN gradients; .grad versions bumped at the end
        grads = {id(root): grad}
        for t in reversed(_topological_order(root)):
            g = grads.pop(id(t), None)
            if g is None:
                continue
            fn = t._fn
            if fn is None:  # backward() called on a leaf itself: its gradient is the seed
                _accumulate_leaf(t, g, walk)
                continue
            if t._retain:
                _accumulate_retained(t, g)
            inputs = fn.inputs
            if fn._epoch != _epoch:  # something changed in place since this op ran
                inputs = _inputs_as_of(fn)
                _check_versions(t, fn, inputs)
            if fn.freed:
                raise _freed_error()
            in_grads = fn.backward(g)
            if not retain_graph and fn.saves_tensors:   # (one that saved nothing can run again, as torch's)
                fn.freed = True
                fn.__dict__.clear()  # drop the arrays forward saved
            for inp, ig in zip(inputs, in_grads):
                if ig is None or not inp._requires_grad:
                    continue
                if ig.shape != inp.data.shape:
                    ig = sum_to(ig, inp.data.shape)
                if inp._fn is None:
                    _accumulate_leaf(inp, ig, walk)
                else:
                    prev = grads.get(id(inp))
                    grads[id(inp)] = ig if prev is None else prev + ig


def _graph_order(roots, stop=()):
    """Non-leaf tensors reachable from ``roots``, inputs before outputs, not descending below
    the tensors whose ids are in ``stop``. Iterative depth-first search (a 10,000-step RNN
    unroll would overflow recursion); each op's inputs as its forward saw them."""
    order, visited = [], set()
    for root in roots:
        stack = [(root, False)]
        while stack:
            t, expanded = stack.pop()
            if expanded:
                order.append(t)
                continue
            if id(t) in visited or t._fn is None or id(t) in stop:
                continue
            visited.add(id(t))
            stack.append((t, True))
            for inp in _inputs_of(t._fn):
                if inp._fn is not None and id(inp) not in visited:
                    stack.append((inp, False))
    return order


def _inputs_of(fn: Function) -> tuple:
    """``fn``'s inputs as its forward saw them (see ``_inputs_as_of``), cheaply in the common case."""
    return fn.inputs if fn._epoch == _epoch else _inputs_as_of(fn)


# torch.autograd's namespace beyond the engine: its functions (grad, backward, gradcheck...) looked
# up on first use, and its submodules functional, graph and forward_ad (minitf/autograd_namespace.py)
from .backward_walk import _Walk, _walks, current_walk, outermost_walk, queue_callback  # noqa: E402,F401
from .autograd_namespace import __getattr__, functional, graph, forward_ad  # noqa: E402,F401


from .grad_modes import enable_grad, no_grad  # noqa: E402,F401  (defined there, re-exported: the engine's names)
