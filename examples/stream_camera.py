"""
A real DVS recording streamed through a spiking network as fast as it was recorded
==================================================================================

Reads an AEDAT4 file of an event camera with tonic's reader
(``tonic.io.read_aedat4``, which needs the ``aedat`` package: ``pip install
spikeclf[events]``), downsamples the sensor to N-MNIST's 34 x 34 pixels
(``tonic.transforms.Downsample``) and pushes the events to
``clf.stream()`` in chunks as the camera delivered them: each chunk is pushed
once the wall clock has reached the time its last event was recorded. Prints per
chunk its events, the time the push took and the latency of the answer against
real time (from the end of the chunk's window to the answer)::

    python examples/stream_camera.py recording.aedat4 [--model nmnist.joblib]
        [--chunk-ms 10]

The network is a (34x34x2)-800-10 :class:`~spikeclf.SpikingMLPClassifier`:
the one in ``--model`` (e.g. trained by ``spikeclf train --dataset nmnist``),
else an untrained one (the initialization of Eq. 10, fitted on one empty
sample of each class so that it can predict; its answers mean nothing, its
speed is that of a trained network of the same shape). Without a path, the
recording in ``$SPIKECLF_DATA/events/sample.aedat4`` is used when there is one
(tonic's test recording: 320 x 240 pixels, 0.59 s, 111,954 events).
"""

import argparse
import os
import sys
import time
from pathlib import Path

import joblib
import numpy as np

from spikeclf import SpikingMLPClassifier, make_events

SENSOR = (34, 34, 2)


def read_recording(path):
    """The events of an AEDAT4 file on a 34 x 34 sensor, times from 0 in us."""
    try:
        from tonic.io import read_aedat4
        from tonic.transforms import Downsample
    except ImportError as exc:
        raise ImportError(
            "reading AEDAT4 needs tonic and aedat: pip install spikeclf[events] "
            f"({exc})"
        ) from None
    raw = read_aedat4(str(path))
    width, height = int(raw["x"].max()) + 1, int(raw["y"].max()) + 1
    # The DAVIS346 / DVXplorer sizes the file's coordinates fit in.
    sensor = next(
        (w, h, 2) for w, h in ((240, 180), (320, 240), (346, 260), (640, 480))
        if width <= w and height <= h
    )  # fmt: skip
    events = make_events(
        raw["x"], raw["y"], (raw["t"] - raw["t"][0]).astype(np.int64), raw["p"]
    )
    small = Downsample(sensor_size=sensor, target_size=SENSOR[:2])(events)
    return small[np.argsort(small["t"], kind="stable")], sensor, len(raw)


def network(model):
    if model is not None:
        clf = joblib.load(model)
        if tuple(clf.sensor_size_) != SENSOR:
            raise ValueError(
                f"{model}: a model of a {clf.sensor_size_} sensor, need {SENSOR}"
            )
        return clf, f"{model} ({clf.n_iter_} epochs)"
    clf = SpikingMLPClassifier((800,), max_iter=1, sensor_size=SENSOR, random_state=0)
    empty = make_events([], [], [])
    clf.fit([empty] * 10, np.arange(10))  # no events: the initial weights stay
    return clf, "untrained (34x34x2)-800-10"


def main(args):
    path = args.path or (
        Path(os.environ["SPIKECLF_DATA"]) / "events" / "sample.aedat4"
        if os.environ.get("SPIKECLF_DATA")
        else None
    )
    if path is None or not Path(path).is_file():
        raise FileNotFoundError(
            f"no recording at {path}: pass the path of an AEDAT4 file"
            if path
            else "no recording given: pass the path of an AEDAT4 file"
        )
    events, sensor, n_raw = read_recording(path)
    clf, name = network(args.model)
    print(
        f"{path}: {n_raw} events on a {sensor[0]} x {sensor[1]} sensor, "
        f"{events['t'][-1] / 1e6:.3f} s; downsampled to {SENSOR[0]} x {SENSOR[1]}; "
        f"network {name}"
    )
    step = int(args.chunk_ms * 1000)
    edges = np.arange(0, events["t"][-1] + step + 1, step)
    chunks = np.split(events, np.searchsorted(events["t"], edges[1:-1], side="left"))
    stream = clf.stream()
    print("chunk  events  window end (ms)  push (ms)  latency (ms)  class  p")
    start = time.perf_counter()
    worst, busy = 0.0, 0.0
    for k, chunk in enumerate(chunks):
        window_end = edges[k + 1] / 1e6  # s after the recording began
        wait = start + window_end - time.perf_counter()
        if wait > 0:
            time.sleep(wait)  # the camera has not delivered the chunk yet
        before = time.perf_counter()
        proba = stream.push(chunk)
        done = time.perf_counter()
        latency = done - start - window_end
        worst, busy = max(worst, latency), busy + done - before
        print(
            f"{k:5d}  {len(chunk):6d}  {1e3 * window_end:15.0f}  "
            f"{1e3 * (done - before):9.3f}  {1e3 * latency:12.3f}  "
            f"{clf.classes_[np.argmax(proba)]!s:>5}  {proba.max():.2f}"
        )
    duration = edges[-1] / 1e6
    print(
        f"{len(events)} events in {len(chunks)} chunks of {args.chunk_ms:g} ms: "
        f"{1e3 * busy:.1f} ms of pushing for {1e3 * duration:.0f} ms of recording "
        f"({duration / busy:.0f}x faster than real time), worst latency "
        f"{1e3 * worst:.3f} ms; {int(stream.synops.sum())} synaptic operations, "
        f"{int(stream.counts.sum())} output spikes"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("path", nargs="?", help="an AEDAT4 recording")
    parser.add_argument("--model", help="a classifier of a 34x34x2 sensor (joblib)")
    parser.add_argument("--chunk-ms", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="(the tests' flag)")
    args, _ = parser.parse_known_args()
    try:
        main(args)
    except FileNotFoundError as exc:
        if args.quick:
            raise  # the example tests skip on it
        sys.exit(f"{Path(sys.argv[0]).name}: {exc}")
