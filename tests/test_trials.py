"""K independent trials packed as one block-diagonal network (minilstm.train.trials).

The promise: trial k trained in a batch follows exactly (to 1e-10) the trajectory of the same
network trained alone with the same seed and the same data, for every layer kind, with Adam
(mini-batch BPTT) and with the 1997 online rule.
"""
import numpy as np
import pytest

from minilstm import backend
from minilstm import backend as backend_module
from minilstm.functional import sigmoid
from minilstm.gradcheck import gradcheck
from minilstm.nn.gru import GRU
from minilstm.nn.recurrent import Recurrent
from minilstm.nn.model import SequenceModel
from minilstm.optim import SGD, Adam
from minilstm.nn.presets import lstm_1997, lstm_forget_1999, net_1997, vanilla
from minilstm.nn.rnn import RNN
from minilstm.nn.slstm import SLSTM
from minilstm.tasks import TASKS
from minilstm.nn.model import LOSSES
from minilstm.experiments.nets import InputToOutput
from minilstm.train import DivergenceGuard, fit
from minilstm.train.trials import TrialBatch


class _GatedLeak(Recurrent):
    """A cell that lives in this file only: h = g ⊙ h(t−1) + (1 − g) ⊙ tanh(W_c x + R_c h(t−1) + b_c),
    g = σ(W_g x + R_g h(t−1) + b_g). Its parameters are W_* (H, I), R_* (H, H), b_* (H,), so
    TrialBatch packs it through Recurrent's defaults, with no edit anywhere else."""

    state_names = ("h",)

    def __init__(self, n_in, n_hidden, init_scale=0.5, seed=None, dtype="float64", backend=None):
        xp = backend_module.get_backend(backend)
        self.n_in, self.n_hidden, self.n_out, self.state_sizes = n_in, n_hidden, n_hidden, (n_hidden,)
        self.config = dict(n_in=n_in, n_hidden=n_hidden, init_scale=init_scale, seed=seed,
                           dtype=dtype, backend=backend_module.backend_name(xp))
        H, I = n_hidden, n_in
        self._allocate({"W_g": (H, I), "W_c": (H, I), "R_g": (H, H), "R_c": (H, H),
                        "b_g": (H,), "b_c": (H,)}, xp, dtype)
        self._init_uniform(seed, init_scale)

    def _project(self, x):
        p = self.params
        W = self.xp.concatenate([p["W_g"], p["W_c"]])                     # (2H, I)
        return x @ W.T + self.xp.concatenate([p["b_g"], p["b_c"]])       # (T, B, 2H)

    def step_forward(self, params, a_t, state):
        (h_prev,) = state
        H = self.n_hidden
        g = sigmoid(a_t[:, :H] + h_prev @ params["R_g"].T)
        c = self.xp.tanh(a_t[:, H:] + h_prev @ params["R_c"].T)
        h = g * h_prev + (1.0 - g) * c
        return h, (h,), (h_prev, g, c)

    def step_backward(self, params, dy_t, dstate, cache_t):
        h_prev, g, c = cache_t
        hbar = dy_t + dstate[0]
        d_g = hbar * (h_prev - c) * g * (1.0 - g)
        d_c = hbar * (1.0 - g) * (1.0 - c * c)
        dh = hbar * g + d_g @ params["R_g"] + d_c @ params["R_c"]
        return self.xp.concatenate([d_g, d_c], axis=1), (dh,)

    def _weight_grads(self, x, da, cache):
        xp, H, (T, B, I) = self.xp, self.n_hidden, x.shape
        d2 = da.reshape(T * B, 2 * H)
        h_prev = xp.stack([s[0] for s in cache.steps]).reshape(T * B, H)
        dW, dR, db = d2.T @ x.reshape(T * B, I), d2.T @ h_prev, d2.sum(axis=0)
        grads = {"W_g": dW[:H], "W_c": dW[H:], "R_g": dR[:H], "R_c": dR[H:], "b_g": db[:H], "b_c": db[H:]}
        p = self.params
        return (d2 @ xp.concatenate([p["W_g"], p["W_c"]])).reshape(T, B, I), grads


def _lstm4(seed, xp):
    core, n_out, bias = net_1997("4", seed=seed, backend=xp)
    return SequenceModel(core, n_out, loss="mse", readout_bias=bias, seed=seed + 1000)


def _cores(seed, xp):
    return {
        "lstm_1997_blocks": lambda: lstm_1997(2, 2, 2, cell_bias=True, seed=seed, backend=xp,
                                              gate_bias_init={"i": [-1.0, -2.0]}),
        "forget_1999": lambda: lstm_forget_1999(2, 2, 2, seed=seed, backend=xp),
        "vanilla_peepholes": lambda: vanilla(2, 3, seed=seed, backend=xp),
        "vanilla_fgr": lambda: vanilla(2, 3, fgr=True, seed=seed, backend=xp),
        "cifg": lambda: vanilla(2, 3, cifg=True, seed=seed, backend=xp),
        "rnn": lambda: RNN(2, 4, seed=seed, backend=xp),
        "gru": lambda: GRU(2, 3, seed=seed, backend=xp),
        "slstm": lambda: SLSTM(2, 3, seed=seed, backend=xp),
        "w_r_b_cell_of_this_file": lambda: _GatedLeak(2, 3, seed=seed, backend=xp),
        "input_to_output_wrapper": lambda: InputToOutput(      # [y, x], one weight group held at 0
            lstm_1997(2, 2, 2, cell_bias=True, seed=seed, backend=xp), drop=("R_o",)),
    }


def _train_alone_and_batched(make, K, steps, loss="logistic_mse", lr=0.01, B=4, T=16):
    singles = [make(s) for s in range(K)]
    tb = TrialBatch([make(s) for s in range(K)], loss=loss)
    opt = Adam(tb.params, lr=lr)
    s_opts = [Adam(m.params, lr=lr) for m in singles]
    lossfn = LOSSES[loss][0]
    rngs = [np.random.default_rng(100 + k) for k in range(K)]
    xp = tb.xp
    batches = [[TASKS["adding"](B, rngs[k], T=T) for k in range(K)]   # lengths differ per trial
               for _ in range(steps)]
    history = fit(tb, lambda u: tuple(tb.pack([getattr(b, a) for b in batches[u]])
                                      for a in ("x", "y", "mask")), opt, steps=steps)
    assert len(history.loss) == steps and all(np.shape(v) == (K,) for v in history.loss)
    for losses, bs in zip(history.loss, batches):
        for k, (model, o) in enumerate(zip(singles, s_opts)):
            a, c = model.forward(xp.asarray(bs[k].x))
            lk, d = lossfn(a, xp.asarray(bs[k].y), xp.asarray(bs[k].mask))
            assert lk == pytest.approx(losses[k], rel=1e-12, abs=1e-15)
            o.step(model.backward(d, c))
    return tb, singles


def _step(tb, opt, guard, x, y, m=None, poison=None):
    """One update of ``tb`` as :func:`fit` makes it, with ``poison(grads)`` applied to the
    gradients before the norm; the guard read after it."""
    losses, _, cache, da = tb.loss(x, y, m, as_array=True)
    grads = tb.model.backward(da, cache)
    if poison is not None:
        poison(grads)
    tb.mask_grads(grads)
    norms = tb.clip_grad_norm(grads)
    label = tb.updates
    tb.update(opt, grads)
    guard.mark(label, losses, norms, grads)
    return guard.read(None)

@pytest.mark.parametrize("kind", list(_cores(0, "numpy")))
def test_batched_trials_follow_single_trajectories(kind):
    def make(seed):
        core = _cores(seed, "numpy")[kind]()
        return SequenceModel(core, 1, loss="mse", readout_bias=True, seed=seed + 1000)

    tb, singles = _train_alone_and_batched(make, K=3, steps=6)
    for k, model in enumerate(singles):
        got = tb.trial_params(k)
        for name, p in model.params.items():
            np.testing.assert_allclose(got[name], backend.to_numpy(p), rtol=0, atol=1e-10,
                                       err_msg=f"{kind}: trial {k}, {name}")


def test_off_block_entries_stay_zero_and_counts():
    tb, _ = _train_alone_and_batched(lambda s: _lstm4(s, "numpy"), K=4, steps=3)
    assert tb.n_params_per_trial == 93
    for name, p in tb.params.items():
        off = backend.to_numpy(p) * (1 - backend.to_numpy(tb.masks[name]))
        assert not off.any(), name


def test_batched_trials_on_the_strict_backend():
    tb, singles = _train_alone_and_batched(lambda s: _lstm4(s, "strict"), K=2, steps=3)
    for k, model in enumerate(singles):
        got = tb.trial_params(k)
        for name, p in model.params.items():
            np.testing.assert_allclose(got[name], backend.to_numpy(p), atol=1e-10)


def test_freeze_keeps_a_trial_fixed_and_others_moving():
    tb = TrialBatch([_lstm4(s, "numpy") for s in range(3)], loss="logistic_mse")
    opt = Adam(tb.params, lr=0.01)
    rng = np.random.default_rng(0)

    def data(step):
        bs = [TASKS["adding"](4, rng, T=16) for _ in range(3)]
        return tb.pack([b.x for b in bs]), tb.pack([b.y for b in bs]), tb.pack([b.mask for b in bs])

    fit(tb, data, opt, steps=1)
    tb.freeze(1)
    before = [tb.trial_params(k) for k in range(3)]
    fit(tb, data, opt, steps=3)          # Adam's momentum would move trial 1 if not frozen
    after = [tb.trial_params(k) for k in range(3)]
    for name in before[1]:
        np.testing.assert_array_equal(before[1][name], after[1][name])
    assert any(not np.array_equal(before[0][n], after[0][n]) for n in before[0])
    assert tb.updates == 4


def test_a_diverging_trial_is_frozen_without_touching_the_others():
    tb = TrialBatch([_lstm4(s, "numpy") for s in range(2)], loss="mse")
    opt = SGD(tb.params, lr=0.1)
    guard = DivergenceGuard(tb, opt, 1)
    grads = {k: np.zeros_like(p) for k, p in tb.params.items()}
    ix = tb._ix["core.W_z"][1]
    g = np.zeros_like(grads["core.W_z"])
    g[ix] = np.inf
    grads["core.W_z"] = g
    grads["core.b_z"][:] = 1.0 * backend.to_numpy(tb.masks["core.b_z"])
    before0, before1 = tb.trial_params(0), tb.trial_params(1)
    norms = tb.clip_grad_norm(grads)
    assert np.isinf(norms[1]) and np.isfinite(norms[0])
    tb.update(opt, grads)
    guard.mark(0, np.zeros(2), norms, grads)
    guard.read(None)
    assert tb.diverged[1] and not tb.active[1] and tb.diverged_at == [None, 0]
    assert all(np.isfinite(p).all() for p in tb.params.values())
    after0, after1 = tb.trial_params(0), tb.trial_params(1)
    np.testing.assert_allclose(after0["core.b_z"], before0["core.b_z"] - 0.1)
    assert all(np.array_equal(after1[n], before1[n]) for n in before1)   # its last good weights


def test_a_batch_of_trials_reads_its_guard_after_every_update():
    """The rule of minilstm.train.guard: one trial's NaN weight reaches every trial at the next
    forward pass (0 · NaN = NaN in the wide product), so the guard of a batch must be read
    before it: check_every other than 1 is refused."""
    tb = TrialBatch([_lstm4(s, "numpy") for s in range(3)], loss="mse")
    rng = np.random.default_rng(0)
    x, y = tb.pack([rng.uniform(-1, 1, (6, 2, 2))] * 3), tb.pack([rng.uniform(-1, 1, (6, 2, 1))] * 3)
    assert np.isfinite(tb.loss(x, y)[0]).all()
    tb.params["core.W_z"][tb._ix["core.W_z"][1]] = np.nan       # trial 1's block only
    with np.errstate(invalid="ignore"):
        assert np.isnan(tb.loss(x, y)[0]).all()                  # every trial's loss
    with pytest.raises(ValueError, match="check_every must be 1 for a batch of 3 trials"):
        fit(tb, lambda u: (x, y, None), SGD(tb.params, lr=0.1), steps=1, check_every=2)


def test_fit_stops_a_diverging_trial_and_the_others_go_on_as_without_it():
    """Trial 1's targets jump to 1e308 at update 3 of 6 (fit, Adam): its loss and update are not
    finite, it stays at its weights after update 2, and trials 0 and 2 end where a batch without
    trial 1 ends."""
    def run(seeds, poison=None):
        tb = TrialBatch([_lstm4(s, "numpy") for s in seeds], loss="mse")
        rngs = [np.random.default_rng(100 + s) for s in seeds]

        def data(step):
            xs = [r.uniform(-1, 1, (12, 4, 2)) for r in rngs]
            ys = [0.3 * np.cumsum(x[..., :1], axis=0) for x in xs]
            if step == 3 and poison is not None:
                ys[poison] = np.full_like(ys[poison], 1e308)
            return tb.pack(xs), tb.pack(ys), None

        history = fit(tb, data, Adam(tb.params, lr=0.01), steps=6)
        return tb, history

    with np.errstate(over="ignore", invalid="ignore"):
        tb, history = run([0, 1, 2], poison=1)
    alone, _ = run([0, 2])
    assert tb.diverged.tolist() == [False, True, False] and tb.diverged_at == [None, 3, None]
    assert not np.isfinite(history.loss[3][1]) and np.isfinite(history.loss[3][[0, 2]]).all()
    for k, j in ((0, 0), (2, 1)):
        got, want = tb.trial_params(k), alone.trial_params(j)
        for name in got:
            np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-10,
                                       err_msg=f"trial {k}, {name}")
    ref = TrialBatch([_lstm4(1, "numpy")], loss="mse")    # trial 1: where 3 updates alone leave it
    rng = np.random.default_rng(101)
    def data1(step):
        x = rng.uniform(-1, 1, (12, 4, 2))
        return ref.pack([x]), ref.pack([0.3 * np.cumsum(x[..., :1], axis=0)]), None
    fit(ref, data1, Adam(ref.params, lr=0.01), steps=3)
    got, want = tb.trial_params(1), ref.trial_params(0)
    for name in got:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-10, err_msg=name)
    for name, p in tb.params.items():          # finite, and off-block entries still exactly 0
        host = backend.to_numpy(p)
        assert np.isfinite(host).all(), name
        assert not (host * (1 - backend.to_numpy(tb.masks[name]))).any(), name


@pytest.mark.parametrize("xp_name", ["numpy", "strict"])
def test_an_overflowing_gradient_of_one_trial_leaves_the_others_as_if_it_were_absent(xp_name):
    """Trial 1's targets jump to 1e308 at update 2: its readout-bias gradient overflows and its
    update is not finite. Its rows of ``W_z``'s gradient are also set to inf across *all*
    columns, off-block ones included, as an overflow of the sum over t of δ_z(t) x(t)ᵀ in its
    rows would leave them (these small nets do not reach that on their own). The other trials must
    go on exactly as a batch without trial 1 would, and every later forward pass must stay finite:
    inf · 0 = NaN must not reach them through the masks or through Adam's state of the frozen
    trial."""
    def run(seeds, poison=None, steps=6):
        tb = TrialBatch([_lstm4(s, xp_name) for s in seeds], loss="mse")
        opt = Adam(tb.params, lr=0.01)
        guard = DivergenceGuard(tb, opt, 1)
        rngs = [np.random.default_rng(100 + s) for s in seeds]
        for step in range(steps):
            xs = [r.uniform(-1, 1, (12, 4, 2)) for r in rngs]
            ys = [0.3 * np.cumsum(x[..., :1], axis=0) for x in xs]
            if step == 2 and poison is not None:
                ys[poison] = np.full_like(ys[poison], 1e308)

            def overflow(grads):
                if step != 2 or poison is None:
                    return
                assert not np.isfinite(backend.to_numpy(grads["readout.b"])).all()
                rows = tb._ix["core.W_z"][poison][0].ravel()
                g = backend.to_numpy(grads["core.W_z"]).copy()
                g[rows, :] = np.inf
                grads["core.W_z"] = tb.xp.asarray(g)

            def masked_then_checked(grads):
                overflow(grads)
                if step == 2 and poison is not None:       # inf stays in trial 1's block only
                    tb.mask_grads(grads)
                    for name, g in grads.items():
                        outside = backend.to_numpy(tb.trial_mask(poison)[name]) == 0
                        assert np.isfinite(backend.to_numpy(g)[outside]).all(), name

            _step(tb, opt, guard, tb.pack(xs), tb.pack(ys), poison=masked_then_checked)
        return tb

    with np.errstate(over="ignore", invalid="ignore"):
        tb = run([0, 1, 2], poison=1)
    alone = run([0, 2])
    assert tb.diverged.tolist() == [False, True, False] and tb.diverged_at == [None, 2, None]
    for k, j in ((0, 0), (2, 1)):
        got, want = tb.trial_params(k), alone.trial_params(j)
        for name in got:
            np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-10,
                                       err_msg=f"trial {k}, {name}")
    for name, p in tb.params.items():          # finite, and off-block entries still exactly 0
        host = backend.to_numpy(p)
        assert np.isfinite(host).all(), name
        assert not (host * (1 - backend.to_numpy(tb.masks[name]))).any(), name


def test_bad_inputs_are_refused():
    with pytest.raises(TypeError):
        TrialBatch([])
    a, b = _lstm4(0, "numpy"), SequenceModel(RNN(2, 3, seed=0), 1, seed=0)
    with pytest.raises(ValueError, match="same configuration"):
        TrialBatch([a, b])
    with pytest.raises(ValueError, match="loss"):
        TrialBatch([a], loss="hinge")
    tb = TrialBatch([_lstm4(0, "numpy"), _lstm4(1, "numpy")])
    with pytest.raises(ValueError, match="expected 2 arrays"):
        tb.pack([np.zeros((3, 1, 2))])


def test_per_trial_clipping_equals_clipping_each_trial_alone():
    from minilstm.optim import clip_grad_norm
    K, B = 3, 2
    tb = TrialBatch([_lstm4(s, "numpy") for s in range(K)], loss="mse")
    rngs = [np.random.default_rng(7 + k) for k in range(K)]
    bs = [TASKS["adding"](B, rngs[k], T=12) for k in range(K)]
    x, y, m = tb.pack([b.x for b in bs]), tb.pack([b.y for b in bs]), tb.pack([b.mask for b in bs])
    _, _, cache, da = tb.loss(x, y, m)
    grads = tb.backward(da, cache)
    scale = [1.0, 3.0, 1e-6]   # trials 0 and 1 get clipped, trial 2 (tiny) is left as it is
    for k, s in enumerate(scale):
        for n, g in grads.items():
            g *= np.where(tb.trial_mask(k)[n] > 0, s, 1.0)
    norms = [np.sqrt(sum(float(np.sum((g * tb.trial_mask(k)[n]) ** 2)) for n, g in grads.items()))
             for k in range(K)]
    limit = 0.5 * min(norms[:2])
    assert norms[2] < limit
    expected = []
    for k in range(K):
        gk = {n: g * tb.trial_mask(k)[n] for n, g in grads.items()}
        clip_grad_norm(gk, limit)
        expected.append(gk)
    got = tb.clip_grad_norm(grads, limit)            # each trial's norm, before clipping
    np.testing.assert_allclose(got, norms, rtol=1e-12)
    sums = [sum(float(np.sum(p * tb.trial_mask(k)[n])) for n, p in tb.params.items())
            for k in range(K)]
    np.testing.assert_allclose(tb.weight_sum(), sums, rtol=1e-12)
    for k in range(K):
        for n, g in grads.items():
            np.testing.assert_allclose(g * tb.trial_mask(k)[n], expected[k][n], rtol=1e-12, atol=1e-15)


def test_a_new_w_r_b_cell_packs_with_no_other_edit():
    """_GatedLeak, a layer class defined only in this file, packs through Recurrent's
    axis_kinds/axis_sizes/widen (test_batched_trials_follow_single_trajectories trains it:
    trial k follows the cell trained alone)."""
    cell = _GatedLeak(2, 3, seed=0)
    assert gradcheck(cell, np.random.default_rng(1).standard_normal((4, 2, 2))).max_error < 1e-7
    assert cell.axis_kinds() == {"W_g": ("cell", "in"), "W_c": ("cell", "in"), "R_g": ("cell", "cell"),
                                 "R_c": ("cell", "cell"), "b_g": ("cell",), "b_c": ("cell",)}
    wide = cell.widen(3)
    assert type(wide) is _GatedLeak and (wide.n_in, wide.n_hidden) == (6, 9) and not wide.flat.any()
    assert "w_r_b_cell_of_this_file" in _cores(0, "numpy")


def test_a_layer_laid_out_otherwise_is_refused_by_name():
    class Odd(_GatedLeak):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.params = {**self.params, "p_g": self.params["b_g"]}

    with pytest.raises(TypeError, match=r"cannot pack trials of a Odd: its parameter 'p_g'"):
        TrialBatch([SequenceModel(Odd(2, 3, seed=s), 1, seed=s) for s in range(2)])
