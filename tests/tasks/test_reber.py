import numpy as np
import pytest

from minilstm.tasks import reber as R


def test_automaton_examples():
    for s in ["BTXSE", "BPVVE", "BTSSXXTVVE", "BPTVPSE", "BTXXVVE"]:
        assert R.is_reber(s), s
    for s in ["", "B", "BTSE", "BTXSEE", "TXSE", "BTXS", "BPVPE"]:
        assert not R.is_reber(s), s
    assert R.is_embedded_reber("BTBTXSETE") and R.is_embedded_reber("BPBPVVEPE")
    for s in ["BTBTXSEPE", "BPBTXSETE", "BTXSE", "BTBTXSET", "BTBTXSETEE"]:
        assert not R.is_embedded_reber(s), s


def test_generated_strings_are_accepted():
    for s in R.reber_strings(1000, 0):
        assert R.is_reber(s), s
    for s in R.embedded_reber_strings(1000, 1):
        assert R.is_embedded_reber(s), s


def test_paths_enumeration():
    assert R.reber_paths(5) == ["BPVVE", "BTXSE"]
    assert R.reber_paths(4) == []
    assert R.reber_paths(9, embedded=True) == ["BPBPVVEPE", "BPBTXSEPE", "BTBPVVETE", "BTBTXSETE"]
    assert all(R.is_reber(s) for s in R.reber_paths(12))


@pytest.mark.parametrize("embedded, max_len", [(False, 9), (True, 12)])
def test_every_short_path_is_generated(embedded, max_len):
    paths = set(R.reber_paths(max_len, embedded=embedded))
    assert len(paths) > 10
    strings = (R.embedded_reber_strings if embedded else R.reber_strings)(6000, 2)
    short = {s for s in strings if len(s) <= max_len}
    assert short == paths   # every path appears, and nothing else of that length


def test_embedded_second_and_penultimate_symbols_match():
    strings = R.embedded_reber_strings(500, 3)
    assert {s[1] for s in strings} == {"T", "P"}
    for s in strings:
        assert s[1] == s[-2] and s[1] in "TP"
        assert R.is_reber(s[2:-2])


def test_encoding_of_one_string():
    batch = R.encode_strings(["BTXSE"])
    idx = {s: i for i, s in enumerate(R.SYMBOLS)}
    assert batch.x.shape == (4, 1, 7) and batch.y.shape == (4, 1, 7)
    assert [R.SYMBOLS[i] for i in batch.x[:, 0].argmax(axis=1)] == list("BTXS")
    legal = [{R.SYMBOLS[i] for i in np.flatnonzero(row)} for row in batch.y[:, 0]]
    assert legal == [{"T", "P"}, {"S", "X"}, {"X", "S"}, {"E"}]
    assert batch.mask.all() and batch.lengths.tolist() == [4]
    assert batch.x[0, 0, idx["B"]] == 1


def test_batch_padding_mask_and_hard_target():
    batch = R.embedded_reber(64, rng=4)
    strings = batch.info["strings"]
    assert batch.info["task"] == "embedded_reber"
    assert batch.lengths.tolist() == [len(s) - 1 for s in strings]
    assert batch.T == max(batch.lengths)
    for b, s in enumerate(strings):
        n = len(s) - 1
        assert batch.mask[:n, b].all() and not batch.mask[n:, b].any()
        assert not batch.x[n:, b].any() and not batch.y[n:, b].any()
        assert np.all(batch.x[:n, b].sum(axis=1) == 1)
        # after the inner E (input at step n-2) the only legal symbol is the second one
        hard = batch.y[n - 2, b]
        assert hard.sum() == 1 and R.SYMBOLS[hard.argmax()] == s[1]


def test_success_criterion():
    batch = R.embedded_reber(16, rng=5)
    assert R.reber_success(batch.y, batch).all()
    soft = 0.2 + 0.6 * batch.y
    assert R.reber_success(soft, batch).all()
    garbage = soft.copy()
    garbage[~batch.mask] = 99.0           # padded steps are ignored
    assert R.reber_success(garbage, batch).all()
    # corrupt one step of sequence 0: an illegal symbol beats a legal one
    bad = soft.copy()
    t = 1
    legal = np.flatnonzero(batch.y[t, 0])
    illegal = np.flatnonzero(batch.y[t, 0] == 0)
    bad[t, 0, illegal[0]] = bad[t, 0, legal[0]] + 0.1
    ok = R.reber_success(bad, batch)
    assert not ok[0] and ok[1:].all()
    # ties at the boundary count as failures
    assert not R.reber_success(np.full_like(batch.y, 0.5), batch).any()


def test_continual_stream():
    batch = R.continual_reber(3, rng=6, length=500)
    assert batch.x.shape == (500, 3, 7) and batch.mask.all()
    for b, stream in enumerate(batch.info["strings"]):
        assert len(stream) == 500
        starts = list(batch.info["starts"][b]) + [None]
        pieces = [stream[i:j] for i, j in zip(starts[:-1], starts[1:])]
        assert all(R.is_embedded_reber(p) for p in pieces[:-1])
        assert all(stream[i] == "B" for i in starts[:-1])
        for i in starts[1:-1]:                # after each final E comes B, and B is the target
            assert stream[i - 1] == "E"
            assert R.SYMBOLS[batch.y[i - 1, b].argmax()] == "B" and batch.y[i - 1, b].sum() == 1
        assert [R.SYMBOLS[k] for k in batch.x[:, b].argmax(axis=1)] == list(stream)


def test_continual_criterion_and_count():
    batch = R.continual_reber(4, rng=7, length=300)
    assert R.continual_reber_successive_correct(batch.y, batch).tolist() == [300] * 4
    near = 0.005 + 0.98 * batch.y         # every error below 0.49
    assert R.continual_reber_correct(near, batch).all()
    bad = batch.y.copy()
    bad[123, 1, 0] = 1.0 - bad[123, 1, 0]  # error 1.0 at step 123 of stream 1
    bad[10, 2, 3] += 0.5 if bad[10, 2, 3] == 0 else -0.5   # error 0.5 >= 0.49
    counts = R.continual_reber_successive_correct(bad, batch)
    assert counts.tolist() == [300, 123, 10, 300]


def test_train_test_sets_are_disjoint():
    train, test = R.train_test_strings(8, n_train=256, n_test=256)
    assert len(train) == len(test) == 256
    assert not set(train) & set(test)
    assert all(R.is_embedded_reber(s) for s in train + test)


def test_reproducible_and_rng_forms():
    a = R.embedded_reber(8, rng=9)
    b = R.embedded_reber(8, rng=np.random.default_rng(9))
    assert a.info["strings"] == b.info["strings"]
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert R.embedded_reber(8, 9, dtype=np.float32).x.dtype == np.float32


def test_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        R.embedded_reber(0, rng=0)
    with pytest.raises(TypeError, match="rng"):
        R.embedded_reber(2, rng="seed")
    with pytest.raises(ValueError, match="dtype"):
        R.embedded_reber(2, rng=0, dtype=np.int64)
    with pytest.raises(ValueError, match="strings"):
        R.encode_strings(["BTXSX"])
    with pytest.raises(ValueError, match="length"):
        R.continual_reber(2, rng=0, length=0)
    batch = R.plain_reber(2, rng=0)
    with pytest.raises(ValueError, match="outputs"):
        R.reber_success(batch.y[:, :1], batch)
