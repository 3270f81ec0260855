"""``minilstm.rnn`` is ``minilstm.nn.rnn`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.nn.rnn")
