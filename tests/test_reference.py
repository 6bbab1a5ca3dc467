"""Hand-computed checks of every mechanism of the reference simulator.

Each expected value is written out from the equations (Lee et al. 2016, Eqs.
1-4; SPEC.md section 1) in the test itself, independently of the simulator.
"""

import math

import numpy as np
import pytest

from spikeclf._reference import simulate_reference

REL = 1e-12


def run(channels, times, weights, thresholds, tau, refractory, kappa, t_end=None):
    """Call the reference with plain lists converted to float64 arrays."""
    return simulate_reference(
        np.asarray(channels, dtype=np.int64),
        np.asarray(times, dtype=np.float64),
        [np.asarray(w, dtype=np.float64) for w in weights],
        [np.asarray(th, dtype=np.float64) for th in thresholds],
        tau,
        refractory,
        kappa,
        t_end=t_end,
    )


def test_leak_between_subthreshold_events_and_to_t_end():
    tau, w1, w2 = 10.0, 0.3, 0.5
    args = ([0, 1], [1.0, 4.0], [[[w1], [w2]]], [[1.0]], [tau], [1.0], [0.0])
    v_t2 = w1 * math.exp(-(4.0 - 1.0) / tau) + w2
    res = run(*args)  # t_end defaults to the last event time
    assert res["v"][0][0] == pytest.approx(v_t2, rel=REL)
    assert res["spikes"] == [[]]
    assert res["x"][0].tolist() == pytest.approx([math.exp(-3.0 / tau), 1.0], rel=REL)
    res = run(*args, t_end=9.0)
    assert res["v"][0][0] == pytest.approx(v_t2 * math.exp(-(9.0 - 4.0) / tau), rel=REL)


def test_refractory_dynamic_weight():
    # input 0 makes the neuron fire at t0 = 1 (V: 0 -> 1 -> 0); input 1 probes w_dyn
    tau, t_ref, w = 7.0, 2.0, 0.4
    weights = [[[1.0], [w]]]

    def v_after(probe_times):
        res = run(
            [0] + [1] * len(probe_times),
            [1.0] + probe_times,
            weights,
            [[1.0]],
            [tau],
            [t_ref],
            [0.0],
        )
        assert res["spikes"] == [[(1.0, 0)]]
        return res["v"][0][0]

    assert v_after([2.0]) == pytest.approx(w * 0.25, rel=REL)  # t0 + T_ref/2
    assert v_after([2.5]) == pytest.approx(w * 0.75**2, rel=REL)  # t0 + 3/4 T_ref
    assert v_after([3.0]) == pytest.approx(w, rel=REL)  # t0 + T_ref: full weight
    assert v_after([1.0]) == 0.0  # same time stamp: w_dyn = 0
    # two probes: the second one, at t0 + T_ref, adds the full weight
    expected = w * 0.25 * math.exp(-(3.0 - 2.0) / tau) + w
    assert v_after([2.0, 3.0]) == pytest.approx(expected, rel=REL)


def test_refractory_zero_means_full_weight():
    res = run([0, 0], [1.0, 1.0], [[[1.0, 0.0]]], [[1.0, 1.0]], [5.0], [0.0], [0.0])
    assert res["spikes"] == [[(1.0, 0), (1.0, 0)]]
    assert res["v"][0][0] == pytest.approx(0.0, abs=1e-15)


def test_subtractive_reset_one_spike_per_event():
    v_th = 2.0
    res = run([0], [3.0], [[[2.5 * v_th]]], [[v_th]], [20.0], [1.0], [0.0])
    assert res["spikes"] == [[(3.0, 0)]]
    assert res["counts"][0].tolist() == [1]
    assert res["v"][0][0] == pytest.approx(1.5 * v_th, rel=REL)


def test_lower_bound():
    tau, v_th = 4.0, 2.0
    res = run([0], [1.0], [[[-10.0]]], [[v_th]], [tau], [1.0], [0.0], t_end=3.0)
    expected = -v_th * math.exp(-(3.0 - 1.0) / tau)
    assert res["v"][0][0] == pytest.approx(expected, rel=REL)
    res = run([0], [1.0], [[[-10.0]]], [[v_th]], [tau], [1.0], [0.0])
    assert res["v"][0][0] == -v_th


def test_inhibition_suppresses_and_makes_refractory():
    tau, t_ref, kappa = 10.0, 2.0, -0.5
    v_th = [1.0, 2.0]
    # input 0: V = [1.5, 2.2], V/V_th = [1.5, 1.1] -> neuron 0 fires first although
    # neuron 1 has the larger V; neuron 1 is inhibited to 2.2 - 0.5*2 = 1.2 < 2.
    # input 1 at t0 + T_ref/2 reaches neuron 1 with w_dyn = 0.25 (inhibited at t0).
    weights = [[[1.5, 2.2], [0.0, 0.4]]]
    res = run([0], [1.0], weights, [v_th], [tau], [t_ref], [kappa])
    assert res["spikes"] == [[(1.0, 0)]]
    assert res["v"][0].tolist() == pytest.approx([0.5, 1.2], rel=REL)
    assert res["inhibitions"].tolist() == [1]
    res = run([0, 1], [1.0, 2.0], weights, [v_th], [tau], [t_ref], [kappa])
    decay = math.exp(-(2.0 - 1.0) / tau)
    assert res["v"][0].tolist() == pytest.approx(
        [0.5 * decay, 1.2 * decay + 0.4 * 0.25], rel=REL
    )
    assert res["spikes"] == [[(1.0, 0)]]


def test_inhibited_neuron_still_fires_and_winner_is_inhibited_after_firing():
    kappa, v_th = -0.5, [1.0, 2.0]
    # V = [3, 5], ratios [3, 2.5]: neuron 0 fires -> V0 = 2, V1 = 5 - 0.5*2 = 4 >= 2;
    # neuron 1 fires -> V1 = 2, V0 = 2 - 0.5*1 = 1.5 (>= 1, but it already fired).
    res = run([0], [1.0], [[[3.0, 5.0]]], [v_th], [10.0], [2.0], [kappa])
    assert res["spikes"] == [[(1.0, 0), (1.0, 1)]]
    assert res["v"][0].tolist() == pytest.approx([1.5, 2.0], rel=REL)
    assert res["inhibitions"].tolist() == [2]  # 2 spikes * (2 - 1)


def test_inhibition_respects_lower_bound():
    # kappa = -1, V_th = 1: neuron 0 fires (V0 = 2 - 1 = 1); neuron 1:
    # 0.5 - 1 = -0.5 (above -1, kept); neuron 2: -0.8 - 1 = -1.8, clipped to -1.
    res = run(
        [0], [1.0], [[[2.0, 0.5, -0.8]]], [[1.0, 1.0, 1.0]], [10.0], [1.0], [-1.0]
    )
    assert res["spikes"] == [[(1.0, 0)]]
    assert res["v"][0].tolist() == pytest.approx([1.0, -0.5, -1.0], rel=REL)
    assert res["inhibitions"].tolist() == [2]


def test_kappa_zero_no_inhibition_no_refractory_on_others():
    tau, t_ref = 10.0, 2.0
    # input 0: V = [2.2, 1.5, 0.3], V_th = [2, 1, 1], ratios [1.1, 1.5, 0.3]:
    # neuron 1 fires first, then neuron 0, neuron 2 stays at 0.3.
    weights = [[[2.2, 1.5, 0.3], [0.4, 0.0, 0.4]]]
    v_th = [2.0, 1.0, 1.0]
    res = run([0], [1.0], weights, [v_th], [tau], [t_ref], [0.0])
    assert res["spikes"] == [[(1.0, 1), (1.0, 0)]]
    assert res["v"][0].tolist() == pytest.approx([0.2, 0.5, 0.3], rel=REL)
    assert res["inhibitions"].tolist() == [0]
    # input 1 at t0 + T_ref/2: neuron 0 (fired) gets 0.25 w, neuron 2 (silent) gets w
    res = run([0, 1], [1.0, 2.0], weights, [v_th], [tau], [t_ref], [0.0])
    decay = math.exp(-(2.0 - 1.0) / tau)
    assert res["v"][0].tolist() == pytest.approx(
        [0.2 * decay + 0.4 * 0.25, 0.5 * decay, 0.3 * decay + 0.4], rel=REL
    )


def test_tie_goes_to_lower_index():
    # V/V_th = 1.5 for both; kappa = -1: neuron 0 fires, V1 = 3 - 2 = 1 < 2.
    # (Had neuron 1 won, neuron 0 would be left at 0.5 and only neuron 1 would fire.)
    res = run([0], [1.0], [[[1.5, 3.0]]], [[1.0, 2.0]], [10.0], [1.0], [-1.0])
    assert res["spikes"] == [[(1.0, 0)]]
    assert res["v"][0].tolist() == pytest.approx([0.5, 1.0], rel=REL)


def test_depth_two_layers_same_time_stamp():
    tau = [10.0, 5.0]
    res = run(
        [0],
        [2.0],
        [[[1.0]], [[1.5]]],
        [[1.0], [1.0]],
        tau,
        [1.0, 1.0],
        [0.0, 0.0],
        t_end=4.0,
    )
    assert res["spikes"] == [[(2.0, 0)], [(2.0, 0)]]
    assert res["v"][1][0] == pytest.approx(0.5 * math.exp(-(4.0 - 2.0) / 5.0), rel=REL)
    # layer 1's input activity uses layer 1's tau
    assert res["x"][1][0] == pytest.approx(math.exp(-(4.0 - 2.0) / 5.0), rel=REL)
    assert res["a"][0][0] == pytest.approx(math.exp(-(4.0 - 2.0) / 10.0), rel=REL)
    assert res["synops"].tolist() == [1, 1]


def test_depth_spikes_delivered_in_firing_order():
    # Layer 0 (kappa 0): V = [1.2, 1.5], V_th = 1 -> fires neuron 1 then neuron 0.
    # Layer 1 (one neuron, T_ref 1): the spike of neuron 1 (w = 1.0) arrives first
    # and fires it (V = 0, t_out = t); the spike of neuron 0 (w = 0.3) then has
    # w_dyn = 0 (dt = 0), so V stays 0. The opposite order would give V = 0.3.
    res = run(
        [0],
        [1.0],
        [[[1.2, 1.5]], [[0.3], [1.0]]],
        [[1.0, 1.0], [1.0]],
        [10.0, 10.0],
        [1.0, 1.0],
        [0.0, 0.0],
    )
    assert res["spikes"] == [[(1.0, 1), (1.0, 0)], [(1.0, 0)]]
    assert res["v"][1][0] == 0.0
    assert res["synops"].tolist() == [2, 2]


def test_activities_counts_synops():
    tau, t_end = 5.0, 6.0
    # inputs at t = 1 (k=0), 2 (k=1), 3 (k=0); neuron 0 fires at 1 and 3.
    weights = [[[1.0, 0.1], [0.1, 0.1]]]
    res = run(
        [0, 1, 0],
        [1.0, 2.0, 3.0],
        weights,
        [[1.0, 1.0]],
        [tau],
        [0.0],
        [0.0],
        t_end=t_end,
    )
    e = math.exp(-1.0 / tau)  # decay over 1 time unit
    assert res["spikes"] == [[(1.0, 0), (3.0, 0)]]
    x0 = math.exp((1.0 - t_end) / tau) + math.exp((3.0 - t_end) / tau)
    x1 = math.exp((2.0 - t_end) / tau)
    assert res["x"][0].tolist() == pytest.approx([x0, x1], rel=REL)
    a0 = math.exp((1.0 - t_end) / tau) + math.exp((3.0 - t_end) / tau)
    assert res["a"][0].tolist() == pytest.approx([a0, 0.0], rel=REL)
    v0 = (0.1 * e + 1.0 - 1.0) * math.exp(-(t_end - 3.0) / tau)
    v1 = ((0.1 * e + 0.1) * e + 0.1) * math.exp(-(t_end - 3.0) / tau)
    assert res["v"][0].tolist() == pytest.approx([v0, v1], rel=1e-9)
    assert res["counts"][0].tolist() == [2, 0]
    assert res["counts"][0].dtype == np.int64
    assert res["active_inputs"][0].tolist() == [True, True]
    assert res["active_neurons"][0].tolist() == [True, False]
    assert res["synops"].tolist() == [3 * 2]
    assert res["inhibitions"].tolist() == [0]


def test_inhibition_count_per_spike():
    # 3 neurons, kappa != 0, one spike -> 2 inhibition updates; synops 3 per event.
    res = run(
        [0, 0],
        [1.0, 5.0],
        [[[1.0, 0.0, 0.0]]],
        [[1.0, 1.0, 1.0]],
        [10.0],
        [1.0],
        [-0.4],
    )
    assert res["spikes"] == [[(1.0, 0), (5.0, 0)]]
    assert res["inhibitions"].tolist() == [2 * 2]
    assert res["synops"].tolist() == [2 * 3]


def test_empty_stream():
    weights = [[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[1.0], [1.0]]]
    for t_end in (None, 7.0):
        res = run(
            [],
            [],
            weights,
            [[1.0, 1.0], [1.0]],
            [10.0, 10.0],
            [1.0, 1.0],
            [-0.5, 0.0],
            t_end=t_end,
        )
        assert res["spikes"] == [[], []]
        assert [c.tolist() for c in res["counts"]] == [[0, 0], [0]]
        assert [v.tolist() for v in res["v"]] == [[0.0, 0.0], [0.0]]
        assert [x.tolist() for x in res["x"]] == [[0.0, 0.0, 0.0], [0.0, 0.0]]
        assert [a.tolist() for a in res["a"]] == [[0.0, 0.0], [0.0]]
        assert [m.tolist() for m in res["active_inputs"]] == [[False] * 3, [False] * 2]
        assert [m.tolist() for m in res["active_neurons"]] == [[False] * 2, [False]]
        assert res["synops"].tolist() == [0, 0]
        assert res["inhibitions"].tolist() == [0, 0]


def test_events_after_t_end_are_ignored():
    tau = 4.0
    res = run(
        [0, 1, 1],
        [1.0, 3.0, 5.0],
        [[[0.2], [5.0]]],
        [[1.0]],
        [tau],
        [1.0],
        [0.0],
        t_end=3.0,
    )
    # the events at t = 3 (= t_end, processed) and t = 5 (ignored)
    assert res["spikes"] == [[(3.0, 0)]]
    assert res["synops"].tolist() == [2]
    # a spike at exactly t_end counts in Eq. 4 with exp(0) = 1
    assert res["x"][0].tolist() == pytest.approx(
        [math.exp((1.0 - 3.0) / tau), 1.0], rel=REL
    )
    assert res["a"][0].tolist() == [1.0]
    res = run(
        [0, 1], [1.0, 5.0], [[[0.2], [5.0]]], [[1.0]], [tau], [1.0], [0.0], t_end=2.0
    )
    assert res["spikes"] == [[]]
    assert res["v"][0][0] == pytest.approx(0.2 * math.exp(-(2.0 - 1.0) / tau), rel=REL)
    assert res["x"][0].tolist() == pytest.approx(
        [math.exp((1.0 - 2.0) / tau), 0.0], rel=REL
    )
    assert res["active_inputs"][0].tolist() == [True, False]
    assert res["synops"].tolist() == [1]
