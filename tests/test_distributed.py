"""minitf.distributed without MPI: launcher detection, the install hint, bucketing, the gradient
average on both devices (ranks simulated by threads), and error propagation."""
import io
import sys
import threading

import numpy as np
import pytest

import minitf as mt
from minitf import backend, distributed as dist, nn


@pytest.fixture
def fresh_world(monkeypatch):
    """No communicator decided yet, and no launcher in the environment."""
    monkeypatch.setattr(dist, "_world", None)
    for name in dist._SIZE_ENV:
        monkeypatch.delenv(name, raising=False)


def test_launched_world_size_reads_the_launchers(fresh_world, monkeypatch):
    assert dist.launched_world_size() == 1
    monkeypatch.setenv("PMI_SIZE", "3")
    assert dist.launched_world_size() == 3
    monkeypatch.delenv("PMI_SIZE")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    assert dist.launched_world_size() == 2


def test_single_process_without_mpiexec(fresh_world, monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)   # even without mpi4py: never imported
    comm = dist.init()
    assert (comm.rank, comm.size) == (0, 1)
    assert dist.init() is comm
    assert comm.sum_floats([1.5, 2]) == [1.5, 2.0]


@pytest.mark.parametrize("how", ["mpiexec", "required"])
def test_missing_mpi4py_names_the_install_command(fresh_world, monkeypatch, how):
    monkeypatch.setitem(sys.modules, "mpi4py", None)   # import mpi4py -> ImportError
    if how == "mpiexec":
        monkeypatch.setenv("PMI_SIZE", "2")
    with pytest.raises(dist.DistributedError, match=r'pip install -e "\.\[dist\]"'):
        dist.init(required=how == "required")


def test_buckets_cover_every_parameter_once_within_the_cap():
    mt.manual_seed(0)
    model = nn.ModuleList([nn.Linear(8, 16), nn.Linear(16, 4), nn.Linear(4, 4)])
    params = list(model.parameters())
    cap = 16 * 8 * 4                                    # bytes of the largest weight
    buckets = dist._make_buckets(params, cap)
    slots = [s for b in buckets for s in b.slots]
    assert [id(p) for p, _, _ in slots] == [id(p) for p in params]   # in order, each once
    for b in buckets:
        assert b.nbytes <= cap or len(b.slots) == 1
        starts = [lo for _, lo, _ in b.slots]
        stops = [hi for _, _, hi in b.slots]
        assert starts[0] == 0 and starts[1:] == stops[:-1] and stops[-1] == b.numel   # packed, no gaps
    assert 1 < len(buckets) < len(params)               # a few buffers, not one per parameter
    assert len(dist._make_buckets(params, dist.DEFAULT_BUCKET_BYTES)) == 1


class ThreadWorld:
    """Ranks as threads: each collective meets at a barrier and combines what every rank brought."""

    def __init__(self, size):
        self.size, self.barrier, self.slots, self.calls = size, threading.Barrier(size, timeout=20), [None] * size, []


class ThreadComm(dist.SingleProcess):
    def __init__(self, world, rank):
        self.world, self.rank, self.size = world, rank, world.size

    def allreduce_(self, buf):
        w = self.world
        w.slots[self.rank] = buf
        if self.rank == 0:
            w.calls.append(("allreduce", backend.device_of(buf), buf.dtype, buf.shape))
        w.barrier.wait()
        total = w.slots[0].copy()
        for other in w.slots[1:]:
            total += other
        w.barrier.wait()                                # everyone has read every buffer
        buf[...] = total
        return buf

    def broadcast_(self, buf, root=0):
        w = self.world
        w.slots[self.rank] = buf
        if self.rank == 0:
            w.calls.append(("broadcast", backend.device_of(buf), buf.dtype, buf.shape))
        w.barrier.wait()
        value = w.slots[root].copy()
        w.barrier.wait()
        buf[...] = value
        return buf


def _replica(device, seed):
    mt.manual_seed(seed)                                # a different start on every rank
    return nn.ModuleList([nn.Linear(5, 7), nn.LayerNorm(7), nn.Linear(7, 3)]).to(device=device, dtype="float64")


def _run_ranks(size, fn):
    out, errors = [None] * size, []

    def target(r):
        try:
            out[r] = fn(r)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=target, args=(r,)) for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out


def test_data_parallel_reduces_the_device_buffers(device, restore_rng):
    size, world = 2, ThreadWorld(2)
    inputs = [np.random.default_rng(r).standard_normal((4, 5)) for r in range(size)]
    ref = _replica(device, seed=0)                      # rank 0's model, run on every rank's input
    expected = []
    for x in inputs:
        for p in ref.parameters():
            p.grad = None
        h = ref[2](ref[1](ref[0](mt.tensor(x, device=device))))
        (h * h).sum().backward()
        expected.append([p.grad.numpy() for p in ref.parameters()])
    mean = [sum(g) / size for g in zip(*expected)]

    models = [_replica(device, seed=r) for r in range(size)]   # made here: manual_seed is global

    def rank(r):
        model = models[r]
        params = list(model.parameters())
        dp = dist.DataParallel(params, ThreadComm(world, r), bucket_bytes=40 * 8)
        dp.broadcast_parameters()
        for p, q in zip(params, ref.parameters()):
            np.testing.assert_array_equal(backend.to_numpy(p.data), backend.to_numpy(q.data))
        h = model[2](model[1](model[0](mt.tensor(inputs[r], device=device))))
        (h * h).sum().backward()
        params[3].grad = None if r == 1 else params[3].grad   # a gradient absent on one rank counts as zero
        versions = [None if p.grad is None else p.grad._version for p in params]
        dp.average_gradients()
        # averaging changes each existing .grad in place: one version each, as clip_grad_norm_ does
        assert [p.grad._version for p, v in zip(params, versions) if v is not None] == \
            [v + 1 for v in versions if v is not None]
        # the collectives are timed where that costs no host wait: on the CPU, not on a device
        assert (dp.comm_s > 0) == (device == "cpu")
        return [p.grad.numpy() for p in params], len(dp.buckets), dp.steps

    results = _run_ranks(size, rank)
    mean[3] = expected[0][3] / size
    for grads, n_buckets, steps in results:
        assert steps == 1
        for g, m in zip(grads, mean):
            np.testing.assert_allclose(g, m, rtol=1e-13, atol=1e-15)
    n_buckets = results[0][1]
    assert n_buckets > 1
    n = sum(p.data.size for p in ref.parameters())
    reduces = [c for c in world.calls if c[0] == "allreduce"]
    assert len(reduces) == n_buckets                    # one collective per bucket
    assert all(dev == device and dtype == np.float64 and len(shape) == 1 for _, dev, dtype, shape in world.calls)
    assert sum(shape[0] for _, _, _, shape in reduces) == n   # every gradient element, once


class AbortingComm(dist.SingleProcess):
    rank, size = 1, 2

    def __init__(self):
        self.aborted = None

    def abort(self, code=1):
        self.aborted = code


def test_abort_on_error_prints_the_rank_and_aborts():
    comm, err = AbortingComm(), io.StringIO()
    with pytest.raises(ValueError):    # Abort would not return; the stand-in does, so the error goes on
        with dist.abort_on_error(comm, stream=err):
            raise ValueError("bad batch on this rank")
    assert comm.aborted == 1
    assert err.getvalue().startswith("rank 1 of 2: Traceback")
    assert "ValueError: bad batch on this rank" in err.getvalue()


def test_abort_on_error_keeps_exit_codes():
    comm = AbortingComm()
    with pytest.raises(SystemExit):
        with dist.abort_on_error(comm, stream=io.StringIO()):
            raise SystemExit(2)
    assert comm.aborted == 2
    comm = AbortingComm()
    with pytest.raises(SystemExit):
        with dist.abort_on_error(comm):
            raise SystemExit(0)                         # a clean exit is not an error
    assert comm.aborted is None


def test_abort_on_error_single_process_propagates():
    with pytest.raises(KeyError):
        with dist.abort_on_error(dist.SingleProcess()):
            raise KeyError("x")


def test_strategy_writes_and_prints_on_rank_zero_only(tmp_path):
    from minitf import train

    class Rank(dist.SingleProcess):
        def __init__(self, rank):
            self.rank, self.size = rank, 2

    lines = []
    s0, s1 = train.DataParallelStrategy(Rank(0)), train.DataParallelStrategy(Rank(1))
    assert (s0.batch_shard(), s1.batch_shard()) == ((0, 2), (1, 2))
    s0.wrap_log(lines.append)("zero")
    s1.wrap_log(lines.append)("one")
    assert lines == ["zero"]
    d1 = s1.open_run_dir(tmp_path / "run")
    d1.write_log([{"iter": 0}])
    d1.append_log({"iter": 1})
    d1.write_sample("text")
    assert not (tmp_path / "run").exists()
    d0 = s0.open_run_dir(tmp_path / "run")
    d0.write_log([{"iter": 0}])
    assert d0.read_log() == [{"iter": 0}] and d1.read_log() == [{"iter": 0}]   # rank 1 reads what 0 wrote


def test_checkpoint_blocks_reaches_the_model():
    from minitf import train
    cfg = train.make_config("baby", n_layer=1, n_embd=16, n_head=2, checkpoint_blocks=True)
    assert train.build_model(cfg, 10).config.checkpoint_blocks is True
    assert train.build_model(train.make_config("baby", n_layer=1, n_embd=16, n_head=2), 10).config.checkpoint_blocks is False


def test_ranks_draw_their_own_dropout_masks(restore_rng):
    from minitf import random as mt_random, train

    class Rank(dist.SingleProcess):
        def __init__(self, rank):
            self.rank, self.size = rank, 2

    draws = []
    for r in range(2):
        mt.manual_seed(7)
        train.DataParallelStrategy(Rank(r)).seed_rng(7, "cpu")
        draws.append(mt_random.default_generator("cpu").random(8))
    assert not np.allclose(draws[0], draws[1])
    mt.manual_seed(7)
    np.testing.assert_array_equal(mt_random.default_generator("cpu").random(8), draws[0])  # rank 0: as one process


# --- backend.NcclCollectives, the GPU's thin layer, against stand-ins for CuPy and its NCCL module
class _StandInArray:
    def __init__(self, size, dtype, contiguous=True):
        self.size, self.dtype = size, np.dtype(dtype)
        self.data = type("Mem", (), {"ptr": 0xBEEF})()
        self.flags = type("Flags", (), {"c_contiguous": contiguous})()


def test_nccl_layer_passes_the_buffer_dtype_op_and_stream(monkeypatch):
    calls = []

    class Comm:
        def __init__(self, size, uid, rank):
            calls.append(("init", size, uid, rank))

        def allReduce(self, *args):
            calls.append(("allReduce",) + args)

        def bcast(self, *args):
            calls.append(("bcast",) + args)

    nccl = type("nccl", (), dict(NCCL_FLOAT16=6, NCCL_FLOAT32=7, NCCL_FLOAT64=8, NCCL_INT32=2, NCCL_INT64=4,
                                 NCCL_SUM=0, NcclCommunicator=Comm))
    stream = type("Stream", (), {"ptr": 42})()
    cupy = type("cupy", (), {"ndarray": _StandInArray,
                             "cuda": type("cuda", (), {"get_current_stream": staticmethod(lambda: stream)})})
    monkeypatch.setattr(backend, "_cupy", cupy)
    monkeypatch.setattr(backend.gpu, "_nccl", lambda: nccl)   # where NcclCollectives looks it up
    ops = backend.NcclCollectives(4, 3, ("uid",))
    ops.allreduce_(_StandInArray(1000, np.float32))
    ops.broadcast_(_StandInArray(10, np.float64), root=0)
    assert ops.iallreduce_(_StandInArray(8, np.float16)) is None       # queued as the blocking one: nothing to wait
    assert calls == [("init", 4, ("uid",), 3),
                     ("allReduce", 0xBEEF, 0xBEEF, 1000, 7, 0, 42),     # in place, float32, sum, current stream
                     ("bcast", 0xBEEF, 10, 8, 0, 42),
                     ("allReduce", 0xBEEF, 0xBEEF, 8, 6, 0, 42)]
    with pytest.raises(TypeError, match="contiguous"):
        ops.allreduce_(_StandInArray(4, np.float32, contiguous=False))
    with pytest.raises(TypeError, match="unsupported dtype"):
        ops.allreduce_(_StandInArray(4, np.complex64))
    with pytest.raises(TypeError, match="contiguous CuPy arrays"):
        ops.allreduce_(np.zeros(4, dtype=np.float32))                    # a host array is refused
