"""A DVS moved through the three N-MNIST saccades in front of a static image.

N-MNIST (Orchard et al. 2015) was recorded by an ATIS camera on a pan-tilt unit
making three saccades of about 100 ms in front of MNIST digits shown on a
monitor. :class:`SaccadeEmulator` makes event streams of that kind from images,
in the N-MNIST geometry: a 28 x 28 digit on a 34 x 34 sensor, two polarities,
three saccades along a triangle.

How an image becomes events (each step a parameter):

1. The image (intensities in [0, 1]) is blurred by the optics (``blur``, pixels)
   and shown on a monitor whose black is ``background`` (relative to white 1).
2. The sensor moves along the triangle ``path`` (pixel offsets of the digit's
   top-left corner on the sensor), one edge per saccade of ``saccade_duration``
   seconds, with a velocity that rises and falls within each saccade
   (``(1 - cos(pi s)) / 2`` of the way after a fraction s of it).
3. The scene is rendered every ``time_step`` seconds (bilinear interpolation) and
   each pixel emits an event whenever its log intensity moves by its contrast
   threshold from the level of its last event; event times are interpolated
   between two renderings. Thresholds differ from pixel to pixel (relative
   spread ``threshold_mismatch``, drawn once at fit: one sensor), and a pixel is
   silent for ``refractory`` seconds after each event.
4. Background activity: ``noise_rate`` events per second and pixel, at random
   times, of random polarity.

The defaults make streams with the published statistics of the real set (about
4,000 events a sample over about 300 ms, ON and OFF balanced, the event rate
peaking in the middle of each saccade); docs/nmnist.md shows the measurement.
"""

from numbers import Real

import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from ._dvs import dvs_events
from .events import EVENT_DTYPE

__all__ = ["NMNIST_SENSOR_SIZE", "SaccadeEmulator"]

#: Sensor of N-MNIST: 34 x 34 pixels, 2 polarities.
NMNIST_SENSOR_SIZE = (34, 34, 2)

# Offsets (x, y) of the digit's top-left corner on the 34 x 34 sensor at the
# corners of the triangle, visited in order and back to the first.
_TRIANGLE = ((1.0, 4.5), (5.0, 4.5), (3.0, 1.0))
_PAD = 8  # more than the largest offset, so that the sensor never looks off the scene


class SaccadeEmulator(TransformerMixin, BaseEstimator):
    """Event streams of a DVS making the three N-MNIST saccades over images.

    Parameters
    ----------
    contrast_threshold : float, default=0.37
        Change of log intensity that makes an event (ON and OFF alike).
    threshold_mismatch : float, default=0.05
        Relative standard deviation of the thresholds across pixels.
    refractory : float, default=5e-4
        Seconds a pixel is silent after an event.
    background : float, default=0.05
        Intensity of the monitor's black, relative to its white.
    blur : float, default=0.5
        Standard deviation (pixels) of the optics' Gaussian blur.
    noise_rate : float, default=0.2
        Background events per second and pixel.
    saccade_duration : float, default=0.1
        Seconds per saccade; a stream lasts three of them.
    time_step : float, default=1e-3
        Seconds between two renderings of the moving scene.
    random_state : int, RandomState instance or None, default=None
        Draws the threshold mismatch at fit, and the noise of each stream.

    Attributes
    ----------
    th_on_, th_off_ : ndarray of shape (34 * 34,)
        Contrast thresholds of each pixel.
    image_shape_ : tuple of int
        (height, width) of the images, at most (34, 34).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from spikeclf.dvs import SaccadeEmulator
    >>> square = np.zeros((1, 28, 28))
    >>> square[0, 8:20, 8:20] = 1.0
    >>> [events] = SaccadeEmulator(random_state=0).fit_transform(square)
    >>> events.dtype.names, bool(events["t"].max() < 300_000)
    (('x', 'y', 't', 'p'), True)
    """

    _parameter_constraints = {
        "contrast_threshold": [Interval(Real, 0, None, closed="neither")],
        "threshold_mismatch": [Interval(Real, 0, 1, closed="left")],
        "refractory": [Interval(Real, 0, None, closed="left")],
        "background": [Interval(Real, 0, None, closed="neither")],
        "blur": [Interval(Real, 0, None, closed="left")],
        "noise_rate": [Interval(Real, 0, None, closed="left")],
        "saccade_duration": [Interval(Real, 0, None, closed="neither")],
        "time_step": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        contrast_threshold=0.37,
        threshold_mismatch=0.05,
        refractory=5e-4,
        background=0.05,
        blur=0.5,
        noise_rate=0.2,
        saccade_duration=0.1,
        time_step=1e-3,
        random_state=None,
    ):
        self.contrast_threshold = contrast_threshold
        self.threshold_mismatch = threshold_mismatch
        self.refractory = refractory
        self.background = background
        self.blur = blur
        self.noise_rate = noise_rate
        self.saccade_duration = saccade_duration
        self.time_step = time_step
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the images and draw the sensor's thresholds.

        Parameters
        ----------
        X : array-like of shape (n_images, height, width) or (n_images, 784)
            Intensities in [0, 1] (uint8 images are divided by 255); flat rows
            of 784 are 28 x 28 images.
        y : ignored

        Returns
        -------
        self : SaccadeEmulator
        """
        images = self._images(X, reset=True)
        self.image_shape_ = images.shape[1:]
        rng = check_random_state(self.random_state)
        n_pixels = NMNIST_SENSOR_SIZE[0] * NMNIST_SENSOR_SIZE[1]
        spread = self.threshold_mismatch * self.contrast_threshold
        # Clipped so that no pixel is absurdly sensitive.
        self.th_on_, self.th_off_ = np.clip(
            rng.normal(self.contrast_threshold, spread, (2, n_pixels)),
            0.25 * self.contrast_threshold,
            None,
        )
        self._seed = rng.randint(2**31)
        return self

    def transform(self, X):
        """Event streams, one per image.

        Stream ``i`` depends only on image ``i``, its index ``i``, the fitted
        sensor and the seed drawn at fit.

        Parameters
        ----------
        X : array-like of shape (n_images, height, width) or (n_images, 784)

        Returns
        -------
        streams : list of structured arrays (:data:`spikeclf.EVENT_DTYPE`)
        """
        check_is_fitted(self)
        images = self._images(X, reset=False)
        return [self.emulate(image, i) for i, image in enumerate(images)]

    def emulate(self, image, key):
        """The event stream of one (height, width) image of intensities in [0, 1].

        Parameters
        ----------
        image : array-like of shape (height, width)
            Intensities in [0, 1].
        key : int or tuple of int
            With the seed drawn at fit, seeds the noise of this stream.

        Returns
        -------
        events : structured array (:data:`spikeclf.EVENT_DTYPE`)
        """
        check_is_fitted(self)
        image = np.asarray(image, dtype=np.float64)
        if self.blur > 0:
            image = gaussian_filter(image, self.blur, mode="constant")
        # The image on a black canvas wide enough for every offset of the path.
        scene = np.zeros((image.shape[0] + 2 * _PAD, image.shape[1] + 2 * _PAD))
        scene[_PAD:-_PAD, _PAD:-_PAD] = image
        path, times = self._path()
        capacity = 8192
        while True:
            pixel = np.empty(capacity, np.int32)
            t = np.empty(capacity)
            p = np.empty(capacity, np.uint8)
            n = dvs_events(
                scene,
                path[:, 0] - _PAD,
                path[:, 1] - _PAD,
                times,
                self.th_on_,
                self.th_off_,
                NMNIST_SENSOR_SIZE[0],
                self.background,
                self.refractory * 1e6,
                pixel,
                t,
                p,
            )
            if n >= 0:
                break
            capacity *= 4
        rng = np.random.default_rng([self._seed, *np.atleast_1d(key)])
        pixel, t, p = self._with_noise(pixel[:n], t[:n], p[:n], times[-1], rng)
        order = np.argsort(t, kind="stable")
        width = NMNIST_SENSOR_SIZE[0]
        events = np.empty(len(t), dtype=EVENT_DTYPE)
        events["x"] = pixel[order] % width
        events["y"] = pixel[order] // width
        events["t"] = np.round(t[order])
        events["p"] = p[order]
        return events

    def _path(self):
        """Offsets (x, y) of the image on the sensor at each frame, and times (us)."""
        corners = np.array(_TRIANGLE + _TRIANGLE[:1])
        steps = max(1, round(self.saccade_duration / self.time_step))
        s = (1 - np.cos(np.pi * np.arange(steps) / steps)) / 2
        path = np.concatenate(
            [
                a + np.outer(s, b - a)
                for a, b in zip(corners[:-1], corners[1:], strict=True)
            ]
            + [corners[-1:]]
        )
        times = np.arange(len(path)) * (self.saccade_duration * 1e6 / steps)
        return path, times

    def _with_noise(self, pixel, t, p, duration, rng):
        n_pixels = NMNIST_SENSOR_SIZE[0] * NMNIST_SENSOR_SIZE[1]
        n_noise = rng.poisson(self.noise_rate * n_pixels * duration * 1e-6)
        return (
            np.concatenate(
                [pixel, rng.integers(0, n_pixels, n_noise).astype(np.int32)]
            ),
            np.concatenate([t, rng.uniform(0, duration, n_noise)]),
            np.concatenate([p, rng.integers(0, 2, n_noise).astype(np.uint8)]),
        )

    def _images(self, X, reset):
        X = validate_data(
            self, X, reset=reset, allow_nd=True, ensure_2d=False, dtype=None
        )
        if X.ndim == 2 and X.shape[1] == 784:
            X = X.reshape(-1, 28, 28)
        if X.ndim != 3:
            raise ValueError(
                f"expected images of shape (n_images, height, width) or rows of 784 "
                f"pixels, got shape {X.shape}"
            )
        if X.shape[1] > NMNIST_SENSOR_SIZE[1] or X.shape[2] > NMNIST_SENSOR_SIZE[0]:
            raise ValueError(f"images of {X.shape[1:]} do not fit the 34 x 34 sensor")
        if not reset and X.shape[1:] != self.image_shape_:
            raise ValueError(
                f"images of shape {X.shape[1:]}, fitted on {self.image_shape_}"
            )
        scale = 255.0 if X.dtype == np.uint8 else 1.0
        X = X.astype(np.float64) / scale
        if not np.isfinite(X).all():
            raise ValueError("images must not contain NaN or infinite values")
        if X.min(initial=0) < 0 or X.max(initial=0) > 1:
            raise ValueError(
                "image intensities must be in [0, 1] (or uint8 in [0, 255]), got "
                f"[{X.min():g}, {X.max():g}]"
            )
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.input_tags.three_d_array = True
        return tags
