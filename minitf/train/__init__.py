"""Training character-level language models: batches, eval, progress, logs, checkpoints.

    from minitf import train
    cfg = train.make_config("baby", model="gpt", max_iters=500)
    result = train.Trainer(cfg).run()
    result["final_val_loss"]

The recipe is nanoGPT's: AdamW (matrices decayed, biases and gains not),
linear warmup then cosine decay of the learning rate, gradient clipping, and
an estimate of the train and val losses over ``eval_iters`` random batches
every ``eval_interval`` iterations. Each eval appends a line to
``<out_dir>/log.jsonl`` and writes the checkpoint ``<out_dir>/ckpt.npz``
atomically, and ``<out_dir>/best.npz`` too when its val loss is the lowest so far; the end adds the exact loss over the whole validation split and
``samples.txt``. (``examples/train_charlm.py`` draws ``loss.png`` from the log.)

Resuming (``Trainer(resume_config(out_dir), resume=True)``) restores model,
optimizer, iteration and both random generators (batch sampler, dropout), so
an interrupted run continues exactly as the uninterrupted one would have.

The package, one concept a module:

- :mod:`.config`: presets, :class:`TrainConfig` and its validation, :func:`build_model`;
- :mod:`.loop`: :class:`Trainer`;
- :mod:`.strategy`: the seam (:class:`SingleProcess`, the default) through which a
  distributed run reduces gradients and lets only rank 0 write;
- :mod:`.parallel`: :class:`DataParallelStrategy`, the seam's data-parallel side (MPI/NCCL ranks);
- :mod:`.evaluation`: the loss estimate and the exact validation loss;
- :mod:`.stopping`: Ctrl-C and SIGTERM: stop at a step boundary, saved;
- :mod:`.best`: which eval ``best.npz`` holds, and the warning for a run that gets worse;
- :mod:`.resume`: whether a checkpoint fits a run, and loading it into the trainer;
- :mod:`.history`: the eval history each checkpoint keeps, which rebuilds a lost log on resume;
- :mod:`.completion`: a resume with nothing to train: finished, or its final eval to complete;
- :mod:`.memory`: whether a run fits in the memory available, checked before it allocates;
- :mod:`.progress`: the header, the eval lines, the progress bar or lines;
- :mod:`.rundir`: the run directory (checkpoint, log, sample, lock) and the checks of a checkpoint's metadata;
- :mod:`.sampling`: :func:`load_model` and :func:`generate_text`.
"""
from .config import (ARCH_FIELDS, BEST_NAME, CHECKPOINT_NAME, LOG_NAME, PRESETS, RNN_ARCH, ConfigError,  # noqa: F401
                     TrainConfig, build_model, make_config, memory_estimate, parameter_count, resume_config)
from .loop import VAL_RISE_WARNING, SingleProcess, Trainer, TrainingDiverged  # noqa: F401
from .stopping import TrainingInterrupted  # noqa: F401
from . import best, completion, memory, stopping  # noqa: F401
from .parallel import DataParallelStrategy  # noqa: F401
from .rundir import OutputError, ReadOnlyRunDir, RunDir, RunLocked  # noqa: F401
from .sampling import generate_text, load_model  # noqa: F401

__all__ = ["TrainConfig", "ConfigError", "PRESETS", "RNN_ARCH", "make_config", "resume_config",
           "build_model", "load_model", "generate_text", "Trainer", "SingleProcess", "TrainingDiverged", "TrainingInterrupted", "DataParallelStrategy",
           "RunDir", "ReadOnlyRunDir", "OutputError", "RunLocked", "parameter_count", "memory_estimate",
           "CHECKPOINT_NAME", "BEST_NAME", "LOG_NAME"]
