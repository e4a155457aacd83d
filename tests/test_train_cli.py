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
