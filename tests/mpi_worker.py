"""Run by tests/test_distributed_mpi.py under ``mpiexec -n N`` (and once without it, as the reference).

    python tests/mpi_worker.py train OUT_DIR DEVICE MAX_ITERS [resume] [dropout]
    python tests/mpi_worker.py overlap DEVICE
    python tests/mpi_worker.py raise
    python tests/mpi_worker.py sigterm OUT_DIR DEVICE AT
    python tests/mpi_worker.py die

``train``: a tiny GPT on a corpus made here, through the library (Trainer with
the data-parallel strategy when there is more than one rank; ``overlap``: its
overlapped mode, with small buckets). ``overlap``: the gradients of a small
model with a tied weight, a parameter no rank uses and one only rank 0 uses,
averaged by blocking and by overlapped DataParallel; prints the largest
difference. ``raise``: rank 1
raises while rank 0 waits in a collective; the job must end, not hang. ``die``:
rank 1 is killed (SIGKILL), the same. ``sigterm``: rank 1 alone gets SIGTERM during
step AT of a run to iter 8 that evaluates at 0 and 8 only; each rank writes OUT_DIR.rank<R>.json, where
it stopped.
"""
import sys

import numpy as np

from minitf import data, distributed, train

TINY = dict(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=8, lr=3e-3, min_lr=3e-4, warmup_iters=2,
            lr_decay_iters=4,  # fixed: a resumed run keeps its saved schedule
            eval_iters=2, sample_chars=0, progress=False)


def corpus():
    words = ["the", "king", "queen", "and", "of", "to", "my", "lord", "good", "night", "sweet", "prince"]
    text = " ".join(np.random.default_rng(0).choice(words, size=3000))
    return data.Corpus(text, "words", "made by tests/mpi_worker.py")


def run_train(out_dir, device, max_iters, resume, dropout, overlap=False):
    comm = distributed.init()
    strategy = None
    if comm.size > 1:   # small buckets: the tiny model's gradients travel in several
        strategy = train.DataParallelStrategy(comm, bucket_bytes=4096, overlap=overlap)
    if resume:
        cfg = train.resume_config(out_dir, max_iters=max_iters)
    else:
        cfg = train.make_config("baby", device=device, out_dir=out_dir, max_iters=max_iters,
                                eval_interval=2, dropout=0.2 if dropout else 0.0, **TINY)
    with distributed.abort_on_error(comm):
        train.Trainer(cfg, resume=resume, overwrite=not resume, corpus=corpus(), log=lambda *a: None,
                      strategy=strategy).run()


def run_overlap(device):
    import json
    import minitf as mt
    comm = distributed.init()
    rank = comm.rank

    def loss(P, step):
        idx = mt.tensor(np.random.default_rng(100 + 10 * rank + step).integers(0, 6, 5), device=device)
        h = (P["emb"][idx] @ P["w1"] + P["b1"]).tanh()
        if rank == 0:
            h = h * P["rank0"]
        logits = (h @ P["w2"]) @ P["emb"].T              # emb tied: the lookup and the output
        return (logits * logits).mean()

    grads = {}
    for overlap in (False, True):
        rng = np.random.default_rng(0)
        P = {k: mt.tensor(rng.standard_normal(s), dtype=mt.float64, device=device, requires_grad=True)
             for k, s in (("unused", (3,)), ("emb", (6, 4)), ("w1", (4, 4)), ("b1", (4,)), ("rank0", (4,)),
                          ("w2", (4, 4)))}
        dp = distributed.DataParallel(list(P.values()) + [P["emb"]], comm, bucket_bytes=100, overlap=overlap)
        out = []
        for step in range(3):
            loss(P, step).backward()
            dp.average_gradients()
            out.append({k: None if p.grad is None else p.grad.numpy().copy() for k, p in P.items()})
            for p in P.values():
                p.grad = None
        grads[overlap] = out, len(dp.buckets)
    (blocking, nb), (overlapped, no) = grads[False], grads[True]
    diff = max(float(np.abs(a[k] - b[k]).max()) for a, b in zip(blocking, overlapped) for k in a)
    every = comm.allgather([overlapped[-1][k].tolist() for k in sorted(overlapped[-1])])
    reports = comm.allgather({"rank": rank, "max_diff": diff, "buckets": [nb, no],
                              "ranks_agree": all(e == every[0] for e in every),
                              "unused_zero": bool((overlapped[0]["unused"] == 0).all()),
                              "rank0_nonzero": bool(np.abs(overlapped[0]["rank0"]).max() > 0)})
    if rank == 0:   # one writer: the ranks' lines would interleave
        print(json.dumps(reports), flush=True)


def run_freeze(device):
    """Freezing and unfreezing around DataParallel, blocking and overlapped, 1-element buckets:
    per step, each parameter's gradient (None stays None) and whether AdamW moved the weights."""
    import json
    import minitf as mt
    comm = distributed.init()
    rank = comm.rank
    out = {}
    for overlap in (False, True):
        rng = np.random.default_rng(0)
        P = {k: mt.tensor(rng.standard_normal(s), dtype=mt.float64, device=device, requires_grad=True)
             for k, s in (("a", (3, 3)), ("b", (3,)), ("c", (3, 3)))}
        P["a"].requires_grad_(False)                       # frozen at wrap time
        dp = distributed.DataParallel(list(P.values()), comm, bucket_bytes=1, overlap=overlap)
        opt = mt.optim.AdamW(list(P.values()), lr=0.1, weight_decay=0.1)
        steps = []
        for step, change in enumerate([None, ("a", True), ("c", False), ("c", True)]):
            if change is not None:                         # gradual unfreezing, and a freeze
                P[change[0]].requires_grad_(change[1])
            before = {k: p.numpy().copy() for k, p in P.items()}
            x = mt.tensor(np.random.default_rng(10 * rank + step).standard_normal((2, 3)), device=device)
            (((x @ P["a"] + P["b"]).tanh() @ P["c"]) ** 2).sum().backward()
            dp.average_gradients()
            opt.step()
            steps.append({k: [None if p.grad is None else p.grad.numpy().tolist(),
                              bool((p.numpy() != before[k]).any())] for k, p in P.items()})
            opt.zero_grad()
        out[overlap] = steps
    every = comm.allgather(out[True])
    if rank == 0:
        print(json.dumps({"blocking": out[False], "overlap": out[True],
                          "ranks_agree": all(e == every[0] for e in every)}), flush=True)


def run_die():
    import os
    import signal
    comm = distributed.init()
    if comm.rank == 1:
        os.kill(os.getpid(), signal.SIGKILL)   # dies without a word: mpiexec must end the job
    comm.sum_floats([1.0])


def run_raise():
    comm = distributed.init()
    with distributed.abort_on_error(comm):
        if comm.rank == 1:
            raise ValueError("rank one cannot go on")
        comm.sum_floats([1.0])       # rank 0 waits here for a partner that never comes


def run_sigterm(out_dir, device, at):
    import json
    import os
    import signal
    comm = distributed.init()
    cfg = train.make_config("baby", device=device, out_dir=out_dir, max_iters=8, eval_interval=8, **TINY)
    trainer = train.Trainer(cfg, overwrite=True, corpus=corpus(), log=lambda *a: None,
                            strategy=train.DataParallelStrategy(comm, bucket_bytes=4096))
    step = trainer.train_step

    def train_step(lr):
        if comm.rank == 1 and trainer.iter == at:
            os.kill(os.getpid(), signal.SIGTERM)     # a signal to one rank only, in the middle of a step
        return step(lr)

    trainer.train_step = train_step
    try:
        trainer.run()
        result = {"rank": comm.rank, "finished": True}
    except train.TrainingInterrupted as e:
        result = {"rank": comm.rank, "iter": e.iter, "saved": e.saved, "reason": e.reason,
                  "status": train.stopping.exit_status(e)}
    # a file per rank, not stdout, where mpiexec could interleave the two ranks' lines
    with open(f"{out_dir}.rank{comm.rank}.json", "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    if sys.argv[1] == "train":
        run_train(sys.argv[2], sys.argv[3], int(sys.argv[4]), "resume" in sys.argv[5:], "dropout" in sys.argv[5:],
                  "overlap" in sys.argv[5:])
    elif sys.argv[1] == "overlap":
        run_overlap(sys.argv[2])
    elif sys.argv[1] == "freeze":
        run_freeze(sys.argv[2])
    elif sys.argv[1] == "sigterm":
        run_sigterm(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "die":
        run_die()
    else:
        run_raise()
