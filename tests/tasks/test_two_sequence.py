import numpy as np
import pytest

from minilstm.tasks import two_sequence as S


def test_3a_structure():
    T, N = 100, 3
    batch = S.two_sequence_problem(500, rng=0, T=T, N=N)
    cls, lengths = batch.info["cls"], batch.lengths
    assert batch.x.shape[1:] == (500, 1) and batch.y.shape[1:] == (500, 1)
    assert lengths.min() >= T and lengths.max() <= T + T // 10
    assert set(np.unique(lengths)) == set(range(T, T + T // 10 + 1))
    assert set(cls) == {1, 2} and 200 < np.sum(cls == 1) < 300
    sign = np.where(cls == 1, 1.0, -1.0)
    assert np.all(batch.x[:N, :, 0] == sign)
    j = np.arange(500)
    assert np.array_equal(batch.y[lengths - 1, j, 0], np.where(cls == 1, 1.0, 0.0))
    assert np.array_equal(batch.mask.sum(axis=0), np.ones(500)) and batch.mask[lengths - 1, j].all()
    noise = np.concatenate([batch.x[N:n, b, 0] for b, n in enumerate(lengths)])
    assert abs(noise.mean()) < 0.02 and abs(noise.var() - 0.2) < 0.01
    for b, n in enumerate(lengths):
        assert not batch.x[n:, b].any()


def test_3b_noisy_information():
    batch = S.two_sequence_problem(2000, rng=1, T=20, N=1, variant="3b")
    sign = np.where(batch.info["cls"] == 1, 1.0, -1.0)
    dev = batch.x[0, :, 0] - sign
    assert abs(dev.mean()) < 0.04 and abs(dev.var() - 0.2) < 0.03
    assert np.array_equal(batch.info["clean_target"], np.where(batch.info["cls"] == 1, 1.0, 0.0))


def test_3c_noisy_targets():
    batch = S.two_sequence_problem(4000, rng=2, T=20, N=1, variant="3c")
    clean = batch.info["clean_target"]
    assert set(np.unique(clean)) == {0.2, 0.8}
    target = batch.y[batch.last, np.arange(batch.B), 0]
    dev = target - clean
    assert abs(dev.mean()) < 0.02 and abs(dev.var() - 0.1) < 0.01
    assert S.two_sequence_success(batch.y, batch).mean() < 0.5   # noisy targets miss the band
    out = batch.y.copy()
    out[batch.last, np.arange(batch.B), 0] = clean + 0.05
    assert S.two_sequence_success(out, batch).all()
    assert abs(S.two_sequence_mean_error(out, batch) - 0.05) < 1e-12


def test_criterion_3a():
    batch = S.two_sequence_problem(3, rng=3, T=10, N=1)
    out = batch.y.copy()
    out[batch.last, np.arange(3), 0] += np.array([0.19, -0.21, 0.0])
    assert S.two_sequence_success(out, batch).tolist() == [True, False, True]


def test_bad_input():
    with pytest.raises(ValueError, match="variant"):
        S.two_sequence_problem(2, rng=0, variant="3d")
    with pytest.raises(ValueError, match="N"):
        S.two_sequence_problem(2, rng=0, T=5, N=5)
    with pytest.raises(ValueError, match="T"):
        S.two_sequence_problem(2, rng=0, T=0)
