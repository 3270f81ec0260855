r"""Many independent trials of one network, trained as one batch.

The papers report a success rate and a mean over many trials (30 for Exp. 1 of Hochreiter &
Schmidhuber 1997, 100 nets per condition in Gers et al. 2000). The 1997 nets are tiny (93 to 276
weights), so on a CPU one trial is dominated by Python's per-step overhead, not by arithmetic:
K trials run side by side cost about as much as one.

Design: block-diagonal packing
------------------------------
K copies of a network with I inputs, H units and O outputs become **one** wider network of the
same class with K·I inputs, K·H units and K·O outputs, whose every weight matrix is
block-diagonal across trials: trial k's block reads only trial k's inputs and units. A fixed 0/1
mask :math:`M` (one per parameter) says which entries belong to some trial:

.. math::

    \theta \leftarrow M \odot \theta \quad\text{(at the start)}, \qquad
    g \leftarrow M \odot g \quad\text{(after every backward)},

so an off-block weight starts at 0 and never moves, and trial k's units never see another
trial's activations. The loss is the *sum* of the K trials' losses, each on its own outputs,
targets and mask, so the gradient of trial k's block is exactly the gradient trial k would get
alone; Adam, momentum and SGD act elementwise, so trial k's block follows exactly the trajectory
it would follow alone (up to the order of floating-point sums in the matrix products:
``tests/test_trials.py`` checks 1e-10 against single runs).

What "the same layout" means for each layer class (the index maps in :func:`axis_kinds`):

* every axis of a parameter is one of ``in`` (inputs), ``cell`` (cells / hidden units),
  ``block`` (memory blocks: gates act on blocks), ``u`` (the LSTM's recurrent source
  :math:`u = [y, i, f, o]` of the 1997 wiring, which is gate-major in the wide layer:
  ``[y (K·H) | i (K·nb) | f (K·nb) | o (K·nb)]``) or ``out`` (readout outputs);
* trial k owns indices ``k·n .. k·n + n − 1`` of every ``in/cell/block/out`` axis and the
  corresponding pieces of ``u``.

Every recurrent layer can be packed: the layer says how (its ``axis_kinds``, ``axis_sizes`` and
``widen``; :class:`~minilstm.nn.recurrent.Recurrent`'s defaults serve any cell whose parameters
are ``W_* (H, I)``, ``R_* (H, H)``, ``b_* (H,)``, the :class:`~minilstm.nn.lstm.LSTM` defines
its own), and the layers themselves are used unchanged. So can any object with the same three
methods, e.g. a wrapper that holds a layer and trains a subset of its parameters
(:class:`minilstm.experiments.nets.InputToOutput`: its output is ``[y, x]``, so its
``axis_sizes`` gives ``"y"``, the readout's input axis, as trial k's cells, then its inputs).

Data: each trial has its own data (its own random stream). ``pack`` concatenates the trials'
inputs along the feature axis, padding shorter sequences with zeros at the end; since a step's
output depends only on earlier inputs and each trial's loss mask is its own, padding changes
nothing for that trial.

How it scales
-------------
Per step the wide layer does one ``(B, K·U) @ (K·U, K·G)`` product instead of K products
``(B, U) @ (U, G)``: the arithmetic grows as :math:`K^2` (the off-block zeros are multiplied
too) while the Python overhead per step stays that of one trial. Measured on one busy CPU
core (NumPy, one BLAS thread), one Adam update of the 93-weight adding net, B = 16, T ≈ 105:

====  ==============  ===============
K     ms per update   ms per trial
====  ==============  ===============
1     20              20
5     27              5.3
10    39              3.9
20    71              3.6
40    164             4.1
====  ==============  ===============

so 10–20 trials cost 2–3.5× one trial, and past K ≈ 20–30 the :math:`K^2` arithmetic takes
over. Split larger trial counts into groups (``--trials-per-batch`` of
``python -m minilstm.experiments``). The 1997 online rule does not use this packing: its
experiments run on :class:`minilstm.train.online1997.Stack1997`, where the trials are a leading
array axis of every weight, state and partial and the cost grows linearly with K. Block-diagonal
packing remains for the BPTT runs because it reuses the layers as they are.

One caution: ``0 · inf = NaN``. A mask is therefore applied by *selection*,
:math:`g \leftarrow \text{where}(M > 0,\ g,\ 0)`, never by multiplication: a trial whose
gradient overflowed (inf in its block, and in the off-block entries of its rows and columns)
leaves exactly 0 in every entry that is not its own, instead of NaN. A NaN *weight* of one trial
is worse: in the next forward pass it meets the other trials' activations through the off-block
zeros of the wide product and turns them into NaN. So a batch of trials is trained by
:func:`minilstm.train.fit`, whose divergence guard (:mod:`minilstm.train.guard`) reads every
trial's loss, gradient norm and weight sum after **every** update and stops a trial whose values
are not finite at its last good weights (:meth:`TrialBatch.mark_diverged`, recording the update in
``diverged_at``) before the next forward pass; its optimizer state (Adam's m and v may hold inf
or NaN in its block from then on) is kept out of the parameters by the same selection. If one
trial's *activations* overflowed, the wide product would still spread NaN to every trial; the 1997
units are bounded (σ, g, h squash; the CEC grows at most linearly) and a stopped trial keeps
finite weights, so that does not happen.

What :func:`~minilstm.train.fit` asks of a batch of trials (the protocol of
:mod:`minilstm.train.fit`): :meth:`TrialBatch.loss` gives the K losses as one device array,
:meth:`TrialBatch.backward` the masked gradients, :meth:`TrialBatch.clip_grad_norm` clips each
trial on its own and gives the K norms, :meth:`TrialBatch.update` takes the optimizer's step and
holds the stopped trials, :meth:`TrialBatch.weight_sum` gives the K weight sums.
"""
from __future__ import annotations

import numpy as np

from .. import backend as _backend
from ..functional import softmax
from ..losses import check_target
from ..nn.model import LOSSES, SequenceModel
from ..validate import deferred_value_checks

__all__ = ["TrialBatch", "axis_kinds", "widen_core", "select"]


def select(mask, a):
    """``where(mask > 0, a, 0)``: the entries of ``a`` that ``mask`` keeps, exactly 0 elsewhere,
    even where ``a`` is inf or NaN (``a * mask`` would give NaN there). Any backend."""
    xp = _backend.get_array_module(a)
    return xp.where(mask > 0, a, 0.0)


# ---- layouts ------------------------------------------------------------------------------------
def axis_kinds(core) -> dict:
    """``{param name: (axis kind, ...)}`` for a recurrent layer (see the module docstring): the
    layer's own :meth:`~minilstm.nn.recurrent.Recurrent.axis_kinds`."""
    _check_packable(core)
    return core.axis_kinds()


def widen_core(core, K: int):
    """A zero-initialised layer of ``core``'s class and configuration, K times as wide: the
    layer's own :meth:`~minilstm.nn.recurrent.Recurrent.widen`."""
    _check_packable(core)
    return core.widen(K)


def _check_packable(core):
    missing = [m for m in ("axis_kinds", "axis_sizes", "widen") if not hasattr(core, m)]
    if missing:
        raise TypeError(f"cannot pack trials of a {type(core).__name__}: it has no "
                        f"{', '.join(missing)} (a minilstm.nn.recurrent.Recurrent layer has them)")


def _index(kind, k, K, core, n_out):
    """Host index array of trial k along an axis of ``kind`` in the wide layer: in each segment
    of n (K·n wide) the entries ``k·n .. k·n + n − 1``. ``"y"``, the readout's input, is the
    layer's output: its cells unless the layer's ``axis_sizes`` says otherwise."""
    if kind == "out":
        return k * n_out + np.arange(n_out)
    sizes = core.axis_sizes()
    widths = sizes.get("y", sizes["cell"]) if kind == "y" else sizes.get(kind)
    if widths is None:
        raise ValueError(f"unknown axis kind {kind!r}")
    parts, start = [], 0
    for n in widths:
        parts.append(start + k * n + np.arange(n))
        start += K * n
    return np.concatenate(parts)


class TrialBatch:
    r"""K independent trials of one :class:`~minilstm.nn.model.SequenceModel`, as one wide model.

    Parameters
    ----------
    models : list of K single-trial :class:`~minilstm.nn.model.SequenceModel` with the same
        configuration (only the random initial values differ: build them with K seeds). Their
        values are copied into the blocks; the models themselves are not used afterwards.
    loss : a key of :data:`minilstm.nn.model.LOSSES` (default: the models' own loss);
        ``"logistic_mse"`` is the 1997 output layer (logistic units, squared error).

    Attributes
    ----------
    model : the wide :class:`~minilstm.nn.model.SequenceModel`. Train the batch with
        :func:`minilstm.train.fit` (``fit(batch, data, optimizer, ...)``, the optimizer built on
        ``params``), which stops a diverging trial and lets the others go on.
    masks : ``{name: 0/1 array}`` of the wide parameters' shapes, on the model's backend.
    K, n_in, n_out : trials, and one trial's input and output sizes.
    active : host bool array ``(K,)``: trials still training (see :meth:`freeze`).
    diverged : host bool array ``(K,)``: trials frozen because an update was not finite.
    diverged_at : list of K ints or None: the update (0-based count of :meth:`update` calls, or
        the caller's own count passed to :meth:`mark_diverged`) whose result was not finite.
    updates : the number of :meth:`update` calls so far.
    n_trials : K (what :func:`~minilstm.train.fit` reads to tell a batch of trials from one model).

    Shapes: inputs of trial k ``(T_k, B, n_in)``; packed ``(T, B, K·n_in)`` with T = max T_k;
    outputs ``(T, B, K·n_out)``, trial k's in columns ``k·n_out .. (k+1)·n_out − 1``.
    """

    def __init__(self, models, loss=None):
        models = list(models)
        if not models or not all(isinstance(m, SequenceModel) for m in models):
            raise TypeError("models must be a non-empty list of SequenceModel")
        proto = models[0]
        for m in models[1:]:
            c0, c1 = dict(proto.config), dict(m.config)
            c0["core_config"] = {k: v for k, v in c0["core_config"].items() if k != "seed"}
            c1["core_config"] = {k: v for k, v in c1["core_config"].items() if k != "seed"}
            if c0 != c1:
                raise ValueError(f"every trial must have the same configuration (seeds apart); "
                                 f"got {c0} and {c1}")
        self.K = K = len(models)
        self.loss_name = proto.loss_name if loss is None else loss
        if self.loss_name not in LOSSES:
            raise ValueError(f"loss={self.loss_name!r} is not known; expected one of {sorted(LOSSES)}")
        self._loss, self._phi = LOSSES[self.loss_name]
        core = proto.core
        self.n_in, self.n_out = core.n_in, proto.readout.n_out
        wide = widen_core(core, K)
        self.model = SequenceModel(wide, K * self.n_out, loss="mse",
                                   readout_bias=proto.readout.bias, init_scale=0.0)
        xp = self.xp
        kinds = {f"core.{k}": v for k, v in axis_kinds(core).items()}
        kinds["readout.W"] = ("out", "y")
        if proto.readout.bias:
            kinds["readout.b"] = ("out",)
        if set(kinds) != set(self.model.params) or set(kinds) != set(proto.params):
            raise AssertionError(f"layout of {sorted(kinds)} does not match {sorted(self.model.params)}")
        # host index tuples: self._ix[name][k] indexes trial k's block of the wide parameter
        self._ix = {name: [np.ix_(*[_index(a, k, K, core, self.n_out) for a in axes])
                           for k in range(K)] for name, axes in kinds.items()}
        masks, values = {}, {}
        for name, p in self.model.params.items():
            m = np.zeros(p.shape)
            v = np.zeros(p.shape)
            for k, model in enumerate(models):
                ix = self._ix[name][k]
                if m[ix].any():
                    raise AssertionError(f"trial blocks overlap in {name}")
                m[ix] = 1.0
                v[ix] = _backend.to_numpy(model.params[name])
            masks[name], values[name] = m, v
        n_single = sum(int(np.prod(p.shape)) for p in proto.params.values())
        if int(sum(m.sum() for m in masks.values())) != K * n_single:
            raise AssertionError("the trial blocks do not hold K copies of every parameter")
        dt = wide.dtype
        self.masks = {k: xp.asarray(m.astype(dt)) for k, m in masks.items()}
        for name, p in self.model.params.items():
            p[...] = xp.asarray(values[name].astype(dt))
        self._trial_masks = None
        self.active = np.ones(K, dtype=bool)
        self._frozen = {name: xp.zeros_like(p) for name, p in self.model.params.items()}
        self._active_masks = dict(self.masks)
        self.diverged = np.zeros(K, dtype=bool)
        self.diverged_at = [None] * K
        self.updates = 0
        # owner[name] (K, rows): row r of the wide parameter belongs to trial k. A trial's block
        # holds whole rows (its rows' other entries are off-block, hence 0), so a trial's sum is
        # the sum of its rows' sums: what weight_sum and the norms use, selected (not multiplied).
        self._owner = {}
        for name, p in self.model.params.items():
            owner = np.zeros((K, p.shape[0]), dtype=bool)
            for k in range(K):
                owner[k, np.asarray(self._ix[name][k][0]).ravel()] = True
            if (owner.sum(axis=0) > 1).any():
                raise AssertionError(f"trials share rows of {name}")
            self._owner[name] = xp.asarray(owner)

    # ---- basics ---------------------------------------------------------------------------------
    @property
    def xp(self):
        return self.model.xp

    @property
    def params(self):
        return self.model.params

    @property
    def n_params_per_trial(self) -> int:
        return int(sum(int(m.sum()) for m in self.masks.values())) // self.K

    def trial_params(self, k) -> dict:
        """Trial k's parameters as host NumPy arrays with the single model's names and shapes."""
        return {name: _backend.to_numpy(p)[self._ix[name][k]].copy()
                for name, p in self.model.params.items()}

    def set_trial_params(self, k, values: dict):
        """Write a single model's parameters (``{name: array}``) into trial k's blocks."""
        for name, p in self.model.params.items():
            host = _backend.to_numpy(p).copy()
            host[self._ix[name][k]] = _backend.to_numpy(values[name])
            p[...] = self.xp.asarray(host)

    @property
    def active_masks(self) -> dict:
        """``{name: 0/1 array}``: the entries of the trials still training (off-block and frozen
        trials' entries are 0). Select gradients with these (:func:`select`, as :meth:`mask_grads`
        does): multiplying would turn an inf into NaN."""
        return self._active_masks

    @property
    def n_trials(self) -> int:
        """K, the number of trials (:func:`~minilstm.train.fit` trains a batch when this is set)."""
        return self.K

    def _trial_sums(self, arrays, square):
        r"""``(K,)`` float64 device array: :math:`\sum` (or :math:`\sum x^2`) of each trial's
        entries of ``arrays`` (dicts like ``params`` whose off-block entries are 0). Trial k's sum
        is the sum of its rows' sums, the rows picked by selection, so a NaN or inf in one trial's
        rows reaches only that trial's sum. No read."""
        xp = self.xp
        total = None
        for name, a in arrays.items():
            v = a * a if square else a
            rows = v.reshape(v.shape[0], -1).sum(axis=1).astype(xp.float64)      # (rows,)
            part = xp.where(self._owner[name], rows[None, :], 0.0).sum(axis=1)   # (K,)
            total = part if total is None else total + part
        return total

    def check_target(self, target, mask=None):
        """The loss's checks of a packed host ``target`` (:func:`~minilstm.losses.check_target`:
        values in [0, 1] for the logistic losses), as :func:`~minilstm.train.fit` makes them."""
        check_target(self.loss_name, target, self.n_out)

    def weight_sum(self):
        r"""Each trial's :math:`\Sigma w` (all its weights, in float64) as a ``(K,)`` device array:
        what the divergence guard reads (NaN or inf exactly when one of the trial's weights is,
        or when the sum overflows). No read."""
        return self._trial_sums(self.model.params, square=False)

    def clip_grad_norm(self, grads, max_norm=None):
        """Global-norm clipping (Pascanu et al. 2013) for each active trial on its own, in place.

        Trial k's gradient :math:`g_k` (its entries of every array) is scaled by
        ``max_norm / ‖g_k‖`` when ``‖g_k‖ > max_norm``, so one trial's norm never touches
        another's and trials stay independent. ``max_norm`` None: nothing is clipped.

        Returns the K norms before clipping, a ``(K,)`` float64 device array (0 for a stopped
        trial, whose gradients are 0). Device reads: none without ``max_norm``; one with it (the
        K squared norms, to decide which trials to scale).
        """
        xp = self.xp
        norms = xp.sqrt(self._trial_sums(grads, square=True))
        active = np.flatnonzero(self.active)
        if max_norm is None or len(active) == 0:
            return norms
        sums = []                                 # Σ_arrays Σ g² per trial, on the device
        for k in active:
            tm = self.trial_mask(k)
            parts = [xp.sum(select(tm[n], g) ** 2).astype(xp.float64) for n, g in grads.items()]
            total = parts[0]
            for part in parts[1:]:
                total = total + part
            sums.append(total)
        sums = _backend.to_numpy(xp.stack(sums))      # one read for all trials
        for k, sq in zip(active, sums.tolist()):
            tm = self.trial_mask(k)
            norm = sq ** 0.5
            if norm > max_norm:
                for n, g in grads.items():
                    g -= (1.0 - max_norm / norm) * select(tm[n], g)
        return norms

    def trial_mask(self, k) -> dict:
        """``{name: 0/1 array}`` selecting trial k's entries of every wide parameter."""
        if self._trial_masks is None:
            self._trial_masks = {}
        if k not in self._trial_masks:
            out = {}
            for name, p in self.model.params.items():
                m = np.zeros(p.shape)
                m[self._ix[name][k]] = 1.0
                out[name] = self.xp.asarray(m.astype(p.dtype))
            self._trial_masks[k] = out
        return self._trial_masks[k]

    # ---- data -----------------------------------------------------------------------------------
    def pack(self, arrays, width=None):
        """Concatenate K host arrays ``(T_k, B, n)`` along the last axis, zero-padding T.

        Returns ``(T, B, K·n)`` on the model's backend (float) or, for bool arrays ``(T_k, B)``
        (masks), a host bool array ``(T, B, K)``.
        """
        arrays = list(arrays)
        if len(arrays) != self.K:
            raise ValueError(f"expected {self.K} arrays (one per trial), got {len(arrays)}")
        T = max(a.shape[0] for a in arrays)
        B = arrays[0].shape[1]
        if any(a.shape[1] != B for a in arrays):
            raise ValueError("every trial must have the same batch size B")
        if arrays[0].dtype == bool:
            out = np.zeros((T, B, self.K), dtype=bool)
            for k, a in enumerate(arrays):
                out[:a.shape[0], :, k] = a
            return out
        n = arrays[0].shape[2]
        out = np.zeros((T, B, self.K * n), dtype=self.model.core.dtype)
        for k, a in enumerate(arrays):
            out[:a.shape[0], :, k * n:(k + 1) * n] = a
        return self.xp.asarray(out)

    def split(self, a, lengths=None):
        """Wide outputs ``(T, B, K·n_out)`` -> list of K host arrays ``(T_k, B, n_out)``."""
        host = _backend.to_numpy(a)
        O = self.n_out
        return [host[:(None if lengths is None else lengths[k]), :, k * O:(k + 1) * O]
                for k in range(self.K)]

    # ---- forward, loss, backward -------------------------------------------------------------------
    def outputs(self, a_out):
        """The output units' values :math:`\\hat y = \\phi(a)` of the wide model (device array)."""
        if self.loss_name == "cross_entropy":     # softmax per trial, not over all K·O outputs
            xp, O = self.xp, self.n_out
            return xp.concatenate([softmax(a_out[..., k * O:(k + 1) * O], axis=-1)
                                   for k in range(self.K)], axis=-1)
        return self._phi(a_out)

    def loss(self, x, target, mask=None, state=None, lengths=None, *, as_array=False):
        """One forward pass of the wide model and the per-trial losses.

        ``x, target`` packed device arrays ``(T, B, K·n)``; ``mask`` bool ``(T, B, K)`` (host or
        device) or None; ``state`` the wide model's initial state or None (zeros); ``lengths``
        must be None (:meth:`pack` pads each trial's sequences itself). Returns ``(losses, a_out,
        cache, da_out)``: ``losses`` the K losses as host floats ``(K,)`` (one read) or, with
        ``as_array``, as a ``(K,)`` float64 device array (no read); ``da_out`` is the gradient of
        the *sum* of the trials' losses.
        """
        if lengths is not None:
            raise ValueError("lengths must be None for a TrialBatch: pack() pads each trial's "
                             f"sequences itself, got {type(lengths).__name__}")
        xp, O = self.xp, self.n_out
        losses, parts = [], []
        with deferred_value_checks():           # NaN/inf: found by fit's guard, per trial
            a_out, cache = self.model.forward(x, state)
            for k in range(self.K):
                sl = slice(k * O, (k + 1) * O)
                m = None if mask is None else xp.asarray(mask[:, :, k])
                loss, d = self._loss(a_out[..., sl], target[..., sl], m, as_array=True)
                losses.append(loss)
                parts.append(d)
        losses = xp.stack(losses)
        if not as_array:
            losses = _backend.to_numpy(losses)      # one read for the K losses
        return losses, a_out, cache, xp.concatenate(parts, axis=-1)

    def mask_grads(self, grads):
        """Zero every off-block (and every frozen trial's) gradient entry, in place, by selection
        (:func:`select`), so an inf in one trial's rows leaves 0, not NaN, in the others'."""
        for name, g in grads.items():
            g[...] = select(self._active_masks[name], g)
        return grads

    def backward(self, da_out, cache, gradient=None):
        """Gradients of the wide model, masked (:meth:`mask_grads`); no value is read.

        ``gradient``: None for the wide model's own backward (BPTT), or a function
        ``gradient(model, da_out, cache) -> grads`` of a :class:`~minilstm.nn.model.SequenceModel`
        (e.g. the 1997 truncated gradient, ``fit(..., gradient="truncated")``), given the wide model.
        """
        with deferred_value_checks():
            grads = (self.model.backward(da_out, cache) if gradient is None
                     else gradient(self.model, da_out, cache))
            return self.mask_grads(grads)

    # ---- updates ----------------------------------------------------------------------------------
    def update(self, optimizer, grads):
        """``optimizer.step(grads)`` (grads already masked), then hold the stopped trials at their
        weights (and the off-block entries at 0), by selection. Counts the update in ``updates``.
        Reads nothing: :func:`~minilstm.train.fit`'s guard checks the trials after it."""
        optimizer.step(grads)
        for name, p in self.model.params.items():           # off-block 0, frozen trials fixed
            p[...] = self.xp.where(self._active_masks[name] > 0, p, self._frozen[name])
        self.updates += 1

    def restore_trial(self, arrays, saved, k):
        """Write trial k's entries of ``saved`` back into ``arrays`` (dicts like ``params``)."""
        tm = self.trial_mask(k)
        for n, a in arrays.items():
            a[...] = self.xp.where(tm[n] > 0, saved[n], a)

    def mark_diverged(self, k, update):
        """Record that trial k's ``update`` was not finite and freeze it (:meth:`freeze`)."""
        self.diverged[k] = True
        self.diverged_at[k] = int(update)
        self.freeze(k)

    def freeze(self, k):
        """Stop training trial k: its current weights are kept, whatever the optimizer does."""
        k = int(k)
        if not self.active[k]:
            return
        self.active[k] = False
        tm = self.trial_mask(k)
        for name, p in self.model.params.items():
            self._frozen[name] += select(tm[name], p)
            self._active_masks[name] = self._active_masks[name] * (1.0 - tm[name])
