"""Input checks with errors that name the argument, what was expected and what was received.

Checks of *values* (NaN and inf, target ranges) read the data, and on a GPU every read is a
device-to-host copy that waits for the device. Outside a training loop they run at every call.
Inside :func:`deferred_value_checks` (which :func:`minilstm.train.fit` enters around each
update) they are skipped: the loop's divergence guard then finds a NaN or inf where it lands,
in the loss, a gradient norm or the weights, on the device, and reads the verdict every N
updates. Checks of types, shapes, dtypes and backends read no data and always run.
"""
from __future__ import annotations

import contextlib
import math
import numbers
import threading

import numpy as np

from .backend import BackendError, backend_name, get_array_module

__all__ = ["check_array", "check_finite", "check_finite_params", "all_finite", "first_nonfinite",
           "check_float_dtype", "check_same_backend", "check_int", "check_number", "check_bool",
           "check_choice", "check_seed", "check_callable", "as_float_dtype",
           "deferred_value_checks", "values_deferred"]

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


def as_float_dtype(name: str, dtype) -> np.dtype:
    """The argument ``dtype`` (a name, a NumPy type or dtype) as ``float32`` or ``float64``; else a TypeError."""
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got {dtype if dt is None else dt}")
    return dt


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


def all_finite(*arrays) -> bool:
    """True if no array holds NaN or ±inf: one read of the device for all of them (none inside
    :func:`deferred_value_checks`, where it answers True)."""
    if values_deferred() or not arrays:
        return True
    xp = get_array_module(*arrays)
    return bool(xp.stack([xp.isfinite(a).all() for a in arrays]).all())


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


# ---- scalars: one helper per kind of check ------------------------------------------------------
# Policy: a value of the wrong *type* (a string, a list, None where a number is needed) is a
# TypeError; a value of the right type but the wrong kind or range (2.5 for an int, -1 for a
# size, NaN) is a ValueError. ``bool`` is never accepted as a number.

def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value, minimum: int | None = 1, maximum: int | None = None) -> int:
    """``value`` must be an int (Python or NumPy, not bool) in ``[minimum, maximum]``; returns ``int``.

    The default ``minimum=1`` is the check of a size (``n_in``, ``steps``, ``batch``); pass
    ``minimum=0`` for a count or a seed, ``None`` for no bound.
    """
    if not _is_real(value):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an int <= {maximum}, got {value!r}")
    return int(value)


def check_number(name: str, value, *, minimum=None, above=None, maximum=None, below=None,
                 none_ok: bool = False):
    """``value`` must be a finite real number (not bool) with ``value >= minimum``,
    ``value > above``, ``value <= maximum`` and ``value < below`` (each bound optional);
    returns it as ``float``.
    ``none_ok``: ``None`` is accepted and returned as is (an optional setting that is off)."""
    if value is None and none_ok:
        return None
    if not _is_real(value):
        raise TypeError(f"{name} must be a finite number{' or None' if none_ok else ''}, "
                        f"got {value!r} ({type(value).__name__})")
    bounds = [f">= {minimum}" if minimum is not None else "", f"> {above}" if above is not None else "",
              f"<= {maximum}" if maximum is not None else "", f"< {below}" if below is not None else ""]
    wanted = " and ".join(b for b in bounds if b)
    ok = math.isfinite(value) and (minimum is None or value >= minimum) \
        and (above is None or value > above) and (maximum is None or value <= maximum) \
        and (below is None or value < below)
    if not ok:
        raise ValueError(f"{name} must be a finite number{' ' + wanted if wanted else ''}, got {value!r}")
    return float(value)


def check_bool(name: str, value) -> bool:
    """``value`` must be ``True`` or ``False`` (a NumPy bool too): ``'yes'`` or ``1`` is refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def check_choice(name: str, value, choices):
    """``value`` must be one of ``choices`` (compared with ``==``); returns it."""
    try:
        known = value in choices
    except TypeError:                                   # e.g. an unhashable value and a dict
        known = False
    if not known:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_seed(name: str, value, *, generator: bool = False, none_ok: bool = True):
    """A seed: an int >= 0, ``None`` (fresh entropy) where ``none_ok``, and a
    :class:`numpy.random.Generator` where ``generator``. Returns ``value`` unchanged."""
    if value is None and none_ok:
        return value
    if generator and isinstance(value, np.random.Generator):
        return value
    if not _is_real(value):
        wanted = "an int seed >= 0" + (", a numpy.random.Generator" if generator else "") \
            + (" or None" if none_ok else "")
        raise TypeError(f"{name} must be {wanted}, got {value!r} ({type(value).__name__})")
    check_int(name, value, minimum=0)
    return value


def check_callable(name: str, value, signature: str, none_ok: bool = False):
    """``value`` must be callable (or None where ``none_ok``); ``signature`` says how it is called."""
    if value is None and none_ok:
        return value
    if not callable(value):
        raise TypeError(f"{name} must be a callable {signature}"
                        f"{' or None' if none_ok else ''}, got {type(value).__name__}")
    return value
