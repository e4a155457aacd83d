"""Run by tests/test_distributed_mpi.py under ``mpiexec -n N`` (and once without it, as the reference).

    python tests/mpi_worker.py train OUT_DIR DEVICE MAX_ITERS [resume] [dropout]
    python tests/mpi_worker.py raise
    python tests/mpi_worker.py die

``train``: a tiny GPT on a corpus made here, through the library (Trainer with
the data-parallel strategy when there is more than one rank). ``raise``: rank 1
raises while rank 0 waits in a collective; the job must end, not hang. ``die``:
rank 1 is killed (SIGKILL), the same.
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


def run_train(out_dir, device, max_iters, resume, dropout):
    comm = distributed.init()
    strategy = train.DataParallelStrategy(comm) if comm.size > 1 else None
    if resume:
        cfg = train.resume_config(out_dir, max_iters=max_iters)
    else:
        cfg = train.make_config("baby", device=device, out_dir=out_dir, max_iters=max_iters,
                                eval_interval=2, dropout=0.2 if dropout else 0.0, **TINY)
    with distributed.abort_on_error(comm):
        train.Trainer(cfg, resume=resume, overwrite=not resume, corpus=corpus(), log=lambda *a: None,
                      strategy=strategy).run()


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


if __name__ == "__main__":
    if sys.argv[1] == "train":
        run_train(sys.argv[2], sys.argv[3], int(sys.argv[4]), "resume" in sys.argv[5:], "dropout" in sys.argv[5:])
    elif sys.argv[1] == "die":
        run_die()
    else:
        run_raise()
