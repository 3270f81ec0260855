r"""The BPTT training loops of the experiments, each for K trials packed in one :class:`TrialBatch`.

The 1997 experiments, trained by the paper's rule and by BPTT (their comparisons), run on the
trial axis of :mod:`minilstm.experiments.online`; the loops here train the nets that
:class:`~minilstm.train.online1997.Stack1997` does not hold (the Elman baseline; the peephole and
timing nets and the continual streams of the later papers):

* :func:`bptt_last_step` — tasks with masked targets, one at the end (adding, multiplication,
  temporal order, two-sequence, Exp. 2c) or at chosen steps (Exp. 2a/2b, the timing tasks):
  mini-batch BPTT with Adam, success judged on the training sequences themselves as the paper's
  stopping rule does ("the N most recent sequences processed correctly"), checked after every
  sequence;
* :func:`bptt_continual_reber` — the continual embedded Reber stream of Gers et al. (2000):
  truncated BPTT over windows of the stream with the state carried across windows (no reset
  inside a training stream), Adam, and a test on a fresh stream counting successive correct
  symbols.

Both are data and callbacks of :func:`minilstm.train.fit`, which trains the K packed trials: a
``data(step)`` that draws each trial's batch (or the next window of its streams, with the state
carried by ``fit(..., carry_state=...)``), and the experiment's own stopping rule as
``before_update`` (judged on the outputs the update trains on, so that a trial that succeeds is
stopped before that update reaches it) or ``after_update`` (a test on fresh streams). Each returns
a list of per-trial dicts (``success``, ``sequences_to_success``, ...) ready for JSON, with the
divergence record of :class:`~minilstm.train.trials.TrialBatch` that ``fit``'s guard keeps:
``diverged`` and ``diverged_at``, the loop's update (0-based: a time step for the online rule, a
mini-batch for BPTT) whose result was not finite, after which the trial was frozen at its last
good weights.
Every loop reports progress to ``progress``: None, a ``progress(message)`` callable, or a
:class:`~minilstm.train.Progress`, which is also moved to the sequences (strings, symbols) per
trial presented so far and so shows rate and ETA.
"""
from __future__ import annotations

import collections
import math
import time

import numpy as np

from .. import backend
from ..optim import Adam
from ..tasks import SUCCESS, TASKS
from ..train.fit import fit
from ..train.trials import select
from ..tasks.reber import EMBEDDED_REBER, SYMBOLS

__all__ = ["bptt_last_step", "bptt_continual_reber", "ReberStreams"]


def _out_of_time(progress, t0, time_limit, where) -> bool:
    """True (and said) once ``time_limit`` seconds have passed since ``t0``; ``where`` says how
    far the run got, e.g. ``"after 300 sequences"``."""
    if time_limit is None or time.perf_counter() - t0 <= time_limit:
        return False
    _say(progress, f"time limit {time_limit} s reached {where}")
    return True


def _say(progress, msg, done=None):
    """Report ``msg``; with ``done`` (sequences per trial so far) move a
    :class:`~minilstm.train.Progress` there, so that it shows rate and ETA."""
    if progress is None:
        return
    if done is not None and hasattr(progress, "update_to"):
        progress.update_to(done, msg)
    else:
        progress(msg)


def _divergence(tb, k) -> dict:
    """Trial k's divergence record: ``{"diverged": bool, "diverged_at": update or None}``."""
    return {"diverged": bool(tb.diverged[k]), "diverged_at": tb.diverged_at[k]}


# ---- Exp. 4 / 6a and the Elman baseline: mini-batch BPTT, error at the last step ----------------------
def bptt_last_step(tb, task, task_kwargs, rngs, test_rngs, *, batch, lr, budget, window,
                   mean_error_below, clip=None, lr_half_life=None, n_test=2560, progress=None,
                   time_limit=None, report_every=50, max_wrong=0, count="end",
                   test_kwargs=None):
    r"""Mini-batch BPTT with Adam on a masked-target task (one target at the end, or a target at
    chosen steps); K packed trials.

    Success (the 1997 paper's stopping rule for Exp. 4–6): the ``window`` (2,000) most recent
    training sequences were all processed correctly (:data:`minilstm.tasks.SUCCESS`, judged on
    the outputs of the forward pass that trained on them, i.e. before their update) and their
    mean squared error at the target is below ``mean_error_below`` (None: no error condition).
    It is checked after every sequence, so ``sequences_to_success`` is exact to the sequence.
    After training each trial is tested on ``n_test`` fresh sequences (the paper: 2,560) and the
    wrong ones are counted.

    ``max_wrong``: at most this many of the ``window`` most recent sequences may be wrong
    (default 0: all correct; Exp. 5 allows some). ``count``: ``"end"`` (default) counts the
    sequences presented up to the last one of the window; ``"start"`` counts those before the
    window (the sequences the net needed before its run of ``window`` correct ones began: Exp. 2
    reports 5,040 sequences for a criterion of 10,000 successive ones). ``test_kwargs`` override
    ``task_kwargs`` for the test sequences (e.g. longer streams for the timing tasks).
    ``lr_half_life`` (sequences, or None): Adam's step size is ``lr · 0.5^(n / lr_half_life)``
    after n sequences, so that the last errors above the strict threshold can die out.
    """
    if count not in ("end", "start"):
        raise ValueError(f"count must be 'end' or 'start', got {count!r}")
    K = tb.K
    gen, ok_fn = TASKS[task], SUCCESS[task]
    opt = Adam(tb.params, lr=lr)
    results = [dict(success=False, sequences_to_success=None) for _ in range(K)]
    recent_ok = [collections.deque() for _ in range(K)]      # the last `window` verdicts
    n_wrong = np.zeros(K, dtype=np.int64)                    # wrong ones among them
    errs = [[] for _ in range(K)]                            # recent squared errors
    t0 = time.perf_counter()
    now = dict(presented=0)                  # this update's batches and trials; sequences so far

    def data(u):                             # a batch for each trial still training
        active = np.flatnonzero(tb.active)
        bs = {k: gen(batch, rngs[k], **task_kwargs) for k in active}
        now.update(bs=bs, active=active)
        ref = bs[active[0]]
        xs, ys, ms = [], [], []
        for k in range(K):
            b = bs.get(k)
            xs.append(b.x if b is not None else np.zeros((1, batch, ref.n_in)))
            ys.append(b.y if b is not None else np.zeros((1, batch, ref.n_out)))
            ms.append(b.mask if b is not None else np.zeros((1, batch), dtype=bool))
        return tb.pack(xs), tb.pack(ys), tb.pack(ms)

    def judge(u, a_out):                     # the stopping rule, on the outputs trained on
        if lr_half_life:
            opt.lr = lr * 0.5 ** (u * batch / lr_half_life)
        outs = tb.split(tb.outputs(a_out))
        for k in now["active"]:
            b = now["bs"][k]
            out = outs[k][:b.T]
            ok = ok_fn(out, b)
            se = ((out - b.y) ** 2 * b.mask[..., None]).sum(axis=(0, 2)) / b.n_out   # (B,)
            errs[k].append(se)
            if len(errs[k]) > window // batch + 2:
                errs[k].pop(0)
            recent = np.concatenate(errs[k])
            for j in range(batch):
                recent_ok[k].append(bool(ok[j]))
                n_wrong[k] += not ok[j]
                if len(recent_ok[k]) > window:
                    n_wrong[k] -= not recent_ok[k].popleft()
                if len(recent_ok[k]) == window and n_wrong[k] <= max_wrong \
                        and not results[k]["success"]:
                    n_seen = u * batch + j + 1
                    start = len(recent) - batch + j + 1 - window
                    mean_err = float(recent[max(start, 0):len(recent) - batch + j + 1].mean())
                    if mean_error_below is None or mean_err < mean_error_below:
                        results[k].update(
                            success=True,
                            sequences_to_success=n_seen if count == "end" else n_seen - window,
                            mean_sq_error_at_success=mean_err)
                        if max_wrong:
                            results[k]["wrong_in_window_at_success"] = int(n_wrong[k])
                        break
        now["newly"] = [k for k in now["active"] if results[k]["success"]]
        for k in now["newly"]:   # stop at success: this batch's update must not reach them
            tb.freeze(k)

    def report(done, history):
        now["presented"] = presented = done * batch
        if progress is not None and (done % report_every == 0 or now["newly"]):
            losses = history.loss[-1]
            _say(progress, f"{presented} sequences/trial: {int((~tb.active).sum())}/{K} solved, "
                           f"mean loss {float(np.mean(losses[now['active']])):.4g}, "
                           f"{time.perf_counter() - t0:.0f} s", done=presented)
        return _out_of_time(progress, t0, time_limit, f"after {presented} sequences")

    fit(tb, data, opt, steps=int(math.ceil(budget / batch)), clip=clip, before_update=judge,
        after_update=report)
    presented = now["presented"]
    for k in range(K):
        results[k]["sequences_presented"] = (results[k]["sequences_to_success"]
                                             if results[k]["success"] else presented)
        results[k].update(_divergence(tb, k))
    # test on fresh sequences
    test_kwargs = dict(task_kwargs, **(test_kwargs or {}))
    wrong = np.zeros(K, dtype=np.int64)
    mse = np.zeros(K)
    chunk = 512
    for start in range(0, n_test, chunk):
        n = min(chunk, n_test - start)
        bs = [gen(n, test_rngs[k], **test_kwargs) for k in range(K)]
        outs = _test_outputs(tb, tb.pack([b.x for b in bs]))
        for k in range(K):
            out = outs[k][:bs[k].T]
            wrong[k] += int((~ok_fn(out, bs[k])).sum())
            mse[k] += float(((out - bs[k].y) ** 2 * bs[k].mask[..., None]).sum()) / bs[k].n_out
    for k in range(K):
        results[k]["test_wrong"] = int(wrong[k])
        results[k]["test_sequences"] = int(n_test)
        results[k]["test_mse"] = float(mse[k] / n_test) if np.isfinite(mse[k]) else None
    return results


def _test_outputs(tb, x):
    """Every trial's outputs on the packed test input ``x``: a list of K host arrays.

    Nets with unbounded units (the timing nets: g = h = identity) can overflow on long test
    streams, and in the wide products one trial's inf would turn the others' outputs into NaN
    (inf · 0). If the wide pass is not finite, each trial runs alone (the others' weights 0),
    and a trial whose own activations overflow gets NaN outputs: all its sequences count wrong.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        y, _ = tb.model.core.forward(x)
        if bool(tb.xp.isfinite(y).all()):
            return tb.split(tb.outputs(tb.model.readout.forward(y)[0]))
        saved = {n: p.copy() for n, p in tb.params.items()}
        outs = []
        try:
            for k in range(tb.K):
                for n, p in tb.params.items():
                    p[...] = select(tb.trial_mask(k)[n], saved[n])
                y, _ = tb.model.core.forward(x)
                if bool(tb.xp.isfinite(y).all()):
                    outs.append(tb.split(tb.outputs(tb.model.readout.forward(y)[0]))[k])
                else:
                    outs.append(np.full(x.shape[:2] + (tb.n_out,), np.nan))
        finally:
            for n, p in tb.params.items():
                p[...] = saved[n]
    return outs


# ---- the continual embedded Reber stream ---------------------------------------------------------
class ReberStreams:
    r"""Continual embedded Reber streams, many rows at once, drawn step by step in NumPy.

    The automaton of :data:`minilstm.tasks.reber.EMBEDDED_REBER` with its final state wired back
    to the start (Gers et al. 2000: strings concatenated, no reset), each arc of a branching
    state taken with probability 0.5. Row r's choices come from the uniforms passed to
    :meth:`next`, so each trial can draw its rows from its own generator. The input at step t is
    the symbol emitted, the target the set of symbols that may follow it (after an ``E``: ``B``),
    exactly as :func:`minilstm.tasks.continual_reber` but without cutting the stream into pieces.
    """

    def __init__(self, rows):
        names = {}
        auto = EMBEDDED_REBER
        order = [auto.start] + [s for s in auto.transitions if s != auto.start]
        for s in order:
            names[s] = len(names)
        n = len(names)
        self.n_arcs = np.zeros(n, dtype=np.int64)
        self.sym = np.zeros((n, 2), dtype=np.int64)
        self.nxt = np.zeros((n, 2), dtype=np.int64)
        self.legal = np.zeros((n, len(SYMBOLS)))
        index = {c: i for i, c in enumerate(SYMBOLS)}
        for s, i in names.items():
            arcs = list(auto.transitions[s].items())
            self.n_arcs[i] = len(arcs)
            for j, (c, t) in enumerate(arcs):
                self.sym[i, j] = index[c]
                self.nxt[i, j] = names[auto.start] if t == auto.accept else names[t]
            if len(arcs) == 1:
                self.sym[i, 1], self.nxt[i, 1] = self.sym[i, 0], self.nxt[i, 0]
        for s, i in names.items():
            if s != auto.accept:
                for c in auto.legal_next(s):
                    self.legal[i, index[c]] = 1.0
        self.start = names[auto.start]
        self.rows = int(rows)
        self.state = np.full(self.rows, self.start, dtype=np.int64)

    def reset(self):
        """Every row back to the start of a new stream."""
        self.state[...] = self.start

    def next(self, uniforms):
        """``uniforms (L, rows)`` in [0, 1) -> symbols ``(L, rows)`` int and targets
        ``(L, rows, 7)`` multi-hot (the legal successors of each emitted symbol)."""
        L = uniforms.shape[0]
        sym = np.empty((L, self.rows), dtype=np.int64)
        tgt = np.empty((L, self.rows, len(SYMBOLS)))
        s = self.state
        for t in range(L):
            c = (uniforms[t] < 0.5).astype(np.int64)
            sym[t] = self.sym[s, c]
            s = self.nxt[s, c]
            tgt[t] = self.legal[s]
        self.state = s
        return sym, tgt


def _wide_stream(streams, rngs, L, B, K, dtype):
    """One window of K trials × B rows: wide inputs and targets ``(L, B, K·7)`` (host)."""
    u = np.concatenate([rngs[k].random((L, B)) for k in range(K)], axis=1)   # (L, K·B)
    sym, tgt = streams.next(u)
    n = len(SYMBOLS)
    x = np.zeros((L, K * B, n), dtype=dtype)
    np.put_along_axis(x, sym[..., None], 1.0, axis=2)
    # rows are trial-major (k·B + b) -> wide layout (L, B, K·n)
    x = x.reshape(L, K, B, n).transpose(0, 2, 1, 3).reshape(L, B, K * n)
    y = tgt.reshape(L, K, B, n).transpose(0, 2, 1, 3).reshape(L, B, K * n).astype(dtype)
    return x, y


def stream_test(tb, rngs, *, length, chunk=1000, trials=None):
    r"""Successive correct symbols of each trial on a fresh continual stream (state never reset).

    A symbol is correct when every output's error is below 0.49 (Gers et al. 2000). Each trial
    reads its own stream (from ``rngs[k]``), ``length`` symbols at most, in chunks of ``chunk``
    with the state carried; stops early once every trial in ``trials`` (default: all) has made
    its first mistake. Returns an int array ``(K,)``.
    """
    xp, K = tb.xp, tb.K
    trials = np.arange(K) if trials is None else np.asarray(trials)
    streams = ReberStreams(K)
    count = np.zeros(K, dtype=np.int64)
    alive = np.ones(K, dtype=bool)
    state, done = None, 0
    while done < length and alive[trials].any():
        L = min(chunk, length - done)
        x, y = _wide_stream(streams, rngs, L, 1, K, tb.model.core.dtype)
        a_out, cache = tb.model.forward(xp.asarray(x), state)
        state = cache[0].state
        out = backend.to_numpy(tb.outputs(a_out))
        correct = (np.abs(out - y) < 0.49).reshape(L, K, len(SYMBOLS)).all(axis=2)   # (L, K)
        for k in np.flatnonzero(alive):
            bad = np.flatnonzero(~correct[:, k])
            if bad.size:
                count[k] += int(bad[0])
                alive[k] = False
            else:
                count[k] += L
        done += L
    return count


def bptt_continual_reber(tb, rngs, test_rngs, *, batch, window, stream_len, lr, budget,
                         check_every, test_len, final_test_len, clip=None, progress=None,
                         time_limit=None):
    r"""Truncated BPTT with Adam on the continual embedded Reber stream; K packed trials.

    Each trial trains on ``batch`` parallel streams. A training stream has ``stream_len``
    symbols (Gers et al.: 10^5) and the state is reset only at its start; inside it, the net
    reads windows of ``window`` symbols, the gradient is the BPTT gradient of the window, and the
    state is carried to the next window (truncated BPTT). Budget and counts are in **symbols
    presented per trial** (all of a trial's parallel streams together).

    Every ``check_every`` symbols, each active trial reads a fresh test stream; it succeeds when
    it predicts ``test_len`` successive symbols correctly (every output error < 0.49), and stops
    training then. At the end every trial reads one more fresh stream of ``final_test_len``
    symbols (the paper's "perfect": 10^6 in a row).
    """
    K = tb.K
    opt = Adam(tb.params, lr=lr)
    streams = ReberStreams(K * batch)
    results = [dict(success=False, sequences_to_success=None) for _ in range(K)]
    per_update = batch * window
    updates = int(math.ceil(budget / per_update))
    per_stream = max(1, math.ceil(stream_len / window))    # updates (windows) per training stream
    now = dict(next_check=check_every, presented=0)
    t0 = time.perf_counter()
    dtype = tb.model.core.dtype

    def data(u):                                         # the next window of every stream
        if u % per_stream == 0:                          # a new training stream: reset
            streams.reset()
        return (*_wide_stream(streams, rngs, window, batch, K, dtype), None)

    def test(done, history):                             # every check_every symbols, and at the end
        now["presented"] = presented = done * per_update
        if presented >= now["next_check"] or done == updates:
            now["next_check"] += check_every
            active = np.flatnonzero(tb.active)
            counts = stream_test(tb, test_rngs, length=test_len, trials=active)
            for k in active:
                results[k]["best_test_run"] = max(int(counts[k]),
                                                  results[k].get("best_test_run", 0))
                if counts[k] >= test_len:
                    results[k].update(success=True, sequences_to_success=presented)
                    tb.freeze(k)
            losses = history.loss[-1]
            _say(progress, f"{presented} symbols/trial: {int((~tb.active).sum())}/{K} solved, "
                           f"mean loss/symbol {float(np.mean(losses[active])) / window:.4g}, "
                           f"test runs {[int(counts[k]) for k in active][:8]}, "
                           f"{time.perf_counter() - t0:.0f} s", done=presented)
        return _out_of_time(progress, t0, time_limit, f"after {presented} symbols")

    fit(tb, data, opt, steps=updates, clip=clip, carry_state=per_stream, after_update=test)
    presented = now["presented"]
    for k in range(K):
        results[k]["sequences_presented"] = (results[k]["sequences_to_success"]
                                             if results[k]["success"] else presented)
        results[k].update(_divergence(tb, k))
    if final_test_len:
        final_rngs = [np.random.default_rng([int(r.integers(2**31)), 7]) for r in test_rngs]
        counts = stream_test(tb, final_rngs, length=final_test_len)
        for k in range(K):
            results[k]["final_test_run"] = int(counts[k])
            results[k]["perfect_final"] = bool(counts[k] >= final_test_len)
    return results
