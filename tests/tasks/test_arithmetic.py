import numpy as np
import pytest

from minilstm.tasks import arithmetic as A


@pytest.mark.parametrize("gen", [A.adding, A.multiplication])
def test_markers_follow_the_rules(gen):
    T, B = 40, 3000
    batch = gen(B, rng=0, T=T)
    pos, lengths = batch.info["positions"], batch.lengths
    assert lengths.min() >= T and lengths.max() <= T + T // 10
    assert set(np.unique(lengths)) == set(range(T, T + T // 10 + 1))
    assert set(np.unique(pos[:, 0])) == set(range(10))            # X1 among the first ten
    assert set(np.unique(pos[:, 1])) == set(range(T // 2))         # first T/2 - 1 unmarked
    assert np.all(pos[:, 0] != pos[:, 1])
    first_marked = (pos == 0).any(axis=1)
    assert 0.05 < first_marked.mean() < 0.2                        # the "rare case" occurs
    for b in range(B):
        n = lengths[b]
        m = batch.x[:n, b, 1]
        assert m[0] == -1 and m[n - 1] == -1
        plus = set(np.flatnonzero(m == 1))
        assert plus == set(pos[b]) - {0}                            # two +1, one if pos 0 drawn
        assert set(np.flatnonzero(m == -1)) == {0, n - 1}
        assert not batch.x[n:, b].any()
        assert batch.mask[:, b].sum() == 1 and batch.mask[n - 1, b]


def test_adding_targets():
    batch = A.adding(2000, rng=1, T=30)
    values = batch.x[..., 0]
    assert values.min() >= -1 and values.max() <= 1 and values.min() < -0.99
    for b, n in enumerate(batch.lengths):
        marked = values[:n, b][batch.x[:n, b, 1] == 1]
        assert np.isclose(batch.y[n - 1, b, 0], 0.5 + marked.sum() / 4)
    X1, X2, pos = batch.info["X1"], batch.info["X2"], batch.info["positions"]
    assert np.all(X1[pos[:, 0] == 0] == 0) and np.all(X2[pos[:, 1] == 0] == 0)
    target = batch.y[batch.last, np.arange(batch.B), 0]
    assert np.allclose(target, 0.5 + (X1 + X2) / 4)
    assert target.min() >= 0 and target.max() <= 1


def test_multiplication_targets():
    batch = A.multiplication(2000, rng=2, T=30)
    values = batch.x[..., 0]
    assert values.min() >= 0 and values.max() <= 1
    for b, n in enumerate(batch.lengths):
        marked = values[:n, b][batch.x[:n, b, 1] == 1]
        assert np.isclose(batch.y[n - 1, b, 0], np.prod(marked))
    X1, X2, pos = batch.info["X1"], batch.info["X2"], batch.info["positions"]
    assert np.all(X1[pos[:, 0] == 0] == 1)
    assert np.allclose(batch.y[batch.last, np.arange(batch.B), 0], X1 * X2)


def test_criteria():
    for gen, ok in [(A.adding, A.adding_success), (A.multiplication, A.multiplication_success)]:
        batch = gen(3, rng=3)
        out = batch.y.copy()
        out[batch.last, np.arange(3), 0] += np.array([0.039, -0.041, 0.0])
        out[0, 2, 0] = 5.0                    # not the last step: ignored
        assert ok(out, batch).tolist() == [True, False, True]


def test_bad_input():
    with pytest.raises(ValueError, match="T"):
        A.adding(2, rng=0, T=11)
    with pytest.raises(ValueError, match="batch_size"):
        A.multiplication(-1, rng=0)
    batch = A.adding(2, rng=0)
    with pytest.raises(ValueError, match="batch"):
        A.multiplication_success(batch.y, batch)
