"""examples/batch_noise.py: McCandlish et al.'s noise-scale estimators on a problem whose gradient
noise is known, the critical-batch fit, and a tiny run of the whole experiment."""
import json

import numpy as np
import pytest


def test_estimators_invert_the_expected_squared_norms(script):
    bn = script("batch_noise")
    g2, trace = 0.7, 45.0
    est = bn.noise_estimates(g2 + trace / 4, g2 + trace / 64, 4, 64)   # E|G_B|^2 = |G|^2 + tr(Sigma) / B
    assert est["G2"] == pytest.approx(g2, rel=1e-12) and est["trace_sigma"] == pytest.approx(trace, rel=1e-12)
    assert est["B_simple"] == pytest.approx(trace / g2, rel=1e-12)
    with pytest.raises(ValueError, match="b_small < b_big"):
        bn.noise_estimates(1.0, 1.0, 8, 8)


def test_noise_scale_of_a_quadratic_with_known_noise(script):
    """Loss per example 0.5 |theta - x|^2 with x ~ N(mu, diag(sigma^2)): an example's gradient is
    theta - x, so G = theta - mu and tr(Sigma) = sum(sigma^2), which the estimates must recover."""
    bn = script("batch_noise")
    rng = np.random.default_rng(0)
    P = 30
    mu, sigma = rng.normal(0, 1, P), rng.uniform(0.5, 2.0, P)
    theta = mu + rng.normal(0, 0.3, P)
    g2, trace = float((theta - mu) @ (theta - mu)), float(sigma @ sigma)
    est = bn.measure_noise(lambda x: theta - x.mean(0), lambda b: mu + sigma * rng.normal(0, 1, (b, P)),
                           b_small=4, group=16, groups=400, resamples=300)
    assert (est["b_small"], est["b_big"]) == (4, 64)
    # 6400 small batches: the estimates' standard errors are about 2% (tr Sigma) and 4% (|G|^2)
    assert est["trace_sigma"] == pytest.approx(trace, rel=0.08)
    assert est["G2"] == pytest.approx(g2, rel=0.15)
    lo, hi = est["B_simple_95"]
    assert lo < trace / g2 < hi and hi / lo < 1.6
    # a batch much larger than B_simple: its gradient is mostly signal; a batch of 1, mostly noise
    assert trace / g2 > 4


def test_critical_batch_fit_and_curve_reading(script):
    bn = script("batch_noise")
    b = np.array([4, 16, 64, 256])
    f = bn.fit_critical_batch(b, 100 * (1 + 30 / b))
    assert f["S_min"] == pytest.approx(100) and f["B_crit"] == pytest.approx(30) and f["E_min"] == pytest.approx(3000)
    hist = [{"iter": 0, "val_loss": 4.0}, {"iter": 10, "val_loss": 3.0}, {"iter": 100, "val_loss": 2.0}]
    assert bn.steps_to_reach(hist, 2.5) == pytest.approx(np.sqrt(10 * 100))   # halfway in log(step)
    assert bn.steps_to_reach(hist, 3.5) == 10 and bn.steps_to_reach(hist, 1.9) is None
    assert bn.loss_at(hist, np.sqrt(1000)) == pytest.approx(2.5) and bn.loss_at(hist, 200) is None


def test_batch_noise_quick_run(script, corpus, tmp_path, capsys):
    bn = script("batch_noise")
    argv = ["--quick", "--data", str(corpus), "--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "r.json"),
            "--max-steps", "32", "--groups", "4"]
    assert bn.main(argv) == 0
    res = json.loads((tmp_path / "r.json").read_text())
    assert res["trained_now"] == 6 and res["machine"]["blas"]
    assert [n["iter"] for n in res["noise"]] == [0, 16]            # the noise iterations the run reaches
    ref = next(r for r in res["runs"] if r["noise"])
    assert (ref["batch"], ref["lr"]) == (8, 3e-3)
    for n in res["noise"]:
        h = next(h for h in ref["history"] if h["iter"] == n["iter"])
        assert n["val_loss"] == h["val_loss"] and n["b_big"] == 8 and n["groups"] == 4
        assert n["B_simple"] == pytest.approx(n["trace_sigma"] / n["G2"])
    for r in res["runs"]:                                        # a constant learning rate after the warmup
        assert all(h["lr"] == pytest.approx(r["lr"]) for h in r["history"] if h["iter"] >= r["warmup_iters"])
    t = res["targets"][0]
    assert t["val_loss"] == res["noise"][1]["val_loss"]
    if "fit" in t:
        fit = dict(t["fit"])
        assert len(fit.pop("B_crit_leave_one_out")) == len(t["reached"])
        assert fit == pytest.approx(bn.fit_critical_batch([int(b) for b in t["reached"]],
                                                          [v["steps"] for v in t["reached"].values()]))
    assert sl_equal(bn.main(argv), res, tmp_path)
    # --from-json: the same analysis from the recorded runs, nothing trained, the settings and machine kept
    again = tmp_path / "again.json"
    assert bn.main(["--from-json", str(tmp_path / "r.json"), "--out", str(again), "--figure", str(tmp_path / "f.png")]) == 0
    re_res, rec = json.loads(again.read_text()), json.loads((tmp_path / "r.json").read_text())
    assert {k: re_res[k] for k in rec} == rec and re_res["reanalysed"]["from"] == str(tmp_path / "r.json")
    for b, e in res["at_end"].items():                                # the best rate at each run's end
        ends = {r["lr"]: r["history"][-1]["val_loss"] for r in res["runs"] if r["batch"] == int(b)}
        assert e["lr"] == min(ends, key=ends.get) and e["val_loss"] == min(ends.values())
    for t in res["targets"]:                                          # CPU time to a loss: per step x steps
        for b, v in t["reached"].items():
            r = next(r for r in res["runs"] if r["batch"] == int(b) and r["lr"] == v["lr"])
            noise = sum(n["cpu_seconds"] for n in r["noise"] or [])
            assert v["cpu_seconds"] == pytest.approx(v["steps"] * (r["cpu_seconds"] - noise) / r["steps"])
    (tmp_path / "bad.json").write_text("{}")
    assert bn.main(["--from-json", str(tmp_path / "bad.json"), "--out", str(again)]) == 2
    assert "not a results JSON of batch_noise.py" in capsys.readouterr().err
    assert bn.main(argv + ["--ref-batch", "5"]) == 2
    assert "--ref-batch must be one of --batches" in capsys.readouterr().err


def test_budgets_and_sizes_that_cannot_run_are_one_line_errors(script, corpus, tmp_path, capsys):
    """Zero sizes, a budget too small to compare the batches (the analysis read no run's loss), and a
    --committed file that is not batch_noise.py's: one error line, exit status 2, before any training."""
    bn, ev = script("batch_noise"), script("batch_noise_eval_cpu")
    argv = ["--quick", "--data", str(corpus), "--cache-dir", str(tmp_path / "c")]
    for extra, needle in ((["--max-tokens", "0"], "--max-tokens must be at least 1, got 0"),
                          (["--b-small", "0"], "--b-small must be at least 1"),
                          (["--block-size", "0"], "--block-size must be at least 1"),
                          (["--max-steps", "0"], "--max-steps must be at least 1"),
                          (["--max-tokens", "1"], "too small to compare the batches")):
        assert bn.main(argv + extra) == 2, extra
        err = capsys.readouterr().err
        assert err.startswith("error: ") and needle in err and err.count("\n") == 1, err
    assert ev.main(argv + ["--committed", str(tmp_path / "none.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --committed {tmp_path / 'none.json'}: not a results JSON") and err.count("\n") == 1
    assert not (tmp_path / "c").exists()   # nothing was trained


def sl_equal(rc, res, tmp_path):
    """A re-run trains nothing and gives the same analysis."""
    again = json.loads((tmp_path / "r.json").read_text())
    return rc == 0 and again["trained_now"] == 0 and again["targets"] == res["targets"] and again["noise"] == res["noise"]


def test_measuring_the_noise_leaves_the_run_unchanged(script, corpus, tmp_path):
    """The noise estimate's gradients and batches are its own: a run that measures it follows the
    same trajectory as one that does not (which lets the cache serve one for the other)."""
    bn = script("batch_noise")
    from minitf import data
    p = dict(bn.QUICK, max_steps=16, groups=3, val_chars=256)
    text = data.load_corpus(str(corpus), progress=False, log=lambda line: None)
    plain, _ = bn.get_run(p, 4, 1e-2, "cpu", text, tmp_path / "a", lambda line: None, noise=False)
    measured, _ = bn.get_run(p, 4, 1e-2, "cpu", text, tmp_path / "b", lambda line: None, noise=True)
    assert measured["noise"] and plain["noise"] is None
    assert [h["val_loss"] for h in measured["history"]] == [h["val_loss"] for h in plain["history"]]
    # and the cache gives the measured run where a plain one is asked for, without its noise
    again, trained = bn.get_run(p, 4, 1e-2, "cpu", text, tmp_path / "b", lambda line: None, noise=False)
    assert not trained and again["noise"] is None and again["history"] == measured["history"]
    # its CPU time still holds the measurement: the served copy says how much, and the per-step cost drops it
    spent = sum(n["cpu_seconds"] for n in measured["noise"])
    assert spent > 0 and again["noise_cpu_seconds"] == pytest.approx(spent)
    assert bn.cpu_per_step(again) == pytest.approx(bn.cpu_per_step(measured))


def test_eval_cpu_script_splits_the_runs_cpu_time(script, corpus, tmp_path):
    """examples/batch_noise_eval_cpu.py trains batch_noise.py's runs again, the same losses as
    batch_noise.py's own, and counts its evaluations' CPU time apart from the steps'."""
    bn, ev = script("batch_noise"), script("batch_noise_eval_cpu")
    common = ["--quick", "--data", str(corpus), "--max-steps", "32", "--groups", "4", "--batches", "2,8"]
    assert bn.main(common + ["--cache-dir", str(tmp_path / "c"), "--out", str(tmp_path / "bn.json")]) == 0
    committed = json.loads((tmp_path / "bn.json").read_text())
    lr = next(iter(committed["targets"][-1]["reached"].values()))["lr"]   # a rate some target was reached at
    assert ev.main(common + ["--lr", str(lr), "--committed", str(tmp_path / "bn.json"),
                             "--out", str(tmp_path / "ev.json")]) == 0
    res = json.loads((tmp_path / "ev.json").read_text())
    assert [r["batch"] for r in res["runs"]] == [2, 8]
    for r in res["runs"]:
        assert r["same_losses_as_committed"] is True
        assert 0 < r["eval_cpu_seconds"] < r["cpu_seconds"]
        assert abs(r["step_cpu_ms"] - 1e3 * (r["cpu_seconds"] - r["eval_cpu_seconds"]) / r["steps"]) < 1e-9
    for t in res["targets"]:
        src = next(c for c in committed["targets"] if c["iter"] == t["iter"])
        for b, s in t["step_cpu_seconds"].items():
            step = next(r["step_cpu_ms"] for r in res["runs"] if r["batch"] == int(b))
            assert src["reached"][b]["lr"] == lr and abs(s - src["reached"][b]["steps"] * step / 1e3) < 1e-9
    assert res["targets"]
    assert ev.train.Trainer._eval.__name__ == "_eval"             # the clock is removed again
