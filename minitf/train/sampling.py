"""Using a trained model: load it from a run directory, generate text from it."""
from __future__ import annotations

import dataclasses
from .. import backend, data
from ..tensor import Tensor, no_grad
from .config import TrainConfig, build_model

__all__ = ["load_model", "generate_text"]


def load_model(out_dir, device: str | None = None, which: str = "last"):
    """The model saved in ``out_dir``'s checkpoint, ready to sample: ``(model, vocab, meta)``.

    ``which``: ``"last"`` reads ``ckpt.npz`` (the latest state), ``"best"`` reads ``best.npz`` (the
    eval with the lowest val loss), or ``ckpt.npz`` when the run has no ``best.npz`` (one written
    before it existed); ``meta["checkpoint_path"]`` says which file was read.
    """
    from .rundir import RunDir
    if which not in ("last", "best"):
        raise ValueError(f"which must be 'last' or 'best', got {which!r}")
    run_dir = RunDir(out_dir)
    best = which == "best" and run_dir.best_path.is_file()
    ck = run_dir.load_checkpoint(best=best)  # config, vocabulary and sizes checked
    ck.meta["checkpoint_path"] = str(run_dir.best_path if best else run_dir.ckpt_path)
    values = {k: v for k, v in ck.meta["config"].items() if k in {f.name for f in dataclasses.fields(TrainConfig)}}
    cfg = TrainConfig(**values)
    vocab = data.CharVocab.from_json(ck.meta["vocab"])
    if device is not None:
        cfg.device = device
    cfg.validate()
    if cfg.device == "gpu" and backend.gpu_unavailable_reason():
        raise backend.DeviceError(f"--device gpu is unavailable: {backend.gpu_unavailable_reason()}")
    model = build_model(cfg, len(vocab))
    from ..nn import StateDictError
    try:
        model.load_state_dict(ck.model_state, strict=True)
    except (StateDictError, ValueError, TypeError) as e:
        from .resume import model_does_not_fit
        raise model_does_not_fit(ck.meta["checkpoint_path"], e) from None
    model.eval()
    return model, vocab, ck.meta


def generate_text(model, vocab: data.CharVocab, num_chars: int, temperature=1.0, top_k=None, start="\n",
                  device="cpu") -> str:
    """Sample ``num_chars`` characters after ``start`` from ``model`` (eval mode, no graph)."""
    if not start:
        raise ValueError("the start text must have at least one character")
    try:
        ids = vocab.encode(start)
    except ValueError as e:
        raise ValueError(f"start text: {e}") from None
    idx = Tensor(backend.to_device(ids[None, :], device))
    was_training = getattr(model, "training", True)
    model.eval()
    with no_grad():
        out = model.generate(idx, num_chars, temperature=temperature, top_k=top_k)
    model.train(was_training)
    return vocab.decode(out.numpy()[0])

