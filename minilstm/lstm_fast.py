"""``minilstm.lstm_fast`` is ``minilstm.nn.lstm_fast`` (kept for one release)."""
from ._moved import alias

alias(__name__, "minilstm.nn.lstm_fast")
