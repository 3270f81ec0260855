"""The two-sequence problem (Bengio et al. 1994), as in Hochreiter & Schmidhuber (1997), Exp. 3.

One real-valued input line. Two classes, each with probability 0.5. Only the first N elements
carry the class: +1.0 for class 1, -1.0 for class 2; every later element is Gaussian noise with
mean 0 and variance 0.2. The length is drawn uniformly from the integers T ... T + T/10 (Bengio
et al. also allowed lengths down to T/2; the 1997 paper does not). The paper runs T = 100 and
1000 with N = 1 and 3. Error only at the sequence end.

Variants (``variant=``):

* ``"3a"``: the target is 1.0 for class 1 and 0.0 for class 2; a sequence is classified
  correctly if the absolute error at the end is below 0.2.
* ``"3b"``: as 3a, plus Gaussian noise (mean 0, variance 0.2) on the N informative elements.
* ``"3c"``: targets 0.2 (class 1) and 0.8 (class 2) with Gaussian noise of mean 0 and variance
  0.1 added to each target; the net must learn the conditional expectation. A sequence counts as
  misclassified if the output is more than 0.1 away from the noise-free target.

Where we are unsure: PAPERS.md records 3a only; the 3b and 3c settings above are from our
reading of the 1997 paper's text and should be checked against it. For N > 1 we put +1/-1 in
all N informative steps (the paper's N = 1 rule, repeated). The paper also stops 3c on a mean
absolute difference to the noise-free targets below 0.015 over the test set, which
:func:`two_sequence_mean_error` computes.
"""
from __future__ import annotations

import numpy as np

from ._common import (Batch, as_rng, at_last_step, check_choice, check_dtype, check_int,
                      check_outputs, check_task, valid_steps)

__all__ = ["two_sequence_problem", "two_sequence_success", "two_sequence_mean_error"]

NOISE_VAR = 0.2
TARGET_NOISE_VAR_3C = 0.1


def two_sequence_problem(batch_size: int, rng, *, T: int = 100, N: int = 3, variant: str = "3a",
                 dtype=np.float64) -> Batch:
    """A batch of the two-sequence problem: ``x`` ``(T_max, B, 1)``, ``y`` ``(T_max, B, 1)``.

    ``T`` is the minimal length (lengths uniform in ``T .. T + T // 10``), ``N`` the number of
    informative first elements. The target counts at the last real step only.
    ``info["cls"]`` is 1 or 2, ``info["clean_target"]`` the noise-free target (equal to the
    target except in 3c). See the module docstring for the variants.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    T, N = check_int("T", T, 1), check_int("N", N, 1)
    if N >= T:
        raise ValueError(f"N: expected fewer informative elements than the minimal length "
                         f"T={T}, got {N}")
    check_choice("variant", variant, ("3a", "3b", "3c"))
    rng, dtype = as_rng(rng), check_dtype(dtype)
    lengths = rng.integers(T, T + T // 10 + 1, size=batch_size)
    T_max = int(lengths.max())
    cls = np.where(rng.random(batch_size) < 0.5, 1, 2)
    sign = np.where(cls == 1, 1.0, -1.0)
    std = np.sqrt(NOISE_VAR)
    x = rng.normal(0.0, std, size=(T_max, batch_size))       # noise everywhere, then overwrite
    informative = np.repeat(sign[None], N, axis=0)
    if variant == "3b":
        informative = informative + x[:N]                     # same noise law, added
    x[:N] = informative
    valid = valid_steps(lengths, T_max)
    x = np.where(valid, x, 0.0)
    if variant == "3c":
        clean = np.where(cls == 1, 0.2, 0.8)
        target = clean + rng.normal(0.0, np.sqrt(TARGET_NOISE_VAR_3C), size=batch_size)
    else:
        clean = np.where(cls == 1, 1.0, 0.0)
        target = clean
    y = np.zeros((T_max, batch_size, 1))
    y[lengths - 1, np.arange(batch_size), 0] = target
    info = {"task": "two_sequence", "variant": variant, "T": T, "N": N, "cls": cls,
            "clean_target": clean}
    return Batch(x[..., None].astype(dtype), y.astype(dtype), at_last_step(lengths, T_max),
                 info, lengths)


def _final(outputs, batch):
    return outputs[batch.last, np.arange(batch.B), 0]


def two_sequence_success(outputs: np.ndarray, batch: Batch) -> np.ndarray:
    """Per sequence: correctly classified? 3a/3b: absolute error at the end below 0.2.
    3c: output within 0.1 of the noise-free target (0.2 or 0.8). Returns bool ``(B,)``.

    The paper's success: no test sequence misclassified.
    """
    outputs = check_outputs(outputs, batch)
    check_task(batch, "two_sequence")
    if batch.info["variant"] == "3c":
        return np.abs(_final(outputs, batch) - batch.info["clean_target"]) < 0.1
    return np.abs(_final(outputs, batch) - batch.info["clean_target"]) < 0.2


def two_sequence_mean_error(outputs: np.ndarray, batch: Batch) -> float:
    """Mean absolute difference between the final outputs and the noise-free targets (3c:
    the paper asks for below 0.015 on the test set)."""
    outputs = check_outputs(outputs, batch)
    check_task(batch, "two_sequence")
    return float(np.mean(np.abs(_final(outputs, batch) - batch.info["clean_target"])))
