"""
Memory of prediction: streamed in chunks against packed at once
===============================================================

Scores the 10,000 PI-MNIST test images at 1 s (50 M events) with ``n_jobs=2``
and reports, with ``tracemalloc``, the peak memory that ``predict`` adds on top
of its input, first as spikeclf does it (1,024 samples at a time), then with
the whole set packed at once::

    python examples/predict_memory.py --data-home ~/data [--model run.joblib]

Without ``--model`` it trains a 784-100-10 network for one epoch first; a
model must come from ``spikeclf train`` with seed 0 (the pixel permutation).
``--quick`` uses the built-in digits instead.
"""

import argparse
import time
import tracemalloc

import numpy as np

import spikeclf._mlp
from spikeclf.experiments import encode_test_set, load_or_train, load_task

parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
parser.add_argument("--data-home", default=None)
parser.add_argument("--model", help="a trained classifier (joblib) for the task")
parser.add_argument("--quick", action="store_true")
args, _ = parser.parse_known_args()

task = load_task("digits" if args.quick else "pi-mnist", args.data_home)
clf = load_or_train(task, args.model, hidden=(100,)).set_params(n_jobs=2)
X = encode_test_set(task)
size = sum(s.nbytes for s in X) / 2**20
print(f"{len(X)} samples, {sum(len(s) for s in X)} events, {size:.0f} MiB of input")
default_chunk = spikeclf._base._PREDICT_CHUNK
for chunk, name in ((default_chunk, "in chunks"), (len(X), "at once")):
    spikeclf._base._PREDICT_CHUNK = chunk
    tracemalloc.start()
    start = time.perf_counter()
    accuracy = np.mean(clf.predict(X) == task.y_test)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(
        f"{name:>9}: accuracy {accuracy:.4f}, {peak:.0f} MiB at the peak above the "
        f"input, {seconds:.1f} s"
    )
spikeclf._base._PREDICT_CHUNK = default_chunk
