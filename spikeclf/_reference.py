"""Slow, literal reference simulator of the event-driven spiking network.

This module is written straight from Eqs. 1-4 of Lee, Delbruck and Pfeiffer
(2016) and section 1 of ``SPEC.md``, one neuron and one event at a time, so
that faster kernels can be checked against it event for event. It imports
nothing from the rest of :mod:`spikeclf` and favours clarity over speed.
"""

import math

import numpy as np

__all__ = ["simulate_reference"]


def simulate_reference(
    channels, times, weights, thresholds, tau, refractory, kappa, t_end=None
):
    """Run a feed-forward spiking network on one event stream, event by event.

    Parameters
    ----------
    channels : array-like of int, shape (n_events,)
        Input channel of each event, ``0 <= c < weights[0].shape[0]``.
    times : array-like of float, shape (n_events,)
        Non-decreasing event times (same unit as `tau` and `refractory`).
    weights : list of ndarray
        ``weights[l]`` has shape ``(n_in_l, n_out_l)``; row ``k`` holds the
        weights from input ``k`` of layer ``l`` to every neuron of layer
        ``l``, and ``n_in_{l+1} == n_out_l``.
    thresholds : list of ndarray
        ``thresholds[l]`` has shape ``(n_out_l,)``, all entries > 0.
    tau, refractory, kappa : sequence of float
        One value per layer: membrane time constant (> 0), refractory period
        T_ref (>= 0) and lateral-inhibition strength (<= 0; 0 means no
        winner-take-all: no inhibition and no refractory effect on others).
    t_end : float, optional
        Time at which the run stops and the state is read. Events later than
        `t_end` are not processed. Default: the last event time (0.0 for an
        empty stream).

    Returns
    -------
    result : dict
        ``"spikes"``: per layer, list of ``(time, neuron)`` in firing order;
        ``"counts"``: per layer, int64 spike counts;
        ``"v"``: per layer, membrane potentials decayed to `t_end`;
        ``"x"``: per layer, input activities ``x_k(t_end)`` of Eq. 4;
        ``"a"``: per layer, output activities ``a_i(t_end)`` of Eq. 4;
        ``"active_inputs"`` / ``"active_neurons"``: per layer, bool masks of
        inputs that received >= 1 spike / neurons that fired >= 1 time;
        ``"synops"``: int64 (n_layers,), one weight added to one membrane
        potential counts 1; ``"inhibitions"``: int64 (n_layers,),
        ``n_out_l - 1`` per spike of a layer with ``kappa != 0``.

    Notes
    -----
    For each input event at time ``t`` on input ``k`` of a layer:

    1. decay every neuron: ``V <- V * exp(-(t - t_last) / tau)``;
    2. ``w_dyn = ((t - t_out) / T_ref) ** 2`` if ``t - t_out < T_ref`` else 1;
    3. ``V <- V + w[k, i] * w_dyn``;
    4. ``V <- max(V, -V_th)``;
    5. repeatedly, the not-yet-fired neuron with ``V >= V_th`` and the largest
       ``V / V_th`` (ties: lowest index) fires: ``V <- V - V_th``,
       ``t_out <- t``; if ``kappa != 0`` every other neuron ``j`` gets
       ``V_j <- max(V_j + kappa * V_th_j, -V_th_j)`` and ``t_out_j <- t``.
       At most one spike per neuron per input event;
    6. each output spike is an input event of the next layer at the same time,
       processed depth-first (all its consequences in deeper layers before
       the next spike of the layer is delivered).

    ``x`` and ``a`` are computed at the end directly from the recorded spike
    times; a spike at exactly ``t_end`` contributes 1.
    """
    channels = np.asarray(channels, dtype=np.int64).reshape(-1)
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    W = [np.asarray(w, dtype=np.float64) for w in weights]
    V_th = [np.asarray(th, dtype=np.float64) for th in thresholds]
    n_layers = len(W)
    if not (len(V_th) == len(tau) == len(refractory) == len(kappa) == n_layers):
        raise ValueError("need thresholds, tau, refractory, kappa for every layer")
    if channels.shape != times.shape:
        raise ValueError("channels and times must have the same length")
    if np.any(np.diff(times) < 0):
        raise ValueError("times must be non-decreasing")
    for ly in range(n_layers):
        if V_th[ly].shape != (W[ly].shape[1],) or np.any(V_th[ly] <= 0):
            raise ValueError(f"layer {ly}: thresholds must be (n_out,) and > 0")
        if ly > 0 and W[ly].shape[0] != W[ly - 1].shape[1]:
            raise ValueError(f"layer {ly}: n_in differs from n_out of layer below")
        if not (tau[ly] > 0 and refractory[ly] >= 0 and kappa[ly] <= 0):
            raise ValueError(f"layer {ly}: need tau > 0, refractory >= 0, kappa <= 0")
    if len(channels) and (channels.min() < 0 or channels.max() >= W[0].shape[0]):
        raise ValueError("channel index out of range")
    if t_end is None:
        t_end = float(times[-1]) if len(times) else 0.0

    # State, one plain Python list entry per neuron.
    n_out = [w.shape[1] for w in W]
    V = [[0.0] * n_out[ly] for ly in range(n_layers)]
    t_out = [[-math.inf] * n_out[ly] for ly in range(n_layers)]
    t_last = [None] * n_layers  # time of the layer's last update (None: never)
    received = [[] for _ in range(n_layers)]  # (time, input) events processed
    spikes = [[] for _ in range(n_layers)]  # (time, neuron) spikes emitted
    synops = [0] * n_layers
    inhibitions = [0] * n_layers

    def process_event(ly, k, t):
        """Deliver one input event (input ``k`` at time ``t``) to layer ``ly``."""
        w, th, v, tout = W[ly], V_th[ly], V[ly], t_out[ly]
        n = n_out[ly]
        received[ly].append((t, k))
        # 1. leak of the whole layer since its last update
        if t_last[ly] is not None:
            factor = math.exp(-(t - t_last[ly]) / tau[ly])
            for i in range(n):
                v[i] = v[i] * factor
        t_last[ly] = t
        for i in range(n):
            # 2. dynamic weight (refractoriness after own spike or inhibition)
            dt = t - tout[i]
            w_dyn = (dt / refractory[ly]) ** 2 if dt < refractory[ly] else 1.0
            # 3. synaptic input, 4. lower bound
            v[i] = v[i] + w[k, i] * w_dyn
            synops[ly] += 1
            v[i] = max(v[i], -th[i])
        # 5. firing: largest V / V_th first, re-checked after every inhibition
        fired = [False] * n
        new_spikes = []
        while True:
            winner = None
            for i in range(n):
                if fired[i] or v[i] < th[i]:
                    continue
                if winner is None or v[i] / th[i] > v[winner] / th[winner]:
                    winner = i  # strict '>' keeps the lowest index on ties
            if winner is None:
                break
            fired[winner] = True
            v[winner] = v[winner] - th[winner]
            tout[winner] = t
            spikes[ly].append((t, winner))
            new_spikes.append(winner)
            if kappa[ly] != 0:
                for j in range(n):
                    if j != winner:
                        v[j] = max(v[j] + kappa[ly] * th[j], -th[j])
                        tout[j] = t
                        inhibitions[ly] += 1
        # 6. zero-delay, depth-first delivery to the next layer. Firing in this
        # layer does not depend on deeper layers, so delivering the spikes after
        # the loop, in firing order, equals delivering each one as it fires.
        if ly + 1 < n_layers:
            for i in new_spikes:
                process_event(ly + 1, i, t)

    for c, t in zip(channels, times, strict=True):
        if t <= t_end:
            process_event(0, int(c), float(t))

    # Read the state at t_end, directly from the recorded events.
    out = {
        key: []
        for key in (
            "spikes",
            "counts",
            "v",
            "x",
            "a",
            "active_inputs",
            "active_neurons",
        )
    }
    for ly in range(n_layers):
        v_end = np.zeros(n_out[ly])
        if t_last[ly] is not None:
            factor = math.exp(-(t_end - t_last[ly]) / tau[ly])
            for i in range(n_out[ly]):
                v_end[i] = V[ly][i] * factor
        x = np.zeros(W[ly].shape[0])
        active_inputs = np.zeros(W[ly].shape[0], dtype=bool)
        for t_p, k in received[ly]:
            x[k] += math.exp((t_p - t_end) / tau[ly])
            active_inputs[k] = True
        a = np.zeros(n_out[ly])
        counts = np.zeros(n_out[ly], dtype=np.int64)
        for t_q, i in spikes[ly]:
            a[i] += math.exp((t_q - t_end) / tau[ly])
            counts[i] += 1
        out["spikes"].append(list(spikes[ly]))
        out["counts"].append(counts)
        out["v"].append(v_end)
        out["x"].append(x)
        out["a"].append(a)
        out["active_inputs"].append(active_inputs)
        out["active_neurons"].append(counts > 0)
    out["synops"] = np.array(synops, dtype=np.int64)
    out["inhibitions"] = np.array(inhibitions, dtype=np.int64)
    return out
