r"""The fit loops: mini-batch BPTT (:func:`fit`) and online learning with the 1997 truncated rule
(:func:`fit_online`), with one divergence guard, one progress display and one :class:`History`.

Divergence guard (both loops): before every update the loss and every gradient are checked, and
after it every parameter. NaN or inf stops training with :class:`TrainingDiverged`, which names
the update; the model's parameters **and the optimizer's state** (SGD's step count, momentum's
velocity, Adam's m, v and t) are those from before the bad update, so training can resume from
them, e.g. with a lower learning rate.

Progress (:class:`Progress`): a tqdm bar with rate and ETA when tqdm is installed, otherwise a
line with rate and ETA at every tenth of the run; nothing at all when ``progress=False`` (the
default: notebooks, tests).
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

from .optim import clip_grad_norm
from .rtrl1997 import TruncatedRTRL
from .validate import first_nonfinite

__all__ = ["fit", "fit_online", "History", "TrainingDiverged", "Progress"]


class TrainingDiverged(FloatingPointError):
    """NaN or inf in the loss, the gradients or the updated weights.

    ``step`` is the update (0-based) where it happened; the model and the optimizer hold the
    state from before it. ``history`` is what was recorded up to there.
    """

    def __init__(self, message, step, history):
        super().__init__(message)
        self.step, self.history = step, history


@dataclass
class History:
    """What happened during training, ready for plotting.

    :func:`fit`: ``loss[k]`` is the training loss at update ``k`` and ``grad_norm[k]`` its global
    gradient norm (before clipping). :func:`fit_online`: ``loss[n]`` is the loss of sequence ``n``
    (the sum over its steps of E(t), each under the weights of that step) and ``grad_norm[n]`` the
    largest norm among its updates. ``metrics[name]`` is a list of ``(count, value)`` pairs
    recorded by the evaluation callback (count: updates for :func:`fit`, sequences for
    :func:`fit_online`); ``stopped_at`` is the count after which ``stop`` said the task was
    solved (None if it never did).
    """
    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    stopped_at: int | None = None

    def record(self, step, values: dict):
        """Append ``(step, value)`` to ``metrics[name]`` for each item of ``values``."""
        for k, v in values.items():
            self.metrics.setdefault(k, []).append((step, v))


def _duration(seconds) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else (f"{m}:{s:02d}" if m else f"{s} s")


class Progress:
    """A progress display of ``done`` out of ``total`` with rate and ETA, or nothing.

    ``enabled=False``: silent. Otherwise a tqdm bar (``tqdm.auto``, a widget in notebooks) when
    tqdm is installed and ``use_tqdm`` is not False, else a line on ``file`` (default stderr)
    each time ``done`` passes another tenth of ``total`` and at the end, e.g.
    ``training: 300/1,000 updates (30%), 52.1 updates/s, ETA 13 s, loss 0.12``.
    The ETA assumes the rate so far and the whole ``total`` (a run that stops early ends sooner).

    ``update_to(done, info)`` sets the position (``info``: a short status after the numbers);
    ``write(msg)`` (or calling the object) prints one message line; ``close()`` ends the display.
    """

    def __init__(self, total, desc="", unit="updates", *, enabled=True, use_tqdm=None, file=None):
        self.total, self.desc, self.unit, self.enabled = int(total), desc, unit, bool(enabled)
        self.file = file
        self.bar, self.done, self._printed = None, 0, 0
        self.t0 = time.perf_counter()
        self._every = max(1, self.total // 10)
        if self.enabled and use_tqdm is not False:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                if use_tqdm:
                    raise
            else:
                self.bar = tqdm(total=self.total, desc=desc, unit=f" {unit}",
                                unit_scale=self.total >= 100_000,            # 1.5M symbols
                                dynamic_ncols=True, file=self._file())

    def _file(self):
        return sys.stderr if self.file is None else self.file

    def line(self, info="") -> str:
        """The fallback's text for the current position: counts, percent, rate, ETA, ``info``."""
        elapsed = time.perf_counter() - self.t0
        rate = self.done / elapsed if elapsed > 0 else float("inf")
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = _duration(left) if math.isfinite(left) else "?"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        speed = f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"
        text = (f"{self.desc}: {self.done:,}/{self.total:,} {self.unit} ({pct:.0f}%), "
                f"{speed} {self.unit}/s, ETA {eta}")
        return text + (f", {info}" if info else "")

    def update_to(self, done, info=""):
        """Move to ``done`` (absolute) with the status ``info``."""
        if not self.enabled:
            return
        done = int(done)
        if self.bar is not None:
            self.bar.update(done - self.done)
            self.done = done
            if info:
                self.bar.set_postfix_str(info, refresh=False)
            return
        self.done = done
        if done >= self._printed + self._every or (done >= self.total > self._printed):
            self._printed = done
            print(self.line(info), file=self._file(), flush=True)

    def write(self, msg):
        """Print one message line (above the bar, if there is one)."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(msg, file=self._file())
        else:
            print(msg, file=self._file(), flush=True)

    __call__ = write

    def close(self):
        """End the display (the bar, or a last line if the last position was not printed)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.enabled and self.done > self._printed:
            self._printed = self.done
            print(self.line("stopped"), file=self._file(), flush=True)


# ---- the divergence guard ----------------------------------------------------------------------
def _guarded_update(model, optimizer, grads, clip, fail):
    """Check ``grads``, clip them, take one optimizer step and check the result.

    Returns the global gradient norm before clipping. On NaN or inf raises ``fail(what)`` (a
    :class:`TrainingDiverged`); after a bad step the parameters and the optimizer's state are put
    back first (the snapshot is taken right before the step).
    """
    bad = first_nonfinite(grads)
    if bad is not None:
        raise fail(f"the gradient of {bad} holds NaN or inf")
    norm = clip_grad_norm(grads, clip) if clip is not None else float(
        math.sqrt(sum(float((g * g).sum()) for g in grads.values())))
    params = {k: v.copy() for k, v in model.params.items()}
    state = optimizer.state_dict()
    optimizer.step(grads)
    bad = first_nonfinite(model.params)
    if bad is not None:
        for k, v in params.items():
            model.params[k][...] = v
        optimizer.load_state_dict(state)
        raise fail(f"the update made {bad} NaN or inf")
    return norm


def _record(model, history, bar, count, total, loss, norm, evaluate, eval_every, stop) -> bool:
    """Append ``loss`` and ``norm``, move the display to ``count``; every ``eval_every`` counts
    and at ``total``, record ``evaluate(model)``. Returns True if ``stop`` ends training."""
    history.loss.append(loss)
    history.grad_norm.append(norm)
    bar.update_to(count, f"loss {loss:.4g}")
    if evaluate is None or not (count % eval_every == 0 or count == total):
        return False
    metrics = evaluate(model)
    history.record(count, metrics)
    if stop is not None and stop(metrics):
        history.stopped_at = count
        return True
    return False


def _diverged(bar, history, update, where, what):
    bar.close()
    return TrainingDiverged(f"training diverged at {where}: {what}; the model and the optimizer "
                            "keep their state from before it (lower the learning rate or clip)",
                            update, history)


# ---- mini-batch BPTT ---------------------------------------------------------------------------
def fit(model, data, optimizer, *, steps, clip=None, evaluate=None, eval_every=100, stop=None,
        progress=False, desc="training"):
    """Train ``model`` (a :class:`~minilstm.model.SequenceModel`) for ``steps`` updates by BPTT.

    Parameters
    ----------
    data : callable ``data(step) -> (x, target, mask)``: ``x (T, B, I)``, ``target (T, B, K)``,
        ``mask (T, B)`` bool or None; host NumPy arrays are moved to the model's backend
        (explicitly, with ``xp.asarray``). A fourth item, ``lengths (B,)``, makes it a
        variable-length batch (see :meth:`~minilstm.model.SequenceModel.loss`).
    optimizer : from :mod:`minilstm.optim`, built on ``model.params``.
    clip : global gradient-norm threshold (Pascanu et al. 2013), or None.
    evaluate : optional ``evaluate(model) -> dict`` of metrics, called every ``eval_every`` updates
        and at the end; ``stop`` : optional ``stop(metrics) -> bool`` ending training early.
    progress : show a progress display with rate and ETA (:class:`Progress`; silent by default).

    Returns a :class:`History`. Raises :class:`TrainingDiverged` naming the update at which the
    loss, a gradient or an updated weight stopped being finite; the model and the optimizer keep
    their state from before that update.
    """
    xp = model.xp
    history = History()
    bar = Progress(steps, desc, "updates", enabled=progress)
    try:
        for step in range(steps):
            def fail(what):
                return _diverged(bar, history, step, f"update {step}", what)

            x, target, mask, *lengths = data(step)
            x, target, mask = (None if a is None else xp.asarray(a) for a in (x, target, mask))
            loss, _, cache, da_out = model.loss(x, target, mask, lengths=lengths[0] if lengths else None)
            if not math.isfinite(loss):
                raise fail(f"the loss is {loss}")
            norm = _guarded_update(model, optimizer, model.backward(da_out, cache), clip, fail)
            if _record(model, history, bar, step + 1, steps, loss, norm, evaluate, eval_every,
                       stop):
                break
    finally:
        bar.close()
    return history


# ---- online, the 1997 truncated rule -----------------------------------------------------------
def fit_online(model, data, optimizer, *, sequences, update="step", clip=None, evaluate=None,
               eval_every=100, stop=None, progress=False, desc="online training"):
    r"""Train ``model`` online with the 1997 truncated gradient, for ``sequences`` sequence batches.

    ``model`` : a :class:`~minilstm.model.SequenceModel` whose core is an
    :class:`~minilstm.lstm.LSTM` (any preset); the core's gradient is the truncated one of
    :class:`~minilstm.rtrl1997.TruncatedRTRL`, carried forward in time, the readout's is exact.
    Activations and partials are reset at the start of every sequence (Hochreiter & Schmidhuber
    1997). At step t of a sequence, with the readout :math:`a(t) = W_y\,y(t) + b_y`:

    .. math::

        E(t),\ \frac{\partial E(t)}{\partial a(t)} \text{ from the model's loss at step t alone},
        \qquad \frac{\partial E(t)}{\partial y(t)} = \frac{\partial E(t)}{\partial a(t)}\,W_y,
        \qquad \Delta_t w \text{ from the rule}.

    ``update="step"``: the optimizer takes :math:`\Delta_t w` after **every step** (the paper's
    online learning; the partials carry on under the new weights, as in RTRL). ``"sequence"``: the
    steps' :math:`\Delta_t w` are summed with the weights fixed and applied once per sequence
    (:func:`~minilstm.rtrl1997.sequence_gradient` plus the readout's gradient). Both are
    gradient descent on :math:`E = \sum_t E(t)` of the truncated network; the 1997 paper used
    ``"step"`` with :class:`~minilstm.optim.SGD`.

    Parameters
    ----------
    data : callable ``data(n) -> (x, target, mask)`` for sequence batch n: ``x (T, B, I)``,
        ``target (T, B, K)``, ``mask (T, B)`` bool or None (host arrays are moved to the backend).
    optimizer, clip, evaluate, eval_every, stop, progress, desc : as in :func:`fit`, with
        ``eval_every`` and the counts of ``metrics`` and ``stopped_at`` in sequences; ``clip``
        applies to each update.

    Returns a :class:`History` with one entry per sequence (see there). Raises
    :class:`TrainingDiverged` whose ``step`` is the update (0-based count of optimizer steps) and
    whose message names the sequence and the time step; the model and the optimizer keep their
    state from before that update.
    """
    if update not in ("step", "sequence"):
        raise ValueError(f"update must be 'step' or 'sequence', got {update!r}")
    xp = model.xp
    rule = TruncatedRTRL(model.core)
    history = History()
    bar = Progress(sequences, desc, "sequences", enabled=progress)
    n_updates = 0
    try:
        for n in range(sequences):
            x, target, mask = (None if a is None else xp.asarray(a) for a in data(n))
            rule.reset(x.shape[1])
            seq_loss, largest, total = 0.0, 0.0, None
            for t in range(x.shape[0]):
                def fail(what):
                    return _diverged(bar, history, n_updates,
                                     f"update {n_updates} (sequence {n}, step {t})", what)

                a_t, cache = model.readout.forward(rule.forward(x[t]))      # (B, K)
                loss, da_t = model._loss(a_t, target[t], None if mask is None else mask[t])
                if not math.isfinite(loss):
                    raise fail(f"the loss is {loss}")
                seq_loss += loss
                dy_t, g_readout = model.readout.backward(da_t, cache)      # dy_t (B, H)
                grads = {f"core.{k}": v for k, v in rule.gradient(dy_t).items()}
                grads.update({f"readout.{k}": v for k, v in g_readout.items()})
                if update == "step":
                    largest = max(largest, _guarded_update(model, optimizer, grads, clip, fail))
                    n_updates += 1
                elif total is None:
                    total = grads
                else:
                    for k, g in grads.items():
                        total[k] += g
            if update == "sequence":
                def fail(what):
                    return _diverged(bar, history, n_updates,
                                     f"update {n_updates} (end of sequence {n})", what)

                largest = _guarded_update(model, optimizer, total, clip, fail)
                n_updates += 1
            if _record(model, history, bar, n + 1, sequences, seq_loss, largest, evaluate,
                       eval_every, stop):
                break
    finally:
        bar.close()
    return history
