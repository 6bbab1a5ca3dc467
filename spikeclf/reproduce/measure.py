"""The tables and figures of the paper as functions of a task: train, score."""

import numpy as np
from tqdm.auto import tqdm

from .._mlp import SpikingMLPClassifier
from ..analysis import accuracy_over_events, accuracy_over_time, event_rate
from ..augment import ElasticDistortion
from ..encoders import PoissonEncoder
from ..experiments import default_classifier
from .checkpoints import (
    _accuracy_summary,
    _curve,
    _evaluation_epochs,
    _hidden,
    _train_images,
    _train_streams,
)
from .registry import _LATERAL_STRENGTHS, PAPER


def _curve_csv(curve):
    """A learning curve as the columns and rows of a CSV."""
    rows = zip(curve["epoch"], curve["test_accuracy"], strict=True)
    return ["epoch", "test_accuracy"], list(rows)


def _network_name(n_in, hidden, n_out=10):
    return "-".join(str(n) for n in (n_in, *hidden, n_out))


def table2(task, *, networks=None, epochs=150, eval_every=10, average_last=20,
           test_duration=1.0, random_state=0, checkpoint_dir=None,
           progress=False):  # fmt: skip
    """Train the spiking MLPs of the paper's Table 2 and score them.

    The protocol of section 3.1: fresh 50 ms Poisson presentations every
    epoch, ``test_duration`` seconds for the test set; the accuracy is
    summarized over the evaluations of the last ``average_last`` epochs.

    Parameters
    ----------
    task : ImageTask
        Usually ``load_task("pi-mnist")``.
    networks : list of dict, default=None
        ``hidden``, ``solver`` and ``lateral_inhibition`` of each network;
        None means the paper's three (``PAPER["table2"]``).
    epochs : int, default=150
        Epochs of training.
    eval_every : int, default=10
        Score the test set every that many epochs (and every one of the last
        ``average_last``), for the learning curves.
    average_last : int, default=20
        Epochs at the end over which min, mean and max are taken.
    test_duration : float, default=1.0
        Seconds of events per test image.
    random_state : int, default=0
        Seed of the weights, the permutation and the events.
    checkpoint_dir : str or path-like, default=None
        Keep models and evaluations here, to resume (see :func:`run_target`).
    progress : bool, default=False
        Progress bars.

    Returns
    -------
    list of dict
        Per network: ``network``, ``solver``, ``lateral_inhibition``,
        ``accuracy`` ([min, mean, max] in %), ``synops_per_sample``,
        ``train_seconds`` and ``curve`` (``epoch`` and ``test_accuracy`` lists).
    """
    networks = PAPER["table2"] if networks is None else networks
    n_in = int(np.prod(np.shape(task.X_train)[1:]))
    eval_epochs = _evaluation_epochs(epochs, eval_every, average_last)
    rows = []
    for spec in networks:
        hidden = tuple(spec["hidden"])
        name = _network_name(n_in, hidden)
        clf = SpikingMLPClassifier(
            hidden_layer_sizes=hidden,
            solver=spec["solver"],
            learning_rate=0.002 if spec["solver"] == "sgd" else 0.0005,
            lateral_inhibition=tuple(spec["lateral_inhibition"]),
            sensor_size=task.sensor_size,
            random_state=random_state,
            n_jobs=1,
        )
        clf, history = _train_images(
            task, clf, f"table2-{name}-{spec['solver']}", epochs=epochs,
            eval_epochs=eval_epochs, checkpoint_dir=checkpoint_dir, progress=progress,
            test_duration=test_duration, random_state=random_state,
        )  # fmt: skip
        rows.append(
            {
                "network": name,
                "solver": spec["solver"],
                "lateral_inhibition": list(spec["lateral_inhibition"]),
                "accuracy": [
                    100 * a for a in _accuracy_summary(history, epochs, average_last)
                ],
                "synops_per_sample": history[-1]["synops_per_sample"],
                "train_seconds": sum(h["train_seconds"] for h in history),
                "curve": _curve(history),
            }
        )
    return rows


def figure2b(task, *, hidden=100, epochs=150, test_duration=1.0, random_state=0,
             checkpoint_dir=None, progress=False):  # fmt: skip
    """Train 784-``hidden``-10 and return its hidden weights as images.

    The paper's Figure 2B: the weights of each hidden neuron drawn as an
    image, its threshold as a bar. Permuted pixels are put back in place, so
    the weights of permutation-invariant MNIST look like strokes again.

    Parameters
    ----------
    task : ImageTask
    hidden : int, default=100
        Hidden neurons.
    epochs : int, default=150
        Epochs of training.
    test_duration : float, default=1.0
        Seconds of events per test image.
    random_state : int, default=0
        Seed of the weights, the permutation and the events.
    checkpoint_dir : str or path-like, default=None
        Keep the model here, to resume.
    progress : bool, default=False
        Progress bars.

    Returns
    -------
    dict
        ``weights`` (ndarray of shape (hidden, height, width)), ``thresholds``
        (shape (hidden,)), ``initial_threshold`` (float), ``test_accuracy``
        and ``network`` (its name).
    """
    height, width = np.shape(task.X_train)[1:3]
    name = _network_name(height * width, (hidden,))
    clf = SpikingMLPClassifier(hidden_layer_sizes=(hidden,),
                               sensor_size=task.sensor_size,
                               random_state=random_state, n_jobs=1)  # fmt: skip
    clf, history = _train_images(
        task, clf, f"fig2b-{name}", epochs=epochs, eval_epochs=[epochs],
        checkpoint_dir=checkpoint_dir, progress=progress,
        test_duration=test_duration, random_state=random_state,
    )  # fmt: skip
    weights = np.asarray(clf.coefs_[0])  # (pixels, hidden), in the encoder's order
    # The permutation the training encoder drew (spikeclf.experiments._encoder).
    encoder = PoissonEncoder(permute_pixels=task.permute_pixels,
                             random_state=random_state).fit(task.X_train)  # fmt: skip
    if encoder.permutation_ is not None:
        weights = weights[encoder.permutation_]  # pixel i fed input permutation_[i]
    return {
        "network": name,
        "weights": weights.T.reshape(hidden, height, width),
        "thresholds": np.asarray(clf.thresholds_[0], dtype=float),
        "initial_threshold": float(clf.alpha[0] * np.sqrt(3.0 / (height * width))),
        "test_accuracy": history[-1]["test_accuracy"],
    }


def figure3(task, *, hidden_sizes=(100, 200, 300), strengths=None, epochs=30,
            test_duration=1.0, random_state=0, checkpoint_dir=None,
            progress=False):  # fmt: skip
    """Test accuracy of 784-N-10 as the hidden layer's lateral inhibition varies.

    The paper's Figure 3: every network starts from the same weights (one
    seed); the output layer's inhibition stays at -1.0.

    Parameters
    ----------
    task : ImageTask
    hidden_sizes : sequence of int, default=(100, 200, 300)
        The N of 784-N-10.
    strengths : sequence of float, default=None
        Hidden-layer lateral inhibition kappa; None means 0 to -0.8 in steps
        of 0.2.
    epochs : int, default=30
        Epochs of training of each network.
    test_duration : float, default=1.0
        Seconds of events per test image.
    random_state : int, default=0
        Seed of the weights, the permutation and the events.
    checkpoint_dir : str or path-like, default=None
        Keep the models here, to resume.
    progress : bool, default=False
        Progress bars.

    Returns
    -------
    dict
        ``hidden_sizes``, ``strengths`` and ``accuracy`` (ndarray of shape
        (len(hidden_sizes), len(strengths)), fractions).
    """
    strengths = _LATERAL_STRENGTHS if strengths is None else list(strengths)
    accuracy = np.zeros((len(hidden_sizes), len(strengths)))
    cells = [(i, n, j, k) for i, n in enumerate(hidden_sizes)
             for j, k in enumerate(strengths)]  # fmt: skip
    for i, n, j, kappa in tqdm(cells, desc="fig3 networks", disable=_hidden(progress)):
        clf = SpikingMLPClassifier(hidden_layer_sizes=(n,),
                                   lateral_inhibition=(kappa, -1.0),
                                   sensor_size=task.sensor_size,
                                   random_state=random_state, n_jobs=1)  # fmt: skip
        _, history = _train_images(
            task, clf, f"fig3-{n}-kappa{kappa:g}", epochs=epochs, eval_epochs=[epochs],
            checkpoint_dir=checkpoint_dir, progress=progress,
            test_duration=test_duration, random_state=random_state,
        )  # fmt: skip
        accuracy[i, j] = history[-1]["test_accuracy"]
    return {
        "hidden_sizes": list(hidden_sizes),
        "strengths": strengths,
        "accuracy": accuracy,
    }


def table3(task, *, layers="20c5-p2-50c5-p2-200", elastic=True,
           output_loss="cross_entropy", epochs=60, eval_every=5, average_last=1,
           test_duration=1.0, random_state=0, checkpoint_dir=None,
           progress=False):  # fmt: skip
    """Train the spiking CNN of the paper's Table 3 and score it.

    Parameters
    ----------
    task : ImageTask
        Usually ``load_task("mnist")`` (pixels in place).
    layers : str, default="20c5-p2-50c5-p2-200"
        The hidden layers (:class:`spikeclf.SpikingCNNClassifier`).
    elastic : bool, default=True
        Elastic distortion of the training images, fresh every epoch.
    output_loss : {"cross_entropy", "max_normalized"}, default="cross_entropy"
        Loss on the output spike counts.
    epochs : int, default=60
        Epochs of training.
    eval_every : int, default=5
        Score the test set every that many epochs.
    average_last : int, default=1
        Epochs at the end over which min, mean and max are taken.
    test_duration : float, default=1.0
        Seconds of events per test image.
    random_state : int, default=0
        Seed of the weights, distortions and events.
    checkpoint_dir : str or path-like, default=None
        Keep the model and evaluations here, to resume.
    progress : bool, default=False
        Progress bars.

    Returns
    -------
    dict
        ``network``, ``accuracy`` ([min, mean, max] in %),
        ``synops_per_sample``, ``train_seconds`` and ``curve``.
    """
    clf = default_classifier(
        task.name, None, random_state, 0, layers=layers,
        sensor_size=task.sensor_size, output_loss=output_loss, n_jobs=1,
    )  # fmt: skip
    clf, history = _train_images(
        task, clf, f"table3-{layers}", epochs=epochs,
        eval_epochs=_evaluation_epochs(epochs, eval_every, average_last),
        checkpoint_dir=checkpoint_dir, progress=progress,
        augment=ElasticDistortion() if elastic else None,
        test_duration=test_duration, random_state=random_state,
    )  # fmt: skip
    return {
        "network": layers,
        "accuracy": [100 * a for a in _accuracy_summary(history, epochs, average_last)],
        "synops_per_sample": history[-1]["synops_per_sample"],
        "train_seconds": sum(h["train_seconds"] for h in history),
        "curve": _curve(history),
    }


def _stream_classifier(task, hidden, random_state):
    """The paper's N-MNIST network: tau 200 ms (section 3.3), on the task's sensor."""
    return SpikingMLPClassifier(hidden_layer_sizes=(hidden,), tau=0.2,
                                sensor_size=task.sensor_size,
                                random_state=random_state, n_jobs=1)  # fmt: skip


def table4(task, *, hidden=800, window=300, epochs=200, eval_every=10,
           average_last=20, random_state=0, checkpoint_dir=None,
           progress=False):  # fmt: skip
    """Train (34x34x2)-``hidden``-10 on N-MNIST as the paper's Table 4.

    Random windows of ``window`` consecutive events for training, whole
    streams for testing (section 3.3).

    Parameters
    ----------
    task : EventTask
    hidden : int, default=800
        Hidden neurons.
    window : int, default=300
        Events per training presentation.
    epochs : int, default=200
        Epochs of training.
    eval_every : int, default=10
        Score the test set every that many epochs.
    average_last : int, default=20
        Epochs at the end over which min, mean and max are taken.
    random_state : int, default=0
        Seed of the weights and windows.
    checkpoint_dir : str or path-like, default=None
        Keep the model and evaluations here, to resume.
    progress : bool, default=False
        Progress bars.

    Returns
    -------
    dict
        ``network``, ``accuracy`` ([min, mean, max] in %),
        ``synops_per_sample``, ``train_seconds`` and ``curve``.
    """
    clf, history = _train_streams(
        task, _stream_classifier(task, hidden, random_state), f"table4-{hidden}",
        epochs=epochs, eval_epochs=_evaluation_epochs(epochs, eval_every, average_last),
        checkpoint_dir=checkpoint_dir, progress=progress, window=window,
        random_state=random_state,
    )  # fmt: skip
    width, height, polarities = task.sensor_size
    return {
        "network": f"({width}x{height}x{polarities})-{hidden}-10",
        "accuracy": [100 * a for a in _accuracy_summary(history, epochs, average_last)],
        "synops_per_sample": history[-1]["synops_per_sample"],
        "train_seconds": sum(h["train_seconds"] for h in history),
        "curve": _curve(history),
    }


def figure5(classifier, X, y, *, times, n_events=None, bin_width=0.005,
            progress=False):  # fmt: skip
    """The arrays of the paper's Figure 5: event rate, accuracy over time.

    Parameters
    ----------
    classifier : fitted SpikingMLPClassifier
    X : list of event streams
        Test streams.
    y : array-like of shape (n_samples,)
    times : sequence of float
        Seconds at which the streams are cut for ``accuracy``.
    n_events : sequence of int, default=None
        Numbers of first events for ``accuracy_events``; None means 12 from
        10 to 6,000, spaced evenly in log.
    bin_width : float, default=0.005
        Seconds per bin of the event rate.
    progress : bool, default=False
        A progress bar over ``times``.

    Returns
    -------
    dict of ndarray
        ``rate_time`` and ``rate`` (events per second and stream, averaged;
        Figure 5A), ``rate_per_pixel`` (divided by the sensor's pixels and
        polarities, as the paper plots it), ``time`` and ``accuracy``
        (Figure 5B), ``events`` (mean events a stream by each time),
        ``n_events`` and ``accuracy_events``.

    Examples
    --------
    >>> from spikeclf import SpikingMLPClassifier, load_digits_events
    >>> from spikeclf.reproduce import figure5
    >>> X, y = load_digits_events(return_X_y=True, duration=0.1)
    >>> clf = SpikingMLPClassifier((30,), max_iter=1, random_state=0).fit(X, y)
    >>> result = figure5(clf, X[:50], y[:50], times=[0.05, 0.1], n_events=[100])
    >>> result["events"].round(-1).tolist()
    [250.0, 500.0]
    """
    if n_events is None:
        n_events = np.unique(np.geomspace(10, 6000, 12).astype(int))
    times = np.asarray(times, dtype=float)
    rate_time, rate = event_rate(X, bin_width=bin_width)
    n_inputs = int(np.prod(classifier.sensor_size_))
    events = np.array(
        [np.mean([np.searchsorted(s["t"], 1e6 * t) for s in X]) for t in times]
    )
    return {
        "rate_time": rate_time,
        "rate": rate,
        "rate_per_pixel": rate / n_inputs,
        "time": times,
        "accuracy": np.array(
            [
                accuracy_over_time(classifier, X, y, [t])[0]
                for t in tqdm(
                    times,
                    desc="accuracy over time",
                    leave=False,
                    disable=_hidden(progress),
                )
            ]
        ),  # fmt: skip
        "events": events,
        "n_events": np.asarray(n_events),
        "accuracy_events": accuracy_over_events(classifier, X, y, n_events),
    }
