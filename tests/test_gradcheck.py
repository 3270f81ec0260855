"""gradcheck itself: the two error measures by hand, and that what a relative error cannot see
(a parameter with no effect, one wrong entry in a large array) is reported."""
import numpy as np
import pytest

from minilstm import backend
from minilstm.gradcheck import GradcheckReport, gradcheck, max_elementwise_error, relative_error
from minilstm.nn.rnn import RNN


def test_error_measures_by_hand():
    g, n = np.array([3.0, 0.0, -4.0]), np.array([3.0, 1.0, -4.0])
    # rel = ‖g − n‖₂ / (‖g‖₂ + ‖n‖₂) = 1 / (5 + √26); rel∞ = max|g − n| / max(‖g‖∞, ‖n‖∞) = 1/4
    assert relative_error(g, n) == pytest.approx(1.0 / (5.0 + np.sqrt(26.0)), rel=1e-15)
    assert max_elementwise_error(g, n) == pytest.approx(0.25, rel=1e-15)
    assert relative_error(np.zeros(3), np.zeros(3)) == max_elementwise_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.zeros(3), n) == max_elementwise_error(n, np.zeros(3)) == 1.0
    with pytest.raises(ValueError, match="analytic gradient has 2 elements but numeric has 3"):
        max_elementwise_error(np.zeros(2), n)


class WithIdleParameter:
    """An RNN with one more parameter that nothing reads: backward gives it a zero gradient,
    which is correct, so its relative error is 0 — the case gradcheck must not pass silently."""

    def __init__(self, xp):
        self.rnn = RNN(3, 4, init_scale=0.8, seed=1, backend=backend.backend_name(xp))
        self.params = {**self.rnn.params, "idle": xp.asarray(np.ones((2, 3)))}
        self.xp, self.dtype, self.state_names = self.rnn.xp, self.rnn.dtype, self.rnn.state_names

    def init_state(self, batch):
        return self.rnn.init_state(batch)

    def to(self, dtype):
        raise AssertionError("a float64 layer is its own reference")

    def forward(self, x, state=None):
        return self.rnn.forward(x, state)

    def backward(self, dy, cache, dstate=None, return_dstate=False):
        dx, grads, ds = self.rnn.backward(dy, cache, dstate=dstate, return_dstate=True)
        grads["idle"] = self.xp.zeros_like(self.params["idle"])
        return (dx, grads, ds) if return_dstate else (dx, grads)


def test_a_parameter_with_no_effect_is_listed(xp):
    layer = WithIdleParameter(xp)
    x = xp.asarray(np.random.default_rng(2).standard_normal((4, 2, 3)))
    report = gradcheck(layer, x)
    assert report.max_error < 1e-7 and report["idle"] == 0.0     # passes on its errors alone...
    assert report.zero == ["idle"]                               # ...but is named
    assert "no effect on E: idle" in repr(report) and "(both gradients identically 0)" in repr(report)
    assert not gradcheck(layer.rnn, x).zero


class OneWrongEntry(RNN):
    """An RNN whose backward is off in one entry of ∂E/∂W by 5 % of the largest entry."""

    def backward(self, dy, cache, dstate=None, return_dstate=False):
        dx, grads, ds = super().backward(dy, cache, dstate=dstate, return_dstate=True)
        grads["W"][2, 1] += 0.05 * float(abs(grads["W"]).max())
        return (dx, grads, ds) if return_dstate else (dx, grads)


def test_one_wrong_entry_shows_fully_in_the_elementwise_error():
    layer = OneWrongEntry(3, 4, init_scale=0.8, seed=1)
    report = gradcheck(layer, np.random.default_rng(2).standard_normal((4, 2, 3)))
    assert report.elementwise["W"] == pytest.approx(0.05, rel=1e-4)
    assert report["W"] < report.elementwise["W"] / 2             # diluted over the 12 entries
    assert report.max_elementwise_error == report.elementwise["W"]
    assert max(v for k, v in report.elementwise.items() if k != "W") < 1e-7


def test_report_fields_and_an_empty_array():
    report = GradcheckReport()
    assert report.max_error == report.max_elementwise_error == 0.0 and report.zero == []
    report.add("gates", np.zeros((2, 0)), np.zeros((2, 0)))      # nothing in it to check
    report.add("p", np.zeros(3), np.zeros(3))
    report.add("W", np.ones(3), np.ones(3))
    assert dict(report) == {"gates": 0.0, "p": 0.0, "W": 0.0} and report.zero == ["p"]
