"""The backend layer: dispatch from the data, explicit transfers, seeded host random numbers."""
import numpy as np
import pytest

from minilstm import backend, strict
from minilstm.backend import BackendError


def test_get_array_module_follows_the_data(xp):
    a = xp.zeros((2, 3))
    assert backend.get_array_module(a) is xp
    assert backend.get_array_module(a, 1.0, None) is xp
    assert backend.get_array_module() is np


def test_mixing_backends_is_refused():
    a, b = np.zeros(2), strict.zeros(2)
    with pytest.raises(BackendError, match="argument 0 is a numpy array.*argument 1 is a minilstm.strict"):
        backend.get_array_module(a, b)


def test_to_numpy_is_an_explicit_copy(xp):
    a = xp.asarray([1.0, 2.0])
    host = backend.to_numpy(a)
    assert type(host) is np.ndarray
    np.testing.assert_array_equal(host, [1.0, 2.0])


def test_seeded_random_numbers_are_the_same_on_every_backend(xp):
    a = backend.uniform(0, -0.2, 0.2, (3, 4), xp=xp)
    b = backend.uniform(0, -0.2, 0.2, (3, 4), xp=np)
    assert backend.get_array_module(a) is xp
    np.testing.assert_array_equal(backend.to_numpy(a), b)
    n = backend.normal(np.random.default_rng(5), (4,), scale=0.1, xp=xp, dtype=np.float32)
    assert n.dtype == np.float32
    np.testing.assert_array_equal(backend.to_numpy(n),
                                  (0.1 * np.random.default_rng(5).standard_normal(4)).astype(np.float32))


def test_get_backend_by_name_and_environment(monkeypatch):
    assert backend.get_backend("numpy") is np
    assert backend.get_backend("STRICT") is strict
    monkeypatch.setenv("MINILSTM_BACKEND", "strict")
    assert backend.get_backend() is strict
    monkeypatch.delenv("MINILSTM_BACKEND")
    assert backend.get_backend() is np
    with pytest.raises(BackendError, match="'torch' is not a backend; expected one of"):
        backend.get_backend("torch")
    monkeypatch.setenv("MINILSTM_BACKEND", "tpu")
    with pytest.raises(BackendError, match="environment variable MINILSTM_BACKEND='tpu'"):
        backend.get_backend()


def test_asking_for_cupy_without_a_gpu_says_why(monkeypatch):
    if backend.gpu_available():
        pytest.skip("a GPU is usable here")
    monkeypatch.setenv("MINILSTM_BACKEND", "cupy")
    with pytest.raises(BackendError, match="CuPy"):
        backend.get_backend()


def test_gpu_available_gates_on_is_available_not_on_import(monkeypatch):
    """CuPy imports on machines without a GPU; only is_available() tells."""
    import sys
    import types
    fake = types.ModuleType("cupy")
    fake.is_available = lambda: False
    monkeypatch.setitem(sys.modules, "cupy", fake)
    assert backend.gpu_available() is False
    fake.is_available = lambda: True
    assert backend.gpu_available() is True
    def broken():
        raise RuntimeError("CUDA driver version is insufficient")
    fake.is_available = broken
    assert backend.gpu_available() is False


def test_backend_name(xp):
    assert backend.backend_name(xp) == {np: "numpy", strict: "strict"}.get(xp, "cupy")
    assert backend.backend_name(xp.zeros(1)) == backend.backend_name(xp)
