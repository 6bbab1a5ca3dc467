"""spikeclf: deep spiking neural networks trained on event streams.

Event-driven leaky integrate-and-fire networks with winner-take-all lateral
inhibition, trained by the spike-based backpropagation of Lee, Delbruck and
Pfeiffer (2016), behind a scikit-learn API.
"""

__version__ = "0.1.0.dev0"

from ._ann import FrameANNClassifier
from ._cnn import SpikingCNNClassifier
from ._mlp import SpikingMLPClassifier
from ._network import TrainingDiverged
from ._persistence import SKOPS_TRUSTED_TYPES
from .augment import ElasticDistortion
from .datasets import load_digits_events, load_mnist
from .encoders import PoissonEncoder
from .events import EVENT_DTYPE, EventStreamError, check_events, make_events
from .pretrained import load_pretrained
from .simulator import simulate

__all__ = [
    "EVENT_DTYPE",
    "ElasticDistortion",
    "EventStreamError",
    "FrameANNClassifier",
    "SKOPS_TRUSTED_TYPES",
    "PoissonEncoder",
    "SpikingCNNClassifier",
    "SpikingMLPClassifier",
    "TrainingDiverged",
    "__version__",
    "check_events",
    "load_digits_events",
    "load_mnist",
    "load_pretrained",
    "make_events",
    "simulate",
]
