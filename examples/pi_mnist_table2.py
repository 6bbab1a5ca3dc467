"""
Permutation-invariant MNIST: the networks of Table 2
====================================================

Trains the three spiking networks of the paper's Table 2 on permutation-invariant
MNIST (fresh 50 ms Poisson presentations every epoch, 1 s test presentations) and
prints their test accuracy next to the paper's::

    python examples/pi_mnist_table2.py --data-home ../shared/data --epochs 150

The full run takes hours; ``--quick`` trains on 3,000 images for 2 epochs and tests on
1,000 (a minute). MNIST must be in ``--data-home`` (see ``spikeclf datasets``).
"""

import argparse

from spikeclf import SpikingMLPClassifier
from spikeclf.experiments import load_task, train_on_images

NETWORKS = [  # hidden layers, solver, lateral inhibition, paper's accuracy (Table 2)
    ((800,), "sgd", (-0.4, -1.0), 98.64),
    ((500, 500), "sgd", (-0.4, 0.0, -1.0), 98.70),
    ((300, 300), "adam", (-0.4, 0.0, -1.0), 98.77),
]

parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
parser.add_argument("--data-home", default=None)
parser.add_argument("--epochs", type=int, default=150)
parser.add_argument("--quick", action="store_true")
args, _ = parser.parse_known_args()

task = load_task("pi-mnist", args.data_home)
epochs = args.epochs
if args.quick:
    task.X_train, task.y_train = task.X_train[:3000], task.y_train[:3000]
    task.X_test, task.y_test = task.X_test[:1000], task.y_test[:1000]
    epochs = 2
print(f"{'network':<16}{'solver':<8}{'test accuracy':>14}{'paper':>8}")
for hidden, solver, kappa, paper in NETWORKS:
    clf = SpikingMLPClassifier(
        hidden_layer_sizes=hidden,
        solver=solver,
        learning_rate=0.002 if solver == "sgd" else 0.0005,
        lateral_inhibition=kappa,
        random_state=0,
    )
    history = train_on_images(task, clf, epochs=epochs, log=lambda line: None)
    name = "784-" + "-".join(map(str, hidden)) + "-10"
    accuracy = 100 * history[-1]["test_accuracy"]
    print(f"{name:<16}{solver:<8}{accuracy:>13.2f}%{paper:>7.2f}%", flush=True)
