"""
N-MNIST: input event rate over time (Figure 5A) and accuracy as events arrive (5B)
==================================================================================

Trains (34x34x2)-800-10 with tau 200 ms on 300-event windows of emulated N-MNIST
(``spikeclf make-nmnist``), or loads a trained model, then plots the mean input
event rate of the test streams over time and the test accuracy after the first
n events of each stream::

    python examples/nmnist_figure5.py --data-home DIR [--model nmnist.joblib]

``--quick`` emulates 30 digits per split of MNIST into a temporary folder and
trains a small network for 2 epochs. Writes nmnist_figure5.png when matplotlib
is installed.
"""

import argparse
import tempfile

import joblib
import numpy as np

from spikeclf.analysis import accuracy_over_events, event_rate
from spikeclf.datasets import make_nmnist_like
from spikeclf.experiments import default_classifier, load_task, train_on_event_streams

parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
parser.add_argument("--data-home", default=None)
parser.add_argument("--model", help="a classifier trained on N-MNIST (joblib)")
parser.add_argument("--epochs", type=int, default=30)
parser.add_argument("--quick", action="store_true")
args, _ = parser.parse_known_args()

hidden, data_home = (800,), args.data_home
if args.quick:
    data_home = tempfile.mkdtemp()
    make_nmnist_like(args.data_home, data_home, limit=30, progress=False)
    hidden, args.epochs = (50,), 2
task = load_task("nmnist", data_home)
if args.model:
    clf = joblib.load(args.model)
else:
    clf = default_classifier("nmnist", hidden, 0, 0)
    train_on_event_streams(task, clf, epochs=args.epochs, log=print)

times, rate = event_rate(task.X_test, bin_width=0.005)
n_events = np.unique(np.geomspace(10, 6000, 12).astype(int))
accuracy = accuracy_over_events(clf, task.X_test, task.y_test, n_events)
print("time (ms)   " + " ".join(f"{1e3 * t:5.0f}" for t in times[::6]))
print("events/s    " + " ".join(f"{r:5.0f}" for r in rate[::6]))
print("events      " + " ".join(f"{n:5d}" for n in n_events))
print("accuracy %  " + " ".join(f"{100 * a:5.1f}" for a in accuracy))

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: no figure")
else:
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    left.plot(1e3 * times, rate / 1e3)
    left.set(xlabel="time (ms)", ylabel="input events (k/s)", title="A: event rate")
    right.semilogx(n_events, 100 * accuracy, "o-")
    right.set(xlabel="input events", ylabel="test accuracy (%)", title="B: accuracy")
    fig.tight_layout()
    fig.savefig("nmnist_figure5.png", dpi=120)
    print("wrote nmnist_figure5.png")
