"""Host memory: keep freed activation buffers in the process instead of handing them back.

A training step allocates the same large arrays every iteration (activations
saved for backward, their gradients) and frees them all at its end. glibc's
``malloc`` serves every block above its mmap threshold (128 KiB, growing
dynamically to at most 32 MiB) with a fresh ``mmap`` and returns it with
``munmap`` on free, so each step the kernel hands back new pages, each one
zeroed and page-faulted in on first touch. Measured on the development machine
(one thread, so that CPU time is the work): a ``baby`` GPT step took 3,038
minor page faults and 50.0 ms of CPU, 30 faults and 44.7 ms with the blocks
kept on the heap; a ``small`` step 55,000 faults and 16.9 s of CPU against
none and 10.4 s (see docs/performance.md).

:func:`tune_host_allocator` asks glibc, once, to serve every block from its
heap (``M_MMAP_MAX = 0``) and never to trim the heap back to the kernel
(``M_TRIM_THRESHOLD = -1``), so a freed buffer is reused by the next step's
allocation of the same size. The price: the process keeps its peak heap
resident until it exits (what PyTorch's own caching allocators do on the GPU).
It is called lazily when the first :class:`~minitf.nn.Module` or optimizer is
made, never at import. It does nothing off Linux/glibc, when the user steers
glibc's allocator themselves (``MALLOC_MMAP_MAX_``, ``MALLOC_TRIM_THRESHOLD_``,
``MALLOC_MMAP_THRESHOLD_`` or ``GLIBC_TUNABLES`` set), or when
``MINITF_TUNE_MALLOC=0``.
"""
from __future__ import annotations

import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4   # glibc's <malloc.h> parameter numbers
_USER_KNOBS = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")

_state = None  # None: not tried yet; else the reason string of the one attempt ("tuned" on success)


def tune_host_allocator() -> str:
    """Keep freed host buffers for reuse (once per process); returns what happened.

    ``"tuned"`` when glibc accepted both settings; otherwise why nothing was
    changed (``"off: MINITF_TUNE_MALLOC=0"``, ``"off: not glibc"``, ...).
    Later calls return the first answer without doing anything.
    """
    global _state
    if _state is None:
        _state = _tune(os.environ)
    return _state


def _tune(env) -> str:
    if env.get("MINITF_TUNE_MALLOC", "1").strip() in ("0", "false", "no", "off"):
        return "off: MINITF_TUNE_MALLOC=0"
    user = [k for k in _USER_KNOBS if k in env]
    if user:
        return f"off: the user sets {user[0]}"
    if not sys.platform.startswith("linux"):
        return "off: not Linux"
    try:
        import ctypes
        import platform
        if platform.libc_ver()[0] != "glibc":
            return "off: not glibc"
        libc = ctypes.CDLL(None)
        ok = libc.mallopt(_M_MMAP_MAX, 0) == 1 and libc.mallopt(_M_TRIM_THRESHOLD, -1) == 1
    except (OSError, AttributeError) as e:   # no libc symbol, or ctypes unusable
        return f"off: {type(e).__name__}: {e}"
    return "tuned" if ok else "off: mallopt refused"
