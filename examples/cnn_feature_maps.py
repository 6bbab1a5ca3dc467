"""
Which feature maps of a spiking CNN fire
========================================

Spikes per sample of every feature map of the convolution layers, and their
thresholds: a map that never fires gets no gradient and stays dead. Without a
model, trains a small CNN on the built-in digits twice, with and without the
threshold regularization of the feature maps, and compares them; with
``--model`` (a saved SpikingCNNClassifier on MNIST), reads that one on 100 MNIST
test images (50 ms presentations), as docs/cnn.md does.

Run it as::

    python examples/cnn_feature_maps.py [--model cnn.joblib --data-home DIR] [--quick]
"""

import argparse

import joblib
import numpy as np
from sklearn.model_selection import train_test_split

from spikeclf import (
    PoissonEncoder,
    SpikingCNNClassifier,
    load_digits_events,
    load_mnist,
)
from spikeclf.convolution import simulate_conv


def spikes_per_map(clf, X):
    """Mean spikes per sample of each feature map, per convolution layer."""
    net = clf.network_
    layers = net.layer_dicts()
    counts = []
    for cut, spec in enumerate(layers, start=1):
        if spec["type"] != "conv":
            continue
        result = simulate_conv(X, net.input_shape, layers[:cut])
        n_maps = spec["weights"].shape[0]
        counts.append(
            result.counts.reshape(len(X), n_maps, -1).sum(axis=(0, 2)) / len(X)
        )
    return counts


def report(name, clf, X):
    print(name)
    maps = spikes_per_map(clf, X)
    # thresholds_ lists the convolution layers first.
    conv_thresholds = clf.thresholds_[: len(maps)]
    for layer, (spikes, th) in enumerate(zip(maps, conv_thresholds, strict=True)):
        print(
            f"  conv layer {layer + 1}: {np.count_nonzero(spikes)} of {len(spikes)} "
            f"maps fire; spikes per sample {np.round(spikes, 1).tolist()}; "
            f"thresholds {np.round(th, 2).tolist()}"
        )


parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
parser.add_argument("--model", help="a saved SpikingCNNClassifier (joblib) on MNIST")
parser.add_argument("--data-home", help="folder holding mnist/ (with --model)")
parser.add_argument("--quick", action="store_true", help="fewer epochs")
args = parser.parse_args()

if args.model:
    _, _, X_test, _ = load_mnist(args.data_home)
    encoder = PoissonEncoder(test_duration=0.05, random_state=1).fit(X_test)
    report(args.model, joblib.load(args.model), encoder.transform(X_test[:100]))
else:
    X, y = load_digits_events(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    for threshold_reg in (0.05, 0.0):
        clf = SpikingCNNClassifier(
            "8c3-p2-40", threshold_reg=threshold_reg, output_loss="cross_entropy",
            max_iter=3 if args.quick else 15, random_state=0,
        )  # fmt: skip
        clf.fit(X_train, y_train)
        report(
            f"digits, threshold_reg={threshold_reg}: test accuracy "
            f"{clf.score(X_test, y_test):.3f}",
            clf,
            X_test,
        )
