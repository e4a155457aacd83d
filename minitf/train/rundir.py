"""The run directory: ``ckpt.npz`` (atomic, via :mod:`minitf.checkpoint`), ``log.jsonl`` and ``samples.txt``.

One :class:`RunDir` per run owns the paths and every write into the
directory; the loop hands it records and state and never opens a file itself.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .. import checkpoint
from .config import CHECKPOINT_NAME, LOG_NAME

__all__ = ["RunDir"]


class RunDir:
    """``<out_dir>``: its checkpoint, its eval log (one JSON line per eval) and its sample."""

    def __init__(self, out_dir):
        self.path = Path(out_dir)
        self.ckpt_path = self.path / CHECKPOINT_NAME
        self.log_path = self.path / LOG_NAME
        self.samples_path = self.path / "samples.txt"

    def has_checkpoint(self) -> bool:
        return self.ckpt_path.exists()

    def load_checkpoint(self) -> checkpoint.TrainingCheckpoint:
        return checkpoint.load_training(self.ckpt_path)

    def save_checkpoint(self, model_state: dict, optimizer_state: dict, meta: dict) -> Path:
        return checkpoint.save_training(self.ckpt_path, model_state, optimizer_state, meta)

    # ------------------------------------------------------------ the log
    def append_log(self, rec: dict) -> None:
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def read_log(self) -> list:
        if not self.log_path.is_file():
            return []
        out = []
        for line in self.log_path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a crash
                continue
        return out

    def write_log(self, records) -> None:
        """Replace the log with ``records``, atomically."""
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.log_path.with_suffix(".jsonl.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in records)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.log_path)

    def write_sample(self, text: str) -> Path:
        self.samples_path.write_text(text, encoding="utf-8")
        return self.samples_path
