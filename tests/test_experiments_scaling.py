"""Experiments 4 and 5 (examples/scaling_laws.py, examples/attention_maps.py) on tiny sizes:
the fit, the cache, best-of-run losses, the schedule, and heads described from their weights."""
import json

import numpy as np
import pytest

import minitf as mt


TINY = ["--sizes", "1:2:8,1:2:16,2:2:16", "--predict", "2:2:24", "--max-iters", "12", "--eval-interval", "4",
        "--val-chars", "256", "--block-size", "16", "--batch-size", "4", "--warmup-iters", "2", "--lr", "3e-3"]


# ------------------------------------------------------------------ experiment 4: the fit
def test_fit_recovers_a_known_power_law(script):
    sl = script("scaling_laws")
    n = np.array([1e4, 3e4, 1e5, 4e5, 1e6])
    alpha, n_c = sl.fit_power_law(n, (2.5e9 / n) ** 0.07)
    assert alpha == pytest.approx(0.07, rel=1e-12) and n_c == pytest.approx(2.5e9, rel=1e-9)
    b = sl.bootstrap_fit(n, (2.5e9 / n) ** 0.07, 2e6, resamples=50)
    assert b["alpha_std"] < 1e-12 and b["predict_95"][0] == pytest.approx((2.5e9 / 2e6) ** 0.07, rel=1e-10)
    noisy = (2.5e9 / n) ** 0.07 * np.exp(np.random.default_rng(0).normal(0, 0.02, n.size))
    b = sl.bootstrap_fit(n, noisy, 2e6, resamples=200)
    assert 0 < b["alpha_std"] < 0.05 and b["alpha_95"][0] < sl.fit_power_law(n, noisy)[0] < b["alpha_95"][1]
    base = sl.ngram_baselines("ab" * 600, val_chars=50)
    assert base["val_targets"] == 50 and base["unigram"] == pytest.approx(np.log(2), rel=1e-3)
    assert base["bigram"] < 0.01                          # after a, b; after b, a: almost certain
    with pytest.raises(ValueError, match="two different sizes"):
        sl.fit_power_law([1e4, 1e4], [2.0, 2.1])


def test_scaling_laws_quick_run_and_cache(script, corpus, tmp_path):
    sl = script("scaling_laws")
    argv = ["--quick", "--data", str(corpus), "--cache-dir", str(tmp_path / "cache"), "--out",
            str(tmp_path / "r.json")] + TINY
    assert sl.main(argv) == 0
    res = json.loads((tmp_path / "r.json").read_text())
    runs = res["sweep"] + res["predicted_model"]
    assert res["trained_now"] == 4 and len(res["sweep"]) == 3 and len(res["predicted_model"]) == 1
    assert res["machine"]["blas"] and res["machine"]["minitf_threads"] >= 1 and "numpy" in res["machine"]["versions"]
    assert {r["tokens"] for r in runs} == {12 * 4 * 16}                     # one token budget for every size
    for r in runs:
        assert r["lr_decay_iters"] == r["max_iters"] == 12                  # the cosine ends at the budget
        assert r["history"][-1]["iter"] == 12 and r["history"][-1]["lr"] == pytest.approx(3e-4)
        assert r["best_val_loss"] == min(h["val_loss"] for h in r["history"])
        assert r["n_params_total"] - r["n_params_non_embedding"] == (res["corpus"]["vocab_size"] + 16) * r["n_embd"]
    # the fit is made on non-embedding N and best losses, and the prediction before the larger model ran
    n = [r["n_params_non_embedding"] for r in res["sweep"]]
    alpha, n_c = sl.fit_power_law(n, [r["best_val_loss"] for r in res["sweep"]])
    assert res["fit"]["uses"] == "non-embedding N" and res["fit"]["alpha_N"] == pytest.approx(alpha, rel=1e-12)
    assert res["prediction_before_training"]["predicted_loss"] == res["prediction"]["predicted_loss"]
    assert res["prediction"]["measured_loss"] == [res["predicted_model"][0]["best_val_loss"]]
    assert res["baselines"]["val_targets"] == 256 and res["baselines"]["bigram"] < res["baselines"]["unigram"]
    # a re-run trains nothing and gives the same numbers
    assert sl.main(argv) == 0
    again = json.loads((tmp_path / "r.json").read_text())
    assert again["trained_now"] == 0 and again["fit"] == res["fit"] and again["sweep"] == res["sweep"]
    # one more seed trains only that seed's runs
    assert sl.main(argv + ["--seeds", "2"]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["trained_now"] == 4


def test_scaling_laws_uses_the_best_validation_loss_not_the_last(script, tmp_path):
    # train on "abab..." and validate on "aabb...": the more the model learns, the worse val gets
    path = tmp_path / "shift.txt"
    path.write_text("ab" * 4500 + "aabb" * 250, encoding="utf-8")
    sl = script("scaling_laws")
    res = sl.run(sl.build_parser().parse_args(
        ["--quick", "--data", str(path), "--cache-dir", str(tmp_path / "c"), "--sizes", "1:2:16,1:2:24",
         "--predict", "1:2:24", "--max-iters", "20", "--eval-interval", "5", "--block-size", "8",
         "--batch-size", "4", "--val-chars", "256", "--lr", "1e-2"]), log=lambda line: None)
    for r in res["sweep"] + res["predicted_model"]:
        assert r["best_iter"] < r["max_iters"] and r["best_val_loss"] < r["last_val_loss"]
        assert r["best_val_loss"] == min(h["val_loss"] for h in r["history"])
    assert res["fit"]["alpha_N"] == pytest.approx(sl.fit_power_law([r["n_params_non_embedding"] for r in res["sweep"]],
                                                   [r["best_val_loss"] for r in res["sweep"]])[0], rel=1e-12)


def test_scaling_laws_bad_input_is_one_error(script, corpus, tmp_path, capsys):
    sl = script("scaling_laws")
    with pytest.raises(SystemExit) as e:
        sl.main(["--sizes", "2:3:64"])
    assert e.value.code == 2 and "n_embd a multiple of n_head" in capsys.readouterr().err
    assert sl.main(["--quick", "--data", str(tmp_path / "missing.txt"), "--cache-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert sl.main(["--quick", "--seeds", "0", "--cache-dir", str(tmp_path)]) == 2   # not the default seed count
    assert "--seeds must be at least 1" in capsys.readouterr().err
    assert sl.main(["--quick", "--max-iters", "0", "--cache-dir", str(tmp_path)]) == 2   # untrained runs: no fit
    assert "error: --max-iters must be at least 1, got 0" in capsys.readouterr().err
    if not mt.gpu_available():
        for script_main in (sl.main, script("attention_maps").main):
            assert script_main(["--quick", "--device", "gpu"]) == 2
            err = capsys.readouterr().err
            assert err.startswith("error: --device gpu is unavailable") and err.count("\n") == 1


# ------------------------------------------------------------------ experiment 5: attention maps
def test_head_descriptions_come_from_the_weights(script):
    am = script("attention_maps")
    text = "to be or not to be"
    T = len(text)
    prev = np.eye(T, k=-1)
    prev[0, 0] = 1.0
    first = np.zeros((T, T))
    first[:, 0] = 1.0
    uniform = np.tril(np.ones((T, T)))
    uniform /= uniform.sum(1, keepdims=True)
    boundary = np.zeros((T, T))           # the last space at or before each query (queries 0, 1: key 0)
    bounds = [0, 0, 2, 2, 2, 5, 5, 5, 8, 8, 8, 8, 12, 12, 12, 15, 15, 15]
    boundary[np.arange(T), bounds] = 1.0
    column = np.zeros((T, T))             # everyone from position 5 on looks at key 5
    column[np.arange(T), np.where(np.arange(T) >= 5, 5, 0)] = 1.0
    assert am.describe(am.head_stats(prev, text)).startswith("previous character: 1.00")
    assert am.describe(am.head_stats(first, text)).startswith("first character: 1.00")
    assert am.describe(am.head_stats(np.eye(T), text)).startswith("itself: 1.00")
    assert am.describe(am.head_stats(boundary, text)).startswith("last space or punctuation: 1.00")
    # 13 of the 16 queries from 2 on put all their weight there
    assert am.describe(am.head_stats(column, text), short=True) == "one key, '\u2423' at position 5: 0.81"
    s = am.head_stats(uniform, text)
    assert am.describe(s).startswith("spread out") and s["entropy_bits"] == pytest.approx(s["uniform_entropy_bits"])


def test_attention_maps_quick(script, corpus, tmp_path):
    am = script("attention_maps")
    res = am.run(am.build_parser().parse_args(["--quick", "--data", str(corpus), "--max-iters", "10",
                                               "--prompt", "the king and the fool.",
                                               "--out", str(tmp_path / "a.json"), "--figure", str(tmp_path / "a.png")]),
                 log=lambda line: None)
    P = res["weights"]
    assert P.shape == (2, 2, 22, 22)
    assert res["above_diagonal_max"] == 0.0 and res["row_sums_max_error"] < 1e-5   # float32 rows
    saved = json.loads((tmp_path / "a.json").read_text())
    assert [h["description"] for h in saved["heads"]] == [am.describe(am.head_stats(P[l, h], res["prompt"]))
                                                          for l in range(2) for h in range(2)]
    pytest.importorskip("matplotlib")
    assert (tmp_path / "a.png").stat().st_size > 1000


def test_attention_maps_bad_prompt(script, corpus, tmp_path, capsys):
    am = script("attention_maps")
    assert am.main(["--quick", "--data", str(corpus), "--max-iters", "1", "--prompt", "Z" * 5]) == 2
    assert "--prompt" in capsys.readouterr().err
    assert am.main(["--out-dir", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_scaling_laws_shapes_are_read_against_the_fit(script, corpus, tmp_path, capsys):
    sl = script("scaling_laws")
    argv = ["--quick", "--data", str(corpus), "--cache-dir", str(tmp_path / "cache"), "--out",
            str(tmp_path / "r.json"), "--shapes", "2:2:12,1:2:16", "--seeds", "2"] + TINY
    assert sl.main(argv) == 0
    res = json.loads((tmp_path / "r.json").read_text())
    # 1:2:16 is also a sweep size: the same configuration, so it comes from the cache, not trained twice
    assert res["trained_now"] == (3 + 1 + 1) * 2 and len(res["shape_runs"]) == 4
    n = [r["n_params_non_embedding"] for r in res["sweep"]]
    loss = [r["best_val_loss"] for r in res["sweep"]]
    for sh in res["shapes"]:
        runs = [r for r in res["shape_runs"] if (r["n_layer"], r["n_embd"]) == (sh["n_layer"], sh["n_embd"])]
        assert [r["seed"] for r in runs] == sh["seeds"] == [1337, 1338]
        assert sh["best_val_loss"] == [r["best_val_loss"] for r in runs]
        assert sh["fit"] == pytest.approx(float(sl.fit_and_predict(n, loss, sh["n_params_non_embedding"])[1]))
        assert sh["residual"] == pytest.approx(np.mean(sh["best_val_loss"]) - sh["fit"])
        assert sh["seed_spread"] == pytest.approx(abs(runs[0]["best_val_loss"] - runs[1]["best_val_loss"]))
    same = next(sh for sh in res["shapes"] if sh["n_embd"] == 16)
    assert same["best_val_loss"] == [r["best_val_loss"] for r in res["sweep"] if (r["n_layer"], r["n_embd"]) == (1, 16)]
    with pytest.raises(SystemExit) as e:
        sl.main(["--shapes", "2:3:64"])
    assert e.value.code == 2 and "n_embd a multiple of n_head" in capsys.readouterr().err


# ------------------------------------------------------------------ L(C): the compute frontier
def test_lower_envelope_and_flops(script):
    cf = script("compute_frontier")
    c = np.array([5.0, 1.0, 2.0, 3.0, 4.0])
    loss = np.array([1.0, 3.0, 3.5, 2.0, 2.5])
    assert cf.lower_envelope(c, loss) == [1, 3, 0]      # by C: 3.0, (3.5 beaten), 2.0, (2.5 beaten), 1.0
    r = {"n_params_non_embedding": 1000, "n_layer": 2, "n_embd": 16, "config": {"block_size": 8}, "tokens": 50}
    assert cf.train_flops(r) == (6 * 1000 + 12 * 2 * 8 * 16) * 50


def test_compute_frontier_quick_run_shares_the_sweep_cache(script, corpus, tmp_path):
    sl, cf = script("scaling_laws"), script("compute_frontier")
    common = ["--quick", "--data", str(corpus), "--cache-dir", str(tmp_path / "cache"), "--sizes", "1:2:8,1:2:16,2:2:16",
              "--eval-interval", "2", "--val-chars", "256", "--block-size", "16", "--batch-size", "4",
              "--warmup-iters", "2", "--lr", "3e-3"]
    assert sl.main(common + ["--predict", "2:2:24", "--max-iters", "12", "--out", str(tmp_path / "s.json")]) == 0
    assert cf.main(common + ["--budgets", "6,12", "--out", str(tmp_path / "f.json")]) == 0
    res = json.loads((tmp_path / "f.json").read_text())
    assert res["trained_now"] == 3 and len(res["runs"]) == 6      # the 12-iteration runs are the sweep's
    sweep = json.loads((tmp_path / "s.json").read_text())["sweep"]
    assert [r["best_val_loss"] for r in res["runs"] if r["max_iters"] == 12] == [r["best_val_loss"] for r in sweep]
    for r in res["runs"]:
        assert r["C"] == cf.train_flops(r) and r["lr_decay_iters"] == r["max_iters"]   # each its own schedule
    c, loss = np.array([r["C"] for r in res["runs"]]), np.array([r["best_val_loss"] for r in res["runs"]])
    f = res["frontier"]
    assert f["indices"] == cf.lower_envelope(c, loss)
    assert f["alpha_C"] == pytest.approx(cf.fit_power_law(c[f["indices"]], loss[f["indices"]])[0], rel=1e-12)
    # one budget alone is the fixed-D sweep: its alpha_C is alpha_N's up to the attention term
    one = res["fixed_D_fits"]["12"]
    assert one["alpha_N"] == pytest.approx(json.loads((tmp_path / "s.json").read_text())["fit"]["alpha_N"], rel=1e-12)
