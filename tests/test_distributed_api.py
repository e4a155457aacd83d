"""torch.distributed's API (minitf.distributed), nn.parallel.DistributedDataParallel, nn.DataParallel
and autograd.queue_callback: one process (world size 1) here; 2 real MPI ranks against NumPy and
the one-process whole-batch gradient in the last test (skipped without mpi4py and mpiexec)."""
import importlib.util
import warnings

import numpy as np
import pytest

import minitf as mt
import minitf.distributed as dist
from minitf import autograd, distributed_api, nn

from .test_distributed_mpi import MPIEXEC, _run


@pytest.fixture
def group(monkeypatch):
    """A fresh default group of this one process, destroyed after the test."""
    monkeypatch.setattr(dist, "_world", None)
    monkeypatch.setattr(distributed_api, "_default", None)
    for name in dist._SIZE_ENV + ("WORLD_SIZE",):
        monkeypatch.delenv(name, raising=False)
    dist.init_process_group()
    yield
    monkeypatch.setattr(distributed_api, "_default", None)


def test_init_process_group_in_one_process(monkeypatch):
    monkeypatch.setattr(dist, "_world", None)
    monkeypatch.setattr(distributed_api, "_default", None)
    for name in dist._SIZE_ENV + ("WORLD_SIZE",):
        monkeypatch.delenv(name, raising=False)
    assert not dist.is_initialized() and dist.is_available()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="unknown backend 'tcp'"):
        dist.init_process_group("tcp")
    dist.init_process_group("nccl", init_method="env://", world_size=1, rank=0)
    assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "nccl")
    assert dist.is_initialized() and isinstance(dist.world(), dist.SingleProcess)
    with pytest.raises(ValueError, match="twice"):
        dist.init_process_group("gloo")
    with pytest.raises(ValueError, match="only the default group"):
        dist.get_rank(group="my-group")
    assert dist.get_world_size(group=dist.group.WORLD) == 1
    dist.barrier()
    dist.destroy_process_group()
    assert not dist.is_initialized()
    dist.init_process_group(backend="cpu:gloo,cuda:nccl")
    assert dist.get_backend() == "cpu:gloo,cuda:nccl"
    dist.destroy_process_group()
    assert dist.is_mpi_available() == (importlib.util.find_spec("mpi4py") is not None)


def test_a_world_size_the_launcher_did_not_make_is_refused(monkeypatch):
    monkeypatch.setattr(dist, "_world", dist.SingleProcess())
    monkeypatch.setattr(distributed_api, "_default", None)
    with pytest.raises(RuntimeError, match=r"world_size 2, but this process is one of 1: start the ranks with "
                                           r"`mpiexec -n 2"):
        dist.init_process_group("gloo", world_size=2, rank=0)
    with pytest.raises(RuntimeError, match="rank 1, but MPI made this process rank 0"):
        dist.init_process_group("gloo", rank=1)
    monkeypatch.setenv("WORLD_SIZE", "4")          # torchrun's variable
    with pytest.raises(RuntimeError, match="world_size 4"):
        dist.init_process_group("gloo")
    assert not dist.is_initialized()


def test_import_leaves_mpi4py_alone():
    from .test_lazy_imports import imported_after
    loaded = imported_after("import minitf as mt\nimport minitf.distributed as d\nd.init_process_group()\n"
                            "d.all_reduce(mt.ones(2))")
    assert "mpi4py" not in loaded and "minitf.distributed_api" in loaded
    assert "minitf.distributed_api" not in imported_after("import minitf") and \
        "minitf.nn.parallel" not in imported_after("from minitf import nn")


def test_collectives_of_one_rank_in_place(group, device):
    x = np.arange(6.0).reshape(2, 3) - 2
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX, dist.ReduceOp.MIN, dist.ReduceOp.PRODUCT):
        t = mt.tensor(x, device=device)
        v = t._version
        assert dist.all_reduce(t, op=op) is None
        np.testing.assert_array_equal(t.numpy(), x)
        assert t._version > v                                  # an in-place change, for autograd's checks
    t = mt.tensor(x, device=device)
    work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    assert work.wait() is True and work.is_completed()
    np.testing.assert_array_equal(t.numpy(), x)
    base = mt.tensor(x, device=device)
    dist.all_reduce(base.t(), op=dist.ReduceOp.SUM)             # a non-contiguous view: through a copy and back
    np.testing.assert_array_equal(base.numpy(), x)
    dist.broadcast(t, src=0)
    dist.reduce(t, dst=0, op=dist.ReduceOp.MAX)
    out = [mt.zeros(2, 3, device=device, dtype=mt.float64)]
    dist.all_gather(out, t)
    np.testing.assert_array_equal(out[0].numpy(), x)
    flat = mt.zeros(2, 3, device=device, dtype=mt.float64)
    assert dist.all_gather_into_tensor(flat, t, async_op=True).wait()
    np.testing.assert_array_equal(flat.numpy(), x)
    part = mt.zeros(6, device=device, dtype=mt.float64)
    dist.reduce_scatter_tensor(part, t, op=dist.ReduceOp.AVG)
    np.testing.assert_array_equal(part.numpy(), x.reshape(-1))
    got = [mt.zeros(2, 3, device=device, dtype=mt.float64)]
    dist.gather(t, got, dst=0)
    np.testing.assert_array_equal(got[0].numpy(), x)
    s = mt.zeros(2, 3, device=device, dtype=mt.float64)
    dist.scatter(s, [t], src=0)
    np.testing.assert_array_equal(s.numpy(), x)
    objs = [None]
    dist.all_gather_object(objs, {"a": [1, 2]})
    lst = ["x", 3]
    dist.broadcast_object_list(lst, src=0)
    assert objs == [{"a": [1, 2]}] and lst == ["x", 3]


def test_collectives_refuse_bad_arguments(group):
    t = mt.ones(2, 3)
    with pytest.raises(ValueError, match="op must be a ReduceOp"):
        dist.all_reduce(t, op="sum")
    with pytest.raises(ValueError, match="ReduceOp.AVG needs a floating-point tensor, got int64"):
        dist.all_reduce(mt.tensor([1, 2]), op=dist.ReduceOp.AVG)
    with pytest.raises(ValueError, match=r"src=1 is not a rank of the group \(0 to 0\)"):
        dist.broadcast(t, src=1)
    with pytest.raises(ValueError, match=r"tensor_list must hold world_size \(1\) tensors, got 2"):
        dist.all_gather([mt.ones(2, 3), mt.ones(2, 3)], t)
    with pytest.raises(ValueError, match=r"must be like the tensor, \(2, 3\) float32"):
        dist.all_gather([mt.ones(3, 2)], t)
    with pytest.raises(ValueError, match="world_size times the elements"):
        dist.all_gather_into_tensor(mt.ones(5), t)
    with pytest.raises(TypeError, match="tensor must be a Tensor, got ndarray"):
        dist.all_reduce(np.ones(3))


def test_queue_callback_runs_at_the_end_of_the_outermost_backward():
    w = mt.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = w.register_post_accumulate_grad_hook(
        lambda p: autograd.queue_callback(lambda: seen.append(p.grad.numpy().copy())))
    (w * w).sum().backward()
    assert len(seen) == 1 and np.array_equal(seen[0], [2.0, 4.0])   # after the last accumulation
    with pytest.raises(RuntimeError, match="only be installed during a backward pass"):
        autograd.queue_callback(lambda: None)
    h.remove()
    x = mt.tensor([1.0], requires_grad=True)

    def boom(g):
        autograd.queue_callback(lambda: seen.append("ran"))
        raise ValueError("boom")
    x.register_hook(boom)
    with pytest.raises(ValueError, match="boom"):
        (x * 2).sum().backward()
    assert seen[1:] == []                                          # a pass that raised runs none


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 4), nn.Linear(4, 2)
        self.register_buffer("count", mt.zeros(1))

    def forward(self, x, skip_b=False):
        h = self.a(x).tanh()
        return h if skip_b else self.b(h)


def test_ddp_in_one_process_is_the_module(group, device):
    mt.manual_seed(0)
    net = Net().to(device=device, dtype="float64")
    ref = Net().to(device=device, dtype="float64")
    ref.load_state_dict(net.state_dict())
    ddp = nn.parallel.DistributedDataParallel(net, bucket_cap_mb=1e-5)    # several buckets
    assert ddp.module is net and list(ddp.state_dict()) == ["module." + k for k in net.state_dict()]
    assert len(ddp._reducer.buckets) > 1
    x = mt.randn(5, 3, dtype=mt.float64, device=device)
    ddp(x).pow(2).sum().backward()
    ref(x).pow(2).sum().backward()
    for p, q in zip(net.parameters(), ref.parameters()):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    with ddp.no_sync():                                    # accumulation, then a pass that "syncs"
        ddp(x).sum().backward()
    ddp(x).sum().backward()
    ref(x).sum().backward()
    ref(x).sum().backward()
    for p, q in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-15)


def test_ddp_unused_parameter_raises_unless_found(group):
    net = Net()
    ddp = nn.parallel.DistributedDataParallel(net)
    with pytest.raises(RuntimeError, match=r"not used in producing loss.*rank 0: b\.weight \(index 2\), "
                                           r"b\.bias \(index 3\)\. Pass find_unused_parameters=True"):
        ddp(mt.randn(2, 3), skip_b=True).sum().backward()
    net.zero_grad()
    ddp(mt.randn(2, 3)).sum().backward()                  # the next step starts clean
    assert all(p.grad is not None for p in net.parameters())
    ddp._reducer.remove_hooks()
    loose = nn.parallel.DistributedDataParallel(net, find_unused_parameters=True)
    net.zero_grad()
    loose(mt.randn(2, 3), skip_b=True).sum().backward()
    assert net.a.weight.grad is not None and net.b.weight.grad is None and net.b.bias.grad is None
    loose._reducer.remove_hooks()
    frozen = nn.parallel.DistributedDataParallel(net)
    net.b.requires_grad_(False)                           # frozen after wrapping: not "unused"
    net.zero_grad()
    frozen(mt.randn(2, 3), skip_b=True).sum().backward()
    assert net.a.weight.grad is not None and net.b.weight.grad is None


def test_nccl_layer_passes_each_collective_and_its_op(monkeypatch):
    from minitf import backend
    from .test_distributed import _StandInArray
    calls = []

    class Comm:
        def __init__(self, *args):
            pass

        def __getattr__(self, name):
            return lambda *args: calls.append((name,) + args)

    nccl = type("nccl", (), dict(NCCL_FLOAT16=6, NCCL_FLOAT32=7, NCCL_FLOAT64=8, NCCL_INT32=9, NCCL_INT64=4,
                                 NCCL_SUM=0, NCCL_PROD=1, NCCL_MAX=2, NCCL_MIN=3, NcclCommunicator=Comm))
    stream = type("Stream", (), {"ptr": 42})()
    cupy = type("cupy", (), {"ndarray": _StandInArray,
                             "cuda": type("cuda", (), {"get_current_stream": staticmethod(lambda: stream)})})
    monkeypatch.setattr(backend, "_cupy", cupy)
    monkeypatch.setattr(backend.gpu, "_nccl", lambda: nccl)
    ops = backend.NcclCollectives(2, 1, ("uid",))
    ops.allreduce_(_StandInArray(6, np.float32), "max")
    ops.reduce_(_StandInArray(6, np.int64), 0, "min")
    ops.allgather_(_StandInArray(3, np.float32), _StandInArray(6, np.float32))
    ops.reduce_scatter_(_StandInArray(6, np.float32), _StandInArray(3, np.float32), "prod")
    assert calls == [("allReduce", 0xBEEF, 0xBEEF, 6, 7, 2, 42),          # in place, float32, max, the stream
                     ("reduce", 0xBEEF, 0xBEEF, 6, 4, 3, 0, 42),          # int64, min, root 0
                     ("allGather", 0xBEEF, 0xBEEF, 3, 7, 42),             # the count sent by each rank
                     ("reduceScatter", 0xBEEF, 0xBEEF, 3, 7, 1, 42)]      # the count each rank receives
    with pytest.raises(TypeError, match="NCCL has no reduction 'band'"):
        ops.allreduce_(_StandInArray(6, np.int64), "band")


def test_ddp_arguments_as_torch(group):
    with pytest.raises(RuntimeError, match="doesn't have any parameter that requires a gradient"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2).requires_grad_(False))
    with pytest.raises(ValueError, match="one device per process"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2), device_ids=[0, 1])
    with pytest.warns(FutureWarning, match="broadcast_buffers` is deprecated"):
        ddp = nn.parallel.DistributedDataParallel(nn.Linear(2, 2), broadcast_buffers=False)
    assert ddp.forward_sync_buffers is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nn.parallel.DistributedDataParallel(nn.Linear(2, 2), forward_sync_buffers=False).forward_sync_buffers \
            is False


def test_nn_data_parallel_is_a_pass_through():
    lin = nn.Linear(3, 2)
    dp = nn.DataParallel(lin, device_ids=[0])
    x = mt.randn(4, 3)
    assert dp.module is lin and np.array_equal(dp(x).numpy(), lin(x).numpy())
    assert nn.DataParallel is nn.parallel.DataParallel
    with pytest.raises(ValueError, match="one device per process"):
        nn.DataParallel(lin, device_ids=[0, 1])


@pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
                    reason='needs mpi4py and mpiexec (pip install -e ".[dist]")')
@pytest.mark.parametrize("device", ["cpu", "fake"])
def test_two_ranks_against_numpy_and_one_process(device):
    """Every collective on 2 ranks against NumPy; DDP: broadcast at construction, the averaged
    gradient = the one-process whole-batch gradient, no_sync accumulation, unused parameters."""
    import json
    from pathlib import Path
    r = _run(2, Path(__file__).with_name("mpi_torch_api_worker.py"), device, timeout=90)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == [[], []]
