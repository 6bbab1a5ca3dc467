"""
Permutation-invariant MNIST: the networks of Table 2
====================================================

Trains the three spiking networks of the paper's Table 2 on permutation-invariant
MNIST (fresh 50 ms Poisson presentations every epoch, 1 s test presentations) with
:func:`spikeclf.reproduce.table2` and prints their test accuracy next to the paper's::

    python examples/pi_mnist_table2.py --data-home ~/data --epochs 150

The full run takes hours; ``--quick`` trains on 3,000 images for 2 epochs and tests on
1,000 (a minute). MNIST must be in ``--data-home`` (see ``spikeclf datasets``).
``spikeclf reproduce table2`` runs the same with learning curves, a CSV, a Markdown
table, the figure and a record of the parameters, resumable.
"""

import argparse

from spikeclf.experiments import load_task
from spikeclf.reproduce import PAPER, table2

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
# Score after the last epoch only; the paper averages its last 20.
rows = table2(task, epochs=epochs, eval_every=0, average_last=1)
print(f"{'network':<16}{'solver':<8}{'test accuracy':>14}{'paper':>8}")
for row, paper in zip(rows, PAPER["table2"], strict=True):
    accuracy, average = row["accuracy"][1], paper["accuracy"][1]
    print(f"{row['network']:<16}{row['solver']:<8}{accuracy:>13.2f}%{average:>7.2f}%")
