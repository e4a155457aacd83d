"""``minitf.nn.functional`` is ``minitf.functional`` itself, under PyTorch's module path."""
import subprocess
import sys
from pathlib import Path

import minitf
from minitf import nn

ROOT = Path(__file__).resolve().parents[2]


def test_every_import_form_gives_the_one_module():
    import minitf.nn.functional as F1
    from minitf.nn import functional as F2
    from minitf.nn.functional import l1_loss, relu
    assert F1 is F2 is nn.functional is minitf.functional
    assert relu is minitf.functional.relu and l1_loss is minitf.functional.l1_loss


def test_importing_it_first_in_a_fresh_interpreter_works_and_keeps_import_minitf_light():
    code = ("import sys, minitf\n"
            "assert 'minitf.nn' not in sys.modules\n"
            "import minitf.nn.functional as F\n"
            "assert F is minitf.functional and sys.modules['minitf.nn.functional'] is F\n"
            "print(F.softplus(minitf.tensor([0.0])).item())\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert abs(float(out.stdout) - 0.6931471805599453) < 1e-6
