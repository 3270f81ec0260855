"""``minilstm.gru`` is ``minilstm.nn.gru`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.nn.gru")
