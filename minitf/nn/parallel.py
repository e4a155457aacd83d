"""torch.nn.parallel: DistributedDataParallel over minitf's ranks, and nn.DataParallel.

    import minitf.distributed as dist
    dist.init_process_group("gloo")                     # mpiexec -n N python train.py
    ddp = nn.parallel.DistributedDataParallel(model)    # rank 0's parameters and buffers on every rank
    loss_fn(ddp(x), y).backward()                       # here the gradients are already the rank mean
    opt.step()

:class:`DistributedDataParallel` is :class:`minitf.distributed.DataParallel` with
``overlap=True`` (the same buckets, hooks and collectives), plus the one thing torch's
has that it lacks: nothing to call after ``backward()``. The first gradient hook of a pass
queues a callback for the end of the outermost backward (``minitf.autograd.queue_callback``,
torch's ``Variable._execution_engine.queue_callback``), which waits for the buckets and
averages, so ``backward()`` returns averaged gradients.
"""
from __future__ import annotations

import contextlib
import warnings

from .. import autograd
from ..data_parallel import DEFAULT_BUCKET_BYTES, DataParallel as _GradientAverager
from ..errors import ArgumentError
from .module import Module

__all__ = ["DistributedDataParallel", "DataParallel"]


def _one_device(name: str, device_ids, output_device) -> None:
    ids = list(device_ids) if device_ids is not None else []
    if len(ids) > 1 or (output_device is not None and ids and output_device != ids[0]):
        raise ArgumentError(f"{name}: device_ids={device_ids!r}: minitf uses one device per process; run one "
                            f"process per device (mpiexec -n N) with DistributedDataParallel")


class _Reducer(_GradientAverager):
    """DataParallel whose first hook of each syncing pass queues the wait for the end of the pass."""

    def __init__(self, parameters, comm, bucket_bytes, find_unused: bool, names: dict):
        super().__init__(parameters, comm, bucket_bytes, overlap=True, hooks_in_one_process=True)
        self.find_unused, self.names, self._queued_on = find_unused, names, None

    def _on_ready(self, p, i: int) -> None:
        if self._syncing:
            walk = autograd.outermost_walk()
            if self._queued_on is not walk:
                self._queued_on = walk
                autograd.queue_callback(self._finish)
        super()._on_ready(p, i)

    def _finish(self) -> None:
        """The end of a backward pass that reached some parameters: average (torch's finalize)."""
        self._queued_on = None
        missing = self.missing_gradients()
        if missing and not self.find_unused:
            self._discard_failed_pass()   # the buckets sent so far are waited for: every rank stays in step
            order = {id(p): k for k, p in enumerate(self.params)}
            listed = ", ".join(f"{self.names.get(id(p), '?')} (index {order[id(p)]})" for p in missing[::-1])
            raise RuntimeError(f"DistributedDataParallel: parameters that were not used in producing loss got no "
                               f"gradient in this backward on rank {self.comm.rank}: {listed}. Pass "
                               f"find_unused_parameters=True to DistributedDataParallel, or make every output "
                               f"of forward take part in the loss.")
        if not self.find_unused:
            self.average_gradients()
            return
        params = [p for b in self.buckets for p, _, _ in b.slots]
        had = [0.0 if p.grad is None else 1.0 for p in params]
        self.average_gradients()   # (a parameter without a gradient sends zeros)
        if self.comm.size > 1:
            had = self.comm.sum_floats(had)
        for p, n in zip(params, had):
            if n == 0:   # no rank used it: its .grad stays None, as torch's (an optimizer skips it)
                p.grad = None


class DistributedDataParallel(Module):
    """Data parallelism over the ranks of the default group (torch.nn.parallel.DistributedDataParallel).

    ``module``'s forward runs as it is (``ddp(x)`` is ``module(x)``: any inputs and outputs);
    at construction every rank takes rank 0's parameters and buffers (``init_sync``), and every
    ``backward()`` of a loss computed through it returns with each gradient already the mean
    over the ranks. Under :meth:`no_sync` (forward and backward inside it) gradients only
    accumulate; the first backward after it averages the accumulated sum.

    Parameters
    ----------
    module : Module
        The replica of this rank; ``ddp.module`` is it (state_dict keys start with ``module.``).
    device_ids, output_device
        None, or the one device of the process (minitf has one per process).
    broadcast_buffers : bool, optional
        Deprecated in torch 2.13 (a FutureWarning, as torch's): ``forward_sync_buffers``, and
        False also leaves the buffers out of the construction's broadcast.
    init_sync : bool
        Broadcast parameters (and buffers) from rank 0 at construction (default True).
    bucket_cap_mb : float, optional
        The buckets' size in MiB (default 25, the first bucket 1 MiB, as torch's).
    find_unused_parameters : bool
        False (default): a backward that leaves a parameter that requires grad without a
        gradient raises a RuntimeError naming it, at the end of that backward (torch raises
        the same at the next forward; here before an optimizer could step on gradients not
        averaged). True: such a parameter sends zeros (it gets the mean of the ranks that
        used it), and one no rank used keeps ``.grad`` None.
    forward_sync_buffers : bool, optional
        Broadcast the buffers from rank 0 at each forward (default True).
    gradient_as_bucket_view, static_graph, check_reduction
        Accepted for torch's code; they change nothing here (``.grad`` tensors are the
        parameters' own, unpacked from the buckets).
    """

    def __init__(self, module, device_ids=None, output_device=None, dim: int = 0, broadcast_buffers=None,
                 init_sync: bool = True, process_group=None, bucket_cap_mb=None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 forward_sync_buffers=None):
        super().__init__()
        from .. import distributed_api
        _one_device("DistributedDataParallel", device_ids, output_device)
        comm = distributed_api._comm(process_group, "DistributedDataParallel")
        if broadcast_buffers is not None:
            warnings.warn("`broadcast_buffers` is deprecated (torch 2.13): use `forward_sync_buffers`; "
                          "`broadcast_buffers=False` also leaves the buffers out of the sync at construction",
                          FutureWarning, stacklevel=2)
        if check_reduction:
            warnings.warn("The `check_reduction` argument of DistributedDataParallel is deprecated",
                          FutureWarning, stacklevel=2)
        if forward_sync_buffers is not None:
            self.forward_sync_buffers, init_buffers = bool(forward_sync_buffers), True
        else:
            self.forward_sync_buffers = init_buffers = broadcast_buffers is None or bool(broadcast_buffers)
        self.module = module
        self.dim, self.find_unused_parameters = dim, bool(find_unused_parameters)
        self.gradient_as_bucket_view, self.static_graph = gradient_as_bucket_view, static_graph
        self.require_backward_grad_sync = True
        named = list(module.named_parameters())
        if not any(p.requires_grad for _, p in named):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient")
        cap = DEFAULT_BUCKET_BYTES if bucket_cap_mb is None else int(float(bucket_cap_mb) * 2**20)
        reducer = _Reducer([p for _, p in named], comm, cap, self.find_unused_parameters,
                           {id(p): n for n, p in named})
        object.__setattr__(self, "_reducer", reducer)   # not a Module attribute: no state, no parameters
        if init_sync:
            reducer.broadcast_parameters(0)
            if init_buffers:
                self._sync_buffers()

    def _sync_buffers(self) -> None:
        buffers = [b for b in self.module.buffers() if b is not None]
        if buffers and self._reducer.comm.size > 1:
            _GradientAverager(buffers, self._reducer.comm).broadcast_parameters(0)

    def forward(self, *inputs, **kwargs):
        if self.forward_sync_buffers:
            self._sync_buffers()
        # as torch's, whether the coming backward averages is decided at forward (no_sync around the forward)
        self._reducer._syncing = self.require_backward_grad_sync
        return self.module(*inputs, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Forward and backward passes inside only accumulate ``.grad``; the first backward
        after (of a forward after) averages the sum. The forward must be inside, as torch's."""
        old, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old


class DataParallel(Module):
    """torch.nn.DataParallel: a pass-through here (``dp(x)`` is ``module(x)``; ``dp.module``).

    torch's splits each batch over the GPUs of one process; minitf has one device per process,
    which is torch's one-device case, where torch's DataParallel also just calls the module.
    For several devices run one process each with :class:`DistributedDataParallel` (torch's
    advice too). More than one ``device_ids`` is refused, by name.
    """

    def __init__(self, module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        _one_device("DataParallel", device_ids, output_device)
        self.module, self.dim = module, dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
