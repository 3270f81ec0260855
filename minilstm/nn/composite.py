r"""Layers made of layers: what :class:`~minilstm.nn.stack.Stack` and
:class:`~minilstm.nn.bidirectional.Bidirectional` share.

A composite layer holds named parts (each any minilstm recurrent layer, or itself a composite) and
shows the same face as one layer (:mod:`minilstm.nn.recurrent`):

* ``params`` — one flat dict of the parts' arrays (the same arrays, not copies) under the names
  ``"{part}.{name}"``, e.g. ``"0.W_z"`` for the first layer of a stack, ``"fwd.R"`` for the
  forward direction of a bidirectional layer; an optimizer updating ``params`` in place trains
  every part;
* the state — the parts' state tuples one after the other, ``state_names`` like
  ``("0.y", "0.c", "1.h")``; each array is ``(B, n)``;
* ``forward(x (T, B, n_in), state=None, lengths=None) -> (y (T, B, n_out), cache)`` and
  ``backward(dy, cache, dstate=None, return_dstate=False) -> (dx, grads[, dstate0])``, with
  ``grads`` keyed as ``params``; :func:`minilstm.gradcheck` checks them as it checks a layer.

The chain rule over the parts is the only new mathematics: if part :math:`k` maps its input
:math:`u_k` to :math:`v_k`, then :math:`\partial E/\partial\theta_k` is part k's own gradient
given :math:`\bar v_k = \partial E/\partial v_k`, and the error of a quantity that feeds several
parts is the sum of what each part sends back.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .recurrent import check_states
from ..validate import check_array

__all__ = ["Composite", "CompositeCache", "describe"]


@dataclass
class CompositeCache:
    """What a composite's ``forward`` keeps: ``state`` the final state (all parts' arrays, in the
    order of ``state_names``), ``parts`` the parts' caches, ``extra`` the composite's own (dropout
    masks, the time-reversal index...), ``lengths`` the host ``(B,)`` lengths or None."""
    state: tuple
    parts: list
    extra: dict = field(default_factory=dict)
    lengths: object = None


class Composite:
    r"""Base class: named parts, their ``params`` under one flat dict, their states in one tuple.

    With parts :math:`1..K`: ``params`` :math:`= \bigcup_k \{k.\theta : \theta \in
    \text{params}_k\}`, the state :math:`s = (s_1, \dots, s_K)` with each array ``(B, n)``, and
    ``grads[k.θ]`` :math:`= \partial E/\partial\theta` of part k, given the error that reaches
    its output (module docstring).

    Subclasses call :meth:`_set_parts` and define ``forward``, ``backward``, ``n_in``, ``n_out``
    and ``config``.
    """

    def _set_parts(self, parts):
        """``parts``: a list of ``(name, layer)``; every layer on one backend, in one dtype."""
        first = parts[0][1]
        for name, layer in parts:
            for attr in ("params", "forward", "backward", "state_names", "n_in", "n_out"):
                if not hasattr(layer, attr):
                    raise TypeError(f"part {name!r} ({type(layer).__name__}) is not a minilstm "
                                    f"recurrent layer: it has no {attr!r}")
            if layer.xp is not first.xp:
                raise TypeError(f"part {name!r} lives on {layer.xp.__name__}, part {parts[0][0]!r} "
                                f"on {first.xp.__name__}: build every part on one backend")
            if layer.dtype != first.dtype:
                raise TypeError(f"part {name!r} has dtype {layer.dtype}, part {parts[0][0]!r} "
                                f"{first.dtype}: build every part in one dtype")
        self.parts = dict(parts)
        self.params = {f"{n}.{k}": v for n, layer in parts for k, v in layer.params.items()}
        self.state_names = tuple(f"{n}.{s}" for n, layer in parts for s in layer.state_names)

    @property
    def xp(self):
        """The array module of the parts' parameters."""
        return next(iter(self.parts.values())).xp

    @property
    def dtype(self):
        """The parts' dtype (float32 or float64)."""
        return next(iter(self.parts.values())).dtype

    @property
    def n_params(self) -> int:
        """The number of scalar parameters of all parts."""
        return sum(layer.n_params for layer in self.parts.values())

    def state_shapes(self, batch: int) -> tuple:
        """Shapes ``(B, n)`` of the state arrays, the parts' one after the other."""
        return tuple(s for layer in self.parts.values() for s in layer.state_shapes(batch))

    def init_state(self, batch: int) -> tuple:
        """The zero state of every part."""
        return tuple(s for layer in self.parts.values() for s in layer.init_state(batch))

    def _split(self, what, state, batch, check=True):
        """One flat state tuple (checked by name unless ``check=False``) → a list with one tuple
        per part (None → Nones)."""
        if state is None:
            return [None] * len(self.parts)
        if check:
            state = check_states(what, state, self.state_names, self.state_shapes(batch),
                                 self.dtype, self.xp)
        out, k = [], 0
        for layer in self.parts.values():
            n = len(layer.state_names)
            out.append(tuple(state[k:k + n]))
            k += n
        return out

    @staticmethod
    def _join(states):
        """One tuple per part → one flat tuple."""
        return tuple(s for st in states for s in st)

    def _merge_grads(self, grads):
        """One grads dict per part (in the order of ``parts``) → one dict keyed as ``params``."""
        return {f"{n}.{k}": v for n, g in zip(self.parts, grads) for k, v in g.items()}

    def _check_dy(self, dy, T, B):
        """``dy`` must be ``(T, B, n_out)``, of the parts' dtype and backend, finite."""
        check_array("dy", dy, shape=(T, B, self.n_out), dtype=self.dtype, xp=self.xp, finite=True)

    def __repr__(self):
        inner = ", ".join(f"{n}={layer!r}" for n, layer in self.parts.items())
        return f"{type(self).__name__}({inner})"


def describe(layer) -> dict:
    """``{"type": class name, "config": layer.config}``: a part as JSON (for a composite's config)."""
    return {"type": type(layer).__name__, "config": layer.config}

