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


# ---- as strict as CuPy 14 where CuPy differs from NumPy ----------------------------------------
def test_only_names_cupy_has():
    assert strict.CUPY_VERSION.startswith("14.")
    for name in ("errstate", "insert", "geomspace", "nditer", "frompyfunc"):   # NumPy only
        with pytest.raises(AttributeError, match=f"xp.{name}: CuPy has no such name"):
            getattr(strict, name)
    with pytest.raises(AttributeError, match=r"xp.linalg.matrix_exp"):
        strict.linalg.matrix_exp
    for name in ("tanh", "matmul", "einsum", "where", "float32", "pi", "newaxis"):
        getattr(strict, name)                                        # CuPy has these


@pytest.mark.parametrize("call,keyword", [
    (lambda a: strict.tanh(a, where=a > 0), "where"),             # NumPy-only ufunc keywords
    (lambda a: strict.add(a, a, order="C"), "order"),
    (lambda a: strict.max(a, initial=0.0), "initial"),            # NumPy-only reduction keywords
    (lambda a: strict.sum(a, where=a > 0), "where"),
    (lambda a: a.sum(where=a > 0), "where"),
    (lambda a: a.max(initial=0.0), "initial"),
    (lambda a: strict.zeros(3, like=a), "like"),
    (lambda a: strict.add.reduce(a, initial=0.0), "initial"),
])
def test_keywords_cupy_does_not_take_are_refused(call, keyword):
    a = strict.ones(3)
    with pytest.raises(TypeError, match=rf"\['{keyword}'\] that CuPy 14.*does not accept"):
        call(a)


def test_ufunc_methods_only_where_cupy_has_them():
    a, idx = strict.zeros(4), strict.asarray([0, 0, 2])
    strict.add.at(a, idx, 1.0)                                      # scatter-add: CuPy has it
    np.testing.assert_array_equal(a.get(), [2, 0, 1, 0])
    strict.maximum.at(a, idx, 5.0)
    np.testing.assert_array_equal(strict.add.reduce(a).get(), 10.0)          # [5, 0, 5, 0]
    for ufunc, method in ((strict.multiply, "at"), (strict.maximum, "reduce"),
                          (strict.logaddexp, "at"), (strict.subtract, "accumulate")):
        with pytest.raises(AttributeError, match=f"CuPy 14.* has no {method} for"):
            getattr(ufunc, method)


def test_no_index_a_device_array_is_not_a_python_integer():
    n = strict.asarray(3)
    for use in (lambda: range(n), lambda: [1, 2, 3, 4][n], lambda: "ab" * n):
        with pytest.raises(TypeError):
            use()
    assert strict.arange(5)[n].get() == 3                          # device indexing still works


def test_every_device_to_host_transfer_is_counted():
    a = strict.asarray([[1.5, 2.0], [3.0, 4.0]])
    s = a.sum()
    with strict.Transfers() as t:
        float(s), int(s), bool(s > 0), complex(s)
        s.item(), a.tolist(), a.get(), strict.asnumpy(a)
        repr(a), str(a), f"{s:.2f}"
        b = a * 2 + strict.tanh(a)                                   # device work: not counted
        with strict.Transfers() as inner:
            b.get()
    assert t.total == 12 and inner.total == 1
    assert t.kinds == {"float": 1, "int": 1, "bool": 1, "complex": 1, "item": 1, "tolist": 1,
                       "get": 3, "repr": 1, "str": 1, "format": 1}
    with strict.Transfers() as none:
        for row in a:                                                # rows stay on the device
            row + 1
        len(a), a.shape, a.dtype
    assert none.total == 0
