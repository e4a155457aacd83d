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
    assert "docs/index.md" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_pages_stand_alone(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"(seed|study) notes|the seeds", text, re.I), f"{path.name} cites notes the reader lacks"
    for fig in re.findall(r"\]\((figures/[\w.-]+)\)", text):
        assert (path.parent / fig).exists(), f"{path.name} shows {fig}, which is not committed"


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


def test_parallelism_chapter_quotes_its_results():
    res = _results("parallel_vs_rnn")
    by = {(r["model"], r["N"]): r for r in res["rows"]}
    rows = _table("parallelism.md")
    assert len(rows) >= 4
    for N, tr, rnn, lstm, tr_gf, rnn_gf, tr_mb, rnn_mb in rows:
        N = int(N)
        for quoted, model in ((tr, "transformer"), (rnn, "rnn"), (lstm, "lstm")):
            assert _close(quoted, 1e3 * by[(model, N)]["median_s"]), (N, model)
        assert _close(tr_gf, by[("transformer", N)]["flops"]["total"] / 1e9, 0.03)
        assert _close(rnn_gf, by[("rnn", N)]["flops"]["total"] / 1e9, 0.03)
        assert _close(tr_mb, by[("transformer", N)]["peak_bytes"] / 2 ** 20, 0.03)
        assert _close(rnn_mb, by[("rnn", N)]["peak_bytes"] / 2 ** 20, 0.03)
    text = (ROOT / "docs" / "parallelism.md").read_text(encoding="utf-8")
    for k, claim in (("rnn", "rnn_claim"), ("lstm", "lstm_claim")):
        faster = res["crossings"][k]["lengths_where_transformer_faster"]
        m = re.search(rf"<!-- {claim}: block faster at N = \[([\d, ]*)\] -->", text)
        assert m, f"parallelism.md lost its {claim} marker"
        assert [int(v) for v in m.group(1).split(",") if v.strip()] == faster, claim


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
