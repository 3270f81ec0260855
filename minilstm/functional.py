r"""Activations and their derivatives, written in terms of their outputs.

Backward passes keep the activation ``y = f(a)`` from the forward pass and need ``f'(a)``; for the
functions used here it is cheapest and clearest to write it from ``y``:

=================  ===============================  ==============================  ============
name               :math:`f(a)`                     :math:`f'(a)` from ``y``          range
=================  ===============================  ==============================  ============
``sigmoid``        :math:`\sigma(a)=1/(1+e^{-a})`   :math:`y(1-y)`                  (0, 1)
``tanh``           :math:`\tanh a`                  :math:`1-y^2`                   (−1, 1)
``g1997``          :math:`4\sigma(a)-2`             :math:`(2+y)(2-y)/4`           (−2, 2)
``h1997``          :math:`2\sigma(a)-1`             :math:`(1-y^2)/2`               (−1, 1)
``identity``       :math:`a`                        :math:`1`                       ℝ
=================  ===============================  ==============================  ============

``g1997`` and ``h1997`` are the cell-input and cell-output squashing functions of Hochreiter &
Schmidhuber (1997). With :math:`s=\sigma(a)`: ``g1997`` gives :math:`y=4s-2`, so
:math:`s=(y+2)/4` and :math:`g'(a)=4s(1-s)=(y+2)(2-y)/4`; ``h1997`` gives :math:`y=2s-1`, so
:math:`h'(a)=2s(1-s)=(1+y)(1-y)/2`.

The logistic is computed as :math:`\sigma(a)=\tfrac12\tanh(a/2)+\tfrac12`, which is exact,
never overflows (no :math:`e^{-a}` for very negative :math:`a`) and lets one ``tanh`` call
serve many gates at once.
"""
from __future__ import annotations

import numpy as np

from .backend import get_array_module

__all__ = ["sigmoid", "tanh", "sigmoid_of_negative", "tanh_via_exp", "fast_tanh", "g1997", "h1997",
           "identity", "ACTIVATIONS", "activation", "dsigmoid_from_output", "dtanh_from_output",
           "softmax", "log_softmax"]


def sigmoid(a, out=None):
    """The logistic σ(a) = ½·tanh(a/2) + ½, stable for every finite ``a``; same shape as ``a``."""
    xp = get_array_module(a)
    out = xp.multiply(a, 0.5, out=_out_like(xp, a, out))
    xp.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def _out_like(xp, a, out):
    # an explicit buffer, so that 0-d inputs stay arrays (ufuncs return scalars for them)
    return xp.empty(a.shape, dtype=xp.result_type(a, 0.5)) if out is None else out


def dsigmoid_from_output(y):
    """σ'(a) written with y = σ(a): y·(1 − y); same shape as ``y``."""
    return y * (1.0 - y)


def tanh(a, out=None):
    r""":math:`\tanh a = (e^{a} - e^{-a})/(e^{a} + e^{-a})`; same shape as ``a``."""
    return get_array_module(a).tanh(a, out=out)


def dtanh_from_output(y):
    """tanh'(a) written with y = tanh(a): 1 − y²; same shape as ``y``."""
    return 1.0 - y * y


def sigmoid_of_negative(xp, a, out, one=1.0):
    r"""``out`` ← :math:`\sigma(-a) = 1/(1 + e^{a})`, in three calls; ``out`` has the shape of ``a``
    (and may be ``a``).

    The fast paths' form of the logistic: NumPy's float64 ``exp`` costs about half its ``tanh``
    on CPUs without AVX-512. :math:`e^{a}` overflows to ``inf`` for large ``a``, which gives the
    exact limit 0; the layers silence that warning for their sequence loop. ``one`` may be a
    0-d array of the dtype (cheaper per call than a Python float)."""
    xp.exp(a, out=out)
    out += one
    return xp.reciprocal(out, out=out)


def tanh_via_exp(xp, a, out, one=1.0, two=2.0, minus_two=-2.0):
    r"""``out`` ← :math:`\tanh a = 2\sigma(2a) - 1 = 2/(1 + e^{-2a}) - 1`, in six calls; ``out``
    has the shape of ``a`` (and may be ``a``): for float64, where NumPy's ``tanh`` is slower than
    this (see :func:`sigmoid_of_negative`)."""
    xp.multiply(a, minus_two, out=out)
    sigmoid_of_negative(xp, out, out, one)
    out *= two
    out -= one
    return out


def fast_tanh(xp, a, out, one=1.0, two=2.0, minus_two=-2.0):
    r"""``out`` ← :math:`\tanh a`, the faster way for the dtype: :func:`tanh_via_exp` for float64,
    ``xp.tanh`` otherwise (NumPy's float32 ``tanh`` is vectorised). ``out`` has the shape of ``a``
    (and may be ``a``); the fast paths of the LSTM and GRU use it."""
    if a.dtype == np.float64:
        return tanh_via_exp(xp, a, out, one, two, minus_two)
    return xp.tanh(a, out=out)


def g1997(a, out=None):
    """The 1997 cell-input squashing g(a) = 4σ(a) − 2 ∈ (−2, 2) = 2·tanh(a/2); same shape as ``a``."""
    xp = get_array_module(a)
    out = xp.multiply(a, 0.5, out=_out_like(xp, a, out))
    xp.tanh(out, out=out)
    out *= 2.0
    return out


def dg1997_from_output(y):
    """g'(a) with y = g(a): (2 + y)(2 − y)/4."""
    return (2.0 + y) * (2.0 - y) * 0.25


def h1997(a, out=None):
    """The 1997 cell-output squashing h(a) = 2σ(a) − 1 ∈ (−1, 1) = tanh(a/2); same shape as ``a``."""
    xp = get_array_module(a)
    out = xp.multiply(a, 0.5, out=_out_like(xp, a, out))
    return xp.tanh(out, out=out)


def dh1997_from_output(y):
    """h'(a) with y = h(a): (1 + y)(1 − y)/2."""
    return (1.0 + y) * (1.0 - y) * 0.5


def identity(a, out=None):
    """f(a) = a (the CEC's activation, and Greff's NIAF/NOAF variants): a copy, same shape as ``a``."""
    if out is None:
        return a.copy()
    out[...] = a
    return out


def didentity_from_output(y):
    """f'(a) = 1."""
    return get_array_module(y).ones_like(y)


#: name → (f, f' written from the output); the names accepted by the layers' ``g=``/``h=``.
ACTIVATIONS = {
    "sigmoid": (sigmoid, dsigmoid_from_output),
    "tanh": (tanh, dtanh_from_output),
    "g1997": (g1997, dg1997_from_output),
    "h1997": (h1997, dh1997_from_output),
    "identity": (identity, didentity_from_output),
}


def activation(name: str, argument: str = "activation"):
    r"""``(f, df_from_output)`` for a name in :data:`ACTIVATIONS`; a clear error otherwise.

    ``f(a)`` gives :math:`y = f(a)` and ``df_from_output(y)`` gives :math:`f'(a)` from that ``y``
    (e.g. :math:`\sigma'(a) = y(1-y)`, :math:`\tanh'(a) = 1-y^2`; the table in the module
    docstring); both act elementwise and return the shape of their argument, e.g. ``(B, H)``.
    """
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"{argument}={name!r} is not a known squashing function; expected one of "
                         f"{sorted(ACTIVATIONS)}") from None


def softmax(a, axis=-1):
    r"""Softmax along ``axis``, :math:`p_k = e^{a_k - m} / \sum_j e^{a_j - m}` with :math:`m=\max_j a_j`.

    Subtracting the maximum leaves the result unchanged and keeps every exponent ≤ 0, so nothing
    overflows; the largest term is exactly 1, so the sum never underflows to 0.
    Same shape, dtype and backend as ``a``.
    """
    xp = get_array_module(a)
    e = a - xp.max(a, axis=axis, keepdims=True)
    xp.exp(e, out=e)
    e /= xp.sum(e, axis=axis, keepdims=True)
    return e


def log_softmax(a, axis=-1):
    r"""log-softmax along ``axis``: :math:`a_k - m - \log\sum_j e^{a_j - m}`, stable as :func:`softmax`.

    Same shape, dtype and backend as ``a``, e.g. ``(T, B, K)`` with ``axis=-1`` over the K classes.
    """
    xp = get_array_module(a)
    shifted = a - xp.max(a, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
