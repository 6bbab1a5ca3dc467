"""
Encode images as Poisson event streams
======================================

Encode scikit-learn's 8x8 digits as events and check that the events of each pixel
follow its intensity. Runs in a second, with no download.
"""

import numpy as np
from sklearn.datasets import load_digits

from spikeclf import PoissonEncoder, check_events

digits = load_digits()
encoder = PoissonEncoder(rate=5000, duration=0.05, random_state=0)
streams = encoder.fit_transform(digits.images)
print(
    f"{len(streams)} streams on a {encoder.sensor_size_} sensor, "
    f"{np.mean([len(s) for s in streams]):.1f} events each on average"
)

packed = check_events(streams, encoder.sensor_size_)
counts = np.bincount(packed.channel, minlength=64).reshape(8, 8)
brightness = digits.images.sum(axis=0)
print(
    "correlation of event counts with pixel brightness:",
    round(float(np.corrcoef(counts.ravel(), brightness.ravel())[0, 1]), 4),
)
first = streams[0]
print("first events of sample 0 (x, y, t in us, p):", first[:5].tolist())
