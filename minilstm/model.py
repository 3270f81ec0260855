"""``minilstm.model`` is ``minilstm.nn.model`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.nn.model")
