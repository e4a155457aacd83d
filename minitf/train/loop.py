"""The training loop: :class:`Trainer` (one run) and the strategy seam for running it on several processes.

A :class:`Trainer` builds the corpus, batch sampler, model and optimizer from
a :class:`~minitf.train.config.TrainConfig`, restores them from the run
directory on resume, then alternates training steps and evals until
``max_iters``. What it writes goes through its :class:`~minitf.train.rundir.RunDir`;
what it prints goes through ``log`` and :class:`~minitf.train.progress.Progress`.

The seam for distributed training is ``Trainer(cfg, strategy=...)``. A
strategy is a small object with the methods of :class:`SingleProcess`, the
default, whose every method is the single-process behaviour (do nothing, or
return its argument). A data-parallel strategy overrides them:

- ``prepare(model)``: once, before the first step (broadcast rank 0's parameters);
- ``sampler_seed(seed)``: the batch sampler's seed on this process;
- ``batch_shard()``: ``(rank, world_size)``: which rows of each global batch this
  process computes (``--batch-size`` stays the global batch; see
  :class:`~minitf.data.BatchSampler`: every rank draws the same batches, so one
  sampler state is saved and resumed, and the ranks see what one process would);
- ``reduce_gradients(params)``: after ``backward`` and before clipping (all-reduce
  and average the gradients, so that every rank clips and steps identically);
- ``reduce_mean(value)``: a float every rank computed (eval losses), averaged;
- ``reduce_sum(values)``: a few floats summed over the ranks (the exact validation
  loss, whose batches are split between the ranks);
- ``seed_rng(seed, device)``, ``rng_states(state)``, ``own_rng_state(rng_meta)``:
  each rank's own dropout stream, saved for every rank and restored on resume;
- ``open_run_dir(out_dir)`` and ``wrap_log(log)``: where this process writes and
  what it prints; for ranks other than 0 a read-only run directory (resume
  reads, writes do nothing) and a silent log, so that only rank 0 logs and
  checkpoints, without any ``if rank == 0`` in the loop.
"""
from __future__ import annotations

import dataclasses
import math
import time

from .. import backend, checkpoint, data, optim
from .. import random as mt_random
from ..ops import cross_entropy
from . import evaluation
from .config import ARCH_FIELDS, ConfigError, TrainConfig, build_model, config_dict
from .progress import Progress, eval_line, header_lines
from .rundir import RunDir
from .sampling import generate_text

__all__ = ["Trainer", "SingleProcess"]


class SingleProcess:
    """The default strategy of a :class:`Trainer`: one process, which trains, logs and writes everything."""
    rank = 0
    world_size = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def prepare(self, model) -> None:
        """Called once before the first step."""

    def sampler_seed(self, seed: int) -> int:
        return seed

    def batch_shard(self) -> tuple:
        return (self.rank, self.world_size)

    def reduce_gradients(self, params) -> None:
        """Called after ``backward``, before clipping and the optimizer step."""

    def reduce_mean(self, value: float) -> float:
        return value

    def reduce_sum(self, values) -> list:
        return list(values)

    def seed_rng(self, seed: int, device: str) -> None:
        """After the model is built from ``manual_seed(seed)``: this process's dropout stream."""

    def rng_states(self, state) -> dict:
        """The checkpoint's entries for the dropout generator's ``state`` (this process's)."""
        return {"minitf": state}

    def own_rng_state(self, rng_meta: dict):
        """This process's dropout generator state in a checkpoint's ``rng`` entry (None: keep it)."""
        return rng_meta.get("minitf")

    def open_run_dir(self, out_dir) -> RunDir:
        return RunDir(out_dir)

    def wrap_log(self, log):
        return log


class Trainer:
    """One training run: ``Trainer(cfg).run()`` returns a summary dict.

    Parameters
    ----------
    cfg : TrainConfig
    resume : bool
        Continue from ``<out_dir>/ckpt.npz`` (see :func:`~minitf.train.resume_config`).
    log : callable
        Receives every line of text output (default ``print``).
    corpus : data.Corpus, optional
        Use this text instead of looking one up from ``cfg.data``.
    callbacks : list of callables
        Each called as ``cb(trainer, record)`` after every eval's checkpoint.
    overwrite : bool
        Start afresh even if ``out_dir`` holds a checkpoint (otherwise an error).
    strategy : SingleProcess, optional
        How the run is spread over processes (see the module docstring).
    """

    def __init__(self, cfg: TrainConfig, *, resume: bool = False, log=print, corpus: data.Corpus | None = None,
                 callbacks=(), overwrite: bool = False, strategy: SingleProcess | None = None):
        self.cfg = cfg.validate()
        self.strategy = strategy or SingleProcess()
        self.log = self.strategy.wrap_log(log)
        self.callbacks = list(callbacks)
        if cfg.device == "gpu":
            reason = backend.gpu_unavailable_reason()
            if reason:
                raise backend.DeviceError(f"--device gpu is unavailable: {reason}")
        self.run_dir = self.strategy.open_run_dir(cfg.out_dir)
        self.out_dir, self.ckpt_path, self.log_path = self.run_dir.path, self.run_dir.ckpt_path, self.run_dir.log_path
        if not resume and self.run_dir.has_checkpoint() and not overwrite:
            raise ConfigError(f"{self.out_dir} already holds a checkpoint: pass --resume to continue it, "
                              f"--overwrite to start afresh over it, or another --out-dir")
        ckpt = self.run_dir.load_checkpoint() if resume else None

        self.corpus = corpus or data.load_corpus(cfg.data, progress=cfg.progress, log=self.log)
        self.vocab = data.CharVocab.from_text(self.corpus.text)
        if ckpt is not None:
            self._check_compatible(ckpt)
        ids = self.vocab.encode(self.corpus.text)
        train_ids, val_ids = data.split_ids(ids, 0.9)
        shard = self.strategy.batch_shard()
        if cfg.batch_size % shard[1]:
            raise ConfigError(f"batch_size {cfg.batch_size} (the global batch) does not divide over "
                              f"{shard[1]} processes: use a multiple of {shard[1]}")
        self.sampler = data.BatchSampler(train_ids, val_ids, cfg.block_size, cfg.batch_size, cfg.device,
                                         self.strategy.sampler_seed(cfg.seed), shard=shard)

        mt_random.manual_seed(cfg.seed)
        self.model = build_model(cfg, len(self.vocab))
        self.strategy.seed_rng(cfg.seed, cfg.device)
        groups = optim.param_groups_for_weight_decay(self.model.named_parameters(), cfg.weight_decay)
        self.optimizer = optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.iter, self.elapsed_s, self.records = 0, 0.0, []
        self.last_checkpoint_iter = None
        if ckpt is not None:
            self._restore(ckpt)
        else:
            self.run_dir.write_log([])
        self._resumed_at = self.iter if ckpt is not None else None

    # ------------------------------------------------------------ resume
    def _check_compatible(self, ckpt) -> None:
        meta = ckpt.meta
        saved = meta.get("vocab")
        if saved != self.vocab.chars:
            extra = sorted(set(self.vocab.chars) - set(saved or []))
            lost = sorted(set(saved or []) - set(self.vocab.chars))
            raise checkpoint.CheckpointError(
                f"checkpoint {self.ckpt_path} is incompatible with this corpus ({self.corpus.source}): its "
                f"vocabulary has {len(saved or [])} characters, the corpus has {len(self.vocab)}"
                + (f"; new: {''.join(extra)[:20]!r}" if extra else "")
                + (f"; missing: {''.join(lost)[:20]!r}" if lost else "")
                + ". Resume with the same --data.")
        for k in ARCH_FIELDS:
            if meta["config"].get(k) != getattr(self.cfg, k):
                raise checkpoint.CheckpointError(f"checkpoint {self.ckpt_path} is incompatible: it has {k} = "
                                                 f"{meta['config'].get(k)!r}, this run has {getattr(self.cfg, k)!r}")
        if meta.get("corpus", {}).get("sha256") not in (None, self.corpus.sha256):
            self.log(f"note: the corpus ({self.corpus.source}) differs from the one the checkpoint was trained on "
                     f"(same vocabulary), continuing")

    def _restore(self, ckpt) -> None:
        from ..nn import StateDictError
        try:
            self.model.load_state_dict(ckpt.model_state, strict=True)
        except (StateDictError, ValueError, TypeError) as e:
            raise checkpoint.CheckpointError(f"checkpoint {self.ckpt_path} does not fit the model: {e}") from None
        try:
            self.optimizer.load_state_dict(ckpt.optimizer_state)
        except (ValueError, KeyError, TypeError) as e:
            raise checkpoint.CheckpointError(f"checkpoint {self.ckpt_path}: optimizer state does not fit: {e}") from None
        meta = ckpt.meta
        self.iter, self.elapsed_s = int(meta["iter"]), float(meta.get("elapsed_s", 0.0))
        self.sampler.set_state(meta["rng"]["batch"])
        own = self.strategy.own_rng_state(meta["rng"])
        if own is not None and meta["config"].get("device") == self.cfg.device:
            mt_random.set_rng_state(own, self.cfg.device)
        self.last_checkpoint_iter = self.iter
        # the log keeps the evals up to the checkpoint; later lines (written before a crash) go
        self.records = [r for r in self.run_dir.read_log() if r.get("iter", 0) <= self.iter]
        self.run_dir.write_log(self.records)

    # ------------------------------------------------------------ the run
    def lr_at(self, it: int) -> float:
        c = self.cfg
        return optim.cosine_with_warmup(it, c.lr, c.min_lr, c.warmup_iters, c.lr_decay_iters)

    def run(self) -> dict:
        cfg = self.cfg
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for line in header_lines(cfg, self.corpus, self.vocab, self.sampler, self.model, self.out_dir,
                                 self.iter if self._resumed_at is not None else None):
            self.log(line)
        if self._resumed_at is not None and self.iter >= cfg.max_iters:
            self.log(f"the checkpoint is at iter {self.iter}, already at max_iters {cfg.max_iters}: "
                     f"nothing to train (pass a larger --max-iters to train further)")
            return self._finish(None)
        self.strategy.prepare(self.model)
        tokens_per_iter = cfg.batch_size * cfg.block_size
        progress = Progress(cfg, self.iter, self.log)
        window_tokens, window_time = 0, 0.0
        record = None
        self.model.train()
        try:
            while True:
                it = self.iter
                if (it % cfg.eval_interval == 0 or it >= cfg.max_iters) and it != self._resumed_at:
                    t_sync = time.perf_counter()
                    backend.synchronize(cfg.device)  # queued GPU work belongs to the training window
                    window_time += time.perf_counter() - t_sync
                    # no training since the start (iteration 0): no throughput to report, None
                    tps = window_tokens / window_time if window_tokens and window_time > 0 else None
                    record = self._eval(it, tps, final=it >= cfg.max_iters)
                    progress.write(eval_line(record))
                    window_tokens, window_time = 0, 0.0
                if it >= cfg.max_iters:
                    break
                t0 = time.perf_counter()
                lr = self.lr_at(it)
                loss = self.train_step(lr)
                self.iter += 1
                dt = time.perf_counter() - t0
                self.elapsed_s += dt
                window_tokens += tokens_per_iter
                window_time += dt
                progress.update(self.iter, loss, lr, tokens_per_iter / dt if dt > 0 else 0.0)
        finally:
            progress.close()
        return self._finish(record)

    def train_step(self, lr: float):
        """One optimizer step at learning rate ``lr`` on one training batch; returns the loss (a Tensor)."""
        model, opt = self.model, self.optimizer
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = self.sampler.get_batch("train")
        loss = cross_entropy(model(x), y)
        loss.backward()
        self.strategy.reduce_gradients(list(model.parameters()))
        if self.cfg.grad_clip > 0:
            optim.clip_grad_norm_(model.parameters(), self.cfg.grad_clip)
        opt.step()
        opt.zero_grad()
        return loss

    def _eval(self, it: int, tokens_per_s, final: bool) -> dict:
        t0 = time.perf_counter()
        losses = self.estimate_loss()
        rec = {"iter": it, "train_loss": losses["train"], "val_loss": losses["val"],
               "val_bpc": losses["val"] / math.log(2), "lr": self.lr_at(it),
               "tokens_per_s": tokens_per_s, "elapsed_s": None}
        if final:
            exact, n = self.exact_val_loss()
            rec.update(final_val_loss=exact, final_val_bpc=exact / math.log(2), final_val_tokens=n)
        self.elapsed_s += time.perf_counter() - t0
        rec["elapsed_s"] = round(self.elapsed_s, 3)
        self.records.append(rec)
        self.run_dir.append_log(rec)
        self.save_checkpoint(rec)
        for cb in self.callbacks:
            cb(self, rec)
        return rec

    def estimate_loss(self) -> dict:
        """Mean loss over ``eval_iters`` random batches of each split (nanoGPT's estimate)."""
        out = evaluation.estimate_loss(self.model, self.sampler, self.cfg.eval_iters)
        return {k: self.strategy.reduce_mean(v) for k, v in out.items()}

    def exact_val_loss(self) -> tuple[float, int]:
        """Mean loss over every target of the validation split (non-overlapping blocks): (loss, count)."""
        sums = evaluation.val_loss_sums(self.model, self.sampler, max(self.cfg.batch_size, 16),
                                        self.strategy.batch_shard())
        total, count = self.strategy.reduce_sum(sums)
        return total / count, int(count)

    # ------------------------------------------------------------ outputs
    def save_checkpoint(self, record: dict | None = None):
        cfg = self.cfg
        try:
            minitf_rng = mt_random.get_rng_state(cfg.device)
        except Exception:  # a GPU generator without a serialisable state: resume is then not bit-exact
            minitf_rng = None
        meta = {"iter": self.iter, "elapsed_s": self.elapsed_s, "config": dataclasses.asdict(cfg),
                "model_config": config_dict(self.model.config), "vocab": self.vocab.to_json(),
                "corpus": {"name": self.corpus.name, "source": self.corpus.source, "sha256": self.corpus.sha256,
                           "chars": len(self.corpus.text)},
                "rng": {"batch": self.sampler.state(), **self.strategy.rng_states(minitf_rng)},
                "last_eval": record}
        self.run_dir.save_checkpoint(self.model.state_dict(), self.optimizer.state_dict(), meta)
        self.last_checkpoint_iter = self.iter
        return self.ckpt_path

    def sample(self, num_chars: int, temperature: float = 1.0, top_k: int | None = None, start: str = "\n") -> str:
        """``start`` followed by ``num_chars`` generated characters."""
        return generate_text(self.model, self.vocab, num_chars, temperature, top_k, start, self.cfg.device)

    def _finish(self, record) -> dict:
        cfg = self.cfg
        sample = None
        if cfg.sample_chars > 0:
            start = "\n" if "\n" in self.vocab.stoi else self.corpus.text[0]
            sample = self.sample(cfg.sample_chars, cfg.sample_temperature, cfg.sample_top_k, start)
            path = self.run_dir.write_sample(sample)
            self.log(f"sample ({cfg.sample_chars} characters, temperature {cfg.sample_temperature}, "
                     f"top_k {cfg.sample_top_k}), also in {path}:\n{sample}")
        final = next((r for r in reversed(self.records) if "final_val_loss" in r), None)
        return {"iter": self.iter, "records": list(self.records), "sample": sample,
                "final_val_loss": final["final_val_loss"] if final else None,
                "elapsed_s": self.elapsed_s, "checkpoint": str(self.ckpt_path)}
