"""The paper's training protocols, shared by the command line and the examples.

Static images are encoded into fresh Poisson events for every training epoch
(short presentations) and once for testing (long presentations), as in
section 3.1 of Lee, Delbruck and Pfeiffer (2016); event streams (N-MNIST) are
presented as random windows of 300 events in training and whole in testing
(section 3.3).
"""

import os
import time
from dataclasses import dataclass, fields, replace

import joblib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from ._base import BaseSpikingClassifier
from ._cnn import SpikingCNNClassifier
from ._mlp import SpikingMLPClassifier
from ._persistence import dump_atomically
from .augment import ElasticDistortion
from .datasets import load_mnist, load_nmnist
from .dvs import NMNIST_SENSOR_SIZE
from .encoders import PoissonEncoder
from .recipes import recipe_params, recipe_presentations
from .transforms import RandomEventWindow

__all__ = [
    "EventTask",
    "ImageTask",
    "TrainingRun",
    "encode_test_set",
    "iter_test_set",
    "load_or_train",
    "load_task",
    "run_training",
    "split_digits",
    "train_on_event_streams",
    "train_on_images",
]


@dataclass
class ImageTask:
    """Images and labels of a classification task, split into train and test.

    Attributes
    ----------
    name : str
        The task's name, as :func:`load_task` takes it.
    X_train, X_test : ndarray of shape (n_samples, height, width)
        Images.
    y_train, y_test : ndarray of shape (n_samples,)
        Labels.
    permute_pixels : bool
        Whether the encoder permutes the pixels (permutation-invariant MNIST).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    permute_pixels: bool

    @property
    def sensor_size(self):
        """``(width, height, 1)`` of the images: the encoder's sensor."""
        height, width = np.shape(self.X_train)[1:3]
        return (width, height, 1)


@dataclass
class EventTask:
    """Event streams and labels of a classification task, train and test.

    Attributes
    ----------
    name : str
        The task's name, as :func:`load_task` takes it.
    X_train, X_test : list of event streams
    y_train, y_test : ndarray of shape (n_samples,)
        Labels.
    sensor_size : tuple of int
        ``(width, height, polarities)`` of the streams.
    """

    name: str
    X_train: list
    y_train: np.ndarray
    X_test: list
    y_test: np.ndarray
    sensor_size: tuple


def load_task(name, data_home=None, limit=None, *, download=True):
    """A task by name.

    Parameters
    ----------
    name : {"digits", "mnist", "pi-mnist", "nmnist"}
        ``"digits"`` (built in: sklearn's 8x8 digits, 75/25 split), ``"mnist"``,
        ``"pi-mnist"`` (images) or ``"nmnist"`` (event streams).
    data_home : str or path-like, default=None
        Folder of the data sets (see :func:`spikeclf.datasets.get_data_home`).
    limit : int, default=None
        N-MNIST only: files per digit and split; None reads them all.
    download : bool, default=True
        MNIST only: download the files missing from ``data_home``; False
        raises FileNotFoundError instead.

    Returns
    -------
    ImageTask or EventTask
    """
    if name == "nmnist":
        X_train, y_train = load_nmnist(data_home, train=True, limit=limit)
        X_test, y_test = load_nmnist(data_home, train=False, limit=limit)
        return EventTask(name, X_train, y_train, X_test, y_test, NMNIST_SENSOR_SIZE)
    if name == "digits":
        digits = load_digits()
        X_train, X_test, y_train, y_test = split_digits(digits.images, digits.target)
        return ImageTask(name, X_train, y_train, X_test, y_test, False)
    if name in ("pi-mnist", "mnist"):
        X_train, y_train, X_test, y_test = load_mnist(data_home, download=download)
        return ImageTask(name, X_train, y_train, X_test, y_test, name == "pi-mnist")
    raise ValueError(
        f"unknown data set {name!r}: choose digits, mnist, pi-mnist or nmnist"
    )


def split_digits(X, y):
    """The split of sklearn's digits every digits task uses: 75/25, stratified.

    Parameters
    ----------
    X : array-like or list of event streams
        The 1797 digits, as images or as event streams.
    y : array-like of shape (1797,)
        Their labels.

    Returns
    -------
    X_train, X_test, y_train, y_test
        As :func:`sklearn.model_selection.train_test_split` returns them.
    """
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def train_on_images(
    task,
    classifier,
    *,
    epochs,
    augment=None,
    validation=0,
    train_duration=0.05,
    test_duration=1.0,
    average_train_duration=None,
    rate=5000.0,
    eval_every=0,
    time_budget=None,
    random_state=0,
    save=None,
    log=print,
):
    """Train ``classifier`` epoch by epoch on fresh Poisson events of ``task``.

    Every epoch draws new events (``train_duration`` seconds per image) from a
    seed of its own, ``(random_state, epoch)``; the test set is encoded once
    (``test_duration`` seconds) and scored every ``eval_every`` epochs and
    after the last. A classifier that has ``n_iter_`` epochs already (loaded
    from ``save``) continues at epoch ``n_iter_ + 1``, exactly as the
    uninterrupted run would have.

    Parameters
    ----------
    task : ImageTask
    classifier : SpikingMLPClassifier or SpikingCNNClassifier
        Trained in place by ``partial_fit``.
    epochs : int
        Last epoch to train.
    augment : transformer, default=None
        A transformer of flattened images such as
        :class:`spikeclf.ElasticDistortion`: changes the training images
        before each epoch's encoding, seeded by ``(random_state, epoch, 1)``.
    validation : int, default=0
        > 0 holds out the last that many training images (the paper's
        50,000 / 10,000 split of MNIST: 10000), encoded once like the test set
        (seed ``(random_state, 0, 2)``) and scored with it.
    train_duration, test_duration : float, default=0.05 and 1.0
        Seconds of events per training and per test image.
    average_train_duration : float, default=None
        Seconds of events per training image in the epochs whose parameters
        join the classifier's mean (after its ``average``); None:
        ``train_duration`` in every epoch. The events of an epoch depend on
        its seed and duration only, so a run that changes the duration when
        averaging begins equals one that resumes there with the other duration.
    rate : float, default=5000.0
        Events per second of an image (:class:`spikeclf.PoissonEncoder`).
    eval_every : int, default=0
        Score every that many epochs; 0 scores after the last only.
    time_budget : float, default=None
        Seconds of training (evaluation excluded) after which the epoch in
        progress is the last: it is finished, saved and scored as the last
        epoch would be. None trains up to ``epochs``.
    random_state : int, default=0
        Seed of the pixel permutation and of the events.
    save : str or path-like, default=None
        Receives the classifier (written atomically) after every epoch.
    log : callable, default=print
        Called with one line of text per evaluation.

    Returns
    -------
    history : list of dict
        One record per evaluation: epoch, test accuracy (and validation
        accuracy with ``validation``), synaptic operations per test sample,
        seconds of training in this call.
    """
    # The encoder turns draws into events on the classifier's threads: the
    # events are the same for any number of them.
    n_jobs = classifier.n_jobs
    encoder = _encoder(task, train_duration, rate, random_state, n_jobs)
    averaging_encoder = encoder
    if average_train_duration is not None:
        averaging_encoder = _encoder(
            task, average_train_duration, rate, random_state, n_jobs
        )
    test_set = (test_duration, rate, random_state)

    def test_chunks():
        return iter_test_set(task, *test_set, n_jobs=n_jobs)

    validation_chunks = None
    if validation:
        if not 0 < validation < len(task.y_train):
            raise ValueError(
                f"validation={validation}: hold out between 1 and "
                f"{len(task.y_train) - 1} of the {len(task.y_train)} training images"
            )
        held_images = task.X_train[-validation:]
        held_labels = task.y_train[-validation:]

        def validation_chunks():
            return iter_test_set(task, *test_set, images=held_images,
                                 labels=held_labels, seed=(0, 2),
                                 n_jobs=n_jobs)  # fmt: skip

        task = replace(task, X_train=task.X_train[:-validation],
                       y_train=task.y_train[:-validation])  # fmt: skip

    def training_set(epoch):
        images = task.X_train
        if augment is not None:
            augment.set_params(
                random_state=np.random.RandomState([random_state, epoch, 1])
            )
            flat = np.reshape(images, (len(images), -1))
            images = augment.fit(flat).transform(flat).reshape(np.shape(images))
        # training_set(epoch) is called for the epoch about to be trained.
        chosen = averaging_encoder if classifier._averaging_this_epoch() else encoder
        chosen.random_state = np.random.RandomState([random_state, epoch])
        return chosen.transform(images)

    return _train_epochs(
        classifier,
        training_set,
        task,
        test_chunks,
        epochs=epochs,
        eval_every=eval_every,
        time_budget=time_budget,
        save=save,
        log=log,
        test_protocol=f"{test_duration:g} s presentations",
        validation=validation_chunks,
    )


def encode_test_set(task, *, duration=1.0, rate=5000.0, random_state=0):
    """The test images of ``task`` as :func:`train_on_images` scores them.

    Same pixel permutation as the training events of ``random_state``, events
    drawn from the seed ``(random_state, 0)``: a model trained by
    ``spikeclf train --seed S`` is scored on exactly these streams.

    Parameters
    ----------
    task : ImageTask
    duration : float, default=1.0
        Seconds of events per image.
    rate : float, default=5000.0
        Events per second of an image.
    random_state : int, default=0
        Seed of the training run.

    Returns
    -------
    list of event streams
    """
    return [s for streams, _ in iter_test_set(task, duration, rate, random_state)
            for s in streams]  # fmt: skip


def iter_test_set(task, duration=1.0, rate=5000.0, random_state=0, *, images=None,
                  labels=None, seed=(0,), n_jobs=None):  # fmt: skip
    """:func:`encode_test_set` chunk by chunk, to score without holding it.

    10,000 MNIST images at 1 s are 50 million events (650 MB); one chunk of
    :meth:`PoissonEncoder.iter_transform` (about 2 million events) is scored
    and dropped before the next is made.

    Parameters
    ----------
    task : ImageTask
    duration, rate, random_state : as :func:`encode_test_set`.
    images, labels : array-like, default=None
        Images to encode instead of the test set (held-out training images).
    seed : tuple of int, default=(0,)
        The encoder's seed after ``random_state``.
    n_jobs : int, default=None
        Threads of the encoder (the same events for any number).

    Yields
    ------
    streams, labels : list of ndarray, ndarray
        A chunk of streams and their labels.

    Examples
    --------
    >>> from spikeclf.experiments import encode_test_set, iter_test_set, load_task
    >>> task = load_task("digits")
    >>> chunks = list(iter_test_set(task, duration=0.05))
    >>> [len(streams) for streams, _ in chunks], len(chunks[0][1])
    ([450], 450)
    >>> same = encode_test_set(task, duration=0.05)
    >>> all((a == b).all() for a, b in zip(chunks[0][0], same))
    True
    """
    encoder = _encoder(task, duration, rate, random_state, n_jobs)
    encoder.set_params(random_state=np.random.RandomState([random_state, *seed]))
    images = task.X_test if images is None else images
    labels = task.y_test if labels is None else labels
    start = 0
    for streams in encoder.iter_transform(images):
        yield streams, labels[start : start + len(streams)]
        start += len(streams)


def _encoder(task, duration, rate, random_state, n_jobs=None):
    """A PoissonEncoder fitted to the task; its permutation comes from random_state.

    Its ``transform`` gives ``duration`` seconds: the caller encodes a training
    epoch or a test set with it, each under a seed of its own.
    """
    return PoissonEncoder(
        rate=rate,
        duration=duration,
        test_duration=duration,
        permute_pixels=task.permute_pixels,
        random_state=random_state,
        n_jobs=n_jobs,
    ).fit(task.X_train)


def load_or_train(task, model=None, *, hidden=None, epochs=1):
    """The classifier saved in ``model`` (joblib), or a new one trained on ``task``.

    Parameters
    ----------
    task : ImageTask
    model : str or path-like, default=None
        A classifier saved by joblib; None trains a new one (seed 0).
    hidden : tuple of int, default=None
        Hidden layer sizes of the new classifier; None means the CLI's default
        for the task.
    epochs : int, default=1
        Epochs of training of the new classifier.

    Returns
    -------
    SpikingMLPClassifier or SpikingCNNClassifier
    """
    if model is not None:
        return joblib.load(model)
    classifier = default_classifier(task.name, hidden, 0, 0)
    # Short test presentations: the caller scores the model its own way.
    train_on_images(
        task, classifier, epochs=epochs, test_duration=0.05, log=lambda line: None
    )
    return classifier


def train_on_event_streams(
    task, classifier, *, epochs, window=300, average_window=None, eval_every=0,
    time_budget=None, random_state=0, save=None, log=print,
):  # fmt: skip
    """Train on ``window`` consecutive events from a random position of each stream.

    The N-MNIST protocol of the paper (section 3.3): every epoch draws new
    windows (:class:`spikeclf.transforms.RandomEventWindow`) from a seed of its
    own, ``(random_state, epoch)``; the whole test streams are scored every
    ``eval_every`` epochs and after the last. ``save`` and resumption work as in
    :func:`train_on_images`.

    Parameters
    ----------
    task : EventTask
    classifier : SpikingMLPClassifier or SpikingCNNClassifier
        Trained in place by ``partial_fit``.
    epochs : int
        Last epoch to train.
    window : int, default=300
        Consecutive events per training presentation.
    average_window : int, default=None
        Consecutive events per training presentation in the epochs whose
        parameters join the classifier's mean; None: ``window`` always.
    eval_every, time_budget, random_state, save, log
        As in :func:`train_on_images`.

    Returns
    -------
    history : list of dict
        As :func:`train_on_images`.
    """

    # Checked before training: a bad window would otherwise stop the run only
    # when averaging begins.
    for events in (window, average_window):
        if events is not None:
            RandomEventWindow(events).fit()

    def training_set(epoch):
        rng = np.random.RandomState([random_state, epoch])
        events = window
        if average_window is not None and classifier._averaging_this_epoch():
            events = average_window
        windows = RandomEventWindow(events, random_state=rng)
        return windows.fit().transform(task.X_train)

    return _train_epochs(
        classifier,
        training_set,
        task,
        lambda: [(task.X_test, task.y_test)],
        epochs=epochs,
        eval_every=eval_every,
        time_budget=time_budget,
        save=save,
        log=log,
        test_protocol="whole streams",
    )


def _train_epochs(
    classifier, training_set, task, test_chunks, *, epochs, eval_every, save, log,
    test_protocol, validation=None, time_budget=None,
):  # fmt: skip
    """Epochs ``n_iter_ + 1`` to ``epochs``: partial_fit on ``training_set(epoch)``.

    ``test_chunks()`` and ``validation()`` give the evaluation data as
    ``(streams, labels)`` chunks. With ``time_budget``, the epoch that brings the
    training time over it is the last: a run stops between epochs only, so that
    every model it saves is the one an unbudgeted run has after that epoch, and
    ``--resume`` continues it as that run would.
    """
    classes = np.unique(task.y_train)
    history, trained = [], 0.0
    for epoch in range(getattr(classifier, "n_iter_", 0) + 1, epochs + 1):
        start = time.perf_counter()
        classifier.partial_fit(training_set(epoch), task.y_train, classes)
        trained += time.perf_counter() - start
        if save:
            dump_atomically(classifier, save)
        out_of_time = time_budget is not None and trained >= time_budget
        if out_of_time and epoch < epochs:
            log(
                f"time budget of {time_budget:g} s spent: {trained:.0f} s of training "
                f"by epoch {epoch} of {epochs}, which is the last"
            )
        if epoch == epochs or out_of_time or (eval_every and epoch % eval_every == 0):
            record, valid = {"epoch": epoch}, ""
            if validation is not None:
                record["validation_accuracy"], _ = _score(classifier, validation())
                valid = f"validation accuracy {record['validation_accuracy']:.4f}, "
            score, synops = _score(classifier, test_chunks())
            record.update(
                test_accuracy=score, synops_per_sample=synops, train_seconds=trained
            )
            history.append(record)
            log(
                f"epoch {epoch}: {valid}test accuracy {score:.4f} ({test_protocol}), "
                f"{synops:.3g} synaptic operations per test "
                f"sample, {trained:.0f} s of training"
            )
        if out_of_time:
            break
    return history


def _score(classifier, chunks):
    """Accuracy and mean synaptic operations per sample over ``(streams, labels)``."""
    correct, synops, n = 0, 0.0, 0
    for streams, labels in chunks:
        correct += int(np.sum(classifier.predict(streams) == np.asarray(labels)))
        synops += classifier.synops_per_sample_ * len(labels)
        n += len(labels)
    return correct / n, synops / n


def default_classifier(
    task_name, hidden, random_state, verbose, *, layers=None, sensor_size=None, **params
):
    """The classifier the CLI trains: the paper's defaults, sized for the task.

    ``layers`` (a :class:`SpikingCNNClassifier` layer string) gives the spiking
    CNN of section 3.2 instead of the MLP; ``params`` override the defaults.
    """
    if task_name == "nmnist":  # section 3.3: tau 200 ms on the 34 x 34 x 2 sensor
        params = {"tau": 0.2, "sensor_size": NMNIST_SENSOR_SIZE, **params}
    elif sensor_size is not None:
        params = {"sensor_size": sensor_size, **params}
    common = {"random_state": random_state, "verbose": verbose, **params}
    if layers:
        return SpikingCNNClassifier(layers=layers, **common)
    hidden = tuple(hidden) if hidden else ((100,) if task_name == "digits" else (800,))
    return SpikingMLPClassifier(hidden_layer_sizes=hidden, **common)


@dataclass
class TrainingRun:
    """A training run as plain values: what ``spikeclf train`` was asked to do.

    :func:`run_training` does it. The fields are the command's options (``hidden``
    is ``--hidden``, ``seed`` is ``--seed``, ``cnn`` is ``--cnn``); a classifier
    parameter left None takes the recipe's value, else the classifier's default.

    Parameters
    ----------
    dataset : {"digits", "mnist", "pi-mnist", "nmnist"}
        The task (:func:`load_task`).
    data_home : str or None
        Folder of the data sets.
    epochs : int or None
        Last epoch to train; None becomes the recipe's ``max_iter``, else 30
        for digits, 20 for the others.
    hidden : tuple of int or None
        Hidden layer sizes of the MLP; None: 100 for digits, 800 otherwise.
    cnn : str or None
        Layers of a :class:`SpikingCNNClassifier` instead of the MLP.
    elastic : float, bool or None
        Elastic distortion of the training images, fresh every epoch: the
        ``alpha`` of :class:`ElasticDistortion` (True: its default 34);
        None or False: none.
    validation : int
        Training images held out and scored with the test set.
    train_duration, test_duration : float
        Seconds of events per training and test image.
    average_train_duration : float or None
        Seconds of events per training image in the averaged epochs; None:
        the recipe's, else ``train_duration``.
    window : int
        N-MNIST: consecutive events per training presentation.
    average_window : int or None
        N-MNIST: events per training presentation in the averaged epochs;
        None: ``window``.
    limit : int or None
        N-MNIST: files per digit and split.
    eval_every : int
        Score the test set every that many epochs too.
    time_budget : float or None
        Seconds of training in this run (evaluation excluded) after which the
        epoch in progress is the last; None: up to ``epochs``.
    output : str or None
        Where the classifier is saved after every epoch.
    resume : bool
        Continue the classifier saved in ``output``.
    seed : int
        The classifier's ``random_state`` and the seed of the events.
    n_jobs : int or None
        Threads of the classifier.
    verbose : int
        The classifier's verbosity.
    recipe : str or None
        A recipe of :mod:`spikeclf.recipes` (an MLP's parameters): the
        fields it sets that are None take its values, ``epochs`` its
        ``max_iter``.
    alpha, output_loss, output_neurons, weight_reg, solver, learning_rate, \
learning_rate_scale, decay_epochs, activity_tau, batch_size
        Classifier parameters of the same names; None: the recipe's, else
        the default. ``output_loss`` None becomes ``"max_normalized"``, as the
        command's default is, so that a resumed run is checked against it.
    average, average_learning_rate, average_every
        Parameter averaging, which a resumed run may change; None: the
        recipe's, else as saved.
    """

    dataset: str = "digits"
    data_home: str | None = None
    epochs: int | None = None
    hidden: tuple | None = None
    cnn: str | None = None
    elastic: float | bool | None = None
    validation: int = 0
    train_duration: float = 0.05
    test_duration: float = 1.0
    average_train_duration: float | None = None
    window: int = 300
    average_window: int | None = None
    limit: int | None = None
    eval_every: int = 0
    time_budget: float | None = None
    output: str | None = None
    resume: bool = False
    seed: int = 0
    n_jobs: int | None = None
    verbose: int = 0
    recipe: str | None = None
    alpha: tuple | None = None
    output_loss: str | None = None
    output_neurons: str | None = None
    weight_reg: float | None = None
    solver: str | None = None
    learning_rate: float | None = None
    learning_rate_scale: tuple | None = None
    decay_epochs: float | None = None
    activity_tau: float | None = None
    batch_size: int | None = None
    average: int | None = None
    average_learning_rate: float | None = None
    average_every: int | None = None

    def __post_init__(self):
        if self.recipe is not None:
            recipe = recipe_params(self.recipe)
            if self.dataset != "nmnist":
                # Presentations of images: N-MNIST's windows are events.
                recipe.update(recipe_presentations(self.recipe))
            for name, value in recipe.items():
                field = _FIELD_OF_PARAMETER.get(name, name)
                if getattr(self, field) is None:
                    setattr(self, field, value)
        if self.epochs is None:
            self.epochs = 30 if self.dataset == "digits" else 20
        if self.output_loss is None:
            self.output_loss = "max_normalized"
        if self.average_train_duration is not None and not (
            self.average_train_duration > 0
        ):
            raise ValueError(
                f"--average-train-duration {self.average_train_duration:g}: give a "
                "positive number of seconds"
            )
        if self.average_window is not None and not self.average_window > 0:
            raise ValueError(
                f"--average-window {self.average_window}: give a positive number "
                "of events"
            )
        if self.time_budget is not None and not self.time_budget > 0:
            raise ValueError(
                f"--time-budget {self.time_budget:g}: give a positive number of "
                "seconds of training"
            )

    @classmethod
    def from_namespace(cls, namespace):
        """The run an :class:`argparse.Namespace` (or any object) describes.

        Parameters
        ----------
        namespace : object
            Has the fields as attributes (those it lacks take their defaults),
            as ``spikeclf train``'s parsed options do.

        Returns
        -------
        TrainingRun
        """
        return cls(
            **{f.name: getattr(namespace, f.name, f.default) for f in fields(cls)}
        )

    def model_options(self):
        """The classifier parameters given, which a resumed run must keep."""
        return _given(
            alpha=None if self.alpha is None else tuple(self.alpha),
            output_loss=self.output_loss,
            output_neurons=self.output_neurons,
            weight_reg=self.weight_reg,
            solver=self.solver,
            learning_rate=self.learning_rate,
            learning_rate_scale=None
            if self.learning_rate_scale is None
            else tuple(self.learning_rate_scale),
            decay_epochs=self.decay_epochs,
            activity_tau=self.activity_tau,
            batch_size=self.batch_size,
        )

    def averaging(self):
        """The averaging parameters given, which a resumed run may change."""
        return _given(
            average=self.average,
            average_learning_rate=self.average_learning_rate,
            average_every=self.average_every,
        )


#: The option of ``spikeclf train`` that sets each classifier parameter, where
#: the names differ.
_OPTION_OF = {"random_state": "--seed", "hidden_layer_sizes": "--hidden",
              "layers": "--cnn"}  # fmt: skip
#: The TrainingRun field of each recipe parameter, where the names differ.
_FIELD_OF_PARAMETER = {"max_iter": "epochs"}
#: Options a resumed run may change.
_RESUMABLE = ("--epochs, --time-budget, --eval-every, --average, "
              "--average-learning-rate, --average-every, --train-duration, "
              "--average-train-duration, --test-duration, --window, "
              "--average-window, --n-jobs and -v")  # fmt: skip


def run_training(run, *, task=None, log=print):
    """Do a :class:`TrainingRun`: build or resume the classifier, train, evaluate.

    Parameters
    ----------
    run : TrainingRun
    task : ImageTask or EventTask, default=None
        The data, loaded already (a subset of ``run.dataset``, say); None loads
        ``run.dataset``.
    log : callable, default=print
        Called with each line of progress: the classifier and the data, then
        one line per evaluation.

    Returns
    -------
    history : list of dict
        One record per evaluation, as :func:`train_on_images` returns them;
        empty when ``run.output`` had ``run.epochs`` epochs already.

    Raises
    ------
    ValueError
        On options that do not fit together or do not fit the saved run.
    """
    if run.dataset == "nmnist" and run.cnn:
        raise ValueError("--cnn trains on images: use --dataset digits or mnist")
    if run.dataset == "nmnist" and run.elastic:
        raise ValueError("--elastic distorts images: use --dataset digits or mnist")
    if run.cnn and run.recipe:
        # The CNN's defaults differ (Adam, 5e-4): the MLP's would change it.
        raise ValueError("--recipe sets SpikingMLPClassifier parameters: not --cnn")
    if run.dataset == "nmnist" and run.average_train_duration is not None:
        raise ValueError(
            "--average-train-duration is for images: give nmnist --average-window"
        )
    if run.dataset != "nmnist" and run.average_window is not None:
        raise ValueError(
            "--average-window is for nmnist: give --average-train-duration"
        )
    if task is None:
        task = load_task(run.dataset, run.data_home, limit=run.limit)
    classifier = _run_classifier(run, task, log)
    presentations = (run.average_train_duration, run.average_window)
    if presentations != (None, None) and classifier._averaging_start() is None:
        raise ValueError(
            "--average-train-duration and --average-window set the presentations "
            "of the averaged epochs: give --average N too"
        )
    shape = getattr(classifier, "layers", None) or classifier.hidden_layer_sizes
    recipe = f", recipe {run.recipe}" if run.recipe else ""
    budget = f", {run.time_budget:g} s at most" if run.time_budget else ""
    log(
        f"training {type(classifier).__name__} {shape}, {classifier.solver}, "
        f"learning rate {classifier.learning_rate:g}, alpha {classifier.alpha}, "
        f"{classifier.output_loss} loss on {run.dataset} "
        f"({_split_sizes(task, run.validation)}), "
        f"epochs {getattr(classifier, 'n_iter_', 0) + 1} to {run.epochs}"
        f"{budget}{recipe}"
    )
    protocol = dict(epochs=run.epochs, eval_every=run.eval_every,
                    time_budget=run.time_budget, random_state=run.seed,
                    save=run.output, log=log)  # fmt: skip
    if run.dataset == "nmnist":
        return train_on_event_streams(
            task, classifier, window=run.window, average_window=run.average_window,
            **protocol,
        )  # fmt: skip
    return train_on_images(
        task,
        classifier,
        augment=_distortion(run.elastic),
        validation=run.validation,
        train_duration=run.train_duration,
        average_train_duration=run.average_train_duration,
        test_duration=run.test_duration,
        **protocol,
    )


def _distortion(elastic):
    """The ElasticDistortion of a run's ``elastic``, or None."""
    if elastic is None or elastic is False:
        return None
    return ElasticDistortion() if elastic is True else ElasticDistortion(alpha=elastic)


def _split_sizes(task, validation):
    """The sizes of the splits a run uses: the validation comes out of training."""
    n_train = len(task.y_train) - (validation or 0)
    held = f"{validation} validation, " if validation else ""
    return f"{n_train} training, {held}{len(task.y_test)} test samples"


def _run_classifier(run, task, log):
    """The classifier of ``run``: the one saved in ``run.output`` when resuming."""
    if run.resume and not run.output:
        raise ValueError("--resume continues the run saved in --output: give both")
    options = run.model_options()
    if run.resume and os.path.exists(run.output):
        classifier = joblib.load(run.output)
        if not isinstance(classifier, BaseSpikingClassifier):
            raise ValueError(
                f"{run.output} holds a {type(classifier).__name__}, not a "
                "spikeclf spiking classifier"
            )
        _check_resumed(classifier, run)
        log(f"resuming {run.output} after epoch {classifier.n_iter_}")
        return classifier.set_params(
            verbose=run.verbose, n_jobs=run.n_jobs, **run.averaging()
        )
    return default_classifier(
        run.dataset,
        run.hidden,
        run.seed,
        run.verbose,
        layers=run.cnn,
        sensor_size=getattr(task, "sensor_size", None),
        n_jobs=run.n_jobs,
        **run.averaging(),
        **options,
    )


def _check_resumed(classifier, run):
    """Refuse a resumed run whose options disagree with the run saved.

    The saved classifier is what continues, so a differing option would be
    ignored, and a differing seed would permute the pixels and draw the events
    of another run: the saved work would go on with the wrong data.
    """
    given = {
        "random_state": run.seed,
        "hidden_layer_sizes": run.hidden and tuple(run.hidden),
        "layers": run.cnn,
        **run.model_options(),
    }
    saved = classifier.get_params()
    # None on either side cannot disagree: an option not given, one the saved
    # classifier does not have (a CNN's hidden sizes) or left at its default.
    differ = [
        f"{_OPTION_OF.get(name, '--' + name.replace('_', '-'))} {_shown(value)} "
        f"(saved: {_shown(saved[name])})"
        for name, value in given.items()
        if value is not None
        and saved.get(name) is not None
        and _shown(value) != _shown(saved[name])
    ]
    if differ:
        raise ValueError(
            f"--resume continues {run.output} with the options it was started with, "
            f"but {', '.join(differ)}: give its own, and its --recipe if it had one "
            f"(only {_RESUMABLE} may change)"
        )


def _shown(value):
    """An option's value as the command line writes it (3 and 3.0 alike)."""
    if isinstance(value, (tuple, list)):
        return " ".join(_shown(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _given(**options):
    """The options given: those not None."""
    return {name: value for name, value in options.items() if value is not None}
