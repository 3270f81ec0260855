"""minilstm: LSTM from scratch, from the 1997 paper to peepholes and its variants.

The same code runs on NumPy (CPU) or CuPy (GPU); see :mod:`minilstm.backend`.
"""
from . import backend
from .backend import get_array_module, get_backend, gpu_available, to_numpy

__version__ = "0.1.0"

__all__ = ["backend", "get_array_module", "get_backend", "gpu_available", "to_numpy"]
