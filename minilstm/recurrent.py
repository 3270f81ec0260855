"""``minilstm.recurrent`` is ``minilstm.nn.recurrent`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.nn.recurrent")
