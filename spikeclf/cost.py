"""Accuracy against operations: a spiking network against an ANN (Figure 6).

An SNN's cost is its synaptic operations (one weight added to one membrane
potential), counted by the simulator event by event; an ANN's is its
multiply-accumulates, inputs x outputs per layer and frame. Both are read as
the streams unfold: the SNN on the streams cut at each frame boundary, the ANN
after each frame.
"""

import joblib
import numpy as np

from .events import _as_stream_list

__all__ = [
    "compare_cost",
    "cost_comparison",
    "cost_summary",
    "cost_table",
    "early_decision_curve",
    "image_cost_comparison",
    "mlp_macs",
    "operations_to_reach",
    "plot_cost_comparison",
    "plot_early_decision_curve",
]

#: Where the static-image comparison cuts the SNN's test presentations (s).
IMAGE_CUT_TIMES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


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
    proba = ann.frame_proba(streams)  # one pass over the frames for both curves
    return {
        **_unfolding(snn, streams, y, time),
        "ann_accuracy": ann.staged_accuracy(streams, y, frame_proba=proba),
        "ann_frame_accuracy": ann.staged_accuracy(
            streams, y, single_frames=True, frame_proba=proba
        ),
        "ann_operations": ann.macs_per_frame_ * np.arange(1, ann.n_frames + 1),
    }


def image_cost_comparison(snn, mlp, X, features, y, times=IMAGE_CUT_TIMES):
    """The same comparison for static images: an SNN on their event streams cut at
    ``times``, against an MLP that sees each image once.

    Parameters
    ----------
    snn : fitted SpikingMLPClassifier
    mlp : fitted sklearn.neural_network.MLPClassifier
        On ``features``; its cost is one forward pass, :func:`mlp_macs`.
    X : list of event streams
        The images encoded as the SNN was trained (for example by
        :func:`spikeclf.experiments.encode_test_set`).
    features : ndarray of shape (n_samples, n_features)
        The same images as the MLP takes them.
    y : array-like of shape (n_samples,)
    times : sequence of float, default=IMAGE_CUT_TIMES
        Seconds at which the streams are cut.

    Returns
    -------
    result : dict of ndarray, each of shape (len(times),)
        ``time``, ``snn_accuracy``, ``snn_operations``, ``snn_inhibitions`` as in
        :func:`cost_comparison`; ``ann_accuracy`` and ``ann_operations`` are the
        MLP's, the same at every time.

    Examples
    --------
    >>> from sklearn.neural_network import MLPClassifier
    >>> from spikeclf import PoissonEncoder, SpikingMLPClassifier
    >>> from spikeclf.cost import image_cost_comparison
    >>> from sklearn.datasets import load_digits
    >>> images, y = load_digits(return_X_y=True)
    >>> X = PoissonEncoder(duration=0.1, random_state=0).fit_transform(images)
    >>> snn = SpikingMLPClassifier((50,), max_iter=2, random_state=0).fit(X, y)
    >>> mlp = MLPClassifier((50,), max_iter=50, random_state=0).fit(images / 16, y)
    >>> result = image_cost_comparison(snn, mlp, X, images / 16, y, times=(0.05, 0.1))
    >>> result["ann_operations"].tolist()
    [3700, 3700]
    """
    streams = _as_stream_list(X)
    y = np.asarray(y)
    result = _unfolding(snn, streams, y, np.asarray(times, dtype=float))
    n = len(times)
    result["ann_accuracy"] = np.full(n, mlp.score(features, y))
    result["ann_operations"] = np.full(n, mlp_macs(mlp))
    return result


def mlp_macs(mlp):
    """Multiply-accumulates of one forward pass: inputs x outputs per layer.

    Parameters
    ----------
    mlp : fitted sklearn.neural_network.MLPClassifier

    Returns
    -------
    int
    """
    return int(sum(w.size for w in mlp.coefs_))


def _unfolding(snn, streams, y, times):
    """The SNN's accuracy and operations on the streams cut at each of ``times``."""
    accuracy, operations, inhibitions = [], [], []
    for stop in times:
        cut = [s[: np.searchsorted(s["t"], stop * 1e6, side="left")] for s in streams]
        result = snn._simulate(cut)  # one simulation for accuracy and operations
        predicted = snn.classes_[np.argmax(snn._proba(result), axis=1)]
        accuracy.append(np.mean(predicted == y))
        operations.append(result.synops.sum(axis=1).mean())
        inhibitions.append(result.inhibitions.sum(axis=1).mean())
    return {
        "time": times,
        "snn_accuracy": np.array(accuracy),
        "snn_operations": np.array(operations),
        "snn_inhibitions": np.array(inhibitions),
    }


def operations_to_reach(accuracy, operations, target, interpolate=True):
    """Operations at which ``accuracy`` first reaches ``target``.

    Parameters
    ----------
    accuracy : sequence of float
        Accuracy after each point of a curve.
    operations : sequence of float
        Operations per sample at each point, increasing.
    target : float
        Accuracy to reach.
    interpolate : bool, default=True
        True: linearly between the two points around the first crossing (from
        zero operations at zero accuracy before the first point), for an SNN,
        which can stop after any event; False: the first point that reaches
        it, for an ANN, which cannot stop within a forward pass.

    Returns
    -------
    float
        The operations; NaN if ``accuracy`` never reaches ``target``.

    Examples
    --------
    >>> from spikeclf.cost import operations_to_reach
    >>> operations_to_reach([0.5, 0.9, 0.95], [100, 200, 300], 0.8)
    175.0
    >>> operations_to_reach([0.5, 0.9, 0.95], [100, 200, 300], 0.8, interpolate=False)
    200.0
    """
    accuracy = np.concatenate([[0.0], np.asarray(accuracy, dtype=float)])
    operations = np.concatenate([[0.0], np.asarray(operations, dtype=float)])
    above = np.flatnonzero(accuracy >= target)
    if above.size == 0:
        return float("nan")
    k = above[0]
    if k == 0 or not interpolate:
        return float(operations[k])
    share = (target - accuracy[k - 1]) / (accuracy[k] - accuracy[k - 1])
    return float(operations[k - 1] + share * (operations[k] - operations[k - 1]))


def plot_cost_comparison(result, path=None):
    """The paper's Figure 6 from :func:`cost_comparison`.

    Accuracy against operations (left) and against time (right).

    Parameters
    ----------
    result : dict of ndarray
        What :func:`cost_comparison` or :func:`image_cost_comparison` returns.
    path : str or path-like, default=None
        Where to save the figure; None saves nothing.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, (ops, time) = plt.subplots(1, 2, figsize=(9, 3.4))
    ms = 1e3 * result["time"]
    snn, ann = 100 * result["snn_accuracy"], 100 * result["ann_accuracy"]
    frames = "ann_frame_accuracy" in result
    label = "ANN, summed frames" if frames else "ANN, one pass on the image"
    ops.semilogx(result["snn_operations"], snn, "o-", label="SNN")
    ops.semilogx(result["ann_operations"], ann, "s-" if frames else "s", label=label)
    ops.set(xlabel="operations per sample", ylabel="test accuracy (%)")
    time.plot(ms, snn, "o-", label="SNN")
    time.plot(ms, ann, "s-" if frames else "--", label=label)
    if frames:
        time.plot(ms, 100 * result["ann_frame_accuracy"], "^:", label="ANN, one frame")
    else:
        time.set_xscale("log")
    time.set(xlabel="time (ms)", ylabel="test accuracy (%)")
    for ax in (ops, time):
        ax.legend(loc="lower right")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def compare_cost(dataset="nmnist", data_home=None, *, snn=None, ann=None,
                 hidden=None, epochs=10, limit=None, random_state=0, verbose=0,
                 log=print):  # fmt: skip
    """What ``spikeclf compare-cost`` measures: an SNN against an ANN, trained or
    loaded, on the test set of ``dataset``.

    Parameters
    ----------
    dataset : {"nmnist", "mnist", "digits"}, default="nmnist"
        ``"nmnist"``: the SNN on the test streams against a
        :class:`~spikeclf.FrameANNClassifier` on their 30 ms frames
        (:func:`cost_comparison`); ``"mnist"`` (permutation-invariant) and
        ``"digits"``: the SNN on the 1 s Poisson streams of the test images
        against an MLP on the pixels (:func:`image_cost_comparison`).
    data_home : str or path-like, default=None
        Folder holding ``NMNIST/`` or ``mnist/``.
    snn, ann : str or path-like, default=None
        Fitted models saved by joblib; None trains one (the ANN of the SNN's
        hidden sizes).
    hidden : tuple of int, default=None
        Hidden sizes of a trained SNN; None: 200 for nmnist, 800 for mnist,
        100 for digits.
    epochs : int, default=10
        Epochs of what is trained.
    limit : int, default=None
        N-MNIST: files per digit and split.
    random_state : int, default=0
        Seed of what is trained, and of the test events.
    verbose : int, default=0
        Verbosity of what is trained.
    log : callable, default=print
        Called with the training's lines.

    Returns
    -------
    dict of ndarray
        As :func:`cost_comparison` or :func:`image_cost_comparison`.
    """
    from ._ann import FrameANNClassifier
    from .experiments import (
        default_classifier,
        encode_test_set,
        load_task,
        train_on_event_streams,
        train_on_images,
    )

    if dataset not in ("nmnist", "mnist", "digits"):
        raise ValueError(
            f"unknown data set {dataset!r}: choose nmnist, mnist or digits"
        )
    task = load_task("pi-mnist" if dataset == "mnist" else dataset, data_home,
                     limit=limit)  # fmt: skip
    if snn is not None:
        snn = joblib.load(snn)
    else:
        default = {"nmnist": (200,), "mnist": (800,), "digits": (100,)}[dataset]
        snn = default_classifier(task.name, hidden or default, random_state, verbose)
        train = train_on_event_streams if dataset == "nmnist" else train_on_images
        train(task, snn, epochs=epochs, random_state=random_state, log=log)

    def fitted_ann(estimator, X):
        if ann is not None:
            return joblib.load(ann)
        return estimator(snn.hidden_layer_sizes, max_iter=epochs,
                         random_state=random_state, verbose=bool(verbose)).fit(
            X, task.y_train)  # fmt: skip

    if dataset == "nmnist":
        frame_ann = fitted_ann(FrameANNClassifier, task.X_train)
        return cost_comparison(snn, frame_ann, task.X_test, task.y_test)
    from sklearn.neural_network import MLPClassifier

    scale = float(task.X_train.max())
    mlp = fitted_ann(MLPClassifier, task.X_train.reshape(len(task.X_train), -1) / scale)
    X = encode_test_set(task, random_state=random_state)  # what `train` scored
    features = task.X_test.reshape(len(task.X_test), -1) / scale
    return image_cost_comparison(snn, mlp, X, features, task.y_test)


def cost_table(result):
    """:func:`compare_cost`'s result as a text table, one line per time.

    Parameters
    ----------
    result : dict of ndarray

    Returns
    -------
    str
        Time (ms), accuracies (%) and operations of the SNN and the ANN.
    """
    frames = "ann_frame_accuracy" in result
    lines = ["  ms  SNN %   synops   ANN %" + ("  frame %" if frames else "")
             + "     MACs"]  # fmt: skip
    for i, t in enumerate(result["time"]):
        row = {name: values[i] for name, values in result.items()}
        frame = f" {100 * row['ann_frame_accuracy']:8.2f}" if frames else ""
        lines.append(
            f"{1e3 * t:4.0f} {100 * row['snn_accuracy']:6.2f} "
            f"{row['snn_operations']:8.3g} {100 * row['ann_accuracy']:7.2f}"
            f"{frame} {row['ann_operations']:8.3g}"
        )
    return "\n".join(lines)


def cost_summary(result):
    """The accuracy both networks reach, and the operations each needs for it.

    Parameters
    ----------
    result : dict of ndarray

    Returns
    -------
    target, snn_operations, ann_operations : float
        The lower of the two best accuracies; the SNN's synaptic operations
        (interpolated) and the ANN's multiply-accumulates per sample to reach it.
    """
    target = min(result["snn_accuracy"].max(), result["ann_accuracy"].max())
    snn = operations_to_reach(result["snn_accuracy"], result["snn_operations"], target)
    ann = operations_to_reach(result["ann_accuracy"], result["ann_operations"],
                              target, interpolate=False)  # fmt: skip
    return float(target), snn, ann


def early_decision_curve(clf, X, y, margins=range(1, 11)):
    """Accuracy against mean synaptic operations as samples stop early.

    Each margin ``m`` is a setting of the early-decision rule of
    :meth:`~spikeclf.SpikingMLPClassifier.predict_early` (a sample stops at
    the first output spike that puts its neuron ``m`` spikes ahead of every
    other output neuron); the whole streams are the last point. One
    simulation gives every point (:func:`spikeclf.streaming.early_decisions`).

    Parameters
    ----------
    clf : fitted SpikingMLPClassifier or SpikingCNNClassifier
    X : list of event streams
    y : array-like of shape (n_samples,)
    margins : sequence of int, default=range(1, 11)
        Margins, each at least 1.

    Returns
    -------
    result : dict
        ``margin`` (ndarray of int), and per margin ``accuracy``,
        ``synops`` (mean synaptic operations per sample, every layer),
        ``inhibitions`` (lateral-inhibition updates, counted apart),
        ``decided`` (fraction of the samples the margin decided) and
        ``decision_time`` (mean seconds to the decision); then the same of the
        whole streams as ``whole_accuracy``, ``whole_synops``,
        ``whole_inhibitions`` and ``whole_time``.

    Examples
    --------
    >>> from spikeclf import SpikingMLPClassifier, load_digits_events
    >>> from spikeclf.cost import early_decision_curve
    >>> X, y = load_digits_events(return_X_y=True, random_state=0)
    >>> clf = SpikingMLPClassifier((30,), max_iter=2, random_state=0)
    >>> clf = clf.fit(X[:300], y[:300])
    >>> curve = early_decision_curve(clf, X[300:400], y[300:400], margins=[1, 2, 4])
    >>> bool(curve["synops"][0] <= curve["synops"][-1] <= curve["whole_synops"])
    True
    """
    from .streaming import early_decisions

    margins = [int(m) for m in margins]
    y = np.asarray(y)
    never = np.iinfo(np.int64).max  # no stream gets that far ahead: whole streams
    *curve, whole = early_decisions(clf, X, [*margins, never])

    def figures(d):
        return (
            float(np.mean(d.y_pred == y)),
            float(d.synops.sum(axis=1).mean()),
            float(d.inhibitions.sum(axis=1).mean()),
            float(d.decided.mean()),
            float(d.decision_time.mean()),
        )

    names = ("accuracy", "synops", "inhibitions", "decided", "decision_time")
    points = np.array([figures(d) for d in curve]).reshape(-1, len(names))
    result = {"margin": np.array(margins, dtype=int)}
    result.update({name: points[:, k] for k, name in enumerate(names)})
    accuracy, synops, inhibitions, _, time = figures(whole)
    result.update(
        whole_accuracy=accuracy,
        whole_synops=synops,
        whole_inhibitions=inhibitions,
        whole_time=time,
    )
    return result


def plot_early_decision_curve(result, path=None, label=None):
    """Accuracy against mean synaptic operations from :func:`early_decision_curve`.

    Parameters
    ----------
    result : dict
        What :func:`early_decision_curve` returns.
    path : str or path-like, default=None
        Where to save the figure; None saves nothing.
    label : str, default=None
        Title of the figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    share = 100 * result["synops"] / result["whole_synops"]
    accuracy, whole = 100 * result["accuracy"], 100 * result["whole_accuracy"]
    fig, (full, zoom) = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, shown in ((full, {1, 2, 3, 5, 10}), (zoom, {5, 10, 15, 20, 40, 80})):
        ax.plot(share, accuracy, "o-", ms=3, label="stopped at margin k")
        for m, x, a in zip(result["margin"], share, accuracy, strict=True):
            if m in shown:
                ax.annotate(
                    f"k={m}", (x, a), textcoords="offset points", xytext=(3, -11)
                )
        ax.plot([100], [whole], "s", label="whole streams")
        ax.axhline(whole - 0.2, color="gray", ls=":", lw=1, label="whole - 0.2 points")
        ax.set(xlabel="synaptic operations (% of the whole streams')")
        ax.grid(alpha=0.3)
    full.set_xscale("log")
    full.set(ylabel="test accuracy (%)", title=label)
    zoom.set(ylim=(whole - 3, whole + 1), title="near the whole streams' accuracy")
    zoom.legend(loc="lower right")
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
