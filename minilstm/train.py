"""The fit loop: mini-batch BPTT with a divergence guard, a progress display and a history.

Online learning with the 1997 truncated rule (weights updated after every step) lives beside the
rule itself, in :mod:`minilstm.rtrl1997`; both return the same :class:`History`.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

from . import backend
from .optim import clip_grad_norm

__all__ = ["fit", "History", "TrainingDiverged"]


class TrainingDiverged(FloatingPointError):
    """NaN or inf in the loss, the gradients or the updated weights.

    ``step`` is where it happened; the model holds the parameters of the last good step.
    """

    def __init__(self, message, step, history):
        super().__init__(message)
        self.step, self.history = step, history


@dataclass
class History:
    """What happened during training, ready for plotting.

    ``loss[k]`` is the training loss at update ``k``; ``metrics[name]`` is a list of
    ``(step, value)`` pairs recorded by the evaluation callback; ``stopped_at`` is the update after
    which ``stop`` said the task was solved (None if it never did).
    """
    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    stopped_at: int | None = None

    def record(self, step, values: dict):
        """Append ``(step, value)`` to ``metrics[name]`` for each item of ``values``."""
        for k, v in values.items():
            self.metrics.setdefault(k, []).append((step, v))


class _Progress:
    """tqdm when it is installed and asked for; otherwise a line every ~10% on stderr."""

    def __init__(self, total, desc, enabled):
        self.enabled, self.bar, self.total, self.desc = enabled, None, total, desc
        if enabled:
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=total, desc=desc, unit="upd", dynamic_ncols=True)
            except ImportError:
                self.every = max(1, total // 10)

    def update(self, step, loss):
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
        elif (step + 1) % self.every == 0:
            print(f"{self.desc}: {step + 1}/{self.total} updates, loss {loss:.4g}", file=sys.stderr)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _snapshot(params):
    return {k: v.copy() for k, v in params.items()}


def _all_finite(arrays):
    return all(bool(backend.get_array_module(a).isfinite(a).all()) for a in arrays)


def fit(model, data, optimizer, *, steps, clip=None, evaluate=None, eval_every=100, stop=None,
        progress=False, desc="training"):
    """Train ``model`` (a :class:`~minilstm.model.SequenceModel`) for ``steps`` updates.

    Parameters
    ----------
    data : callable ``data(step) -> (x, target, mask)``; host NumPy arrays are moved to the model's
        backend (explicitly, with ``xp.asarray``).
    optimizer : from :mod:`minilstm.optim`, built on ``model.params``.
    clip : global gradient-norm threshold (Pascanu et al. 2013), or None.
    evaluate : optional ``evaluate(model) -> dict`` of metrics, called every ``eval_every`` updates
        and at the end; ``stop`` : optional ``stop(metrics) -> bool`` ending training early.
    progress : show a progress bar with rate and ETA (silent by default: notebooks, tests).

    Returns a :class:`History`. Raises :class:`TrainingDiverged` naming the update at which the loss,
    a gradient or an updated weight stopped being finite; the model keeps the last good weights.
    """
    xp = model.xp
    history = History()
    bar = _Progress(steps, desc, progress)

    def diverged(step, what):
        bar.close()
        return TrainingDiverged(f"training diverged at update {step}: {what}; the model keeps the "
                                "weights of the last good update (lower the learning rate or clip)",
                                step, history)

    try:
        for step in range(steps):
            x, target, mask = (None if a is None else xp.asarray(a) for a in data(step))
            loss, _, cache, da_out = model.loss(x, target, mask)
            if not math.isfinite(loss):
                raise diverged(step, f"the loss is {loss}")
            grads = model.backward(da_out, cache)
            bad = [k for k, g in grads.items() if not _all_finite([g])]
            if bad:
                raise diverged(step, f"the gradient of {bad[0]} holds NaN or inf")
            norm = clip_grad_norm(grads, clip) if clip is not None else float(
                math.sqrt(sum(float((g * g).sum()) for g in grads.values())))
            good = _snapshot(model.params)
            optimizer.step(grads)
            bad = [k for k, p in model.params.items() if not _all_finite([p])]
            if bad:
                for k, v in good.items():
                    model.params[k][...] = v
                raise diverged(step, f"the update made {bad[0]} NaN or inf")
            history.loss.append(loss)
            history.grad_norm.append(norm)
            bar.update(step, loss)
            last = step + 1 == steps
            if evaluate is not None and ((step + 1) % eval_every == 0 or last):
                metrics = evaluate(model)
                history.record(step + 1, metrics)
                if stop is not None and stop(metrics):
                    history.stopped_at = step + 1
                    break
    finally:
        bar.close()
    return history
