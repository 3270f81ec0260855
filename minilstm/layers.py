"""``minilstm.layers`` is ``minilstm.nn.readout`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.nn.readout")
