"""``minilstm.bidirectional`` is ``minilstm.nn.bidirectional`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.nn.bidirectional")
