"""Running a target: its data, its outputs (CSV, Markdown, figure), its record."""

import importlib.metadata
import json
import logging
import platform
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import scipy
import sklearn

from .. import __version__
from .._ann import FrameANNClassifier
from .._persistence import write_atomically
from ..cost import cost_comparison, operations_to_reach, plot_cost_comparison
from ..datasets import find_mnist, get_data_home, load_digits_events, load_nmnist
from ..dvs import NMNIST_SENSOR_SIZE
from ..experiments import EventTask, load_task, split_digits
from .checkpoints import _train_streams
from .measure import (
    _curve_csv,
    _stream_classifier,
    figure2b,
    figure3,
    figure5,
    table2,
    table3,
    table4,
)
from .plots import plot_figure2b, plot_figure3, plot_figure5, plot_learning_curves
from .registry import _DATA_NAMES, PAPER, TARGETS, target_parameters

logger = logging.getLogger(__name__)
_STARTED = time.time()  # --force retrains what was trained before this process


@dataclass
class _Report:
    """What a target writes: tables, a figure, notes on the paper's numbers."""

    table: list  # Markdown rows, the first is the header
    csv: dict  # file suffix ("" for the main one) -> (columns, rows)
    figure: object = None  # callable returning a matplotlib Figure
    notes: list = field(default_factory=list)
    summary: str = ""  # one line for the terminal


@dataclass
class _Context:
    mode: str
    data_home: object
    nmnist_home: object
    checkpoint_dir: Path
    progress: bool
    data: str = ""  # what data the target used, filled in when loaded


def _subset(task, n_train, n_test):
    return replace(
        task, X_train=task.X_train[:n_train], y_train=task.y_train[:n_train],
        X_test=task.X_test[:n_test], y_test=task.y_test[:n_test],
    )  # fmt: skip


def _image_task(params, ctx):
    """The images of ``params["data"]``; quick mode: the digits if MNIST is missing."""
    name = params["data"]
    try:
        task = load_task(name, ctx.data_home, download=ctx.mode == "full")
    except FileNotFoundError as exc:
        if ctx.mode != "quick":
            raise
        logger.warning(
            "MNIST not found in %s (%s): --quick uses the built-in 8x8 digits "
            "instead", find_mnist(ctx.data_home), str(exc).splitlines()[0],
        )  # fmt: skip
        task = load_task("digits")
        name = "digits"
    task = _subset(task, params["n_train"], params["n_test"])
    where = "" if name == "digits" else f" from {find_mnist(ctx.data_home)}"
    ctx.data = (
        f"{_DATA_NAMES[name]}{where}: {len(task.y_train)} training, "
        f"{len(task.y_test)} test images"
    )
    return task


def _stream_task(params, ctx):
    """N-MNIST (``n_train``/``n_test`` spread over the digits), or digits events."""
    if params["data"] == "digits-events":
        X, y = load_digits_events(return_X_y=True, duration=0.1, random_state=0)
        X_train, X_test, y_train, y_test = split_digits(X, y)
        task = EventTask("digits-events", X_train, y_train, X_test, y_test, (8, 8, 1))
        task = _subset(task, params["n_train"], params["n_test"])
    else:
        per_digit = [None if n is None else -(-n // 10)
                     for n in (params["n_train"], params["n_test"])]  # fmt: skip
        X_train, y_train = load_nmnist(ctx.nmnist_home, train=True, limit=per_digit[0])
        X_test, y_test = load_nmnist(ctx.nmnist_home, train=False, limit=per_digit[1])
        task = EventTask("nmnist", X_train, y_train, X_test, y_test, NMNIST_SENSOR_SIZE)
    where = ""
    if task.name == "nmnist":
        where = f" from {get_data_home(ctx.nmnist_home) / 'NMNIST'}"
    ctx.data = (
        f"{_DATA_NAMES[task.name]}{where}: {len(task.y_train)} training, "
        f"{len(task.y_test)} test streams"
    )
    return task


def _ops(value):
    """3 significant digits, exponent without + and zeros: 4.56e4."""
    mantissa, _, exponent = f"{value:.2e}".partition("e")
    return f"{mantissa}e{int(exponent)}"


def _pct(fraction):
    return f"{100 * fraction:.2f}"


def _span(values):
    """``[min, mean, max]`` as the paper prints it, or one number."""
    if values[0] == values[2]:
        return f"{values[1]:.2f}"
    return "[" + ", ".join(f"{v:.2f}" for v in values) + "]"


def _run_table2(params, ctx):
    task = _image_task(params, ctx)
    rows = table2(
        task, networks=params["networks"], epochs=params["epochs"],
        eval_every=params["eval_every"], average_last=params["average_last"],
        test_duration=params["test_duration"], random_state=params["seed"],
        checkpoint_dir=ctx.checkpoint_dir, progress=ctx.progress,
    )  # fmt: skip
    papers = [spec.get("accuracy") for spec in params["networks"]]
    table = [["network", "solver", "lateral inhibition", "test accuracy (%)",
              "paper (%)"]]  # fmt: skip
    csv_rows = []
    for row, paper in zip(rows, papers, strict=True):
        kappa = ", ".join(f"{k:g}" for k in row["lateral_inhibition"])
        table.append(
            [
                f"SNN {row['network']}",
                row["solver"],
                kappa,
                _span(row["accuracy"]),
                _span(paper) if paper else "-",
            ]
        )
        csv_rows.append([row["network"], row["solver"], kappa.replace(", ", " "),
                         *row["accuracy"], *(paper or [np.nan] * 3),
                         row["synops_per_sample"], row["train_seconds"]])  # fmt: skip
    for name, units, accuracy in PAPER["table2_others"]:
        table.append([f"{name}, {units}", "", "", "", f"{accuracy:.2f}"])
    curves = {f"{r['network']} {r['solver']}": r["curve"] for r in rows}
    paper_lines = {f"{r['network']} {r['solver']}": p[1]
                   for r, p in zip(rows, papers, strict=True) if p}  # fmt: skip
    best, best_paper = max(
        zip(rows, papers, strict=True), key=lambda pair: pair[0]["accuracy"][1]
    )
    return _Report(
        table=table,
        csv={
            "": (
                [
                    "network",
                    "solver",
                    "lateral_inhibition",
                    "accuracy_min",
                    "accuracy_mean",
                    "accuracy_max",
                    "paper_min",
                    "paper_mean",
                    "paper_max",
                    "synops_per_sample",
                    "train_seconds",
                ],
                csv_rows,
            ),
            "curves": (
                ["network", "epoch", "test_accuracy"],
                [
                    [name, e, a]
                    for name, c in curves.items()
                    for e, a in zip(c["epoch"], c["test_accuracy"], strict=True)
                ],
            ),
        },  # fmt: skip
        figure=lambda: plot_learning_curves(
            curves, paper_lines, title="Table 2 networks: learning curves"
        ),
        notes=[
            f"Accuracy {_accuracy_note(params)}; the paper's are [min, average, max] "
            "over the last 20 of 150 (Table 2's footnote says 181-200) epochs on all "
            "60,000 training and 10,000 test images. The last rows are the other "
            "models of the paper's Table 2."
        ],
        summary=f"best {best['network']} {best['solver']} {best['accuracy'][1]:.2f} %"
        + (f" (paper {best_paper[1]:.2f} %)" if best_paper else ""),
    )


def _accuracy_note(params):
    last = params.get("average_last", 1)
    if last > 1:
        return (
            f"as [min, mean, max] over the evaluations of the last {last} of "
            f"{params['epochs']} epochs"
        )
    return f"after {_epochs(params['epochs'])}"


def _epochs(n):
    return f"{n} epoch" + ("" if n == 1 else "s")


def _run_fig2b(params, ctx):
    task = _image_task(params, ctx)
    result = figure2b(
        task, hidden=params["hidden"], epochs=params["epochs"],
        test_duration=params["test_duration"], random_state=params["seed"],
        checkpoint_dir=ctx.checkpoint_dir, progress=ctx.progress,
    )  # fmt: skip
    th, w = result["thresholds"], result["weights"].reshape(len(result["weights"]), -1)
    strongest = np.abs(w).max(axis=1)
    table = [
        ["network", "test accuracy (%)", "initial threshold",
         "thresholds min / median / max", "largest weight a neuron, median"],
        [result["network"], _pct(result["test_accuracy"]),
         f"{result['initial_threshold']:.3g}",
         f"{th.min():.3g} / {np.median(th):.3g} / {th.max():.3g}",
         f"{np.median(strongest):.3g}"],
    ]  # fmt: skip
    csv_rows = [[i, th[i], w[i].min(), w[i].max(), np.abs(w[i]).mean()]
                for i in range(len(th))]  # fmt: skip
    return _Report(
        table=table,
        csv={
            "": (
                ["neuron", "threshold", "weight_min", "weight_max", "weight_mean_abs"],
                csv_rows,
            )
        },  # fmt: skip
        figure=lambda: plot_figure2b(result),
        notes=[
            "The paper's Figure 2B shows the same kind of picture for 784-100-10 with "
            "winner-take-all (no numbers): localized, stroke-like weights, the "
            "sparse representation the lateral inhibition leads to. Pixels are "
            "shown in their place (the permutation undone)."
        ],
        summary=f"{result['network']} {_pct(result['test_accuracy'])} %",
    )


def _run_fig3(params, ctx):
    task = _image_task(params, ctx)
    result = figure3(
        task, hidden_sizes=params["hidden_sizes"], strengths=params["strengths"],
        epochs=params["epochs"], test_duration=params["test_duration"],
        random_state=params["seed"], checkpoint_dir=ctx.checkpoint_dir,
        progress=ctx.progress,
    )  # fmt: skip
    paper_best = PAPER["figure3_best_lateral_inhibition"]
    strengths, accuracy = result["strengths"], result["accuracy"]
    table = [["hidden N", *(f"kappa {k:g}" for k in strengths), "best kappa",
              "paper's best"]]  # fmt: skip
    for n, row in zip(result["hidden_sizes"], accuracy, strict=True):
        best = strengths[int(np.argmax(row))]
        table.append([str(n), *(_pct(a) for a in row), f"{best:g}", f"{paper_best:g}"])
    best_all = [strengths[int(np.argmax(row))] for row in accuracy]
    return _Report(
        table=table,
        csv={
            "": (
                ["hidden", "lateral_inhibition", "test_accuracy"],
                [
                    [n, k, accuracy[i, j]]
                    for i, n in enumerate(result["hidden_sizes"])
                    for j, k in enumerate(strengths)
                ],
            )
        },  # fmt: skip
        figure=lambda: plot_figure3(result, best=paper_best),
        notes=[
            f"Test accuracy (%) of 784-N-10 after {_epochs(params['epochs'])}, "
            "one seed (the same initial weights for every kappa); output layer "
            "-1.0. The paper found -0.4 best for every N, averaging epochs 131-150."
        ],
        summary="best kappa "
        + ", ".join(
            f"{k:g} (N={n})"
            for n, k in zip(result["hidden_sizes"], best_all, strict=True)
        )
        + f" (paper {paper_best:g})",  # fmt: skip
    )


def _one_network_outputs(row, described, paper, paper_mean, title):
    """The CSV and the figure of a target that trains one network.

    The CSV's row: the network, the ``described`` columns, its [min, mean, max]
    accuracy, the ``paper`` columns, its synaptic operations and training
    seconds; besides, its learning curve, which the figure draws against
    ``paper_mean``.
    """
    columns = [
        "network",
        *described,
        "accuracy_min",
        "accuracy_mean",
        "accuracy_max",
        *paper,
        "synops_per_sample",
        "train_seconds",
    ]
    cells = [
        row["network"],
        *described.values(),
        *row["accuracy"],
        *paper.values(),
        row["synops_per_sample"],
        row["train_seconds"],
    ]
    name = row["network"]
    return {
        "csv": {"": (columns, [cells]), "curve": _curve_csv(row["curve"])},
        "figure": lambda: plot_learning_curves(
            {name: row["curve"]}, {name: paper_mean}, title=title
        ),
    }  # fmt: skip


def _run_table3(params, ctx):
    task = _image_task(params, ctx)
    row = table3(
        task, layers=params["layers"], elastic=params["elastic"],
        output_loss=params["output_loss"], epochs=params["epochs"],
        eval_every=params["eval_every"], average_last=params["average_last"],
        test_duration=params["test_duration"], random_state=params["seed"],
        checkpoint_dir=ctx.checkpoint_dir, progress=ctx.progress,
    )  # fmt: skip
    prep = "elastic distortion" if params["elastic"] else "none"
    table = [["network", "preprocessing", "ensemble", "test accuracy (%)",
              "paper (%)"],
             [f"spiking CNN {row['network']} (this package)", prep, "1",
              _span(row["accuracy"]), f"{PAPER['table3']:.2f}"]]  # fmt: skip
    for name, paper_prep, ensemble, accuracy in PAPER["table3_others"]:
        table.append([name, paper_prep, str(ensemble), "", f"{accuracy:.2f}"])
    return _Report(
        table=table,
        **_one_network_outputs(
            row,
            {"preprocessing": prep},
            {"paper": PAPER["table3"]},
            PAPER["table3"],
            "Table 3: spiking CNN, learning curve",
        ),  # fmt: skip
        notes=[
            f"Accuracy {_accuracy_note(params)}, Adam, {params['output_loss']} "
            f"output loss, {params['test_duration']:g} s test presentations. The "
            "paper's 99.31 % is after training on the 50,000 training images; the "
            "other rows are the paper's Table 3."
        ],
        summary=f"{row['network']} {row['accuracy'][1]:.2f} % "
        f"(paper {PAPER['table3']:.2f} %)",
    )


def _run_table4(params, ctx):
    task = _stream_task(params, ctx)
    row = table4(
        task, hidden=params["hidden"], window=params["window"],
        epochs=params["epochs"], eval_every=params["eval_every"],
        average_last=params["average_last"], random_state=params["seed"],
        checkpoint_dir=ctx.checkpoint_dir, progress=ctx.progress,
    )  # fmt: skip
    paper = PAPER["table4"]
    table = [["network", "units in hidden layers", "centering", "test accuracy (%)",
              "paper (%)"],
             [f"SNN {row['network']} (this package)", str(params["hidden"]), "no",
              _span(row["accuracy"]), _span(paper)]]  # fmt: skip
    for name, units, centering, accuracy in PAPER["table4_others"]:
        table.append([name, units, centering, "", f"{accuracy:.2f}"])
    return _Report(
        table=table,
        **_one_network_outputs(
            row,
            {},
            dict(zip(("paper_min", "paper_mean", "paper_max"), paper, strict=True)),
            paper[1],
            "Table 4: N-MNIST, learning curve",
        ),  # fmt: skip
        notes=[
            f"Accuracy {_accuracy_note(params)} on {params['window']}-event training "
            "windows, whole test streams, tau 200 ms. The paper's is on the real "
            "N-MNIST recordings, [min, average, max] over epochs 181-200; the other "
            "rows are the paper's Table 4."
        ],
        summary=f"{row['network']} {row['accuracy'][1]:.2f} % (paper {paper[1]:.2f} %)",
    )


def _nmnist_snn(task, params, ctx):
    """The (34x34x2)-200-10 of Figures 5 and 6: trained once, shared by both."""
    clf, _ = _train_streams(
        task, _stream_classifier(task, params["hidden"], params["seed"]),
        f"snn-{params['hidden']}", epochs=params["epochs"],
        eval_epochs=[params["epochs"]], checkpoint_dir=ctx.checkpoint_dir,
        progress=ctx.progress, window=params["window"], random_state=params["seed"],
    )  # fmt: skip
    return clf


def _stream_length(task):
    return max(s["t"][-1] for s in task.X_test if len(s)) * 1e-6


def _run_fig5(params, ctx):
    task = _stream_task(params, ctx)
    clf = _nmnist_snn(task, params, ctx)
    step = params["step"]
    times = step * np.arange(1, int(np.ceil(_stream_length(task) / step - 1e-9)) + 1)
    result = figure5(clf, task.X_test, task.y_test, times=times,
                     progress=ctx.progress)  # fmt: skip
    # Error at the end of each third of the stream: N-MNIST's three saccades.
    thirds = [times[int(np.ceil(k * len(times) / 3)) - 1] for k in (1, 2, 3)]
    error = [100 * (1 - result["accuracy"][np.flatnonzero(times == t)[0]])
             for t in thirds]  # fmt: skip
    table = [["time (ms)", *(f"{1e3 * t:.0f}" for t in times)],
             ["mean input events so far", *(f"{e:.0f}" for e in result["events"])],
             ["test accuracy (%)", *(_pct(a) for a in result["accuracy"])]]  # fmt: skip
    ratios = [b / a if a else np.nan for a, b in zip(error, error[1:], strict=False)]
    return _Report(
        table=table,
        csv={
            "": (
                ["time", "events", "test_accuracy"],
                list(
                    zip(
                        result["time"],
                        result["events"],
                        result["accuracy"],
                        strict=True,
                    )
                ),
            ),
            "rate": (
                ["time", "events_per_second", "events_per_second_per_pixel"],
                list(
                    zip(
                        result["rate_time"],
                        result["rate"],
                        result["rate_per_pixel"],
                        strict=True,
                    )
                ),
            ),
            "events": (
                ["n_events", "test_accuracy"],
                list(zip(result["n_events"], result["accuracy_events"], strict=True)),
            ),
        },  # fmt: skip
        figure=lambda: plot_figure5(result),
        notes=[
            f"(34x34x2)-{params['hidden']}-10 as in the paper's Figure 5, "
            f"{_epochs(params['epochs'])}. Error at the end of each third of the "
            "streams (the three saccades): "
            + ", ".join(f"{e:.2f} %" for e in error)
            + " (each "
            + ", ".join(f"{r:.2f}" for r in ratios)
            + " times the one before); the paper: each saccade about halves it."
        ],
        summary=f"error after each saccade {', '.join(f'{e:.1f}' for e in error)} % "
        "(paper: halved by each)",
    )


def _run_fig6(params, ctx):
    task = _stream_task(params, ctx)
    snn = _nmnist_snn(task, params, ctx)
    ann = FrameANNClassifier(
        (params["hidden"],), frame_duration=params["frame"],
        n_frames=params["n_frames"], max_iter=params["ann_epochs"],
        sensor_size=task.sensor_size, random_state=params["seed"],
    ).fit(task.X_train, task.y_train)  # fmt: skip
    result = cost_comparison(snn, ann, task.X_test, task.y_test)
    target = min(result["snn_accuracy"].max(), result["ann_accuracy"].max())
    snn_ops = operations_to_reach(
        result["snn_accuracy"], result["snn_operations"], target
    )
    ann_ops = operations_to_reach(
        result["ann_accuracy"], result["ann_operations"], target, interpolate=False
    )
    names = list(result)
    table = [["time (ms)", *(f"{1e3 * t:.0f}" for t in result["time"])],
             ["SNN accuracy (%)", *(_pct(a) for a in result["snn_accuracy"])],
             ["SNN synaptic operations",
              *(_ops(o) for o in result["snn_operations"])],
             ["ANN, frames summed (%)", *(_pct(a) for a in result["ann_accuracy"])],
             ["ANN, that frame alone (%)",
              *(_pct(a) for a in result["ann_frame_accuracy"])],
             ["ANN MACs", *(_ops(o) for o in result["ann_operations"])]]  # fmt: skip
    ratio = ann_ops / snn_ops
    return _Report(
        table=table,
        csv={"": (names, list(zip(*(result[n] for n in names), strict=True)))},
        figure=lambda: plot_cost_comparison(result),
        notes=[
            f"To reach {_pct(target)} %, the ANN needs {_ops(ann_ops)} MACs, the SNN "
            f"{_ops(snn_ops)} synaptic operations a sample: {ratio:.2f} times the "
            f"SNN's (paper: about {PAPER['figure6_ann_to_snn_operations']:g} times; "
            f"its ANN {PAPER['figure6_ann_one_frame']:g} % on one frame, "
            f"{PAPER['figure6_ann_ten_frames']:g} % on ten). Both networks "
            f"({task.sensor_size[0]}x{task.sensor_size[1]}x{task.sensor_size[2]})-"
            f"{params['hidden']}-10; the ANN trained "
            f"{_epochs(params['ann_epochs'])} on "
            f"{1e3 * params['frame']:g} ms frames."
        ],
        summary=f"ANN/SNN operations {ratio:.2f} (paper 4.8)",
    )


_RUNNERS = {
    "table2": _run_table2,
    "fig2b": _run_fig2b,
    "fig3": _run_fig3,
    "table3": _run_table3,
    "table4": _run_table4,
    "fig5": _run_fig5,
    "fig6": _run_fig6,
}


def _versions():
    versions = {
        "spikeclf": __version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "scipy": scipy.__version__,
    }
    for package in ("tonic", "matplotlib", "tqdm"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    versions["python"] = platform.python_version()
    versions["platform"] = platform.platform()
    return versions


def _write_text(path, text):
    write_atomically(path, lambda f: f.write(text.encode("utf-8")))


def _format_cell(value):
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{float(value):.6g}"
    return str(value)


def _csv_text(columns, rows):
    lines = [",".join(columns)]
    lines += [",".join(_format_cell(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def markdown_table(rows):
    """A Markdown table from rows of strings, the first being the header.

    Parameters
    ----------
    rows : list of list of str

    Returns
    -------
    str

    Examples
    --------
    >>> from spikeclf.reproduce import markdown_table
    >>> print(markdown_table([["a", "b"], ["1", "2"]]))
    | a | b |
    | --- | --- |
    | 1 | 2 |
    """
    lines = ["| " + " | ".join(rows[0]) + " |",
             "| " + " | ".join("---" for _ in rows[0]) + " |"]  # fmt: skip
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def _read_record(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def run_target(target, output, *, mode="quick", data_home=None, nmnist_home=None,
               force=False, progress=False, command=None):  # fmt: skip
    """Run one target and write its results into ``output/target/``.

    Writes ``TARGET.csv`` (and ``TARGET_<part>.csv`` for curves), ``TARGET.md``
    (the table and notes), ``TARGET.png`` and ``TARGET.svg`` (when matplotlib
    is installed) and, last, ``TARGET.json``: the target, mode, parameters,
    command, date, seconds taken, the data used and the versions. Every file
    is written atomically. A target whose JSON holds the same mode and
    parameters is skipped unless ``force``; models are checkpointed after
    every epoch in ``output/models/``, so an interrupted run resumes there.

    Parameters
    ----------
    target : str
        A key of :data:`TARGETS`.
    output : str or path-like
        Output folder.
    mode : {"quick", "full", "tiny"}, default="quick"
        Which parameters of :data:`TARGETS`.
    data_home : str or path-like, default=None
        Folder holding ``mnist/`` (see :func:`spikeclf.datasets.get_data_home`).
    nmnist_home : str or path-like, default=None
        Folder holding ``NMNIST/``; None means ``data_home``.
    force : bool, default=False
        Run even what is finished, retraining its networks (those trained
        earlier in this process, as fig5's for fig6, are kept).
    progress : bool or None, default=False
        Progress bars; None shows them on a terminal.
    command : str, default=None
        The command line, recorded in the JSON.

    Returns
    -------
    dict
        The JSON record, with ``"skipped": True`` when the target had finished.
    """
    params = target_parameters(target, mode)
    folder = Path(output) / target
    record_path = folder / f"{target}.json"
    record = _read_record(record_path)
    if (not force and record is not None and record.get("mode") == mode
            and record.get("parameters") == params):  # fmt: skip
        logger.info("%s: skipped, finished in %s (--force reruns it)", target, folder)
        return {**record, "skipped": True}
    checkpoints = Path(output) / "models"
    if force and checkpoints.exists():
        # --force retrains: drop this target's checkpoints, keep the others'.
        stale = "snn" if target in ("fig5", "fig6") else target
        for path in checkpoints.glob(f"{stale}-*"):
            # What this process trained (fig5's network, for fig6) is fresh.
            if path.stat().st_mtime < _STARTED:
                path.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    ctx = _Context(mode, data_home, data_home if nmnist_home is None else nmnist_home,
                   checkpoints, progress)  # fmt: skip
    logger.info("%s: started (%s mode), parameters %s", target, mode, params)
    start = time.perf_counter()
    report = _RUNNERS[target](params, ctx)
    files = []
    for suffix, (columns, rows) in report.csv.items():
        name = f"{target}_{suffix}.csv" if suffix else f"{target}.csv"
        _write_text(folder / name, _csv_text(columns, rows))
        files.append(name)
    text = markdown_table(report.table) + "\n\n" + "\n\n".join(report.notes) + "\n"
    _write_text(folder / f"{target}.md", text)
    files.append(f"{target}.md")
    files += _write_figure(report.figure, folder / target)
    record = {
        "target": target,
        "title": TARGETS[target]["title"],
        "mode": mode,
        "parameters": params,
        "data": ctx.data,
        "command": command,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - start, 1),
        "summary": report.summary,
        "files": files,
        "versions": _versions(),
    }
    _write_text(record_path, json.dumps(record, indent=2) + "\n")
    logger.info("%s: finished in %.0f s: %s", target, record["seconds"],
                report.summary)  # fmt: skip
    return {**record, "skipped": False}


def _write_figure(make, stem):
    """``stem.png`` and ``stem.svg`` from ``make()``; nothing without matplotlib."""
    if make is None:
        return []
    try:
        fig = make()
    except ImportError:
        logger.warning("matplotlib is not installed: no figure for %s", stem.name)
        return []
    written = []
    for fmt in ("png", "svg"):
        path = stem.with_suffix(f".{fmt}")
        write_atomically(path, lambda f, fmt=fmt: fig.savefig(f, format=fmt, dpi=120))
        written.append(path.name)
    if hasattr(fig, "number"):  # a pyplot figure (plot_cost_comparison): free it
        import matplotlib.pyplot as plt

        plt.close(fig)
    return written
