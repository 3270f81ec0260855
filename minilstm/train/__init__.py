"""Training: the fit loop, K trials trained as one, the divergence guard, the progress display.

``fit`` holds :func:`fit`, the one training loop: one model or a batch of trials, one update per
batch (BPTT or the 1997 truncated gradient) or per time step (the 1997 online rule, which
:func:`fit_online` names);
``trials`` packs K nets of one layer class into one (:class:`TrialBatch`); ``online1997`` puts K
1997 nets on an array axis for the online rule (:class:`Stack1997`); ``guard`` finds NaN and inf
on the device; ``progress`` shows a bar or a line with rate and ETA.
"""
from .fit import History, OneModel, TrainingDiverged, fit, fit_online
from .guard import DivergenceGuard
from .online1997 import Stack1997, StackBPTT
from .progress import Progress
from .trials import TrialBatch

__all__ = ["fit", "fit_online", "History", "TrainingDiverged", "Progress", "TrialBatch",
           "Stack1997", "StackBPTT", "OneModel", "DivergenceGuard"]
