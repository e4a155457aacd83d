"""``vmap``, as ``torch.func.vmap`` / ``torch.vmap``: a function of one example made a function of
a batch.

    per_sample = mt.vmap(f)(xs)          # xs: (B, ...);  per_sample[b] == f(xs[b])
    mt.vmap(f, in_dims=(0, None))(xs, w)  # w is shared by every example

Two ways to run, tried in this order:

1. **Batched** (as torch.func.vmap): ``f`` runs once, on stand-ins for the mapped inputs that
   carry the batch dim through each op by a batching rule (:mod:`minitf.func.batching`): one
   GEMM for the batch instead of B small ones. Nested vmaps stack their batch dims in front;
   ``vmap(grad(f))`` takes one backward pass of the batch (one node per example, so the
   examples' gradients never mix). The ops with a rule are listed in docs/autograd.md
   (elementwise math, matmul / linear, the reductions, views, indexing, comparisons, sort /
   topk, cumsum, dropout ...).
2. **The loop**, when the batched run meets anything else (an op without a rule,
   ``.item()``, a data-dependent ``if``, a random draw other than dropout's, a gradient
   transform inside nested vmaps): the batched run is
   abandoned and ``f`` runs once per example on ``x.select(dim, b)``, the results stacked along
   ``out_dims``. So the results are always the loop's; only the speed differs, and ``f`` may
   have run once, partly, before the loop (a side effect in ``f`` can happen twice). Because
   the loop really runs each example, what torch's batching refuses inside ``f`` (``.item()``,
   data-dependent ``if``) works here.

What torch's vmap refuses whatever the op, the batched run refuses too, at once and with no
loop (:class:`~minitf.func.batched_tensor.Refused`, a RuntimeError): an output whose shape
depends on each example's values (a batched boolean mask, ``masked_select``, ``nonzero``), and
an in-place write of a batched value into a tensor that is not batched (the loop would write
every example into it in turn).

``last_fallback`` (this module's, ``sys.modules["minitf.func.vmap"]``) holds the reason the
latest batched run (of any thread) gave way to the loop. The rest of vmap's state is per thread,
as torch's: the levels under way (:func:`active`) and the default generators' stand-ins, so
vmap runs in several threads at once and another thread's draws are its own.

``randomness`` as torch's: "error" (the default) raises at any draw from a default generator
inside ``f``; "different" lets each example draw in turn; "same" gives every example the same
draws (each device an input is on, and the CPU, gets one seed drawn from its default generator
per call, and every example restarts from it). In the batched run dropout draws by it too
(:func:`minitf.func.batching_fns.dropout`: one mask per example, or one for all); any other
draw sends vmap to the loop.
"""
from __future__ import annotations

import functools
import threading
import typing

from .pytree import broadcast_prefix, tree_flatten, tree_unflatten

__all__ = ["vmap"]

_RANDOMNESS = ("error", "different", "same")


ERROR_MODE = ("vmap: called a random operation while in randomness error mode; pass randomness='same' or "
              "'different' to vmap, or draw outside the vmapped function")


class _NoDraws:
    """Stands in for the default generators while ``randomness="error"``: any use raises."""

    def __getattr__(self, name):
        raise RuntimeError(ERROR_MODE)


class _NoBatchedDraws:
    """The default generators during a batched run: a draw there is made by the loop instead."""

    def __getattr__(self, name):
        from .batching import Unbatchable
        raise Unbatchable("vmap: a random draw in the batched run")


class _Generators:
    """The default generators of the devices during one example (see ``randomness``)."""

    def __init__(self, randomness: str, devices):
        from .. import backend
        from .. import random as _random
        self._random, self.randomness = _random, randomness
        if randomness == "error":      # every device's generator refuses to draw
            self.devices, self._stand_in = backend.DEVICES, lambda d: _NoDraws()
        elif randomness == "batched":  # the batched run: any draw sends vmap to the loop (which decides)
            self.devices, self._stand_in = backend.DEVICES, lambda d: _NoBatchedDraws()
        elif randomness == "same":     # each example restarts from one seed per device
            self.devices = sorted(devices | {"cpu"})
            seeds = {d: backend.draw_seed(_random.default_generator(d)) for d in self.devices}
            self._stand_in = lambda d: backend.default_rng(d, seeds[d])
        else:                          # "different": the generators are left as they are
            self.devices = ()

    def __enter__(self):
        if self._random._local is None:
            with _lock:
                if self._random._local is None:
                    self._random._local = threading.local()
        local = self._random._local   # this thread's (another thread's draws are its own)
        if getattr(local, "generators", None) is None:
            local.generators = {}
        gens = local.generators
        if self.randomness == "batched":   # explicit generators refuse too (see minitf.generator.resolve)
            from .batching import Unbatchable
            self.refused, local.draws_refused = getattr(local, "draws_refused", None), Unbatchable
        self.saved = {d: gens.get(d) for d in self.devices}
        for d in self.devices:
            gens[d] = self._stand_in(d)
        return self

    def outside(self, device: str):
        """The generator ``device``'s draws would come from outside this batched run (an outer
        vmap loop's stand-in, or the shared default): the batched rules' draws (dropout)."""
        saved = self.saved.get(device)
        return self._random.shared_generator(device) if saved is None else saved

    def __exit__(self, *exc):
        local = self._random._local
        gens = local.generators
        if self.randomness == "batched":
            local.draws_refused = self.refused
        for d, g in self.saved.items():
            if g is None:
                gens.pop(d, None)
            else:
                gens[d] = g


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``func`` mapped over a dim of its inputs, as ``torch.func.vmap``.

    ``in_dims``: an int (every positional argument mapped over that dim) or a tuple with one entry
    per argument, each an int, None (not mapped: passed whole to every call) or, for a pytree
    argument, a matching structure of them. ``out_dims``: where the batch dim goes in each output
    (an int, or a structure matching the outputs; None: an output that is the same for every
    example, returned once, not stacked; one that differs raises, as torch's batched output does). Keyword arguments are passed unmapped. Every mapped input must have the same size B
    in its mapped dim; the result has B at ``out_dims``. ``chunk_size`` is accepted (the batch
    runs whole, or one example at a time). See the module docstring for how it runs (batched, or
    the loop) and ``randomness``.
    """
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"vmap: randomness must be one of {_RANDOMNESS}, got {randomness!r}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size must be a positive int or None, got {chunk_size!r}")
    name = getattr(func, "__name__", type(func).__name__)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from ..tensor import Tensor
        where = f"vmap({name}, in_dims={in_dims!r}, ...)(<inputs>)"
        if not (isinstance(in_dims, int) or isinstance(in_dims, tuple)):
            raise ValueError(f"{where}: expected in_dims to be an int or a (possibly nested) tuple matching the "
                             f"structure of the inputs, got {type(in_dims).__name__}")
        if isinstance(in_dims, tuple) and len(in_dims) != len(args):
            raise ValueError(f"{where}: in_dims has {len(in_dims)} entries but {len(args)} positional inputs "
                             f"were given")
        leaves, spec = tree_flatten(args)
        dims = broadcast_prefix(in_dims, args, "in_dims", ValueError)
        size, devices, norm = None, set(), []
        for x, d in zip(leaves, dims):
            if d is None:
                norm.append(None)
                continue
            if not isinstance(d, int) or isinstance(d, bool):
                raise ValueError(f"{where}: in_dims entries must be int or None, got {d!r}")
            if not isinstance(x, Tensor):
                raise ValueError(f"{where}: got in_dim={d} for an input of type {type(x).__name__}; only Tensors "
                                 f"can be mapped over (use None as its in_dim)")
            if not -x.ndim <= d < max(x.ndim, 0) or x.ndim == 0:
                raise ValueError(f"{where}: got in_dim={d} for an input with {x.ndim} dims; expected "
                                 f"{-x.ndim} <= in_dim < {x.ndim}")
            d %= x.ndim
            if size is not None and x.shape[d] != size:
                raise ValueError(f"{where}: expected every mapped input to have the same size in its mapped dim, "
                                 f"got sizes {size} and {x.shape[d]}")
            size = x.shape[d]
            devices.add(str(x.device))
            norm.append(d)
        if size is None:
            raise ValueError(f"{where}: at least one input must be mapped over (in_dims were all None)")
        if size and _BATCHING:
            try:
                return _batched(func, leaves, norm, spec, kwargs, size, out_dims, devices, randomness)
            except Exception as e:   # an op without a batching rule (or an error the loop raises as its own)
                from .batched_tensor import Refused
                if isinstance(e, Refused):   # what torch's vmap refuses too: no loop
                    raise
                global last_fallback
                last_fallback = e.with_traceback(None)   # (its frames would keep f's tensors alive)
        gens = _Generators(randomness, devices)
        results, out_spec = [], None
        for b in range(max(size, 1)):   # size 0: one call on empty stand-ins gives the outputs' shapes
            example = [x if d is None else (x.select(d, b) if size else _stand_in(x, d)) for x, d in zip(leaves, norm)]
            with gens:
                out = func(*tree_unflatten(example, spec), **kwargs)
            outs, s = tree_flatten(out)
            if out_spec is not None and s != out_spec:
                raise RuntimeError(f"{where}: the function returned outputs of structure {s!r} for example {b} "
                                   f"but {out_spec!r} before")
            out_spec = s
            results.append(outs)
        odims = broadcast_prefix(out_dims, tree_unflatten(results[0], out_spec), "out_dims", ValueError)
        stacked = [_stack([r[k] for r in results], od, size, name) for k, od in enumerate(odims)]
        return tree_unflatten(stacked, out_spec)
    return wrapper


_BATCHING = True       # False: always the loop (the tests compare the two)
last_fallback = None   # why the latest batched run (of any thread) gave way to the loop (tests, debugging)
_state = threading.local()   # .active: this thread's batched vmap runs under way, as torch's per-thread levels
_hook = None
_lock = threading.Lock()   # (the hook's count of the threads in a batched run; random._local's creation)


class Run(typing.NamedTuple):
    """One batched vmap run under way in this thread."""
    level: int          # the nesting depth (1: the outermost batched run)
    size: int           # the batch size
    randomness: str     # vmap's randomness argument
    generators: object  # the default generators' stand-ins during the run (see _Generators.outside)


def active() -> list:
    """This thread's batched vmap runs under way (:class:`Run`), outermost first."""
    runs = getattr(_state, "active", None)
    if runs is None:
        runs = _state.active = []
    return runs


def _register(hook, add: bool) -> None:
    """The batching hook registered while any thread is in a batched run (``hook.users`` counts
    them: one registration however many threads; it lets every op without a BatchedTensor run
    as usual)."""
    from .. import debughooks
    with _lock:
        hook.users += 1 if add else -1
        if add and hook.users == 1:
            debughooks.push(hook)
        elif not add and hook.users == 0:
            debughooks.pop(hook)


def _batched(func, leaves, norm, spec, kwargs, size: int, out_dims, devices, randomness: str):
    """``func`` run once on BatchedTensors (see :mod:`minitf.func.batching`), its outputs
    unwrapped at ``out_dims``. Raises (Unbatchable, or whatever ``func`` raised) where the loop
    must decide instead."""
    from .batching import BatchedTensor, BatchingHook
    global _hook
    _active = active()
    level = len(_active) + 1
    example = []
    for x, d in zip(leaves, norm):
        if d is None:
            example.append(x)
        elif type(x) is BatchedTensor:   # batched by an outer vmap: this level's dim after its own
            k = len(x._levels)
            example.append(BatchedTensor(x._value.movedim(k + d, k), x._levels + (level,)))
        else:
            example.append(BatchedTensor(x if d == 0 else x.movedim(d, 0), (level,)))
    if _hook is None:
        with _lock:   # (one hook for every thread)
            if _hook is None:
                _hook = BatchingHook()
    outermost = not _active
    gens = _Generators("batched", devices)
    _active.append(Run(level, size, randomness, gens))
    if outermost:
        _register(_hook, True)
    try:
        with gens:
            out = func(*tree_unflatten(example, spec), **kwargs)
        outs, out_spec = tree_flatten(out)
        odims = broadcast_prefix(out_dims, out, "out_dims", ValueError)
        results = [_unbatch(o, od, level, size) for o, od in zip(outs, odims)]
    finally:
        _active.pop()
        if outermost:
            _register(_hook, False)
    return tree_unflatten(results, out_spec)


def _unbatch(o, od, level: int, size: int):
    """One output of the batched run with this ``level``'s dim moved to ``od`` (an output that
    does not depend on the mapped inputs: repeated ``size`` times, as the loop's stack)."""
    from .. import ops
    from ..tensor import Tensor
    from .batched_tensor import BatchedTensor, Unbatchable, _Meta
    if od is None:
        if type(o) is BatchedTensor and level in o._levels:   # the loop says whether the examples differ
            raise Unbatchable("vmap: a batched output with out_dims None")
        return o
    if not isinstance(o, Tensor) or isinstance(od, bool) or not isinstance(od, int) \
            or not -(o.ndim + 1) <= od <= o.ndim or (type(o) is Tensor and type(o.data) is _Meta):
        raise Unbatchable("vmap: an output the loop must judge")
    od %= o.ndim + 1
    if type(o) is not BatchedTensor:
        return ops.stack([o] * size, od)
    if level not in o._levels:   # batched by an outer level only
        return o.unsqueeze(od).expand(o.shape[:od] + (size,) + o.shape[od:]).clone()
    k = len(o._levels)   # this level is the innermost of o's: its dim is the last batch dim
    v = o._value.movedim(k - 1, k - 1 + od) if od else o._value   # (out_dims 0: in place already)
    return BatchedTensor(v, o._levels[:-1]) if k > 1 else v


def _stand_in(x, d):
    """An example of ``x`` mapped over dim ``d`` when the batch is empty: zeros of the slice's shape."""
    from ..creation import zeros
    return zeros(x.shape[:d] + x.shape[d + 1:], dtype=x.dtype, device=x.device)


def _stack(values, od, size: int, name: str):
    """The per-example ``values`` of one output stacked at dim ``od`` (None: the first)."""
    from .. import ops
    from ..creation import zeros
    from ..errors import DimError
    from ..tensor import Tensor
    first = values[0]
    if od is None:   # torch refuses a batched output here: one that differs between the examples
        if isinstance(first, Tensor) and any(v is not first and not _same(v, first) for v in values[1:]):
            raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is None "
                             f"(this output differs between the examples)")
        return first
    if not isinstance(first, Tensor):
        raise ValueError(f"vmap({name}, ...): {name} must return only Tensors where out_dims is not None, "
                         f"got {type(first).__name__}; set out_dims to None for that output")
    if not isinstance(od, int) or not -(first.ndim + 1) <= od <= first.ndim:
        raise DimError(f"vmap({name}, ...): out_dims {od!r} is out of range for an output with {first.ndim} dims "
                       f"(expected an int in [{-(first.ndim + 1)}, {first.ndim}])")
    if size == 0:
        od %= first.ndim + 1
        return zeros(first.shape[:od] + (0,) + first.shape[od:], dtype=first.dtype, device=first.device)
    return ops.stack(values, od)


def _same(a, b) -> bool:
    """Whether tensors ``a`` and ``b`` hold the same values (shape, dtype and elements; NaN equals NaN)."""
    from .. import backend
    if not hasattr(b, "shape") or tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype:
        return False
    xp = backend.get_array_module(a.data)
    return bool(xp.array_equal(a.data, b.data, equal_nan=a.is_floating_point()))
