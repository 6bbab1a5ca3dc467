"""The Cython simulator against the NumPy reference, event for event."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikeclf import make_events
from spikeclf._alignment import aligned
from spikeclf._reference import simulate_reference
from spikeclf.events import check_events
from spikeclf.simulator import simulate


def random_network(rng, sizes, discrete=False):
    """Weights and thresholds; discrete values make ties in V / V_th likely."""
    weights, thresholds = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=False):
        if discrete:
            weights.append(rng.integers(-2, 5, size=(n_in, n_out)) * 0.25)
            thresholds.append(np.full(n_out, 1.0))
        else:
            weights.append(rng.uniform(-0.3, 0.8, size=(n_in, n_out)))
            thresholds.append(rng.uniform(0.5, 2.0, size=n_out))
    return weights, thresholds


def random_streams(rng, n_samples, n_channels, n_events, t_max, integer_times=True):
    streams = []
    for _ in range(n_samples):
        n = rng.integers(0, n_events + 1)
        t = (
            np.sort(rng.integers(0, t_max, n))
            if integer_times
            else np.sort(rng.uniform(0, t_max, n))
        )
        c = rng.integers(0, n_channels, n)
        ev = np.zeros(n, dtype=[("x", "i8"), ("y", "i8"), ("t", "f8"), ("p", "i8")])
        ev["x"], ev["t"] = c, t
        streams.append(ev)
    return streams


def reference_runs(
    streams, weights, thresholds, tau, t_ref, kappa, dtype=None, t_end=None, **neuron
):
    """simulate_reference on every sample, parameters in seconds as for simulate."""
    packed = check_events(streams, (weights[0].shape[0], 1, 1))
    n_layers = len(weights)
    stops = [None] * packed.n_samples
    if t_end is not None:
        stops = np.broadcast_to(t_end, packed.n_samples).astype(float) * 1e6
    return [
        simulate_reference(
            *packed.sample(i),
            weights,
            thresholds,
            [tau * 1e6] * n_layers,
            [t_ref * 1e6] * n_layers,
            list(np.broadcast_to(kappa, n_layers)),
            t_end=None if stops[i] is None else float(stops[i]),
            dtype=dtype,
            **neuron,
        )
        for i in range(packed.n_samples)
    ]


def assert_matches_reference(
    streams, weights, thresholds, tau, t_ref, kappa, t_end=None, dtype=None, **neuron
):
    """The kernel equals the reference event for event: output spikes in order,
    counts, operation counts, final potentials and (float64) the activities of
    Eq. 4. ``dtype=np.float32``: the float32 kernel against the reference
    rounded to float32, potentials bit for bit."""
    n_in = weights[0].shape[0]
    sensor = (n_in, 1, 1)
    result = simulate(
        streams,
        weights,
        thresholds,
        tau=tau,
        refractory=t_ref,
        lateral_inhibition=kappa,
        t_end=t_end,
        sensor_size=sensor,
        record_spikes=True,
        record_activities=dtype is None,
        dtype=np.float64 if dtype is None else dtype,
        **neuron,
    )
    refs = reference_runs(
        streams, weights, thresholds, tau, t_ref, kappa, dtype, t_end=t_end, **neuron
    )
    n_layers = len(weights)
    for i, ref in enumerate(refs):
        expected = ref["spikes"][-1]
        got = list(
            zip(
                result.spike_times[i].tolist(),
                result.spike_neurons[i].tolist(),
                strict=True,
            )
        )
        assert got == [(float(s), int(k)) for s, k in expected], (
            f"sample {i}: output spikes differ"
        )
        np.testing.assert_array_equal(result.counts[i], ref["counts"][-1])
        np.testing.assert_array_equal(result.synops[i], ref["synops"])
        np.testing.assert_array_equal(result.inhibitions[i], ref["inhibitions"])
        if dtype is not None:
            np.testing.assert_array_equal(result.v[i], ref["v"][-1])
            continue
        np.testing.assert_allclose(result.v[i], ref["v"][-1], rtol=1e-9, atol=1e-12)
        for layer in range(n_layers):
            np.testing.assert_allclose(
                result.x[layer][i], ref["x"][layer], rtol=1e-9, atol=1e-12
            )
            np.testing.assert_allclose(
                result.a[layer][i], ref["a"][layer], rtol=1e-9, atol=1e-12
            )
            np.testing.assert_array_equal(
                result.x[layer][i] > 0, ref["active_inputs"][layer]
            )
            np.testing.assert_array_equal(
                result.a[layer][i] > 0, ref["active_neurons"][layer]
            )
    return result


# dtype None: the float64 kernel against the reference; np.float32: the float32
# inference kernel against the reference rounded to float32 (tests/test_float32.py).
DTYPES = [None, np.float32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kappa", [0.0, -0.4, -1.0, (-0.4, 0.0, -1.0)])
@pytest.mark.parametrize("seed", range(4))
def test_three_layers_match_reference(seed, kappa, dtype):
    rng = np.random.default_rng(seed)
    weights, thresholds = random_network(rng, [12, 9, 7, 4])
    streams = random_streams(rng, 5, 12, 120, 40_000)
    result = assert_matches_reference(
        streams, weights, thresholds, 20e-3, 1e-3, kappa, dtype=dtype
    )
    assert result.counts.sum() > 0  # the comparison is not vacuous


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("lower_bound", [True, False])
@pytest.mark.parametrize("kappa", [0.0, (-0.4, -1.0)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_reset_and_lower_bound_match_reference(reset, lower_bound, kappa, dtype):
    # Strong inputs overshoot the threshold, strong negative ones go below -V_th:
    # both choices change the result (checked below), so the comparison bites.
    rng = np.random.default_rng(21)
    weights = [rng.uniform(-2.5, 2.5, size=(8, 10)), rng.uniform(-1.5, 2.5, (10, 4))]
    thresholds = [np.full(10, 1.0), np.full(4, 1.5)]
    streams = random_streams(rng, 6, 8, 150, 30_000)
    neuron = dict(reset=reset, lower_bound=lower_bound)
    result = assert_matches_reference(
        streams, weights, thresholds, 20e-3, 1e-3, kappa, dtype=dtype, **neuron
    )
    paper = simulate(
        streams, weights, thresholds, lateral_inhibition=kappa, sensor_size=(8, 1, 1)
    )
    if (reset, lower_bound) != ("subtract", True):
        assert not np.array_equal(result.v, paper.v)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ties_and_equal_times_match_reference(dtype):
    rng = np.random.default_rng(7)
    weights, thresholds = random_network(rng, [6, 8, 3], discrete=True)
    # Few distinct times: many events share a time stamp; times in multiples of
    # T_ref / 4 land exactly on refractory edges.
    streams = random_streams(rng, 8, 6, 60, 20, integer_times=True)
    for s in streams:
        s["t"] *= 250.0
    result = assert_matches_reference(
        streams, weights, thresholds, 5e-3, 1e-3, (-0.5, -1.0), dtype=dtype
    )
    assert result.inhibitions.sum() > 0


def test_no_leak_long_tau_and_no_refractory():
    rng = np.random.default_rng(3)
    weights, thresholds = random_network(rng, [10, 6, 3])
    streams = random_streams(rng, 4, 10, 80, 10_000, integer_times=False)
    assert_matches_reference(streams, weights, thresholds, 1e3, 0.0, (-0.3, 0.0))


def test_early_stop_matches_reference_and_is_a_prefix():
    rng = np.random.default_rng(11)
    weights, thresholds = random_network(rng, [10, 12, 5])
    streams = random_streams(rng, 4, 10, 150, 50_000)
    full = assert_matches_reference(
        streams, weights, thresholds, 20e-3, 1e-3, -0.4, t_end=0.05
    )
    early = assert_matches_reference(
        streams, weights, thresholds, 20e-3, 1e-3, -0.4, t_end=0.02
    )
    for i in range(4):
        n = len(early.spike_times[i])
        np.testing.assert_array_equal(full.spike_times[i][:n], early.spike_times[i])
        assert np.all(full.spike_times[i][n:] > 20_000)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(1, 7), min_size=2, max_size=4),
    kappa=st.sampled_from([0.0, -0.25, -0.5, -1.0]),
    t_ref=st.sampled_from([0.0, 1e-3, 3e-3]),
    discrete=st.booleans(),
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_random_networks_match_reference(seed, sizes, kappa, t_ref, discrete, dtype):
    rng = np.random.default_rng(seed)
    weights, thresholds = random_network(rng, sizes, discrete=discrete)
    streams = random_streams(rng, 3, sizes[0], 40, 8_000)
    assert_matches_reference(
        streams, weights, thresholds, 10e-3, t_ref, kappa, dtype=dtype
    )


def test_threads_give_identical_results():
    rng = np.random.default_rng(5)
    weights, thresholds = random_network(rng, [30, 40, 10])
    streams = random_streams(rng, 64, 30, 300, 100_000)
    kw = dict(
        sensor_size=(30, 1, 1),
        lateral_inhibition=(-0.4, -1.0),
        record_spikes=True,
        record_activities=True,
    )
    one = simulate(streams, weights, thresholds, n_jobs=1, **kw)
    two = simulate(streams, weights, thresholds, n_jobs=2, **kw)
    assert one.counts.sum() > 0
    for field in ("counts", "v", "synops", "inhibitions"):
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field))
    for field in ("spike_times", "spike_neurons", "x", "a"):
        for u, v in zip(getattr(one, field), getattr(two, field), strict=True):
            np.testing.assert_array_equal(u, v)


def test_more_output_spikes_than_the_buffer():
    # One input, one output neuron that fires on every event: 600 output spikes.
    t = np.arange(600) * 2000
    streams = [make_events(np.zeros(600, int), np.zeros(600, int), t)]
    result = simulate(
        streams,
        [np.ones((1, 1))],
        [np.full(1, 0.5)],
        refractory=0.0,
        sensor_size=(1, 1, 1),
        record_spikes=True,
    )
    assert result.counts[0, 0] == 600
    np.testing.assert_array_equal(result.spike_times[0], t)


def test_empty_streams_and_inactive_layers():
    weights, thresholds = [np.ones((4, 3)), np.ones((3, 2))], [np.ones(3), np.ones(2)]
    empty = make_events([], [], [])
    result = simulate(
        [empty, empty],
        weights,
        thresholds,
        sensor_size=(4, 1, 1),
        record_spikes=True,
        record_activities=True,
    )
    assert result.counts.sum() == 0 and result.synops.sum() == 0
    assert all(len(s) == 0 for s in result.spike_times)
    assert all(np.all(x == 0) for x in result.x)


def test_synaptic_operations_are_counted_per_layer():
    rng = np.random.default_rng(0)
    weights, thresholds = random_network(rng, [5, 7, 3])
    streams = random_streams(rng, 3, 5, 50, 20_000)
    result = simulate(
        streams,
        weights,
        thresholds,
        sensor_size=(5, 1, 1),
        record_activities=True,
        t_end=0.02,
    )
    n_events = np.array([len(s) for s in streams])
    np.testing.assert_array_equal(result.synops[:, 0], 7 * n_events)
    hidden_spikes = result.synops[:, 1] // 3
    assert np.all(result.synops[:, 1] == 3 * hidden_spikes)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"weights": [np.ones((5, 3))]}, r"weights must have shape \(4, n_out\)"),
        ({"thresholds": [np.ones(2)]}, r"thresholds must have shape \(3,\)"),
        ({"thresholds": [np.zeros(3)]}, "positive"),
        ({"weights": [np.full((4, 3), np.nan)]}, "NaN"),
        ({"tau": -1.0}, "tau must be in"),
        ({"tau": [1.0, 2.0]}, "one per layer"),
        ({"refractory": -1e-3}, "refractory"),
        ({"lateral_inhibition": 0.5}, "lateral_inhibition"),
        ({"t_end": [0.1, 0.2]}, "t_end"),
        ({"t_end": np.nan}, "t_end"),
        ({"thresholds": []}, "one threshold vector per weight matrix"),
    ],
)
def test_bad_network_or_parameters(kwargs, match):
    params = {"weights": [np.ones((4, 3))], "thresholds": [np.ones(3)], **kwargs}
    with pytest.raises(ValueError, match=match):
        simulate([make_events([0], [0], [0])], sensor_size=(4, 1, 1), **params)


def test_channels_outside_the_first_layer_are_caught_at_the_boundary():
    # A channel beyond weights[0] never reaches the unchecked kernel loop.
    with pytest.raises(ValueError, match="outside the sensor"):
        simulate(
            [make_events([9], [0], [0])],
            [np.ones((4, 3))],
            [np.ones(3)],
            sensor_size=(4, 1, 1),
        )


@pytest.mark.parametrize("kappa", [0.0, -0.5])
def test_a_neuron_still_above_threshold_after_firing_does_not_fire_twice(kappa):
    # Neuron 0 reaches 3 V_th: after its spike it is at 2 V_th, yet it may not
    # fire again on the same event; neuron 1 fires next.
    weights, thresholds = [np.array([[3.0, 1.5, 0.2]])], [np.ones(3)]
    streams = [make_events([0], [0], [100])]
    result = assert_matches_reference(streams, weights, thresholds, 1.0, 1e-3, kappa)
    assert result.spike_neurons[0].tolist() == [0, 1]
    expected_v = [2.0, 0.5, 0.2] if kappa == 0 else [1.5, 0.0, 0.2 - 0.5 - 0.5]
    np.testing.assert_allclose(result.v[0], expected_v)


def test_aligned_copies_only_what_is_not_on_a_cache_line():
    buffer = np.zeros(8 * 101 + 64, dtype=np.uint8)
    start = -buffer.ctypes.data % 64 + 8  # 8 bytes past a cache line
    misaligned = buffer[start : start + 800].view(np.float64)
    misaligned[:] = np.arange(100.0)
    out = aligned(misaligned)
    assert out.ctypes.data % 64 == 0
    np.testing.assert_array_equal(out, misaligned)
    assert aligned(out) is out
    as_float32 = aligned(misaligned[::2], np.float32)
    assert as_float32.dtype == np.float32 and as_float32.ctypes.data % 64 == 0
    np.testing.assert_array_equal(as_float32, np.arange(0.0, 100.0, 2.0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kappa", [0.0, (-0.4, -1.0)])
def test_threshold_units_simulate_the_same_network(kappa, dtype):
    # Per-neuron thresholds: threshold_units divides the weights by them, and
    # the kernel then takes its one-threshold loops (bit for bit the reference
    # on the divided network), and gives the potentials back in volts.
    rng = np.random.default_rng(17)
    weights, thresholds = random_network(rng, [12, 9, 4])
    streams = random_streams(rng, 6, 12, 150, 40_000)
    kw = dict(lateral_inhibition=kappa, sensor_size=(12, 1, 1), record_spikes=True)
    if dtype is not None:
        kw["dtype"] = dtype
    units = simulate(streams, weights, thresholds, threshold_units=True, **kw)
    in_units = [w / th for w, th in zip(weights, thresholds, strict=True)]
    ones = [np.ones_like(th) for th in thresholds]
    expected = assert_matches_reference(
        streams, in_units, ones, 20e-3, 1e-3, kappa, dtype=dtype
    )
    assert expected.counts.sum() > 0
    np.testing.assert_array_equal(units.counts, expected.counts)
    for got, want in zip(units.spike_times, expected.spike_times, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(units.v, expected.v * thresholds[-1])
    if dtype is None:
        exact = simulate(streams, weights, thresholds, **kw)
        np.testing.assert_array_equal(units.counts, exact.counts)
        np.testing.assert_allclose(units.v, exact.v, rtol=1e-9, atol=1e-12)


def test_decay_factors_off_the_table_match_reference():
    # Gaps between events of whole microseconds below the table's length are
    # looked up, the others (long gaps, fractions of a microsecond) computed:
    # both kinds in every sample.
    rng = np.random.default_rng(29)
    weights, thresholds = random_network(rng, [10, 8, 3])
    streams = random_streams(rng, 5, 10, 60, 200_000)
    for s in streams[:2]:
        s["t"] += rng.uniform(0, 1, len(s)).round(3)
        s.sort(order="t")
    gaps = np.concatenate([np.diff(s["t"]) for s in streams])
    assert (gaps > 1024).any() and ((gaps < 1024) & (gaps % 1 == 0) & (gaps > 0)).any()
    assert_matches_reference(streams, weights, thresholds, 20e-3, 1e-3, (-0.4, -1.0))
