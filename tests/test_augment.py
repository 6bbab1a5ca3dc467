import numpy as np
import pytest
from conftest import DATA_FREE_CHECKS
from scipy import ndimage
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils import estimator_checks

from spikeclf import ElasticDistortion, PoissonEncoder, check_events
from spikeclf.augment import _CHUNK

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(20, 28 * 28)).astype(np.uint8)


def blob(size=28, radius=4.0):
    """A smooth, digit-sized spot of ink in the middle of a dark image."""
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    return 255 * np.exp(-(y**2 + x**2) / (2 * radius**2))


def bilinear(images, y, x):
    """``images[k]`` at real coordinates ``(y[k], x[k])``, zero outside (reference)."""
    n, height, width = images.shape
    k = np.arange(n)[:, None, None]
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    total = np.zeros(y.shape)
    for i, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for j, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            inside = (i >= 0) & (i < height) & (j >= 0) & (j < width)
            pixel = images[k, i.clip(0, height - 1), j.clip(0, width - 1)]
            total += wy * wx * np.where(inside, pixel, 0.0)
    return total


@pytest.mark.parametrize("sigma", [4.0, 0.0])
def test_alpha_zero_is_the_identity(sigma):
    out = ElasticDistortion(alpha=0, sigma=sigma, random_state=0).fit_transform(IMAGES)
    np.testing.assert_array_equal(out, IMAGES)
    images_3d = IMAGES.reshape(20, 16, 49).astype(np.float32) / 7
    np.testing.assert_array_equal(
        ElasticDistortion(alpha=0).fit_transform(images_3d), images_3d
    )


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32, np.float64, bool])
def test_shape_dtype_and_range(dtype):
    images = IMAGES.astype(dtype)
    out = ElasticDistortion(random_state=0).fit_transform(images)
    assert out.shape == images.shape and out.dtype == np.float64
    assert not np.array_equal(out, images)
    # A weighted mean of the pixels and 0, up to rounding.
    assert out.min() >= 0 and out.max() <= images.max() * (1 + 1e-12)
    images_3d = images.reshape(20, 16, 49)
    distort = ElasticDistortion(random_state=0).fit(images_3d)
    assert distort.image_shape_ == (16, 49) and distort.n_features_in_ == 784
    assert distort.transform(images_3d).shape == (20, 16, 49)
    assert distort.transform(images).shape == (20, 784)  # flat images of that shape


@pytest.mark.parametrize("image_shape", [None, (28, 28), (16, 49)])
def test_flat_images_are_square_or_of_image_shape(image_shape):
    distort = ElasticDistortion(image_shape=image_shape, random_state=0)
    flat = distort.fit_transform(IMAGES)
    height, width = image_shape or (28, 28)
    assert distort.image_shape_ == (height, width)
    images = IMAGES.reshape(20, height, width)
    as_3d = ElasticDistortion(random_state=0).fit_transform(images)
    np.testing.assert_array_equal(flat, as_3d.reshape(20, -1))


def test_random_state_seeds_a_sequence_of_fresh_distortions():
    distort = ElasticDistortion(random_state=0).fit(IMAGES)
    first, second = distort.transform(IMAGES), distort.transform(IMAGES)
    assert not np.allclose(first, second)  # a new distortion every epoch
    # The same random_state gives the same sequence; fit restarts it.
    again = ElasticDistortion(random_state=0).fit(IMAGES)
    np.testing.assert_array_equal(again.transform(IMAGES), first)
    np.testing.assert_array_equal(again.transform(IMAGES), second)
    np.testing.assert_array_equal(again.fit_transform(IMAGES), first)
    np.testing.assert_array_equal(clone(distort).fit_transform(IMAGES), first)
    other = ElasticDistortion(random_state=1).fit_transform(IMAGES)
    assert not np.allclose(other, first)
    # Every image of a batch gets its own field.
    same = ElasticDistortion(random_state=0).fit_transform(np.tile(IMAGES[:1], (2, 1)))
    assert not np.allclose(same[0], same[1])


def test_resamples_at_the_displaced_pixels_across_chunks():
    # Linear ramps, scaled differently in consecutive images: bilinear
    # interpolation reproduces them exactly wherever it does not reach outside.
    n, height, width = _CHUNK + 904, 6, 7
    y, x = np.mgrid[:height, :width].astype(float)
    scale = 1.0 + np.arange(n) % 5
    images = scale[:, None, None] * (1 + x + 10 * y)
    distort = ElasticDistortion(alpha=3.0, sigma=1.0, random_state=0)
    out = distort.fit_transform(images)

    rng = np.random.RandomState(0)
    dy, dx = np.concatenate(
        [distort._fields(len(scale[s : s + _CHUNK]), rng) for s in range(0, n, _CHUNK)],
        axis=1,
    )
    ys, xs = y + dy, x + dx
    inside = (ys >= 0) & (ys <= height - 1) & (xs >= 0) & (xs <= width - 1)
    assert 0.5 < inside.mean() < 1  # most pixels inside, some past the border
    expected = scale[:, None, None] * (1 + xs + 10 * ys)
    np.testing.assert_allclose(out[inside], expected[inside], rtol=1e-12)
    # Everywhere, border included: bilinear interpolation with zeros around.
    np.testing.assert_allclose(out, bilinear(images, ys, xs), rtol=1e-12, atol=1e-12)
    # The fields are smooth: neighbours move together (about 1.4 for white noise).
    assert np.abs(np.diff(dx, axis=2)).mean() < 0.8 * np.abs(dx).mean()


def test_a_digit_keeps_its_ink_and_stays_in_place():
    image = blob()
    out = ElasticDistortion(random_state=0).fit_transform(np.tile(image, (2000, 1, 1)))
    mass = out.sum(axis=(1, 2)) / image.sum()
    # Stretching and squeezing change the ink of each image, not on average.
    assert abs(mass.mean() - 1) < 0.02
    assert np.median(abs(mass - 1)) < 0.2
    centre = np.array(ndimage.center_of_mass(image))
    moved = np.array([ndimage.center_of_mass(o) for o in out]) - centre
    distance = np.linalg.norm(moved, axis=1)
    assert 0.5 < np.median(distance) < 1.5  # a visible but local distortion
    assert np.quantile(distance, 0.9) < 2.5
    assert np.all(abs(moved.mean(axis=0)) < 0.1)  # no drift


def test_a_very_smooth_field_is_a_uniform_shift():
    image = blob(40)
    out = ElasticDistortion(alpha=5e5, sigma=1000, random_state=0).fit_transform(
        np.tile(image, (10, 1, 1))
    )
    centre = np.array(ndimage.center_of_mass(image))
    for distorted in out:
        # A uniform bilinear shift moves the centre of mass by exactly the shift.
        shift = np.array(ndimage.center_of_mass(distorted)) - centre
        assert np.linalg.norm(shift) > 0.5
        shifted = ndimage.shift(image, shift, order=1, mode="grid-constant")
        np.testing.assert_allclose(distorted, shifted, atol=0.1)


@pytest.mark.parametrize(
    "X, params, match",
    [
        (np.full((2, 4), np.nan), {}, "NaN"),
        (np.full((2, 4), np.inf), {}, "infinity"),
        (-IMAGES.astype(int), {}, "non-negative"),
        (np.zeros(16), {}, "2D array"),
        (np.zeros((2, 3, 4, 5)), {}, "shape"),
        (np.zeros((2, 42)), {}, "not square: pass image_shape"),
        (IMAGES, {"image_shape": (28, 29)}, "does not match images with 784 pixels"),
        (IMAGES, {"alpha": -1.0}, "parameter"),
        (IMAGES, {"sigma": -1.0}, "parameter"),
        (IMAGES, {"alpha": "strong"}, "parameter"),
    ],
)
def test_bad_input(X, params, match):
    with pytest.raises(ValueError, match=match):
        ElasticDistortion(**params).fit(X)


def test_transform_checks_the_images_against_fit():
    with pytest.raises(NotFittedError):
        ElasticDistortion().transform(IMAGES)
    distort = ElasticDistortion().fit(np.zeros((2, 42)).reshape(2, 6, 7))
    assert distort.image_shape_ == (6, 7)
    with pytest.raises(ValueError, match="features"):
        distort.transform(IMAGES)
    with pytest.raises(ValueError, match=r"fitted on images of shape \(6, 7\)"):
        distort.transform(np.zeros((2, 7, 6)))
    with pytest.raises(ValueError, match="non-negative"):
        distort.transform(-np.ones((2, 42)))


def test_pipeline_with_a_poisson_encoder():
    images = IMAGES.reshape(20, 28, 28)

    def pipeline(alpha):
        return make_pipeline(
            ElasticDistortion(alpha=alpha, random_state=0),
            # transform as fit_transform: 50 ms, the presentations of `plain`
            PoissonEncoder(test_duration=0.05, random_state=0),
        )

    streams = pipeline(34.0).fit(images).transform(images)
    assert len(streams) == 20
    check_events(streams, (28, 28, 1))
    plain = PoissonEncoder(random_state=0).fit_transform(images)
    assert not all(np.array_equal(a, b) for a, b in zip(streams, plain, strict=True))
    unchanged = pipeline(0.0).fit(images).transform(images)
    assert all(np.array_equal(a, b) for a, b in zip(unchanged, plain, strict=True))
    # Flat images: the encoder needs the shape to place the events.
    flat = make_pipeline(
        ElasticDistortion(alpha=0.0),
        PoissonEncoder(image_shape=(28, 28), random_state=0),
    ).fit_transform(IMAGES)
    assert all(np.array_equal(a, b) for a, b in zip(flat, plain, strict=True))


def test_clone_keeps_the_parameters():
    distort = ElasticDistortion(alpha=8.0, sigma=3.0, image_shape=(16, 49))
    distort.set_params(random_state=5)
    copy = clone(distort)
    assert copy.get_params() == distort.get_params()
    assert copy.get_params()["image_shape"] == (16, 49)
    np.testing.assert_array_equal(
        copy.fit_transform(IMAGES), distort.fit_transform(IMAGES)
    )


# The other data checks of scikit-learn fit on a few features that make no square
# image (2, 3, 5, 10 pixels); the tests above cover their ground for images.
@pytest.mark.parametrize(
    "check",
    DATA_FREE_CHECKS
    + [
        estimator_checks.check_transformers_unfitted,
        estimator_checks.check_n_features_in_after_fitting,
        estimator_checks.check_positive_only_tag_during_fit,
        estimator_checks.check_fit_non_negative,
        estimator_checks.check_fit2d_1feature,
        estimator_checks.check_fit1d,
        estimator_checks.check_complex_data,
        estimator_checks.check_estimators_empty_data_messages,
        estimator_checks.check_parameters_default_constructible,
        estimator_checks.check_mixin_order,
    ],
    ids=lambda c: c.__name__,
)
def test_sklearn_checks(check):
    check("ElasticDistortion", ElasticDistortion(random_state=0))
