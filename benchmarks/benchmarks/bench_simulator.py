"""The event-driven simulator: a 784-800-10 WTA network on Poisson digits."""

import time

import numpy as np

from spikeclf import PoissonEncoder, SpikingMLPClassifier, check_events
from spikeclf._alignment import aligned
from spikeclf._lif import accumulate_rows
from spikeclf.simulator import simulate


def _network(rng, sizes=(784, 800, 10), alpha=3.0):
    """Eq. 10 initialization: w ~ U[-sqrt(3/M), sqrt(3/M)], V_th = alpha sqrt(3/M)."""
    weights, thresholds = [], []
    for m, n in zip(sizes[:-1], sizes[1:], strict=False):
        bound = np.sqrt(3 / m)
        weights.append(rng.uniform(-bound, bound, size=(m, n)))
        thresholds.append(np.full(n, alpha * bound))
    return weights, thresholds


class Simulate784x800x10:
    """1 s presentations at 5,000 events/s, lateral inhibition -0.4 / -1.0."""

    params = ([1, 2],)
    param_names = ["n_jobs"]
    timeout = 300
    dtype = np.float64

    def setup(self, n_jobs):
        rng = np.random.default_rng(0)
        images = (rng.random((16, 28, 28)) < 0.19) * rng.integers(1, 256, (16, 28, 28))
        streams = PoissonEncoder(duration=1.0, random_state=0).fit_transform(images)
        self.packed = check_events(streams, (28, 28, 1))
        # Cast and aligned once, outside the timing, as simulate would.
        self.weights, self.thresholds = (
            [aligned(a, self.dtype) for a in arrays] for arrays in _network(rng)
        )

    def _run(self, n_jobs):
        return simulate(
            self.packed, self.weights, self.thresholds, lateral_inhibition=(-0.4, -1.0),
            t_end=1.0, n_jobs=n_jobs, dtype=self.dtype,
        )  # fmt: skip

    def time_simulate(self, n_jobs):
        self._run(n_jobs)

    def peakmem_simulate(self, n_jobs):
        self._run(n_jobs)

    def track_roofline_ratio(self, n_jobs):
        """Synaptic operations per second over the roofline of gathered rows of the
        same dtype (1 thread)."""
        if n_jobs != 1:
            return float("nan")
        synops = self._run(1).synops.sum()
        acc, rows = aligned(np.zeros(800), self.dtype), self.packed.channel
        best_sim = best_roof = np.inf
        for _ in range(5):
            start = time.perf_counter()
            self._run(1)
            best_sim = min(best_sim, time.perf_counter() - start)
            start = time.perf_counter()
            accumulate_rows(self.weights[0], rows, acc)
            best_roof = min(best_roof, time.perf_counter() - start)
        return (synops / best_sim) / (len(rows) * 800 / best_roof)

    track_roofline_ratio.unit = "ratio"


class Simulate784x800x10Float32(Simulate784x800x10):
    """The same network and inputs, simulated in float32 (inference only)."""

    dtype = np.float32


class Predict784x800x10:
    """SpikingMLPClassifier.predict on 16 presentations of 1 s, by inference dtype."""

    params = (["float64", "float32"],)
    param_names = ["inference_dtype"]
    timeout = 300

    def setup(self, inference_dtype):
        rng = np.random.default_rng(0)
        shape = (16, 28, 28)
        images = (rng.random(shape) < 0.19) * rng.integers(1, 256, shape)
        # One short epoch fits the model: predict's cost does not depend on training.
        train = PoissonEncoder(duration=0.05, random_state=0).fit_transform(images)
        self.clf = SpikingMLPClassifier(
            inference_dtype=inference_dtype, random_state=0
        ).partial_fit(train, np.arange(16) % 10, classes=np.arange(10))
        self.events = PoissonEncoder(duration=1.0, random_state=1).fit_transform(images)

    def time_predict(self, inference_dtype):
        self.clf.predict(self.events)
