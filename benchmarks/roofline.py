"""Synaptic operations per second of the simulator against the machine's roofline.

A 784-800-10 network (Eq. 10 initialization, thresholds spread per neuron by
+-20 % as training leaves them, lateral inhibition -0.4 / -1.0) on
Poisson-encoded MNIST digits, 1 s presentations at 5,000 events/s, one thread,
simulated as ``predict`` does, with potentials in threshold units
(``threshold_units=True``), in float64 and in float32; and in float64 on the
parameters as given (per-neuron thresholds read in the loops). The rooflines
are measured in the same run: adding 800-float weight rows, gathered in event
order from the 784 x 800 matrix, into one accumulator (a plain C loop,
``spikeclf._lif.accumulate_rows``), in float64 and float32. Run:
``python benchmarks/roofline.py``.
"""

import argparse
import time

import numpy as np

from spikeclf import PoissonEncoder, check_events, load_mnist
from spikeclf._alignment import aligned
from spikeclf._lif import accumulate_rows
from spikeclf.simulator import in_threshold_units, simulate


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def workload(data_home, n_samples):
    """The benchmark's events and network: (packed, source, weights, thresholds)."""
    rng = np.random.default_rng(0)
    try:
        images = load_mnist(data_home, download=False)[2][:n_samples]
        source = "MNIST test digits"
    except (FileNotFoundError, ValueError):
        images = (rng.random((n_samples, 28, 28)) < 0.2) * 255
        source = "random images (MNIST not found)"
    packed = check_events(
        PoissonEncoder(rate=5000, duration=1.0, random_state=0).fit_transform(images),
        (28, 28, 1),
    )
    sizes, alpha = [784, 800, 10], [3.0, 3.0]
    weights, thresholds = [], []
    for (m, n), a in zip(zip(sizes[:-1], sizes[1:], strict=False), alpha, strict=True):
        bound = np.sqrt(3 / m)
        weights.append(rng.uniform(-bound, bound, size=(m, n)))
        thresholds.append(a * bound * rng.uniform(0.8, 1.2, size=n))
    return packed, source, weights, thresholds


def simulate_workload(packed, weights, thresholds, dtype=np.float64):
    return simulate(
        packed,
        weights,
        thresholds,
        tau=20e-3,
        refractory=1e-3,
        lateral_inhibition=(-0.4, -1.0),
        t_end=1.0,
        n_jobs=1,
        dtype=dtype,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-home", default=None, help="folder with MNIST (else random digits)"
    )
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    packed, source, weights, thresholds = workload(args.data_home, args.samples)
    # In threshold units and cast once here, as simulate(threshold_units=True)
    # does once per predict: not timed.
    units, ones = in_threshold_units(weights, thresholds)
    units32 = [w.astype(np.float32) for w in units]
    ones32 = [th.astype(np.float32) for th in ones]

    def run(dtype=np.float64, network=None):
        single = dtype == np.float32
        network = network or ((units32, ones32) if single else (units, ones))
        return simulate_workload(packed, *network, dtype)

    result = run()
    synops = result.synops.sum()
    result32 = run(np.float32)
    synops32 = result32.synops.sum()
    rows = packed.channel
    # On cache lines, as the simulator's copies: the roofline is the best case.
    w64, w32 = aligned(weights[0]), aligned(weights[0], np.float32)
    acc64, acc32 = aligned(np.zeros(800)), aligned(np.zeros(800), np.float32)
    # Interleaved, best of `repeat`: the machine is shared and noisy.
    timings = {"sim": [], "sim32": [], "exact": [], "f64": [], "f32": []}
    for _ in range(args.repeat):
        timings["sim"].append(best_of(1, run))
        timings["sim32"].append(best_of(1, lambda: run(np.float32)))
        timings["exact"].append(best_of(1, lambda: run(network=(weights, thresholds))))
        timings["f64"].append(best_of(1, lambda: accumulate_rows(w64, rows, acc64)))
        timings["f32"].append(best_of(1, lambda: accumulate_rows(w32, rows, acc32)))
    t_sim, t_sim32, t_exact, t64, t32 = (
        min(timings[k]) for k in ("sim", "sim32", "exact", "f64", "f32")
    )
    roof64, roof32 = len(rows) * 800 / t64, len(rows) * 800 / t32
    rate, rate32 = synops / t_sim, synops32 / t_sim32
    n = packed.n_samples
    print(f"input: {source}, {n} samples, {len(rows) / n:.0f} events each, 1 thread")
    print(f"roofline, gathered float64 rows: {roof64 / 1e9:.2f} G additions/s")
    print(f"roofline, gathered float32 rows: {roof32 / 1e9:.2f} G additions/s")
    print(
        f"hidden spikes per sample: {result.synops[:, 1].sum() / 10 / n:.1f}; lateral "
        f"inhibition updates per sample: {result.inhibitions.sum() / n:.0f} "
        "(not synaptic operations)"
    )
    print(
        f"simulator: {rate / 1e9:.2f} G synaptic operations/s ({synops / n:.3g} per "
        f"sample, {n / t_sim:.1f} samples/s at 1 s presentations)"
    )
    print(f"ratio to the float64 roofline: {rate / roof64:.2f}")
    exact = run(network=(weights, thresholds))
    print(
        f"parameters as given (per-neuron thresholds in the loops): ratio "
        f"{synops / t_exact / roof64:.2f}; threshold units {t_exact / t_sim:.2f}x "
        f"faster, output counts equal in "
        f"{np.mean(np.all(exact.counts == result.counts, axis=1)):.0%} of the samples"
    )
    agree = np.mean(np.all(result32.counts == result.counts, axis=1))
    print(
        f"float32 simulator: {rate32 / 1e9:.2f} G synaptic operations/s "
        f"({n / t_sim32:.1f} samples/s); ratio to the float32 roofline: "
        f"{rate32 / roof32:.2f}; speedup over float64: {t_sim / t_sim32:.2f}x; "
        f"output counts equal to float64 in {agree:.0%} of the samples"
    )


if __name__ == "__main__":
    main()
