"""The paper's numbers and the registry of targets: what each one measures."""

import json

#: The paper's numbers (Lee, Delbruck and Pfeiffer 2016), as printed.
PAPER = {
    # Table 2, "SNN (This work)" rows: [min, average, max] test accuracy (%) over the
    # last 20 epochs; hidden layers, solver and the lateral inhibition of section 3.1
    # (-0.4 in the first hidden layer, none in the second, -1.0 in the output layer).
    "table2": [
        {
            "hidden": [800],
            "solver": "sgd",
            "lateral_inhibition": [-0.4, -1.0],
            "accuracy": [98.56, 98.64, 98.71],
        },
        {
            "hidden": [500, 500],
            "solver": "sgd",
            "lateral_inhibition": [-0.4, 0.0, -1.0],
            "accuracy": [98.63, 98.70, 98.76],
        },
        {
            "hidden": [300, 300],
            "solver": "adam",
            "lateral_inhibition": [-0.4, 0.0, -1.0],
            "accuracy": [98.71, 98.77, 98.88],
        },
    ],  # fmt: skip
    # Table 2, the other models it compares with (test accuracy, %).
    "table2_others": [
        ("ANN (Srivastava et al., 2014)", "800", 98.4),
        ("ANN, drop-out (Srivastava et al., 2014)", "4096-4096", 98.99),
        ("ANN, drop-connect (Wan et al., 2013)", "800-800", 98.8),
        ("ANN, maxout (Goodfellow et al., 2013)", "240x5-240x5", 99.06),
        ("SNN (O'Connor et al., 2013)", "500-500", 94.09),
        ("SNN (Hunsberger and Eliasmith, 2015)", "500-300", 98.6),
        ("SNN (Diehl et al., 2015)", "1200-1200", 98.64),
        ("SNN (O'Connor and Welling, 2016)", "200-200", 97.8),
    ],
    # Figure 3 and section 3.1: the best hidden-layer lateral inhibition, for every N.
    "figure3_best_lateral_inhibition": -0.4,
    # Table 3: spiking CNN 20c5-p2-50c5-p2-200, elastic distortion, one network.
    "table3": 99.31,
    "table3_others": [
        ("CNN (Garbin et al., 2014)", "none", 1, 98.3),
        ("CNN (Diehl et al., 2015)", "none", 1, 99.1),
        (
            "Sparsely connected network (Esser et al., 2015)",
            "affine transformation",
            64,
            99.42,
        ),
    ],  # fmt: skip
    # Table 4: (34x34x2)-800-10 on N-MNIST, uncentered, [min, average, max] (%).
    "table4": [98.56, 98.66, 98.74],
    "table4_others": [
        ("ANN (Neil and Liu, 2016)", "CNN", "yes", 98.3),
        ("SNN (Neil and Liu, 2016)", "CNN", "yes", 95.72),
        ("SNN (Cohen et al., 2016)", "10,000", "no", 92.87),
    ],
    # Section 3.3 on Figure 5B: each saccade (100 ms) about halves the error rate.
    "figure5_error_ratio_per_saccade": 0.5,
    # Section 3.3 on Figure 6: the ANN of 30 ms frames needs about 4.8 times the
    # SNN's operations to reach similar accuracy; one frame alone 95.2 %, ten 97.8 %.
    "figure6_ann_to_snn_operations": 4.8,
    "figure6_ann_one_frame": 95.2,
    "figure6_ann_ten_frames": 97.8,
}

_LATERAL_STRENGTHS = [0.0, -0.2, -0.4, -0.6, -0.8]
_NMNIST_QUICK = {"data": "nmnist", "n_train": 5000, "n_test": 2000}

#: Parameters of every target in each mode. ``full`` is the paper's protocol
#: (days of training for some), ``quick`` a reduced run of minutes on one core,
#: ``tiny`` seconds on the built-in digits (for the tests).
TARGETS = {
    "table2": {
        "title": "Table 2: permutation-invariant MNIST",
        "full": {"data": "pi-mnist", "n_train": None, "n_test": None,
                 "networks": PAPER["table2"], "epochs": 150, "eval_every": 10,
                 "average_last": 20, "test_duration": 1.0, "seed": 0},
        "quick": {"data": "pi-mnist", "n_train": 10000, "n_test": 1000,
                  "networks": PAPER["table2"], "epochs": 4, "eval_every": 1,
                  "average_last": 1, "test_duration": 1.0, "seed": 0},
        "tiny": {"data": "digits", "n_train": 400, "n_test": 100,
                 "networks": [{"hidden": [30], "solver": "sgd",
                               "lateral_inhibition": [-0.4, -1.0]},
                              {"hidden": [20, 20], "solver": "adam",
                               "lateral_inhibition": [-0.4, 0.0, -1.0]}],
                 "epochs": 2, "eval_every": 1, "average_last": 1,
                 "test_duration": 0.1, "seed": 0},
    },
    "fig2b": {
        "title": "Figure 2B: trained hidden weights and thresholds of 784-100-10",
        "full": {"data": "pi-mnist", "n_train": None, "n_test": None, "hidden": 100,
                 "epochs": 150, "test_duration": 1.0, "seed": 0},
        "quick": {"data": "pi-mnist", "n_train": 10000, "n_test": 1000, "hidden": 100,
                  "epochs": 5, "test_duration": 1.0, "seed": 0},
        "tiny": {"data": "digits", "n_train": 400, "n_test": 100, "hidden": 16,
                 "epochs": 1, "test_duration": 0.1, "seed": 0},
    },
    "fig3": {
        "title": "Figure 3: accuracy against lateral inhibition in the hidden layer",
        "full": {"data": "pi-mnist", "n_train": None, "n_test": None,
                 "hidden_sizes": [100, 200, 300], "strengths": _LATERAL_STRENGTHS,
                 "epochs": 30, "test_duration": 1.0, "seed": 0},
        "quick": {"data": "pi-mnist", "n_train": 2000, "n_test": 1000,
                  "hidden_sizes": [100, 200, 300], "strengths": _LATERAL_STRENGTHS,
                  "epochs": 2, "test_duration": 1.0, "seed": 0},
        "tiny": {"data": "digits", "n_train": 400, "n_test": 100,
                 "hidden_sizes": [20], "strengths": [0.0, -0.4, -0.8], "epochs": 1,
                 "test_duration": 0.1, "seed": 0},
    },
    "table3": {
        "title": "Table 3: spiking CNN on MNIST",
        "full": {"data": "mnist", "n_train": None, "n_test": None,
                 "layers": "20c5-p2-50c5-p2-200", "elastic": True,
                 "output_loss": "cross_entropy", "epochs": 60, "eval_every": 5,
                 "average_last": 1, "test_duration": 1.0, "seed": 0},
        "quick": {"data": "mnist", "n_train": 5000, "n_test": 1000,
                  "layers": "20c5-p2-50c5-p2-200", "elastic": True,
                  "output_loss": "cross_entropy", "epochs": 3, "eval_every": 1,
                  "average_last": 1, "test_duration": 0.3, "seed": 0},
        "tiny": {"data": "digits", "n_train": 300, "n_test": 100,
                 "layers": "4c3-p2-20", "elastic": False,
                 "output_loss": "cross_entropy", "epochs": 1, "eval_every": 1,
                 "average_last": 1, "test_duration": 0.1, "seed": 0},
    },
    "table4": {
        "title": "Table 4: N-MNIST",
        "full": {"data": "nmnist", "n_train": None, "n_test": None, "hidden": 800,
                 "window": 300, "epochs": 200, "eval_every": 10, "average_last": 20,
                 "seed": 0},
        "quick": {**_NMNIST_QUICK, "n_train": 10000, "hidden": 800, "window": 300,
                  "epochs": 5,
                  "eval_every": 1, "average_last": 1, "seed": 0},
        "tiny": {"data": "digits-events", "n_train": 400, "n_test": 100,
                 "hidden": 30, "window": 100, "epochs": 2, "eval_every": 1,
                 "average_last": 1, "seed": 0},
    },
    "fig5": {
        "title": "Figure 5: N-MNIST event rate, and accuracy as events arrive",
        "full": {"data": "nmnist", "n_train": None, "n_test": None, "hidden": 200,
                 "window": 300, "epochs": 60, "step": 0.01, "seed": 0},
        "quick": {**_NMNIST_QUICK, "hidden": 200, "window": 300, "epochs": 5,
                  "step": 0.02, "seed": 0},
        "tiny": {"data": "digits-events", "n_train": 400, "n_test": 100,
                 "hidden": 30, "window": 100, "epochs": 1, "step": 0.02, "seed": 0},
    },
    "fig6": {
        "title": "Figure 6: operations of the SNN against an ANN of 30 ms frames",
        "full": {"data": "nmnist", "n_train": None, "n_test": None, "hidden": 200,
                 "window": 300, "epochs": 60, "ann_epochs": 10, "frame": 0.03,
                 "n_frames": 10, "seed": 0},
        "quick": {**_NMNIST_QUICK, "hidden": 200, "window": 300, "epochs": 5,
                  "ann_epochs": 5, "frame": 0.03, "n_frames": 10, "seed": 0},
        "tiny": {"data": "digits-events", "n_train": 400, "n_test": 100,
                 "hidden": 30, "window": 100, "epochs": 1, "ann_epochs": 5,
                 "frame": 0.025, "n_frames": 4, "seed": 0},
    },
}  # fmt: skip

_DATA_NAMES = {
    "pi-mnist": "permutation-invariant MNIST",
    "mnist": "MNIST",
    "nmnist": "N-MNIST",
    "digits": "the built-in 8x8 digits (scikit-learn)",
    "digits-events": "the built-in 8x8 digits as 100 ms Poisson event streams",
}


def target_parameters(target, mode="quick"):
    """The parameters :func:`run_target` uses for ``target`` in ``mode``.

    Parameters
    ----------
    target : str
        A key of :data:`TARGETS`.
    mode : {"full", "quick", "tiny"}, default="quick"
        The paper's protocol, a run of minutes, or one of seconds on the
        built-in digits.

    Returns
    -------
    dict
        A copy, safe to change.

    Examples
    --------
    >>> from spikeclf.reproduce import target_parameters
    >>> target_parameters("table4", "full")["hidden"]
    800
    """
    if target not in TARGETS:
        raise ValueError(
            f"unknown target {target!r}: choose from {', '.join(TARGETS)} or all"
        )
    if mode not in ("full", "quick", "tiny"):
        raise ValueError(f"unknown mode {mode!r}: choose full, quick or tiny")
    return json.loads(json.dumps(TARGETS[target][mode]))
