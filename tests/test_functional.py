"""Activations: values against their definitions, derivatives written from outputs, ranges, 0-d input."""
import numpy as np
import pytest

from minilstm import backend, functional as F

DEFINITIONS = {
    "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a)),
    "tanh": np.tanh,
    "g1997": lambda a: 4.0 / (1.0 + np.exp(-a)) - 2.0,
    "h1997": lambda a: 2.0 / (1.0 + np.exp(-a)) - 1.0,
    "identity": lambda a: a,
}
RANGES = {"sigmoid": (0, 1), "tanh": (-1, 1), "g1997": (-2, 2), "h1997": (-1, 1)}


@pytest.mark.parametrize("name", sorted(DEFINITIONS))
def test_values_and_derivatives_from_outputs(xp, name):
    f, df = F.activation(name)
    a = np.linspace(-6, 6, 25)
    y = f(xp.asarray(a))
    np.testing.assert_allclose(backend.to_numpy(y), DEFINITIONS[name](a), rtol=1e-13, atol=1e-15)
    eps = 1e-6
    numeric = (DEFINITIONS[name](a + eps) - DEFINITIONS[name](a - eps)) / (2 * eps)
    np.testing.assert_allclose(backend.to_numpy(df(y)), numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(RANGES))
def test_ranges_and_no_overflow(name):
    f, _ = F.activation(name)
    with np.errstate(all="raise"):
        y = f(np.array([-1e4, -50.0, 0.0, 50.0, 1e4]))
    lo, hi = RANGES[name]
    assert y[0] == lo and y[-1] == hi and np.all((y >= lo) & (y <= hi))


def test_zero_dimensional_inputs_stay_arrays(xp):
    for name in ("sigmoid", "g1997", "h1997", "tanh"):
        y = F.activation(name)[0](xp.asarray(np.array(-3.0)))
        assert y.shape == () and np.isclose(float(y), DEFINITIONS[name](-3.0))


def test_out_buffer_is_written(xp):
    a = xp.asarray(np.array([0.0, 1.0]))
    out = xp.empty((2,))
    assert F.sigmoid(a, out=out) is out
    np.testing.assert_allclose(backend.to_numpy(out), [0.5, 1 / (1 + np.exp(-1))])


def test_unknown_name_is_named():
    with pytest.raises(ValueError, match=r"g='relu6' is not a known squashing function"):
        F.activation("relu6", "g")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_exp_forms_of_the_fast_paths_against_their_definitions(xp, dtype):
    """sigmoid_of_negative(a) = 1/(1 + e^a), tanh_via_exp(a) = fast_tanh(a) = tanh a, in place, with the
    overflow of e^a for large a giving the exact limits (the layers silence that warning)."""
    a = np.concatenate([np.linspace(-30, 30, 121), [-1e4, -100.0, 100.0, 1e4, 0.0, 1e-9]])
    for fn, ref in ((F.sigmoid_of_negative, 1 / (1 + np.exp(np.clip(a, -700, 700)))),
                    (F.tanh_via_exp, np.tanh(a)), (F.fast_tanh, np.tanh(a))):
        buf = xp.asarray(a.astype(dtype))
        with np.errstate(over="ignore"):
            out = fn(xp, buf, buf)
        assert out is buf
        got = backend.to_numpy(out)
        assert np.isfinite(got).all()
        tol = 1e-6 if dtype == "float32" else 1e-15
        np.testing.assert_allclose(got, ref, rtol=0, atol=tol)
    with np.errstate(over="ignore"):
        limits = backend.to_numpy(F.tanh_via_exp(xp, xp.asarray(np.array([-1e4, 1e4])), xp.empty((2,))))
    assert limits.tolist() == [-1.0, 1.0]
