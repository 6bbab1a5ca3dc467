"""
What makes spike-based backprop learn faster on PI-MNIST
========================================================

Trains 784-800-10 networks for 3 epochs on the first 10,000 training images
(fresh 50 ms Poisson presentations every epoch) with one option changed at a time
from the paper's defaults, and scores the first 2,000 test images (1 s
presentations) after every epoch::

    python examples/pi_mnist_options.py --data-home ~/data

About 7 minutes on one core; ``--quick`` runs two options on 1,000 images.
"""

import argparse

from spikeclf import SpikingMLPClassifier
from spikeclf.experiments import load_task, train_on_images

OPTIONS = {
    "paper defaults": {},
    "learning rate x2": {"learning_rate": 0.004},
    "learning rate x4": {"learning_rate": 0.008},
    "no threshold regularization": {"threshold_reg": 0.0},
    "threshold regularization x4": {"threshold_reg": 0.2},
    "output alpha 3 (not 1.5)": {"alpha": (3.0, 3.0)},
    "output alpha 0.75": {"alpha": (3.0, 0.75)},
    "weight regularization x10": {"weight_reg": 0.02},
    "adam, learning rate 5e-4": {"solver": "adam", "learning_rate": 5e-4},
    "adam, learning rate 1e-3": {"solver": "adam", "learning_rate": 1e-3},
    "cross-entropy output loss": {"output_loss": "cross_entropy"},
    "cross-entropy, learning rate x2": {
        "output_loss": "cross_entropy",
        "learning_rate": 0.004,
    },
    "cross-entropy, output alpha 3": {"output_loss": "cross_entropy", "alpha": (3, 3)},
    "cross-entropy, threshold reg x2": {
        "output_loss": "cross_entropy",
        "threshold_reg": 0.1,
    },
    "cross-entropy, weight reg x10": {
        "output_loss": "cross_entropy",
        "weight_reg": 0.02,
    },
    "cross-entropy, adam 1e-3": {
        "output_loss": "cross_entropy",
        "solver": "adam",
        "learning_rate": 1e-3,
    },
}

parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
parser.add_argument("--data-home", default=None)
parser.add_argument("--quick", action="store_true")
parser.add_argument("--only", nargs="+", choices=list(OPTIONS), help="options to run")
args, _ = parser.parse_known_args()

task = load_task("pi-mnist", args.data_home)
n_train, n_test, names = 10000, 2000, args.only or list(OPTIONS)
if args.quick:
    n_train, n_test, names = 1000, 300, names[:2]
task.X_train, task.y_train = task.X_train[:n_train], task.y_train[:n_train]
task.X_test, task.y_test = task.X_test[:n_test], task.y_test[:n_test]
print(f"{'option':<30}{'epoch 1':>9}{'epoch 2':>9}{'epoch 3':>9}")
for name in names:
    clf = SpikingMLPClassifier((800,), random_state=0, **OPTIONS[name])
    history = train_on_images(task, clf, epochs=3, eval_every=1, log=lambda line: None)
    scores = [100 * h["test_accuracy"] for h in history]
    print(f"{name:<30}" + "".join(f"{s:>8.1f}%" for s in scores))
