"""Keeping replicas equal: the parameter broadcast and the bucketed gradient average
(:class:`DataParallel`), over any communicator of :mod:`minitf.distributed`.

Two ways to average, with the same buckets and the same arithmetic:

* blocking (the default): ``loss.backward()``, then :meth:`DataParallel.average_gradients`
  packs each bucket, allreduces it and unpacks it, one bucket after the other;
* overlapped (``overlap=True``, PyTorch DDP's way): a post-accumulate-grad hook on every
  parameter notes when its gradient is final during ``backward()``; once every parameter of
  a bucket is, the bucket is packed and its nonblocking allreduce starts, while backward goes
  on to the earlier layers. ``average_gradients()`` then starts the buckets still waiting
  (a parameter that got no gradient sends zeros), waits for all and unpacks them.

The buckets hold the parameters in reverse order, as DDP's: backward reaches the last layers
first, so the first bucket is the first ready. Buckets start in their order on every rank
(MPI matches collectives by the order they are called in, and a rank whose graph skipped a
parameter must not start its buckets in another order), so a ready bucket behind one that is
not waits for it.

A parameter that does not require grad is in no bucket (as DDP's): its ``.grad`` is left as
it is (None), so an optimizer does not move it. The buckets (and, with ``overlap``, the hooks)
are built again when the set of parameters that require grad changes (gradual unfreezing):
``average_gradients()`` checks the set at each call, and averages the gradients of the
parameters unfrozen since the last call in one more blocking collective after the buckets
(the hooks did not know them). ``requires_grad`` must change alike on every rank.

A backward that raises midway (a hook's error, a shape error deep in the graph) leaves some
buckets counted ready and some collectives started; the next backward (or ``average_gradients()``)
sees that the pass which made that state ended by an error, waits for those collectives, drops
their sums and starts clean, so the next step averages its own gradients only.
"""
from __future__ import annotations

import contextlib
import time

from . import backend
from .autograd import bump_version, outermost_walk
from .tensor import Tensor

__all__ = ["DataParallel", "grad_array", "set_grad_array", "DEFAULT_BUCKET_BYTES"]

DEFAULT_BUCKET_BYTES = 25 * 2**20   # PyTorch DDP's default bucket size
# and DDP's first bucket with the default size: small, so that the first allreduce starts early in backward
DEFAULT_FIRST_BUCKET_BYTES = 2**20


def grad_array(p):
    """The gradient array of a parameter (None if it has none): the one place that knows what ``.grad`` holds."""
    return None if p.grad is None else p.grad.data


def set_grad_array(p, array) -> None:
    """Give parameter ``p`` the gradient array ``array`` (into its ``.grad`` Tensor, made if it has none)."""
    if p.grad is None:
        p.grad = Tensor(array)
    else:
        p.grad.data = array


class DataParallel:
    """Keeps the replicas of ``parameters`` equal on every rank of ``comm``.

    :meth:`broadcast_parameters` copies rank 0's values to every rank (call it
    once, before training); :meth:`average_gradients` replaces every gradient
    by its mean over the ranks (call it after ``backward()``, before clipping
    and the optimizer step). Parameters are packed, in reverse order, into flat
    buffers of one dtype and device of at most ``bucket_bytes`` each (a
    parameter larger than that gets a bucket of its own), so a model makes one
    collective per bucket, not one per parameter. A parameter without a
    gradient contributes zeros and receives the mean like the others: every
    rank must take part in every collective, whatever its own graph reached.
    A parameter that does not require grad is in no bucket and keeps ``.grad``
    None; the buckets follow ``requires_grad`` changes (see the module's text).

    ``overlap=True`` starts each bucket's allreduce during ``backward()``, as
    soon as its gradients are final (see the module's text); ``average_gradients()``
    is then the wait, and is still called once after each ``backward()``. For
    gradient accumulation, run the backward passes but the last under
    :meth:`no_sync`. The hooks stay on the parameters (and send every
    ``backward()`` through the engine's general walk) until :meth:`remove_hooks`.

    ``comm_s`` accumulates the seconds spent in the gradients' collectives (with
    ``overlap``: in starting them and waiting for them, the communication backward
    did not hide), ``steps`` the calls. On a GPU timing them needs the device
    synchronised before and after each one, a host wait inside every step, so there
    it is done only with ``time_comm=True`` (None, the default: time where it costs
    nothing, on the CPU).
    """

    def __init__(self, parameters, comm=None, bucket_bytes: int = DEFAULT_BUCKET_BYTES,
                 time_comm: bool | None = None, overlap: bool = False, hooks_in_one_process: bool = False):
        from .distributed import world
        self.time_comm, self.overlap = time_comm, bool(overlap)
        self.comm = comm if comm is not None else world()
        seen, self.params = set(), []
        for p in parameters:
            if id(p) not in seen:        # a tied weight is one parameter
                seen.add(id(p))
                self.params.append(p)
        self.bucket_bytes = int(bucket_bytes)
        self.comm_s, self.steps = 0.0, 0
        self._handles, self._syncing = [], True
        # hooks_in_one_process: the hooks note the gradients of each pass even where there is nothing to
        # send (DistributedDataParallel's unused-parameter check behaves in one process as under mpiexec)
        self._hooks_on = self.overlap and (self.comm.size > 1 or hooks_in_one_process)
        self._build()

    def _trainable(self) -> list:
        return [p for p in self.params if p.requires_grad]

    def _build(self) -> None:
        """Buckets (and hooks) for the parameters that require grad now."""
        for h in self._handles:
            h.remove()
        self._handles.clear()
        trainable = self._trainable()
        self._members = [id(p) for p in trainable]
        first = DEFAULT_FIRST_BUCKET_BYTES if self.overlap and self.bucket_bytes == DEFAULT_BUCKET_BYTES else None
        self.buckets = _make_buckets(trainable[::-1], self.bucket_bytes, first)
        self._flat = [None] * len(self.buckets)
        self._hooked = [-1] * len(self.buckets)   # per bucket: its parameters that report (-1: none does)
        self._reset()
        if self._hooks_on:
            where = {id(p): i for i, b in enumerate(self.buckets) for p, _, _ in b.slots}
            self._hooked = [len(b.slots) for b in self.buckets]
            for p in trainable:
                self._handles.append(p.register_post_accumulate_grad_hook(
                    lambda p, i=where[id(p)]: self._on_ready(p, i)))

    def _reset(self) -> None:
        self._ready = [0] * len(self.buckets)     # per bucket: its parameters final in this step
        self._reported = set()                     # their ids
        self._started = [None] * len(self.buckets)  # per bucket: its collective in flight
        self._next = 0                              # the next bucket to start
        self._walk = None                           # the backward pass whose hooks made this state

    def _discard_failed_pass(self) -> None:
        """Forget what a backward that raised midway left (buckets counted ready, collectives
        started): the next pass starts clean instead of finding its parameters reported twice or its
        buckets sent with half a step's gradients. The collectives in flight are waited for and their
        sums dropped: every rank whose pass failed alike started the same ones (a collective needs
        every rank, however its pass ended)."""
        started = self._started
        self._reset()
        for req in started:
            if req is not None:
                req.wait()

    def _failed_pass_left(self) -> bool:
        return self._walk is not None and self._walk is not outermost_walk() and self._walk.failed

    def _buffer(self, i: int):
        if self._flat[i] is None:
            b = self.buckets[i]
            self._flat[i] = backend.array_module(b.device).empty(b.numel, dtype=b.dtype)
        return self._flat[i]

    def _rebuild_if_changed(self) -> None:
        """The set of parameters that require grad changed since the buckets were made:
        average the gradients of those that joined it (no bucket had them), then build anew."""
        if [id(p) for p in self._trainable()] == self._members:
            return
        old = set(self._members)
        joined = [p for p in self._trainable() if id(p) not in old]
        for b in _make_buckets(joined[::-1], self.bucket_bytes):
            flat = backend.array_module(b.device).empty(b.numel, dtype=b.dtype)
            self._reduce_bucket(b, flat, start=False)
            self._unpack_into(b, flat)
        self._build()

    def _timed(self, b) -> bool:
        return self.time_comm if self.time_comm is not None else b.device == "cpu"

    def broadcast_parameters(self, root: int = 0) -> None:
        """Every rank's parameter values become ``root``'s (in place)."""
        if self.comm.size == 1:
            return
        for b in _make_buckets(self.params[::-1], self.bucket_bytes):   # every parameter, frozen too
            flat = backend.array_module(b.device).empty(b.numel, dtype=b.dtype)
            for p, lo, hi in b.slots:
                flat[lo:hi] = p.data.reshape(-1)
            self.comm.broadcast_(flat, root)
            for p, lo, hi in b.slots:
                p.data[...] = flat[lo:hi].reshape(p.data.shape)

    @staticmethod
    def _pack(b, flat):
        for p, lo, hi in b.slots:
            g = grad_array(p)
            if g is None or not p.requires_grad:   # frozen since the buckets were made: zeros, as unused
                flat[lo:hi] = 0
            else:
                flat[lo:hi] = g.reshape(-1)
        return flat

    def _unpack(self, i: int) -> None:
        self._unpack_into(self.buckets[i], self._flat[i])

    def _unpack_into(self, b, flat) -> None:
        flat *= 1.0 / self.comm.size
        for p, lo, hi in b.slots:
            if not p.requires_grad:   # frozen since the buckets were made: its .grad is left alone
                continue
            g = grad_array(p)
            if g is None:
                set_grad_array(p, flat[lo:hi].reshape(p.data.shape).copy())
            else:
                g[...] = flat[lo:hi].reshape(g.shape)
                bump_version(p.grad)   # an in-place change of .grad, as clip_grad_norm_'s

    def _collective(self, i: int, start: bool):
        """Bucket ``i``'s allreduce: blocking, or (``start``) begun, returning its request."""
        return self._reduce_bucket(self.buckets[i], self._buffer(i), start)

    def _reduce_bucket(self, b, flat, start: bool):
        flat = self._pack(b, flat)
        timed = self._timed(b)
        if timed:
            backend.synchronize(b.device)   # the copies are queued GPU work, not communication
            t0 = time.perf_counter()
        out = self.comm.iallreduce_(flat) if start else self.comm.allreduce_(flat)
        if timed:
            backend.synchronize(b.device)
            self.comm_s += time.perf_counter() - t0
        return out

    def average_gradients(self) -> None:
        """Every gradient becomes its mean over the ranks (in place); with ``overlap``, the
        buckets backward started are waited for and the others started first."""
        if self.comm.size == 1:
            self._reset()   # (the one-process hooks' notes of this pass)
            return
        if not self.overlap:
            self._rebuild_if_changed()
            for i in range(len(self.buckets)):
                self._collective(i, start=False)
                self._unpack(i)
            self.steps += 1
            return
        if self._failed_pass_left():   # the backward since the last call raised: its buckets are stale
            self._discard_failed_pass()
        while self._next < len(self.buckets):   # not started by backward: a gradient missing, or none ran
            self._start_next()
        try:
            for i, b in enumerate(self.buckets):
                timed = self._timed(b)
                if timed:
                    t0 = time.perf_counter()
                self._started[i].wait()
                if timed:
                    backend.synchronize(b.device)
                    self.comm_s += time.perf_counter() - t0
                self._unpack(i)
        finally:
            self._reset()
        self._rebuild_if_changed()   # after the buckets backward started with the old ones
        self.steps += 1

    def _start_next(self) -> None:
        self._started[self._next] = self._collective(self._next, start=True)
        self._next += 1

    def _on_ready(self, p, i: int) -> None:
        """``p``'s gradient is final in this backward (its post-accumulate-grad hook)."""
        if not self._syncing:
            return
        if self._failed_pass_left():
            self._discard_failed_pass()
        if self._walk is None:
            self._walk = outermost_walk()
        if id(p) in self._reported:
            raise RuntimeError(f"DataParallel(overlap=True): a parameter of shape {p.shape} got its gradient "
                               f"twice before average_gradients() (two backward passes?): run the "
                               f"accumulating passes but the last under no_sync()")
        self._reported.add(id(p))
        self._ready[i] += 1
        if self.comm.size == 1:
            return
        started = self._next
        while self._next < len(self.buckets) and self._ready[self._next] == self._hooked[self._next]:
            self._start_next()
        if started and self._next == started:
            # nothing started now: a test moves the collectives in flight on (MPICH advances them only
            # inside MPI calls, and backward makes none), at each parameter backward finishes
            self._started[started - 1].test()

    def missing_gradients(self) -> list:
        """With the hooks on: the bucketed parameters that require grad whose gradient the backward
        passes since the last ``average_gradients()`` did not reach (outside ``no_sync``), in bucket order."""
        return [p for b in self.buckets for p, _, _ in b.slots if id(p) not in self._reported and p.requires_grad]

    @contextlib.contextmanager
    def no_sync(self):
        """The backward passes inside only accumulate ``.grad`` (DDP's ``no_sync``): the
        next one outside starts the buckets, with everything accumulated, and
        ``average_gradients()`` follows it. Without ``overlap`` there is nothing to hold back."""
        self._syncing = False
        try:
            yield self
        finally:
            self._syncing = True

    def remove_hooks(self) -> None:
        """Take the overlapped mode's hooks off the parameters; ``average_gradients()`` then
        starts every bucket itself (still correct, no longer overlapped)."""
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self._hooks_on = False
        self._hooked = [-1] * len(self.buckets)   # never all ready: every bucket starts at the wait


class _Bucket:
    """Parameters sharing one flat buffer: ``slots`` are (parameter, start, stop) in it."""

    __slots__ = ("device", "dtype", "slots", "numel")

    def __init__(self, device, dtype):
        self.device, self.dtype, self.slots, self.numel = device, dtype, [], 0

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize


def _make_buckets(params, bucket_bytes: int, first_bytes: int | None = None) -> list:
    """Group parameters, in order, into buckets of one (device, dtype) holding at most ``bucket_bytes``
    (the first bucket at most ``first_bytes``, if given)."""
    buckets, open_ = [], {}
    for p in params:
        key = (p.device, p.data.dtype)
        b = open_.get(key)
        cap = first_bytes if first_bytes is not None and b is not None and b is buckets[0] else bucket_bytes
        if b is None or (b.slots and b.nbytes + p.data.nbytes > cap):
            b = open_[key] = _Bucket(*key)
            buckets.append(b)
        b.slots.append((p, b.numel, b.numel + p.data.size))
        b.numel += p.data.size
    return buckets
