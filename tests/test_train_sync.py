"""The training loop on a device waits for it only at log points (issue 13).

On a GPU every host transfer waits for all queued work. On the strict fake
device, which counts transfers, a training step of the Trainer copies its batch
to the device once and reads nothing back, except at a log point, where one
transfer brings the loss and gradient norm of every step since the last one.
The divergence guard still names the first bad step and never lets it reach a
checkpoint. On the CPU (where a read is free) every step is checked before its
update: tests/test_train_reliability.py.
"""
import numpy as np
import pytest

import minitf as mt
from minitf import checkpoint, fakedevice, train
from minitf.train.steplog import StepLog

from .test_train import cfg, corpus_file, env, mpl_dir, quiet  # noqa: F401


def test_a_trainer_step_on_a_device_reads_back_only_at_log_points(corpus_file, tmp_path, env):
    t = train.Trainer(cfg(corpus_file, tmp_path / "run", device="fake", log_interval=4), log=quiet)
    t.strategy.prepare(t.model)
    counts, reads = [], []
    for it in range(12):
        with fakedevice.count_host_transfers() as n:
            read = t.train_step(1e-3)
        t.iter += 1
        counts.append(dict(n))
        reads.append([s.iter for s in read])
    # one copy of the batch to the device per step; one read back after steps 3, 7, 11
    assert all(c["to_device"] == 1 for c in counts), counts
    assert [c["to_host"] for c in counts] == [0, 0, 0, 1] * 3, counts
    assert reads == [[], [], [], [0, 1, 2, 3], [], [], [], [4, 5, 6, 7], [], [], [], [8, 9, 10, 11]]


def test_the_cpu_reads_every_step(corpus_file, tmp_path, env):
    t = train.Trainer(cfg(corpus_file, tmp_path / "run", log_interval=4), log=quiet)
    assert t.steps.every == 1
    read = t.train_step(1e-3)
    assert [s.iter for s in read] == [0] and np.isfinite(read[0].loss) and read[0].norm > 0


def test_a_device_run_logs_at_the_same_iterations_as_a_cpu_run(corpus_file, tmp_path, env):
    """Reading later changes what is printed, not what is computed: progress lines at the same
    iterations with the same losses, and the same eval records. (Not bit-equal: the CPU's blocked
    kernels, e.g. causal attention in row blocks, round differently from the plain array ops the
    fake device runs; the steps' values are the same before and after this change on each.)"""
    lines, records = {}, {}
    for device in ("cpu", "fake"):
        lines[device] = []
        out = train.Trainer(cfg(corpus_file, tmp_path / device, device=device, max_iters=20, log_interval=5,
                                sample_chars=0), log=lines[device].append).run()
        records[device] = [r["val_loss"] for r in out["records"]]
    np.testing.assert_allclose(records["fake"], records["cpu"], rtol=1e-6)
    progress = {d: [(int(line.split()[1].split("/")[0]), float(line.split("loss ")[1].split(",")[0]))
                    for line in lines[d] if line.startswith("iter ") and "/" in line.split()[1]]
                for d in ("cpu", "fake")}
    assert [i for i, _ in progress["fake"]] == [i for i, _ in progress["cpu"]] == [5, 10, 15, 20]
    np.testing.assert_allclose([v for _, v in progress["fake"]], [v for _, v in progress["cpu"]], atol=1.5e-4)


class PoisonGradients(train.SingleProcess):
    """Turns every gradient into NaN from a given iteration on."""

    def __init__(self, at):
        self.at, self.calls = at, 0

    def reduce_gradients(self, params):
        if self.calls >= self.at:
            for p in params:
                p.grad.data[...] = np.nan
        self.calls += 1


@pytest.mark.parametrize("device, caught_after", [("cpu", 13), ("fake", 15)])
def test_the_guard_names_the_first_bad_step_and_keeps_the_checkpoint(device, caught_after, corpus_file, tmp_path,
                                                                     env):
    """Gradients go NaN at iteration 13. The CPU stops before that step's update; a device reads
    at the log point after iteration 15 and names iteration 13 too. Either way the checkpoint of
    iteration 10 is the one on disk, and its parameters are finite."""
    run = tmp_path / "run"
    t = train.Trainer(cfg(corpus_file, run, device=device, log_interval=4, sample_chars=0), log=quiet,
                      strategy=PoisonGradients(13))
    with pytest.raises(train.TrainingDiverged, match="at iter 13: the gradient norm is nan") as e:
        t.run()
    assert e.value.iter == 13 and e.value.last_checkpoint_iter == 10
    assert t.iter == caught_after
    ck = checkpoint.load_training(run / train.CHECKPOINT_NAME)
    assert ck.meta["iter"] == 10 and all(np.isfinite(a).all() for a in ck.model_state.values())


def test_an_eval_reads_the_unread_steps_first(corpus_file, tmp_path, env):
    """With a log interval longer than the eval interval, the eval at iteration 10 reads steps 8
    and 9 before it writes a checkpoint: a step that diverged there never reaches it."""
    run = tmp_path / "run"
    t = train.Trainer(cfg(corpus_file, run, device="fake", log_interval=8, sample_chars=0), log=quiet,
                      strategy=PoisonGradients(9))
    with pytest.raises(train.TrainingDiverged, match="at iter 9: the gradient norm is nan"):
        t.run()
    assert checkpoint.load_training(run / train.CHECKPOINT_NAME).meta["iter"] == 0


def test_steplog_reads_in_order_with_one_transfer():
    log = StepLog(every=3)
    values = [(mt.tensor(np.float32(v), device="fake").data, mt.tensor(np.float64(2 * v), device="fake").data)
              for v in (1.5, 2.5, 3.5)]
    due = [log.record(i, 0.1 * i, loss, norm) for i, (loss, norm) in enumerate(values)]
    assert due == [False, False, True]
    with fakedevice.count_host_transfers() as n:
        steps = log.read(lambda losses: [v / 2 for v in losses])   # as two ranks' mean of equal values' sum
    assert n["to_host"] == 1
    assert [(s.iter, s.loss, s.norm) for s in steps] == [(0, 0.75, 3.0), (1, 1.25, 5.0), (2, 1.75, 7.0)]
    assert log.read() == []


def test_an_eval_on_a_device_reads_each_estimate_once(corpus_file, tmp_path, env):
    """The loss estimate (eval_iters batches per split) and the exact validation loss each read
    their losses from the device in one transfer, not one per batch."""
    from minitf.train import evaluation
    t = train.Trainer(cfg(corpus_file, tmp_path / "run", device="fake", eval_iters=6), log=quiet)
    with fakedevice.count_host_transfers() as n:
        est = evaluation.estimate_loss(t.model, t.sampler, 6, evaluation.eval_generator(1, 0))
    assert n["to_host"] == 2 and set(est) == {"train", "val"}      # one per split
    with fakedevice.count_host_transfers() as n:
        total, count = evaluation.val_loss_sums(t.model, t.sampler, 16)
    assert n["to_host"] == 1 and count == len(t.sampler.data["val"]) - 1
    t.run_dir.unlock()


def test_resume_on_a_device_is_bit_exact_with_reads_between_evals(corpus_file, tmp_path, env):
    """Reads every 7 iterations, evals and checkpoints every 10, dropout on: 30 iterations in one
    run and 20 + 10 resumed give the same parameters, bit for bit, on the fake device."""
    settings = dict(device="fake", dropout=0.1, log_interval=7, sample_chars=0, lr_decay_iters=30)
    whole = train.Trainer(cfg(corpus_file, tmp_path / "whole", max_iters=30, **settings), log=quiet)
    whole.run()
    train.Trainer(cfg(corpus_file, tmp_path / "split", max_iters=20, **settings), log=quiet).run()
    resumed = train.Trainer(cfg(corpus_file, tmp_path / "split", max_iters=30, **settings), log=quiet, resume=True)
    resumed.run()
    for p, q in zip(whole.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
