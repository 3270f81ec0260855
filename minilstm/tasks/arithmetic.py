"""The adding problem and the multiplication problem: Hochreiter & Schmidhuber (1997), Exp. 4 and 5.

Each element is a pair (value, marker): 2 inputs, 1 output. The length is drawn uniformly from
the integers T ... T + T/10. Markers, as in the paper:

1. mark one of the first ten pairs at random (its value is X1);
2. mark one of the first T/2 - 1 still unmarked pairs at random (its value is X2);
3. marked pairs get marker 1.0, every other pair 0.0, except the first and the last pair, whose
   marker is -1.0.

The paper adds: "X1 is set to zero in the rare case where the first pair got marked" (1.0 for
multiplication). Our reading, stated precisely: the first pair keeps its marker -1 even when
it was drawn, so the net cannot see it as marked, and the marked value it stands for enters the
target as the neutral element (0 for adding, 1 for multiplication); its input value is left
as drawn. The target is then exactly the sum (product) of the values whose marker is +1, as the
task statement says, and such a sequence has only one +1 marker. The paper names X1 only; the
second draw can also land on the first pair (when X1 is elsewhere) and we treat it the same way.
"The first T/2 - 1 still unmarked pairs" is taken literally: the first T//2 - 1 positions that
are not X1's, so X2 may sit at position T//2 - 1 when X1 is before it.

* Adding (Exp. 4): values uniform in [-1, 1]; target 0.5 + (X1 + X2) / 4 at the last step;
  correct if the absolute error is below 0.04.
* Multiplication (Exp. 5): values uniform in [0, 1]; target X1 * X2; same criterion.
"""
from __future__ import annotations

import numpy as np

from ._common import (Batch, as_rng, at_last_step, check_dtype, check_int, check_outputs,
                      check_task, valid_steps)

__all__ = ["adding", "multiplication", "marker_positions", "adding_success",
           "multiplication_success"]


def marker_positions(batch_size: int, rng, T: int):
    """Draw lengths and the two marked positions per sequence (the paper's rule, 0-based).

    Returns ``(lengths, pos)``: ``lengths`` ``(B,)`` uniform in ``T .. T + T // 10``; ``pos``
    ``(B, 2)``: X1's position uniform in ``0..9``, X2's uniform among the first ``T // 2 - 1``
    positions other than X1's.
    """
    batch_size, T = check_int("batch_size", batch_size, 1), check_int("T", T, 12)
    rng = as_rng(rng)
    lengths = rng.integers(T, T + T // 10 + 1, size=batch_size)
    p1 = rng.integers(0, 10, size=batch_size)
    r = rng.integers(0, T // 2 - 1, size=batch_size)    # index among the unmarked pairs
    p2 = np.where(r < p1, r, r + 1)                     # skip X1's position
    return lengths, np.stack([p1, p2], axis=1)


def _marked_sequences(batch_size, rng, T, low, neutral, combine, dtype, task) -> Batch:
    rng, dtype = as_rng(rng), check_dtype(dtype)
    lengths, pos = marker_positions(batch_size, rng, T)
    T_max, cols = int(lengths.max()), np.arange(batch_size)
    values = rng.uniform(low, 1.0, size=(T_max, batch_size))
    markers = np.zeros((T_max, batch_size))
    markers[pos[:, 0], cols] = 1.0
    markers[pos[:, 1], cols] = 1.0
    markers[0] = -1.0                           # the first pair is -1 even if it was drawn
    markers[lengths - 1, cols] = -1.0
    valid = valid_steps(lengths, T_max)
    x = np.stack([values, markers], axis=2) * valid[..., None]
    X = values[pos.T, cols]                     # (2, B): X1, X2 as drawn
    X = np.where(pos.T == 0, neutral, X)        # a marked first pair counts as neutral
    y = np.zeros((T_max, batch_size, 1))
    y[lengths - 1, cols, 0] = combine(X[0], X[1])
    info = {"task": task, "T": T, "positions": pos, "X1": X[0], "X2": X[1]}
    return Batch(x.astype(dtype), y.astype(dtype), at_last_step(lengths, T_max), info, lengths)


def adding(batch_size: int, rng, *, T: int = 100, dtype=np.float64) -> Batch:
    """A batch of the adding problem (Exp. 4): ``x`` ``(T_max, B, 2)`` = (value, marker),
    target ``0.5 + (X1 + X2) / 4`` at the last real step (mask True there only).

    ``T`` is the minimal length (the paper: 100, 500, 1000; we need T >= 12 so that the first
    ten pairs and the last pair are distinct). ``info`` holds ``positions`` ``(B, 2)`` (0-based),
    ``X1``, ``X2`` (after the first-pair rule of the module docstring).
    """
    return _marked_sequences(batch_size, rng, T, -1.0, 0.0, lambda a, b: 0.5 + (a + b) / 4.0,
                             dtype, "adding")


def multiplication(batch_size: int, rng, *, T: int = 100, dtype=np.float64) -> Batch:
    """A batch of the multiplication problem (Exp. 5): values uniform in [0, 1], target
    ``X1 * X2`` at the last real step; markers and ``info`` as in :func:`adding` (a marked first
    pair counts as 1.0)."""
    return _marked_sequences(batch_size, rng, T, 0.0, 1.0, lambda a, b: a * b, dtype,
                             "multiplication")


def _final_abs_error(outputs, batch):
    return np.abs(outputs - batch.y)[batch.last, np.arange(batch.B), 0]


def adding_success(outputs: np.ndarray, batch: Batch, *, tol: float = 0.04) -> np.ndarray:
    """Per sequence: absolute error at the end below 0.04 (Exp. 4). The paper stops training
    when the mean training error is below 0.01 and the last 2,000 sequences were processed
    correctly. Returns bool ``(B,)``."""
    outputs = check_outputs(outputs, batch)
    check_task(batch, "adding")
    return _final_abs_error(outputs, batch) < tol


def multiplication_success(outputs: np.ndarray, batch: Batch, *, tol: float = 0.04) -> np.ndarray:
    """Per sequence: absolute error at the end below 0.04 (Exp. 5, which reports the number of
    test sequences with larger errors and the MSE). Returns bool ``(B,)``."""
    outputs = check_outputs(outputs, batch)
    check_task(batch, "multiplication")
    return _final_abs_error(outputs, batch) < tol
