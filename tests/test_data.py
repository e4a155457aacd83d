"""Corpus lookup, vocabulary, splits and batches; never the network."""
import hashlib
import http.client
import os
import threading

import numpy as np
import pytest

from minitf import backend, data


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No MINITF_DATA, an empty cache, downloads refused: nothing from the real machine."""
    monkeypatch.delenv("MINITF_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MINITF_OFFLINE", "1")
    return tmp_path


def write(path, content, mode="w"):
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "w":
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def test_read_text_errors_name_the_problem(tmp_path):
    with pytest.raises(data.DataError, match="not found.*nope.txt"):
        data.read_text(tmp_path / "nope.txt")
    with pytest.raises(data.DataError, match="empty"):
        data.read_text(write(tmp_path / "empty.txt", ""))
    with pytest.raises(data.DataError, match="directory"):
        data.read_text(tmp_path)
    with pytest.raises(data.DataError, match="not UTF-8.*0xff at offset 3"):
        data.read_text(write(tmp_path / "latin.txt", b"abc\xff\xfe", mode="b"))
    assert data.read_text(write(tmp_path / "bom.txt", "\ufeffhello")) == "hello"
    assert data.read_text(write(tmp_path / "u.txt", "héllo ✓\n")) == "héllo ✓\n"


@pytest.mark.skipif(not os.path.exists("/dev/zero") or not hasattr(os, "mkfifo"), reason="needs /dev/zero and FIFOs")
def test_a_stream_that_never_ends_is_refused_and_a_pipe_is_read(tmp_path, monkeypatch):
    """--data /dev/zero read until memory ran out (the OOM killer ended the run): what is not a regular
    file is read up to data.MAX_STREAM_BYTES, then refused with one line; a pipe that ends is read whole."""
    monkeypatch.setattr(data, "MAX_STREAM_BYTES", 1 << 16)
    with pytest.raises(data.DataError, match="/dev/zero is not a regular file and gave more than"):
        data.read_text("/dev/zero")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    text = "to be or not to be\n" * 100
    writer = threading.Thread(target=fifo.write_text, args=(text,), kwargs={"encoding": "utf-8"})
    writer.start()
    try:
        assert data.read_text(fifo) == text
    finally:
        writer.join()


def test_explicit_path_wins(isolated):
    write(isolated / "d" / data.TINYSHAKESPEARE_FILE, "from MINITF_DATA")
    f = write(isolated / "mine.txt", "my own text")
    c = data.load_corpus(f)
    assert (c.text, c.name) == ("my own text", "mine.txt")
    with pytest.raises(data.DataError, match="not found"):
        data.load_corpus(isolated / "missing.txt")


def test_lookup_order_data_dir_then_cache(isolated, monkeypatch):
    cached = write(data.cache_dir() / data.TINYSHAKESPEARE_FILE, "from the cache")
    assert str(isolated / "cache") in str(cached)
    assert data.load_corpus().text == "from the cache"
    write(isolated / "d" / data.TINYSHAKESPEARE_FILE, "from MINITF_DATA")
    monkeypatch.setenv("MINITF_DATA", str(isolated / "d"))
    c = data.load_corpus()
    assert (c.text, c.name) == ("from MINITF_DATA", "tinyshakespeare")


def test_cache_dir_defaults_to_home(isolated, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data.cache_dir() == isolated / "home" / ".cache" / "minitf"


def test_download_is_used_and_cached(isolated):
    calls = []

    def fake_download(dest, progress=True):
        calls.append(dest)
        write(dest, "downloaded text")
        return dest

    msgs = []
    c = data.load_corpus(download=True, downloader=fake_download, log=msgs.append)
    assert c.text == "downloaded text" and calls == [data.cache_dir() / data.TINYSHAKESPEARE_FILE]
    assert data.load_corpus(downloader=None).text == "downloaded text"  # now found in the cache


def test_offline_falls_back_to_the_standard_library_with_one_notice(isolated):
    def must_not_run(dest, progress=True):
        raise AssertionError("MINITF_OFFLINE=1 must not try the network")

    msgs = []
    c = data.load_corpus(downloader=must_not_run, log=msgs.append)
    assert c.name == "python-stdlib" and len(c.text) >= 1_000_000
    assert len(msgs) == 1 and "fallback" in msgs[0] and "--data" in msgs[0] and "MINITF_OFFLINE" in msgs[0]


def test_failed_download_falls_back(isolated):
    def offline(dest, progress=True):
        raise OSError("Name or service not known")

    msgs = []
    c = data.load_corpus(download=True, downloader=offline, log=msgs.append)
    assert c.name == "python-stdlib"
    assert any("download failed" in m and "Name or service not known" in m for m in msgs)
    assert not (data.cache_dir() / data.TINYSHAKESPEARE_FILE).exists()


@pytest.mark.parametrize("error,shown", [
    (http.client.IncompleteRead(b"First Citizen", 1_115_381), "IncompleteRead(13 bytes read, 1115381 more"),
    (http.client.BadStatusLine("garbage"), "BadStatusLine: garbage"),
    (ValueError("invalid literal for int() with base 10: 'abc'"), "ValueError: invalid literal")])
def test_a_broken_response_falls_back_as_a_network_failure(isolated, error, shown):
    def broken(dest, progress=True):
        raise error

    msgs = []
    c = data.load_corpus(download=True, downloader=broken, log=msgs.append)
    assert c.name == "python-stdlib"
    notices = [m for m in msgs if m.startswith("notice:")]
    assert len(notices) == 1 and "download failed" in notices[0] and shown in notices[0], msgs
    assert not (data.cache_dir() / data.TINYSHAKESPEARE_FILE).exists()


def test_fallback_corpus_is_fixed_and_sorted():
    a, b = data.fallback_corpus(), data.fallback_corpus()
    assert a.text == b.text and a.sha256 == b.sha256
    assert data.FALLBACK_CHARS <= len(a.text) < data.FALLBACK_CHARS + 500_000
    small = data.fallback_corpus(max_chars=10)
    assert a.text.startswith(small.text)  # one file, the first in sorted order


def test_download_verifies_sha256_and_writes_atomically(tmp_path):
    src = write(tmp_path / "src.txt", "First Citizen:\nBefore we proceed any further, hear me speak.\n")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    dest = tmp_path / "cache" / "ts.txt"
    with pytest.raises(data.DataError, match="sha256"):
        data.download_tinyshakespeare(dest, url=src.as_uri(), progress=False, sha256="0" * 64)
    assert not dest.exists() and not list((tmp_path).glob("cache/*"))
    data.download_tinyshakespeare(dest, url=src.as_uri(), progress=False, sha256=digest)
    assert dest.read_bytes() == src.read_bytes()


def test_vocab_encode_decode():
    text = "hello world\nhé!"
    v = data.CharVocab.from_text(text)
    assert v.chars == sorted(set(text)) and len(v) == v.vocab_size == len(set(text))
    ids = v.encode(text)
    assert ids.dtype == np.int64 and v.decode(ids) == text
    long = (text * 2000)
    assert np.array_equal(v.encode(long), np.array([v.stoi[c] for c in long]))  # the vectorised path
    with pytest.raises(ValueError, match="not in the vocabulary: 'z'"):
        v.encode("zero")
    assert data.CharVocab.from_json(v.to_json()) == v
    with pytest.raises(ValueError, match="sorted"):
        data.CharVocab(["b", "a"])


def test_split_is_nanogpts():
    ids = np.arange(1001)
    tr, va = data.split_ids(ids)
    assert len(tr) == int(1001 * 0.9) == 900 and tr[-1] + 1 == va[0] and len(va) == 101


def test_batches_are_shifted_blocks_and_reproducible(device):
    ids = np.arange(500) % 37
    s = data.BatchSampler(ids[:400], ids[400:], block_size=8, batch_size=5, device=device, seed=3)
    x, y = s.get_batch("train")
    assert x.shape == y.shape == (5, 8) and x.device == device and x.dtype == np.int64
    xn, yn = x.numpy(), y.numpy()
    assert np.array_equal(xn[:, 1:], yn[:, :-1])
    state = s.state()
    after = [s.get_batch(sp)[0].numpy() for sp in ("train", "val", "train")]
    s.set_state(state)
    again = [s.get_batch(sp)[0].numpy() for sp in ("train", "val", "train")]
    assert all(np.array_equal(a, b) for a, b in zip(after, again))
    s2 = data.BatchSampler(ids[:400], ids[400:], 8, 5, device, seed=3)
    assert np.array_equal(s2.get_batch("train")[0].numpy(), xn)


def test_batch_offsets_reach_both_ends():
    ids = np.arange(20)
    s = data.BatchSampler(ids, ids, block_size=4, batch_size=2000, seed=0)
    x, y = s.get_batch()
    starts = x.numpy()[:, 0]
    assert starts.min() == 0 and starts.max() == 20 - 4 - 1 and y.numpy().max() == 19


def test_blocks_cover_every_target_once(device):
    val = np.arange(103)
    s = data.BatchSampler(np.arange(50), val, block_size=10, batch_size=4, device=device)
    xs, ys = [], []
    for x, y in s.blocks("val"):
        assert x.device == device
        xs.append(x.numpy().reshape(-1))
        ys.append(y.numpy().reshape(-1))
    assert np.array_equal(np.concatenate(ys), val[1:])
    assert np.array_equal(np.concatenate(xs), val[:-1])


def test_split_shorter_than_a_block_is_a_clear_error():
    with pytest.raises(data.DataError, match="val split has 5 characters.*block_size \\+ 1 = 9"):
        data.BatchSampler(np.arange(100), np.arange(5), block_size=8, batch_size=2)
    assert backend.check_device("cpu") == "cpu"


def test_a_hanging_name_lookup_gives_up_within_the_timeout(monkeypatch):
    import time

    monkeypatch.setattr(data.socket, "getaddrinfo", lambda *a, **k: time.sleep(5))
    t0 = time.perf_counter()
    with pytest.raises(OSError, match="could not resolve example.org within 0.2 s"):
        data.download_tinyshakespeare("/nonexistent/ts.txt", url="https://example.org/x.txt", timeout=0.2,
                                      progress=False)
    assert time.perf_counter() - t0 < 2.0


def test_batch_sampler_shards_are_the_rows_of_the_global_batch():
    ids = np.arange(500) % 37
    whole = data.BatchSampler(ids[:400], ids[400:], 8, 6, seed=5)
    shards = [data.BatchSampler(ids[:400], ids[400:], 8, 6, seed=5, shard=(r, 3)) for r in range(3)]
    for _ in range(3):
        x, y = whole.get_batch("train")
        parts = [s.get_batch("train") for s in shards]
        assert all(p[0].shape == (2, 8) for p in parts)
        np.testing.assert_array_equal(np.concatenate([p[0].numpy() for p in parts]), x.numpy())
        np.testing.assert_array_equal(np.concatenate([p[1].numpy() for p in parts]), y.numpy())
    assert all(s.state() == whole.state() for s in shards)     # one state to save for every rank
    with pytest.raises(data.DataError, match="batch_size 6 cannot be shared by 4 processes"):
        data.BatchSampler(ids[:400], ids[400:], 8, 6, shard=(0, 4))
