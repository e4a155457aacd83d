"""More guards on chapter 7 (docs/scaling_laws.md) and the batch-size chapter: the numbers their
prose quotes against the committed JSON in docs/results/, and the committed runs still being the
ones a re-run of the scripts finds in its cache."""
import json
from pathlib import Path

import pytest

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
