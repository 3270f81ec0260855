"""minilstm: LSTM from scratch, from the 1997 paper to peepholes and its variants.

The same code runs on NumPy (CPU) or CuPy (GPU); see :mod:`minilstm.backend`.

A ten-second tour::

    import numpy as np, minilstm
    layer = minilstm.nn.presets.lstm_1997(n_in=7, n_blocks=3, cells_per_block=2, seed=0)
    x = np.random.default_rng(0).standard_normal((20, 4, 7))      # (T, B, I), time-major
    y, cache = layer.forward(x)                                    # y: (T, B, H)
    dx, grads = layer.backward(np.ones_like(y), cache)             # grads: the keys of layer.params
    print(minilstm.gradcheck(layer, x[:4, :2]).max_error)          # < 1e-7
    deep = minilstm.Stack([minilstm.Bidirectional(minilstm.LSTM(7, 8, seed=1), minilstm.LSTM(7, 8, seed=2)),
                           minilstm.GRU(16, 5, seed=3)], dropout=0.2, seed=0)
    y, cache = deep.forward(x, lengths=[20, 13, 7, 20])          # padded steps: y = 0, no effect
"""
from . import analysis, backend, functional, losses, nn, optim, tasks, train
from .backend import get_array_module, get_backend, gpu_available, to_numpy
from .gradcheck import gradcheck
from .nn import (GRU, LSTM, RNN, SLSTM, Bidirectional, CharVocab, Embedding, Linear, SequenceModel,
                 Stack, presets, reverse_sequences, sample, valid_mask)
from .rtrl1997 import TruncatedRTRL, sequence_gradient
from .train import TrialBatch, fit, fit_online

__version__ = "0.2.0"

__all__ = ["analysis", "backend", "functional", "losses", "nn", "optim", "presets", "tasks", "train",
           "get_array_module", "get_backend", "gpu_available", "to_numpy", "gradcheck",
           "GRU", "Linear", "LSTM", "SequenceModel", "RNN", "SLSTM",
           "TruncatedRTRL", "sequence_gradient",
           "Stack", "Bidirectional", "reverse_sequences", "Embedding", "valid_mask", "CharVocab",
           "sample", "fit", "fit_online", "TrialBatch"]
