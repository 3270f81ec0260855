r"""A stack of recurrent layers, with inverted dropout between them.

Layer :math:`l = 1..L` (any minilstm layers, mixed: RNN, GRU, LSTM of any preset,
:class:`~minilstm.nn.bidirectional.Bidirectional`) reads the output of the layer below:

.. math::

    y^{(0)}(t) = x(t), \qquad
    u^{(l)}(t) = \frac{d^{(l)}(t)}{1 - p}\odot y^{(l-1)}(t) \;(l \ge 2), \quad u^{(1)} = x, \qquad
    y^{(l)} = \text{layer}_l\big(u^{(l)}\big),

and the stack's output is :math:`y^{(L)}`. The dropout mask :math:`d^{(l)}(t)\in\{0,1\}^{n}` keeps
each unit with probability :math:`1-p`, independently per unit, step and sequence; dividing by
:math:`1-p` (*inverted* dropout) keeps :math:`\mathbb{E}[u^{(l)}] = y^{(l-1)}`, so at evaluation
(``stack.eval()``, or ``p = 0``) the masks are simply left out: :math:`u^{(l)} = y^{(l-1)}`.
Dropout acts between layers only, never on the recurrent connections (Zaremba et al. 2014).

Backward, from :math:`\bar y^{(L)} = \partial E/\partial y^{(L)}`: layer l's ``backward`` gives
:math:`\bar u^{(l)}` and its weight gradients, and :math:`\bar y^{(l-1)} = \frac{d^{(l)}}{1-p}\odot
\bar u^{(l)}` (the same mask). Shapes: ``x (T, B, n_in)``, :math:`y^{(l)}` ``(T, B, n_l)``.

The masks are drawn on the host from a seeded generator and moved to the device (as every random
number in minilstm), so a seed gives the same masks on every backend.
"""
from __future__ import annotations

from .. import backend
from .composite import Composite, CompositeCache, describe
from .recurrent import check_lengths, forward_part

__all__ = ["Stack"]


class Stack(Composite):
    r"""Layers applied one after the other, inverted dropout :math:`p` between them (module docstring).

    .. math:: y^{(l)} = \text{layer}_l\big(d^{(l)}\odot y^{(l-1)}/(1-p)\big), \quad y^{(0)} = x

    Parameters
    ----------
    layers : a list of minilstm layers; ``layers[l].n_in`` must equal ``layers[l-1].n_out``.
    dropout : p in [0, 1), the probability of dropping a unit between layers (default 0).
    seed : seed of the host generator that draws the masks.

    ``params``: the layers' parameters as ``"{l}.{name}"`` (``l`` from 0); the state: the layers'
    states one after the other (``state_names`` like ``("0.y", "0.c", "1.h")``).
    ``forward(x (T, B, n_in)) -> y (T, B, n_out)``. ``training`` (True after construction and
    :meth:`train`, False after :meth:`eval`) switches dropout on and off.
    """

    def __init__(self, layers, dropout=0.0, seed=None):
        layers = list(layers)
        if not layers:
            raise ValueError("layers must hold at least one layer, got an empty list")
        for l in range(1, len(layers)):
            if layers[l].n_in != layers[l - 1].n_out:
                raise ValueError(f"layers[{l}].n_in must equal layers[{l - 1}].n_out = "
                                 f"{layers[l - 1].n_out} (it reads that layer's output), got "
                                 f"{layers[l].n_in}")
        p = float(dropout)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        self._set_parts([(str(l), layer) for l, layer in enumerate(layers)])
        self.layers = layers
        self.n_in, self.n_out, self.dropout = layers[0].n_in, layers[-1].n_out, p
        self.training = True
        self.seed = seed
        self._rng = backend.default_rng(seed)

    @property
    def config(self) -> dict:
        """The layers' types and configurations, the dropout rate and the seed (JSON types)."""
        return {"layers": [describe(layer) for layer in self.layers], "dropout": self.dropout,
                "seed": self.seed}

    def train(self, mode: bool = True):
        """Dropout on (``mode=True``) or off; returns the stack."""
        self.training = bool(mode)
        return self

    def eval(self):
        """Dropout off (evaluation, generation); returns the stack."""
        return self.train(False)

    def _masks(self, shapes, rng):
        """The scaled masks :math:`d^{(l)}/(1-p)` for layers 2..L (None when dropout is off)."""
        if not self.training or self.dropout == 0.0:
            return [None] * len(shapes)
        gen = self._rng if rng is None else backend.default_rng(rng)
        keep = 1.0 - self.dropout
        return [self.xp.asarray(((gen.random(s) < keep) / keep).astype(self.dtype)) for s in shapes]

    def forward(self, x, state=None, lengths=None, rng=None):
        """``x (T, B, n_in)`` → ``y (T, B, n_out)`` and a :class:`~minilstm.nn.composite.CompositeCache`.

        ``state``: the flat state tuple or None (zeros); ``lengths``: optional ``(B,)`` sequence
        lengths, passed to every layer (:mod:`minilstm.nn.recurrent`); ``rng``: a seed or Generator
        for this call's dropout masks (default: the stack's own generator, which moves on).
        """
        if getattr(x, "ndim", 0) != 3:
            raise ValueError(f"x must have 3 dimensions (T, B, {self.n_in}), got shape "
                             f"{tuple(getattr(x, 'shape', ()))}")
        T, B = x.shape[:2]
        lengths = check_lengths(lengths, T, B)
        states = self._split("state", state, B)
        masks = self._masks([(T, B, layer.n_in) for layer in self.layers[1:]], rng)
        caches, h = [], x
        for l, layer in enumerate(self.layers):
            if l > 0 and masks[l - 1] is not None:
                h = h * masks[l - 1]
            h, cache = forward_part(layer, h, states[l], lengths)
            caches.append(cache)
        return h, CompositeCache(state=self._join(c.state for c in caches), parts=caches,
                                 extra={"masks": masks}, lengths=lengths)

    def backward(self, dy, cache, dstate=None, return_dstate=False):
        """From ``dy (T, B, n_out)`` (and ``dstate``, the error of the final state): ``dx (T, B,
        n_in)``, ``grads`` keyed as ``params`` and, with ``return_dstate``, the initial state's."""
        T, B = dy.shape[:2] if getattr(dy, "ndim", 0) == 3 else (None, None)
        self._check_dy(dy, T, B)
        dstates = self._split("dstate", dstate, B)
        grads, d0 = [None] * len(self.layers), [None] * len(self.layers)
        masks = cache.extra["masks"]
        for l in range(len(self.layers) - 1, -1, -1):
            dy, grads[l], d0[l] = self.layers[l].backward(dy, cache.parts[l], dstate=dstates[l],
                                                          return_dstate=True)
            if l > 0 and masks[l - 1] is not None:
                dy = dy * masks[l - 1]
        grads = self._merge_grads(grads)
        return (dy, grads, self._join(d0)) if return_dstate else (dy, grads)

    def step(self, x_t, state):
        """One step ``x_t (B, n_in)`` → ``(y_t (B, n_out), state)`` through every layer, without
        dropout and without input checks (for generation; see :meth:`minilstm.nn.recurrent.Recurrent.step`)."""
        states = self._split("state", state, x_t.shape[0], check=False)
        out, h = [], x_t
        for layer, s in zip(self.layers, states):
            if not hasattr(layer, "step"):
                raise TypeError(f"{type(layer).__name__} cannot run one step at a time (a "
                                "bidirectional layer needs the whole sequence)")
            h, s = layer.step(h, s)
            out.append(s)
        return h, self._join(out)

