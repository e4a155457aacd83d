"""Atomic, pickle-free checkpoints: NumPy arrays plus JSON metadata in one ``.npz`` file.

A checkpoint is a ZIP archive as written by ``numpy.savez``: one ``.npy``
member per array and one member, ``__meta__``, holding UTF-8 JSON (a uint8
array). It is read with ``numpy.load(..., allow_pickle=False)``, so loading
never executes code, and ZIP's CRC-32 of every member catches flipped bytes.

:func:`save` writes to a temporary file in the same directory
(``.<name>.<8 random characters>.tmp``, created with the permissions of any
new file, ``0666 & ~umask``), flushes and fsyncs it, then renames it over the
old file (``os.replace``, atomic on POSIX and Windows) and fsyncs the
directory: a process killed at any moment leaves either the previous
checkpoint or the new one, never a mixture. A writer killed mid-write leaves
its temporary file behind; the next successful save of the same checkpoint
removes such leftovers (one checkpoint file has one writer at a time).

:func:`load` raises :class:`CheckpointError` naming the problem for a
missing, truncated, corrupt or foreign file, never a bare traceback.

Training checkpoints (:func:`save_training` / :func:`load_training`) hold the
model's ``state_dict`` under ``model/<name>``, the optimizer's buffers under
``optim/<index>/<name>`` and everything else (iteration, RNG states, config,
vocabulary, optimizer hyper-parameters) in the metadata.
"""
from __future__ import annotations

import json
import math
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["CheckpointError", "save", "load", "save_training", "load_training", "TrainingCheckpoint",
           "FORMAT", "VERSION"]

FORMAT = "minitf-checkpoint"
VERSION = 1
_META = "__meta__"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: missing, truncated, corrupt or incompatible."""


def _host(value) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.data
    return np.ascontiguousarray(backend.to_numpy(value))


def save(path, arrays: dict, meta: dict) -> Path:
    """Write ``arrays`` (name -> array or Tensor, on any device) and JSON ``meta`` atomically.

    Returns the path written. ``meta`` must be JSON-serialisable.
    """
    path = Path(path)
    host = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name == _META:
            raise ValueError(f"invalid array name {name!r} for a checkpoint")
        arr = _host(value)
        if arr.dtype.hasobject:
            raise TypeError(f"array {name!r} has dtype object, which cannot be saved without pickle")
        host[name] = arr
    full_meta = {"format": FORMAT, "version": VERSION, **meta,
                 "arrays": {k: [list(a.shape), a.dtype.str] for k, a in host.items()}}
    blob = json.dumps(full_meta, allow_nan=True).encode("utf-8")
    host[_META] = np.frombuffer(blob, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **host)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)
    _remove_stale_temporaries(path)
    return path


_TMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)


def _temporary_name_pattern(path: Path):
    # 8 characters: secrets.token_hex(4) here, [a-z0-9_]{8} from tempfile.mkstemp in earlier versions
    return re.compile(r"\." + re.escape(path.name) + r"\.[a-z0-9_]{8}\.tmp")


def _create_temporary(path: Path):
    """A new file next to ``path`` (``.<name>.<8 characters>.tmp``), mode 0666 less the umask: (fd, name)."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, _TMP_FLAGS, 0o666), str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file for {path}")


def _remove_stale_temporaries(path: Path) -> None:
    """Delete what writers of ``path`` killed mid-save left behind (only names of its own pattern)."""
    pattern = _temporary_name_pattern(path)
    try:
        names = os.listdir(path.parent)
    except OSError:
        return
    for name in names:
        if pattern.fullmatch(name):
            try:
                os.unlink(path.parent / name)
            except OSError:
                pass


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories; the rename is durable enough there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path) -> tuple[dict, dict]:
    """Read a checkpoint: ``(arrays, meta)`` with host NumPy arrays.

    Raises :class:`CheckpointError` for a missing, truncated, corrupt,
    crafted or foreign file (it names the file and the problem). Every
    member's size is checked against the file's own size before anything
    is allocated.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    _check_archive(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            names = list(z.files)
            if _META not in names:
                raise CheckpointError(f"{path} is not a minitf checkpoint (no {_META} entry)")
            meta = json.loads(z[_META].tobytes().decode("utf-8"))
            arrays = {k: z[k] for k in names if k != _META}
    except CheckpointError:
        raise
    except Exception as e:  # BadZipFile, CRC errors, truncated members, bad headers, bad JSON...
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated and cannot be loaded "
                              f"({type(e).__name__}: {str(e)[:200]})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        fmt = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointError(f"{path} is not a minitf checkpoint (format {str(fmt)[:40]!r})")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {str(meta.get('version'))[:20]}; "
                              f"this minitf reads version {VERSION}")
    manifest = meta.get("arrays", {})
    got = {k: [list(a.shape), a.dtype.str] for k, a in arrays.items()}
    if got != manifest:
        missing = sorted(set(manifest) - set(got)) if isinstance(manifest, dict) else []
        raise CheckpointError(f"checkpoint {path} is inconsistent: its arrays do not match its manifest"
                              + (f" (missing {missing[:5]})" if missing else ""))
    return arrays, meta


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a first member, or the end record of an empty archive


def _check_archive(path: Path) -> None:
    """Refuse, before NumPy reads it, a file that is not a plain archive of ``.npy`` members of sane sizes.

    ``np.load`` would advise ``allow_pickle=True`` for a non-archive, return
    raw bytes for a member that is not ``.npy``, and allocate whatever shape a
    member's header claims; this names the entry instead.
    """
    import zipfile
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4)
    if head not in _ZIP_MAGIC:
        raise CheckpointError(f"{path} is not a minitf checkpoint (not a ZIP archive of arrays"
                              + (", the file is empty)" if not head else ")"))
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename
                if not name.endswith(".npy"):
                    raise CheckpointError(f"checkpoint {path}: entry {name[:80]!r} is not an array (.npy member)")
                if info.compress_type != zipfile.ZIP_STORED or info.file_size > size:
                    raise CheckpointError(f"checkpoint {path}: entry {name[:-4][:80]!r} is compressed or larger "
                                          f"than the file (minitf writes stored members)")
                with zf.open(info) as m:
                    version = np.lib.format.read_magic(m)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(m)
                    elif version == (2, 0):
                        shape, _, dtype = np.lib.format.read_array_header_2_0(m)
                    else:  # numpy.savez writes 1.0 (2.0 for huge headers); 3.0 only for non-ASCII field names
                        raise CheckpointError(f"checkpoint {path}: entry {name[:-4][:80]!r} has .npy format "
                                              f"version {version}, which minitf does not write")
                    if dtype.hasobject:
                        raise CheckpointError(f"checkpoint {path}: entry {name[:-4][:80]!r} holds Python objects "
                                              f"(dtype {dtype}), which minitf never writes")
                    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
                    if nbytes > info.file_size:
                        raise CheckpointError(f"checkpoint {path}: entry {name[:-4][:80]!r} claims shape "
                                              f"{tuple(shape)} ({nbytes:,} bytes), more than its "
                                              f"{info.file_size:,} bytes in the file")
    except CheckpointError:
        raise
    except Exception as e:  # BadZipFile, bad .npy headers, truncated members
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated and cannot be loaded "
                              f"({type(e).__name__}: {str(e)[:200]})") from None


# ---------------------------------------------------------------- training checkpoints
@dataclass
class TrainingCheckpoint:
    """What :func:`load_training` returns."""
    model_state: dict       # name -> np.ndarray
    optimizer_state: dict   # an Optimizer.state_dict() with NumPy arrays
    meta: dict              # everything else (iteration, RNG, config, vocabulary...)


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    return v


def save_training(path, model_state: dict, optimizer_state: dict, meta: dict) -> Path:
    """Save a model ``state_dict()``, an optimizer ``state_dict()`` and metadata, atomically."""
    arrays = {f"model/{k}": v for k, v in model_state.items()}
    scalars = {}
    for idx, s in optimizer_state["state"].items():
        for k, v in s.items():
            if hasattr(v, "shape") and not isinstance(v, np.generic):
                arrays[f"optim/{idx}/{k}"] = v
            else:
                scalars.setdefault(str(idx), {})[k] = _jsonable(v)
    groups = [{k: _jsonable(v) for k, v in g.items()} for g in optimizer_state["param_groups"]]
    meta = {**meta, "model_keys": list(model_state.keys()),
            "optimizer": {"param_groups": groups, "scalars": scalars}}
    return save(path, arrays, meta)


def load_training(path) -> TrainingCheckpoint:
    """Read what :func:`save_training` wrote (see :func:`load` for the errors).

    The metadata entries every training checkpoint has (``model_keys``,
    ``iter``, ``elapsed_s``, the optimizer's groups and scalars) are checked
    for type and range here; a bad one is a :class:`CheckpointError` naming it.
    """
    arrays, meta = load(path)

    def bad(entry, why):
        return CheckpointError(f"checkpoint {path}: entry {entry!r} {why}")
    keys = meta.get("model_keys")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise bad("model_keys", "is missing or not a list of names: not a training checkpoint")
    missing = [k for k in keys if f"model/{k}" not in arrays]
    if missing:
        raise bad("model_keys", f"names arrays the archive lacks ({missing[:3]})")
    it = meta.get("iter")
    if not _is_int(it) or it < 0:
        raise bad("iter", f"must be an integer >= 0, got {_short(it)}")
    el = meta.get("elapsed_s", 0.0)
    if not _is_real(el) or not el >= 0:
        raise bad("elapsed_s", f"must be a number >= 0, got {_short(el)}")
    opt_meta = meta.get("optimizer")
    if not isinstance(opt_meta, dict) or not isinstance(opt_meta.get("param_groups"), list) \
            or not isinstance(opt_meta.get("scalars"), dict):
        raise bad("optimizer", "is missing or lacks 'param_groups' (a list) and 'scalars' (a mapping)")
    for i, g in enumerate(opt_meta["param_groups"]):
        if not isinstance(g, dict) or not isinstance(g.get("params"), list) or not all(map(_is_int, g["params"])):
            raise bad(f"optimizer.param_groups[{i}]", "must be a mapping with 'params', a list of integers")
        for k, v in g.items():
            ok = (k == "params" or (k == "name" and isinstance(v, str)) or isinstance(v, bool) or v is None
                  or _finite(v) or (isinstance(v, list) and all(map(_finite, v))))
            if not ok:
                raise bad(f"optimizer.param_groups[{i}].{k}", f"must be a finite number, got {_short(v)}")
    state: dict = {}
    try:
        for idx, s in opt_meta["scalars"].items():
            if not isinstance(s, dict) or not all(_finite(v) for v in s.values()):
                raise bad(f"optimizer.scalars.{idx}", f"must map names to finite numbers, got {_short(s)}")
            state.setdefault(int(idx), {}).update(s)
        for name, arr in arrays.items():
            if name.startswith("optim/"):
                _, idx, key = name.split("/", 2)
                state.setdefault(int(idx), {})[key] = arr
    except ValueError:
        raise bad("optimizer", "has a state that is not indexed by parameter number") from None
    model_state = {k: arrays[f"model/{k}"] for k in keys}
    optimizer_state = {"state": state, "param_groups": opt_meta["param_groups"]}
    return TrainingCheckpoint(model_state, optimizer_state, meta)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _finite(v) -> bool:
    return _is_real(v) and math.isfinite(v)


def _short(v) -> str:
    """A value for an error message, cut short (a crafted entry can be huge)."""
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."
