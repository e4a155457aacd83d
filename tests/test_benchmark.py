"""The benchmark's FLOP accounting (benchmarks/benchmark.py): its GEMM list and its 6N agree."""
import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load():
    spec = importlib.util.spec_from_file_location("benchmark", os.path.join(ROOT, "benchmarks", "benchmark.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gemm_shapes_are_the_6n_of_a_step():
    b = load()
    from minitf.models import GPT, GPTConfig
    for preset, cfg in b.PRESETS.items():
        model = GPT(GPTConfig(vocab_size=b.VOCAB, block_size=cfg["block_size"], n_layer=1, n_head=cfg["n_head"],
                              n_embd=cfg["n_embd"], bias=False))
        one = dict(cfg, n_layer=1)
        # the parameters in products: every 2-D weight but the position embedding (a lookup)
        n = sum(p.numel() for name, p in model.named_parameters() if p.ndim == 2 and "wpe" not in name)
        assert b.matmul_params(one) == n
        BT = cfg["batch_size"] * cfg["block_size"]
        assert sum(2 * m * k * q for m, k, q in b.gemm_shapes(one)) == 6 * n * BT
        assert b.flops_per_token(one) == 6 * n + 12 * cfg["n_embd"] * cfg["block_size"]


def test_profile_step_prints_the_per_op_table(capsys, monkeypatch):
    """benchmarks/profile_step.py (the source of docs/training.md's table) runs and its table
    names the step's ops, with the time outside them."""
    import sys
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    spec = importlib.util.spec_from_file_location("profile_step", os.path.join(ROOT, "benchmarks", "profile_step.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")   # the script sets them: restored after the test
    import minitf as mt
    threads = mt.num_threads()
    try:
        assert mod.main(["--steps", "1", "--warmup", "0", "--threads", "1"]) == 0
    finally:
        mt.set_num_threads(threads)
    out = capsys.readouterr().out
    for op in ("Linear", "MultiHeadSelfAttention", "GELU", "LayerNorm"):
        assert op in out
    assert "outside the ops" in out and "1 baby steps (B = 12, T = 64)" in out


def test_benchmark_runs_without_threadpoolctl(tmp_path):
    """threadpoolctl is an extra (bench): without it the benchmark still runs, saying that the BLAS
    and its threads are unknown, instead of its workers dying on the import."""
    import json
    import subprocess
    import sys
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "threadpoolctl.py").write_text("raise ImportError('hidden by the test')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shadow), ROOT]))
    out = tmp_path / "b.json"
    p = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "benchmark.py"), "--preset", "baby",
                        "--steps", "1", "--warmup", "0", "--rounds", "1", "--no-torch", "--no-generation",
                        "--gemm-reps", "1", "--threads", "1", "--json", str(out)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    assert "minitf BLAS: unknown" in p.stdout and "threadpoolctl not installed" in p.stdout
    res = json.loads(out.read_text())
    assert res["info"]["minitf"]["blas"][0]["internal_api"] == "unknown"
    assert res["presets"]["baby"]["minitf"]["step_ms"] > 0


def test_generation_ab_refuses_a_bad_count_in_one_line():
    """benchmarks/generation_ab.py (docs/performance.md's before/after generation figures): a bad
    --rounds is one usage line and exit 2, before any worker starts."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "generation_ab.py"), "--rounds", "0"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "--rounds must be at least 1, got 0" in out.stderr.splitlines()[-1]


def test_conv_bench_prints_its_table(tmp_path):
    """benchmarks/conv_bench.py (the source of docs/performance.md's convolution table) runs its
    workers and prints a row per chosen case, with --json holding the raw times."""
    import json
    import subprocess
    import sys
    out = tmp_path / "conv.json"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "conv_bench.py"), "--no-torch", "--case",
                        "tiny CNN", "--case", "avg_pool2d", "--rounds", "1", "--reps", "1", "--warmup", "0",
                        "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "tiny CNN step" in r.stdout and "avg_pool2d 2" in r.stdout and "max_pool2d" not in r.stdout
    data = json.loads(out.read_text())
    assert set(data["median_ms"]) == {"tiny CNN step (8,1,8,8), the test's", "avg_pool2d 2 (32,64,32,32)"}
    bad = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "conv_bench.py"), "--case", "nothing"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "no case matches" in bad.stderr
