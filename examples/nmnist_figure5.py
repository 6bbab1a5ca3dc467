"""
N-MNIST: input event rate over time (Figure 5A) and accuracy as events arrive (5B)
==================================================================================

Trains (34x34x2)-800-10 with tau 200 ms on 300-event windows of emulated N-MNIST
(``spikeclf make-nmnist``), or loads a trained model, then plots the mean input
event rate of the test streams over time and the test accuracy as time passes and
after the first n events of each stream (:func:`spikeclf.reproduce.figure5`)::

    python examples/nmnist_figure5.py --data-home DIR [--model nmnist.joblib]

``--quick`` emulates 30 digits per split of MNIST into a temporary folder and
trains a small network for 2 epochs. Writes nmnist_figure5.png when matplotlib
is installed. ``spikeclf reproduce fig5`` trains the paper's (34x34x2)-200-10 and
writes the figure with its tables.
"""

import argparse
import tempfile

import joblib
import numpy as np

from spikeclf.datasets import make_nmnist_like
from spikeclf.experiments import default_classifier, load_task, train_on_event_streams
from spikeclf.reproduce import figure5, plot_figure5

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

n_events = np.unique(np.geomspace(10, 6000, 12).astype(int))
times = np.arange(1, 11) * 0.03  # the ends of the ten 30 ms frames of Figure 6
result = figure5(clf, task.X_test, task.y_test, times=times, n_events=n_events)
print("time (ms)   " + " ".join(f"{1e3 * t:5.0f}" for t in result["rate_time"][::6]))
print("events/s    " + " ".join(f"{r:5.0f}" for r in result["rate"][::6]))
print("time (ms)   " + " ".join(f"{1e3 * t:5.0f}" for t in times))
print("accuracy %  " + " ".join(f"{100 * a:5.1f}" for a in result["accuracy"]))
print("events      " + " ".join(f"{n:5d}" for n in n_events))
print("accuracy %  " + " ".join(f"{100 * a:5.1f}" for a in result["accuracy_events"]))

try:
    fig = plot_figure5(result)
except ImportError:
    print("matplotlib is not installed: no figure")
else:
    fig.savefig("nmnist_figure5.png", dpi=120)
    print("wrote nmnist_figure5.png")
