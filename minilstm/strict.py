"""A strict stand-in for CuPy, so that the GPU code path is exercised on a CPU.

CuPy arrays live on the device, and CuPy refuses the NumPy habits that would copy them back
to the host silently. This module is an array module (``xp``) whose array type,
:class:`StrictArray`, wraps a NumPy array and refuses the same things, and a little more:

* implicit conversion to NumPy: ``numpy.asarray(a)``, ``numpy.array(a)`` and ``a.__array__()``
  raise ``TypeError`` (use ``a.get()`` or :func:`minilstm.backend.to_numpy`, as with CuPy);
* arithmetic or ufuncs that mix a ``StrictArray`` with a ``numpy.ndarray`` raise ``TypeError``
  (move host data with ``xp.asarray`` first, as with CuPy);
* NumPy *functions* called on a ``StrictArray`` (``numpy.sum(a)``, ``numpy.concatenate``...)
  raise ``TypeError``. CuPy would dispatch some of them to itself; the stand-in is stricter on
  purpose, so that a stray ``np.`` call in code that should use ``xp.`` is caught on CPU CI.

Python and NumPy scalars mix freely, as they do with CuPy. NumPy ufuncs applied to stand-in arrays
alone (``numpy.tanh(a)``) return stand-in arrays, as CuPy's ``__array_ufunc__`` does. Reductions
return 0-d arrays, as in CuPy; ``float(a)`` and ``a.item()`` are the explicit way to a host scalar.

Everything else is NumPy underneath: same dtypes, same numbers, so results can be compared with
the NumPy backend exactly.
"""
from __future__ import annotations

import numbers
import types

import numpy as _np

__all__ = ["StrictArray", "ndarray", "asarray", "array", "asnumpy", "get_array_module"]

_IMPLICIT = (
    "Implicit conversion to a NumPy array is not allowed (minilstm.strict stands in for CuPy). "
    "Use .get() or minilstm.backend.to_numpy() to make a NumPy array explicitly."
)


def _mixing_error(where: str) -> TypeError:
    return TypeError(
        f"{where}: a numpy.ndarray was mixed with a minilstm.strict array (stand-in for CuPy); "
        "move host data explicitly with xp.asarray(...) first"
    )


def _unwrap(value, where: str):
    """Return the NumPy data behind ``value``; refuse raw NumPy arrays."""
    if isinstance(value, StrictArray):
        return value._a
    if isinstance(value, _np.ndarray):
        raise _mixing_error(where)
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, where) for v in value)
    return value


def _wrap(value):
    """Wrap NumPy results; keep Python objects (shapes, dtypes, finfo) as they are."""
    if isinstance(value, _np.ndarray):
        return StrictArray(value)
    if isinstance(value, _np.generic):
        return StrictArray(_np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _call(func, args, kwargs, where):
    raw_args = _unwrap(args, where)
    raw_kwargs = {k: _unwrap(v, where) for k, v in kwargs.items()}
    out = kwargs.get("out")
    result = func(*raw_args, **raw_kwargs)
    if out is not None:  # in-place: hand back the caller's own array object(s)
        return out
    return _wrap(result)


class StrictArray:
    """A NumPy array wrapped to behave like a ``cupy.ndarray`` where CuPy breaks NumPy habits."""

    __slots__ = ("_a",)
    __array_priority__ = 1000.0  # NumPy defers binary operators to us
    __hash__ = None

    def __init__(self, data: _np.ndarray):
        if not isinstance(data, _np.ndarray):
            raise TypeError(f"StrictArray wraps a numpy.ndarray, got {type(data).__name__}")
        self._a = data

    # ---- the conversions CuPy refuses or makes explicit -------------------------------------
    def __array__(self, *args, **kwargs):
        raise TypeError(_IMPLICIT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        where = f"numpy.{ufunc.__name__}"
        out = kwargs.get("out")
        if out is not None and not all(isinstance(o, StrictArray) for o in out):
            raise _mixing_error(where + "(out=...)")
        result = _call(getattr(ufunc, method), inputs, kwargs, where)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return result

    def __array_function__(self, func, types_, args, kwargs):
        raise TypeError(
            f"numpy.{func.__name__} was called on a minilstm.strict array (stand-in for CuPy): "
            f"call it through the array module, xp.{func.__name__}(...)"
        )

    def get(self) -> _np.ndarray:
        """Copy to a host NumPy array (as ``cupy.ndarray.get``)."""
        return self._a.copy()

    # ---- attributes ------------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: StrictArray(self._a.T))

    def __repr__(self):
        return "strict_" + repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        if self._a.ndim == 0:
            return format(self._a.item(), spec)
        return format(str(self), spec)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        for row in self._a:
            yield _wrap(row)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __bool__(self):
        return bool(self._a)

    def __index__(self):
        return self._a.__index__()

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key, "indexing")])

    def __setitem__(self, key, value):
        self._a[_unwrap(key, "indexing")] = _unwrap(value, "assignment")


def _method(name):
    def method(self, *args, **kwargs):
        return _call(getattr(self._a, name), args, kwargs, f"StrictArray.{name}")
    method.__name__ = name
    method.__doc__ = f"``numpy.ndarray.{name}`` on the wrapped data; arguments checked, result wrapped."
    return method


for _name in ("reshape", "transpose", "swapaxes", "astype", "copy", "fill", "ravel", "flatten",
              "sum", "mean", "max", "min", "argmax", "argmin", "std", "var", "prod", "any", "all",
              "dot", "clip", "cumsum", "squeeze", "item", "view", "tolist", "nonzero", "round"):
    setattr(StrictArray, _name, _method(_name))


def _operator(ufunc, reflected=False, inplace=False):
    def op(self, other):
        if reflected:
            return self.__array_ufunc__(ufunc, "__call__", other, self)
        if inplace:
            return self.__array_ufunc__(ufunc, "__call__", self, other, out=(self,))
        return self.__array_ufunc__(ufunc, "__call__", self, other)
    return op


for _op, _uf in {"add": _np.add, "sub": _np.subtract, "mul": _np.multiply,
                 "truediv": _np.true_divide, "floordiv": _np.floor_divide, "mod": _np.remainder,
                 "pow": _np.power, "matmul": _np.matmul, "and": _np.bitwise_and,
                 "or": _np.bitwise_or, "xor": _np.bitwise_xor}.items():
    setattr(StrictArray, f"__{_op}__", _operator(_uf))
    setattr(StrictArray, f"__r{_op}__", _operator(_uf, reflected=True))
    setattr(StrictArray, f"__i{_op}__", _operator(_uf, inplace=True))
for _op, _uf in {"lt": _np.less, "le": _np.less_equal, "gt": _np.greater,
                 "ge": _np.greater_equal, "eq": _np.equal, "ne": _np.not_equal}.items():
    setattr(StrictArray, f"__{_op}__", _operator(_uf))
for _op, _uf in {"neg": _np.negative, "pos": _np.positive, "abs": _np.absolute,
                 "invert": _np.invert}.items():
    setattr(StrictArray, f"__{_op}__", lambda self, _uf=_uf: self.__array_ufunc__(_uf, "__call__", self))

ndarray = StrictArray


# ---- the module namespace: xp.zeros, xp.tanh, xp.matmul, ... ----------------------------------
def asarray(a, dtype=None, order=None):
    """Move data to the stand-in 'device' (explicit, like ``cupy.asarray``): accepts NumPy arrays."""
    if isinstance(a, StrictArray):
        return a if dtype is None or a.dtype == dtype else a.astype(dtype)
    return StrictArray(_np.asarray(_unwrap_host(a), dtype=dtype, order=order))


def array(a, dtype=None, copy=True, order="K"):
    """Like ``cupy.array``: always a new array unless ``copy=False`` allows reuse."""
    if isinstance(a, StrictArray):
        return StrictArray(_np.array(a._a, dtype=dtype, copy=copy, order=order))
    return StrictArray(_np.array(_unwrap_host(a), dtype=dtype, copy=True, order=order))


def _unwrap_host(a):
    # host data (NumPy arrays, lists of numbers) is allowed here: this is the explicit transfer
    if isinstance(a, (list, tuple)):
        return type(a)(_unwrap_host(v) for v in a)
    return a._a if isinstance(a, StrictArray) else a


def asnumpy(a):
    """Copy to host (like ``cupy.asnumpy``)."""
    return a.get() if isinstance(a, StrictArray) else _np.asarray(a)


def get_array_module(*arrays):
    """This module if any argument is a stand-in array, else NumPy (like ``cupy.get_array_module``)."""
    return _this if any(isinstance(a, StrictArray) for a in arrays) else _np


class _Ufunc:
    """A NumPy ufunc seen through the stand-in: calls and methods (``reduce``...) both checked."""

    def __init__(self, ufunc):
        self._u = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return _wrapped(self._u, "xp." + self.__name__)(*args, **kwargs)

    def __getattr__(self, name):
        attr = getattr(self._u, name)
        return _wrapped(attr, f"xp.{self.__name__}.{name}") if callable(attr) else attr


def _wrapped(func, where):
    def call(*args, **kwargs):
        out = kwargs.get("out")
        if out is not None and not isinstance(out, (StrictArray, tuple)):
            raise _mixing_error(where + "(out=...)")
        return _call(func, args, kwargs, where)
    call.__name__ = getattr(func, "__name__", "call")
    call.__doc__ = getattr(func, "__doc__", None)
    return call


class _Namespace(types.ModuleType):
    """numpy.linalg and friends, seen through the stand-in."""

    def __init__(self, name, source):
        super().__init__(name)
        self._source = source

    def __getattr__(self, name):
        return _lookup(self._source, name, f"{self.__name__}.{name}")


def _lookup(source, name, where):
    attr = getattr(source, name)
    if isinstance(attr, _np.ufunc):
        return _Ufunc(attr)
    if isinstance(attr, types.ModuleType):
        if name in ("linalg", "fft"):
            return _Namespace(f"minilstm.strict.{name}", attr)
        raise AttributeError(f"minilstm.strict does not provide numpy.{name}; "
                             "draw random numbers on the host (minilstm.backend) and move them")
    if isinstance(attr, type) or not callable(attr) or isinstance(attr, numbers.Number):
        return attr  # dtypes, constants (pi, inf, newaxis), classes
    return _wrapped(attr, "xp." + name)


def __getattr__(name):  # PEP 562: everything NumPy has, checked
    if name.startswith("__"):
        raise AttributeError(name)
    return _lookup(_np, name, "xp." + name)


import sys as _sys  # noqa: E402

_this = _sys.modules[__name__]
