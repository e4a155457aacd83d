"""Draw the graphs shown in docs/autograd.md: a small expression (values and gradients,
micrograd style) and one transformer block (parameters named by their module path).

    PYTHONPATH=. python examples/draw_graphs.py --out docs/figures

Writes expression.png and transformer_block.png (and their .dot text). Rendering needs
`pip install minitf[viz]` and the Graphviz `dot` program (e.g. `apt install graphviz`);
without them the .dot files are written and the command to render them is printed.
"""
import argparse
import sys
import warnings
from pathlib import Path

import minitf as mt
from minitf import functional as F
from minitf import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import fail, make_dir  # noqa: E402


def expression():
    """L = tanh(a * b + c) * d, after backward: values and gradients in every label."""
    a = mt.tensor(2.0, requires_grad=True)
    b = mt.tensor(-3.0, requires_grad=True)
    c = mt.tensor(10.0, requires_grad=True)
    d = mt.tensor(-2.0, requires_grad=True)
    e = a * b
    e.retain_grad()
    n = F.tanh((e + c) * 0.1)
    loss = n * d
    loss.backward(retain_graph=True)
    names = {"a": a, "b": b, "c": c, "d": d, "e = a * b": e, "L": loss}
    return loss, dict(params=names, show_values=True, show_grad=True, rankdir="LR")


def transformer_block():
    """One pre-norm block (C=8, 2 heads) on a (1, 4, 8) input, summed to a scalar."""
    mt.manual_seed(0)
    block = nn.TransformerBlock(n_embd=8, n_head=2)
    x = mt.randn(1, 4, 8)
    return block(x).sum(), dict(params={"x": x, **dict(block.named_parameters())})


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Draw the docs' graph pictures.")
    # the repository's docs/figures wherever the script is run from, as the experiments' outputs
    p.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "figures"),
                   help="output directory (default: the repository's docs/figures)")
    p.add_argument("--format", default="png", choices=["png", "svg", "pdf"],
                   help="image format Graphviz renders (default png)")
    args = p.parse_args(argv)
    out = make_dir(args.out, "--out ")
    for name, make in (("expression", expression), ("transformer_block", transformer_block)):
        tensor, options = make()
        try:
            (out / f"{name}.dot").write_text(mt.to_dot(tensor, **options), encoding="utf-8")
        except OSError as e:
            fail(f"cannot write {out / f'{name}.dot'}: {e.strerror or e}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            path = mt.draw_graph(tensor, out / f"{name}.{args.format}", **options)
        for w in caught:
            print(w.message, file=sys.stderr)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
