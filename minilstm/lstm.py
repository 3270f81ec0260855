"""``minilstm.lstm`` is ``minilstm.nn.lstm`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.nn.lstm")
