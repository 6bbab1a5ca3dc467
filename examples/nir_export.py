"""
A trained network through NIR: what spikeclf reads back, what other tools run
==============================================================================

Exports a trained classifier to a ``.nir`` file (:func:`spikeclf.nir.to_nir`),
reads it back (:func:`spikeclf.nir.from_nir`) with spikeclf's neuron features
(lateral inhibition, refractory period, subtractive reset, lower bound, kept in
the metadata) and without them, as NIR defines the LIF neuron and as snntorch,
norse or sinabs would simulate it (there with time steps), also with the
lateral inhibition written as a recurrent connection
(``to_nir(lateral_inhibition="recurrent")``), then with one of the four
features switched off at a time, and scores each on the PI-MNIST test
set at 1 s::

    python examples/nir_export.py --data-home ~/data --model run.joblib

Without ``--model`` it trains a 784-100-10 network for one epoch first; a model
must come from ``spikeclf train`` with seed 0. ``--quick`` uses the built-in
digits instead.
"""

import argparse
import warnings

import nir
import numpy as np

from spikeclf.experiments import encode_test_set, load_or_train, load_task
from spikeclf.nir import NIRExportWarning, from_nir, to_nir

parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
parser.add_argument("--data-home", default=None)
parser.add_argument("--model", help="a trained classifier (joblib) for the task")
parser.add_argument("--output", default="model.nir")
parser.add_argument("--quick", action="store_true")
args, _ = parser.parse_known_args()

task = load_task("digits" if args.quick else "pi-mnist", args.data_home)
clf = load_or_train(task, args.model, hidden=(100,)).set_params(n_jobs=2)
recurrent = args.output.replace(".nir", "") + "_recurrent.nir"
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", NIRExportWarning)
    nir.write(args.output, to_nir(clf))
    nir.write(recurrent, to_nir(clf, lateral_inhibition="recurrent"))
print(f"wrote {args.output} and {recurrent}; export warning: {caught[0].message}")

X = encode_test_set(task)


def without(feature):
    """The model read back from the file, with one neuron feature switched off."""
    model = from_nir(args.output).set_params(n_jobs=2)
    network = model.network_
    if feature == "lateral inhibition":
        network.kappa = np.zeros_like(network.kappa)
    elif feature == "refractory period":
        network.refractory = 0.0
    elif feature == "subtractive reset":
        network.reset = "zero"
    else:
        network.lower_bound = False
    return model


rows = [
    ("spikeclf, trained model", clf),
    ("read back from the .nir file", from_nir(args.output).set_params(n_jobs=2)),
    *(
        (f"  without {feature}", without(feature))
        for feature in (
            "lateral inhibition",
            "refractory period",
            "subtractive reset",
            "lower bound",
        )
    ),
    (
        "as NIR's LIF (extensions=False)",
        from_nir(args.output, extensions=False).set_params(n_jobs=2),
    ),
    (
        "  with the recurrent inhibition",
        from_nir(recurrent, extensions=False).set_params(n_jobs=2),
    ),
]
print(f"{'model':<34} {'accuracy':>8} {'synaptic ops per sample':>24}", flush=True)
for name, model in rows:
    accuracy = np.mean(model.predict(X) == task.y_test)
    print(f"{name:<34} {accuracy:>8.4f} {model.synops_per_sample_:>24.3g}", flush=True)
