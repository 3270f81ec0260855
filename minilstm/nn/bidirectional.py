r"""A bidirectional layer (Schuster & Paliwal 1997; with LSTM, Graves & Schmidhuber 2005).

Two recurrent layers read the same sequence, one forwards in time and one backwards, so that the
output at step t sees the whole sequence, :math:`x(1..T)`:

.. math::

    \overrightarrow{y}(t) = \text{fwd}\big(x(1), \dots, x(t)\big), \qquad
    \overleftarrow{y}(t) = \text{bwd}\big(x(L), x(L-1), \dots, x(t)\big),

    y(t) = \big[\overrightarrow{y}(t);\ \overleftarrow{y}(t)\big] \quad(\texttt{merge="concat"},
    \ n_\text{out} = n_\text{fwd} + n_\text{bwd}) \qquad\text{or}\qquad
    y(t) = \overrightarrow{y}(t) + \overleftarrow{y}(t) \quad(\texttt{"sum"}).

The backward layer is an ordinary layer run on the time-reversed input: with the reversal
:math:`\rho`, :math:`(\rho x)(s) = x(L - 1 - s)` (0-based steps), :math:`\overleftarrow{y} =
\rho\,\text{bwd}(\rho x)`. For a batch of sequences of lengths :math:`L_b` (padded at the end),
each sequence is reversed within its own length, :math:`(\rho x)_b(s) = x_b(L_b - 1 - s)` for
:math:`s < L_b`, padding left where it is (:func:`reverse_sequences`): the backward direction
starts at each sequence's own last valid step, never at the padding.

:math:`\rho` is a permutation of the steps, and its own inverse, so its backward pass is
:math:`\rho` again: with :math:`\bar y = \partial E/\partial y` split as
:math:`[\bar{\overrightarrow{y}}; \bar{\overleftarrow{y}}]` (concat) or used for both (sum),

.. math::

    \frac{\partial E}{\partial x} = \text{fwd.backward}\big(\bar{\overrightarrow{y}}\big)
        + \rho\,\text{bwd.backward}\big(\rho\,\bar{\overleftarrow{y}}\big).

Shapes: ``x (T, B, n_in)``, ``y (T, B, n_out)``; the state is the forward layer's state then the
backward layer's (its final state is the one after step 1 of the original order).
"""
from __future__ import annotations

import numpy as np

from ..backend import get_array_module
from .composite import Composite, CompositeCache, describe
from .recurrent import check_lengths, forward_part

__all__ = ["Bidirectional", "reverse_sequences"]


def reverse_sequences(x, lengths=None):
    r"""Each sequence of ``x (T, B, ...)`` reversed in time within its own length.

    :math:`(\rho x)_b(s) = x_b(L_b - 1 - s)` for :math:`s < L_b`, and :math:`x_b(s)` (the padding,
    in place) for :math:`s \ge L_b`; without ``lengths`` every :math:`L_b = T` (``x[::-1]``).
    ``lengths``: host ints ``(B,)`` (see :func:`minilstm.nn.recurrent.check_lengths`). Applied twice
    it gives ``x`` back. One gather on the device; returns a new array (a view without lengths).
    """
    if lengths is None:
        return x[::-1]
    xp = get_array_module(x)
    T, B = x.shape[:2]
    t = np.arange(T)[:, None]
    L = np.asarray(lengths)[None, :]
    order = np.where(t < L, L - 1 - t, t)                  # (T, B): the step each entry comes from
    return x[xp.asarray(order), xp.asarray(np.arange(B))[None, :]]


class Bidirectional(Composite):
    r"""A forward and a backward layer over the same input; outputs concatenated or summed.

    .. math::

        y(t) = [\overrightarrow{y}(t); \overleftarrow{y}(t)] \;\text{or}\;
        \overrightarrow{y}(t) + \overleftarrow{y}(t), \qquad
        \overleftarrow{y} = \rho\,\text{bwd}(\rho\,x)

    (:math:`\rho`: :func:`reverse_sequences`; module docstring for the derivation).

    Parameters
    ----------
    forward_layer, backward_layer : minilstm layers with the same ``n_in`` (the same ``n_out``
        too for ``merge="sum"``); typically two layers of one kind with different seeds.
    merge : ``"concat"`` (default; ``n_out = n_fwd + n_bwd``) or ``"sum"`` (``n_out = n_fwd``).

    ``params``: ``"fwd.{name}"`` and ``"bwd.{name}"``; the state: ``("fwd.…", "bwd.…")``.
    ``forward(x (T, B, n_in), state=None, lengths=None) -> y (T, B, n_out)``.
    """

    def __init__(self, forward_layer, backward_layer, merge="concat"):
        if merge not in ("concat", "sum"):
            raise ValueError(f"merge must be 'concat' or 'sum', got {merge!r}")
        if forward_layer.n_in != backward_layer.n_in:
            raise ValueError(f"backward_layer.n_in must equal forward_layer.n_in = "
                             f"{forward_layer.n_in} (both read x), got {backward_layer.n_in}")
        if merge == "sum" and forward_layer.n_out != backward_layer.n_out:
            raise ValueError(f"merge='sum' needs backward_layer.n_out = forward_layer.n_out = "
                             f"{forward_layer.n_out}, got {backward_layer.n_out}")
        if forward_layer is backward_layer:
            raise ValueError("forward_layer and backward_layer must be two layers (two sets of "
                             "weights), got the same object twice")
        self._set_parts([("fwd", forward_layer), ("bwd", backward_layer)])
        self.forward_layer, self.backward_layer, self.merge = forward_layer, backward_layer, merge
        self.n_in = forward_layer.n_in
        self.n_out = forward_layer.n_out + (backward_layer.n_out if merge == "concat" else 0)

    @property
    def config(self) -> dict:
        """The two layers' types and configurations and the merge (JSON types)."""
        return {"forward_layer": describe(self.forward_layer),
                "backward_layer": describe(self.backward_layer), "merge": self.merge}

    def forward(self, x, state=None, lengths=None):
        """``x (T, B, n_in)`` → ``y (T, B, n_out)`` and a :class:`~minilstm.nn.composite.CompositeCache`.

        ``lengths``: optional ``(B,)``; each sequence is reversed within its own length, and
        ``y`` is 0 at the padded steps.
        """
        if getattr(x, "ndim", 0) != 3:
            raise ValueError(f"x must have 3 dimensions (T, B, {self.n_in}), got shape "
                             f"{tuple(getattr(x, 'shape', ()))}")
        T, B = x.shape[:2]
        lengths = check_lengths(lengths, T, B)
        s_f, s_b = self._split("state", state, B)
        y_f, c_f = forward_part(self.forward_layer, x, s_f, lengths)
        y_b, c_b = forward_part(self.backward_layer, reverse_sequences(x, lengths), s_b, lengths)
        y_b = reverse_sequences(y_b, lengths)
        if self.merge == "concat":
            y = self.xp.concatenate([y_f, y_b], axis=-1)
        else:
            y = y_f + y_b
        return y, CompositeCache(state=self._join([c_f.state, c_b.state]), parts=[c_f, c_b],
                                 lengths=lengths)

    def backward(self, dy, cache, dstate=None, return_dstate=False):
        """From ``dy (T, B, n_out)``: ``dx (T, B, n_in)``, ``grads`` keyed as ``params`` and, with
        ``return_dstate``, the error of the initial state (both directions')."""
        T, B = dy.shape[:2] if getattr(dy, "ndim", 0) == 3 else (None, None)
        self._check_dy(dy, T, B)
        d_f, d_b = self._split("dstate", dstate, B)
        n_f = self.forward_layer.n_out
        dy_f, dy_b = (dy[..., :n_f], dy[..., n_f:]) if self.merge == "concat" else (dy, dy)
        c_f, c_b = cache.parts
        dx_f, g_f, d0_f = self.forward_layer.backward(dy_f, c_f, dstate=d_f, return_dstate=True)
        dx_b, g_b, d0_b = self.backward_layer.backward(reverse_sequences(dy_b, cache.lengths), c_b,
                                                       dstate=d_b, return_dstate=True)
        dx = dx_f + reverse_sequences(dx_b, cache.lengths)
        grads = self._merge_grads([g_f, g_b])
        return (dx, grads, self._join([d0_f, d0_b])) if return_dstate else (dx, grads)
