"""
Simulate a spiking network on event streams
===========================================

Run an untrained 64-100-10 winner-take-all network (Eq. 10 initialization) on the
built-in digits events, event by event, and read its output spikes and its cost as
events accumulate. Runs in a second, with no download.
"""

import numpy as np

from spikeclf import load_digits_events, simulate

digits = load_digits_events(duration=0.2, random_state=0)
rng = np.random.default_rng(0)
weights, thresholds = [], []
for m, n in [(64, 100), (100, 10)]:
    bound = np.sqrt(
        3 / m
    )  # Eq. 10: w ~ U[-sqrt(3/M), sqrt(3/M)], V_th = alpha sqrt(3/M)
    weights.append(rng.uniform(-bound, bound, size=(m, n)))
    thresholds.append(np.full(n, 3.0 * bound))

for t_end in (0.05, 0.1, 0.2):
    result = simulate(
        digits.data[:200],
        weights,
        thresholds,
        tau=20e-3,
        refractory=1e-3,
        lateral_inhibition=(-0.4, -1.0),
        t_end=t_end,
        sensor_size=digits.sensor_size,
    )
    print(
        f"after {t_end * 1e3:.0f} ms: {result.counts.sum(axis=1).mean():.1f} output "
        "spikes "
        f"and {result.synops.sum(axis=1).mean():.0f} synaptic operations per sample "
        f"(+{result.inhibitions.sum(axis=1).mean():.0f} lateral inhibition updates)"
    )
