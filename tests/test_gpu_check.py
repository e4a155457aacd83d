"""benchmarks/gpu_check.py, dry-run on the fake device: it writes its JSON after each step and
records a failing step without stopping (the real run happens on a lent GPU machine)."""
import json
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gpu_check_dry_run_on_the_fake_device(tmp_path, capsys, restore_rng):
    main = runpy.run_path(str(ROOT / "benchmarks" / "gpu_check.py"))["main"]
    rc = main([str(tmp_path), "--device", "fake", "--preset", "baby", "--gen-tokens", "4",
               "--skip", "tests", "--skip", "race", "--train-iters", "2", "--data", str(tmp_path / "missing.txt")])
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    assert results["env"]["device"] == "fake" and "numpy" in results["env"]
    assert "error" in results["train"] and "missing.txt" in results["train"]["error"]   # recorded, not raised
    gen = results["generate"]
    assert gen["same_tokens"] is True and gen["new_tokens"] == 4 and gen["cache"]["s"] > 0
    assert rc == 1   # a failed step makes the exit status non-zero
    assert "[generate]" in capsys.readouterr().out
