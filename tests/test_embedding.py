"""The embedding layer: lookup, the scatter-add gradient with repeated tokens, and a language
model built on it (gradient of every parameter by central differences)."""
import numpy as np
import pytest

from minilstm import GRU, backend
from minilstm.nn.embedding import Embedding
from minilstm.gradcheck import numerical_gradient, relative_error
from minilstm.nn.model import SequenceModel


def test_lookup_and_repeated_tokens_accumulate(xp):
    emb = Embedding(5, 3, seed=0, backend=backend.backend_name(xp))
    tokens = np.array([[1, 1], [4, 1], [0, 4]])                     # token 1 three times, 4 twice
    x, cache = emb.forward(xp.asarray(tokens))
    C = backend.to_numpy(emb.params["C"])
    np.testing.assert_array_equal(backend.to_numpy(x), C[tokens])
    dx = np.random.default_rng(0).standard_normal((3, 2, 3))
    _, grads = emb.backward(xp.asarray(dx), cache)
    expected = np.zeros((5, 3))
    for t in range(3):
        for b in range(2):
            expected[tokens[t, b]] += dx[t, b]                       # one position at a time
    np.testing.assert_allclose(backend.to_numpy(grads["C"]), expected, rtol=1e-14)
    assert not backend.to_numpy(grads["C"])[[2, 3]].any()           # unseen tokens: no gradient


def test_gradcheck_of_a_language_model(xp):
    """Every parameter of embedding → GRU → readout → cross-entropy against central differences."""
    be = backend.backend_name(xp)
    model = SequenceModel(GRU(3, 4, init_scale=0.6, seed=1, backend=be), 5, loss="cross_entropy",
                          init_scale=0.5, seed=2, embedding=Embedding(5, 3, init_scale=0.5, seed=3, backend=be))
    rng = np.random.default_rng(4)
    tokens = xp.asarray(rng.integers(0, 5, (6, 2)))
    target = xp.asarray(rng.integers(0, 5, (6, 2)))
    loss, _, cache, da = model.loss(tokens, target, lengths=[6, 4])
    grads = model.backward(da, cache)
    assert set(grads) == set(model.params) and "embedding.C" in grads
    for k, p in model.params.items():
        num = numerical_gradient(lambda: model.loss(tokens, target, lengths=[6, 4])[0], p)
        assert relative_error(grads[k], num) < 1e-7, k
        assert np.any(num), k


def test_bad_tokens_are_named(xp):
    emb = Embedding(5, 3, backend=backend.backend_name(xp))
    with pytest.raises(TypeError, match="tokens must be an integer array of token ids, got dtype float64"):
        emb.forward(xp.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"tokens must hold ids in \[0, n_tokens=5\), got values from 0 to 5"):
        emb.forward(xp.asarray(np.array([[0], [5]])))
    x, cache = emb.forward(xp.asarray(np.array([[0], [1]])))
    with pytest.raises(ValueError, match=r"dx must have shape \(2, 1, 3\), got \(2, 1, 4\)"):
        emb.backward(xp.zeros((2, 1, 4)), cache)
    with pytest.raises(ValueError, match="embedding.n_dim must equal core.n_in = 4, got 3"):
        SequenceModel(GRU(4, 2), 5, embedding=Embedding(5, 3))
