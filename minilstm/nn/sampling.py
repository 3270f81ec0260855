r"""Generating text from a trained character model: a vocabulary, and sampling with a temperature.

A character language model (a :class:`~minilstm.nn.model.SequenceModel` with the loss
``"cross_entropy"``) gives at every step the logits :math:`a(t)\in\mathbb{R}^V` of the next
character. Sampling with temperature :math:`\tau > 0` draws the next token from

.. math::

    p_\tau(k) = \frac{e^{a_k/\tau}}{\sum_j e^{a_j/\tau}},

the model's own distribution at :math:`\tau = 1`, sharper (towards the most likely character)
for :math:`\tau < 1`, flatter for :math:`\tau > 1`; :math:`\tau = 0` is the limit, the most
likely character (greedy decoding). The token drawn becomes the next step's input.

**The Gumbel-max draw.** If :math:`g_k` are independent standard Gumbel numbers,
:math:`g = -\log(-\log U)` with :math:`U` uniform on (0, 1), then

.. math::

    \arg\max_k \big(a_k/\tau + g_k\big) \sim p_\tau

(the normalising constant of :math:`p_\tau` shifts every term alike, so it drops out of the
argmax). So the draw needs only an argmax on the device: the Gumbel numbers of all steps are
drawn at once on the host from the seeded generator and moved in one transfer, and nothing is read
back inside the generation loop (the tokens stay on the device until the end). A seed gives the
same text on every backend.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..backend import to_numpy

__all__ = ["CharVocab", "sample"]


class CharVocab:
    r"""The characters of a text, sorted, as token ids :math:`0..V-1`.

    ``encode(text) -> ids (n,)`` int64 and ``decode(ids) -> str``; ``V = len(vocab)``. A
    character that is not in the vocabulary is refused by name.
    """

    def __init__(self, text: str):
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty str")
        self.chars = sorted(set(text))
        self._index = {c: k for k, c in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """The ids of the characters of ``text``, a host int64 array of shape ``(len(text),)``."""
        unknown = sorted(set(text) - set(self._index))
        if unknown:
            raise ValueError(f"text holds characters that are not in the vocabulary: {unknown[:10]}")
        return np.fromiter((self._index[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        """The text of the ids ``(n,)`` (host or device ints)."""
        return "".join(self.chars[int(k)] for k in np.asarray(to_numpy(ids)).ravel())


def sample(model, prime, length, *, temperature=1.0, seed=None, n_samples=1):
    r"""Generate ``length`` tokens after the tokens ``prime``, ``n_samples`` sequences at once.

    Parameters
    ----------
    model : a trained :class:`~minilstm.nn.model.SequenceModel` with the loss ``"cross_entropy"``
        whose core runs one step at a time (a layer or a :class:`~minilstm.nn.stack.Stack`, not
        bidirectional); its input is either token ids (``model.embedding``) or one-hot vectors of
        size V (``core.n_in == V``, the number of outputs).
    prime : host ints ``(P,)``, :math:`P \ge 1`, the text to start from (the model reads it first).
    length : the number of tokens to generate.
    temperature : :math:`\tau \ge 0` (module docstring); 0 gives the most likely token each step.
    seed : seed of the host generator of the Gumbel numbers.
    n_samples : how many independent continuations (a batch of B sequences).

    Returns a host int64 array ``(n_samples, length)`` of token ids: row b is sequence b, each token
    drawn from :math:`p_\tau` given the prime and the tokens before it. A :class:`~minilstm.nn.stack.Stack`
    core is switched to evaluation (no dropout) while sampling and restored after.
    """
    if model.loss_name != "cross_entropy":
        raise ValueError(f"model must predict the next token with loss='cross_entropy', got "
                         f"loss={model.loss_name!r}")
    tau = float(temperature)
    if not tau >= 0.0 or not np.isfinite(tau):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    for name, v, lo in (("length", length, 1), ("n_samples", n_samples, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
    prime = np.asarray(prime)
    V = model.readout.n_out
    if prime.ndim != 1 or prime.size < 1 or prime.dtype.kind not in "iu":
        raise ValueError(f"prime must be a 1-d array of at least one token id, got shape "
                         f"{prime.shape} and dtype {prime.dtype}")
    if prime.min() < 0 or prime.max() >= V:
        raise ValueError(f"prime must hold ids in [0, V={V}), got values from {prime.min()} to {prime.max()}")
    if model.embedding is None and model.core.n_in != V:
        raise ValueError(f"without an embedding the model must read one-hot tokens: core.n_in must "
                         f"be V = {V} (its outputs), got {model.core.n_in}")
    xp, B = model.xp, int(n_samples)
    eye = None if model.embedding is not None else xp.eye(V, dtype=model.core.dtype)

    def as_input(tokens):                                   # ids (..., B) on the device
        return tokens if eye is None else eye[tokens]

    was_training = getattr(model.core, "training", None)
    if was_training is not None:
        model.core.eval()
    try:
        x = xp.asarray(np.repeat(prime[:, None], B, axis=1))            # (P, B)
        a_out, cache = model.forward(as_input(x))                        # reads the prime
        logits, state = a_out[-1], cache[0].state                        # (B, V)
        gen = backend.default_rng(seed)
        g = xp.asarray(gen.gumbel(size=(length, B, V)).astype(model.core.dtype)) if tau > 0 else None
        out = xp.empty((length, B), dtype=np.int64)
        for t in range(length):
            score = logits if g is None else logits / tau + g[t]
            tokens = xp.argmax(score, axis=-1)                           # (B,) on the device
            out[t] = tokens
            if t + 1 < length:
                logits, state = model.step(as_input(tokens), state)
    finally:
        if was_training is not None:
            model.core.train(was_training)
    return to_numpy(out).T.copy()
