"""The frame ANN baseline and the cost comparison (the paper's Figure 6)."""

import numpy as np
import pytest
from sklearn.base import clone

from spikeclf import FrameANNClassifier, load_digits_events, make_events
from spikeclf.cli import main
from spikeclf.cost import cost_comparison, operations_to_reach

pytest.importorskip("tonic", reason="frames are tonic's ToFrame")


@pytest.fixture(scope="module")
def digits_100ms():
    X, y = load_digits_events(return_X_y=True, duration=0.1, random_state=0)
    return X, y


def _ann(**params):
    params = {"hidden_layer_sizes": (40,), "frame_duration": 0.025, "n_frames": 4,
              "max_iter": 3, "random_state": 0, **params}  # fmt: skip
    return FrameANNClassifier(**params)


def test_frames_count_the_events_of_each_window():
    rng = np.random.default_rng(0)
    n = 400
    stream = make_events(
        rng.integers(0, 5, n), rng.integers(0, 3, n),
        np.sort(rng.integers(0, 130_000, n)), rng.integers(0, 2, n),
    )  # fmt: skip
    ann = _ann(sensor_size=(5, 3, 2), frame_duration=0.03, n_frames=4)
    frames = ann.frames([stream])[0]
    expected = np.zeros((4, 2 * 3 * 5))
    for x, y, t, p in stream[["x", "y", "t", "p"]].tolist():
        if t < 120_000:  # later events are past the 4 frames
            expected[t // 30_000, x + 5 * (y + 3 * p)] += 1
    np.testing.assert_array_equal(frames, expected)


def test_frame_ann_learns_and_counts_its_operations(digits_100ms):
    X, y = digits_100ms
    ann = _ann().fit(X[:1200], y[:1200])
    assert ann.macs_per_frame_ == 64 * 40 + 40 * 10
    summed = ann.staged_accuracy(X[1200:], y[1200:])
    single = ann.staged_accuracy(X[1200:], y[1200:], single_frames=True)
    assert summed.shape == single.shape == (4,)
    assert summed[0] == single[0]  # one frame summed is that frame
    assert summed[-1] > 0.6 and summed[-1] >= single.mean()  # summing helps
    proba = ann.predict_proba(X[1200:], n_frames=2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert ann.score(X[1200:], y[1200:]) == pytest.approx(summed[-1])
    assert clone(ann).get_params() == ann.get_params()
    bad = list(X[:5])
    bad[3] = bad[3].copy()
    bad[3]["x"][0] = 99
    with pytest.raises(ValueError, match="^sample 3: coordinate x=99"):
        ann.predict(bad)


def test_operations_to_reach():
    assert operations_to_reach([0.5, 0.9], [100, 200], 0.9) == 200.0
    assert operations_to_reach([0.5, 0.9], [100, 200], 0.25) == 50.0
    assert np.isnan(operations_to_reach([0.5, 0.9], [100, 200], 0.95))
    # An ANN cannot stop within a pass: the first point that reaches the target.
    assert operations_to_reach([0.5, 0.9], [100, 200], 0.25, interpolate=False) == 100
    assert operations_to_reach([0.5, 0.9], [100, 200], 0.6, interpolate=False) == 200


def test_cost_comparison_reads_both_networks_as_the_streams_unfold(digits_100ms):
    from spikeclf import SpikingMLPClassifier

    X, y = digits_100ms
    snn = SpikingMLPClassifier((40,), max_iter=3, random_state=0).fit(
        X[:1200], y[:1200]
    )
    ann = _ann().fit(X[:1200], y[:1200])
    result = cost_comparison(snn, ann, X[1200:], y[1200:])
    assert all(len(v) == 4 for v in result.values())
    np.testing.assert_allclose(result["time"], [0.025, 0.05, 0.075, 0.1])
    np.testing.assert_array_equal(
        result["ann_operations"], ann.macs_per_frame_ * np.arange(1, 5)
    )
    assert np.all(np.diff(result["snn_operations"]) > 0)
    # At the end of the streams the SNN has seen every event: its own score.
    assert result["snn_accuracy"][-1] == pytest.approx(snn.score(X[1200:], y[1200:]))
    assert result["snn_operations"][-1] == pytest.approx(snn.synops_per_sample_)


def test_compare_cost_command(mnist_home, tmp_path, capsys):
    from spikeclf.datasets import make_nmnist_like

    make_nmnist_like(mnist_home, tmp_path, limit=40, progress=False)
    csv, figure = tmp_path / "cost.csv", tmp_path / "cost.png"
    args = ["compare-cost", "--data-home", str(tmp_path), "--epochs", "1"]
    assert main([*args, "--csv", str(csv), "--figure", str(figure)]) == 0
    out = capsys.readouterr().out
    assert "to reach" in out and "times the SNN's" in out
    table = np.genfromtxt(csv, delimiter=",", names=True)
    assert len(table) == 10 and "snn_operations" in table.dtype.names


def test_image_cost_comparison_and_command(tmp_path, capsys):
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    from spikeclf import PoissonEncoder, SpikingMLPClassifier
    from spikeclf.cost import image_cost_comparison, mlp_macs

    images, y = load_digits(return_X_y=True)
    X = PoissonEncoder(duration=0.2, random_state=0).fit_transform(images)
    snn = SpikingMLPClassifier((40,), max_iter=3, random_state=0).fit(
        X[:1200], y[:1200]
    )
    mlp = MLPClassifier((40,), max_iter=100, random_state=0).fit(images / 16, y)
    assert mlp_macs(mlp) == 64 * 40 + 40 * 10
    result = image_cost_comparison(
        snn, mlp, X[1200:], images[1200:] / 16, y[1200:], times=(0.02, 0.1, 0.2)
    )
    assert np.all(np.diff(result["snn_operations"]) > 0)
    assert result["snn_accuracy"][-1] == pytest.approx(snn.score(X[1200:], y[1200:]))
    assert np.all(result["ann_accuracy"] == mlp.score(images[1200:] / 16, y[1200:]))
    assert np.all(result["ann_operations"] == 2960)

    csv = tmp_path / "cost.csv"
    args = ["compare-cost", "--dataset", "digits", "--epochs", "2", "--csv", str(csv)]
    assert main([*args, "--figure", str(tmp_path / "cost.png")]) == 0
    out = capsys.readouterr().out
    assert "times the SNN's" in out and "frame %" not in out
    table = np.genfromtxt(csv, delimiter=",", names=True)
    assert len(table) == 7 and set(table.dtype.names) == {
        "time", "snn_accuracy", "snn_operations", "snn_inhibitions", "ann_accuracy",
        "ann_operations",
    }  # fmt: skip
