"""Losses: values against independent formulas, gradients against central differences, stability,
the normalisation (mean over sequences of the per-sequence sum), and clear errors."""
import numpy as np
import pytest

from minilstm import strict
from minilstm.backend import get_array_module, to_numpy
from minilstm.losses import cross_entropy, logistic, logistic_mse, mse
from minilstm.gradcheck import numerical_gradient

T, B, K = 4, 3, 5


def central_diff(f, a, eps=1e-5):
    """∂f/∂a by float64 central differences (the package's own, :func:`numerical_gradient`)."""
    return numerical_gradient(f, a, eps)


def make_mask(rng, shape):
    m = rng.random(shape) < 0.7
    m.flat[0] = True
    m.flat[-1] = False
    return m


def targets_for(name, rng, shape):
    """Host targets of the kind each loss takes, for inputs of ``shape``."""
    if name == "mse":
        return rng.standard_normal(shape)
    if name == "cross_entropy":
        return rng.integers(0, shape[-1], size=shape[:-1])
    return (rng.random(shape) < 0.4).astype(np.float64)   # multi-hot


def reference(name, a, t, m):
    """The loss by its textbook formula, written independently of minilstm (host NumPy)."""
    n_seq = a.shape[-2]
    w = np.ones(a.shape[:-1]) if m is None else m.astype(float)
    if name == "mse":
        per = 0.5 * ((a - t) ** 2).sum(-1)
    elif name == "cross_entropy":
        p = np.exp(a) / np.exp(a).sum(-1, keepdims=True)
        per = -np.log(np.take_along_axis(p, t[..., None], -1)[..., 0])
    elif name == "logistic_mse":
        s = 1 / (1 + np.exp(-a))
        per = 0.5 * ((s - t) ** 2).sum(-1)
    else:
        s = 1 / (1 + np.exp(-a))
        per = -(t * np.log(s) + (1 - t) * np.log(1 - s)).sum(-1)
    return (w * per).sum() / n_seq


LOSSES = {"mse": mse, "cross_entropy": cross_entropy, "logistic": logistic,
          "logistic_mse": logistic_mse}


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
@pytest.mark.parametrize("shape", [(T, B, K), (B, K)], ids=["TBK", "BK"])
def test_value_and_gradient(xp, rng, name, masked, shape):
    fn = LOSSES[name]
    a = rng.standard_normal(shape) * 2
    t = targets_for(name, rng, shape)
    m = make_mask(rng, shape[:-1]) if masked else None
    xm = None if m is None else xp.asarray(m)

    def f():
        return fn(xp.asarray(a), xp.asarray(t), xm)[0]

    loss, grad = fn(xp.asarray(a), xp.asarray(t), xm)
    assert type(loss) is float
    assert get_array_module(grad) is xp and grad.shape == a.shape and grad.dtype == a.dtype
    np.testing.assert_allclose(loss, reference(name, a, t, m), rtol=1e-12)
    np.testing.assert_allclose(to_numpy(grad), central_diff(f, a), rtol=1e-6, atol=1e-8)
    if m is not None:
        assert (to_numpy(grad)[~m] == 0).all()


@pytest.mark.parametrize("name", LOSSES)
def test_normalised_by_the_number_of_sequences(rng, name):
    """L = mean over sequences of the per-sequence sum over steps and outputs."""
    fn = LOSSES[name]
    a, t = rng.standard_normal((T, 1, K)), targets_for(name, rng, (T, 1, K))
    one, _ = fn(a, t)
    two, grad2 = fn(np.concatenate([a, a], 1), np.concatenate([t, t], 1))
    np.testing.assert_allclose(two, one, rtol=1e-12)           # same sequence twice: same loss
    longer, _ = fn(np.concatenate([a, a], 0), np.concatenate([t, t], 0))
    np.testing.assert_allclose(longer, 2 * one, rtol=1e-12)    # twice as long: twice the sum
    np.testing.assert_allclose(grad2[:, 0], fn(a, t)[1][:, 0] / 2, rtol=1e-12)


def test_mse_is_half_the_squared_error():
    loss, dy = mse(np.array([[3.0, 1.0]]), np.array([[1.0, 1.0]]))
    assert loss == 2.0
    np.testing.assert_array_equal(dy, [[2.0, 0.0]])


def test_logistic_mse_is_the_1997_output_error(rng):
    """σ outputs, E = ½Σ(t − y)², ∂E/∂net = (y − t)·y(1 − y) (written out here), at most a
    quarter of the cross-entropy gradient, and 0 at a saturated output."""
    a, t = rng.standard_normal((T, B, K)) * 3, rng.random((T, B, K))
    m = make_mask(rng, (T, B))
    loss, g = logistic_mse(a, t, m)
    y = 1.0 / (1.0 + np.exp(-a))
    mu = m[..., None]
    ref_loss = 0.5 * float((mu * (y - t) ** 2).sum()) / B
    ref_g = mu * (y - t) * y * (1 - y) / B
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12)
    np.testing.assert_allclose(g, ref_g, rtol=1e-12, atol=1e-15)
    _, g_ce = logistic(a, t, m)
    assert (np.abs(g) <= np.abs(g_ce) / 4 + 1e-15).all()
    _, g_sat = logistic_mse(np.array([[40.0, -40.0]]), np.array([[0.0, 1.0]]))
    assert np.abs(g_sat).max() < 1e-15                         # saturated and wrong: no step
    loss1, g1 = logistic_mse(np.zeros((1, 2)), np.array([[1.0, 0.0]]))
    assert loss1 == 0.25                                        # ½(0.5² + 0.5²)
    np.testing.assert_allclose(g1, [[-0.125, 0.125]])          # (0.5 − t)·0.25


def test_cross_entropy_indices_and_one_hot_agree(xp, rng):
    a = rng.standard_normal((T, B, K))
    idx = rng.integers(0, K, size=(T, B))
    onehot = np.eye(K)[idx]
    m = make_mask(rng, (T, B))
    l1, g1 = cross_entropy(xp.asarray(a), xp.asarray(idx), xp.asarray(m))
    l2, g2 = cross_entropy(xp.asarray(a), xp.asarray(onehot), xp.asarray(m))
    l3, g3 = cross_entropy(xp.asarray(a), xp.asarray(onehot.astype(bool)), xp.asarray(m))
    assert l1 == pytest.approx(l2, rel=1e-14) and l1 == pytest.approx(l3, rel=1e-14)
    np.testing.assert_allclose(to_numpy(g1), to_numpy(g2), rtol=1e-14)
    np.testing.assert_allclose(to_numpy(g1), to_numpy(g3), rtol=1e-14)


def test_cross_entropy_padding_indices_at_masked_steps_are_ignored(xp, rng):
    a = rng.standard_normal((T, B, K))
    idx = rng.integers(0, K, size=(T, B))
    m = np.ones((T, B), bool)
    m[-1] = False
    padded = idx.copy()
    padded[-1] = -1
    l1, g1 = cross_entropy(xp.asarray(a), xp.asarray(padded), xp.asarray(m))
    l2, g2 = cross_entropy(xp.asarray(a), xp.asarray(idx), xp.asarray(m))
    assert l1 == l2
    np.testing.assert_array_equal(to_numpy(g1), to_numpy(g2))
    scored = m.copy()
    scored[-1, 0] = True                                     # now one padding index is scored
    with pytest.raises(ValueError, match=r"target class indices must lie in \[0, 5\).*1 do not, the first is -1"):
        cross_entropy(xp.asarray(a), xp.asarray(padded), xp.asarray(scored))
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        cross_entropy(xp.asarray(a), xp.asarray(np.full((T, B), K)))


def test_stable_for_huge_logits(xp):
    a = xp.asarray([[[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]]])          # (1, 2, 3)
    loss, g = cross_entropy(a, xp.asarray([[0, 1]]))
    assert loss == 0.0 and np.isfinite(to_numpy(g)).all()
    loss, g = cross_entropy(a, xp.asarray([[1, 0]]))
    np.testing.assert_allclose(loss, (2e4 + 2e4) / 2)
    np.testing.assert_allclose(to_numpy(g)[0, 0], [0.5, -0.5, 0.0], atol=1e-12)
    t = xp.asarray([[[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]])
    loss, g = logistic(a, t)
    # confident right outputs cost 0; the logit 0 with target 1 costs log 2, the logit 3 with
    # target 0 costs 3 + log(1 + e^-3); two sequences
    expected = (np.log(2) + 3 + np.log1p(np.exp(-3))) / 2
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    assert np.isfinite(to_numpy(g)).all()
    loss, _ = logistic(a, 1.0 - t)
    assert np.isfinite(loss) and loss > 1e4


def test_float32_inputs_give_float32_gradients(xp, rng):
    a = xp.asarray(rng.standard_normal((T, B, K)).astype(np.float32))
    for fn, t in ((mse, xp.zeros((T, B, K))), (cross_entropy, xp.zeros((T, B), dtype=np.int64)),
                  (logistic, xp.zeros((T, B, K), dtype=np.float32)),
                  (logistic_mse, xp.zeros((T, B, K), dtype=np.float32))):
        loss, g = fn(a, t)
        assert g.dtype == np.float32 and type(loss) is float


def test_bad_inputs_give_clear_errors(xp):
    a = xp.zeros((T, B, K))
    with pytest.raises(ValueError, match=r"mask must have shape \(4, 3\) \(the leading axes of y \(4, 3, 5\)\), got \(3, 4\)"):
        mse(a, a, xp.ones((B, T), dtype=bool))
    with pytest.raises(TypeError, match="mask must have dtype bool, got float64"):
        mse(a, a, xp.ones((T, B)))
    with pytest.raises(ValueError, match=r"target must have the shape of y \(4, 3, 5\), got \(4, 3, 4\)"):
        mse(a, xp.zeros((T, B, K - 1)))
    with pytest.raises(ValueError, match=r"logits must be \(T, B, K\) or \(B, K\), got shape \(5,\)"):
        logistic(xp.zeros(K), xp.zeros(K))
    with pytest.raises(TypeError, match="logits must be a float32 or float64 array, got dtype int64"):
        cross_entropy(xp.zeros((T, B, K), dtype=np.int64), xp.zeros((T, B), dtype=np.int64))
    with pytest.raises(ValueError, match=r"class indices, so it must have shape \(4, 3\)"):
        cross_entropy(a, xp.zeros((T, B, 1), dtype=np.int64))
    with pytest.raises(ValueError, match=r"one-hot rows, so it must have the shape of logits"):
        cross_entropy(a, xp.zeros((T, B)))
    with pytest.raises(ValueError, match=r"target must hold values in \[0, 1\].*got values in \[0.0, 2.0\]"):
        logistic(a, a + 2 * (xp.arange(K) == 0))
    with pytest.raises(TypeError, match="target must be an array, got list"):
        cross_entropy(a, [[0] * B] * T)
    other = np if xp is not np else strict
    with pytest.raises(TypeError, match="different backends.*target"):
        logistic(a, other.zeros((T, B, K)))
    with pytest.raises(TypeError, match="different backends.*mask"):
        logistic(a, a, other.ones((T, B), dtype=bool))


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_input_is_named(xp, rng, name, value):
    """NaN/inf in the loss's input is refused by name, at scored and at masked-out steps alike."""
    a = rng.standard_normal((T, B, K))
    a[2, 1, 4] = value
    t = xp.asarray(targets_for(name, rng, a.shape))
    arg = "y" if name == "mse" else "logits"
    mask = np.ones((T, B), dtype=bool); mask[2, 1] = False
    for m in (None, xp.asarray(mask)):
        with pytest.raises(ValueError, match=rf"{arg} contains 1 NaN or inf value\(s\), the first at index \(2, 1, 4\)"):
            LOSSES[name](xp.asarray(a), t, m)
