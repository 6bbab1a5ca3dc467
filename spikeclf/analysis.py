"""Figures of the paper as arrays: event rate over time, accuracy as events arrive."""

import numpy as np

from .events import _as_stream_list

__all__ = ["accuracy_over_events", "accuracy_over_time", "event_rate"]


def event_rate(X, *, bin_width=0.01, duration=None):
    """Mean input event rate over time across streams (the paper's Figure 5A).

    Parameters
    ----------
    X : list of event streams
    bin_width : float, default=0.01
        Seconds per bin.
    duration : float, default=None
        Seconds covered; None means up to the last event of any stream.

    Returns
    -------
    times : ndarray of shape (n_bins,)
        Start of each bin, in seconds.
    rate : ndarray of shape (n_bins,)
        Events per second in each bin, averaged over the streams.

    Examples
    --------
    >>> from spikeclf import make_events
    >>> from spikeclf.analysis import event_rate
    >>> X = [make_events([0, 0, 0], [0, 0, 0], [1_000, 2_000, 15_000])]
    >>> times, rate = event_rate(X, bin_width=0.01)
    >>> times.tolist(), rate.tolist()
    ([0.0, 0.01], [200.0, 100.0])
    """
    streams = _as_stream_list(X)
    t = np.concatenate([s["t"] for s in streams]).astype(np.float64) * 1e-6
    if duration is None:
        duration = t.max(initial=0.0) + 1e-9
    n_bins = max(1, int(np.ceil(duration / bin_width)))
    counts, edges = np.histogram(t, bins=n_bins, range=(0, n_bins * bin_width))
    return edges[:-1], counts / (len(streams) * bin_width)


def accuracy_over_events(classifier, X, y, n_events):
    """Accuracy when only the first ``n`` events of each stream are presented.

    The paper's Figure 5B: how fast the answer forms as events arrive.

    Parameters
    ----------
    classifier : fitted classifier of event streams
    X : list of event streams
    y : array-like of shape (n_samples,)
    n_events : sequence of int
        Numbers of events to present, e.g. ``[50, 100, 200, 500, 1000]``.

    Returns
    -------
    accuracy : ndarray of shape (len(n_events),)
    """
    return _accuracy_of_prefixes(
        classifier, X, y, [lambda s, n=int(n): n for n in n_events]
    )


def accuracy_over_time(classifier, X, y, times):
    """Accuracy when each stream is cut at each of ``times`` (the paper's Figure 5B).

    Parameters
    ----------
    classifier : fitted classifier of event streams
    X : list of event streams
    y : array-like of shape (n_samples,)
    times : sequence of float
        Seconds from the start of the streams, e.g. ``[0.1, 0.2, 0.3]``.

    Returns
    -------
    accuracy : ndarray of shape (len(times),)

    Examples
    --------
    >>> from spikeclf import SpikingMLPClassifier, load_digits_events
    >>> from spikeclf.analysis import accuracy_over_time
    >>> X, y = load_digits_events(return_X_y=True)
    >>> clf = SpikingMLPClassifier((30,), max_iter=2, random_state=0).fit(X, y)
    >>> accuracy_over_time(clf, X[:100], y[:100], [0.0, 0.05]).round(2).tolist()
    [0.11, 0.67]
    """
    return _accuracy_of_prefixes(
        classifier,
        X,
        y,
        [lambda s, t=t: np.searchsorted(s["t"], 1e6 * t, side="left") for t in times],
    )


def _accuracy_of_prefixes(classifier, X, y, lengths):
    """Accuracy on the first ``length(stream)`` events of every stream, per length."""
    streams, y = _as_stream_list(X), np.asarray(y)
    return np.array(
        [
            np.mean(classifier.predict([s[: length(s)] for s in streams]) == y)
            for length in lengths
        ]
    )
