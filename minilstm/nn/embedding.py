r"""An embedding layer: integer tokens to vectors, the input of a language model.

A vocabulary of :math:`V` tokens, each with a learned row of the table :math:`C\in\mathbb{R}^{V\times D}`
(the letter of Bengio et al. 2003; the book keeps :math:`E` for the block-copy matrix and
:math:`L` for the loss):

.. math::

    x(t) = C_{k(t)} \qquad\text{i.e.}\qquad x(t) = C^\top e_{k(t)},

with :math:`k(t)\in\{0..V-1\}` the token at step t and :math:`e_k` the k-th unit vector: a lookup
is the product with a one-hot vector, done without building it. Shapes: tokens ``(T, B)`` ints,
``x (T, B, D)``, ``C (V, D)``.

Backward: :math:`\partial L/\partial C_k = \sum_{(t,b):\,k(t,b)=k} \partial L/\partial x(t, b)`,
the sum of the errors of *every* position where token k occurs (a token seen twice gets both
errors). That sum is a scatter-add, ``xp.add.at(dC, k, dx)`` (NumPy and CuPy both have it);
plain fancy assignment ``dC[k] += dx`` would keep only one of the repeated rows. There is no
gradient with respect to the integer tokens.
"""
from __future__ import annotations

from ..backend import backend_name, get_array_module, get_backend, normal
from ..validate import as_float_dtype, check_array, check_finite_params, check_int

__all__ = ["Embedding"]


class Embedding:
    r"""Token ids ``(T, B)`` → vectors ``(T, B, D)``: :math:`x(t) = C_{k(t)}` (module docstring).

    Parameters
    ----------
    n_tokens : V, the vocabulary size. n_dim : D, the vector size (the next layer's ``n_in``).
    init_scale : rows drawn from :math:`N(0, s^2)` with :math:`s` = ``init_scale`` (default 0.1).
    seed : int or None (drawn on the host: the same table on every backend).
    dtype : ``"float64"`` or ``"float32"``; backend : ``"numpy"``, ``"cupy"``, ``"strict"`` or None.

    ``params``: ``{"C": (V, D)}``. ``forward(tokens) -> (x, cache)``; ``backward(dx, cache) ->
    (None, {"C": dC})`` (None: integer tokens have no gradient).
    """

    def __init__(self, n_tokens, n_dim, *, init_scale=0.1, seed=None, dtype="float64", backend=None):
        n_tokens, n_dim = check_int("n_tokens", n_tokens), check_int("n_dim", n_dim)
        dt = as_float_dtype("dtype", dtype)
        xp = get_backend(backend)
        self.n_tokens, self.n_dim, self.n_out = int(n_tokens), int(n_dim), int(n_dim)
        self.init_scale, self.seed, self.dtype = float(init_scale), seed, dt
        self.params = {"C": normal(seed, (self.n_tokens, self.n_dim), self.init_scale, xp=xp, dtype=dt)}

    @property
    def xp(self):
        """The array module of the table."""
        return get_array_module(self.params["C"])

    @property
    def n_params(self) -> int:
        """V·D."""
        return int(self.params["C"].size)

    @property
    def config(self) -> dict:
        """The constructor's arguments (JSON types)."""
        return {"n_tokens": self.n_tokens, "n_dim": self.n_dim, "init_scale": self.init_scale,
                "seed": self.seed, "dtype": self.dtype.name}

    def __repr__(self):
        return (f"Embedding(n_tokens={self.n_tokens}, n_dim={self.n_dim}, dtype={self.dtype.name}, "
                f"backend={backend_name(self.xp)!r})")

    def check_tokens(self, tokens, name="tokens"):
        """``tokens`` must be an integer array on the table's backend with values in ``[0, V)``."""
        check_array(name, tokens, xp=self.xp)
        if tokens.dtype.kind not in "iu":
            raise TypeError(f"{name} must be an integer array of token ids, got dtype {tokens.dtype}")
        if tokens.size and bool(((tokens < 0) | (tokens >= self.n_tokens)).any()):
            lo, hi = int(tokens.min()), int(tokens.max())
            raise ValueError(f"{name} must hold ids in [0, n_tokens={self.n_tokens}), got values "
                             f"from {lo} to {hi}")
        return tokens

    def lookup(self, tokens):
        """:math:`C_{k}` for every id of ``tokens`` (any shape ``S``) → ``S + (D,)``; no checks."""
        return self.params["C"][tokens]

    def forward(self, tokens):
        """``tokens (T, B)`` (or any shape) ints in ``[0, V)`` → ``x = C[tokens]`` and the cache."""
        self.check_tokens(tokens)
        check_finite_params(self.params)
        return self.lookup(tokens), tokens

    def backward(self, dx, cache):
        r"""``dx``: :math:`\partial L/\partial x`, shape ``tokens.shape + (D,)``. Returns
        ``(None, {"C": dC})`` with :math:`dC_k = \sum_{k(t,b)=k} dx(t,b)` (repeats summed)."""
        tokens = cache
        check_array("dx", dx, shape=tuple(tokens.shape) + (self.n_dim,), dtype=self.dtype,
                    xp=self.xp, finite=True)
        dC = self.xp.zeros_like(self.params["C"])
        self.xp.add.at(dC, tokens.reshape(-1), dx.reshape(-1, self.n_dim))   # scatter-add (V, D)
        return None, {"C": dC}
