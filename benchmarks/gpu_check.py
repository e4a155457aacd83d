r"""The GPU check: everything worth knowing about ``--device gpu``, in one offline run.

    python benchmarks/gpu_check.py RESULTS_DIR                  # on a machine with an NVIDIA GPU
    python benchmarks/gpu_check.py RESULTS_DIR --device fake --preset baby --train-iters 4 \
        --race-iters 2 --gen-tokens 15                          # a dry run of every step, no GPU

Meant for a short, metered lease of a GPU machine that has no network: it
fetches nothing and runs minitf from this working tree (``PYTHONPATH``, no
install). In order, each step with its own time limit, a failed step recorded
and the next one run (the measurements first: the test steps, whose length
depends on how many kernels CuPy must compile, come last):

1. ``env``: the GPU, driver, CUDA runtime, CuPy, NumPy and PyTorch versions;
1b. ``fused``: ``tests/test_fused_kernels.py`` on the device, to ``fused.log``: the fused
   CUDA kernels (``minitf/backend/fused.py``) against the array path;
2. ``train``: ``examples/train_charlm.py --preset small`` (``--preset``) for ``--train-iters``
   iterations on Tiny Shakespeare (``--data``, or ``$MINITF_DATA``): tokens/s
   and the losses from its ``log.jsonl``;
3. ``race``: one training iteration against PyTorch on CUDA, same model,
   weights and batches (``benchmarks/race_pytorch.py``), where PyTorch has CUDA; on the GPU
   again with ``MINITF_FUSED_KERNELS=1`` (the fused kernels, opt-in until checked there), and
   with both optimizers a loop over the tensors (``foreach=False``: what the flat update gains), and
   on tiny arrays (width 48, block 8, batch 1: the frameworks' host time per step);
4. ``profile``: ``benchmarks/profile_step.py --device <device>``: the per-op times of a
   training step, to ``profile.txt``;
5. ``generate``: 255 new tokens (``--gen-tokens``) at block 256, at the
   preset's width and depth, batch 1, with and without the key/value cache;
6. ``tests``: the device-parametrised test cases on the device
   (``MINITF_TEST_DEVICES=<device> pytest -k <device>``, in ``--test-workers``
   processes where pytest-xdist is installed), written to ``tests.log`` as they
   run, so that a run cut off by its time limit still shows how far it got;
7. ``cpu_tests``: the whole default suite on the CPU (and the fake device) under
   that machine's NumPy, to ``cpu_tests.log``.

Everything goes to ``RESULTS_DIR/gpu_check.json`` (rewritten after each step,
so a run cut short still leaves what it measured) and is printed as it comes.
The data file must travel with the tree: copy ``tinyshakespeare.txt`` into a
git-ignored folder of the checkout and pass ``--data``. The test steps need the
``test`` extra's packages; the H200 image of 2026-12 had all but sybil (which the
root conftest imports), so its wheel travels too (``pip download --no-deps sybil
-d .whl`` here, a pure-Python wheel; there ``pip install --no-index --no-deps
--target /tmp/site .whl/*.whl`` and ``PYTHONPATH=/tmp/site``: the steps keep an
inherited PYTHONPATH after this tree's root).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))              # minitf from this tree, not an installed copy
sys.path.insert(0, str(ROOT / "benchmarks"))


def step_env(device):
    import numpy as np

    import minitf as mt
    from minitf import backend
    info = {"python": platform.python_version(), "numpy": np.__version__, "minitf": mt.__version__,
            "machine": platform.machine(), "device": device}
    if device == "gpu":
        if not mt.gpu_available():
            raise RuntimeError(backend.gpu_unavailable_reason())
        gpu = backend.gpu_info()
        info.update(cupy=gpu["cupy"], gpu=gpu["name"], driver=gpu["driver"], cuda_runtime=gpu["cuda_runtime"],
                    gpu_memory_gib=round(gpu["memory_bytes"] / 2**30, 1))
    try:
        import torch
        info.update(torch=torch.__version__, torch_cuda=torch.cuda.is_available())
    except ImportError:
        info.update(torch=None)
    return info


def _env(**extra) -> dict:
    """This process's environment with this tree first on PYTHONPATH (a carried site folder stays)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path, **extra)


def _xdist_workers(wanted: int | None) -> int:
    """Test processes: ``wanted``, else up to 8 where pytest-xdist is installed (0: one process)."""
    if wanted is not None:
        return wanted
    if importlib.util.find_spec("xdist") is None:   # pytest-xdist: the GPU image has it
        return 0
    return min(8, os.cpu_count() or 1)


def step_tests(device, out: Path, timeout: int, workers: int = 0, log_name: str = "tests.log",
               tests_paths=()):
    """The device-parametrised tests on ``device`` (``cpu``: the whole default suite, CPU and fake
    cases, under this machine's NumPy), ``workers`` processes through pytest-xdist (0: one)."""
    devices, select = (("cpu,fake", []) if device == "cpu" else (device, ["-k", device]))
    # one BLAS thread per worker: 16 workers of 16 OpenBLAS threads each ran the CPU suite at a
    # quarter of its speed (the first H200 run)
    threads = {v: "1" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")} if workers else {}
    env = _env(MINITF_TEST_DEVICES=devices, **threads)
    # -v: each test's outcome is a line as it happens, so a run cut off by its limit still names
    # its failures (-q's summary comes only at the end); -rf lists them again at the end
    cmd = [sys.executable, "-m", "pytest", "-v", "--tb=short", "-rf", "-p", "no:cacheprovider", *select]
    cmd += ["-n", str(workers)] if workers else []
    cmd += tests_paths or ([] if device == "cpu" else ["tests"])
    t0 = time.perf_counter()
    log = out / log_name
    timed_out = False
    with open(log, "w") as f:  # written as the tests run: a cut-off run keeps its progress
        try:
            returncode = subprocess.run(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT,
                                        timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            returncode, timed_out = None, True
    lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    failed = sorted({next(w for w in ln.split() if "::" in w) for ln in lines
                     if "FAILED" in ln.split() and any("::" in w for w in ln.split())})
    passed = sum(" PASSED " in f" {ln} " for ln in lines)
    return {"returncode": returncode, "timed_out": timed_out, "workers": workers, "passed": passed,
            "failed": failed, "summary": lines[-1] if lines else "", "wall_s": time.perf_counter() - t0}


def step_profile(device, preset: str, out: Path, timeout: int):
    """benchmarks/profile_step.py on the device: per-op times of a training step, to profile.txt."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "profile_step.py"), "--device", device, "--preset", preset,
           "--steps", "3", "--warmup", "2", "--top", "25"]
    p = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True,
                       text=True, timeout=timeout)
    (out / "profile.txt").write_text(p.stdout + p.stderr)
    if p.returncode != 0:
        raise RuntimeError(f"profile_step.py exited {p.returncode}: {(p.stderr or p.stdout).strip()[-500:]}")
    return {"per_step": next((ln for ln in p.stdout.splitlines() if ln.startswith("per step")), "")}


def step_train(device, preset: str, out: Path, iters: int, data: str | None, timeout: int):
    # the run's checkpoints stay outside RESULTS_DIR (a lease brings back a few small files)
    run_dir = Path(tempfile.mkdtemp(prefix="gpu_check_train_"))
    cmd = [sys.executable, str(ROOT / "examples" / "train_charlm.py"), "--device", device, "--preset", preset,
           "--max-iters", str(iters), "--eval-interval", str(max(iters // 3, 1)), "--eval-iters", "20",
           "--out-dir", str(run_dir), "--overwrite", "--no-progress"]
    if data:
        cmd += ["--data", data]
    try:
        return _train(cmd, run_dir, out, iters, timeout)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _train(cmd, run_dir: Path, out: Path, iters: int, timeout: int):
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)
        output, returncode, timed_out = p.stdout + p.stderr, p.returncode, False
    except subprocess.TimeoutExpired as e:   # keep what the cut-off run logged
        output = "".join(x.decode(errors="replace") if isinstance(x, bytes) else (x or "") for x in (e.stdout, e.stderr))
        returncode, timed_out = None, True
    (out / "train.log").write_text(output)
    if returncode not in (0, None) or not (run_dir / "log.jsonl").exists():
        raise RuntimeError(f"train_charlm.py exited {returncode}: {output.strip()[-500:]}")
    log_text = (run_dir / "log.jsonl").read_text()
    (out / "log.jsonl").write_text(log_text)
    records = [json.loads(ln) for ln in log_text.splitlines() if ln.strip()]
    speeds = [r["tokens_per_s"] for r in records if r.get("tokens_per_s")]
    last = records[-1] if records else {}
    return {"iters": iters, "timed_out": timed_out, "iters_done": last.get("iter"), "tokens_per_s": max(speeds) if speeds else None,
            "tokens_per_s_median": statistics.median(speeds) if speeds else None,
            "train_loss": last.get("train_loss"), "val_loss": last.get("val_loss"),
            "wall_s": time.perf_counter() - t0}


def step_race(device, preset: str, iters: int):
    import torch
    if device == "gpu" and not torch.cuda.is_available():
        raise RuntimeError("PyTorch here has no CUDA device")
    from race_pytorch import race

    def run(keys=None, **options):   # the race, or its entries ``keys``
        r = race(preset, iters=iters, warmup=3, threads=os.cpu_count() or 1, device=device, **options)
        return r if keys is None else {k: r[k] for k in keys}

    result = run()
    if device == "gpu":   # again with the fused kernels (minitf/backend/fused.py, opt-in): what they gain
        timing = ("minitf_ms", "torch_ms", "ratio", "max_loss_diff")
        os.environ["MINITF_FUSED_KERNELS"] = "1"
        try:
            result["fused_kernels"] = run(timing)
        finally:
            del os.environ["MINITF_FUSED_KERNELS"]
        # and both optimizers a loop over the tensors (foreach=False, the 2026-12-04 run's PyTorch setting):
        # what minitf's flat AdamW (minitf/optim/multi_tensor.py) gains (its clipping has no loop form left)
        result["per_tensor_optimizer"] = run(timing, foreach=False)
        # the same ops on tiny arrays: each framework's host time per step (the GPU idles), to set
        # beside the CPU's (docs/performance.md) and the full step's
        result["tiny_arrays"] = run(("minitf_ms", "torch_ms", "ratio", "shape"),
                                    shape=dict(n_embd=48, block_size=8, batch_size=1))
    return result


def step_generate(device, preset: str, new_tokens: int):
    import numpy as np

    import minitf as mt
    from minitf import backend
    from minitf.models import GPT, GPTConfig
    from race_pytorch import PRESETS
    cfg = PRESETS[preset]
    mt.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=65, block_size=new_tokens + 1, n_layer=cfg["n_layer"], n_head=cfg["n_head"],
                          n_embd=cfg["n_embd"], dropout=0.0, bias=False)).to(device)
    model.eval()
    prompt = mt.tensor(np.zeros((1, 1), dtype=np.int64), device=device)
    result = {"new_tokens": new_tokens, "block_size": new_tokens + 1, "preset_width": preset}
    for use_cache in (True, False, True):  # the first cached run also warms up the kernels
        t0 = time.perf_counter()
        out = model.generate(prompt, new_tokens, temperature=0.0, use_cache=use_cache)
        backend.synchronize(device)
        result["cache" if use_cache else "no_cache"] = {"s": time.perf_counter() - t0,
                                                        "tokens_per_s": new_tokens / (time.perf_counter() - t0)}
        result.setdefault("tokens", {})[str(use_cache)] = out.numpy()[0].tolist()
    result["same_tokens"] = result["tokens"]["True"] == result["tokens"]["False"]
    del result["tokens"]
    result["speedup"] = result["no_cache"]["s"] / result["cache"]["s"]
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", metavar="RESULTS_DIR", help="where gpu_check.json and the logs go")
    ap.add_argument("--device", choices=["gpu", "fake"], default="gpu",
                    help="gpu (default), or fake: a dry run of every step on the strict fake device")
    ap.add_argument("--data", metavar="FILE", default=None,
                    help="tinyshakespeare.txt (default: the library's lookup, $MINITF_DATA first)")
    ap.add_argument("--preset", choices=["baby", "small"], default="small",
                    help="model of the train, race and generate steps (default small)")
    ap.add_argument("--train-iters", type=int, default=300, help="training iterations (default 300)")
    ap.add_argument("--gen-tokens", type=int, default=255, help="tokens to generate (default 255, block 256)")
    ap.add_argument("--race-iters", type=int, default=20, help="timed iterations of the race (default 20)")
    ap.add_argument("--test-workers", type=int, default=None, metavar="N",
                    help="pytest-xdist processes for the test steps (default: up to 8 where xdist is installed)")
    ap.add_argument("--skip", action="append", default=[],
                    choices=["fused", "train", "race", "profile", "generate", "tests", "cpu_tests"],
                    help="leave out a step (repeatable)")
    args = ap.parse_args(argv)
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    workers = _xdist_workers(args.test_workers)
    results = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "argv": sys.argv[1:]}
    steps = [("env", lambda: step_env(args.device)),
             # the fused CUDA kernels (opt-in) against the array path, first: they decide the default
             ("fused", lambda: step_tests(args.device, out, timeout=90, log_name="fused.log",
                                          tests_paths=["tests/test_fused_kernels.py"])),
             # time limits that keep the whole check inside about 8 minutes of a metered lease
             ("train", lambda: step_train(args.device, args.preset, out, args.train_iters, args.data, timeout=160)),
             ("race", lambda: step_race(args.device, args.preset, args.race_iters)),
             ("profile", lambda: step_profile(args.device, args.preset, out, timeout=60)),
             ("generate", lambda: step_generate(args.device, args.preset, args.gen_tokens)),
             ("tests", lambda: step_tests(args.device, out, timeout=190, workers=workers)),
             # the whole CPU suite under the machine's NumPy (a newer one than CI's, as a rule)
             ("cpu_tests", lambda: step_tests("cpu", out, timeout=75, workers=(os.cpu_count() or 1) if workers else 0,
                                              log_name="cpu_tests.log"))]
    failed = False
    for name, run in steps:
        if name in args.skip:
            continue
        t0 = time.perf_counter()
        try:
            results[name] = run()
        except Exception as e:  # record and go on: one broken step must not cost the others
            results[name] = {"error": f"{type(e).__name__}: {e}"}
            failed = True
        results[name]["step_s"] = round(time.perf_counter() - t0, 2)
        print(f"[{name}] {json.dumps(results[name], default=str)}", flush=True)
        (out / "gpu_check.json").write_text(json.dumps(results, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
