"""Corpora, the character vocabulary and batching for character-level language models.

The protocol is nanoGPT's ``shakespeare_char``: the vocabulary is the sorted
set of characters of the whole text, the first 90% of characters train and
the last 10% validate, and a batch is ``batch_size`` blocks at random (seeded)
offsets, each target block shifted by one character.

Finding the default corpus, Tiny Shakespeare (:func:`load_corpus`):

1. ``tinyshakespeare.txt`` in the directory named by ``$MINITF_DATA``;
2. the same name in the user cache (``$XDG_CACHE_HOME/minitf``, by default
   ``~/.cache/minitf``);
3. a download from the char-rnn project, checked against its sha256 and
   cached (skipped when ``$MINITF_OFFLINE`` is set to 1);
4. otherwise a fallback that is always there: a fixed, sorted selection of
   the Python standard library's own source files (about 2 MB), announced by
   one notice.
"""
from __future__ import annotations

import functools
import hashlib
import http.client
import os
import socket
import sys
import sysconfig
import tempfile
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import backend
from .tensor import Tensor
from .ops._util import inherit_index_bounds, note_host_index_bounds

__all__ = ["DataError", "Corpus", "CharVocab", "BatchSampler", "load_corpus", "read_text",
           "download_tinyshakespeare", "fallback_corpus", "cache_dir", "split_ids",
           "TINYSHAKESPEARE_URL", "TINYSHAKESPEARE_SHA256", "TINYSHAKESPEARE_FILE"]

TINYSHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
TINYSHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
TINYSHAKESPEARE_FILE = "tinyshakespeare.txt"
FALLBACK_CHARS = 2_000_000  # size of the standard-library fallback corpus
MAX_STREAM_BYTES = 1 << 30  # read from what is not a regular file (a pipe, a device): /dev/zero never ends


class DataError(ValueError):
    """A corpus that cannot be used: missing, empty, not UTF-8, too short."""


@dataclass
class Corpus:
    """A text and where it came from (``name``: a short label; ``source``: path or description)."""
    text: str
    name: str
    source: str

    @functools.cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- finding a corpus
def cache_dir() -> Path:
    """The user cache: ``$XDG_CACHE_HOME/minitf`` or ``~/.cache/minitf``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "minitf"


def read_text(path) -> str:
    """Read a UTF-8 text file, or raise :class:`DataError` saying what is wrong with it."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    if path.is_dir():
        raise DataError(f"data path is a directory, not a text file: {path}")
    regular = path.is_file()   # a regular file's size is known (the memory check weighs it); a stream's is not
    try:
        with open(path, "rb") as f:
            raw = f.read() if regular else f.read(MAX_STREAM_BYTES + 1)
    except OSError as e:
        raise DataError(f"cannot read data file {path}: {e.strerror or e}") from None
    if len(raw) > MAX_STREAM_BYTES and not regular:
        raise DataError(f"data path {path} is not a regular file and gave more than {MAX_STREAM_BYTES >> 30} GiB "
                        f"without ending (a device such as /dev/zero?): save the text to a file and pass that")
    if not raw:
        raise DataError(f"data file is empty: {path}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"data file is not UTF-8 text: {path} (invalid byte 0x{raw[e.start]:02x} "
                        f"at offset {e.start}); convert it to UTF-8 first") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text:
        raise DataError(f"data file is empty: {path}")
    return text


def download_tinyshakespeare(dest, url: str = TINYSHAKESPEARE_URL, timeout: float = 5.0,
                             progress: bool = True, sha256: str = TINYSHAKESPEARE_SHA256) -> Path:
    """Download Tiny Shakespeare to ``dest`` (a file path), verify its sha256, write it atomically.

    ``timeout`` bounds the connection and every read, so an offline machine
    gives up within seconds. Raises ``OSError`` (network),
    ``http.client.HTTPException`` (e.g. ``IncompleteRead``: the connection was
    cut mid-body) or :class:`DataError` (checksum mismatch); nothing is left at
    ``dest`` unless it succeeded.
    """
    dest = Path(dest)
    _resolve_or_fail(urllib.parse.urlsplit(url).hostname, timeout)
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        total = int(resp.headers.get("Content-Length") or 0) or None
        bar = _download_bar(total, dest.name) if progress else None
        chunks = []
        try:
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    raw = b"".join(chunks)
    digest = hashlib.sha256(raw).hexdigest()
    if sha256 is not None and digest != sha256:
        raise DataError(f"downloaded file from {url} has sha256 {digest}, expected {sha256}; not using it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return dest


def _resolve_or_fail(host, timeout: float) -> None:
    """Look ``host`` up in a helper thread, giving up after ``timeout`` seconds.

    The socket timeout of ``urlopen`` does not cover name resolution, which can
    hang for much longer on a machine with an unreachable DNS server.
    """
    if not host:
        return
    result = {}

    def lookup():
        try:
            socket.getaddrinfo(host, 443)
            result["ok"] = True
        except OSError as e:
            result["error"] = e

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(timeout)
    if "error" in result:
        raise result["error"]
    if not result:
        raise OSError(f"could not resolve {host} within {timeout:g} s")


def _download_bar(total, name):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {name}", file=sys.stderr,
                disable=not sys.stderr.isatty())


def fallback_corpus(max_chars: int = FALLBACK_CHARS) -> Corpus:
    """A fixed, sorted selection of the standard library's top-level ``.py`` files (~``max_chars``)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    parts, size, used = [], 0, 0
    for path in sorted(stdlib.glob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        parts.append(text)
        size += len(text)
        used += 1
        if size >= max_chars:
            break
    if not parts:
        raise DataError(f"no corpus available: no Tiny Shakespeare, and no Python sources under {stdlib}")
    return Corpus("\n".join(parts), "python-stdlib",
                  f"{used} source files of the Python standard library in {stdlib}")


def load_corpus(path=None, *, download: bool | None = None, progress: bool = True,
                log=print, downloader=download_tinyshakespeare) -> Corpus:
    """The corpus to train on: ``path`` if given, else Tiny Shakespeare found, downloaded or replaced.

    ``download=None`` downloads unless ``$MINITF_OFFLINE`` is 1/true/yes.
    ``log`` receives the one-line notices (download, substitution).
    """
    if path is not None:
        path = Path(path).expanduser()
        return Corpus(read_text(path), path.name, str(path))
    candidates = []
    if os.environ.get("MINITF_DATA"):
        candidates.append(Path(os.environ["MINITF_DATA"]).expanduser() / TINYSHAKESPEARE_FILE)
    cached = cache_dir() / TINYSHAKESPEARE_FILE
    candidates.append(cached)
    for c in candidates:
        if c.is_file():
            return Corpus(read_text(c), "tinyshakespeare", str(c))
    if download is None:
        download = os.environ.get("MINITF_OFFLINE", "").strip().lower() not in ("1", "true", "yes")
    reason = "downloads are off (MINITF_OFFLINE is set)"
    if download:
        log(f"Tiny Shakespeare not found locally; downloading it to {cached}")
        try:
            downloader(cached, progress=progress)
            return Corpus(read_text(cached), "tinyshakespeare", str(cached))
        except (OSError, DataError, http.client.HTTPException, ValueError) as e:
            # URLError, timeouts and refused writes are OSErrors; a connection cut mid-body is an
            # IncompleteRead (HTTPException); a malformed response can raise a ValueError
            detail = getattr(e, "reason", None) or e
            if not isinstance(e, (OSError, DataError)) and not str(detail).startswith(type(e).__name__):
                detail = f"{type(e).__name__}: {detail}"
            reason = f"the download failed ({detail})"
    corpus = fallback_corpus()
    log(f"notice: Tiny Shakespeare is not available: {reason}. Training on a fallback corpus instead: "
        f"{corpus.source} ({len(corpus.text):,} characters). To choose a corpus, pass --data FILE "
        f"(any UTF-8 text), or put {TINYSHAKESPEARE_FILE} in $MINITF_DATA or {cache_dir()}.")
    return corpus


# ---------------------------------------------------------------- vocabulary
class CharVocab:
    """Characters <-> integer ids: the sorted unique characters of a text."""

    def __init__(self, chars):
        chars = list(chars)
        if len(set(chars)) != len(chars) or chars != sorted(chars):
            raise ValueError("a character vocabulary is a sorted list of distinct characters")
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}
        self._itos = np.array(chars, dtype=object)

    @classmethod
    def from_text(cls, text: str) -> "CharVocab":
        return cls(sorted(set(text)))

    def __len__(self):
        return len(self.chars)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def __eq__(self, other):
        return isinstance(other, CharVocab) and self.chars == other.chars

    def encode(self, text: str) -> np.ndarray:
        """Ids of ``text`` as an int64 array; a character outside the vocabulary is a ValueError."""
        missing = set(text) - self.stoi.keys()
        if missing:
            shown = ", ".join(repr(c) for c in sorted(missing)[:10])
            raise ValueError(f"{len(missing)} character(s) not in the vocabulary: {shown}")
        if len(text) > 10_000:  # vectorised for whole corpora: a lookup table over code points
            codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
            ords = [ord(c) for c in self.chars]
            lut = np.full(max(ords) + 1, -1, dtype=np.int64)
            lut[ords] = np.arange(len(ords))
            return lut[codes]
        return np.array([self.stoi[c] for c in text], dtype=np.int64)

    def decode(self, ids) -> str:
        if isinstance(ids, Tensor):
            ids = ids.numpy()
        ids = backend.to_numpy(ids) if hasattr(ids, "shape") else np.asarray(ids)
        return "".join(self._itos[np.asarray(ids, dtype=np.int64).reshape(-1)])

    def to_json(self) -> list:
        return list(self.chars)

    @classmethod
    def from_json(cls, chars) -> "CharVocab":
        return cls(chars)


def split_ids(ids: np.ndarray, train_fraction: float = 0.9):
    """First ``train_fraction`` of the ids train, the rest validate (nanoGPT: ``int(n * 0.9)``)."""
    n = int(len(ids) * train_fraction)
    return ids[:n], ids[n:]


# ---------------------------------------------------------------- batches
class BatchSampler:
    """Random blocks of a train and a validation id array, from one seeded NumPy Generator.

    ``get_batch(split)`` returns ``(x, y)`` int64 tensors of shape
    ``(batch_size, block_size)`` on ``device``, ``y`` being ``x`` shifted by one.
    The generator's state (``state()`` / ``set_state()``) is JSON-serialisable,
    so a resumed run draws the same batches.

    ``shard=(rank, world_size)``: ``batch_size`` is the global batch, and this
    process gets rows ``rank * b : (rank + 1) * b`` of it (``b = batch_size //
    world_size``). Every rank draws the whole global batch's offsets from the
    same seed and keeps its rows: the ranks together see exactly the batch one
    process would, and all hold the same generator state (one to save, one to
    resume from).
    """

    def __init__(self, train_ids, val_ids, block_size: int, batch_size: int, device: str = "cpu",
                 seed: int = 1337, shard: tuple = (0, 1)):
        self.data = {"train": np.asarray(train_ids, dtype=np.int64), "val": np.asarray(val_ids, dtype=np.int64)}
        self.block_size, self.batch_size = int(block_size), int(batch_size)
        self.device = backend.check_device(device)
        for split, ids in self.data.items():
            if len(ids) < self.block_size + 1:
                raise DataError(f"the {split} split has {len(ids):,} characters, fewer than block_size + 1 = "
                                f"{self.block_size + 1}: use a longer text or a smaller --block-size")
        rank, world = (int(v) for v in shard)
        if not 0 <= rank < world or self.batch_size % world:
            raise DataError(f"batch_size {self.batch_size} cannot be shared by {world} processes: use a "
                            f"multiple of {world}" if 0 <= rank < world else f"bad shard {shard!r}")
        per = self.batch_size // world
        self._rows = slice(rank * per, (rank + 1) * per)
        self.rng = np.random.default_rng(seed)
        self._offsets = np.arange(self.block_size + 1)   # a row of T + 1 ids: x is its first T, y its last T

    def get_batch(self, split: str = "train", generator: np.random.Generator | None = None):
        """One random batch of ``split``, drawn from ``generator`` (default: the sampler's own):
        ``(x, y)``, each (B, T) int64, ``y`` being ``x`` shifted by one position."""
        ids = self.data[split]
        rng = self.rng if generator is None else generator
        starts = rng.integers(0, len(ids) - self.block_size, size=self.batch_size)[self._rows]
        return self._pair(ids[starts[:, None] + self._offsets], split)

    def _pair(self, rows, split: str):
        """``(x, y)`` from host rows of T + 1 ids: one copy to the device; x is a view of it, y a
        copy made there (the two overlap: as views, writing one, ``y[y == pad] = -100``, would
        change the other). On a device both carry the rows' bounds, read here on the host, so
        the model's index checks (embedding, cross_entropy) need no device round trip."""
        full = rows if self.device == "cpu" else backend.to_device(rows, self.device)
        x, y = Tensor(full[:, :-1]), Tensor(full[:, 1:].copy())
        note_host_index_bounds(x, rows)   # the rows' range covers both (nothing on the CPU)
        inherit_index_bounds(y, x)
        return x, y

    def blocks(self, split: str = "val", batch_size: int | None = None):
        """Every non-overlapping block of a split, in order, batched: ``(x, y)`` pairs.

        Blocks start at 0, T, 2T, ... (T = block_size); the tail shorter than T
        comes last as a batch of one shorter block, so every character after
        the first is a target exactly once.
        """
        ids = self.data[split]
        T, B = self.block_size, batch_size or self.batch_size
        n_full = (len(ids) - 1) // T
        for s in range(0, n_full, B):
            idx = (np.arange(s, min(s + B, n_full)) * T)[:, None] + self._offsets
            yield self._pair(ids[idx], split)
        rest = len(ids) - 1 - n_full * T
        if rest > 0:
            start = n_full * T
            yield self._pair(ids[start:start + rest + 1][None], split)

    def state(self) -> dict:
        return backend.rng_state(self.rng)

    def set_state(self, state: dict) -> None:
        backend.set_rng_state(self.rng, state)
