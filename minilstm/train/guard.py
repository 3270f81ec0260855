r"""The divergence guard of the training loops: NaN and inf found on the device, read every N updates.

After every update the loop hands the guard three values that stay on the device: the loss
:math:`L`, the gradient norm :math:`\|g\|` (before clipping) and the sum of the weights
:math:`\Sigma w` (in float64). Each is NaN or inf exactly when something it sums is (or when it
overflows, which is divergence too), so the three cover the loss, every gradient and every
weight with three small reductions and no read. For one model they are 0-d arrays; for a batch
of K trials (:class:`~minilstm.train.trials.TrialBatch`) they are ``(K,)`` arrays, one value per
trial, each summing that trial's entries only. The guard writes them into a row of an
``(every, 3)`` (or ``(every, 3, K)``) buffer on the device; every ``every`` updates (and whenever
the loop needs the losses: at an evaluation, at the end) :meth:`DivergenceGuard.read` copies the
rows to the host in **one** transfer and looks at them in order.

One model:

* all finite: their losses and norms go to the loop's history, and a snapshot of the weights and
  the optimizer's state is taken (the last state known good);
* row k not finite: the weights and the optimizer's state are put back to the snapshot, and the
  loop's ``fail(label, what)`` gives the exception to raise, naming update k and what went wrong
  first in it (the loss; else the gradient; else the weights the update made).

With ``every = 1`` the snapshot is the state right before the bad update; with ``every = N`` it
is the state after the last clean read, up to N − 1 updates earlier. On NumPy a read costs
nothing, so the loops default to 1; on a GPU each read makes the host wait for the device.

A batch of trials: the same three values, per trial. A trial still training whose loss,
gradient norm or weight sum is not finite is put back to its weights of the snapshot and
stopped there (``mark_diverged``, which records the update, e.g. in
:attr:`~minilstm.train.trials.TrialBatch.diverged_at`); the other trials go on. Nothing is
raised. The rule: **for trials that share products (K nets packed in one wide net,
:class:`~minilstm.train.trials.TrialBatch`) the guard is read after every update** (``every``
must be 1). They share one wide matrix product per step, in which a NaN weight of one trial
meets the other trials' activations through the off-block zeros, and
:math:`0 \cdot \text{NaN} = \text{NaN}`: a bad trial left unread until the next update would
turn every trial's activations, and then weights, into NaN. Read after every update, the bad
trial's weights are put back before the next forward pass, so the others never meet them
(``tests/test_trials.py`` checks that the others' weights equal those of a batch without the bad
trial). Trials on an array axis (:class:`~minilstm.train.online1997.StackBPTT`, which says
``shares_products = False``) never meet, so their guard may be read every N updates like one
model's: a bad trial then goes back to its weights of the last clean read, up to N − 1 updates
before the bad one. The optimizer's state is not put back for a batch: a stopped trial's weights
are held by the batch, whatever its optimizer state holds.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..validate import first_nonfinite

__all__ = ["DivergenceGuard", "default_check_every"]


def default_check_every(xp) -> int:
    """N = 1 on NumPy (a read costs nothing), N = 100 on CuPy and the strict stand-in; ``xp`` is
    an array module, no arrays or shapes are involved."""
    return 1 if xp is np else 100


class DivergenceGuard:
    r"""Watch a model's updates on the device; read the verdict every ``every`` updates.

    Row k of the device buffer ``rows`` holds :math:`(L_k, \|g_k\|, \Sigma w_k)` of the k-th update
    since the last read: ``rows (every, 3)`` for one model, ``(every, 3, K)`` for K trials.

    ``model`` : what :func:`~minilstm.train.fit` trains (see :mod:`minilstm.train.fit`): its
    ``params``, ``xp``, ``n_trials`` (None: one model; K: a batch of trials) and ``weight_sum()``
    (:math:`\Sigma w` as a 0-d or ``(K,)`` float64 device array); for trials also ``active``,
    ``restore_trial``, ``mark_diverged`` and optionally ``shares_products`` (default True).
    ``optimizer`` : from :mod:`minilstm.optim` (its ``state_dict``/``load_state_dict`` give the
    snapshot of one model). ``every`` : the number of updates between reads (an int ≥ 1;
    exactly 1 for trials that share products, module docstring).
    """

    def __init__(self, model, optimizer, every: int):
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"check_every must be an int >= 1, got {every!r}")
        self.trials = getattr(model, "n_trials", None)
        if self.trials is not None and every != 1 and getattr(model, "shares_products", True):
            raise ValueError(f"check_every must be 1 for a batch of {self.trials} trials that "
                             f"share products (a NaN weight of one trial would reach the others "
                             f"at the next update), got {every!r}")
        self.model, self.optimizer, self.every = model, optimizer, int(every)
        self.xp = xp = model.xp
        shape = (self.every, 3) + (() if self.trials is None else (self.trials,))
        self.rows = xp.zeros(shape, dtype=xp.float64)            # L, ||g||, sum of weights
        self.labels: list = []
        self._grads = None
        self._snapshot()

    def _snapshot(self):
        self._params = {k: v.copy() for k, v in self.model.params.items()}
        self._opt_state = self.optimizer.state_dict() if self.trials is None else None

    def _restore(self):
        for k, v in self._params.items():
            self.model.params[k][...] = v
        self.optimizer.load_state_dict(self._opt_state)

    def mark(self, label, loss, norm, grads) -> None:
        """Record one update (after its optimizer step): ``loss`` and ``norm`` device arrays of
        shape ``()`` (one model) or ``(K,)`` (trials), or floats; ``grads`` its gradients (kept
        only to name a bad one). No read."""
        row = self.rows[len(self.labels)]
        row[0], row[1], row[2] = loss, norm, self.model.weight_sum()
        self.labels.append(label)
        self._grads = grads

    @property
    def due(self) -> bool:
        """True when ``every`` updates are waiting to be read."""
        return len(self.labels) >= self.every

    def read(self, fail) -> list:
        """Copy the waiting rows to the host (one transfer) and check them in order.

        Returns ``[(label, loss, norm), ...]``: Python floats for one model, host arrays ``(K,)``
        for trials. One model: when all are finite a snapshot is taken; otherwise the snapshot is
        restored and ``fail(label, what)`` is raised. Trials: each bad trial still training is put
        back to the snapshot and stopped (module docstring), then a snapshot is taken.
        """
        n = len(self.labels)
        if n == 0:
            return []
        values = backend.to_numpy(self.rows[:n])
        labels, self.labels = self.labels, []
        if self.trials is not None:
            return self._read_trials(labels, values)
        for k, (loss, norm, total) in enumerate(values.tolist()):
            if math.isfinite(loss) and math.isfinite(norm) and math.isfinite(total):
                continue
            if not math.isfinite(loss):
                what = f"the loss is {loss}"
            elif not math.isfinite(norm):
                name = first_nonfinite(self._grads) if k == n - 1 else None
                what = f"the gradient of {name or 'a parameter'} holds NaN or inf"
            else:
                name = first_nonfinite(self.model.params)
                what = f"the update made {name or 'a weight'} NaN or inf"
            self._restore()
            raise fail(labels[k], what)
        self._snapshot()
        return [(label, loss, norm) for label, (loss, norm, _) in zip(labels, values.tolist())]

    def _read_trials(self, labels, values):
        """The rows of a batch of trials, in order: stop each trial still training at the first
        row where its values are not finite."""
        model = self.model
        values = np.array(values)                               # (n, 3, K), a host copy
        for label, row in zip(labels, values):
            bad = ~np.isfinite(row).all(axis=0) & model.active
            for k in np.flatnonzero(bad):
                model.restore_trial(model.params, self._params, int(k))
                model.mark_diverged(int(k), label)
        self._snapshot()
        return [(label, row[0], row[1]) for label, row in zip(labels, values)]
