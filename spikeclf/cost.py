"""Accuracy against operations: a spiking network against the frame ANN (Figure 6).

An SNN's cost is its synaptic operations (one weight added to one membrane
potential), counted by the simulator event by event; an ANN's is its
multiply-accumulates, inputs x outputs per layer and frame. Both are read as
the streams unfold: the SNN on the streams cut at each frame boundary, the ANN
after each frame.
"""

import numpy as np

from .events import _as_stream_list

__all__ = ["cost_comparison", "operations_to_reach", "plot_cost_comparison"]


def cost_comparison(snn, ann, X, y):
    """Accuracy, operations and time of ``snn`` and ``ann`` on the same streams.

    Parameters
    ----------
    snn : fitted SpikingMLPClassifier
    ann : fitted FrameANNClassifier
    X : list of event streams
    y : array-like of shape (n_samples,)

    Returns
    -------
    result : dict of ndarray, each of shape (ann.n_frames,)
        ``time`` (seconds: end of each frame), ``snn_accuracy`` and
        ``snn_operations`` (mean synaptic operations per sample up to that time),
        ``snn_inhibitions`` (lateral-inhibition updates, counted apart),
        ``ann_accuracy`` (softmax outputs summed over the frames so far),
        ``ann_frame_accuracy`` (each frame alone) and ``ann_operations``
        (multiply-accumulates per sample so far).

    Examples
    --------
    >>> from spikeclf import FrameANNClassifier, SpikingMLPClassifier
    >>> from spikeclf import load_digits_events
    >>> from spikeclf.cost import cost_comparison
    >>> X, y = load_digits_events(return_X_y=True, duration=0.1)
    >>> snn = SpikingMLPClassifier((50,), max_iter=2, random_state=0).fit(X, y)
    >>> ann = FrameANNClassifier((50,), frame_duration=0.05, n_frames=2,
    ...                          max_iter=2, random_state=0).fit(X, y)
    >>> result = cost_comparison(snn, ann, X[:200], y[:200])
    >>> result["ann_operations"].tolist()
    [3700, 7400]
    """
    streams = _as_stream_list(X)
    y = np.asarray(y)
    time = ann.frame_duration * np.arange(1, ann.n_frames + 1)
    snn_accuracy, snn_operations, snn_inhibitions = [], [], []
    for stop in time:
        cut = [s[: np.searchsorted(s["t"], stop * 1e6, side="left")] for s in streams]
        snn_accuracy.append(np.mean(snn.predict(cut) == y))
        synops, inhibitions = snn.synaptic_operations(cut)
        snn_operations.append(synops.sum(axis=1).mean())
        snn_inhibitions.append(inhibitions.sum(axis=1).mean())
    proba = ann.frame_proba(streams)  # one pass over the frames for both curves
    return {
        "time": time,
        "snn_accuracy": np.array(snn_accuracy),
        "snn_operations": np.array(snn_operations),
        "snn_inhibitions": np.array(snn_inhibitions),
        "ann_accuracy": ann.staged_accuracy(streams, y, frame_proba=proba),
        "ann_frame_accuracy": ann.staged_accuracy(
            streams, y, single_frames=True, frame_proba=proba
        ),
        "ann_operations": ann.macs_per_frame_ * np.arange(1, ann.n_frames + 1),
    }


def operations_to_reach(accuracy, operations, target):
    """Operations at which ``accuracy`` first reaches ``target``, interpolated.

    Linear interpolation between the two points around the first crossing (from
    zero operations at zero accuracy before the first point); NaN if never.

    Examples
    --------
    >>> from spikeclf.cost import operations_to_reach
    >>> operations_to_reach([0.5, 0.9, 0.95], [100, 200, 300], 0.8)
    175.0
    """
    accuracy = np.concatenate([[0.0], np.asarray(accuracy, dtype=float)])
    operations = np.concatenate([[0.0], np.asarray(operations, dtype=float)])
    above = np.flatnonzero(accuracy >= target)
    if above.size == 0:
        return float("nan")
    k = above[0]
    if k == 0:
        return 0.0
    share = (target - accuracy[k - 1]) / (accuracy[k] - accuracy[k - 1])
    return float(operations[k - 1] + share * (operations[k] - operations[k - 1]))


def plot_cost_comparison(result, path=None):
    """The paper's Figure 6 from :func:`cost_comparison`: accuracy against
    operations (left) and against time (right). Returns the matplotlib figure;
    ``path`` saves it."""
    import matplotlib.pyplot as plt

    fig, (ops, time) = plt.subplots(1, 2, figsize=(9, 3.4))
    ms = 1e3 * result["time"]
    snn, ann = 100 * result["snn_accuracy"], 100 * result["ann_accuracy"]
    ops.semilogx(result["snn_operations"], snn, "o-", label="SNN")
    ops.semilogx(result["ann_operations"], ann, "s-", label="ANN, summed frames")
    ops.set(xlabel="operations per sample", ylabel="test accuracy (%)")
    time.plot(ms, snn, "o-", label="SNN")
    time.plot(ms, ann, "s-", label="ANN, summed frames")
    time.plot(ms, 100 * result["ann_frame_accuracy"], "^:", label="ANN, one frame")
    time.set(xlabel="time (ms)", ylabel="test accuracy (%)")
    for ax in (ops, time):
        ax.legend(loc="lower right")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
