"""The bad-input checks of ``backward`` that every recurrent layer shares (one body, each layer's
tests call it): ``dy`` from the wrong backend, NaN in ``dy``, NaN in each array of ``dstate``."""
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
