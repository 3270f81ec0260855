"""Timing tasks of Gers, Schraudolph & Schmidhuber (2002), "Learning Precise Timing with LSTM".

Only the abstract of the paper and secondary notes were at hand, so these are simple,
documented versions; where a detail is our choice it says so. One input line and one output
unit, as in the paper's net (1 block of 1 cell). Time steps are 0-based array indices; the
paper's time t = 1, 2, ... is index t - 1.

* **MSD, measuring spike delays.** Input spikes (1.0, else 0.0) at T(n) = T(n-1) + F + I(n),
  T(0) = 0 in the paper's 1-based time, with a fixed base period F and a random extra delay
  I(n) drawn from a small set (e.g. {0, 1}: spikes 49 or 50 steps apart for F = 49, the
  paper's headline). At each spike the net must output I(n). One spike per sequence is the
  non-continual version (NMSD); many spikes in one stream without reset is the continual one.
  Our choice: the target counts at the spike steps only (mask), since the notes do not say what
  the output should be in between. A prediction is correct if its absolute error is below 0.49.
  With I(n) > 1 the target leaves [0, 1], so the output unit must be linear (the paper did so).
* **GTS, generating timed spikes.** No input (one constant-zero line); the net must emit a spike
  (target 1.0, else 0.0) every F steps, at indices F - 1, 2F - 1, ..., with no reset and no
  teacher forcing. The notes describe GTS as MSD with input and target exchanged; we implement
  only the constant-period case that the paper's abstract describes ("stable streams of
  precisely timed spikes"). Every step counts; correct if the absolute error is below 0.49.
* **PFG, periodic function generation.** No input; the target at step t is f(t) with period F:
  cos: (1 - cos(2 pi t / F)) / 2; tri: 1 - |1 - 2 (t mod F) / F| (rising from 0 to 1 and back);
  rect: 1 if (t mod F) > F / 2 else 0. Every step counts; correct if the absolute error is below
  0.3 (after the notes). The notes' triangle formula has its two cases swapped, which would
  leave [0, 1]; ours is the triangle that matches the cosine's phase.

Success is counted as in the paper: successive correct predictions from the start of a stream
(spikes for MSD and GTS, periods for PFG); the notes say training streams stop at the first
error or after 100 correct spike delays, and a test counts 1000 in a row.
"""
from __future__ import annotations

import numpy as np

from ..validate import check_number
from ._common import (Batch, as_rng, check_choice, check_dtype, check_int, check_outputs,
                      check_task, count_successive_correct)

__all__ = ["msd", "gts", "pfg", "periodic_target", "msd_success", "msd_successive_correct",
           "gts_success", "gts_successive_correct", "pfg_success", "pfg_successive_correct",
           "count_successive_correct"]

SHAPES = ("cos", "tri", "rect")


def msd(batch_size: int, rng, *, period: int = 10, delays=(0, 1), n_spikes: int = 1,
        dtype=np.float64) -> Batch:
    """Measuring spike delays: spikes at T(n) = T(n-1) + F + I(n); target I(n) at each spike.

    ``period`` is F, ``delays`` the set I(n) is drawn from (uniformly), ``n_spikes`` the spikes
    per stream (1 = NMSD). Streams are padded to the longest and masked; the mask is True at the
    spike steps only. ``info``: ``spikes`` ``(B, n_spikes)`` 0-based indices, ``delays`` the
    I(n) ``(B, n_spikes)``.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    period, n_spikes = check_int("period", period, 1), check_int("n_spikes", n_spikes, 1)
    choices = _delay_set(delays)
    rng, dtype = as_rng(rng), check_dtype(dtype)
    I = rng.choice(choices, size=(batch_size, n_spikes))
    spikes = np.cumsum(period + I, axis=1) - 1             # 0-based index of each spike
    lengths = spikes[:, -1] + 1
    T, cols = int(lengths.max()), np.arange(batch_size)[:, None]
    x = np.zeros((T, batch_size, 1), dtype=dtype)
    y = np.zeros((T, batch_size, 1), dtype=dtype)
    mask = np.zeros((T, batch_size), dtype=bool)
    x[spikes, cols, 0] = 1
    y[spikes, cols, 0] = I
    mask[spikes, cols] = True
    info = {"task": "msd", "period": period, "spikes": spikes, "delays": I}
    return Batch(x, y, mask, info, lengths)


def _delay_set(delays) -> np.ndarray:
    arr = np.asarray(delays)
    if (arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu" or (arr < 0).any()):
        raise ValueError(f"delays: expected a non-empty sequence of non-negative ints, "
                         f"got {delays!r}")
    return np.unique(arr)


def gts(batch_size: int, rng, *, period: int = 10, n_spikes: int = 10, dtype=np.float64) -> Batch:
    """Generating timed spikes: no input, target 1.0 every ``period`` steps (indices F - 1,
    2F - 1, ...), ``n_spikes`` spikes, every step counts. All streams are identical (the task is
    deterministic); ``rng`` is accepted for the common signature. ``info["spikes"]``: indices.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    period, n_spikes = check_int("period", period, 1), check_int("n_spikes", n_spikes, 1)
    as_rng(rng)
    dtype = check_dtype(dtype)
    T = period * n_spikes
    spikes = np.arange(1, n_spikes + 1) * period - 1
    x = np.zeros((T, batch_size, 1), dtype=dtype)
    y = np.zeros((T, batch_size, 1), dtype=dtype)
    y[spikes] = 1
    mask = np.ones((T, batch_size), dtype=bool)
    return Batch(x, y, mask, {"task": "gts", "period": period, "spikes": spikes},
                 np.full(batch_size, T))


def periodic_target(t, period, shape: str = "cos") -> np.ndarray:
    """The PFG target f(t) in [0, 1] for steps ``t`` (see the module docstring)."""
    check_choice("shape", shape, SHAPES)
    phase = np.mod(np.asarray(t, dtype=np.float64), period)
    if shape == "cos":
        return 0.5 * (1.0 - np.cos(2.0 * np.pi * phase / period))
    if shape == "tri":
        return 1.0 - np.abs(1.0 - 2.0 * phase / period)
    return (phase > period / 2.0).astype(np.float64)


def pfg(batch_size: int, rng, *, period: float = 10, shape: str = "cos", n_periods: int = 10,
        dtype=np.float64) -> Batch:
    """Periodic function generation: no input, target f(t) of period F at every step.

    ``shape`` is ``"cos"``, ``"tri"`` or ``"rect"``; the stream lasts ``ceil(n_periods * F)``
    steps. PAPERS.md: without peepholes only the cosine at F = 10 was learned. Deterministic;
    ``rng`` is accepted for the common signature.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    check_number("period", period, minimum=2)          # steps per period, may be fractional
    check_choice("shape", shape, SHAPES)
    n_periods = check_int("n_periods", n_periods, 1)
    as_rng(rng)
    dtype = check_dtype(dtype)
    T = int(np.ceil(n_periods * period))
    f = periodic_target(np.arange(T), period, shape).astype(dtype)
    x = np.zeros((T, batch_size, 1), dtype=dtype)
    y = np.repeat(f[:, None, None], batch_size, axis=1)
    mask = np.ones((T, batch_size), dtype=bool)
    return Batch(x, y, mask, {"task": "pfg", "period": period, "shape": shape},
                 np.full(batch_size, T))


def _correct(outputs, batch, tol):
    return (np.abs(outputs - batch.y)[..., 0] < tol) & batch.mask


def msd_success(outputs: np.ndarray, batch: Batch, *, tol: float = 0.49) -> np.ndarray:
    """Per stream: every spike delay measured (absolute error at each spike below 0.49).
    Returns bool ``(B,)``."""
    outputs = check_outputs(outputs, batch)
    check_task(batch, "msd")
    return (_correct(outputs, batch, tol) | ~batch.mask).all(axis=0)


def msd_successive_correct(outputs: np.ndarray, batch: Batch, *, tol: float = 0.49) -> np.ndarray:
    """Per stream: spike delays measured correctly in a row from the start. Int ``(B,)``."""
    outputs = check_outputs(outputs, batch)
    check_task(batch, "msd")
    return count_successive_correct(_correct(outputs, batch, tol), batch.mask)


def gts_success(outputs: np.ndarray, batch: Batch, *, tol: float = 0.49) -> np.ndarray:
    """Per stream: every step within 0.49 of the target, i.e. thresholding the output at 0.5
    gives exactly the spike train. Returns bool ``(B,)``."""
    outputs = check_outputs(outputs, batch)
    check_task(batch, "gts")
    return (_correct(outputs, batch, tol) | ~batch.mask).all(axis=0)


def gts_successive_correct(outputs: np.ndarray, batch: Batch, *, tol: float = 0.49) -> np.ndarray:
    """Per stream: spikes generated correctly in a row from the start, a spike counting only if
    every step up to and including it was right. Int ``(B,)``."""
    outputs = check_outputs(outputs, batch)
    check_task(batch, "gts")
    return count_successive_correct(_correct(outputs, batch, tol), batch.mask,
                                    events=(batch.y[..., 0] > 0.5) & batch.mask)


def pfg_success(outputs: np.ndarray, batch: Batch, *, tol: float = 0.3) -> np.ndarray:
    """Per stream: absolute error below 0.3 at every step. Returns bool ``(B,)``."""
    outputs = check_outputs(outputs, batch)
    check_task(batch, "pfg")
    return (_correct(outputs, batch, tol) | ~batch.mask).all(axis=0)


def pfg_successive_correct(outputs: np.ndarray, batch: Batch, *, tol: float = 0.3) -> np.ndarray:
    """Per stream: whole periods generated correctly in a row from the start (a period counts
    at its last step, index ceil((k+1) F) - 1). Int ``(B,)``."""
    outputs = check_outputs(outputs, batch)
    check_task(batch, "pfg")
    F = batch.info["period"]
    ends = np.ceil(np.arange(1, batch.T / F + 1) * F).astype(int) - 1
    events = np.zeros_like(batch.mask)
    events[ends[ends < batch.T]] = True
    return count_successive_correct(_correct(outputs, batch, tol), batch.mask, events & batch.mask)
