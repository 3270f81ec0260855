r"""The fit loop, :func:`fit`: mini-batch (BPTT or the 1997 truncated gradient, one update per
batch) or online (the 1997 rule, one update per time step: ``update="step"``, which
:func:`fit_online` names), with one divergence guard, one progress display and one
:class:`History`.

:func:`fit` trains one model or a batch of trials alike. It asks of what it trains a small
protocol, which :class:`~minilstm.train.trials.TrialBatch` (K nets packed in one) and
:class:`~minilstm.train.online1997.StackBPTT` (K 1997 nets on an array axis) implement, and
:class:`OneModel` wraps around a :class:`~minilstm.nn.model.SequenceModel` (``fit`` wraps one
itself):

* ``params``, ``xp``; ``check_target(target, mask)``: the loss's checks of a host target;
* ``n_trials``: None for one model, K for a batch of K trials;
* ``updates``: the updates taken so far (the guard's label of an update);
* ``loss(x, target, mask, state=None, lengths=None, as_array=True) -> (loss, a_out, cache,
  da_out)``, the loss a 0-d device array for one model, ``(K,)`` for K trials;
* ``backward(da_out, cache, gradient=None) -> grads`` (``gradient``: see :func:`fit`);
* ``clip_grad_norm(grads, max_norm) -> norm``: the norm before clipping, global for one model,
  per trial for a batch (``(K,)``), clipping in place unless ``max_norm`` is None;
* ``update(optimizer, grads)``: the optimizer's step (a batch holds its stopped trials);
* ``weight_sum()``: :math:`\Sigma w`, what the guard reads with the loss and the norm;
* a batch only: ``active`` (host bool ``(K,)``), ``restore_trial``, ``mark_diverged``, and
  ``shares_products`` (default True: the guard is then read after every update).

Divergence guard (:mod:`minilstm.train.guard`): the loss, the gradient norm and the weights
of every update are checked on the device. One model: the verdict is read every ``check_every``
updates (every update on NumPy by default, where a read costs nothing; every 100 on a GPU, where
each read makes the host wait). NaN or inf stops training with :class:`TrainingDiverged`, which
names the update; the model's parameters **and the optimizer's state** (SGD's step count,
momentum's velocity, Adam's m, v and t) are those of the last check before it (with
``check_every=1``, from right before the bad update), so training can resume from them, e.g. with
a lower learning rate. A batch of trials: the verdict is per trial; a trial that diverged is
stopped at its weights of the last clean read and the others go on. Trials packed in one wide net
(TrialBatch) are read after every update, so that is the weights from before the bad update.
Inside an update no value is read from the device
(:func:`~minilstm.validate.deferred_value_checks`).

Progress (:class:`Progress`): a tqdm bar with rate and ETA when tqdm is installed, otherwise a
line with rate and ETA at every tenth of the run; nothing at all when ``progress=False`` (the
default: notebooks, tests).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .guard import DivergenceGuard, default_check_every
from .progress import Progress
from ..losses import check_target
from ..nn.lstm import LSTM
from ..optim import clip_grad_norm, global_norm
from ..rtrl1997 import TruncatedRTRL, sequence_gradient
from ..validate import (check_bool, check_callable, check_choice, check_finite, check_int,
                       check_number, deferred_value_checks)

__all__ = ["fit", "fit_online", "History", "TrainingDiverged", "OneModel",
           "truncated_gradient"]


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
    gradient norm (before clipping); for a batch of K trials both are host arrays ``(K,)``, one
    value per trial. ``update="step"`` (:func:`fit_online`): ``loss[n]`` is the loss of sequence ``n``
    (the sum over its steps of E(t), each under the weights of that step) and ``grad_norm[n]`` the
    largest norm among its updates. ``metrics[name]`` is a list of ``(count, value)`` pairs
    recorded by the evaluation callback (count: updates, or sequences with ``update="step"``);
    ``stopped_at`` is the count after which ``stop`` said the task was
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


# ---- what fit trains: one model, or a batch of trials ------------------------------------------
class OneModel:
    r"""One :class:`~minilstm.nn.model.SequenceModel` as :func:`fit` trains it (the protocol of the
    module docstring; :class:`~minilstm.train.trials.TrialBatch` is the batch side).

    ``fit`` wraps a SequenceModel in it itself. The loss, the gradient and the update are the
    model's own; the clip is global (:func:`~minilstm.optim.clip_grad_norm`);
    :meth:`weight_sum` is :math:`\Sigma w` over every weight once (the core's fused buffer, then
    the other parameters), a 0-d float64 device array. ``n_trials`` is None: a divergence stops
    training.
    """

    n_trials = None

    def __init__(self, model):
        self.model = model
        self.params, self.xp = model.params, model.xp
        self.updates = 0
        core = getattr(model, "core", None)
        if core is not None and hasattr(core, "flat"):                  # no array twice
            self._weights = [core.flat] + [v for k, v in model.params.items()
                                           if not k.startswith("core.")]
        else:
            self._weights = list(model.params.values())

    def check_target(self, target, mask=None):
        """The model's loss's checks of a host ``target`` (:func:`~minilstm.losses.check_target`)."""
        check_target(self.model.loss_name, target, self.model.readout.n_out, mask)

    def loss(self, x, target, mask=None, state=None, lengths=None, *, as_array=False):
        """The model's :meth:`~minilstm.nn.model.SequenceModel.loss`."""
        return self.model.loss(x, target, mask, state=state, lengths=lengths, as_array=as_array)

    def backward(self, da_out, cache, gradient=None):
        """The model's backward (BPTT), or ``gradient(model, da_out, cache)``."""
        if gradient is None:
            return self.model.backward(da_out, cache)
        return gradient(self.model, da_out, cache)

    def clip_grad_norm(self, grads, max_norm=None):
        """The global norm before clipping (0-d float64, on the device); clips in place unless
        ``max_norm`` is None. No read."""
        if max_norm is None:
            return global_norm(grads)
        return clip_grad_norm(grads, max_norm, as_array=True)

    def update(self, optimizer, grads):
        """``optimizer.step(grads)``; counts the update."""
        optimizer.step(grads)
        self.updates += 1

    def weight_sum(self):
        r""":math:`\Sigma w` in float64, a 0-d device array (no read)."""
        xp = self.xp
        total = None
        for w in self._weights:
            s = xp.sum(w, dtype=xp.float64)
            total = s if total is None else total + s
        return total


def truncated_gradient(model, da_out, cache):
    r"""The gradient of a :class:`~minilstm.nn.model.SequenceModel` whose core is an LSTM, with
    the core's part truncated as in 1997 (:func:`~minilstm.rtrl1997.sequence_gradient`: the paths
    into the net inputs through :math:`u(t-1)` and the peepholes cut) and the readout's exact.

    ``fit(..., gradient="truncated")`` uses it in place of the model's backward; the core's input
    and initial state come from ``cache`` (the forward pass of ``model.loss``). Returns ``grads``
    keyed as ``model.params``.
    """
    if not isinstance(getattr(model, "core", None), LSTM):
        raise TypeError(f"gradient='truncated' needs a model whose core is an LSTM (any preset), "
                        f"got {type(getattr(model, 'core', None)).__name__}")
    core_cache, readout_cache = cache
    dy, g_readout = model.readout.backward(da_out, readout_cache)          # dy (T, B, H)
    g_core = sequence_gradient(model.core, core_cache.x, dy, state=core_cache.state0)
    return {**{f"core.{k}": v for k, v in g_core.items()},
            **{f"readout.{k}": v for k, v in g_readout.items()}}


_PROTOCOL = ("params", "xp", "check_target", "n_trials", "updates", "loss", "backward",
             "clip_grad_norm", "update", "weight_sum")


def _trainee(model):
    """What :func:`fit` trains: ``model`` itself if it has the protocol (a TrialBatch), a
    SequenceModel wrapped in :class:`OneModel`."""
    if all(hasattr(model, a) for a in _PROTOCOL):
        return model
    missing = [a for a in ("params", "loss", "backward", "xp", "readout") if not hasattr(model, a)]
    if missing:
        raise TypeError(f"model must be a minilstm SequenceModel (with params, loss, backward, xp) "
                        f"or a TrialBatch, got {type(model).__name__} without {', '.join(missing)}")
    return OneModel(model)


# ---- the arguments, checked where they enter ---------------------------------------------------
def _check_fit_args(model, data, optimizer, steps, clip, evaluate, eval_every, stop, progress,
                    check_every):
    """Refuse what :func:`fit` cannot train with, naming the argument."""
    missing = [a for a in ("params", "loss", "backward", "xp") if not hasattr(model, a)]
    if missing:
        raise TypeError(f"model must be a minilstm SequenceModel (with params, loss, backward, xp), "
                        f"got {type(model).__name__} without {', '.join(missing)}")
    check_callable("data", data, "data(i) -> (x, target, mask)")
    own = getattr(optimizer, "params", None)
    if not callable(getattr(optimizer, "step", None)) or not isinstance(own, dict):
        raise TypeError(f"optimizer must be a minilstm.optim optimizer (SGD, Momentum, Adam) built "
                        f"on model.params, got {type(optimizer).__name__}")
    if own.keys() != model.params.keys() or any(own[k] is not v for k, v in model.params.items()):
        raise ValueError("optimizer must be built on model.params (the same arrays), e.g. "
                         "optim.Adam(model.params, lr=0.01); it updates other arrays, so the model "
                         "would not learn")
    check_int("steps", steps)
    check_number("clip", clip, above=0, none_ok=True)
    check_callable("evaluate", evaluate, "evaluate(model) -> dict", none_ok=True)
    check_int("eval_every", eval_every)
    check_callable("stop", stop, "stop(metrics) -> bool", none_ok=True)
    check_bool("progress", progress)
    if check_every is not None:
        check_int("check_every", check_every)


def _batch(model, data, i, lengths_ok=True):
    """``data(i)`` as ``(x, target, mask, lengths)`` on the model's backend (host arrays moved
    explicitly; ``lengths`` None unless a fourth item gave it). Host arrays are checked here,
    where it costs no device read: NaN or inf in ``x``, the loss's target values. ``model``: what
    :func:`fit` trains (the protocol)."""
    xp = model.xp
    batch = data(i)
    sizes = (3, 4) if lengths_ok else (3,)
    if not isinstance(batch, (tuple, list)) or len(batch) not in sizes:
        want = "(x, target, mask) or (x, target, mask, lengths)" if lengths_ok else "(x, target, mask)"
        raise TypeError(f"data({i}) must return a tuple {want} (mask may be None), got "
                        f"{type(batch).__name__}{f' of length {len(batch)}' if isinstance(batch, (tuple, list)) else ''}")
    x, target, mask, lengths = (*batch, None)[:4]
    if isinstance(x, np.ndarray):
        check_finite("x", x)
    if isinstance(target, np.ndarray) and (mask is None or isinstance(mask, np.ndarray)):
        model.check_target(target, mask)
    return (*(None if a is None else xp.asarray(a) for a in (x, target, mask)), lengths)


def _guard(trainee, optimizer, check_every):
    """The guard of what :func:`fit` trains; ``check_every`` None: 1 for trials that share
    products, else :func:`default_check_every`."""
    if check_every is None:
        shared = trainee.n_trials is not None and getattr(trainee, "shares_products", True)
        check_every = 1 if shared else default_check_every(trainee.xp)
    return DivergenceGuard(trainee, optimizer, check_every)


def _diverged(bar, history, update, where, what):
    bar.close()
    return TrainingDiverged(f"training diverged at {where}: {what}; the model and the optimizer "
                            "keep their state from the last check before it (lower the learning "
                            "rate or clip)", update, history)


def _due(evaluate, eval_every, count, last) -> bool:
    """Whether ``evaluate`` runs after update (or sequence) ``count`` of ``last``."""
    return evaluate is not None and (count % eval_every == 0 or count == last)


def _ends(model, history, count, evaluating, evaluate, stop, after_update) -> bool:
    """After update (or sequence) ``count``: record ``evaluate(model)`` if ``evaluating``, then
    call ``after_update``; True if ``stop`` or ``after_update`` ends training."""
    if evaluating:
        metrics = evaluate(model)
        history.record(count, metrics)
        if stop is not None and stop(metrics):
            history.stopped_at = count
            return True
    return after_update is not None and bool(after_update(count, history))


# ---- mini-batch BPTT ---------------------------------------------------------------------------
_GRADIENTS = {"full": None, "truncated": truncated_gradient}


def _check_fit_extras(trainee, carry_state, frozen, gradient, before_update, after_update):
    """The arguments of :func:`fit` that are checked against what it trains (``trainee``)."""
    if not isinstance(carry_state, bool):
        check_int("carry_state", carry_state)
    if isinstance(frozen, str) or not all(isinstance(n, str) for n in frozen):
        raise TypeError(f"frozen must be a tuple of parameter names, got {frozen!r}")
    unknown = [n for n in frozen if n not in trainee.params]
    if unknown:
        raise ValueError(f"frozen names {unknown} that are not parameters of the model; its "
                         f"parameters are {sorted(trainee.params)}")
    if not callable(gradient):
        check_choice("gradient", gradient, tuple(_GRADIENTS))
    check_callable("before_update", before_update, "before_update(step, a_out)", none_ok=True)
    check_callable("after_update", after_update, "after_update(count, history) -> bool",
                   none_ok=True)


def _shown(loss):
    """The loss shown by the progress display: one model's, or the mean over the trials."""
    return float(np.mean(loss)) if np.ndim(loss) else loss


def fit(model, data, optimizer, *, steps, clip=None, evaluate=None, eval_every=100, stop=None,
        progress=False, desc="training", check_every=None, carry_state=False, frozen=(),
        gradient=None, update="batch", before_update=None, after_update=None):
    r"""Train ``model`` on ``steps`` batches of ``data``: one :class:`~minilstm.nn.model.SequenceModel`,
    or a batch of K trials (:class:`~minilstm.train.trials.TrialBatch`), through the same loop;
    one update per batch (``update="batch"``: BPTT, or the 1997 truncated gradient of the whole
    sequence) or one per time step (``update="step"``: online, the 1997 rule).

    Each update of ``update="batch"``: ``data(step)``; the loss and its gradient; the ``frozen``
    gradients set to 0; the norm, clipped at ``clip``; ``before_update``; the optimizer's step;
    the divergence guard; ``evaluate``/``stop`` when due; ``after_update``.

    ``update="step"`` (one SequenceModel whose core is an LSTM; :func:`fit_online` names this
    setting): ``data(n)`` is sequence batch n; activations and the rule's partials are reset at
    its start (Hochreiter & Schmidhuber 1997); at each step t, with the readout
    :math:`a(t) = W_y\,y(t) + b_y`,

    .. math::

        E(t),\ \frac{\partial E(t)}{\partial a(t)} \text{ from the model's loss at step t alone},
        \qquad \frac{\partial E(t)}{\partial y(t)} = \frac{\partial E(t)}{\partial a(t)}\,W_y,
        \qquad \Delta_t w \text{ from the rule},

    the rule being :class:`~minilstm.rtrl1997.TruncatedRTRL`'s; the optimizer takes
    :math:`\Delta_t w` at once (clipped, ``frozen`` kept); the partials carry on under the new
    weights, as in RTRL. ``steps``, ``eval_every`` and the history count
    sequences: ``History.loss`` holds each sequence's :math:`\sum_t E(t)`, ``grad_norm`` the
    largest norm of its updates. The guard is read every ``check_every`` updates and at the end of
    every sequence, and a divergence names the update, the sequence and the step.

    Parameters
    ----------
    data : callable ``data(step) -> (x, target, mask)``: ``x (T, B, I)``, ``target (T, B, K)``,
        ``mask (T, B)`` bool or None; host NumPy arrays are checked (NaN or inf in ``x``, the
        loss's target values) and moved to the model's backend (explicitly, with ``xp.asarray``).
        A fourth item, ``lengths (B,)``, makes it a variable-length batch (see
        :meth:`~minilstm.nn.model.SequenceModel.loss`). For a TrialBatch: the packed arrays of
        :meth:`~minilstm.train.trials.TrialBatch.pack` (mask ``(T, B, K)``).
    optimizer : from :mod:`minilstm.optim`, built on ``model.params``.
    clip : gradient-norm threshold (Pascanu et al. 2013), or None: the global norm for one model,
        each trial's own norm for a batch of trials.
    evaluate : optional ``evaluate(model) -> dict`` of metrics, called every ``eval_every`` updates
        and at the end; ``stop`` : optional ``stop(metrics) -> bool`` ending training early.
    progress : show a progress display with rate and ETA (:class:`Progress`; silent by default).
    check_every : updates between reads of the divergence guard (:mod:`minilstm.train.guard`); None:
        1 on NumPy, 100 on a GPU, and always 1 for trials packed in one wide net (a TrialBatch:
        anything else is refused). The losses reach ``History`` at each read.
    carry_state : False: every update starts from the zero state. True: each update starts from
        the final state of the one before (truncated BPTT on a stream: ``data`` gives consecutive
        windows of the same rows; no gradient crosses a window's start). An int N: carried
        within runs of N updates, zero at the start of each (streams of N windows).
    frozen : names of parameters kept as they are (e.g. ``("readout.W", "readout.b")``): their
        gradients are set to 0 before the norm, so they neither move nor count in the clip (with
        SGD, momentum or Adam started from zero state a zero gradient leaves a weight unchanged).
    gradient : ``"full"`` (BPTT, the model's backward) or ``"truncated"``, the 1997 truncated
        gradient of an LSTM core with the readout's exact gradient (:func:`truncated_gradient`);
        None: ``"full"``, or ``"truncated"`` with ``update="step"`` (the only gradient it takes).
        Or a function ``gradient(model, da_out, cache) -> grads`` (keyed as ``model.params``)
        of the SequenceModel (a TrialBatch's wide one), given its forward pass: e.g. one that
        also compares the truncated gradient with BPTT's (chapter 5).
    update : ``"batch"`` (one update per ``data`` batch) or ``"step"`` (one per time step: see
        above; not with ``carry_state``, ``before_update`` or a batch of trials).
    before_update : optional ``before_update(step, a_out)``, called after the gradient and before
        the optimizer's step with the outputs' pre-activations ``a_out`` of that step's forward
        pass (a device array): to judge the outputs the update trained on, to set the optimizer's
        learning rate, or to stop trials of a batch (:meth:`~minilstm.train.trials.TrialBatch.freeze`)
        so that this update does not reach them. What it reads from the device is its own.
    after_update : optional ``after_update(count, history) -> bool``, called after update
        ``count`` (1-based) and its guard read and evaluation; True ends training.

    A batch of trials stops by itself when none of its trials is still training.

    Returns a :class:`History`. Raises :class:`TrainingDiverged` naming the update at which the
    loss, a gradient or an updated weight stopped being finite; the model and the optimizer keep
    their state from the last check before it (with ``check_every=1``: from before that update),
    and the history what was recorded up to that check. A batch of trials raises nothing: a trial
    that diverged is stopped at its weights of the last clean read (a TrialBatch: from before the
    update), and the update is recorded in its ``diverged_at`` (:mod:`minilstm.train.guard`).

    Device reads: none inside an update; one per read of the guard (every ``check_every``
    updates, at each evaluation, at the end, and with ``update="step"`` at the end of every
    sequence); for a TrialBatch one per update, and one more per
    update with ``clip`` (the K norms); plus what the trainee's ``update`` and the callbacks read.
    """
    _check_fit_args(model, data, optimizer, steps, clip, evaluate, eval_every, stop,
                    progress, check_every)
    check_choice("update", update, ("batch", "step"))
    online = update == "step"
    gradient = gradient if gradient is not None else ("truncated" if online else "full")
    trainee = _trainee(model)
    _check_fit_extras(trainee, carry_state, frozen, gradient, before_update, after_update)
    if online:
        _check_online(trainee, gradient, carry_state, before_update)
    core = getattr(getattr(trainee, "model", None), "core", None)
    if gradient == "truncated" and not isinstance(core, LSTM):
        raise TypeError(f"model.core must be an LSTM (any preset) for the 1997 rule "
                        f"(gradient='truncated'), got {type(core).__name__}; train other layers "
                        "with gradient='full'")
    if online:
        return _fit_online(model, trainee, data, optimizer, steps, clip, evaluate, eval_every,
                           stop, progress, desc, check_every, frozen, after_update)
    backward_with = gradient if callable(gradient) else _GRADIENTS[gradient]
    trials = trainee.n_trials is not None
    history = History()
    bar = Progress(steps, desc, "updates", enabled=progress)
    guard = _guard(trainee, optimizer, check_every)
    run = 0 if carry_state is True else int(carry_state)         # 0: never reset

    def fail(update, what):
        return _diverged(bar, history, update, f"update {update}", what)

    def settle():
        for _, loss, norm in guard.read(fail):
            history.loss.append(loss)
            history.grad_norm.append(norm)
        if history.loss:
            bar.update_to(len(history.loss), f"loss {_shown(history.loss[-1]):.4g}")

    state = None
    try:
        for step in range(steps):
            if trials and not trainee.active.any():
                break
            x, target, mask, lengths = _batch(trainee, data, step)
            if run and step % run == 0:
                state = None
            with deferred_value_checks():
                loss, a_out, cache, da_out = trainee.loss(x, target, mask, state=state,
                                                          lengths=lengths, as_array=True)
                if carry_state:
                    state = cache[0].state
                grads = trainee.backward(da_out, cache, backward_with)
                for name in frozen:
                    grads[name][...] = 0.0
                norm = trainee.clip_grad_norm(grads, clip)
            if before_update is not None:
                before_update(step, a_out)
            label = trainee.updates
            trainee.update(optimizer, grads)
            guard.mark(label, loss, norm, grads)
            count = step + 1
            evaluating = _due(evaluate, eval_every, count, steps)
            if guard.due or evaluating or count == steps:
                settle()
            if _ends(model, history, count, evaluating, evaluate, stop, after_update):
                break
    finally:
        bar.close()
    return history


# ---- online, the 1997 truncated rule: one update per time step ---------------------------------
def _check_online(trainee, gradient, carry_state, before_update):
    """What ``update="step"`` cannot take, named."""
    if trainee.n_trials is not None:
        raise TypeError("update='step' trains one SequenceModel; K trials of the 1997 online rule "
                        "run on minilstm.train.online1997.Stack1997 (experiments/online.py)")
    if gradient != "truncated":
        raise ValueError(f"update='step' takes gradient='truncated' (the 1997 rule: BPTT cannot "
                         f"update inside a sequence), got gradient={gradient!r}")
    if carry_state is not False:
        raise ValueError("carry_state must be False with update='step': the 1997 rule resets the "
                         "activations at the start of every sequence")
    if before_update is not None:
        raise ValueError("before_update is called once per update of update='batch'; with "
                         "update='step' use evaluate or after_update (once per sequence)")


def _fit_online(model, trainee, data, optimizer, sequences, clip, evaluate, eval_every, stop,
                progress, desc, check_every, frozen, after_update):
    """The loop of ``fit(..., update="step")`` over ``sequences`` sequence batches."""
    rule = TruncatedRTRL(model.core)
    history = History()
    bar = Progress(sequences, desc, "sequences", enabled=progress)
    guard = _guard(trainee, optimizer, check_every)
    seq = {"loss": 0.0, "norm": 0.0}                 # the current sequence, as read so far

    def fail(label, what):
        u, n, t = label
        return _diverged(bar, history, u, f"update {u} (sequence {n}, step {t})", what)

    def settle():
        for _, loss, norm in guard.read(fail):
            seq["loss"] += loss
            seq["norm"] = max(seq["norm"], norm)

    try:
        for n in range(sequences):
            x, target, mask, _ = _batch(trainee, data, n, lengths_ok=False)
            with deferred_value_checks():
                _online_sequence(model, rule, x, target, mask, n, optimizer, trainee, guard,
                                 clip, frozen, settle)
            settle()
            history.loss.append(seq["loss"])
            history.grad_norm.append(seq["norm"])
            seq.update(loss=0.0, norm=0.0)
            bar.update_to(n + 1, f"loss {history.loss[-1]:.4g}")
            count = n + 1
            if _ends(model, history, count, _due(evaluate, eval_every, count, sequences),
                     evaluate, stop, after_update):
                break
    finally:
        bar.close()
    return history


def _online_sequence(model, rule, x, target, mask, n, optimizer, trainee, guard, clip, frozen,
                     settle):
    r"""One sequence batch of ``fit(..., update="step")``: at every step t the readout's exact
    gradient and the core's truncated one (``rule``, carried forward in time), then the
    optimizer's step; the guard marks each update ``(update, sequence n, step t)``."""
    rule.reset(x.shape[1])
    for t in range(x.shape[0]):
        a_t, cache = model.readout.forward(rule.forward(x[t]))              # (B, K)
        loss, da_t = model._loss(a_t, target[t], None if mask is None else mask[t],
                                 as_array=True)
        dy_t, g_readout = model.readout.backward(da_t, cache)              # dy_t (B, H)
        grads = {f"core.{k}": v for k, v in rule.gradient(dy_t).items()}
        grads.update({f"readout.{k}": v for k, v in g_readout.items()})
        for name in frozen:
            grads[name][...] = 0.0
        norm = trainee.clip_grad_norm(grads, clip)
        label = (trainee.updates, n, t)
        trainee.update(optimizer, grads)
        guard.mark(label, loss, norm, grads)
        if guard.due:
            settle()


def fit_online(model, data, optimizer, *, sequences, update="step", clip=None, evaluate=None,
               eval_every=100, stop=None, progress=False, desc="online training", check_every=None):
    r"""The 1997 paper's setting of :func:`fit`: ``model`` (a SequenceModel with an LSTM core)
    trained with the truncated gradient, for ``sequences`` sequence batches.

    ``update="step"`` is ``fit(model, data, optimizer, steps=sequences, update="step")``: the
    optimizer takes :math:`\Delta_t w` after every time step (online, as in 1997).
    ``update="sequence"`` is ``fit(..., steps=sequences, gradient="truncated")``: the steps'
    :math:`\Delta_t w` summed with the weights fixed, one update per sequence. The other
    arguments are :func:`fit`'s; ``eval_every`` and the counts of the history are in sequences.
    """
    check_choice("update", update, ("step", "sequence"))
    check_int("sequences", sequences)
    return fit(model, data, optimizer, steps=sequences, clip=clip, evaluate=evaluate,
               eval_every=eval_every, stop=stop, progress=progress, desc=desc,
               check_every=check_every, gradient="truncated",
               update="step" if update == "step" else "batch")
