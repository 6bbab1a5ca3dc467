"""Accuracy and speed of cheaper inference for a saved model, in one run.

Scores test images with a model saved by ``spikeclf train`` (a
SpikingMLPClassifier or a SpikingCNNClassifier) in three ways, simulated as
``predict`` does (the same network, events and classes) but for the options:

- ``float64``: the parameters as they are, in float64 (``threshold_units=False``);
- ``float64, threshold units``: every potential in units of its neuron's
  threshold, what ``predict`` runs with ``inference_dtype="float64"``;
- ``float32, threshold units``: what ``predict`` runs with
  ``inference_dtype="float32"``.

Each chunk of test images is packed once and simulated in the three ways in
turn, ``--rounds`` times with the order rotated, on one thread; the CPU time of
the simulations alone is summed per way. Prints the accuracies, the CPU times
and their ratio to the first way, and against the first way the predictions
that differ and the samples whose output spike counts differ::

    python benchmarks/float32_cost.py pi_mnist.joblib --dataset pi-mnist \\
        --data-home DIR
    python benchmarks/float32_cost.py cnn.joblib --dataset mnist --data-home DIR \\
        --test-duration 0.3 --n-test 2000
    python benchmarks/float32_cost.py nmnist.joblib --dataset nmnist --data-home DIR

Without a model, one epoch on the built-in digits is trained first.
"""

import argparse
import itertools
import time

import numpy as np

from spikeclf.events import check_events
from spikeclf.experiments import iter_test_set, load_or_train, load_task

WAYS = {
    "float64": {"dtype": "float64", "threshold_units": False},
    "float64, threshold units": {"dtype": "float64", "threshold_units": True},
    "float32, threshold units": {"dtype": "float32", "threshold_units": True},
}


def test_chunks(task, args):
    """(streams, labels) chunks of the first ``--n-test`` test samples (all
    when None), with the events the whole test set would have."""
    if args.dataset == "nmnist":
        chunks = iter([(task.X_test, task.y_test)])
    else:
        chunks = iter_test_set(task, args.test_duration)
    left = np.inf if args.n_test is None else args.n_test
    for streams, labels in chunks:
        if left <= 0:
            return
        take = int(min(left, len(labels)))
        yield streams[:take], labels[:take]
        left -= take


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="model saved by spikeclf train")
    parser.add_argument(
        "--dataset", default="digits", choices=["digits", "mnist", "pi-mnist", "nmnist"]
    )
    parser.add_argument("--data-home", default=None)
    parser.add_argument(
        "--test-duration",
        type=float,
        default=1.0,
        help="seconds of events per test image (image data sets)",
    )
    parser.add_argument(
        "--n-test",
        type=int,
        default=None,
        help="score the first N test samples only (default: the whole test set)",
    )
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    task = load_task(args.dataset, args.data_home)
    clf = load_or_train(task, args.model)
    network = clf._prediction_network
    names = list(WAYS)
    seconds = {name: 0.0 for name in names}
    predictions = {name: [] for name in names}
    counts = {name: [] for name in names}
    synops = {name: 0 for name in names}
    labels = []
    turn = itertools.count()
    for streams, y in test_chunks(task, args):
        packed = check_events(streams, clf.sensor_size_)
        labels.append(y)
        for r in range(args.rounds):
            shift = next(turn) % len(names)
            for name in names[shift:] + names[:shift]:
                start = time.thread_time()
                result = network.simulate(packed, n_jobs=1, **WAYS[name])
                seconds[name] += time.thread_time() - start
                if r == 0:
                    proba = clf._proba(result)
                    predictions[name].append(clf.classes_[np.argmax(proba, axis=1)])
                    counts[name].append(result.counts)
                    synops[name] += int(result.synops.sum())
    y = np.concatenate(labels)
    n = len(y)
    print(f"{type(clf).__name__}, {n} test samples, {args.rounds} rounds, one thread")
    base = names[0]
    pred_base, counts_base = np.concatenate(predictions[base]), np.vstack(counts[base])
    for name in names:
        pred, cnt = np.concatenate(predictions[name]), np.vstack(counts[name])
        print(
            f"{name}: accuracy {np.mean(pred == y):.4f}, {seconds[name]:.1f} s CPU "
            f"({seconds[base] / seconds[name]:.2f}x), {synops[name] / n:.4g} synaptic "
            f"operations a sample; against {base}: {int(np.sum(pred != pred_base))} "
            f"predictions of {n} differ, output counts differ in "
            f"{int(np.sum(np.any(cnt != counts_base, axis=1)))}, output spikes "
            f"{cnt.sum() / counts_base.sum():.5f} as many"
        )


if __name__ == "__main__":
    main()
