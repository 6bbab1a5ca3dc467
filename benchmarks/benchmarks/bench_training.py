"""One training epoch of a 784-800-10 network on 50 ms Poisson presentations."""

import numpy as np

from spikeclf import PoissonEncoder, SpikingMLPClassifier


def _digit_streams(n=2000):
    """Random digit-like images (19 % of the pixels lit) as 50 ms Poisson streams."""
    rng = np.random.default_rng(0)
    shape = (n, 28, 28)
    images = (rng.random(shape) < 0.19) * rng.integers(1, 256, shape)
    labels = rng.integers(0, 10, n)
    return PoissonEncoder(duration=0.05, random_state=0).fit_transform(images), labels


class TrainEpoch784x800x10:
    params = (["sgd", "adam"],)
    param_names = ["solver"]
    timeout = 300

    def setup(self, solver):
        self.events, self.labels = _digit_streams()

    def _epoch(self, solver):
        clf = SpikingMLPClassifier(solver=solver, random_state=0)
        return clf.partial_fit(self.events, self.labels, classes=np.arange(10))

    def time_partial_fit(self, solver):
        self._epoch(solver)

    def peakmem_partial_fit(self, solver):
        self._epoch(solver)

    def track_samples_per_second(self, solver):
        clf = self._epoch(solver)
        return len(self.labels) / clf.epoch_stats_[-1]["seconds"]

    track_samples_per_second.unit = "samples/s"


class FitBatches784x800x10:
    """fit, one epoch at batch size 8, on one thread and on two (same weights)."""

    params = ([1, 2],)
    param_names = ["n_jobs"]
    timeout = 300

    def setup(self, n_jobs):
        self.events, self.labels = _digit_streams()

    def _fit(self, n_jobs):
        clf = SpikingMLPClassifier(
            batch_size=8, n_jobs=n_jobs, max_iter=1, random_state=0,
            sensor_size=(28, 28, 1),
        )  # fmt: skip
        return clf.fit(self.events, self.labels)

    def time_fit(self, n_jobs):
        self._fit(n_jobs)

    def peakmem_fit(self, n_jobs):
        self._fit(n_jobs)
