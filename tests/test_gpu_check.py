"""benchmarks/gpu_check.py, dry-run on the fake device: it writes its JSON after each step and
records a failing step without stopping (the real run happens on a lent GPU machine)."""
import json
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gpu_check_dry_run_on_the_fake_device(tmp_path, capsys, restore_rng):
    main = runpy.run_path(str(ROOT / "benchmarks" / "gpu_check.py"))["main"]
    rc = main([str(tmp_path), "--device", "fake", "--preset", "baby", "--gen-tokens", "4",
               "--skip", "tests", "--skip", "cpu_tests", "--skip", "race", "--train-iters", "2", "--data", str(tmp_path / "missing.txt")])
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    assert results["env"]["device"] == "fake" and "numpy" in results["env"]
    assert "error" in results["train"] and "missing.txt" in results["train"]["error"]   # recorded, not raised
    gen = results["generate"]
    assert gen["same_tokens"] is True and gen["new_tokens"] == 4 and gen["cache"]["s"] > 0
    assert "per step" in results["profile"]["per_step"] and (tmp_path / "profile.txt").exists()
    assert rc == 1   # a failed step makes the exit status non-zero
    assert "[generate]" in capsys.readouterr().out


def test_the_test_step_cut_off_by_its_limit_keeps_its_log(tmp_path):
    # the device tests run last, under a time limit; a run cut off still says how far it got
    step_tests = runpy.run_path(str(ROOT / "benchmarks" / "gpu_check.py"))["step_tests"]
    res = step_tests("fake", tmp_path, timeout=3)
    assert res["timed_out"] is True and res["returncode"] is None
    assert (tmp_path / "tests.log").exists()
    main_src = (ROOT / "benchmarks" / "gpu_check.py").read_text()
    assert main_src.index('("generate"') < main_src.index('("tests"')   # the measurements come first
