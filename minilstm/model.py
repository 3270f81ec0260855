r"""A recurrent layer with a readout and a loss: the networks the papers train.

.. math::

    y(t) = \text{core}(x(1..t)), \qquad a^{\text{out}}(t) = W_y\,y(t) + b_y, \qquad
    \hat y(t) = \phi(a^{\text{out}}(t)),

where the output nonlinearity :math:`\phi` follows from the loss: identity for ``"mse"``, the
logistic per output for ``"logistic"`` (binary cross-entropy; multi-hot targets, e.g. the Reber
predictions) and ``"logistic_mse"`` (squared error of the logistic outputs: the 1997 paper's
output layer and error), softmax for ``"cross_entropy"``. The 1997 networks have logistic output units; their outputs read only the
cells' outputs :math:`y^c`, which is what ``core``'s ``y`` is.
"""
from __future__ import annotations

from . import losses
from .functional import sigmoid
from .layers import Linear, softmax
from .validate import check_bool, check_choice, check_seed

__all__ = ["SequenceModel", "LOSSES"]

#: loss name → (loss function on the readout's pre-activations, output nonlinearity φ)
LOSSES = {
    "mse": (losses.mse, lambda a: a),
    "logistic": (losses.logistic, lambda a: sigmoid(a)),
    "logistic_mse": (losses.logistic_mse, lambda a: sigmoid(a)),
    "cross_entropy": (losses.cross_entropy, lambda a: softmax(a, axis=-1)),
}


class SequenceModel:
    r"""``core`` (any minilstm recurrent layer) followed by a :class:`~minilstm.layers.Linear` readout.

    .. math::

        a^{\text{out}}(t) = W_y\,y(t) + b_y, \qquad \hat y(t) = \phi(a^{\text{out}}(t)),

    with :math:`y(t)` the core's output and :math:`\phi` set by the loss (module docstring).
    Shapes: ``x (T, B, I)`` → core ``y (T, B, H)`` → ``a_out (T, B, K)``; the readout's
    ``W_y (K, H)`` and ``b_y (K,)`` are ``params["readout.W"]`` and ``params["readout.b"]``;
    targets and masks as in :mod:`minilstm.losses` (``(T, B, K)`` or class indices ``(T, B)``;
    mask ``(T, B)``).

    Parameters
    ----------
    core : RNN, LSTM, GRU...; n_out : K outputs; loss : ``"mse"``, ``"logistic"``,
    ``"logistic_mse"`` or ``"cross_entropy"``; readout_bias : the 1997 Exp. 1 outputs have none; init_scale, seed :
    the readout's uniform initialisation.

    ``params`` is a flat dict ``{"core.W_z": ..., "readout.W": ...}`` of the *same* arrays the
    layers hold, so an optimizer updating it in place trains the model.
    """

    def __init__(self, core, n_out, *, loss="mse", readout_bias=True, init_scale=0.1, seed=None):
        check_choice("loss", loss, sorted(LOSSES))
        missing = [a for a in ("params", "forward", "backward", "n_out", "dtype", "xp")
                   if not hasattr(core, a)]
        if missing:
            raise TypeError(f"core must be a recurrent layer (RNN, LSTM, GRU, a preset), got "
                            f"{type(core).__name__} without {', '.join(missing)}")
        check_bool("readout_bias", readout_bias)
        check_seed("seed", seed, generator=True)
        self.core = core
        self.readout = Linear(core.n_out, n_out, bias=readout_bias, init_scale=init_scale,
                              rng=seed, dtype=core.dtype, backend=core.xp)
        self.loss_name = loss
        self._loss, self._phi = LOSSES[loss]
        self.params = {f"core.{k}": v for k, v in core.params.items()}
        self.params.update({f"readout.{k}": v for k, v in self.readout.params.items()})

    @property
    def xp(self):
        return self.core.xp

    @property
    def n_params(self) -> int:
        """All weights, biases and peepholes: the core's plus the readout's."""
        return self.core.n_params + self.readout.n_params

    @property
    def config(self) -> dict:
        return {"core": type(self.core).__name__, "core_config": self.core.config,
                "n_out": self.readout.n_out, "loss": self.loss_name,
                "readout_bias": self.readout.bias}

    def forward(self, x, state=None):
        """``x (T, B, I)`` → readout pre-activations ``a_out (T, B, K)`` and a cache."""
        y, core_cache = self.core.forward(x, state)
        a_out, readout_cache = self.readout.forward(y)
        return a_out, (core_cache, readout_cache)

    def predict(self, x, state=None):
        """The network's outputs :math:`\\hat y = \\phi(a^{out})`, ``(T, B, K)``."""
        return self._phi(self.forward(x, state)[0])

    def loss(self, x, target, mask=None, state=None, *, as_array=False):
        """``(loss, a_out, cache, da_out)``: one forward pass and the loss's gradient.

        ``as_array``: the loss as a 0-d float64 array on the backend, not a Python float (see
        :mod:`minilstm.losses`)."""
        a_out, cache = self.forward(x, state)
        value, da_out = self._loss(a_out, target, mask, as_array=as_array)
        return value, a_out, cache, da_out

    def backward(self, da_out, cache):
        """Gradients of every entry of ``params`` from ``∂L/∂a_out``."""
        core_cache, readout_cache = cache
        dy, g_readout = self.readout.backward(da_out, readout_cache)
        _, g_core = self.core.backward(dy, core_cache)
        grads = {f"core.{k}": v for k, v in g_core.items()}
        grads.update({f"readout.{k}": v for k, v in g_readout.items()})
        return grads
