"""``minilstm.stack`` is ``minilstm.nn.stack`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.nn.stack")
