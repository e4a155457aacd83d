"""The two checkpoints of a run: ckpt.npz (the latest state) and best.npz (the lowest val loss so far).

A run that gets worse while staying finite (a too-high learning rate on resume) must never replace the
best state; sample.py reads best.npz unless told otherwise. The val losses are scripted (the estimate is
replaced), so that which eval is best does not depend on how a tiny model happens to train.
"""
import numpy as np
import pytest

from minitf import checkpoint, train

from .test_train import cfg, corpus_file, env, main_of, mpl_dir  # noqa: F401  (fixtures)


class Scripted(train.Trainer):
    """A trainer whose eval reports the val loss ``vals[iter]`` (and the same train loss)."""
    vals = {}

    def estimate_loss(self):
        v = self.vals[self.iter]
        return {"train": v, "val": v}


def scripted(vals):
    return type("S", (Scripted,), {"vals": vals})


def arrays(path):
    return checkpoint.load_training(path).model_state


def test_a_worse_run_never_replaces_the_best_checkpoint(corpus_file, tmp_path, env):
    out = tmp_path / "run"
    states, lines = {}, []
    keep = lambda tr, rec: states.__setitem__(rec["iter"], {k: v.numpy().copy() for k, v in tr.model.state_dict().items()})  # noqa: E731
    vals = {0: 3.0, 10: 2.0, 20: 2.05, 30: 2.5, 40: 2.6}
    result = scripted(vals)(cfg(corpus_file, out, max_iters=40, sample_chars=0), log=lines.append,
                            callbacks=[keep]).run()
    best = checkpoint.load_training(out / train.BEST_NAME)
    assert best.meta["iter"] == 10 and best.meta["best"] == {"iter": 10, "val_loss": 2.0}
    for k, v in best.model_state.items():
        np.testing.assert_array_equal(v, states[10][k])
    last = checkpoint.load_training(out / train.CHECKPOINT_NAME)
    assert last.meta["iter"] == 40 and last.meta["best"] == {"iter": 10, "val_loss": 2.0}
    assert result["best"] == {"iter": 10, "val_loss": 2.0}
    warnings = [line for line in lines if line.startswith("warning: ")]
    # 2.05 is 2.5% above the best (noise: no warning); 2.5 is 25% above: one warning; 2.6: no second one
    assert len(warnings) == 1 and warnings[0].startswith("warning: iter 30: the val loss 2.5000 is 25% above "
                                                         "the best, 2.0000 at iter 10")
    assert str(out / train.BEST_NAME) in warnings[0]

    # resumed, it goes on from the saved best: a lower val loss replaces it, a higher one does not
    scripted({**vals, 50: 1.9, 60: 1.95})(train.resume_config(out, max_iters=60), resume=True, log=lines.append).run()
    assert checkpoint.load_training(out / train.BEST_NAME).meta["best"] == {"iter": 50, "val_loss": 1.9}
    assert checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["iter"] == 60


def test_sample_reads_the_best_checkpoint_unless_told(corpus_file, tmp_path, env, capsys):
    out = tmp_path / "run"
    scripted({0: 3.0, 10: 2.0, 20: 2.5})(cfg(corpus_file, out, max_iters=20, sample_chars=0), log=lambda s: None).run()
    args = ["--out-dir", str(out), "--num-chars", "20", "--seed", "1"]
    _, best_text, err = main_of("sample.py", args, capsys, check=0)
    assert err == f"sampled from {out / train.BEST_NAME} (iter 10, the best val loss 2.0000)\n"
    _, last_text, err = main_of("sample.py", [*args, "--checkpoint", "last"], capsys, check=0)
    assert err == f"sampled from {out / train.CHECKPOINT_NAME} (iter 20)\n"
    assert train.load_model(out, which="best")[2]["iter"] == 10 and train.load_model(out)[2]["iter"] == 20
    # a run from before best.npz existed: the default falls back to ckpt.npz
    (out / train.BEST_NAME).unlink()
    _, text, err = main_of("sample.py", args, capsys, check=0)
    assert text == last_text and err.startswith(f"sampled from {out / train.CHECKPOINT_NAME}")


def test_resuming_a_checkpoint_without_best_saves_its_state_first(corpus_file, tmp_path, env):
    """The review's case: a finished run (written before best.npz existed) resumed with a learning rate
    that makes it worse. Its own state becomes best.npz before training goes on, and stays."""
    out = tmp_path / "run"
    train.Trainer(cfg(corpus_file, out, max_iters=20, sample_chars=0), log=lambda s: None).run()
    ck = checkpoint.load_training(out / train.CHECKPOINT_NAME)
    meta = {k: v for k, v in ck.meta.items() if k not in ("best", "model_keys", "optimizer")}
    state = dict(ck.optimizer_state)
    checkpoint.save_training(out / train.CHECKPOINT_NAME, ck.model_state, state, meta)  # as an old run wrote it
    (out / train.BEST_NAME).unlink()
    good = ck.meta["last_eval"]["val_loss"]
    lines = []
    scripted({30: good * 1.5, 40: good * 2})(train.resume_config(out, max_iters=40), resume=True,
                                             log=lines.append).run()
    best = checkpoint.load_training(out / train.BEST_NAME)
    assert best.meta["iter"] == 20 and best.meta["best"] == {"iter": 20, "val_loss": good}
    for k, v in ck.model_state.items():
        np.testing.assert_array_equal(best.model_state[k], v)
    assert checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["iter"] == 40
    assert sum(line.startswith("warning: iter 30: the val loss") for line in lines) == 1


def test_resume_takes_the_lower_best_when_a_kill_left_the_two_files_apart(corpus_file, tmp_path, env):
    """Killed between writing best.npz and ckpt.npz: best.npz holds iter 20's state (1.5), ckpt.npz iter 10
    and its record of the best (2.0 at 10). A resume whose estimates differ (another --eval-iters) and
    gives 1.8 at 20 must not replace the 1.5 state with a worse one."""
    out = tmp_path / "run"

    class Killed(Exception):
        pass

    class KilledBetweenTheWrites(scripted({0: 3.0, 10: 2.0, 20: 1.5})):
        def save_checkpoint(self, record=None, best=False):
            path = super().save_checkpoint(record, best)
            if best and self.iter == 20:
                raise Killed
            return path
    with pytest.raises(Killed):
        KilledBetweenTheWrites(cfg(corpus_file, out, max_iters=40, sample_chars=0), log=lambda *a: None).run()
    assert checkpoint.load_training(out / train.CHECKPOINT_NAME).meta["best"] == {"iter": 10, "val_loss": 2.0}
    held = arrays(out / train.BEST_NAME)
    c = train.resume_config(str(out), max_iters=40)
    result = scripted({20: 1.8, 30: 1.7, 40: 1.75})(c, resume=True, log=lambda *a: None).run()
    best = checkpoint.load_training(out / train.BEST_NAME)
    assert best.meta["best"] == result["best"] == {"iter": 20, "val_loss": 1.5}
    for k, v in held.items():
        np.testing.assert_array_equal(best.model_state[k], v)


def test_the_val_rise_warning_names_the_lr_in_use_scales_with_eval_iters_and_follows_its_eval(
        corpus_file, tmp_path, env):
    """The review: past the decay the warning advised 'a lower --lr (now 1e+08)' where min_lr was in use;
    at --eval-iters 4 a 7% rise is noise (the estimate's spread is sqrt(5) times the 20-batch one's);
    and the warning came before the eval line it is about."""
    lines = []
    c = cfg(corpus_file, tmp_path / "run", max_iters=40, lr_decay_iters=20, eval_iters=4, sample_chars=0)
    scripted({0: 3.0, 10: 2.0, 20: 2.15, 30: 2.5, 40: 2.6})(c, log=lines.append).run()
    assert train.best.val_rise_threshold(4) == pytest.approx(0.05 * 5 ** 0.5)
    assert train.best.val_rise_threshold(20) == train.best.val_rise_threshold(200) == 0.05
    warnings = [i for i, line in enumerate(lines) if line.startswith("warning: ")]
    assert len(warnings) == 1, lines   # 2.15 (7.5% above) is within the noise of 4 batches
    w = lines[warnings[0]]
    assert w.startswith("warning: iter 30: the val loss 2.5000 is 25% above")
    assert f"than the {c.min_lr:.3g} it trains with now" in w and f"{c.lr:g}" not in w
    assert lines[warnings[0] - 1].startswith("iter 30: train loss")   # right after its eval's line
