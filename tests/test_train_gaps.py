"""The training job's remaining gaps: a resume after a kill during the final exact pass, temporaries
left by a kill mid-save, signals before training starts, and what a user's mistakes with the run
directory give. Corpora are made here (see test_train.py); nothing needs the network.

A kill at a chosen moment is made deterministic by running the script in a child Python whose
function at that moment is replaced by one that SIGKILLs its own process (no sleeps).
"""
import json
import os
import signal
import subprocess
import sys

import pytest

from minitf import checkpoint, train

from .test_train_reliability import lock_held_by_another_process
from .test_train import ROOT, TINY_FLAGS, cfg, corpus_file, env, main_of, mpl_dir, quiet  # noqa: F401  (fixtures)

SCRIPT = str(ROOT / "examples" / "train_charlm.py")


def killed_at(target: str, args, env, when: str = "True"):
    """Run train_charlm.py's main with ``target`` ("module:function") replaced by a SIGKILL of the
    process whenever ``when`` (an expression of ``args`` and ``kwargs``) holds; the CompletedProcess."""
    module, name = target.split(":")
    code = (f"import os, signal, sys, runpy, importlib\n"
            f"mod = importlib.import_module({module!r})\n"
            f"real = getattr(mod, {name!r})\n"
            f"def hooked(*args, **kwargs):\n"
            f"    if {when}:\n"
            f"        os.kill(os.getpid(), signal.SIGKILL)\n"
            f"    return real(*args, **kwargs)\n"
            f"setattr(mod, {name!r}, hooked)\n"
            f"sys.exit(runpy.run_path({SCRIPT!r})['main'](sys.argv[1:]))\n")
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=300)


def last_record(out):
    return json.loads((out / train.LOG_NAME).read_text().splitlines()[-1])


# ---------------------------------------------------------------- 1. the final exact pass
def test_a_kill_during_the_final_exact_pass_is_completed_on_resume(corpus_file, tmp_path, env, capsys):
    """An OOM-kill or kill -9 during the exact pass left ckpt.npz at max_iters without the exact loss,
    and --resume said 'nothing to train': that run's exact loss was never computed."""
    args = ["--data", str(corpus_file), *TINY_FLAGS, "--max-iters", "10", "--eval-interval", "5"]
    cut, full = tmp_path / "cut", tmp_path / "full"
    p = killed_at("minitf.train.evaluation:val_loss_sums", [*args, "--out-dir", str(cut)], env)
    assert p.returncode == -signal.SIGKILL, p.stderr
    ck = checkpoint.load_training(cut / train.CHECKPOINT_NAME)
    assert ck.meta["iter"] == 10 and "final_val_loss" not in ck.meta["last_eval"]   # saved before the pass
    main_of("train_charlm.py", [*args, "--out-dir", str(full)], capsys, check=0)

    _, out, _ = main_of("train_charlm.py", ["--resume", "--out-dir", str(cut), "--no-progress"], capsys, check=0)
    assert ("the checkpoint is at iter 10, at max_iters 10: training is done, but its final exact validation pass "
            "did not finish") in out and "computing it now" in out
    want = last_record(full)["final_val_loss"]
    got = last_record(cut)
    assert got["iter"] == 10 and got["final_val_loss"] == want and got["final_val_tokens"] > 0
    assert checkpoint.load_training(cut / train.CHECKPOINT_NAME).meta["last_eval"]["final_val_loss"] == want
    assert [r["iter"] for r in map(json.loads, (cut / train.LOG_NAME).read_text().splitlines())] == [0, 5, 10]
    assert f"final val loss {want:.4f}" in out and (cut / "samples.txt").read_text() == \
        (full / "samples.txt").read_text()

    # now truly finished: a resume says so, with the loss, and rewrites no checkpoint
    before = (cut / train.CHECKPOINT_NAME).read_bytes()
    _, out, _ = main_of("train_charlm.py", ["--resume", "--out-dir", str(cut), "--no-progress"], capsys, check=0)
    assert (f"the run is finished: trained to iter 10 (max_iters 10), final val loss {want:.4f}" in out
            and "nothing to train (pass a larger --max-iters to train further)" in out), out
    # and its header does not announce a run "to iter 10" from iter 10
    assert "resuming at iter 10, at or past --max-iters 10: nothing left to train" in out, out
    assert "to iter 10:" not in out, out
    assert "computing" not in out and (cut / train.CHECKPOINT_NAME).read_bytes() == before


def test_a_checkpoint_between_evals_resumed_at_its_iteration_is_evaluated(corpus_file, tmp_path, env):
    """A run stopped between evals, resumed with --max-iters at (or below) its iteration: no eval of that
    state existed; it gets the final eval there, estimate and exact pass."""
    out = tmp_path / "run"
    trainer = None

    def log(line):
        if line.startswith("iter 7/"):
            trainer.request_stop("asked")
    trainer = train.Trainer(cfg(corpus_file, out, max_iters=40, eval_interval=100, log_interval=1, sample_chars=0),
                            log=log)
    with pytest.raises(train.TrainingInterrupted):
        trainer.run()
    assert checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["last_eval"] is None
    lines = []
    result = train.Trainer(train.resume_config(out, max_iters=5), resume=True, log=lines.append).run()
    assert any("the checkpoint is at iter 7, past max_iters 5, saved between evals" in x for x in lines), lines
    assert any(x.startswith("iter 7: train loss") for x in lines)
    rec = last_record(out)
    assert rec["iter"] == 7 and rec["final_val_loss"] == result["final_val_loss"] is not None
    assert checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["last_eval"]["final_val_loss"] == \
        rec["final_val_loss"]


def test_a_stop_asked_during_the_completed_pass_waits_for_it(corpus_file, tmp_path, env, monkeypatch):
    """Ctrl-C while the resume computes the exact pass: the pass ends, is saved, then the run stops."""
    out = tmp_path / "run"
    real = train.evaluation.val_loss_sums

    def killed(*a, **k):
        raise KeyboardInterrupt   # a second Ctrl-C there: out at once, unsaved
    monkeypatch.setattr(train.evaluation, "val_loss_sums", killed)
    with pytest.raises(KeyboardInterrupt):
        train.Trainer(cfg(corpus_file, out, max_iters=5, eval_interval=5, sample_chars=0), log=quiet).run()
    monkeypatch.setattr(train.evaluation, "val_loss_sums", real)
    trainer = None

    def log(line):
        if "computing it now" in line:
            trainer.request_stop("asked")
    trainer = train.Trainer(train.resume_config(out), resume=True, log=log)
    with pytest.raises(train.TrainingInterrupted) as e:
        trainer.run()
    assert (e.value.iter, e.value.saved) == (5, True)
    assert "final_val_loss" in checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["last_eval"]


@pytest.mark.parametrize("last_eval", [None, "x", {"iter": "5"}, {"iter": 5, "val_loss": "nan"},
                                       {"iter": 5, "val_loss": 2.0, "train_loss": 2.0, "final_val_loss": None}])
def test_what_is_left_reads_a_crafted_record_as_no_eval(last_eval):
    assert train.completion.what_is_left(last_eval, 5) in ("eval", "exact")
    assert train.completion.what_is_left({"iter": 5, "val_loss": 2.0, "train_loss": 2.1, "final_val_loss": 1.9},
                                         5) == "finished"
    assert train.completion.what_is_left({"iter": 4, "val_loss": 2.0, "train_loss": 2.1, "final_val_loss": 1.9},
                                         5) == "eval"


# ---------------------------------------------------------------- 2. temporaries left by a kill mid-save
def test_temporaries_a_kill_left_mid_save_are_removed_at_start_and_never_read(corpus_file, tmp_path, env, capsys):
    """kill -9 between writing ckpt.npz's temporary and renaming it left the temporary until the next
    save; now a run removes its own at start (under its lock), and nothing else."""
    args = ["--data", str(corpus_file), *TINY_FLAGS, "--max-iters", "10", "--eval-interval", "5"]
    out = tmp_path / "run"
    # the second save of ckpt.npz (iter 5): its temporary is whole, the rename never comes
    p = killed_at("os:replace", [*args, "--out-dir", str(out)], env,
                  when="'.ckpt.npz.' in str(args[0]) and os.path.exists(os.path.join(os.path.dirname(str(args[0])), "
                       "'ckpt.npz'))")
    assert p.returncode == -signal.SIGKILL, p.stderr
    left = sorted(out.glob(".ckpt.npz.*.tmp"))
    assert len(left) == 1 and checkpoint.load_training(left[0]).meta["iter"] == 5   # a whole archive
    assert checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["iter"] == 0  # the previous one, intact
    (out / ".best.npz.0000abcd.tmp").write_bytes(b"half a best")
    (out / "log.jsonl.tmp").write_text('{"iter": 0')
    others = [".ckpt.npz.notmine.tmp", ".ckpt.npz.12345678.tmp.keep", "x.ckpt.npz.12345678.tmp",
              ".other.npz.12345678.tmp", "ckpt.npz.12345678.tmp", ".ckpt.npz.ABCDEFGH.tmp"]
    for name in others:
        (out / name).write_text("not the run's")
    (out / ".ckpt.npz.abcdefgh.tmp").mkdir()   # its pattern, but a directory: not a file the run wrote

    # not a checkpoint: a directory holding only a temporary has none to resume
    alone = tmp_path / "alone"
    alone.mkdir()
    os.link(left[0], alone / left[0].name)
    _, _, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(alone)], capsys, check=2)
    assert f"no checkpoint to resume from at {alone / train.CHECKPOINT_NAME}" in err

    _, stdout, _ = main_of("train_charlm.py", ["--resume", "--out-dir", str(out), "--no-progress"], capsys, check=0)
    for name in (left[0].name, ".best.npz.0000abcd.tmp", "log.jsonl.tmp"):
        assert f"note: removed {out / name}, left by a run killed while writing it" in stdout
        assert not (out / name).exists()
    assert all((out / name).read_text() == "not the run's" for name in others)
    assert (out / ".ckpt.npz.abcdefgh.tmp").is_dir()
    assert checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["iter"] == 10
    # a fresh run over a directory holding only temporaries is not refused (there is no checkpoint)
    main_of("train_charlm.py", [*args, "--max-iters", "2", "--out-dir", str(alone)], capsys, check=0)
    assert not (alone / left[0].name).exists()


# ---------------------------------------------------------------- 3. signals before training starts
NOT_STARTED = "before training started: nothing was saved, since nothing had started"

# a child that runs the script as a program and signals itself when the script imports argparse (its
# first import after its first lines, before minitf and the rest): deterministic, no sleeps
SIGNAL_ON_IMPORT = """
import os, runpy, signal, sys
SIG = getattr(signal, sys.argv[1])
class Hook:
    def find_spec(self, name, path=None, target=None):
        if name == "argparse":   # the script's first import after its handler
            sys.meta_path.remove(self)
            os.kill(os.getpid(), SIG)
        return None
sys.meta_path.insert(0, Hook())
script = sys.argv[2]
sys.argv = [script, *sys.argv[3:]]
runpy.run_path(script, run_name="__main__")
"""


@pytest.mark.parametrize("sig,code,what", [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated (SIGTERM)")])
def test_a_signal_while_the_script_imports_is_one_line(sig, code, what, corpus_file, tmp_path, env):
    """SIGTERM there was the default kill (no output) when it came before the old handler's line."""
    out = tmp_path / "o"
    p = subprocess.run([sys.executable, "-c", SIGNAL_ON_IMPORT, sig, SCRIPT, "--data", str(corpus_file),
                        "--out-dir", str(out), *TINY_FLAGS, "--max-iters", "2"], env=env, capture_output=True,
                       text=True, timeout=120,
                       # a shell's background job inherits SIGINT ignored: give the child Python's default
                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert p.returncode == code, p.stderr
    assert p.stderr == f"\n{what} {NOT_STARTED}\n" and p.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_setting_up_saves_nothing_and_says_so(signum, corpus_file, tmp_path, env, capsys,
                                                             monkeypatch):
    """While the corpus is read: nothing was saved; on --resume, the checkpoint is as it was.

    In-process, so the run sees pytest's SIGINT disposition: a suite started as a shell's background
    job inherits SIGINT ignored (Python then keeps SIG_IGN), the signal was dropped and the run
    completed (the flaky failure of full-suite runs). Python's own handler, as a terminal's program
    has, is set for the test; raise_signal delivers to this (the main) thread before it returns."""
    from minitf import data
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _signal_while_setting_up(signum, corpus_file, tmp_path, capsys, monkeypatch, data)
    finally:
        signal.signal(signal.SIGINT, previous)


def _signal_while_setting_up(signum, corpus_file, tmp_path, capsys, monkeypatch, data):
    real = data.load_corpus
    run = tmp_path / "run"
    main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(run), *TINY_FLAGS, "--max-iters", "2"],
            capsys, check=0)
    before = (run / train.CHECKPOINT_NAME).read_bytes()

    def load_corpus(*a, **k):
        signal.raise_signal(signum)   # handled in the main thread, as a terminal's or a scheduler's would be
        return real(*a, **k)
    monkeypatch.setattr(data, "load_corpus", load_corpus)
    code, what = (130, "interrupted") if signum == signal.SIGINT else (143, "terminated (SIGTERM)")
    fresh = tmp_path / "fresh"
    _, _, err = main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(fresh), *TINY_FLAGS,
                                            "--max-iters", "2"], capsys, check=code)
    assert err == f"\n{what} {NOT_STARTED}\n" and not fresh.exists()
    _, _, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(run), "--max-iters", "4"], capsys,
                        check=code)
    assert err.strip() == f"{what} before training resumed: nothing was saved; the checkpoint in {run} is as it was"
    assert (run / train.CHECKPOINT_NAME).read_bytes() == before
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL   # the default is back


def test_a_ctrl_c_before_the_loop_begins_is_not_started(corpus_file, tmp_path, env, capsys, monkeypatch):
    """The trainer is built but its loop (and its stop handlers) not begun: the same line."""
    def header(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(train.loop, "header_lines", header)
    _, _, err = main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(tmp_path / "o"),
                                            *TINY_FLAGS, "--max-iters", "2"], capsys, check=130)
    assert err == f"\ninterrupted {NOT_STARTED}\n"
    assert not (tmp_path / "o" / train.CHECKPOINT_NAME).exists()


def test_stop_signals_take_over_from_raise_terminated_and_give_it_back():
    before = signal.signal(signal.SIGTERM, train.stopping.raise_terminated)
    try:
        with train.stopping.sigterm_raises():   # a program's own handler: left alone
            assert signal.getsignal(signal.SIGTERM) is train.stopping.raise_terminated
        stops = []
        with train.stopping.StopSignals(lambda reason, signum: stops.append(reason)) as s:
            assert signal.getsignal(signal.SIGTERM) == s._handle
            os.kill(os.getpid(), signal.SIGTERM)
        assert stops == ["terminated"]
        assert signal.getsignal(signal.SIGTERM) is train.stopping.raise_terminated
        with pytest.raises(train.stopping.Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL   # a second one would end the process
    finally:
        signal.signal(signal.SIGTERM, before)


# ---------------------------------------------------------------- 4. a user's mistakes with the run directory
def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def finished(corpus_file, tmp_path, env, capsys):
    """A finished run of 10 iterations (evals at 0, 5 and 10) and the arguments that made it."""
    args = ["--data", str(corpus_file), *TINY_FLAGS, "--max-iters", "10", "--eval-interval", "5"]
    out = tmp_path / "run"
    main_of("train_charlm.py", [*args, "--out-dir", str(out)], capsys, check=0)
    return out, args


def contents(out):
    return {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}


def test_a_damaged_best_npz_on_resume_is_one_line_and_changes_nothing(finished, tmp_path, capsys):
    """It was replaced by ckpt.npz's state without a word (and a best.npz of another run kept its record,
    so the resumed run's better evals would not have been saved as best)."""
    out, args = finished
    best = out / train.BEST_NAME
    good = best.read_bytes()
    best.write_bytes(good[: len(good) // 2])
    before = contents(out)
    _, said, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(out), "--max-iters", "20"], capsys, check=2)
    assert "learning-rate schedule" not in said   # it read as if the resume had begun: printed once it has
    line = one_line_error(err)
    assert f"checkpoint {best} is corrupt or truncated" in line
    assert "ckpt.npz is intact and nothing was changed: move best.npz away and --resume again" in line
    assert contents(out) == before
    _, _, err = main_of("sample.py", ["--out-dir", str(out)], capsys, check=2)   # it reads best.npz
    assert (f"checkpoint {best} is corrupt or truncated" in one_line_error(err)
            and err.strip().endswith(f"; --checkpoint last samples from {out / train.CHECKPOINT_NAME} instead"))
    # another run's best.npz (another architecture)
    other = tmp_path / "other"
    main_of("train_charlm.py", [*args, "--n-layer", "2", "--out-dir", str(other)], capsys, check=0)
    best.write_bytes((other / train.BEST_NAME).read_bytes())
    before = contents(out)
    _, _, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(out), "--max-iters", "20"], capsys, check=2)
    assert f"{best} is not of this run: it has n_layer = 2, ckpt.npz has 1" in one_line_error(err)
    assert contents(out) == before
    best.unlink()   # what the line says to do: the resume then goes on
    main_of("train_charlm.py", ["--resume", "--out-dir", str(out), "--max-iters", "20"], capsys, check=0)
    assert checkpoint.load_training(best).meta["config"]["n_layer"] == 1


def test_resume_of_a_locked_directory_is_one_line_before_any_other(finished, env, capsys):
    """The lock held by another live run: the one error line, and no schedule line before it (it
    read as if the resume had begun); once the lock is free, the resume prints the schedule."""
    out, _ = finished
    with lock_held_by_another_process(out, env) as holder:
        _, said, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(out), "--max-iters", "12"],
                               capsys, check=2)
        assert f"another run (pid {holder.pid}) is using {out}" in one_line_error(err)
        assert "learning-rate schedule" not in said
    _, said, _ = main_of("train_charlm.py", ["--resume", "--out-dir", str(out), "--max-iters", "12"], capsys, check=0)
    assert "learning-rate schedule" in said


def test_a_damaged_ckpt_npz_on_resume_says_what_to_do(finished, capsys):
    out, args = finished
    ck = out / train.CHECKPOINT_NAME
    ck.write_bytes(ck.read_bytes()[:2000])
    best_iter = checkpoint.load_training(out / train.BEST_NAME).meta["iter"]
    before = contents(out)
    _, _, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(out)], capsys, check=2)
    line = one_line_error(err)
    assert f"checkpoint {ck} is corrupt or truncated" in line
    assert (f"nothing was changed: best.npz (iter {best_iter}) loads: copy it over ckpt.npz to resume from there, "
            f"or start afresh with --overwrite") in line
    assert contents(out) == before
    (out / train.BEST_NAME).unlink()
    _, _, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(out)], capsys, check=2)
    assert "nothing was changed: start afresh with --overwrite, or use another --out-dir" in one_line_error(err)


def test_best_npz_alone_is_not_overwritten_by_a_new_run(finished, capsys):
    """A directory holding best.npz but no ckpt.npz: a new run started there and its first eval replaced
    the best state without a word."""
    out, args = finished
    (out / train.CHECKPOINT_NAME).unlink()
    good = (out / train.BEST_NAME).read_bytes()
    _, _, err = main_of("train_charlm.py", [*args, "--out-dir", str(out)], capsys, check=2)
    assert (f"{out} holds best.npz (a run's best state; no ckpt.npz): copy it to ckpt.npz and pass --resume to "
            f"continue from it, --overwrite to start afresh over it") in one_line_error(err)
    assert (out / train.BEST_NAME).read_bytes() == good
    _, _, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(out)], capsys, check=2)
    assert (f"no checkpoint to resume from at {out / train.CHECKPOINT_NAME} (run without --resume to start "
            f"training); {out / train.BEST_NAME} exists: copy it to ckpt.npz to resume from it") in one_line_error(err)
    main_of("train_charlm.py", [*args, "--out-dir", str(out), "--overwrite"], capsys, check=0)
    (out / train.CHECKPOINT_NAME).unlink()
    (out / train.CHECKPOINT_NAME).mkdir()   # not "no checkpoint" (a new run says there is one)
    _, _, err = main_of("train_charlm.py", ["--resume", "--out-dir", str(out)], capsys, check=2)
    assert f"--resume: {out / train.CHECKPOINT_NAME} is not a file (a directory?)" in one_line_error(err)


def test_a_full_disk_during_a_write_keeps_the_previous_checkpoint(corpus_file, tmp_path, env, monkeypatch, capsys):
    """The archive's write itself fails (ENOSPC from write(), not fsync): one line, ckpt.npz of the
    previous eval loads, no temporary is left."""
    import errno
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, b):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def fdopen(fd, *a, **k):
        f = real_fdopen(fd, *a, **k)
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        # ckpt.npz's temporaries after the first (iter 0's) save
        return Full(f) if name.startswith(".ckpt.npz.") and (tmp_path / "run" / train.CHECKPOINT_NAME).exists() else f
    monkeypatch.setattr(os, "fdopen", fdopen)
    out = tmp_path / "run"
    _, _, err = main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(out), *TINY_FLAGS,
                                            "--max-iters", "10", "--eval-interval", "5"], capsys, check=2)
    line = one_line_error(err)
    assert line == (f"error: cannot write the checkpoint {out / train.CHECKPOINT_NAME}: No space left on device; "
                    f"the checkpoint of iter 0 is intact")
    monkeypatch.undo()
    assert checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["iter"] == 0
    assert not list(out.glob(".*.tmp"))
    main_of("train_charlm.py", ["--resume", "--out-dir", str(out), "--no-progress"], capsys, check=0)


@pytest.mark.parametrize("sig,code,what", [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")])
def test_a_signal_while_sampling_says_the_run_is_finished(sig, code, what, corpus_file, tmp_path, env, capsys):
    """After the final eval, while the sample is drawn: SIGTERM was the default kill (-15, no output)
    and Ctrl-C said to continue with --resume, as if training were unfinished."""
    out = tmp_path / "run"
    args = ["--data", str(corpus_file), *TINY_FLAGS, "--max-iters", "10", "--eval-interval", "5"]
    main_of("train_charlm.py", [*args, "--out-dir", str(tmp_path / "first")], capsys, check=0)
    args += ["--out-dir", str(out)]
    code_line = (f"import os, signal, sys, runpy\nimport minitf.train.loop as L\nreal = L.generate_text\n"
                 f"def hooked(*a, **k):\n    os.kill(os.getpid(), signal.{sig})\n    return real(*a, **k)\n"
                 f"L.generate_text = hooked\nsys.argv = [{SCRIPT!r}, *sys.argv[1:]]\n"
                 f"runpy.run_path({SCRIPT!r}, run_name='__main__')\n")
    p = subprocess.run([sys.executable, "-c", code_line, *args], env=env, capture_output=True, text=True, timeout=300,
                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert p.returncode == code, p.stderr
    assert p.stderr.strip() == (f"{what} while sampling, after the run finished: nothing is lost, its checkpoints "
                                f"are in {out} (--resume --out-dir {out} writes the sample)")
    assert "final_val_loss" in checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["last_eval"]
    assert not (out / "samples.txt").exists()
    _, stdout, _ = main_of("train_charlm.py", ["--resume", "--out-dir", str(out), "--no-progress"], capsys, check=0)
    assert "the run is finished" in stdout
    assert (out / "samples.txt").read_text() == (tmp_path / "first" / "samples.txt").read_text()


def test_an_empty_out_dir_is_refused(corpus_file, tmp_path, env, capsys, monkeypatch):
    """`--out-dir "$UNSET"` wrote the checkpoints, log and plot into the current directory."""
    monkeypatch.chdir(tmp_path)   # where it would write
    for out in ("", "  "):
        _, _, err = main_of("train_charlm.py", ["--data", str(corpus_file), *TINY_FLAGS, "--max-iters", "2",
                                                "--out-dir", out], capsys, check=2)
        assert "out_dir is empty: an empty --out-dir would write into the current directory" in one_line_error(err)
    assert not list(tmp_path.glob("*.npz")) and not (tmp_path / train.LOG_NAME).exists()
