"""The bad-input checks that every recurrent layer shares (one body, each layer's tests call it):
of ``backward``, ``dy`` from the wrong backend, NaN in ``dy``, NaN in each array of ``dstate``;
of ``forward``, ``x`` of the wrong rank, width, dtype or with inf, a state of the wrong length or
shape, and a NaN parameter."""
import re

import numpy as np
import pytest

from minilstm import backend


def other_backend(xp):
    """An array module that is not ``xp``: NumPy for the stand-in and CuPy, the stand-in for NumPy."""
    return backend.get_backend("strict" if xp is np else "numpy")


def assert_backward_refuses_bad_input(layer, x):
    """``layer.backward`` refuses, by name, what ``forward(x)``'s cache must not be given."""
    xp = layer.xp
    y, cache = layer.forward(x)
    T, B, n = y.shape
    other = other_backend(xp)
    here, there = backend.backend_name(xp), backend.backend_name(other)
    with pytest.raises(TypeError, match=f"dy is a {there} array but the layer's parameters live on {here}"):
        layer.backward(other.zeros((T, B, n)), cache)
    bad = np.zeros((T, B, n)); bad[T - 1, 0, n - 1] = np.nan
    with pytest.raises(ValueError, match=rf"dy contains 1 NaN or inf value\(s\), the first at index \({T - 1}, 0, {n - 1}\)"):
        layer.backward(xp.asarray(bad), cache)
    dy = xp.zeros((T, B, n))
    for k, name in enumerate(layer.state_names):
        dstate = [xp.zeros(s.shape) for s in cache.state]
        nan = np.zeros(cache.state[k].shape); nan[0, 0] = np.nan
        dstate[k] = xp.asarray(nan)
        with pytest.raises(ValueError, match=rf"dstate\['{name}'\] contains 1 NaN or inf value\(s\), the first at index \(0, 0\)"):
            layer.backward(dy, cache, dstate=tuple(dstate))
    with pytest.raises(TypeError, match=rf"dstate\['{layer.state_names[0]}'\] is a {there} array"):
        layer.backward(dy, cache, dstate=tuple(other.zeros(s.shape) for s in cache.state))


def assert_forward_refuses_bad_input(layer):
    """``layer.forward`` (and ``backward``'s ``dy`` shape) refuse, by name, a bad ``x``, a bad
    state and a NaN parameter; ``layer`` is float64, and its last parameter is left NaN."""
    xp, I, n = layer.xp, layer.n_in, layer.n_out
    ok = xp.zeros((2, 1, I))
    with pytest.raises(ValueError, match=r"x must have 3 dimensions"):
        layer.forward(xp.zeros((2, I)))
    with pytest.raises(ValueError, match=rf"x must have shape \(\?, \?, {I}\), got \(2, 1, {I + 2}\)"):
        layer.forward(xp.zeros((2, 1, I + 2)))
    with pytest.raises(TypeError, match="x must be a float32 or float64 array, got dtype int"):
        layer.forward(xp.zeros((2, 1, I), dtype=xp.int64))
    with pytest.raises(TypeError, match="x has dtype float32 but the layer's parameters are float64"):
        layer.forward(xp.zeros((2, 1, I), dtype=xp.float32))
    bad = np.zeros((2, 1, I)); bad[1, 0, I - 1] = np.inf
    with pytest.raises(ValueError, match=rf"x contains 1 NaN or inf value\(s\), the first at index \(1, 0, {I - 1}\)"):
        layer.forward(xp.asarray(bad))
    names, shapes = layer.state_names, layer.state_shapes(1)
    with pytest.raises(ValueError, match=re.escape(f"state must be a tuple of {len(names)} arrays {tuple(names)}")):
        layer.forward(ok, tuple(xp.zeros(s) for s in shapes[:-1]))
    wrong = (1, shapes[-1][1] + 1)
    with pytest.raises(ValueError, match=re.escape(f"state[{names[-1]!r}] must have shape {shapes[-1]}, got {wrong}")):
        layer.forward(ok, (*(xp.zeros(s) for s in shapes[:-1]), xp.zeros(wrong)))
    y, cache = layer.forward(ok)
    with pytest.raises(ValueError, match=re.escape(f"dy must have shape (2, 1, {n}), got (2, 1, {n + 1})")):
        layer.backward(xp.zeros((2, 1, n + 1)), cache)
    name = list(layer.params)[-1]
    layer.params[name][(0,) * layer.params[name].ndim] = np.nan
    with pytest.raises(ValueError, match=re.escape(f"params[{name!r}] contains 1 NaN or inf")):
        layer.forward(ok)
