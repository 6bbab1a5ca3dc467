"""Accuracy against synaptic operations when predictions stop early (margins 1..N).

Scores the test set of a task with a model saved by ``spikeclf train``, on one
thread, with the early-decision rule of ``predict_early`` at margins 1..N and on
the whole streams (:func:`spikeclf.cost.early_decision_curve`); prints one row
per margin (accuracy, its difference to the whole streams' in points, mean
synaptic operations as a share of the whole streams', samples decided, mean
decision time) and the smallest margin within ``--tolerance`` points of the
whole-stream accuracy. Writes the figure and a CSV when asked::

    python benchmarks/early_decisions.py pi.joblib --dataset pi-mnist \\
        --data-home ../shared/data --figure docs/img/early_pi_mnist.png
    python benchmarks/early_decisions.py nmnist.joblib --dataset nmnist --data-home DIR

Without a model, one epoch on the built-in digits is trained first.
"""

import argparse
import csv
import time

from spikeclf.cost import early_decision_curve, plot_early_decision_curve
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
    parser.add_argument("--max-margin", type=int, default=10)
    parser.add_argument("--limit", type=int, help="score only the first N test samples")
    parser.add_argument("--tolerance", type=float, default=0.2, help="points")
    parser.add_argument("--figure", help="write the curve there (PNG)")
    parser.add_argument("--csv", help="write the table there")
    args = parser.parse_args()

    task = load_task(args.dataset, args.data_home)
    clf = load_or_train(task, args.model).set_params(n_jobs=1)
    if args.dataset == "nmnist":
        chunks = [(task.X_test, task.y_test)]
    else:
        chunks = iter_test_set(task, args.test_duration)
    margins = range(1, args.max_margin + 1)
    start, parts, n = time.thread_time(), [], 0
    for X, y in chunks:
        if args.limit is not None:
            X, y = X[: args.limit - n], y[: args.limit - n]
        if len(y) == 0:
            break
        parts.append((len(y), early_decision_curve(clf, X, y, margins)))
        n += len(y)
    seconds = time.thread_time() - start
    # Means over the chunks, weighted by their sizes.
    curve = {
        key: sum(k * part[key] for k, part in parts) / n
        for key in parts[0][1]
        if key != "margin"
    }
    curve["margin"] = parts[0][1]["margin"]
    whole = 100 * curve["whole_accuracy"]
    print(
        f"{n} test samples, {args.dataset}: whole streams {whole:.2f} %, "
        f"{curve['whole_synops']:.3g} synaptic operations per sample, "
        f"{curve['whole_time'] * 1e3:.0f} ms; {seconds:.0f} s CPU for the curve"
    )
    print("margin  accuracy %  points  synops % of whole  decided %  time (ms)")
    rows = []
    for k, m in enumerate(curve["margin"]):
        row = (
            int(m),
            100 * curve["accuracy"][k],
            100 * curve["accuracy"][k] - whole,
            100 * curve["synops"][k] / curve["whole_synops"],
            100 * curve["decided"][k],
            1e3 * curve["decision_time"][k],
        )
        rows.append(row)
        print("{:6d}  {:10.2f}  {:+6.2f}  {:17.1f}  {:9.1f}  {:9.1f}".format(*row))
    within = [row for row in rows if row[2] >= -args.tolerance]
    if within:
        m, acc, diff, share = within[0][:4]
        print(
            f"smallest margin within {args.tolerance} points: {m} ({acc:.2f} %, "
            f"{diff:+.2f} points, {share:.1f} % of the synaptic operations)"
        )
    else:
        print(f"no margin up to {args.max_margin} within {args.tolerance} points")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(
                ["margin", "accuracy", "points", "synops_share", "decided", "time_ms"]
            )
            out.writerows([[f"{v:.4g}" for v in row] for row in rows])
    if args.figure:
        name = {"pi-mnist": "PI-MNIST", "nmnist": "N-MNIST"}.get(
            args.dataset, args.dataset
        )
        plot_early_decision_curve(curve, args.figure, label=f"{name}, {n} test samples")
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
