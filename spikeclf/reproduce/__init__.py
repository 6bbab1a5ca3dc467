"""The paper's tables and figures, measured: ``spikeclf reproduce TARGET``.

One function per table or figure of Lee, Delbruck and Pfeiffer (2016) trains
and scores what it needs and returns plain dicts and arrays (:func:`table2`,
:func:`figure2b`, :func:`figure3`, :func:`table3`, :func:`table4`,
:func:`figure5`); :func:`run_target` runs one of them with the parameters of a
mode (``"full"``: the paper's protocol, ``"quick"``: minutes on one core) and
writes a CSV, a Markdown table, the figure (PNG and SVG) and a JSON record of
the parameters, the command and the versions into ``OUTPUT/TARGET/``;
:func:`write_results_page` collects the Markdown tables into one page.

Runs resume: a target whose JSON record holds the same parameters is skipped,
and every training saves its model after each epoch in ``OUTPUT/models/``
under a name that hashes its parameters, so an interrupted run continues at
its last epoch and targets that train the same network share it (Figures 5
and 6).

The package has one module per concern: ``registry`` (the paper's numbers and
``TARGETS``), ``checkpoints`` (training that resumes), ``measure`` (the tables
and figures as functions of a task), ``plots`` (the figures), ``runners``
(:func:`run_target` and what it writes) and ``page``
(:func:`write_results_page`). Every name is importable from
``spikeclf.reproduce`` itself.
"""

from .measure import figure2b, figure3, figure5, table2, table3, table4
from .page import write_results_page
from .plots import plot_figure2b, plot_figure3, plot_figure5, plot_learning_curves
from .registry import PAPER, TARGETS, target_parameters

# _Context and _image_task: the tests build a target's data on its own.
from .runners import _Context as _Context
from .runners import _image_task as _image_task
from .runners import markdown_table, run_target

__all__ = [
    "PAPER",
    "TARGETS",
    "figure2b",
    "figure3",
    "figure5",
    "markdown_table",
    "plot_figure2b",
    "plot_figure3",
    "plot_figure5",
    "plot_learning_curves",
    "run_target",
    "table2",
    "table3",
    "table4",
    "target_parameters",
    "write_results_page",
]
