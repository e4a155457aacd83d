"""Checkpoints: exact round trips, no pickle, atomic writes, clean rejection of damaged files."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import minitf as mt
from minitf import backend, checkpoint, optim
from minitf.checkpoint import CheckpointError


def sample_arrays(rng):
    return {"model/wte.weight": rng.standard_normal((7, 3)).astype(np.float32),
            "model/h.0.ln.weight": np.ones(3, np.float64),
            "optim/0/exp_avg": rng.standard_normal((7, 3)).astype(np.float32),
            "ids": np.arange(5, dtype=np.int64), "flag": np.array([True, False])}


def test_round_trip_exact(tmp_path, rng):
    arrays = sample_arrays(rng)
    meta = {"iter": 7, "rng": {"state": {"state": 2 ** 127 + 3, "inc": 11}}, "vocab": ["\n", " ", "é"]}
    path = checkpoint.save(tmp_path / "ck.npz", arrays, meta)
    got, got_meta = checkpoint.load(path)
    assert set(got) == set(arrays)
    for k, a in arrays.items():
        assert got[k].dtype == a.dtype and np.array_equal(got[k], a)
    assert {k: got_meta[k] for k in meta} == meta
    assert got_meta["format"] == checkpoint.FORMAT and got_meta["version"] == checkpoint.VERSION


def test_device_tensors_are_saved_from_the_host(tmp_path):
    t = mt.tensor([[1.0, 2.0]], device="fake")
    checkpoint.save(tmp_path / "ck.npz", {"t": t, "raw": t.data}, {})
    got, _ = checkpoint.load(tmp_path / "ck.npz")
    assert isinstance(got["t"], np.ndarray) and got["t"].tolist() == [[1.0, 2.0]] == got["raw"].tolist()


def test_no_pickle_either_way(tmp_path):
    with pytest.raises(TypeError, match="object"):
        checkpoint.save(tmp_path / "ck.npz", {"o": np.array([{"a": 1}], dtype=object)}, {})
    # a file carrying a pickled object array is refused at load
    meta = np.frombuffer(b'{"format": "minitf-checkpoint", "version": 1, "arrays": {}}', np.uint8)
    np.savez(tmp_path / "evil.npz", __meta__=meta, o=np.array([print], dtype=object))
    with pytest.raises(CheckpointError, match="entry 'o' holds Python objects") as e:
        checkpoint.load(tmp_path / "evil.npz")
    assert "allow_pickle" not in str(e.value)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        checkpoint.load(tmp_path / "none.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(CheckpointError, match="not a ZIP archive") as e:  # not NumPy's allow_pickle advice
        checkpoint.load(tmp_path / "text.npz")
    assert "allow_pickle" not in str(e.value)
    np.savez(tmp_path / "plain.npz", a=np.ones(2))
    with pytest.raises(CheckpointError, match="not a minitf checkpoint"):
        checkpoint.load(tmp_path / "plain.npz")
    checkpoint.save(tmp_path / "v.npz", {}, {"version": 99})
    with pytest.raises(CheckpointError, match="version 99"):
        checkpoint.load(tmp_path / "v.npz")


def test_truncated_at_random_offsets_is_rejected(tmp_path, rng):
    path = checkpoint.save(tmp_path / "ck.npz", sample_arrays(rng), {"iter": 1})
    raw = path.read_bytes()
    offsets = sorted(set(rng.integers(0, len(raw), size=60).tolist()) | {0, 1, 22, len(raw) - 1})
    for n in offsets:
        cut = tmp_path / "cut.npz"
        cut.write_bytes(raw[:n])
        with pytest.raises(CheckpointError, match=r"cut\.npz"):
            checkpoint.load(cut)


def test_flipped_bytes_never_load_wrong_values(tmp_path, rng):
    arrays = sample_arrays(rng)
    path = checkpoint.save(tmp_path / "ck.npz", arrays, {"iter": 1})
    raw = path.read_bytes()
    rejected = 0
    for i in rng.integers(0, len(raw), size=80):
        b = bytearray(raw)
        b[i] ^= 0x5A
        bad = tmp_path / "bad.npz"
        bad.write_bytes(bytes(b))
        try:
            got, meta = checkpoint.load(bad)
        except CheckpointError:
            rejected += 1
            continue
        # a flip in a ZIP field that carries no data (timestamps, padding) is harmless
        assert meta["iter"] == 1 and all(np.array_equal(got[k], arrays[k]) for k in arrays)
    assert rejected > 40


def test_failed_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch, rng):
    path = checkpoint.save(tmp_path / "ck.npz", {"a": np.zeros(3)}, {"iter": 1})

    def crash(f, **arrays):
        f.write(b"PK\x03\x04partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(path, {"a": np.ones(3)}, {"iter": 2})
    monkeypatch.undo()
    got, meta = checkpoint.load(path)
    assert meta["iter"] == 1 and got["a"].tolist() == [0.0, 0.0, 0.0]
    assert os.listdir(tmp_path) == ["ck.npz"]  # no temporary left behind


def test_killed_writer_never_leaves_a_corrupt_checkpoint(tmp_path):
    """SIGKILL a process that rewrites a checkpoint in a loop: what remains always loads."""
    script = textwrap.dedent(f"""
        import numpy as np, sys
        from minitf import checkpoint
        big = np.zeros(2_000_000, np.float32)
        i = 0
        while True:
            big[0] = i
            checkpoint.save({str(tmp_path / 'ck.npz')!r}, {{"big": big}}, {{"iter": i}})
            if i == 0:
                print("ready", flush=True)
            i += 1
    """)
    rng = np.random.default_rng(0)
    seen = set()
    for trial in range(4):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(float(rng.uniform(0.02, 0.3)))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        arrays, meta = checkpoint.load(tmp_path / "ck.npz")
        assert arrays["big"][0] == meta["iter"]
        seen.add(meta["iter"])
    assert max(seen) > 0


def test_training_checkpoint_resumes_an_optimizer_exactly(tmp_path, device, rng):
    init = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    grads = [(rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32))
             for _ in range(6)]

    def steps(ps, opt, gs):
        for step in gs:
            for p, g in zip(ps, step):
                p.grad = mt.tensor(g, device=device)
            opt.step()

    ps = [mt.tensor(a, device=device, requires_grad=True) for a in init]
    opt = optim.AdamW(optim.param_groups_for_weight_decay([("w", ps[0]), ("b", ps[1])], 0.1), lr=0.01)
    steps(ps, opt, grads[:3])
    path = checkpoint.save_training(tmp_path / "ck.npz", {"w": ps[0], "b": ps[1]}, opt.state_dict(),
                                    {"iter": 3})
    steps(ps, opt, grads[3:])

    ck = checkpoint.load_training(path)
    assert ck.meta["iter"] == 3 and list(ck.model_state) == ["w", "b"]
    qs = [mt.tensor(ck.model_state[k], device=device, requires_grad=True) for k in ("w", "b")]
    opt2 = optim.AdamW(optim.param_groups_for_weight_decay([("w", qs[0]), ("b", qs[1])], 0.1), lr=0.5)
    opt2.load_state_dict(ck.optimizer_state)
    assert opt2.param_groups[0]["lr"] == 0.01
    steps(qs, opt2, grads[3:])
    for p, q in zip(ps, qs):
        assert np.array_equal(p.numpy(), q.numpy())


def test_load_training_rejects_a_plain_checkpoint(tmp_path):
    checkpoint.save(tmp_path / "ck.npz", {"a": np.ones(1)}, {"iter": 0})
    with pytest.raises(CheckpointError, match="not a training checkpoint"):
        checkpoint.load_training(tmp_path / "ck.npz")
    opt = {"param_groups": [{"params": [0], "lr": 0.1}], "scalars": {}}
    for meta, message in [({"model_keys": "a", "iter": 0, "optimizer": opt}, "'model_keys' is missing or not a list"),
                          ({"model_keys": ["b"], "iter": 0, "optimizer": opt}, "'model_keys' names arrays the archive lacks"),
                          ({"model_keys": ["a"], "iter": 0, "optimizer": {"param_groups": []}}, "'optimizer'"),
                          ({"model_keys": ["a"], "iter": 0, "optimizer": {**opt, "scalars": {"x": {"step": 1}}}},
                           "not indexed by parameter number"),
                          ({"model_keys": ["a"], "iter": 0, "optimizer": {**opt, "scalars": {"0": {"step": "1"}}}},
                           "'optimizer.scalars.0'")]:
        checkpoint.save(tmp_path / "ck.npz", {"model/a": np.ones(1)}, meta)
        with pytest.raises(CheckpointError, match=message):
            checkpoint.load_training(tmp_path / "ck.npz")


def test_a_save_removes_temporaries_left_by_killed_writers(tmp_path):
    path = tmp_path / "ckpt.npz"
    stale = [tmp_path / ".ckpt.npz.k3j_9x2a.tmp", tmp_path / ".ckpt.npz.0123abcd.tmp"]   # mkstemp's, ours
    kept = [tmp_path / ".other.npz.k3j_9x2a.tmp", tmp_path / ".ckpt.npz.notes.tmp", tmp_path / "ckpt.npz.bak",
            tmp_path / ".ckpt.npz.k3j_9x2a.tmp.txt", tmp_path / "x.ckpt.npz.k3j_9x2a.tmp"]
    for f in stale + kept:
        f.write_bytes(b"PK\x03\x04 half a checkpoint")
    checkpoint.save(path, {"a": np.arange(3)}, {"iter": 5})
    assert sorted(os.listdir(tmp_path)) == sorted(f.name for f in kept + [path])
    got, meta = checkpoint.load(path)
    assert meta["iter"] == 5 and got["a"].tolist() == [0, 1, 2]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_checkpoint_has_the_permissions_of_any_new_file(tmp_path, umask):
    old = os.umask(umask)
    try:
        checkpoint.save(tmp_path / "ck.npz", {"a": np.zeros(2)}, {})
        checkpoint.save(tmp_path / "ck.npz", {"a": np.ones(2)}, {})   # a rewrite too
        (tmp_path / "other.txt").write_text("x")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "ck.npz").st_mode & 0o777 == 0o666 & ~umask
    assert os.stat(tmp_path / "ck.npz").st_mode & 0o777 == os.stat(tmp_path / "other.txt").st_mode & 0o777


# ---------------------------------------------------------------- minitf.save / minitf.load
def _no_pickle(monkeypatch):
    """Make any unpickling, and any np.load that allows it, fail the test."""
    import pickle
    real_load = np.load

    def strict_load(*args, **kwargs):
        assert kwargs.get("allow_pickle") is False, "np.load without allow_pickle=False"
        return real_load(*args, **kwargs)

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used")
    monkeypatch.setattr(np, "load", strict_load)
    for name in ("load", "loads", "dump", "dumps"):
        monkeypatch.setattr(pickle, name, refuse)


def test_save_load_round_trips_model_and_optimizer_state(tmp_path, monkeypatch, device):
    from minitf import models, nn, optim
    mt.manual_seed(0)
    model = models.GPT(models.GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8)).to(device=device)
    opt = optim.AdamW(model.parameters(), lr=1e-2)
    idx = mt.tensor(np.arange(16).reshape(2, 8) % 11, device=device)
    model(idx).sum().backward()
    opt.step()
    opt.zero_grad()
    obj = {"model": model.state_dict(), "optim": opt.state_dict(), "iter": 7, "lr": 1e-3, "name": "run",
           "none": None, "flags": (True, False), "nested": [{"a": [1, 2.5, float("inf")]}, ()], 3: "int key"}
    _no_pickle(monkeypatch)
    mt.save(obj, tmp_path / "obj.npz")
    got = mt.load(tmp_path / "obj.npz")
    assert set(got) == set(obj) and got["iter"] == 7 and got["lr"] == 1e-3 and got["none"] is None
    assert got["flags"] == (True, False) and got["nested"] == [{"a": [1, 2.5, float("inf")]}, ()]
    assert got[3] == "int key"
    for k, v in obj["model"].items():
        assert isinstance(got["model"][k], mt.Tensor) and got["model"][k].device == "cpu"
        assert got["model"][k].dtype == v.dtype and np.array_equal(got["model"][k].numpy(), v.numpy()), k
    # both load back into fresh objects, which then compute the same
    model2 = models.GPT(models.GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8))
    model2.to(device=device).load_state_dict(got["model"])
    opt2 = optim.AdamW(model2.parameters(), lr=5.0)
    opt2.load_state_dict(got["optim"])
    assert opt2.param_groups[0]["lr"] == 1e-2 and opt2.state_dict()["state"][0]["step"] == 1
    for m in (model, model2):
        m(idx).sum().backward()
    opt.step()
    opt2.step()
    for a, b in zip(model.parameters(), model2.parameters()):
        assert np.array_equal(a.numpy(), b.numpy())
    # device= puts tensors and arrays there
    on = mt.load(tmp_path / "obj.npz", device="fake")
    assert all(t.device == "fake" for t in on["model"].values())


def test_save_keeps_dtype_shape_and_requires_grad(tmp_path):
    t = mt.tensor(np.arange(6, dtype=np.float64).reshape(2, 3), requires_grad=True)
    ids = mt.tensor(np.array([3, 1], dtype=np.int64))
    mt.save([t, ids, np.float32(2.5), np.zeros((0, 4), np.float32), t], tmp_path / "x.npz")
    a, b, c, d, again = mt.load(tmp_path / "x.npz")
    assert again is a and len(checkpoint.load(tmp_path / "x.npz")[0]) == 3  # one tensor twice: stored once
    assert a.dtype == np.float64 and a.shape == (2, 3) and a.requires_grad and np.array_equal(a.numpy(), t.numpy())
    assert b.dtype == np.int64 and not b.requires_grad and c == 2.5
    assert isinstance(d, np.ndarray) and d.shape == (0, 4)


def test_save_refuses_what_it_cannot_store_and_load_what_it_did_not_write(tmp_path):
    with pytest.raises(TypeError, match=r"cannot save obj\['a'\]\[1\]: a set"):
        mt.save({"a": [1, {2}]}, tmp_path / "bad.npz")
    with pytest.raises(TypeError, match="a key of type tuple"):
        mt.save({(1, 2): 3}, tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()
    # a training checkpoint, or a plain minitf checkpoint, is not a saved object
    checkpoint.save(tmp_path / "plain.npz", {"a": np.ones(2)}, {})
    with pytest.raises(CheckpointError, match="holds no saved object"):
        mt.load(tmp_path / "plain.npz")
    crafted = [({"tensor": "obj/9"}, "refers to a missing array"), ({"set": [1]}, "unknown kind 'set'"),
               ([1, 2], "is not a saved value"), ({"dict": [[1]]}, "malformed dict item"),
               ({"dict": [[{"list": []}, 1]]}, "key that is not a scalar"), ({"float": "1e999x"}, "unknown kind")]
    for structure, message in crafted:
        checkpoint.save(tmp_path / "c.npz", {}, {"object": structure})
        with pytest.raises(CheckpointError, match=message):
            mt.load(tmp_path / "c.npz")
    deep = 1
    for _ in range(200):
        deep = {"list": [deep]}
    checkpoint.save(tmp_path / "deep.npz", {}, {"object": deep})
    with pytest.raises(CheckpointError, match="nested more than 64 levels"):
        mt.load(tmp_path / "deep.npz")


# ---------------------------------------------------------------- torch.save / torch.load's forms
def _obj():
    return {"w": mt.tensor([[1.0, 2.0]], requires_grad=True), "step": 3, "names": ["a", "b"],
            "ids": mt.tensor([4, 5])}


def _check_obj(got, device="cpu"):
    assert got["step"] == 3 and got["names"] == ["a", "b"]
    assert got["w"].tolist() == [[1.0, 2.0]] and got["w"].requires_grad and got["w"].device == device
    assert got["ids"].tolist() == [4, 5] and got["ids"].dtype == mt.int64 and got["ids"].device == device


def test_save_and_load_a_binary_file_object(tmp_path):
    import io
    buf = io.BytesIO(b"prefix")
    buf.seek(0, io.SEEK_END)
    mt.save(_obj(), buf)               # written at the stream's position, as torch.save
    buf.seek(len(b"prefix"))
    _check_obj(mt.load(buf))           # read from its position
    with open(tmp_path / "f.npz", "wb") as f:
        mt.save(_obj(), f)
    with open(tmp_path / "f.npz", "rb") as f:
        _check_obj(mt.load(f))
    _check_obj(mt.load(tmp_path / "f.npz"))  # the same bytes as a path gives
    with pytest.raises(TypeError, match="binary mode"):
        mt.save(_obj(), io.StringIO())
    with pytest.raises(TypeError, match="binary mode"):
        mt.load(io.StringIO("x"))
    with pytest.raises(CheckpointError, match="the BytesIO is not a minitf checkpoint"):
        mt.load(io.BytesIO(b"not an archive"))


def test_save_and_load_take_path_like_objects(tmp_path):
    import os

    class Where(os.PathLike):
        def __fspath__(self):
            return str(tmp_path / "p.npz")
    mt.save(_obj(), Where())
    _check_obj(mt.load(Where()))
    _check_obj(mt.load(str(tmp_path / "p.npz")))


def test_load_map_location_forms(tmp_path):
    mt.save(_obj(), tmp_path / "o.npz")
    p = tmp_path / "o.npz"
    for loc in ("cpu", mt.device("cpu"), "fake", mt.device("fake"), {"cuda:0": "cpu"}, {"cpu": "fake"},
                {"cuda:1": "fake"}):
        want = "fake" if loc in ("fake",) or loc == {"cpu": "fake"} else "cpu"
        _check_obj(mt.load(p, map_location=loc), device=want)
    seen = []
    got = mt.load(p, map_location=lambda t, loc: seen.append(loc) or t.to("fake"))
    _check_obj(got, device="fake")
    assert seen == ["cpu", "cpu"]
    _check_obj(mt.load(p, map_location=lambda storage, loc: storage))  # torch's idiom: left as loaded
    _check_obj(mt.load(p, map_location=lambda storage, loc: None))
    _check_obj(mt.load(p, weights_only=True))
    _check_obj(mt.load(p, weights_only=False))   # nothing is ever unpickled either way
    with pytest.raises(TypeError, match="returned int"):
        mt.load(p, map_location=lambda t, loc: 3)
    with pytest.raises(mt.DeviceError, match="unknown device 'tpu'"):
        mt.load(p, map_location="tpu")
    with pytest.raises(TypeError, match="map_location or device"):
        mt.load(p, map_location="cpu", device="cpu")
    with pytest.raises(ValueError, match="mmap"):
        mt.load(p, mmap=True)


def test_load_from_a_stream_never_unpickles(tmp_path, monkeypatch):
    import io
    import pickle
    buf = io.BytesIO()
    mt.save(_obj(), buf)

    def refuse(*a, **k):
        raise AssertionError("pickle used")
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    buf.seek(0)
    _check_obj(mt.load(buf, weights_only=False))


def test_load_and_save_keywords_are_torchs():
    torch = pytest.importorskip("torch")
    import inspect
    theirs = inspect.signature(torch.load).parameters
    ours = inspect.signature(mt.load).parameters
    for name in ("map_location", "weights_only", "mmap"):
        assert name in theirs and name in ours
    assert list(ours)[:2] == list(theirs)[:2] == ["f", "map_location"]
    assert list(inspect.signature(mt.save).parameters) == list(inspect.signature(torch.save).parameters)[:2]


def test_a_state_dicts_metadata_survives_save_and_load_as_torchs(tmp_path):
    # load_state_dict hands each module its saved local_metadata: a module that converts an older
    # format reads local_metadata["version"], which only a kept _metadata carries through a file
    torch = pytest.importorskip("torch")
    import io
    from collections import OrderedDict

    def model(lib):
        class Versioned(lib.nn.Linear):
            _version = 3
            seen = []

            def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args):
                self.seen.append(local_metadata.get("version"))
                super()._load_from_state_dict(state_dict, prefix, local_metadata, *args)
        return lib.nn.Sequential(Versioned(2, 3), lib.nn.BatchNorm1d(3)), Versioned

    out = {}
    for lib in (mt, torch):
        m, _ = model(lib)
        buf = io.BytesIO()
        lib.save({"model": m.state_dict(), "plain": OrderedDict(a=1), "step": 7}, buf)
        buf.seek(0)
        loaded = lib.load(buf)
        sd = loaded["model"]
        assert type(sd) is OrderedDict and type(loaded["plain"]) is OrderedDict
        assert not hasattr(loaded["plain"], "_metadata")
        m2, Versioned = model(lib)
        m2.load_state_dict(sd)
        out[lib.__name__] = (dict(sd._metadata), Versioned.seen, list(sd))
    assert out["minitf"] == out["torch"]
    assert out["minitf"][0]["0"] == {"version": 3} and out["minitf"][1] == [3]
    path = tmp_path / "sd.npz"   # a path, the state dict itself at the top
    mt.save(model(mt)[0].state_dict(), path)
    assert mt.load(path)._metadata == model(mt)[0].state_dict()._metadata
