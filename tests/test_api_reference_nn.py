"""The API reference lists every public name of minitf.nn and minitf.optim (one line each)."""
import re
from pathlib import Path

import pytest

from minitf import nn, optim

DOCS = Path(__file__).resolve().parent.parent / "docs"


def section(title):
    """The text under ``## title`` up to the next level-2 heading, from docs/api.md."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", (DOCS / "api.md").read_text(encoding="utf-8"),
                  re.S | re.M)
    if m is None:
        pytest.fail(f"no '## {title}' section in docs/api.md")
    return m.group(1)


def test_every_public_nn_name_is_listed():
    text = section("minitf.nn")
    missing = [n for n in nn.__all__ if f"`nn.{n}" not in text]
    missing += [f"Module.{n}" for n, v in vars(nn.Module).items()
                if not n.startswith("_") and callable(v) and f"`{n}(" not in text]
    missing += [f"init.{n}" for n in ("normal_", "uniform_", "zeros_", "ones_") if f"`{n}(" not in text]
    missing += [f"utils.{n}" for n in nn.utils.__all__ if f"nn.utils.{n}" not in text]
    assert not missing, f"not in the API reference: {missing}"


def test_every_public_optim_name_is_listed():
    text = section("minitf.optim")
    missing = [n for n in optim.__all__ if f"`optim.{n}" not in text]
    missing += [f"lr_scheduler.{n}" for n in optim.lr_scheduler.__all__ if f"`lr_scheduler.{n}" not in text]
    assert "`optim.lr_scheduler`" in text
    assert not missing, f"not in the API reference: {missing}"
