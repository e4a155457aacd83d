"""Run a PyTorch script on minitf: ``python run_as_torch.py SCRIPT [ARGS...]`` makes ``import torch``
(and torch.nn, torch.nn.functional, torch.optim, torch.utils.data, ...) import minitf's modules."""
import runpy
import sys

import minitf
import minitf.nn
import minitf.nn.functional
import minitf.nn.init
import minitf.nn.utils
import minitf.optim
import minitf.optim.lr_scheduler
import minitf.utils
import minitf.utils.data

sys.modules["torch"] = minitf
for sub in ("nn", "nn.functional", "nn.init", "nn.utils", "optim", "optim.lr_scheduler", "utils", "utils.data"):
    sys.modules[f"torch.{sub}"] = sys.modules[f"minitf.{sub}"]
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(script)))
runpy.run_path(script, run_name="__main__")
