"""Every ```python block of docs/*.md and README.md runs as a test, through sybil.

The blocks of one file run in order in one namespace, so a later block may use
what an earlier one defined (the text says so where a block continues another).
``pytest`` from the repository root collects them (setup.cfg's testpaths name
docs/ and README.md next to tests/); ``pytest docs/attention.md`` runs one file.
A ```text block is shown but never run.
"""
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser


def _save_rng(namespace):
    # a page may call minitf.manual_seed: put the global random state back afterwards
    from minitf import random as mt_random
    namespace["__rng_state__"] = (mt_random._seed, dict(mt_random._generators))


def _restore_rng(namespace):
    from minitf import complex_guard, random as mt_random
    mt_random._seed, gens = namespace.pop("__rng_state__")
    mt_random._generators.clear()
    mt_random._generators.update(gens)
    if complex_guard.armed:   # a page that made a complex tensor: later pages and tests run without the check
        complex_guard.disarm()


pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser()],
    patterns=["docs/*.md", "README.md"],
    setup=_save_rng,
    teardown=_restore_rng,
).pytest()
