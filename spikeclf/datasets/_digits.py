"""scikit-learn's bundled 8x8 digits as event streams: works offline, everywhere."""

from sklearn.datasets import load_digits
from sklearn.utils import Bunch

from ..encoders import PoissonEncoder


def load_digits_events(*, rate=5000.0, duration=0.05, random_state=0, return_X_y=False):
    """Load the 1,797 8x8 digits of scikit-learn as Poisson event streams.

    The built-in default data set of spikeclf: it ships with scikit-learn, so
    it needs no download. Each image is encoded by :class:`PoissonEncoder`.

    Parameters
    ----------
    rate : float, default=5000.0
        Total event rate of one image, in events per second.
    duration : float, default=0.05
        Length of each stream, in seconds.
    random_state : int, RandomState instance or None, default=0
        Seeds the events.
    return_X_y : bool, default=False
        Return ``(events, target)`` instead of a Bunch.

    Returns
    -------
    data : Bunch
        ``data`` (list of event streams), ``target`` (int labels 0-9),
        ``images`` (float array, shape (1797, 8, 8), intensities 0-16),
        ``sensor_size`` ((8, 8, 1)) and ``DESCR``.
    (events, target) : tuple
        When ``return_X_y`` is True.

    Examples
    --------
    >>> from spikeclf import load_digits_events
    >>> digits = load_digits_events(duration=0.02)
    >>> len(digits.data), digits.sensor_size
    (1797, (8, 8, 1))
    """
    digits = load_digits()
    encoder = PoissonEncoder(rate=rate, duration=duration, random_state=random_state)
    events = encoder.fit_transform(digits.images)
    if return_X_y:
        return events, digits.target
    return Bunch(
        data=events,
        target=digits.target,
        images=digits.images,
        sensor_size=encoder.sensor_size_,
        target_names=digits.target_names,
        DESCR=(
            "scikit-learn's optical recognition of handwritten digits (8x8 images, "
            f"1797 samples, 10 classes) encoded as Poisson events at {rate:g} "
            f"events/s for {duration:g} s each.\n\n" + digits.DESCR
        ),
    )
