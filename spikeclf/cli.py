"""The ``spikeclf`` command line: ``spikeclf --version``, ``spikeclf datasets``."""

import argparse
import importlib.metadata
import sys

from . import __version__
from .datasets import MNIST_FILES, find_mnist, load_mnist


def main(argv=None):
    """Run the ``spikeclf`` command; return its exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError) as exc:
        # A user error is one line, not a traceback.
        print(f"spikeclf {args.command}: error: {exc}", file=sys.stderr)
        return 1


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
    return parser


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
