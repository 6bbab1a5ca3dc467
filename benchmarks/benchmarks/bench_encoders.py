"""Encoding images into events: runs once per training epoch, so it must be cheap."""

import numpy as np

from spikeclf import PoissonEncoder, check_events


class PoissonEncoding:
    """MNIST-sized images (28x28, about 20 % lit pixels), 5,000 events/s."""

    params = ([0.05, 1.0],)
    param_names = ["duration"]

    def setup(self, duration):
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, size=(2000, 28, 28)).astype(np.uint8)
        images[rng.random(images.shape) > 0.2] = 0
        self.images = images
        self.encoder = PoissonEncoder(duration=duration, random_state=0).fit(images)
        self.streams = self.encoder.transform(images)

    def time_transform(self, duration):
        self.encoder.transform(self.images)

    def peakmem_transform(self, duration):
        self.encoder.transform(self.images)

    def time_check_events(self, duration):
        check_events(self.streams, (28, 28, 1))

    def track_events_per_image(self, duration):
        return float(np.mean([len(s) for s in self.streams]))
