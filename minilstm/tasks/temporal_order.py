"""The temporal order problem: Hochreiter & Schmidhuber (1997), Exp. 6a and 6b.

Eight symbols ``a b c d B E X Y``, one-hot (8 inputs). A sequence starts with E, ends with the
trigger B, and is otherwise made of random symbols from {a, b, c, d}, except for two (6a) or
three (6b) relevant elements that are X or Y. The length is uniform in 100 ... 110; the
relevant elements sit at positions t1 in [10, 20] and t2 in [50, 60] (6a), or t1 in [10, 20],
t2 in [33, 43], t3 in [66, 76] (6b). The class depends on the temporal order of X and Y:

* 6a, 4 classes: XX -> Q, XY -> R, YX -> S, YY -> U;
* 6b, 8 classes: XXX -> Q, XXY -> R, XYX -> S, XYY -> U, YXX -> V, YXY -> A, YYX -> B, YYY -> C.

We number the classes in that order, i.e. the binary number with X = 0, Y = 1, first relevant
symbol most significant. The target is the class, one-hot, at the last step (the one that
reads B); a sequence is classified correctly if the final absolute error of every output unit
is below 0.3.

Positions: the paper counts sequence positions from 1 (position 1 is the E); we read them that
way, so position t is array index t - 1. ``info["indices"]`` holds the 0-based indices.
"""
from __future__ import annotations

import numpy as np

from ._common import (Batch, as_rng, at_last_step, check_dtype, check_int, check_outputs,
                      check_task, one_hot, valid_steps)

__all__ = ["SYMBOLS", "CLASS_NAMES", "WINDOWS", "temporal_order_problem", "temporal_order_6a",
           "temporal_order_6b", "temporal_order_success"]

SYMBOLS = ("a", "b", "c", "d", "B", "E", "X", "Y")
"""The eight symbols, in the order of the one-hot input units."""

CLASS_NAMES = {2: ("Q", "R", "S", "U"), 3: ("Q", "R", "S", "U", "V", "A", "B", "C")}
"""The paper's class names, indexed by class number, for 2 and 3 relevant symbols."""

WINDOWS = {2: ((10, 20), (50, 60)), 3: ((10, 20), (33, 43), (66, 76))}
"""Paper positions (1-based, inclusive) of the relevant symbols, for 2 and 3 of them."""

LENGTHS = (100, 110)
_IDX = {s: i for i, s in enumerate(SYMBOLS)}


def temporal_order_problem(batch_size: int, rng, *, n_relevant: int = 2, dtype=np.float64) -> Batch:
    """A batch of the temporal order problem with 2 (Exp. 6a) or 3 (Exp. 6b) relevant symbols.

    ``x`` ``(T_max, B, 8)``, ``y`` ``(T_max, B, 2 ** n_relevant)`` one-hot class at the last real
    step (mask True there only). ``info``: ``cls`` ``(B,)``, ``relevant`` ``(B, n)`` with 0 for X
    and 1 for Y, ``indices`` ``(B, n)`` 0-based, ``symbols`` ``(T_max, B)`` (-1 after the end).
    """
    batch_size = check_int("batch_size", batch_size, 1)
    n = check_int("n_relevant", n_relevant, 2, 3)
    rng, dtype = as_rng(rng), check_dtype(dtype)
    lengths = rng.integers(LENGTHS[0], LENGTHS[1] + 1, size=batch_size)
    T_max, cols = int(lengths.max()), np.arange(batch_size)
    symbols = rng.integers(0, 4, size=(T_max, batch_size))          # a, b, c, d
    symbols[0] = _IDX["E"]
    symbols[lengths - 1, cols] = _IDX["B"]
    positions = np.stack([rng.integers(lo, hi + 1, size=batch_size) for lo, hi in WINDOWS[n]], 1)
    indices = positions - 1
    relevant = rng.integers(0, 2, size=(batch_size, n))             # 0 = X, 1 = Y
    symbols[indices.T, cols] = _IDX["X"] + relevant.T
    cls = relevant @ (2 ** np.arange(n - 1, -1, -1))
    valid = valid_steps(lengths, T_max)
    x = one_hot(symbols, len(SYMBOLS), dtype) * valid[..., None]
    y = np.zeros((T_max, batch_size, 2 ** n), dtype=dtype)
    y[lengths - 1, cols, cls] = 1
    info = {"task": f"temporal_order_6{'a' if n == 2 else 'b'}", "n_relevant": n, "cls": cls,
            "relevant": relevant, "indices": indices, "symbols": np.where(valid, symbols, -1)}
    return Batch(x, y, at_last_step(lengths, T_max), info, lengths)


def temporal_order_6a(batch_size: int, rng, *, dtype=np.float64) -> Batch:
    """Exp. 6a: two relevant symbols (positions 10-20 and 50-60), 4 classes."""
    return temporal_order_problem(batch_size, rng, n_relevant=2, dtype=dtype)


def temporal_order_6b(batch_size: int, rng, *, dtype=np.float64) -> Batch:
    """Exp. 6b: three relevant symbols (positions 10-20, 33-43, 66-76), 8 classes."""
    return temporal_order_problem(batch_size, rng, n_relevant=3, dtype=dtype)


def temporal_order_success(outputs: np.ndarray, batch: Batch, *, tol: float = 0.3) -> np.ndarray:
    """Per sequence: final absolute error of every output unit below 0.3. Returns bool ``(B,)``."""
    outputs = check_outputs(outputs, batch)
    check_task(batch, "temporal_order_6a", "temporal_order_6b")
    err = np.abs(outputs - batch.y)[batch.last, np.arange(batch.B)]     # (B, n_out)
    return (err < tol).all(axis=1)
