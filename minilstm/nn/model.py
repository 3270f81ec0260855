r"""A recurrent layer with a readout and a loss: the networks the papers train.

.. math::

    y(t) = \text{core}(x(1..t)), \qquad a^{\text{out}}(t) = W_y\,y(t) + b_y, \qquad
    \hat y(t) = \phi(a^{\text{out}}(t)),

where the output nonlinearity :math:`\phi` follows from the loss: identity for ``"mse"``, the
logistic per output for ``"logistic"`` (binary cross-entropy; multi-hot targets, e.g. the Reber
predictions) and ``"logistic_mse"`` (squared error of the logistic outputs: the 1997 paper's
output layer and error), softmax for ``"cross_entropy"``. The 1997 networks have logistic output units; their outputs read only the
cells' outputs :math:`y^c`, which is what ``core``'s ``y`` is.

With an ``embedding`` (:class:`~minilstm.nn.embedding.Embedding`) the input is integer tokens
``(T, B)`` and the core reads :math:`C_{k(t)}`: a language model is
``SequenceModel(core, V, loss="cross_entropy", embedding=Embedding(V, D))``.
"""
from __future__ import annotations

from .. import losses
from ..functional import sigmoid, softmax
from .readout import Linear
from .recurrent import check_lengths, forward_part, valid_mask
from ..validate import check_bool, check_choice, check_seed

__all__ = ["SequenceModel", "ModelCache", "LOSSES"]

#: loss name → (loss function on the readout's pre-activations, output nonlinearity φ)
LOSSES = {
    "mse": (losses.mse, lambda a: a),
    "logistic": (losses.logistic, lambda a: sigmoid(a)),
    "logistic_mse": (losses.logistic_mse, lambda a: sigmoid(a)),
    "cross_entropy": (losses.cross_entropy, lambda a: softmax(a, axis=-1)),
}


class ModelCache(tuple):
    """What :meth:`SequenceModel.forward` keeps: the pair ``(core_cache, readout_cache)`` (it
    unpacks as two), and ``.embedding``, the embedding's cache (the tokens ``(T, B)``) or None."""

    def __new__(cls, core, readout, embedding=None):
        self = super().__new__(cls, (core, readout))
        self.embedding = embedding
        return self


class SequenceModel:
    r"""``core`` (any minilstm recurrent layer) followed by a :class:`~minilstm.nn.readout.Linear` readout.

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

    embedding : optional :class:`~minilstm.nn.embedding.Embedding` in front of the core; then ``x``
    is integer tokens ``(T, B)`` and ``params`` has ``"embedding.C" (V, D)`` too.

    ``params`` is a flat dict ``{"core.W_z": ..., "readout.W": ...}`` of the *same* arrays the
    layers hold, so an optimizer updating it in place trains the model. ``lengths`` (``(B,)``,
    optional, in :meth:`forward` and :meth:`loss`) make the core skip each sequence's padding
    (:mod:`minilstm.nn.recurrent`) and, in :meth:`loss`, score only the valid steps.
    """

    def __init__(self, core, n_out, *, loss="mse", readout_bias=True, init_scale=0.1, seed=None,
                 embedding=None):
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
        if embedding is not None and embedding.n_out != core.n_in:
            raise ValueError(f"embedding.n_dim must equal core.n_in = {core.n_in}, got {embedding.n_out}")
        self.embedding = embedding
        self.params = {f"embedding.{k}": v for k, v in (embedding.params if embedding else {}).items()}
        self.params.update({f"core.{k}": v for k, v in core.params.items()})
        self.params.update({f"readout.{k}": v for k, v in self.readout.params.items()})

    @property
    def xp(self):
        return self.core.xp

    @property
    def n_params(self) -> int:
        """All weights, biases and peepholes: the core's plus the readout's."""
        return self.core.n_params + self.readout.n_params + (
            self.embedding.n_params if self.embedding is not None else 0)

    @property
    def config(self) -> dict:
        return {"core": type(self.core).__name__, "core_config": self.core.config,
                "n_out": self.readout.n_out, "loss": self.loss_name,
                "readout_bias": self.readout.bias,
                **({"embedding": self.embedding.config} if self.embedding is not None else {})}

    def forward(self, x, state=None, lengths=None):
        """``x (T, B, I)`` (tokens ``(T, B)`` with an embedding) → readout pre-activations
        ``a_out (T, B, K)`` and a cache."""
        emb_cache = None
        if self.embedding is not None:
            x, emb_cache = self.embedding.forward(x)
        y, core_cache = forward_part(self.core, x, state, lengths)
        a_out, readout_cache = self.readout.forward(y)
        return a_out, ModelCache(core_cache, readout_cache, emb_cache)

    def step(self, x_t, state):
        """One step for generation, without input checks: ``x_t (B, I)`` (token ids ``(B,)`` with
        an embedding) and the core's state → ``(a_out (B, K), state)``."""
        if self.embedding is not None:
            x_t = self.embedding.lookup(x_t)
        y_t, state = self.core.step(x_t, state)
        return self.readout.affine(y_t), state

    def predict(self, x, state=None, lengths=None):
        """The network's outputs :math:`\\hat y = \\phi(a^{out})`, ``(T, B, K)``."""
        return self._phi(self.forward(x, state, lengths)[0])

    def loss(self, x, target, mask=None, state=None, lengths=None, *, as_array=False):
        """``(loss, a_out, cache, da_out)``: one forward pass and the loss's gradient. With
        ``lengths`` and no ``mask``, the mask is :func:`~minilstm.nn.recurrent.valid_mask`.

        ``as_array``: the loss as a 0-d float64 array on the backend, not a Python float (see
        :mod:`minilstm.losses`)."""
        a_out, cache = self.forward(x, state, lengths)
        if mask is None and lengths is not None:
            mask = valid_mask(check_lengths(lengths, *a_out.shape[:2]), a_out.shape[0], self.xp)
        value, da_out = self._loss(a_out, target, mask, as_array=as_array)
        return value, a_out, cache, da_out

    def backward(self, da_out, cache):
        """Gradients of every entry of ``params`` from ``∂L/∂a_out``."""
        core_cache, readout_cache = cache
        dy, g_readout = self.readout.backward(da_out, readout_cache)
        dx, g_core = self.core.backward(dy, core_cache)
        grads = {}
        if self.embedding is not None:
            grads.update({f"embedding.{k}": v for k, v in self.embedding.backward(dx, cache.embedding)[1].items()})
        grads.update({f"core.{k}": v for k, v in g_core.items()})
        grads.update({f"readout.{k}": v for k, v in g_readout.items()})
        return grads
