"""nanoGPT's train.py, as written for PyTorch, runs to completion on minitf (``import torch`` is
minitf): from scratch with a checkpoint, then resumed from it. The corpus is a few hundred
random tokens made here (train.bin / val.bin / meta.pkl, as nanoGPT's prepare.py writes them).
Where torch is installed the same script also runs on torch, so it stays a torch program."""
import json
import os
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest


HERE = os.path.join(os.path.dirname(__file__), "nanogpt_port")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = dict(max_iters=6, eval_interval=3, eval_iters=2, batch_size=4, block_size=16, n_layer=2, n_head=2,
            n_embd=16, gradient_accumulation_steps=2)


def make_run_dir(tmp_path):
    """train.py, model.py and a tiny corpus of 11 symbols in tmp_path."""
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    rng.integers(0, 11, 400).astype(np.uint16).tofile(data / "train.bin")
    rng.integers(0, 11, 100).astype(np.uint16).tofile(data / "val.bin")
    with open(data / "meta.pkl", "wb") as f:
        pickle.dump({"vocab_size": 11}, f)
    shutil.copy(os.path.join(HERE, "model.py"), tmp_path)
    shutil.copy(os.path.join(HERE, "train.py"), tmp_path)   # as nanoGPT wrote it (`data[i:i+bs] for i in ix`)
    return tmp_path


def run(tmp_path, lib, **overrides):
    if lib == "torch":
        overrides.setdefault("compile", False)   # torch's inductor takes a minute to compile; minitf's is a no-op
    cmd = [sys.executable, "train.py", json.dumps({**TINY, **overrides})]
    if lib == "minitf":
        cmd[1:1] = [os.path.join(HERE, "run_as_torch.py")]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def losses(stdout):
    return [float(line.split("loss ")[1].split(",")[0]) for line in stdout.splitlines() if line.startswith("iter ")]


# on torch: two imports of torch and its thread pools, ~30 s on a shared 2-core machine
@pytest.mark.parametrize("lib", ["minitf", pytest.param("torch", marks=pytest.mark.slow)])
def test_train_py_from_scratch_then_resumed(tmp_path, lib):
    if lib == "torch":
        pytest.importorskip("torch")
    run_dir = make_run_dir(tmp_path)
    first = run(run_dir, lib)
    trace = losses(first.stdout)
    assert len(trace) == 7 and all(np.isfinite(trace))                 # iterations 0..6
    assert trace[-1] < np.log(11)                                      # learnt below uniform guessing
    assert "saving checkpoint to out" in first.stdout and (run_dir / "out" / "ckpt.pt").exists()
    # float16 is nanoGPT's CPU default dtype: its GradScaler (for "cuda") warned and disabled itself
    assert "GradScaler is enabled, but CUDA is not available" in first.stderr
    resumed = run(run_dir, lib, init_from="resume", max_iters=8)
    assert "Resuming training from out" in resumed.stdout
    assert [line.split(":")[0] for line in resumed.stdout.splitlines() if line.startswith("iter ")] == \
        [f"iter {i}" for i in range(6, 9)]                             # continues at the saved iter_num 6
    assert all(np.isfinite(losses(resumed.stdout)))
