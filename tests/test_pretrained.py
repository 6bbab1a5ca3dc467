"""The shipped networks: load_pretrained, the files, and how they are made."""

from dataclasses import replace
from importlib import resources

import joblib
import numpy as np
import pytest
import skops.io
from sklearn.pipeline import Pipeline

import spikeclf
from spikeclf import PoissonEncoder, SpikingMLPClassifier, load_pretrained
from spikeclf.cli import main
from spikeclf.experiments import load_task
from spikeclf.pretrained import (
    PRETRAINED,
    PRETRAINED_TRUSTED_TYPES,
    inference_model,
    package_pretrained,
    read_pretrained,
)

SHIPPED = [
    name
    for name, model in PRETRAINED.items()
    if (resources.files("spikeclf") / "models" / model.file).is_file()
]


@pytest.fixture(scope="module")
def digits():
    task = load_task("digits")
    return replace(task, X_train=task.X_train[:400], y_train=task.y_train[:400],
                   X_test=task.X_test[:150], y_test=task.y_test[:150])  # fmt: skip


@pytest.fixture(scope="module")
def averaged(digits):
    """A network trained with averaging, so that its mean differs from its last."""
    encoder = PoissonEncoder(random_state=3).fit(digits.X_train)
    clf = SpikingMLPClassifier(
        hidden_layer_sizes=(40,), max_iter=3, average=1, solver="adam",
        random_state=0,
    )  # fmt: skip
    return clf.fit(encoder.fit_transform(digits.X_train), digits.y_train)


def test_an_unknown_name_lists_the_names():
    with pytest.raises(ValueError, match="pi-mnist-800, nmnist-800, mnist-cnn"):
        load_pretrained("pi-mnist")


def test_a_model_not_shipped_says_how_it_is_made(monkeypatch):
    monkeypatch.setitem(
        PRETRAINED, "pi-mnist-800",
        PRETRAINED["pi-mnist-800"].__class__(
            **{**vars(PRETRAINED["pi-mnist-800"]), "file": "missing.skops"}
        ),
    )  # fmt: skip
    with pytest.raises(FileNotFoundError, match="spikeclf train --dataset pi-mnist"):
        load_pretrained("pi-mnist-800")


def test_the_packaged_model_predicts_as_the_mean_of_the_run(digits, averaged, tmp_path):
    report = package_pretrained(averaged, digits, tmp_path / "m.skops", random_state=3)
    model = read_pretrained(tmp_path / "m.skops")
    assert isinstance(model, Pipeline)
    classifier = model[-1]
    # The mean of the run is the network; no optimizer state is kept.
    assert classifier.averaged_network_ is None and classifier.network_.moments == []
    for packed, mean in zip(
        classifier.network_.parameters(), averaged.averaged_network_.parameters(),
        strict=True,
    ):  # fmt: skip
        assert packed.dtype == np.float64
        np.testing.assert_array_equal(packed, mean.astype(np.float32))
    assert report["dtype"] == "float32" and report["changed"] == 0
    # It takes images: the encoder of training, 1 s test presentations.
    encoder = model[0]
    assert encoder.test_duration == 1.0 and encoder.random_state == 3
    expected = averaged.predict(encoder.transform(digits.X_test))
    np.testing.assert_array_equal(model.predict(digits.X_test), expected)
    assert report["accuracy"] == pytest.approx(np.mean(expected == digits.y_test))


def test_float64_is_kept_when_float32_changes_a_prediction(
    digits, averaged, tmp_path, monkeypatch
):
    real = spikeclf.pretrained._as

    def lossy(array, dtype):  # a float32 that loses the output layer's weights
        out = real(array, dtype)
        if dtype == np.float32 and out is not None and out.shape[1:] == (10,):
            out = np.zeros_like(out)
        return out

    monkeypatch.setattr(spikeclf.pretrained, "_as", lossy)
    report = package_pretrained(averaged, digits, tmp_path / "m.skops")
    assert report["dtype"] == "float64" and report["changed"] > 0
    model = read_pretrained(tmp_path / "m.skops")
    np.testing.assert_array_equal(
        model[-1].coefs_[-1], averaged.averaged_network_.weights[-1]
    )


def test_a_packaged_model_trains_on(digits, averaged, tmp_path):
    package_pretrained(averaged, digits, tmp_path / "m.skops")
    model = read_pretrained(tmp_path / "m.skops")
    before = [w.copy() for w in model[-1].coefs_]
    streams = model[0].fit_transform(digits.X_train[:50])
    model[-1].partial_fit(streams, digits.y_train[:50])
    assert any((b != a).any() for b, a in zip(before, model[-1].coefs_, strict=True))


def test_event_models_are_the_classifier_alone(digits, averaged):
    task = digits
    events = type("EventTask", (), {"X_train": None})()  # no permute_pixels
    assert inference_model(averaged, events) is not averaged
    assert isinstance(inference_model(averaged, events), SpikingMLPClassifier)
    assert isinstance(inference_model(averaged, task), Pipeline)


def test_package_model_command(digits, averaged, tmp_path, capsys, monkeypatch):
    joblib.dump(averaged, tmp_path / "run.joblib")
    model = PRETRAINED["pi-mnist-800"]
    monkeypatch.setitem(
        PRETRAINED, "pi-mnist-800",
        model.__class__(**{**vars(model), "task": "digits", "seed": 3}),
    )  # fmt: skip
    out = tmp_path / "m.skops"
    assert main(["package-model", "pi-mnist-800", "--model",
                 str(tmp_path / "run.joblib"), "--output", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "float32 changes 0 predictions: stored in float32" in printed
    assert read_pretrained(out).score(digits.X_test, digits.y_test) > 0.5


def test_the_pretrained_command_lists_the_models(capsys):
    assert main(["pretrained"]) == 0
    printed = capsys.readouterr().out
    assert all(name in printed for name in PRETRAINED)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_files_hold_only_trusted_types(name):
    path = resources.files("spikeclf") / "models" / PRETRAINED[name].file
    with resources.as_file(path) as file:
        untrusted = skops.io.get_untrusted_types(file=file)
    assert set(untrusted) <= set(PRETRAINED_TRUSTED_TYPES)


@pytest.mark.skipif("pi-mnist-800" not in SHIPPED, reason="pi-mnist-800 not shipped")
def test_pi_mnist_800_scores_the_tables_accuracy(mnist):
    _, _, X_test, y_test = mnist
    # 2,000 of the 10,000 test images; the table's 98 % on all of them.
    assert load_pretrained("pi-mnist-800").score(X_test[:2000], y_test[:2000]) > 0.97


@pytest.mark.skipif("nmnist-800" not in SHIPPED, reason="nmnist-800 not shipped")
def test_nmnist_800_takes_event_streams():
    model = load_pretrained("nmnist-800")
    assert isinstance(model, SpikingMLPClassifier)
    assert model.sensor_size_ == (34, 34, 2)
