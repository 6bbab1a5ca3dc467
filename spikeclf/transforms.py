"""Transforms of event streams, tonic-style: small callables on one stream.

Each is also a scikit-learn transformer of a list of streams, so that it fits
in a Pipeline before a classifier.
"""

from numbers import Integral

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from .events import _as_stream_list

__all__ = ["RandomEventWindow"]


class RandomEventWindow(TransformerMixin, BaseEstimator):
    """``n_events`` consecutive events from a random position of each stream.

    The N-MNIST training protocol of Lee, Delbruck and Pfeiffer (2016, section
    3.3): each presentation is 300 consecutive events starting anywhere in the
    sample. A stream with fewer events is kept whole. Every call draws new
    positions (``random_state`` seeds the sequence), so one transformer gives
    fresh windows every epoch.

    Parameters
    ----------
    n_events : int, default=300
    random_state : int, RandomState instance or None, default=None

    Examples
    --------
    >>> from spikeclf import make_events
    >>> from spikeclf.transforms import RandomEventWindow
    >>> stream = make_events(range(10), [0] * 10, range(0, 100, 10))
    >>> window = RandomEventWindow(n_events=3, random_state=0)
    >>> window(stream)["t"].tolist()
    [40, 50, 60]
    """

    _parameter_constraints = {
        "n_events": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, n_events=300, random_state=None):
        self.n_events = n_events
        self.random_state = random_state

    def fit(self, X=None, y=None):
        """Check the parameters and start the sequence of random positions.

        Parameters
        ----------
        X, y : ignored

        Returns
        -------
        self : RandomEventWindow
        """
        self._validate_params()
        self._rng = check_random_state(self.random_state)
        return self

    def __call__(self, events):
        """The window of one stream."""
        if not hasattr(self, "_rng"):
            self.fit()
        extra = len(events) - self.n_events
        start = self._rng.randint(extra + 1) if extra > 0 else 0
        return events[start : start + self.n_events]

    def transform(self, X):
        """Windows of every stream of ``X`` (a list of streams), in order.

        Parameters
        ----------
        X : list of event streams

        Returns
        -------
        windows : list of structured arrays (views into the streams)
        """
        # Structure only: the classifier validates the values of the windows.
        return [self(events) for events in _as_stream_list(X)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags
