"""SpikingCNNClassifier: interface, behaviour and learning."""

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from spikeclf import PoissonEncoder, SpikingCNNClassifier, load_digits_events
from spikeclf._cnn import parse_layers


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits_events(return_X_y=True)
    return train_test_split(X, y, train_size=300, test_size=200, random_state=0)


@pytest.fixture(scope="module")
def fitted(digits):
    X_train, _, y_train, _ = digits
    return SpikingCNNClassifier("4c3-p2-20", max_iter=2, random_state=0).fit(
        X_train, y_train
    )


def test_parse_layers_reads_the_paper_network():
    assert parse_layers("20c5-p2-50c5-p2-200") == [
        ("conv", 20, 5), ("pool",), ("conv", 50, 5), ("pool",), ("dense", 200),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "spec, message",
    [("20x5", "cannot read '20x5'"), ("20c5-p3", "cannot read 'p3'"),
     ("100-20c5", "after a fully connected"), ("0c3", "positive")],
)  # fmt: skip
def test_bad_layer_strings_are_named(digits, spec, message):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match=message):
        SpikingCNNClassifier(spec, max_iter=1).fit(X_train[:20], y_train[:20])


def test_a_kernel_larger_than_its_input_is_refused(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="does not fit"):
        SpikingCNNClassifier("4c9", max_iter=1).fit(X_train[:20], y_train[:20])


def test_lateral_inhibition_needs_one_value_per_trained_layer(digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(ValueError, match="one value per convolution"):
        SpikingCNNClassifier("4c3-p2-20", lateral_inhibition=(-0.4, -1.0)).fit(
            X_train[:20], y_train[:20]
        )


def test_fitted_attributes_and_predictions(fitted, digits):
    _, X_test, _, y_test = digits
    assert [w.shape for w in fitted.coefs_] == [(4, 1, 3, 3), (36, 20), (20, 10)]
    assert [th.shape for th in fitted.thresholds_] == [(4,), (20,), (10,)]
    assert fitted.n_features_in_ == 64 and fitted.n_iter_ == 2
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(fitted.predict(X_test)) <= set(fitted.classes_)
    assert fitted.synops_per_sample_ > 0


def test_same_random_state_same_model_and_predictions_across_threads(digits, fitted):
    X_train, X_test, y_train, _ = digits
    again = clone(fitted).fit(X_train, y_train)
    for a, b in zip(again.coefs_, fitted.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    one = fitted.set_params(n_jobs=1).predict_proba(X_test)
    two = clone(fitted).fit(X_train, y_train).set_params(n_jobs=2).predict_proba(X_test)
    np.testing.assert_array_equal(one, two)


def test_training_changes_every_layer(digits):
    X_train, _, y_train, _ = digits
    clf = SpikingCNNClassifier("4c3-p2-20", random_state=0)
    clf.partial_fit(X_train[:10], y_train[:10], classes=range(10))
    before = [w.copy() for w in clf.coefs_]
    clf.partial_fit(X_train, y_train)
    for w0, w1 in zip(before, clf.coefs_, strict=True):
        assert not np.allclose(w0, w1)


def test_learning_rate_scale_reaches_the_layers_it_names(digits):
    """One factor per trained layer, convolutions first: pooling takes none."""
    X_train, _, y_train, _ = digits
    clf = SpikingCNNClassifier("4c3-p2-20", random_state=0)
    clf.partial_fit(X_train[:20], y_train[:20], classes=range(10))
    before = [w.copy() for w in clf.coefs_]
    clf.set_params(learning_rate_scale=(1.0, 1e-12, 1e-12)).partial_fit(
        X_train[:100], y_train[:100]
    )
    assert not np.allclose(before[0], clf.coefs_[0])
    for w0, w1 in zip(before[1:], clf.coefs_[1:], strict=True):
        np.testing.assert_allclose(w1, w0, rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="learning_rate_scale needs at most 3"):
        clf.set_params(learning_rate_scale=(1.0,) * 4).partial_fit(
            X_train[:10], y_train[:10]
        )


def test_activity_time_constant_reaches_every_layer(digits, fitted):
    X_train, _, y_train, _ = digits
    same = SpikingCNNClassifier(
        "4c3-p2-20", max_iter=2, random_state=0, activity_tau=fitted.tau
    ).fit(X_train, y_train)
    counts = clone(same).set_params(activity_tau=np.inf).fit(X_train, y_train)
    for a, b, c in zip(fitted.coefs_, same.coefs_, counts.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


def test_pickle_round_trip_predicts_the_same(fitted, digits, tmp_path):
    _, X_test, _, _ = digits
    joblib.dump(fitted, tmp_path / "cnn.joblib")
    loaded = joblib.load(tmp_path / "cnn.joblib")
    np.testing.assert_array_equal(loaded.predict(X_test), fitted.predict(X_test))


def test_labels_of_any_type(digits):
    X_train, X_test, y_train, _ = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                      "eight", "nine"])[y_train]  # fmt: skip
    clf = SpikingCNNClassifier("4c3-p2", max_iter=1, random_state=0).fit(X_train, names)
    assert set(clf.predict(X_test)) <= set(names)


def test_average_is_the_mean_of_the_kernels_and_weights(digits):
    X_train, _, y_train, _ = digits
    clf = SpikingCNNClassifier("4c3-p2-20", average=1, random_state=0)
    trained = []
    for _ in range(3):
        clf.partial_fit(X_train[:300], y_train[:300], classes=range(10))
        trained.append([a.copy() for a in clf.network_.parameters()])
    assert clf.n_averaged_ == 2
    for mean, *epochs in zip(
        clf.averaged_network_.parameters(), *trained, strict=True
    ):  # fmt: skip
        np.testing.assert_allclose(mean, (epochs[1] + epochs[2]) / 2, rtol=1e-12)
    kernel = clf.averaged_network_.kernels[0].transpose(3, 0, 1, 2)
    np.testing.assert_array_equal(clf.coefs_[0], kernel)


def test_cnn_learns_mnist_from_2000_images(mnist):
    """4 epochs on 2,000 images: measured 85.8 % on these 500 test images."""
    X_train, y_train, X_test, y_test = mnist
    encoder = PoissonEncoder(rate=5000, test_duration=0.05, random_state=0).fit(X_train)
    X_eval = PoissonEncoder(rate=5000, test_duration=0.3, random_state=1).fit(
        X_train).transform(X_test[:500])  # fmt: skip
    clf = SpikingCNNClassifier(
        "8c5-p2-16c5-p2-100", output_loss="cross_entropy", sensor_size=(28, 28, 1),
        random_state=0,
    )  # fmt: skip
    for epoch in range(4):
        encoder.set_params(random_state=np.random.RandomState([0, epoch]))
        clf.partial_fit(encoder.transform(X_train[:2000]), y_train[:2000], range(10))
    assert clf.score(X_eval, y_test[:500]) >= 0.80
