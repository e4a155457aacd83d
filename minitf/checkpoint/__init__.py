"""Atomic, pickle-free checkpoints: NumPy arrays plus JSON metadata in one ``.npz`` file.

A checkpoint is a ZIP archive as written by ``numpy.savez``: one ``.npy``
member per array and one member, ``__meta__``, holding UTF-8 JSON (a uint8
array). It is read with ``numpy.load(..., allow_pickle=False)``, so loading
never executes code, and ZIP's CRC-32 of every member catches flipped bytes.

:func:`save` writes to a temporary file in the same directory
(``.<name>.<8 random characters>.tmp``, created with the permissions of any
new file, ``0666 & ~umask``), flushes and fsyncs it, then renames it over the
old file (``os.replace``, atomic on POSIX and Windows) and fsyncs the
directory: a process killed at any moment leaves either the previous
checkpoint or the new one, never a mixture. A writer killed mid-write leaves
its temporary file behind; the next successful save of the same checkpoint
removes such leftovers (one checkpoint file has one writer at a time), as does
:func:`remove_stale_temporaries` (which a training run calls at its start,
under its directory's lock). A temporary is never read as a checkpoint: its
name is not the checkpoint's.

:func:`load` raises :class:`CheckpointError` naming the problem for a
missing, truncated, corrupt or foreign file, never a bare traceback.

Training checkpoints (:func:`save_training` / :func:`load_training`) hold the
model's ``state_dict`` under ``model/<name>``, the optimizer's buffers under
``optim/<index>/<name>`` and everything else (iteration, RNG states, config,
vocabulary, optimizer hyper-parameters) in the metadata.

:func:`save_object` / :func:`load_object` (``minitf.save`` / ``minitf.load``)
store any nesting of dicts, lists and tuples of tensors, arrays, ints, floats,
strings, bools and None, as ``torch.save`` does for state dicts but without
pickle: each tensor or array is a member ``obj/<n>``, the nesting is JSON in
the metadata.
"""
from .archive import FORMAT, VERSION, CheckpointError, load, remove_stale_temporaries, save  # noqa: F401
from .objects import load_object, save_object  # noqa: F401
from .training import TrainingCheckpoint, load_training, save_training  # noqa: F401

__all__ = ["CheckpointError", "save", "load", "save_training", "load_training", "TrainingCheckpoint",
           "save_object", "load_object", "remove_stale_temporaries", "FORMAT", "VERSION"]
