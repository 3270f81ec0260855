import numpy as np
import pytest

from minilstm.tasks import temporal_order as TO

IDX = {s: i for i, s in enumerate(TO.SYMBOLS)}


@pytest.mark.parametrize("n", [2, 3])
def test_structure_positions_and_classes(n):
    B = 1000
    batch = TO.temporal_order_problem(B, rng=n, n_relevant=n)
    sym, idx, rel, cls = (batch.info[k] for k in ("symbols", "indices", "relevant", "cls"))
    assert batch.x.shape[1:] == (B, 8) and batch.y.shape[1:] == (B, 2 ** n)
    assert batch.lengths.min() >= 100 and batch.lengths.max() <= 110
    for i, (lo, hi) in enumerate(TO.WINDOWS[n]):
        assert set(np.unique(idx[:, i] + 1)) == set(range(lo, hi + 1))
    assert set(np.unique(cls)) == set(range(2 ** n))
    for b in range(B):
        m = batch.lengths[b]
        s = sym[:m, b]
        assert s[0] == IDX["E"] and s[-1] == IDX["B"] and np.all(sym[m:, b] == -1)
        xy = np.flatnonzero((s == IDX["X"]) | (s == IDX["Y"]))
        assert np.array_equal(xy, idx[b])
        others = np.delete(s, np.concatenate([[0, m - 1], xy]))
        assert np.all(others < 4)                                  # a, b, c, d
        order = "".join("XY"[v] for v in s[xy] - IDX["X"])
        assert TO.CLASS_NAMES[n][cls[b]] == _paper_class(order)
        assert batch.mask[:, b].sum() == 1 and batch.mask[m - 1, b]
        assert batch.y[m - 1, b].argmax() == cls[b] and batch.y[m - 1, b].sum() == 1
        assert np.array_equal(batch.x[:m, b].argmax(axis=1), s) and not batch.x[m:, b].any()


def _paper_class(order):
    rules = {"XX": "Q", "XY": "R", "YX": "S", "YY": "U",
             "XXX": "Q", "XXY": "R", "XYX": "S", "XYY": "U",
             "YXX": "V", "YXY": "A", "YYX": "B", "YYY": "C"}
    return rules[order]


def test_6a_6b_wrappers():
    assert TO.temporal_order_6a(4, rng=0).info["task"] == "temporal_order_6a"
    assert TO.temporal_order_6b(4, rng=0).y.shape[2] == 8


def test_criterion():
    batch = TO.temporal_order_6a(3, rng=1)
    out = batch.y.copy()
    j = np.arange(3)
    out[batch.last, j, 1] += np.array([0.29, 0.31, 0.0])
    out[0] = 9.0                                                    # first step ignored
    assert TO.temporal_order_success(out, batch).tolist() == [True, False, True]


def test_bad_input():
    with pytest.raises(ValueError, match="n_relevant"):
        TO.temporal_order_problem(2, rng=0, n_relevant=4)
