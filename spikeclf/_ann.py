"""The ANN baseline of the paper's cost comparison: an MLP on accumulated frames."""

import time
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.neural_network import MLPClassifier
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from .events import _as_stream_list, check_sensor_size, iter_packed

__all__ = ["FrameANNClassifier"]


class FrameANNClassifier(ClassifierMixin, BaseEstimator):
    """An MLP on frames of events accumulated over fixed windows, outputs summed.

    The baseline of Lee, Delbruck and Pfeiffer (2016, section 3.3, Figure 6): the
    events of each ``frame_duration`` window are counted per pixel and polarity
    (tonic's ``ToFrame``), an ANN of the SNN's shape classifies every frame, and
    the prediction after ``k`` frames sums the softmax outputs of the first
    ``k``. The network is scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`
    (ReLU, Adam), trained on every frame of every training stream with the
    stream's label; frames are kept as uint8 counts, so the training set costs
    one byte per pixel, polarity and frame.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(200,)
    frame_duration : float, default=0.03
        Seconds per frame.
    n_frames : int, default=10
        Frames per stream, from time 0 (later events are ignored).
    sensor_size : tuple of int, default=None
        (width, height, polarities); inferred from the training streams if None.
    alpha : float, default=1e-4
        L2 penalty of the MLP.
    learning_rate_init : float, default=1e-3
    batch_size : int, default=200
    max_iter : int, default=10
        Epochs over all training frames.
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    mlp_ : MLPClassifier
        The trained network.
    classes_ : ndarray
    sensor_size_ : tuple of int
    n_features_in_ : int
        Pixels times polarities.
    macs_per_frame_ : int
        Multiply-accumulates of one forward pass: inputs x hidden + hidden x
        outputs, layer after layer (biases and activations not counted).
    loss_curve_ : list of float
        Mean training loss of each epoch.

    Examples
    --------
    >>> from spikeclf import load_digits_events
    >>> from spikeclf import FrameANNClassifier
    >>> X, y = load_digits_events(return_X_y=True, duration=0.1)
    >>> ann = FrameANNClassifier((50,), frame_duration=0.05, n_frames=2, max_iter=5,
    ...                          random_state=0).fit(X[:1000], y[:1000])
    >>> ann.macs_per_frame_
    3700
    >>> ann.staged_accuracy(X[1000:], y[1000:]).shape
    (2,)
    """

    _parameter_constraints = {
        "hidden_layer_sizes": [tuple, list],
        "frame_duration": [Interval(Real, 0, None, closed="neither")],
        "n_frames": [Interval(Integral, 1, None, closed="left")],
        "sensor_size": [tuple, list, None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(200,),
        frame_duration=0.03,
        n_frames=10,
        sensor_size=None,
        alpha=1e-4,
        learning_rate_init=1e-3,
        batch_size=200,
        max_iter=10,
        random_state=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.frame_duration = frame_duration
        self.n_frames = n_frames
        self.sensor_size = sensor_size
        self.alpha = alpha
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the MLP on every frame of every stream, labelled by its stream.

        Parameters
        ----------
        X : list of event streams
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : FrameANNClassifier
        """
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        streams = _as_stream_list(X)
        check_consistent_length(streams, y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("need samples of at least 2 classes to train")
        if self.sensor_size is None:
            # Validation infers the sensor; the frames then use it.
            from .events import check_events

            self.sensor_size_ = check_events(streams).sensor_size
        else:
            self.sensor_size_ = check_sensor_size(self.sensor_size)
        self.n_features_in_ = int(np.prod(self.sensor_size_))
        frames = self.frames(streams)  # (n_samples, n_frames, n_features) uint8
        flat = frames.reshape(-1, self.n_features_in_)
        labels = np.repeat(y, self.n_frames)
        rng = check_random_state(self.random_state)
        self.mlp_ = MLPClassifier(
            hidden_layer_sizes=tuple(self.hidden_layer_sizes),
            alpha=self.alpha,
            learning_rate_init=self.learning_rate_init,
            batch_size=self.batch_size,
            random_state=rng.randint(2**31),
        )
        self.loss_curve_ = []
        chunk = 50 * self.batch_size  # float32 copies of one chunk at a time
        for epoch in range(self.max_iter):
            start, losses = time.perf_counter(), []
            order = rng.permutation(len(flat))
            for b in range(0, len(order), chunk):
                rows = np.sort(order[b : b + chunk])
                self.mlp_.partial_fit(
                    flat[rows].astype(np.float32), labels[rows], classes=self.classes_
                )
                losses.append(self.mlp_.loss_)
            self.loss_curve_.append(float(np.mean(losses)))
            if self.verbose:
                print(
                    f"epoch {epoch + 1}: loss {self.loss_curve_[-1]:.4f}, "
                    f"{time.perf_counter() - start:.1f} s",
                    flush=True,
                )
        sizes = [self.n_features_in_, *self.hidden_layer_sizes, len(self.classes_)]
        self.macs_per_frame_ = int(
            sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        )
        return self

    def frames(self, X):
        """Event counts per frame, pixel and polarity.

        Built by tonic's ``ToFrame`` over windows of ``frame_duration`` from time
        0; counts above 255 saturate (uint8).

        Parameters
        ----------
        X : list of event streams

        Returns
        -------
        frames : ndarray of uint8, shape (n_samples, n_frames, n_pixels)
            ``n_pixels`` counts pixels times polarities.
        """
        from tonic.transforms import ToFrame

        sensor = getattr(self, "sensor_size_", None) or check_sensor_size(
            self.sensor_size
        )
        window = self.frame_duration * 1e6
        to_frame = ToFrame(
            sensor_size=sensor,
            time_window=window,
            start_time=0,
            end_time=window * self.n_frames,
            include_incomplete=True,
        )
        streams = _as_stream_list(X)
        out = np.zeros((len(streams), self.n_frames, int(np.prod(sensor))), np.uint8)
        for _ in iter_packed(streams, sensor):  # validates; errors name the sample
            pass
        for i, events in enumerate(streams):
            inside = events[events["t"] < window * self.n_frames]
            if len(inside) == 0:
                continue
            counts = to_frame(inside).reshape(-1, out.shape[2])[: self.n_frames]
            out[i, : len(counts)] = np.minimum(counts, 255)
        return out

    def frame_proba(self, X):
        """Softmax output of every frame.

        Parameters
        ----------
        X : list of event streams

        Returns
        -------
        proba : ndarray of shape (n_samples, n_frames, n_classes)
        """
        check_is_fitted(self)
        frames = self.frames(X)
        proba = self.mlp_.predict_proba(
            frames.reshape(-1, self.n_features_in_).astype(np.float32)
        )
        return proba.reshape(len(frames), self.n_frames, -1).astype(np.float64)

    def predict_proba(self, X, n_frames=None):
        """Mean softmax output of the first ``n_frames`` frames.

        Parameters
        ----------
        X : list of event streams
        n_frames : int, default=None
            Frames to average; None means all.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        proba = self.frame_proba(X)[
            :, : self.n_frames if n_frames is None else n_frames
        ]
        proba = proba.mean(axis=1)
        return proba / proba.sum(axis=1, keepdims=True)  # float32 softmax, renormed

    def predict(self, X, n_frames=None):
        """Class of the largest summed softmax output over the first ``n_frames``.

        Parameters
        ----------
        X : list of event streams
        n_frames : int, default=None
            Frames to sum; None means all.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self.classes_[np.argmax(self.predict_proba(X, n_frames), axis=1)]

    def staged_accuracy(self, X, y, *, single_frames=False, frame_proba=None):
        """Accuracy after each frame.

        Parameters
        ----------
        X : list of event streams
        y : array-like of shape (n_samples,)
        single_frames : bool, default=False
            False: entry ``k - 1`` is the accuracy of the softmax outputs summed
            over the first ``k`` frames; True: of frame ``k`` alone.
        frame_proba : ndarray, default=None
            The output of :meth:`frame_proba` on ``X``, to spare computing the
            frames again.

        Returns
        -------
        accuracy : ndarray of shape (n_frames,)
        """
        proba = self.frame_proba(X) if frame_proba is None else frame_proba
        if not single_frames:
            proba = np.cumsum(proba, axis=1)
        predicted = self.classes_[np.argmax(proba, axis=2)]
        return np.mean(predicted == np.asarray(y)[:, None], axis=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
