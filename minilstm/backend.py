"""The one place that knows about NumPy, CuPy and the strict stand-in for CuPy.

Every other module gets its array module from the data, ``xp = get_array_module(x, w)``, and
calls ``xp.tanh``, ``xp.matmul``... never ``np.`` on data that may live on a GPU.

Backends, by name:

* ``"numpy"`` — the CPU;
* ``"cupy"`` — an NVIDIA GPU through CuPy (``pip install -e .[gpu]``);
* ``"strict"`` — :mod:`minilstm.strict`, a CPU stand-in that refuses implicit NumPy conversion as
  CuPy does, so that the GPU code path is tested where there is no GPU.

Choose one with :func:`get_backend`: by argument, or by the environment variable
``MINILSTM_BACKEND`` (handy for notebooks: ``MINILSTM_BACKEND=cupy jupyter lab``).

Random numbers are drawn on the host from a seeded :class:`numpy.random.Generator` and then moved
with ``xp.asarray``, so that one seed gives the same numbers on every backend.
"""
from __future__ import annotations

import os
import sys
import types

import numpy as np

from . import strict

__all__ = [
    "BackendError", "get_array_module", "get_backend", "backend_name", "gpu_available",
    "to_numpy", "default_rng", "uniform", "normal",
]

ENV_VAR = "MINILSTM_BACKEND"
NAMES = ("numpy", "cupy", "strict")


class BackendError(RuntimeError):
    """A backend was asked for that cannot run here, or arrays of two backends were mixed."""


def _cupy_module():
    """CuPy if it was already imported by someone, else None (we never import it to look)."""
    return sys.modules.get("cupy")


def _module_of(a):
    if isinstance(a, strict.StrictArray):
        return strict
    cp = _cupy_module()
    if cp is not None and isinstance(a, cp.ndarray):
        return cp
    if isinstance(a, (np.ndarray, np.generic)):
        return np
    return None  # Python scalars, None: no opinion


def get_array_module(*arrays) -> types.ModuleType:
    """The array module (numpy, cupy or minilstm.strict) that holds ``arrays``.

    Python scalars and ``None`` are ignored; with no arrays at all the answer is NumPy.
    Arrays of two backends raise :class:`BackendError`.
    """
    found = {}
    for i, a in enumerate(arrays):
        mod = _module_of(a)
        if mod is not None:
            found.setdefault(mod.__name__, (mod, i))
    if len(found) > 1:
        desc = ", ".join(f"argument {i} is a {name} array" for name, (_, i) in found.items())
        raise BackendError(f"arrays from different backends were mixed: {desc}; "
                           "move them to one backend first (xp.asarray or to_numpy)")
    return next(iter(found.values()))[0] if found else np


def backend_name(xp) -> str:
    """``'numpy'``, ``'cupy'`` or ``'strict'`` for an array module (or an array)."""
    if not isinstance(xp, types.ModuleType):
        xp = get_array_module(xp)
    if xp is np:
        return "numpy"
    if xp is strict:
        return "strict"
    if xp.__name__ == "cupy":
        return "cupy"
    raise BackendError(f"unknown array module {xp.__name__!r}; expected one of {NAMES}")


def gpu_available() -> bool:
    """True when CuPy imports *and* can use a CUDA device.

    CuPy imports fine on a machine without a GPU or driver and fails at first use, so an
    ImportError is not the test: ``cupy.is_available()`` is.
    """
    try:
        import cupy
        return bool(cupy.is_available())
    except Exception:  # ImportError, or CUDA errors raised while probing
        return False


def get_backend(name: str | types.ModuleType | None = None) -> types.ModuleType:
    """Return the array module for ``name`` (``'numpy'``, ``'cupy'`` or ``'strict'``).

    With ``name=None`` the environment variable ``MINILSTM_BACKEND`` decides, and NumPy is the
    default. Asking for CuPy where it cannot run raises :class:`BackendError` saying why.
    """
    if isinstance(name, types.ModuleType):
        backend_name(name)  # validates
        return name
    source = "argument name"
    if name is None:
        name, source = os.environ.get(ENV_VAR, "numpy") or "numpy", f"environment variable {ENV_VAR}"
    key = str(name).strip().lower()
    if key == "numpy":
        return np
    if key == "strict":
        return strict
    if key == "cupy":
        try:
            import cupy
        except ImportError as e:
            raise BackendError(f"{source}={name!r} asks for CuPy, but it is not installed ({e}); "
                               "install it with `pip install -e .[gpu]` or choose 'numpy'") from e
        if not gpu_available():
            raise BackendError(f"{source}={name!r} asks for CuPy, which is installed but cannot use "
                               "a CUDA device here (cupy.is_available() is False); choose 'numpy'")
        return cupy
    raise BackendError(f"{source}={name!r} is not a backend; expected one of {NAMES}")


def to_numpy(a):
    """An explicit copy to host memory as a NumPy array (for plotting and printing)."""
    if isinstance(a, np.ndarray):
        return a
    if isinstance(a, strict.StrictArray):
        return a.get()
    cp = _cupy_module()
    if cp is not None and isinstance(a, cp.ndarray):
        return cp.asnumpy(a)
    return np.asarray(a)


def default_rng(seed=None) -> np.random.Generator:
    """A host random generator; accepts a seed, ``None`` or an existing Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def uniform(rng, low, high, shape, xp=np, dtype=np.float64):
    """Uniform numbers in [low, high) drawn on the host from ``rng`` and moved to ``xp``."""
    return xp.asarray(default_rng(rng).uniform(low, high, size=shape).astype(dtype))


def normal(rng, shape, scale=1.0, xp=np, dtype=np.float64):
    """Normal numbers N(0, scale²) drawn on the host from ``rng`` and moved to ``xp``."""
    return xp.asarray((scale * default_rng(rng).standard_normal(size=shape)).astype(dtype))
