"""Write minilstm/_cupy_api.py: the part of CuPy's API that the strict stand-in allows.

The strict stand-in (``minilstm.strict``) must refuse whatever CuPy refuses, so it needs to know
which names CuPy has, which keywords each function and ``ndarray`` method accepts, and which
ufunc methods (``at``, ``reduce``...) exist for which ufunc. CuPy imports without a GPU, so the
table is read from an installed CuPy, not written by hand:

    python3 -m venv /tmp/cupyenv && /tmp/cupyenv/bin/pip install "cupy-cuda12x==14.2.0"
    /tmp/cupyenv/bin/python tools/make_cupy_api.py

Functions with a Python signature give their parameter names through ``inspect``; Cython
methods of ``cupy.ndarray`` give theirs in the first line of their docstring. The ufunc methods
are CuPy's rules in ``cupy/_core/_kernel.pyx`` (v14.2.0): ``at`` only for ufuncs built with a
``scatter_op`` (add, subtract, maximum, minimum, bitwise and/or/xor), ``reduce`` and
``accumulate`` only for add and multiply, ``reduceat`` only for add; a ufunc call takes the
keywords ``out``, ``dtype`` and ``casting`` (no ``where``, ``order`` or ``subok``).
"""
from __future__ import annotations

import inspect
import pathlib
import pprint
import re
import types

import cupy

OUT = pathlib.Path(__file__).resolve().parents[1] / "minilstm" / "_cupy_api.py"
ANY = None  # the function takes **kwargs, or its parameters cannot be read: keywords not checked


def _params(sig: inspect.Signature):
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return ANY
    return tuple(n for n, p in sig.parameters.items()
                 if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and n != "self")


def _doc_params(func):
    first = (func.__doc__ or "").strip().splitlines()[:1]
    match = re.match(r"[\w.]+\((.*)\)", first[0]) if first else None
    if match is None:
        return ANY
    names = []
    for part in match.group(1).split(","):
        part = part.strip().split("=")[0].strip()
        if not part or part.startswith("*"):
            continue
        name = part.split()[-1]  # "Py_ssize_t axis1" -> "axis1"
        if name != "self":
            names.append(name)
    return tuple(names)


def _functions(module, ufuncs, others):
    functions = {}
    for name in sorted(n for n in dir(module) if not n.startswith("_")):
        obj = getattr(module, name)
        if isinstance(obj, cupy.ufunc):
            ufuncs.append(name)
        elif isinstance(obj, (types.ModuleType, type)) or not callable(obj):
            others.append(name)
        else:
            try:
                functions[name] = _params(inspect.signature(obj))
            except (TypeError, ValueError):
                functions[name] = ANY
    return functions


def main():
    ufuncs, others = [], []
    functions = _functions(cupy, ufuncs, others)
    namespaces = {sub: _functions(getattr(cupy, sub), [], []) for sub in ("linalg", "fft")}
    methods = {name: _doc_params(getattr(cupy.ndarray, name))
               for name in sorted(dir(cupy.ndarray))
               if not name.startswith("_") and callable(getattr(cupy.ndarray, name))}
    scatter = {"add", "subtract", "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor"}
    ufunc_methods = {u: tuple(sorted({"outer"} | ({"at"} if u in scatter else set())
                                     | ({"reduce", "accumulate"} if u in ("add", "multiply") else set())
                                     | ({"reduceat"} if u == "add" else set())))
                     for u in ufuncs}
    body = (
        f'"""The CuPy {cupy.__version__} API the strict stand-in allows (generated: do not edit).\n\n'
        "Written by ``tools/make_cupy_api.py`` from an installed CuPy; see that script for how each\n"
        "table is read. ``None`` for a function's parameters means its keywords are not checked.\n"
        '"""\n\n'
        f"VERSION = {cupy.__version__!r}\n\n"
        f"UFUNC_KEYWORDS = ('out', 'dtype', 'casting')\n\n"
        f"UFUNC_METHODS = {pprint.pformat(ufunc_methods, width=99, compact=True)}\n\n"
        f"FUNCTIONS = {pprint.pformat(functions, width=99, compact=True)}\n\n"
        f"NAMESPACES = {pprint.pformat(namespaces, width=99, compact=True)}\n\n"
        f"OTHER_NAMES = {pprint.pformat(tuple(others), width=99, compact=True)}\n\n"
        f"NDARRAY_METHODS = {pprint.pformat(methods, width=99, compact=True)}\n"
    )
    OUT.write_text(body)
    print(f"wrote {OUT} ({len(functions)} functions, {len(ufuncs)} ufuncs, "
          f"{len(others)} other names, {len(methods)} ndarray methods)")


if __name__ == "__main__":
    main()
