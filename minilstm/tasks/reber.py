"""The Reber grammar, the embedded Reber grammar and the continual embedded Reber stream.

Hochreiter & Schmidhuber (1997), Experiment 1: a net reads a string one symbol at a time and
predicts the next one. Seven symbols ``B T P S X V E``, one-hot in and out (7 inputs, 7 outputs).
Strings come from the automaton below, taking each of the two arcs of a state with probability
0.5. The embedded grammar wraps a Reber string as ``B T <reber> T E`` or ``B P <reber> P E``: to
predict the penultimate symbol the net must remember the second one across the whole inner string.

Reber automaton (state: symbol -> next state; 7 is the end)::

    0: B->1      1: T->2 P->3     2: S->2 X->4     3: T->3 V->5
    4: X->3 S->6 5: P->4 V->6     6: E->7

Targets are the *set* of legal next symbols (multi-hot), as in the papers: the next symbol itself
is random, only the set is predictable. The input at step t is the t-th symbol of the string, the
target the legal successors of the prefix up to it; the final ``E`` is never input (nothing
follows it), so a string of n symbols gives n - 1 steps.

Gers, Schmidhuber & Cummins (2000) concatenate embedded strings into one stream with no reset
(continual embedded Reber grammar): after the final ``E`` the next symbol is the next string's
``B``.
"""
from __future__ import annotations

import numpy as np

from ._common import (Batch, as_rng, check_int, check_dtype, check_outputs, check_task,
                      count_successive_correct, valid_steps)

__all__ = [
    "SYMBOLS", "Automaton", "REBER", "EMBEDDED_REBER",
    "is_reber", "is_embedded_reber", "reber_strings", "embedded_reber_strings", "reber_paths",
    "train_test_strings", "encode_strings", "plain_reber", "embedded_reber", "continual_reber",
    "reber_success", "next_symbol_targets", "continual_reber_correct", "continual_reber_successive_correct",
    "count_successive_correct",
]

SYMBOLS = "BTPSXVE"
"""The seven symbols, in the order of the one-hot units."""

_INDEX = {s: i for i, s in enumerate(SYMBOLS)}


class Automaton:
    """A finite automaton that generates strings: ``transitions[state] = {symbol: next_state}``.

    ``start`` is the initial state, ``accept`` the final one (it has no outgoing arcs). The
    generator takes each outgoing arc of a state with equal probability (0.5 for the two arcs
    of every branching Reber state, as in Hochreiter & Schmidhuber 1997).
    """

    def __init__(self, transitions: dict, start, accept):
        self.transitions = transitions
        self.start = start
        self.accept = accept

    def legal_next(self, state) -> frozenset:
        """The symbols that may follow in ``state`` (empty in the accepting state)."""
        return frozenset(self.transitions.get(state, {}))

    def run(self, string: str):
        """States visited while reading ``string``: a list of len(string) + 1 states, or None
        if some symbol has no arc."""
        states = [self.start]
        for sym in string:
            nxt = self.transitions.get(states[-1], {}).get(sym)
            if nxt is None:
                return None
            states.append(nxt)
        return states

    def accepts(self, string: str) -> bool:
        """True if ``string`` leads from ``start`` to ``accept``."""
        if not isinstance(string, str):
            raise ValueError(f"string: expected a str, got {type(string).__name__}")
        states = self.run(string)
        return states is not None and states[-1] == self.accept

    def sample(self, rng: np.random.Generator) -> str:
        """One string, choosing uniformly among the arcs of each state."""
        state, out = self.start, []
        while state != self.accept:
            arcs = list(self.transitions[state].items())
            sym, state = arcs[rng.integers(len(arcs))]
            out.append(sym)
        return "".join(out)

    def paths(self, max_len: int) -> list[str]:
        """Every accepted string of at most ``max_len`` symbols, sorted by length then text."""
        max_len = check_int("max_len", max_len, 0)
        found, stack = [], [(self.start, "")]
        while stack:
            state, prefix = stack.pop()
            if state == self.accept:
                found.append(prefix)
                continue
            if len(prefix) < max_len:
                stack.extend((nxt, prefix + sym) for sym, nxt in self.transitions[state].items())
        return sorted(found, key=lambda s: (len(s), s))


def _embed(inner: Automaton) -> Automaton:
    """``B T <inner> T E`` or ``B P <inner> P E``: two copies of ``inner``, one per branch."""
    t = {"b": {"B": "branch"}, "branch": {}}
    for branch in "TP":
        t["branch"][branch] = (branch, inner.start)
        for state, arcs in inner.transitions.items():
            t[(branch, state)] = {sym: (branch, nxt) for sym, nxt in arcs.items()}
        t[(branch, inner.accept)] = {branch: "end"}   # the inner E is followed by the same branch
    t["end"] = {"E": "accept"}
    t["accept"] = {}
    return Automaton(t, "b", "accept")


REBER = Automaton(
    {0: {"B": 1}, 1: {"T": 2, "P": 3}, 2: {"S": 2, "X": 4}, 3: {"T": 3, "V": 5},
     4: {"X": 3, "S": 6}, 5: {"P": 4, "V": 6}, 6: {"E": 7}, 7: {}},
    start=0, accept=7)
"""The Reber grammar (Fig. 5 of Hochreiter & Schmidhuber 1997)."""

EMBEDDED_REBER = _embed(REBER)
"""The embedded Reber grammar: ``B T <reber> T E`` or ``B P <reber> P E``."""


def is_reber(string: str) -> bool:
    """True if ``string`` is a (complete) Reber string, e.g. ``"BTSSXXTVVE"``."""
    return REBER.accepts(string)


def is_embedded_reber(string: str) -> bool:
    """True if ``string`` is a (complete) embedded Reber string, e.g. ``"BTBPVVETE"``."""
    return EMBEDDED_REBER.accepts(string)


def reber_strings(n: int, rng) -> list[str]:
    """``n`` random Reber strings (each arc of a branching state with probability 0.5)."""
    n, rng = check_int("n", n, 0), as_rng(rng)
    return [REBER.sample(rng) for _ in range(n)]


def embedded_reber_strings(n: int, rng) -> list[str]:
    """``n`` random embedded Reber strings (outer T/P with probability 0.5 each)."""
    n, rng = check_int("n", n, 0), as_rng(rng)
    return [EMBEDDED_REBER.sample(rng) for _ in range(n)]


def reber_paths(max_len: int, embedded: bool = False) -> list[str]:
    """Every Reber (or embedded Reber) string of at most ``max_len`` symbols.

    The automaton's paths, enumerated exhaustively: used to check that the generator can
    produce every string (and nothing else).
    """
    return (EMBEDDED_REBER if embedded else REBER).paths(max_len)


def train_test_strings(rng, n_train: int = 256, n_test: int = 256, embedded: bool = True):
    """A training set and a test set of random strings, as in Experiment 1 of the 1997 paper.

    The paper uses 256 training and 256 test strings, both random; test strings already in the
    training set are not used for testing, so we redraw them. Duplicates inside the training
    set are allowed (the paper does not say). Returns ``(train, test)``, two lists of str.
    """
    rng = as_rng(rng)
    n_train, n_test = check_int("n_train", n_train, 0), check_int("n_test", n_test, 0)
    auto = EMBEDDED_REBER if embedded else REBER
    train = [auto.sample(rng) for _ in range(n_train)]
    seen, test = set(train), []
    for _ in range(100 * n_test + 1000):
        if len(test) == n_test:
            break
        s = auto.sample(rng)
        if s not in seen:
            test.append(s)
    if len(test) < n_test:
        raise ValueError(f"n_test: could not draw {n_test} strings outside the training set, "
                         f"got {len(test)}")
    return train, test


def _legal_sets(auto: Automaton, string: str, continual: bool) -> list[frozenset]:
    """Legal successors after each prefix string[:t+1]; after the final E of a continual
    stream the successor is the next string's B."""
    states = auto.run(string)
    if states is None or states[-1] != auto.accept:
        raise ValueError(f"strings: expected strings of the grammar, got {string!r}")
    sets = [auto.legal_next(s) for s in states[1:]]
    if continual:
        sets[-1] = auto.legal_next(auto.start)
    return sets


def _encode(symbols: str, legal: list, T: int, dtype):
    x = np.zeros((T, len(SYMBOLS)), dtype=dtype)
    y = np.zeros((T, len(SYMBOLS)), dtype=dtype)
    n = len(symbols)
    x[np.arange(n), [_INDEX[s] for s in symbols]] = 1
    for t, allowed in enumerate(legal):
        y[t, [_INDEX[s] for s in allowed]] = 1
    return x, y


def encode_strings(strings, embedded: bool | None = None, dtype=np.float64) -> Batch:
    """A :class:`Batch` from given strings (e.g. a fixed training set of 256 strings).

    Step t of sequence b has input ``strings[b][t]`` (one-hot) and target the legal successors
    of ``strings[b][:t+1]`` (multi-hot); the final ``E`` is not input. Strings are padded to the
    longest with zeros and masked. ``embedded=None`` decides by the first string.
    """
    dtype = check_dtype(dtype)
    strings = list(strings)
    if not strings or not all(isinstance(s, str) for s in strings):
        raise ValueError(f"strings: expected a non-empty list of str, got {strings!r:.80}")
    if embedded is None:
        embedded = is_embedded_reber(strings[0])
    auto = EMBEDDED_REBER if embedded else REBER
    lengths = np.array([len(s) - 1 for s in strings])
    T = int(lengths.max())
    x = np.zeros((T, len(strings), len(SYMBOLS)), dtype=dtype)
    y = np.zeros_like(x)
    for b, s in enumerate(strings):
        legal = _legal_sets(auto, s, continual=False)[:-1]  # nothing follows the final E
        x[:, b], y[:, b] = _encode(s[:-1], legal, T, dtype)
    task = "embedded_reber" if embedded else "reber"
    return Batch(x, y, valid_steps(lengths, T), {"task": task, "strings": strings}, lengths)


def plain_reber(batch_size: int, rng, *, dtype=np.float64) -> Batch:
    """A batch of random Reber strings for next-symbol prediction (7 in, 7 out).

    Targets are the legal next symbols (multi-hot); mask True at every real step. The 1997
    paper trains on the *embedded* grammar only; the plain grammar is here as a warm-up.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    return encode_strings(reber_strings(batch_size, rng), embedded=False, dtype=dtype)


def embedded_reber(batch_size: int, rng, *, dtype=np.float64) -> Batch:
    """A batch of random embedded Reber strings: Hochreiter & Schmidhuber (1997), Exp. 1.

    ``info["strings"]`` holds the strings. The paper draws a fixed set of 256 training and
    256 test strings; use :func:`train_test_strings` and :func:`encode_strings` for that, this
    function draws fresh strings every call.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    return encode_strings(embedded_reber_strings(batch_size, rng), embedded=True, dtype=dtype)


def continual_reber(batch_size: int, rng, *, length: int = 1000, dtype=np.float64) -> Batch:
    """``batch_size`` continual embedded Reber streams of ``length`` symbols each.

    Gers, Schmidhuber & Cummins (2000): embedded Reber strings concatenated with no reset, the
    net predicting the legal next symbols at every step; after the final ``E`` of a string the
    target is ``B``. Their training streams have 10^5 symbols and a perfect net predicts 10^6
    in a row. Each of our streams is cut after ``length`` symbols (so its last string is usually
    unfinished); ``info["strings"]`` holds the symbols of each stream and ``info["starts"]`` the
    step at which each string begins.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    length = check_int("length", length, 1)
    rng, dtype = as_rng(rng), check_dtype(dtype)
    x = np.zeros((length, batch_size, len(SYMBOLS)), dtype=dtype)
    y = np.zeros_like(x)
    streams, starts = [], []
    for b in range(batch_size):
        symbols, legal, begin = [], [], []
        n = 0
        while n < length:
            s = EMBEDDED_REBER.sample(rng)
            begin.append(n)
            symbols.append(s)
            legal.extend(_legal_sets(EMBEDDED_REBER, s, continual=True))
            n += len(s)
        stream = "".join(symbols)[:length]
        x[:, b], y[:, b] = _encode(stream, legal[:length], length, dtype)
        streams.append(stream)
        starts.append(np.array(begin))
    mask = np.ones((length, batch_size), dtype=bool)
    return Batch(x, y, mask, {"task": "continual_reber", "strings": streams, "starts": starts},
                 np.full(batch_size, length))


def reber_success(outputs: np.ndarray, batch: Batch) -> np.ndarray:
    """Per string: was every symbol predicted? (Hochreiter & Schmidhuber 1997, Exp. 1.)

    At every masked step, with k the number of legal next symbols, the k most active outputs
    must be exactly the legal ones. We test it as ``min(outputs[legal]) > max(outputs[illegal])``
    so that a tie at the boundary counts as a failure. Returns bool of shape ``(B,)``.
    """
    outputs = check_outputs(outputs, batch)
    check_task(batch, "reber", "embedded_reber", "continual_reber")
    legal = batch.y > 0.5
    lowest_legal = np.where(legal, outputs, np.inf).min(axis=2)
    highest_illegal = np.where(legal, -np.inf, outputs).max(axis=2)
    ok = (lowest_legal > highest_illegal) | ~batch.mask
    return ok.all(axis=0)


def continual_reber_correct(outputs: np.ndarray, batch: Batch, *, tol: float = 0.49) -> np.ndarray:
    """Per step: correct iff every output's absolute error is below ``tol`` (0.49, Gers et al.
    2000), i.e. thresholding the outputs at 0.5 gives exactly the legal set.

    Returns bool of shape ``(T, B)`` (False at padded steps).
    """
    outputs = check_outputs(outputs, batch)
    check_task(batch, "reber", "embedded_reber", "continual_reber")
    return (np.abs(outputs - batch.y) < tol).all(axis=2) & batch.mask


def continual_reber_successive_correct(outputs: np.ndarray, batch: Batch,
                                       *, tol: float = 0.49) -> np.ndarray:
    """Per stream: the number of symbols predicted correctly in a row from the stream's start
    (Gers et al. 2000 call a net "perfect" when this reaches 10^6). Int array ``(B,)``."""
    correct = continual_reber_correct(outputs, batch, tol=tol)
    return count_successive_correct(correct, batch.mask)


def next_symbol_targets(batch):
    """One-hot targets of the *actual* next symbol of each string of an embedded-Reber ``batch``
    (Cleeremans et al. 1989; Smith & Zipser 1989): step t's target is the input at t + 1, and
    at the last step (input: the penultimate T or P) the final ``E``. Shaped like ``batch.y``;
    zero at padded steps."""
    y = np.zeros_like(batch.y)
    for b, L in enumerate(batch.lengths):
        L = int(L)
        y[:L - 1, b] = batch.x[1:L, b]
        y[L - 1, b, SYMBOLS.index("E")] = 1.0
    return y
