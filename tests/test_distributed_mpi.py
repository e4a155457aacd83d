"""Data-parallel training on 2 real MPI ranks (``mpiexec -n 2``) against one process.

Skipped where mpi4py or mpiexec is absent (``pip install -e ".[dist]"`` brings both).
Each case starts one short job (a second or two).
"""
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from minitf import checkpoint

ROOT = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("mpi_worker.py")
MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
                                reason='needs mpi4py and mpiexec (pip install -e ".[dist]")')


def _run(n, *args, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", MINITF_NUM_THREADS="1",
               MINITF_OFFLINE="1")
    cmd = ([MPIEXEC, "-n", str(n)] if n > 1 else []) + [sys.executable, *map(str, args)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def _state(out_dir):
    ck = checkpoint.load_training(Path(out_dir) / "ckpt.npz")
    return ck.model_state, ck.meta


def _assert_same_run(a, b):
    (sa, ma), (sb, mb) = _state(a), _state(b)
    assert ma["iter"] == mb["iter"]
    assert sa.keys() == sb.keys()
    for k in sa:    # float32 sums in another order: equal to rounding, not bit for bit
        np.testing.assert_allclose(sa[k], sb[k], rtol=2e-5, atol=2e-6, err_msg=k)
    ea, eb = ma["last_eval"], mb["last_eval"]
    for k in ("train_loss", "val_loss", "final_val_loss"):
        if k in eb:
            assert ea[k] == pytest.approx(eb[k], rel=1e-5), k
    assert ea.get("final_val_tokens") == eb.get("final_val_tokens")


@pytest.mark.parametrize("device", ["cpu", "fake"])
def test_two_ranks_step_as_one_process(tmp_path, device):
    """Two ranks with the global batch B take the step one process takes with B, evals included."""
    one, two = tmp_path / "one", tmp_path / "two"
    r = _run(2, WORKER, "train", two, device, 1)
    assert r.returncode == 0, r.stderr
    r = _run(1, WORKER, "train", one, device, 1)
    assert r.returncode == 0, r.stderr
    _assert_same_run(two, one)
    init = _state(tmp_path / "one")[0]
    assert init  # the step moved the parameters away from a fresh model's (checked below)
    r = _run(1, WORKER, "train", tmp_path / "zero", device, 0)
    assert r.returncode == 0, r.stderr
    moved = _state(tmp_path / "zero")[0]
    assert any(not np.allclose(moved[k], init[k]) for k in init)


def test_two_ranks_resume(tmp_path):
    """Interrupted at iter 2 and resumed on 2 ranks to iter 4 = one process straight to iter 4."""
    two, one = tmp_path / "two", tmp_path / "one"
    for args in (("train", two, "cpu", 2), ("train", two, "cpu", 4, "resume")):
        r = _run(2, WORKER, *args)
        assert r.returncode == 0, r.stderr
    r = _run(1, WORKER, "train", one, "cpu", 4)
    assert r.returncode == 0, r.stderr
    _assert_same_run(two, one)


def test_two_ranks_resume_with_dropout_is_exact(tmp_path):
    """With dropout, each rank has its own generator; all are saved, so resuming changes nothing."""
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    for out, steps in ((straight, [4]), (resumed, [2, 4])):
        for i, n in enumerate(steps):
            r = _run(2, WORKER, "train", out, "cpu", n, *(["resume"] if i else []), "dropout")
            assert r.returncode == 0, r.stderr
    (sa, ma), (sb, mb) = _state(straight), _state(resumed)
    assert len(ma["rng"]["minitf_ranks"]) == 2 and ma["rng"]["minitf_ranks"][0] != ma["rng"]["minitf_ranks"][1]
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


@pytest.mark.parametrize("n, device", [(2, "cpu"), (3, "cpu"), (2, "fake")])
def test_overlapped_average_is_the_blocking_one(n, device):
    """On real ranks (Iallreduce started from the hooks inside backward): bit for bit the blocking
    average, with a tied weight, a parameter no rank uses and one only rank 0 uses, 5 buckets."""
    r = _run(n, WORKER, "overlap", device, timeout=60)
    assert r.returncode == 0, r.stderr
    reports = json.loads(r.stdout.strip().splitlines()[-1])
    assert sorted(e["rank"] for e in reports) == list(range(n))
    for e in reports:
        assert e["max_diff"] == 0.0 and e["buckets"] == [5, 5]
        assert e["ranks_agree"] and e["unused_zero"] and e["rank0_nonzero"]


@pytest.mark.parametrize("device", ["cpu", "fake"])
def test_frozen_and_unfrozen_parameters_as_ddp(device):
    """A parameter that does not require grad gets no gradient (it had zeros, and AdamW's decay
    moved it), in both modes; one unfrozen after wrapping gets the rank mean in both (the
    overlapped mode gave it zeros: its bucket started before backward reached it); frozen again
    and unfrozen, the same. Each step's gradients: blocking == overlapped, on every rank."""
    r = _run(2, WORKER, "freeze", device, timeout=60)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout.strip().splitlines()[-1])
    assert rep["ranks_agree"]
    for mode in ("blocking", "overlap"):
        steps = rep[mode]
        assert steps[0]["a"] == [None, False]                      # frozen: no .grad, not moved
        assert steps[2]["c"] == [None, False]
        for step, trained in enumerate([("b", "c"), ("a", "b", "c"), ("a", "b"), ("a", "b", "c")]):
            for k in trained:
                g, moved = steps[step][k]
                assert moved and np.abs(np.array(g)).max() > 0, (mode, step, k)
    for sb, so in zip(rep["blocking"], rep["overlap"]):
        for k in sb:
            if sb[k][0] is None:
                assert so[k][0] is None
            else:
                np.testing.assert_array_equal(sb[k][0], so[k][0], err_msg=k)


def test_overlapped_training_is_the_blocking_one(tmp_path):
    """The training job's data-parallel strategy with overlap=True takes the same steps."""
    for name, extra in (("blocking", ()), ("overlap", ("overlap",))):
        r = _run(2, WORKER, "train", tmp_path / name, "cpu", 2, *extra)
        assert r.returncode == 0, r.stderr
    (sa, ma), (sb, mb) = _state(tmp_path / "blocking"), _state(tmp_path / "overlap")
    assert ma["iter"] == mb["iter"] == 2 and sa.keys() == sb.keys()
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


def test_a_rank_that_raises_stops_the_job(tmp_path):
    t0 = time.monotonic()
    r = _run(2, WORKER, "raise", timeout=60)
    assert time.monotonic() - t0 < 60
    assert r.returncode == 1
    assert "rank 1 of 2: Traceback" in r.stderr and "ValueError: rank one cannot go on" in r.stderr


def test_a_rank_that_is_killed_stops_the_job():
    t0 = time.monotonic()
    r = _run(2, WORKER, "die", timeout=60)
    assert time.monotonic() - t0 < 60
    assert r.returncode != 0


@pytest.mark.parametrize("device", ["cpu", "fake"])
def test_sigterm_to_one_rank_stops_all_at_one_step_saved(tmp_path, device):
    """SIGTERM to rank 1 alone, in step 2: every rank stops after that step, ckpt.npz holds iter 3
    (no eval there), and resuming gives the run that was never stopped, bit for bit."""
    stopped, straight = tmp_path / "stopped", tmp_path / "straight"
    r = _run(2, WORKER, "sigterm", stopped, device, 2)
    assert r.returncode == 0, r.stderr
    ranks = [json.loads(Path(f"{stopped}.rank{k}.json").read_text()) for k in range(2)]
    assert ranks == [{"rank": 0, "iter": 3, "saved": True, "reason": "terminated (on another rank)", "status": 143},
                     {"rank": 1, "iter": 3, "saved": True, "reason": "terminated", "status": 143}]
    assert _state(stopped)[1]["iter"] == 3
    r = _run(2, WORKER, "train", stopped, device, 8, "resume")
    assert r.returncode == 0, r.stderr
    r = _run(2, WORKER, "sigterm", straight, device, -1)
    assert r.returncode == 0, r.stderr
    assert [json.loads(Path(f"{straight}.rank{k}.json").read_text())["finished"] for k in range(2)] == [True, True]
    (sa, ma), (sb, mb) = _state(stopped), _state(straight)
    assert ma["iter"] == mb["iter"] == 8
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


def test_cli_sigterm_to_mpiexec_saves_the_step_once(tmp_path):
    """mpiexec forwards SIGTERM to every rank: one line says the run stops, all ranks stop at one step,
    ckpt.npz is saved there (no eval falls on it), and the status is 143."""
    text = tmp_path / "t.txt"
    text.write_text("to be or not to be, that is the question\n" * 200)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", MINITF_NUM_THREADS="1", MINITF_OFFLINE="1")
    cmd = [MPIEXEC, "-n", "2", sys.executable, str(ROOT / "examples" / "train_charlm.py"), "--data", str(text),
           "--out-dir", str(tmp_path / "o"), "--max-iters", "1000000", "--eval-interval", "1000000",
           "--n-layer", "1", "--n-embd", "16", "--n-head", "2", "--block-size", "16", "--batch-size", "4",
           "--eval-iters", "1", "--sample-chars", "0", "--no-progress", "--log-interval", "20"]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        for line in p.stdout:          # training has started: past the first eval's checkpoint
            if line.startswith("iter 40/"):
                break
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == 143, err
    lines = err.strip().splitlines()
    assert lines.count("terminated (SIGTERM): stopping after this step (saving ckpt.npz)") == 1, err
    it = int(lines[-1].split("terminated at iter ")[1].split(".")[0])
    assert 40 < it and f"(saved at the interruption, iter {it})" in lines[-1], err
    assert checkpoint.load_training(tmp_path / "o" / "ckpt.npz").meta["iter"] == it


def test_cli_batch_that_does_not_divide(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("to be or not to be, that is the question\n" * 200)
    r = _run(2, ROOT / "examples" / "train_charlm.py", "--data", text, "--out-dir", tmp_path / "o",
             "--batch-size", "7", "--max-iters", "1", "--no-progress", timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert lines == ["error: batch_size 7 (the global batch) does not divide over 2 processes: use a multiple of 2"]


def test_cli_overlap_comm(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("to be or not to be, that is the question\n" * 200)
    r = _run(2, ROOT / "examples" / "train_charlm.py", "--data", text, "--out-dir", tmp_path / "o", "--overlap-comm",
             "--max-iters", "2", "--n-layer", "1", "--n-embd", "16", "--n-head", "2", "--block-size", "16",
             "--batch-size", "4", "--eval-iters", "1", "--sample-chars", "0", "--no-progress", timeout=120)
    assert r.returncode == 0, r.stderr
    assert "data parallel: 2 processes, each computing 2 of the 4 blocks of every batch, gradients sent during " \
           "backward" in r.stdout
    assert checkpoint.load_training(tmp_path / "o" / "ckpt.npz").meta["iter"] == 2
