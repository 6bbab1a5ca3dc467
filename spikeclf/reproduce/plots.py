"""The figures (matplotlib, imported when drawn: it is not a dependency)."""

import numpy as np


def _new_figure(figsize):
    from matplotlib.figure import Figure  # no pyplot: no global state, no backend

    return Figure(figsize=figsize, layout="constrained")


def plot_learning_curves(curves, paper=None, *, title=None):
    """Test accuracy against epochs, one line per network.

    Parameters
    ----------
    curves : dict of str to dict
        Per network name, ``epoch`` and ``test_accuracy`` (fractions) lists.
    paper : dict of str to float, default=None
        Per network name, the paper's accuracy (%) drawn as a dashed line.
    title : str, default=None
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _new_figure((6, 3.6))
    ax = fig.subplots()
    for i, (name, curve) in enumerate(curves.items()):
        color = f"C{i}"
        ax.plot(curve["epoch"], 100 * np.asarray(curve["test_accuracy"]), "o-",
                color=color, label=name)  # fmt: skip
        if paper and name in paper:
            ax.axhline(paper[name], color=color, ls="--", lw=1,
                       label=f"{name}, paper")  # fmt: skip
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", title=title)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="lower right")
    return fig


def plot_figure2b(result, *, columns=10):
    """The paper's Figure 2B: hidden weights as images, thresholds as red bars.

    Parameters
    ----------
    result : dict
        What :func:`figure2b` returns.
    columns : int, default=10
        Images per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    weights, thresholds = result["weights"], result["thresholds"]
    n = len(weights)
    rows = int(np.ceil(n / columns))
    fig = _new_figure((1.0 * columns, 1.15 * rows + 0.4))
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    limit = np.abs(weights).max()
    top = thresholds.max()
    for ax in axes:
        ax.set_axis_off()
    for ax, w, th in zip(axes, weights, thresholds, strict=False):
        height, width = w.shape
        ax.imshow(w, cmap="gray", vmin=-limit, vmax=limit)
        # The bar's length is the threshold, the longest one as wide as the image.
        bar = 3 * height / 28
        ax.add_patch(_rectangle((-0.5, height + bar / 2), width * th / top, bar))
        ax.set_xlim(-0.5, width - 0.5)
        ax.set_ylim(height + 2 * bar, -0.5)
    fig.suptitle(
        f"{result['network']}: hidden weights (gray, black negative) and thresholds "
        f"(red, longest {top:.3g})",
        fontsize="medium",
    )
    return fig


def _rectangle(xy, width, height):
    from matplotlib.patches import Rectangle

    return Rectangle(xy, width, height, color="red", clip_on=False)


def plot_figure3(result, *, best=None):
    """The paper's Figure 3: test accuracy against hidden lateral inhibition.

    Parameters
    ----------
    result : dict
        What :func:`figure3` returns.
    best : float, default=None
        A strength to mark (the paper's best, -0.4).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _new_figure((5.5, 3.6))
    ax = fig.subplots()
    for n, row in zip(result["hidden_sizes"], result["accuracy"], strict=True):
        ax.plot(result["strengths"], 100 * row, "o-", label=f"784-{n}-10")
    if best is not None:
        ax.axvline(best, color="gray", ls="--", lw=1, label=f"paper's best ({best})")
    ax.set(xlabel="lateral inhibition in the hidden layer",
           ylabel="test accuracy (%)")  # fmt: skip
    ax.invert_xaxis()
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def plot_figure5(result):
    """The paper's Figure 5: input event rate (A), accuracy over time and events (B).

    Parameters
    ----------
    result : dict
        What :func:`figure5` returns.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _new_figure((11, 3.4))
    rate, over_time, over_events = fig.subplots(1, 3)
    rate.plot(1e3 * result["rate_time"], result["rate_per_pixel"])
    rate.set(xlabel="time (ms)", ylabel="events / s / pixel",
             title="A: input event rate")  # fmt: skip
    over_time.plot(1e3 * result["time"], 100 * result["accuracy"], "o-")
    over_time.set(xlabel="time (ms)", ylabel="test accuracy (%)",
                  title="B: accuracy over time")  # fmt: skip
    over_events.semilogx(result["n_events"], 100 * result["accuracy_events"], "o-")
    over_events.set(xlabel="first input events", ylabel="test accuracy (%)",
                    title="accuracy over events")  # fmt: skip
    for ax in (rate, over_time, over_events):
        ax.grid(alpha=0.3)
    return fig
