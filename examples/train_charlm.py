"""Train a character-level language model (Tiny Shakespeare by default) on the CPU or a GPU.

    python examples/train_charlm.py                      # baby GPT on the CPU
    python examples/train_charlm.py --device gpu         # the small preset on a GPU
    python examples/train_charlm.py --model lstm         # the LSTM baseline
    python examples/train_charlm.py --resume --max-iters 3000   # continue a run further
                                         # (its saved lr schedule is kept: add --lr-decay-iters 3000 to stretch it)
    mpiexec -n 2 python examples/train_charlm.py         # one model on 2 processes (pip install -e ".[dist]")
"""
import signal
import sys

_TERMINATED = []   # SIGTERM before the training loop's handlers exist: while starting up


def _terminated_while_starting(signum, frame):
    _TERMINATED.append(signum)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)   # a second one ends the process at once
    raise KeyboardInterrupt


NOT_STARTED = "nothing was saved, since nothing had started"


def _not_started_line(code: int, resume_dir=None) -> str:
    """The line of a run stopped (Ctrl-C: 130, SIGTERM: 143) before its training started."""
    what = "terminated (SIGTERM)" if code == 143 else "interrupted"
    if resume_dir is not None:
        return f"\n{what} before training resumed: nothing was saved; the checkpoint in {resume_dir} is as it was"
    return f"\n{what} before training started: {NOT_STARTED}"


# run as a program: from here on SIGTERM ends the start-up as Ctrl-C does (Python's own SIGINT handler
# is in place from before the script runs), before the heavy imports; a signal that comes before this
# line (while the interpreter itself starts) cannot be handled by the script: docs/training.md
_SIGTERM_BEFORE = signal.signal(signal.SIGTERM, _terminated_while_starting) if __name__ == "__main__" else None
try:
    import argparse
    import os
    from pathlib import Path

    import minitf as mt
    from minitf import checkpoint, data, distributed, train

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import SIGPIPE_STATUS, PipeSafePrint  # noqa: E402
    if __name__ == "__main__":
        # the rest of the program: SIGTERM raises as Ctrl-C does (the training loop's StopSignals takes
        # over from it, and saves at a step boundary), so that every stop ends by one of main's lines
        signal.signal(signal.SIGTERM, train.stopping.raise_terminated)
except KeyboardInterrupt:   # Ctrl-C or SIGTERM while importing: quietly, as later
    if _SIGTERM_BEFORE is not None:
        signal.signal(signal.SIGTERM, _SIGTERM_BEFORE)   # as it was (for a caller that runs this in-process)
    print(_not_started_line(143 if _TERMINATED else 130), file=sys.stderr)
    sys.exit(143 if _TERMINATED else 130)

HYPER = [  # flag, type, help
    ("n_layer", int, "transformer blocks (GPT) or stacked recurrent layers (rnn/lstm)"),
    ("n_head", int, "attention heads (GPT only)"),
    ("n_embd", int, "embedding width (GPT) or hidden size (rnn/lstm)"),
    ("block_size", int, "context length in characters"),
    ("batch_size", int, "blocks per batch"),
    ("max_iters", int, "training iterations (on --resume, a larger value trains further, with the saved "
                       "learning-rate schedule)"),
    ("lr", float, "peak learning rate"),
    ("min_lr", float, "learning-rate floor after the cosine decay"),
    ("warmup_iters", int, "linear warmup iterations"),
    ("lr_decay_iters", int, "iteration where the cosine decay reaches --min-lr (default: --max-iters; on "
                            "--resume the saved value is kept unless this is given)"),
    ("weight_decay", float, "AdamW weight decay of weight matrices and embeddings"),
    ("beta2", float, "AdamW beta2"),
    ("grad_clip", float, "clip the gradient norm to this (0: off)"),
    ("dropout", float, "dropout probability"),
    ("eval_interval", int, "iterations between evals (each writes the log and the checkpoint)"),
    ("eval_iters", int, "batches per split in each eval's loss estimate"),
    ("log_interval", int, "iterations between progress lines (0, the default: --eval-interval / 5); on a GPU also how often the loss is read back"),
]


def _presets_text() -> str:
    keys = ["n_layer", "n_head", "n_embd", "block_size", "batch_size", "max_iters", "lr", "min_lr",
            "warmup_iters", "lr_decay_iters", "weight_decay", "beta2", "grad_clip", "dropout",
            "eval_interval", "eval_iters"]
    lines = ["presets (--preset; default: baby on cpu, small on gpu):",
             f"  {'setting':16s}" + "".join(f"{p:>10s}" for p in train.PRESETS)]
    for k in keys:
        lines.append(f"  {k:16s}" + "".join(f"{train.PRESETS[p][k]:>10g}" for p in train.PRESETS))
    lines += ["  Both presets use no biases in Linear and LayerNorm layers (--bias turns them on),",
              "  AdamW with beta1 0.9, and a linear warmup then cosine decay of the learning rate.",
              "  --model rnn/lstm keep the training settings and use a recurrent net of",
              "  " + "; ".join(f"{p}: n_layer {a['n_layer']}, hidden {a['n_embd']}" for p, a in train.RNN_ARCH.items())
              + " (--n-layer, --n-embd change them).",
              "",
              "data: --data FILE (any UTF-8 text); else tinyshakespeare.txt in $MINITF_DATA, then in",
              "  ~/.cache/minitf; else it is downloaded and cached; offline (or MINITF_OFFLINE=1) with",
              "  nothing cached, a fallback corpus of Python standard-library sources is used.",
              "",
              "writes to --out-dir: log.jsonl (one line per eval), ckpt.npz (the latest state: every eval",
              "  and the end; what --resume continues), best.npz (the eval with the lowest val loss so far:",
              "  what examples/sample.py reads), loss.png (with matplotlib), samples.txt.",
              "  One run at a time per --out-dir (a second stops at once).",
              "",
              "exit status: 0 done; 2 a bad setting, data file, checkpoint or --out-dir (one line on",
              "  stderr); 3 training diverged (a non-finite loss or gradient; the last good checkpoint",
              "  is kept); 130 interrupted (Ctrl-C: ckpt.npz is saved at the step boundary first); 143",
              "  terminated (SIGTERM: saved the same way); 141 the output pipe closed (`| head`: saved the",
              "  same way, no message). Under mpiexec these keep the last eval's checkpoint instead."]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Train a character-level language model with minitf.",
                                epilog=_presets_text(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cpu", "gpu", "fake"], metavar="{cpu,gpu}", default=None,
                   help="where to train (default: cpu; gpu needs CuPy and an NVIDIA GPU)")
    p.add_argument("--model", choices=["gpt", "rnn", "lstm"], default=None,
                   help="GPT (default), or a plain RNN / LSTM baseline")
    p.add_argument("--preset", choices=sorted(train.PRESETS), default=None,
                   help="hyper-parameter preset (default: baby on cpu, small on gpu)")
    p.add_argument("--data", metavar="FILE", default=None, help="a UTF-8 text file to train on")
    p.add_argument("--out-dir", default="out/charlm", metavar="DIR", help="where the log, checkpoint, plot and sample go "
                                                           "(default: out/charlm)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run whose checkpoint is in --out-dir (exactly: same losses as if "
                        "never interrupted); settings given on the command line override the saved ones, "
                        "except the architecture; --seed is ignored, and the saved learning-rate schedule is "
                        "kept unless --lr-decay-iters is given")
    p.add_argument("--overwrite", action="store_true",
                   help="start afresh even if --out-dir holds a run; that run's files (ckpt.npz, best.npz, "
                        "log.jsonl, samples.txt, loss.png) stay untouched until the new run writes its first "
                        "checkpoint (its eval at iteration 0), then are replaced: stopped before that, the old "
                        "run is left as it was")
    p.add_argument("--seed", type=int, default=None, metavar="N",
                   help="random seed of a new run (default 1337; ignored on --resume, which restores the saved "
                        "random generators)")
    p.add_argument("--dtype", choices=["float32", "float64"], default=None, help="parameter dtype (default float32)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (plain periodic lines instead)")
    p.add_argument("--sample-chars", type=int, default=None, metavar="N", help="characters sampled at the end (default 500)")
    g = p.add_argument_group("hyper-parameters (override the preset)")
    for name, typ, text in HYPER:
        g.add_argument("--" + name.replace("_", "-"), dest=name, type=typ, default=None, metavar="N" if typ is int else "X",
                       help=text)
    g.add_argument("--bias", action=argparse.BooleanOptionalAction, default=None,
                   help="biases in Linear and LayerNorm layers (default: off)")
    g.add_argument("--checkpoint-blocks", action=argparse.BooleanOptionalAction, default=None,
                   help="GPT: recompute each block's activations during backward instead of keeping them "
                        "(less memory, about a third more compute; default: off)")
    p.add_argument("--overlap-comm", action="store_true",
                   help="under mpiexec: start each bucket's gradient allreduce during backward, as soon as its "
                        "gradients are final (PyTorch DDP's overlap; see docs/distributed.md)")
    return p


def plot_losses(records, path):
    """Train and val loss curves to ``path`` (PNG); None when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    evals = [r for r in records if "val_loss" in r]
    its = [r["iter"] for r in evals]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(its, [r["train_loss"] for r in evals], marker="o", label="train (estimate)")
    ax.plot(its, [r["val_loss"] for r in evals], marker="o", label="val (estimate)")
    finals = [r for r in evals if "final_val_loss" in r]
    if finals:
        ax.scatter([r["iter"] for r in finals], [r["final_val_loss"] for r in finals], marker="*", s=120,
                   color="black", zorder=3, label="val (exact, whole split)")
    ax.set_xlabel("iteration")
    ax.set_ylabel("cross-entropy loss (nats per character)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)  # a reader never sees half a picture
    return path


def _schedule_note(cfg, given: bool) -> str:
    """On --resume: which learning-rate schedule the continued run follows."""
    line = (f"learning-rate schedule: {cfg.lr:g} -> {cfg.min_lr:g}, warmup {cfg.warmup_iters}, cosine decay "
            f"until iter {cfg.lr_decay_iters} ({'from --lr-decay-iters' if given else 'saved'})")
    # warmup comes first in the schedule (nanoGPT's get_lr): the floor starts after both
    floor = max(cfg.lr_decay_iters, cfg.warmup_iters)
    if cfg.max_iters > floor:
        line += f"; iters {floor}-{cfg.max_iters} train at min_lr {cfg.min_lr:g}"
    if cfg.warmup_iters > cfg.lr_decay_iters:
        line += f" (the warmup to iter {cfg.warmup_iters} outlasts the decay: the lr rises until then)"
    if not given:
        line += "; --lr-decay-iters N changes it"
    return line


def _memory_hint(cfg, trainer=None) -> str:
    """Why a run probably ran out of memory, from an estimate of its parts (one sentence)."""
    if cfg is None:
        return "the run does not fit in this machine's memory"
    corpus = getattr(trainer, "corpus", None)
    vocab = getattr(trainer, "vocab", None)
    if corpus is not None:
        chars = len(corpus.text)
    else:
        try:
            chars = os.path.getsize(cfg.data) if cfg.data else 0
        except OSError:
            chars = 0
    return train.memory.describe_estimate(cfg, len(vocab) if vocab is not None else 256, chars)


def _setup(args, comm, say, made, out=print):
    """The config and the trainer of this run (``say`` prints on rank 0 only); ``made`` gets each as it
    is made (what an out-of-memory message can tell from)."""
    settings = {name: getattr(args, name) for name, _, _ in HYPER}
    settings.update(bias=args.bias, seed=args.seed, dtype=args.dtype, data=args.data,
                    sample_chars=args.sample_chars, checkpoint_blocks=args.checkpoint_blocks)
    if args.no_progress:
        settings["progress"] = False
    if args.resume and args.overwrite:
        raise train.ConfigError("--resume continues the run in --out-dir and --overwrite starts afresh over it: "
                                "pass one of them")
    if args.resume:
        if args.seed is not None:
            say(f"note: --seed {args.seed} ignored on --resume (the saved random generators are restored)")
            settings["seed"] = None
        cfg = train.resume_config(args.out_dir, model=args.model, device=args.device, **settings)
        if args.data is None and cfg.data is not None:
            # the path comes from the checkpoint: say which file is read before reading it
            say(f"note: --resume without --data reads the file the run was trained on, {cfg.data} "
                f"(saved in the checkpoint); pass --data to choose another")
        if args.preset:
            say(f"note: --preset {args.preset} ignored on --resume (the saved settings are used)")
        if not args.no_progress:
            cfg.progress = True
    else:
        cfg = train.make_config(args.preset, model=args.model or "gpt", device=args.device or "cpu",
                                out_dir=args.out_dir, **settings)
    if cfg.model != "gpt":   # flags of the GPT alone: an error rather than silently ignored
        # --no-checkpoint-blocks asks for what a recurrent model does anyway: accepted
        for flag, given in (("--n-head", args.n_head), ("--checkpoint-blocks", args.checkpoint_blocks or None)):
            if given is not None:
                raise train.ConfigError(f"{flag} is a GPT setting: --model {cfg.model} has no attention heads or "
                                        f"blocks to recompute (leave {flag} out)")
    if args.lr_decay_iters is not None and cfg.lr_decay_iters < cfg.warmup_iters:
        raise train.ConfigError(f"--lr-decay-iters {cfg.lr_decay_iters} is below the warmup ({cfg.warmup_iters} "
                                f"iterations): the cosine decay would end before the warmup does, and the lr would "
                                f"drop to --min-lr right after it; give at least --warmup-iters")
    made["cfg"] = cfg
    if comm.rank != 0:
        cfg.progress = False    # one progress bar: rank 0's
    comm.bind_device(cfg.device)
    strategy = train.DataParallelStrategy(comm, overlap=args.overlap_comm) if comm.size > 1 else None
    if args.overlap_comm and strategy is None:
        say("note: --overlap-comm ignored: one process has no gradients to send (start it with mpiexec -n N)")
    trainer = train.Trainer(cfg, resume=args.resume, overwrite=args.overwrite, strategy=strategy, log=out)
    if args.resume:   # only now: a locked directory or a damaged checkpoint is refused before this line
        say(_schedule_note(cfg, given=args.lr_decay_iters is not None))
    if strategy is not None:
        say(f"data parallel: {comm.size} processes, each computing {cfg.batch_size // comm.size} of the "
            f"{cfg.batch_size} blocks of every batch" + (", gradients sent during backward" if args.overlap_comm
                                                         else ""))
    return cfg, trainer


SETUP_ERRORS = (mt.DeviceError, data.DataError, checkpoint.CheckpointError, train.ConfigError,
                train.OutputError, distributed.DistributedError)


def _fail(comm, message: str, code: int = 2) -> int:
    """Print a one-line error of this rank; with other ranks running, end them all (MPI_Abort)."""
    prefix = f"rank {comm.rank} of {comm.size}: " if comm.size > 1 else ""
    print(f"{prefix}{message}", file=sys.stderr, flush=True)
    if comm.size > 1:
        comm.abort(code)
    return code


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        comm = distributed.init()       # under `mpiexec -n N`: N ranks training one model
    except distributed.DistributedError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = PipeSafePrint()   # `... | head`: a closed pipe ends the run quietly, at a step boundary, saved
    say = out if comm.rank == 0 else (lambda *a, **k: None)
    error, made = None, {}
    # anything unexpected on one rank stops them all; SIGTERM while setting up (reading the corpus, loading
    # a checkpoint) ends the run as a Ctrl-C there does, with nothing to save yet
    with distributed.abort_on_error(comm), train.stopping.sigterm_raises():
        try:
            cfg, trainer = _setup(args, comm, say, made, out)
            out.on_close = lambda: trainer.request_stop("output closed", SIGPIPE_STATUS - 128)
        except SETUP_ERRORS as e:
            error = f"error: {e}"
        except MemoryError as e:  # NumPy's "Unable to allocate ...", CuPy's OutOfMemoryError
            error = f"error: out of memory: {_memory_hint(made.get('cfg'))} ({type(e).__name__}: {e})"
        except KeyboardInterrupt as e:
            code = train.stopping.exit_status(e)   # 130, or 143 for SIGTERM
            print(_not_started_line(code, args.out_dir if args.resume else None), file=sys.stderr)
            if comm.size > 1:
                comm.abort(code)
            return code
    if out.closed and error is None:   # closed while setting up: stop as soon as the run can save
        trainer.request_stop("output closed", SIGPIPE_STATUS - 128)
    # every rank has set up or failed (no collective yet): agree, so that one line is printed and all exit
    errors = [(r, e) for r, e in enumerate(comm.allgather(error)) if e]
    if errors:
        rank, message = errors[0]
        say(message + (f" (on rank {rank})" if rank else ""), file=sys.stderr)
        return 2
    with distributed.abort_on_error(comm):
        try:
            result = trainer.run()
        except train.TrainingDiverged as e:
            # the guard reads reduced values: every rank raises at the same step, none waits for another
            say(f"error: {e}", file=sys.stderr)
            return 3
        except SETUP_ERRORS as e:
            return _fail(comm, f"error: {e}")
        except MemoryError as e:
            return _fail(comm, f"error: out of memory: {_memory_hint(cfg, trainer)} ({type(e).__name__}: {e})")
        except KeyboardInterrupt as e:
            if out.closed:   # the reader of our output went away (`| head`): end as quietly as it did
                return SIGPIPE_STATUS
            where = trainer.last_checkpoint_iter
            stopped = isinstance(e, train.TrainingInterrupted)
            code = train.stopping.exit_status(e)   # 130 for Ctrl-C, 143 for SIGTERM
            what = "terminated" if code == 143 else "interrupted"
            at = f" at iter {e.iter}" if stopped else ""
            saved = "saved at the interruption" if stopped and e.saved else "the last"
            if trainer.finished:   # while sampling: training and the final eval are saved
                say(f"\n{what} while sampling, after the run finished: nothing is lost, its checkpoints are in "
                    f"{args.out_dir} (--resume --out-dir {args.out_dir} writes the sample)", file=sys.stderr)
            elif not trainer.started:   # still printing the header: the loop had not begun
                say(_not_started_line(code, args.out_dir if args.resume else None), file=sys.stderr)
            elif where is None:
                say(f"\n{what} before the first checkpoint was written: nothing was saved", file=sys.stderr)
            else:
                say(f"\n{what}{at}. The checkpoint ({saved}, iter {where}) is in {args.out_dir}; continue with: "
                    f"--resume --out-dir {args.out_dir}", file=sys.stderr)
            # a TrainingInterrupted stops every rank at the same step, saved: each ends with its status;
            # any other KeyboardInterrupt (a second signal) reached this rank alone, and ends them all
            if comm.size > 1 and not stopped:
                comm.abort(code)
            return code
    if comm.rank != 0:
        return 0
    try:
        with train.stopping.sigterm_raises():
            return _report(result, cfg, args, out)
    except KeyboardInterrupt as e:   # while plotting: the run is done and saved
        code = train.stopping.exit_status(e)
        print(f"\n{'terminated' if code == 143 else 'interrupted'} after the run finished (its checkpoints are "
              f"in {args.out_dir})", file=sys.stderr)
        return code


def _report(result, cfg, args, out) -> int:
    """The plot and the last line of a finished run; its exit status."""
    try:
        plotted = plot_losses(result["records"], Path(cfg.out_dir) / "loss.png")
    except OSError as e:
        print(f"error: cannot write {Path(cfg.out_dir) / 'loss.png'}: {e.strerror or e}", file=sys.stderr)
        return 2
    if plotted is None:
        out("note: matplotlib is not installed, so no loss.png (pip install -e \".[plot]\")")
    if result.get("final_val_loss") is not None:
        best = result.get("best")
        out(f"done: {result['iter']} iterations in {result['elapsed_s']:.0f} s; "
            f"final val loss {result['final_val_loss']:.4f}; outputs in {args.out_dir}"
            + (f" (the best val loss, {best['val_loss']:.4f} at iter {best['iter']}, in {result['best_checkpoint']})"
               if best else ""))
    return SIGPIPE_STATUS if out.closed else 0


def _main_guarded() -> int:
    """main() as a program: a Ctrl-C or SIGTERM in what main does before it sets up (reading the flags,
    starting MPI) ends as the later ones do, with one line."""
    try:
        return main()
    except KeyboardInterrupt as e:
        code = train.stopping.exit_status(e)
        print(_not_started_line(code), file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(_main_guarded())
