"""Data generators and success criteria of the papers' tasks, on the host with NumPy.

Every generator has the signature ``gen(batch_size, rng, *, <task parameters>, dtype=float64)``
and returns a :class:`Batch` ``(x, y, mask, info, lengths)``: time-major ``x`` ``(T, B, n_in)``,
``y`` ``(T, B, n_out)``, ``mask`` ``(T, B)`` bool (where the target counts). ``rng`` is a
:class:`numpy.random.Generator` or an int seed; a seed gives the same batch on every machine.
Move the arrays to a GPU with ``xp.asarray`` if needed.

Every task has a success criterion taking the network's outputs (a NumPy array of the shape of
``y``) and the batch, returning per-sequence booleans (and, for streams, counts of successive
correct predictions).

Registry: ``TASKS[name]`` is the generator, ``DESCRIPTIONS[name]`` a one-line description,
``SUCCESS[name]`` the per-sequence criterion. Three generators are not called by their short
name because a submodule has it: ``plain_reber`` ("reber"), ``two_sequence_problem``
("two_sequence") and ``temporal_order_problem`` (6a and 6b in one, ``n_relevant=2`` or 3);
``minilstm.tasks.reber`` and the like are always the modules.

>>> from minilstm.tasks import TASKS, SUCCESS
>>> batch = TASKS["adding"](4, rng=0)
>>> batch.x.shape[1:], batch.y.shape[1:]
((4, 2), (4, 1))
>>> SUCCESS["adding"](batch.y, batch).tolist()
[True, True, True, True]
"""
from ._common import Batch, as_rng, count_successive_correct
from .arithmetic import adding, adding_success, multiplication, multiplication_success
from .long_lag import (long_lag_2a, long_lag_2a_success, long_lag_2b, long_lag_2b_success,
                       long_lag_2c, long_lag_2c_success)
from .reber import (continual_reber, continual_reber_correct, continual_reber_successive_correct,
                    embedded_reber, encode_strings, is_embedded_reber, is_reber, plain_reber,
                    reber_paths, reber_success, train_test_strings)
from .temporal_order import (temporal_order_6a, temporal_order_6b, temporal_order_problem,
                             temporal_order_success)
from .timing import (gts, gts_success, gts_successive_correct, msd, msd_success,
                     msd_successive_correct, pfg, pfg_success, pfg_successive_correct)
from .two_sequence import two_sequence_mean_error, two_sequence_problem, two_sequence_success


def _continual_reber_success(outputs, batch):
    """Per stream: every symbol of the stream predicted correctly (errors below 0.49)."""
    return continual_reber_correct(outputs, batch).sum(axis=0) == batch.lengths


TASKS = {
    "reber": plain_reber,
    "embedded_reber": embedded_reber,
    "continual_reber": continual_reber,
    "long_lag_2a": long_lag_2a,
    "long_lag_2b": long_lag_2b,
    "long_lag_2c": long_lag_2c,
    "two_sequence": two_sequence_problem,
    "adding": adding,
    "multiplication": multiplication,
    "temporal_order_6a": temporal_order_6a,
    "temporal_order_6b": temporal_order_6b,
    "msd": msd,
    "gts": gts,
    "pfg": pfg,
}
"""Short name -> generator ``gen(batch_size, rng, **params)``."""

DESCRIPTIONS = {
    "reber": "Reber grammar, next-symbol prediction (warm-up for Exp. 1), 7 in / 7 out",
    "embedded_reber": "embedded Reber grammar, next-symbol sets (1997 Exp. 1), 7 in / 7 out",
    "continual_reber": "continual embedded Reber stream without resets (Gers et al. 2000)",
    "long_lag_2a": "noise-free long lag: (y, a1..a_{p-1}, y) vs (x, ..., x), p = 100 (Exp. 2a)",
    "long_lag_2b": "long lag with a random middle, only the last symbol predictable (Exp. 2b)",
    "long_lag_2c": "very long minimal lag q+1 with p distractors, target after trigger e (Exp. 2c)",
    "two_sequence": "two-sequence problem: class in the first N inputs, then noise (Exp. 3a-c)",
    "adding": "adding problem: 0.5 + (X1+X2)/4 of two marked values, length >= T (Exp. 4)",
    "multiplication": "multiplication problem: X1*X2 of two marked values in [0,1] (Exp. 5)",
    "temporal_order_6a": "temporal order of 2 relevant X/Y among distractors, 4 classes (Exp. 6a)",
    "temporal_order_6b": "temporal order of 3 relevant X/Y among distractors, 8 classes (Exp. 6b)",
    "msd": "measuring spike delays: output the extra delay I(n) at each spike (Gers et al. 2002)",
    "gts": "generating timed spikes: a spike every F steps with no input (Gers et al. 2002)",
    "pfg": "periodic function generation: cos/tri/rect of period F, no input (Gers et al. 2002)",
}
"""Short name -> one-line description (for ``--help`` texts)."""

SUCCESS = {
    "reber": reber_success,
    "embedded_reber": reber_success,
    "continual_reber": _continual_reber_success,
    "long_lag_2a": long_lag_2a_success,
    "long_lag_2b": long_lag_2b_success,
    "long_lag_2c": long_lag_2c_success,
    "two_sequence": two_sequence_success,
    "adding": adding_success,
    "multiplication": multiplication_success,
    "temporal_order_6a": temporal_order_success,
    "temporal_order_6b": temporal_order_success,
    "msd": msd_success,
    "gts": gts_success,
    "pfg": pfg_success,
}
"""Short name -> per-sequence success criterion ``success(outputs, batch) -> bool (B,)``."""


def describe() -> str:
    """The registry as aligned ``name  description`` lines (for ``--help``)."""
    width = max(map(len, TASKS))
    return "\n".join(f"{name:<{width}}  {DESCRIPTIONS[name]}" for name in TASKS)


__all__ = [
    "Batch", "as_rng", "count_successive_correct", "TASKS", "DESCRIPTIONS", "SUCCESS", "describe",
    "plain_reber", "embedded_reber", "continual_reber", "encode_strings", "train_test_strings",
    "is_reber", "is_embedded_reber", "reber_paths", "reber_success", "continual_reber_correct",
    "continual_reber_successive_correct",
    "long_lag_2a", "long_lag_2b", "long_lag_2c", "long_lag_2a_success", "long_lag_2b_success",
    "long_lag_2c_success",
    "two_sequence_problem", "two_sequence_success", "two_sequence_mean_error",
    "adding", "multiplication", "adding_success", "multiplication_success",
    "temporal_order_problem", "temporal_order_6a", "temporal_order_6b", "temporal_order_success",
    "msd", "gts", "pfg", "msd_success", "msd_successive_correct", "gts_success",
    "gts_successive_correct", "pfg_success", "pfg_successive_correct",
]
