"""minilstm: LSTM from scratch, from the 1997 paper to peepholes and its variants.

The same code runs on NumPy (CPU) or CuPy (GPU); see :mod:`minilstm.backend`.

A ten-second tour::

    import numpy as np, minilstm
    layer = minilstm.presets.lstm_1997(n_in=7, n_blocks=3, cells_per_block=2, seed=0)
    x = np.random.default_rng(0).standard_normal((20, 4, 7))      # (T, B, I), time-major
    y, cache = layer.forward(x)                                    # y: (T, B, H)
    dx, grads = layer.backward(np.ones_like(y), cache)             # grads: the keys of layer.params
    print(minilstm.gradcheck(layer, x[:4, :2]).max_error)          # < 1e-7
"""
from . import analysis, backend, functional, losses, optim, presets, tasks
from .backend import get_array_module, get_backend, gpu_available, to_numpy
from .gradcheck import gradcheck
from .gru import GRU
from .layers import Linear
from .lstm import LSTM
from .model import SequenceModel
from .rnn import RNN
from .rtrl1997 import TruncatedRTRL, sequence_gradient

__version__ = "0.1.0"

__all__ = ["analysis", "backend", "functional", "losses", "optim", "presets", "tasks",
           "get_array_module", "get_backend", "gpu_available", "to_numpy", "gradcheck",
           "GRU", "Linear", "LSTM", "SequenceModel", "RNN",
           "TruncatedRTRL", "sequence_gradient"]
