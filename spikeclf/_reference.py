"""Slow, literal reference simulator of the event-driven spiking network.

This module is written straight from Eqs. 1-4 of Lee, Delbruck and Pfeiffer
(2016) and section 1 of ``SPEC.md``, one neuron and one event at a time, so
that faster kernels can be checked against it event for event. It imports
nothing from the rest of :mod:`spikeclf` and favours clarity over speed.
"""

import math

import numpy as np

__all__ = ["poisson_events_reference", "simulate_conv_reference", "simulate_reference"]


def simulate_reference(
    channels,
    times,
    weights,
    thresholds,
    tau,
    refractory,
    kappa,
    t_end=None,
    rho=None,
    th_min=None,
    offsets=None,
    reset="subtract",
    lower_bound=True,
    dtype=np.float64,
    activity_tau=None,
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
    rho, th_min, offsets : sequence, optional
        Training only: threshold regularization per layer (paper 2.3.2). After
        the ``N_w`` spikes of one input event, the thresholds of the neurons
        that fired rise by ``rho * N``, then all fall by ``rho * N_w``; a
        threshold that would fall below ``th_min`` stays there and the rest is
        added to ``offsets``, which is added to every weight of the neuron.
        The result then also holds the updated ``"thresholds"`` and
        ``"offsets"``.
    reset : {"subtract", "zero"}, default="subtract"
        ``V <- V - V_th`` on a spike (the paper) or ``V <- 0`` (NIR's LIF).
    lower_bound : bool, default=True
        Whether ``V`` is bounded below at ``-V_th`` (the paper; NIR: no bound).
    dtype : {np.float64, np.float32}, default=np.float64
        Type of potentials, weights, thresholds and ``kappa``: every operation
        on them is rounded to it, as in the compiled kernel of that type. The
        decay factor and ``w_dyn`` are computed in float64 from the float64
        times and rounded to ``dtype`` once. float32 is for inference only
        (no `rho`).
    activity_tau : float, optional
        Time constant of the activities ``"x"`` and ``"a"`` (inf: spike
        counts); default: each layer's `tau`.

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
        ``"thresholds"``: per layer, the thresholds at the end (conv: per map;
        pool: None); ``"offsets"``: per layer, the offsets of threshold
        regularization (conv: per map, else empty);
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
    # Python floats in float64 (the historical arithmetic), NumPy float32 scalars,
    # which round every operation, in float32.
    real = float if np.dtype(dtype) == np.float64 else np.dtype(dtype).type
    if real is not float and real is not np.float32:
        raise ValueError(f"dtype must be float64 or float32, got {dtype!r}")
    W = [np.asarray(w, dtype=dtype) for w in weights]
    V_th = [np.array(th, dtype=dtype) for th in thresholds]  # copies: rho edits
    training = rho is not None
    if training and real is not float:
        raise ValueError("training (rho) is simulated in float64 only")
    if training:
        offsets = [np.array(b, dtype=np.float64) for b in offsets]
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
    V = [[real(0.0)] * n_out[ly] for ly in range(n_layers)]
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
            factor = real(math.exp(-(t - t_last[ly]) / tau[ly]))
            for i in range(n):
                v[i] = v[i] * factor
        t_last[ly] = t
        for i in range(n):
            # 2. dynamic weight (refractoriness after own spike or inhibition)
            dt = t - tout[i]
            w_dyn = real((dt / refractory[ly]) ** 2 if dt < refractory[ly] else 1.0)
            # 3. synaptic input, 4. lower bound
            weight = w[k, i] + offsets[ly][i] if training else w[k, i]
            v[i] = v[i] + weight * w_dyn
            synops[ly] += 1
            if lower_bound:
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
            v[winner] = real(0.0) if reset == "zero" else v[winner] - th[winner]
            tout[winner] = t
            spikes[ly].append((t, winner))
            new_spikes.append(winner)
            if kappa[ly] != 0:
                for j in range(n):
                    if j != winner:
                        v[j] = v[j] + real(kappa[ly]) * th[j]
                        if lower_bound:
                            v[j] = max(v[j], -th[j])
                        tout[j] = t
                        inhibitions[ly] += 1
        # threshold regularization (training only)
        if training and rho[ly] > 0 and new_spikes:
            for i in new_spikes:
                th[i] += rho[ly] * n
            for i in range(n):
                lowered = th[i] - rho[ly] * len(new_spikes)
                if lowered < th_min[ly][i]:
                    offsets[ly][i] += th_min[ly][i] - lowered
                    lowered = th_min[ly][i]
                th[i] = lowered
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
                v_end[i] = float(V[ly][i]) * factor
        x = np.zeros(W[ly].shape[0])
        active_inputs = np.zeros(W[ly].shape[0], dtype=bool)
        for t_p, k in received[ly]:
            x[k] += math.exp((t_p - t_end) / (activity_tau or tau[ly]))
            active_inputs[k] = True
        a = np.zeros(n_out[ly])
        counts = np.zeros(n_out[ly], dtype=np.int64)
        for t_q, i in spikes[ly]:
            a[i] += math.exp((t_q - t_end) / (activity_tau or tau[ly]))
            counts[i] += 1
        out["spikes"].append(list(spikes[ly]))
        out["counts"].append(counts)
        out["v"].append(v_end)
        out["x"].append(x)
        out["a"].append(a)
        out["active_inputs"].append(active_inputs)
        out["active_neurons"].append(counts > 0)
    if training:
        out["thresholds"] = V_th
        out["offsets"] = offsets
    out["synops"] = np.array(synops, dtype=np.int64)
    out["inhibitions"] = np.array(inhibitions, dtype=np.int64)
    return out


def simulate_conv_reference(
    channels, times, input_shape, layers, t_end=None, dtype=np.float64
):
    """Run a spiking convolutional network on one event stream, event by event.

    Convolution and pooling layers, then fully connected ones, with the neuron
    of :func:`simulate_reference`, written for clarity: every layer is reduced
    to the list of ``(neuron, weight)`` targets of each of its inputs and the
    winner-take-all group of each of its neurons, and every neuron keeps its
    own potential, last update time and last output time.

    Parameters
    ----------
    channels : array-like of int, shape (n_events,)
        Input of each event, the flat index of ``(c, y, x)`` in `input_shape`:
        ``x + W * (y + H * c)`` (spikeclf.events packs events this way).
    times : array-like of float, shape (n_events,)
        Non-decreasing event times, in the unit of ``tau`` and ``refractory``.
    input_shape : tuple of int
        ``(C, H, W)``: channels (polarities), height, width.
    layers : list of dict
        From input to output; fully connected layers come last. Keys:

        - ``{"type": "conv", "weights", "thresholds", "tau", "refractory",
          "kappa"}``: weights of shape ``(C_out, C_in, K, K)``, thresholds of
          shape ``(C_out,)`` shared by every position of a feature map;
          stride 1, no padding: output ``(C_out, H - K + 1, W - K + 1)``.
          Input ``(c, y, x)`` feeds neuron ``(o, y', x')`` with weight
          ``w[o, c, y - y', x - x']`` when ``0 <= y - y' < K`` and
          ``0 <= x - x' < K``. ``kappa`` (<= 0, 0 for none): winner-take-all
          among the ``C_out`` neurons of one position. Optional ``"rho"`` and
          ``"th_min"`` (shape ``(C_out,)``): threshold regularization as in
          training (a spike raises its map's threshold by ``rho * C_out``,
          every spike lowers every map's by ``rho``; below ``th_min`` the
          map's weights rise instead, through an offset).
        - ``{"type": "pool", "tau", "refractory"}`` and optionally
          ``"threshold"`` (default 0.8) and ``"weight"`` (default 1): 2x2
          windows, stride 2, output ``(C, H // 2, W // 2)``; input
          ``(c, y, x)`` feeds neuron ``(c, y // 2, x // 2)``, if there is
          one, with that weight.
        - ``{"type": "dense", "weights", "thresholds", "tau", "refractory",
          "kappa"}``: weights of shape ``(n_in, n_out)`` as in
          :func:`simulate_reference`, input ``k`` the flat index of the
          previous layer's output.

        Neuron ``(o, y', x')`` of a conv or pool layer has the flat index
        ``o * H' * W' + y' * W' + x'``: the index of its spikes as inputs of
        the next layer, in the results and in tie-breaking.
    t_end : float, optional
        Time at which the run stops and the state is read; later events are
        not processed. Default: the last event time (0.0 for no events).
    dtype : {np.float64, np.float32}, default=np.float64
        Type of potentials, weights, thresholds and ``kappa``: every operation
        on them is rounded to it, as in the compiled kernel of that type
        (:func:`simulate_reference` likewise). The decay factor and ``w_dyn``
        are computed in float64 from the float64 times and rounded to
        ``dtype`` once; the potentials read at `t_end` are float64. float32 is
        for inference only (no ``"rho"``).

    Returns
    -------
    result : dict
        ``"shapes"``: per layer, its output shape (``(n_out,)`` for dense);
        ``"spikes"``: per layer, list of ``(time, neuron)`` in firing order;
        ``"counts"``: per layer, int64 spike counts of the flat neurons;
        ``"v"``: per layer, flat membrane potentials decayed to `t_end`;
        ``"thresholds"``: per layer, the thresholds at the end (conv: per map;
        pool: None); ``"offsets"``: per layer, the offsets of threshold
        regularization (conv: per map, else empty);
        ``"synops"``: int64 (n_layers,), one weight added to one membrane
        potential counts 1; ``"inhibitions"``: int64 (n_layers,), one per
        neuron inhibited by a lateral inhibition.

    Notes
    -----
    For each input event at time ``t`` on input ``k`` of a layer, with targets
    ``T(k)`` (conv: every feature map at each position whose kernel covers the
    pixel; pool: one neuron or none; dense: every neuron):

    1. decay every target ``i`` from its own last update:
       ``V_i <- V_i * exp(-(t - t_last_i) / tau)`` (no decay before its first
       update), ``t_last_i <- t``;
    2. ``w_dyn = ((t - t_out_i) / T_ref) ** 2`` if ``t - t_out_i < T_ref``
       else 1, ``t_out_i`` the time of its last spike or inhibition;
    3. ``V_i <- V_i + w_ki * w_dyn``, one synaptic operation;
    4. ``V_i <- max(V_i, -V_th_i)``;
    5. repeatedly, the target not yet fired on this event with
       ``V >= V_th`` and the largest ``V / V_th`` (ties: lowest flat index)
       fires: ``V <- V - V_th``, ``t_out <- t``; if ``kappa != 0`` every
       other neuron ``j`` of its group (conv: same position, other feature
       maps; dense: the layer; pool: none) gets
       ``V_j <- max(V_j + kappa * V_th_j, -V_th_j)`` and ``t_out_j <- t``;
    6. each output spike is an input event of the next layer at the same time,
       processed depth-first, in firing order.

    With only dense layers the result equals :func:`simulate_reference`'s,
    whose layer-wide decay is the per-neuron decay of step 1 when every
    event updates every neuron.
    """
    channels = np.asarray(channels, dtype=np.int64).reshape(-1)
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    if channels.shape != times.shape:
        raise ValueError("channels and times must have the same length")
    if np.any(np.diff(times) < 0):
        raise ValueError("times must be non-decreasing")
    # Python floats in float64 (the historical arithmetic), NumPy float32 scalars,
    # which round every operation, in float32.
    real = float if np.dtype(dtype) == np.float64 else np.dtype(dtype).type
    if real is not float and real is not np.float32:
        raise ValueError(f"dtype must be float64 or float32, got {dtype!r}")
    net = [_reference_layer(spec, ly, real) for ly, spec in enumerate(layers)]
    shape = tuple(int(s) for s in input_shape)
    for ly, layer in enumerate(net):
        shape = layer.connect(shape, ly)
    n_in = int(np.prod(input_shape))
    if len(channels) and (channels.min() < 0 or channels.max() >= n_in):
        raise ValueError("channel index out of range")
    if t_end is None:
        t_end = float(times[-1]) if len(times) else 0.0
    n_layers = len(net)
    spikes = [[] for _ in range(n_layers)]

    def process_event(ly, k, t):
        """Deliver one input event (input ``k`` at time ``t``) to layer ``ly``."""
        layer = net[ly]
        targets = layer.targets(k)
        for i, w in targets:
            # 1. leak since the neuron's own last update
            layer.advance(i, t)
            # 2. dynamic weight (refractoriness after own spike or inhibition)
            dt = t - layer.t_out[i]
            ratio = dt / layer.refractory if dt < layer.refractory else 1.0
            w_dyn = real(ratio * ratio)
            # 3. synaptic input (with the offset of threshold regularization), 4. bound
            layer.v[i] = layer.v[i] + (w + layer.offset_of(i)) * w_dyn
            layer.synops += 1
            layer.v[i] = max(layer.v[i], -layer.th[i])
        # 5. firing among the targets: largest V / V_th first, re-checked after
        # every inhibition, at most once each
        fired = set()
        new_spikes = []
        while True:
            winner = None
            for i, _ in targets:  # in increasing flat index
                if i in fired or layer.v[i] < layer.th[i]:
                    continue
                if winner is None or (
                    layer.v[i] / layer.th[i] > layer.v[winner] / layer.th[winner]
                ):
                    winner = i  # strict '>' keeps the lowest index on ties
            if winner is None:
                break
            fired.add(winner)
            layer.v[winner] = layer.v[winner] - layer.th[winner]
            layer.t_out[winner] = t
            spikes[ly].append((t, winner))
            new_spikes.append(winner)
            if layer.kappa != 0:
                for j in layer.group(winner):
                    layer.advance(j, t)
                    layer.v[j] = max(
                        layer.v[j] + real(layer.kappa) * layer.th[j], -layer.th[j]
                    )
                    layer.t_out[j] = t
                    layer.inhibitions += 1
        if new_spikes:
            layer.regularize(new_spikes)
        # 6. zero-delay, depth-first delivery to the next layer, in firing order
        if ly + 1 < n_layers:
            for i in new_spikes:
                process_event(ly + 1, i, t)

    for c, t in zip(channels, times, strict=True):
        if t <= t_end:
            process_event(0, int(c), float(t))

    out = {key: [] for key in ("shapes", "spikes", "counts", "v")}
    for ly, layer in enumerate(net):
        v_end = np.zeros(layer.n_out)
        for i in range(layer.n_out):
            if layer.t_last[i] is not None:
                decay = math.exp(-(t_end - layer.t_last[i]) / layer.tau)
                v_end[i] = float(layer.v[i]) * decay
        counts = np.zeros(layer.n_out, dtype=np.int64)
        for _, i in spikes[ly]:
            counts[i] += 1
        out["shapes"].append(layer.shape_out)
        out["spikes"].append(list(spikes[ly]))
        out["counts"].append(counts)
        out["v"].append(v_end)
    out["thresholds"] = [layer.thresholds_out() for layer in net]
    out["offsets"] = [layer.offset.copy() for layer in net]
    out["synops"] = np.array([layer.synops for layer in net], dtype=np.int64)
    out["inhibitions"] = np.array([layer.inhibitions for layer in net], dtype=np.int64)
    return out


class _ReferenceLayer:
    """One layer of :func:`simulate_conv_reference`: its wiring and its neurons."""

    def __init__(self, spec, ly, real=float):
        self.real = real
        self.kind = spec["type"]
        self.tau = float(spec["tau"])
        self.refractory = float(spec["refractory"])
        self.kappa = float(spec.get("kappa", 0.0)) if self.kind != "pool" else 0.0
        if not (self.tau > 0 and self.refractory >= 0 and self.kappa <= 0):
            raise ValueError(f"layer {ly}: need tau > 0, refractory >= 0, kappa <= 0")
        if self.kind in ("conv", "dense"):
            self.w = np.asarray(spec["weights"], dtype=np.float64)
            self.thresholds = np.asarray(spec["thresholds"], dtype=np.float64)
        elif self.kind == "pool":
            self.pool_threshold = float(spec.get("threshold", 0.8))
            self.pool_weight = float(spec.get("weight", 1.0))
        else:
            raise ValueError(f"layer {ly}: unknown type {self.kind!r}")
        self.rho = float(spec.get("rho", 0.0)) if self.kind == "conv" else 0.0
        if self.rho > 0 and real is not float:
            raise ValueError("training (rho) is simulated in float64 only")
        if self.rho > 0:
            self.th_min = np.asarray(spec["th_min"], dtype=np.float64)
            self.map_th = self.thresholds.copy()
        self.offset = np.zeros(self.w.shape[0] if self.kind == "conv" else 0)

    def connect(self, shape_in, ly):
        """Check the layer against its input shape; make its neurons."""
        self.shape_in = shape_in
        n_in = int(np.prod(shape_in))
        if self.kind != "dense" and len(shape_in) != 3:
            raise ValueError(f"layer {ly}: {self.kind} after a dense layer")
        if self.kind == "conv":
            c_out, c_in, k, k2 = self.w.shape
            _, h, w = shape_in
            if c_in != shape_in[0] or k != k2 or k > min(h, w):
                raise ValueError(f"layer {ly}: conv weights do not fit {shape_in}")
            if self.thresholds.shape != (c_out,):
                raise ValueError(f"layer {ly}: need one threshold per feature map")
            self.shape_out = (c_out, h - k + 1, w - k + 1)
            # Feature map o shares its threshold: the o-th block of the flat neurons.
            th = np.repeat(self.thresholds, (h - k + 1) * (w - k + 1))
        elif self.kind == "pool":
            c, h, w = shape_in
            if h < 2 or w < 2:
                raise ValueError(f"layer {ly}: pool input {shape_in} below 2x2")
            self.shape_out = (c, h // 2, w // 2)
            th = np.full(c * (h // 2) * (w // 2), self.pool_threshold)
        else:
            if self.w.ndim != 2 or self.w.shape[0] != n_in:
                raise ValueError(f"layer {ly}: dense weights need {n_in} rows")
            if self.thresholds.shape != (self.w.shape[1],):
                raise ValueError(f"layer {ly}: need one threshold per neuron")
            self.shape_out = (self.w.shape[1],)
            th = self.thresholds
        if np.any(th <= 0):
            raise ValueError(f"layer {ly}: thresholds must be > 0")
        self.th = [self.real(x) for x in th]
        self.n_out = len(self.th)
        self.v = [self.real(0.0)] * self.n_out
        self.t_last = [None] * self.n_out  # own last update (None: never)
        self.t_out = [-math.inf] * self.n_out
        self.synops = 0
        self.inhibitions = 0
        return self.shape_out

    def targets(self, k):
        """``(neuron, weight)`` of every neuron input ``k`` feeds, by flat index."""
        real = self.real
        if self.kind == "dense":
            return [(i, real(self.w[k, i])) for i in range(self.n_out)]
        c, y, x = np.unravel_index(k, self.shape_in)
        _, h_out, w_out = self.shape_out
        if self.kind == "pool":
            if y // 2 < h_out and x // 2 < w_out:
                i = int(c * h_out * w_out + (y // 2) * w_out + x // 2)
                return [(i, real(self.pool_weight))]
            return []  # a row or column cut off by the 2x2 windows
        c_out, _, size, _ = self.w.shape
        found = []
        for o in range(c_out):
            for yo in range(h_out):
                for xo in range(w_out):
                    if 0 <= y - yo < size and 0 <= x - xo < size:
                        weight = real(self.w[o, c, y - yo, x - xo])
                        found.append((o * h_out * w_out + yo * w_out + xo, weight))
        return found

    def offset_of(self, i):
        """The offset added to every weight of neuron ``i`` (its feature map's)."""
        if self.rho == 0:
            return 0.0
        return float(self.offset[i // (self.shape_out[1] * self.shape_out[2])])

    def regularize(self, spiked):
        """Threshold regularization of a conv layer after one input event."""
        if self.rho == 0:
            return
        n_pos = self.shape_out[1] * self.shape_out[2]
        c_out = len(self.map_th)
        for i in spiked:
            self.map_th[i // n_pos] += self.rho * c_out
        for o in range(c_out):
            lowered = self.map_th[o] - self.rho * len(spiked)
            if lowered < self.th_min[o]:
                self.offset[o] += self.th_min[o] - lowered
                lowered = self.th_min[o]
            self.map_th[o] = lowered
            for p in range(n_pos):
                self.th[o * n_pos + p] = float(lowered)

    def thresholds_out(self):
        if self.kind == "pool":
            return None
        return self.map_th.copy() if self.rho > 0 else self.thresholds.copy()

    def group(self, i):
        """The neurons a spike of neuron ``i`` inhibits (kappa != 0)."""
        if self.kind == "dense":
            return [j for j in range(self.n_out) if j != i]
        c_out, h_out, w_out = self.shape_out
        own, position = divmod(i, h_out * w_out)
        return [o * h_out * w_out + position for o in range(c_out) if o != own]

    def advance(self, i, t):
        """Step 1: decay neuron ``i`` from its last update to ``t``."""
        if self.t_last[i] is not None:
            factor = self.real(math.exp(-(t - self.t_last[i]) / self.tau))
            self.v[i] = self.v[i] * factor
        self.t_last[i] = t


def _reference_layer(spec, ly, real=float):
    if not isinstance(spec, dict) or "type" not in spec:
        raise ValueError(f"layer {ly}: need a dict with a 'type'")
    return _ReferenceLayer(spec, ly, real)


def train_step_reference(
    channels, times, target, weights, thresholds, *, t_end, **options
):
    """One training step on one sample, written from the equations with dense arrays.

    The forward pass is :func:`simulate_reference`; the backward pass follows
    docs/method.md literally, with a direct linear solve of Eq. 8 where the
    kernel uses its closed form. Returns a dict with the updated ``weights``
    (offsets folded in), ``thresholds``, the ``loss`` and the ``deltas`` per
    layer (dense, zero for inactive neurons), and the Adam ``moments``.
    ``options`` are those of :func:`train_batch_reference`, a batch of one.
    """
    return train_batch_reference(
        [(channels, times, target, t_end)], weights, thresholds, **options
    )


def train_batch_reference(
    samples,
    weights,
    thresholds,
    *,
    tau,
    refractory,
    kappa,
    sigma=0.5,
    lr_w=0.002,
    lr_th=0.0002,
    rho=None,
    th_min=None,
    offsets=None,
    adam=None,
    reg_lambda=None,
    reg_beta=10.0,
    reg_samples=0,
    output_loss="max_normalized",
    activity_tau=None,
    output_neurons="all",
    adam_update="lazy",
):
    """One optimizer step on a batch of samples, as the training kernel defines it.

    ``samples`` is a list of ``(channels, times, target, t_end)``; ``tau``,
    ``refractory`` and ``kappa`` per layer as in :func:`simulate_reference`.

    ``adam`` is None for SGD, or a dict with ``step`` (the step number of this
    update, from 1), ``beta1``, ``beta2``, ``eps`` and ``moments``: per layer
    ``[m_w, v_w, m_th, v_th]``, updated only where the gradient is defined
    (active synapses of active neurons). ``reg_samples`` > 0 applies the
    exponential weight regularization of ``reg_samples`` samples after the
    update, to the layers with ``reg_lambda > 0``. ``output_loss`` is
    ``"max_normalized"`` (Eq. 16) or ``"cross_entropy"`` (softmax of the counts).
    ``activity_tau``: the time constant of the activities the backward pass
    reads (None: ``tau``). ``rho``, ``th_min`` and ``offsets``: threshold
    regularization and its lower bound (None: none). Every
    sample's forward and backward pass starts from the same parameters; the
    changes of threshold regularization (thresholds and offsets) of the
    forward passes are added up, a threshold below its bound lifts its
    offset; the gradients are summed and make one step (SGD, or Adam on the
    entries some sample touched, or on all with ``adam_update="dense"``).
    ``output_neurons="firing"``: the backward pass starts from the output
    neurons that fired and the target instead of all. ``lr_w`` and ``lr_th``:
    one value, or one per layer. Returns what
    :func:`train_step_reference` returns, with ``loss``, ``deltas`` and
    ``counts`` per sample as lists. Other arguments as there.
    """
    n_layers = len(weights)
    lr_w, lr_th = np.broadcast_to(lr_w, n_layers), np.broadcast_to(lr_th, n_layers)
    W = [np.array(w, dtype=np.float64) for w in weights]
    th0 = [np.array(t, dtype=np.float64) for t in thresholds]
    if offsets is None:
        offsets = [np.zeros(w.shape[1]) for w in W]
        th_min = [np.zeros(w.shape[1]) for w in W]
        rho = [0.0] * n_layers
    passes = [
        _gradients_reference(
            channels, times, target, W, th0, tau=tau, refractory=refractory,
            kappa=kappa, t_end=t_end, sigma=sigma, rho=rho, th_min=th_min,
            offsets=offsets, output_loss=output_loss, activity_tau=activity_tau,
            output_neurons=output_neurons,
        )
        for channels, times, target, t_end in samples
    ]  # fmt: skip
    th = [t + sum(p["thresholds"][ly] - t for p in passes) for ly, t in enumerate(th0)]
    b = [o + sum(p["offsets"][ly] - o for p in passes) for ly, o in enumerate(offsets)]
    moments = adam["moments"] if adam else None
    for ly in range(n_layers):
        _lift_below_bound(th[ly], b[ly], th_min[ly])
        grad_w = sum(p["grad_w"][ly] for p in passes)
        grad_th = sum(p["grad_th"][ly] for p in passes)
        touched_w = np.logical_or.reduce([p["touched_w"][ly] for p in passes])
        touched_th = np.logical_or.reduce([p["touched_th"][ly] for p in passes])
        if adam is not None and adam_update == "dense":
            touched_w[:], touched_th[:] = True, True
        if adam is None:
            W[ly] -= lr_w[ly] * np.where(touched_w, grad_w, 0.0)
            th[ly] -= lr_th[ly] * np.where(touched_th, grad_th, 0.0)
        else:
            m_w, v_w, m_th, v_th = moments[ly]
            _adam(W[ly], m_w, v_w, grad_w, touched_w, lr_w[ly], adam)
            _adam(th[ly], m_th, v_th, grad_th, touched_th, lr_th[ly], adam)
        _lift_below_bound(th[ly], b[ly], th_min[ly])
        W[ly] += b[ly][None, :]
        lam = 0.0 if reg_lambda is None else reg_lambda[ly]
        if reg_samples and lam > 0:
            norm = np.sum(W[ly] ** 2, axis=0)
            step = lr_w[ly] * lam * reg_samples
            W[ly] *= np.exp(-step * reg_beta * np.exp(reg_beta * (norm - 1.0)))[None, :]
    single = len(samples) == 1
    return {
        "weights": W,
        "thresholds": th,
        "moments": moments,
        **{
            key: passes[0][key] if single else [p[key] for p in passes]
            for key in ("loss", "deltas", "counts")
        },
    }


def _lift_below_bound(th, offset, th_min):
    """A threshold below its lower bound stays there; its weights rise instead."""
    below = th < th_min
    offset[below] += th_min[below] - th[below]
    th[below] = th_min[below]


def _gradients_reference(
    channels, times, target, W, thresholds, *, tau, refractory, kappa, t_end, sigma,
    rho, th_min, offsets, output_loss, activity_tau, output_neurons="all",
):  # fmt: skip
    """Forward pass and gradients of Eq. 13 of one sample, parameters unchanged.

    Returns the thresholds and offsets after the forward pass (threshold
    regularization), per layer the dense gradients of weights and thresholds
    and where they are defined (``touched_w``, ``touched_th``), the ``loss``,
    the ``deltas`` and the output ``counts``.
    """
    n_layers = len(W)
    res = simulate_reference(
        channels,
        times,
        W,
        thresholds,
        tau,
        refractory,
        kappa,
        t_end=t_end,
        rho=rho,
        th_min=th_min,
        offsets=[np.array(o, dtype=np.float64) for o in offsets],
        activity_tau=activity_tau,
    )
    th = res["thresholds"]
    b = res["offsets"]
    counts = res["counts"][-1]
    err, loss = _output_error_reference(counts, target, output_loss)
    zeros = [np.zeros(w.shape) for w in W]
    out = {
        "thresholds": th,
        "offsets": b,
        "grad_w": [z.copy() for z in zeros],
        "grad_th": [np.zeros(w.shape[1]) for w in W],
        "touched_w": [np.zeros(w.shape, bool) for w in W],
        "touched_th": [np.zeros(w.shape[1], bool) for w in W],
        "deltas": [np.zeros(w.shape[1]) for w in W],
        "loss": loss,
        "counts": counts,
    }
    active = np.ones(len(counts), dtype=bool)  # every output neuron is active
    if output_neurons == "firing":
        active = counts > 0
        active[target] = True
    for ly in range(n_layers - 1, -1, -1):
        x, a = res["x"][ly], res["a"][ly]
        n, m = int(active.sum()), int(np.count_nonzero(x))
        if n == 0 or m == 0:
            break
        n_in, n_out = W[ly].shape
        g = 1.0 / th[ly][active]
        g_bar = np.sqrt(np.mean(g**2))
        c, d = 1 + sigma * kappa[ly], sigma * kappa[ly]
        A = c * np.eye(n) - d * np.ones((n, n))  # Eq. 8, (1 + s k) I - s k 1 1^T
        delta = np.zeros(n_out)
        delta[active] = g / g_bar * np.linalg.solve(A, err[active])
        out["deltas"][ly] = delta
        if ly > 0:  # Eq. 12, weights of the batch's start, this sample's offsets
            err = np.sqrt(n_in / m) * ((W[ly] + b[ly][None, :]) @ delta)
        out["grad_w"][ly] = np.sqrt(n_out / m) * np.outer(x, delta)
        a_hat = a - sigma * kappa[ly] * (a[active].sum() - a)
        out["grad_th"][ly] = np.where(
            active, -np.sqrt(n_out / (m * n_in)) * delta * a_hat, 0.0
        )
        out["touched_w"][ly] = np.outer(x > 0, active)
        out["touched_th"][ly] = active.copy()
        if ly > 0:
            active = res["a"][ly - 1] > 0  # the neurons below that fired
    return out


def _adam(param, m, v, grad, touched, lr, adam):
    m[touched] = adam["beta1"] * m[touched] + (1 - adam["beta1"]) * grad[touched]
    v[touched] = adam["beta2"] * v[touched] + (1 - adam["beta2"]) * grad[touched] ** 2
    m_hat = m[touched] / (1 - adam["beta1"] ** adam["step"])
    v_hat = v[touched] / (1 - adam["beta2"] ** adam["step"])
    param[touched] -= lr * m_hat / (np.sqrt(v_hat) + adam["eps"])


def poisson_events_reference(images, indptr, spacing, choice, duration_us):
    """What ``spikeclf._encoders.poisson_events`` computes from the same draws.

    Image ``i`` owns events ``indptr[i]:indptr[i + 1]`` (``count`` of them) and
    exponential draws ``spacing[indptr[i] + i:][:count + 1]``: event ``k``'s time
    is ``floor(duration_us * S_k / S_count)`` with ``S_k`` the sum of the first
    ``k + 1`` draws, and its pixel the first whose cumulative intensity exceeds
    ``choice[k]`` times the image's total. Returns ``(pixel, t)``.
    """
    images = np.asarray(images, dtype=np.float64)
    n_events = int(indptr[-1])
    pixel = np.empty(n_events, dtype=np.int32)
    t = np.empty(n_events, dtype=np.int64)
    for i, image in enumerate(images):
        start, stop = int(indptr[i]), int(indptr[i + 1])
        if stop == start:
            continue
        draws = spacing[start + i : stop + i + 1]
        # Sums in the kernel's order: left to right, one at a time.
        partial = np.cumsum(draws)
        t[start:stop] = np.floor(duration_us * (partial[:-1] / partial[-1]))
        cumulative = np.cumsum(image)
        u = choice[start:stop] * cumulative[-1]
        # The last pixel where rounding puts u at the total.
        found = np.searchsorted(cumulative, u, side="right")
        pixel[start:stop] = np.minimum(found, len(cumulative) - 1)
    return pixel, t


def dvs_events_reference(emulator, image):
    """Events of :meth:`SaccadeEmulator.emulate` without noise, one pixel at a time.

    Renders every frame with ``scipy.ndimage.map_coordinates`` (not the kernel's
    own interpolation) and walks each pixel's log intensity with Python floats.
    Returns (pixel, t, p) sorted by time then pixel, as lists.
    """
    from scipy.ndimage import gaussian_filter, map_coordinates

    from .dvs import NMNIST_SENSOR_SIZE

    image = np.asarray(image, dtype=np.float64)
    if emulator.blur > 0:
        image = gaussian_filter(image, emulator.blur, mode="constant")
    path, times = emulator._path()
    width, height = NMNIST_SENSOR_SIZE[:2]
    events = []
    for i in range(width * height):
        x, y = i % width, i // width
        coords = np.array([y - path[:, 1], x - path[:, 0]])
        seen = map_coordinates(image, coords, order=1, mode="constant", cval=0.0)
        levels = np.log(emulator.background + seen)
        ref, last = levels[0], -np.inf
        for k in range(1, len(times)):
            a, b = levels[k - 1], levels[k]
            while True:
                if b >= ref + emulator.th_on_[i]:
                    level, on = ref + emulator.th_on_[i], 1
                elif b <= ref - emulator.th_off_[i]:
                    level, on = ref - emulator.th_off_[i], 0
                else:
                    break
                t = times[k - 1] + (times[k] - times[k - 1]) * (level - a) / (b - a)
                ref = level
                if t - last >= emulator.refractory * 1e6:
                    events.append((t, i, on))
                    last = t
    events.sort()
    return [e[1] for e in events], [e[0] for e in events], [e[2] for e in events]


def train_step_conv_reference(
    channels,
    times,
    target,
    input_shape,
    layers,
    th_min,
    *,
    t_end,
    sigma=0.5,
    lr_w=0.002,
    lr_th=0.0002,
    adam=None,
    output_loss="max_normalized",
    rho=None,
    activity_tau=None,
):
    """One training step of a spiking CNN on one sample, from the equations.

    The forward pass is :func:`simulate_conv_reference` (no threshold
    regularization); the activities of Eq. 4 are sums over the recorded spike
    trains. The backward pass writes every convolution and pooling layer as
    its dense (n_in, n_out) matrix and follows the per-neuron rules of
    ``spikeclf._conv_backward`` literally, with a direct solve of Eq. 8 per
    position; shared-kernel gradients are the sums over the dense matrix's
    entries of each kernel weight. ``layers`` as simulate_conv_reference takes
    them; ``th_min`` per layer (None for pooling); ``rho`` per layer (None:
    none), the threshold regularization of the convolution layers in the
    forward pass, whose offsets are folded into the kernels before the
    backward pass. ``adam`` as in
    :func:`train_step_reference`, its moments per layer in the layout of the
    weights (None for pooling); ``activity_tau`` as in
    :func:`train_step_reference`; ``lr_w`` and ``lr_th`` one value, or one per
    layer. Returns the updated ``layers`` (copies), the
    ``loss``, the output ``counts`` and the ``deltas`` per layer (flat).
    """
    layers = [dict(spec) for spec in layers]
    n_layers = len(layers)
    lr_w, lr_th = np.broadcast_to(lr_w, n_layers), np.broadcast_to(lr_th, n_layers)
    for ly, spec in enumerate(layers):
        if rho is not None and spec["type"] == "conv" and rho[ly] > 0:
            spec.update(rho=rho[ly], th_min=th_min[ly])
    res = simulate_conv_reference(channels, times, input_shape, layers, t_end=t_end)
    for ly, spec in enumerate(layers):
        spec.pop("rho", None)
        spec.pop("th_min", None)
        if spec["type"] == "conv":  # regularized thresholds, offsets folded
            spec["thresholds"] = res["thresholds"][ly]
            offset = res["offsets"][ly]
            spec["weights"] = np.asarray(spec["weights"]) + offset[:, None, None, None]
    n_layers = len(layers)
    shapes_in = [tuple(input_shape)] + list(res["shapes"][:-1])
    in_spikes = [[(t, c) for c, t in zip(channels, times, strict=True) if t <= t_end]]
    in_spikes += res["spikes"][:-1]
    x, active_in, a = [], [], []
    for ly, spec in enumerate(layers):
        n_in, n_out = int(np.prod(shapes_in[ly])), len(res["counts"][ly])
        tau_a = activity_tau or spec["tau"]
        x.append(_activity(in_spikes[ly], n_in, t_end, tau_a))
        active_in.append(_spiked(in_spikes[ly], n_in))
        a.append(_activity(res["spikes"][ly], n_out, t_end, tau_a))
    counts = res["counts"][-1]
    err, loss = _output_error_reference(counts, target, output_loss)
    deltas = [np.zeros(len(c)) for c in res["counts"]]
    active = np.ones(len(counts), dtype=bool)
    for ly in range(n_layers - 1, -1, -1):
        spec = layers[ly]
        if not active.any() or not active_in[ly].any():
            break
        matrix, index = _dense_form(spec, shapes_in[ly], res["shapes"][ly])
        connected = index >= 0
        # Per-neuron synapses M_i and active synapses m_i.
        M = connected.sum(axis=0).astype(float)
        m = (active_in[ly][:, None] & connected).sum(axis=0).astype(float)
        th = _thresholds_flat(spec, res["shapes"][ly])
        kappa = float(spec.get("kappa", 0.0))
        g = np.where(active, 1.0 / th, 0.0)
        g_bar = np.sqrt(np.sum(g**2) / active.sum())
        delta = np.zeros(len(th))
        for group in _groups(spec, res["shapes"][ly], active):
            n = len(group)
            A = (1 + sigma * kappa) * np.eye(n) - sigma * kappa * np.ones((n, n))
            delta[group] = g[group] / g_bar * np.linalg.solve(A, err[group])
        deltas[ly] = delta
        if spec["type"] == "dense":
            n_in, n_out = matrix.shape
            m_all = active_in[ly].sum()
            M, m = np.full(n_out, float(n_in)), np.full(n_out, float(m_all))
            fan = float(n_out)
        else:
            fan = float(np.max(connected.sum(axis=1)))  # C_out K K (1 in pooling)
        safe_m = np.maximum(m, 1)
        if ly > 0:  # Eq. 12, per neuron, the weights before this update
            err = (matrix * np.sqrt(M / safe_m)[None, :]) @ delta
            err = np.where(active_in[ly], err, 0.0)
        if spec["type"] == "pool":
            active = res["counts"][ly - 1] > 0 if ly > 0 else None
            continue
        grad_dense = np.sqrt(fan / safe_m)[None, :] * np.outer(x[ly], delta)
        grad_dense = np.where(connected & active_in[ly][:, None], grad_dense, 0.0)
        group_a = np.zeros(len(th))
        for group in _groups(spec, res["shapes"][ly], active):
            group_a[group] = a[ly][group].sum()
        a_hat = a[ly] - sigma * kappa * (group_a - a[ly])
        grad_th_flat = np.where(
            active, -np.sqrt(fan / (safe_m * M)) * delta * a_hat, 0.0
        )
        if spec["type"] == "dense":
            grad_w, grad_th = grad_dense, grad_th_flat
            touched_w = np.outer(active_in[ly], active)
            touched_th = active
        else:
            w = spec["weights"]
            grad_w = np.zeros(w.size)
            np.add.at(grad_w, index[connected], grad_dense[connected])
            grad_w = grad_w.reshape(w.shape)
            n_pos = len(th) // w.shape[0]
            grad_th = grad_th_flat.reshape(w.shape[0], n_pos).sum(axis=1)
            touched_th = active.reshape(w.shape[0], n_pos).any(axis=1)
            touched_w = np.broadcast_to(touched_th[:, None, None, None], w.shape)
        W = np.array(spec["weights"], dtype=np.float64)
        T = np.array(spec["thresholds"], dtype=np.float64)
        if adam is None:
            W -= lr_w[ly] * np.where(touched_w, grad_w, 0.0)
            T -= lr_th[ly] * np.where(touched_th, grad_th, 0.0)
        else:
            m_w, v_w, m_th, v_th = adam["moments"][ly]
            _adam(W, m_w, v_w, grad_w, touched_w, lr_w[ly], adam)
            _adam(T, m_th, v_th, grad_th, touched_th, lr_th[ly], adam)
        low = T < th_min[ly]
        lift = np.where(low, th_min[ly] - T, 0.0)
        W += lift if spec["type"] == "dense" else lift[:, None, None, None]
        T[low] = th_min[ly][low]
        spec["weights"], spec["thresholds"] = W, T
        active = res["counts"][ly - 1] > 0 if ly > 0 else None
    return {"layers": layers, "loss": loss, "counts": counts, "deltas": deltas}


def _activity(spikes, n, t_end, tau):
    """Eq. 4 at t_end: sum over the spikes of each neuron of exp(-(t_end - t) / tau)."""
    out = np.zeros(n)
    for t, i in spikes:
        out[int(i)] += math.exp(-(t_end - t) / tau)
    return out


def _spiked(spikes, n):
    out = np.zeros(n, dtype=bool)
    for _, i in spikes:
        out[int(i)] = True
    return out


def _output_error_reference(counts, target, output_loss):
    y = np.zeros(len(counts))
    y[target] = 1.0
    if output_loss == "cross_entropy":
        p = np.exp(counts - counts.max())
        p /= p.sum()
        return p - y, -float(np.log(p[target]))
    o = counts / counts.max() if counts.max() > 0 else np.zeros(len(counts))
    err = o - y
    loss = 0.5 * float(err @ err)
    if np.count_nonzero(err):
        err = err / np.sqrt(np.count_nonzero(err))
    return err, loss


def _dense_form(spec, shape_in, shape_out):
    """A layer as a dense (n_in, n_out) matrix, and for each entry the flat index
    of the kernel weight it is (dense: the entry itself; pool: 0; -1 if none)."""
    n_in, n_out = int(np.prod(shape_in)), int(np.prod(shape_out))
    if spec["type"] == "dense":
        w = np.asarray(spec["weights"], dtype=np.float64)
        return w, np.arange(w.size).reshape(w.shape)
    matrix, index = np.zeros((n_in, n_out)), np.full((n_in, n_out), -1)
    for k in range(n_in):
        c, y, x = np.unravel_index(k, shape_in)
        for o, yo, xo in np.ndindex(*shape_out):
            i = np.ravel_multi_index((o, yo, xo), shape_out)
            if spec["type"] == "pool":
                if c == o and y // 2 == yo and x // 2 == xo:
                    matrix[k, i], index[k, i] = 1.0, 0
                continue
            w = np.asarray(spec["weights"])
            ky, kx = y - yo, x - xo
            if 0 <= ky < w.shape[2] and 0 <= kx < w.shape[3]:
                matrix[k, i] = w[o, c, ky, kx]
                index[k, i] = np.ravel_multi_index((o, c, ky, kx), w.shape)
    return matrix, index


def _thresholds_flat(spec, shape_out):
    if spec["type"] == "pool":
        return np.full(int(np.prod(shape_out)), float(spec.get("threshold", 0.8)))
    th = np.asarray(spec["thresholds"], dtype=np.float64)
    if spec["type"] == "dense":
        return th
    return np.repeat(th, shape_out[1] * shape_out[2])


def _groups(spec, shape_out, active):
    """Active neurons by winner-take-all group: the layer, or a conv position."""
    if spec["type"] != "conv":
        return [np.flatnonzero(active)] if active.any() else []
    n_pos = shape_out[1] * shape_out[2]
    by_position = active.reshape(shape_out[0], n_pos)
    return [
        np.flatnonzero(by_position[:, p]) * n_pos + p
        for p in range(n_pos)
        if by_position[:, p].any()
    ]
