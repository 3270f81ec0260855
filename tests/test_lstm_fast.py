"""The LSTM's fast path (minilstm.nn.lstm_fast) against the plain step functions of minilstm.nn.lstm."""
import numpy as np
import pytest

from minilstm import backend, presets
from minilstm.nn import lstm_fast
from minilstm.gradcheck import gradcheck
from minilstm.nn.lstm import LSTM

from reference_lstm import randomize, random_input, random_state


def _plain(layer):
    """The same layer with the fast-path hooks switched off: the sequence loop runs the plain steps."""
    plain = layer.to()
    plain._project = plain.project                   # unscaled, as the plain steps expect
    plain._sequence_buffers = lambda a, state0: None
    plain._backward_buffers = lambda cache: None
    return plain


def _run(layer, x, state0, dy, dstate):
    y, cache = layer.forward(x, state0)
    y = y.copy()
    dx, grads, dstate0 = layer.backward(dy, cache, dstate=dstate, return_dstate=True)
    return y, cache, dx, grads, dstate0


def _close(a, b, **tol):
    np.testing.assert_allclose(backend.to_numpy(a), backend.to_numpy(b), **tol)


@pytest.mark.parametrize("factors_at_once", [True, False], ids=["factors-at-once", "factors-per-step"])
def test_fast_path_equals_the_plain_steps(xp, factors_at_once):
    """y, the final state, dx, every gradient and dstate(0) agree, with a non-zero initial state,
    a non-zero dstate(T) and independent random values in every parameter of every gate."""
    layer = randomize(LSTM(3, 5, backend=backend.backend_name(xp)), seed=31)
    layer._factors_at_once_max = 10**9 if factors_at_once else 0
    x, s0 = random_input(layer, 7, 3, seed=32), random_state(layer, 3, seed=33)
    rng = np.random.default_rng(34)
    dy = xp.asarray(rng.standard_normal((7, 3, 5)))
    dstate = tuple(xp.asarray(rng.standard_normal((3, 5))) for _ in range(2))
    y, cache, dx, grads, ds0 = _run(layer, x, s0, dy, dstate)
    assert isinstance(cache.extra, lstm_fast.FastSequence)      # the fast path was taken
    y_p, cache_p, dx_p, grads_p, ds0_p = _run(_plain(layer), x, s0, dy, dstate)
    assert cache_p.extra is None
    tol = dict(rtol=1e-12, atol=1e-13)
    _close(y, y_p, **tol)
    _close(dx, dx_p, **tol)
    for a, b in zip(cache.state + ds0, cache_p.state + ds0_p):
        _close(a, b, **tol)
    assert set(grads) == set(layer.params)
    for k in layer.params:
        _close(grads[k], grads_p[k], err_msg=k, **tol)
    for t in range(7):                                          # the per-step caches hold the same values
        for field in ("u_prev", "c_prev", "act", "z", "i", "f", "o", "c", "hc"):
            _close(getattr(cache.steps[t], field), getattr(cache_p.steps[t], field), err_msg=field, **tol)


def test_fast_path_float32_against_float64(xp):
    layer = randomize(LSTM(4, 6, dtype="float32", backend=backend.backend_name(xp)), seed=35)
    ref = layer.to(dtype="float64")
    x = random_input(ref, 9, 2, seed=36)
    dy = xp.asarray(np.random.default_rng(37).standard_normal((9, 2, 6)))
    y32, c32 = layer.forward(x.astype(np.float32))
    dx32, g32 = layer.backward(dy.astype(np.float32), c32)
    y64, c64 = _plain(ref).forward(x)
    dx64, g64 = _plain(ref).backward(dy, c64)
    assert isinstance(c32.extra, lstm_fast.FastSequence) and y32.dtype == np.float32 and dx32.dtype == np.float32
    _close(y32, y64, rtol=1e-4, atol=1e-5)
    _close(dx32, dx64, rtol=1e-4, atol=1e-5)
    for k in g64:
        assert g32[k].dtype == np.float32
        _close(g32[k], g64[k], rtol=1e-4, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("factors_at_once", [True, False], ids=["factors-at-once", "factors-per-step"])
def test_gradcheck_on_the_fast_path(xp, factors_at_once):
    layer = randomize(LSTM(3, 4, backend=backend.backend_name(xp)), seed=38)
    layer._factors_at_once_max = 10**9 if factors_at_once else 0
    report = gradcheck(layer, random_input(layer, 5, 2, seed=39), random_state(layer, 2, seed=40))
    assert report.max_error < 1e-7, report


def test_which_configurations_take_the_fast_path():
    assert lstm_fast.eligible(presets.no_peepholes(3, 4))
    assert lstm_fast.eligible(LSTM(3, 4))
    for name in ("lstm_1997", "lstm_forget_1999", "lstm_peephole_2000", "vanilla", "nig", "nfg",
                 "nog", "niaf", "noaf", "cifg", "fgr"):
        layer = presets.PRESETS[name](3, 4)
        assert not lstm_fast.eligible(layer), name
        _, cache = layer.forward(random_input(layer, 2, 1, seed=0))
        assert cache.extra is None, name
    assert not lstm_fast.eligible(LSTM(3, 4, cells_per_block=2))


def test_plain_step_backward_on_the_fast_path_cache(xp):
    """What analysis code does: the plain step_backward on cache.steps[t] of a fast forward."""
    layer = randomize(LSTM(3, 4, backend=backend.backend_name(xp)), seed=45)
    x = random_input(layer, 3, 2, seed=46)
    dy = xp.asarray(np.random.default_rng(47).standard_normal((3, 2, 4)))
    _, cache = layer.forward(x)
    _, cache_p = _plain(layer).forward(x)
    ds, ds_p = layer.init_state(2), layer.init_state(2)
    for t in (2, 1, 0):
        da, ds = layer.step_backward(layer.params, dy[t], ds, cache.steps[t])
        da_p, ds_p = layer.step_backward(layer.params, dy[t], ds_p, cache_p.steps[t])
        _close(da, da_p, rtol=1e-12, atol=1e-13)
        for a, b in zip(ds, ds_p):
            _close(a, b, rtol=1e-12, atol=1e-13)


def test_saturated_units_give_exact_limits_without_warnings(xp):
    """Pre-activations in the thousands (e^{−a} overflows in float32 and float64): σ reaches
    exactly 0 or 1, no RuntimeWarning, no NaN, and the same values as the plain steps."""
    import warnings
    for dtype in ("float32", "float64"):
        layer = randomize(LSTM(2, 3, dtype=dtype, backend=backend.backend_name(xp)), seed=48, scale=1.0)
        layer.flat[...] *= 100.0
        x = xp.asarray(np.array([[[10.0, -10.0]], [[-10.0, 10.0]]], dtype=dtype))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y, cache = layer.forward(x)
        y_p, _ = _plain(layer).forward(x)
        assert isinstance(cache.extra, lstm_fast.FastSequence)
        act = backend.to_numpy(cache.extra.A)
        gates = act[..., 3:]                                    # columns [z | i | f | o], H = 3
        assert np.isfinite(act).all() and ((gates >= 0) & (gates <= 1)).all()
        assert np.isin(gates, (0.0, 1.0)).mean() > 0.5          # most gates exactly at a limit
        _close(y, y_p, rtol=0, atol=1e-6)
