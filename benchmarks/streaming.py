"""Speed of clf.stream() against real time, in 1 ms, 10 ms and whole-stream chunks.

Pushes test streams of N-MNIST (real or emulated by ``spikeclf make-nmnist``)
through a (34x34x2)-800-10 network, one thread, each chunking in turn, and
prints per chunking the time of the pushes against the streams' duration (how
many times faster than real time), the mean time of one push, and of its
kernel alone (``EventStream._kernel.push``, without validation and reading);
then the per-call overhead: the time of a push of an empty chunk against a
push of a 1 ms chunk, all measured in this one run::

    python benchmarks/streaming.py --data-home DIR [--model nmnist.joblib]

Without ``--data-home``, Poisson streams of the built-in 8x8 digits scaled to
34 x 34 (300 ms, 4,000 events each, N-MNIST's statistics) stand in. Without a
model, an untrained (34x34x2)-800-10 network (fitted on one empty sample of
each class) simulates: the cost of an event is that of a trained network.
"""

import argparse
import time

import joblib
import numpy as np

from spikeclf import PoissonEncoder, SpikingMLPClassifier, make_events
from spikeclf.datasets import load_nmnist

SENSOR = (34, 34, 2)


def test_streams(data_home, n):
    """n streams of N-MNIST's test set, every digit alike, or Poisson stand-ins."""
    if data_home is not None:
        X, y = load_nmnist(data_home, train=False)
        per_digit = -(-n // 10)
        pick = np.concatenate([np.flatnonzero(y == d)[:per_digit] for d in range(10)])
        return [X[i] for i in pick[:n]], "N-MNIST test streams"
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    images = np.stack([zoom(im, 34 / 8, order=1) for im in load_digits().images[:n]])
    X = PoissonEncoder(rate=4000 / 0.3, duration=0.3, random_state=0).fit_transform(
        np.clip(images / 16.0, 0, 1)
    )
    # Both polarities, as a DVS gives them.
    X = [make_events(e["x"], e["y"], e["t"], np.arange(len(e)) % 2) for e in X]
    return X, "Poisson streams of 8x8 digits scaled to 34x34"


def network(model):
    if model is not None:
        return joblib.load(model).set_params(n_jobs=1), model
    clf = SpikingMLPClassifier((800,), max_iter=1, sensor_size=SENSOR, random_state=0)
    clf.fit([make_events([], [], [])] * 10, np.arange(10))
    return clf, "untrained (34x34x2)-800-10"


def split(events, width):
    """Chunks of ``width`` us from time 0 to the end of the last window."""
    edges = np.arange(0, events["t"][-1] + width + 1, width)
    return np.split(events, np.searchsorted(events["t"], edges[1:-1], side="left"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", help="folder holding NMNIST/")
    parser.add_argument("--model", help="a classifier of a 34x34x2 sensor (joblib)")
    parser.add_argument("--n-streams", type=int, default=100)
    args = parser.parse_args()

    X, source = test_streams(args.data_home, args.n_streams)
    clf, name = network(args.model)
    n_events = sum(len(e) for e in X)
    print(f"{len(X)} {source} ({n_events / len(X):.0f} events each), network {name}")
    stream = clf.stream()
    print("chunks   x real time  push (us)  kernel alone (us)  pushes")
    one_ms = None
    for label, width in (("1 ms", 1000), ("10 ms", 10_000), ("whole", None)):
        pushes, kernel, duration, n_pushes = 0.0, 0.0, 0.0, 0
        for events in X:
            chunks = [events] if width is None else split(events, width)
            duration += events["t"][-1] if width is None else len(chunks) * width
            stream.reset()
            start = time.perf_counter()
            for chunk in chunks:
                stream.push(chunk)
            pushes += time.perf_counter() - start
            # The kernel alone, on the same chunks packed beforehand.
            packed = [stream_input(stream, chunk) for chunk in chunks]
            stream.reset()
            start = time.perf_counter()
            for channel, t in packed:
                stream._kernel.push(channel, t)
            kernel += time.perf_counter() - start
            n_pushes += len(chunks)
        if width == 1000:
            one_ms = pushes / n_pushes
        print(
            f"{label:>6}  {duration * 1e-6 / pushes:11.0f}  "
            f"{1e6 * pushes / n_pushes:9.1f}  {1e6 * kernel / n_pushes:17.1f}  "
            f"{n_pushes:6d}"
        )
    empty = X[0][:0]
    stream.reset()
    stream.push(X[0][: len(X[0]) // 2])
    repeats = 20_000
    start = time.perf_counter()
    for _ in range(repeats):
        stream.push(empty)
    per_empty = (time.perf_counter() - start) / repeats
    print(
        f"per-call overhead: a push of an empty chunk {1e6 * per_empty:.1f} us, "
        f"{per_empty / one_ms:.2f} times a push of a 1 ms chunk "
        f"({1e6 * one_ms:.1f} us)"
    )


def stream_input(stream, chunk):
    """The kernel's arrays of a chunk: what push validates and packs."""
    from spikeclf import check_events

    packed = check_events([chunk], stream.sensor_size)
    return packed.channel, packed.t


if __name__ == "__main__":
    main()
