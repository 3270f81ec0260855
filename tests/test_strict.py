"""The strict stand-in behaves like CuPy where CuPy breaks NumPy habits, and like NumPy elsewhere."""
import numpy as np
import pytest

from minilstm import strict


def test_implicit_conversion_to_numpy_is_refused():
    a = strict.ones((2, 2))
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.array(a)
    np.testing.assert_array_equal(a.get(), np.ones((2, 2)))  # the explicit way
    np.testing.assert_array_equal(strict.asnumpy(a), np.ones((2, 2)))


def test_arithmetic_with_numpy_arrays_is_refused_both_ways():
    a, h = strict.ones(3), np.ones(3)
    for op in (lambda: a + h, lambda: h + a, lambda: a * h, lambda: h @ strict.ones((3, 3)),
               lambda: strict.matmul(strict.ones((3, 3)), h), lambda: np.add(a, h)):
        with pytest.raises(TypeError, match="numpy.ndarray was mixed"):
            op()
    with pytest.raises(TypeError, match="mixed"):
        a[:] = h
    with pytest.raises(TypeError, match="out="):
        strict.tanh(a, out=np.empty(3))


def test_a_stray_np_call_is_caught():
    """The reason the stand-in exists: code that should say xp.sum says np.sum."""
    def layer_norm_buggy(x):
        return x / np.sqrt(np.sum(x * x))  # a stray np. call on data that may live on a GPU
    def layer_norm(x):
        return x / strict.sqrt(strict.sum(x * x)) if isinstance(x, strict.ndarray) else None
    x = strict.asarray([3.0, 4.0])
    with pytest.raises(TypeError, match=r"numpy.sum was called on a minilstm.strict array.*xp.sum"):
        layer_norm_buggy(x)
    assert layer_norm_buggy(np.array([3.0, 4.0])) is not None  # NumPy alone would not notice
    np.testing.assert_allclose(layer_norm(x).get(), [0.6, 0.8])
    with pytest.raises(TypeError):
        np.concatenate([x, x])


def test_scalars_mix_freely_and_results_stay_on_the_device():
    a = strict.asarray([1.0, 2.0])
    for r in (a * 2, 2.0 * a, np.float64(2.0) * a, a * np.float32(2), -a + 1, abs(-a), a ** 2,
              np.tanh(a), a > 1):
        assert isinstance(r, strict.ndarray)
    s = a.sum()
    assert isinstance(s, strict.ndarray) and s.ndim == 0  # reductions give 0-d arrays, as CuPy
    assert float(s) == 3.0 and s.item() == 3.0


def test_same_numbers_as_numpy():
    rng = np.random.default_rng(0)
    h, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 5))
    a, b = strict.asarray(h), strict.asarray(w)
    np.testing.assert_array_equal((a @ b).get(), h @ w)
    np.testing.assert_array_equal(strict.tanh(a).get(), np.tanh(h))
    np.testing.assert_array_equal(strict.concatenate([a, a], axis=1).get(), np.concatenate([h, h], 1))
    np.testing.assert_array_equal(strict.linalg.norm(a).get(), np.linalg.norm(h))
    np.testing.assert_array_equal(strict.add.reduce(a, axis=0).get(), h.sum(0))


def test_views_and_out_buffers_write_through():
    a = strict.zeros((2, 3))
    a[0] = strict.asarray([1.0, 2.0, 3.0])
    v = a[1]
    v += 5.0
    strict.multiply(a[0], 2.0, out=a[0])
    np.testing.assert_array_equal(a.get(), [[2, 4, 6], [5, 5, 5]])
    out = strict.empty((2, 2))
    r = strict.matmul(a, a.T, out=out)
    assert r is out


def test_random_and_unknown_namespaces_are_not_provided():
    with pytest.raises(AttributeError, match="host"):
        strict.random
