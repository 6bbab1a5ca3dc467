"""Accuracy and speed of float32 against float64 prediction for a saved model.

Scores the test set of a task with a model saved by ``spikeclf train``, each
dtype twice in alternation, one thread, timing ``predict`` alone in CPU time
(the events are made beforehand); prints the accuracies, the share of equal
predictions and the CPU times::

    python benchmarks/float32_cost.py pi_mnist.joblib --dataset pi-mnist \\
        --data-home ../shared/data
    python benchmarks/float32_cost.py nmnist.joblib --dataset nmnist --data-home DIR

Without a model, one epoch on the built-in digits is trained first.
"""

import argparse
import time

import numpy as np

from spikeclf.experiments import iter_test_set, load_or_train, load_task


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
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    task = load_task(args.dataset, args.data_home)
    clf = load_or_train(task, args.model)
    if args.dataset == "nmnist":
        chunks = [(task.X_test, task.y_test)]
    else:
        chunks = list(iter_test_set(task, args.test_duration))
    y = np.concatenate([labels for _, labels in chunks])
    predictions = {}
    for _ in range(args.rounds):
        for dtype in ("float64", "float32"):
            clf.set_params(inference_dtype=dtype, n_jobs=1)
            start = time.thread_time()
            pred = np.concatenate([clf.predict(X) for X, _ in chunks])
            seconds = time.thread_time() - start
            predictions[dtype] = pred
            print(f"{dtype}: accuracy {np.mean(pred == y):.4f}, {seconds:.1f} s CPU")
    equal = np.mean(predictions["float64"] == predictions["float32"])
    print(f"predictions equal in {equal:.2%} of {len(y)} samples")


if __name__ == "__main__":
    main()
