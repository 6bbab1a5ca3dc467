"""The fitted networks of the results table, shipped with the package.

``load_pretrained(name)`` returns a fitted estimator that takes what the data
set's loader gives: MNIST images (``spikeclf.load_mnist``) for the image
networks, as a :class:`~sklearn.pipeline.Pipeline` of the
:class:`~spikeclf.PoissonEncoder` the network was trained with (its pixel
permutation, the paper's 1 s test presentations) and the classifier; event
streams (``spikeclf.datasets.load_nmnist``) for the N-MNIST network.

A shipped file holds what predicting needs and nothing of the optimizer (no
Adam moments, no running mean: the mean of an averaged run *is* the network),
in the skops format, which loads without unpickling arbitrary code. Weights
are stored in float32 when the predictions on the whole test set do not change
(:func:`package_pretrained` checks it) and come back as float64, so the model
trains on (``partial_fit``) like any other.
"""

import copy
import os
import zipfile
from dataclasses import dataclass
from importlib import resources

import numpy as np
from sklearn.pipeline import Pipeline

from ._network import prediction_copy
from ._persistence import SKOPS_TRUSTED_TYPES, write_atomically
from .encoders import PoissonEncoder
from .experiments import ImageTask

__all__ = [
    "PRETRAINED",
    "PretrainedModel",
    "inference_model",
    "load_pretrained",
    "package_pretrained",
    "pretrained_model",
    "read_pretrained",
]


@dataclass(frozen=True)
class PretrainedModel:
    """One shipped network: its file, the task it was trained on, how it was made.

    Parameters
    ----------
    name : str
        The name :func:`load_pretrained` takes.
    file : str
        The file in ``spikeclf/models``.
    task : str
        The data set, as :func:`spikeclf.experiments.load_task` takes it.
    seed : int
        The ``--seed`` of the training run (the pixel permutation of
        permutation-invariant MNIST comes from it).
    summary : str
        One line on the network and how it was trained.
    commands : tuple of str
        The commands that train the model and turn it into the shipped file.
    """

    name: str
    file: str
    task: str
    seed: int
    summary: str
    commands: tuple


#: The shipped networks by name.
PRETRAINED = {
    model.name: model
    for model in (
        PretrainedModel(
            name="pi-mnist-800",
            file="pi-mnist-800.skops",
            task="pi-mnist",
            seed=1,
            summary="784-800-10 on permutation-invariant MNIST: cross-entropy output "
            "loss, SGD 0.001, 150 epochs, then 20 epochs of parameter averaging on "
            "100 ms presentations (docs/training.md)",
            commands=(
                "spikeclf train --dataset pi-mnist --data-home DIR --hidden 800 "
                "--epochs 150 --eval-every 10 --output-loss cross_entropy "
                "--learning-rate 0.001 --seed 1 --output ce-800.joblib -v",
                "spikeclf train --dataset pi-mnist --data-home DIR --hidden 800 "
                "--epochs 170 --eval-every 2 --output-loss cross_entropy "
                "--learning-rate 0.001 --seed 1 --output ce-800.joblib --resume "
                "--average 150 --average-learning-rate 2e-4 --train-duration 0.1 -v",
                "spikeclf package-model pi-mnist-800 --model ce-800.joblib "
                "--data-home DIR --output spikeclf/models/pi-mnist-800.skops",
            ),
        ),
        PretrainedModel(
            name="nmnist-800",
            file="nmnist-800.skops",
            task="nmnist",
            seed=0,
            summary="(34x34x2)-800-10 on emulated N-MNIST: 96 epochs of the paper's "
            "method, then 40 epochs of parameter averaging on windows of 1,000 "
            "events (docs/nmnist.md)",
            commands=(
                "spikeclf make-nmnist --mnist-home DIR",
                "spikeclf train --dataset nmnist --data-home DIR --hidden 800 "
                "--epochs 96 --eval-every 5 --output nmnist_800.joblib -v",
                "spikeclf train --dataset nmnist --data-home DIR --hidden 800 "
                "--epochs 136 --eval-every 4 --output nmnist_800.joblib --resume "
                "--average 96 --average-learning-rate 2e-4 --window 1000 -v",
                "spikeclf package-model nmnist-800 --model nmnist_800.joblib "
                "--data-home DIR --output spikeclf/models/nmnist-800.skops",
            ),
        ),
        PretrainedModel(
            name="mnist-cnn",
            file="mnist-cnn.skops",
            task="mnist",
            seed=0,
            summary="the spiking CNN 28x28-20c5-p2-50c5-p2-200-10 on MNIST "
            "(docs/cnn.md; in training)",
            commands=(),
        ),
    )
}

#: Every type a shipped file holds beyond what skops trusts by itself.
PRETRAINED_TRUSTED_TYPES = [
    *SKOPS_TRUSTED_TYPES,
    "spikeclf.encoders.PoissonEncoder",
]


def pretrained_model(name):
    """The :class:`PretrainedModel` of ``name``.

    Parameters
    ----------
    name : str
        One of :data:`PRETRAINED`'s names; any other is a ValueError that lists
        them.

    Returns
    -------
    PretrainedModel
    """
    try:
        return PRETRAINED[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"no pretrained model {name!r}: the names are {', '.join(PRETRAINED)}"
        ) from None


def load_pretrained(name):
    """A fitted network of the results table.

    Parameters
    ----------
    name : {"pi-mnist-800", "nmnist-800", "mnist-cnn"}
        ``"pi-mnist-800"``: the best 784-800-10 on permutation-invariant MNIST,
        a Pipeline that takes MNIST images as :func:`spikeclf.load_mnist` gives
        them. ``"nmnist-800"``: the (34x34x2)-800-10 trained on emulated
        N-MNIST, a classifier of event streams as
        :func:`spikeclf.datasets.load_nmnist` gives them. ``"mnist-cnn"``: the
        spiking CNN, once its training run has made it.

    Returns
    -------
    estimator : Pipeline or SpikingMLPClassifier
        Fitted; ``score(X_test, y_test)`` on the loader's test set gives the
        number of the results table.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the names).
    FileNotFoundError
        When this installation does not hold the model's file.

    Examples
    --------
    >>> import spikeclf
    >>> spikeclf.load_pretrained("no-such-model")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: no pretrained model 'no-such-model': the names are pi-mnist-800, ...

    With MNIST in a folder (or downloaded by ``load_mnist``)::

        X_train, y_train, X_test, y_test = spikeclf.load_mnist()
        spikeclf.load_pretrained("pi-mnist-800").score(X_test, y_test)
    """
    model = pretrained_model(name)
    path = resources.files(__package__) / "models" / model.file
    if not path.is_file():
        made_by = "; ".join(model.commands) or "its training run (docs/cnn.md)"
        raise FileNotFoundError(
            f"pretrained model {name!r} ({model.file}) is not in this installation "
            f"of spikeclf; it is made by: {made_by}"
        )
    with resources.as_file(path) as file:
        return read_pretrained(file)


def read_pretrained(path):
    """A model written by :func:`package_pretrained`, with float64 parameters.

    Parameters
    ----------
    path : str or path-like
        The ``.skops`` file.

    Returns
    -------
    estimator : Pipeline or fitted classifier
    """
    import skops.io

    estimator = skops.io.load(path, trusted=PRETRAINED_TRUSTED_TYPES)
    return _with_parameters_as(estimator, np.float64)


def package_pretrained(classifier, task, path, *, random_state=0, log=print):
    """Write ``classifier`` as a shipped model of ``task``; return its report.

    The model predicts with ``classifier``'s prediction network (the running
    mean of its parameters, if it has one), without the optimizer's state;
    image tasks get the encoder of training (``random_state`` its seed, 1 s
    test presentations) in front. Parameters are stored in float32 if that
    changes no prediction on ``task``'s whole test set, else in float64.

    Parameters
    ----------
    classifier : fitted SpikingMLPClassifier or SpikingCNNClassifier
    task : ImageTask or EventTask
        As :func:`spikeclf.experiments.load_task` gives it.
    path : str or path-like
        The ``.skops`` file to write.
    random_state : int, default=0
        The ``--seed`` of the training run.
    log : callable, default=print
        Called with a line of progress.

    Returns
    -------
    dict
        ``accuracy`` (float64), ``accuracy_stored``, ``changed`` (test
        predictions that float32 changes), ``dtype``, ``bytes``.
    """
    model = inference_model(classifier, task, random_state=random_state)
    float32 = _with_parameters_as(model, np.float32)
    log(f"scoring {len(task.y_test)} test samples in float64 and in float32")
    predicted = model.predict(task.X_test)
    predicted32 = _with_parameters_as(float32, np.float64).predict(task.X_test)
    changed = int(np.count_nonzero(predicted != predicted32))
    stored, dtype = (float32, "float32") if changed == 0 else (model, "float64")
    _write_skops(stored, path)
    return {
        "accuracy": float(np.mean(predicted == task.y_test)),
        "accuracy_stored": float(
            np.mean((predicted if changed else predicted32) == task.y_test)
        ),
        "changed": changed,
        "dtype": dtype,
        "bytes": os.path.getsize(path),
    }


def inference_model(classifier, task, *, random_state=0):
    """``classifier`` for prediction only, behind its encoder for image tasks.

    Parameters
    ----------
    classifier : fitted SpikingMLPClassifier or SpikingCNNClassifier
        Not changed: the model is a copy.
    task : ImageTask or EventTask
        The training images fit the encoder (and its pixel permutation);
        an event task gets no encoder.
    random_state : int, default=0
        The ``--seed`` of the training run.

    Returns
    -------
    Pipeline or classifier
        Its network is the prediction network (the parameter mean, if any),
        without optimizer state.
    """
    classifier = copy.deepcopy(classifier)
    classifier.network_ = prediction_copy(classifier._prediction_network)
    classifier._drop_mean()
    classifier.set_params(verbose=0, n_jobs=None)
    if not isinstance(task, ImageTask):
        return classifier
    encoder = PoissonEncoder(
        permute_pixels=task.permute_pixels, random_state=random_state
    ).fit(task.X_train)
    return Pipeline([("encoder", encoder), ("classifier", classifier)])


def _with_parameters_as(model, dtype):
    """A copy of ``model`` whose network parameters are of ``dtype``."""
    model = copy.deepcopy(model)
    classifier = model[-1] if isinstance(model, Pipeline) else model
    network = classifier.network_
    for name in ("weights", "thresholds", "th_min", "kernels", "spatial_thresholds",
                 "spatial_th_min"):  # fmt: skip
        arrays = getattr(network, name, None)
        if arrays is not None:
            setattr(network, name, [_as(a, dtype) for a in arrays])
    return model


def _as(array, dtype):
    return None if array is None else np.ascontiguousarray(array, dtype=dtype)


def _write_skops(model, path):
    import skops.io

    write_atomically(
        path,
        lambda f: skops.io.dump(
            model, f, compression=zipfile.ZIP_DEFLATED, compresslevel=9
        ),
    )
