"""The ``spikeclf`` command line: ``train``, ``datasets``, ``--version``."""

import argparse
import importlib.metadata
import logging
import os
import shlex
import sys
from pathlib import Path

import joblib
import numpy as np

from . import __version__
from ._base import BaseSpikingClassifier
from .augment import ElasticDistortion
from .datasets import MNIST_FILES, find_mnist, get_data_home, load_mnist


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


def _split_sizes(task, validation):
    """The sizes of the splits a run uses: --validation comes out of training."""
    n_train = len(task.y_train) - (validation or 0)
    held = f"{validation} validation, " if validation else ""
    return f"{n_train} training, {held}{len(task.y_test)} test samples"


def _train_resume_hint(args):
    if args.output and os.path.exists(args.output):
        return (
            f"; {args.output} holds the last completed epoch: run the same command "
            "with --resume to continue"
        )
    return ""


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="spikeclf",
        description="Deep spiking neural networks trained on event streams.",
    )
    parser.add_argument(
        "--version", action="version", version=f"spikeclf {__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    datasets = commands.add_parser(
        "datasets", help="list the data sets and where they were found"
    )
    datasets.add_argument(
        "--data-home",
        help="data folder (default: $SPIKECLF_DATA, then ~/.cache/spikeclf)",
    )
    datasets.set_defaults(run=_datasets)

    train = commands.add_parser(
        "train",
        help="train a spiking MLP (default: the built-in digits, in under a minute)",
        description="Train SpikingMLPClassifier (with --cnn, SpikingCNNClassifier) "
        "on Poisson events of static images: "
        "fresh events every epoch, long presentations for the test set.",
    )
    train.add_argument(
        "--dataset",
        default="digits",
        choices=["digits", "mnist", "pi-mnist", "nmnist"],
        help="digits is built in; mnist and pi-mnist (permuted pixels) need the MNIST "
        "files, nmnist the N-MNIST files (real, or made by make-nmnist) "
        "(default: digits)",
    )
    train.add_argument(
        "--data-home", help="folder holding mnist/ (see `spikeclf datasets`)"
    )
    train.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        help="hidden layer sizes (default: 100 for digits, 800 for MNIST)",
    )
    train.add_argument(
        "--epochs",
        type=int,
        help="training epochs (default: 30 for digits, 20 for MNIST)",
    )
    train.add_argument(
        "--cnn",
        metavar="LAYERS",
        help="train a SpikingCNNClassifier with these hidden layers, e.g. "
        "20c5-p2-50c5-p2-200 (the paper's); image data sets only",
    )
    train.add_argument(
        "--elastic",
        action="store_true",
        help="elastic distortion of the training images, fresh every epoch "
        "(Simard et al. 2003: alpha 34, sigma 4)",
    )
    train.add_argument(
        "--validation",
        type=int,
        default=0,
        help="hold out the last N training images and score them with the test "
        "set (the paper's CNN: 10000, training on 50,000); image data sets only",
    )
    train.add_argument(
        "--solver",
        choices=["sgd", "adam"],
        help="optimizer (default: sgd for the MLP, adam for the CNN)",
    )
    train.add_argument(
        "--learning-rate",
        type=float,
        help="weight learning rate (default: 0.002 for the MLP, 5e-4 for the CNN)",
    )
    train.add_argument(
        "--decay-epochs",
        type=float,
        help="learning rates and threshold regularization decay by "
        "exp(-epoch / DECAY_EPOCHS) (default 35, the paper's)",
    )
    train.add_argument(
        "--alpha",
        type=float,
        nargs="+",
        default=[3.0, 1.5],
        help="initial thresholds per layer in units of sqrt(3/fan-in) (default 3 1.5)",
    )
    train.add_argument(
        "--train-duration",
        type=float,
        default=0.05,
        help="seconds of events per training image (default 0.05)",
    )
    train.add_argument(
        "--test-duration",
        type=float,
        default=1.0,
        help="seconds of events per test image (default 1.0)",
    )
    train.add_argument(
        "--window",
        type=int,
        default=300,
        help="nmnist: consecutive events per training presentation (default 300)",
    )
    train.add_argument(
        "--limit",
        type=int,
        help="nmnist: read only this many files per digit and split",
    )
    train.add_argument(
        "--eval-every",
        type=int,
        default=0,
        help="score the test set every N epochs too",
    )
    train.add_argument(
        "--weight-reg",
        type=float,
        default=0.002,
        help="exponential weight regularization lambda of the hidden layers "
        "(default 0.002)",
    )
    train.add_argument(
        "--average",
        type=int,
        metavar="N",
        help="predict with the mean of the parameters of the epochs after the "
        "first N (stochastic weight averaging; the schedule holds from epoch N); "
        "also applies to a --resume'd run",
    )
    train.add_argument(
        "--average-learning-rate",
        type=float,
        metavar="LR",
        help="weight learning rate while averaging (default: the schedule's at "
        "epoch N)",
    )
    train.add_argument(
        "--average-every",
        type=int,
        metavar="SAMPLES",
        help="while averaging, also add the parameters to the mean after every "
        "SAMPLES training samples (default: at each epoch's end only)",
    )
    train.add_argument(
        "--activity-tau",
        type=float,
        metavar="SECONDS",
        help="time constant of the activities of Eq. 4 that training reads "
        "(default: the membrane's tau, the paper's; inf: spike counts)",
    )
    train.add_argument(
        "--output-loss",
        choices=["max_normalized", "cross_entropy"],
        default="max_normalized",
        help="loss on the output spike counts (default: the paper's max_normalized)",
    )
    train.add_argument(
        "--output",
        help="save the model here (joblib) after every epoch, written atomically",
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue the run saved in --output, up to --epochs in all",
    )
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument(
        "--batch-size",
        type=int,
        help="samples per optimizer step, simulated in parallel threads (--n-jobs); "
        "1 is the paper's method (default: 1)",
    )
    train.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="threads for training (batches of --batch-size > 1) and testing; "
        "-1 all cores",
    )
    train.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="a line per epoch (-vv: bars)",
    )
    train.set_defaults(run=_train, resume_hint=_train_resume_hint)

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
    return parser


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


def _train(args):
    from .experiments import load_task, train_on_event_streams, train_on_images

    if args.cnn and args.dataset == "nmnist":
        raise ValueError("--cnn trains on images: use --dataset digits or mnist")
    if args.elastic and args.dataset == "nmnist":
        raise ValueError("--elastic distorts images: use --dataset digits or mnist")
    task = load_task(args.dataset, args.data_home, limit=args.limit)
    if args.epochs is None:
        args.epochs = 30 if args.dataset == "digits" else 20
    classifier = _classifier(args, task)
    shape = getattr(classifier, "layers", None) or classifier.hidden_layer_sizes
    print(
        f"training {type(classifier).__name__} {shape}, {classifier.solver}, "
        f"learning rate {classifier.learning_rate:g}, alpha {classifier.alpha}, "
        f"{classifier.output_loss} loss on {args.dataset} "
        f"({_split_sizes(task, args.validation)}), "
        f"epochs {getattr(classifier, 'n_iter_', 0) + 1} to {args.epochs}",
        flush=True,
    )
    protocol = dict(
        epochs=args.epochs,
        eval_every=args.eval_every,
        random_state=args.seed,
        save=args.output,
        log=lambda line: print(line, flush=True),
    )
    if args.dataset == "nmnist":
        history = train_on_event_streams(
            task, classifier, window=args.window, **protocol
        )
    else:
        history = train_on_images(
            task,
            classifier,
            augment=ElasticDistortion() if args.elastic else None,
            validation=args.validation,
            train_duration=args.train_duration,
            test_duration=args.test_duration,
            **protocol,
        )
    if not history:
        print(f"nothing to do: {args.output} has {args.epochs} epochs already")
        return 0
    final = history[-1]
    print(
        f"test accuracy {final['test_accuracy']:.4f}, "
        f"{final['synops_per_sample']:.3g} synaptic operations per test sample"
        + (f"; model saved to {args.output}" if args.output else "")
    )
    return 0


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


def _compare_cost(args):
    from .cost import operations_to_reach, plot_cost_comparison

    result = (_event_cost if args.dataset == "nmnist" else _image_cost)(args)
    names = list(result)
    np.savetxt(
        args.csv,
        np.column_stack([result[n] for n in names]),
        delimiter=",",
        header=",".join(names),
        comments="",
    )
    frames = "ann_frame_accuracy" in result
    print(
        "  ms  SNN %   synops   ANN %" + ("  frame %" if frames else "") + "     MACs"
    )
    for i, t in enumerate(result["time"]):
        row = {name: values[i] for name, values in result.items()}
        frame = f" {100 * row['ann_frame_accuracy']:8.2f}" if frames else ""
        print(
            f"{1e3 * t:4.0f} {100 * row['snn_accuracy']:6.2f} "
            f"{row['snn_operations']:8.3g} {100 * row['ann_accuracy']:7.2f}"
            f"{frame} {row['ann_operations']:8.3g}"
        )
    target = min(result["snn_accuracy"].max(), result["ann_accuracy"].max())
    snn_ops = operations_to_reach(
        result["snn_accuracy"], result["snn_operations"], target
    )
    ann_ops = operations_to_reach(
        result["ann_accuracy"], result["ann_operations"], target, interpolate=False
    )
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


def _event_cost(args):
    """N-MNIST: the SNN against the frame ANN on the test streams."""
    from ._ann import FrameANNClassifier
    from .cost import cost_comparison
    from .experiments import load_task, train_on_event_streams

    task = load_task("nmnist", args.data_home, limit=args.limit)
    snn = _cost_snn(args, task, (200,), train_on_event_streams)
    ann = _cost_ann(args, snn, FrameANNClassifier, task.X_train, task.y_train)
    return cost_comparison(snn, ann, task.X_test, task.y_test)


def _image_cost(args):
    """Images: the SNN on their Poisson streams against an MLP on the pixels."""
    from sklearn.neural_network import MLPClassifier

    from .cost import image_cost_comparison
    from .experiments import encode_test_set, load_task, train_on_images

    name = "pi-mnist" if args.dataset == "mnist" else "digits"
    task = load_task(name, args.data_home, limit=args.limit)
    default = (800,) if args.dataset == "mnist" else (100,)
    snn = _cost_snn(args, task, default, train_on_images)
    scale = float(task.X_train.max())
    features = task.X_train.reshape(len(task.X_train), -1) / scale
    mlp = _cost_ann(args, snn, MLPClassifier, features, task.y_train)
    X = encode_test_set(task, random_state=args.seed)  # what `train` scored
    test_features = task.X_test.reshape(len(task.X_test), -1) / scale
    return image_cost_comparison(snn, mlp, X, test_features, task.y_test)


def _cost_ann(args, snn, estimator, X, y):
    """The ANN of compare-cost: loaded from --ann, or one of the SNN's shape fitted."""
    if args.ann:
        return joblib.load(args.ann)
    return estimator(
        snn.hidden_layer_sizes,
        max_iter=args.epochs,
        random_state=args.seed,
        verbose=bool(args.verbose),
    ).fit(X, y)


def _cost_snn(args, task, default_hidden, train):
    """The SNN of compare-cost: loaded from --snn, or trained for --epochs."""
    from .experiments import default_classifier

    if args.snn:
        return joblib.load(args.snn)
    hidden = tuple(args.hidden) if args.hidden else default_hidden
    snn = default_classifier(task.name, hidden, args.seed, args.verbose)
    train(task, snn, epochs=args.epochs, random_state=args.seed, log=print)
    return snn


def _classifier(args, task):
    """The classifier to train: saved in --output with --resume, else a new one."""
    from .experiments import default_classifier

    if args.resume:
        if not args.output:
            raise ValueError("--resume continues the run saved in --output: give both")
        if os.path.exists(args.output):
            classifier = joblib.load(args.output)
            if not isinstance(classifier, BaseSpikingClassifier):
                raise ValueError(
                    f"{args.output} holds a {type(classifier).__name__}, not a "
                    "spikeclf spiking classifier"
                )
            _check_resumed(classifier, args)
            print(f"resuming {args.output} after epoch {classifier.n_iter_}")
            return classifier.set_params(
                verbose=args.verbose, n_jobs=args.n_jobs, **_averaging(args)
            )
    return default_classifier(
        args.dataset,
        args.hidden,
        args.seed,
        args.verbose,
        layers=args.cnn,
        sensor_size=getattr(task, "sensor_size", None),
        n_jobs=args.n_jobs,
        **_averaging(args),
        **_training_options(args),
    )


def _training_options(args):
    """The classifier parameters the command's training options give (named as
    the parameters; the ones not given left out, for the defaults)."""
    return _given(
        alpha=tuple(args.alpha),
        output_loss=args.output_loss,
        weight_reg=args.weight_reg,
        solver=args.solver,
        learning_rate=args.learning_rate,
        decay_epochs=args.decay_epochs,
        activity_tau=args.activity_tau,
        batch_size=args.batch_size,
    )


def _check_resumed(classifier, args):
    """Refuse a --resume whose options disagree with the run saved in --output.

    The saved classifier is what continues, so a differing option would be
    ignored, and a differing --seed would permute the pixels and draw the events
    of another run: the saved work would go on with the wrong data.
    """
    given = {
        "random_state": args.seed,
        "hidden_layer_sizes": args.hidden and tuple(args.hidden),
        "layers": args.cnn,
        **_training_options(args),
    }
    flags = {
        "random_state": "--seed",
        "hidden_layer_sizes": "--hidden",
        "layers": "--cnn",
    }
    saved = classifier.get_params()
    # None on either side cannot disagree: an option not given, one the saved
    # classifier does not have (a CNN's hidden sizes) or left at its default.
    differ = [
        f"{flags.get(name, '--' + name.replace('_', '-'))} {_shown(value)} "
        f"(saved: {_shown(saved[name])})"
        for name, value in given.items()
        if value is not None
        and saved.get(name) is not None
        and _shown(value) != _shown(saved[name])
    ]
    if differ:
        raise ValueError(
            f"--resume continues {args.output} with the options it was started with, "
            f"but {', '.join(differ)}: give its own (only --epochs, --eval-every, "
            "--average, --average-learning-rate, --average-every, --train-duration, "
            "--test-duration, --window, --n-jobs and -v may change)"
        )


def _shown(value):
    """An option's value as the command line writes it (3 and 3.0 alike)."""
    if isinstance(value, (tuple, list)):
        return " ".join(_shown(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _averaging(args):
    """--average, --average-learning-rate and --average-every, when given."""
    return _given(
        average=args.average,
        average_learning_rate=args.average_learning_rate,
        average_every=args.average_every,
    )


def _given(**options):
    """The options given on the command line: those not None."""
    return {name: value for name, value in options.items() if value is not None}


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
