"""DataParallel(overlap=True) without MPI: the buckets' allreduces start from the parameters'
post-accumulate-grad hooks during backward, in bucket order (reverse parameter order), and the
result is bit for bit the blocking average_gradients(), with a tied weight, a parameter no rank
uses and one only rank 0 uses, gradient accumulation under no_sync(). Ranks are threads (the
collectives of tests/test_distributed.py); the same on real MPI ranks is tests/test_distributed_mpi.py."""
import gc

import numpy as np
import pytest

import minitf as mt
from minitf import backend, distributed as dist, tensor_hooks

from .test_distributed import ThreadComm, ThreadWorld, _run_ranks


class DeferredComm(ThreadComm):
    """The nonblocking allreduce as an MPI rank sees it: the sum lands only at wait()."""

    def iallreduce_(self, buf):
        self.world.calls.append(("start", self.rank, buf.size))
        return dist.Request(buf, lambda: self.allreduce_(buf))


class EagerComm(ThreadComm):
    """The sum made at the start (inside backward, where the hooks call it): a rank waits there
    for the others, as a blocking collective would."""

    def iallreduce_(self, buf):
        return dist.Request(self.allreduce_(buf))


def _params(device, seed=0):
    rng = np.random.default_rng(seed)
    shapes = {"unused": (3,), "emb": (6, 4), "w1": (4, 4), "b1": (4,), "rank0": (4,), "w2": (4, 4)}
    return {k: mt.tensor(rng.standard_normal(s), dtype=mt.float64, device=device, requires_grad=True)
            for k, s in shapes.items()}


def _loss(P, rank, seed):
    """emb is tied (the lookup and the output projection); "unused" takes no part; "rank0" only on rank 0."""
    idx = mt.tensor(np.random.default_rng(100 + 10 * rank + seed).integers(0, 6, 5), device=P["emb"].device)
    h = (P["emb"][idx] @ P["w1"] + P["b1"]).tanh()
    if rank == 0:
        h = h * P["rank0"]
    logits = (h @ P["w2"]) @ P["emb"].T
    return (logits * logits).mean()


def _grads(P):
    return {k: None if p.grad is None else backend.to_numpy(p.grad.data).copy() for k, p in P.items()}


@pytest.mark.parametrize("comm_type", [DeferredComm, EagerComm])
@pytest.mark.parametrize("size", [2, 3])
def test_overlapped_equals_blocking(device, comm_type, size):
    world = ThreadWorld(size)

    def rank(r):
        out = {}
        for overlap in (False, True):
            P = _params(device)
            dp = dist.DataParallel(list(P.values()) + [P["emb"]], comm_type(world, r), bucket_bytes=100,
                                   overlap=overlap)
            grads = []
            _loss(P, r, 0).backward()
            dp.average_gradients()
            grads.append(_grads(P))
            with dp.no_sync():                      # two passes accumulate, the second one syncs
                _loss(P, r, 1).backward()
            _loss(P, r, 2).backward()
            dp.average_gradients()
            grads.append(_grads(P))
            out[overlap] = grads, len(dp.buckets), dp.steps
            dp.remove_hooks()
        return out

    results = _run_ranks(size, rank)
    for r in range(size):
        blocking, overlapped = results[r][False], results[r][True]
        assert blocking[1:] == overlapped[1:] and blocking[1] > 2 and blocking[2] == 2
        for gb, go in zip(blocking[0], overlapped[0]):
            assert gb.keys() == go.keys()
            for k in gb:
                np.testing.assert_array_equal(gb[k], go[k], err_msg=k)   # the same arithmetic
        np.testing.assert_array_equal(blocking[0][0]["unused"], 0)       # zeros from every rank
        assert np.abs(blocking[0][0]["rank0"]).max() > 0
        for step in range(2):                                             # the ranks agree
            for k in blocking[0][step]:
                np.testing.assert_array_equal(results[0][True][0][step][k], overlapped[0][step][k])


class Recorder(dist.SingleProcess):
    """Two ranks with the same gradients: the sum is twice this one's. Notes what each start saw."""

    size = 2

    def __init__(self, P):
        self.P, self.log = P, []

    def allreduce_(self, buf):
        self.log.append(("blocking", buf.size))
        buf *= 2
        return buf

    def iallreduce_(self, buf):
        self.log.append(("start", buf.size, self.P["emb"].grad is None))

        def finish():
            self.log.append(("wait", buf.size))
            buf[...] *= 2
        return dist.Request(buf, finish)


def test_buckets_start_during_backward_in_reverse_parameter_order(device):
    P = _params(device)
    del P["unused"]                                 # every bucket can become ready
    comm = Recorder(P)
    dp = dist.DataParallel(list(P.values()), comm, bucket_bytes=100, overlap=True)
    sizes = [b.numel for b in dp.buckets]
    assert [p for p, _, _ in dp.buckets[0].slots][0] is P["w2"]          # the last parameter first
    assert [p for p, _, _ in dp.buckets[-1].slots][-1] is P["emb"]
    _loss(P, 1, 0).backward()                       # rank 1's graph: "rank0" gets no gradient
    starts = [e for e in comm.log if e[0] == "start"]
    assert starts and starts[0] == ("start", sizes[0], True)   # sent while emb's gradient was still to come
    assert len(starts) < len(sizes)                 # the bucket holding "rank0" waits, and those after it
    before = {k: p.grad.numpy().copy() for k, p in P.items() if p.grad is not None}
    assert "rank0" not in before
    dp.average_gradients()
    assert [e[1] for e in comm.log if e[0] == "start"] == sizes      # all, in bucket order
    assert [e[1] for e in comm.log if e[0] == "wait"] == sizes
    assert not any(e[0] == "blocking" for e in comm.log)
    for k, g in before.items():
        np.testing.assert_array_equal(P[k].grad.numpy(), g)   # the mean of two equal gradients
    np.testing.assert_array_equal(P["rank0"].grad.numpy(), 0)
    assert dp.steps == 1 and dp.comm_s >= 0
    dp.remove_hooks()


def test_a_second_backward_without_no_sync_is_refused():
    P = _params("cpu")
    dp = dist.DataParallel(list(P.values()), Recorder(P), bucket_bytes=100, overlap=True)
    _loss(P, 0, 0).backward()
    with pytest.raises(RuntimeError, match="twice before average_gradients.*no_sync"):
        _loss(P, 0, 1).backward()
    dp.remove_hooks()


def test_hooks_only_where_they_act_and_removed():
    gc.collect()
    active = tensor_hooks.active
    P = _params("cpu")
    frozen = mt.tensor(np.ones(3))                  # requires no grad: no hook, in no bucket
    dist.DataParallel(list(P.values()), dist.SingleProcess(), overlap=True)   # one rank: nothing to do
    assert tensor_hooks.active == active
    dp = dist.DataParallel(list(P.values()) + [frozen], Recorder(P), overlap=True)
    assert tensor_hooks.active == active + len(P)   # one hook per parameter that gets a gradient
    dp.remove_hooks()
    assert tensor_hooks.active == active
    _loss(P, 0, 0).backward()
    dp.average_gradients()                          # without hooks: every bucket started at the wait
    assert frozen.grad is None                      # as DDP: no gradient for it, so no optimizer moves it
    assert P["w1"].grad is not None


def test_the_first_bucket_is_small_with_the_default_size_as_ddp():
    params = [mt.zeros(2**17, dtype=mt.float32, requires_grad=True) for _ in range(6)]   # 512 KiB each
    blocking = dist.DataParallel(params, Recorder({}), overlap=False)
    overlapped = dist.DataParallel(params, Recorder({}), overlap=True)
    assert [len(b.slots) for b in blocking.buckets] == [6]
    assert [len(b.slots) for b in overlapped.buckets] == [2, 4]      # 1 MiB first, then up to 25 MiB
    assert overlapped.buckets[0].slots[0][0] is params[-1]
    overlapped.remove_hooks()
    explicit = dist.DataParallel(params, Recorder({}), bucket_bytes=2**20 + 1, overlap=True)
    assert [len(b.slots) for b in explicit.buckets] == [2, 2, 2]     # a size given is every bucket's
    explicit.remove_hooks()


def test_requests_and_the_progress_pokes_during_backward():
    buf = np.ones(3)
    assert dist.SingleProcess().iallreduce_(buf).test() and dist.SingleProcess().iallreduce_(buf).wait() is buf
    polls, done = [], []
    r = dist.Request(buf, lambda: done.append(1), lambda: polls.append(1) or False)
    assert r.test() is False and polls == [1] and not done
    assert r.wait() is buf and done == [1] and r.test()      # finished: no more polling
    assert polls == [1]

    class Polled(Recorder):
        def iallreduce_(self, buf):
            self.log.append(("start", buf.size))
            return dist.Request(buf, lambda: buf.__imul__(2), lambda: self.log.append(("poll",)) or False)

    P = _params("cpu")
    del P["unused"]
    comm = Polled(P)
    dp = dist.DataParallel(list(P.values()), comm, bucket_bytes=100, overlap=True)
    _loss(P, 0, 0).backward()
    kinds = [e[0] for e in comm.log]
    assert kinds[0] == "start" and "poll" in kinds     # in flight while backward went on: moved on by tests
    dp.average_gradients()
    dp.remove_hooks()


@pytest.mark.parametrize("comm_type", [DeferredComm, EagerComm])
def test_frozen_then_unfrozen_parameters_without_mpi(comm_type):
    """Threads for ranks: a parameter frozen at wrap time keeps .grad None in both modes; unfrozen
    later it gets the rank mean in both (overlapped, its bucket had started with zeros in it);
    frozen again, its .grad is left as it was. Blocking and overlapped agree bit for bit."""
    world = ThreadWorld(2)

    def rank(r):
        out = {}
        for overlap in (False, True):
            P = _params("cpu")
            P["w1"].requires_grad_(False)
            dp = dist.DataParallel(list(P.values()), comm_type(world, r), bucket_bytes=1, overlap=overlap)
            steps = []
            for step, change in enumerate([None, ("w1", True), ("w2", False)]):
                if change is not None:
                    P[change[0]].requires_grad_(change[1])
                for p in P.values():
                    p.grad = None
                _loss(P, r, step).backward()
                dp.average_gradients()
                steps.append(_grads(P))
            out[overlap] = steps
            dp.remove_hooks()
        return out

    results = _run_ranks(2, rank)
    for r in range(2):
        for overlap in (False, True):
            steps = results[r][overlap]
            assert steps[0]["w1"] is None and steps[2]["w2"] is None
            assert np.abs(steps[1]["w1"]).max() > 0
            for step in range(3):
                for k, g in steps[step].items():   # the rank mean: the same on both ranks
                    other = results[1 - r][overlap][step][k]
                    assert (g is None) == (other is None)
                    if g is not None:
                        np.testing.assert_array_equal(g, other, err_msg=k)
        for sb, so in zip(results[r][False], results[r][True]):
            for k in sb:
                assert (sb[k] is None) == (so[k] is None)
                if sb[k] is not None:
                    np.testing.assert_array_equal(sb[k], so[k], err_msg=k)


@pytest.mark.parametrize("comm_type", [DeferredComm, EagerComm])
def test_a_backward_that_raises_midway_leaves_no_state_for_the_next_step(device, comm_type):
    """A hook raises after the last layers' buckets started: the next, clean step averages its own
    gradients, as the blocking mode does, on every rank (ranks are threads: both raise alike)."""
    world = ThreadWorld(2)

    def rank(r):
        out = {}
        for overlap in (False, True):
            P = _params(device)
            del P["unused"]
            dp = dist.DataParallel(list(P.values()), comm_type(world, r), bucket_bytes=100, overlap=overlap)
            if overlap:
                h = (P["emb"][mt.tensor([0, 1], device=device)] @ P["w1"]).tanh()
                h.register_hook(lambda g: (_ for _ in ()).throw(ValueError("a hook failed")))
                loss = ((h @ P["w2"]) ** 2).mean()
                with pytest.raises(ValueError, match="a hook failed"):
                    loss.backward()                  # w2's gradient is in; w1's and emb's never come
                assert P["w2"].grad is not None and P["w1"].grad is None
                assert any(s is not None for s in dp._started)   # w2's bucket was sent
                for p in P.values():
                    p.grad = None                    # the user's zero_grad before the next step
            _loss(P, r, 0).backward()
            dp.average_gradients()
            out[overlap] = _grads(P)
            dp.remove_hooks()
        return out

    results = _run_ranks(2, rank)
    for r in range(2):
        blocking, overlapped = results[r][False], results[r][True]
        for k in blocking:
            np.testing.assert_array_equal(overlapped[k], blocking[k], err_msg=k)
        np.testing.assert_array_equal(results[r][True]["w1"], results[0][True]["w1"])


def test_a_failed_backward_then_average_gradients_alone_starts_clean():
    P = _params("cpu")
    del P["unused"]
    comm = Recorder(P)
    dp = dist.DataParallel(list(P.values()), comm, bucket_bytes=100, overlap=True)
    h = (P["emb"][mt.tensor([0, 1])] @ P["w1"]).tanh()
    h.register_hook(lambda g: (_ for _ in ()).throw(ValueError("a hook failed")))
    with pytest.raises(ValueError):
        ((h @ P["w2"]) ** 2).mean().backward()
    started = sum(e[0] == "start" for e in comm.log)
    assert started >= 1
    for p in P.values():
        p.grad = None
    _loss(P, 0, 0).backward()     # a clean pass: none of its parameters counts as reported twice
    dp.average_gradients()
    assert sum(e[0] == "start" for e in comm.log) == started + len(dp.buckets)
    assert sum(e[0] == "wait" for e in comm.log) == started + len(dp.buckets)   # the stale ones waited for
    assert dp.steps == 1
    dp.remove_hooks()
