"""The docs stay runnable: every ```python block of docs/*.md and README.md is executed,
the blocks of one file in order and in one namespace (later blocks may use earlier ones)."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)


def python_blocks(path):
    """(first line number, source) of each ```python block in a Markdown file."""
    text = path.read_text(encoding="utf-8")
    return [(text[:m.start(1)].count("\n") + 1, m.group(1)) for m in BLOCK.finditer(text)]


def test_block_extraction(tmp_path):
    sample = "intro\n```python\nx = 1\n```\ntext\n```bash\nls\n```\n```python\ny = x + 1\n```\n"
    path = tmp_path / "sample.md"
    path.write_text(sample, encoding="utf-8")
    assert python_blocks(path) == [(3, "x = 1\n"), (10, "y = x + 1\n")]


def test_autograd_chapter_has_its_examples():
    blocks = python_blocks(ROOT / "docs" / "autograd.md")
    sources = "".join(src for _, src in blocks)
    assert len(blocks) >= 5
    assert "mt.gradcheck" in sources and "retain_graph=True" in sources and "no_grad" in sources


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_python_blocks_run(path, restore_rng):
    blocks = python_blocks(path)
    if not blocks:
        pytest.skip(f"{path.name} has no python blocks")
    namespace = {"__name__": f"docs_{path.stem}"}
    for line, source in blocks:
        # pad so that a traceback points at the real line of the Markdown file
        code = compile("\n" * (line - 1) + source, str(path), "exec")
        exec(code, namespace)


def test_autograd_chapter_shows_the_engine_tools():
    sources = "".join(src for _, src in python_blocks(ROOT / "docs" / "autograd.md"))
    for name in ("create_graph=True", "mt.grad(", "mt.gradgradcheck", "mt.detect_anomaly",
                 "mt.profile", "mt.to_dot"):
        assert name in sources, name
    text = (ROOT / "docs" / "autograd.md").read_text(encoding="utf-8")
    for figure in ("figures/expression.png", "figures/transformer_block.png"):
        assert figure in text and (ROOT / "docs" / figure).is_file(), figure
