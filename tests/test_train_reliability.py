"""Issue 8's probes: a good checkpoint is never lost, bad input never answered with a traceback.

Each test names the item of the issue it covers. Runs are tiny (one GPT block of width 16 on a
corpus of a few thousand words written here); the CLI runs in-process through main(), except
the one test that needs a second live process to hold the lock.
"""
import contextlib
import errno
import json
import math
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import minitf as mt
from minitf import checkpoint, train
from minitf.checkpoint import CheckpointError

from .test_train import ROOT, TINY_FLAGS, cfg, corpus_file, env, main_of, make_text, mpl_dir, quiet  # noqa: F401


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def all_finite(ck) -> bool:
    return all(np.isfinite(a).all() for a in ck.model_state.values())


# ---------------------------------------------------------------- 1. divergence
def test_a_non_finite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(corpus_file, tmp_path, env, capsys):
    out = tmp_path / "run"
    with pytest.raises(train.TrainingDiverged) as e:
        train.Trainer(cfg(corpus_file, out, lr=1e30, min_lr=0.0, warmup_iters=0, sample_chars=0), log=quiet).run()
    err = e.value
    assert err.quantity in ("training loss", "gradient norm") and not math.isfinite(err.value)
    assert f"training diverged at iter {err.iter}: the {err.quantity} is" in str(err)
    assert err.last_checkpoint_iter == 0 and "(iter 0), is kept as it was" in str(err)
    ck = checkpoint.load_training(out / train.CHECKPOINT_NAME)
    assert ck.meta["iter"] == 0 and all_finite(ck)
    # the command line: one line, exit 3, and the checkpoint still resumes
    rc, _, err_text = main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(tmp_path / "cli"),
                                                  *TINY_FLAGS, "--lr", "1e30", "--min-lr", "0", "--warmup-iters",
                                                  "0", "--max-iters", "30"], capsys)
    line = one_line_error(err_text)
    assert rc == 3 and "training diverged at iter" in line and "is kept" in line
    assert all_finite(checkpoint.load_training(tmp_path / "cli" / train.CHECKPOINT_NAME))


class PoisonGradients(train.SingleProcess):
    """A strategy whose gradient reduction turns one gradient into NaN at a given iteration."""

    def __init__(self, trainer_iter):
        self.at, self.calls = trainer_iter, 0

    def reduce_gradients(self, params):
        if self.calls == self.at:
            g = params[0].grad
            arr = g.data if isinstance(g, mt.Tensor) else g
            arr[...] = np.nan
        self.calls += 1


def test_a_non_finite_gradient_norm_stops_the_run_before_the_step(corpus_file, tmp_path, env):
    t = train.Trainer(cfg(corpus_file, tmp_path / "run", sample_chars=0), log=quiet, strategy=PoisonGradients(13))
    with pytest.raises(train.TrainingDiverged, match="at iter 13: the gradient norm is nan") as e:
        t.run()
    assert e.value.last_checkpoint_iter == 10
    assert all(np.isfinite(p.numpy()).all() for p in t.model.parameters())  # the optimizer never stepped
    assert checkpoint.load_training(tmp_path / "run" / train.CHECKPOINT_NAME).meta["iter"] == 10


class PoisonParameters(train.SingleProcess):
    def prepare(self, model):
        next(iter(model.parameters())).data[...] = np.inf


def test_non_finite_parameters_are_never_checkpointed(corpus_file, tmp_path, env):
    with pytest.raises(train.TrainingDiverged, match="at iter 0: the (estimated train loss|parameters)"):
        train.Trainer(cfg(corpus_file, tmp_path / "run"), log=quiet, strategy=PoisonParameters()).run()
    assert not (tmp_path / "run" / train.CHECKPOINT_NAME).exists()


def test_an_exploding_loss_is_reported_once(corpus_file, tmp_path, env):
    lines = []
    train.Trainer(cfg(corpus_file, tmp_path / "run", lr=10.0, min_lr=0.0, warmup_iters=0, sample_chars=0),
                  log=lines.append).run()
    warnings = [line for line in lines if line.startswith("warning: ")]
    explosion = [w for w in warnings if "the loss of guessing uniformly" in w]
    assert len(explosion) == 1 and "--lr (now 10)" in explosion[0]
    # the other warning such a run may get, once: its val loss rising well above its best
    assert all("above the best" in w for w in warnings if w not in explosion) and len(warnings) <= 2
    calm = []
    train.Trainer(cfg(corpus_file, tmp_path / "calm", sample_chars=0), log=calm.append).run()
    assert not any(line.startswith("warning: ") for line in calm)


# ---------------------------------------------------------------- 2. the lock
def test_a_second_run_on_the_same_directory_stops_at_once(corpus_file, tmp_path, env):
    out = tmp_path / "run"
    first = train.Trainer(cfg(corpus_file, out, sample_chars=0), log=quiet)
    with pytest.raises(train.RunLocked, match=f"another run \\(pid {os.getpid()}\\) is using {out}"):
        train.Trainer(cfg(corpus_file, out, sample_chars=0), log=quiet, overwrite=True)
    first.run()  # the refused run touched nothing; the first ends and releases the lock
    train.Trainer(train.resume_config(out, max_iters=40), resume=True, log=quiet).run()


@contextlib.contextmanager
def lock_held_by_another_process(out, env):
    """A live process holding ``out``'s run lock, SIGKILLed (the lock never released) at the end."""
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from minitf.train import RunDir; RunDir(sys.argv[1]).lock(); "
                               "print('locked', flush=True); time.sleep(60)", str(out)],
                              env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_the_lock_of_another_live_process_names_its_pid(corpus_file, tmp_path, env, capsys):
    out = tmp_path / "run"
    with lock_held_by_another_process(out, env) as holder:
        _, _, err = main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(out), *TINY_FLAGS],
                            capsys, check=2)
        assert f"another run (pid {holder.pid}) is using {out}" in one_line_error(err)
    # the holder died without releasing: the OS dropped its lock, the stale file is taken over
    assert (out / train.rundir.LOCK_NAME).read_text().strip() == str(holder.pid)
    t = train.Trainer(cfg(corpus_file, out, max_iters=2, sample_chars=0), log=quiet)
    assert (out / train.rundir.LOCK_NAME).read_text().strip() == str(os.getpid())
    t.run()


# ---------------------------------------------------------------- 3. evaluation's own stream
def test_how_often_we_evaluate_never_changes_what_is_trained(corpus_file, tmp_path, env):
    kw = dict(max_iters=20, dropout=0.1, sample_chars=0)
    runs, results = {}, {}
    for n in (4, 5, 20):  # one after the other: each seeds the (global) dropout generator as it starts
        runs[n] = train.Trainer(cfg(corpus_file, tmp_path / str(n), eval_interval=n, **kw), log=quiet)
        results[n] = runs[n].run()
    ref = [p.numpy() for p in runs[20].model.parameters()]
    for n in (4, 5):
        assert all(np.array_equal(a, p.numpy()) for a, p in zip(ref, runs[n].model.parameters())), n
    # what is evaluated at an iteration does not depend on the evals before it
    final = {n: r["records"][-1] for n, r in results.items()}
    assert final[4]["train_loss"] == final[5]["train_loss"] == final[20]["train_loss"]
    at_0 = {n: r["records"][0]["val_loss"] for n, r in results.items()}
    assert at_0[4] == at_0[5] == at_0[20]
    # and more eval batches do not change training either
    more = train.Trainer(cfg(corpus_file, tmp_path / "more", eval_interval=5, eval_iters=7, **kw), log=quiet)
    more.run()
    assert all(np.array_equal(a, p.numpy()) for a, p in zip(ref, more.model.parameters()))


def test_resume_with_another_eval_interval_is_still_bit_exact(corpus_file, tmp_path, env):
    kw = dict(dropout=0.1, sample_chars=0, lr_decay_iters=30)
    full = train.Trainer(cfg(corpus_file, tmp_path / "full", max_iters=30, eval_interval=10, **kw), log=quiet)
    full.run()
    train.Trainer(cfg(corpus_file, tmp_path / "part", max_iters=10, eval_interval=10, **kw), log=quiet).run()
    resumed = train.Trainer(train.resume_config(tmp_path / "part", max_iters=30, eval_interval=3), resume=True,
                            log=quiet)
    r = resumed.run()
    assert all(np.array_equal(a.numpy(), b.numpy())
               for a, b in zip(full.model.parameters(), resumed.model.parameters()))
    assert r["records"][-1]["val_loss"] == full.records[-1]["val_loss"]


# ---------------------------------------------------------------- 4. crafted checkpoints
def _meta_of(ck):
    return {k: v for k, v in ck.meta.items() if k not in ("arrays", "format", "version", "model_keys", "optimizer")}


def _set(path, value):
    def change(meta, opt):
        *head, last = path
        d = meta
        for k in head:
            d = d[k]
        if value is KeyError:
            del d[last]
        else:
            d[last] = value
    return change


def _opt(key, value):
    def change(meta, opt):
        opt["param_groups"][0][key] = value
    return change


CRAFTED = [  # (how the metadata is changed, the entry the error must name)
    (_set(["iter"], KeyError), "'iter'"), (_set(["iter"], "x"), "'iter'"), (_set(["iter"], float("nan")), "'iter'"),
    (_set(["iter"], -5), "'iter' must be an integer >= 0, got -5"), (_set(["iter"], 2.5), "'iter'"),
    (_set(["elapsed_s"], "soon"), "'elapsed_s'"),
    (_set(["rng"], KeyError), "'rng'"), (_set(["rng"], [1, 2]), "'rng'"), (_set(["rng", "batch"], 7), "'rng'"),
    (_set(["rng", "batch"], {"bit_generator": "MT19937", "state": {"key": list(range(624)), "pos": 624}}),
     "'rng.batch'"),
    (_set(["rng", "batch"], {"bit_generator": "PCG64", "state": "x"}), "'rng.batch'"),
    (_set(["rng", "minitf"], {"bit_generator": "SFC64"}), "'rng.minitf'"),
    (_set(["config", "n_layer"], "x"), "'config.n_layer' is invalid: n_layer must be an integer, got 'x'"),
    (_set(["config"], []), "'config'"), (_set(["config", "dropout"], 2.0), "'config.dropout'"),
    (_set(["config", "block_size"], 1e9), "'config.block_size'"),
    (_set(["config", "block_size"], 10 ** 9), "'config' describes a model of"),
    (_set(["config", "n_embd"], 2 ** 20), "'config' describes a model of"),
    (_set(["config", "batch_size"], 10 ** 12), "'config' describes batches of"),
    (_set(["vocab"], 5), "'vocab'"), (_set(["vocab"], ["a", "a"]), "'vocab'"),
    (_set(["best"], 3), "'best'"), (_set(["best"], {"iter": -1, "val_loss": 2.0}), "'best'"),
    (_set(["best"], {"iter": 1, "val_loss": float("nan")}), "'best'"),
    (_opt("lr", "x"), "'optimizer.param_groups[0].lr'"), (_opt("betas", ["a", 0.99]), "'optimizer.param_groups[0].betas'"),
    (_opt("weight_decay", float("nan")), "'optimizer.param_groups[0].weight_decay'"),
    (_opt("params", "all"), "'optimizer.param_groups[0]'"),
]


@pytest.fixture(scope="module")
def good_run(corpus_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("good") / "run"
    train.Trainer(cfg(corpus_file, out, max_iters=2, eval_interval=1, sample_chars=0), log=quiet).run()
    return out


def test_crafted_checkpoint_metadata_is_one_error_naming_the_entry(good_run, tmp_path, env, capsys):
    ck = checkpoint.load_training(good_run / train.CHECKPOINT_NAME)
    for i, (change, entry) in enumerate(CRAFTED):
        out = tmp_path / f"c{i}"
        meta, opt = json.loads(json.dumps(_meta_of(ck))), json.loads(json.dumps(
            {"param_groups": ck.meta["optimizer"]["param_groups"], "state": {}}))
        change(meta, opt)
        state = dict(ck.optimizer_state)
        state["param_groups"] = opt["param_groups"]
        checkpoint.save_training(out / train.CHECKPOINT_NAME, ck.model_state, state, meta)
        msgs = []
        for load in (lambda: train.Trainer(train.resume_config(out), resume=True, log=quiet),
                     lambda: train.load_model(out)):
            with pytest.raises(CheckpointError) as e:
                load()
            msgs.append(str(e.value))
        _, _, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(out)], capsys, check=2)
        msgs.append(one_line_error(err))
        _, _, err = main_of("sample.py", ["--out-dir", str(out)], capsys, check=2)
        msgs.append(one_line_error(err))
        for m in msgs:
            assert f"entry {entry}" in m and str(out) in m and len(m) < 400, (i, entry, m)


def test_non_finite_weights_in_a_checkpoint_are_refused_on_load(good_run, tmp_path, env, capsys):
    """A run never saves a NaN or inf weight, so a checkpoint holding one was altered: resuming it would
    "diverge" at once and blame the learning rate, sampling it would print garbage. Both refuse it,
    naming the array; an inf in the optimizer's state (a finite run can overflow exp_avg_sq) still loads."""
    ck = checkpoint.load_training(good_run / train.CHECKPOINT_NAME)
    name = next(k for k in ck.model_state if k.endswith("mlp.c_fc.weight"))
    for bad in (np.nan, np.inf):
        out = tmp_path / f"w{bad}"
        weights = {k: v.copy() for k, v in ck.model_state.items()}
        weights[name][0, 0] = bad
        checkpoint.save_training(out / train.CHECKPOINT_NAME, weights, ck.optimizer_state, _meta_of(ck))
        with pytest.raises(CheckpointError, match=f"entry 'model/{name}' holds NaN or infinite weights"):
            train.load_model(out)
        for script, argv in (("train_charlm.py", ["--resume", "--out-dir", str(out)]),
                             ("sample.py", ["--out-dir", str(out)])):
            _, _, err = main_of(script, argv, capsys, check=2)
            assert f"'model/{name}' holds NaN or infinite weights" in one_line_error(err)
    out = tmp_path / "opt_inf"
    state = {"state": {i: dict(s) for i, s in ck.optimizer_state["state"].items()},
             "param_groups": ck.optimizer_state["param_groups"]}
    state["state"][0]["exp_avg_sq"] = np.full_like(state["state"][0]["exp_avg_sq"], np.inf)
    checkpoint.save_training(out / train.CHECKPOINT_NAME, ck.model_state, state, _meta_of(ck))
    train.load_model(out)


def test_an_extra_member_or_a_non_archive_is_one_clear_error(good_run, tmp_path, env, capsys):
    raw = (good_run / train.CHECKPOINT_NAME).read_bytes()
    cases = {"extra": "entry 'notes.txt' is not an array", "text": "not a ZIP archive",
             "empty": "not a ZIP archive of arrays, the file is empty", "huge": "claims shape",
             "pickle": "holds Python objects"}
    for name, expected in cases.items():
        out = tmp_path / name
        out.mkdir()
        path = out / train.CHECKPOINT_NAME
        path.write_bytes(raw)
        if name == "extra":
            with zipfile.ZipFile(path, "a") as z:
                z.writestr("notes.txt", "hello")
        elif name == "text":
            path.write_text("import os; os.system('echo pwned')\n")
        elif name == "empty":
            path.write_bytes(b"")
        elif name == "huge":  # a member whose header claims 10^12 float32s
            with zipfile.ZipFile(path, "a") as z:
                hdr = {"descr": "<f4", "fortran_order": False, "shape": (10 ** 6, 10 ** 6)}
                with z.open("model/big.npy", "w") as m:
                    np.lib.format.write_array_header_1_0(m, hdr)
        else:
            with zipfile.ZipFile(path, "a") as z:
                with z.open("model/evil.npy", "w") as m:
                    np.lib.format.write_array(m, np.array([print], dtype=object), allow_pickle=True)
        with pytest.raises(CheckpointError, match=expected) as e:
            checkpoint.load(path)
        assert "allow_pickle" not in str(e.value)
        for script in ("train_charlm.py", "sample.py"):
            _, _, err = main_of(script, ["--resume", "--out-dir", str(out)] if script == "train_charlm.py"
                                else ["--out-dir", str(out)], capsys, check=2)
            assert expected in one_line_error(err) and "allow_pickle" not in err


# ---------------------------------------------------------------- 5. output locations
def test_unusable_output_locations_are_one_line_exit_2(corpus_file, tmp_path, env, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    cases = [(a_file, "exists and is not a directory"), (a_file / "sub", "cannot create --out-dir"),
             ("/proc/minitf-out", "cannot create --out-dir /proc/minitf-out")]
    if os.geteuid() != 0:  # root writes anywhere, so only another user sees a read-only directory
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        cases.append((ro / "run", "Permission denied"))
    for out, message in cases:
        _, _, err = main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(out), *TINY_FLAGS,
                                                "--max-iters", "2"], capsys, check=2)
        assert message in one_line_error(err) and str(out) in err


def test_a_disk_that_fills_mid_run_keeps_the_previous_checkpoint(corpus_file, tmp_path, env, monkeypatch, capsys):
    real_fsync, saves = os.fsync, []

    def fsync(fd):
        # ckpt.npz's temporary (best.npz's, written before it at an improving eval, is let through)
        if os.fstat(fd).st_size > 1000 and os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(".ckpt"):
            saves.append(fd)
            if len(saves) > 1:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "run"
    _, _, err = main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(out), *TINY_FLAGS,
                                            "--max-iters", "20", "--eval-interval", "10"], capsys, check=2)
    line = one_line_error(err)
    assert f"cannot write the checkpoint {out / train.CHECKPOINT_NAME}: No space left on device" in line
    assert "the checkpoint of iter 0 is intact" in line
    monkeypatch.undo()
    assert checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["iter"] == 0
    assert not list(out.glob(".ckpt.npz.*.tmp"))


# ---------------------------------------------------------------- 6. command-line values
BAD_TRAIN_FLAGS = [
    (["--seed", "-1"], "seed must be in [0, 2**63)"), (["--weight-decay", "nan"], "weight_decay must be a finite"),
    (["--weight-decay", "inf"], "weight_decay must be a finite"), (["--lr", "inf"], "lr must be a finite"),
    (["--grad-clip", "nan"], "grad_clip must be a finite"), (["--min-lr", "1"], "min_lr (1) must not exceed lr"),
    (["--min-lr", "inf"], "min_lr must be a finite"), (["--sample-chars", "-1"], "sample_chars must be >= 0"),
    (["--n-head", "0"], "n_head must be at least 1, got 0"), (["--log-interval", "-2"], "log_interval must be >= 0"),
    (["--dropout", "nan"], "dropout must be a finite"), (["--beta2", "inf"], "beta2 must be a finite"),
    (["--model", "lstm", "--bias"], "bias is a GPT setting"), (["--resume", "--overwrite"], "pass one of them"),
    # sample.py's bound on --num-chars, refused before training rather than met (for hours) after it
    (["--sample-chars", "10000000000"], "sample_chars must be at most 10,000,000, got 10,000,000,000"),
]


@pytest.mark.parametrize("flags,message", BAD_TRAIN_FLAGS)
def test_bad_training_flags_are_one_line(flags, message, corpus_file, tmp_path, env, capsys):
    _, _, err = main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(tmp_path / "o"),
                                            *TINY_FLAGS, *flags], capsys, check=2)
    assert message in one_line_error(err)
    assert not (tmp_path / "o" / train.CHECKPOINT_NAME).exists()


def test_bad_sampling_flags_and_greedy_decoding(good_run, env, capsys):
    for value in ("nan", "inf", "-1"):
        with pytest.raises(SystemExit) as e:
            main_of("sample.py", ["--out-dir", str(good_run), "--temperature", value], capsys)
        assert e.value.code == 2
        assert "--temperature must be a finite number >= 0" in capsys.readouterr().err
    greedy = [main_of("sample.py", ["--out-dir", str(good_run), "--temperature", "0", "--seed", s,
                                    "--num-chars", "30"], capsys, check=0)[1] for s in ("1", "2")]
    assert greedy[0] == greedy[1] and len(greedy[0]) == 1 + 30 + 1  # the start, 30 characters, print's newline
    model, vocab, _ = train.load_model(good_run)
    assert greedy[0][:-1] == train.generate_text(model, vocab, 30, temperature=0.0)


# ---------------------------------------------------------------- 7. out of memory
@pytest.mark.parametrize("flags,names", [
    (["BIG"], "--data"),  # a tiny model on a 2 MB corpus: the corpus is the largest part
    (["--n-embd", "4096", "--n-layer", "8", "--n-head", "8"], "--n-embd or --n-layer"),
    (["--batch-size", "4096", "--n-embd", "256"], "use a smaller --batch-size, --block-size"),
    # the review's --n-layer 100000 was blamed on the batch: the depth is what is out of the ordinary
    (["--n-layer", "100000"], "for each of n_layer 100,000 layers): use a smaller --n-layer, --batch-size"),
    (["--block-size", "1024"], "the attention scores"),
])
def test_out_of_memory_names_the_setting_that_is_too_large(flags, names, corpus_file, tmp_path, env, monkeypatch,
                                                           capsys):
    def allocate(*args, **kwargs):
        raise MemoryError("Unable to allocate 1.75 TiB for an array with shape (12, 4, 100000, 100000)")
    monkeypatch.setattr(train.loop, "build_model", allocate)
    # the MemoryError path: the check before allocating (test_train_cli.py) would refuse the larger of
    # these on a machine with less memory than their estimate, so it is told the memory is unknown
    monkeypatch.setattr(train.memory, "available_memory", lambda device="cpu": (None, "unknown in this test"))
    data = corpus_file
    if flags == ["BIG"]:
        flags, data = [], tmp_path / "big.txt"
        data.write_text(make_text(400_000), encoding="utf-8")
    _, _, err = main_of("train_charlm.py", ["--data", str(data), "--out-dir", str(tmp_path / "o"),
                                            *TINY_FLAGS, *flags], capsys, check=2)
    line = one_line_error(err)
    assert line.startswith("error: out of memory: an estimated") and "the largest part is" in line
    assert names in line.split("the largest part is")[1] and "1.75 TiB" in line


def test_memory_estimate_counts_the_model_exactly():
    for model in ("gpt", "rnn", "lstm"):
        c = train.make_config(model=model, n_layer=2, n_embd=32, block_size=8, n_head=4)
        assert train.parameter_count(c, 37) == train.build_model(c, 37).num_parameters()
        assert train.memory_estimate(c, 37)["model"] == 4 * 4 * train.parameter_count(c, 37)


# ---------------------------------------------------------------- 8, 9. bias for rnn/lstm; short runs
def test_rnn_header_does_not_claim_no_bias_and_short_runs_get_notes(corpus_file, tmp_path, env):
    lines = []
    train.Trainer(cfg(corpus_file, tmp_path / "rnn", model="rnn", max_iters=4, warmup_iters=10, eval_interval=10,
                      sample_chars=0), log=lines.append).run()
    assert any("biases in every layer" in line for line in lines) and not any("bias False" in x for x in lines)
    notes = [line for line in lines if line.startswith("note: the run")]
    assert len(notes) == 2
    assert "shorter than its warmup (10)" in notes[0] and "rises only to 0.00109 of --lr 0.003" in notes[0]
    assert "shorter than its eval interval (10)" in notes[1]
    with pytest.raises(train.ConfigError, match="bias is a GPT setting"):
        train.make_config(model="lstm", bias=True)


def test_log_interval_is_a_flag(corpus_file, tmp_path, env, capsys):
    _, out, _ = main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(tmp_path / "o"), *TINY_FLAGS,
                                            "--max-iters", "6", "--eval-interval", "6", "--log-interval", "2"],
                        capsys, check=0)
    assert [x.split(":")[0] for x in out.splitlines() if x.startswith("iter ") and "/6:" in x] == \
        ["iter 2/6", "iter 4/6", "iter 6/6"]


# ---------------------------------------------------------------- 10. files the user did not name
def test_resume_says_which_file_it_reads_and_never_echoes_one(corpus_file, tmp_path, env, capsys):
    out = tmp_path / "run"
    train.Trainer(cfg(corpus_file, out, max_iters=2, sample_chars=0), log=quiet).run()
    secret = tmp_path / "secret.txt"
    secret.write_text("zq9XW#" * 2000, encoding="utf-8")
    ck = checkpoint.load_training(out / train.CHECKPOINT_NAME)
    meta = _meta_of(ck)
    meta["config"]["data"] = str(secret)
    checkpoint.save_training(out / train.CHECKPOINT_NAME, ck.model_state, ck.optimizer_state, meta)
    _, stdout, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(out), "--max-iters", "4"], capsys,
                             check=2)
    assert f"note: --resume without --data reads the file the run was trained on, {secret}" in stdout
    line = one_line_error(err)
    assert "vocabulary has" in line and not set("zq9XW#") & set(line.split("corpus has")[1]) - set("0123456789")


# ---------------------------------------------------------------- 11. the docs load torch checkpoints safely
def test_docs_load_torch_checkpoints_with_weights_only():
    text = "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))
    calls = [line for line in text.splitlines() if "torch.load(" in line]
    assert calls and all("weights_only=True" in line for line in calls)


# ---------------------------------------------------------------- the strategy seam (issue 12's house)
class NotRankZero(train.SingleProcess):
    """What a data-parallel rank other than 0 returns for writing and printing; counts the reductions."""
    rank = 1

    def __init__(self):
        self.reduced = 0

    def reduce_gradients(self, params):
        self.reduced += 1

    def open_run_dir(self, out_dir):
        return train.ReadOnlyRunDir(out_dir)

    def wrap_log(self, log):
        return quiet


def test_a_rank_other_than_0_trains_the_same_and_writes_nothing(corpus_file, tmp_path, env):
    main = train.Trainer(cfg(corpus_file, tmp_path / "main", max_iters=12), log=quiet)
    main.run()
    strategy, lines = NotRankZero(), []
    other = train.Trainer(cfg(corpus_file, tmp_path / "other", max_iters=12), log=lines.append, strategy=strategy)
    summary = other.run()
    assert not (tmp_path / "other").exists() and not lines and strategy.reduced == 12
    assert summary["sample"] is None   # only rank 0 generates (and writes) the end-of-run sample
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(main.model.parameters(), other.model.parameters()))


def test_a_run_that_fails_before_it_starts_leaves_no_empty_directory(corpus_file, tmp_path, env, capsys):
    """A bad --data fails after the lock (in the run directory) was taken: the directories the
    run created for nothing are removed again; one that existed before stays, as does its lock."""
    new = tmp_path / "fresh" / "run"
    rc, _, err = main_of("train_charlm.py", ["--data", str(tmp_path / "missing.txt"), "--out-dir", str(new),
                                             *TINY_FLAGS], capsys)
    assert rc == 2 and "missing.txt" in one_line_error(err)
    assert not new.exists() and not (tmp_path / "fresh").exists()
    old = tmp_path / "old"
    old.mkdir()
    rc, _, err = main_of("train_charlm.py", ["--data", str(tmp_path / "missing.txt"), "--out-dir", str(old),
                                             *TINY_FLAGS], capsys)
    from minitf.train.rundir import LOCK_NAME
    assert rc == 2 and old.is_dir() and (old / LOCK_NAME).exists()
    # a run that started keeps its directory
    train.Trainer(cfg(corpus_file, tmp_path / "kept", max_iters=2, sample_chars=0), log=quiet).run()
    assert (tmp_path / "kept" / train.CHECKPOINT_NAME).exists()
