"""The paper's training protocols, shared by the command line and the examples.

Static images are encoded into fresh Poisson events for every training epoch
(short presentations) and once for testing (long presentations), as in
section 3.1 of Lee, Delbruck and Pfeiffer (2016).
"""

import copy
import time
from dataclasses import dataclass

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from ._mlp import SpikingMLPClassifier
from ._persistence import dump_atomically
from .datasets import load_mnist
from .encoders import PoissonEncoder

__all__ = ["ImageTask", "load_task", "train_on_images"]


@dataclass
class ImageTask:
    """Images and labels of a classification task, split into train and test."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    permute_pixels: bool


def load_task(name, data_home=None):
    """``"digits"`` (built in: sklearn's 8x8 digits, 75/25 split) or ``"pi-mnist"``."""
    if name == "digits":
        digits = load_digits()
        X_train, X_test, y_train, y_test = train_test_split(
            digits.images,
            digits.target,
            test_size=0.25,
            random_state=0,
            stratify=digits.target,
        )
        return ImageTask(name, X_train, y_train, X_test, y_test, False)
    if name in ("pi-mnist", "mnist"):
        X_train, y_train, X_test, y_test = load_mnist(data_home)
        return ImageTask(name, X_train, y_train, X_test, y_test, name == "pi-mnist")
    raise ValueError(f"unknown data set {name!r}: choose digits, mnist or pi-mnist")


def train_on_images(
    task,
    classifier,
    *,
    epochs,
    train_duration=0.05,
    test_duration=1.0,
    rate=5000.0,
    eval_every=0,
    random_state=0,
    save=None,
    log=print,
):
    """Train ``classifier`` epoch by epoch on fresh Poisson events of ``task``.

    Every epoch draws new events (``train_duration`` seconds per image) from a
    seed of its own, ``(random_state, epoch)``; the test set is encoded once
    (``test_duration`` seconds) and scored every ``eval_every`` epochs and
    after the last. ``save``, a path, receives the classifier (written
    atomically) after every epoch. A classifier that has ``n_iter_`` epochs
    already (loaded from ``save``) continues at epoch ``n_iter_ + 1``, exactly
    as the uninterrupted run would have.

    Returns
    -------
    history : list of dict
        One record per evaluation: epoch, test accuracy, synaptic operations per
        test sample, seconds of training in this call.
    """
    encoder = PoissonEncoder(
        rate=rate,
        duration=train_duration,
        permute_pixels=task.permute_pixels,
        random_state=random_state,
    ).fit(task.X_train)
    test_encoder = copy.deepcopy(encoder).set_params(
        duration=test_duration, random_state=np.random.RandomState([random_state, 0])
    )
    X_test = test_encoder.transform(task.X_test)
    classes = np.unique(task.y_train)
    history, trained = [], 0.0
    for epoch in range(getattr(classifier, "n_iter_", 0) + 1, epochs + 1):
        encoder.random_state = np.random.RandomState([random_state, epoch])
        start = time.perf_counter()
        classifier.partial_fit(encoder.transform(task.X_train), task.y_train, classes)
        trained += time.perf_counter() - start
        if save:
            dump_atomically(classifier, save)
        if epoch == epochs or (eval_every and epoch % eval_every == 0):
            score = classifier.score(X_test, task.y_test)
            history.append(
                {
                    "epoch": epoch,
                    "test_accuracy": score,
                    "synops_per_sample": classifier.synops_per_sample_,
                    "train_seconds": trained,
                }
            )
            log(
                f"epoch {epoch}: test accuracy {score:.4f} ({test_duration:g} s "
                f"presentations), {classifier.synops_per_sample_:.3g} synaptic "
                "operations "
                f"per test sample, {trained:.0f} s of training"
            )
    return history


def default_classifier(task_name, hidden, solver, random_state, verbose, **params):
    """The classifier the CLI trains: the paper's defaults, sized for the task."""
    hidden = tuple(hidden) if hidden else ((100,) if task_name == "digits" else (800,))
    return SpikingMLPClassifier(
        hidden_layer_sizes=hidden,
        solver=solver,
        random_state=random_state,
        verbose=verbose,
        **params,
    )
