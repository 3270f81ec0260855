r"""Losses: each returns ``(loss, dinput)``, the loss as a Python float and its gradient.

With ``as_array=True`` the loss is a 0-d float64 array on the input's backend instead, the same
number computed by the same operations in the same order, but not copied to the host (so a GPU
does not wait for it): the training loops use it, and read the losses every N updates.

Shapes. The input is a sequence batch ``(T, B, K)`` (time-major) or one step ``(B, K)``; ``mask``
has the leading shape, ``(T, B)`` or ``(B,)``, dtype bool, ``True`` where a step is scored
(``None`` scores every step). The gradient has the shape, dtype and backend of the input and is
zero at masked-out steps. NaN or inf in the input (``y`` or ``logits``, at any step, masked or
not) is refused with an error naming it; the targets are not checked, so a NaN target gives a
NaN loss (which :func:`minilstm.train.fit`'s divergence guard reports with its step).

Normalisation — the same for every loss here: **the sum over scored steps and outputs, divided by
the number of sequences** ``B`` (the batch size ``shape[-2]``, whether or not a sequence has any
scored step):

.. math::

    L = \frac{1}{B} \sum_{b=1}^{B} \sum_{t:\,m_{t,b}} \sum_{k=1}^{K} \ell(a_{t,b,k}, y_{t,b,k}).

So :math:`L` is the mean over sequences of the per-sequence error of Hochreiter & Schmidhuber
(1997), and a batch of one sequence gives exactly that paper's error; it does *not* shrink when
sequences get longer or when more outputs are scored. Divide by ``T`` yourself if you want a
per-step figure.

Losses:

* :func:`mse` — squared error, :math:`\ell = \tfrac12 (y - \hat y)^2`, gradient :math:`(y-\hat y)/B`;
* :func:`cross_entropy` — softmax over ``K`` classes and the negative log-likelihood, for one
  class per step (indices or one-hot rows);
* :func:`logistic` — an independent logistic unit per output and binary cross-entropy, for
  multi-hot targets such as the set of possible next symbols of a Reber grammar;
* :func:`logistic_mse` — an independent logistic unit per output and the squared error of its
  activation, :math:`\ell = \tfrac12(\sigma(a) - \hat y)^2`: the output layer and error of
  Hochreiter & Schmidhuber (1997). Its gradient at the pre-activation carries the factor
  :math:`\sigma'(a) = \sigma(a)(1-\sigma(a))`, so it is smaller than :func:`logistic`'s
  :math:`\sigma(a) - \hat y` and vanishes where an output saturates.
"""
from __future__ import annotations

from .backend import get_array_module
from .functional import log_softmax, sigmoid
from .validate import check_array, check_same_backend, values_deferred

__all__ = ["mse", "cross_entropy", "logistic", "logistic_mse", "check_target"]


def mse(y, target, mask=None, *, as_array=False):
    r"""Squared error :math:`L = \frac{1}{B}\sum_{t,b\in\text{mask}}\sum_k \tfrac12 (y_{tbk}-\hat y_{tbk})^2`.

    ``y`` and ``target``: ``(T, B, K)`` or ``(B, K)``, float; ``mask``: ``(T, B)``/``(B,)`` bool or None.
    Returns ``(loss, dy)`` with :math:`\partial L/\partial y = m\,(y-\hat y)/B`, shaped like ``y``.
    """
    xp, m = _prepare("y", y, mask)
    _check_same_shape("target", target, "y", y)
    target = _as_float_target("target", target, y.dtype)
    err = y - target                                         # (T, B, K)
    if m is not None:
        err *= m
    B = y.shape[-2]
    loss = _total(0.5, xp.sum(err * err), B, as_array)
    err /= B
    return loss, err


def cross_entropy(logits, target, mask=None, *, as_array=False):
    r"""Softmax cross-entropy :math:`L = -\frac{1}{B}\sum_{t,b\in\text{mask}}\sum_k \hat y_{tbk}\log p_{tbk}`.

    :math:`p = \mathrm{softmax}(a)` over the last axis, computed stably (log-sum-exp with the
    maximum subtracted), so large logits neither overflow nor give ``log 0``.

    ``logits``: ``(T, B, K)`` or ``(B, K)``, float. ``target`` either

    * class indices, an integer array of shape ``logits.shape[:-1]`` with values in ``[0, K)``
      (masked-out steps may hold anything, e.g. ``-1`` padding), or
    * one-hot rows (more generally, probability rows), float or bool, shaped like ``logits``.

    Returns ``(loss, dlogits)`` with :math:`\partial L/\partial a = m\,(p\,\textstyle\sum_k\hat y_k - \hat y)/B`,
    i.e. :math:`m\,(p - \hat y)/B` for one-hot targets.
    """
    xp, m = _prepare("logits", logits, mask)
    t = _class_target(xp, target, logits, mask)              # (T, B, K) float
    logp = log_softmax(logits)                               # (T, B, K)
    p = xp.exp(logp)
    dlogits = p * xp.sum(t, axis=-1, keepdims=True) - t
    nll = t * logp
    if m is not None:
        nll *= m
        dlogits *= m
    B = logits.shape[-2]
    loss = _total(-1.0, xp.sum(nll), B, as_array)
    dlogits /= B
    return loss, dlogits


def logistic(logits, target, mask=None, *, as_array=False):
    r"""Per-output logistic units and binary cross-entropy, for multi-hot targets.

    .. math::

        L &= \frac{1}{B}\sum_{t,b\in\text{mask}}\sum_k
            -\big[\hat y_k \log\sigma(a_k) + (1-\hat y_k)\log(1-\sigma(a_k))\big] \\
          &= \frac{1}{B}\sum \big[\max(a,0) - a\,\hat y + \log(1+e^{-|a|})\big],

    the second form being the one computed: it is exact and never overflows nor takes ``log 0``.
    ``logits`` and ``target`` (values in [0, 1], float or bool): ``(T, B, K)`` or ``(B, K)``.
    Returns ``(loss, dlogits)`` with :math:`\partial L/\partial a = m\,(\sigma(a)-\hat y)/B`.
    """
    xp, m = _prepare("logits", logits, mask)
    _check_same_shape("target", target, "logits", logits)
    t = _as_float_target("target", target, logits.dtype)
    _check_unit_interval("target", t)
    per = xp.maximum(logits, 0) - logits * t + xp.log1p(xp.exp(-xp.abs(logits)))
    dlogits = sigmoid(logits)
    dlogits -= t
    if m is not None:
        per *= m
        dlogits *= m
    B = logits.shape[-2]
    loss = _total(1.0, xp.sum(per), B, as_array)
    dlogits /= B
    return loss, dlogits


def logistic_mse(logits, target, mask=None, *, as_array=False):
    r"""Per-output logistic units with squared error, the 1997 paper's output layer and error.

    .. math::

        \hat o = \sigma(a), \qquad
        L = \frac{1}{B}\sum_{t,b\in\text{mask}}\sum_k \tfrac12 (\hat o_{tbk} - \hat y_{tbk})^2, \qquad
        \frac{\partial L}{\partial a} = m\,(\hat o - \hat y)\,\hat o\,(1 - \hat o)/B.

    ``logits`` (the output units' net inputs) and ``target`` (float or bool, values in [0, 1]):
    ``(T, B, K)`` or ``(B, K)``; ``mask``: ``(T, B)``/``(B,)`` bool or None. Returns
    ``(loss, dlogits)``. Compared with :func:`logistic` (binary cross-entropy, gradient
    :math:`\hat o - \hat y`) the step is at most a quarter as large and shrinks to 0 at a
    saturated output, right or wrong.
    """
    xp, m = _prepare("logits", logits, mask)
    _check_same_shape("target", target, "logits", logits)
    t = _as_float_target("target", target, logits.dtype)
    _check_unit_interval("target", t)
    o = sigmoid(logits)
    err = o - t
    if m is not None:
        err *= m
    B = logits.shape[-2]
    loss = _total(0.5, xp.sum(err * err), B, as_array)
    return loss, err * o * (1.0 - o) / B                     # ((ŷ − y*)·o)·(1 − o)/B


def check_target(loss, target, n_out, mask=None):
    r"""The value checks that loss ``loss`` makes of ``target``, alone: :math:`0 \le \hat y \le 1`
    for ``"logistic"`` and ``"logistic_mse"``, class indices :math:`0 \le c < K` (``K = n_out``)
    at scored steps for ``"cross_entropy"``, none for ``"mse"``. ``target (T, B, K)`` or class
    indices ``(T, B)``, ``mask (T, B)`` or None (one step: without the ``T``). The training loops call it once per batch on the host
    arrays the data gives, since inside the loop (:func:`~minilstm.validate.deferred_value_checks`)
    the losses read no values. Raises ``ValueError`` as the loss would."""
    if loss in ("logistic", "logistic_mse"):
        if target.dtype.kind in "fb":
            _check_unit_interval("target", target)
    elif loss == "cross_entropy":
        if target.dtype.kind in "iu":
            _check_class_indices(get_array_module(target), target, n_out, mask)
    elif loss != "mse":
        raise ValueError(f"loss must be 'mse', 'logistic', 'logistic_mse' or 'cross_entropy', "
                         f"got {loss!r}")


def _total(scale, total, B, as_array):
    """``scale · total / B`` as a Python float, or as a 0-d float64 array (no device read): the
    same IEEE operations in the same order, so the two are the same number."""
    total = total.astype("float64")
    return scale * total / B if as_array else scale * float(total) / B


# ---- checks shared by the losses -------------------------------------------------------------
def _prepare(name, a, mask):
    """Check the input and the mask; return ``(xp, m)``, ``m`` the mask as ``(..., 1)`` floats or None."""
    if not hasattr(a, "shape") or not hasattr(a, "dtype"):
        raise TypeError(f"{name} must be an array, got {type(a).__name__}")
    if a.ndim not in (2, 3):
        raise ValueError(f"{name} must be (T, B, K) or (B, K), got shape {tuple(a.shape)}")
    check_array(name, a, dtype="float", finite=True)
    xp = get_array_module(a)
    if mask is None:
        return xp, None
    if not hasattr(mask, "shape") or not hasattr(mask, "dtype"):
        raise TypeError(f"mask must be a bool array or None, got {type(mask).__name__}")
    check_same_backend(**{name: a, "mask": mask})
    if mask.dtype != bool:
        raise TypeError(f"mask must have dtype bool, got {mask.dtype}")
    if tuple(mask.shape) != tuple(a.shape[:-1]):
        raise ValueError(f"mask must have shape {tuple(a.shape[:-1])} (the leading axes of {name} "
                         f"{tuple(a.shape)}), got {tuple(mask.shape)}")
    return xp, mask[..., None].astype(a.dtype)


def _check_same_shape(name, a, ref_name, ref):
    if not hasattr(a, "shape") or not hasattr(a, "dtype"):
        raise TypeError(f"{name} must be an array, got {type(a).__name__}")
    check_same_backend(**{ref_name: ref, name: a})
    if tuple(a.shape) != tuple(ref.shape):
        raise ValueError(f"{name} must have the shape of {ref_name} {tuple(ref.shape)}, "
                         f"got {tuple(a.shape)}")


def _as_float_target(name, t, dtype):
    if t.dtype.kind not in "fb":
        raise TypeError(f"{name} must be a float or bool array, got dtype {t.dtype}")
    return t.astype(dtype, copy=False)


def _check_unit_interval(name, t):
    if values_deferred():
        return
    if bool(((t < 0) | (t > 1)).any()):
        raise ValueError(f"{name} must hold values in [0, 1] (multi-hot targets), "
                         f"got values in [{float(t.min())}, {float(t.max())}]")


def _check_class_indices(xp, target, K, mask):
    if values_deferred():
        return
    bad = (target < 0) | (target >= K)
    if mask is not None:
        bad &= mask
    if bool(bad.any()):
        first = int(xp.argmax(bad.ravel()))
        raise ValueError(f"target class indices must lie in [0, {K}) at scored steps; "
                         f"{int(bad.sum())} do not, the first is {int(target.ravel()[first])} "
                         f"at flat position {first}")


def _class_target(xp, target, logits, mask):
    """One-hot float targets ``(..., K)`` from indices or from one-hot rows, checked."""
    K = logits.shape[-1]
    if not hasattr(target, "shape") or not hasattr(target, "dtype"):
        raise TypeError(f"target must be an array, got {type(target).__name__}")
    check_same_backend(logits=logits, target=target)
    lead = tuple(logits.shape[:-1])
    if target.dtype.kind in "iu":
        if tuple(target.shape) != lead:
            raise ValueError(f"target holds class indices, so it must have shape {lead} "
                             f"(logits {tuple(logits.shape)} without the class axis), "
                             f"got {tuple(target.shape)}")
        _check_class_indices(xp, target, K, mask)
        return (target[..., None] == xp.arange(K)).astype(logits.dtype)
    if target.dtype.kind in "fb":
        if tuple(target.shape) != tuple(logits.shape):
            raise ValueError(f"target holds one-hot rows, so it must have the shape of logits "
                             f"{tuple(logits.shape)}, got {tuple(target.shape)}")
        return target.astype(logits.dtype, copy=False)
    raise TypeError(f"target must be integer class indices or float/bool one-hot rows, "
                    f"got dtype {target.dtype}")
