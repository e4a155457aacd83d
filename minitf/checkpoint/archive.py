"""The archive: atomic save and checked load of NumPy arrays plus JSON metadata (see :mod:`minitf.checkpoint`)."""
from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["CheckpointError", "save", "load", "remove_stale_temporaries", "FORMAT", "VERSION"]

FORMAT = "minitf-checkpoint"
VERSION = 1
_META = "__meta__"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: missing, truncated, corrupt or incompatible."""


def _host(value) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.data
    a = backend.to_numpy(value)
    return np.ascontiguousarray(a).reshape(a.shape)  # ascontiguousarray alone makes a 0-d array (1,)


def save(path, arrays: dict, meta: dict) -> Path:
    """Write ``arrays`` (name -> array or Tensor, on any device) and JSON ``meta`` atomically.

    Returns the path written. ``meta`` must be JSON-serialisable. ``path`` may also be a binary
    file object (``io.BytesIO``, ``open(p, "wb")``): the archive is written to it at its position,
    in one ``write`` (atomicity is then the caller's, as for any stream).
    """
    stream = path if hasattr(path, "write") and not isinstance(path, (str, os.PathLike)) else None
    if stream is None:
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
    if stream is not None:
        import io
        buf = io.BytesIO()
        np.savez(buf, **host)
        try:
            stream.write(buf.getvalue())
        except TypeError:  # a text stream: bytes cannot go there
            raise TypeError("save: the file object must be opened in binary mode ('wb'), got a text stream") from None
        return stream
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
    remove_stale_temporaries(path)
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


def remove_stale_temporaries(path) -> list:
    """Delete the temporary files that writers of ``path`` killed mid-save left behind: only names of
    :func:`save`'s own pattern for it (``.<name>.<8 characters>.tmp``) that are plain files, never
    another file. Returns the paths removed.

    Call it only where no other process is saving ``path`` (a run holding its directory's lock): a
    live writer's temporary looks the same as a dead one's.
    """
    path = Path(path)
    pattern = _temporary_name_pattern(path)
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    removed = []
    for name in sorted(names):
        stale = path.parent / name
        if pattern.fullmatch(name) and stale.is_file() and not stale.is_symlink():
            try:
                os.unlink(stale)
                removed.append(stale)
            except OSError:
                pass
    return removed


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
    path, source = _source(path)
    _check_archive(source, path)
    if not isinstance(source, Path):
        source.seek(0)  # np.load reads from the position the check left
    try:
        with np.load(source, allow_pickle=False) as z:
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


def _source(path):
    """``(what messages call it, what NumPy reads)``: a path (which must be a file), or the bytes of a
    binary file object read from its position to the end, as torch.load reads one."""
    if hasattr(path, "read") and not isinstance(path, (str, os.PathLike)):
        import io
        blob = path.read()
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise TypeError(f"load: the file object must be opened in binary mode ('rb'); read() gave a "
                            f"{type(blob).__name__}")
        name = getattr(path, "name", None)
        return (f"the file object {name!r}" if isinstance(name, str) else f"the {type(path).__name__}",
                io.BytesIO(bytes(blob)))
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    return path, path


def _check_archive(source, path) -> None:
    """Refuse, before NumPy reads it, a file that is not a plain archive of ``.npy`` members of sane sizes.

    ``np.load`` would advise ``allow_pickle=True`` for a non-archive, return
    raw bytes for a member that is not ``.npy``, and allocate whatever shape a
    member's header claims; this names the entry instead. ``source`` is a path or a BytesIO,
    ``path`` what the messages call it.
    """
    import zipfile
    if isinstance(source, Path):
        size = source.stat().st_size
        with open(source, "rb") as f:
            head = f.read(4)
    else:
        size, head = len(source.getbuffer()), source.getvalue()[:4]
    if head not in _ZIP_MAGIC:
        raise CheckpointError(f"{path} is not a minitf checkpoint (not a ZIP archive of arrays"
                              + (", the file is empty)" if not head else ")"))
    try:
        with zipfile.ZipFile(source) as zf:
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
