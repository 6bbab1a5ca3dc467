"""The ``spikeclf`` command line: ``train``, ``datasets``, ``pretrained`` and the rest.

The command line parses and prints; :mod:`spikeclf.experiments`,
:mod:`spikeclf.cost` and :mod:`spikeclf.reproduce` do the work. Each command
is a pair of functions below: ``_add_COMMAND`` declares its options and
``_COMMAND`` runs it.
"""

import argparse
import importlib.metadata
import logging
import os
import shlex
import sys
from pathlib import Path

import numpy as np

from . import __version__
from .datasets import MNIST_FILES, find_mnist, get_data_home, load_mnist
from .recipes import RECIPES


def main(argv=None):
    """Run the ``spikeclf`` command; return its exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError) as exc:
        # A user error is one line, not a traceback.
        print(f"spikeclf {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        hint = getattr(args, "resume_hint", lambda args: "")(args)
        print(f"spikeclf {args.command}: interrupted{hint}", file=sys.stderr)
        return 130


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="spikeclf",
        description="Deep spiking neural networks trained on event streams.",
    )
    parser.add_argument(
        "--version", action="version", version=f"spikeclf {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_datasets, _add_train, _add_make_nmnist, _add_compare_cost,
                _add_reproduce, _add_pretrained, _add_package_model):  # fmt: skip
        add(commands)
    return parser


# ----------------------------------------------------------------- datasets
def _add_datasets(commands):
    datasets = commands.add_parser(
        "datasets", help="list the data sets and where they were found"
    )
    datasets.add_argument(
        "--data-home",
        help="data folder (default: $SPIKECLF_DATA, then ~/.cache/spikeclf)",
    )
    datasets.set_defaults(run=_datasets)


def _datasets(args):
    rows = [
        (
            "digits",
            "built in (scikit-learn's 8x8 digits, 1797 samples, sensor (8, 8, 1))",
        )
    ]
    folder = find_mnist(args.data_home)
    try:
        X_train, _, X_test, _ = load_mnist(args.data_home, download=False)
        rows.append(
            (
                "mnist",
                f"found in {folder} ({len(X_train)} train + {len(X_test)} test "
                "images, md5 verified)",
            )
        )
    except FileNotFoundError:
        rows.append(
            (
                "mnist",
                f"not found: put {', '.join(MNIST_FILES)} (.gz or not) in {folder}",
            )
        )
    except ValueError as exc:
        rows.append(("mnist", f"unusable: {exc}"))
    nmnist = get_data_home(args.data_home) / "NMNIST"
    counts = [
        len(list((nmnist / split).glob("[0-9]/*.bin"))) for split in ("Train", "Test")
    ]
    rows.append(
        (
            "nmnist",
            f"{counts[0]} train + {counts[1]} test files in {nmnist}"
            if counts[0] and counts[1]
            else f"not found in {nmnist}: extract the real Train.zip and Test.zip "
            "there, or run `spikeclf make-nmnist`",
        )
    )
    try:
        version = importlib.metadata.version("tonic")
        rows.append(("tonic", f"installed ({version}): real-format event data sets"))
    except importlib.metadata.PackageNotFoundError:
        rows.append(
            ("tonic", "not installed: pip install 'spikeclf[events]' to read N-MNIST")
        )
    for name, status in rows:
        print(f"{name:<8}{status}")
    return 0


# -------------------------------------------------------------------- train
def _add_train(commands):
    train = commands.add_parser(
        "train",
        help="train a spiking MLP (default: the built-in digits, in under a minute)",
        description="Train SpikingMLPClassifier (with --cnn, SpikingCNNClassifier) "
        "on Poisson events of static images: "
        "fresh events every epoch, long presentations for the test set.",
    )
    _add_data_options(train.add_argument_group("data and presentations"))
    _add_model_options(train.add_argument_group("the classifier (fixed once trained)"))
    _add_schedule_options(train.add_argument_group("epochs and averaging"))
    _add_run_options(train.add_argument_group("evaluation, saving, resuming"))
    train.set_defaults(run=_train, resume_hint=_train_resume_hint)


def _add_data_options(group):
    """What the classifier is trained and scored on, and how it is presented."""
    group.add_argument(
        "--dataset",
        default="digits",
        choices=["digits", "mnist", "pi-mnist", "nmnist"],
        help="digits is built in; mnist and pi-mnist (permuted pixels) need the MNIST "
        "files, nmnist the N-MNIST files (real, or made by make-nmnist) "
        "(default: digits)",
    )
    group.add_argument(
        "--data-home", help="folder holding mnist/ (see `spikeclf datasets`)"
    )
    group.add_argument(
        "--validation",
        type=int,
        default=0,
        help="hold out the last N training images and score them with the test "
        "set (the paper's CNN: 10000, training on 50,000); image data sets only",
    )
    group.add_argument(
        "--train-duration",
        type=float,
        default=0.05,
        help="seconds of events per training image (default 0.05)",
    )
    group.add_argument(
        "--average-train-duration",
        type=float,
        metavar="SECONDS",
        help="seconds of events per training image in the epochs that are "
        "averaged (--average; default: --train-duration)",
    )
    group.add_argument(
        "--test-duration",
        type=float,
        default=1.0,
        help="seconds of events per test image (default 1.0)",
    )
    group.add_argument(
        "--window",
        type=int,
        default=300,
        help="nmnist: consecutive events per training presentation (default 300)",
    )
    group.add_argument(
        "--average-window",
        type=int,
        metavar="N",
        help="nmnist: consecutive events per training presentation in the epochs "
        "that are averaged (--average; default: --window)",
    )
    group.add_argument(
        "--limit",
        type=int,
        help="nmnist: read only this many files per digit and split",
    )
    group.add_argument(
        "--elastic",
        nargs="?",
        const=34.0,
        type=float,
        metavar="ALPHA",
        help="elastic distortion of the training images, fresh every epoch, with "
        "displacements scaled by ALPHA pixels (default 34 and sigma 4, Simard et "
        "al. 2003)",
    )


def _add_model_options(group):
    """The classifier's parameters: a --resume'd run must repeat them."""
    group.add_argument(
        "--recipe",
        metavar="NAME",
        help=f"named parameters of the MLP ({', '.join(RECIPES)}; docs/training.md, "
        "Recipes): sets --output-loss, --learning-rate, --decay-epochs, "
        "--batch-size, --epochs, --average, --average-every and "
        "--average-train-duration, except those given",
    )
    group.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        help="hidden layer sizes (default: 100 for digits, 800 for MNIST)",
    )
    group.add_argument(
        "--cnn",
        metavar="LAYERS",
        help="train a SpikingCNNClassifier with these hidden layers, e.g. "
        "20c5-p2-50c5-p2-200 (the paper's); image data sets only",
    )
    group.add_argument(
        "--alpha",
        type=float,
        nargs="+",
        default=[3.0, 1.5],
        help="initial thresholds per layer in units of sqrt(3/fan-in) (default 3 1.5)",
    )
    group.add_argument(
        "--solver",
        choices=["sgd", "adam"],
        help="optimizer (default: sgd for the MLP, adam for the CNN)",
    )
    group.add_argument(
        "--learning-rate",
        type=float,
        help="weight learning rate (default: 0.002 for the MLP, 5e-4 for the CNN)",
    )
    group.add_argument(
        "--learning-rate-scale",
        type=float,
        nargs="+",
        metavar="FACTOR",
        help="factors on the learning rates per trained layer: one for all, "
        "hidden and output, or one per layer (default 1, the paper's)",
    )
    group.add_argument(
        "--decay-epochs",
        type=float,
        help="learning rates and threshold regularization decay by "
        "exp(-epoch / DECAY_EPOCHS) (default 35, the paper's)",
    )
    group.add_argument(
        "--weight-reg",
        type=float,
        default=0.002,
        help="exponential weight regularization lambda of the hidden layers "
        "(default 0.002)",
    )
    group.add_argument(
        "--activity-tau",
        type=float,
        metavar="SECONDS",
        help="time constant of the activities of Eq. 4 that training reads "
        "(default: the membrane's tau, the paper's; inf: spike counts)",
    )
    group.add_argument(
        "--output-loss",
        choices=["max_normalized", "cross_entropy"],
        help="loss on the output spike counts (default: the paper's max_normalized)",
    )
    group.add_argument(
        "--output-neurons",
        choices=["all", "firing"],
        help="output neurons the backward pass starts from: all (the default) or "
        "those that fired and the target",
    )
    group.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="samples per optimizer step, simulated in parallel threads (--n-jobs); "
        "1 is the paper's method (default: 1)",
    )


def _add_schedule_options(group):
    """How long training lasts, and the parameter averaging at its end."""
    group.add_argument(
        "--epochs",
        type=int,
        help="training epochs (default: 30 for digits, 20 for MNIST)",
    )
    group.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="stop after the epoch in which this command's training time "
        "(evaluation excluded) reaches SECONDS, then score and save as at the "
        "last epoch",
    )
    group.add_argument(
        "--average",
        type=int,
        metavar="N",
        help="predict with the mean of the parameters of the epochs after the "
        "first N (stochastic weight averaging; the schedule holds from epoch N); "
        "also applies to a --resume'd run",
    )
    group.add_argument(
        "--average-learning-rate",
        type=float,
        metavar="LR",
        help="weight learning rate while averaging (default: the schedule's at "
        "epoch N)",
    )
    group.add_argument(
        "--average-every",
        type=int,
        metavar="SAMPLES",
        help="while averaging, also add the parameters to the mean after every "
        "SAMPLES training samples (default: at each epoch's end only)",
    )


def _add_run_options(group):
    """Scoring, the saved model, the seed, threads and verbosity."""
    group.add_argument(
        "--eval-every",
        type=int,
        default=0,
        help="score the test set every N epochs too",
    )
    group.add_argument(
        "--output",
        help="save the model here (joblib) after every epoch, written atomically",
    )
    group.add_argument(
        "--resume",
        action="store_true",
        help="continue the run saved in --output, up to --epochs in all",
    )
    group.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    group.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="threads for training (batches of --batch-size > 1) and testing; "
        "-1 all cores",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="a line per epoch (-vv: bars)",
    )


def _train(args):
    from .experiments import TrainingRun, run_training

    def log(line):
        print(line, flush=True)

    run = TrainingRun.from_namespace(args)
    history = run_training(run, log=log)
    if not history:
        print(f"nothing to do: {run.output} has {run.epochs} epochs already")
        return 0
    final = history[-1]
    print(
        f"test accuracy {final['test_accuracy']:.4f}, "
        f"{final['synops_per_sample']:.3g} synaptic operations per test sample"
        + (f"; model saved to {run.output}" if run.output else "")
    )
    return 0


def _train_resume_hint(args):
    if args.output and os.path.exists(args.output):
        return (
            f"; {args.output} holds the last completed epoch: run the same command "
            "with --resume to continue"
        )
    return ""


# -------------------------------------------------------------- make-nmnist
def _add_make_nmnist(commands):
    make = commands.add_parser(
        "make-nmnist",
        help="write an emulated N-MNIST (MNIST through a saccading DVS) in the real "
        "format",
        description="Emulate N-MNIST from MNIST: a DVS making the three saccades over "
        "each digit, one .bin file per digit in the real format and folder layout. "
        "Resumes where an interrupted run stopped.",
    )
    make.add_argument("--mnist-home", help="data folder holding mnist/")
    make.add_argument(
        "--output", help="data folder to write NMNIST/ into (default: --mnist-home)"
    )
    make.add_argument("--limit", type=int, help="only the first N images of each split")
    make.add_argument("--n-jobs", type=int, default=-1, help="processes (default all)")
    make.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    make.set_defaults(
        run=_make_nmnist,
        resume_hint=lambda args: (
            "; the files written are kept: run the same command to write the rest"
        ),
    )


def _make_nmnist(args):
    from .datasets import make_nmnist_like
    from .dvs import SaccadeEmulator

    out = args.output or args.mnist_home
    written = make_nmnist_like(
        args.mnist_home,
        out,
        emulator=SaccadeEmulator(random_state=args.seed),
        limit=args.limit,
        n_jobs=args.n_jobs,
    )
    print(f"wrote {written} files; N-MNIST is in {get_data_home(out) / 'NMNIST'}")
    return 0


# ------------------------------------------------------------- compare-cost
def _add_compare_cost(commands):
    cost = commands.add_parser(
        "compare-cost",
        help="accuracy against operations: SNN against the frame ANN on N-MNIST "
        "(the paper's Figure 6), or against an MLP on MNIST images",
        description="Score a spiking network and an MLP on 30 ms frames on the N-MNIST "
        "test streams as they unfold (--dataset mnist: the SNN on the 1 s Poisson "
        "streams cut at 10 ms to 1 s, an MLP of the same shape on the images); write "
        "the accuracy against operations and time as a CSV and a figure, and print "
        "the operations each needs.",
    )
    cost.add_argument(
        "--dataset",
        choices=("nmnist", "mnist", "digits"),
        default="nmnist",
        help="nmnist (default): event streams, frame ANN; mnist: permutation-"
        "invariant MNIST, MLP on the image; digits: the same on the built-in digits",
    )
    cost.add_argument("--data-home", help="data folder holding NMNIST/ or mnist/")
    cost.add_argument("--snn", help="trained SpikingMLPClassifier (joblib; for mnist "
                      "from `spikeclf train --dataset pi-mnist`, seed 0); default: "
                      "train one with --hidden units for --epochs")  # fmt: skip
    cost.add_argument("--ann", help="trained FrameANNClassifier (nmnist) or "
                      "MLPClassifier (mnist) (joblib); default: train one of the "
                      "SNN's shape")  # fmt: skip
    cost.add_argument(
        "--hidden", type=int, nargs="+", help="hidden units of what is trained "
        "(default 200 for nmnist, 800 for mnist, 100 for digits)",
    )  # fmt: skip
    cost.add_argument(
        "--epochs", type=int, default=10, help="epochs of what is trained"
    )
    cost.add_argument("--limit", type=int, help="files per digit and split")
    cost.add_argument("--csv", default="cost.csv", help="table (default cost.csv)")
    cost.add_argument("--figure", default="cost.png", help="figure (default cost.png)")
    cost.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    cost.add_argument("-v", "--verbose", action="count", default=0)
    cost.set_defaults(run=_compare_cost)


def _compare_cost(args):
    from .cost import compare_cost, cost_summary, cost_table, plot_cost_comparison

    result = compare_cost(
        args.dataset, args.data_home, snn=args.snn, ann=args.ann,
        hidden=args.hidden and tuple(args.hidden), epochs=args.epochs,
        limit=args.limit, random_state=args.seed, verbose=args.verbose,
    )  # fmt: skip
    names = list(result)
    np.savetxt(args.csv, np.column_stack([result[n] for n in names]),
               delimiter=",", header=",".join(names), comments="")  # fmt: skip
    print(cost_table(result))
    target, snn_ops, ann_ops = cost_summary(result)
    print(
        f"to reach {100 * target:.2f} %: SNN {snn_ops:.3g} synaptic operations, ANN "
        f"{ann_ops:.3g} MACs per sample: the ANN needs {ann_ops / snn_ops:.2f} times "
        f"the SNN's; table in {args.csv}"
    )
    try:
        plot_cost_comparison(result, args.figure)
        print(f"figure in {args.figure}")
    except ImportError:
        print("matplotlib is not installed: no figure")
    return 0


# ---------------------------------------------------------------- reproduce
def _add_reproduce(commands):
    reproduce = commands.add_parser(
        "reproduce",
        help="train and score what a table or figure of the paper needs; write a "
        "CSV, a Markdown table, the figure and a JSON of the parameters",
        description="Reproduce tables and figures of Lee, Delbruck and Pfeiffer "
        "(2016): table2 (PI-MNIST), fig2b (hidden weights and thresholds), fig3 "
        "(lateral inhibition), table3 (spiking CNN), table4 (N-MNIST), fig5 (event "
        "rate, accuracy as events arrive), fig6 (operations against an ANN), or "
        "all. Writes OUTPUT/TARGET/TARGET.{csv,md,png,svg,json} and "
        "OUTPUT/reproduce.log. Finished targets are skipped and trainings resume at "
        "their last epoch: rerun the same command after an interruption.",
    )
    reproduce.add_argument(
        "targets", nargs="*", metavar="TARGET",
        help="table2, fig2b, fig3, table3, table4, fig5, fig6 or all",
    )  # fmt: skip
    reproduce.add_argument(
        "--output", default="reproduce", help="output folder (default ./reproduce)"
    )
    reproduce.add_argument(
        "--data-home", help="folder holding mnist/ (see `spikeclf datasets`)"
    )
    reproduce.add_argument(
        "--nmnist-home", help="folder holding NMNIST/ (default: --data-home)"
    )
    reproduce.add_argument(
        "--quick",
        action="store_true",
        help="a reduced run of minutes a target (a few thousand samples, a few "
        "epochs); without MNIST, the built-in digits instead",
    )
    # Seconds on the built-in digits: for the tests.
    reproduce.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    reproduce.add_argument(
        "--force", action="store_true", help="rerun and retrain finished targets"
    )
    reproduce.add_argument(
        "--results",
        metavar="PAGE",
        help="then collect the finished targets of --output into this Markdown "
        "page (e.g. docs/results.md), figures into img/ beside it",
    )
    reproduce.add_argument(
        "-v", "--verbose", action="count", default=0, help="log to stderr too"
    )
    reproduce.set_defaults(
        run=_reproduce,
        resume_hint=lambda args: (
            f"; what finished is kept in {args.output}: run the same command to "
            "continue"
        ),
    )


def _reproduce(args):
    from .reproduce import TARGETS, run_target, write_results_page

    names = list(TARGETS) if "all" in args.targets else list(args.targets)
    unknown = [name for name in names if name not in TARGETS]
    if unknown:
        raise ValueError(
            f"unknown target {unknown[0]!r}: choose from {', '.join(TARGETS)} or all"
        )
    if not names and not args.results:
        raise ValueError(f"name a target ({', '.join(TARGETS)} or all) or --results")
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    command = "spikeclf " + shlex.join(args.argv)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("spikeclf.reproduce")
    logger.setLevel(logging.INFO)
    handlers = [logging.FileHandler(output / "reproduce.log", encoding="utf-8"),
                logging.StreamHandler(sys.stderr)]  # fmt: skip
    handlers[1].setLevel(logging.INFO if args.verbose else logging.WARNING)
    # Errors are printed as one line already: the log file keeps them with a date.
    handlers[1].addFilter(lambda record: not getattr(record, "printed", False))
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    failed = 0
    try:
        logger.info("%s", command)
        for name in names:
            try:
                record = run_target(
                    name, output, mode=mode, data_home=args.data_home,
                    nmnist_home=args.nmnist_home, force=args.force, progress=None,
                    command=command,
                )  # fmt: skip
            except (FileNotFoundError, ValueError) as exc:
                # One target's missing data does not stop the others.
                logger.error("%s: %s", name, exc, extra={"printed": True})
                print(f"spikeclf reproduce: {name}: error: {exc}", file=sys.stderr)
                failed += 1
                continue
            if record["skipped"]:
                print(f"{name}: finished on {record['date'][:10]}, skipped "
                      "(--force reruns it)")  # fmt: skip
            else:
                print(f"{name}: {record['summary']} ({record['seconds']:.0f} s); "
                      f"written to {output / name}", flush=True)  # fmt: skip
        if args.results:
            shown = write_results_page(output, args.results, command=command)
            print(f"results page {args.results}: {', '.join(shown)}")
    except KeyboardInterrupt:
        logger.warning("interrupted: the same command continues from here")
        raise
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
    return 1 if failed else 0


# --------------------------------------------------------------- pretrained
def _add_pretrained(commands):
    pretrained = commands.add_parser(
        "pretrained",
        help="list the shipped networks, or score one on its test set",
        description="Without a name, list the networks that load_pretrained returns "
        "and whether this installation holds them; with a name, score that network "
        "on its data set's whole test set (MNIST at 1 s presentations, N-MNIST's "
        "test streams).",
    )
    pretrained.add_argument("name", nargs="?", help="the network to score")
    pretrained.add_argument("--data-home", help="data folder holding mnist/ or NMNIST/")
    pretrained.set_defaults(run=_pretrained)


def _pretrained(args):
    from importlib import resources

    from .experiments import load_task
    from .pretrained import PRETRAINED, load_pretrained

    if args.name is None:
        models = resources.files("spikeclf") / "models"
        for model in PRETRAINED.values():
            held = "shipped" if (models / model.file).is_file() else "not shipped"
            print(f"{model.name:<14}{held:<13}{model.summary}")
        return 0
    estimator = load_pretrained(args.name)
    task = load_task(PRETRAINED[args.name].task, args.data_home, download=False)
    accuracy = estimator.score(task.X_test, task.y_test)
    print(f"{args.name}: {100 * accuracy:.2f} % of {len(task.y_test)} test samples")
    return 0


def _add_package_model(commands):
    package = commands.add_parser(
        "package-model",
        help="turn a trained network into a shipped model (for load_pretrained)",
        description="Write the prediction network of a `spikeclf train` output "
        "(its running mean, if averaged; no optimizer state), behind its encoder for "
        "MNIST, as a skops file: in float32 if that changes no prediction on the "
        "whole test set, else in float64.",
    )
    package.add_argument("name", help="which shipped model this is (its data set "
                         "and seed)")  # fmt: skip
    package.add_argument("--model", required=True, help="`spikeclf train --output` "
                         "file (joblib)")  # fmt: skip
    package.add_argument("--data-home", help="data folder holding mnist/ or NMNIST/")
    package.add_argument("--output", required=True, help="the .skops file to write")
    package.set_defaults(run=_package_model)


def _package_model(args):
    import joblib

    from .experiments import load_task
    from .pretrained import package_pretrained, pretrained_model

    model = pretrained_model(args.name)
    classifier = joblib.load(args.model)
    task = load_task(model.task, args.data_home, download=False)
    report = package_pretrained(classifier, task, args.output, random_state=model.seed)
    print(
        f"{args.name}: {100 * report['accuracy']:.2f} % of {len(task.y_test)} test "
        f"samples in float64; float32 changes {report['changed']} predictions: "
        f"stored in {report['dtype']} ({100 * report['accuracy_stored']:.2f} %), "
        f"{report['bytes'] / 1e6:.1f} MB in {args.output}"
    )
    return 0
