"""SpikingMLPClassifier: behaviour, sklearn integration, accuracy on the digits."""

import pickle

import numpy as np
import pytest
from conftest import DATA_FREE_CHECKS, quick
from joblib import parallel_config
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from spikeclf import (
    FrameANNClassifier,
    PoissonEncoder,
    SpikingMLPClassifier,
    check_events,
    make_events,
)
from spikeclf.dvs import SaccadeEmulator
from spikeclf.transforms import RandomEventWindow


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return train_test_split(
        data.images, data.target, test_size=0.25, random_state=0, stratify=data.target
    )


def test_digits_accuracy_floor(digits):
    """The paper's protocol on the built-in digits: fresh 50 ms events every epoch,
    1 s test presentations. At least 93 % test accuracy."""
    X_train, X_test, y_train, y_test = digits
    clf = SpikingMLPClassifier(hidden_layer_sizes=(100,), random_state=0)
    encoder = PoissonEncoder(
        test_duration=0.05, random_state=np.random.RandomState(0)
    ).fit(X_train)
    for _ in range(30):
        clf.partial_fit(encoder.transform(X_train), y_train, classes=np.arange(10))
    X_test_events = PoissonEncoder(duration=1.0, random_state=1).fit_transform(X_test)
    assert clf.score(X_test_events, y_test) >= 0.93
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert 0 < clf.synops_per_sample_


def test_fit_returns_self_and_fitted_attributes(small):
    X, y = small
    clf = quick()
    assert clf.fit(X, y) is clf
    assert list(clf.classes_) == [0, 1, 2, 3]
    assert clf.n_features_in_ == 64 and clf.sensor_size_ == (8, 8, 1)
    assert [w.shape for w in clf.coefs_] == [(64, 40), (40, 4)]
    assert [t.shape for t in clf.thresholds_] == [(40,), (4,)]
    assert clf.n_iter_ == 3 and clf.t_ == 900 and len(clf.loss_curve_) == 3
    assert len(clf.train_scores_) == 3 and len(clf.epoch_stats_) == 3


def test_activity_time_constant_defaults_to_tau_and_changes_training(small):
    X, y = small
    default = quick().fit(X, y)
    same = quick(activity_tau=default.tau).fit(X, y)
    counts = quick(activity_tau=np.inf).fit(X, y)
    for a, b in zip(default.coefs_, same.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(default.coefs_[0], counts.coefs_[0])
    assert np.all(np.isfinite(counts.coefs_[0]))


def test_not_fitted_error(small):
    with pytest.raises(NotFittedError):
        quick().predict(small[0])


def test_same_seed_same_model_and_clone(small):
    X, y = small
    a, b = quick().fit(X, y), clone(quick()).fit(X, y)
    for wa, wb in zip(a.coefs_ + a.thresholds_, b.coefs_ + b.thresholds_, strict=True):
        np.testing.assert_array_equal(wa, wb)
    c = quick(random_state=1).fit(X, y)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_pickle_round_trip_and_thread_count_give_identical_predictions(small):
    X, y = small
    clf = quick().fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clf.predict_proba(X), again.predict_proba(X))
    two = clone(clf).set_params(n_jobs=2)
    two.network_, two.classes_, two.sensor_size_ = (
        clf.network_,
        clf.classes_,
        clf.sensor_size_,
    )
    np.testing.assert_array_equal(clf.predict_proba(X), two.predict_proba(X))


def test_string_labels(small):
    X, y = small
    # Sorted like 0 < 1 < 2 < 3, so each name gets the output neuron of its digit.
    words = np.array(["a-zero", "b-one", "c-two", "d-three"])
    clf = quick().fit(X, words[y])
    assert list(clf.classes_) == list(words)
    np.testing.assert_array_equal(words[quick().fit(X, y).predict(X)], clf.predict(X))


def test_prediction_does_not_depend_on_order_or_container(small):
    X, y = small
    clf = quick().fit(X, y)
    expected = clf.predict(X)
    perm = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_array_equal(clf.predict([X[i] for i in perm]), expected[perm])
    as_object = np.empty(len(X), dtype=object)
    as_object[:] = X
    np.testing.assert_array_equal(clf.predict(tuple(X)), expected)
    np.testing.assert_array_equal(clf.predict(as_object), expected)


def test_predict_proba_is_a_distribution_even_without_output_spikes(small):
    X, y = small
    clf = quick().fit(X, y)
    empty = make_events([], [], [])
    proba = clf.predict_proba([X[0], empty, X[1][:2]])
    assert proba.shape == (3, 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(np.isfinite(proba))


def test_prediction_simulates_in_threshold_units(small):
    # predict divides the weights by the thresholds (the faster loops of the
    # kernel): the same network, told apart from the exact simulation only by
    # the rounding of the potentials.
    X, y = small
    clf = quick().fit(X, y)
    network = clf._prediction_network
    packed = check_events(X, clf.sensor_size_)
    units = network.simulate(packed, threshold_units=True)
    exact = network.simulate(packed)
    np.testing.assert_array_equal(clf._simulate(X).v, units.v)
    np.testing.assert_allclose(units.v, exact.v, rtol=1e-9, atol=1e-12)
    assert not np.array_equal(units.v, exact.v)


def test_read_only_input(small):
    X, y = small
    for s in X:
        s.flags.writeable = False
    try:
        assert quick(max_iter=1).fit(X, y).predict(X).shape == (len(X),)
    finally:
        for s in X:
            s.flags.writeable = True


def test_partial_fit_warm_start_and_loss_going_down(small):
    X, y = small
    clf = quick(max_iter=1)
    for _ in range(4):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    assert clf.n_iter_ == 4 and clf.loss_curve_[-1] < clf.loss_curve_[0]
    warm = quick(max_iter=2, warm_start=True).fit(X, y)
    first = warm.coefs_[0].copy()
    warm.fit(X, y)
    assert warm.n_iter_ == 4 and not np.array_equal(first, warm.coefs_[0])
    cold = quick(max_iter=2).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == 2


def test_validation_scores_and_early_stopping(small):
    X, y = small
    clf = quick(max_iter=4, validation_fraction=0.2).fit(X, y)
    assert len(clf.validation_scores_) == 4 and clf.t_ == 4 * 240
    stopped = quick(max_iter=50, early_stopping=True, n_iter_no_change=2, tol=0.5).fit(
        X, y
    )
    assert stopped.n_iter_ == 3  # no epoch improves by 0.5: stops after 1 + 2


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_average_is_the_mean_of_the_epochs_after_the_first_n(small, solver):
    X, y = small
    clf = quick(max_iter=1, average=1, solver=solver, hidden_layer_sizes=(40, 20))
    trained = []
    for _ in range(4):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
        trained.append([a.copy() for a in clf.network_.parameters()])
    assert clf.n_averaged_ == 3
    expected = [np.mean(arrays, axis=0) for arrays in zip(*trained[1:], strict=True)]
    got = [*clf.coefs_, *clf.thresholds_]
    for mean, value, last in zip(expected, got, trained[-1], strict=True):
        np.testing.assert_allclose(value, mean, rtol=1e-12, atol=1e-15)
        assert not np.array_equal(value, last)
    # Prediction goes through the mean: the same as a plain network holding it.
    plain = quick(max_iter=1).fit(X, y)
    plain.network_ = clf.averaged_network_
    np.testing.assert_array_equal(clf.predict_proba(X), plain.predict_proba(X))
    assert clf.averaged_network_.moments == []  # no optimizer state to carry


def test_a_mean_begun_after_another_epoch_starts_anew(small):
    X, y = small
    clf = quick(max_iter=1, average=1)
    for _ in range(3):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    assert clf.n_averaged_ == 2  # epochs 2 and 3
    # Averaging from epoch 3 on (a run resumed with another --average): the
    # mean of epochs 2 and 3 is not one of the epochs after the third.
    clf.set_params(average=3).partial_fit(X, y)
    assert clf.n_averaged_ == 1
    for mean, last in zip(
        clf.averaged_network_.parameters(), clf.network_.parameters(), strict=True
    ):
        np.testing.assert_array_equal(mean, last)
    clf.partial_fit(X, y)  # the same start: the mean goes on
    assert clf.n_averaged_ == 2


def test_average_every_folds_snapshots_within_the_epoch(small, monkeypatch):
    X, y = small  # 300 samples: snapshots after 128 and 256, and at the end
    # Kernel calls of 100 samples: snapshots fall inside them.
    monkeypatch.setattr("spikeclf._base._BLOCK", 100)
    common = {"max_iter": 1, "shuffle": False, "decay_epochs": None}
    clf = quick(**common, average=True, average_every=128, sensor_size=(8, 8, 1))
    clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    assert clf.n_averaged_ == 3
    # The same steps taken 128 samples at a time, a snapshot after each call.
    twin = quick(**common, sensor_size=(8, 8, 1))
    snapshots = []
    for start in (0, 128, 256):
        twin.partial_fit(X[start : start + 128], y[start : start + 128], [0, 1, 2, 3])
        snapshots.append([a.copy() for a in twin.network_.parameters()])
    for got, last, *taken in zip(
        clf.averaged_network_.parameters(),
        clf.network_.parameters(),
        *snapshots,
        strict=True,
    ):
        np.testing.assert_allclose(got, np.mean(taken, axis=0), rtol=1e-12, atol=1e-15)
        # (to rounding: the kernel calls end at other samples)
        np.testing.assert_allclose(last, taken[-1], rtol=1e-12, atol=1e-15)
    clf.partial_fit(X, y)
    assert clf.n_averaged_ == 6
    # Snapshots at another interval are another mean: it begins anew.
    clf.set_params(average_every=None).partial_fit(X, y)
    assert clf.n_averaged_ == 1


def test_a_mean_saved_before_average_every_existed_goes_on(small):
    X, y = small
    clf = quick(max_iter=3, average=1).fit(X, y)
    state = clf.__getstate__()
    del state["average_every"], state["_mean_state"]
    old = SpikingMLPClassifier.__new__(SpikingMLPClassifier)
    old.__setstate__(state)
    assert old.n_averaged_ == 2
    old.partial_fit(X, y)
    assert old.n_averaged_ == 3


def test_averaging_holds_the_schedule(small):
    clf = quick(average=2, decay_epochs=1.0, threshold_learning_rate=0.004)
    rates = []
    for epoch in range(5):
        clf.n_iter_ = epoch
        rates.append(clf._schedule())
    decay = np.exp(-np.arange(5.0).clip(max=2))
    np.testing.assert_allclose([r[0] for r in rates], 0.002 * decay)
    np.testing.assert_allclose([r[1] for r in rates], 0.004 * decay)
    np.testing.assert_allclose([r[2] for r in rates], decay)
    clf.set_params(average_learning_rate=1e-3)
    clf.n_iter_ = 3
    lr_w, lr_th, held = clf._schedule()
    assert (lr_w, held) == (1e-3, np.exp(-2.0))
    assert lr_th == pytest.approx(0.004 * 1e-3 / 0.002)
    clf.n_iter_ = 1  # before averaging: the usual schedule
    assert clf._schedule()[0] == pytest.approx(0.002 * np.exp(-1.0))
    clf.set_params(threshold_learning_rate=None).n_iter_ = 4
    assert clf._schedule()[:2] == (1e-3, 0.1 * 1e-3)  # exactly: no rescaling


def test_a_model_saved_before_averaging_existed_loads_and_averages(small):
    X, y = small
    clf = quick(max_iter=2).fit(X, y)
    state = clf.__getstate__()
    for name in ("average", "average_learning_rate", "averaged_network_"):
        del state[name]
    del state["n_averaged_"]
    old = SpikingMLPClassifier.__new__(SpikingMLPClassifier)
    old.__setstate__(state)
    assert old.average is False and old.n_averaged_ == 0
    np.testing.assert_array_equal(old.predict(X), clf.predict(X))
    old.set_params(average=2).partial_fit(X, y)
    assert old.n_averaged_ == 1


def test_adam_and_deeper_networks_learn(small):
    X, y = small
    for params in (
        {"solver": "adam", "learning_rate": 0.001},
        {"hidden_layer_sizes": (40, 30)},
    ):
        clf = quick(max_iter=6, **params).fit(X, y)
        assert clf.score(X, y) > 0.5, params


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda X, y: (X, y[:-1]), "inconsistent numbers of samples"),
        (lambda X, y: (X, np.zeros(len(y))), "at least 2 classes"),
        (lambda X, y: ([], []), "empty"),
        (lambda X, y: (np.zeros((len(y), 64)), y), "numeric array"),
    ],
)
def test_bad_training_data(small, make, match):
    X, y = make(*small)
    with pytest.raises((ValueError, TypeError), match=match):
        quick().fit(X, y)


def test_unknown_labels_and_other_sensor(small):
    X, y = small
    clf = quick(max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="not seen"):
        clf.partial_fit(X, y + 10)
    other = [make_events([9], [0], [0])]
    with pytest.raises(ValueError, match="outside the sensor"):
        clf.predict(other)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"lateral_inhibition": (-0.4,)}, "one value per layer"),
        ({"lateral_inhibition": (0.5, -1.0)}, r"\[-1, 0\]"),
        ({"tau": -1.0}, "tau"),
        ({"solver": "lbfgs"}, "solver"),
        ({"alpha": (3.0, -1.0)}, "alpha"),
        ({"hidden_layer_sizes": (0,)}, "positive"),
        ({"average": -1}, "average"),
        ({"average_learning_rate": 0.0}, "average_learning_rate"),
        ({"activity_tau": 0.0}, "activity_tau"),
        ({"learning_rate_scale": 0.0}, "learning_rate_scale"),
        ({"learning_rate_scale": (1.0, -2.0)}, "learning_rate_scale must be positive"),
        ({"learning_rate_scale": (1.0,) * 4}, "learning_rate_scale needs at most"),
    ],
)
def test_bad_parameters(small, params, match):
    with pytest.raises(ValueError, match=match):
        quick(**params).fit(*small)


def test_pipeline_grid_search_and_cross_validation(digits):
    X_train, _, y_train, _ = digits
    keep = y_train < 3
    images, labels = X_train[keep][:150], y_train[keep][:150]
    pipe = make_pipeline(PoissonEncoder(random_state=0), quick(max_iter=2))
    scores = cross_val_score(pipe, images, labels, cv=3)
    assert scores.mean() > 0.5
    search = GridSearchCV(
        pipe,
        {"spikingmlpclassifier__lateral_inhibition": [(0.0, 0.0), (-0.4, -1.0)]},
        cv=2,
        n_jobs=2,
    )
    search.fit(images, labels)
    assert len(search.cv_results_["mean_test_score"]) == 2
    assert search.best_score_ > 0.5
    # Threads (the kernels release the GIL) give the processes' results.
    with parallel_config(backend="threading"):
        threaded = clone(search).fit(images, labels)
    np.testing.assert_array_equal(
        threaded.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
    )


@pytest.mark.parametrize(
    "estimator",
    [
        SpikingMLPClassifier(),
        FrameANNClassifier(),
        SaccadeEmulator(),
        RandomEventWindow(),
    ],
    ids=lambda e: type(e).__name__,
)
@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_data_free_checks(estimator, check):
    """The estimators of event streams, and those that make them from images of
    one shape, take sklearn's checks that need no data."""
    check(type(estimator).__name__, estimator)


def _pipeline():
    return make_pipeline(
        MinMaxScaler(clip=True),
        PoissonEncoder(duration=0.1, random_state=0),
        SpikingMLPClassifier(hidden_layer_sizes=(50,), max_iter=10, random_state=0),
    )


_PIPELINE_FAILURES = {
    "check_estimators_overwrite_params": "fails for every sklearn Pipeline: fitting "
    "changes the steps, which are parameters",
    "check_dont_overwrite_parameters": "likewise for every sklearn Pipeline",
    "check_methods_sample_order_invariance": "PoissonEncoder draws the events of the "
    "images in their order: another order gives other events",
    "check_methods_subset_invariance": "likewise: a subset gets other events",
    "check_classifiers_train": "its blobs have 2 features: Poisson encoding at a fixed "
    "total rate per image keeps only the ratio of the 2 intensities, which does not "
    "separate the classes to 83 %",
}


@parametrize_with_checks(
    [_pipeline()], expected_failed_checks=lambda e: _PIPELINE_FAILURES
)
def test_sklearn_checks_on_a_pipeline_from_images(estimator, check):
    check(estimator)
