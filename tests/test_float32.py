"""The float32 inference simulators: against the references rounded to float32,
event for event, against the float64 kernels, and through SpikingMLPClassifier and
SpikingCNNClassifier."""

import pickle

import joblib
import numpy as np
import pytest
import test_conv as conv
from conftest import DATA_FREE_CHECKS, quick
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError
from test_simulator import (
    assert_matches_reference,
    random_network,
    random_streams,
    reference_runs,
)

import spikeclf
from spikeclf import SpikingCNNClassifier, SpikingMLPClassifier, load_digits_events
from spikeclf._reference import simulate_conv_reference
from spikeclf.convolution import simulate_conv
from spikeclf.events import check_events
from spikeclf.simulator import simulate


def assert_float32_matches_reference(
    streams, weights, thresholds, tau, t_ref, kappa, **neuron
):
    """The float32 kernel equals the float32 reference exactly."""
    result = assert_matches_reference(
        streams, weights, thresholds, tau, t_ref, kappa, dtype=np.float32, **neuron
    )
    assert result.v.dtype == np.float64
    return result


@pytest.mark.parametrize("kappa", [0.0, -0.4, (-0.4, 0.0, -1.0)])
def test_the_float32_reference_does_round(kappa):
    """The kernels are compared with the reference in both dtypes by the
    tests of tests/test_simulator.py; here, that its float32 potentials are not
    its float64 ones, so that those comparisons tell the dtypes apart."""
    rng = np.random.default_rng(0)
    weights, thresholds = random_network(rng, [12, 9, 7, 4])
    streams = random_streams(rng, 5, 12, 120, 40_000)
    refs = reference_runs(streams, weights, thresholds, 20e-3, 1e-3, kappa, np.float32)
    refs64 = reference_runs(streams, weights, thresholds, 20e-3, 1e-3, kappa, None)
    assert any(
        not np.array_equal(r32["v"][-1], r64["v"][-1])
        for r32, r64 in zip(refs, refs64, strict=True)
    )


def test_refractory_without_inhibition_matches_float32_reference():
    # kappa = 0 with a refractory period: the per-neuron dynamic weight loop.
    rng = np.random.default_rng(4)
    weights, thresholds = random_network(rng, [10, 16, 5])
    streams = random_streams(rng, 6, 10, 200, 20_000)
    result = assert_float32_matches_reference(
        streams, weights, thresholds, 20e-3, 3e-3, 0.0
    )
    assert result.counts.sum() > 0


def test_wide_layers_use_every_vector_lane():
    # Widths around multiples of 8 floats and of the 64-neuron blocks of the
    # winner search, so that vector bodies and remainders both run.
    rng = np.random.default_rng(13)
    weights, thresholds = random_network(rng, [20, 71, 9])
    streams = random_streams(rng, 4, 20, 300, 50_000)
    assert_float32_matches_reference(
        streams, weights, thresholds, 20e-3, 1e-3, (-0.4, -1.0)
    )


def test_float32_agrees_with_float64_on_most_outputs():
    """Rounding changes some spikes, not the picture: most samples keep their
    counts and nearly all their most active output neuron."""
    rng = np.random.default_rng(0)
    sizes = [100, 200, 10]
    weights = [
        rng.uniform(-0.17, 0.17, (100, 200)),
        rng.uniform(-0.12, 0.12, (200, 10)),
    ]
    thresholds = [np.full(200, 0.5), np.full(10, 0.2)]
    streams = random_streams(rng, 100, sizes[0], 2000, 200_000)
    kw = dict(
        sensor_size=(100, 1, 1), lateral_inhibition=(-0.4, -1.0), t_end=0.2, n_jobs=2
    )
    r64 = simulate(streams, weights, thresholds, **kw)
    r32 = simulate(streams, weights, thresholds, dtype="float32", **kw)
    assert r64.counts.sum() > 10 * len(streams)  # not vacuous
    same_counts = np.mean(np.all(r32.counts == r64.counts, axis=1))
    same_winner = np.mean(r32.counts.argmax(axis=1) == r64.counts.argmax(axis=1))
    assert same_counts >= 0.5
    assert same_winner >= 0.9
    assert abs(r32.synops.sum() / r64.synops.sum() - 1) < 0.02


def test_float32_spike_recording_reruns_overflowing_samples():
    # More output spikes than the kernel buffers: the rerun uses the same kernel.
    rng = np.random.default_rng(2)
    weights = [rng.uniform(0.5, 1.0, (5, 3))]
    streams = random_streams(rng, 3, 5, 800, 1_000_000)
    kw = dict(sensor_size=(5, 1, 1), record_spikes=True)
    r32 = simulate(streams, weights, [np.ones(3)], dtype=np.float32, **kw)
    assert max(len(t) for t in r32.spike_times) > 256
    for i, t in enumerate(r32.spike_times):
        assert len(t) == r32.counts[i].sum()


@pytest.mark.parametrize("dtype", [np.float32, "float32", np.dtype("f4")])
def test_dtype_spellings(dtype):
    rng = np.random.default_rng(1)
    weights, thresholds = random_network(rng, [6, 5, 3])
    streams = random_streams(rng, 3, 6, 80, 10_000)
    kw = dict(sensor_size=(6, 1, 1), lateral_inhibition=-0.5)
    expected = simulate(streams, weights, thresholds, dtype="float32", **kw)
    got = simulate(streams, weights, thresholds, dtype=dtype, **kw)
    np.testing.assert_array_equal(got.counts, expected.counts)
    np.testing.assert_array_equal(got.v, expected.v)


@pytest.mark.parametrize("dtype", ["float16", np.int32, "double precision", None, 4])
def test_other_dtypes_are_rejected(dtype):
    events = random_streams(np.random.default_rng(0), 1, 2, 5, 100)
    with pytest.raises(ValueError, match="dtype must be float64 or float32"):
        simulate(
            events, [np.ones((2, 2))], [np.ones(2)], sensor_size=(2, 1, 1), dtype=dtype
        )


def test_float32_rejects_training_work_and_float32_overflow():
    events = random_streams(np.random.default_rng(0), 1, 2, 5, 100)
    kw = dict(sensor_size=(2, 1, 1), dtype=np.float32)
    with pytest.raises(ValueError, match="record_activities .* float64 only"):
        simulate(events, [np.ones((2, 2))], [np.ones(2)], record_activities=True, **kw)
    with pytest.raises(ValueError, match="NaN or infinite"):
        simulate(events, [np.full((2, 2), 1e39)], [np.ones(2)], **kw)
    with pytest.raises(ValueError, match="positive and finite"):
        simulate(events, [np.ones((2, 2))], [np.full(2, 1e-50)], **kw)


# ------------------------------------------------------------------ estimator
@pytest.fixture(scope="module")
def digits_model():
    """A small model of the 10 built-in digits, and held-out 1 s presentations."""
    X, y = load_digits_events(return_X_y=True, random_state=0)
    clf = quick(hidden_layer_sizes=(100,), max_iter=10).fit(X[:1200], y[:1200])
    X_test, _ = load_digits_events(return_X_y=True, duration=1.0, random_state=1)
    return clf, X_test[1200:], y[1200:]


def test_float32_predictions_nearly_equal_float64(digits_model):
    clf, X_test, y_test = digits_model
    y64 = clf.predict(X_test)
    try:
        y32 = clf.set_params(inference_dtype="float32").predict(X_test)
    finally:
        clf.set_params(inference_dtype="float64")
    assert np.mean(y64 == y_test) > 0.8  # a model worth comparing
    assert np.mean(y32 == y64) >= 0.98


def test_inference_dtype_is_a_parameter(digits_model):
    clf, X_test, _ = digits_model
    assert clf.get_params()["inference_dtype"] == "float64"
    copy = clone(clf.set_params(inference_dtype="float32"))
    assert copy.get_params()["inference_dtype"] == "float32"
    try:
        proba = clf.predict_proba(X_test[:50])
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        # Training stays float64: the parameter changes predictions only.
        assert clf.network_.weights[0].dtype == np.float64
    finally:
        clf.set_params(inference_dtype="float64")
    with pytest.raises(InvalidParameterError, match="inference_dtype"):
        quick(inference_dtype="float16").fit(X_test[:20], np.arange(20) % 2)
    # The CNN has had the parameter since its float32 kernel (before: absent).
    assert SpikingCNNClassifier().get_params()["inference_dtype"] == "float64"


def test_a_model_saved_before_inference_dtype_loads_and_predicts(digits_model):
    clf, X_test, _ = digits_model
    state = pickle.loads(pickle.dumps(clf)).__getstate__()
    del state["inference_dtype"]
    old = type(clf).__new__(type(clf))
    old.__setstate__(state)
    assert old.inference_dtype == "float64"
    np.testing.assert_array_equal(old.predict(X_test[:100]), clf.predict(X_test[:100]))


@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_data_free_checks_in_float32(check):
    estimator = SpikingMLPClassifier(inference_dtype="float32")
    check(type(estimator).__name__, estimator)


# ------------------------------------------------------------ convolutional
@pytest.mark.parametrize("plan", list(conv.PLANS))
@pytest.mark.parametrize("t_ref", [0.0, conv.T_REF])
def test_float32_conv_kernel_matches_float32_reference(plan, t_ref):
    # Every spike and every potential bit for bit: the parameters as given, and
    # in threshold units (the reference on the network divided by hand).
    rng = np.random.default_rng(31)
    shape = (2, 10, 10)
    layers = conv.varied_pools(
        rng, conv.random_layers(rng, shape, conv.PLANS[plan], t_ref=t_ref)
    )
    streams = conv.random_streams(rng, 4, shape, 200, 30_000)
    plain = conv.assert_matches_reference(streams, shape, layers, dtype=np.float32)
    in_units = conv.in_threshold_units_by_hand(layers)
    units = conv.assert_matches_reference(streams, shape, in_units, dtype="float32")
    assert plain.counts.sum() > 0 and np.all(plain.synops.sum(axis=0) > 0)
    assert units.counts.sum() > 0 and plain.v.dtype == units.v.dtype == np.float64


def test_the_float32_conv_reference_does_round():
    """So that the comparisons above tell the dtypes apart."""
    rng = np.random.default_rng(37)
    shape = (2, 10, 10)
    layers = conv.random_layers(rng, shape, conv.PLANS["deep"])
    streams = conv.random_streams(rng, 3, shape, 200, 30_000)
    packed = check_events(streams, (10, 10, 2))
    layers_us = conv.in_microseconds(layers)
    differ = []
    for i in range(packed.n_samples):
        channel, t = packed.sample(i)
        r32 = simulate_conv_reference(channel, t, shape, layers_us, dtype=np.float32)
        r64 = simulate_conv_reference(channel, t, shape, layers_us)
        differ.append(not np.array_equal(r32["v"][0], r64["v"][0]))
    assert any(differ)
    with pytest.raises(ValueError, match="float64 or float32"):
        simulate_conv_reference(channel, t, shape, layers_us, dtype=np.float16)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    network=conv.networks(),
    seed=st.integers(0, 2**32 - 1),
    t_ref=st.sampled_from([0.0, 1e-3, 3e-3]),
    discrete=st.booleans(),
)
def test_random_conv_networks_match_float32_reference(network, seed, t_ref, discrete):
    shape, plan = network
    rng = np.random.default_rng(seed)
    layers = conv.random_layers(
        rng, shape, plan, discrete=discrete, tau=10e-3, t_ref=t_ref
    )
    streams = conv.random_streams(rng, 3, shape, 40, 8_000)
    result = conv.assert_matches_reference(streams, shape, layers, dtype=np.float32)
    target(float(np.log1p(result.counts.sum())))


def test_simulate_conv_checks_its_dtype_and_float32_overflow():
    layers = conv.good_layers()
    events = [spikeclf.make_events([0], [0], [0])]
    for dtype in ("float16", np.int32, None):
        with pytest.raises(ValueError, match="dtype must be float64 or float32"):
            simulate_conv(events, (1, 5, 5), layers, dtype=dtype)
    big = conv.changed(0, weights=np.full((2, 1, 3, 3), 1e39))
    with pytest.raises(ValueError, match=r"layer 0 \(conv\): weights .* in float32"):
        simulate_conv(events, (1, 5, 5), big, dtype=np.float32)
    tiny = conv.changed(2, thresholds=np.full(3, 1e-50))
    with pytest.raises(ValueError, match=r"layer 2 \(dense\): thresholds .* float32"):
        simulate_conv(events, (1, 5, 5), tiny, dtype=np.float32)
    # In threshold units the division itself can overflow float64.
    small = conv.changed(0, thresholds=np.full(2, 1e-310))
    with pytest.raises(ValueError, match="weights hold NaN or infinite"):
        simulate_conv(events, (1, 5, 5), small, threshold_units=True)


@pytest.fixture(scope="module")
def digits_cnn():
    """A small CNN of the built-in digits, and held-out 1 s presentations."""
    X, y = load_digits_events(return_X_y=True, random_state=0)
    clf = SpikingCNNClassifier(
        "8c3-p2-40", max_iter=3, output_loss="cross_entropy", random_state=0
    ).fit(X[:1200], y[:1200])
    X_test, _ = load_digits_events(return_X_y=True, duration=1.0, random_state=1)
    return clf, X_test[1200:1500], y[1200:1500]


def test_cnn_float32_and_threshold_units_predict_as_float64(digits_cnn):
    clf, X_test, y_test = digits_cnn
    packed = check_events(X_test, clf.sensor_size_)
    network = clf._prediction_network
    plain = network.simulate(packed)  # the parameters as they are, in float64
    runs = {
        "float64": network.simulate(packed, threshold_units=True),
        "float32": network.simulate(packed, dtype="float32", threshold_units=True),
    }
    expected = np.argmax(clf._proba(plain), axis=1)
    assert np.mean(clf.classes_[expected] == y_test) > 0.6  # a model worth comparing
    assert plain.counts.sum() > 50 * len(X_test)  # not vacuous
    for dtype, result in runs.items():
        assert np.mean(np.argmax(clf._proba(result), axis=1) == expected) >= 0.98
        same_counts = np.mean(np.all(result.counts == plain.counts, axis=1))
        assert same_counts >= (0.98 if dtype == "float64" else 0.9), dtype
        assert abs(result.counts.sum() / plain.counts.sum() - 1) < 0.01
        assert abs(result.synops.sum() / plain.synops.sum() - 1) < 0.01
    # What predict does: float64 in threshold units, and float32 when asked.
    np.testing.assert_array_equal(
        clf.predict_proba(X_test), clf._proba(runs["float64"])
    )
    try:
        proba32 = clf.set_params(inference_dtype="float32").predict_proba(X_test)
    finally:
        clf.set_params(inference_dtype="float64")
    np.testing.assert_array_equal(proba32, clf._proba(runs["float32"]))
    # Training stays float64: the parameter changes predictions only.
    assert all(k.dtype == np.float64 for k in network.kernels if k is not None)


def test_cnn_inference_dtype_is_validated():
    X, y = load_digits_events(return_X_y=True, random_state=0)
    with pytest.raises(InvalidParameterError, match="inference_dtype"):
        SpikingCNNClassifier("4c3", inference_dtype="float16").fit(X[:20], y[:20])
    copy = clone(SpikingCNNClassifier(inference_dtype="float32"))
    assert copy.get_params()["inference_dtype"] == "float32"


def test_cnn_round_trips_keep_inference_dtype(digits_cnn, tmp_path):
    clf, X_test, _ = digits_cnn
    clf = clone(clf).set_params(max_iter=1, inference_dtype="float32")
    X, y = load_digits_events(return_X_y=True, random_state=0)
    clf.fit(X[:300], y[:300])
    expected = clf.predict_proba(X_test[:100])
    joblib.dump(clf, tmp_path / "cnn.joblib")
    loaded = joblib.load(tmp_path / "cnn.joblib")
    assert loaded.inference_dtype == "float32"
    np.testing.assert_array_equal(loaded.predict_proba(X_test[:100]), expected)
    skops_io = pytest.importorskip("skops.io")
    skops_io.dump(clf, tmp_path / "cnn.skops")
    loaded = skops_io.load(tmp_path / "cnn.skops", trusted=spikeclf.SKOPS_TRUSTED_TYPES)
    assert loaded.inference_dtype == "float32"
    np.testing.assert_array_equal(loaded.predict_proba(X_test[:100]), expected)
    # Saved before the parameter existed: float64, as the CNN predicted then.
    state = pickle.loads(pickle.dumps(clf)).__getstate__()
    del state["inference_dtype"]
    old = SpikingCNNClassifier.__new__(SpikingCNNClassifier)
    old.__setstate__(state)
    assert old.inference_dtype == "float64"
    np.testing.assert_array_equal(
        old.predict_proba(X_test[:100]),
        clf.set_params(inference_dtype="float64").predict_proba(X_test[:100]),
    )


@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_data_free_checks_of_the_cnn_in_float32(check):
    estimator = SpikingCNNClassifier(inference_dtype="float32")
    check(type(estimator).__name__, estimator)


def test_the_float32_conv_kernel_takes_float32_arrays_only():
    from spikeclf._conv32 import ConvStream
    from spikeclf._conv32 import simulate as conv32_kernel

    args = conv.kernel_arguments()
    with pytest.raises(ValueError, match="dtype mismatch"):
        conv32_kernel(**args)
    network = ("spatial_weights", "spatial_thresholds", "weights", "thresholds")
    in_float32 = {
        name: [None if a is None else a.astype(np.float32) for a in args[name]]
        for name in network
    }
    args = conv.kernel_arguments(**in_float32)
    assert conv32_kernel(**args) == 0
    # What the float64 kernel gives (tests/test_conv.py).
    assert args["synops"][0].tolist() == [2 * (1 + 4 + 1), 2 + 6, 2 * 3]
    assert args["counts"][0].tolist() == [1, 1, 1]
    stream_args = [args[name] for name in list(args)[4:16]]
    ConvStream(*stream_args)
    stream_args[1] = [w.astype(np.float64) for w in stream_args[1][:1]] + [None]
    with pytest.raises(ValueError, match="dtype mismatch"):
        ConvStream(*stream_args)
