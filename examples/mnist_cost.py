"""
MNIST: synaptic operations of the spiking MLP against MACs of an MLP on the image
================================================================================

The static-image side of the cost comparison: a trained SpikingMLPClassifier on
Poisson events (5,000 events/s, the test presentation cut at growing times)
against scikit-learn's MLPClassifier of the same shape on the image (one
forward pass: inputs x hidden + hidden x outputs MACs):

    python examples/mnist_cost.py --data-home ../shared/data --model pi-mnist.joblib

``--model`` is a classifier trained by ``spikeclf train --dataset pi-mnist``
(seed 0, so the pixel permutation matches); without it a small one is trained.
``--quick`` uses the built-in digits.
"""

import argparse
import time

import numpy as np
from sklearn.neural_network import MLPClassifier

from spikeclf.cost import operations_to_reach
from spikeclf.experiments import encode_test_set, load_or_train, load_task

parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
parser.add_argument("--data-home", default=None)
parser.add_argument("--model", help="SpikingMLPClassifier trained on pi-mnist, seed 0")
parser.add_argument("--quick", action="store_true")
args, _ = parser.parse_known_args()

task = load_task("digits" if args.quick else "pi-mnist", args.data_home)
snn = load_or_train(task, args.model, epochs=5 if args.quick else 10)
hidden = snn.hidden_layer_sizes
X_events = encode_test_set(task)  # the streams spikeclf train scored it on

start = time.perf_counter()
scale = task.X_train.max()
flat = task.X_train.reshape(len(task.X_train), -1) / scale
mlp = MLPClassifier(hidden, max_iter=20, random_state=0).fit(flat, task.y_train)
ann_accuracy = mlp.score(task.X_test.reshape(len(task.X_test), -1) / scale, task.y_test)
sizes = [flat.shape[1], *hidden, 10]
macs = int(np.dot(sizes[:-1], sizes[1:]))
print(f"MLP {sizes}: {100 * ann_accuracy:.2f} %, {macs} MACs per image "
      f"({time.perf_counter() - start:.0f} s to train)")  # fmt: skip

print("  ms   SNN %   synaptic operations")
accuracy, operations = [], []
for ms in (10, 20, 50, 100, 200, 500, 1000):
    cut = [s[: np.searchsorted(s["t"], 1000 * ms)] for s in X_events]
    accuracy.append(snn.score(cut, task.y_test))
    operations.append(snn.synops_per_sample_)
    print(f"{ms:4d}  {100 * accuracy[-1]:6.2f}   {operations[-1]:.3g}")
target = min(max(accuracy), ann_accuracy)
snn_ops = operations_to_reach(accuracy, operations, target)
print(f"to reach {100 * target:.2f} %: SNN {snn_ops:.3g} synaptic operations, MLP "
      f"{macs} MACs: the MLP needs {macs / snn_ops:.2f} times the SNN's")  # fmt: skip
