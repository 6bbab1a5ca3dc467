import numpy as np

from spikeclf import check_events, load_digits_events


def test_digits_events_are_valid_and_follow_the_images():
    digits = load_digits_events(duration=0.1, rate=2000)
    assert len(digits.data) == len(digits.target) == 1797
    packed = check_events(digits.data, digits.sensor_size)
    assert digits.sensor_size == (8, 8, 1)
    counts = np.diff(packed.indptr)
    assert abs(counts.mean() - 200) < 2
    # Summed over all samples, events land where the images are bright.
    per_pixel = np.bincount(packed.channel, minlength=64)
    brightness = digits.images.reshape(1797, -1).sum(axis=0)
    assert np.corrcoef(per_pixel, brightness)[0, 1] > 0.99
    assert per_pixel[brightness == 0].sum() == 0


def test_return_X_y_and_seed():
    X, y = load_digits_events(return_X_y=True, random_state=5)
    X2, _ = load_digits_events(return_X_y=True, random_state=5)
    assert len(X) == len(y) == 1797
    assert all(np.array_equal(a, b) for a, b in zip(X, X2, strict=True))
