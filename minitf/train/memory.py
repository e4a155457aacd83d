"""Will a run fit? The memory it needs (an estimate, by part) against the memory this machine has free.

:func:`check_fits` runs before a run allocates its model or its first batch: a ``--batch-size`` of
10^8 is refused with one line (the estimate, by part, and what is available) instead of the
operating system killing the process, or another one, when memory runs out. The estimate is
:func:`~minitf.train.config.memory_estimate`'s; what is available:

- on the CPU (and the fake GPU), ``MemAvailable`` of ``/proc/meminfo`` (what the kernel can give
  without swapping), lowered to the room left under a cgroup's memory limit (a container's), else
  ``os.sysconf``'s free physical pages; unknown (no check) where none of these exists;
- on a GPU, the device's free memory plus what CuPy's pool holds unused (``backend.gpu_free_memory``).

A ``--data`` file is weighed before it is read (:func:`check_file_fits`): a regular file's size is
known, and one larger than the memory available (a sparse file, a disk image) is refused with one
line, where reading it first would exhaust the memory before the check ran.

``MINITF_SKIP_MEMORY_CHECK=1`` turns the checks off (for an estimate that is wrong for some model).
"""
from __future__ import annotations

import os
import stat

from .. import backend
from .config import ConfigError, memory_estimate

__all__ = ["available_memory", "check_file_fits", "check_fits", "describe_estimate", "gib"]


def gib(n: int) -> str:
    """``n`` bytes in MiB, GiB or TiB, three significant figures (whole numbers past 1,000)."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= size or unit == "MiB":
            v = n / size
            return f"{v:.3g} {unit}" if v < 1000 else f"{v:,.0f} {unit}"


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """Bytes left under this process's cgroup memory limit (v2, then v1); None without a limit."""
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_file, encoding="ascii") as f:
                limit = f.read().strip()
            with open(usage_file, encoding="ascii") as f:
                usage = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 2**60:  # v1 writes a huge number for "no limit"
            return max(int(limit) - usage, 0)
    return None


def available_memory(device: str = "cpu") -> tuple[int | None, str]:
    """``(bytes, where the figure comes from)``: the memory a run on ``device`` can still allocate,
    or ``(None, why)`` when it cannot be known."""
    if device == "gpu":
        try:
            return backend.gpu_free_memory(), "free memory of the GPU"
        except Exception as e:  # a driver that cannot say: no check rather than a wrong one
            return None, f"the GPU's free memory is unknown ({type(e).__name__})"
    avail, source = _meminfo_available(), "MemAvailable in /proc/meminfo"
    if avail is None:
        try:
            avail, source = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "free physical memory"
        except (AttributeError, ValueError, OSError):
            return None, "this system does not say how much memory is free"
    room = _cgroup_room()
    if room is not None and room < avail:
        avail, source = room, "room under this container's cgroup memory limit"
    return avail, source


def describe_estimate(cfg, vocab_size: int, corpus_chars: int) -> str:
    """'an estimated X (model ..., activations ...); the largest part is ...: use a smaller ...'"""
    parts = memory_estimate(cfg, vocab_size, corpus_chars)
    return (f"an estimated {gib(sum(parts.values()))} ({_listed(parts)}); the largest part is "
            f"{_largest(cfg, parts, corpus_chars)}")


def _listed(parts: dict) -> str:
    return ", ".join(f"{k} {gib(v)}" for k, v in parts.items() if v)


def _largest(cfg, parts: dict, corpus_chars: int) -> str:
    """The largest part of ``parts``, what makes it large, and the settings that shrink it."""
    B, T, C, L = cfg.batch_size, cfg.block_size, cfg.n_embd, cfg.n_layer
    gpt = cfg.model == "gpt"
    # a part grows with several settings: the one far past its presets' (n_layer 100000) comes first
    layers_first = L > 64
    act_flags = "--n-layer, --batch-size or --block-size" if layers_first else "--batch-size, --block-size or --n-layer"
    if gpt and not cfg.checkpoint_blocks:
        act_flags += ", or --checkpoint-blocks"
    why = {"model": f"the model's parameters, gradients and AdamW state (n_embd {C:,}, n_layer {L:,}): use a "
                    f"smaller {'--n-layer or --n-embd' if layers_first else '--n-embd or --n-layer'}",
           "activations": f"the activations a batch keeps for backward (batch_size x block_size x n_embd = {B:,} x "
                          f"{T:,} x {C:,}, for each of n_layer {L:,} layers): use a smaller {act_flags}",
           "logits": f"the logits of a batch (batch_size x block_size x vocabulary = {B:,} x {T:,} x the corpus's "
                     f"characters): use a smaller --batch-size or --block-size",
           "attention": f"the attention scores (batch_size x n_head x block_size^2 = {B:,} x {cfg.n_head:,} x "
                        f"{T:,}^2, {'one block at a time' if cfg.checkpoint_blocks else f'for each of n_layer {L:,} blocks'}): use a smaller --block-size, --batch-size"
                        f"{', --n-layer' if not cfg.checkpoint_blocks else ''} or --n-head",
           "data": f"the corpus ({corpus_chars:,} characters of {cfg.data or 'the default corpus'}): use a smaller "
                   f"--data file"}
    largest = max((k for k in parts if k != "baseline"), key=parts.get)   # the baseline is no setting's
    return why[largest]


def _skipped() -> bool:
    return os.environ.get("MINITF_SKIP_MEMORY_CHECK", "") not in ("", "0")


def check_file_fits(cfg, path) -> None:
    """Raise :class:`~minitf.train.config.ConfigError` ("out of memory: ...") before ``path`` (the
    ``--data`` file) is read, when the least that reading it needs exceeds the host memory
    available: its bytes as read, and the fewest characters they can hold (a quarter: UTF-8 takes at
    most 4 bytes a character) as text and ids (the "data" part of
    :func:`~minitf.train.config.memory_estimate`). A lower bound, so that a file this refuses could
    never have been read, and the run with one it lets through is weighed whole once it is read
    (:func:`check_fits`). Nothing for a path that is not a regular file (the reader says what is
    wrong with it) or when the figure is unknown."""
    if _skipped():
        return
    path = os.path.expanduser(path)
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return
    if not stat.S_ISREG(st.st_mode):
        return
    size = st.st_size
    need = size + memory_estimate(cfg, 1, size // 4)["data"]
    avail, source = available_memory("cpu")   # the corpus is read on the host, whatever the device
    if avail is None or need <= avail:
        return
    raise ConfigError(f"out of memory: the --data file {path} is {gib(size)}, and reading it needs at least an "
                      f"estimated {gib(need)} (its bytes and its characters as text and ids), more than the "
                      f"{gib(avail)} available ({source}): use a smaller --data file (MINITF_SKIP_MEMORY_CHECK=1 "
                      f"skips this check)")


def check_fits(cfg, vocab_size: int, corpus_chars: int) -> None:
    """Raise :class:`~minitf.train.config.ConfigError` ("out of memory: ...") when the run's estimate
    exceeds the memory available on its device; nothing when it fits or the figure is unknown."""
    if _skipped():
        return
    # the baseline is resident already (this process holds it), so that what is available is the room
    # beyond it; the corpus stays on the host of a GPU run. Refused only when the rest exceeds the room
    parts = {k: v for k, v in memory_estimate(cfg, vocab_size, corpus_chars).items()
             if k != "baseline" and not (cfg.device == "gpu" and k == "data")}
    avail, source = available_memory(cfg.device)
    if avail is None or sum(parts.values()) <= avail:
        return
    raise ConfigError(f"out of memory: the run needs an estimated {gib(sum(parts.values()))} ({_listed(parts)}), "
                      f"more than the {gib(avail)} available ({source}); the largest part is "
                      f"{_largest(cfg, parts, corpus_chars)} (MINITF_SKIP_MEMORY_CHECK=1 skips this check)")
