"""Data-parallel throughput on this machine: 1 and 2 MPI ranks against 1 process with 2 BLAS threads.

    python benchmarks/dist_throughput.py                  # baby preset, 3 rounds, prints a table
    python benchmarks/dist_throughput.py --preset small --iters 3 --rounds 2
    mpiexec -n 2 python benchmarks/dist_throughput.py --worker train      # one configuration by hand
    mpiexec -n 2 python benchmarks/dist_throughput.py --worker allreduce  # MPI allreduce time vs size
    python benchmarks/dist_throughput.py --worker train --preset small --device gpu   # T_c on one GPU
    python benchmarks/dist_throughput.py --overlap --bucket-mib 1   # 2 ranks: blocking vs overlapped average

The driver starts each configuration as its own job, alternating them in
rounds (a machine busy with other work then slows all of them alike):

* ``1 rank, 1 thread``:  ``OPENBLAS_NUM_THREADS=1 MINITF_NUM_THREADS=1 python ...``
* ``2 ranks, 1 thread each``: the same under ``mpiexec -n 2``
* ``1 rank, 2 threads``: ``OPENBLAS_NUM_THREADS=2 MINITF_NUM_THREADS=2 python ...``

With ``--overlap`` the driver alternates 2-rank jobs instead: the blocking
gradient average, the overlapped one (``DataParallel(overlap=True)``: each
bucket's allreduce starts during backward), and the overlapped one with MPICH's
asynchronous progress thread (``MPIR_CVAR_ASYNC_PROGRESS=1``: without it MPICH
moves a nonblocking collective on only inside MPI calls). ``--bucket-mib`` sets
the bucket size of every job (default: the library's, 25 MiB, with the
overlapped mode's first bucket of 1 MiB); there the ``allreduce ms`` column is
the time the step spent starting the collectives and waiting for them.

A ``train`` worker runs the training loop's step (forward, backward, the
gradient average, clipping, AdamW) on Tiny Shakespeare batches (or a made-up
text when the corpus is absent: the speed is the same) with the preset's
global batch, and reports the median step time, tokens per second (global
batch x block / step time) and the time the gradient allreduce took per step
(which includes waiting for the slower rank). The ``allreduce`` worker times
``MPI_Allreduce`` of flat float32 buffers of several sizes after a barrier:
its latency and bandwidth feed the cost model in docs/distributed.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = [("1 rank, 1 thread", 1, 1), ("2 ranks, 1 thread each", 2, 1), ("1 rank, 2 threads", 1, 2)]
OVERLAP_CONFIGS = [("2 ranks, blocking", 2, 1, [], {}), ("2 ranks, overlapped", 2, 1, ["--overlap"], {}),
                   ("2 ranks, overlapped, async progress", 2, 1, ["--overlap"], {"MPIR_CVAR_ASYNC_PROGRESS": "1"})]


def worker_train(args):
    from minitf import backend, data, distributed, train
    comm = distributed.init()
    try:
        corpus = data.load_corpus(None, progress=False, log=lambda *a: None)
    except data.DataError:
        corpus = data.Corpus("".join(chr(97 + i % 26) for i in range(200_000)), "letters", "made up")
    comm.bind_device(args.device)
    cfg = train.make_config(args.preset, device=args.device, out_dir=f"/tmp/minitf-dist-bench-{os.getpid()}", progress=False,
                            sample_chars=0)
    strategy = None
    if comm.size > 1:   # timed on a GPU too
        bucket = distributed.DEFAULT_BUCKET_BYTES if args.bucket_mib is None else int(args.bucket_mib * 2**20)
        strategy = train.DataParallelStrategy(comm, bucket_bytes=bucket, time_comm=True, overlap=args.overlap)
    trainer = train.Trainer(cfg, corpus=corpus, log=lambda *a: None, overwrite=True, strategy=strategy)
    trainer.strategy.prepare(trainer.model)
    for _ in range(args.warmup):
        trainer.train_step(cfg.lr)
    comm0 = strategy.reducer.comm_s if strategy else 0.0
    times = []
    for _ in range(args.iters):
        comm.barrier()                 # every step starts together: the step time is the job's
        t0 = time.perf_counter()
        trainer.train_step(cfg.lr)
        backend.synchronize(cfg.device)   # queued GPU work belongs to the step
        times.append(time.perf_counter() - t0)
    allreduce = (strategy.reducer.comm_s - comm0) / args.iters if strategy else 0.0
    times = comm.allgather(times)
    step = statistics.median(max(ts) for ts in zip(*times))   # the slowest rank sets the pace
    if comm.rank == 0:
        print(json.dumps({"worker": "train", "preset": args.preset, "ranks": comm.size, "overlap": args.overlap,
                          "async_progress": os.environ.get("MPIR_CVAR_ASYNC_PROGRESS") == "1",
                          "threads": os.environ.get("OPENBLAS_NUM_THREADS"), "step_ms": 1e3 * step,
                          "tokens_per_s": cfg.batch_size * cfg.block_size / step,
                          "allreduce_ms": 1e3 * allreduce,
                          "grad_mib": sum(p.data.nbytes for p in trainer.model.parameters()) / 2**20,
                          "buckets": len(strategy.reducer.buckets) if strategy else 0}))
    shutil.rmtree(cfg.out_dir, ignore_errors=True)


def worker_allreduce(args):
    from minitf import distributed
    comm = distributed.init(required=True)
    out = []
    for n in (1, 2**10, 2**14, 2**17, 2**19, 2**20, 2**21, 2**23):   # float32 elements: 4 B .. 32 MiB
        buf = np.ones(n, dtype=np.float32)
        reps = 20 if n <= 2**20 else 5
        ts = []
        for _ in range(reps):
            comm.barrier()
            t0 = time.perf_counter()
            comm.allreduce_(buf)
            ts.append(time.perf_counter() - t0)
        out.append({"bytes": 4 * n, "ms": 1e3 * statistics.median(ts)})
    if comm.rank == 0:
        print(json.dumps({"worker": "allreduce", "ranks": comm.size, "results": out}))


def machine() -> dict:
    """Where and when the driver ran: the record that goes into --json (the table is only as good as it)."""
    import datetime
    import platform
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                                    text=True, cwd=ROOT).stdout.strip())
    except OSError:
        commit, dirty = None, None
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="utf-8")
                if line.startswith("model name")), platform.processor()) if os.path.exists("/proc/cpuinfo") \
        else platform.processor()
    return {"date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": " ".join([Path(sys.argv[0]).as_posix()] + sys.argv[1:]), "commit": commit,
            "uncommitted_changes": dirty, "cpu": cpu, "usable_cores": len(os.sched_getaffinity(0)),
            "platform": platform.platform(), "python": platform.python_version(), "numpy": np.__version__}


def run_config(ranks, threads, worker_args, env_extra=None):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), MINITF_NUM_THREADS=str(threads),
               PYTHONPATH=str(ROOT), **(env_extra or {}))
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
    cmd = ([mpiexec, "-n", str(ranks)] if ranks > 1 else []) + [sys.executable, __file__, *worker_args]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if r.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return {**json.loads(r.stdout.strip().splitlines()[-1]), "load_average_1min_after": os.getloadavg()[0]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", choices=["train", "allreduce"], help="run one measurement in this job")
    p.add_argument("--preset", choices=["baby", "small"], default="baby",
                   help="the training preset whose step is timed (default baby)")
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu",
                   help="train worker: cpu or gpu (the driver's table is for cpu; default cpu)")
    p.add_argument("--iters", type=int, default=20, help="timed steps per configuration and round (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first, in each job (default 3)")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds of the three configurations (default 3)")
    p.add_argument("--json", help="driver: also write every result here")
    p.add_argument("--overlap", action="store_true",
                   help="driver: alternate 2-rank jobs, blocking vs overlapped gradient average (see above); "
                        "train worker: the overlapped one")
    p.add_argument("--bucket-mib", type=float, default=None, metavar="X",
                   help="gradient bucket size in MiB (default: the library's, 25)")
    args = p.parse_args(argv)
    for name in ("iters", "rounds"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if args.warmup < 0:
        p.error(f"--warmup must be >= 0, got {args.warmup}")
    if args.bucket_mib is not None and args.bucket_mib <= 0:
        p.error(f"--bucket-mib must be positive, got {args.bucket_mib}")
    if args.worker == "train":
        return worker_train(args)
    if args.worker == "allreduce":
        return worker_allreduce(args)

    wargs = ["--worker", "train", "--preset", args.preset, "--iters", str(args.iters), "--warmup", str(args.warmup)]
    if args.bucket_mib is not None:
        wargs += ["--bucket-mib", str(args.bucket_mib)]
    # (name, ranks, threads, extra worker arguments, extra environment)
    configs = OVERLAP_CONFIGS if args.overlap else [(n, r, t, [], {}) for n, r, t in CONFIGS]
    record = {**machine(), "load_average_1_5_15min_before": list(os.getloadavg())}
    results = {c[0]: [] for c in configs}
    for _ in range(args.rounds):
        for name, ranks, threads, extra, env in configs:
            results[name].append(run_config(ranks, threads, wargs + extra, env))
    ar = None if args.overlap else run_config(2, 1, ["--worker", "allreduce"])
    print(f"preset {args.preset}: {args.rounds} rounds x {args.iters} steps; median over rounds")
    width = max(len(c[0]) for c in configs) + 2
    print(f"{'configuration':{width}s}{'step ms':>9s}{'tokens/s':>10s}{'allreduce ms':>14s}   per round (tokens/s)")
    for name, *_ in configs:
        rs = results[name]
        med = lambda k: statistics.median(r[k] for r in rs)  # noqa: E731
        print(f"{name:{width}s}{med('step_ms'):9.1f}{med('tokens_per_s'):10,.0f}{med('allreduce_ms'):14.2f}   "
              + ", ".join(f"{r['tokens_per_s']:,.0f}" for r in rs))
    for name, ranks, *_ in configs:
        if ranks > 1:
            print(f"{name}: gradients {results[name][0]['grad_mib']:.2f} MiB in {results[name][0]['buckets']} "
                  f"bucket(s)")
    print("load average 1 min after each job: " + ", ".join(f"{r['load_average_1min_after']:.1f}"
                                                         for rs in zip(*results.values()) for r in rs))
    if ar is not None:
        print("MPI_Allreduce, 2 ranks: " + ", ".join(f"{r['bytes']:,} B {r['ms']:.3f} ms" for r in ar["results"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": record, "train": results, "allreduce": ar}, f, indent=1)


if __name__ == "__main__":
    main()
