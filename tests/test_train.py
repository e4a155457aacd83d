"""End to end: the training library and examples/train_charlm.py on a small corpus made here.

No test needs the network or Tiny Shakespeare: corpora are written to tmp
directories and MINITF_OFFLINE / HOME / XDG_CACHE_HOME point away from the machine's.
"""
import builtins
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minitf as mt
from minitf import backend, checkpoint, data, train
from minitf.checkpoint import CheckpointError

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(n_layer=1, n_head=2, n_embd=16, block_size=16, batch_size=8, lr=3e-3, min_lr=3e-4,
            warmup_iters=5, eval_iters=4, sample_chars=40)
TINY_FLAGS = ["--n-layer", "1", "--n-head", "2", "--n-embd", "16", "--block-size", "16", "--batch-size", "8",
              "--lr", "3e-3", "--min-lr", "3e-4", "--warmup-iters", "5", "--eval-iters", "4",
              "--sample-chars", "40", "--no-progress"]


def make_text(n_words=6000, seed=0):
    words = ["the", "king", "queen", "and", "of", "to", "my", "lord", "good", "night", "sweet", "prince",
             "what", "is", "a", "man", "thou", "art", "so", "fair"]
    rng = np.random.default_rng(seed)
    out = []
    for i, w in enumerate(rng.choice(words, size=n_words)):
        out.append(w + ("\n" if i % 9 == 8 else " "))
    return "".join(out)


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "words.txt"
    path.write_text(make_text(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def mpl_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("matplotlib")


@pytest.fixture
def env(tmp_path, monkeypatch, mpl_dir):
    """Environment for subprocesses and the library: offline, empty cache, no MINITF_DATA."""
    monkeypatch.setenv("MPLCONFIGDIR", str(mpl_dir))  # one font cache for the module, not one per test
    monkeypatch.setenv("MINITF_OFFLINE", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MINITF_DATA", raising=False)
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def cfg(corpus_file, out, **kw):
    settings = {**TINY, "max_iters": 30, "eval_interval": 10, "progress": False}
    settings.update(kw)
    return train.make_config("baby", model=settings.pop("model", "gpt"), device=settings.pop("device", "cpu"),
                             out_dir=str(out), data=str(corpus_file), **settings)


def quiet(*args):
    pass


def run_cli(script, args, env, check=None):
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / script), *args], env=env,
                          capture_output=True, text=True, timeout=300)
    if check is not None:
        assert proc.returncode == check, proc.stdout + proc.stderr
    return proc


def main_of(script, args, capsys, check=None):
    """Run an example's main() in this process: (exit status, stdout, stderr)."""
    import runpy
    capsys.readouterr()
    rc = runpy.run_path(str(ROOT / "examples" / script))["main"](list(args))
    out, err = capsys.readouterr()
    if check is not None:
        assert rc == check, out + err
    return rc, out, err


def losses(records):
    return [(r["iter"], r["train_loss"], r["val_loss"], r["lr"]) for r in records]


# ---------------------------------------------------------------- configs
def test_presets_and_overrides():
    baby = train.make_config()
    assert (baby.preset, baby.n_layer, baby.n_head, baby.n_embd, baby.block_size, baby.batch_size) == \
        ("baby", 4, 4, 128, 64, 12, )
    assert (baby.max_iters, baby.lr, baby.min_lr, baby.warmup_iters, baby.lr_decay_iters) == (2000, 1e-3, 1e-4, 100, 2000)
    assert (baby.beta2, baby.weight_decay, baby.grad_clip, baby.dropout, baby.bias) == (0.99, 0.1, 1.0, 0.0, False)
    assert (baby.eval_interval, baby.eval_iters) == (250, 20)
    small = train.make_config(device="fake", preset="small")
    assert (small.n_layer, small.n_head, small.n_embd, small.block_size, small.batch_size, small.dropout,
            small.max_iters, small.eval_iters) == (6, 6, 384, 256, 64, 0.2, 5000, 200)
    assert train.make_config(device="gpu").preset == "small"  # the config alone needs no GPU
    lstm = train.make_config(model="lstm")
    assert (lstm.n_layer, lstm.n_embd) == (train.RNN_ARCH["baby"]["n_layer"], train.RNN_ARCH["baby"]["n_embd"])
    c = train.make_config(max_iters=500)
    assert c.lr_decay_iters == 500
    assert train.make_config(max_iters=500, lr_decay_iters=300).lr_decay_iters == 300
    with pytest.raises(train.ConfigError, match="multiple of n_head"):
        train.make_config(n_embd=30, n_head=4)
    with pytest.raises(train.ConfigError, match="dropout"):
        train.make_config(dropout=1.5)
    with pytest.raises(train.ConfigError, match="unknown preset"):
        train.make_config("huge")
    with pytest.raises(train.ConfigError, match="unknown device"):
        train.make_config(device="tpu")


# ---------------------------------------------------------------- a run
def test_loss_falls_and_every_output_appears(corpus_file, tmp_path, env):
    out = tmp_path / "run"
    lines = []
    result = train.Trainer(cfg(corpus_file, out, max_iters=60, eval_interval=20), log=lines.append).run()
    recs = result["records"]
    assert [r["iter"] for r in recs] == [0, 20, 40, 60]
    assert recs[-1]["train_loss"] < recs[0]["train_loss"] - 0.5
    assert recs[-1]["val_loss"] < recs[0]["val_loss"] - 0.5
    logged = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert losses(logged) == losses(recs)
    for r in logged:
        assert {"iter", "train_loss", "val_loss", "val_bpc", "lr", "tokens_per_s", "elapsed_s"} <= set(r)
        assert r["val_bpc"] == pytest.approx(r["val_loss"] / math.log(2))
    assert logged[-1]["tokens_per_s"] > 0 and logged[-1]["elapsed_s"] > 0
    assert logged[0]["tokens_per_s"] is None  # no training window yet at iteration 0 (null in the JSON)
    assert '"tokens_per_s": null' in (out / "log.jsonl").read_text().splitlines()[0]
    assert "final_val_loss" in logged[-1] and result["final_val_loss"] == logged[-1]["final_val_loss"]
    assert any(line.startswith("iter 20: train loss") and "val bpc" in line for line in lines)
    assert any("final val loss (exact" in line for line in lines)
    sample = (out / "samples.txt").read_text(encoding="utf-8")
    assert len(sample) == 41 and set(sample) <= set(make_text())
    ck = checkpoint.load_training(out / train.CHECKPOINT_NAME)
    assert ck.meta["iter"] == 60 and ck.meta["vocab"] == sorted(set(make_text()))


def test_final_val_loss_is_exact_over_the_whole_split(corpus_file, tmp_path, env):
    trainer = train.Trainer(cfg(corpus_file, tmp_path / "run", max_iters=5, sample_chars=0), log=quiet)
    result = trainer.run()
    # recompute independently: one block at a time, summing per-target negative log-likelihoods
    val = trainer.sampler.data["val"]
    T, nll, n = 16, 0.0, 0
    trainer.model.eval()
    with mt.no_grad():
        for s in range(0, len(val) - 1, T):
            x, y = val[s:s + T], val[s + 1:s + T + 1]
            x = x[:len(y)]
            logp = mt.log_softmax(trainer.model(mt.tensor(x[None])), dim=-1).numpy()[0]
            nll -= logp[np.arange(len(y)), y].astype(np.float64).sum()
            n += len(y)
    assert n == len(val) - 1
    assert result["final_val_loss"] == pytest.approx(nll / n, rel=1e-5)


def test_lstm_and_rnn_train(corpus_file, tmp_path, env):
    for cell in ("lstm", "rnn"):
        r = train.Trainer(cfg(corpus_file, tmp_path / cell, model=cell, n_embd=32, max_iters=30, lr=1e-2),
                          log=quiet).run()
        assert r["records"][-1]["train_loss"] < r["records"][0]["train_loss"] - 0.3, cell


def test_one_training_step_on_the_fake_device(corpus_file, tmp_path, env):
    t = train.Trainer(cfg(corpus_file, tmp_path / "fake", device="fake", max_iters=2, eval_interval=1,
                          eval_iters=1, sample_chars=5, dropout=0.1), log=quiet)
    before = [p.numpy().copy() for p in t.model.parameters()]
    r = t.run()
    params = list(t.model.parameters())
    assert all(p.device == "fake" for p in params)
    assert all(np.isfinite(x["train_loss"]) for x in r["records"])
    assert any(not np.array_equal(b, p.numpy()) for b, p in zip(before, params))
    assert checkpoint.load_training(tmp_path / "fake" / train.CHECKPOINT_NAME).meta["iter"] == 2
    # and it resumes on the fake device
    r2 = train.Trainer(train.resume_config(tmp_path / "fake", max_iters=3), resume=True, log=quiet).run()
    assert r2["iter"] == 3


# ---------------------------------------------------------------- interrupt and resume
class Crash(Exception):
    pass


def test_interrupt_and_resume_equals_uninterrupted(corpus_file, tmp_path, env):
    kw = dict(max_iters=30, eval_interval=10, dropout=0.1, sample_chars=0)
    full = train.Trainer(cfg(corpus_file, tmp_path / "full", **kw), log=quiet).run()

    def crash_after_iter_10(trainer, rec):
        if rec["iter"] == 10:
            raise Crash

    with pytest.raises(Crash):
        train.Trainer(cfg(corpus_file, tmp_path / "cut", **kw), log=quiet, callbacks=[crash_after_iter_10]).run()
    # a crash between a log line and its checkpoint leaves a later line behind: resume drops it
    with open(tmp_path / "cut" / "log.jsonl", "a") as f:
        f.write(json.dumps({"iter": 20, "train_loss": 0.0, "val_loss": 0.0}) + "\n")
    resumed_cfg = train.resume_config(tmp_path / "cut")
    resumed = train.Trainer(resumed_cfg, resume=True, log=quiet).run()
    assert losses(resumed["records"]) == losses(full["records"])  # bit for bit
    assert resumed["final_val_loss"] == full["final_val_loss"]
    logged = [json.loads(x) for x in (tmp_path / "cut" / "log.jsonl").read_text().splitlines()]
    assert losses(logged) == losses(full["records"])
    a = checkpoint.load_training(tmp_path / "full" / train.CHECKPOINT_NAME)
    b = checkpoint.load_training(tmp_path / "cut" / train.CHECKPOINT_NAME)
    for k in a.model_state:
        assert np.array_equal(a.model_state[k], b.model_state[k]), k


def test_resume_with_larger_max_iters_trains_further(corpus_file, tmp_path, env):
    kw = dict(eval_interval=10, lr_decay_iters=30, sample_chars=0)
    full = train.Trainer(cfg(corpus_file, tmp_path / "full", max_iters=30, **kw), log=quiet).run()
    train.Trainer(cfg(corpus_file, tmp_path / "part", max_iters=20, **kw), log=quiet).run()
    more = train.Trainer(train.resume_config(tmp_path / "part", max_iters=30), resume=True, log=quiet).run()
    assert losses(more["records"]) == losses(full["records"])
    lines = []
    done = train.Trainer(train.resume_config(tmp_path / "part"), resume=True, log=lines.append).run()
    assert done["iter"] == 30 and any("nothing to train" in line for line in lines)


def test_cli_resume_continues_exactly(corpus_file, tmp_path, env, capsys):
    common = ["--data", str(corpus_file), *TINY_FLAGS, "--eval-interval", "10", "--lr-decay-iters", "30"]
    main_of("train_charlm.py", [*common, "--out-dir", str(tmp_path / "a"), "--max-iters", "30"], capsys, check=0)
    main_of("train_charlm.py", [*common, "--out-dir", str(tmp_path / "b"), "--max-iters", "20"], capsys, check=0)
    _, out, _ = main_of("train_charlm.py", ["--resume", "--out-dir", str(tmp_path / "b"), "--max-iters", "30",
                                            "--no-progress"], capsys, check=0)
    assert "resuming at iter 20" in out

    def read(d):
        return losses(json.loads(x) for x in (tmp_path / d / "log.jsonl").read_text().splitlines())
    assert read("a") == read("b")
    assert [r[0] for r in read("a")] == [0, 10, 20, 30]
    # the architecture cannot change on resume
    _, _, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(tmp_path / "b"), "--n-layer", "2"],
                        capsys, check=2)
    assert err.startswith("error: ") and "cannot resume with n_layer = 2" in err
    # a fresh run does not silently overwrite a checkpoint
    _, _, err = main_of("train_charlm.py", [*common, "--out-dir", str(tmp_path / "b")], capsys, check=2)
    assert "already holds a checkpoint" in err and "--resume" in err


def test_resume_keeps_the_saved_schedule_unless_given_and_ignores_seed(corpus_file, tmp_path, env, capsys):
    out = tmp_path / "run"
    common = ["--data", str(corpus_file), *TINY_FLAGS, "--eval-interval", "10", "--out-dir", str(out)]
    main_of("train_charlm.py", [*common, "--max-iters", "10"], capsys, check=0)

    def saved():
        return checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["config"]
    assert (saved()["max_iters"], saved()["lr_decay_iters"], saved()["seed"]) == (10, 10, 1337)
    _, out_text, _ = main_of("train_charlm.py", ["--resume", "--out-dir", str(out), "--max-iters", "20",
                                                 "--seed", "7", "--no-progress"], capsys, check=0)
    assert "note: --seed 7 ignored on --resume" in out_text
    assert "cosine decay until iter 10 (saved); iters 10-20 train at min_lr 0.0003" in out_text
    assert "--lr-decay-iters N changes it" in out_text
    assert (saved()["max_iters"], saved()["lr_decay_iters"], saved()["seed"]) == (20, 10, 1337)
    logged = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert logged[-1]["iter"] == 20 and logged[-1]["lr"] == pytest.approx(3e-4)
    _, out_text, _ = main_of("train_charlm.py", ["--resume", "--out-dir", str(out), "--max-iters", "30",
                                                 "--lr-decay-iters", "40", "--no-progress"], capsys, check=0)
    assert "cosine decay until iter 40 (from --lr-decay-iters)" in out_text and "min_lr 0.0003" not in out_text
    assert (saved()["max_iters"], saved()["lr_decay_iters"]) == (30, 40)
    # the library refuses a seed that would be silently ignored
    with pytest.raises(train.ConfigError, match="cannot resume with seed = 7"):
        train.resume_config(out, seed=7)
    assert train.resume_config(out, seed=1337).seed == 1337


# ---------------------------------------------------------------- damaged or incompatible checkpoints
def test_truncated_checkpoint_is_rejected_cleanly(corpus_file, tmp_path, env, capsys):
    out = tmp_path / "run"
    train.Trainer(cfg(corpus_file, out, max_iters=10, sample_chars=0), log=quiet).run()
    ck = out / train.CHECKPOINT_NAME
    raw = ck.read_bytes()
    rng = np.random.default_rng(0)
    for n in sorted(rng.integers(0, len(raw), size=12)):
        ck.write_bytes(raw[:n])
        with pytest.raises(CheckpointError, match="corrupt or truncated|no checkpoint"):
            train.Trainer(train.resume_config(out), resume=True, log=quiet)
    ck.write_bytes(raw[: len(raw) // 2])
    _, _, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(out)], capsys, check=2)
    assert err.startswith("error: ") and "corrupt or truncated" in err and str(ck) in err
    # sample.py reads best.npz by default: --checkpoint last reads the damaged file
    _, _, err = main_of("sample.py", ["--out-dir", str(out), "--checkpoint", "last"], capsys, check=2)
    assert err.startswith("error: ") and "corrupt or truncated" in err


def test_incompatible_checkpoint_names_the_problem(corpus_file, tmp_path, env):
    out = tmp_path / "run"
    train.Trainer(cfg(corpus_file, out, max_iters=3, sample_chars=0), log=quiet).run()
    other = tmp_path / "other.txt"
    other.write_text(make_text(seed=1) + "XYZ", encoding="utf-8")
    n = len(set(make_text()))
    with pytest.raises(CheckpointError, match=f"vocabulary has {n} characters, the corpus has {n + 3} "
                                              f"\\(3 not in the checkpoint's, 0 of the checkpoint's missing\\)"):
        train.Trainer(train.resume_config(out, data=str(other)), resume=True, log=quiet)
    with pytest.raises(CheckpointError, match=f"It was trained on {corpus_file}: resume with the same --data"):
        train.Trainer(train.resume_config(out, data=str(other)), resume=True, log=quiet)
    with pytest.raises(train.ConfigError, match="n_embd"):
        train.resume_config(out, n_embd=32)
    # shapes that do not fit the model: rewrite the checkpoint with a wrong-shaped array
    ck = checkpoint.load_training(out / train.CHECKPOINT_NAME)
    name = next(iter(ck.model_state))
    ck.model_state[name] = np.zeros((3, 3), np.float32)
    checkpoint.save_training(out / train.CHECKPOINT_NAME, ck.model_state, ck.optimizer_state,
                             {k: v for k, v in ck.meta.items() if k not in ("arrays", "format", "version",
                                                                          "model_keys", "optimizer")})
    with pytest.raises(CheckpointError, match=f"does not fit the model: .*: size mismatch for {name}") as e:
        train.Trainer(train.resume_config(out), resume=True, log=quiet)
    assert "\n" not in str(e.value)   # the CLI's error is one line: torch's list of mismatches joined
    with pytest.raises(CheckpointError, match=f"checkpoint {out / train.CHECKPOINT_NAME} does not fit the model: "
                                              f".*: size mismatch for {name}") as e:
        train.load_model(out, which="last")   # sampling names the file it read, as the resume does
    assert "\n" not in str(e.value)
    with pytest.raises(CheckpointError, match="no checkpoint to resume"):
        train.resume_config(tmp_path / "empty")


def test_resuming_a_default_corpus_run_without_it_says_where_it_was_trained(tmp_path, env, monkeypatch):
    """A run on the default corpus (found through $MINITF_DATA) resumed in a shell without it reads the
    fallback corpus: the error names the text the run was trained on and how to point at it."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "tinyshakespeare.txt").write_text(make_text(), encoding="utf-8")
    monkeypatch.setenv("MINITF_DATA", str(folder))
    out = tmp_path / "run"
    settings = {**TINY, "max_iters": 1, "eval_interval": 1, "progress": False, "sample_chars": 0}
    train.Trainer(train.make_config("baby", out_dir=str(out), **settings), log=quiet).run()
    monkeypatch.delenv("MINITF_DATA")
    with pytest.raises(CheckpointError, match=f"It was trained on {folder / 'tinyshakespeare.txt'}: resume with "
                                              f"--data pointing at that text \\(or \\$MINITF_DATA at its folder\\)"):
        train.Trainer(train.resume_config(out), resume=True, log=quiet)


def rewrite_checkpoint(out, change):
    """Load out's checkpoint, let ``change(ck)`` alter it, save it back (as a valid archive)."""
    ck = checkpoint.load_training(out / train.CHECKPOINT_NAME)
    change(ck)
    checkpoint.save_training(out / train.CHECKPOINT_NAME, ck.model_state, ck.optimizer_state,
                             {k: v for k, v in ck.meta.items() if k not in ("arrays", "format", "version",
                                                                          "model_keys", "optimizer")})


def test_incomplete_optimizer_state_is_one_error_line(corpus_file, tmp_path, env, capsys):
    out = tmp_path / "run"
    train.Trainer(cfg(corpus_file, out, max_iters=3, sample_chars=0), log=quiet).run()
    rewrite_checkpoint(out, lambda ck: ck.optimizer_state["state"][2].pop("exp_avg"))
    _, _, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(out), "--max-iters", "5"], capsys,
                        check=2)
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "optimizer state" in err and "parameter 2 lacks 'exp_avg'" in err and str(out) in err
    rewrite_checkpoint(out, lambda ck: ck.optimizer_state["state"][2].update(exp_avg=np.zeros(3, np.float32)))
    _, _, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(out), "--max-iters", "5"], capsys,
                        check=2)
    assert err.startswith("error: ") and "'exp_avg' of parameter 2 has shape (3,)" in err


# ---------------------------------------------------------------- the command line
def test_cli_run_writes_everything_and_sample_reads_it(corpus_file, tmp_path, env, capsys):
    out = tmp_path / "cli"
    p = run_cli("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(out), *TINY_FLAGS,
                                    "--max-iters", "20", "--eval-interval", "10"], env, check=0)
    assert "iter 10: train loss" in p.stdout and "final val loss (exact" in p.stdout
    for name in ("log.jsonl", "ckpt.npz", "samples.txt"):
        assert (out / name).is_file(), name
    try:
        import matplotlib  # noqa: F401
        assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    except ImportError:
        assert not (out / "loss.png").exists() and "matplotlib is not installed" in p.stdout
    s1 = run_cli("sample.py", ["--out-dir", str(out), "--num-chars", "60", "--start", "the king", "--seed", "3",
                               "--top-k", "5", "--temperature", "0.9"], env, check=0).stdout
    s2 = run_cli("sample.py", ["--out-dir", str(out), "--num-chars", "60", "--start", "the king", "--seed", "3",
                               "--top-k", "5", "--temperature", "0.9"], env, check=0).stdout
    assert s1 == s2 and s1.startswith("the king") and len(s1.rstrip("\n")) >= 68
    _, _, err = main_of("sample.py", ["--out-dir", str(out), "--start", "QQ"], capsys, check=2)
    assert err.startswith("error: ") and "not in the vocabulary: 'Q'" in err
    _, _, err = main_of("sample.py", ["--out-dir", str(tmp_path / "nothing")], capsys, check=2)
    assert "no checkpoint" in err


def test_cli_help_describes_presets(env):
    p = run_cli("train_charlm.py", ["--help"], env, check=0)
    for text in ("--preset", "baby", "small", "--resume", "--max-iters", "--bias", "MINITF_DATA", "--device"):
        assert text in p.stdout
    assert "fake" not in p.stdout.split("presets")[0].split("--device")[1].split("\n")[0]


def test_gpu_unavailable_is_one_clear_line(corpus_file, tmp_path, env):
    if backend.gpu_available():
        pytest.skip("a GPU is available here")
    p = run_cli("train_charlm.py", ["--device", "gpu", "--data", str(corpus_file), "--out-dir", str(tmp_path)],
                env, check=2)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in p.stderr
    assert "CuPy" in lines[0] or "GPU" in lines[0]
    assert backend.gpu_unavailable_reason() in lines[0]


@pytest.mark.parametrize("content,message", [(None, "not found"), (b"", "empty"),
                                             (b"caf\xe9 au lait " * 10, "not UTF-8"),
                                             (b"short text", "fewer than block_size \\+ 1")])
def test_bad_data_is_a_clear_error(tmp_path, env, content, message, capsys):
    import re
    path = tmp_path / "data.txt"
    if content is not None:
        path.write_bytes(content)
    _, _, err = main_of("train_charlm.py", ["--data", str(path), "--out-dir", str(tmp_path / "o"), *TINY_FLAGS],
                        capsys, check=2)
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err


def test_offline_without_data_uses_the_fallback_corpus(tmp_path, env, capsys):
    _, out, _ = main_of("train_charlm.py", ["--out-dir", str(tmp_path / "o"), *TINY_FLAGS, "--max-iters", "2",
                                            "--eval-iters", "1", "--block-size", "64", "--batch-size", "64"],
                        capsys, check=0)
    assert out.count("notice: Tiny Shakespeare is not available") == 1
    assert "standard library" in out and "--data FILE" in out


# ---------------------------------------------------------------- degrading gracefully
def test_without_matplotlib_there_is_a_note_and_no_plot(corpus_file, tmp_path, env, monkeypatch, capsys):
    import runpy
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.split(".")[0] == "matplotlib":
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    script = runpy.run_path(str(ROOT / "examples" / "train_charlm.py"))
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    rc = script["main"](["--data", str(corpus_file), "--out-dir", str(tmp_path / "o"), *TINY_FLAGS,
                         "--max-iters", "2", "--sample-chars", "0"])
    out = capsys.readouterr().out
    assert rc == 0 and "matplotlib is not installed" in out and "final val loss" in out
    assert not (tmp_path / "o" / "loss.png").exists() and (tmp_path / "o" / "ckpt.npz").exists()


def test_progress_is_plain_lines_without_a_terminal(corpus_file, tmp_path, env):
    lines = []
    train.Trainer(cfg(corpus_file, tmp_path / "o", max_iters=10, eval_interval=10, log_interval=5, sample_chars=0),
                  log=lines.append).run()
    plain = [line for line in lines if line.startswith("iter ") and "/10:" in line]
    assert [line.split(":")[0] for line in plain] == ["iter 5/10", "iter 10/10"]
    assert all("loss" in line and "tok/s" in line and "ETA" in line for line in plain)


def test_progress_bar_on_a_terminal(corpus_file, tmp_path, env, monkeypatch, capsys):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    lines = []
    train.Trainer(cfg(corpus_file, tmp_path / "o", max_iters=10, eval_interval=10, sample_chars=0, progress=True),
                  log=lines.append).run()
    err = capsys.readouterr().err
    assert "10/10" in err and "tok/s" in err
    assert not any(line.startswith("iter 5/10") for line in lines)  # the bar replaces the plain lines


def test_killed_run_resumes_to_the_uninterrupted_losses(corpus_file, tmp_path, env, capsys):
    """SIGKILL the script mid-run (a moment after some eval), then --resume: same log as never killed.

    The killed run is given far more iterations than any machine does before the kill lands, so
    the kill is always mid-run; the comparison then stops N = (checkpoint + 10) iterations in, the
    resumed run and the uninterrupted one both ending there (the schedule is fixed by
    --lr-decay-iters, so it does not depend on --max-iters).
    """
    import signal
    import time

    common = ["--data", str(corpus_file), *TINY_FLAGS, "--eval-interval", "5", "--lr-decay-iters", "40"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(ROOT / "examples" / "train_charlm.py"), *common,
                             "--max-iters", "1000000", "--out-dir", str(killed)],
                            env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("iter 10: "):
            break
    time.sleep(0.05)  # anywhere after iter 10: mid-iteration, mid-eval or mid-save
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    before = checkpoint.load_training(killed / train.CHECKPOINT_NAME).meta["iter"]
    assert before >= 10 and before % 5 == 0
    n = before + 10
    main_of("train_charlm.py", [*common, "--max-iters", str(n), "--out-dir", str(tmp_path / "full")], capsys,
            check=0)
    main_of("train_charlm.py", ["--resume", "--out-dir", str(killed), "--max-iters", str(n), "--no-progress"],
            capsys, check=0)

    def read(d):
        return losses(json.loads(x) for x in (tmp_path / d / "log.jsonl").read_text().splitlines())
    assert read("killed") == read("full")
    assert [r[0] for r in read("full")] == list(range(0, n + 1, 5))
    assert not list(killed.glob(".ckpt.npz.*.tmp"))  # a temporary left by the kill is gone


def test_resume_schedule_note_follows_the_warmup():
    """The note printed on --resume says where the lr floor starts: after the decay and the warmup."""
    import runpy
    from types import SimpleNamespace
    note = runpy.run_path(str(ROOT / "examples" / "train_charlm.py"))["_schedule_note"]
    cfg = SimpleNamespace(lr=1e-3, min_lr=1e-4, warmup_iters=100, lr_decay_iters=60, max_iters=120)
    text = note(cfg, given=False)
    assert "iters 100-120 train at min_lr 0.0001" in text and "the lr rises until then" in text
    assert mt.optim.cosine_with_warmup(80, 1e-3, 1e-4, 100, 60) > 1e-4   # the schedule the note describes
    cfg.warmup_iters = 10
    assert "iters 60-120 train at min_lr" in note(cfg, given=True) and "rises" not in note(cfg, given=True)
