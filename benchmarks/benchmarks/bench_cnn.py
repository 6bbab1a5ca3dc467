"""The paper's spiking CNN (20c5-p2-50c5-p2-200): simulation and a training epoch."""

import numpy as np

from spikeclf import PoissonEncoder, SpikingCNNClassifier
from spikeclf.convolution import simulate_conv


def _streams(n, duration):
    rng = np.random.default_rng(0)
    shape = (n, 28, 28)
    images = (rng.random(shape) < 0.19) * rng.integers(1, 256, shape)
    encoder = PoissonEncoder(duration=duration, random_state=0)
    return encoder.fit_transform(images), rng.integers(0, 10, n)


def _network(events, labels):
    """The paper's CNN after 10 training samples (Eq. 10 initialization)."""
    clf = SpikingCNNClassifier(sensor_size=(28, 28, 1), random_state=0)
    clf.partial_fit(events[:10], labels[:10], classes=np.arange(10))
    return clf.network_


class ConvLayers:
    """Inference, 300 ms presentations at 5,000 events/s, untrained (Eq. 10) network."""

    timeout = 300

    def setup(self):
        self.events, labels = _streams(200, 0.3)
        self.network = _network(self.events, labels)
        self.layers = self.network.layer_dicts()

    def time_simulate(self):
        simulate_conv(self.events, (1, 28, 28), self.layers)

    def time_first_conv_layer(self):
        simulate_conv(self.events, (1, 28, 28), self.layers[:1])

    def track_synops_per_second(self):
        import time

        start = time.perf_counter()
        result = simulate_conv(self.events, (1, 28, 28), self.layers)
        return float(result.synops.sum()) / (time.perf_counter() - start)

    track_synops_per_second.unit = "synaptic operations/s"


class ConvInference:
    """The same simulation as predict runs it (threshold units, in float64 or
    float32) and on the parameters as given (docs/cnn.md, Cheaper inference)."""

    timeout = 300
    params = (["as given", "threshold units", "float32"],)
    param_names = ["simulation"]
    OPTIONS = {
        "as given": {},
        "threshold units": {"threshold_units": True},
        "float32": {"threshold_units": True, "dtype": np.float32},
    }

    def setup(self, simulation):
        self.events, labels = _streams(200, 0.3)
        self.layers = _network(self.events, labels).layer_dicts()

    def time_simulate(self, simulation):
        simulate_conv(self.events, (1, 28, 28), self.layers, **self.OPTIONS[simulation])


class TrainEpochCNN:
    """One epoch on 500 50 ms presentations, Adam (the paper's CNN setting)."""

    timeout = 300

    def setup(self):
        self.events, self.labels = _streams(500, 0.05)

    def _epoch(self):
        clf = SpikingCNNClassifier(sensor_size=(28, 28, 1), random_state=0)
        return clf.partial_fit(self.events, self.labels, classes=np.arange(10))

    def time_partial_fit(self):
        self._epoch()

    def peakmem_partial_fit(self):
        self._epoch()

    def track_samples_per_second(self):
        clf = self._epoch()
        return len(self.labels) / clf.epoch_stats_[-1]["seconds"]

    track_samples_per_second.unit = "samples/s"
