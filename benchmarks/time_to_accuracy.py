"""Time to accuracy: test accuracy against seconds of training, spikeclf and snntorch.

What a user waits for is a good network, so this measures the training seconds
(evaluation excluded) each library needs to reach 96, 97 and 98 % on the test
images, on the same machine in the same run:

- spikeclf trains as ``spikeclf train`` does, with any of its options given
  here (``--recipe fast``, ``--batch-size 4``, ``--n-jobs 2``, ...;
  ``--dataset`` defaults to pi-mnist), and is scored after every epoch on the
  test images at 1 s presentations (``--test-duration``);
- snntorch, when torch and snntorch are importable, trains the 784-800-10
  leaky integrate-and-fire network of benchmarks/compare_peers.py by
  backpropagation through time (Adam 2e-3, batch 100, cross-entropy on the
  output spike counts) on the same rate-coded input, Poisson events binned
  into 1 ms steps, fresh events every epoch, torch on all cores; it is scored
  every ``--torch-eval-every`` training samples on the test images at its
  training presentations (``--torch-test-duration``: 1 s would cost about
  four minutes an evaluation).

Prints a line per evaluation, then for each library the training seconds to
reach each accuracy; writes the curves to ``--csv`` and plots them to
``--figure`` (with matplotlib). Training seconds include the encoding of each
epoch's events; evaluation is not timed. Run from a checkout with the kernels
built (snntorch in an environment of its own: compare_peers.py says how)::

    PYTHONPATH=. python benchmarks/time_to_accuracy.py --data-home DIR --recipe fast
    PYTHONPATH=. python benchmarks/time_to_accuracy.py --data-home DIR  # the paper's

A smoke run, in a minute or two: ``--train-samples 6000 --test-samples 1000
--epochs 2 --torch-epochs 1 --torch-eval-every 3000``.
"""

import argparse
import csv
import os
import time
from dataclasses import replace

import numpy as np

from spikeclf import PoissonEncoder
from spikeclf.cli import _build_parser
from spikeclf.experiments import TrainingRun, iter_test_set, load_task, run_training

TARGETS = (0.96, 0.97, 0.98)
TORCH_LEARNING_RATE = 2e-3
TORCH_BATCH = 100


def seconds_to_reach(curve, target):
    """Training seconds of the first evaluation at or above ``target``, or None.

    Parameters
    ----------
    curve : list of dict
        Evaluations in training order, with ``train_seconds`` and
        ``test_accuracy``.
    target : float
        An accuracy in [0, 1].

    Returns
    -------
    float or None
    """
    for point in curve:
        if point["test_accuracy"] >= target:
            return point["train_seconds"]
    return None


def subset(task, train_samples, test_samples):
    """The first ``train_samples`` and ``test_samples`` of ``task`` (None: all)."""
    train, test = slice(train_samples), slice(test_samples)
    return replace(task, X_train=task.X_train[train], y_train=task.y_train[train],
                   X_test=task.X_test[test], y_test=task.y_test[test])  # fmt: skip


# ------------------------------------------------------------------ spikeclf
def spikeclf_curve(run, task):
    """spikeclf's evaluations: one after every ``run.eval_every`` epochs."""
    n_train = len(task.y_train) - run.validation
    history = run_training(run, task=task, log=lambda line: print(line, flush=True))
    return [
        {"library": "spikeclf", "epoch": h["epoch"], "samples": h["epoch"] * n_train,
         "train_seconds": h["train_seconds"], "test_accuracy": h["test_accuracy"]}
        for h in history
    ]  # fmt: skip


# ------------------------------------------------------------------ snntorch
def snntorch_curve(task, *, epochs, eval_every, train_duration, test_duration, seed):
    """snntorch's evaluations: every ``eval_every`` training samples, and at the end."""
    import torch
    from compare_peers import RATE, binned, torch_network

    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(seed)
    modules, step = torch_network("snntorch")
    optimizer = torch.optim.Adam(modules.parameters(), lr=TORCH_LEARNING_RATE)
    encoder = PoissonEncoder(
        rate=RATE, duration=train_duration, permute_pixels=task.permute_pixels,
        random_state=seed,
    ).fit(task.X_train)  # fmt: skip
    labels = torch.from_numpy(np.asarray(task.y_train, dtype=np.int64))

    def output_counts(streams, duration):
        frames = torch.from_numpy(binned(streams, duration))
        state, counts = None, 0
        for t in range(len(frames)):
            _, spikes, state = step(frames[t], state)
            counts = counts + spikes
        return counts

    def test_accuracy():
        correct, n = 0, 0
        with torch.no_grad():
            for streams, y in iter_test_set(task, test_duration, RATE, seed):
                for first in range(0, len(streams), 500):
                    part = slice(first, first + 500)
                    predicted = output_counts(streams[part], test_duration).argmax(1)
                    correct += int(np.sum(predicted.numpy() == y[part]))
                    n += len(y[part])
        return correct / n

    curve, trained, samples = [], 0.0, 0
    print(f"training snntorch 784-800-10, Adam {TORCH_LEARNING_RATE:g}, batch "
          f"{TORCH_BATCH}, {torch.get_num_threads()} threads, epochs 1 to {epochs}; "
          f"scored at {test_duration:g} s presentations", flush=True)  # fmt: skip
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        # Fresh events and order every epoch, from seeds of their own.
        encoder.random_state = np.random.RandomState([seed, epoch])
        streams = encoder.transform(task.X_train)
        order = np.random.RandomState([seed, epoch, 1]).permutation(len(streams))
        trained += time.perf_counter() - start
        for first in range(0, len(order), TORCH_BATCH):
            start = time.perf_counter()
            batch = order[first : first + TORCH_BATCH]
            counts = output_counts([streams[i] for i in batch], train_duration)
            loss = torch.nn.functional.cross_entropy(
                counts, labels[torch.from_numpy(batch)]
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            trained += time.perf_counter() - start
            samples += len(batch)
            last = epoch == epochs and first + TORCH_BATCH >= len(order)
            if samples // eval_every > (samples - len(batch)) // eval_every or last:
                curve.append({"library": "snntorch", "epoch": epoch,
                              "samples": samples, "train_seconds": trained,
                              "test_accuracy": test_accuracy()})  # fmt: skip
                print(f"snntorch epoch {epoch}, {samples} samples: test accuracy "
                      f"{curve[-1]['test_accuracy']:.4f}, {trained:.0f} s of "
                      "training", flush=True)  # fmt: skip
    return curve


def snntorch_available():
    try:
        import snntorch  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# -------------------------------------------------------------------- report
def summary(curves, targets=TARGETS):
    """Lines of the training seconds each library took to reach each target."""
    header = f"{'library':<10}" + "".join(f"{f'{100 * t:.0f} %':>10}" for t in targets)
    lines = [header + "   best"]
    for library, curve in curves.items():
        reached = [seconds_to_reach(curve, t) for t in targets]
        best = max(curve, key=lambda point: point["test_accuracy"])
        lines.append(
            f"{library:<10}"
            + "".join(f"{'-' if s is None else f'{s:.1f} s':>10}" for s in reached)
            + f"   {100 * best['test_accuracy']:.2f} % after "
            f"{best['train_seconds']:.1f} s"
        )
    return lines


def write_csv(path, curves):
    rows = [point for curve in curves.values() for point in curve]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def plot(path, curves, labels, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for library, curve in curves.items():
        seconds = [point["train_seconds"] for point in curve]
        accuracy = [100 * point["test_accuracy"] for point in curve]
        ax.plot(seconds, accuracy, marker="o", markersize=3, label=labels[library])
    for target in TARGETS:
        ax.axhline(100 * target, color="0.8", linewidth=0.8, zorder=0)
    ax.set_xlabel("seconds of training (evaluation excluded)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv):
    """The benchmark's options, and the TrainingRun of the others (spikeclf train's)."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Every other option is one of `spikeclf train`'s, for spikeclf's run.",
        allow_abbrev=False,  # an abbreviation may be one of spikeclf train's options
    )
    parser.add_argument(
        "--train-samples",
        type=int,
        metavar="N",
        help="train on the first N training images (default all)",
    )
    parser.add_argument(
        "--test-samples",
        type=int,
        metavar="N",
        help="score the first N test images (default all)",
    )
    parser.add_argument(
        "--torch-epochs", type=int, default=10, help="snntorch's epochs (default 10)"
    )
    parser.add_argument(
        "--torch-eval-every",
        type=int,
        default=10000,
        metavar="SAMPLES",
        help="score snntorch every SAMPLES training samples (default 10000)",
    )
    parser.add_argument(
        "--torch-test-duration",
        type=float,
        metavar="SECONDS",
        help="snntorch's test presentations (default: its "
        "training presentations, --train-duration)",
    )
    parser.add_argument(
        "--no-snntorch", action="store_true", help="train spikeclf only"
    )
    parser.add_argument("--csv", default="time_to_accuracy.csv")
    parser.add_argument("--figure", default="time_to_accuracy.png")
    args, train_options = parser.parse_known_args(argv)
    # spikeclf train's own defaults, but PI-MNIST and scored after every epoch.
    train = ["train", "--dataset", "pi-mnist", "--eval-every", "1", *train_options]
    return args, TrainingRun.from_namespace(_build_parser().parse_args(train))


def main(argv=None):
    args, run = parse_args(argv)
    task = subset(
        load_task(run.dataset, run.data_home, limit=run.limit),
        args.train_samples,
        args.test_samples,
    )
    print(f"{os.cpu_count()} cores; {len(task.y_train)} training and "
          f"{len(task.y_test)} test samples of {run.dataset}", flush=True)  # fmt: skip
    curves = {"spikeclf": spikeclf_curve(run, task)}
    torch_test = args.torch_test_duration or run.train_duration
    if args.no_snntorch:
        pass
    elif snntorch_available():
        curves["snntorch"] = snntorch_curve(
            task, epochs=args.torch_epochs, eval_every=args.torch_eval_every,
            train_duration=run.train_duration, test_duration=torch_test,
            seed=run.seed,
        )  # fmt: skip
    else:
        print("snntorch: torch or snntorch is not installed, not measured")
    recipe = f"recipe {run.recipe}, " if run.recipe else ""
    labels = {
        "spikeclf": f"spikeclf ({recipe}scored at {run.test_duration:g} s)",
        "snntorch": f"snntorch (BPTT, Adam {TORCH_LEARNING_RATE:g}, batch "
        f"{TORCH_BATCH}, scored at {torch_test:g} s)",
    }
    print(
        f"training seconds to reach a test accuracy (evaluation excluded) on "
        f"{len(task.y_test)} test samples: "
        + "; ".join(labels[library] for library in curves)
    )
    for line in summary(curves):
        print(line)
    write_csv(args.csv, curves)
    print(f"curves in {args.csv}")
    try:
        title = (
            f"{run.dataset}, {len(task.y_train)} training and "
            f"{len(task.y_test)} test samples, {os.cpu_count()} cores"
        )
        plot(args.figure, curves, labels, title)
        print(f"figure in {args.figure}")
    except ImportError:
        print("matplotlib is not installed: no figure")
    return curves


if __name__ == "__main__":
    main()
