import numpy as np
import pytest

from minilstm.tasks import long_lag as L


def test_2a_two_sequences():
    p = 10
    batch = L.long_lag_2a(200, rng=0, p=p)
    sym = batch.info["symbols"]                    # (p + 1, B)
    assert batch.x.shape == (p, 200, p + 1) and batch.y.shape == (p, 200, p + 1)
    assert np.array_equal(sym[0], sym[-1])
    assert set(sym[0]) == {p - 1, p}               # x or y, both occur
    assert np.all(sym[1:-1] == np.arange(p - 1)[:, None])
    assert np.array_equal(batch.x.argmax(axis=2), sym[:-1])
    assert np.array_equal(batch.y.argmax(axis=2), sym[1:])
    assert np.array_equal(batch.info["is_x"], sym[0] == p - 1)
    assert 60 < batch.info["is_x"].sum() < 140
    assert batch.mask.all()


def test_2b_random_middle():
    p = 20
    batch = L.long_lag_2b(300, rng=1, p=p)
    sym = batch.info["symbols"]
    assert np.array_equal(sym[0], sym[-1])
    middle = sym[1:-1]
    assert middle.min() >= 0 and middle.max() <= p - 2
    assert len(np.unique(middle)) == p - 1          # all of a_1..a_{p-1} occur
    assert len({tuple(c) for c in middle.T}) == 300  # sequences differ
    assert np.array_equal(batch.y.argmax(axis=2), sym[1:])


def test_2a_2b_criteria():
    batch = L.long_lag_2a(6, rng=2, p=8)
    assert L.long_lag_2a_success(batch.y, batch).all()
    out = batch.y.copy()
    out[3, 0, 0] += 0.3                             # middle error on sequence 0
    out[-1, 1] += 0.24                              # small final error on sequence 1
    out[-1, 2, 0] += 0.26                           # final error too big on sequence 2
    assert L.long_lag_2a_success(out, batch).tolist() == [False, True, False, True, True, True]
    final = L.long_lag_2a_success(out, batch, final_only=True)
    assert final.tolist() == [True, True, False, True, True, True]
    b2 = L.long_lag_2b(3, rng=3, p=8)
    noisy = np.full_like(b2.y, 1 / 7)               # unpredictable middle: ignored
    noisy[-1] = b2.y[-1]
    assert L.long_lag_2b_success(noisy, b2).all()
    noisy[-1, 0] = 0.5
    assert L.long_lag_2b_success(noisy, b2).tolist() == [False, True, True]


def test_2c_structure():
    q, p = 30, 12
    batch = L.long_lag_2c(400, rng=4, q=q, p=p)
    e, b, xs, ys = p, p + 1, p + 2, p + 3
    sym, k, is_x = batch.info["symbols"], batch.info["k"], batch.info["is_x"]
    assert batch.x.shape[2] == p + 4 and batch.y.shape[2] == 2
    assert np.array_equal(batch.lengths, q + k + 3)   # full sequence has q + k + 4 symbols
    for j in range(400):
        n = batch.lengths[j]
        s = sym[:n, j]
        assert s[0] == b and s[1] == (xs if is_x[j] else ys) and s[-1] == e
        assert np.all((s[2:-1] >= 0) & (s[2:-1] < p))  # only distractors in between
        assert np.all(sym[n:, j] == -1) and not batch.x[n:, j].any()
        assert np.all(batch.x[:n, j].sum(axis=1) == 1)
        assert batch.mask[:, j].sum() == 1 and batch.mask[n - 1, j]
        assert batch.y[n - 1, j].tolist() == ([1, 0] if is_x[j] else [0, 1])
        assert (n - 1) - 1 >= q + 1                  # minimal lag class symbol -> trigger
    assert k.min() >= 0 and 7.5 < k.mean() < 10.5    # geometric, mean 9
    assert 0.05 < np.mean(k == 0) < 0.16


def test_2c_criterion():
    batch = L.long_lag_2c(3, rng=5, q=5, p=5)
    out = batch.y.copy()
    j = np.arange(3)
    out[batch.last, j, 0] += np.array([0.19, 0.21, 0.0])
    out[0, 2] = 7.0                                  # not the final step: ignored
    assert L.long_lag_2c_success(out, batch).tolist() == [True, False, True]


def test_bad_input():
    with pytest.raises(ValueError, match="p"):
        L.long_lag_2a(2, rng=0, p=1)
    with pytest.raises(ValueError, match="q"):
        L.long_lag_2c(2, rng=0, q=-1)
    batch = L.long_lag_2a(2, rng=0, p=5)
    with pytest.raises(ValueError, match="batch"):
        L.long_lag_2c_success(batch.y, batch)
