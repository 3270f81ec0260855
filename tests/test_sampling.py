"""Sampling from a character model: the vocabulary, reproducibility, the distribution p_τ itself
(Gumbel-max), greedy decoding at τ = 0, and the step-by-step path against the sequence path."""
import numpy as np
import pytest

from minilstm import GRU, LSTM, RNN, backend
from minilstm.nn.embedding import Embedding
from minilstm.nn.readout import softmax
from minilstm.nn.model import SequenceModel
from minilstm.nn.sampling import CharVocab, sample
from minilstm.nn.stack import Stack


def _model(be, embedding=True):
    core = Stack([LSTM(3 if embedding else 4, 5, init_scale=0.5, seed=1, backend=be),
                  GRU(5, 4, init_scale=0.5, seed=2, backend=be)], dropout=0.5, seed=0)
    emb = Embedding(4, 3, init_scale=1.0, seed=3, backend=be) if embedding else None
    return SequenceModel(core, 4, loss="cross_entropy", init_scale=1.0, seed=4, embedding=emb)


def test_vocab_round_trip():
    v = CharVocab("hello world")
    assert len(v) == 8 and v.decode(v.encode("low hello")) == "low hello"
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['z'\]"):
        v.encode("lazy"[2])


@pytest.mark.parametrize("embedding", [True, False])
def test_seeded_and_consistent_with_the_sequence_model(xp, embedding):
    """Each drawn token is the Gumbel-max of the logits that a full forward pass over the prime
    and the tokens drawn so far gives (no dropout): the step path computes the same model."""
    be = backend.backend_name(xp)
    model = _model(be, embedding)
    prime = np.array([0, 2, 1])
    s1 = sample(model, prime, 6, temperature=0.8, seed=5, n_samples=3)
    assert s1.shape == (3, 6) and s1.dtype == np.int64
    np.testing.assert_array_equal(s1, sample(model, prime, 6, temperature=0.8, seed=5, n_samples=3))
    assert model.core.training                                     # dropout state restored
    g = np.random.default_rng(5).gumbel(size=(6, 3, 4))
    model.core.eval()
    for b in range(3):
        for t in range(6):
            seq = np.concatenate([prime, s1[b, :t]])[:, None]
            x = xp.asarray(seq) if embedding else xp.asarray(np.eye(4)[seq])
            logits = backend.to_numpy(model.forward(x)[0])[-1, 0]
            assert s1[b, t] == np.argmax(logits / 0.8 + g[t, b])


def test_samples_follow_p_tau():
    """With many samples of one token, the frequencies match softmax(a/τ) (seeded: deterministic)."""
    model = SequenceModel(RNN(4, 3, seed=0), 4, loss="cross_entropy", init_scale=1.0, seed=1)
    prime = np.array([1])
    logits, _ = model.forward(np.eye(4)[prime][:, None])
    for tau in (0.5, 1.0, 2.0):
        p = softmax(logits[-1, 0] / tau)
        freq = np.bincount(sample(model, prime, 1, temperature=tau, seed=2, n_samples=20000)[:, 0],
                           minlength=4) / 20000
        assert np.abs(freq - p).max() < 4 * np.sqrt(p * (1 - p) / 20000).max()
    greedy = sample(model, prime, 5, temperature=0.0, n_samples=2)
    assert greedy[0, 0] == np.argmax(logits[-1, 0]) and (greedy[0] == greedy[1]).all()


def test_bad_arguments_are_named():
    model = _model("numpy")
    with pytest.raises(ValueError, match="temperature must be a finite number >= 0, got -1"):
        sample(model, [0], 3, temperature=-1)
    with pytest.raises(ValueError, match=r"prime must hold ids in \[0, V=4\), got values from 0 to 7"):
        sample(model, [0, 7], 3)
    with pytest.raises(ValueError, match="length must be an int >= 1, got 0"):
        sample(model, [0], 0)
    mse = SequenceModel(RNN(4, 3), 4)
    with pytest.raises(ValueError, match="loss='cross_entropy', got loss='mse'"):
        sample(mse, [0], 3)
