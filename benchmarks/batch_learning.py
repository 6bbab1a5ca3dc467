"""Test accuracy against epochs at several batch sizes: what batches cost in learning.

PI-MNIST 784-800-10 (cross-entropy output loss, SGD at a per-sample learning
rate of 0.001, the other parameters the defaults), fresh 50 ms Poisson
presentations every epoch, the 10,000 test images scored at 1 s after the
epochs given; one line per evaluation, and a CSV with ``--csv``. The batch's
gradient is the sum of its samples' (docs/training.md, "Batches"), so the
learning rate is the same at every batch size::

    python benchmarks/batch_learning.py --data-home DIR --batch-sizes 1 4 8 16 \
        --epochs 20 --evaluate 5 10 20

Each batch size trains in turn; ``--n-jobs`` threads do not change the numbers.
"""

import argparse
import csv
import time

from spikeclf import SpikingMLPClassifier
from spikeclf.experiments import load_task, train_on_images


def learning_curve(task, batch_size, epochs, evaluate, n_jobs, seed):
    """The test accuracies of one batch size at the epochs in ``evaluate``."""
    classifier = SpikingMLPClassifier(
        hidden_layer_sizes=(800,),
        output_loss="cross_entropy",
        learning_rate=0.001,
        batch_size=batch_size,
        n_jobs=n_jobs,
        random_state=seed,
        sensor_size=task.sensor_size,
    )
    rows, start = [], time.perf_counter()
    for stop in evaluate:
        history = train_on_images(
            task, classifier, epochs=stop, random_state=seed, log=lambda line: None
        )
        rows.append(
            {
                "batch_size": batch_size,
                "epoch": stop,
                "test_accuracy": history[-1]["test_accuracy"],
                "train_accuracy": classifier.train_scores_[-1],
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
        print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--evaluate", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", help="file that receives the rows")
    args = parser.parse_args(argv)
    task = load_task("pi-mnist", args.data_home)
    evaluate = sorted({e for e in args.evaluate if e <= args.epochs} | {args.epochs})
    rows = []
    for batch_size in args.batch_sizes:
        rows += learning_curve(
            task, batch_size, args.epochs, evaluate, args.n_jobs, args.seed
        )
    if args.csv:
        with open(args.csv, "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
