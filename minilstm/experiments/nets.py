r"""Nets of the papers that a preset and a readout alone do not build.

Hochreiter & Schmidhuber (1997), Exp. 2a/2b: one memory cell with an input gate predicts the
next of p + 1 symbols at every step. The output units see the inputs directly as well as the
cell (otherwise one cell could not predict a_{i+1} from a_i for all i), and cell and gate see
only the inputs. The paper's count for p = 100, 101 inputs and 101 outputs without biases:

.. math::

    W = \underbrace{101\cdot(101 + 1)}_{\text{outputs: inputs + cell}}
      + \underbrace{2\cdot 101}_{\text{cell, input gate: inputs}} = 10{,}504.

:class:`InputToOutput` wraps a recurrent layer so that its output is :math:`[y(t), x(t)]`; a
:class:`~minilstm.nn.model.SequenceModel` readout on it then has the direct input-to-output
weights. Parameters named in ``drop`` (here the layer's recurrent weights ``R_z, R_i``) are held
at 0: they are not in ``params``, not trained and not counted.
"""
from __future__ import annotations

__all__ = ["InputToOutput"]


class InputToOutput:
    r"""A recurrent layer whose output also carries its input: :math:`y'(t) = [y(t), x(t)]`.

    ``inner`` is the layer (an :class:`~minilstm.nn.lstm.LSTM`, :class:`~minilstm.nn.rnn.RNN` or
    :class:`~minilstm.nn.gru.GRU`); ``drop`` names parameters of it that are fixed at 0 and left
    out of ``params`` (and so of training and of the weight count).

    Shapes: ``x (T, B, I)`` → ``y' (T, B, H + I)``, the layer's H outputs first; ``backward``
    takes ``dy' (T, B, H + I)`` and returns ``dx = dx_inner + dy'[..., H:]`` ``(T, B, I)`` and the
    gradients of ``params``. :class:`~minilstm.train.trials.TrialBatch` packs it like its inner layer
    (the readout's input axis is the cells, then the inputs).
    """

    skip_input = True

    def __init__(self, inner, drop=()):
        self.inner = inner
        self.drop = tuple(drop)
        for name in self.drop:
            if name not in inner.params:
                raise ValueError(f"drop: {name!r} is not a parameter of the layer; it has "
                                 f"{sorted(inner.params)}")
            inner.params[name][...] = 0.0
        self.params = {k: v for k, v in inner.params.items() if k not in self.drop}
        self.n_out = inner.n_out + inner.n_in

    def __getattr__(self, name):
        """Everything else (``xp``, ``dtype``, ``n_in``, the state) is the inner layer's."""
        if name == "inner":                                  # not set yet: no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def n_params(self) -> int:
        """The trained parameters: the inner layer's less the dropped ones."""
        return int(sum(int(p.size) for p in self.params.values()))

    @property
    def config(self) -> dict:
        """The inner layer's configuration plus ``input_to_output`` and ``drop``."""
        return {**self.inner.config, "input_to_output": True, "drop": list(self.drop)}

    def axis_kinds(self) -> dict:
        """The inner layer's axis kinds of ``params`` (for :class:`~minilstm.train.trials.TrialBatch`)."""
        kinds = self.inner.axis_kinds()
        return {name: kinds[name] for name in self.params}

    def axis_sizes(self) -> dict:
        """The inner layer's axis sizes, and ``"y"``, the output ``[y, x]``: ``(H, I)``."""
        return {**self.inner.axis_sizes(), "y": (self.inner.n_hidden, self.inner.n_in)}

    def widen(self, K: int):
        """The same wrapper around the inner layer K times as wide (zero-initialised)."""
        return InputToOutput(self.inner.widen(K), self.drop)

    def forward(self, x, state=None):
        """``x (T, B, I)`` → ``[y, x] (T, B, H + I)`` and the inner layer's cache."""
        y, cache = self.inner.forward(x, state)
        return self.xp.concatenate([y, x], axis=2), cache

    def backward(self, dy, cache):
        """``dy (T, B, H + I)`` → ``dx (T, B, I)`` and the gradients of ``params``."""
        H = self.inner.n_out
        dx, grads = self.inner.backward(self.xp.ascontiguousarray(dy[..., :H]), cache)
        return dx + dy[..., H:], {k: grads[k] for k in self.params}
