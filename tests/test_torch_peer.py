"""minilstm against a peer: a stack of (bidirectional) LSTM layers with its weights copied into
``torch.nn.LSTM(num_layers=2, bidirectional=...)`` gives the same outputs, final states and
gradients to 1e-10 in float64, with and without variable lengths (torch: packed sequences).

Optional: skipped where torch is not installed (torch is never a dependency of minilstm). To run
it with a Python that has torch, NumPy and pytest:
``PYTHONPATH=. python -m pytest tests/test_torch_peer.py -q -s`` (``-s`` prints the differences)."""
import numpy as np
import pytest

from minilstm import LSTM
from minilstm.nn.bidirectional import Bidirectional
from minilstm.nn.stack import Stack

torch = pytest.importorskip("torch")

I, H, T, B = 3, 4, 6, 3
# torch stacks the gates of weight_ih_l{k} (4H, n_in) in the order i, f, g, o; its g is our z
TORCH_ORDER = ("i", "f", "z", "o")


def _ours(bidirectional):
    def lstm(n_in, seed):
        return LSTM(n_in, H, init_scale=0.5, seed=seed)
    if bidirectional:
        return Stack([Bidirectional(lstm(I, 1), lstm(I, 2)), Bidirectional(lstm(2 * H, 3), lstm(2 * H, 4))])
    return Stack([lstm(I, 1), lstm(H, 2)])


def _directions(stack, bidirectional):
    """(torch parameter suffix, our layer) for every layer and direction, in torch's order."""
    for k, part in enumerate(stack.layers):
        if bidirectional:
            yield f"l{k}", part.forward_layer
            yield f"l{k}_reverse", part.backward_layer
        else:
            yield f"l{k}", part


def _peer(stack, bidirectional):
    net = torch.nn.LSTM(I, H, num_layers=2, bidirectional=bidirectional, dtype=torch.float64)
    with torch.no_grad():
        for suffix, layer in _directions(stack, bidirectional):
            p = layer.params
            getattr(net, f"weight_ih_{suffix}").copy_(torch.from_numpy(np.concatenate([p[f"W_{g}"] for g in TORCH_ORDER])))
            getattr(net, f"weight_hh_{suffix}").copy_(torch.from_numpy(np.concatenate([p[f"R_{g}"] for g in TORCH_ORDER])))
            getattr(net, f"bias_ih_{suffix}").copy_(torch.from_numpy(np.concatenate([p[f"b_{g}"] for g in TORCH_ORDER])))
            getattr(net, f"bias_hh_{suffix}").zero_()          # ours has one bias per unit
    return net


@pytest.mark.parametrize("lengths", [None, [6, 2, 4]], ids=["full", "lengths"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["stack", "bidirectional"])
def test_same_outputs_and_gradients_as_torch(bidirectional, lengths):
    rng = np.random.default_rng(0)
    stack = _ours(bidirectional)
    net = _peer(stack, bidirectional)
    D = 2 if bidirectional else 1
    x = rng.standard_normal((T, B, I))
    h0, c0 = rng.standard_normal((2, 2 * D, B, H))             # torch's (layers·directions, B, H)
    u = rng.standard_normal((T, B, D * H))                     # E = Σ u⊙y + Σ v_h⊙h_T + Σ v_c⊙c_T
    v_h, v_c = rng.standard_normal((2, 2 * D, B, H))
    if lengths is not None:
        u[np.arange(T)[:, None] >= np.array(lengths)[None, :]] = 0.0   # torch pads its output with 0

    # ours: the state tuple is (y, c) of each layer and direction, in torch's order
    state = tuple(a for k in range(2 * D) for a in (h0[k], c0[k]))
    y, cache = stack.forward(x, state, lengths=lengths)
    dstate = tuple(a for k in range(2 * D) for a in (v_h[k], v_c[k]))
    dx, grads, d0 = stack.backward(u, cache, dstate=dstate, return_dstate=True)

    # torch
    xt = torch.tensor(x, requires_grad=True)
    h0t, c0t = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    if lengths is None:
        yt, (hT, cT) = net(xt, (h0t, c0t))
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), enforce_sorted=False)
        out, (hT, cT) = net(packed, (h0t, c0t))
        yt, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)
    E = (yt * torch.tensor(u)).sum() + (hT * torch.tensor(v_h)).sum() + (cT * torch.tensor(v_c)).sum()
    E.backward()

    diffs = {"y": np.abs(y - yt.detach().numpy()).max(),
             "h_T": max(np.abs(cache.state[2 * k] - hT[k].detach().numpy()).max() for k in range(2 * D)),
             "c_T": max(np.abs(cache.state[2 * k + 1] - cT[k].detach().numpy()).max() for k in range(2 * D)),
             "dx": np.abs(dx - xt.grad.numpy()).max(),
             "dh0": max(np.abs(d0[2 * k] - h0t.grad[k].numpy()).max() for k in range(2 * D)),
             "dc0": max(np.abs(d0[2 * k + 1] - c0t.grad[k].numpy()).max() for k in range(2 * D))}
    prefixes = ([f"{k}.{d}." for k in range(2) for d in ("fwd", "bwd")] if bidirectional
                else [f"{k}." for k in range(2)])
    for prefix, (suffix, _) in zip(prefixes, _directions(stack, bidirectional)):
        for ours, theirs in (("W", "weight_ih"), ("R", "weight_hh"), ("b", "bias_ih")):
            g = np.concatenate([grads[f"{prefix}{ours}_{gate}"] for gate in TORCH_ORDER])
            diffs[f"{theirs}_{suffix}"] = np.abs(g - getattr(net, f"{theirs}_{suffix}").grad.numpy()).max()
    print({k: f"{v:.1e}" for k, v in diffs.items()})
    assert max(diffs.values()) < 1e-10, diffs
    assert np.abs(xt.grad.numpy()).max() > 1e-2                 # the gradients compared are not 0
