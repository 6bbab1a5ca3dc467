"""The paper's tables and figures, measured: ``spikeclf reproduce TARGET``.

One function per table or figure of Lee, Delbruck and Pfeiffer (2016) trains
and scores what it needs and returns plain dicts and arrays (:func:`table2`,
:func:`figure2b`, :func:`figure3`, :func:`table3`, :func:`table4`,
:func:`figure5`); :func:`run_target` runs one of them with the parameters of a
mode (``"full"``: the paper's protocol, ``"quick"``: minutes on one core) and
writes a CSV, a Markdown table, the figure (PNG and SVG) and a JSON record of
the parameters, the command and the versions into ``OUTPUT/TARGET/``;
:func:`write_results_page` collects the Markdown tables into one page.

Runs resume: a target whose JSON record holds the same parameters is skipped,
and every training saves its model after each epoch in ``OUTPUT/models/``
under a name that hashes its parameters, so an interrupted run continues at
its last epoch and targets that train the same network share it (Figures 5
and 6).
"""

import importlib.metadata
import json
import logging
import platform
import shutil
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import joblib
import numpy as np
import scipy
import sklearn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from . import __version__
from ._ann import FrameANNClassifier
from ._mlp import SpikingMLPClassifier
from ._persistence import write_atomically
from .analysis import accuracy_over_events, accuracy_over_time, event_rate
from .augment import ElasticDistortion
from .cost import cost_comparison, operations_to_reach, plot_cost_comparison
from .datasets import (
    find_mnist,
    get_data_home,
    load_digits_events,
    load_mnist,
    load_nmnist,
)
from .dvs import NMNIST_SENSOR_SIZE
from .encoders import PoissonEncoder
from .experiments import (
    EventTask,
    ImageTask,
    default_classifier,
    train_on_event_streams,
    train_on_images,
)

__all__ = [
    "PAPER",
    "TARGETS",
    "figure2b",
    "figure3",
    "figure5",
    "markdown_table",
    "plot_figure2b",
    "plot_figure3",
    "plot_figure5",
    "plot_learning_curves",
    "run_target",
    "table2",
    "table3",
    "table4",
    "target_parameters",
    "write_results_page",
]

logger = logging.getLogger(__name__)
_STARTED = time.time()  # --force retrains what was trained before this process

#: The paper's numbers (Lee, Delbruck and Pfeiffer 2016), as printed.
PAPER = {
    # Table 2, "SNN (This work)" rows: [min, average, max] test accuracy (%) over the
    # last 20 epochs; hidden layers, solver and the lateral inhibition of section 3.1
    # (-0.4 in the first hidden layer, none in the second, -1.0 in the output layer).
    "table2": [
        {
            "hidden": [800],
            "solver": "sgd",
            "lateral_inhibition": [-0.4, -1.0],
            "accuracy": [98.56, 98.64, 98.71],
        },
        {
            "hidden": [500, 500],
            "solver": "sgd",
            "lateral_inhibition": [-0.4, 0.0, -1.0],
            "accuracy": [98.63, 98.70, 98.76],
        },
        {
            "hidden": [300, 300],
            "solver": "adam",
            "lateral_inhibition": [-0.4, 0.0, -1.0],
            "accuracy": [98.71, 98.77, 98.88],
        },
    ],  # fmt: skip
    # Table 2, the other models it compares with (test accuracy, %).
    "table2_others": [
        ("ANN (Srivastava et al., 2014)", "800", 98.4),
        ("ANN, drop-out (Srivastava et al., 2014)", "4096-4096", 98.99),
        ("ANN, drop-connect (Wan et al., 2013)", "800-800", 98.8),
        ("ANN, maxout (Goodfellow et al., 2013)", "240x5-240x5", 99.06),
        ("SNN (O'Connor et al., 2013)", "500-500", 94.09),
        ("SNN (Hunsberger and Eliasmith, 2015)", "500-300", 98.6),
        ("SNN (Diehl et al., 2015)", "1200-1200", 98.64),
        ("SNN (O'Connor and Welling, 2016)", "200-200", 97.8),
    ],
    # Figure 3 and section 3.1: the best hidden-layer lateral inhibition, for every N.
    "figure3_best_lateral_inhibition": -0.4,
    # Table 3: spiking CNN 20c5-p2-50c5-p2-200, elastic distortion, one network.
    "table3": 99.31,
    "table3_others": [
        ("CNN (Garbin et al., 2014)", "none", 1, 98.3),
        ("CNN (Diehl et al., 2015)", "none", 1, 99.1),
        (
            "Sparsely connected network (Esser et al., 2015)",
            "affine transformation",
            64,
            99.42,
        ),
    ],  # fmt: skip
    # Table 4: (34x34x2)-800-10 on N-MNIST, uncentered, [min, average, max] (%).
    "table4": [98.56, 98.66, 98.74],
    "table4_others": [
        ("ANN (Neil and Liu, 2016)", "CNN", "yes", 98.3),
        ("SNN (Neil and Liu, 2016)", "CNN", "yes", 95.72),
        ("SNN (Cohen et al., 2016)", "10,000", "no", 92.87),
    ],
    # Section 3.3 on Figure 5B: each saccade (100 ms) about halves the error rate.
    "figure5_error_ratio_per_saccade": 0.5,
    # Section 3.3 on Figure 6: the ANN of 30 ms frames needs about 4.8 times the
    # SNN's operations to reach similar accuracy; one frame alone 95.2 %, ten 97.8 %.
    "figure6_ann_to_snn_operations": 4.8,
    "figure6_ann_one_frame": 95.2,
    "figure6_ann_ten_frames": 97.8,
}

_LATERAL_STRENGTHS = [0.0, -0.2, -0.4, -0.6, -0.8]
_NMNIST_QUICK = {"data": "nmnist", "n_train": 5000, "n_test": 2000}

#: Parameters of every target in each mode. ``full`` is the paper's protocol
#: (days of training for some), ``quick`` a reduced run of minutes on one core,
#: ``tiny`` seconds on the built-in digits (for the tests).
TARGETS = {
    "table2": {
        "title": "Table 2: permutation-invariant MNIST",
        "full": {"data": "pi-mnist", "n_train": None, "n_test": None,
                 "networks": PAPER["table2"], "epochs": 150, "eval_every": 10,
                 "average_last": 20, "test_duration": 1.0, "seed": 0},
        "quick": {"data": "pi-mnist", "n_train": 10000, "n_test": 1000,
                  "networks": PAPER["table2"], "epochs": 4, "eval_every": 1,
                  "average_last": 1, "test_duration": 1.0, "seed": 0},
        "tiny": {"data": "digits", "n_train": 400, "n_test": 100,
                 "networks": [{"hidden": [30], "solver": "sgd",
                               "lateral_inhibition": [-0.4, -1.0]},
                              {"hidden": [20, 20], "solver": "adam",
                               "lateral_inhibition": [-0.4, 0.0, -1.0]}],
                 "epochs": 2, "eval_every": 1, "average_last": 1,
                 "test_duration": 0.1, "seed": 0},
    },
    "fig2b": {
        "title": "Figure 2B: trained hidden weights and thresholds of 784-100-10",
        "full": {"data": "pi-mnist", "n_train": None, "n_test": None, "hidden": 100,
                 "epochs": 150, "test_duration": 1.0, "seed": 0},
        "quick": {"data": "pi-mnist", "n_train": 10000, "n_test": 1000, "hidden": 100,
                  "epochs": 5, "test_duration": 1.0, "seed": 0},
        "tiny": {"data": "digits", "n_train": 400, "n_test": 100, "hidden": 16,
                 "epochs": 1, "test_duration": 0.1, "seed": 0},
    },
    "fig3": {
        "title": "Figure 3: accuracy against lateral inhibition in the hidden layer",
        "full": {"data": "pi-mnist", "n_train": None, "n_test": None,
                 "hidden_sizes": [100, 200, 300], "strengths": _LATERAL_STRENGTHS,
                 "epochs": 30, "test_duration": 1.0, "seed": 0},
        "quick": {"data": "pi-mnist", "n_train": 2000, "n_test": 1000,
                  "hidden_sizes": [100, 200, 300], "strengths": _LATERAL_STRENGTHS,
                  "epochs": 2, "test_duration": 1.0, "seed": 0},
        "tiny": {"data": "digits", "n_train": 400, "n_test": 100,
                 "hidden_sizes": [20], "strengths": [0.0, -0.4, -0.8], "epochs": 1,
                 "test_duration": 0.1, "seed": 0},
    },
    "table3": {
        "title": "Table 3: spiking CNN on MNIST",
        "full": {"data": "mnist", "n_train": None, "n_test": None,
                 "layers": "20c5-p2-50c5-p2-200", "elastic": True,
                 "output_loss": "cross_entropy", "epochs": 60, "eval_every": 5,
                 "average_last": 1, "test_duration": 1.0, "seed": 0},
        "quick": {"data": "mnist", "n_train": 5000, "n_test": 1000,
                  "layers": "20c5-p2-50c5-p2-200", "elastic": True,
                  "output_loss": "cross_entropy", "epochs": 3, "eval_every": 1,
                  "average_last": 1, "test_duration": 0.3, "seed": 0},
        "tiny": {"data": "digits", "n_train": 300, "n_test": 100,
                 "layers": "4c3-p2-20", "elastic": False,
                 "output_loss": "cross_entropy", "epochs": 1, "eval_every": 1,
                 "average_last": 1, "test_duration": 0.1, "seed": 0},
    },
    "table4": {
        "title": "Table 4: N-MNIST",
        "full": {"data": "nmnist", "n_train": None, "n_test": None, "hidden": 800,
                 "window": 300, "epochs": 200, "eval_every": 10, "average_last": 20,
                 "seed": 0},
        "quick": {**_NMNIST_QUICK, "n_train": 10000, "hidden": 800, "window": 300,
                  "epochs": 5,
                  "eval_every": 1, "average_last": 1, "seed": 0},
        "tiny": {"data": "digits-events", "n_train": 400, "n_test": 100,
                 "hidden": 30, "window": 100, "epochs": 2, "eval_every": 1,
                 "average_last": 1, "seed": 0},
    },
    "fig5": {
        "title": "Figure 5: N-MNIST event rate, and accuracy as events arrive",
        "full": {"data": "nmnist", "n_train": None, "n_test": None, "hidden": 200,
                 "window": 300, "epochs": 60, "step": 0.01, "seed": 0},
        "quick": {**_NMNIST_QUICK, "hidden": 200, "window": 300, "epochs": 5,
                  "step": 0.02, "seed": 0},
        "tiny": {"data": "digits-events", "n_train": 400, "n_test": 100,
                 "hidden": 30, "window": 100, "epochs": 1, "step": 0.02, "seed": 0},
    },
    "fig6": {
        "title": "Figure 6: operations of the SNN against an ANN of 30 ms frames",
        "full": {"data": "nmnist", "n_train": None, "n_test": None, "hidden": 200,
                 "window": 300, "epochs": 60, "ann_epochs": 10, "frame": 0.03,
                 "n_frames": 10, "seed": 0},
        "quick": {**_NMNIST_QUICK, "hidden": 200, "window": 300, "epochs": 5,
                  "ann_epochs": 5, "frame": 0.03, "n_frames": 10, "seed": 0},
        "tiny": {"data": "digits-events", "n_train": 400, "n_test": 100,
                 "hidden": 30, "window": 100, "epochs": 1, "ann_epochs": 5,
                 "frame": 0.025, "n_frames": 4, "seed": 0},
    },
}  # fmt: skip

_DATA_NAMES = {
    "pi-mnist": "permutation-invariant MNIST",
    "mnist": "MNIST",
    "nmnist": "N-MNIST",
    "digits": "the built-in 8x8 digits (scikit-learn)",
    "digits-events": "the built-in 8x8 digits as 100 ms Poisson event streams",
}


def target_parameters(target, mode="quick"):
    """The parameters :func:`run_target` uses for ``target`` in ``mode``.

    Parameters
    ----------
    target : str
        A key of :data:`TARGETS`.
    mode : {"full", "quick", "tiny"}, default="quick"
        The paper's protocol, a run of minutes, or one of seconds on the
        built-in digits.

    Returns
    -------
    dict
        A copy, safe to change.

    Examples
    --------
    >>> from spikeclf.reproduce import target_parameters
    >>> target_parameters("table4", "full")["hidden"]
    800
    """
    if target not in TARGETS:
        raise ValueError(
            f"unknown target {target!r}: choose from {', '.join(TARGETS)} or all"
        )
    if mode not in ("full", "quick", "tiny"):
        raise ValueError(f"unknown mode {mode!r}: choose full, quick or tiny")
    return json.loads(json.dumps(TARGETS[target][mode]))


# ---------------------------------------------------------------------------
# Training with checkpoints


def _evaluation_epochs(epochs, eval_every, average_last):
    """Every ``eval_every``-th epoch, every one of the last ``average_last``."""
    stops = set(range(eval_every, epochs + 1, eval_every)) if eval_every else set()
    stops |= set(range(max(1, epochs - average_last + 1), epochs + 1))
    return sorted(stops | {epochs})


def _train(classifier, train, name, *, epochs, eval_epochs, checkpoint_dir,
           fingerprint, progress):  # fmt: skip
    """Train ``classifier`` to ``epochs`` by ``train(classifier, epochs=, save=)``.

    With ``checkpoint_dir``, the model (after every epoch) and the evaluations
    so far are kept there under ``name`` and a hash of ``fingerprint``: a
    second call loads them and trains only the epochs still missing.
    """
    model_path = history_path = None
    history = []
    if checkpoint_dir is not None:
        checkpoint_dir = Path(checkpoint_dir)
        checkpoint_dir.mkdir(parents=True, exist_ok=True)
        key = joblib.hash(
            (fingerprint, classifier.get_params(), epochs, list(eval_epochs))
        )[:10]
        model_path = checkpoint_dir / f"{name}-{key}.joblib"
        history_path = checkpoint_dir / f"{name}-{key}.json"
        if model_path.exists() and history_path.exists():
            classifier = joblib.load(model_path)
            history = json.loads(history_path.read_text())
            logger.info(
                "%s: resuming %s after epoch %d", name, model_path, classifier.n_iter_
            )
    done = getattr(classifier, "n_iter_", 0)
    with tqdm(total=epochs, initial=done, desc=name, unit="epoch",
              disable=_hidden(progress), leave=False) as bar:  # fmt: skip
        for stop in eval_epochs:
            if stop <= getattr(classifier, "n_iter_", 0):
                continue
            before = getattr(classifier, "n_iter_", 0)
            records = train(classifier, epochs=stop, save=model_path)
            history += [{k: float(v) for k, v in r.items()} for r in records]
            for record in records:
                logger.info(
                    "%s: epoch %d, test accuracy %.4f", name, record["epoch"],
                    record["test_accuracy"],
                )  # fmt: skip
            if history_path is not None:
                text = json.dumps(history)
                write_atomically(history_path, lambda f, t=text: f.write(t.encode()))
            bar.update(stop - before)
    return classifier, history


def _hidden(progress):
    """tqdm's ``disable``: None hides the bars unless on a terminal."""
    return None if progress is None else not progress


def _task_fingerprint(task):
    """What identifies a task's data for checkpoint names: its name and labels."""
    return (task.name, np.asarray(task.y_train), np.asarray(task.y_test))


def _train_images(task, classifier, name, *, epochs, eval_epochs, checkpoint_dir,
                  progress, **protocol):  # fmt: skip
    """:func:`spikeclf.experiments.train_on_images`, checkpointed by :func:`_train`."""

    def train(clf, epochs, save):
        return train_on_images(task, clf, epochs=epochs, save=save,
                               log=lambda line: None, **protocol)  # fmt: skip

    return _train(
        classifier, train, name, epochs=epochs, eval_epochs=eval_epochs,
        checkpoint_dir=checkpoint_dir, progress=progress,
        fingerprint=(_task_fingerprint(task), repr(sorted(protocol.items()))),
    )  # fmt: skip


def _train_streams(task, classifier, name, *, epochs, eval_epochs, checkpoint_dir,
                   progress, window=300, random_state=0):  # fmt: skip
    """:func:`spikeclf.experiments.train_on_event_streams`, checkpointed."""

    def train(clf, epochs, save):
        return train_on_event_streams(task, clf, epochs=epochs, save=save,
                                      window=window, random_state=random_state,
                                      log=lambda line: None)  # fmt: skip

    return _train(
        classifier, train, name, epochs=epochs, eval_epochs=eval_epochs,
        checkpoint_dir=checkpoint_dir, progress=progress,
        fingerprint=(_task_fingerprint(task), window, random_state),
    )  # fmt: skip


def _accuracy_summary(history, epochs, average_last):
    """[min, mean, max] test accuracy over the evaluations of the last epochs."""
    last = [h["test_accuracy"] for h in history if h["epoch"] > epochs - average_last]
    last = last or [history[-1]["test_accuracy"]]
    return [float(np.min(last)), float(np.mean(last)), float(np.max(last))]


def _curve(history):
    return {
        "epoch": [int(h["epoch"]) for h in history],
        "test_accuracy": [h["test_accuracy"] for h in history],
    }


# ---------------------------------------------------------------------------
# The targets as functions of a task


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


# ---------------------------------------------------------------------------
# Figures (matplotlib, imported when drawn: it is not a dependency)


def _new_figure(figsize):
    from matplotlib.figure import Figure  # no pyplot: no global state, no backend

    return Figure(figsize=figsize, layout="constrained")


def plot_learning_curves(curves, paper=None, *, title=None):
    """Test accuracy against epochs, one line per network.

    Parameters
    ----------
    curves : dict of str to dict
        Per network name, ``epoch`` and ``test_accuracy`` (fractions) lists.
    paper : dict of str to float, default=None
        Per network name, the paper's accuracy (%) drawn as a dashed line.
    title : str, default=None
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _new_figure((6, 3.6))
    ax = fig.subplots()
    for i, (name, curve) in enumerate(curves.items()):
        color = f"C{i}"
        ax.plot(curve["epoch"], 100 * np.asarray(curve["test_accuracy"]), "o-",
                color=color, label=name)  # fmt: skip
        if paper and name in paper:
            ax.axhline(paper[name], color=color, ls="--", lw=1,
                       label=f"{name}, paper")  # fmt: skip
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", title=title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return fig


def plot_figure2b(result, *, columns=10):
    """The paper's Figure 2B: hidden weights as images, thresholds as red bars.

    Parameters
    ----------
    result : dict
        What :func:`figure2b` returns.
    columns : int, default=10
        Images per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    weights, thresholds = result["weights"], result["thresholds"]
    n = len(weights)
    rows = int(np.ceil(n / columns))
    fig = _new_figure((1.0 * columns, 1.15 * rows + 0.4))
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    limit = np.abs(weights).max()
    top = thresholds.max()
    for ax in axes:
        ax.set_axis_off()
    for ax, w, th in zip(axes, weights, thresholds, strict=False):
        height, width = w.shape
        ax.imshow(w, cmap="gray", vmin=-limit, vmax=limit)
        # The bar's length is the threshold, the longest one as wide as the image.
        bar = 3 * height / 28
        ax.add_patch(_rectangle((-0.5, height + bar / 2), width * th / top, bar))
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_ylim(height + 2 * bar, -0.5)
    fig.suptitle(
        f"{result['network']}: hidden weights (gray, black negative) and thresholds "
        f"(red, longest {top:.3g})",
        fontsize="medium",
    )
    return fig


def _rectangle(xy, width, height):
    from matplotlib.patches import Rectangle

    return Rectangle(xy, width, height, color="red", clip_on=False)


def plot_figure3(result, *, best=None):
    """The paper's Figure 3: test accuracy against hidden lateral inhibition.

    Parameters
    ----------
    result : dict
        What :func:`figure3` returns.
    best : float, default=None
        A strength to mark (the paper's best, -0.4).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _new_figure((5.5, 3.6))
    ax = fig.subplots()
    for n, row in zip(result["hidden_sizes"], result["accuracy"], strict=True):
        ax.plot(result["strengths"], 100 * row, "o-", label=f"784-{n}-10")
    if best is not None:
        ax.axvline(best, color="gray", ls="--", lw=1, label=f"paper's best ({best})")
    ax.set(xlabel="lateral inhibition in the hidden layer",
           ylabel="test accuracy (%)")  # fmt: skip
    ax.invert_xaxis()
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def plot_figure5(result):
    """The paper's Figure 5: input event rate (A), accuracy over time and events (B).

    Parameters
    ----------
    result : dict
        What :func:`figure5` returns.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _new_figure((11, 3.4))
    rate, over_time, over_events = fig.subplots(1, 3)
    rate.plot(1e3 * result["rate_time"], result["rate_per_pixel"])
    rate.set(xlabel="time (ms)", ylabel="events / s / pixel",
             title="A: input event rate")  # fmt: skip
    over_time.plot(1e3 * result["time"], 100 * result["accuracy"], "o-")
    over_time.set(xlabel="time (ms)", ylabel="test accuracy (%)",
                  title="B: accuracy over time")  # fmt: skip
    over_events.semilogx(result["n_events"], 100 * result["accuracy_events"], "o-")
    over_events.set(xlabel="first input events", ylabel="test accuracy (%)",
                    title="accuracy over events")  # fmt: skip
    for ax in (rate, over_time, over_events):
        ax.grid(alpha=0.3)
    return fig


# ---------------------------------------------------------------------------
# Running a target: data, outputs, records


@dataclass
class _Report:
    """What a target writes: tables, a figure, notes on the paper's numbers."""

    table: list  # Markdown rows, the first is the header
    csv: dict  # file suffix ("" for the main one) -> (columns, rows)
    figure: object = None  # callable returning a matplotlib Figure
    notes: list = field(default_factory=list)
    summary: str = ""  # one line for the terminal


@dataclass
class _Context:
    mode: str
    data_home: object
    nmnist_home: object
    checkpoint_dir: Path
    progress: bool
    data: str = ""  # what data the target used, filled in when loaded


def _subset(task, n_train, n_test):
    return replace(
        task, X_train=task.X_train[:n_train], y_train=task.y_train[:n_train],
        X_test=task.X_test[:n_test], y_test=task.y_test[:n_test],
    )  # fmt: skip


def _digits_task():
    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.images, digits.target, test_size=0.25, random_state=0,
        stratify=digits.target,
    )  # fmt: skip
    return ImageTask("digits", X_train, y_train, X_test, y_test, False)


def _image_task(params, ctx):
    """The images of ``params["data"]``; quick mode: the digits if MNIST is missing."""
    name = params["data"]
    if name == "digits":
        task = _digits_task()
    else:
        try:
            X_train, y_train, X_test, y_test = load_mnist(
                ctx.data_home, download=ctx.mode == "full"
            )
            task = ImageTask(name, X_train, y_train, X_test, y_test, name == "pi-mnist")
        except FileNotFoundError as exc:
            if ctx.mode != "quick":
                raise
            logger.warning(
                "MNIST not found in %s (%s): --quick uses the built-in 8x8 digits "
                "instead", find_mnist(ctx.data_home), str(exc).splitlines()[0],
            )  # fmt: skip
            task = _digits_task()
            name = "digits"
    task = _subset(task, params["n_train"], params["n_test"])
    where = "" if name == "digits" else f" from {find_mnist(ctx.data_home)}"
    ctx.data = (
        f"{_DATA_NAMES[name]}{where}: {len(task.y_train)} training, "
        f"{len(task.y_test)} test images"
    )
    return task


def _stream_task(params, ctx):
    """N-MNIST (``n_train``/``n_test`` spread over the digits), or digits events."""
    if params["data"] == "digits-events":
        X, y = load_digits_events(return_X_y=True, duration=0.1, random_state=0)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=0, stratify=y
        )
        task = EventTask("digits-events", X_train, y_train, X_test, y_test, (8, 8, 1))
        task = _subset(task, params["n_train"], params["n_test"])
    else:
        per_digit = [None if n is None else -(-n // 10)
                     for n in (params["n_train"], params["n_test"])]  # fmt: skip
        X_train, y_train = load_nmnist(ctx.nmnist_home, train=True, limit=per_digit[0])
        X_test, y_test = load_nmnist(ctx.nmnist_home, train=False, limit=per_digit[1])
        task = EventTask("nmnist", X_train, y_train, X_test, y_test, NMNIST_SENSOR_SIZE)
    where = ""
    if task.name == "nmnist":
        where = f" from {get_data_home(ctx.nmnist_home) / 'NMNIST'}"
    ctx.data = (
        f"{_DATA_NAMES[task.name]}{where}: {len(task.y_train)} training, "
        f"{len(task.y_test)} test streams"
    )
    return task


def _ops(value):
    """3 significant digits, exponent without + and zeros: 4.56e4."""
    mantissa, _, exponent = f"{value:.2e}".partition("e")
    return f"{mantissa}e{int(exponent)}"


def _pct(fraction):
    return f"{100 * fraction:.2f}"


def _span(values):
    """``[min, mean, max]`` as the paper prints it, or one number."""
    if values[0] == values[2]:
        return f"{values[1]:.2f}"
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


def _run_table2(params, ctx):
    task = _image_task(params, ctx)
    rows = table2(
        task, networks=params["networks"], epochs=params["epochs"],
        eval_every=params["eval_every"], average_last=params["average_last"],
        test_duration=params["test_duration"], random_state=params["seed"],
        checkpoint_dir=ctx.checkpoint_dir, progress=ctx.progress,
    )  # fmt: skip
    papers = [spec.get("accuracy") for spec in params["networks"]]
    table = [["network", "solver", "lateral inhibition", "test accuracy (%)",
              "paper (%)"]]  # fmt: skip
    csv_rows = []
    for row, paper in zip(rows, papers, strict=True):
        kappa = ", ".join(f"{k:g}" for k in row["lateral_inhibition"])
        table.append(
            [
                f"SNN {row['network']}",
                row["solver"],
                kappa,
                _span(row["accuracy"]),
                _span(paper) if paper else "-",
            ]
        )
        csv_rows.append([row["network"], row["solver"], kappa.replace(", ", " "),
                         *row["accuracy"], *(paper or [np.nan] * 3),
                         row["synops_per_sample"], row["train_seconds"]])  # fmt: skip
    for name, units, accuracy in PAPER["table2_others"]:
        table.append([f"{name}, {units}", "", "", "", f"{accuracy:.2f}"])
    curves = {f"{r['network']} {r['solver']}": r["curve"] for r in rows}
    paper_lines = {f"{r['network']} {r['solver']}": p[1]
                   for r, p in zip(rows, papers, strict=True) if p}  # fmt: skip
    best, best_paper = max(
        zip(rows, papers, strict=True), key=lambda pair: pair[0]["accuracy"][1]
    )
    return _Report(
        table=table,
        csv={
            "": (
                [
                    "network",
                    "solver",
                    "lateral_inhibition",
                    "accuracy_min",
                    "accuracy_mean",
                    "accuracy_max",
                    "paper_min",
                    "paper_mean",
                    "paper_max",
                    "synops_per_sample",
                    "train_seconds",
                ],
                csv_rows,
            ),
            "curves": (
                ["network", "epoch", "test_accuracy"],
                [
                    [name, e, a]
                    for name, c in curves.items()
                    for e, a in zip(c["epoch"], c["test_accuracy"], strict=True)
                ],
            ),
        },  # fmt: skip
        figure=lambda: plot_learning_curves(
            curves, paper_lines, title="Table 2 networks: learning curves"
        ),
        notes=[
            f"Accuracy {_accuracy_note(params)}; the paper's are [min, average, max] "
            "over the last 20 of 150 (Table 2's footnote says 181-200) epochs on all "
            "60,000 training and 10,000 test images. The last rows are the other "
            "models of the paper's Table 2."
        ],
        summary=f"best {best['network']} {best['solver']} {best['accuracy'][1]:.2f} %"
        + (f" (paper {best_paper[1]:.2f} %)" if best_paper else ""),
    )


def _accuracy_note(params):
    last = params.get("average_last", 1)
    if last > 1:
        return (
            f"as [min, mean, max] over the evaluations of the last {last} of "
            f"{params['epochs']} epochs"
        )
    return f"after {_epochs(params['epochs'])}"


def _epochs(n):
    return f"{n} epoch" + ("" if n == 1 else "s")


def _run_fig2b(params, ctx):
    task = _image_task(params, ctx)
    result = figure2b(
        task, hidden=params["hidden"], epochs=params["epochs"],
        test_duration=params["test_duration"], random_state=params["seed"],
        checkpoint_dir=ctx.checkpoint_dir, progress=ctx.progress,
    )  # fmt: skip
    th, w = result["thresholds"], result["weights"].reshape(len(result["weights"]), -1)
    strongest = np.abs(w).max(axis=1)
    table = [
        ["network", "test accuracy (%)", "initial threshold",
         "thresholds min / median / max", "largest weight a neuron, median"],
        [result["network"], _pct(result["test_accuracy"]),
         f"{result['initial_threshold']:.3g}",
         f"{th.min():.3g} / {np.median(th):.3g} / {th.max():.3g}",
         f"{np.median(strongest):.3g}"],
    ]  # fmt: skip
    csv_rows = [[i, th[i], w[i].min(), w[i].max(), np.abs(w[i]).mean()]
                for i in range(len(th))]  # fmt: skip
    return _Report(
        table=table,
        csv={
            "": (
                ["neuron", "threshold", "weight_min", "weight_max", "weight_mean_abs"],
                csv_rows,
            )
        },  # fmt: skip
        figure=lambda: plot_figure2b(result),
        notes=[
            "The paper's Figure 2B shows the same kind of picture for 784-100-10 with "
            "winner-take-all (no numbers): localized, stroke-like weights, the "
            "sparse representation the lateral inhibition leads to. Pixels are "
            "shown in their place (the permutation undone)."
        ],
        summary=f"{result['network']} {_pct(result['test_accuracy'])} %",
    )


def _run_fig3(params, ctx):
    task = _image_task(params, ctx)
    result = figure3(
        task, hidden_sizes=params["hidden_sizes"], strengths=params["strengths"],
        epochs=params["epochs"], test_duration=params["test_duration"],
        random_state=params["seed"], checkpoint_dir=ctx.checkpoint_dir,
        progress=ctx.progress,
    )  # fmt: skip
    paper_best = PAPER["figure3_best_lateral_inhibition"]
    strengths, accuracy = result["strengths"], result["accuracy"]
    table = [["hidden N", *(f"kappa {k:g}" for k in strengths), "best kappa",
              "paper's best"]]  # fmt: skip
    for n, row in zip(result["hidden_sizes"], accuracy, strict=True):
        best = strengths[int(np.argmax(row))]
        table.append([str(n), *(_pct(a) for a in row), f"{best:g}", f"{paper_best:g}"])
    best_all = [strengths[int(np.argmax(row))] for row in accuracy]
    return _Report(
        table=table,
        csv={
            "": (
                ["hidden", "lateral_inhibition", "test_accuracy"],
                [
                    [n, k, accuracy[i, j]]
                    for i, n in enumerate(result["hidden_sizes"])
                    for j, k in enumerate(strengths)
                ],
            )
        },  # fmt: skip
        figure=lambda: plot_figure3(result, best=paper_best),
        notes=[
            f"Test accuracy (%) of 784-N-10 after {_epochs(params['epochs'])}, "
            "one seed (the same initial weights for every kappa); output layer "
            "-1.0. The paper found -0.4 best for every N, averaging epochs 131-150."
        ],
        summary="best kappa "
        + ", ".join(
            f"{k:g} (N={n})"
            for n, k in zip(result["hidden_sizes"], best_all, strict=True)
        )
        + f" (paper {paper_best:g})",  # fmt: skip
    )


def _run_table3(params, ctx):
    task = _image_task(params, ctx)
    row = table3(
        task, layers=params["layers"], elastic=params["elastic"],
        output_loss=params["output_loss"], epochs=params["epochs"],
        eval_every=params["eval_every"], average_last=params["average_last"],
        test_duration=params["test_duration"], random_state=params["seed"],
        checkpoint_dir=ctx.checkpoint_dir, progress=ctx.progress,
    )  # fmt: skip
    prep = "elastic distortion" if params["elastic"] else "none"
    table = [["network", "preprocessing", "ensemble", "test accuracy (%)",
              "paper (%)"],
             [f"spiking CNN {row['network']} (this package)", prep, "1",
              _span(row["accuracy"]), f"{PAPER['table3']:.2f}"]]  # fmt: skip
    for name, paper_prep, ensemble, accuracy in PAPER["table3_others"]:
        table.append([name, paper_prep, str(ensemble), "", f"{accuracy:.2f}"])
    name = f"{row['network']}"
    return _Report(
        table=table,
        csv={
            "": (
                [
                    "network",
                    "preprocessing",
                    "accuracy_min",
                    "accuracy_mean",
                    "accuracy_max",
                    "paper",
                    "synops_per_sample",
                    "train_seconds",
                ],
                [
                    [
                        row["network"],
                        prep,
                        *row["accuracy"],
                        PAPER["table3"],
                        row["synops_per_sample"],
                        row["train_seconds"],
                    ]
                ],
            ),
            "curve": _curve_csv(row["curve"]),
        },  # fmt: skip
        figure=lambda: plot_learning_curves(
            {name: row["curve"]},
            {name: PAPER["table3"]},
            title="Table 3: spiking CNN, learning curve",
        ),
        notes=[
            f"Accuracy {_accuracy_note(params)}, Adam, {params['output_loss']} "
            f"output loss, {params['test_duration']:g} s test presentations. The "
            "paper's 99.31 % is after training on the 50,000 training images; the "
            "other rows are the paper's Table 3."
        ],
        summary=f"{row['network']} {row['accuracy'][1]:.2f} % "
        f"(paper {PAPER['table3']:.2f} %)",
    )


def _run_table4(params, ctx):
    task = _stream_task(params, ctx)
    row = table4(
        task, hidden=params["hidden"], window=params["window"],
        epochs=params["epochs"], eval_every=params["eval_every"],
        average_last=params["average_last"], random_state=params["seed"],
        checkpoint_dir=ctx.checkpoint_dir, progress=ctx.progress,
    )  # fmt: skip
    paper = PAPER["table4"]
    table = [["network", "units in hidden layers", "centering", "test accuracy (%)",
              "paper (%)"],
             [f"SNN {row['network']} (this package)", str(params["hidden"]), "no",
              _span(row["accuracy"]), _span(paper)]]  # fmt: skip
    for name, units, centering, accuracy in PAPER["table4_others"]:
        table.append([name, units, centering, "", f"{accuracy:.2f}"])
    return _Report(
        table=table,
        csv={
            "": (
                [
                    "network",
                    "accuracy_min",
                    "accuracy_mean",
                    "accuracy_max",
                    "paper_min",
                    "paper_mean",
                    "paper_max",
                    "synops_per_sample",
                    "train_seconds",
                ],
                [
                    [
                        row["network"],
                        *row["accuracy"],
                        *paper,
                        row["synops_per_sample"],
                        row["train_seconds"],
                    ]
                ],
            ),
            "curve": _curve_csv(row["curve"]),
        },  # fmt: skip
        figure=lambda: plot_learning_curves(
            {row["network"]: row["curve"]},
            {row["network"]: paper[1]},
            title="Table 4: N-MNIST, learning curve",
        ),
        notes=[
            f"Accuracy {_accuracy_note(params)} on {params['window']}-event training "
            "windows, whole test streams, tau 200 ms. The paper's is on the real "
            "N-MNIST recordings, [min, average, max] over epochs 181-200; the other "
            "rows are the paper's Table 4."
        ],
        summary=f"{row['network']} {row['accuracy'][1]:.2f} % (paper {paper[1]:.2f} %)",
    )


def _nmnist_snn(task, params, ctx):
    """The (34x34x2)-200-10 of Figures 5 and 6: trained once, shared by both."""
    clf, _ = _train_streams(
        task, _stream_classifier(task, params["hidden"], params["seed"]),
        f"snn-{params['hidden']}", epochs=params["epochs"],
        eval_epochs=[params["epochs"]], checkpoint_dir=ctx.checkpoint_dir,
        progress=ctx.progress, window=params["window"], random_state=params["seed"],
    )  # fmt: skip
    return clf


def _stream_length(task):
    return max(s["t"][-1] for s in task.X_test if len(s)) * 1e-6


def _run_fig5(params, ctx):
    task = _stream_task(params, ctx)
    clf = _nmnist_snn(task, params, ctx)
    step = params["step"]
    times = step * np.arange(1, int(np.ceil(_stream_length(task) / step - 1e-9)) + 1)
    result = figure5(clf, task.X_test, task.y_test, times=times,
                     progress=ctx.progress)  # fmt: skip
    # Error at the end of each third of the stream: N-MNIST's three saccades.
    thirds = [times[int(np.ceil(k * len(times) / 3)) - 1] for k in (1, 2, 3)]
    error = [100 * (1 - result["accuracy"][np.flatnonzero(times == t)[0]])
             for t in thirds]  # fmt: skip
    table = [["time (ms)", *(f"{1e3 * t:.0f}" for t in times)],
             ["mean input events so far", *(f"{e:.0f}" for e in result["events"])],
             ["test accuracy (%)", *(_pct(a) for a in result["accuracy"])]]  # fmt: skip
    ratios = [b / a if a else np.nan for a, b in zip(error, error[1:], strict=False)]
    return _Report(
        table=table,
        csv={
            "": (
                ["time", "events", "test_accuracy"],
                list(
                    zip(
                        result["time"],
                        result["events"],
                        result["accuracy"],
                        strict=True,
                    )
                ),
            ),
            "rate": (
                ["time", "events_per_second", "events_per_second_per_pixel"],
                list(
                    zip(
                        result["rate_time"],
                        result["rate"],
                        result["rate_per_pixel"],
                        strict=True,
                    )
                ),
            ),
            "events": (
                ["n_events", "test_accuracy"],
                list(zip(result["n_events"], result["accuracy_events"], strict=True)),
            ),
        },  # fmt: skip
        figure=lambda: plot_figure5(result),
        notes=[
            f"(34x34x2)-{params['hidden']}-10 as in the paper's Figure 5, "
            f"{_epochs(params['epochs'])}. Error at the end of each third of the "
            "streams (the three saccades): "
            + ", ".join(f"{e:.2f} %" for e in error)
            + " (each "
            + ", ".join(f"{r:.2f}" for r in ratios)
            + " times the one before); the paper: each saccade about halves it."
        ],
        summary=f"error after each saccade {', '.join(f'{e:.1f}' for e in error)} % "
        "(paper: halved by each)",
    )


def _run_fig6(params, ctx):
    task = _stream_task(params, ctx)
    snn = _nmnist_snn(task, params, ctx)
    ann = FrameANNClassifier(
        (params["hidden"],), frame_duration=params["frame"],
        n_frames=params["n_frames"], max_iter=params["ann_epochs"],
        sensor_size=task.sensor_size, random_state=params["seed"],
    ).fit(task.X_train, task.y_train)  # fmt: skip
    result = cost_comparison(snn, ann, task.X_test, task.y_test)
    target = min(result["snn_accuracy"].max(), result["ann_accuracy"].max())
    snn_ops = operations_to_reach(
        result["snn_accuracy"], result["snn_operations"], target
    )
    ann_ops = operations_to_reach(
        result["ann_accuracy"], result["ann_operations"], target, interpolate=False
    )
    names = list(result)
    table = [["time (ms)", *(f"{1e3 * t:.0f}" for t in result["time"])],
             ["SNN accuracy (%)", *(_pct(a) for a in result["snn_accuracy"])],
             ["SNN synaptic operations",
              *(_ops(o) for o in result["snn_operations"])],
             ["ANN, frames summed (%)", *(_pct(a) for a in result["ann_accuracy"])],
             ["ANN, that frame alone (%)",
              *(_pct(a) for a in result["ann_frame_accuracy"])],
             ["ANN MACs", *(_ops(o) for o in result["ann_operations"])]]  # fmt: skip
    ratio = ann_ops / snn_ops
    return _Report(
        table=table,
        csv={"": (names, list(zip(*(result[n] for n in names), strict=True)))},
        figure=lambda: plot_cost_comparison(result),
        notes=[
            f"To reach {_pct(target)} %, the ANN needs {_ops(ann_ops)} MACs, the SNN "
            f"{_ops(snn_ops)} synaptic operations a sample: {ratio:.2f} times the "
            f"SNN's (paper: about {PAPER['figure6_ann_to_snn_operations']:g} times; "
            f"its ANN {PAPER['figure6_ann_one_frame']:g} % on one frame, "
            f"{PAPER['figure6_ann_ten_frames']:g} % on ten). Both networks "
            f"({task.sensor_size[0]}x{task.sensor_size[1]}x{task.sensor_size[2]})-"
            f"{params['hidden']}-10; the ANN trained "
            f"{_epochs(params['ann_epochs'])} on "
            f"{1e3 * params['frame']:g} ms frames."
        ],
        summary=f"ANN/SNN operations {ratio:.2f} (paper 4.8)",
    )


_RUNNERS = {
    "table2": _run_table2,
    "fig2b": _run_fig2b,
    "fig3": _run_fig3,
    "table3": _run_table3,
    "table4": _run_table4,
    "fig5": _run_fig5,
    "fig6": _run_fig6,
}


def _versions():
    versions = {
        "spikeclf": __version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "scipy": scipy.__version__,
    }
    for package in ("tonic", "matplotlib", "tqdm"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    versions["python"] = platform.python_version()
    versions["platform"] = platform.platform()
    return versions


def _write_text(path, text):
    write_atomically(path, lambda f: f.write(text.encode("utf-8")))


def _format_cell(value):
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{float(value):.6g}"
    return str(value)


def _csv_text(columns, rows):
    lines = [",".join(columns)]
    lines += [",".join(_format_cell(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def markdown_table(rows):
    """A Markdown table from rows of strings, the first being the header.

    Parameters
    ----------
    rows : list of list of str

    Returns
    -------
    str

    Examples
    --------
    >>> from spikeclf.reproduce import markdown_table
    >>> print(markdown_table([["a", "b"], ["1", "2"]]))
    | a | b |
    | --- | --- |
    | 1 | 2 |
    """
    lines = ["| " + " | ".join(rows[0]) + " |",
             "| " + " | ".join("---" for _ in rows[0]) + " |"]  # fmt: skip
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def _read_record(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def run_target(target, output, *, mode="quick", data_home=None, nmnist_home=None,
               force=False, progress=False, command=None):  # fmt: skip
    """Run one target and write its results into ``output/target/``.

    Writes ``TARGET.csv`` (and ``TARGET_<part>.csv`` for curves), ``TARGET.md``
    (the table and notes), ``TARGET.png`` and ``TARGET.svg`` (when matplotlib
    is installed) and, last, ``TARGET.json``: the target, mode, parameters,
    command, date, seconds taken, the data used and the versions. Every file
    is written atomically. A target whose JSON holds the same mode and
    parameters is skipped unless ``force``; models are checkpointed after
    every epoch in ``output/models/``, so an interrupted run resumes there.

    Parameters
    ----------
    target : str
        A key of :data:`TARGETS`.
    output : str or path-like
        Output folder.
    mode : {"quick", "full", "tiny"}, default="quick"
        Which parameters of :data:`TARGETS`.
    data_home : str or path-like, default=None
        Folder holding ``mnist/`` (see :func:`spikeclf.datasets.get_data_home`).
    nmnist_home : str or path-like, default=None
        Folder holding ``NMNIST/``; None means ``data_home``.
    force : bool, default=False
        Run even what is finished, retraining its networks (those trained
        earlier in this process, as fig5's for fig6, are kept).
    progress : bool or None, default=False
        Progress bars; None shows them on a terminal.
    command : str, default=None
        The command line, recorded in the JSON.

    Returns
    -------
    dict
        The JSON record, with ``"skipped": True`` when the target had finished.
    """
    params = target_parameters(target, mode)
    folder = Path(output) / target
    record_path = folder / f"{target}.json"
    record = _read_record(record_path)
    if (not force and record is not None and record.get("mode") == mode
            and record.get("parameters") == params):  # fmt: skip
        logger.info("%s: skipped, finished in %s (--force reruns it)", target, folder)
        return {**record, "skipped": True}
    checkpoints = Path(output) / "models"
    if force and checkpoints.exists():
        # --force retrains: drop this target's checkpoints, keep the others'.
        stale = "snn" if target in ("fig5", "fig6") else target
        for path in checkpoints.glob(f"{stale}-*"):
            # What this process trained (fig5's network, for fig6) is fresh.
            if path.stat().st_mtime < _STARTED:
                path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    ctx = _Context(mode, data_home, data_home if nmnist_home is None else nmnist_home,
                   checkpoints, progress)  # fmt: skip
    logger.info("%s: started (%s mode), parameters %s", target, mode, params)
    start = time.perf_counter()
    report = _RUNNERS[target](params, ctx)
    files = []
    for suffix, (columns, rows) in report.csv.items():
        name = f"{target}_{suffix}.csv" if suffix else f"{target}.csv"
        _write_text(folder / name, _csv_text(columns, rows))
        files.append(name)
    text = markdown_table(report.table) + "\n\n" + "\n\n".join(report.notes) + "\n"
    _write_text(folder / f"{target}.md", text)
    files.append(f"{target}.md")
    files += _write_figure(report.figure, folder / target)
    record = {
        "target": target,
        "title": TARGETS[target]["title"],
        "mode": mode,
        "parameters": params,
        "data": ctx.data,
        "command": command,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - start, 1),
        "summary": report.summary,
        "files": files,
        "versions": _versions(),
    }
    _write_text(record_path, json.dumps(record, indent=2) + "\n")
    logger.info("%s: finished in %.0f s: %s", target, record["seconds"],
                report.summary)  # fmt: skip
    return {**record, "skipped": False}


def _write_figure(make, stem):
    """``stem.png`` and ``stem.svg`` from ``make()``; nothing without matplotlib."""
    if make is None:
        return []
    try:
        fig = make()
    except ImportError:
        logger.warning("matplotlib is not installed: no figure for %s", stem.name)
        return []
    written = []
    for fmt in ("png", "svg"):
        path = stem.with_suffix(f".{fmt}")
        write_atomically(path, lambda f, fmt=fmt: fig.savefig(f, format=fmt, dpi=120))
        written.append(path.name)
    if hasattr(fig, "number"):  # a pyplot figure (plot_cost_comparison): free it
        import matplotlib.pyplot as plt

        plt.close(fig)
    return written


# ---------------------------------------------------------------------------
# The results page


def _full_command(target):
    return f"spikeclf reproduce {target} --output results-full --data-home DIR" + (
        " --nmnist-home DIR" if TARGETS[target]["full"]["data"] == "nmnist" else ""
    )


def _describe(params):
    shown = {k: v for k, v in params.items() if k not in ("networks", "data")}
    return ", ".join(f"{k} {v if v is not None else 'all'}" for k, v in shown.items())


def write_results_page(output, path, *, command=None):
    """Collect the finished targets of ``output`` into one Markdown page.

    Each target's section holds its table and notes (``TARGET.md``), the
    command and date that made it, the seconds it took and its figure, copied
    as ``img/reproduce_TARGET.png`` beside ``path``.

    Parameters
    ----------
    output : str or path-like
        The output folder of :func:`run_target`.
    path : str or path-like
        The page to write (for example ``docs/results.md``).
    command : str, default=None
        The command that wrote the page, named at its top.

    Returns
    -------
    list of str
        The targets on the page.
    """
    output, path = Path(output), Path(path)
    records = [r for r in (_read_record(output / t / f"{t}.json") for t in TARGETS)
               if r is not None]  # fmt: skip
    if not records:
        raise FileNotFoundError(
            f"no finished target in {output}: run `spikeclf reproduce TARGET --output "
            f"{output}` first"
        )
    images = path.parent / "img"
    modes = sorted({r["mode"] for r in records})
    lines = [
        "# Results: the paper's tables and figures, measured",
        "",
        "Generated by `spikeclf reproduce`"
        + (f" (`{command}`)" if command else "")
        + f" from {output}; do not edit by hand: rerun the command.",
        "",
    ]
    if "full" not in modes:
        lines += [
            f"**These are the `--{modes[0]}` runs**: a few thousand training "
            "samples, a few epochs, short test sets, on a shared machine; they "
            "show that every table and figure is made end to end, not the paper's "
            "converged numbers, which need the full runs (hours to days on one "
            "core each):",
            "",
            "```bash",
            *(_full_command(t) for t in TARGETS),
            "```",
            "",
            "or `spikeclf reproduce all --output results-full --data-home DIR "
            "--nmnist-home DIR` for all of them; a "
            "rerun continues an interrupted one at its last epoch. The full runs' "
            "parameters:",
            "",
            *(f"- {t}: {_describe(TARGETS[t]['full'])}" for t in TARGETS),
            "",
        ]
    lines += [
        "N-MNIST targets read what `--nmnist-home` holds: the real recordings, or "
        "the emulation `spikeclf make-nmnist` writes (see the N-MNIST page); the "
        "paper's numbers are on the real recordings.",
        "",
        markdown_table(
            [["target", "of the paper", "result", "mode", "seconds"]]
            + [
                [
                    r["target"],
                    r["title"].split(":")[0],
                    r["summary"],
                    r["mode"],
                    f"{r['seconds']:.0f}",
                ]
                for r in records
            ]
        ),  # fmt: skip
        "",
    ]
    for record in records:
        target = record["target"]
        folder = output / target
        lines += [
            f"## {record['title']}",
            "",
            f"Made by `{record['command'] or 'run_target'}` ({record['mode']} mode) on "
            f"{record['date'][:10]} in {record['seconds']:.0f} s; {record['data']}; "
            f"{_describe(record['parameters'])}.",
            "",
            (folder / f"{target}.md").read_text(encoding="utf-8").strip(),
            "",
        ]
        png = folder / f"{target}.png"
        if png.exists():
            images.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(png, images / f"reproduce_{target}.png")
            lines += [f"![{record['title']}](img/reproduce_{target}.png)", ""]
    versions = records[-1]["versions"]
    lines += [
        "## Versions",
        "",
        ", ".join(f"{k} {v}" for k, v in versions.items() if v is not None) + ".",
        "",
    ]
    _write_text(path, "\n".join(lines))
    return [r["target"] for r in records]
