"""The training loop: :class:`Trainer` (one run), which a strategy may spread over several processes.

A :class:`Trainer` builds the corpus, batch sampler, model and optimizer from
a :class:`~minitf.train.config.TrainConfig`, restores them from the run
directory on resume, then alternates training steps and evals until
``max_iters``. What it writes goes through its :class:`~minitf.train.rundir.RunDir`;
what it prints goes through ``log`` and :class:`~minitf.train.progress.Progress`.

The seam for distributed training is ``Trainer(cfg, strategy=...)``: see
:mod:`minitf.train.strategy` (the default, :class:`SingleProcess`) and
:mod:`minitf.train.parallel` (the data-parallel one).
"""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from .. import backend, data, optim
from .. import random as mt_random
from . import completion, memory
from . import resume as resume_run
from .best import VAL_RISE_WARNING
from .history import checkpoint_history, log_write_failed
from .evaluation import token_cross_entropy
from .divergence import TrainingDiverged, all_finite, diverged, explosion_warning
from .config import ConfigError, TrainConfig, build_model, config_dict
from .progress import Progress, eval_line, header_lines, short_run_notes
from .rundir import OutputError
from .sampling import generate_text
from .steplog import StepLog, read_every
from .stopping import StopSignals, TrainingInterrupted, agreed_stop, stop_votes
from .strategy import SingleProcess
from .trainer_eval import EvalMethods  # the evals: estimate, exact pass, their records and checkpoints

__all__ = ["Trainer", "SingleProcess", "TrainingDiverged", "TrainingInterrupted", "VAL_RISE_WARNING"]

class Trainer(EvalMethods):
    """One training run: ``Trainer(cfg).run()`` returns a summary dict.

    Two checkpoints are kept in ``out_dir``: ``ckpt.npz``, the latest state, written at every eval (what
    ``resume`` continues, exactly), and ``best.npz``, written (first, atomically) only at an eval whose
    estimated val loss is the lowest of the run so far: a run that gets worse, even staying finite,
    never overwrites its best state. An eval more than :data:`VAL_RISE_WARNING` above the best (more
    with few ``eval_iters``: :func:`~minitf.train.best.val_rise_threshold`) is warned about, once.

    Ctrl-C (SIGINT) and SIGTERM, in the main thread, do not cut a step in half: the step (or eval)
    under way finishes, ``ckpt.npz`` is saved at that step boundary, then
    :class:`TrainingInterrupted` (a ``KeyboardInterrupt``) is raised; resuming continues exactly as the
    uninterrupted run. A second signal stops at once, without saving (:mod:`minitf.train.stopping`).
    :meth:`request_stop` does the same from code. In a data-parallel run a signal to any rank stops
    every rank at the same step boundary: the next one whose values are read (every step on the CPU,
    at log points on a device), as the ranks learn of it in the allreduce of the steps' losses. A resume with nothing left to train says the run is
    finished, or completes the final eval its end did not (:mod:`minitf.train.completion`).

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
        Start afresh even if ``out_dir`` holds a run (otherwise an error). That run's files stay
        untouched until this run's first checkpoint (its eval at iteration 0), which replaces
        them: a run stopped before then leaves the old one as it was.
    strategy : SingleProcess, optional
        How the run is spread over processes (see the module docstring).

    The constructor takes the run directory's lock (:class:`~minitf.train.rundir.RunLocked`
    if another run holds it) and :meth:`run` releases it when it ends.
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
        self.run_dir.lock()  # held until run() ends (or this constructor fails)
        try:
            self._setup(cfg, resume, corpus, overwrite)
        except BaseException:
            self.run_dir.discard_unused()  # unlocks; removes the directory if this run made it for nothing
            raise

    def _setup(self, cfg, resume, corpus, overwrite) -> None:
        for stale in self.run_dir.remove_stale_temporaries():   # under the lock: no live writer's
            self.log(f"note: removed {stale}, left by a run killed while writing it")
        if not resume and not overwrite:
            self.run_dir.refuse_to_overwrite()
        ckpt = resume_run.load_to_resume(self.run_dir) if resume else None

        if corpus is None and cfg.data is not None:   # a file larger than the memory: refused before it is read
            memory.check_file_fits(cfg, cfg.data)
        self.corpus = corpus or data.load_corpus(cfg.data, progress=cfg.progress, log=self.log)
        self.vocab = data.CharVocab.from_text(self.corpus.text)
        if ckpt is not None:
            resume_run.check_compatible(self, ckpt)
        # before the model, the ids and the first batch are allocated: a run that cannot fit is one error
        memory.check_fits(cfg, len(self.vocab), len(self.corpus.text))
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
        self.best = None  # {"iter", "val_loss"} of the eval saved in best.npz
        self.started = False  # the training loop has begun (with its stop handlers)
        self.finished = False  # training and the final eval are done and saved: what is left is the sample
        self.last_eval = None  # on resume, the checkpoint's record of its last eval (completion reads it)
        self._stop_reason = None  # set by request_stop (Ctrl-C): the loop stops at the next step boundary
        self._stop_signum = None
        self._stop_asked = None  # a data-parallel rank's (reason, signum), until the ranks agree (_read_steps)
        self._warned_val_rise = False
        self._uniform_loss = math.log(len(self.vocab))  # the loss of guessing uniformly
        self._warned_explosion = False
        self._write = self.log  # warnings during a run go above its progress bar
        self.steps = StepLog(read_every(cfg))  # each step's loss and norm, read at once on the CPU
        # --overwrite leaves the run already here whole until this one's first checkpoint (see _eval)
        self._replace_previous = overwrite and ckpt is None and bool(self.run_dir.previous_run())
        if ckpt is not None:
            resume_run.restore(self, ckpt)
        elif not self._replace_previous:
            self.write_log()
        self._resumed_at = self.iter if ckpt is not None else None

    # ------------------------------------------------------------ the run
    def lr_at(self, it: int) -> float:
        c = self.cfg
        return optim.cosine_with_warmup(it, c.lr, c.min_lr, c.warmup_iters, c.lr_decay_iters)

    def run(self) -> dict:
        """Train to ``max_iters``, evaluating and checkpointing on the way; release the lock at the end.

        Raises :class:`TrainingDiverged` when the loss, the gradient norm or
        the parameters stop being finite (the last checkpoint stays as it
        was), :class:`~minitf.train.rundir.OutputError` when the run directory
        cannot be written.
        """
        try:
            return self._run()
        finally:
            self.run_dir.unlock()

    def _run(self) -> dict:
        cfg = self.cfg
        for line in header_lines(cfg, self.corpus, self.vocab, self.sampler, self.model, self.out_dir,
                                 self.iter if self._resumed_at is not None else None):
            self.log(line)
        if self._resumed_at is not None and self.iter >= cfg.max_iters:
            return completion.complete(self)
        for note in short_run_notes(cfg, self.iter):
            self.log(note)
        self.strategy.prepare(self.model)
        tokens_per_iter = cfg.batch_size * cfg.block_size
        progress = Progress(cfg, self.iter, self.log)
        self._write = progress.write
        signals = StopSignals(self.request_stop, announce=self.strategy.is_main).__enter__()
        self.started = True
        window_tokens, window_time = 0, 0.0
        read_tokens, read_time = 0, 0.0  # since the last read of the steps' values
        record = None
        self.model.train()
        try:
            while True:
                it = self.iter
                if (it % cfg.eval_interval == 0 or it >= cfg.max_iters) and it != self._resumed_at:
                    t_sync = time.perf_counter()
                    backend.synchronize(cfg.device)  # queued GPU work belongs to the training window
                    self._check(self._read_steps())  # a checkpoint follows: no unread step may have diverged
                    window_time += time.perf_counter() - t_sync
                    read_tokens, read_time = 0, 0.0  # the wait just now was for those steps: no rate from them
                    # no training since the start (iteration 0): no throughput to report, None
                    tps = window_tokens / window_time if window_tokens and window_time > 0 else None
                    record = self._eval(it, tps, final=it >= cfg.max_iters)
                    progress.write(eval_line(record))
                    self._warn_val_rise(record)   # after the eval line it is about
                    window_tokens, window_time = 0, 0.0
                if self._stop_reason is not None:   # also after the final eval, which ckpt.npz holds
                    self._stop()
                if it >= cfg.max_iters:
                    break
                t0 = time.perf_counter()
                lr = self.lr_at(it)
                with np.errstate(all="ignore"):  # overflows become non-finite values, which the guard reports
                    read = self.train_step(lr)
                self.iter += 1
                dt = time.perf_counter() - t0
                self.elapsed_s += dt
                window_tokens += tokens_per_iter
                window_time += dt
                read_tokens += tokens_per_iter
                read_time += dt
                tps = None
                if read:  # on a device the read waited for the queued steps: this rate is the true one
                    tps = read_tokens / read_time if read_time > 0 else 0.0
                    read_tokens, read_time = 0, 0.0
                # the lr at which training goes on from self.iter, as the eval line labelled with it shows
                progress.update(self.iter, read[-1].loss if read else None, self.lr_at(self.iter), tps)
        finally:
            signals.__exit__()
            progress.close()
            self._write = self.log
        return self._finish(record)

    # ------------------------------------------------------------ stopping early
    def request_stop(self, reason: str = "interrupted", signum: int | None = None) -> None:
        """Stop at the next step boundary: save ``ckpt.npz`` there and raise :class:`TrainingInterrupted`
        (``signum``: the signal that asked, which sets the exit status of the example). In a data-parallel
        run the ranks first agree on the boundary (:meth:`_read_steps`)."""
        if self.strategy.batch_shard()[1] > 1:
            self._stop_asked = self._stop_asked or (reason, signum)
        else:
            self._stop_reason, self._stop_signum = reason, signum

    def _stop(self) -> None:
        """Save the checkpoint at this step boundary (unless it is already there) and raise."""
        saved = self.iter == self.last_checkpoint_iter
        if not saved and all_finite(self.model.parameters()):  # never a non-finite state (the guard's rule)
            self.save_checkpoint(None)
            saved = True
        raise TrainingInterrupted(self._stop_reason, self.iter, saved, self._stop_signum)

    def train_step(self, lr: float) -> list:
        """One optimizer step at learning rate ``lr`` on one training batch.

        Returns the steps whose loss and gradient norm were read by this call, as
        :class:`~minitf.train.steplog.Step` tuples: this step on the CPU; on a
        device the steps since the last read at a log point, and ``[]`` between
        (see :mod:`minitf.train.steplog`: the values stay on the device until then).

        Raises :class:`TrainingDiverged` when a read loss or gradient norm is not
        finite, before this step's update changes anything (on a device, earlier
        unread steps may already have updated the parameters; the checkpoint is
        kept either way).
        """
        model, opt = self.model, self.optimizer
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = self.sampler.get_batch("train")
        loss = token_cross_entropy(model(x), y)
        loss.backward()
        params = list(model.parameters())
        self.strategy.reduce_gradients(params)
        # the norm is of the reduced gradients, the loss is averaged over the ranks when read: every
        # rank of a data-parallel run sees the same numbers, and all stop together
        norm = optim.clip_grad_norm_(params, self.cfg.grad_clip if self.cfg.grad_clip > 0 else math.inf)
        read = self._check(self._read_steps()) if self.steps.record(self.iter, lr, loss.data, norm.data) else []
        opt.step()
        opt.zero_grad()
        return read

    def _read_steps(self) -> list:
        if self.strategy.batch_shard()[1] == 1:
            return self.steps.read(self.strategy.reduce_means)
        return self.steps.read(self._mean_losses_and_agree_on_stop)

    def _mean_losses_and_agree_on_stop(self, losses) -> list:
        """The ranks' mean losses; the stop votes ride in the same allreduce, so that every rank sees
        the same means and, if any rank was asked to stop, all stop at this step boundary."""
        n = len(losses)
        means = self.strategy.reduce_means([*losses, *stop_votes(self._stop_asked)])
        agreed = agreed_stop(means[n:], self._stop_asked)
        if agreed is not None and self._stop_reason is None:
            self._stop_reason, self._stop_signum = agreed
        return means[:n]

    def _check(self, steps: list) -> list:
        """The divergence guard over read steps (raises :class:`TrainingDiverged`), and the
        warning for a loss far above uniform guessing. Returns ``steps``."""
        for s in steps:
            for quantity, value in (("training loss", s.loss), ("gradient norm", s.norm)):
                if not math.isfinite(value):
                    self.optimizer.zero_grad()
                    raise self._diverged(quantity, value, s.lr, s.iter)
            if not self._warned_explosion:
                line = explosion_warning(s.iter, s.loss, self._uniform_loss, len(self.vocab), self.cfg.lr)
                if line is not None:
                    self._warned_explosion = True
                    self._write(line)
        return steps

    def _diverged(self, quantity: str, value, lr: float, it: int | None = None) -> TrainingDiverged:
        return diverged(quantity, value, lr, self.iter if it is None else it, self.ckpt_path,
                        self.last_checkpoint_iter)

    # ------------------------------------------------------------ outputs
    def write_log(self, rec: dict | None = None) -> None:
        """Append ``rec`` to ``log.jsonl``, or (None) rewrite it from ``self.records``; a failure is one
        :class:`OutputError` that also says which checkpoints are intact."""
        try:
            if rec is None:
                self.run_dir.write_log(self.records)
            else:
                self.run_dir.append_log(rec)
        except OutputError as e:
            raise log_write_failed(e, self.run_dir, self.last_checkpoint_iter, self.best) from None

    def save_checkpoint(self, record: dict | None = None, best: bool = False):
        """Write the run's checkpoint, ``ckpt.npz`` (``best``: ``best.npz``), atomically; first checks the
        steps whose values are not read yet (on a device, those since the last log point), so that no
        diverged step is saved."""
        self._check(self._read_steps())
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
                "last_eval": record, "best": self.best, "history": checkpoint_history(self.records)}
        try:
            path = self.run_dir.save_checkpoint(self.model.state_dict(), self.optimizer.state_dict(), meta, best=best)
        except OutputError as e:
            kept = (f"the checkpoint of iter {self.last_checkpoint_iter} is intact" if self.last_checkpoint_iter
                    is not None else "no checkpoint was written")
            raise OutputError(f"{e}; {kept}") from None
        if not best:
            self.last_checkpoint_iter = self.iter
        return path

    def sample(self, num_chars: int, temperature: float = 1.0, top_k: int | None = None, start: str = "\n") -> str:
        """``start`` followed by ``num_chars`` generated characters."""
        return generate_text(self.model, self.vocab, num_chars, temperature, top_k, start, self.cfg.device)

    def _finish(self, record) -> dict:
        cfg = self.cfg
        self.finished = True
        sample = None
        if cfg.sample_chars > 0 and self.strategy.is_main:  # the other ranks of a parallel run write no sample
            start = "\n" if "\n" in self.vocab.stoi else self.corpus.text[0]
            sample = self.sample(cfg.sample_chars, cfg.sample_temperature, cfg.sample_top_k, start)
            path = self.run_dir.write_sample(sample)
            self.log(f"sample ({cfg.sample_chars} characters, temperature {cfg.sample_temperature}, "
                     f"top_k {cfg.sample_top_k}), also in {path}:\n{sample}")
        final = record if record and "final_val_loss" in record else \
            next((r for r in reversed(self.records) if "final_val_loss" in r), None)
        return {"iter": self.iter, "records": list(self.records), "sample": sample,
                "final_val_loss": final["final_val_loss"] if final else None,
                "elapsed_s": self.elapsed_s, "checkpoint": str(self.ckpt_path),
                "best": dict(self.best) if self.best else None, "best_checkpoint": str(self.run_dir.best_path)}

