"""What every experiment script in examples/ shares: the record of the machine,
the JSON results file, the figure, the device flag, and (from examples/_timing.py)
the timer, the table and the memory peak.

    from _common import machine_info, save_results, save_figure
    results = {"machine": machine_info(device), "rows": rows}
    save_results("docs/results/parallel_vs_rnn.json", results)
    fig = new_figure()            # None (with a printed note) when matplotlib is missing
    if fig is not None: ...; save_figure(fig, "docs/figures/parallel_vs_rnn.png")

The scripts import this file as a sibling module (``examples/`` is on
``sys.path`` when a script there runs; the tests put it there themselves).
It uses only minitf's public API.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

import minitf as mt

PLOT_HINT = 'matplotlib is not installed, so no figure was drawn (pip install -e ".[plot]")'


# ------------------------------------------------------------------ the machine
def _blas_info() -> list[dict]:
    """The BLAS/OpenMP libraries NumPy runs on, with their thread counts.

    threadpoolctl (if installed) asks the loaded libraries themselves; else
    NumPy's build configuration names the BLAS it was built against."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        keep = ("user_api", "internal_api", "version", "num_threads", "threading_layer", "architecture")
        return [{k: lib.get(k) for k in keep if k in lib} for lib in threadpool_info()]
    try:  # numpy >= 1.26 returns a dict with mode="dicts"
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        return [{"user_api": "blas", "internal_api": blas.get("name"), "version": blas.get("version"),
                 "num_threads": None, "source": "numpy.show_config (threadpoolctl not installed)"}]
    except Exception:  # older NumPy: show_config only prints
        return [{"user_api": "blas", "internal_api": "unknown", "source": "threadpoolctl not installed"}]


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu_info() -> dict | None:
    """Name, memory and versions of the GPU (minitf.backend asks CuPy; only when --device gpu is used)."""
    try:
        from minitf import backend
        return backend.gpu_info()
    except Exception as e:  # report, never fail the experiment over its record
        return {"error": f"{type(e).__name__}: {e}"}


def machine_info(device: str = "cpu", note: str | None = None) -> dict:
    """A record of where and with what an experiment ran: goes into its JSON.

    Parameters
    ----------
    device : "cpu" or "gpu", the device the experiment used.
    note : free text (for example "machine shared with other jobs: timings noisy").
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    try:
        load = os.getloadavg()
    except (AttributeError, OSError):
        load = None
    info = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join([Path(sys.argv[0]).as_posix()] + sys.argv[1:]),
        "device": device,
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "usable_cores": cores,
        "load_average_1_5_15min": list(load) if load else None,
        "minitf_threads": mt.num_threads(),
        "blas": _blas_info(),
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "minitf": mt.__version__},
    }
    try:
        import matplotlib
        info["versions"]["matplotlib"] = matplotlib.__version__
    except ImportError:
        pass
    if device == "gpu":
        info["gpu"] = _gpu_info()
    if note:
        info["note"] = note
    return info


# ------------------------------------------------------------------ outputs
def _plain(x):
    """JSON has no NumPy scalars or arrays: turn them into Python numbers and lists."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and (x != x or x in (float("inf"), float("-inf"))):
        return None  # NaN / inf are not JSON
    return x


def make_dir(path, flag: str = "", writing=None) -> Path:
    """Create the folder ``path`` and its parents, or exit 2 with one line naming it and the cause
    (``flag``, e.g. ``"--cache-dir "``, says which setting chose it; ``writing``, the file it is for)."""
    path = Path(path)
    prefix = f"cannot write {writing}: " if writing is not None else ""
    if path.exists() and not path.is_dir():
        fail(f"{prefix}{flag}{path} exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        fail(f"{prefix}cannot create the folder {flag}{path}: {e.strerror or e}")
    return path


def save_results(path, results: dict) -> Path:
    """Write ``results`` as indented JSON to ``path`` (folders made as needed); returns the path.
    A path that cannot be written ends the script with one line and exit status 2."""
    path = Path(path)
    text = json.dumps(_plain(results), indent=1) + "\n"
    make_dir(path.parent, writing=path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)  # a reader never sees half a file
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        fail(f"cannot write {path}: {e.strerror or e}")
    return path


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed), or None if matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save_figure(fig, path, dpi: int = 120) -> Path:
    """Save a matplotlib figure as PNG to ``path`` (folders made as needed) and close it."""
    import matplotlib.pyplot as plt
    path = Path(path)
    try:
        make_dir(path.parent, writing=path)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    except OSError as e:
        fail(f"cannot write {path}: {e.strerror or e}")
    finally:
        plt.close(fig)
    return path


# ------------------------------------------------------------------ command line
def add_common_args(p: argparse.ArgumentParser, name: str) -> None:
    """--device, --quick, --out (JSON), --figure (PNG), --no-figure; ``name`` names the default files."""
    p.add_argument("--device", choices=["cpu", "gpu", "fake"], metavar="{cpu,gpu}", default="cpu",
                   help="where to run (default: cpu; gpu needs CuPy and an NVIDIA GPU)")
    p.add_argument("--quick", action="store_true",
                   help="a tiny size that finishes in seconds (what the test suite runs)")
    p.add_argument("--out", metavar="FILE.json", default=None,
                   help=f"raw results as JSON (default: docs/results/{name}.json; with --quick: none)")
    p.add_argument("--figure", metavar="FILE.png", default=None,
                   help=f"the figure (default: docs/figures/{name}.png; with --quick: none)")
    p.add_argument("--note", default=None, help="free text recorded in the JSON (e.g. 'machine shared')")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="the time reported: wall clock (default), or this process's CPU time, which other "
                        "jobs on a shared machine do not stretch (use with --threads 1; CPU only)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads for minitf's kernels and NumPy's BLAS (default: all usable cores; "
                        "1 gives steadier timings on a machine shared with other jobs)")


def output_paths(args, name: str):
    """(json path or None, png path or None) from the common flags: --quick writes nothing unless asked."""
    root = Path(__file__).resolve().parent.parent
    out = args.out or (None if args.quick else root / "docs" / "results" / f"{name}.json")
    fig = args.figure or (None if args.quick else root / "docs" / "figures" / f"{name}.png")
    return out, fig


def write_outputs(results: dict, json_path, fig_path, draw, log=print) -> None:
    """Write the results JSON and the figure where asked: ``draw(fig_path)`` draws and saves it
    and returns a true value, or None when matplotlib is missing (a note says so)."""
    if json_path:
        log(f"results: {save_results(json_path, results)}")
    if fig_path:
        if draw(fig_path) is None:
            log("note: " + PLOT_HINT)
        else:
            log(f"figure:  {fig_path}")


SIGPIPE_STATUS = 141  # 128 + SIGPIPE: what a shell reports for a program its closed pipe ended


class PipeSafePrint:
    """``print`` for a command line whose output may be a pipe that closes early (``... | head -2``).

    Each line is flushed as it is printed, so a closed pipe shows at once. When it does
    (BrokenPipeError), the stream is pointed at ``os.devnull`` (so that neither later lines nor
    Python's flush at exit raise again), :attr:`closed` is set and ``on_close()`` is called: a
    script then ends quietly, with :data:`SIGPIPE_STATUS`, as the standard Unix tools do.
    """

    def __init__(self, on_close=None):
        self.closed = False
        self.on_close = on_close

    def __call__(self, *args, file=None, **kw):
        file = sys.stdout if file is None else file
        if self.closed:
            return
        try:
            print(*args, file=file, **kw)
            file.flush()
        except BrokenPipeError:
            self.close(file)

    def close(self, file=None) -> None:
        file = sys.stdout if file is None else file
        self.closed = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, file.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # not a real file: nothing more goes there anyway
            pass
        if self.on_close is not None:
            self.on_close()


def fail(message: str) -> None:
    """A user's mistake: one line on stderr, exit status 2 (as argparse does), no traceback."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def run_main(build_parser, run, argv=None) -> int:
    """Parse ``argv`` with ``build_parser()`` and ``run(args)``; the library's errors for a user's
    mistake (no GPU, bad data, a bad checkpoint or config) are one line on stderr, exit status 2."""
    import minitf as mt
    from minitf import checkpoint, data, train
    args = build_parser().parse_args(argv)
    try:
        run(args)
    except (mt.DeviceError, data.DataError, checkpoint.CheckpointError, train.ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


_limits = None  # threadpoolctl's controller, kept alive so the BLAS limit holds


def set_threads(n: int | None) -> None:
    """Use ``n`` threads in minitf's CPU kernels and in NumPy's BLAS (None: leave both as they are).

    The BLAS limit needs threadpoolctl; without it a note says how to set it
    (OPENBLAS_NUM_THREADS / OMP_NUM_THREADS before starting Python)."""
    global _limits
    if n is None:
        return
    if n < 1:
        fail(f"--threads must be a positive integer, got {n}")
    mt.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print(f"note: threadpoolctl is not installed: NumPy's BLAS keeps its own thread count "
              f"(set OPENBLAS_NUM_THREADS={n} before starting Python)")
        return
    _limits = threadpool_limits(limits=n)


def require_device(device: str) -> None:
    """Raise DeviceError ("--device gpu is unavailable: why") unless ``device`` can be used:
    run_main turns it into one line and exit status 2, before any work."""
    if device == "gpu":
        try:
            mt.zeros(1, device="gpu")
        except mt.DeviceError as e:
            raise mt.DeviceError(f"--device gpu is unavailable: {e}") from None


def check_device_arg(device: str, clock: str = "wall") -> None:
    """Exit 2 with one line if --device gpu cannot be used (or is asked for CPU time)."""
    if device == "gpu" and clock == "cpu":
        fail("--clock cpu measures the CPU, not the GPU's queued work: use --clock wall with --device gpu")
    if device == "gpu" and not mt.gpu_available():
        try:
            mt.zeros(1, device="gpu")
        except mt.DeviceError as e:
            fail(f"--device gpu: {e}")


# the timer, the table and the memory peak (examples/_timing.py), imported from here by the scripts
from _timing import peak_memory, print_table, synchronize, time_alternating  # noqa: E402,F401
