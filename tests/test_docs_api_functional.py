"""The API reference lists every public name of minitf.functional, one line each."""
import re
from pathlib import Path

from minitf import functional as F

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _section():
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        m = re.search(r"^## minitf\.functional\n(.*?)(?=^## |\Z)", text, re.S | re.M)
        if m:
            return m.group(1)
    raise AssertionError("no '## minitf.functional' section in docs/*.md")


def test_every_public_name_of_functional_is_listed():
    listed = set(re.findall(r"`(\w+)\(", _section())) | set(re.findall(r"alias `(\w+)`", _section()))
    missing = sorted(set(F.__all__) - listed)
    assert not missing, f"docs: minitf.functional names without a line: {missing}"
    unknown = sorted(n for n in re.findall(r"^- `(\w+)\(", _section(), re.M) if n not in F.__all__)
    assert not unknown, f"docs list names minitf.functional does not export: {unknown}"
