import numpy as np
import pytest

from minilstm import tasks
from minilstm.tasks import DESCRIPTIONS, SUCCESS, TASKS, Batch, count_successive_correct

NAMES = ["reber", "embedded_reber", "continual_reber", "long_lag_2a", "long_lag_2b",
         "long_lag_2c", "two_sequence", "adding", "multiplication", "temporal_order_6a",
         "temporal_order_6b", "msd", "gts", "pfg"]


def test_registry_names():
    assert list(TASKS) == NAMES
    assert set(DESCRIPTIONS) == set(NAMES) == set(SUCCESS)
    assert all(isinstance(d, str) and "\n" not in d and d for d in DESCRIPTIONS.values())
    text = tasks.describe()
    assert all(name in text for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_task_contract(name):
    batch = TASKS[name](5, rng=11)
    assert isinstance(batch, Batch) and batch.info["task"] == name
    T, B = batch.mask.shape
    assert B == 5 and batch.x.shape[:2] == (T, B) and batch.y.shape[:2] == (T, B)
    assert batch.x.dtype == np.float64 and batch.y.dtype == np.float64
    assert batch.mask.dtype == bool and batch.mask.any(axis=0).all()
    assert batch.lengths.shape == (B,) and batch.lengths.max() == T
    assert not batch.mask[np.arange(T)[:, None] >= batch.lengths[None, :]].any()
    assert SUCCESS[name](batch.y, batch).tolist() == [True] * B
    wrong = np.where(batch.y > 0.5, batch.y - 0.6, batch.y + 0.6)   # every unit 0.6 off
    assert not SUCCESS[name](wrong, batch).any()
    again = TASKS[name](5, rng=np.random.default_rng(11))
    assert np.array_equal(batch.x, again.x) and np.array_equal(batch.y, again.y)
    small = TASKS[name](2, rng=0, dtype=np.float32)
    assert small.x.dtype == np.float32 and small.y.dtype == np.float32
    with pytest.raises(ValueError, match="rng"):
        TASKS[name](2, rng=1.5)
    with pytest.raises(ValueError, match="batch_size"):
        TASKS[name](0, rng=0)
    with pytest.raises(ValueError, match="outputs"):
        SUCCESS[name](batch.y[:, :2], batch)


def test_count_successive_correct():
    correct = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]], dtype=bool)
    assert count_successive_correct(correct).tolist() == [2, 1, 0]
    mask = np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1], [1, 1, 0]], dtype=bool)
    assert count_successive_correct(correct, mask).tolist() == [3, 1, 2]
    events = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1], [1, 1, 0]], dtype=bool)
    assert count_successive_correct(correct, mask, events).tolist() == [2, 1, 1]
    with pytest.raises(ValueError, match="mask"):
        count_successive_correct(correct, mask[:2])


def test_batch_lengths_from_mask():
    mask = np.zeros((5, 2), dtype=bool)
    mask[2, 0] = mask[4, 1] = True
    b = Batch(np.zeros((5, 2, 1)), np.zeros((5, 2, 1)), mask)
    assert b.lengths.tolist() == [3, 5] and b.last.tolist() == [2, 4]
    assert (b.T, b.B, b.n_in, b.n_out) == (5, 2, 1, 1)
