"""Shared fixtures: one ``xp`` fixture runs a test on every backend.

* ``numpy``  — the CPU;
* ``strict`` — minilstm.strict, the stand-in that refuses implicit NumPy conversion as CuPy does;
* ``cupy``   — real CuPy, marked ``gpu`` and skipped where no CUDA device is usable.
"""
import numpy as np
import pytest

from minilstm import backend

BACKENDS = [
    pytest.param("numpy", id="numpy"),
    pytest.param("strict", id="strict"),
    pytest.param("cupy", id="cupy", marks=pytest.mark.gpu),
]


@pytest.fixture(params=BACKENDS)
def xp(request):
    if request.param == "cupy" and not backend.gpu_available():
        pytest.skip("no usable CUDA device / CuPy here")
    return backend.get_backend(request.param)


@pytest.fixture
def rng():
    return np.random.default_rng(1997)
