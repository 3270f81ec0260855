"""Input checks with errors that name the argument, what was expected and what was received.

Checks of *values* (NaN and inf, target ranges) read the data, and on a GPU every read is a
device-to-host copy that waits for the device. Outside a training loop they run at every call.
Inside :func:`deferred_value_checks` (which :func:`minilstm.train.fit` and
:func:`~minilstm.train.fit_online` enter around each update) they are skipped: the loop's
divergence guard then finds a NaN or inf where it lands, in the loss, a gradient norm or the
weights, on the device, and reads the verdict every N updates. Checks of types, shapes, dtypes and
backends read no data and always run.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

from .backend import BackendError, backend_name, get_array_module

__all__ = ["check_array", "check_finite", "check_finite_params", "first_nonfinite",
           "check_float_dtype", "check_same_backend", "deferred_value_checks", "values_deferred"]

_state = threading.local()


@contextlib.contextmanager
def deferred_value_checks():
    """Inside this block, :func:`check_finite`, :func:`check_finite_params` and the losses' target
    checks read nothing (a training loop's guard checks the values on the device instead)."""
    before = values_deferred()
    _state.deferred = True
    try:
        yield
    finally:
        _state.deferred = before


def values_deferred() -> bool:
    """True inside :func:`deferred_value_checks`."""
    return getattr(_state, "deferred", False)


def _kind(a) -> str:
    try:
        return f"a {backend_name(get_array_module(a))} array"
    except BackendError:
        return type(a).__name__


def check_float_dtype(name: str, a, dtype=None):
    """``a`` must be float32 or float64 (and equal to ``dtype`` when given)."""
    dt = getattr(a, "dtype", None)
    if dt is None or dt.kind != "f" or dt.itemsize not in (4, 8):
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {dt} ({_kind(a)})")
    if dtype is not None and dt != np.dtype(dtype):
        raise TypeError(f"{name} has dtype {dt} but the layer's parameters are {np.dtype(dtype)}; "
                        f"convert it with .astype({np.dtype(dtype).name})")


def check_array(name: str, a, *, ndim=None, shape=None, dtype=None, xp=None, finite=False):
    """Check type, backend, rank, shape (``None`` entries match anything), float dtype.

    Returns ``a`` unchanged so it can be used inline.
    """
    if not hasattr(a, "shape") or not hasattr(a, "dtype"):
        raise TypeError(f"{name} must be an array, got {type(a).__name__}")
    if xp is not None and get_array_module(a) is not xp:
        raise TypeError(f"{name} is {_kind(a)} but the layer's parameters live on "
                        f"{backend_name(xp)}; move it there with xp.asarray or to_numpy")
    if shape is not None:
        ndim = len(shape)
    if ndim is not None and a.ndim != ndim:
        expected = "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")" if shape else f"{ndim}-d"
        raise ValueError(f"{name} must have {ndim} dimensions {expected}, got shape {tuple(a.shape)}")
    if shape is not None and any(s is not None and s != n for s, n in zip(shape, a.shape)):
        expected = "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {expected}, got {tuple(a.shape)}")
    if dtype is not None:
        check_float_dtype(name, a, None if isinstance(dtype, str) and dtype == "float" else dtype)
    if finite:
        check_finite(name, a)
    return a


def check_finite(name: str, a):
    """Refuse NaN and ±inf, saying how many and where the first one is (one read of the data;
    none inside :func:`deferred_value_checks`)."""
    if values_deferred():
        return a
    xp = get_array_module(a)
    if bool(xp.isfinite(a).all()):                           # the hot path: one pass
        return a
    bad = ~xp.isfinite(a)
    count = int(bad.sum())
    first = tuple(int(i) for i in np.unravel_index(int(xp.argmax(bad.ravel())), a.shape))
    raise ValueError(f"{name} contains {count} NaN or inf value(s), the first at index {first}")


def first_nonfinite(arrays: dict):
    """The name of the first array of ``arrays`` (name → array) holding NaN or ±inf, or None."""
    for k, a in arrays.items():
        if not bool(get_array_module(a).isfinite(a).all()):
            return k
    return None


def check_finite_params(params: dict, flat=None, name: str = "params"):
    """Refuse NaN and ±inf in a dict of parameter arrays; the error names the key, e.g. ``params['R_f']``.

    ``flat`` : optional one buffer that every array of ``params`` is a view into (the recurrent
    layers' ``flat``): then the common case costs one ``isfinite(flat).all()``, and the arrays are
    looked at one by one only to name the culprit. Reads nothing inside
    :func:`deferred_value_checks`.
    """
    if values_deferred():
        return params
    if flat is not None and bool(get_array_module(flat).isfinite(flat).all()):
        return params
    bad = first_nonfinite(params)
    if bad is not None:
        check_finite(f"{name}[{bad!r}]", params[bad])
    return params


def check_same_backend(**arrays):
    """All named arrays on one backend; the error names who is where."""
    seen = {}
    for name, a in arrays.items():
        if a is not None and hasattr(a, "dtype"):
            seen.setdefault(backend_name(get_array_module(a)), []).append(name)
    if len(seen) > 1:
        raise TypeError("arrays from different backends: " +
                        "; ".join(f"{', '.join(v)} on {k}" for k, v in seen.items()))
    return next(iter(seen), None)
