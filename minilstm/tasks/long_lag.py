"""Noise-free and noisy sequences with long time lags: Hochreiter & Schmidhuber (1997), Exp. 2.

**2a (noise-free).** p + 1 symbols a_1 ... a_{p-1}, x = a_p, y = a_{p+1}, one-hot (p + 1 inputs
and outputs). Only two sequences, each with probability 0.5: ``(y, a_1, ..., a_{p-1}, y)`` and
``(x, a_1, ..., a_{p-1}, x)``. The net predicts the next symbol at every step; only the last
prediction needs the first symbol, stored for p steps. p = 100 in the paper.

**2b (no local regularities).** As 2a, but the middle a_{i_1} ... a_{i_{p-1}} is drawn at random
(uniformly, with replacement) from a_1 ... a_{p-1} for every sequence. Every next symbol is still
a target, but only the final x or y is predictable.

**2c (very long minimal lags, p distractors).** p + 4 symbols: distractors a_1 ... a_p, then
e (trigger), b (start), x, y; p + 4 inputs, 2 outputs (x, y). A sequence is
``(b, x, a_{i_1}, ..., a_{i_{q+k}}, e, x)`` or the same with y, each class with probability 0.5:
a prefix of q + 2 symbols (b, the class symbol, q random distractors), then further random
distractors, each one continuing with probability 9/10, until the trigger e comes (probability
1/10 at each step), and finally the class symbol again. So k >= 0 is geometric,
P(k) = 0.1 * 0.9^k, the length is q + 4 + k (minimum q + 4, mean q + 13) and the lag from the
class symbol to the trigger is at least q + 1. Error only at the end: the net reads the sequence
up to and including e and must then output the final symbol (x or y) on its two output units.
"""
from __future__ import annotations

import numpy as np

from ._common import (Batch, as_rng, at_last_step, check_dtype, check_int, check_outputs,
                      check_task, one_hot, valid_steps)

__all__ = ["long_lag_2a", "long_lag_2b", "long_lag_2c",
           "long_lag_2a_success", "long_lag_2b_success", "long_lag_2c_success"]


def _two_sequences(batch_size, rng, p, dtype, random_middle: bool, task: str) -> Batch:
    batch_size, p = check_int("batch_size", batch_size, 1), check_int("p", p, 2)
    rng, dtype = as_rng(rng), check_dtype(dtype)
    x_sym, y_sym = p - 1, p                                      # a_p = x, a_{p+1} = y (0-based)
    first = np.where(rng.random(batch_size) < 0.5, x_sym, y_sym)  # (B,)
    if random_middle:
        middle = rng.integers(0, p - 1, size=(p - 1, batch_size))  # a_1..a_{p-1}
    else:
        middle = np.repeat(np.arange(p - 1)[:, None], batch_size, axis=1)
    symbols = np.concatenate([first[None], middle, first[None]], axis=0)  # (p + 1, B)
    x = one_hot(symbols[:-1], p + 1, dtype)                                # (p, B, p + 1)
    y = one_hot(symbols[1:], p + 1, dtype)
    mask = np.ones((p, batch_size), dtype=bool)
    info = {"task": task, "p": p, "symbols": symbols, "is_x": first == x_sym}
    return Batch(x, y, mask, info, np.full(batch_size, p))


def long_lag_2a(batch_size: int, rng, *, p: int = 100, dtype=np.float64) -> Batch:
    """Exp. 2a: ``(y, a_1..a_{p-1}, y)`` or ``(x, a_1..a_{p-1}, x)``, next-symbol targets.

    ``x`` is ``(p, B, p + 1)``: the first p symbols; ``y`` the next ones; mask True everywhere
    (the paper has error signals at every step). Unit i - 1 is a_i, unit p - 1 is x, unit p is y.
    ``info["is_x"]`` tells which of the two sequences each one is.
    """
    return _two_sequences(batch_size, rng, p, dtype, random_middle=False, task="long_lag_2a")


def long_lag_2b(batch_size: int, rng, *, p: int = 100, dtype=np.float64) -> Batch:
    """Exp. 2b: as 2a with a random middle drawn uniformly from a_1..a_{p-1} per sequence.

    Mask True at every step as in the paper (every next symbol is a target), although only the
    final prediction is possible; :func:`long_lag_2b_success` judges that final step only.
    """
    return _two_sequences(batch_size, rng, p, dtype, random_middle=True, task="long_lag_2b")


def long_lag_2c(batch_size: int, rng, *, q: int = 100, p: int = 100, dtype=np.float64) -> Batch:
    """Exp. 2c: ``(b, y, a_i ..., e, y)`` / ``(b, x, a_i ..., e, x)`` with q + k distractors.

    Inputs are the sequence without its final symbol, so the last real step reads the trigger e
    and the target ``(1, 0)`` (x) or ``(0, 1)`` (y) counts there only. Units: a_1..a_p are
    0..p-1, then e = p, b = p + 1, x = p + 2, y = p + 3. The paper runs (q, p) from (50, 50) to
    (1000, 1000) and (1000, 50). ``info["k"]`` holds the extra distractors, ``info["is_x"]`` the
    class. See the module docstring for the length distribution.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    q, p = check_int("q", q, 0), check_int("p", p, 1)
    rng, dtype = as_rng(rng), check_dtype(dtype)
    e, b, xs, ys = p, p + 1, p + 2, p + 3
    is_x = rng.random(batch_size) < 0.5
    k = rng.geometric(0.1, size=batch_size) - 1          # extra distractors, P(k) = 0.1 * 0.9^k
    lengths = q + k + 3                                  # inputs: b, class, q + k distractors, e
    T = int(lengths.max())
    symbols = rng.integers(0, p, size=(T, batch_size))   # distractors everywhere, then overwrite
    cols = np.arange(batch_size)
    symbols[0] = b
    symbols[1] = np.where(is_x, xs, ys)
    symbols[lengths - 1, cols] = e
    valid = valid_steps(lengths, T)
    x = one_hot(symbols, p + 4, dtype) * valid[..., None]
    mask = at_last_step(lengths, T)
    y = np.zeros((T, batch_size, 2), dtype=dtype)
    y[lengths - 1, cols, np.where(is_x, 0, 1)] = 1
    info = {"task": "long_lag_2c", "q": q, "p": p, "k": k, "is_x": is_x,
            "symbols": np.where(valid, symbols, -1)}
    return Batch(x, y, mask, info, lengths)


def _max_abs_error(outputs, batch, final_only: bool) -> np.ndarray:
    err = np.abs(outputs - batch.y).max(axis=2)            # (T, B)
    if final_only:
        return err[batch.last, np.arange(batch.B)]
    return np.where(batch.mask, err, 0).max(axis=0)


def long_lag_2a_success(outputs: np.ndarray, batch: Batch, *, tol: float = 0.25,
                        final_only: bool = False) -> np.ndarray:
    """Per sequence: maximal absolute error of all output units below ``tol`` = 0.25.

    The paper asks this of 10,000 successive sequences. Every target of 2a is predictable, so
    by default we judge every step (``final_only=False``); the paper's wording may mean the final
    prediction only, which ``final_only=True`` gives. Returns bool ``(B,)``.
    """
    outputs = check_outputs(outputs, batch)
    check_task(batch, "long_lag_2a", "long_lag_2b")
    return _max_abs_error(outputs, batch, final_only) < tol


def long_lag_2b_success(outputs: np.ndarray, batch: Batch, *, tol: float = 0.25) -> np.ndarray:
    """Per sequence: absolute error of every output unit at the final prediction below 0.25.

    The random middle of 2b cannot be predicted, so (our reading) only the final x/y
    prediction is judged. Returns bool ``(B,)``.
    """
    outputs = check_outputs(outputs, batch)
    check_task(batch, "long_lag_2b", "long_lag_2a")
    return _max_abs_error(outputs, batch, final_only=True) < tol


def long_lag_2c_success(outputs: np.ndarray, batch: Batch, *, tol: float = 0.2) -> np.ndarray:
    """Per sequence: error of both output units at the end below 0.2 (the paper asks this of
    10,000 successive random sequences). Returns bool ``(B,)``."""
    outputs = check_outputs(outputs, batch)
    check_task(batch, "long_lag_2c")
    return _max_abs_error(outputs, batch, final_only=True) < tol
