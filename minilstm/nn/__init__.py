"""The networks: recurrent layers, the readout, the model, and layers made of layers.

``recurrent`` holds the sequence loop that every cell shares (forward, BPTT, lengths); a cell is
one module with its step functions: ``rnn`` (Elman), ``gru``, ``slstm`` (the sLSTM of xLSTM),
``lstm`` (every LSTM of the book, its fast path in ``lstm_fast``, its named configurations in
``presets``). ``readout`` is the linear
output layer, ``model`` puts a core, a readout and a loss together; ``stack``, ``bidirectional``
(sharing ``composite``), ``embedding`` and ``sampling`` serve the coursework chapter.
"""
from . import presets
from .bidirectional import Bidirectional, reverse_sequences
from .embedding import Embedding
from .gru import GRU
from .lstm import LSTM
from .model import SequenceModel
from .readout import Linear
from .recurrent import Recurrent, valid_mask
from .rnn import RNN
from .sampling import CharVocab, sample
from .slstm import SLSTM
from .stack import Stack

__all__ = ["presets", "Recurrent", "RNN", "GRU", "SLSTM", "LSTM", "Linear", "SequenceModel", "Stack",
           "Bidirectional", "reverse_sequences", "Embedding", "CharVocab", "sample", "valid_mask"]
