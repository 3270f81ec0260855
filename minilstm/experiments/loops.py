r"""The training loops of the experiments, each for K trials packed in one :class:`TrialBatch`.

Three loops, one per kind of experiment:

* :func:`online_rtrl_reber` — Exp. 1 as in 1997: the truncated RTRL-style rule of
  :mod:`minilstm.rtrl1997`, plain gradient descent after **every time step**, activations and
  partials reset at the start of every string;
* :func:`bptt_last_step` — tasks with masked targets, one at the end (adding, multiplication,
  temporal order, two-sequence, Exp. 2c) or at chosen steps (Exp. 2a/2b, the timing tasks):
  mini-batch BPTT with Adam, success judged on the training sequences themselves as the paper's
  stopping rule does ("the N most recent sequences processed correctly"), checked after every
  sequence;
* :func:`bptt_continual_reber` — the continual embedded Reber stream of Gers et al. (2000):
  truncated BPTT over windows of the stream with the state carried across windows (no reset
  inside a training stream), Adam, and a test on a fresh stream counting successive correct
  symbols.

Each returns a list of per-trial dicts (``success``, ``sequences_to_success``, ...) ready for
JSON, with the divergence record of :class:`~minilstm.trials.TrialBatch`: ``diverged`` and
``diverged_at``, the loop's update (0-based: a time step for the online rule, a mini-batch for
BPTT) whose result was not finite, after which the trial was frozen at its last good weights.
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
from ..functional import sigmoid
from ..optim import Adam
from ..rtrl1997 import TruncatedRTRL
from ..tasks import SUCCESS, TASKS
from ..trials import select
from ..tasks.reber import EMBEDDED_REBER, SYMBOLS, encode_strings, next_symbol_targets, reber_success

__all__ = ["online_rtrl_reber", "bptt_last_step", "bptt_continual_reber", "ReberStreams"]


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


def _flat_views(core, buf):
    """Views into a flat buffer laid out like ``core.flat`` (its params in dict order)."""
    views, off = {}, 0
    for name, p in core.params.items():
        n = int(np.prod(p.shape))
        views[name] = buf[off:off + n].reshape(p.shape)
        off += n
    if off != buf.size:
        raise AssertionError("the layer's params do not tile its flat buffer")
    return views


# ---- Exp. 1: the 1997 online rule ----------------------------------------------------------------
def online_rtrl_reber(tb, data, *, lr, budget, check_every_steps, progress=None, time_limit=None,
                      chunk=2048, target="legal", error="squared", optimizer="sgd"):
    r"""Train K packed 1997 LSTMs on the embedded Reber grammar with the truncated rule, online.

    Parameters
    ----------
    tb : :class:`~minilstm.trials.TrialBatch` of :func:`~minilstm.presets.lstm_1997` nets with
        ``loss='sigmoid_mse'`` (logistic outputs, squared error) and no readout bias.
    data : list of K dicts ``{"rng", "train", "test"}``: the trial's random generator (which
        string to present next) and its 256 training and 256 test strings.
    lr : the learning rate of the per-step gradient descent (0.5 in the paper's best run).
    budget : training strings presented per trial at most.
    check_every_steps : the success test (every symbol of all train and test strings predicted,
        :func:`~minilstm.tasks.reber.reber_success`) runs after every ``check_every_steps`` time
        steps (about 11 steps per string); a trial's count is the number of strings it was
        shown up to that check.
    target : ``"legal"`` — train on the set of legal next symbols (multi-hot, the batch's ``y``);
        ``"next"`` — on the actual next symbol, one-hot (:func:`next_symbol_targets`).
    error : ``"squared"`` — logistic outputs with E = ½Σ(ŷ − y)² (the paper's), so the error at an
        output's net input is (ŷ − y)·ŷ(1 − ŷ); ``"cross_entropy"`` — ŷ − y.
    optimizer : ``"sgd"`` — :math:`w \leftarrow w - \text{lr}\cdot\Delta_t w` (the paper's);
        ``"adam"`` — :class:`~minilstm.optim.Adam` with step size ``lr`` on the same per-step
        :math:`\Delta_t w` (not the paper's: a diagnostic, see ``exp1_reber``). A trial that is
        frozen keeps its weights under either (the update is selected by the masks, so Adam's
        momentum cannot move it).

    Each presented string is drawn uniformly (with replacement) from the trial's 256 training
    strings. A string is a sequence: the trial's activations and the rule's partials are reset
    before it. Per step: forward, the error :math:`\hat y - y` at every output, and the weights
    changed at once by :math:`-\text{lr}\cdot\Delta_t w`. The K trials step in lockstep; each
    starts its next string as soon as its last one ends (its part of the state and of the
    partials ``rule.dc_dw`` is zeroed, which is exactly a reset of that trial alone).

    Divergence guard: after every step the new weights are checked; a trial with a NaN or inf
    among them keeps its weights of the step before and is frozen
    (:meth:`~minilstm.trials.TrialBatch.mark_diverged`, ``diverged_at`` = that step), while the
    others take their update as if it were absent.
    """
    xp, K = tb.xp, tb.K
    core, readout = tb.model.core, tb.model.readout
    if readout.bias:
        raise ValueError("online_rtrl_reber expects the 1997 readout without bias")
    W = readout.params["W"]                                  # (K·O, K·H)
    rule = TruncatedRTRL(core).reset(1)
    gflat = xp.zeros_like(core.flat)
    gviews = _flat_views(core, gflat)
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    if optimizer == "adam":                                  # Adam steps proposed weights, in place
        proposed = {"core": xp.empty_like(core.flat), "W": xp.empty_like(W)}
        adam = Adam(proposed, lr=lr)

    def propose(gflat, gW):
        """The weights after this step's update (not yet committed)."""
        if optimizer == "sgd":
            return core.flat - lr * gflat, W - lr * gW       # online: update after every step
        proposed["core"][...], proposed["W"][...] = core.flat, W
        adam.step({"core": gflat, "W": gW})
        return proposed["core"], proposed["W"]

    def core_mask():
        return xp.concatenate([tb.active_masks[f"core.{n}"].reshape(-1) for n in core.params])

    mflat, mW = core_mask(), tb.active_masks["readout.W"]
    train = [encode_strings(d["train"], embedded=True) for d in data]
    test = [encode_strings(d["test"], embedded=True) for d in data]
    n_in, O, H, nb = tb.n_in, tb.n_out, core.n_cells // K, core.n_blocks // K
    n_gates = len(core.gates) if core.has_gate_state else 0
    xtr, xte = tb.pack([b.x for b in train]), tb.pack([b.x for b in test])
    if target not in ("legal", "next"):
        raise ValueError(f"target must be 'legal' or 'next', got {target!r}")
    if error not in ("squared", "cross_entropy"):
        raise ValueError(f"error must be 'squared' or 'cross_entropy', got {error!r}")
    ytrain = [b.y if target == "legal" else next_symbol_targets(b) for b in train]

    frac = np.zeros(K)

    def evaluate():
        ok = np.ones(K, dtype=bool)
        frac[:] = 0.0
        for x, batches in ((xtr, train), (xte, test)):
            a, _ = tb.model.forward(x)
            for k, out in enumerate(tb.split(a, [b.T for b in batches])):
                good = reber_success(out, batches[k])
                ok[k] &= bool(good.all())
                frac[k] += good.mean() / 2
        return ok

    # each trial's stream of strings, cut into chunks of `chunk` steps (host arrays)
    pending = [[] for _ in range(K)]            # (x, y) rows not yet used, per trial
    shown = np.zeros(K, dtype=np.int64)         # strings started, per trial

    def fill(k, need):
        rows = sum(len(p[0]) for p in pending[k])
        while rows < need:
            if shown[k] >= budget:              # budget spent: idle (zero input, zero error)
                pending[k].append((np.zeros((need - rows, n_in)), np.zeros((need - rows, O)),
                                   np.zeros(need - rows, bool), np.zeros(need - rows, bool)))
                return
            b = int(data[k]["rng"].integers(train[k].B))
            L = int(train[k].lengths[b])
            start = np.zeros(L, bool)
            start[0] = True
            pending[k].append((train[k].x[:L, b], ytrain[k][:L, b], start, np.ones(L, bool)))
            shown[k] += 1
            rows += L

    def take(k, n):
        xs, ys, ss, ms, got = [], [], [], [], 0
        while got < n:
            x, y, s, m = pending[k][0]
            use = min(n - got, len(x))
            xs.append(x[:use]), ys.append(y[:use]), ss.append(s[:use]), ms.append(m[:use])
            if use == len(x):
                pending[k].pop(0)
            else:
                pending[k][0] = (x[use:], y[use:], s[use:], m[use:])
            got += use
        return np.concatenate(xs), np.concatenate(ys), np.concatenate(ss), np.concatenate(ms)

    results = [dict(success=False, sequences_to_success=None, steps_to_success=None)
               for _ in range(K)]
    t0, step = time.perf_counter(), 0
    squared = error == "squared"
    strings_done = np.zeros(K, dtype=np.int64)  # strings shown up to the current step
    stopped = False
    while not stopped and tb.active.any() and (strings_done[tb.active] < budget).any():
        hx = np.zeros((chunk, 1, K * n_in))
        hy = np.zeros((chunk, 1, K * O))
        hm = np.zeros((chunk, 1, K * O))
        starts = np.zeros((chunk, K), bool)
        for k in range(K):
            fill(k, chunk)
            x, y, s, m = take(k, chunk)
            hx[:, 0, k * n_in:(k + 1) * n_in] = x
            hy[:, 0, k * O:(k + 1) * O] = y
            hm[:, 0, k * O:(k + 1) * O] = m[:, None]
            starts[:, k] = s
        keep_c = np.repeat(~starts, H, axis=1).astype(float)[:, None, :]           # (chunk, 1, K·H)
        keep_g = np.tile(np.repeat(~starts, nb, axis=1), (1, n_gates)).astype(float)[:, None, :]
        any_start = starts.any(axis=1)
        x, y, m = xp.asarray(hx), xp.asarray(hy), xp.asarray(hm)
        kc, kg = xp.asarray(keep_c), xp.asarray(keep_g)
        n_started = np.cumsum(starts, axis=0)                                      # (chunk, K)
        for t in range(chunk):
            if any_start[t]:                                 # reset the trials starting a string
                st = rule.state
                st[0][...] *= kc[t]
                st[1][...] *= kc[t]
                if n_gates:
                    st[2][...] *= kg[t]
                rule.dc_dw *= kc[t][0][None, :, None, None]
            y_t = rule.forward(x[t])                         # (1, K·H)
            yhat = sigmoid(y_t @ W.T)                        # (1, K·O) logistic output units
            d = (yhat - y[t]) * m[t]                         # ∂E(t)/∂net_out, E = cross-entropy
            if squared:
                d *= yhat * (1.0 - yhat)                     # ∂E(t)/∂net_out, E = ½Σ(ŷ−y)²
            gflat[...] = 0.0
            rule.gradient(d @ W, into=gviews)                # Δ_t w of every core weight
            gW = d.T @ y_t                                   # (K·O, K·H)
            gflat[...] = select(mflat, gflat)                # not gflat * mflat: inf · 0 = NaN
            gW = select(mW, gW)
            new_flat, new_W = propose(gflat, gW)
            if optimizer == "adam":                          # a frozen trial stays (no momentum)
                new_flat = xp.where(mflat > 0, new_flat, core.flat)
                new_W = xp.where(mW > 0, new_W, W)
            if not math.isfinite(float(xp.sum(new_flat)) + float(xp.sum(new_W))):
                # inf · 0 = NaN may sit off-block: keep every entry the masks do not own
                new_flat = xp.where(mflat > 0, new_flat, core.flat)
                new_W = xp.where(mW > 0, new_W, W)
                new = {f"core.{n}": v for n, v in _flat_views(core, new_flat).items()}
                new["readout.W"] = new_W
                for k in tb.nonfinite_trials(new):           # keep the last good weights
                    tb.restore_trial(new, tb.params, k)
                    tb.mark_diverged(k, step)
                    _say(progress, f"trial {k} diverged at update {step}: frozen at its last "
                                   "good weights")
                mflat, mW = core_mask(), tb.active_masks["readout.W"]
            core.flat[...] = new_flat
            W[...] = new_W
            step += 1
            if step % check_every_steps == 0:
                done = strings_done + n_started[t]
                ok = evaluate()
                for k in np.flatnonzero(ok & tb.active):
                    results[k].update(success=True, sequences_to_success=int(done[k]),
                                      steps_to_success=step)
                    tb.freeze(k)
                for k in np.flatnonzero(tb.active & (done >= budget)):
                    tb.freeze(k)                             # budget spent, not solved
                mflat, mW = core_mask(), tb.active_masks["readout.W"]
                _say(progress, f"step {step}: strings/trial {int(done.min())}-{int(done.max())}, "
                               f"{int(sum(r['success'] for r in results))}/{K} solved, "
                               f"strings predicted {np.round(frac, 2).tolist()[:10]}, "
                               f"{time.perf_counter() - t0:.0f} s", done=int(done.min()))
                if time_limit is not None and time.perf_counter() - t0 > time_limit:
                    _say(progress, f"time limit {time_limit} s reached at step {step}")
                    strings_done, stopped = done, True
                    break
        else:
            strings_done = strings_done + n_started[-1]
    final = evaluate()                                       # one last check at the end
    for k in range(K):
        r = results[k]
        if final[k] and not r["success"] and tb.active[k]:
            r.update(success=True, sequences_to_success=int(min(strings_done[k], budget)),
                     steps_to_success=step)
        r["sequences_presented"] = r["sequences_to_success"] if r["success"] else int(
            min(strings_done[k], budget))
        r["solved_at_end"] = bool(final[k])
        r.update(_divergence(tb, k))
    return results


def bptt_reber_strings(tb, data, *, batch, lr, budget, check_every, progress=None,
                       time_limit=None):
    r"""Exp. 1's net and data trained by BPTT with Adam, ``batch`` strings per update.

    The same trials, strings, success test and counting as :func:`online_rtrl_reber`, but the
    gradient is the full BPTT gradient of ``batch`` strings (drawn with replacement from the
    trial's 256) and the update is Adam's; success is checked every ``check_every`` strings (so
    a count is a multiple of it, or the budget).
    """
    xp, K = tb.xp, tb.K
    opt = Adam(tb.params, lr=lr)
    train = [encode_strings(d["train"], embedded=True) for d in data]
    test = [encode_strings(d["test"], embedded=True) for d in data]
    xtr, xte = tb.pack([b.x for b in train]), tb.pack([b.x for b in test])

    def evaluate():
        ok = np.ones(K, dtype=bool)
        for x, batches in ((xtr, train), (xte, test)):
            a, _ = tb.model.forward(x)
            for k, out in enumerate(tb.split(a, [b.T for b in batches])):
                ok[k] &= bool(reber_success(out, batches[k]).all())
        return ok

    results = [dict(success=False, sequences_to_success=None) for _ in range(K)]
    t0, presented = time.perf_counter(), 0
    updates = int(math.ceil(budget / batch))
    for u in range(updates):
        if not tb.active.any():
            break
        xs, ys, ms = [], [], []
        for k in range(K):
            idx = data[k]["rng"].integers(train[k].B, size=batch)
            T = int(train[k].lengths[idx].max())
            xs.append(train[k].x[:T, idx]), ys.append(train[k].y[:T, idx])
            ms.append(train[k].mask[:T, idx])
        losses, _, cache, da = tb.loss(tb.pack(xs), tb.pack(ys), tb.pack(ms))
        tb.step(opt, tb.backward(da, cache))
        presented = min((u + 1) * batch, budget)
        if presented % check_every < batch or u == updates - 1:
            ok = evaluate()
            for k in np.flatnonzero(ok & tb.active):
                results[k].update(success=True, sequences_to_success=presented)
                tb.freeze(k)
            _say(progress, f"{presented} strings/trial: {int((~tb.active).sum())}/{K} solved, "
                           f"{time.perf_counter() - t0:.0f} s", done=presented)
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            _say(progress, f"time limit {time_limit} s reached after {presented} strings")
            break
    for k in range(K):
        r = results[k]
        r["sequences_presented"] = r["sequences_to_success"] if r["success"] else presented
        r.update(_divergence(tb, k))
    return results


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
    xp, K = tb.xp, tb.K
    gen, ok_fn = TASKS[task], SUCCESS[task]
    opt = Adam(tb.params, lr=lr)
    results = [dict(success=False, sequences_to_success=None) for _ in range(K)]
    recent_ok = [collections.deque() for _ in range(K)]      # the last `window` verdicts
    n_wrong = np.zeros(K, dtype=np.int64)                    # wrong ones among them
    errs = [[] for _ in range(K)]                            # recent squared errors
    updates = int(math.ceil(budget / batch))
    t0 = time.perf_counter()
    presented = 0
    for u in range(updates):
        if not tb.active.any():
            break
        active = np.flatnonzero(tb.active)
        if lr_half_life:
            opt.lr = lr * 0.5 ** (u * batch / lr_half_life)
        bs = {k: gen(batch, rngs[k], **task_kwargs) for k in active}
        ref = bs[active[0]]
        xs, ys, ms = [], [], []
        for k in range(K):
            b = bs.get(k)
            xs.append(b.x if b is not None else np.zeros((1, batch, ref.n_in)))
            ys.append(b.y if b is not None else np.zeros((1, batch, ref.n_out)))
            ms.append(b.mask if b is not None else np.zeros((1, batch), dtype=bool))
        x, y, m = tb.pack(xs), tb.pack(ys), tb.pack(ms)
        losses, a_out, cache, da = tb.loss(x, y, m)
        outs = tb.split(tb.outputs(a_out))
        grads = tb.backward(da, cache)
        if clip is not None:
            tb.clip_grad_norm(grads, clip)
        for k in active:
            b = bs[k]
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
        newly = [k for k in active if results[k]["success"]]
        for k in newly:          # stop at success: this batch's update must not reach them
            tb.freeze(k)
        tb.step(opt, grads)
        presented = (u + 1) * batch
        if progress is not None and ((u + 1) % report_every == 0 or newly):
            _say(progress, f"{presented} sequences/trial: {int((~tb.active).sum())}/{K} solved, "
                           f"mean loss {float(np.mean(losses[active])):.4g}, "
                           f"{time.perf_counter() - t0:.0f} s", done=presented)
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            _say(progress, f"time limit {time_limit} s reached after {presented} sequences")
            break
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
    xp, K = tb.xp, tb.K
    opt = Adam(tb.params, lr=lr)
    streams = ReberStreams(K * batch)
    results = [dict(success=False, sequences_to_success=None) for _ in range(K)]
    per_update = batch * window
    updates = int(math.ceil(budget / per_update))
    next_check = check_every
    t0 = time.perf_counter()
    state, in_stream, presented = None, 0, 0
    dtype = tb.model.core.dtype
    for u in range(updates):
        if not tb.active.any():
            break
        if in_stream >= stream_len:                          # a new training stream: reset
            streams.reset()
            state, in_stream = None, 0
        x, y = _wide_stream(streams, rngs, window, batch, K, dtype)
        losses, a_out, cache, da = tb.loss(xp.asarray(x), xp.asarray(y), None, state)
        state = cache[0].state
        grads = tb.backward(da, cache)
        if clip is not None:
            tb.clip_grad_norm(grads, clip)
        tb.step(opt, grads)
        in_stream += window
        presented = (u + 1) * per_update
        if presented >= next_check or u == updates - 1:
            next_check += check_every
            active = np.flatnonzero(tb.active)
            counts = stream_test(tb, test_rngs, length=test_len, trials=active)
            for k in active:
                results[k]["best_test_run"] = max(int(counts[k]),
                                                  results[k].get("best_test_run", 0))
                if counts[k] >= test_len:
                    results[k].update(success=True, sequences_to_success=presented)
                    tb.freeze(k)
            _say(progress, f"{presented} symbols/trial: {int((~tb.active).sum())}/{K} solved, "
                           f"mean loss/symbol {float(np.mean(losses[active])) / window:.4g}, "
                           f"test runs {[int(counts[k]) for k in active][:8]}, "
                           f"{time.perf_counter() - t0:.0f} s", done=presented)
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            _say(progress, f"time limit {time_limit} s reached after {presented} symbols")
            break
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
