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
    assert ("the activations a batch keeps for backward (batch_size x block_size x n_embd = 20,000 x 16 x 16"
            in line and "use a smaller --batch-size" in line)
    assert not out.exists()  # refused before anything was written
    monkeypatch.setenv("MINITF_SKIP_MEMORY_CHECK", "1")
    train.memory.check_fits(train.make_config(batch_size=20000, block_size=16, n_layer=1, n_head=2, n_embd=16),
                            30, 1000)  # no error: the check is off


def test_a_data_file_larger_than_the_memory_is_refused_before_it_is_read(tmp_path, env, capsys, monkeypatch):
    """A sparse file eight times the memory available: the size is weighed first (reading it would
    exhaust the memory before the check ran); the reader is made to fail here, so that a
    regression fails this test instead of filling the machine's memory."""
    from minitf import data
    avail, source = train.memory.available_memory("cpu")
    if avail is None:
        pytest.skip(f"this system does not say: {source}")
    big = tmp_path / "huge.txt"
    try:
        with open(big, "wb") as f:
            f.truncate(8 * avail)
    except OSError as e:
        pytest.skip(f"no sparse file of {train.memory.gib(8 * avail)} here: {e}")
    monkeypatch.setattr(data, "read_text", lambda path: pytest.fail(f"{path} was read before the check"))
    out = tmp_path / "run"
    _, _, err = main_of("train_charlm.py", ["--data", str(big), "--out-dir", str(out), *TINY_FLAGS,
                                            "--max-iters", "2"], capsys, check=2)
    line = one_line_error(err)
    assert line.startswith(f"error: out of memory: the --data file {big} is {train.memory.gib(8 * avail)}, ")
    assert "use a smaller --data file" in line and f"available ({source})" in line
    assert not out.exists()
    # the bound is a lower one: a small file is let through to be weighed exactly once read
    small = tmp_path / "small.txt"
    small.write_text("hello world\n" * 100, encoding="utf-8")
    train.memory.check_file_fits(train.make_config(data=str(small)), str(small))
    monkeypatch.setattr(train.memory, "available_memory", lambda device="cpu": (2 * 2**20, "as the test says"))
    with pytest.raises(train.ConfigError, match="the --data file .* is 2 MiB"):
        with open(small, "wb") as f:
            f.truncate(2 * 2**20)
        train.memory.check_file_fits(train.make_config(), str(small))


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
    first = proc.stderr.readline()   # said at once, before the step ends
    assert first == "stopping after this step (saving ckpt.npz); press Ctrl-C again to abort without saving\n"
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


def test_sigterm_saves_at_a_step_boundary_and_exits_143(corpus_file, tmp_path, env):
    """A scheduler's SIGTERM (preemption, time limit, `kill`) was the default kill (status -15): all
    since the last eval lost. It is a Ctrl-C now: saved at the step boundary, exit 128 + 15."""
    cut = tmp_path / "cut"
    proc = subprocess.Popen([sys.executable, str(ROOT / "examples" / "train_charlm.py"), "--data", str(corpus_file),
                             *TINY_FLAGS, "--eval-interval", "1000", "--log-interval", "1", "--max-iters", "100000",
                             "--out-dir", str(cut)], env={**env, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("iter 15/"):
            break
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    at = checkpoint.load_training(cut / train.CHECKPOINT_NAME).meta["iter"]
    assert 15 <= at < 1000
    assert err.startswith("terminated (SIGTERM): stopping after this step (saving ckpt.npz)\n")
    assert f"terminated at iter {at}. The checkpoint (saved at the interruption, iter {at})" in err
    assert "Traceback" not in err


def test_sigterm_while_setting_up_is_143_without_a_traceback(corpus_file, tmp_path, env, capsys, monkeypatch):
    """Before the loop (the corpus read, a checkpoint loaded) SIGTERM had its default: status -15."""
    from minitf import data
    real = data.load_corpus

    def load_corpus(*a, **k):
        os.kill(os.getpid(), signal.SIGTERM)   # arrives here, in the main thread, as a scheduler's would
        return real(*a, **k)
    monkeypatch.setattr(data, "load_corpus", load_corpus)
    _, _, err = main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(tmp_path / "o"),
                                            *TINY_FLAGS, "--max-iters", "2"], capsys, check=143)
    assert err == "\nterminated (SIGTERM) before training started: nothing was saved, since nothing had started\n"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL   # the default is back


def test_a_stop_during_the_final_eval_stops_after_it_saved(corpus_file, tmp_path, env):
    """A Ctrl-C during the last eval (its exact pass can be long) was swallowed: the run ended with
    status 0 and its sample. It stops after the eval now, with the eval's checkpoint saved."""
    from .test_train import cfg
    trainer = None

    def log(line):
        if line.startswith("iter 12: train loss"):   # the final eval's line: the eval is done
            trainer.request_stop("asked")
    trainer = train.Trainer(cfg(corpus_file, tmp_path / "run", max_iters=12, eval_interval=10), log=log)
    with pytest.raises(train.TrainingInterrupted) as e:
        trainer.run()
    assert (e.value.reason, e.value.iter, e.value.saved, e.value.signum) == ("asked", 12, True, None)
    ck = checkpoint.load_training(tmp_path / "run" / train.CHECKPOINT_NAME)
    assert ck.meta["iter"] == 12 and "final_val_loss" in ck.meta["last_eval"]
    assert not (tmp_path / "run" / "samples.txt").exists()
    assert train.stopping.exit_status(e.value) == 130


# ---------------------------------------------------------------- settings that were silently ignored
def test_gpt_only_flags_with_a_recurrent_model_are_errors(corpus_file, tmp_path, env, capsys):
    for flag in (["--n-head", "4"], ["--checkpoint-blocks"]):
        _, _, err = main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(tmp_path / "o"),
                                                "--model", "lstm", "--max-iters", "2", *flag], capsys, check=2)
        assert f"{flag[0]} is a GPT setting: --model lstm" in one_line_error(err)
    # --no-checkpoint-blocks asks for what an LSTM does anyway (the review's was refused naming
    # --checkpoint-blocks): a no-op, accepted
    main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(tmp_path / "n"), "--model", "lstm",
                                "--n-layer", "1", "--n-embd", "16", "--block-size", "16", "--batch-size", "4",
                                "--eval-iters", "1", "--sample-chars", "0", "--no-progress", "--max-iters", "2",
                                "--no-checkpoint-blocks"], capsys, check=0)


def test_ctrl_c_while_importing_is_quiet(monkeypatch, capsys):
    """A Ctrl-C in the first tenths of a second (the imports) gave a traceback and status -2."""
    import builtins
    import runpy

    from .test_train import ROOT
    real = builtins.__import__

    def interrupted(name, *a, **k):
        if name == "minitf":
            raise KeyboardInterrupt
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", interrupted)
    with pytest.raises(SystemExit) as e:
        runpy.run_path(str(ROOT / "examples" / "train_charlm.py"), run_name="__main__")
    assert e.value.code == 130 and capsys.readouterr().err == \
        "\ninterrupted before training started: nothing was saved, since nothing had started\n"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL   # the script's start-up handler is gone


def test_a_decay_shorter_than_the_warmup_is_an_error(corpus_file, tmp_path, env, capsys):
    args = ["--data", str(corpus_file), "--out-dir", str(tmp_path / "o"), *TINY_FLAGS]   # warmup 5
    _, _, err = main_of("train_charlm.py", [*args, "--max-iters", "10", "--lr-decay-iters", "0"], capsys, check=2)
    line = one_line_error(err)
    assert "--lr-decay-iters 0 is below the warmup (5 iterations)" in line
    assert "and the lr would drop to --min-lr right after it" in line
    # a short run whose decay follows --max-iters is not an error (it gets a note about its warmup)
    _, out, _ = main_of("train_charlm.py", [*args, "--max-iters", "3"], capsys, check=0)
    assert "shorter than its warmup" in out


def test_progress_and_eval_lines_of_an_iteration_show_the_same_lr(corpus_file, tmp_path, env, capsys):
    _, out, _ = main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(tmp_path / "o"), *TINY_FLAGS,
                                            "--max-iters", "20", "--eval-interval", "10", "--log-interval", "5"],
                        capsys, check=0)
    lr = {}
    for line in out.splitlines():
        if line.startswith("iter 10/20:") or line.startswith("iter 10:"):
            lr[line.split(":")[0]] = line.split(", lr ")[1].split(",")[0]
    assert len(lr) == 2 and lr["iter 10/20"] == lr["iter 10"], lr


def test_sample_refuses_a_bad_seed_and_an_impossible_length(corpus_file, tmp_path, env, capsys):
    out = tmp_path / "run"
    train.Trainer(train.make_config(out_dir=str(out), data=str(corpus_file), max_iters=1, eval_interval=1,
                                    n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=4, eval_iters=1,
                                    progress=False, sample_chars=0), log=lambda s: None).run()
    for args, message in ((["--seed", "-1"], "--seed must be in [0, 2**63), got -1"),
                          (["--num-chars", "100000000000"], "--num-chars must be in [0, 10,000,000]")):
        with pytest.raises(SystemExit) as e:
            main_of("sample.py", ["--out-dir", str(out), *args], capsys)
        assert e.value.code == 2 and message in capsys.readouterr().err
    # a directory with no run (sample.py before any training): says how to make one
    _, _, err = main_of("sample.py", ["--out-dir", str(tmp_path / "none")], capsys, check=2)
    assert err == (f"error: no checkpoint at {tmp_path / 'none' / train.CHECKPOINT_NAME}; train a model there first: "
                   f"python examples/train_charlm.py --out-dir {tmp_path / 'none'}\n")


# ---------------------------------------------------------------- the benchmarks' command lines
BENCHMARKS = ["benchmark.py", "checkpoint_memory.py", "device_ops.py", "dist_throughput.py", "engine_overhead.py",
              "gpu_check.py", "optimizer_step.py", "profile_step.py", "race_pytorch.py"]


def bench(script, *args):
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})


def options_without_help(help_text: str) -> list:
    """The options of an argparse --help whose entry has no description."""
    lines = help_text.split("options:", 1)[1].splitlines()
    missing = []
    for i, line in enumerate(lines):
        if not line.startswith("  -"):
            continue
        described = "  " in line.strip() or (i + 1 < len(lines) and lines[i + 1].startswith(" " * 8)
                                             and not lines[i + 1].lstrip().startswith("-"))
        if not described and not line.strip().startswith("-h, --help"):
            missing.append(line.strip())
    return missing


@pytest.mark.parametrize("script", BENCHMARKS)
def test_every_benchmark_option_says_what_it_does(script):
    p = bench(script, "--help")
    if p.returncode and "No module named 'torch'" in p.stderr:
        pytest.skip("needs torch")
    assert p.returncode == 0, p.stderr
    assert options_without_help(p.stdout) == []


def test_device_ops_counts_a_step_by_phase_and_the_flat_optimizer_makes_fewer():
    def counts(*args):
        p = bench("device_ops.py", "--preset", "baby", *args)
        assert p.returncode == 0, p.stderr
        rows = dict(line.split() for line in p.stdout.splitlines()[2:] if len(line.split()) == 2)
        return {k: int(v) for k, v in rows.items()}
    flat, loop = counts(), counts("--foreach", "0")
    assert set(flat) == {"forward", "loss", "backward", "clip", "step", "zero_grad", "total"}
    assert flat["total"] == sum(v for k, v in flat.items() if k != "total")
    assert flat["forward"] == loop["forward"] > 0 and flat["step"] < loop["step"] / 2


def test_benchmark_help_texts_are_whole():
    assert "alternated round by round" in bench("engine_overhead.py", "--help").stdout   # not cut at "compared"
    assert "--train-iters 4 \\\n" in bench("gpu_check.py", "--help").stdout            # the example's line break


@pytest.mark.parametrize("script,args,message", [
    ("checkpoint_memory.py", ["--n-head", "3"], "--n-embd (128) must be a multiple of --n-head (3)"),
    ("checkpoint_memory.py", ["--iters", "0"], "--iters must be at least 1"),
    ("dist_throughput.py", ["--preset", "foo"], "invalid choice: 'foo'"),
    ("dist_throughput.py", ["--rounds", "0"], "--rounds must be at least 1"),
    ("dist_throughput.py", ["--overlap", "--bucket-mib", "0"], "--bucket-mib must be positive, got 0.0"),
    ("engine_overhead.py", ["--rounds", "0"], "--rounds must be at least 1"),
    ("race_pytorch.py", ["--preset", "small", "--n-embd", "50"], "--n-embd (50) must be a multiple of the small preset's 6 heads"),
    ("race_pytorch.py", ["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    ("optimizer_step.py", ["--rounds", "0"], "--rounds and --steps must be at least 1"),
])
def test_a_bad_benchmark_setting_is_an_error_not_a_traceback(script, args, message):
    p = bench(script, *args)
    assert p.returncode == 2 and message in p.stderr and "Traceback" not in p.stderr, p.stderr
