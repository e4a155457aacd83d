"""Guards on the documentation. Its ```python blocks themselves run through sybil
(conftest.py at the repository root): here, that they are collected at all, that
the chapters keep the examples they promise, and that the pages stand alone."""
import configparser
import re
from pathlib import Path

import pytest
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


def python_blocks(path):
    """The source of each ```python block of a Markdown file, as sybil parses it."""
    doc = Sybil([PythonCodeBlockParser()]).parse(path)
    return [ex.region.parsed for ex in doc.examples()]


def test_pytest_collects_the_docs():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    paths = cfg["tool:pytest"]["testpaths"].split()
    assert "docs" in paths and "README.md" in paths
    assert "sybil" in cfg["options.extras_require"]["test"]
    conftest = (ROOT / "conftest.py").read_text()
    assert '"docs/*.md"' in conftest and '"README.md"' in conftest


def test_block_parsing(tmp_path):
    sample = "intro\n```python\nx = 1\n```\ntext\n```bash\nls\n```\n```text\nnot run\n```\n```python\ny = x + 1\n```\n"
    path = tmp_path / "sample.md"
    path.write_text(sample, encoding="utf-8")
    assert [s.strip() for s in python_blocks(path)] == ["x = 1", "y = x + 1"]


def test_autograd_chapter_has_its_examples():
    blocks = python_blocks(ROOT / "docs" / "autograd.md")
    sources = "".join(blocks)
    assert len(blocks) >= 5
    assert "mt.gradcheck" in sources and "retain_graph=True" in sources and "no_grad" in sources


@pytest.mark.parametrize("page, needles", [
    ("attention.md", ["F.multi_head_self_attention", "backward", "attention_mask"]),
    ("transformer_blocks.md", ["norm_first=False", "F.layer_norm", "from_nanogpt"]),
    ("parallelism.md", ["nn.RNN", "nn.TransformerBlock"]),
    ("conditionals.md", ["new_cache", "F.multi_head_self_attention", "itertools.product"]),
    ("param_count.md", ["gpt_param_count", "num_parameters"]),
])
def test_chapters_have_their_examples(page, needles):
    sources = "".join(python_blocks(ROOT / "docs" / page))
    for n in needles:
        assert n in sources, f"docs/{page} lost its example using {n}"


def test_index_lists_every_page_and_the_readme_links_it():
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([\w.-]+\.md)\)", index))
    for page in (ROOT / "docs").glob("*.md"):
        if page.name != "index.md":
            assert page.name in linked, f"docs/index.md does not list {page.name}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/index.md" in readme
    in_readme = set(re.findall(r"\]\(docs/([\w.-]+\.md)\)", readme))
    for page in (ROOT / "docs").glob("*.md"):
        assert page.name in in_readme, f"README.md's Documentation section does not link docs/{page.name}"


def test_index_says_which_runs_used_which_threads():
    text = " ".join((ROOT / "docs" / "index.md").read_text(encoding="utf-8").split())
    assert "committed timing runs of chapters 4 and 5 did" in text
    for name in ("parallel_vs_rnn", "parallel_vs_rnn_batch1", "parallel_conditionals"):
        m = _results(name)["machine"]
        assert m["minitf_threads"] == 1 and "--clock cpu" in m["command"], name
    two = re.search(r"two for ([^,]+), ([^ ]+) and ([^ ,]+),", text).groups()
    for name in two:
        assert _results(name.strip("`").removesuffix(".py"))["machine"]["minitf_threads"] == 2, name


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_pages_stand_alone(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"(seed|study) notes|the seeds", text, re.I), f"{path.name} cites notes the reader lacks"
    for fig in re.findall(r"\]\((figures/[\w.-]+)\)", text):
        assert (path.parent / fig).exists(), f"{path.name} shows {fig}, which is not committed"


def _anchors(page: Path) -> set:
    """The #fragments GitHub gives the headings of ``page``: lower case, punctuation dropped, spaces as -."""
    heads = re.findall(r"^#+\s+(.+?)\s*$", re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S), re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in heads}


def broken_links(page: Path, root: Path = ROOT) -> list:
    """Relative links of ``page`` to a file that is missing or a heading that is not there, and
    repository files it names (``examples/x.py``, ``docs/results/y.json``...) that do not exist."""
    text = page.read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", "", text, flags=re.S)   # a link in a code block is not a link
    bad = []
    for target in re.findall(r"\]\(([^)\s]+)\)", prose):
        if re.match(r"[a-z]+:", target):
            continue   # http(s), mailto: not checked offline
        file, _, fragment = target.partition("#")
        dest = (page.parent / file) if file else page
        if not dest.exists():
            bad.append(target)
        elif fragment and dest.suffix == ".md" and fragment not in _anchors(dest):
            bad.append(target)
    for path in re.findall(r"(?<![\w/.])((?:docs|examples|benchmarks|minitf|tests)/[\w./-]*\.[a-z]+)\b", text):
        if "*" not in path and not (root / path).exists():
            bad.append(path)
    return bad


def test_the_link_checker_finds_what_is_broken(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.md").write_text("# B page\n## A section\n", encoding="utf-8")
    page = tmp_path / "docs" / "a.md"
    page.write_text("[ok](b.md#a-section) [gone](c.md) [anchor](b.md#no-such) [self](#b)\n"
                    "see `docs/b.md` and `examples/missing.py`\n```bash\n[not](a/link.md)\n```\n", encoding="utf-8")
    assert broken_links(page, tmp_path) == ["c.md", "b.md#no-such", "#b", "examples/missing.py"]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_links_and_named_paths_resolve(path):
    assert broken_links(path) == [], f"{path.name} links to or names what is not there"


# ------------------------------------------------------------------ quoted numbers against the committed results
# The measured chapters quote tables from docs/results/*.json. Re-running an experiment rewrites
# the JSON and the figure, not the prose: these checks fail until the quoted numbers are updated.
def _table(page):
    rows = []
    for line in (ROOT / "docs" / page).read_text(encoding="utf-8").splitlines():
        cells = [c.strip().replace(",", "").strip("*") for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.fullmatch(r"\d+", cells[0]):
            rows.append(cells)
    return rows


def _close(quoted, value, rel=0.015):
    return abs(float(quoted) - value) <= rel * abs(value) + 1e-12


def _results(name):
    import json
    return json.loads((ROOT / "docs" / "results" / f"{name}.json").read_text(encoding="utf-8"))


def _span(values, digits=1):
    """ "lo to hi" of ``values``, rounded as the prose rounds them."""
    return f"{min(values):.{digits}f} to {max(values):.{digits}f}"


def test_parallelism_chapter_quotes_its_results():
    """Chapter 4's two tables (batch 8 and batch 1) and the numbers its prose derives from them."""
    text = (ROOT / "docs" / "parallelism.md").read_text(encoding="utf-8")
    flat = " ".join(text.split())
    res, res1 = _results("parallel_vs_rnn"), _results("parallel_vs_rnn_batch1")
    by = {(r["model"], r["T"]): r for r in res["rows"]}
    by1 = {(r["model"], r["T"]): r for r in res1["rows"]}
    ms = lambda r: 1e3 * r["median_s"]
    rows = [r for r in _table("parallelism.md") if len(r) == 10]
    assert len(rows) >= 4
    for T, tr, att, rnn, lstm, tr_gf, tr_done, rnn_gf, tr_mb, rnn_mb in rows:
        T = int(T)
        for quoted, model in ((tr, "transformer"), (rnn, "rnn"), (lstm, "lstm")):
            assert _close(quoted, ms(by[(model, T)])), (T, model)
        assert _close(att, 1e3 * by[("transformer", T)]["attention_op"]["median_s"]), T
        f = by[("transformer", T)]["flops"]
        assert _close(tr_gf, f["total"] / 1e9, 0.03) and _close(tr_done, f["total_performed"] / 1e9, 0.03), T
        assert _close(rnn_gf, by[("rnn", T)]["flops"]["total"] / 1e9, 0.03)
        assert _close(tr_mb, by[("transformer", T)]["peak_bytes"] / 2 ** 20, 0.03)
        assert _close(rnn_mb, by[("rnn", T)]["peak_bytes"] / 2 ** 20, 0.03)
    rows1 = [r for r in _table("parallelism.md") if len(r) == 7]
    assert len(rows1) >= 4
    for T, tr, rnn, lstm, tr_r, rnn_r, lstm_r in rows1:
        T = int(T)
        for quoted, rate, model in ((tr, tr_r, "transformer"), (rnn, rnn_r, "rnn"), (lstm, lstm_r, "lstm")):
            assert _close(quoted, ms(by1[(model, T)])), (T, model)
            assert _close(rate, by1[(model, T)]["gflop_per_s_performed"], 0.03), (T, model)
    for result, suffix in ((res, ""), (res1, "_batch1")):
        for k in ("rnn", "lstm"):
            faster = result["crossings"][k]["lengths_where_transformer_faster"]
            m = re.search(rf"<!-- {k}_claim{suffix}: block faster at T = \[([\d, ]*)\] -->", text)
            assert m, f"parallelism.md lost its {k}_claim{suffix} marker"
            assert [int(v) for v in m.group(1).split(",") if v.strip()] == faster, (k, suffix)
    # the prose, batch 8
    Ts = sorted({r["T"] for r in res["rows"]})
    t, r = by[("transformer", 1024)], by[("rnn", 1024)]
    ratio = lambda T: by[("transformer", T)]["median_s"] / by[("rnn", T)]["median_s"]
    assert f"factor of {ratio(16):.2f} at T = 16 and {ratio(1024):.2f} at T = 1024" in flat
    assert f"cross near T = {res['crossings']['lstm']['crossing_T'][0]:.0f}" in flat
    per_token = lambda m, b=by: [b[(m, T)]["us_per_token"] for T in Ts]
    assert f"({_span(per_token('rnn'))} microseconds for the RNN and {_span(per_token('lstm'))} for the LSTM" in flat
    short = [by[("transformer", T)]["us_per_token"] for T in Ts if T <= 128]
    assert f"goes from {_span(short)} microseconds up to T = 128 to " + \
        f"{by[('transformer', 256)]['us_per_token']:.1f} at T = 256, {by[('transformer', 512)]['us_per_token']:.1f} " \
        f"at T = 512 and {t['us_per_token']:.1f} at T = 1024" in flat
    rise = t["us_per_token"] / by[("transformer", 64)]["us_per_token"]
    assert f"per token it rises {rise:.1f} times from T = 64 to T = 1024" in flat
    f = t["flops"]
    work = f["total_performed"] / r["flops"]["total"]
    rate = r["gflop_per_s_performed"] / t["gflop_per_s_performed"]
    assert f"does {f['total'] / r['flops']['total']:.1f} times the RNN's arithmetic" in flat
    assert f"computes {f['total_performed'] / 1e9:.1f} of those {f['total'] / 1e9:.1f} GFLOP, {work:.2f} times" in flat
    assert f"runs at {t['gflop_per_s_performed']:.0f} GFLOP/s of what it computes, the RNN at " \
        f"{r['gflop_per_s_performed']:.0f}" in flat
    assert f"costs {rate:.2f} times as much, and {work:.2f} x {rate:.2f} = {ratio(1024):.2f}" in flat
    a = t["attention_op"]
    rest = t["median_s"] - a["median_s"]
    assert f"takes {1e3 * a['median_s']:.0f} ms, {100 * a['median_s'] / t['median_s']:.0f}% of the block's " \
        f"{ms(t):.0f}, and runs at {a['gflop_per_s_performed']:.0f} GFLOP/s" in flat
    assert f"{1e3 * rest:.0f} ms for {f['linear'] / 1e9:.1f} GFLOP) runs at {f['linear'] / rest / 1e9:.0f}" in flat
    # one RNN step at batch 8 against the block's weight products on the same core: about three quarters
    share = r["gflop_per_s_performed"] / (f["linear"] / rest / 1e9)
    assert 0.7 < share < 0.8 and f"({r['gflop_per_s_performed']:.0f} GFLOP/s at T = 1024, against " \
        f"{f['linear'] / rest / 1e9:.0f} for the block's weight products)" in flat
    assert "about three quarters of what the core reaches on large products" in flat
    assert "about three quarters of what the core reaches on large products" in " ".join(
        (ROOT / "docs" / "rnn.md").read_text(encoding="utf-8").split())
    assert f"peaks at {t['peak_bytes'] / 2 ** 20:.0f} MiB against the RNN's {r['peak_bytes'] / 2 ** 20:.0f} MiB" in flat
    # the fraction of the T x T pairs the chunked kernel computes
    for T, pct in ((256, 56), (512, 53), (1024, 52)):
        row = by[("transformer", T)]["flops"]
        assert round(100 * row["attention_performed"] / row["attention"]) == pct and f"{pct}% at" in flat
    assert f"({100 * f['attention'] / f['total']:.0f}% of the block's FLOPs at T = 1024)" in flat
    # the shared machine: the load average and how far wall time strayed from CPU time
    for result, words in ((res, "a load average of {:.1f} over the minute"), (res1, "shared machine (load average {:.1f})")):
        assert words.format(result["machine"]["load_average_1_5_15min"][0]) in flat
        assert "shared" in result["machine"]["note"] and result["clock"] == "cpu"
    for result, words in ((res, "within {:.1f}% of the CPU time"), (res1, "within {:.1f}% of the CPU time at every T;")):
        stray = max(abs(x["wall_median_s"] / x["cpu_median_s"] - 1) for x in result["rows"])
        assert words.format(100 * stray) in flat, stray
    # the prose, batch 1
    ratio1 = lambda T, m="rnn": by1[("transformer", T)]["median_s"] / by1[(m, T)]["median_s"]
    c = res1["crossings"]["rnn"]["crossing_T"]
    assert f"cross near T = {c[0]:.0f} and T = {c[1]:.0f}" in flat
    t1, r1 = by1[("transformer", 256)], by1[("rnn", 256)]
    assert f"at T = 256 it takes {ratio1(256):.2f} of the RNN's time while computing " \
        f"{t1['flops']['total_performed'] / r1['flops']['total']:.2f} times its FLOPs" in flat
    lstm_gain = [1 / ratio1(T, "lstm") for T in Ts]
    assert f"by {_span(lstm_gain)} times" in flat
    rate1 = lambda m, b: [b[(m, T)]["gflop_per_s_performed"] for T in Ts]
    assert f"RNN computes {_span(rate1('rnn', by1), 0)} GFLOP/s, against {_span(rate1('rnn', by), 0)} at batch 8" in flat
    assert f"LSTM {min(rate1('lstm', by1)):.1f} to {max(rate1('lstm', by1)):.0f}, against " \
        f"{_span(rate1('lstm', by), 0)}" in flat
    long = [T for T in Ts if T >= 256]
    assert f"reaches {_span([by1[('transformer', T)]['gflop_per_s_performed'] for T in long], 0)} GFLOP/s from " \
        f"T = 256 on, as at batch 8 ({_span([by[('transformer', T)]['gflop_per_s_performed'] for T in long], 0)})" in flat
    step1, step8 = (1e6 * b[("rnn", 1024)]["median_s"] / 1024 for b in (by1, by))
    w = (step8 - step1) / 7
    assert f"takes {step1:.1f} microseconds at batch 1 and {step8:.1f} at batch 8" in flat
    assert f"give w = {w:.1f} and f = {step1 - w:.1f} microseconds: {100 * (step1 - w) / step1:.0f}% of" in flat
    # rnn.md sums both runs up
    rnn_md = " ".join((ROOT / "docs" / "rnn.md").read_text(encoding="utf-8").split())
    assert not res["crossings"]["rnn"]["lengths_where_transformer_faster"]
    assert "the RNN is faster than a transformer block of the same size at every length measured" in rnn_md
    faster1 = res1["crossings"]["rnn"]["lengths_where_transformer_faster"]
    assert f"the block is faster from T = {faster1[0]} to T = {faster1[-1]}." in rnn_md
    # chapter 6 quotes the attention term of this run
    pc = " ".join((ROOT / "docs" / "param_count.md").read_text(encoding="utf-8").split())
    assert f"{100 * f['attention'] / f['total']:.0f}% of the block's FLOPs counted over the full T x T" in pc
    assert f"{100 * f['attention_performed'] / f['total_performed']:.0f}% of what minitf's CPU kernel" in pc
    assert f"took {100 * a['median_s'] / t['median_s']:.0f}% of the block's run time" in pc


def test_conditionals_chapter_quotes_its_results():
    res = _results("parallel_conditionals")
    by = {(r["n"], r["b"]): r for r in res["timings"]}
    rows = [r for r in _table("conditionals.md") if len(r) == 7]
    assert len(rows) >= 4
    for n, b, pre, cache, par, speedup, formula in rows:
        r = by[(int(n), int(b))]
        for quoted, k in ((pre, "prefixes"), (cache, "cache"), (par, "parallel")):
            assert _close(quoted, 1e3 * r[k]["median_s"], 0.03), (n, b, k)
        assert _close(speedup, r["speedup_cache_over_parallel"], 0.03) and _close(formula, r["formula_speedup"], 0.03)
    nm = res["no_mask"]
    text = (ROOT / "docs" / "conditionals.md").read_text(encoding="utf-8")
    worst = max(max(a["max_abs_diff_logprob"].values()) for a in res["agreement"])
    assert f"largest difference of any log-probability is {worst:.1e}" in " ".join(text.split())
    for v in (nm["masked"]["held_out_loss_nats"], nm["unmasked"]["held_out_loss_nats"]):
        assert f"{v:.4f}" in text
    assert f"{nm['unmasked']['total_probability']:.2f}" in text


def test_param_count_chapter_quotes_its_results():
    rows = {r["name"]: r for r in _results("param_count")["rows"]}
    quoted = 0
    for line in (ROOT / "docs" / "param_count.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = cells[0].replace(" = ", "=").replace(" (the tests)", " (tests)")
        if line.startswith("|") and name in rows:
            r = rows[name]
            assert int(cells[4].replace(",", "")) == r["exact_non_embedding"], name
            assert int(cells[5].replace(",", "")) == r["formula_12_nlayer_d2"], name
            assert _close(cells[6].rstrip("%"), 100 * r["relative_gap"], 0.01), name
            quoted += 1
    assert quoted == len(rows)
    # the baby run's compute, and the rate of the recorded run (attention_maps.json) against it
    text = " ".join((ROOT / "docs" / "param_count.md").read_text(encoding="utf-8").split())
    n, (L, T, d, V), D = 4 * (12 * 128 ** 2 + 2 * 128) + 128, (4, 64, 128, 65), 2000 * 12 * 64
    with_attention, head = (6 * n + 12 * L * T * d) * D, 6 * V * d * D
    e = lambda x: f"{x:.2e}".replace("e+", "e")
    assert f"That is {e(with_attention)} FLOPs with attention's term, {e(with_attention + head)} with" in text
    run = _results("attention_maps")["checkpoint"]["last_eval"]
    per_token = (with_attention + head) / D
    assert f"trained at {run['tokens_per_s']:,.0f} tokens/s" in text and f"at {per_token / 1e6:.2f} MFLOP per" in text
    assert f"that is {per_token * run['tokens_per_s'] / 1e9:.0f} GFLOP/s" in text
    assert f"Its {run['elapsed_s']:.1f} s of steps and evaluations together average " \
        f"{(with_attention + head) / run['elapsed_s'] / 1e9:.0f} GFLOP/s" in text


def test_scaling_laws_chapter_quotes_its_results():
    """Chapter 7's tables and fits, L(N) and L(D), against docs/results/scaling_laws.json and
    data_scaling.json (4-decimal losses: exact to the rounding)."""
    text = (ROOT / "docs" / "scaling_laws.md").read_text(encoding="utf-8")
    res = _results("scaling_laws")
    runs = {}
    for r in res["sweep"] + res["predicted_model"]:
        runs.setdefault(r["n_params_non_embedding"], {})[r["seed"]] = r
    quoted = 0
    for line in text.splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 5 and re.fullmatch(r"\d+ / \d+ / \d+(, predicted)?", cells[0]):
            by_seed = runs[int(cells[1].replace(",", ""))]
            best = [v.strip("* ") for v in cells[2].split("/")]
            whole = [v.strip() for v in cells[4].split("/")]
            for k, seed in enumerate(sorted(by_seed)):
                assert best[k] == f"{by_seed[seed]['best_val_loss']:.4f}", cells
                assert whole[k] == f"{by_seed[seed]['final_val_loss_whole_split']:.4f}", cells
            quoted += 1
    assert quoted == len(runs)
    fit, pred = res["fit"], res["prediction"]
    assert f"alpha_N = {fit['alpha_N']:.4f} +- {fit['bootstrap']['alpha_std']:.4f}" in text
    assert f"predicted {pred['predicted_loss']:.4f}" in text.replace("ten points predicted", "predicted")
    # L(D)
    ds = _results("data_scaling")
    by_d = {r["train_chars"]: r for r in ds["runs"]}
    rows = [r for r in _table("scaling_laws.md") if len(r) == 6]
    assert len(rows) == len(by_d)
    for d, passes, best, at, last, fitted in rows:
        r = by_d[int(d.split()[0])]
        assert best == f"{r['best_val_loss']:.4f}" and last == f"{r['last_val_loss']:.4f}" and int(at) == r["best_iter"]
        power = (ds["fit"]["D_c"] / r["train_chars"]) ** ds["fit"]["alpha_D"]   # the fit's value at this D
        assert fitted == f"{power:.4f}", (d, fitted, power)
        assert passes == f"{ds['settings']['tokens_per_run'] / r['train_chars']:.1f}"
    f = ds["fit"]
    assert f"alpha_D = {f['alpha_D']:.4f} +- {f['bootstrap']['alpha_std']:.4f}" in text
    mantissa, exponent = f"{f['D_c']:.2e}".split("e")
    assert f"L(D) = ({mantissa} x 10^{int(exponent)} / D)^{f['alpha_D']:.4f}" in text
    lo, hi = f["bootstrap"]["alpha_95"]
    assert f"95%: {lo:.3f} to {hi:.3f}" in text
    w = f["without_largest"]
    assert f"{w['alpha_D']:.4f}" in text and f"{w['predicted_largest']:.4f}" in text
    at_500 = [next(h["val_loss"] for h in r["history"] if h["iter"] == 500) for r in ds["runs"]]
    assert ", ".join(f"{v:.3f}" for v in at_500[:-1]) + f" and\n{at_500[-1]:.3f}" in text


def test_attention_maps_chapter_quotes_its_results():
    """Every head the script describes by a kind of key (not "spread out") has its weight quoted
    in the table row of its layer and head; the checkpoint's loss and iterations are the JSON's."""
    res = _results("attention_maps")
    text = (ROOT / "docs" / "attention_maps.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and cells[0].isdigit():
            for h in re.findall(r"\d+", cells[1]):
                rows[(int(cells[0]), int(h))] = cells[2]
    assert len(rows) == len(res["heads"])
    described = 0
    for h in res["heads"]:
        row = rows[(h["layer"], h["head"])]
        if h["description"].startswith("spread out"):   # the row says so, and its bits cover this head's
            assert row.startswith("spread out"), (h["layer"], h["head"], row)
            bits = [float(v) for v in re.search(r"([\d.]+)(?: to ([\d.]+))? bits", row).groups() if v]
            assert min(bits) <= round(h["stats"]["entropy_bits"], 1) <= max(bits), (h["layer"], h["head"], row)
        else:                                          # the kind of key and its weight
            kind, weight = re.match(r"(.+): (\d\.\d\d) of the weight", h["description"]).groups()
            assert kind in row and weight in row, (h["layer"], h["head"], h["description"], row)
            described += 1
    assert described >= 4
    one = res["heads"][10]["stats"]["one key"]   # layer 2, head 2: the newline after the speaker's name
    assert one["char"] == "\n" and f"alone takes {one['weight']:.2f}" in text
    ck = res["checkpoint"]
    assert f"trained for its full {ck['iter']} iterations" in text
    assert f"validation loss of {ck['last_eval']['final_val_loss']:.2f}" in text


def test_baby_run_speed_is_quoted_from_its_record():
    """README and training.md: the recorded run's time and rate (attention_maps.json), and the 78 s
    run's average rate, which includes its evaluations, kept apart from the steps-only rate."""
    run = _results("attention_maps")["checkpoint"]["last_eval"]
    tokens = 2000 * 12 * 64
    for page in (ROOT / "README.md", ROOT / "docs" / "training.md"):
        text = " ".join(page.read_text(encoding="utf-8").split())
        assert f"{run['elapsed_s']:.1f} s, with {run['tokens_per_s']:,.0f} tokens/s over its last 250 steps" in text
        assert f"about {round(tokens / 78, -2):,.0f} tokens/s" in text, page.name
        assert "config/train_shakespeare_char.py --device=cpu" in text, page.name   # where the nanoGPT row came from


def test_distributed_chapter_quotes_its_recorded_run():
    """Run 3 of docs/distributed.md against docs/results/dist_throughput.json: medians, per-round
    figures, the allreduce per step and per buffer, the date, commit and loads."""
    import statistics
    res = _results("dist_throughput")
    text = " ".join((ROOT / "docs" / "distributed.md").read_text(encoding="utf-8").split())
    m = res["machine"]
    assert f"({m['date_utc'][11:16]} UTC), the commit measured ({m['commit'][:7]})" in text
    assert not m["uncommitted_changes"]
    loads = [m["load_average_1_5_15min_before"][0]] + [r["load_average_1min_after"] for rs in res["train"].values()
                                                       for r in rs]
    assert f"run 3, load average {min(loads):.1f} to {max(loads):.1f} (recorded)" in text
    med = {k: {q: statistics.median(r[q] for r in rs) for q in ("step_ms", "tokens_per_s", "allreduce_ms")}
           for k, rs in res["train"].items()}
    names = {"1 rank, 1 thread": "1 process, `OPENBLAS_NUM_THREADS=1`",
             "2 ranks, 1 thread each": "2 ranks, `OPENBLAS_NUM_THREADS=1` each",
             "1 rank, 2 threads": "1 process, `OPENBLAS_NUM_THREADS=2`"}
    one = med["1 rank, 1 thread"]["tokens_per_s"]
    for k, label in names.items():
        rounds = ", ".join(f"{r['tokens_per_s']:,.0f}" for r in res["train"][k])
        gain = f" ({med[k]['tokens_per_s'] / one:.2f}x)" if k.startswith("2 ranks") else ""
        comm = f"{med[k]['allreduce_ms']:.1f} ms" if k.startswith("2 ranks") else "-"
        row = f"| {label} | {med[k]['step_ms']:,.0f} ms | {med[k]['tokens_per_s']:,.0f}{gain} | {rounds} | {comm} |"
        assert row in text, row
    wins = [b["tokens_per_s"] > a["tokens_per_s"] for a, b in zip(res["train"]["1 rank, 1 thread"],
                                                               res["train"]["2 ranks, 1 thread each"])]
    assert all(wins) and "in every round of all three runs" in text
    ar = {r["bytes"]: r["ms"] for r in res["allreduce"]["results"]}
    cells = " | ".join(f"{ar[b]:.2g} ms" for b in (4, 2 ** 16, 2 ** 19, 2 ** 21, 2 ** 22, 2 ** 23, 2 ** 25))
    assert f"| MPI_Allreduce, 2 ranks, run 3 (recorded) | {cells} |" in text, cells
    bw = (2 ** 22 - 2 ** 19) / (ar[2 ** 22] - ar[2 ** 19]) / 1e6     # bytes per ms -> GB/s
    assert f"({bw:.1f} GB/s in run 3)" in text
    predicted = med["1 rank, 1 thread"]["step_ms"] / 2 + 0.34
    assert f"run 3: {predicted:.0f} ms predicted from {med['1 rank, 1 thread']['step_ms']:.0f} ms, " \
        f"{med['2 ranks, 1 thread each']['step_ms']:.0f} ms measured" in text


def test_distributed_chapter_quotes_its_overlap_runs():
    """The blocking-vs-overlapped table of docs/distributed.md against docs/results/dist_overlap_*.json."""
    import statistics
    text = " ".join((ROOT / "docs" / "distributed.md").read_text(encoding="utf-8").split())
    for name, label in (("default", "default buckets"), ("1mib", "1 MiB buckets")):
        res = _results(f"dist_overlap_{name}")
        m = res["machine"]
        assert not m["uncommitted_changes"] and m["commit"][:7] in text and m["date_utc"][:10] in text
        loads = [m["load_average_1_5_15min_before"][0]] + [r["load_average_1min_after"]
                                                           for rs in res["train"].values() for r in rs]
        assert f"*{label}, {m['date_utc'][11:16]} UTC, load average {min(loads):.1f} to {max(loads):.1f} " \
               f"(recorded)*" in text, label
        base = statistics.median(r["tokens_per_s"] for r in res["train"]["2 ranks, blocking"])
        for k, rs in res["train"].items():
            med = {q: statistics.median(r[q] for r in rs) for q in ("step_ms", "tokens_per_s", "allreduce_ms")}
            rounds = ", ".join(f"{r['tokens_per_s']:,.0f}" for r in rs)
            row = (f"| {k} | {rs[0]['buckets']} | {med['step_ms']:,.0f} ms | {med['tokens_per_s']:,.0f} "
                   f"({med['tokens_per_s'] / base:.2f}x) | {rounds} | {med['allreduce_ms']:.1f} ms |")
            assert row in text, row


def test_api_reference_lists_every_public_name():
    import importlib
    import pkgutil

    import minitf as mt
    for mod in pkgutil.iter_modules(mt.__path__):  # every submodule, imported, is a public name too
        importlib.import_module(f"minitf.{mod.name}")
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    top, tensor_part = text.split("\n## Tensor\n", 1)
    tensor_part = tensor_part.split("\n## minitf.functional\n", 1)[0]

    def listed(name, section):
        # `name`, `name(...)` or `x[...]`-style entries, in backquotes
        return re.search(r"`" + re.escape(name) + r"[`(\[]", section) is not None

    missing = [n for n in dir(mt) if not n.startswith("_") and not listed(n, top)]
    assert not missing, f"docs/api.md does not list minitf names: {missing}"
    missing = [n for n in dir(mt.Tensor) if not n.startswith("_") and not listed(n, tensor_part)]
    assert not missing, f"docs/api.md does not list Tensor attributes: {missing}"
    assert "## minitf.functional" in text and "## minitf.nn" in text


def test_autograd_chapter_shows_the_engine_tools():
    sources = "".join(python_blocks(ROOT / "docs" / "autograd.md"))
    for name in ("create_graph=True", "mt.grad(", "mt.gradgradcheck", "mt.detect_anomaly",
                 "mt.profile", "mt.to_dot"):
        assert name in sources, name
    text = (ROOT / "docs" / "autograd.md").read_text(encoding="utf-8")
    for figure in ("figures/expression.png", "figures/transformer_block.png"):
        assert figure in text and (ROOT / "docs" / figure).is_file(), figure


def test_performance_fused_step_table_is_the_committed_run():
    """docs/performance.md's one-thread generation table (the fused decoding step against 3ddca85)
    quotes docs/results/generation_ab_fused_step.json, written by benchmarks/generation_ab.py."""
    r = _results("generation_ab_fused_step")
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    block = text[text.index("| one thread, medians of 3 rounds"):]
    rows = {}
    for line in block.splitlines()[2:8]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = [c.rstrip("x") for c in cells[1:]]
    keys = {"generation, cache: tokens/s": "cache_tok_s", "generation, cache: CPU s": "cache_cpu_s",
            "generation, no cache: tokens/s": "nocache_tok_s", "generation, no cache: CPU s": "nocache_cpu_s",
            "the cache's speed-up (wall)": "speedup", "the cache's speed-up (CPU time)": "cpu_ratio"}
    assert sorted(rows) == sorted(keys) and r["threads"] == 1 and r["before_rev"] == "3ddca85"
    for label, key in keys.items():
        for quoted, side in zip(rows[label], ("before", "after")):
            half_ulp = 0.5 * 10 ** -len(quoted.split(".")[1])       # the quoted figure, rounded as printed
            assert abs(float(quoted) - r[side][key]) <= half_ulp + 1e-9, (label, side, quoted, r[side][key])
