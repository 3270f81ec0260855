"""What every task module shares: the :class:`Batch`, the seed helper and the input checks.

Pure NumPy on the host. Arrays are time-major: ``x`` is ``(T, B, n_in)``, ``y`` is
``(T, B, n_out)`` and ``mask`` is ``(T, B)`` bool, True where the target counts. Sequences of
different lengths are padded with zeros at the end to the longest one and masked out there.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..validate import check_choice, check_int, check_seed  # noqa: F401  (the task modules' checks)

__all__ = ["Batch", "as_rng", "count_successive_correct"]


@dataclass
class Batch:
    """One batch of a task, time-major.

    Attributes
    ----------
    x : ndarray, shape ``(T, B, n_in)``
        Inputs; zero after the end of a shorter sequence.
    y : ndarray, shape ``(T, B, n_out)``
        Targets; only the entries where ``mask`` is True count.
    mask : ndarray of bool, shape ``(T, B)``
        True at the steps whose target counts (every step for next-symbol prediction, the last
        step only for adding or temporal order, the spike steps for spike-delay measurement).
    info : dict
        Task-specific facts used by the success criteria and handy for plots: ``"task"`` (the
        registry name) always, plus e.g. the strings, classes, marked positions.
    lengths : ndarray of int, shape ``(B,)``
        Number of real (unpadded) steps of each sequence; derived from ``mask`` (last True step
        + 1) when not given.
    """

    x: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    info: dict = field(default_factory=dict)
    lengths: np.ndarray | None = None

    def __post_init__(self):
        if self.lengths is None:
            T = self.mask.shape[0]
            last = T - 1 - np.argmax(self.mask[::-1], axis=0)
            self.lengths = np.where(self.mask.any(axis=0), last + 1, 0)

    @property
    def T(self) -> int:
        """Number of time steps (the longest sequence)."""
        return self.x.shape[0]

    @property
    def B(self) -> int:
        """Number of sequences."""
        return self.x.shape[1]

    @property
    def n_in(self) -> int:
        """Input dimension."""
        return self.x.shape[2]

    @property
    def n_out(self) -> int:
        """Target dimension."""
        return self.y.shape[2]

    @property
    def last(self) -> np.ndarray:
        """Index of the last real step of each sequence, shape ``(B,)``."""
        return self.lengths - 1


def as_rng(rng) -> np.random.Generator:
    """A :class:`numpy.random.Generator` from a Generator (returned as is) or an int seed >= 0."""
    return np.random.default_rng(check_seed("rng", rng, generator=True, none_ok=False))


def check_dtype(dtype) -> np.dtype:
    """A floating dtype (float64 by default in every generator)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype: expected a floating dtype such as numpy.float64, "
                         f"got {dtype!r}") from None
    if dt.kind != "f":
        raise ValueError(f"dtype: expected a floating dtype such as numpy.float64, got {dt}")
    return dt


def check_outputs(outputs, batch: Batch) -> np.ndarray:
    """The network's outputs as a NumPy array of the shape of ``batch.y``."""
    if not isinstance(batch, Batch):
        raise ValueError(f"batch: expected a minilstm.tasks Batch, got {type(batch).__name__}")
    if not isinstance(outputs, np.ndarray):
        raise ValueError(f"outputs: expected a NumPy array (use minilstm.to_numpy first), "
                         f"got {type(outputs).__name__}")
    if outputs.shape != batch.y.shape:
        raise ValueError(f"outputs: expected shape {batch.y.shape} (the shape of batch.y), "
                         f"got {outputs.shape}")
    return outputs


def check_task(batch: Batch, *tasks: str):
    """The criterion was written for ``tasks``; refuse a batch of another task."""
    task = batch.info.get("task")
    if task not in tasks:
        raise ValueError(f"batch: expected a batch of task {' or '.join(map(repr, tasks))}, "
                         f"got one of task {task!r}")


def one_hot(indices: np.ndarray, n: int, dtype) -> np.ndarray:
    """One-hot vectors: ``indices`` of any shape -> shape ``indices.shape + (n,)``."""
    out = np.zeros(indices.shape + (n,), dtype=dtype)
    np.put_along_axis(out, indices[..., None], 1, axis=-1)
    return out


def at_last_step(batch_lengths: np.ndarray, T: int) -> np.ndarray:
    """Mask ``(T, B)`` that is True only at each sequence's last step."""
    mask = np.zeros((T, len(batch_lengths)), dtype=bool)
    mask[batch_lengths - 1, np.arange(len(batch_lengths))] = True
    return mask


def valid_steps(batch_lengths: np.ndarray, T: int) -> np.ndarray:
    """Mask ``(T, B)`` that is True at every real (unpadded) step."""
    return np.arange(T)[:, None] < batch_lengths[None, :]


def count_successive_correct(correct, mask=None, events=None) -> np.ndarray:
    """How many successive correct predictions each stream makes from its start.

    ``correct`` is ``(T, B)`` bool, one verdict per step. Only steps where ``mask`` is True are
    judged (default: all). The count is the number of ``events`` steps (default: the judged
    steps) before the first judged step that is wrong; a wrong event step is not counted.

    This is how Gers et al. (2000) score the continual embedded Reber grammar (symbols predicted
    in a row, a "perfect" net reaching 10^6) and how Gers et al. (2002) score their timing tasks
    (spikes in a row; 1000 in a row at test).

    Returns an int array of shape ``(B,)``.
    """
    correct = np.asarray(correct, dtype=bool)
    if correct.ndim != 2:
        raise ValueError(f"correct: expected a (T, B) bool array, got shape {correct.shape}")
    mask = np.ones_like(correct) if mask is None else np.asarray(mask, dtype=bool)
    if mask.shape != correct.shape:
        raise ValueError(f"mask: expected shape {correct.shape}, got {mask.shape}")
    events = mask if events is None else np.asarray(events, dtype=bool)
    if events.shape != correct.shape:
        raise ValueError(f"events: expected shape {correct.shape}, got {events.shape}")
    failed = np.cumsum(mask & ~correct, axis=0) > 0   # True from the first wrong step on
    return np.sum(events & ~failed, axis=0)
