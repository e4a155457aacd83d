"""Experiment 4b (examples/data_scaling.py, L(D) at fixed N) on tiny sizes: the runs see only their
prefix of the training split, are scored by their best validation loss, are cached, and are fitted."""
import json

import numpy as np
import pytest

from minitf import train



@pytest.fixture(scope="module")
def ds(script):
    return script("data_scaling")


def test_a_run_draws_its_batches_from_its_prefix_only(ds, corpus, tmp_path):
    """The prepare hook narrows the training split to its first D characters; validation is untouched."""
    cfg = train.make_config("baby", n_layer=1, n_head=2, n_embd=16, block_size=8, batch_size=4, max_iters=1,
                            data=str(corpus), out_dir=str(tmp_path / "run"), progress=False, sample_chars=0)
    t = train.Trainer(cfg, log=lambda line: None)
    full_val = t.sampler.data["val"].copy()
    ds.restrict_training_split(100)(t)
    assert len(t.sampler.data["train"]) == 100 and np.array_equal(t.sampler.data["val"], full_val)
    prefix = t.sampler.data["train"]
    for _ in range(20):
        x, y = t.sampler.get_batch("train")
        for row, nxt in zip(x.numpy(), y.numpy()):   # every row is a window of the prefix
            starts = [i for i in range(len(prefix) - 8) if np.array_equal(prefix[i:i + 8], row)]
            assert starts and np.array_equal(prefix[starts[0] + 1:starts[0] + 9], nxt)
    t.run_dir.unlock()


def test_quick_run_fits_caches_and_shows_the_data_limit(ds, corpus, tmp_path):
    argv = ["--quick", "--data", str(corpus), "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "r.json")]
    assert ds.main(argv) == 0
    res = json.loads((tmp_path / "r.json").read_text())
    runs = res["runs"]
    n_train = res["corpus"]["train_chars"]
    assert [r["train_chars"] for r in runs] == [128, 512, 2048, n_train] and res["trained_now"] == 4
    assert len({r["n_params_non_embedding"] for r in runs}) == 1          # one model size throughout
    assert {r["tokens"] for r in runs} == {res["settings"]["tokens_per_run"]}
    for r in runs:
        assert r["best_val_loss"] == min(h["val_loss"] for h in r["history"])   # early stopping
    # the smallest prefix over-fits: its best comes early and its last eval is worse
    small = runs[0]
    assert small["best_iter"] < small["max_iters"] and small["last_val_loss"] > small["best_val_loss"]
    # more data, a lower loss, and the fit is the one on these points
    assert runs[-1]["best_val_loss"] < runs[0]["best_val_loss"]
    alpha, _ = ds.fit_power_law([r["train_chars"] for r in runs], [r["best_val_loss"] for r in runs])
    assert res["fit"]["alpha_D"] == pytest.approx(alpha, rel=1e-12) and alpha > 0
    assert "without_largest" in res["fit"]
    # a re-run trains nothing and gives the same numbers
    assert ds.main(argv) == 0
    again = json.loads((tmp_path / "r.json").read_text())
    assert again["trained_now"] == 0 and again["fit"] == res["fit"]


def test_bad_sizes_are_one_line(ds, corpus, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        ds.main(["--sizes", "100"])
    assert e.value.code == 2 and "two or more distinct" in capsys.readouterr().err
    assert ds.main(["--quick", "--data", str(corpus), "--cache-dir", str(tmp_path), "--sizes", "10,100"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --sizes: 10 training characters") and err.count("\n") == 1
    assert ds.main(["--quick", "--data", str(corpus), "--cache-dir", str(tmp_path), "--sizes",
                    f"100,{10 ** 7}"]) == 2
    assert "training split" in capsys.readouterr().err
    for flag in ("--max-iters", "--val-chars"):   # no training, no validation: refused, not divided by
        assert ds.main(["--quick", "--data", str(corpus), "--cache-dir", str(tmp_path), flag, "0"]) == 2
        assert f"error: {flag} must be at least 1, got 0" in capsys.readouterr().err
    import minitf as mt
    if not mt.gpu_available():
        assert ds.main(["--quick", "--device", "gpu", "--cache-dir", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --device gpu is unavailable") and err.count("\n") == 1
