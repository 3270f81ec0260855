import numpy as np
import pytest

from minilstm.tasks import timing as TM


def test_msd_spikes_and_targets():
    batch = TM.msd(200, rng=0, period=49, delays=(0, 1), n_spikes=5)
    spikes, delays = batch.info["spikes"], batch.info["delays"]
    assert set(np.unique(delays)) == {0, 1}
    assert np.array_equal(spikes[:, 0], 49 + delays[:, 0] - 1)      # T(1) = F + I(1), 1-based
    gaps = np.diff(spikes, axis=1)
    assert set(np.unique(gaps)) == {49, 50}                          # the paper's 49 vs 50
    assert np.array_equal(gaps, 49 + delays[:, 1:])
    j = np.arange(200)[:, None]
    assert np.all(batch.x[spikes, j, 0] == 1) and batch.x.sum() == spikes.size
    assert np.array_equal(batch.y[spikes, j, 0], delays)
    assert batch.mask.sum() == spikes.size and batch.mask[spikes, j].all()
    assert np.array_equal(batch.lengths, spikes[:, -1] + 1)


def test_msd_criteria():
    batch = TM.msd(3, rng=1, period=10, delays=(0, 1, 2, 3), n_spikes=6)
    assert TM.msd_success(batch.y, batch).all()
    assert TM.msd_successive_correct(batch.y, batch).tolist() == [6, 6, 6]
    out = batch.y.copy()
    s = batch.info["spikes"]
    out[s[1, 2], 1, 0] += 0.5                 # third spike of stream 1 wrong
    out[s[2, 0], 2, 0] -= 0.48                # still within 0.49
    out[0, 0, 0] = 3.0                        # not a spike: ignored
    assert TM.msd_success(out, batch).tolist() == [True, False, True]
    assert TM.msd_successive_correct(out, batch).tolist() == [6, 2, 6]


def test_gts():
    batch = TM.gts(2, rng=0, period=7, n_spikes=4)
    assert batch.x.shape == (28, 2, 1) and not batch.x.any() and batch.mask.all()
    assert np.array_equal(np.flatnonzero(batch.y[:, 0, 0]), [6, 13, 20, 27])
    assert TM.gts_successive_correct(batch.y, batch).tolist() == [4, 4]
    out = batch.y * 0.9 + 0.05
    assert TM.gts_success(out, batch).all()
    out[16, 1, 0] = 0.6                       # a false spike between spikes 2 and 3
    out[6, 0, 0] = 0.4                        # first spike missed
    assert TM.gts_success(out, batch).tolist() == [False, False]
    assert TM.gts_successive_correct(out, batch).tolist() == [0, 2]


def test_pfg_shapes():
    F = 10
    t = np.arange(3 * F)
    cos = TM.periodic_target(t, F, "cos")
    assert cos[0] == 0 and np.isclose(cos[5], 1) and np.allclose(cos[:F], cos[F:2 * F])
    tri = TM.periodic_target(t, F, "tri")
    assert np.allclose(tri[:F], [0, .2, .4, .6, .8, 1, .8, .6, .4, .2])
    rect = TM.periodic_target(t, F, "rect")
    assert rect[:F].tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]
    batch = TM.pfg(3, rng=0, period=F, shape="tri", n_periods=4)
    assert batch.x.shape == (40, 3, 1) and not batch.x.any()
    assert np.allclose(batch.y[:, 1, 0], TM.periodic_target(np.arange(40), F, "tri"))


def test_pfg_criteria():
    batch = TM.pfg(2, rng=0, period=2.5, shape="cos", n_periods=8)
    assert batch.T == 20
    assert TM.pfg_successive_correct(batch.y, batch).tolist() == [8, 8]
    out = batch.y.copy()
    out[5, 1, 0] += 0.31                      # step 5 is in period 3 (steps 5, 6, 7)
    assert TM.pfg_success(out, batch).tolist() == [True, False]
    assert TM.pfg_successive_correct(out, batch).tolist() == [8, 2]


def test_bad_input():
    with pytest.raises(ValueError, match="delays"):
        TM.msd(2, rng=0, delays=(-1, 0))
    with pytest.raises(ValueError, match="delays"):
        TM.msd(2, rng=0, delays=(0.5,))
    with pytest.raises(ValueError, match="shape"):
        TM.pfg(2, rng=0, shape="sin")
    with pytest.raises(ValueError, match="period"):
        TM.pfg(2, rng=0, period=1)
    with pytest.raises(ValueError, match="period"):
        TM.gts(2, rng=0, period=0)
