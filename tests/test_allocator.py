"""The host-allocator tuning of minitf/allocator.py: lazy, switchable, and it does keep pages."""
import json
import os
import subprocess
import sys

import pytest

from minitf import allocator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# in a fresh process: is anything tuned at import; then after a Module; then the page faults
# of allocating, touching and freeing a 64 MiB array twice (the second time it can reuse the first)
PROBE = r"""
import json, resource, numpy as np
import minitf
from minitf import allocator
at_import = allocator._state
from minitf import nn
nn.Linear(2, 2)
def faults():
    r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.ones(1 << 24, dtype=np.float32); del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0
faults()
print(json.dumps(dict(at_import=at_import, state=allocator.tune_host_allocator(), faults=faults())))
"""


def _probe(**env):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    full.update(env, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", PROBE], env=full, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_off_switch_and_user_settings_win():
    assert allocator._tune({"MINITF_TUNE_MALLOC": "0"}) == "off: MINITF_TUNE_MALLOC=0"
    assert allocator._tune({"MALLOC_MMAP_MAX_": "65536"}) == "off: the user sets MALLOC_MMAP_MAX_"
    assert allocator._tune({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1"}).startswith("off: the user")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux only")
def test_lazy_and_keeps_freed_buffers():
    import platform
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    tuned, off = _probe(), _probe(MINITF_TUNE_MALLOC="0")
    assert tuned["at_import"] is None and off["at_import"] is None   # no work at import
    assert tuned["state"] == "tuned" and off["state"] == "off: MINITF_TUNE_MALLOC=0"
    # untuned, glibc maps the 64 MiB afresh (>= 32 faults even with 2 MiB huge pages);
    # tuned, the freed block is reused and its pages are already there
    assert off["faults"] >= 32
    assert tuned["faults"] < off["faults"] / 4
