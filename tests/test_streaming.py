"""Streaming (clf.stream()) and early decisions (predict_early, early_stop_margin).

Both are checked against the whole-stream simulation: the stream's output
spikes against simulate(..., record_spikes=True) spike for spike, its final
probabilities against predict_proba exactly; the early decisions against the
margin rule applied in NumPy to the recorded output spikes.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeclf import (
    PoissonEncoder,
    SpikingCNNClassifier,
    SpikingMLPClassifier,
    check_events,
    load_digits_events,
    make_events,
)
from spikeclf.streaming import early_decisions


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits_events(return_X_y=True, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def long_streams(digits):
    """Digits as 300 ms Poisson streams: dozens of output spikes each."""
    from sklearn.datasets import load_digits

    images = load_digits().images[600:640] / 16.0
    X = PoissonEncoder(rate=5000.0, duration=0.3, random_state=1).fit_transform(images)
    return X, load_digits().target[600:640]


@pytest.fixture(scope="module")
def models(digits):
    X, y = digits
    return {
        "mlp64": SpikingMLPClassifier((40,), max_iter=2, random_state=0),
        "mlp32": SpikingMLPClassifier(
            (40,), max_iter=2, random_state=0, inference_dtype="float32"
        ),
        "cnn": SpikingCNNClassifier("4c3-p2-20", max_iter=2, random_state=0),
        "cnn32": SpikingCNNClassifier(
            "4c3-p2-20", max_iter=2, random_state=0, inference_dtype="float32"
        ),
    }


def _fit(models, name, digits):
    clf = models[name]
    if not hasattr(clf, "network_"):
        X, y = digits
        clf.fit(X[:300], y[:300])
    return clf


@pytest.fixture(scope="module", params=["mlp64", "mlp32", "cnn", "cnn32"])
def fitted(request, models, digits):
    return _fit(models, request.param, digits)


@pytest.fixture(scope="module", params=["mlp64", "mlp32"])
def mlp(request, models, digits):
    return _fit(models, request.param, digits)


@pytest.fixture(scope="module")
def cnn(models, digits):
    return _fit(models, "cnn", digits)


def recorded(clf, events):
    """Output spikes and operations of the whole stream, as predict simulates it."""
    packed = check_events([events], clf.sensor_size_)
    result = clf._prediction_network.simulate(
        packed, record_spikes=True, **clf._inference_options()
    )
    return result.spike_times[0], result.spike_neurons[0], result.synops[0], result.v[0]


def chunks_by_time(events, width):
    """Consecutive chunks of ``width`` microseconds."""
    if len(events) == 0:
        return []
    edges = np.arange(0, events["t"][-1] + width + 1, width)
    cut = np.searchsorted(events["t"], edges[1:-1], side="left")
    return np.split(events, cut)


def push_all(stream, chunks):
    proba = None
    for chunk in chunks:
        proba = stream.push(chunk)
    return proba


@pytest.mark.parametrize("chunking", ["event", "1ms", "10ms", "whole"])
def test_any_chunking_gives_the_spikes_and_probabilities_of_the_whole_stream(
    fitted, long_streams, chunking
):
    X, _ = long_streams
    stream = fitted.stream()
    n_spikes = 0
    for events in X[:6]:
        stream.reset()
        if chunking == "event":
            chunks = np.split(events, np.arange(1, len(events)))
        elif chunking == "whole":
            chunks = [events]
        else:
            chunks = chunks_by_time(events, 1000 if chunking == "1ms" else 10_000)
        proba = push_all(stream, chunks)
        times, neurons, synops, v = recorded(fitted, events)
        np.testing.assert_array_equal(stream.spike_times, times)
        np.testing.assert_array_equal(stream.spike_neurons, neurons)
        np.testing.assert_array_equal(stream.synops, synops)
        np.testing.assert_array_equal(stream.potentials, v)
        np.testing.assert_array_equal(proba, fitted.predict_proba([events])[0])
        assert stream.n_events == len(events)
        assert stream.counts.sum() == len(times)
        n_spikes += len(times)
    assert n_spikes > 20  # the comparison saw output spikes


def test_probabilities_after_a_push_are_those_of_the_stream_so_far(
    fitted, long_streams
):
    events = long_streams[0][0]
    stream = fitted.stream()
    for chunk in chunks_by_time(events, 25_000):
        proba = stream.push(chunk)
        so_far = events[events["t"] <= stream.time]
        np.testing.assert_array_equal(proba, fitted.predict_proba([so_far])[0])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_random_chunkings_match_the_whole_stream(mlp, cnn, long_streams, data):
    X, _ = long_streams
    clf = data.draw(st.sampled_from([mlp, cnn]))
    events = X[data.draw(st.integers(0, len(X) - 1))]
    cuts = sorted(
        data.draw(st.lists(st.integers(0, len(events)), max_size=30, unique=True))
    )
    stream = clf.stream()
    proba = push_all(stream, np.split(events, cuts))
    times, neurons, _, v = recorded(clf, events)
    np.testing.assert_array_equal(stream.spike_times, times)
    np.testing.assert_array_equal(stream.spike_neurons, neurons)
    np.testing.assert_array_equal(stream.potentials, v)
    np.testing.assert_array_equal(proba, clf.predict_proba([events])[0])


def state_of(stream):
    return (
        stream.time,
        stream.n_events,
        stream.counts.tolist(),
        stream.synops.tolist(),
        stream.inhibitions.tolist(),
        stream.spike_times.tolist(),
        stream.potentials.tolist(),
    )


def started(clf, events):
    """A stream that has taken ``events``, and its state then."""
    stream = clf.stream()
    stream.push(events)
    return stream, state_of(stream)


def test_a_chunk_from_the_past_is_refused_and_changes_nothing(fitted, long_streams):
    events = long_streams[0][1]
    first, rest = events[: len(events) // 2], events[len(events) // 2 :]
    stream, before = started(fitted, first)
    late = rest.copy()
    late["t"] = late["t"] - (late["t"][0] - first["t"][-1]) - 1  # 1 us too early
    with pytest.raises(ValueError, match="chunk 1: its first event.*before the last"):
        stream.push(late)
    assert state_of(stream) == before
    # The hidden layers are unchanged too: the rest gives the whole stream's answer.
    np.testing.assert_array_equal(stream.push(rest), fitted.predict_proba([events])[0])


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.__setitem__("x", 100), "x"),
        (lambda c: c.__setitem__("t", c["t"][::-1].copy()), "not sorted"),
        (lambda c: c.__setitem__("p", 2), "p"),
        (lambda c: c.__setitem__("y", -1), "y"),
    ],
)
def test_an_invalid_chunk_is_a_clear_error_and_changes_nothing(
    mlp, long_streams, change, message
):
    events = long_streams[0][2]
    stream, before = started(mlp, events[:100])
    bad = events[100:200].copy()
    change(bad)
    with pytest.raises(ValueError, match=f"chunk 1: .*{message}"):
        stream.push(bad)
    assert state_of(stream) == before


def test_reset_starts_a_new_stream_and_empty_chunks_change_nothing(mlp, long_streams):
    X, _ = long_streams
    stream = mlp.stream()
    np.testing.assert_array_equal(
        stream.push(X[0][:0]), mlp.predict_proba([X[0][:0]])[0]
    )
    stream.push(X[0])
    proba = stream.push(X[0][:0])
    np.testing.assert_array_equal(proba, mlp.predict_proba([X[0]])[0])
    stream.reset()
    assert stream.time == 0 and stream.n_events == 0 and stream.counts.sum() == 0
    assert stream.spike_times.size == 0
    np.testing.assert_array_equal(stream.push(X[1]), mlp.predict_proba([X[1]])[0])


def test_the_stream_keeps_the_network_it_was_made_with(digits, long_streams):
    X, y = digits
    clf = SpikingMLPClassifier((20,), max_iter=1, random_state=0).fit(X[:200], y[:200])
    events = long_streams[0][3]
    expected = clf.predict_proba([events])[0]
    stream = clf.stream()
    clf.partial_fit(X[200:300], y[200:300])
    np.testing.assert_array_equal(stream.push(events), expected)


def test_stream_needs_a_fitted_estimator():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        SpikingMLPClassifier().stream()


# ------------------------------------------------------------ early decisions
def margin_rule(times, neurons, n_out, margin):
    """Index of the first output spike after which its neuron leads every other
    by ``margin`` spikes, and the counts then; (None, counts) if never."""
    counts = np.zeros(n_out, np.int64)
    for s, i in enumerate(neurons):
        counts[i] += 1
        others = np.delete(counts, i)
        if counts[i] - (others.max() if others.size else 0) >= margin:
            return s, counts
    return None, counts


@pytest.mark.parametrize("margins", [[1], [2, 5], [3, 1, 8]])
def test_early_decisions_follow_the_margin_rule_on_the_recorded_spikes(
    fitted, long_streams, margins
):
    X, _ = long_streams
    decisions = early_decisions(fitted, X, margins)
    whole = fitted.predict_proba(X)
    n_out = whole.shape[1]
    n_decided = 0
    for m, result in zip(margins, decisions, strict=True):
        for k, events in enumerate(X):
            times, neurons, synops, v = recorded(fitted, events)
            s, counts = margin_rule(times, neurons, n_out, m)
            if s is None:
                assert not result.decided[k]
                assert result.decision_time[k] == events["t"][-1] * 1e-6
                np.testing.assert_array_equal(result.proba[k], whole[k])
                np.testing.assert_array_equal(result.synops[k], synops)
                continue
            n_decided += 1
            assert result.decided[k]
            assert result.decision_time[k] == times[s] * 1e-6
            assert result.y_pred[k] == fitted.classes_[neurons[s]]
            np.testing.assert_array_equal(result.proba[k], counts / counts.sum())
            # Operations: those of the events up to the one that caused spike s.
            upto = events[events["t"] <= times[s]]
            assert result.synops[k].sum() <= recorded(fitted, upto)[2].sum()
            before = events[events["t"] < times[s]]
            assert result.synops[k].sum() > recorded(fitted, before)[2].sum()
    assert n_decided > 0


def test_predict_stops_early_with_early_stop_margin(mlp, long_streams):
    X, y = long_streams
    early = mlp.predict_early(X, margin=2)
    clf = mlp.set_params(early_stop_margin=2)
    try:
        np.testing.assert_array_equal(clf.predict(X), early.y_pred)
        assert clf.score(X, y) == np.mean(early.y_pred == y)
        # predict_proba still reads whole streams.
        assert early.synops.sum() < mlp.synaptic_operations(X)[0].sum()
    finally:
        mlp.set_params(early_stop_margin=None)


def test_a_margin_never_reached_is_predict_proba_exactly(fitted, long_streams):
    X, _ = long_streams
    never = fitted.predict_early(X, margin=10**9)
    assert not never.decided.any()
    np.testing.assert_array_equal(never.proba, fitted.predict_proba(X))
    np.testing.assert_array_equal(never.synops, fitted.synaptic_operations(X)[0])


def test_early_decisions_do_not_depend_on_threads(mlp, long_streams):
    X, _ = long_streams
    one = early_decisions(mlp, X, [1, 3])
    mlp.set_params(n_jobs=2)
    try:
        two = early_decisions(mlp, X, [1, 3])
    finally:
        mlp.set_params(n_jobs=None)
    for a, b in zip(one, two, strict=True):
        for x, z in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, z)


@pytest.mark.parametrize("margin", [0, -1, 1.5, [], "2"])
def test_bad_margins_are_named(mlp, long_streams, margin):
    with pytest.raises(ValueError, match="margins must be whole numbers"):
        early_decisions(mlp, long_streams[0][:2], margin)


def test_predict_early_needs_a_margin(mlp, long_streams):
    with pytest.raises(ValueError, match="needs a margin"):
        mlp.predict_early(long_streams[0][:2])


def test_early_stop_margin_is_validated(digits):
    X, y = digits
    with pytest.raises(ValueError, match="early_stop_margin"):
        SpikingMLPClassifier(early_stop_margin=0, max_iter=1).fit(X[:50], y[:50])


def test_the_early_decision_curve_is_that_of_each_margin_and_of_whole_streams(
    mlp, long_streams
):
    from spikeclf.cost import early_decision_curve

    X, y = long_streams
    curve = early_decision_curve(mlp, X, y, margins=[1, 3, 6])
    np.testing.assert_array_equal(curve["margin"], [1, 3, 6])
    for k, m in enumerate([1, 3, 6]):
        alone = mlp.predict_early(X, margin=m)
        assert curve["accuracy"][k] == np.mean(alone.y_pred == y)
        assert curve["synops"][k] == alone.synops.sum(axis=1).mean()
        assert curve["decided"][k] == alone.decided.mean()
    assert curve["whole_accuracy"] == mlp.score(X, y)
    assert curve["whole_synops"] == mlp.synaptic_operations(X)[0].sum(axis=1).mean()
    assert np.all(np.diff(curve["synops"]) >= 0)


@pytest.mark.parametrize("value, message", [(np.nan, "NaN"), (-5.0, "negative")])
def test_bad_times_are_named_whatever_the_field_types(
    mlp, long_streams, value, message
):
    events = long_streams[0][4]
    stream, before = started(mlp, events[:10])
    as_float = events[10:20].astype(
        [("x", "f8"), ("y", "f8"), ("t", "f8"), ("p", "f8")]
    )
    as_float["t"][3] = value
    with pytest.raises(ValueError, match=f"chunk 1: .*{message}"):
        stream.push(as_float)
    assert state_of(stream) == before


def test_chunks_of_any_field_types_give_the_same_stream(mlp, long_streams):
    """Integer fields take push's compiled checks, floats check_events: alike."""
    events = long_streams[0][5]
    chunks = chunks_by_time(events, 5000)
    expected = push_all(mlp.stream(), chunks)
    types = [("x", "f4"), ("y", "u2"), ("t", "u8"), ("p", "?")]
    stream = mlp.stream()
    mixed = push_all(
        stream, [c.astype(types) if k % 2 else c for k, c in enumerate(chunks)]
    )
    np.testing.assert_array_equal(mixed, expected)
    np.testing.assert_array_equal(stream.spike_times, recorded(mlp, events)[0])
    # A coordinate that int32 channels would wrap around is named, not wrapped.
    huge = events[-3:].astype([("x", "u8"), ("y", "i8"), ("t", "i8"), ("p", "i8")])
    huge["x"] = 2**63 + 1
    with pytest.raises(ValueError, match="chunk 0: .*x"):
        mlp.stream().push(huge)


def test_a_margin_holds_at_its_spike_even_if_the_same_event_takes_it_back():
    """Two output spikes of one input event: the margin of 1 holds after the
    first only, and decides there (a check after each event would miss it)."""
    from spikeclf import _lif
    from spikeclf.simulator import simulate

    weights = [np.array([[2.0, 1.5]]), np.eye(2)]
    thresholds = [np.ones(2), np.ones(2)]
    events = make_events([0, 0], [0, 0], [1000, 5000])
    reference = simulate(
        [events], weights, thresholds, refractory=0.0, record_spikes=True
    )
    assert reference.spike_neurons[0].tolist() == [0, 1, 0, 1]
    per_layer = np.full(2, 20e3), np.zeros(2), np.zeros(2)
    kernel = _lif.DenseStream(
        np.array([1, 2, 2]), weights, thresholds, *per_layer, False, True
    )
    out = (np.zeros((1, 1, 2), np.int64), np.zeros((1, 1, 2)))
    ops = (np.zeros((1, 1, 2), np.int64), np.zeros((1, 1, 2), np.int64))
    when, decided = np.zeros((1, 1)), np.zeros((1, 1), np.uint8)
    status = kernel.run_early(
        np.zeros(2, np.int32), events["t"].astype(float), np.array([0, 2]),
        np.array([5000.0]), np.array([1]), *out, *ops, when, decided,
    )  # fmt: skip
    assert status == 0 and decided[0, 0] == 1 and when[0, 0] == 1000.0
    assert out[0][0, 0].tolist() == [1, 0]
    # Operations of the first event, to its end: its 2 hidden and 2 x 2 output.
    assert ops[0][0, 0].tolist() == [2, 4]


# ------------------------------------------------------------ the kernels alone
def random_events(rng, sensor_size, n_events):
    """A stream of n_events on random pixels at random whole microseconds."""
    width, height, polarities = sensor_size
    t = np.sort(rng.integers(0, 30_000, n_events))
    x, y = rng.integers(0, width, n_events), rng.integers(0, height, n_events)
    return make_events(x, y, t, rng.integers(0, polarities, n_events))


def push_kernel(kernel, channel, t, cuts):
    """Push the packed events in the chunks cut at ``cuts``; the spikes."""
    times, neurons = [], []
    for c, s in zip(np.split(channel, cuts), np.split(t, cuts), strict=True):
        kernel.push(np.ascontiguousarray(c), np.ascontiguousarray(s))
        spikes = kernel.last_spikes()
        times.append(spikes[0])
        neurons.append(spikes[1])
    return np.concatenate(times), np.concatenate(neurons)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    dtype=st.sampled_from(["float64", "float32"]),
    reset=st.sampled_from(["subtract", "zero"]),
    kappa=st.sampled_from([(0.0, 0.0), (-0.4, -1.0), (0.0, -0.5)]),
    n_cuts=st.integers(0, 40),
)
def test_dense_stream_kernel_matches_simulate(seed, dtype, reset, kappa, n_cuts):
    from spikeclf._network import Network
    from spikeclf.streaming import kernel_arguments

    rng = np.random.default_rng(seed)
    sizes = [12, int(rng.integers(1, 30)), int(rng.integers(1, 6))]
    weights = [
        rng.uniform(-0.3, 0.8, (m, n)) for m, n in zip(sizes, sizes[1:], strict=False)
    ]
    thresholds = [rng.uniform(0.5, 1.5, n) for n in sizes[1:]]
    network = Network(
        weights, thresholds, thresholds, np.array(kappa), 0.01, 0.5e-3,
        reset=reset, lower_bound=reset == "subtract",
    )  # fmt: skip
    events = random_events(rng, (3, 4, 1), int(rng.integers(1, 400)))
    packed = check_events([events], (3, 4, 1))
    make, args, volts = kernel_arguments(network, 12, {"dtype": dtype})
    kernel = make(*args)
    cuts = np.sort(rng.integers(0, len(events) + 1, n_cuts))
    times, neurons = push_kernel(kernel, packed.channel, packed.t, cuts)
    expected = network.simulate(packed, record_spikes=True, dtype=dtype)
    np.testing.assert_array_equal(times, expected.spike_times[0])
    np.testing.assert_array_equal(neurons, expected.spike_neurons[0])
    np.testing.assert_array_equal(kernel.counts(), expected.counts[0])
    np.testing.assert_array_equal(kernel.potentials(packed.t[-1]), expected.v[0])
    np.testing.assert_array_equal(kernel.operations()[0], expected.synops[0])
    np.testing.assert_array_equal(kernel.operations()[1], expected.inhibitions[0])


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    dense=st.booleans(),
    n_cuts=st.integers(0, 40),
)
def test_conv_stream_kernel_matches_simulate_conv(seed, dense, n_cuts):
    from spikeclf._conv import ConvStream
    from spikeclf.convolution import _check_layers, simulate_conv

    rng = np.random.default_rng(seed)
    c_out = int(rng.integers(1, 4))
    layers = [
        {
            "type": "conv",
            "weights": rng.uniform(-0.3, 0.9, (c_out, 2, 3, 3)),
            "thresholds": rng.uniform(0.5, 1.5, c_out),
            "kappa": float(rng.choice([0.0, -0.5])),
        },
        {"type": "pool"},
    ]
    n_pool = c_out * 2 * 2
    if dense:
        layers.append(
            {
                "type": "dense",
                "weights": rng.uniform(-0.3, 1.0, (n_pool, 3)),
                "thresholds": np.ones(3),
                "kappa": -1.0,
            }
        )
    events = random_events(rng, (6, 6, 2), int(rng.integers(1, 400)))
    packed = check_events([events], (6, 6, 2))
    arguments, _ = _check_layers((2, 6, 6), layers)
    kernel = ConvStream(*arguments)
    cuts = np.sort(rng.integers(0, len(events) + 1, n_cuts))
    times, neurons = push_kernel(kernel, packed.channel, packed.t, cuts)
    expected = simulate_conv(packed, (2, 6, 6), layers, record_spikes=True)
    np.testing.assert_array_equal(times, expected.spike_times[0])
    np.testing.assert_array_equal(neurons, expected.spike_neurons[0])
    np.testing.assert_array_equal(kernel.potentials(packed.t[-1]), expected.v[0])
    np.testing.assert_array_equal(kernel.operations()[0], expected.synops[0])
