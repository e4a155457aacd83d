"""The log and --overwrite: a failed log write says what is intact, a lost or cut log is rebuilt on
resume from the checkpoint's history (or the resume says what is lost), and --overwrite leaves the
run already in the directory whole until the new run's first checkpoint."""
import errno
import json
import os

import pytest

from minitf import checkpoint, train

from .test_train import TINY_FLAGS, cfg, corpus_file, env, losses, main_of, mpl_dir, quiet  # noqa: F401
from .test_train_reliability import one_line_error


def log_of(out):
    return [json.loads(x) for x in (out / train.LOG_NAME).read_text().splitlines()]


def full_run(corpus_file, tmp_path):
    return train.Trainer(cfg(corpus_file, tmp_path / "full", sample_chars=0), log=quiet).run()


# ---------------------------------------------------------------- (a) a log that cannot be written
def test_a_full_disk_for_the_log_names_it_and_the_intact_checkpoints(corpus_file, tmp_path, env, monkeypatch, capsys):
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")) == train.LOG_NAME:
            calls.append(fd)
            if len(calls) == 3:   # the append of iter 20's eval (after iter 0's and 10's)
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)
    monkeypatch.setattr(os, "fsync", fsync)
    out = tmp_path / "run"
    _, _, err = main_of("train_charlm.py", ["--data", str(corpus_file), "--out-dir", str(out), *TINY_FLAGS,
                                            "--max-iters", "30", "--eval-interval", "10"], capsys, check=2)
    monkeypatch.undo()
    line = one_line_error(err)
    best_iter = checkpoint.load_training(out / train.BEST_NAME).meta["iter"]
    assert line == (f"error: cannot write the log {out / train.LOG_NAME}: No space left on device; ckpt.npz (iter "
                    f"10) and best.npz (iter {best_iter}) are intact: --resume continues from ckpt.npz (and "
                    f"rebuilds the log) once {out} can be written")
    assert checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["iter"] == 10
    # the resume drops the line written past the checkpoint and goes on as the uninterrupted run
    done = train.Trainer(train.resume_config(out), resume=True, log=quiet).run()
    assert losses(log_of(out)) == losses(done["records"]) == losses(full_run(corpus_file, tmp_path)["records"])


def test_a_log_replaced_by_a_directory_mid_run_is_one_error(corpus_file, tmp_path, env):
    out = tmp_path / "run"

    def block_the_log(trainer, rec):
        if rec["iter"] == 10:
            (out / train.LOG_NAME).unlink()
            (out / train.LOG_NAME).mkdir()
    t = train.Trainer(cfg(corpus_file, out, sample_chars=0), log=quiet, callbacks=[block_the_log])
    with pytest.raises(train.OutputError) as e:
        t.run()
    assert str(e.value).startswith(f"cannot write the log {out / train.LOG_NAME}: Is a directory; ckpt.npz (iter 10)")
    assert checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["iter"] == 10


def test_a_first_log_write_that_fails_says_no_checkpoint_was_written(corpus_file, tmp_path, env, monkeypatch):
    def refuse(self, *a):
        raise train.OutputError(f"cannot write the log {self.log_path}: Permission denied")
    monkeypatch.setattr(train.RunDir, "append_log", refuse)
    with pytest.raises(train.OutputError, match="Permission denied; no checkpoint was written yet$"):
        train.Trainer(cfg(corpus_file, tmp_path / "run", sample_chars=0), log=quiet).run()


# ---------------------------------------------------------------- (c) a log lost before a resume
@pytest.mark.parametrize("damage", ["delete", "truncate", "cut"])
def test_resume_rebuilds_a_lost_or_cut_log_from_the_checkpoint(damage, corpus_file, tmp_path, env):
    out = tmp_path / "run"
    train.Trainer(cfg(corpus_file, out, max_iters=20, lr_decay_iters=30, sample_chars=0), log=quiet).run()
    before = log_of(out)
    assert [r["iter"] for r in before] == [0, 10, 20]
    assert checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["history"] == before
    log = out / train.LOG_NAME
    if damage == "delete":
        log.unlink()
    elif damage == "truncate":
        log.write_text("")
    else:   # the first line kept, the second cut mid-way, the third gone
        text = log.read_text().splitlines()
        log.write_text(text[0] + "\n" + text[1][:30])
    lines = []
    done = train.Trainer(train.resume_config(out, max_iters=30), resume=True, log=lines.append).run()
    notes = [x for x in lines if x.startswith(f"note: {log}")]
    how = {"delete": "is missing", "truncate": "held 0 of the 3 evals up to iter 20",
           "cut": "held 1 of the 3 evals up to iter 20"}[damage]
    assert notes == [f"note: {log} {how}" + ("" if damage == "delete" else " (it was cut short or edited)") +
                     ": rebuilt from ckpt.npz's record of the run's 3 evals (iters 0-20)"]
    assert log_of(out)[:3] == before and [r["iter"] for r in log_of(out)] == [0, 10, 20, 30]
    assert losses(done["records"]) == losses(full_run(corpus_file, tmp_path)["records"])


def test_an_old_checkpoint_without_history_says_what_is_lost(corpus_file, tmp_path, env):
    out = tmp_path / "run"
    train.Trainer(cfg(corpus_file, out, max_iters=20, sample_chars=0), log=quiet).run()
    ck = checkpoint.load_training(out / train.CHECKPOINT_NAME)
    meta = {k: v for k, v in ck.meta.items() if k != "history"}   # as a checkpoint of before the entry
    checkpoint.save_training(out / train.CHECKPOINT_NAME, ck.model_state, ck.optimizer_state, meta)
    (out / train.LOG_NAME).unlink()
    lines = []
    train.Trainer(train.resume_config(out, max_iters=30), resume=True, log=lines.append).run()
    note = [x for x in lines if x.startswith("note: ") and "history" in x]
    assert len(note) == 1 and "is missing" in note[0] and "only its last eval (iter 20) is restored" in note[0]
    assert "earlier evals the log lost are gone" in note[0]
    assert [r["iter"] for r in log_of(out)] == [20, 30]
    # an intact log of such a checkpoint resumes without a word
    lines = []
    train.Trainer(train.resume_config(out, max_iters=40), resume=True, log=lines.append).run()
    assert not [x for x in lines if "history" in x]


def test_a_crafted_history_is_refused(corpus_file, tmp_path, env):
    out = tmp_path / "run"
    train.Trainer(cfg(corpus_file, out, max_iters=10, sample_chars=0), log=quiet).run()
    ck = checkpoint.load_training(out / train.CHECKPOINT_NAME)
    for bad in ("x", [{"iter": 50, "train_loss": 1.0, "val_loss": 1.0}], [{"iter": 0, "val_loss": 1.0}],
                [{"iter": 10, "train_loss": 1, "val_loss": 1}, {"iter": 0, "train_loss": 1, "val_loss": 1}]):
        checkpoint.save_training(out / train.CHECKPOINT_NAME, ck.model_state, ck.optimizer_state,
                                 {**ck.meta, "history": bad})
        with pytest.raises(checkpoint.CheckpointError, match="entry 'history' must"):
            train.Trainer(train.resume_config(out, max_iters=20), resume=True, log=quiet)


# ---------------------------------------------------------------- (b) --overwrite
def test_overwrite_stopped_before_its_first_checkpoint_leaves_the_old_run_whole(corpus_file, tmp_path, env,
                                                                             monkeypatch, capsys):
    out = tmp_path / "run"
    args = ["--data", str(corpus_file), "--out-dir", str(out), *TINY_FLAGS, "--max-iters", "20",
            "--eval-interval", "10"]
    main_of("train_charlm.py", args, capsys, check=0)
    names = [train.CHECKPOINT_NAME, train.BEST_NAME, train.LOG_NAME, "samples.txt"]
    old = {n: (out / n).read_bytes() for n in names}

    def killed(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(train.evaluation, "estimate_loss", killed)   # the first eval never ends
    rc, _, err = main_of("train_charlm.py", [*args, "--overwrite", "--seed", "7"], capsys)
    assert rc == 130 and "nothing was saved" in err
    monkeypatch.undo()
    assert {n: (out / n).read_bytes() for n in names} == old
    main_of("train_charlm.py", ["--resume", "--out-dir", str(out), "--max-iters", "30", "--no-progress"],
            capsys, check=0)
    assert [r["iter"] for r in log_of(out)] == [0, 10, 20, 30]


def test_overwrite_replaces_the_old_run_at_its_first_checkpoint(corpus_file, tmp_path, env):
    out = tmp_path / "run"
    train.Trainer(cfg(corpus_file, out, max_iters=20), log=quiet).run()
    (out / "loss.png").write_bytes(b"old plot")
    assert (out / "samples.txt").exists()
    seen = {}

    def at_first_eval(trainer, rec):
        if rec["iter"] == 0:
            seen.update(files=sorted(p.name for p in out.iterdir()), log=log_of(out),
                        ckpt=checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["iter"])
    t = train.Trainer(cfg(corpus_file, out, max_iters=10, seed=7, sample_chars=0), log=quiet, overwrite=True,
                      callbacks=[at_first_eval])
    assert log_of(out)[-1]["iter"] == 20   # nothing replaced yet
    t.run()
    # the old sample and plot went with the old checkpoints; the log is the new run's alone
    assert seen["files"] == sorted([".lock", train.BEST_NAME, train.CHECKPOINT_NAME, train.LOG_NAME])
    assert [r["iter"] for r in seen["log"]] == [0] and seen["ckpt"] == 0
    assert [r["iter"] for r in log_of(out)] == [0, 10]
    assert checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["config"]["seed"] == 7


# ---------------------------------------------------------------- (d) a long run's checkpoints
def test_checkpoint_history_keeps_the_latest_and_thins_the_rest_evenly():
    recs = [{"iter": i, "train_loss": 1.0, "val_loss": 1.0} for i in range(0, 1000, 10)]
    assert train.history.checkpoint_history(recs[:12], cap=12) == recs[:12]
    for n, cap in ((13, 12), (100, 12), (100, 11), (100, 2), (57, 20)):
        kept = train.history.checkpoint_history(recs[:n], cap=cap)
        iters = [r["iter"] for r in kept]
        assert len(kept) == cap and iters == sorted(set(iters)), (n, cap)
        assert kept[-(cap // 2):] == recs[n - cap // 2:n] and kept[0] == recs[0]
        # the earlier ones evenly spaced: gaps (in evals) differ by at most one
        idx = [i // 10 for i in iters[:cap - cap // 2]]
        gaps = {b - a for a, b in zip(idx, idx[1:])}
        assert not gaps or max(gaps) - min(gaps) <= 1, (n, cap, gaps)


def test_a_long_runs_checkpoint_stays_the_same_size(corpus_file, tmp_path, env, monkeypatch):
    # an eval at every iteration, the history capped at 6 (the real cap, 500, the same way)
    monkeypatch.setattr(train.history, "HISTORY_CAP", 6)
    out, sizes, lens = tmp_path / "run", [], []

    def measure(trainer, rec):
        path = out / train.CHECKPOINT_NAME
        sizes.append(path.stat().st_size)
        lens.append(len(checkpoint.load_training(path).meta["history"]))
    kw = dict(max_iters=24, eval_interval=1, eval_iters=1, lr_decay_iters=24, sample_chars=0)
    full = train.Trainer(cfg(corpus_file, out, **kw), log=quiet, callbacks=[measure]).run()
    assert lens == [min(i + 1, 6) for i in range(25)]
    # flat past the cap (the last eval adds the exact pass's loss): the spread, a few bytes of float and
    # iteration text over 18 evals, is less than one record, where each eval added ~200 bytes before
    assert max(sizes[6:-1]) - min(sizes[6:-1]) < 200, sizes
    ck = checkpoint.load_training(out / train.CHECKPOINT_NAME)
    assert ck.meta["history"] == train.history.checkpoint_history(full["records"]) != full["records"]
    assert log_of(out) == full["records"] and len(full["records"]) == 25   # the log keeps every eval
    # a resume with the log intact: no note, the whole log kept, bit-exact with the uninterrupted run
    part = tmp_path / "part"
    train.Trainer(cfg(corpus_file, part, **{**kw, "max_iters": 15}), log=quiet).run()
    lines = []
    done = train.Trainer(train.resume_config(part, max_iters=24), resume=True, log=lines.append).run()
    assert not [x for x in lines if x.startswith("note: ") and "rebuilt" in x]
    assert losses(log_of(part)) == losses(done["records"]) == losses(full["records"])
    # a lost log comes back as the checkpoint holds it, and the note says it is thinned
    (out / train.LOG_NAME).unlink()
    lines = []
    train.Trainer(train.resume_config(out, max_iters=25), resume=True, log=lines.append).run()
    note = [x for x in lines if "rebuilt" in x]
    assert len(note) == 1 and "keeps at most 6: the latest 3, and the earlier ones thinned evenly" in note[0]
    assert log_of(out)[:6] == ck.meta["history"] and [r["iter"] for r in log_of(out)][6:] == [25]
