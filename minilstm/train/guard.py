r"""The divergence guard of the training loops: NaN and inf found on the device, read every N updates.

After every update the loop hands the guard three numbers that stay on the device (0-d arrays):
the loss :math:`L`, the global gradient norm :math:`\|g\|` (before clipping) and the sum of all
weights :math:`\Sigma w` (in float64). Each is NaN or inf exactly when something it sums is (or
when it overflows, which is divergence too), so the three cover the loss, every gradient and
every weight with three small reductions and no read. The guard writes them into a row of an
``(every, 3)`` buffer on the device; every ``every`` updates (and whenever the loop needs the
losses: at an evaluation, at the end) :meth:`DivergenceGuard.read` copies the rows to the host in
**one** transfer and looks at them in order:

* all finite: their losses and norms go to the loop's history, and a snapshot of the weights and
  the optimizer's state is taken (the last state known good);
* row k not finite: the weights and the optimizer's state are put back to the snapshot, and the
  loop's ``fail(label, what)`` gives the exception to raise, naming update k and what went wrong
  first in it (the loss; else the gradient; else the weights the update made).

With ``every = 1`` the snapshot is the state right before the bad update; with ``every = N`` it
is the state after the last clean read, up to N − 1 updates earlier. On NumPy a read costs
nothing, so the loops default to 1; on a GPU each read makes the host wait for the device.
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

    Row k of the device buffer ``rows (every, 3)`` holds :math:`(L_k, \|g_k\|, \Sigma w_k)` of the
    k-th update since the last read, :math:`\Sigma w = \sum_{\text{arrays}} \sum w` in float64
    (weights of any shape; the loss and the norm are 0-d arrays of shape ``()``).
    ``model`` : anything with ``params`` (name → array) and ``xp``; ``optimizer`` : from
    :mod:`minilstm.optim` (its ``state_dict``/``load_state_dict`` give the snapshot);
    ``every`` : the number of updates between reads (an int ≥ 1).
    """

    def __init__(self, model, optimizer, every: int):
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"check_every must be an int >= 1, got {every!r}")
        self.model, self.optimizer, self.every = model, optimizer, int(every)
        self.xp = xp = model.xp
        self.rows = xp.zeros((self.every, 3), dtype=xp.float64)   # L, ||g||, sum of weights
        self.labels: list = []
        self._grads = None
        core = getattr(model, "core", None)
        if core is not None and hasattr(core, "flat"):                  # no array twice
            self._weights = [core.flat] + [v for k, v in model.params.items()
                                           if not k.startswith("core.")]
        else:
            self._weights = list(model.params.values())
        self._snapshot()

    def _snapshot(self):
        self._params = {k: v.copy() for k, v in self.model.params.items()}
        self._opt_state = self.optimizer.state_dict()

    def _restore(self):
        for k, v in self._params.items():
            self.model.params[k][...] = v
        self.optimizer.load_state_dict(self._opt_state)

    def mark(self, label, loss, norm, grads) -> None:
        """Record one update (after its optimizer step): ``loss`` and ``norm`` 0-d arrays (or
        floats), ``grads`` its gradients (kept only to name a bad one). No read."""
        xp = self.xp
        row = self.rows[len(self.labels)]
        total = None
        for w in self._weights:
            s = xp.sum(w, dtype=xp.float64)
            total = s if total is None else total + s
        row[0], row[1], row[2] = loss, norm, total
        self.labels.append(label)
        self._grads = grads

    @property
    def due(self) -> bool:
        """True when ``every`` updates are waiting to be read."""
        return len(self.labels) >= self.every

    def read(self, fail) -> list:
        """Copy the waiting rows to the host (one transfer) and check them in order.

        Returns ``[(label, loss, norm), ...]`` as Python floats when all are finite (and takes a
        snapshot). Otherwise restores the snapshot and raises ``fail(label, what)``.
        """
        n = len(self.labels)
        if n == 0:
            return []
        values = backend.to_numpy(self.rows[:n])
        labels, self.labels = self.labels, []
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
