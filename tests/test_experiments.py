"""The experiment scripts of examples/ in their --quick mode: they run, and their results say what they claim."""
import importlib.util
import json
import math

import pytest

pytestmark = pytest.mark.usefixtures("restore_rng")  # the scripts call minitf.manual_seed


# ------------------------------------------------------------------ shared helpers
def test_common_writes_json_and_records_the_machine(script, tmp_path):
    common = script("_common")
    info = common.machine_info("cpu", note="test")
    assert info["usable_cores"] >= 1 and info["minitf_threads"] >= 1 and info["note"] == "test"
    assert info["blas"] and "numpy" in info["versions"]
    import numpy as np
    path = common.save_results(tmp_path / "sub" / "r.json", {"x": np.float32(1.5), "a": np.arange(3),
                                                             "nan": float("nan")})
    assert json.loads(path.read_text()) == {"x": 1.5, "a": [0, 1, 2], "nan": None}


def test_time_alternating_rotates_the_order(script):
    common = script("_common")
    calls = []
    res = common.time_alternating({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
                                  repeats=4, warmup=0)
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert set(res) == {"a", "b"} and len(res["a"]["times_s"]) == len(res["a"]["cpu_times_s"]) == 4
    spin = common.time_alternating({"sleep": lambda: __import__("time").sleep(0.01)}, repeats=2, warmup=0,
                                   clock="cpu")["sleep"]
    assert spin["wall_median_s"] >= 0.009 > spin["cpu_median_s"] == spin["median_s"]  # sleeping uses no CPU


# ------------------------------------------------------------------ experiment 3
def test_param_count_quick(script, tmp_path):
    pc = script("param_count")
    res = pc.main(["--quick", "--out", str(tmp_path / "pc.json")])
    assert json.loads((tmp_path / "pc.json").read_text())["rows"]
    for r in res["rows"]:
        # the count from the shapes equals the built model's and the closed form
        assert r["exact_non_embedding"] == r["built_non_embedding"] == r["closed_form"]
        d, L = r["d"], r["n_layer"]
        assert r["formula_12_nlayer_d2"] == r["formula_2d_nlayer_2dattn_dff"] == 12 * L * d * d
        # the gap is exactly the vectors: 13 d per block + 2 d with biases, 2 d per block + d without
        gap = r["exact_non_embedding"] - 12 * L * d * d
        assert gap == (L * 13 * d + 2 * d if r["bias"] else L * 2 * d + d)
        c = r["compute_per_token"]
        assert c["six_N"] == 6 * r["exact_non_embedding"]
        assert c["attention_term"] == 12 * L * r["block_size"] * d


def test_param_count_scaling(script):
    pc = script("param_count")
    rows = pc.run([("a", 2, 2, 64, 128, 50, True), ("2d", 2, 2, 128, 128, 50, True),
                   ("2L", 4, 2, 64, 128, 50, True)], build_limit=0)
    a, wide, deep = (r["formula_12_nlayer_d2"] for r in rows)
    assert wide == 4 * a and deep == 2 * a             # quadratic in d, linear in n_layer
    assert all("built_non_embedding" not in r for r in rows)  # nothing was built
    big = pc.run([("GPT-2 XL", 48, 25, 1600, 1024, 50257, True)], build_limit=0)[0]
    assert big["breakdown"]["total"] == 1_557_611_200 and abs(big["relative_gap"]) < 1e-3


# ------------------------------------------------------------------ experiment 1
def test_parallel_vs_rnn_quick(script):
    ex = script("parallel_vs_rnn")
    res = ex.main(["--quick", "--lengths", "8", "16", "--repeats", "1"])
    p = res["params"]
    assert abs(p["rnn"] / p["transformer"] - 1) < 0.05 and abs(p["lstm"] / p["transformer"] - 1) < 0.05
    rows = {(r["model"], r["T"]): r for r in res["rows"]}
    for k in ex.MODELS:
        a, b = rows[(k, 8)], rows[(k, 16)]
        assert a["sequential_steps"] == (1 if k == "transformer" else 8)
        assert b["sequential_steps"] == (1 if k == "transformer" else 16)
        assert a["median_s"] > 0 and a["peak_bytes"] > 0
        # recurrent FLOPs are linear in T; the block's attention term is quadratic
        assert b["flops"]["linear"] == 2 * a["flops"]["linear"]
        assert b["flops"]["attention"] == 4 * a["flops"]["attention"]
        # below 4 query chunks the kernel computes the full T x T scores
        assert b["flops"]["total_performed"] == b["flops"]["total"]
    assert rows[("rnn", 8)]["flops"]["attention"] == 0 < rows[("transformer", 8)]["flops"]["attention"]
    assert set(res["crossings"]) == {"rnn", "lstm"}


def test_attention_pairs_are_the_kernels(script):
    """The script's count of the (query, key) scores minitf computes follows the kernel's own chunks."""
    from minitf.ops.attention import _QUERY_CHUNK, _query_chunks
    ex = script("parallel_vs_rnn")
    assert ex.QUERY_CHUNK == _QUERY_CHUNK
    for T in (16, 64, 127, 128, 200, 256, 512, 1024):
        kernel = sum((b - a) * nk for a, b, nk in _query_chunks(T, T, True))
        assert ex.attention_pairs(T, "cpu") == kernel, T
        assert ex.attention_pairs(T, "gpu") == T * T
    # the fractions of the full T x T quoted in docs/parallelism.md: 56%, 53%, 52%
    assert [round(100 * ex.attention_pairs(T, "cpu") / T ** 2) for T in (256, 512, 1024)] == [56, 53, 52]
    f = ex.flops("transformer", 8, 1024, 64, 64)
    assert f["total_performed"] < f["total"] and f["linear"] + f["attention_performed"] == f["total_performed"]


def test_matched_hidden(script):
    ex = script("parallel_vs_rnn")
    for d, target in ((16, 3280), (64, 49984)):
        for gates in (1, 4):
            h = ex.matched_hidden(target, d, gates)
            best = min(range(1, 400), key=lambda k: abs(gates * (k * d + k * k + 2 * k) - target))
            assert h == best


# ------------------------------------------------------------------ experiment 2
def test_parallel_conditionals_quick(script):
    ex = script("parallel_conditionals")
    res = ex.main(["--quick", "--repeats", "1"])
    for a in res["agreement"]:
        assert max(a["max_abs_diff_logprob"].values()) <= 1e-10 and a["agree_1e-10"]
        assert a["replica_forward_max_diff"] <= 1e-12
        ll = list(a["log_likelihood"].values())
        assert max(ll) - min(ll) <= 1e-10 * abs(ll[0])
    for r in res["timings"]:
        n = r["n"]
        assert r["prefixes"]["positions"] == n * (n + 1) // 2 and r["parallel"]["passes"] == 1
        assert r["formula_speedup"] == n / max(n / r["b"], math.log2(n))
    leak = res["future_leak"]["max_change_of_earlier_logits"]
    assert leak["masked"] == 0.0 and leak["unmasked"] > 1e-6
    nm = res["no_mask"]
    assert abs(nm["masked"]["total_probability"] - 1) < 1e-9     # a true distribution over sequences
    assert nm["unmasked"]["total_probability"] > 2                # "probabilities" that add up to more than 1
    assert nm["unmasked"]["held_out_loss_nats"] < nm["entropy_bound_nats"] - 0.5   # beats the entropy: cheating
    assert nm["masked"]["held_out_loss_nats"] > nm["entropy_bound_nats"] - 0.05    # the honest model cannot


def test_bad_flags_are_one_line_errors(script, capsys):
    ex = script("parallel_vs_rnn")
    with pytest.raises(SystemExit) as e:
        ex.main(["--quick", "--d", "15"])
    assert e.value.code == 2 and "not divisible" in capsys.readouterr().err
    for flag in ("--batch", "--d", "--repeats", "--heads"):   # a 0 is refused, never taken for the default
        with pytest.raises(SystemExit) as e:
            ex.main(["--quick", flag, "0"])
        assert e.value.code == 2 and f"{flag} must be positive, got 0" in capsys.readouterr().err


def test_figures_are_drawn_or_explained(script, tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    pc = script("param_count")
    pc.main(["--quick", "--figure", str(tmp_path / "f.png")])
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setattr(pc, "pyplot", lambda: None)          # as if matplotlib were not installed
    pc.main(["--quick", "--figure", str(tmp_path / "g.png")])
    assert "matplotlib is not installed" in capsys.readouterr().out and not (tmp_path / "g.png").exists()


def test_unusable_gpu_is_one_line_exit_2(script, capsys):
    import minitf as mt
    if mt.gpu_available():
        pytest.skip("this machine has a GPU")
    ex = script("parallel_conditionals")
    with pytest.raises(SystemExit) as e:
        ex.main(["--quick", "--device", "gpu"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("error: --device gpu:") and err.count("\n") == 1


def test_unwritable_outputs_are_one_line_exit_2(script, tmp_path, capsys):
    """--out, --figure, --cache-dir and draw_graphs' --out that cannot be written: one line naming the
    path and the cause, exit status 2, no traceback and no temporary left behind."""
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    pc = script("param_count")
    cases = [(lambda: pc.main(["--quick", "--out", str(blocker / "r.json")]), f"cannot write {blocker / 'r.json'}"),
             (lambda: pc.main(["--quick", "--out", str(tmp_path)]), f"cannot write {tmp_path}: Is a directory"),
             (lambda: script("_common").make_dir(blocker / "cache", "--cache-dir "), "--cache-dir"),
             (lambda: script("draw_graphs").main(["--out", str(blocker)]), f"--out {blocker} exists and is not a folder")]
    if importlib.util.find_spec("matplotlib"):   # without it no figure is drawn, nor written
        cases.append((lambda: pc.main(["--quick", "--figure", str(blocker / "f.png")]), f"cannot write {blocker / 'f.png'}"))
    for call, needle in cases:
        with pytest.raises(SystemExit) as e:
            call()
        err = capsys.readouterr().err
        assert e.value.code == 2 and err.startswith("error: ") and err.count("\n") == 1, err
        assert needle in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_draw_graphs_writes_into_the_repository_docs_by_default(script, tmp_path, monkeypatch):
    """Run from another folder, the default --out is still the repository's docs/figures (as every
    experiment's default outputs), not a docs/figures made in the current directory."""
    dg = script("draw_graphs")
    monkeypatch.chdir(tmp_path)
    asked = []

    def record(path, flag=""):
        asked.append(str(path))
        raise SystemExit(0)   # no drawing: where it would go is the point
    monkeypatch.setattr(dg, "make_dir", record)
    with pytest.raises(SystemExit):
        dg.main([])
    assert asked == [str(dg.Path(dg.__file__).resolve().parent.parent / "docs" / "figures")]
    assert not (tmp_path / "docs").exists()
