"""Model selection and evaluation on a Dask cluster through joblib, as serially."""

import pickle

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_predict

from spikeclf import SpikingMLPClassifier, load_digits_events
from spikeclf.events import as_object_array

distributed = pytest.importorskip(
    "distributed",
    reason="dask.distributed is not installed (pip install 'spikeclf[dask]')",
)


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def data():
    X, y = load_digits_events(return_X_y=True)
    keep = np.flatnonzero(y < 4)[:240]
    return as_object_array([X[i] for i in keep]), y[keep]


def search(n_jobs):
    return GridSearchCV(
        SpikingMLPClassifier(hidden_layer_sizes=(20,), max_iter=2, random_state=0),
        {"lateral_inhibition": [(0.0, 0.0), (-0.4, -1.0)], "tau": [0.02, 0.05]},
        cv=2,
        n_jobs=n_jobs,
    )


def test_grid_search_on_a_cluster_equals_the_serial_one(client, data):
    X, y = data
    serial = search(n_jobs=1).fit(X, y)
    with joblib.parallel_backend("dask"):
        spread = search(n_jobs=-1).fit(X, y)
    assert len(client.scheduler_info()["workers"]) == 2
    np.testing.assert_array_equal(
        spread.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert spread.best_params_ == serial.best_params_
    assert serial.best_score_ > 0.5


def test_parallel_evaluation_on_a_cluster_equals_the_serial_one(client, data):
    X, y = data
    clf = SpikingMLPClassifier(hidden_layer_sizes=(20,), max_iter=2, random_state=0)
    serial = cross_val_predict(clf, X, y, cv=3)
    with joblib.parallel_backend("dask"):
        spread = cross_val_predict(clf, X, y, cv=3, n_jobs=-1)
        fitted = clf.fit(X, y)
        chunks = joblib.Parallel(n_jobs=-1)(
            joblib.delayed(fitted.predict)(X[i : i + 60]) for i in range(0, len(X), 60)
        )
    np.testing.assert_array_equal(spread, serial)
    np.testing.assert_array_equal(np.concatenate(chunks), fitted.predict(X))


def test_estimators_pickle_about_as_small_as_their_weights(data):
    X, y = data
    clf = SpikingMLPClassifier(hidden_layer_sizes=(100,), max_iter=1, random_state=0)
    assert len(pickle.dumps(clf)) < 5_000  # what every search task ships
    clf.fit(X, y)
    weights = sum(
        w.nbytes + th.nbytes for w, th in zip(clf.coefs_, clf.thresholds_, strict=True)
    )
    assert len(pickle.dumps(clf)) < 1.2 * weights + 10_000


def test_object_arrays_hold_streams_of_equal_length():
    streams = [
        np.zeros(3, dtype=[("x", "i8"), ("y", "i8"), ("t", "f8"), ("p", "i8")])
    ] * 4
    X = as_object_array(streams)
    assert X.shape == (4,) and X.dtype == object
    assert all(x is s for x, s in zip(X, streams, strict=True))
    with pytest.raises(TypeError, match="list of event streams"):
        as_object_array(np.zeros((2, 3)))
