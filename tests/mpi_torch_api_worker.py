"""Run by tests/test_distributed_api.py under ``mpiexec -n 2`` (cpu or fake device):

    python tests/mpi_torch_api_worker.py DEVICE

Every rank runs torch.distributed's collectives (minitf.distributed's) on inputs that are a
known function of the rank, computes what each result must be with NumPy, then trains
DistributedDataParallel steps against the one-process gradient of the whole batch. Each rank
lists the checks that failed; rank 0 prints every rank's list (JSON, one line).
"""
import json
import sys

import numpy as np

import minitf as mt
import minitf.distributed as dist
from minitf import nn


def value(rank, shape=(2, 3), dtype=np.float64):
    """Rank r's input: distinct on every rank, exact in float32 and int64."""
    return (np.arange(np.prod(shape)).reshape(shape) + 10 * rank + 1).astype(dtype)


def check_collectives(device, rank, size, fails):
    def same(name, t, want):
        got = t.numpy()
        if got.shape != np.shape(want) or not np.array_equal(got, want):
            fails.append(f"{name}: got {got.tolist()} want {np.asarray(want).tolist()}")

    every = np.stack([value(r) for r in range(size)])
    for op, want in [(dist.ReduceOp.SUM, every.sum(0)), (dist.ReduceOp.PRODUCT, every.prod(0)),
                     (dist.ReduceOp.MAX, every.max(0)), (dist.ReduceOp.MIN, every.min(0)),
                     (dist.ReduceOp.AVG, every.mean(0))]:
        t = mt.tensor(value(rank), device=device)
        dist.all_reduce(t, op=op)
        same(f"all_reduce {op.name}", t, want)
    ints = np.stack([value(r, dtype=np.int64) for r in range(size)])
    t = mt.tensor(value(rank, dtype=np.int64), device=device)
    dist.all_reduce(t, op=dist.ReduceOp.BXOR)
    same("all_reduce BXOR int64", t, np.bitwise_xor.reduce(ints, 0))
    t = mt.tensor(value(rank, dtype=np.float32), device=device)
    work = dist.all_reduce(t, async_op=True)
    work.wait()
    same("all_reduce async", t, every.sum(0).astype(np.float32))
    if not work.is_completed():
        fails.append("Work.is_completed() after wait()")
    base = mt.tensor(np.zeros((3, 2)), device=device)
    base.data[...] = backend_array(value(rank).T, device)
    view = base.t()                                     # (2, 3), not contiguous
    dist.all_reduce(view)
    same("all_reduce non-contiguous", base, every.sum(0).T)

    t = mt.tensor(value(rank), device=device)
    dist.broadcast(t, src=1)
    same("broadcast src=1", t, value(1))
    t = mt.tensor(value(rank), device=device)
    dist.reduce(t, dst=1, op=dist.ReduceOp.MAX)
    same("reduce dst=1", t, every.max(0) if rank == 1 else value(rank))

    out = [mt.zeros(2, 3, dtype=mt.float64, device=device) for _ in range(size)]
    dist.all_gather(out, mt.tensor(value(rank), device=device))
    for r in range(size):
        same(f"all_gather [{r}]", out[r], value(r))
    out = mt.zeros(2 * size, 3, dtype=mt.float64, device=device)
    dist.all_gather_into_tensor(out, mt.tensor(value(rank), device=device))
    same("all_gather_into_tensor", out, every.reshape(2 * size, 3))
    big = np.concatenate([value(rank)] * size) * (np.arange(2 * size)[:, None] + 1)   # (2 size, 3)
    out = mt.zeros(2, 3, dtype=mt.float64, device=device)
    dist.reduce_scatter_tensor(out, mt.tensor(big, device=device))
    total = sum(np.concatenate([value(r)] * size) * (np.arange(2 * size)[:, None] + 1) for r in range(size))
    same("reduce_scatter_tensor", out, total[2 * rank:2 * rank + 2])

    got = [mt.zeros(2, 3, dtype=mt.float64, device=device) for _ in range(size)] if rank == 0 else None
    dist.gather(mt.tensor(value(rank), device=device), got, dst=0)
    if rank == 0:
        for r in range(size):
            same(f"gather [{r}]", got[r], value(r))
    t = mt.zeros(2, 3, dtype=mt.float64, device=device)
    parts = [mt.tensor(value(10 + r), device=device) for r in range(size)] if rank == 1 else None
    dist.scatter(t, parts, src=1)
    same("scatter src=1", t, value(10 + rank))

    objs = [None] * size
    dist.all_gather_object(objs, {"rank": rank, "name": f"r{rank}"})
    if objs != [{"rank": r, "name": f"r{r}"} for r in range(size)]:
        fails.append(f"all_gather_object: {objs}")
    lst = ["mine", rank] if rank == 0 else [None, None]
    dist.broadcast_object_list(lst, src=0)
    if lst != ["mine", 0]:
        fails.append(f"broadcast_object_list: {lst}")
    dist.barrier()


def backend_array(a, device):
    return mt.tensor(a, device=device).data


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.spare = nn.Linear(3, 5), nn.Linear(5, 2), nn.Linear(2, 2)
        self.register_buffer("scale", mt.ones(2))

    def forward(self, x, use_spare=False):
        y = self.fc2(self.fc1(x).tanh()) * self.scale
        return self.spare(y) if use_spare else y


def make(device, seed):
    mt.manual_seed(seed)
    net = Net().to(device=device, dtype="float64")
    net.scale.data[...] = backend_array(np.full(2, 1.0 + seed), device)
    return net


def grads(net):
    return {k: None if p.grad is None else p.grad.numpy().copy() for k, p in net.named_parameters()}


def check_ddp(device, rank, size, fails):
    rng = np.random.default_rng(7)
    X, Y = rng.standard_normal((4 * size, 3)), rng.standard_normal((4 * size, 2))
    mine = slice(4 * rank, 4 * rank + 4)

    net = make(device, seed=rank)                      # a different start on every rank
    nn.parallel.DistributedDataParallel(net)._reducer.remove_hooks()   # only the broadcast, checked here
    ref = make(device, seed=0)                         # rank 0's start: what the broadcast must give
    for (k, p), (_, q) in zip(net.named_parameters(), ref.named_parameters()):
        if not np.array_equal(p.numpy(), q.numpy()):
            fails.append(f"DDP construction: {k} is not rank 0's")
    if not np.array_equal(net.scale.numpy(), ref.scale.numpy()):
        fails.append("DDP construction: the buffer is not rank 0's")

    def loss(model, rows, **kw):
        x, y = mt.tensor(X[rows], device=device), mt.tensor(Y[rows], device=device)
        return ((model(x, **kw) - y) ** 2).mean()

    ref.spare.requires_grad_(False)                    # (spare takes no part in these steps)
    net.spare.requires_grad_(False)
    ddp = nn.parallel.DistributedDataParallel(net)     # rebuilt: spare is frozen, no unused parameter
    loss(ddp, mine).backward()                         # the gradients are averaged when this returns
    loss(ref, slice(None)).backward()                  # one process, the whole batch
    compare("DDP step", grads(net), grads(ref), fails)

    for m in (net, ref):
        m.zero_grad()
    half = [slice(4 * rank, 4 * rank + 2), slice(4 * rank + 2, 4 * rank + 4)]
    with ddp.no_sync():
        loss(ddp, half[0]).backward()
    local = grads(net)
    loss(ddp, half[1]).backward()
    firsts = np.concatenate([np.arange(4 * r, 4 * r + 2) for r in range(size)])
    seconds = firsts + 2
    loss(ref, firsts).backward()
    loss(ref, seconds).backward()
    compare("DDP no_sync accumulation", grads(net), grads(ref), fails)
    solo = make(device, seed=0)
    solo.spare.requires_grad_(False)
    loss(solo, half[0]).backward()
    if not all(np.allclose(local[k], v) for k, v in grads(solo).items() if v is not None):
        fails.append("DDP no_sync: the gradient inside was not the rank's own")

    ddp._reducer.remove_hooks()                        # (a parameter's hooks call every wrapper made of it)
    net.spare.requires_grad_(True)
    strict = nn.parallel.DistributedDataParallel(net)
    net.zero_grad()
    try:
        loss(strict, mine).backward()
        fails.append("DDP: an unused parameter did not raise")
    except RuntimeError as e:
        if "spare.weight" not in str(e) or "find_unused_parameters=True" not in str(e):
            fails.append(f"DDP unused parameter message: {e}")
    net.zero_grad()
    loss(strict, mine, use_spare=True).backward()      # the next step (every parameter used) works
    strict._reducer.remove_hooks()
    loose = nn.parallel.DistributedDataParallel(net, find_unused_parameters=True)
    net.zero_grad()
    loss(loose, mine, use_spare=rank == 0).backward()  # spare: used on rank 0 only
    g = grads(net)
    ref_full = make(device, seed=0)
    for (k, p), (_, q) in zip(ref_full.named_parameters(), net.named_parameters()):
        p.data[...] = q.data
    loss(ref_full, mine, use_spare=True).backward()
    want = grads(ref_full)
    all_g = [None] * size
    dist.all_gather_object(all_g, {k: v.tolist() for k, v in want.items() if k.startswith("spare")})
    for k in ("spare.weight", "spare.bias"):
        expect = np.array(all_g[0][k]) / size          # rank 0's gradient, averaged with rank 1's zeros
        if g[k] is None or not np.allclose(g[k], expect, rtol=1e-12, atol=1e-14):
            fails.append(f"find_unused_parameters: {k} {g[k]} against {expect}")
    net.zero_grad()
    loss(loose, mine).backward()                       # spare used by no rank: its .grad stays None
    if grads(net)["spare.weight"] is not None:
        fails.append("find_unused_parameters: a parameter no rank used got a gradient")


def compare(name, got, want, fails):
    for k, v in want.items():
        if (v is None) != (got[k] is None) or (v is not None and not np.allclose(got[k], v, rtol=1e-12, atol=1e-14)):
            fails.append(f"{name}: {k}: {got[k]} against {v}")


if __name__ == "__main__":
    device = sys.argv[1]
    dist.init_process_group("gloo")
    rank, size = dist.get_rank(), dist.get_world_size()
    fails = [] if size == 2 else [f"world size {size}"]
    check_collectives(device, rank, size, fails)
    check_ddp(device, rank, size, fails)
    reports = [None] * size
    dist.all_gather_object(reports, fails)
    if rank == 0:
        print(json.dumps(reports), flush=True)
    dist.destroy_process_group()
