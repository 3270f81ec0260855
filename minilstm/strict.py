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

* names CuPy does not have (``xp.errstate``, ``xp.insert``...) raise ``AttributeError``, and
  keywords CuPy's function, ufunc or ``ndarray`` method does not take (``where=`` on ufuncs and
  reductions, ``initial=``, ``like=``, ``order=`` on ufuncs...) raise ``TypeError``; ufunc methods
  exist only where CuPy has them (``at`` on add, subtract, maximum, minimum and the bitwise ones;
  ``reduce`` and ``accumulate`` on add and multiply). The table of what CuPy has is generated from
  an installed CuPy (:mod:`minilstm._cupy_api`, version in ``CUPY_VERSION``);
* there is no ``__index__`` (a device array cannot be a Python index, ``range`` bound or
  repetition count, as with CuPy).

Python and NumPy scalars mix freely, as they do with CuPy. NumPy ufuncs applied to stand-in arrays
alone (``numpy.tanh(a)``) return stand-in arrays, as CuPy's ``__array_ufunc__`` does. Reductions
return 0-d arrays, as in CuPy.

**Device-to-host transfers are counted.** On a GPU, ``bool(a)``, ``float(a)``, ``int(a)``,
``a.item()``, ``a.tolist()``, ``repr``/``str``/``format`` of an array and ``a.get()`` each copy
from the device and wait for it. They are allowed (they are how results reach the host), and every
one is recorded: ``with strict.Transfers() as t: ...`` counts those made inside the block
(``t.total``, and ``t.kinds`` by kind), so that tests can assert that a time-step loop makes none.

Everything else is NumPy underneath: same dtypes, same numbers, so results can be compared with
the NumPy backend exactly.
"""
from __future__ import annotations

import types

import numpy as _np

from . import _cupy_api

__all__ = ["StrictArray", "ndarray", "asarray", "array", "asnumpy", "get_array_module",
           "Transfers", "CUPY_VERSION"]

CUPY_VERSION = _cupy_api.VERSION

_IMPLICIT = (
    "Implicit conversion to a NumPy array is not allowed (minilstm.strict stands in for CuPy). "
    "Use .get() or minilstm.backend.to_numpy() to make a NumPy array explicitly."
)


class Transfers:
    """Count the device-to-host transfers made inside a ``with`` block.

    ``t.total`` is their number and ``t.kinds`` a dict by kind (``'bool'``, ``'float'``, ``'int'``,
    ``'item'``, ``'tolist'``, ``'repr'``, ``'get'``...). Blocks may nest; each counts its own.
    """

    _active: list = []

    def __init__(self):
        self.total = 0
        self.kinds: dict[str, int] = {}

    def __enter__(self):
        Transfers._active.append(self)
        return self

    def __exit__(self, *exc):
        Transfers._active.remove(self)
        return False

    def __repr__(self):
        return f"Transfers(total={self.total}, kinds={self.kinds})"


def _transfer(kind: str) -> None:
    for counter in Transfers._active:
        counter.total += 1
        counter.kinds[kind] = counter.kinds.get(kind, 0) + 1


def _keyword_check(where: str, kwargs, allowed) -> None:
    """Refuse keywords that CuPy's version of ``where`` does not take (``allowed=None``: any)."""
    if allowed is None:
        return
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise TypeError(
            f"{where} got keyword(s) {unknown} that CuPy {CUPY_VERSION} does not accept "
            f"(minilstm.strict stands in for CuPy); it takes {list(allowed)}"
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
        """Copy to a host NumPy array (as ``cupy.ndarray.get``); counted as a transfer."""
        _transfer("get")
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
        _transfer("repr")
        return "strict_" + repr(self._a)

    def __str__(self):
        _transfer("str")
        return str(self._a)

    def __format__(self, spec):
        _transfer("format")
        if self._a.ndim == 0:
            return format(self._a.item(), spec)
        return format(str(self._a), spec)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        for row in self._a:
            yield _wrap(row)

    def __float__(self):
        _transfer("float")
        return float(self._a)

    def __int__(self):
        _transfer("int")
        return int(self._a)

    def __complex__(self):
        _transfer("complex")
        return complex(self._a)

    def __bool__(self):
        _transfer("bool")
        return bool(self._a)

    # no __index__: CuPy arrays have none, so a device array cannot be a Python index

    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key, "indexing")])

    def __setitem__(self, key, value):
        self._a[_unwrap(key, "indexing")] = _unwrap(value, "assignment")


def _method(name, transfer=False):
    where = f"StrictArray.{name}"
    def method(self, *args, **kwargs):
        _keyword_check(where, kwargs, _cupy_api.NDARRAY_METHODS[name])
        if transfer:
            _transfer(name)
        return _call(getattr(self._a, name), args, kwargs, where)
    method.__name__ = name
    method.__doc__ = (f"``cupy.ndarray.{name}``: NumPy's on the wrapped data, with CuPy's keywords "
                      "only; result wrapped." + (" Counted as a transfer." if transfer else ""))
    return method


for _name in ("reshape", "transpose", "swapaxes", "astype", "copy", "fill", "ravel", "flatten",
              "sum", "mean", "max", "min", "argmax", "argmin", "std", "var", "prod", "any", "all",
              "dot", "clip", "cumsum", "cumprod", "squeeze", "view", "nonzero", "round", "take",
              "repeat", "conj", "diagonal", "trace", "sort", "argsort", "ptp"):
    setattr(StrictArray, _name, _method(_name))
for _name in ("item", "tolist"):
    setattr(StrictArray, _name, _method(_name, transfer=True))


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
    """Copy to host (like ``cupy.asnumpy``); counted as a transfer."""
    return a.get() if isinstance(a, StrictArray) else _np.asarray(a)


def get_array_module(*arrays):
    """This module if any argument is a stand-in array, else NumPy (like ``cupy.get_array_module``)."""
    return _this if any(isinstance(a, StrictArray) for a in arrays) else _np


# The keywords of CuPy's ufunc methods (cupy/_core/_kernel.pyx): at(a, indices, b) takes none.
_UFUNC_METHOD_KEYWORDS = {
    "outer": _cupy_api.UFUNC_KEYWORDS, "at": (),
    "reduce": ("axis", "dtype", "out", "keepdims"), "accumulate": ("axis", "dtype", "out"),
    "reduceat": ("axis", "dtype", "out"),
}


class _Ufunc:
    """A NumPy ufunc seen through the stand-in: CuPy's keywords and methods only, arguments checked."""

    def __init__(self, name):
        self._u = getattr(_np, name)
        self._methods = _cupy_api.UFUNC_METHODS[name]
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        return _wrapped(self._u, "xp." + self.__name__, _cupy_api.UFUNC_KEYWORDS)(*args, **kwargs)

    def __getattr__(self, name):
        if name in _UFUNC_METHOD_KEYWORDS:
            if name not in self._methods:
                raise AttributeError(
                    f"xp.{self.__name__}.{name}: CuPy {CUPY_VERSION} has no {name} for "
                    f"{self.__name__} (minilstm.strict stands in for CuPy); "
                    f"it has {list(self._methods)}")
            return _wrapped(getattr(self._u, name), f"xp.{self.__name__}.{name}",
                            _UFUNC_METHOD_KEYWORDS[name])
        attr = getattr(self._u, name)
        if callable(attr):
            raise AttributeError(f"xp.{self.__name__}.{name} is not provided by minilstm.strict")
        return attr


def _wrapped(func, where, allowed=None):
    def call(*args, **kwargs):
        _keyword_check(where, kwargs, allowed)
        out = kwargs.get("out")
        if out is not None and not isinstance(out, (StrictArray, tuple)):
            raise _mixing_error(where + "(out=...)")
        return _call(func, args, kwargs, where)
    call.__name__ = getattr(func, "__name__", "call")
    call.__doc__ = getattr(func, "__doc__", None)
    return call


class _Namespace(types.ModuleType):
    """numpy.linalg and numpy.fft, seen through the stand-in: the functions CuPy's have."""

    def __init__(self, name):
        super().__init__(f"minilstm.strict.{name}")
        self._source = getattr(_np, name)
        self._functions = _cupy_api.NAMESPACES[name]
        self._short = name

    def __getattr__(self, name):
        where = f"xp.{self._short}.{name}"
        if name not in self._functions:
            raise AttributeError(f"{where}: CuPy {CUPY_VERSION} has no such function "
                                 "(minilstm.strict stands in for CuPy)")
        return _wrapped(getattr(self._source, name), where, self._functions[name])


def __getattr__(name):  # PEP 562: the names CuPy has, with NumPy underneath, checked
    if name.startswith("__"):
        raise AttributeError(name)
    where = "xp." + name
    if name == "random":
        raise AttributeError("minilstm.strict does not provide xp.random; draw random numbers "
                             "on the host (minilstm.backend) and move them")
    if name in _cupy_api.NAMESPACES:
        return _Namespace(name)
    known = (name in _cupy_api.UFUNC_METHODS or name in _cupy_api.FUNCTIONS
             or name in _cupy_api.OTHER_NAMES)
    if not known or not hasattr(_np, name):
        why = "CuPy has no such name" if not known else "the stand-in does not emulate it"
        raise AttributeError(f"{where}: {why} (minilstm.strict stands in for CuPy {CUPY_VERSION})")
    if name in _cupy_api.UFUNC_METHODS:
        return _Ufunc(name)
    attr = getattr(_np, name)
    if isinstance(attr, types.ModuleType):
        raise AttributeError(f"{where}: the stand-in does not emulate cupy.{name}")
    if name in _cupy_api.FUNCTIONS:
        return _wrapped(attr, where, _cupy_api.FUNCTIONS[name])
    return attr  # dtypes, constants (pi, inf, newaxis), classes


import sys as _sys  # noqa: E402

_this = _sys.modules[__name__]
