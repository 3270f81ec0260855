r"""The 1997 experiments trained as the paper trained them: online, K trials on one array axis.

Every trial of a :class:`~minilstm.train.online1997.Stack1997` reads its own stream of sequences
(drawn from its own generator), one after another, and the K trials step in lockstep: at step t
trial k is somewhere in its own current sequence. When a sequence ends, that trial's activations
and partials are reset (Sec. 4 of the paper: "activations reset after every sequence") and its
next sequence starts at the next step; the other trials are untouched. At every step each trial
gets the error of that step where its task gives a target (every step in Exp. 1, 2a, 2b; the last
step in the others) and its weights change at once (:meth:`Stack1997.update`).

Stopping (the paper's rules, evaluated on the device, so a trial stops at the very step its rule
is met; the host reads the device every ``check_every_steps`` steps only to report, to stop
early when every trial is done, and to guard against divergence):

* :class:`WindowRule` — "the N most recent training sequences processed correctly" (Exp. 2–6):
  a ring of the last N verdicts per trial (and of their squared errors where the paper also
  asks for a mean error below a bound, Exp. 4 and 6); a verdict is "every judged output within
  ``tol`` of its target" (:data:`VERDICTS`: the tolerance and the judged steps of each task,
  the same as :data:`minilstm.tasks.SUCCESS`);
* Exp. 1's test of the whole training and test sets, run every ``check_every_steps`` steps on
  the host (:func:`online_reber`).

Divergence guard: at every check each trial's weights are tested; a trial with a NaN or inf gets
back its weights of the previous check and stops (``diverged_at``: the check's step).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .. import backend
from ..tasks import SUCCESS, TASKS
from ..train.fit import fit
from ..train.online1997 import StackBPTT
from ..tasks.reber import encode_strings, next_symbol_targets, reber_success
from .loops import _out_of_time, _say

__all__ = ["VERDICTS", "WindowRule", "online_last_step", "online_reber", "minibatch_last_step",
           "minibatch_reber", "SequenceStream"]


#: task -> (tolerance, which steps are judged: "last" or "targets", judged target: "y" or
#: "clean_target"): a sequence is correct when every output at every judged step is within
#: the tolerance of the judged target (the criterion of ``minilstm.tasks.SUCCESS[task]``).
VERDICTS = {
    "long_lag_2a": (0.25, "targets", "y"),
    "long_lag_2b": (0.25, "last", "y"),
    "long_lag_2c": (0.2, "last", "y"),
    "two_sequence": (0.2, "last", "clean_target"),     # 3c: 0.1 (two_sequence_success)
    "adding": (0.04, "last", "y"),
    "multiplication": (0.04, "last", "y"),
    "temporal_order_6a": (0.3, "last", "y"),
    "temporal_order_6b": (0.3, "last", "y"),
}


def verdict_spec(task, task_kwargs):
    """``(tol, judged, target)`` of :data:`VERDICTS` for a task and its generator's settings."""
    if task not in VERDICTS:
        raise ValueError(f"task {task!r} has no online verdict; expected one of {sorted(VERDICTS)}")
    tol, judged, target = VERDICTS[task]
    if task == "two_sequence" and task_kwargs.get("variant") == "3c":
        tol = 0.1
    return tol, judged, target


@dataclass
class Sequence:
    """One training sequence of one trial, host arrays: ``x (L, I)``, ``y (L, O)``, ``mu (L,)``
    (1 where a target counts), ``judge (L,)`` (steps judged by the verdict), ``jy (L, O)`` (the
    judged target)."""
    x: np.ndarray
    y: np.ndarray
    mu: np.ndarray
    judge: np.ndarray
    jy: np.ndarray


class SequenceStream:
    """Trial k's training sequences, drawn ``per_draw`` at a time from its own generator."""

    def __init__(self, task, task_kwargs, rng, per_draw=64):
        self.gen, self.kwargs, self.rng, self.per_draw = TASKS[task], dict(task_kwargs), rng, per_draw
        _, self.judged, self.target = verdict_spec(task, task_kwargs)
        self._queue = []

    def __call__(self) -> Sequence:
        if not self._queue:
            b = self.gen(self.per_draw, self.rng, **self.kwargs)
            jd, jy = _judged(b, self.judged, self.target)
            for j in range(b.B):
                L = int(b.lengths[j])
                self._queue.append(Sequence(b.x[:L, j], b.y[:L, j], b.mask[:L, j].astype(float),
                                            jd[:L, j], jy[:L, j]))
            self._queue.reverse()
        return self._queue.pop()


class WindowRule:
    r"""The paper's stopping rule on the device: trial k is solved at the end of a sequence when
    its ``window`` most recent sequences hold at most ``max_wrong`` wrong ones and (if
    ``mean_error_below``) their mean squared error, :math:`\frac1O\sum` over outputs and
    target steps, is below the bound. Arrays ``(K, window)``; read by the host only at checks."""

    def __init__(self, xp, K, window, *, tol, max_wrong=0, mean_error_below=None, dtype=float):
        self.xp, self.window, self.tol = xp, int(window), float(tol)
        self.max_wrong, self.bound = int(max_wrong), mean_error_below
        self.bad = xp.zeros((K, self.window), dtype=bool)
        self.err = xp.zeros((K, self.window), dtype) if mean_error_below is not None else None
        self.seq_bad = xp.zeros(K, dtype=bool)
        self.seq_err = xp.zeros(K, dtype) if mean_error_below is not None else None
        self.solved_at = xp.full(K, -1, dtype=np.int64)      # sequences seen when solved
        self.err_at_solved = xp.full(K, np.nan, dtype)
        self.n_wrong_at_solved = xp.full(K, -1, dtype=np.int64)

    def judge_step(self, out, jy, judged, y, mu):
        """Fold one step into the current sequences' verdicts. ``out, jy, y (K, B, O)``,
        ``judged (K,)`` device bool, ``mu (K, B, 1)``."""
        xp = self.xp
        self.seq_bad |= (xp.abs(out - jy) >= self.tol).any(axis=(1, 2)) & judged
        if self.seq_err is not None:
            self.seq_err += (((out - y) ** 2) * mu).sum(axis=(1, 2)) / out.shape[2]

    def end_sequences(self, ke, n_seq, active):
        """Trials ``ke`` (host ints) end a sequence, their ``n_seq`` (host ints, counting it).
        Returns a device bool ``(K,)`` of the trials solved now."""
        xp = self.xp
        pos = xp.asarray((n_seq - 1) % self.window)
        kd = xp.asarray(ke)
        self.bad[kd, pos] = self.seq_bad[kd]
        self.seq_bad[kd] = False
        if self.err is not None:
            self.err[kd, pos] = self.seq_err[kd]
            self.seq_err[kd] = 0.0
        full = n_seq >= self.window
        solved = xp.zeros(active.shape, dtype=bool)
        if not full.any():
            return solved
        kf, nf = xp.asarray(ke[full]), xp.asarray(n_seq[full])
        n_wrong = self.bad[kf].sum(axis=1)
        ok = (n_wrong <= self.max_wrong) & active[kf] & (self.solved_at[kf] < 0)
        if self.err is not None:
            mean = self.err[kf].mean(axis=1)
            ok &= mean < self.bound
            self.err_at_solved[kf] = xp.where(ok, mean, self.err_at_solved[kf])
        self.solved_at[kf] = xp.where(ok, nf, self.solved_at[kf])
        self.n_wrong_at_solved[kf] = xp.where(ok, n_wrong, self.n_wrong_at_solved[kf])
        solved[kf] = ok
        return solved


def _run(stack, streams, *, budget, check_every_steps, rule=None, check=None, progress=None,
         time_limit=None):
    r"""The lockstep online loop shared by the experiments.

    ``streams[k]()`` gives trial k's next :class:`Sequence`. ``rule`` : a :class:`WindowRule`
    (evaluated on the device at every sequence end) or None. ``check(n_seq) -> host bool (K,)``:
    a host test run every ``check_every_steps`` steps (Exp. 1), or None. A trial stops when
    solved, when its ``budget``-th sequence ends, or when its weights stop being finite.
    Returns a dict of host arrays: ``n_seq`` (sequences started per trial up to its stop),
    ``solved_at`` (sequences when solved, −1 if not), ``diverged_at`` (step, −1), ``steps``.
    """
    xp, K, B, I, O = stack.xp, stack.K, stack.B, stack.I, stack.O
    if B != 1:
        raise ValueError("the online experiments run one sequence per trial at a time (batch=1)")
    dt = stack.dtype
    cur = [None] * K                       # trial k's current sequence and position in it
    pos = np.zeros(K, dtype=np.int64)
    n_seq = np.zeros(K, dtype=np.int64)    # sequences started
    n_end = np.zeros(K, dtype=np.int64)    # sequences ended
    stopped = np.zeros(K, dtype=bool)      # host view of ~stack.active, updated at checks
    solved_at = np.full(K, -1, dtype=np.int64)
    diverged_at = np.full(K, -1, dtype=np.int64)
    seq_at_stop = np.full(K, -1, dtype=np.int64)
    L = int(check_every_steps)
    # data are built C steps at a time (C divides L, so checks fall at multiples of L)
    C = max(d for d in range(1, min(L, 4096) + 1) if L % d == 0)
    step, t0, last_good = 0, time.perf_counter(), (stack.W.copy(), stack.V.copy())
    while not stopped.all():
        # host: the next C steps of every trial's stream
        X = np.zeros((C, K, 1, I), dt)
        Y = np.zeros((C, K, 1, O), dt)
        MU = np.zeros((C, K, 1, 1), dt)
        JY = np.zeros((C, K, 1, O), dt)
        JD = np.zeros((C, K), bool)
        START = np.zeros((C, K), bool)
        END = np.zeros((C, K), bool)
        filled = 0                             # steps of this chunk that some trial uses
        for k in range(K):
            t = 0
            while t < C and not stopped[k]:
                if cur[k] is None or pos[k] >= len(cur[k].x):
                    if n_seq[k] >= budget:     # budget spent: idle until the loop ends
                        break
                    cur[k], pos[k] = streams[k](), 0
                    n_seq[k] += 1
                    START[t, k] = True
                s, p = cur[k], pos[k]
                n = min(C - t, len(s.x) - p)
                X[t:t + n, k, 0], Y[t:t + n, k, 0] = s.x[p:p + n], s.y[p:p + n]
                MU[t:t + n, k, 0, 0], JY[t:t + n, k, 0] = s.mu[p:p + n], s.jy[p:p + n]
                JD[t:t + n, k] = s.judge[p:p + n]
                pos[k] += n
                t += n
                if pos[k] >= len(s.x):
                    END[t - 1, k] = True
            filled = max(filled, t)
        any_start, any_end, any_judge = START.any(axis=1), END.any(axis=1), JD.any(axis=1)
        x, y, mu, jy = xp.asarray(X), xp.asarray(Y), xp.asarray(MU), xp.asarray(JY)
        keep = xp.asarray((~START).astype(dt)[:, :, None, None])        # (C, K, 1, 1)
        jd = xp.asarray(JD)
        for t in range(filled):
            if any_start[t]:
                stack.reset(keep=keep[t])
            out = stack.step(x[t])
            gW, gV = stack.gradient(y[t], mu[t])
            if rule is not None and any_judge[t]:
                rule.judge_step(out, jy[t], jd[t], y[t], mu[t])
            if any_end[t]:
                ke = np.flatnonzero(END[t])
                n_end[ke] += 1
                if rule is not None:
                    solved = rule.end_sequences(ke, n_end[ke], stack.active)
                    stack.stop(solved)         # stopped before this step's update
                spent = ke[n_end[ke] >= budget]
                if spent.size:
                    stack.stop(spent)
                    seq_at_stop[spent] = np.where(seq_at_stop[spent] < 0, budget, seq_at_stop[spent])
            stack.update(gW, gV)
        step += filled
        if filled == C and step % L:
            continue                           # no check yet: the next chunk
        # ---- the check: one read of the device per L steps (and when the data run out)
        finite = backend.to_numpy(stack.finite())
        bad = np.flatnonzero(~finite & ~stopped)
        if bad.size:                           # back to the weights of the last check, stop
            stack.restore(bad, *last_good)
            diverged_at[bad] = step
            _say(progress, f"trials {bad.tolist()} diverged before step {step}: back to their "
                           "weights of the previous check, stopped")
        if rule is not None:
            solved_at = backend.to_numpy(rule.solved_at)
        if check is not None:
            ok = check(n_seq) & ~stopped
            newly = np.flatnonzero(ok)
            solved_at[newly] = n_seq[newly]
            stack.stop(newly)
        active = backend.to_numpy(stack.active)
        newly_stopped = ~active & ~stopped
        seq_at_stop[newly_stopped & (seq_at_stop < 0)] = n_end[newly_stopped & (seq_at_stop < 0)]
        stopped = ~active
        last_good = (stack.W.copy(), stack.V.copy())
        _say(progress, f"step {step}: sequences/trial {int(n_seq.min())}-{int(n_seq.max())}, "
                       f"{int((solved_at >= 0).sum())}/{K} solved, "
                       f"{time.perf_counter() - t0:.0f} s", done=int(n_seq.min()))
        if filled < C:
            break                              # every trial has spent its budget
        if not stopped.all() and _out_of_time(progress, t0, time_limit, f"at step {step}"):
            seq_at_stop[~stopped] = n_end[~stopped]
            stack.stop(np.flatnonzero(~stopped))
            break
    seq_at_stop[seq_at_stop < 0] = n_end[seq_at_stop < 0]
    return {"n_seq": seq_at_stop, "solved_at": solved_at, "diverged_at": diverged_at,
            "steps": step}


def _results(run, count_offset=0):
    """Per-trial dicts from :func:`_run`'s arrays (``count_offset``: subtracted from a count)."""
    out = []
    for k in range(len(run["n_seq"])):
        ok = bool(run["solved_at"][k] >= 0)
        count = int(run["solved_at"][k]) - count_offset if ok else None
        out.append(dict(success=ok, sequences_to_success=count,
                        sequences_presented=int(run["solved_at"][k]) if ok else int(run["n_seq"][k]),
                        diverged=bool(run["diverged_at"][k] >= 0),
                        diverged_at=int(run["diverged_at"][k]) if run["diverged_at"][k] >= 0 else None))
    return out


def _rule_results(run, rule, count):
    """Per-trial dicts of a run stopped by a :class:`WindowRule`: counts (``count="start"``:
    before the successful window), and at success the window's mean squared error (where the
    rule bounds it) and its wrong sequences (where it allows some)."""
    results = _results(run, count_offset=rule.window if count == "start" else 0)
    err = backend.to_numpy(rule.err_at_solved)
    wrong = backend.to_numpy(rule.n_wrong_at_solved)
    for k, r in enumerate(results):
        if r["success"]:
            if rule.bound is not None:
                r["mean_sq_error_at_success"] = float(err[k])
            if rule.max_wrong:
                r["wrong_in_window_at_success"] = int(wrong[k])
    return results


def _pad_stack(arrays, dtype):
    """K host arrays ``(T_k, N, n)`` -> one ``(T, K, N, n)`` array, zero-padded in time."""
    T = max(a.shape[0] for a in arrays)
    out = np.zeros((T, len(arrays)) + arrays[0].shape[1:], dtype)
    for k, a in enumerate(arrays):
        out[:a.shape[0], k] = a
    return out


def _test(stack, task, task_kwargs, test_kwargs, test_rngs, n_test, results):
    """``n_test`` fresh sequences per trial, judged on the host by ``tasks.SUCCESS[task]``;
    adds ``test_wrong``, ``test_sequences`` and ``test_mse`` to each trial's dict."""
    xp, K = stack.xp, stack.K
    gen, ok_fn = TASKS[task], SUCCESS[task]
    kw = dict(task_kwargs, **(test_kwargs or {}))
    wrong_t, mse = np.zeros(K, dtype=np.int64), np.zeros(K)
    for start in range(0, n_test, 256):
        n = min(256, n_test - start)
        bs = [gen(n, test_rngs[k], **kw) for k in range(K)]
        out = backend.to_numpy(stack.outputs(xp.asarray(_pad_stack([b.x for b in bs], stack.dtype))))
        for k, b in enumerate(bs):
            o = out[:b.T, k]
            wrong_t[k] += int((~ok_fn(o, b)).sum())
            mse[k] += float(((o - b.y) ** 2 * b.mask[..., None]).sum()) / b.n_out
    for k, r in enumerate(results):
        r.update(test_wrong=int(wrong_t[k]), test_sequences=int(n_test),
                 test_mse=float(mse[k] / n_test) if np.isfinite(mse[k]) else None)


def online_last_step(stack, task, task_kwargs, rngs, test_rngs, *, budget, window, n_test,
                     max_wrong=0, mean_error_below=None, count="end", test_kwargs=None,
                     check_every_steps=10_000, progress=None, time_limit=None):
    r"""Exp. 2–6 as in 1997: online truncated rule, error where the task has a target, the
    window stopping rule (:class:`WindowRule`), then ``n_test`` fresh test sequences per trial
    judged by ``minilstm.tasks.SUCCESS[task]`` (on the host, independently of the device verdict).

    ``count``: ``"end"`` counts the sequences up to and including the successful window;
    ``"start"`` those before it (Exp. 2: the paper's 5,040 is below its 10,000-sequence window).
    Returns a list of K per-trial dicts like the other loops of :mod:`~minilstm.experiments`.
    """
    if count not in ("end", "start"):
        raise ValueError(f"count must be 'end' or 'start', got {count!r}")
    xp, K = stack.xp, stack.K
    tol = verdict_spec(task, task_kwargs)[0]
    streams = [SequenceStream(task, task_kwargs, r) for r in rngs]
    rule = WindowRule(xp, K, window, tol=tol, max_wrong=max_wrong,
                      mean_error_below=mean_error_below, dtype=stack.dtype)
    run = _run(stack, streams, budget=budget, check_every_steps=check_every_steps, rule=rule,
               progress=progress, time_limit=time_limit)
    results = _rule_results(run, rule, count)
    _test(stack, task, task_kwargs, test_kwargs, test_rngs, n_test, results)
    return results


def _judged(batch, judged, target):
    """A batch's judged steps ``(T, B)`` and judged targets ``(T, B, O)`` (:data:`VERDICTS`)."""
    if judged == "last":
        jd = np.zeros(batch.mask.shape, bool)
        jd[batch.lengths - 1, np.arange(batch.B)] = True
    else:
        jd = batch.mask.copy()
    jy = batch.y if target == "y" else np.broadcast_to(
        np.asarray(batch.info[target], dtype=batch.y.dtype)[None, :, None], batch.y.shape)
    return jd, jy


def minibatch_last_step(stack, task, task_kwargs, rngs, test_rngs, *, optimizer, batch, budget,
                        window, n_test, max_wrong=0, mean_error_below=None, count="end",
                        clip=None, lr_half_life=None, test_kwargs=None, report_every=50,
                        progress=None, time_limit=None):
    r"""The comparison runs of Exp. 2–6: full BPTT on mini-batches (:meth:`Stack1997.bptt
    <minilstm.train.online1997.Stack1997.bptt>`), a step of ``optimizer`` (built on
    ``stack.optimizer_params()``, e.g. Adam) per mini-batch, K trials on the same axis.

    Each update, every trial draws ``batch`` sequences from its own generator; their verdicts
    (:data:`VERDICTS`) enter the trial's :class:`WindowRule` one sequence at a time, in order, so
    that a trial solved inside a mini-batch is stopped before that mini-batch's update reaches it
    (as the paper's rule, checked after every sequence). ``lr_half_life`` (sequences or None):
    the step size is ``lr · 0.5^(n / lr_half_life)`` after n sequences. ``clip``: per-trial
    gradient-norm clipping. The loop is :func:`minilstm.train.fit` on
    :class:`~minilstm.train.online1997.StackBPTT`: the data and the window rule (``before_update``)
    are this function's; a trial whose update is not finite is stopped at its weights from before
    it (the guard is read after every update). Two reads of the device per update (the guard, and
    the trials still learning); then ``n_test`` test sequences as :func:`online_last_step`.
    """
    if count not in ("end", "start"):
        raise ValueError(f"count must be 'end' or 'start', got {count!r}")
    xp, K, O, dt = stack.xp, stack.K, stack.O, stack.dtype
    tol, judged, target = verdict_spec(task, task_kwargs)
    gen = TASKS[task]
    rule = WindowRule(xp, K, window, tol=tol, max_wrong=max_wrong,
                      mean_error_below=mean_error_below, dtype=dt)
    lr0, every = optimizer.lr, np.arange(K)
    trials = StackBPTT(stack)
    t0, now = time.perf_counter(), dict(seen=0)

    def data(u):                               # batch sequences of every trial, padded
        bs = [gen(batch, rngs[k], **task_kwargs) for k in range(K)]
        jds, jys = zip(*(_judged(b, judged, target) for b in bs))
        x = xp.asarray(_pad_stack([b.x for b in bs], dt))              # (T, K, B, I)
        now["y"] = y = xp.asarray(_pad_stack([b.y for b in bs], dt))
        now["mu"] = mu = xp.asarray(_pad_stack([b.mask[..., None].astype(dt) for b in bs], dt))
        now["jy"] = xp.asarray(_pad_stack(list(jys), dt))
        now["jd"] = xp.asarray(_pad_stack([d[..., None] for d in jds], bool))   # (T, K, B, 1)
        return x, y, mu

    def judge(u, out):                         # the window rule, on the outputs trained on
        if lr_half_life:
            optimizer.lr = lr0 * 0.5 ** (now["seen"] / lr_half_life)
        bad = ((xp.abs(out - now["jy"]) >= tol) & now["jd"]).any(axis=(0, 3))   # (K, B) verdicts
        err = ((((out - now["y"]) ** 2) * now["mu"]).sum(axis=(0, 3)) / O
               if rule.seq_err is not None else None)
        for j in range(batch):                                          # in order, per sequence
            rule.seq_bad[...] = bad[:, j]
            if err is not None:
                rule.seq_err[...] = err[:, j]
            trials.stop(rule.end_sequences(every, np.full(K, now["seen"] + j + 1), stack.active))
        now["seen"] += batch

    def report(done, history):
        seen = now["seen"]
        if seen >= budget or not trials.active.any():
            return True
        if progress is not None and done % report_every == 0:
            _say(progress, f"{seen} sequences/trial: "
                           f"{int((backend.to_numpy(rule.solved_at) >= 0).sum())}/{K} solved, "
                           f"{time.perf_counter() - t0:.0f} s", done=seen)
        return _out_of_time(progress, t0, time_limit, f"after {seen} sequences")

    fit(trials, data, optimizer, steps=int(math.ceil(budget / batch)), clip=clip, check_every=1,
        before_update=judge, after_update=report)
    solved_at = backend.to_numpy(rule.solved_at)
    presented = np.where(solved_at >= 0, solved_at, min(now["seen"], budget))
    run = {"n_seq": presented, "solved_at": solved_at, "diverged_at": trials.diverged_at}
    results = _rule_results(run, rule, count)
    _test(stack, task, task_kwargs, test_kwargs, test_rngs, n_test, results)
    return results


def _reber_check(stack, train, test):
    """Exp. 1's test: a function ``check(...) -> host bool (K,)``, True for the trials that
    predict every symbol of all their training and test strings (:func:`reber_success`)."""
    xp, K = stack.xp, stack.K
    xs = {name: xp.asarray(_pad_stack([b.x for b in bs], stack.dtype))
          for name, bs in (("train", train), ("test", test))}

    def check(*_):
        ok = np.ones(K, dtype=bool)
        for name, bs in (("train", train), ("test", test)):
            out = backend.to_numpy(stack.outputs(xs[name]))
            for k, b in enumerate(bs):
                ok[k] &= bool(reber_success(out[:b.T, k], b).all())
        return ok
    return check


def minibatch_reber(stack, data, *, optimizer, batch, budget, check_every, progress=None,
                    time_limit=None):
    r"""Exp. 1's net and strings trained by full BPTT, a step of ``optimizer`` (built on
    ``stack.optimizer_params()``) per ``batch`` strings drawn with replacement from each trial's
    256, K trials on the stack's axis: the comparison of :func:`online_reber`. Every
    ``check_every`` strings each trial is tested on all its training and test strings; a trial
    that passes is solved (its count: the strings presented so far) and stops. The loop is
    :func:`minilstm.train.fit` on :class:`~minilstm.train.online1997.StackBPTT` (the test as
    ``after_update``); its guard stops a trial whose update is not finite (read every update on
    NumPy, every 100 on a GPU), recorded in ``diverged_at``.
    """
    xp, K = stack.xp, stack.K
    train = [encode_strings(d["train"], embedded=True) for d in data]
    test = [encode_strings(d["test"], embedded=True) for d in data]
    check = _reber_check(stack, train, test)
    solved_at = np.full(K, -1, dtype=np.int64)
    trials = StackBPTT(stack)
    t0, now = time.perf_counter(), dict(presented=0)
    updates = int(math.ceil(budget / batch))

    def strings(u):                            # batch strings of every trial, padded
        xs, ys, ms = [], [], []
        for k in range(K):
            idx = data[k]["rng"].integers(train[k].B, size=batch)
            T = int(train[k].lengths[idx].max())
            xs.append(train[k].x[:T, idx]), ys.append(train[k].y[:T, idx])
            ms.append(train[k].mask[:T, idx][..., None].astype(stack.dtype))
        return [xp.asarray(_pad_stack(a, stack.dtype)) for a in (xs, ys, ms)]

    def test_all(done, history):               # every check_every strings, and at the end
        now["presented"] = presented = min(done * batch, budget)
        if presented % check_every < batch or done == updates:
            newly = np.flatnonzero(check() & (solved_at < 0))
            solved_at[newly] = presented
            trials.stop(newly)
            _say(progress, f"{presented} strings/trial: {int((solved_at >= 0).sum())}/{K} "
                           f"solved, {time.perf_counter() - t0:.0f} s", done=presented)
            if (solved_at >= 0).all():
                return True
        return _out_of_time(progress, t0, time_limit, f"after {presented} strings")

    fit(trials, strings, optimizer, steps=updates, after_update=test_all)
    return _results({"n_seq": np.where(solved_at >= 0, solved_at, now["presented"]),
                     "solved_at": solved_at, "diverged_at": trials.diverged_at})


def online_reber(stack, data, *, budget, check_every_steps, target="legal", progress=None,
                 time_limit=None):
    r"""Exp. 1 as in 1997: each trial presents strings drawn at random (with replacement) from
    its 256 training strings, the error at every step, weights changed after every step; every
    ``check_every_steps`` steps every trial is tested on all its training and test strings
    (:func:`~minilstm.tasks.reber.reber_success`), and a trial that predicts every symbol of
    all of them is solved (its count: the strings it started up to that check) and stops.

    ``data`` : K dicts ``{"rng", "train", "test"}`` (the trial's generator, its string lists).
    ``target`` : ``"legal"`` (the legal next symbols, multi-hot) or ``"next"`` (the next
    symbol, one-hot).
    """
    if target not in ("legal", "next"):
        raise ValueError(f"target must be 'legal' or 'next', got {target!r}")
    xp, K = stack.xp, stack.K
    train = [encode_strings(d["train"], embedded=True) for d in data]
    test = [encode_strings(d["test"], embedded=True) for d in data]

    def stream(k):
        b, rng = train[k], data[k]["rng"]
        ys = b.y if target == "legal" else next_symbol_targets(b)

        def draw():
            j = int(rng.integers(b.B))
            L = int(b.lengths[j])
            return Sequence(b.x[:L, j], ys[:L, j], b.mask[:L, j].astype(float),
                            np.zeros(L, bool), ys[:L, j])
        return draw

    check = _reber_check(stack, train, test)

    run = _run(stack, [stream(k) for k in range(K)], budget=budget,
               check_every_steps=check_every_steps, check=check, progress=progress,
               time_limit=time_limit)
    results = _results(run)
    for r in results:
        r["steps_to_success"] = None
    return results

