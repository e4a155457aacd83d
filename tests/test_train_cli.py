"""examples/train_charlm.py and sample.py as a user meets them: memory, pipes, Ctrl-C, bad settings.

Corpora are made here (see test_train.py); nothing needs the network or Tiny Shakespeare.
"""
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from minitf import checkpoint, train

from .test_train import ROOT, TINY_FLAGS, corpus_file, env, main_of, mpl_dir  # noqa: F401  (fixtures)


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------- memory
def test_a_batch_that_cannot_fit_is_refused_before_allocating(corpus_file, tmp_path, env, capsys, monkeypatch):
    """The review's --batch-size 100000000 got the machine OOM-killed. Here the available memory is
    made small (64 MiB) so that a batch which would need about half a GiB shows the refusal safely."""
    monkeypatch.setattr(train.memory, "available_memory", lambda device="cpu": (64 * 2**20, "as the test says"))
    out = tmp_path / "run"
    _, _, err = main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(out), *TINY_FLAGS,
                                            "--batch-size", "20000", "--max-iters", "2"], capsys, check=2)
    line = one_line_error(err)
    assert line.startswith("error: out of memory: the run needs an estimated ")
    assert "more than the 64 MiB available (as the test says)" in line
    assert "the activations of a batch (batch_size x block_size = 20,000 x 16" in line and "--batch-size" in line
    assert not out.exists()  # refused before anything was written
    monkeypatch.setenv("MINITF_SKIP_MEMORY_CHECK", "1")
    train.memory.check_fits(train.make_config(batch_size=20000, block_size=16, n_layer=1, n_head=2, n_embd=16),
                            30, 1000)  # no error: the check is off


def test_available_memory_is_read_from_the_system():
    avail, source = train.memory.available_memory("cpu")
    if avail is None:
        pytest.skip(f"this system does not say: {source}")
    assert avail > 2**20 and source
    cfg = train.make_config(batch_size=10**8, block_size=16, n_layer=1, n_head=2, n_embd=16)
    with pytest.raises(train.ConfigError, match="out of memory: the run needs an estimated"):
        train.memory.check_fits(cfg, 65, 10**6)   # the review's batch: terabytes, on any machine


# ---------------------------------------------------------------- pipes
def test_piping_into_head_ends_quietly(corpus_file, tmp_path, env):
    """`train_charlm.py ... | head -2` (the review's case) and `sample.py | true`: no traceback,
    the status a closed pipe gives (141); a run whose reader goes away mid-run saves where it stopped."""
    def start(out):
        cmd = [sys.executable, str(ROOT / "examples" / "train_charlm.py"), "--data", str(corpus_file), "--out-dir",
               str(out), *TINY_FLAGS, "--max-iters", "100000", "--eval-interval", "50000", "--log-interval", "1"]
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = start(tmp_path / "head2")
    head = [proc.stdout.readline() for _ in range(2)]
    proc.stdout.close()   # what head does after its lines
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141, err
    assert head[0].startswith("corpus: ") and err == ""

    proc = start(tmp_path / "later")
    for line in proc.stdout:
        if line.startswith("iter 5/100000"):
            break
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141 and err == "", err
    ck = checkpoint.load_training(tmp_path / "later" / train.CHECKPOINT_NAME)
    assert 5 <= ck.meta["iter"] < 50000   # saved at the step boundary where the closed pipe was seen

    proc = subprocess.Popen([sys.executable, str(ROOT / "examples" / "sample.py"), "--out-dir",
                             str(tmp_path / "later"), "--num-chars", "100"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()   # gone before the sample is printed
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and "Traceback" not in err and "Exception ignored" not in err, err


# ---------------------------------------------------------------- Ctrl-C
def test_ctrl_c_saves_at_a_step_boundary_and_resumes_exactly(corpus_file, tmp_path, env, capsys):
    """SIGINT mid-run: exit 130 after saving ckpt.npz at the step boundary (not only at the last eval,
    which here is iteration 0); --resume then ends with the weights of the run never interrupted, bit
    for bit. The schedule is fixed by --lr-decay-iters, so it does not depend on --max-iters."""
    common = ["--data", str(corpus_file), *TINY_FLAGS, "--eval-interval", "1000", "--lr-decay-iters", "200",
              "--log-interval", "1"]
    cut = tmp_path / "cut"
    proc = subprocess.Popen([sys.executable, str(ROOT / "examples" / "train_charlm.py"), *common,
                             "--max-iters", "100000", "--out-dir", str(cut)], env={**env, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # a shell's background job inherits SIGINT ignored: give the child Python's default
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    for line in proc.stdout:
        if line.startswith("iter 15/"):
            break
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    at = checkpoint.load_training(cut / train.CHECKPOINT_NAME).meta["iter"]
    assert 15 <= at < 1000   # saved at the interruption: the only eval was at iteration 0
    assert f"interrupted at iter {at}. The checkpoint (saved at the interruption, iter {at})" in err
    assert "Traceback" not in err and f"--resume --out-dir {cut}" in err
    n = at + 10
    main_of("train_charlm.py", [*common, "--max-iters", str(n), "--out-dir", str(tmp_path / "full")], capsys, check=0)
    main_of("train_charlm.py", ["--resume", "--out-dir", str(cut), "--max-iters", str(n), "--no-progress"], capsys,
            check=0)
    a = checkpoint.load_training(cut / train.CHECKPOINT_NAME)
    b = checkpoint.load_training(tmp_path / "full" / train.CHECKPOINT_NAME)
    assert a.meta["iter"] == b.meta["iter"] == n
    for k in b.model_state:
        np.testing.assert_array_equal(a.model_state[k], b.model_state[k])
    assert a.meta["last_eval"]["final_val_loss"] == b.meta["last_eval"]["final_val_loss"]


def test_request_stop_saves_where_it_stops(corpus_file, tmp_path, env):
    """The library side: a stop asked for mid-step waits for the step's end, saves, raises."""
    from .test_train import cfg
    trainer = None

    def log(line):
        if line.startswith("iter 7/"):
            trainer.request_stop("asked")
    trainer = train.Trainer(cfg(corpus_file, tmp_path / "run", max_iters=40, eval_interval=100, log_interval=1,
                                sample_chars=0), log=log)
    with pytest.raises(train.TrainingInterrupted) as e:
        trainer.run()
    assert (e.value.reason, e.value.iter, e.value.saved) == ("asked", 7, True)
    assert checkpoint.load_training(tmp_path / "run" / train.CHECKPOINT_NAME).meta["iter"] == 7
