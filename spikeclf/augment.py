"""Augmentation of images before encoding: random elastic distortions."""

import math
from numbers import Real

import numpy as np
from scipy import ndimage
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .encoders import _resolve_shape, _validate_images

__all__ = ["ElasticDistortion"]

# Images distorted per scipy call: bounds the displacement fields and coordinates.
_CHUNK = 4096


class ElasticDistortion(TransformerMixin, BaseEstimator):
    """Distort images by random, smooth displacement fields.

    The elastic distortion of Simard, Steinkraus and Platt (2003): for every
    image, two fields ``dx`` and ``dy`` drawn uniformly in [-1, 1] at every
    pixel are smoothed by a Gaussian of standard deviation ``sigma`` and scaled
    by ``alpha``; the new value of pixel ``(y, x)`` is the bilinear
    interpolation of the image at ``(y + dy, x + dx)``, zero outside the image.
    Every new value is a weighted mean of pixels and 0, so it stays between 0
    and the largest pixel of the image (up to rounding): the result can go
    straight to a :class:`PoissonEncoder`.

    Every call to ``transform`` draws new fields (``random_state`` seeds the
    sequence, restarted by ``fit``), so one transformer gives fresh
    distortions every epoch.

    Parameters
    ----------
    alpha : float, default=34.0
        Scale of the displacements, in pixels. 0 returns the images unchanged.
    sigma : float, default=4.0
        Standard deviation of the Gaussian that smooths the displacement
        fields, in pixels. Small values give a random jitter of every pixel,
        large values an almost rigid shift (of size shrinking as ``sigma``
        grows, since the smoothed uniform values average out to 0). The
        defaults are those of Simard et al. for 28 x 28 MNIST digits.
    image_shape : tuple of int (height, width), default=None
        Shape of the images when ``X`` is 2-D. None means ``(height, width)``
        of a 3-D ``X``, or square images of ``sqrt(n_features)`` pixels a side
        for a 2-D ``X``.
    random_state : int, RandomState instance or None, default=None
        Seeds the sequence of displacement fields: the same ``random_state``
        gives the same distortions in the same order of calls.

    Attributes
    ----------
    n_features_in_ : int
        Number of pixels of an image.
    image_shape_ : tuple of int
        ``(height, width)`` of the images.

    See Also
    --------
    PoissonEncoder : Encodes the distorted images as event streams.

    References
    ----------
    P. Y. Simard, D. Steinkraus and J. C. Platt, "Best practices for
    convolutional neural networks applied to visual document analysis",
    Proceedings of the Seventh International Conference on Document Analysis
    and Recognition (ICDAR), 2003, pp. 958-963.

    Examples
    --------
    >>> import numpy as np
    >>> from spikeclf import ElasticDistortion
    >>> images = np.random.default_rng(0).integers(0, 256, size=(3, 784))
    >>> distort = ElasticDistortion(alpha=34.0, sigma=4.0, random_state=0)
    >>> distorted = distort.fit_transform(images)
    >>> distorted.shape, distorted.dtype, distort.image_shape_
    ((3, 784), dtype('float64'), (28, 28))
    >>> bool(0 <= distorted.min() and distorted.max() <= 255)
    True

    Each call draws new distortions; ``alpha=0`` leaves the images as they are:

    >>> np.array_equal(distort.transform(images), distort.transform(images))
    False
    >>> np.array_equal(ElasticDistortion(alpha=0).fit_transform(images), images)
    True
    """

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "sigma": [Interval(Real, 0, None, closed="left")],
        "image_shape": [tuple, list, None],
        "random_state": ["random_state"],
    }

    def __init__(self, alpha=34.0, sigma=4.0, image_shape=None, random_state=None):
        self.alpha = alpha
        self.sigma = sigma
        self.image_shape = image_shape
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the image shape and start the sequence of random fields.

        Parameters
        ----------
        X : array-like of shape (n_images, n_pixels) or (n_images, height, width)
            Non-negative pixel intensities.
        y : None
            Ignored.

        Returns
        -------
        self : ElasticDistortion
        """
        _, shape = _validate_images(self, X, reset=True)
        if self.image_shape is None and len(shape) == 1:
            side = math.isqrt(shape[0])
            if side * side != shape[0]:
                raise ValueError(
                    f"images of {shape[0]} pixels are not square: pass "
                    "image_shape=(height, width)"
                )
            self.image_shape_ = (side, side)
        else:
            self.image_shape_ = _resolve_shape(self.image_shape, shape)
        self._rng = check_random_state(self.random_state)
        return self

    def transform(self, X):
        """Distort every image by new random fields.

        Parameters
        ----------
        X : array-like of shape (n_images, n_pixels) or (n_images, height, width)
            Non-negative pixel intensities.

        Returns
        -------
        X_distorted : ndarray of float64, of the shape of ``X``
        """
        check_is_fitted(self)
        X, shape = _validate_images(self, X, reset=False)
        if len(shape) == 2 and tuple(shape) != self.image_shape_:
            raise ValueError(
                f"images of shape {tuple(shape)}, but the transformer was fitted on "
                f"images of shape {self.image_shape_}"
            )
        out = np.empty(X.shape, dtype=np.float64)
        for start in range(0, len(X), _CHUNK):
            chunk = X[start : start + _CHUNK]
            out[start : start + len(chunk)] = self._distort(chunk, self._rng).reshape(
                len(chunk), -1
            )
        return out.reshape(len(X), *shape)

    def _fields(self, n_images, rng):
        """Displacements ``(dy, dx)``, shape (2, n_images, height, width)."""
        fields = rng.uniform(-1.0, 1.0, size=(2, n_images, *self.image_shape_))
        sigma = float(self.sigma)
        fields = ndimage.gaussian_filter(
            fields, sigma=(0, 0, sigma, sigma), mode="constant"
        )
        fields *= self.alpha
        return fields

    def _distort(self, images, rng):
        n_images, (height, width) = len(images), self.image_shape_
        images = images.reshape(n_images, height, width).astype(np.float64)
        dy, dx = self._fields(n_images, rng)
        coords = np.empty((3, n_images, height, width))
        # An integer coordinate interpolates nothing: each image is sampled alone.
        coords[0] = np.arange(n_images)[:, None, None]
        np.add(np.arange(height)[:, None], dy, out=coords[1])
        np.add(np.arange(width), dx, out=coords[2])
        # "grid-constant": bilinear interpolation with the zeros around the image
        # ("constant" would drop to 0 anywhere past the border pixels' centres).
        return ndimage.map_coordinates(
            images, coords, order=1, mode="grid-constant", cval=0.0
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        tags.input_tags.positive_only = True
        tags.input_tags.allow_nan = False
        tags.input_tags.three_d_array = True
        return tags
