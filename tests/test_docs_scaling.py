"""More guards on chapter 7 (docs/scaling_laws.md) and the batch-size chapter: the numbers their
prose quotes against the committed JSON in docs/results/, and the committed runs still being the
ones a re-run of the scripts finds in its cache."""
import json
import math
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent


def _results(name):
    return json.loads((ROOT / "docs" / "results" / f"{name}.json").read_text(encoding="utf-8"))


def _text(page):
    # one line per paragraph, so that a quoted phrase may be wrapped anywhere
    return " ".join((ROOT / "docs" / page).read_text(encoding="utf-8").split())


def test_committed_sweep_runs_are_what_a_rerun_looks_up(script):
    """Every run in scaling_laws.json is stored under the key its configuration hashes to now:
    a field added to TrainConfig since must not make a re-run train the whole sweep again."""
    sl = script("scaling_laws")
    res = _results("scaling_laws")
    s = {k: res["settings"][k] for k, *_ in sl.SETTINGS}
    for r in res["sweep"] + res["predicted_model"]:
        cfg = sl.run_config((r["n_layer"], r["n_head"], r["n_embd"]), r["seed"], s, "cpu", None)
        assert sl.run_key(cfg, res["corpus"]["sha256"], s["val_chars"]) == r["key"], (r["n_embd"], r["seed"])


def test_data_scaling_after_the_best():
    """'no later evaluation is more than 0.0001, 0.0082 and 0.0007 above it' for the three middle
    prefixes, and the last evaluation of the 262,144 prefix 0.0051 above its best."""
    ds = _results("data_scaling")
    by_d = {r["train_chars"]: r for r in ds["runs"]}
    text = _text("scaling_laws.md")
    rises = []
    for d in (131_072, 262_144, 524_288):
        r = by_d[d]
        rises.append(max(h["val_loss"] for h in r["history"] if h["iter"] > r["best_iter"]) - r["best_val_loss"])
    assert f"no later evaluation is more than {rises[0]:.4f}, {rises[1]:.4f} and {rises[2]:.4f} above it" in text
    r = by_d[262_144]
    assert f"the last is {r['last_val_loss'] - r['best_val_loss']:.4f} above" in text


def test_shapes_section_quotes_its_results():
    """The equal-N table (each seed's best loss, the fit at N, mean minus fit) and the figures the
    prose draws from it, against the "shapes" of scaling_laws.json."""
    import re
    res = _results("scaling_laws")
    by = {(s["n_layer"], s["n_head"], s["n_embd"]): s for s in res["shapes"]}
    rows = 0
    for line in (ROOT / "docs" / "scaling_laws.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 6 and re.fullmatch(r"\d+ / \d+ / \d+", cells[0]):
            sh = by[tuple(int(v) for v in cells[0].split(" / "))]
            assert int(cells[1].replace(",", "")) == sh["n_params_non_embedding"]
            assert cells[2] == f"{sh['width_over_depth']:.0f}"
            assert cells[3] == " / ".join(f"{v:.4f}" for v in sh["best_val_loss"])
            assert cells[4] == f"{sh['fit']:.4f}" and cells[5] == f"{sh['residual']:+.4f}"
            rows += 1
    assert rows == len(by) == 5          # the four of equal N, and the on-family check at the predicted N
    text = _text("scaling_laws.md")
    # the on-family model at the predicted model's N: how much of the prediction's miss is size, how much shape
    fam, pred = by[(5, 4, 172)], res["prediction"]
    lo, hi = pred["predicted_95"]
    assert abs(fam["n_params_non_embedding"] / pred["n_params_non_embedding"] - 1) < 0.005
    assert fam["mean"] < lo and pred["error"] < fam["residual"] < 0
    assert (f"Its mean, {fam['mean']:.4f}, is {-fam['residual']:.3f} below the fit and still below the ten points' "
            f"interval ({lo:.4f} to {hi:.4f})") in text
    assert f"{-fam['residual']:.3f} of {-pred['error']:.3f} nats" in text
    assert f"The other half, {fam['residual'] - pred['error']:.3f}, comes with the wider shape" in text
    assert f"Two seeds, {fam['seed_spread']:.3f} apart" in text
    assert (f"by {-by[(2, 4, 128)]['residual']:.3f} nats at d / n_layer = 64 and {-by[(1, 4, 180)]['residual']:.3f} "
            f"at 180") in text and "16:49-17:16 UTC" in res["machine"]["note"]
    deep, wide = by[(8, 4, 64)], by[(1, 4, 180)]
    assert f"by {deep['mean'] - wide['mean']:.3f} nats ({100 * (deep['mean'] - wide['mean']) / deep['mean']:.0f}% of" in text
    assert f"at most {max(s['seed_spread'] for s in by.values()):.3f} apart" in text
    big = [r["best_val_loss"] for r in res["predicted_model"]]
    assert f"comes within {wide['mean'] - sum(big) / len(big):.3f} of the 4 / 4 / 192" in text
    runs = {}
    for r in res["shape_runs"]:
        runs.setdefault((r["n_layer"], r["n_embd"]), []).append({h["iter"]: h["val_loss"] for h in r["history"]})
    gap = [sum(h[i] for h in runs[(8, 64)]) / 2 - sum(h[i] for h in runs[(1, 180)]) / 2 for i in (100, 500, 1000)]
    # the sweep's own largest seed spread as a second yardstick
    sweep = {}
    for r in res["sweep"]:
        sweep.setdefault((r["n_layer"], r["n_head"], r["n_embd"]), []).append(r["best_val_loss"])
    widest = max(sweep, key=lambda k: max(sweep[k]) - min(sweep[k]))
    spread = max(sweep[widest]) - min(sweep[widest])
    effect = deep["mean"] - wide["mean"]
    word = {6: "six", 7: "seven", 8: "eight"}[round(effect / spread)]
    assert (f"about {word} times the largest one of the "
            f"sweep ({spread:.3f}, at {' / '.join(map(str, widest))})") in text
    assert (f"a head is {wide['n_embd'] // wide['n_head']} wide at d = {wide['n_embd']} and "
            f"{deep['n_embd'] // deep['n_head']} at d = {deep['n_embd']}") in text and wide["n_head"] == deep["n_head"]
    assert "trained on 2026-12-01 between 14:25 and 14:35 UTC" in text and "14:25-14:35 UTC" in res["machine"]["note"]
    assert f"{gap[0]:.2f} nats after 100 iterations, {gap[1]:.2f} after 500 and {gap[2]:.3f} at the end" in text


def _rows(page, ncells):
    rows = []
    for line in (ROOT / "docs" / page).read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == ncells and cells[0][:1].isdigit():
            rows.append(cells)
    return rows


def test_batch_size_chapter_quotes_its_results():
    """Chapter 8's three tables (the noise scale along the run, the loss per token and per step,
    the critical-batch fits) and the numbers its prose draws from them, against batch_noise.json."""
    res = _results("batch_noise")
    noise = _rows("batch_size.md", 7)
    assert [int(r[0]) for r in noise] == [n["iter"] for n in res["noise"]]
    for row, n in zip(noise, res["noise"]):
        lo, hi = n["B_simple_95"]
        assert row[1:] == [f"{n['val_loss']:.4f}", f"{n['G2']:.4g}", f"{n['trace_sigma']:.4g}", f"{n['B_simple']:.1f}",
                           f"{lo:.1f} to {hi:.1f}", f"{n['B_simple'] * res['settings']['block_size']:,.0f}"]
    views = _rows("batch_size.md", 4)
    tok, st = res["fixed_tokens"], res["fixed_steps"]
    assert [int(r[0]) for r in views] == res["settings"]["batches"]
    for b, a, c, t in views:
        assert a == f"{tok['loss'][b]['val_loss']:.4f}" and c == f"{st['loss'][b]['val_loss']:.4f}"
        assert int(t.replace(",", "")) == st["steps"] * int(b) * res["settings"]["block_size"]
    text = _text("batch_size.md")
    assert f"loss after {tok['tokens']:,} tokens" in text and f"loss after {st['steps']} steps" in text
    gains = [st["loss"][str(a)]["val_loss"] - st["loss"][str(b)]["val_loss"] for a, b in ((4, 16), (16, 64), (64, 256))]
    assert f"by {gains[0]:.3f} from 4 to 16 blocks, {gains[1]:.3f} from 16 to 64, and only {gains[2]:.3f}" in text
    fits = _rows("batch_size.md", 6)
    targets = [t for t in res["targets"] if "fit" in t]
    assert len(fits) == len(targets) == 2
    for row, t in zip(fits, targets):
        steps = [f"{t['reached'][str(b)]['steps']:.0f}" if str(b) in t["reached"] else "-"
                 for b in res["settings"]["batches"]]
        f = t["fit"]
        loo = f["B_crit_leave_one_out"]
        assert row == [f"{t['val_loss']:.4f}", " / ".join(steps), f"{f['S_min']:.0f}", f"{f['B_crit']:.1f}",
                       f"{min(loo):.1f} to {max(loo):.1f}", f"{t['B_simple']:.1f}"]
    a, b = targets
    T = res["settings"]["block_size"]
    assert f"({a['fit']['B_crit'] * T:,.0f} to {b['fit']['B_crit'] * T:,.0f} tokens)" in text
    assert (f"{a['B_simple'] / a['fit']['B_crit']:.1f} and {b['B_simple'] / b['fit']['B_crit']:.1f} times larger"
            in text)
    s = [a["reached"][str(x)]["steps"] for x in (4, 16, 64, 256)]
    assert f"cuts the steps {s[0] / s[1]:.1f} times, from 16 only {s[1] / s[2]:.1f} times, from 64 {s[2] / s[3]:.1f}" in text
    n512 = next(n for n in res["noise"] if n["iter"] == 512)
    sq = [n512["G2"] + n512["trace_sigma"] / B for B in (4, 16, 64)]
    assert f"is {sq[0]:.2f} for a batch of 4" in text and f"{sq[1]:.2f} for a batch of 16 and {sq[2]:.2f} for 64" in text
    assert f"{sum(r['cpu_seconds'] for r in res['runs']):.0f} s of CPU time in all" in text
    by = {(r["batch"], r["lr"]): r for r in res["runs"]}
    # the noise measurements: the reference run's, and the unused one on the batch-4 run at 1e-2, which
    # the JSON drops but whose CPU time that run's cpu_seconds holds (beside the other batch-4 runs)
    extra = by[(4, 1e-2)]["cpu_seconds"] - (by[(4, 1e-3)]["cpu_seconds"] + by[(4, 3e-3)]["cpu_seconds"]) / 2
    noise_cpu = sum(n["cpu_seconds"] for n in res["noise"])
    assert f"(about {noise_cpu + extra:.0f} s of it the ten noise measurements)" in text
    assert (f"({by[(4, 1e-2)]['cpu_seconds']:.1f} s against {by[(4, 3e-3)]['cpu_seconds']:.1f} s for the other two"
            in text) and abs(by[(4, 1e-3)]["cpu_seconds"] / by[(4, 3e-3)]["cpu_seconds"] - 1) < 0.01
    # the per-token view at the runs' end, and the batch of 256's steps at the fixed token count
    end = res["at_end"]
    assert all(end[b]["tokens"] == res["settings"]["max_tokens"] and end[b]["lr"] == 3e-3 for b in ("16", "64", "256"))
    assert end["4"]["tokens"] < res["settings"]["max_tokens"]
    assert (f"{res['settings']['max_tokens']:,} tokens, which the batches of 16, 64 and 256 all reach, the losses are "
            + f"{end['16']['val_loss']:.4f}, {end['64']['val_loss']:.4f} and {end['256']['val_loss']:.4f}") in text
    r256 = next(r for r in res["runs"] if r["batch"] == 256)
    assert (f"the batch of 256 has taken {tok['tokens'] // (256 * T)} steps, {r256['warmup_iters']} of them its warmup"
            in text)
    assert tok["loss"]["256"]["lr"] == 1e-2 and "for the batch of 256 is 10^-2" in text
    # clipping: the factor by which a batch of 4's gradient is scaled at iteration 512
    assert f"a norm of about {sq[0] ** 0.5:.1f}, so clipping scales its gradients by about {sq[0] ** -0.5:.2f}" in text
    # how far below B_crit the batch of 4 is, and the examples it needs by the fits
    assert f"only {a['fit']['B_crit'] / 4:.0f} to {b['fit']['B_crit'] / 4:.0f} times below it" in text
    assert (f"it needs {1 + 4 / a['fit']['B_crit']:.2f} and {1 + 4 / b['fit']['B_crit']:.2f} times E_min" in text)
    # CPU time per step and to each loss (computed by the script: per step, noise measurements out, x steps)
    assert (f"evaluations included, are {1e3 * by[(4, 3e-3)]['cpu_seconds'] / 1024:.1f} ms at B = 4 and "
            f"{1e3 * by[(16, 3e-3)]['cpu_seconds'] / 1024:.1f} ms at 16") in text
    c1 = [a["reached"][str(x)]["cpu_seconds"] for x in (4, 16, 64, 256)]
    c2 = [b["reached"][str(x)]["cpu_seconds"] for x in (4, 16, 64)]
    assert (f"is {c1[0]:.2f} s at B = 4, {c1[1]:.2f} s at 16, {c1[2]:.2f} s at 64 and {c1[3]:.2f} s at 256 to "
            f"{a['val_loss']:.4f}, and {c2[0]:.2f} s, {c2[1]:.2f} s and {c2[2]:.2f} s at 4, 16 and 64 to "
            f"{b['val_loss']:.4f}") in text
    assert abs(c1[0] / c1[1] - 1) < 0.05
    ref = by[(16, 1e-3)]
    assert f"noise measurement, {sum(n['cpu_seconds'] for n in ref['noise']):.1f} of its {ref['cpu_seconds']:.1f} s" in text
    assert f"whose {by[(4, 1e-2)]['cpu_seconds']:.1f} s also hold" in text and "noise_cpu_seconds" not in by[(4, 1e-2)]
    # the bump of the batch of 256's curve in the figure's middle panel
    h = {e["iter"]: e["val_loss"] for e in by[(256, 3e-3)]["history"]}
    assert h[12] > h[10] > h[14] and by[(256, 3e-3)]["warmup_iters"] == 10
    assert f"from {h[10]:.3f} at step 10 to {h[12]:.3f} at step 12" in text
    # the same runs again with their evaluations timed apart (examples/batch_noise_eval_cpu.py)
    ev = _results("batch_noise_eval_cpu")
    er = {r["batch"]: r for r in ev["runs"]}
    assert all(r["same_losses_as_committed"] and r["lr"] == 3e-3 for r in ev["runs"]) and sorted(er) == [4, 16, 64, 256]
    share = lambda b: f"{er[b]['eval_cpu_seconds']:.2f} of {er[b]['cpu_seconds']:.2f} s"
    assert (f"{er[4]['eval_cpu_seconds']:.2f} s of the batch-4 run's {er[4]['cpu_seconds']:.2f} s "
            f"({100 * er[4]['eval_cpu_seconds'] / er[4]['cpu_seconds']:.0f}%), {share(16)} at 16 "
            f"({100 * er[16]['eval_cpu_seconds'] / er[16]['cpu_seconds']:.0f}%), {share(64)} at 64 "
            f"({100 * er[64]['eval_cpu_seconds'] / er[64]['cpu_seconds']:.0f}%) and {share(256)} at 256 "
            f"({100 * er[256]['eval_cpu_seconds'] / er[256]['cpu_seconds']:.0f}%)") in text
    assert (f"steps alone take {er[4]['step_cpu_ms']:.2f} ms at B = 4, {er[16]['step_cpu_ms']:.2f} ms at 16, "
            f"{er[64]['step_cpu_ms']:.1f} ms at 64 and {er[256]['step_cpu_ms']:.0f} ms at 256") in text
    s1, s2 = (next(t["step_cpu_seconds"] for t in ev["targets"] if t["iter"] == i) for i in (128, 512))
    assert (f"that is {s1['4']:.2f} s at B = 4, {s1['16']:.2f} s at 16, {s1['64']:.2f} s at 64 and {s1['256']:.2f} s "
            f"at 256 to {a['val_loss']:.4f}, and {s2['4']:.2f} s, {s2['16']:.2f} s and {s2['64']:.2f} s at 4, 16 and "
            f"64 to {b['val_loss']:.4f}") in text
    assert (f"the batch of 4 is {100 * (1 - s1['4'] / s1['16']):.0f}% cheaper than 16 to the first loss" in text
            and f"(16 cheaper by {100 * (1 - s2['16'] / s2['4']):.0f}%," in text)
    assert f"cost {s1['64'] / s1['4']:.1f} and {s1['256'] / s1['4']:.0f} times the batch of 4's" in text
    assert f"{er[4]['cpu_seconds']:.2f} s against its first training's {by[(4, 3e-3)]['cpu_seconds']:.2f} s" in text
    same = {}
    for (batch, lr), r in by.items():
        if (batch, lr) != (4, 1e-2):        # its CPU time includes a noise measurement the JSON drops (see the text)
            same.setdefault(batch, []).append(r["cpu_seconds"] - sum(n["cpu_seconds"] for n in r["noise"] or []))
    spread = max(max(v) / min(v) - 1 for v in same.values())
    assert f"within {math.ceil(100 * spread)}% of these" in text


def test_compute_section_quotes_its_results():
    """The L(C) table (every run's best loss, * on the envelope, C per token), the envelope's fit,
    the fit without the longest budget and the fixed-D slopes, against compute_frontier.json."""
    import re
    res = _results("compute_frontier")
    runs = {(r["n_layer"], r["n_embd"], r["max_iters"]): (i, r) for i, r in enumerate(res["runs"])}
    budgets = res["settings"]["budgets"]
    env = set(res["frontier"]["indices"])
    rows = 0
    for line in (ROOT / "docs" / "scaling_laws.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 7 and re.fullmatch(r"\d+ / \d+ / \d+", cells[0]):
            n_layer, _, d = (int(v) for v in cells[0].split(" / "))
            for cell, b in zip(cells[2:6], budgets):
                i, r = runs[(n_layer, d, b)]
                assert cell == f"{r['best_val_loss']:.4f}" + ("*" if i in env else ""), (cells[0], b)
                assert r["best_iter"] == b                      # "every run's best was its last evaluation"
            assert int(cells[1].replace(",", "")) == r["n_params_non_embedding"]
            assert int(cells[6].replace(",", "")) == r["C"] / r["tokens"]
            rows += 1
    assert rows == 5 and len(runs) == 5 * len(budgets) == 20
    text = _text("scaling_laws.md")
    f = res["frontier"]
    mantissa, exponent = f"{f['C_c']:.2e}".split("e")
    assert f"L(C) = ({mantissa} x 10^{int(exponent)} / C)^{f['alpha_C']:.4f}" in text
    lo, hi = f["bootstrap"]["alpha_95"]
    assert f"alpha_C = {f['alpha_C']:.4f} +- {f['bootstrap']['alpha_std']:.4f} (bootstrap; 95%: {lo:.3f} to {hi:.3f})" in text
    assert "eight points" in text and len(env) == 8 and f"({f['alpha_C_6ND']:.4f} with C = 6 N D alone)" in text
    w = f["without_longest_budget"]
    assert f"seven points and alpha_C = {w['alpha_C']:.4f} +- {w['bootstrap']['alpha_std']:.4f}" in text
    assert len(w["indices"]) == 7
    fd = res["fixed_D_fits"]
    assert f"gives {fd['1000']['alpha_C']:.4f} where L(N) on the same five runs gives {fd['1000']['alpha_N']:.4f}" in text
    fit = _results("scaling_laws")["fit"]
    assert fd["1000"]["alpha_N"] == fit["per_seed"]["1337"]          # the first seed's L(N) fit, not both seeds'
    assert f"(both seeds: {fit['alpha_N']:.4f})" in text
    # the envelope: the smallest size at every budget, the others at the longest only
    sizes = [(r["n_layer"], r["n_embd"], r["max_iters"]) for r in res["runs"]]
    on = sorted(sizes[i] for i in env)
    small = min(sizes)[:2]
    assert [x for x in on if x[:2] == small] == [small + (b,) for b in budgets]
    assert all(x[2] == budgets[-1] for x in on if x[:2] != small) and len(on) == 8
    lo_b, hi_b = runs[small + (budgets[0],)][1], runs[small + (budgets[-1],)][1]
    import math
    ld = math.log(lo_b["best_val_loss"] / hi_b["best_val_loss"]) / math.log(hi_b["tokens"] / lo_b["tokens"])
    assert (f"with one model's slope against data ({ld:.3f} for 1 / 4 / 32, from {lo_b['best_val_loss']:.4f} at "
            f"{budgets[0]} iterations to {hi_b['best_val_loss']:.4f} at {budgets[-1]})") in text
    assert f"fixed-D slope ({fd[str(budgets[-1])]['alpha_C']:.4f} across the 2000-iteration runs)" in text
    w = res["settings"]["warmup_iters"]
    assert (f"warms up for the same {w} iterations to the same peak learning rate, {100 * w / budgets[0]:.0f}% of a "
            f"{budgets[0]}-iteration run and {100 * w / budgets[-1]:.1f}% of a {budgets[-1]}-iteration one") in text
    assert all(r["config"]["warmup_iters"] == w and r["config"]["lr"] == res["settings"]["lr"] for r in res["runs"])
    # the fixed-D slope dips from the first budget to the second, by more than the seeds' fits differ
    a_n = [fd[str(b)]["alpha_N"] for b in budgets]
    dip, seeds = a_n[0] - a_n[1], fit["per_seed"]
    assert dip > abs(seeds["1337"] - seeds["1338"]) > 0
    assert (f"it dips by {dip:.3f} from {budgets[0]} to {budgets[1]} iterations, more than the two seeds' fits differ "
            f"at 1000, {seeds['1337']:.4f} against {seeds['1338']:.4f}") in text
    assert "trained on 2026-12-01 between 14:44 and 15:06 UTC" in text and "14:44-15:06 UTC" in res["machine"]["note"]
    assert f"of {fd['2000']['alpha_C']:.4f})" in text
    assert ("is " + ", ".join(f"{fd[str(b)]['alpha_N']:.4f}" for b in budgets[:-1])
            + f" and {fd[str(budgets[-1])]['alpha_N']:.4f} at the four budgets") in text
    i, big = runs[(4, 128, 2000)]
    assert f"({big['best_val_loss']:.4f} at {big['C'] / 1e13:.2f} x 10^13 FLOPs)" in text
    sl = _results("scaling_laws")
    r192 = next(r for r in sl["predicted_model"] if r["seed"] == 1337)
    c192 = (6 * r192["n_params_non_embedding"] + 12 * r192["n_layer"] * 64 * r192["n_embd"]) * r192["tokens"]
    assert f"({r192['best_val_loss']:.4f}, seed 1337, at {c192 / 1e13:.2f} x 10^13)" in text


def test_kaplan_bullet_quotes_the_fixed_d_slopes():
    fd = _results("compute_frontier")["fixed_D_fits"]
    assert (f"the slope is {fd['1000']['alpha_N']:.4f} at this budget and {fd['2000']['alpha_N']:.4f} with twice"
            in _text("scaling_laws.md"))


def test_returns_per_doubling_are_quoted_from_the_sweep():
    """'the returns *rise*': the loss gained per doubling of N between neighbouring sizes (means of
    the seeds), the fitted law's own shrinking gains, the sweep's shapes, and the characters per
    parameter of the compute section."""
    res = _results("scaling_laws")
    by = {}
    for r in res["sweep"] + res["predicted_model"]:
        by.setdefault(r["n_params_non_embedding"], []).append(r["best_val_loss"])
    ns = sorted(by)
    mean = [sum(by[n]) / len(by[n]) for n in ns]
    gain = [(mean[i] - mean[i + 1]) / math.log2(ns[i + 1] / ns[i]) for i in range(len(ns) - 1)]
    text = _text("scaling_laws.md")
    assert (f"is {gain[0]:.3f}, {gain[1]:.3f}, {gain[2]:.3f} and {gain[3]:.3f} nats, and {gain[4]:.3f} "
            f"from 4 / 4 / 128 to the predicted model") in text
    assert gain[-1] > gain[0]
    a = res["fit"]["alpha_N"]
    fit = lambda n: (res["fit"]["N_c"] / n) ** a
    assert (f"{fit(ns[0]) * (1 - 2 ** -a):.3f} nats at the smallest model's fitted loss and "
            f"{fit(ns[-1]) * (1 - 2 ** -a):.3f} at the largest's, {100 * (1 - 2 ** -a):.0f}% less") in text
    shapes = [r["n_embd"] / r["n_layer"] for r in res["sweep"]]
    big = res["predicted_model"][0]
    assert (f"has d / n_layer = {big['n_embd'] / big['n_layer']:.0f}, wider than any of the sweep's five "
            f"({min(shapes):.0f} to {max(shapes):.0f})") in text
    cf = {(r["n_layer"], r["n_embd"], r["max_iters"]): r for r in _results("compute_frontier")["runs"]}
    per = lambda L, d: [cf[(L, d, it)]["tokens"] / cf[(L, d, it)]["n_params_non_embedding"] for it in (250, 2000)]
    (a88, b88), (a128, b128) = per(3, 88), per(4, 128)
    assert f"read {a88:.1f} to {b88:.1f} (3 / 4 / 88) and {a128:.1f} to {b128:.1f} (4 / 4 / 128) characters" in text
