"""The Cython convolution simulator against the NumPy reference, event for event."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from spikeclf import make_events
from spikeclf._conv import simulate as conv_kernel
from spikeclf._reference import simulate_conv_reference, simulate_reference
from spikeclf.convolution import simulate_conv
from spikeclf.events import PackedEvents, check_events
from spikeclf.simulator import simulate

TAU, T_REF = 20e-3, 1e-3


def random_layers(rng, input_shape, plan, discrete=False, tau=TAU, t_ref=T_REF):
    """Layers for ``plan``: ("conv", C_out, K, kappa), ("pool",), ("dense", n, kappa).

    Discrete weights and thresholds 1 make ties in V / V_th likely.
    """
    layers, shape = [], tuple(input_shape)
    for step in plan:
        timing = {"tau": tau, "refractory": t_ref}
        if step[0] == "pool":
            layers.append({"type": "pool", **timing})
            shape = (shape[0], shape[1] // 2, shape[2] // 2)
            continue
        if step[0] == "conv":
            _, c_out, size, kappa = step
            w_shape = (c_out, shape[0], size, size)
            n_out, shape = c_out, (c_out, shape[1] - size + 1, shape[2] - size + 1)
        else:
            _, n_out, kappa = step
            w_shape, shape = (int(np.prod(shape)), n_out), (n_out,)
        if discrete:
            weights = rng.integers(-2, 5, size=w_shape) * 0.25
            thresholds = np.ones(n_out)
        else:
            weights = rng.uniform(-0.3, 0.8, size=w_shape)
            thresholds = rng.uniform(0.5, 2.0, size=n_out)
        layers.append(
            {
                "type": step[0],
                "weights": weights,
                "thresholds": thresholds,
                "kappa": kappa,
                **timing,
            }
        )
    return layers


def random_streams(rng, n_samples, input_shape, n_events, t_max, integer_times=True):
    channels, height, width = input_shape
    streams = []
    for _ in range(n_samples):
        n = rng.integers(0, n_events + 1)
        t = rng.integers(0, t_max, n) if integer_times else rng.uniform(0, t_max, n)
        streams.append(
            make_events(
                x=rng.integers(0, width, n),
                y=rng.integers(0, height, n),
                t=np.sort(t),
                p=rng.integers(0, channels, n),
            )
        )
    return streams


def in_microseconds(layers):
    """The layers with tau and refractory in the microseconds of the events."""
    out = []
    for spec in layers:
        spec = dict(spec)
        for key, default in (("tau", TAU), ("refractory", T_REF)):
            spec[key] = spec.get(key, default) * 1e6
        out.append(spec)
    return out


def assert_matches_reference(
    streams, input_shape, layers, t_end=None, n_jobs=1, **options
):
    """Kernel and reference agree on every sample; returns the kernel's result.

    ``options`` go to simulate_conv (dtype, threshold_units); the reference
    rounds to the same dtype and simulates the layers as given, so that in
    threshold units the spikes must be the same up to rounding, and in float32
    the potentials too, bit for bit.
    """
    result = simulate_conv(
        streams,
        input_shape,
        layers,
        t_end=t_end,
        record_spikes=True,
        n_jobs=n_jobs,
        **options,
    )
    dtype = np.dtype(options.get("dtype", np.float64))
    width_height_c = (input_shape[2], input_shape[1], input_shape[0])
    packed = check_events(streams, width_height_c)
    reference_layers = in_microseconds(layers)
    for i in range(packed.n_samples):
        channel, t = packed.sample(i)
        stop = (
            None
            if t_end is None
            else float(np.broadcast_to(t_end, len(streams))[i]) * 1e6
        )
        ref = simulate_conv_reference(
            channel, t, input_shape, reference_layers, t_end=stop, dtype=dtype
        )
        got = list(
            zip(
                result.spike_times[i].tolist(),
                result.spike_neurons[i].tolist(),
                strict=True,
            )
        )
        assert got == [(float(s), int(k)) for s, k in ref["spikes"][-1]], (
            f"sample {i}: output spikes differ"
        )
        np.testing.assert_array_equal(result.counts[i], ref["counts"][-1])
        np.testing.assert_array_equal(result.synops[i], ref["synops"])
        np.testing.assert_array_equal(result.inhibitions[i], ref["inhibitions"])
        np.testing.assert_allclose(result.v[i], ref["v"][-1], rtol=1e-9, atol=1e-12)
        if dtype == np.float32 and not options.get("threshold_units", False):
            np.testing.assert_array_equal(result.v[i], ref["v"][-1])
    return result


def reference_spikes_per_layer(streams, input_shape, layers):
    """Spikes of every layer, summed over the samples, by the reference."""
    packed = check_events(streams, (input_shape[2], input_shape[1], input_shape[0]))
    total = np.zeros(len(layers), dtype=np.int64)
    for i in range(packed.n_samples):
        ref = simulate_conv_reference(
            *packed.sample(i), input_shape, in_microseconds(layers)
        )
        total += [len(s) for s in ref["spikes"]]
    return total


@pytest.mark.parametrize("t_ref", [0.0, T_REF])
@pytest.mark.parametrize("kappa", [0.0, -0.5])
def test_convolution_matches_reference(kappa, t_ref):
    rng = np.random.default_rng(1)
    shape = (2, 7, 6)
    layers = random_layers(rng, shape, [("conv", 4, 3, kappa)], t_ref=t_ref)
    streams = random_streams(rng, 4, shape, 150, 30_000)
    result = assert_matches_reference(streams, shape, layers)
    assert result.counts.sum() > 50  # the comparison is not vacuous
    assert (result.inhibitions.sum() > 0) == (kappa != 0)


@pytest.mark.parametrize("t_ref", [0.0, T_REF])
@pytest.mark.parametrize("kappa", [0.0, -0.4])
def test_convolution_and_pooling_match_reference(kappa, t_ref):
    rng = np.random.default_rng(2)
    shape = (1, 9, 8)  # odd height: the last row feeds no pooling window
    layers = random_layers(rng, shape, [("conv", 3, 2, kappa), ("pool",)], t_ref=t_ref)
    streams = random_streams(rng, 4, shape, 150, 30_000)
    result = assert_matches_reference(streams, shape, layers)
    assert result.counts.sum() > 20


@pytest.mark.parametrize("kappa", [(0.0, 0.0, 0.0, 0.0), (-0.4, -0.3, -0.4, -1.0)])
@pytest.mark.parametrize("t_ref", [0.0, T_REF])
def test_deep_network_matches_reference(kappa, t_ref):
    # conv - pool - conv - pool - dense - dense, the paper's CNN in miniature.
    rng = np.random.default_rng(3)
    shape = (2, 10, 10)
    plan = [
        ("conv", 4, 3, kappa[0]),
        ("pool",),
        ("conv", 5, 2, kappa[1]),
        ("pool",),
        ("dense", 6, kappa[2]),
        ("dense", 3, kappa[3]),
    ]
    layers = random_layers(rng, shape, plan, t_ref=t_ref)
    streams = random_streams(rng, 3, shape, 200, 30_000)
    result = assert_matches_reference(streams, shape, layers)
    assert result.counts.sum() > 0
    assert np.all(result.synops > 0)  # every layer was reached
    assert np.all(reference_spikes_per_layer(streams, shape, layers) > 0)


def test_ties_and_equal_times_match_reference():
    rng = np.random.default_rng(7)
    shape = (2, 6, 6)
    plan = [("conv", 4, 3, -0.5), ("pool",), ("dense", 5, -1.0)]
    layers = random_layers(rng, shape, plan, discrete=True, tau=5e-3)
    for spec in layers:
        if spec["type"] == "pool":
            spec["threshold"] = 1.5  # two inputs to fire: the pool's leak matters
    # Few distinct times: many events share a time stamp; times in multiples of
    # T_ref / 4 land exactly on refractory edges.
    streams = random_streams(rng, 6, shape, 80, 20)
    for s in streams:
        s["t"] *= 250
    result = assert_matches_reference(streams, shape, layers)
    assert result.counts.sum() > 0 and result.inhibitions[:, 0].sum() > 0


def test_ties_without_inhibition_fire_by_flat_index():
    # Equal weights everywhere: every neuron an event covers reaches the same
    # V / V_th, and they fire by flat index o * H' * W' + y' * W' + x'.
    layers = [
        {
            "type": "conv",
            "weights": np.full((3, 1, 2, 2), 0.5),
            "thresholds": np.ones(3),
            "refractory": 0.0,
        }
    ]
    streams = [make_events([1, 1], [1, 1], [0, 0])]
    result = assert_matches_reference(streams, (1, 3, 3), layers)
    expected = [o * 4 + pos for o in range(3) for pos in range(4)]
    assert result.spike_neurons[0].tolist() == expected


def test_early_stop_matches_reference_and_is_a_prefix():
    rng = np.random.default_rng(11)
    shape = (1, 8, 8)
    layers = random_layers(rng, shape, [("conv", 3, 3, -0.4), ("pool",)])
    streams = random_streams(rng, 4, shape, 200, 50_000)
    full = assert_matches_reference(streams, shape, layers, t_end=0.05)
    early = assert_matches_reference(streams, shape, layers, t_end=0.02)
    assert early.counts.sum() > 0 and early.counts.sum() < full.counts.sum()
    for i in range(4):
        n = len(early.spike_times[i])
        np.testing.assert_array_equal(full.spike_times[i][:n], early.spike_times[i])
        assert np.all(full.spike_times[i][n:] > 20_000)


@st.composite
def networks(draw):
    """A random chain of conv and pool layers, then maybe dense ones."""
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    plan, current = [], shape
    for _ in range(draw(st.integers(1, 3))):
        can_pool = min(current[1:]) >= 2
        if can_pool and draw(st.booleans()):
            plan.append(("pool",))
            current = (current[0], current[1] // 2, current[2] // 2)
        else:
            size = draw(st.integers(1, min(current[1:])))
            kappa = draw(st.sampled_from([0.0, -0.25, -1.0]))
            plan.append(("conv", draw(st.integers(1, 4)), size, kappa))
            current = (plan[-1][1], current[1] - size + 1, current[2] - size + 1)
    for _ in range(draw(st.integers(0, 2))):
        plan.append(
            ("dense", draw(st.integers(1, 5)), draw(st.sampled_from([0, -0.5])))
        )
    return shape, plan


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    network=networks(),
    seed=st.integers(0, 2**32 - 1),
    t_ref=st.sampled_from([0.0, 1e-3, 3e-3]),
    discrete=st.booleans(),
)
def test_random_networks_match_reference(network, seed, t_ref, discrete):
    shape, plan = network
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, shape, plan, discrete=discrete, tau=10e-3, t_ref=t_ref)
    streams = random_streams(rng, 3, shape, 40, 8_000)
    result = assert_matches_reference(streams, shape, layers)
    target(float(np.log1p(result.counts.sum())))  # steer towards busy networks


def test_threads_give_identical_results():
    rng = np.random.default_rng(5)
    shape = (2, 8, 8)
    plan = [("conv", 4, 3, -0.4), ("pool",), ("dense", 6, -1.0)]
    layers = random_layers(rng, shape, plan)
    streams = random_streams(rng, 40, shape, 200, 50_000)
    one = simulate_conv(streams, shape, layers, record_spikes=True, n_jobs=1)
    two = simulate_conv(streams, shape, layers, record_spikes=True, n_jobs=2)
    assert one.counts.sum() > 0
    for field in ("counts", "v", "synops", "inhibitions"):
        np.testing.assert_array_equal(getattr(one, field), getattr(two, field))
    for field in ("spike_times", "spike_neurons"):
        for u, v in zip(getattr(one, field), getattr(two, field), strict=True):
            np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("kappa", [0.0, -0.5])
def test_one_by_one_convolution_is_a_dense_layer(kappa):
    # On a (C, 1, 1) input, a 1x1 convolution with C_out maps is a dense layer
    # C -> C_out with weights w[:, :, 0, 0].T: kernels and references agree.
    rng = np.random.default_rng(13)
    c_in, c_out = 5, 6
    w = rng.uniform(-0.3, 0.8, size=(c_out, c_in, 1, 1))
    th = rng.uniform(0.5, 1.5, size=c_out)
    w_next, th_next = rng.uniform(-0.2, 0.9, size=(c_out, 3)), np.ones(3)
    conv = [
        {"type": "conv", "weights": w, "thresholds": th, "kappa": kappa},
        {"type": "dense", "weights": w_next, "thresholds": th_next, "kappa": -1.0},
    ]
    dense = [{**conv[0], "type": "dense", "weights": w[:, :, 0, 0].T}, conv[1]]
    # Events already packed: a stream has at most 2 polarities, a layer more inputs.
    lengths = np.array([150, 80, 0])
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    channel = rng.integers(0, c_in, indptr[-1]).astype(np.int32)
    t = np.concatenate([np.sort(rng.integers(0, 40_000, k)) for k in lengths])
    packed = PackedEvents(channel, t.astype(np.float64), indptr, (1, 1, c_in))
    as_channels = packed._replace(sensor_size=(c_in, 1, 1))
    for depth in (1, 2):
        got = simulate_conv(packed, (c_in, 1, 1), conv[:depth], record_spikes=True)
        want = simulate(
            as_channels,
            [spec["weights"] for spec in dense[:depth]],
            [spec["thresholds"] for spec in dense[:depth]],
            lateral_inhibition=[spec["kappa"] for spec in dense[:depth]],
            record_spikes=True,
        )
        assert want.counts.sum() > 0
        for field in ("counts", "v", "synops", "inhibitions"):
            np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
        for u, v in zip(got.spike_times, want.spike_times, strict=True):
            np.testing.assert_array_equal(u, v)
        for u, v in zip(got.spike_neurons, want.spike_neurons, strict=True):
            np.testing.assert_array_equal(u, v)

    for i in range(packed.n_samples):
        channel, t = packed.sample(i)
        ref_conv = simulate_conv_reference(
            channel, t, (c_in, 1, 1), in_microseconds(conv)
        )
        ref_dense = simulate_reference(
            channel,
            t,
            [spec["weights"] for spec in dense],
            [spec["thresholds"] for spec in dense],
            [TAU * 1e6] * 2,
            [T_REF * 1e6] * 2,
            [kappa, -1.0],
        )
        for key in ("spikes", "v"):
            for ours, theirs in zip(ref_conv[key], ref_dense[key], strict=True):
                np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
        for key in ("synops", "inhibitions"):
            np.testing.assert_array_equal(ref_conv[key], ref_dense[key])


@pytest.mark.parametrize("kappa", [(0.0, 0.0, 0.0), (-0.4, 0.0, -1.0)])
def test_dense_reference_equals_simulate_reference(kappa):
    # Only dense layers: the per-neuron reference is the fully connected one,
    # bit for bit; the kernel then runs the dense layers of spikeclf._lif alone.
    rng = np.random.default_rng(17)
    shape = (2, 3, 2)
    plan = [("dense", 9, kappa[0]), ("dense", 7, kappa[1]), ("dense", 4, kappa[2])]
    layers = random_layers(rng, shape, plan)
    streams = random_streams(rng, 4, shape, 120, 40_000)
    packed = check_events(streams, (2, 3, 2))
    n_spikes = 0
    for i in range(packed.n_samples):
        channel, t = packed.sample(i)
        ours = simulate_conv_reference(channel, t, shape, in_microseconds(layers))
        theirs = simulate_reference(
            channel,
            t,
            [spec["weights"] for spec in layers],
            [spec["thresholds"] for spec in layers],
            [TAU * 1e6] * 3,
            [T_REF * 1e6] * 3,
            list(kappa),
        )
        for key in ("spikes", "counts", "v"):
            for a, b in zip(ours[key], theirs[key], strict=True):
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        for key in ("synops", "inhibitions"):
            np.testing.assert_array_equal(ours[key], theirs[key])
        n_spikes += len(ours["spikes"][-1])
    assert n_spikes > 0
    assert_matches_reference(streams, shape, layers)


def test_an_event_touches_only_the_positions_covering_its_pixel():
    # Synaptic operations: C_out times the number of output positions whose
    # K x K window holds the pixel, at a corner 1, in the middle K * K.
    c_out, size, height, width = 3, 3, 6, 5
    h_out, w_out = height - size + 1, width - size + 1
    layers = [
        {
            "type": "conv",
            "weights": np.full((c_out, 1, size, size), 0.1),
            "thresholds": np.ones(c_out),
        }
    ]
    ys, xs = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    streams = [
        make_events([x], [y], [0]) for y, x in zip(ys.ravel(), xs.ravel(), strict=True)
    ]
    result = simulate_conv(streams, (1, height, width), layers)
    covering = [
        (min(y, h_out - 1) - max(0, y - size + 1) + 1)
        * (min(x, w_out - 1) - max(0, x - size + 1) + 1)
        for y, x in zip(ys.ravel(), xs.ravel(), strict=True)
    ]
    np.testing.assert_array_equal(result.synops[:, 0], c_out * np.array(covering))
    assert result.synops[0, 0] == c_out and result.synops.max() == c_out * size**2
    # Potentials: 0.1 exactly where the kernel covers the pixel, 0 elsewhere.
    y, x = 2, 1
    v = result.v[y * width + x].reshape(c_out, h_out, w_out)
    covered = np.zeros((h_out, w_out), dtype=bool)
    covered[max(0, y - size + 1) : y + 1, max(0, x - size + 1) : x + 1] = True
    np.testing.assert_array_equal(v, np.where(covered, 0.1, 0.0)[None].repeat(3, 0))


def test_pooling_by_hand():
    # Input 1x5x5 -> pool 1x2x2: row and column 4 feed nothing. Threshold 0.8 and
    # weight 1: a rested neuron fires on its first event; T_ref is 1 ms.
    events = make_events(
        x=[0, 1, 4, 3, 3, 2], y=[0, 1, 0, 2, 2, 3], t=[0, 200, 300, 400, 5000, 5500]
    )
    result = simulate_conv([events], (1, 5, 5), [{"type": "pool"}], record_spikes=True)
    # (0, 0) fires at 0; (1, 1) hits neuron 0 at 200 while refractory (w_dyn 0.04);
    # (4, 0) is cut off; (3, 2) fires neuron 3 at 400 and 5000; (2, 3) hits it at
    # 5500 with w_dyn 0.25.
    assert result.spike_neurons[0].tolist() == [0, 3, 3]
    assert result.spike_times[0].tolist() == [0.0, 400.0, 5000.0]
    assert result.synops.tolist() == [[5]]

    def leak(dt):
        return np.exp(-dt / 20_000)

    v0 = (0.2 * leak(200) + 0.04) * leak(5300)
    v3 = (0.2 * leak(4600) + 1 - 0.8) * leak(500) + 0.25
    np.testing.assert_allclose(result.v[0], [v0, 0, 0, v3], rtol=1e-12)
    ref = simulate_conv_reference(
        *check_events([events], (5, 5, 1)).sample(0),
        (1, 5, 5),
        in_microseconds([{"type": "pool"}]),
    )
    np.testing.assert_allclose(result.v[0], ref["v"][0], rtol=1e-12)


def test_more_output_spikes_than_the_buffer():
    # Pooling with no refractory period passes every event on: 600 output spikes.
    t = np.arange(600) * 100
    streams = [make_events(np.arange(600) % 2, np.zeros(600, int), t)]
    result = simulate_conv(
        streams,
        (1, 2, 2),
        [{"type": "pool", "refractory": 0.0}],
        record_spikes=True,
    )
    assert result.counts.tolist() == [[600]]
    np.testing.assert_array_equal(result.spike_times[0], t)


def test_empty_streams():
    layers = [
        {"type": "conv", "weights": np.ones((2, 1, 2, 2)), "thresholds": np.ones(2)},
        {"type": "pool"},
    ]
    empty = make_events([], [], [])
    result = simulate_conv([empty, empty], (1, 4, 4), layers, record_spikes=True)
    assert result.counts.shape == (2, 2) and result.counts.sum() == 0
    assert result.synops.sum() == 0 and np.all(result.v == 0)


def good_layers():
    return [
        {"type": "conv", "weights": np.ones((2, 1, 3, 3)), "thresholds": np.ones(2)},
        {"type": "pool"},
        {"type": "dense", "weights": np.ones((2, 3)), "thresholds": np.ones(3)},
    ]


def changed(index, **changes):
    layers = good_layers()
    layers[index] = {**layers[index], **changes}
    return layers


@pytest.mark.parametrize(
    "layers, match",
    [
        (changed(0, weights=np.ones((2, 2, 3, 3))), r"layer 0 \(conv\): weights must"),
        (changed(0, weights=np.ones((2, 1, 3, 2))), r"shape \(C_out, 1, K, K\)"),
        (changed(0, weights=np.ones((2, 3, 3))), r"shape \(C_out, 1, K, K\)"),
        (changed(0, weights=np.ones((2, 1, 6, 6))), "kernel 6x6 is larger than its"),
        (changed(0, weights=np.full((2, 1, 3, 3), np.inf)), "NaN or infinite"),
        (changed(0, thresholds=np.ones(3)), r"thresholds must have shape \(C_out,\)"),
        (changed(0, thresholds=[1.0, -1.0]), "positive and finite"),
        (changed(0, kappa=0.5), r"layer 0 \(conv\): kappa must be finite and in"),
        (changed(0, tau=0.0), "tau must be finite and in"),
        (changed(1, refractory=-1.0), r"layer 1 \(pool\): refractory"),
        (changed(1, threshold=np.nan), "threshold must be finite"),
        (changed(1, weight=0.0), r"layer 1 \(pool\): weight must be finite and in"),
        (changed(1, kappa=-0.5), "unknown keys"),
        (changed(2, weights=np.ones((3, 3))), r"weights must have shape \(2, n_out\)"),
        (changed(2, thresholds=np.ones(2)), r"thresholds must have shape \(n_out,\)"),
        (changed(2, tau="fast"), "tau must be a number"),
        (changed(0, type="convolution"), "'type' must be one of"),
        (changed(0, stride=2), "unknown keys"),
        (good_layers()[:2] + [{"type": "pool"}], r"input 1x1 is smaller than the 2x2"),
        (
            [changed(2, weights=np.ones((25, 3)))[2], good_layers()[1]],
            r"layer 1 \(pool\) comes after a dense layer",
        ),
        ([{"type": "conv", "thresholds": np.ones(2)}], r"missing \['weights'\]"),
        ([], "non-empty list"),
        (["conv"], "must be a dict"),
    ],
)
def test_bad_layers(layers, match):
    with pytest.raises(ValueError, match=match):
        simulate_conv([make_events([0], [0], [0])], (1, 5, 5), layers)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_shape": (1, 5)}, "input_shape must be"),
        ({"input_shape": (1, 5, 0)}, "input_shape must be"),
        ({"sensor_size": (5, 5, 2)}, "does not match input_shape"),
        ({"t_end": [0.1, 0.2]}, "t_end"),
    ],
)
def test_bad_arguments(kwargs, match):
    params = {"input_shape": (1, 5, 5), **kwargs}
    with pytest.raises(ValueError, match=match):
        simulate_conv([make_events([0], [0], [0])], layers=good_layers(), **params)


def test_events_outside_the_input_are_caught_at_the_boundary():
    with pytest.raises(ValueError, match="outside the sensor"):
        simulate_conv([make_events([5], [0], [0])], (1, 5, 5), good_layers())
    packed = check_events([make_events([0], [0], [0])], (5, 5, 2))
    with pytest.raises(ValueError, match=r"events on a \(5, 5, 2\) sensor"):
        simulate_conv(packed, (1, 5, 5), good_layers())


def kernel_arguments(**changes):
    """Valid arguments of the kernel for conv 1x4x4 -> 2x2x2 -> pool -> dense 3."""
    args = {
        "channel": np.array([0, 5, 15], np.int32),
        "t": np.array([0.0, 10.0, 20.0]),
        "indptr": np.array([0, 3], np.int64),
        "t_end": np.array([20.0]),
        "spatial": np.array([[0, 1, 4, 4, 2, 3], [1, 2, 2, 2, 2, 2]], np.int64),
        "spatial_weights": [np.ones((1, 3, 3, 2)), None],
        "spatial_thresholds": [np.ones(2), np.full(2, 0.8)],
        "spatial_tau": np.full(2, 2e4),
        "spatial_t_ref": np.full(2, 1e3),
        "spatial_kappa": np.zeros(2),
        "sizes": np.array([2, 3], np.int64),
        "weights": [np.ones((2, 3))],
        "thresholds": [np.ones(3)],
        "tau": np.full(1, 2e4),
        "t_ref": np.full(1, 1e3),
        "kappa": np.zeros(1),
        "counts": np.zeros((1, 3), np.int64),
        "v_end": np.zeros((1, 3)),
        "synops": np.zeros((1, 3), np.int64),
        "inhibitions": np.zeros((1, 3), np.int64),
        "spike_t": np.zeros((1, 4)),
        "spike_i": np.zeros((1, 4), np.int32),
        "n_spikes": np.zeros(1, np.int64),
        "n_threads": 1,
    }
    args.update(changes)
    return args


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"channel": np.array([0, 5, 16], np.int32)}, "channel: event 2 has channel"),
        ({"indptr": np.array([0, 2], np.int64)}, "indptr"),
        ({"t_end": np.zeros(2)}, "t_end"),
        ({"spatial_weights": [np.ones((1, 3, 3, 3)), None]}, r"spatial_weights\[0\]"),
        ({"spatial_weights": [np.ones((1, 3, 3, 2))] * 2}, r"spatial_weights\[1\]"),
        ({"spatial_weights": [np.ones((1, 3, 3, 2)), np.ones(3)]}, r"weights\[1\]"),
        ({"spatial_thresholds": [np.ones(2), np.ones(3)]}, r"spatial_thresholds\[1\]"),
        (
            {"spatial": np.array([[0, 1, 4, 4, 2, 5], [1, 2, 2, 2, 2, 2]], np.int64)},
            r"spatial\[0\]: kernel 5x5 larger than its input 4x4",
        ),
        (
            {"spatial": np.array([[0, 1, 4, 4, 2, 3], [2, 2, 2, 2, 2, 2]], np.int64)},
            r"spatial\[1\]: unknown layer kind 2",
        ),
        (
            {"spatial": np.array([[0, 1, 4, 4, 2, 3], [1, 3, 2, 2, 3, 2]], np.int64)},
            r"spatial\[1\]: input \(3, 2, 2\)",
        ),
        ({"sizes": np.array([3, 3], np.int64)}, r"sizes\[0\]"),
        ({"weights": [np.ones((2, 4))]}, r"weights\[0\]"),
        ({"spatial_tau": np.ones(1)}, "spatial per-layer array 0"),
        ({"counts": np.zeros((1, 2), np.int64)}, "counts"),
        ({"synops": np.zeros((1, 2), np.int64)}, "synops"),
    ],
)
def test_kernel_checks_its_inputs(changes, match):
    with pytest.raises(ValueError, match=match):
        conv_kernel(**kernel_arguments(**changes))


def test_kernel_runs_on_valid_inputs():
    args = kernel_arguments()
    assert conv_kernel(**args) == 0
    # Pixel 0 is covered by position (0, 0) only, 5 by all four, 15 by (1, 1).
    # The 2 maps at (0, 0) fire at t=0 and both pooling neurons with them; at
    # t=10 the 6 others fire (the first 2 are refractory), the pooling neurons
    # are refractory; 2 pooling spikes reach the 3 dense neurons, which fire on
    # the first and are refractory for the second.
    assert args["synops"][0].tolist() == [2 * (1 + 4 + 1), 2 + 6, 2 * 3]
    assert args["counts"][0].tolist() == [1, 1, 1]
    assert args["spike_i"][0, : args["n_spikes"][0]].tolist() == [0, 1, 2]


# ------------------------------------------------------------ threshold units
def in_threshold_units_by_hand(layers):
    """The layers with every potential in units of its neuron's threshold, as
    docs/cnn.md states it: feature map o's kernel over its map's threshold, a
    pooling layer's weight over its threshold, a dense neuron's weights over
    its own; every threshold 1."""
    out = []
    for spec in layers:
        spec = dict(spec)
        if spec["type"] == "pool":
            threshold = spec.get("threshold", 0.8)
            spec["weight"] = spec.get("weight", 1.0) / threshold
            spec["threshold"] = 1.0
        else:
            th = np.asarray(spec["thresholds"], np.float64)
            # conv (C_out, C_in, K, K): by map; dense (n_in, n_out): by column
            by = th.reshape(-1, 1, 1, 1) if spec["type"] == "conv" else th
            spec["weights"] = np.asarray(spec["weights"], np.float64) / by
            spec["thresholds"] = np.ones_like(th)
        out.append(spec)
    return out


PLANS = {
    "conv": [("conv", 4, 3, -0.5)],
    "conv-pool": [("conv", 3, 2, 0.0), ("pool",)],
    "deep": [
        ("conv", 4, 3, -0.4),
        ("pool",),
        ("conv", 5, 2, -0.3),
        ("pool",),
        ("dense", 6, -0.4),
        ("dense", 3, -1.0),
    ],
}


def varied_pools(rng, layers):
    """Pooling thresholds other than 0.8, and a pooling weight, so that their
    division is tested too."""
    for spec in layers:
        if spec["type"] == "pool":
            spec["threshold"] = float(rng.uniform(0.5, 1.5))
            spec["weight"] = float(rng.uniform(0.8, 1.2))
    return layers


@pytest.mark.parametrize("plan", list(PLANS))
@pytest.mark.parametrize("t_ref", [0.0, T_REF])
def test_threshold_units_give_the_same_spikes(plan, t_ref):
    rng = np.random.default_rng(19)
    shape = (2, 10, 10)
    layers = varied_pools(rng, random_layers(rng, shape, PLANS[plan], t_ref=t_ref))
    streams = random_streams(rng, 5, shape, 200, 30_000)
    plain = simulate_conv(streams, shape, layers, record_spikes=True)
    # The kernel in threshold units against the reference on the given
    # parameters: every spike, times to 1e-9, potentials given back in volts.
    units = assert_matches_reference(streams, shape, layers, threshold_units=True)
    for i in range(len(streams)):
        np.testing.assert_array_equal(units.spike_neurons[i], plain.spike_neurons[i])
        np.testing.assert_allclose(
            units.spike_times[i], plain.spike_times[i], rtol=1e-9
        )
    for field in ("counts", "synops", "inhibitions"):
        np.testing.assert_array_equal(getattr(units, field), getattr(plain, field))
    np.testing.assert_allclose(units.v, plain.v, rtol=1e-9, atol=1e-12)
    # Not vacuous: every layer fired (the next one was reached) and so did the last.
    assert plain.counts.sum() > 0 and np.all(plain.synops.sum(axis=0) > 0)
    # Not the same arithmetic: the potentials round differently.
    assert not np.array_equal(units.v, plain.v)


@pytest.mark.parametrize("plan", list(PLANS))
def test_threshold_units_are_the_network_divided_by_its_thresholds(plan):
    # simulate_conv(threshold_units=True) simulates, bit for bit, the network
    # divided by hand; the reference agrees with the kernel on that network
    # exactly as on any other.
    rng = np.random.default_rng(23)
    shape = (2, 9, 9)
    layers = varied_pools(rng, random_layers(rng, shape, PLANS[plan]))
    streams = random_streams(rng, 4, shape, 200, 30_000)
    units = simulate_conv(streams, shape, layers, record_spikes=True,
                          threshold_units=True)  # fmt: skip
    by_hand = assert_matches_reference(
        streams, shape, in_threshold_units_by_hand(layers)
    )
    for field in ("counts", "synops", "inhibitions"):
        np.testing.assert_array_equal(getattr(units, field), getattr(by_hand, field))
    for u, h in zip(units.spike_neurons, by_hand.spike_neurons, strict=True):
        np.testing.assert_array_equal(u, h)
    last = layers[-1]
    th = np.asarray(last.get("thresholds", [last.get("threshold", 0.8)]))
    volts = np.repeat(th, units.v.shape[1] // len(th))
    np.testing.assert_array_equal(units.v, by_hand.v * volts)
    assert units.counts.sum() > 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    network=networks(),
    seed=st.integers(0, 2**32 - 1),
    t_ref=st.sampled_from([0.0, 1e-3, 3e-3]),
)
def test_random_networks_in_threshold_units_match_reference(network, seed, t_ref):
    # Weights and thresholds drawn from continuous ranges: a potential within
    # rounding of its threshold, where the two arithmetics could part, has
    # probability ~1e-15 per comparison.
    shape, plan = network
    rng = np.random.default_rng(seed)
    layers = random_layers(rng, shape, plan, tau=10e-3, t_ref=t_ref)
    streams = random_streams(rng, 3, shape, 40, 8_000)
    result = assert_matches_reference(streams, shape, layers, threshold_units=True)
    target(float(np.log1p(result.counts.sum())))


def test_a_pooling_weight_of_1_is_the_default_bit_for_bit():
    rng = np.random.default_rng(29)
    shape = (2, 8, 8)
    plan = [("conv", 3, 3, -0.4), ("pool",), ("dense", 4, -1.0)]
    layers = random_layers(rng, shape, plan)
    streams = random_streams(rng, 4, shape, 200, 30_000)
    default = simulate_conv(streams, shape, layers, record_spikes=True)
    layers[1]["weight"] = 1.0
    given_1 = simulate_conv(streams, shape, layers, record_spikes=True)
    for field in ("counts", "v", "synops", "inhibitions"):
        np.testing.assert_array_equal(getattr(default, field), getattr(given_1, field))
    layers[1]["weight"] = 0.6  # three inputs to fire a rested pooling neuron
    lighter = assert_matches_reference(streams, shape, layers)
    assert 0 < lighter.counts.sum() < default.counts.sum()
