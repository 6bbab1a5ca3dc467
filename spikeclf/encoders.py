"""Encoders that turn static images into event streams."""

from numbers import Real

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._encoders import poisson_events
from ._params import N_JOBS
from .events import EVENT_DTYPE, check_sensor_size

__all__ = ["PoissonEncoder"]

# Images encoded per kernel call, at most, and expected events per call: a call's
# temporaries take about 40 bytes an event (1 s MNIST presentations: 400 images).
_CHUNK = 4096
_CHUNK_EVENTS = 2**21
# Pixel types the kernel takes as they are; others are converted to float64.
_KERNEL_DTYPES = tuple(
    map(np.dtype, (np.uint8, np.uint16, np.int64, np.float32, np.float64))
)


class PoissonEncoder(TransformerMixin, BaseEstimator):
    """Encode images as Poisson event streams, one stream per image.

    Each pixel fires a Poisson spike train whose rate is proportional to its
    intensity; the rates of one image add up to ``rate`` events per second, so
    every non-blank image gets on average ``rate * duration`` events, as in the
    permutation-invariant MNIST experiments of Lee, Delbruck and Pfeiffer (2016).
    A blank image gets an empty stream.

    Training and test images are presented for different lengths, as in the
    paper (section 3.1: 50 ms in training, 1 s in testing): :meth:`fit_transform`
    encodes ``duration`` seconds of events, :meth:`transform` and
    :meth:`iter_transform` ``test_duration`` seconds. In a
    :class:`~sklearn.pipeline.Pipeline`, ``fit`` therefore trains the classifier
    on short presentations and ``predict`` and ``score`` see long ones (like
    :class:`~sklearn.preprocessing.TargetEncoder`, ``fit_transform(X)`` differs
    from ``fit(X).transform(X)``). Set ``test_duration=duration`` for one length.

    On 600 of sklearn's digits, ``make_pipeline(PoissonEncoder(random_state=0),
    SpikingMLPClassifier(hidden_layer_sizes=(100,), random_state=0))`` scored
    70.0 % on the next 300 digits with 50 ms test presentations and 84.3 % with
    this default of 1 s (measured; ``test_pipeline_tests_on_long_presentations``
    in ``tests/test_encoders.py``).

    Parameters
    ----------
    rate : float, default=5000.0
        Total event rate of one image, in events per second.
    duration : float, default=0.05
        Length of a training presentation (:meth:`fit_transform`), in seconds.
    test_duration : float, default=1.0
        Length of a test presentation (:meth:`transform`,
        :meth:`iter_transform`), in seconds.
    image_shape : tuple of int (height, width), default=None
        Shape of the images when ``X`` is 2-D. None means ``(height, width)``
        of a 3-D ``X``, or one row of ``n_features`` pixels for a 2-D ``X``.
        The channel an event feeds does not depend on it; only the ``x`` and
        ``y`` of the events do.
    permute_pixels : bool, default=False
        Whether to scramble pixel positions by one fixed random permutation
        (drawn at fit from ``random_state``), as in permutation-invariant MNIST.
    random_state : int, RandomState instance or None, default=None
        Seeds the permutation and the events. With an int, every call to
        ``transform`` returns the same events for the same images; pass a
        RandomState instance to draw new events on each call.
    n_jobs : int, default=None
        Threads that turn the random draws into events, images in parallel
        (None: 1, -1: all cores). The draws are made in one sequence first, so
        the events are the same for any ``n_jobs``.

    Attributes
    ----------
    n_features_in_ : int
        Number of pixels of an image.
    image_shape_ : tuple of int
        ``(height, width)`` of the images.
    sensor_size_ : tuple of int
        ``(width, height, 1)``: the sensor the events live on.
    permutation_ : ndarray of int or None
        ``permutation_[j]`` is where pixel ``j`` goes, or None.

    Examples
    --------
    >>> import numpy as np
    >>> from spikeclf import PoissonEncoder
    >>> images = np.random.default_rng(0).integers(0, 256, size=(3, 28, 28))
    >>> encoder = PoissonEncoder(rate=5000, duration=0.05, random_state=0)
    >>> streams = encoder.fit_transform(images)
    >>> len(streams), encoder.sensor_size_
    (3, (28, 28, 1))
    >>> streams[0].dtype.names
    ('x', 'y', 't', 'p')
    """

    _parameter_constraints = {
        "rate": [Interval(Real, 0, None, closed="neither")],
        "duration": [Interval(Real, 0, None, closed="neither")],
        "test_duration": [Interval(Real, 0, None, closed="neither")],
        "image_shape": [tuple, list, None],
        "permute_pixels": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": N_JOBS,
    }

    def __init__(
        self,
        rate=5000.0,
        duration=0.05,
        test_duration=1.0,
        image_shape=None,
        permute_pixels=False,
        random_state=None,
        n_jobs=None,
    ):
        self.rate = rate
        self.duration = duration
        self.test_duration = test_duration
        self.image_shape = image_shape
        self.permute_pixels = permute_pixels
        self.random_state = random_state
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the image shape (and draw the permutation).

        Parameters
        ----------
        X : array-like of shape (n_images, n_pixels) or (n_images, height, width)
            Non-negative pixel intensities.
        y : None
            Ignored.

        Returns
        -------
        self : PoissonEncoder
        """
        X, shape = _validate_images(self, X, reset=True)
        self.image_shape_ = _resolve_shape(self.image_shape, shape)
        height, width = self.image_shape_
        self.sensor_size_ = check_sensor_size((width, height, 1))
        self.permutation_ = (
            check_random_state(self.random_state).permutation(X.shape[1])
            if self.permute_pixels
            else None
        )
        return self

    def fit_transform(self, X, y=None):
        """Fit, then encode the images as training presentations (``duration``).

        Parameters
        ----------
        X : array-like of shape (n_images, n_pixels) or (n_images, height, width)
            Non-negative pixel intensities.
        y : None
            Ignored.

        Returns
        -------
        streams : list of ndarray of EVENT_DTYPE
            One time-sorted event stream per image, times in microseconds,
            all before ``duration`` seconds.
        """
        self.fit(X)
        return self._encode(X, self.duration)

    def transform(self, X):
        """Encode images as test presentations (``test_duration``).

        Parameters
        ----------
        X : array-like of shape (n_images, n_pixels) or (n_images, height, width)
            Non-negative pixel intensities.

        Returns
        -------
        streams : list of ndarray of EVENT_DTYPE
            One time-sorted event stream per image, times in microseconds,
            all before ``test_duration`` seconds.
        """
        return self._encode(X, self.test_duration)

    def _encode(self, X, duration):
        """The streams of ``X`` at ``duration`` seconds, in one list."""
        return [s for chunk in self._iter_encode(X, duration) for s in chunk]

    def iter_transform(self, X):
        """Encode images chunk by chunk: the events of :meth:`transform`, lazily.

        For data sets whose events do not fit in memory at once (10,000 MNIST
        images at 1 s are 50 million events): each chunk can be scored and
        dropped before the next is made. Presentations last ``test_duration``.

        Parameters
        ----------
        X : array-like of shape (n_images, n_pixels) or (n_images, height, width)

        Yields
        ------
        streams : list of ndarray of EVENT_DTYPE
            The streams of consecutive images, the same as :meth:`transform`
            gives them: up to 4,096 images and about 2 million events a chunk.

        Examples
        --------
        >>> import numpy as np
        >>> from spikeclf import PoissonEncoder
        >>> images = np.random.default_rng(0).integers(0, 256, size=(5000, 28, 28))
        >>> encoder = PoissonEncoder(test_duration=0.01, random_state=0).fit(images)
        >>> [len(chunk) for chunk in encoder.iter_transform(images)]
        [4096, 904]
        """
        return self._iter_encode(X, self.test_duration)

    def _iter_encode(self, X, duration):
        check_is_fitted(self)
        X, _ = _validate_images(self, X, reset=False)
        rng = check_random_state(self.random_state)
        chunk = int(np.clip(_CHUNK_EVENTS // (self.rate * duration), 1, _CHUNK))
        for start in range(0, X.shape[0], chunk):
            yield self._encode_chunk(X[start : start + chunk], rng, duration)

    def _encode_chunk(self, images, rng, duration):
        if images.dtype not in _KERNEL_DTYPES:
            images = images.astype(np.float64)
        images = np.ascontiguousarray(images)
        lit = images.any(axis=1)
        counts = np.where(lit, rng.poisson(self.rate * duration, len(images)), 0)
        indptr = np.zeros(len(images) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        n_events = int(indptr[-1])
        spacing = rng.standard_exponential(n_events + len(images))
        choice = rng.random_sample(n_events)
        pixel = np.empty(n_events, dtype=np.int32)
        t = np.empty(n_events, dtype=np.int64)
        n_threads = max(1, min(effective_n_jobs(self.n_jobs), len(images)))
        work = np.empty(n_threads * images.shape[1], dtype=np.float64)
        poisson_events(
            images, indptr, spacing, choice, duration * 1e6, work, pixel, t, n_threads
        )
        if self.permutation_ is not None:
            pixel = self.permutation_[pixel]
        width = self.image_shape_[1]
        events = np.empty(n_events, dtype=EVENT_DTYPE)
        events["x"], events["y"] = pixel % width, pixel // width
        events["t"], events["p"] = t, False
        return np.split(events, indptr[1:-1])

    def __setstate__(self, state):
        # Encoders saved before n_jobs existed (the shipped pretrained models):
        # one thread, as they ran.
        state.setdefault("n_jobs", None)
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.allow_nan = False
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = []
        return tags


def _validate_images(estimator, X, reset):
    """``X`` as (n_images, n_pixels), and the shape of one image as given."""
    X = check_array(X, allow_nd=True, dtype="numeric", input_name="X")
    if X.ndim not in (2, 3):
        raise ValueError(
            "expected images of shape (n_images, n_pixels) or (n_images, height, "
            f"width), got an array of shape {X.shape}"
        )
    shape = X.shape[1:]
    X = validate_data(estimator, X.reshape(len(X), -1), reset=reset, dtype="numeric")
    if np.any(X < 0):
        raise ValueError(
            "Negative values in data: pixel intensities must be non-negative"
        )
    return X, shape


def _resolve_shape(image_shape, shape):
    """``(height, width)`` from the ``image_shape`` parameter and ``shape``."""
    if image_shape is None:
        return tuple(shape) if len(shape) == 2 else (1, shape[0])
    resolved = tuple(int(s) for s in image_shape)
    if len(resolved) != 2 or resolved[0] * resolved[1] != np.prod(shape):
        raise ValueError(
            f"image_shape={image_shape!r} does not match images with "
            f"{int(np.prod(shape))} pixels"
        )
    return resolved
