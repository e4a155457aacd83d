"""``save_on_cpu`` on a GPT block on the fake device: the device memory its graph holds after forward,
with and without, and what moved to the host.

    python benchmarks/saved_tensors_memory.py                       # B 8, T 128, C 128, 4 heads
    python benchmarks/saved_tensors_memory.py --batch-size 4 --block-size 256 --n-embd 256

The fake device's arrays wrap NumPy buffers, so the device memory alive at a moment is the total
size of the distinct buffers behind the live fake-device arrays (found through the garbage
collector; views share their base's buffer). Measured right after forward, minus what was alive
before it (the block's parameters, the input): what the graph keeps for backward. Host bytes are
the NumPy buffers the packed values hold. Also: the host <-> device copies counted by the fake
device, the forward + backward time of each variant (median of ``--iters``), and whether the
gradients are the same.
"""
from __future__ import annotations

import argparse
import gc
import json
import statistics
import time

import numpy as np

import minitf as mt
from minitf import fakedevice, nn
from minitf.autograd.graph import save_on_cpu
from minitf.fakedevice import FakeDeviceArray


def _buffer(a):
    a = a._a if type(a) is FakeDeviceArray else a
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def device_bytes() -> int:
    """Bytes of the distinct buffers behind every live fake-device array."""
    gc.collect()
    seen = {}
    for o in gc.get_objects():
        if type(o) is FakeDeviceArray:
            b = _buffer(o)
            seen[id(b)] = b.nbytes
    return sum(seen.values())


def host_bytes_packed(out) -> int:
    """Bytes of the host buffers the graph's packed values hold (save_on_cpu's copies)."""
    seen, stack, nodes = {}, [out], set()
    while stack:
        t = stack.pop()
        fn = t._fn
        if fn is None or id(fn) in nodes:
            continue
        nodes.add(id(fn))
        for _, _, _, items in fn.__dict__.get("_saved_packed", ()):
            for v in items:
                host = getattr(v, "value", None)
                if host is not None:
                    b = _buffer(host[1].data)
                    seen[id(b)] = b.nbytes
        stack.extend(fn.inputs)
    return sum(seen.values())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--block-size", type=int, default=128, help="sequence length T")
    p.add_argument("--n-embd", type=int, default=128)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--iters", type=int, default=5, help="timed forward + backward passes per variant")
    p.add_argument("--json", help="also write the results here")
    args = p.parse_args(argv)
    mt.manual_seed(0)
    block = nn.TransformerBlock(args.n_embd, args.n_head).to("fake")
    rng = np.random.default_rng(0)
    x = mt.tensor(rng.standard_normal((args.batch_size, args.block_size, args.n_embd)).astype(np.float32),
                  device="fake", requires_grad=True)

    def forward(offload: bool):
        if offload:
            with save_on_cpu():
                return block(x)
        return block(x)

    def zero_grads():
        x.grad = None
        for q in block.parameters():
            q.grad = None

    variants = (("plain", False), ("save_on_cpu", True))
    res, grads = {}, {}
    for name, offload in variants:
        zero_grads()
        base = device_bytes()
        with fakedevice.count_host_transfers() as fwd:
            y = forward(offload)
        held = device_bytes() - base
        host = host_bytes_packed(y)
        with fakedevice.count_host_transfers() as bwd:
            y.sum().backward()
        grads[name] = [x.grad.numpy()] + [q.grad.numpy() for q in block.parameters()]
        del y
        res[name] = {"device_mib_held": held / 2**20, "host_mib_packed": host / 2**20,
                     "to_host": fwd["to_host"], "to_device": bwd["to_device"]}
    times = {name: [] for name, _ in variants}
    for _ in range(args.iters):   # alternated, so that a busy machine slows both alike
        for name, offload in variants:
            t0 = time.perf_counter()
            forward(offload).sum().backward()
            times[name].append(time.perf_counter() - t0)
    for name in times:
        res[name]["step_ms"] = 1e3 * statistics.median(times[name])
    same = all(np.array_equal(a, b) for a, b in zip(grads["plain"], grads["save_on_cpu"]))
    print(f"TransformerBlock C {args.n_embd}, {args.n_head} heads, batch {args.batch_size} x T {args.block_size}, "
          f"float32 on the fake device")
    print(f"{'':14s}{'device MiB held':>16s}{'host MiB':>10s}{'to host':>9s}{'to device':>10s}{'fwd+bwd ms':>12s}")
    for k, r in res.items():
        print(f"{k:14s}{r['device_mib_held']:16.2f}{r['host_mib_packed']:10.2f}{r['to_host']:9d}"
              f"{r['to_device']:10d}{r['step_ms']:12.1f}")
    saved = 1 - res["save_on_cpu"]["device_mib_held"] / res["plain"]["device_mib_held"]
    print(f"device memory held for backward: {saved:.0%} less under save_on_cpu; gradients equal: {same}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": vars(args), "results": res, "gradients_equal": same}, f, indent=1)
    return res


if __name__ == "__main__":
    main()
