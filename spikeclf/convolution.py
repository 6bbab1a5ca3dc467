"""Event-driven simulation of spiking convolutional networks.

A thin layer over the Cython kernels ``spikeclf._conv`` (float64) and
``spikeclf._conv32`` (float32, inference): it validates the layers and the
events once, converts seconds to the microseconds of the events, allocates
every output and runs the samples in parallel threads. The network is the
spiking CNN of Lee, Delbruck and Pfeiffer (2016, section 3.2): convolution and
2x2 pooling layers of leaky integrate-and-fire neurons, then fully connected
layers (those of :func:`spikeclf.simulator.simulate`).
"""

from numbers import Real
from typing import NamedTuple

import numpy as np
from joblib import effective_n_jobs

from ._alignment import aligned
from ._conv import KINDS as _KINDS
from ._conv import ConvStream as _ConvStream64
from ._conv import simulate as _simulate_f64
from ._conv32 import ConvStream as _ConvStream32
from ._conv32 import simulate as _simulate_f32
from .events import PackedEvents, check_events
from .simulator import _SPIKE_CAPACITY, KernelOutputs, _stop_times, checked_dtype

__all__ = ["simulate_conv"]

_DEFAULTS = {
    "tau": 20e-3,
    "refractory": 1e-3,
    "kappa": 0.0,
    "threshold": 0.8,
    "weight": 1.0,
}
# Per layer type: required keys, then optional ones.
_KEYS = {
    "conv": ({"weights", "thresholds"}, {"tau", "refractory", "kappa"}),
    "pool": (set(), {"tau", "refractory", "threshold", "weight"}),
    "dense": ({"weights", "thresholds"}, {"tau", "refractory", "kappa"}),
}
# The simulation kernel and the streaming kernel of each dtype of potentials,
# weights and thresholds.
_KERNELS = {np.dtype(np.float64): _simulate_f64, np.dtype(np.float32): _simulate_f32}
STREAMS = {np.dtype(np.float64): _ConvStream64, np.dtype(np.float32): _ConvStream32}


class KernelNetwork(NamedTuple):
    """A convolutional network as the kernels take it, in the order of their
    arguments: times in microseconds, every array C-contiguous.

    Attributes
    ----------
    spatial : ndarray of int64, shape (n_spatial, 6)
        One row (kind, C_in, H_in, W_in, C_out, K) per convolution or pooling layer.
    spatial_weights : list
        Per spatial layer: convolution weights as (C_in, K, K, C_out); for
        pooling, the (C,) weights of each channel's inputs, or None for 1.
    spatial_thresholds : list of ndarray
        (C_out,) per spatial layer, one per feature map (pooling: repeated).
    spatial_tau, spatial_t_ref, spatial_kappa : ndarray
        (n_spatial,) time constants and refractory periods (us), kappa.
    sizes : ndarray of int64
        Inputs of the first fully connected layer, then each one's neurons.
    weights, thresholds : list of ndarray
        The fully connected layers, (n_in, n_out) and (n_out,).
    tau, t_ref, kappa : ndarray
        (n_dense,) as for the spatial layers.
    """

    spatial: np.ndarray
    spatial_weights: list
    spatial_thresholds: list
    spatial_tau: np.ndarray
    spatial_t_ref: np.ndarray
    spatial_kappa: np.ndarray
    sizes: np.ndarray
    weights: list
    thresholds: list
    tau: np.ndarray
    t_ref: np.ndarray
    kappa: np.ndarray


def simulate_conv(
    X,
    input_shape,
    layers,
    *,
    t_end=None,
    sensor_size=None,
    record_spikes=False,
    n_jobs=None,
    dtype=np.float64,
    threshold_units=False,
):
    """Simulate a spiking convolutional network on event streams, event by event.

    Leaky integrate-and-fire neurons with a dynamic-weight refractory period,
    subtractive reset and a lower bound at ``-V_th`` (Lee, Delbruck and
    Pfeiffer 2016, Eq. 1-5), in convolution layers (stride 1, no padding),
    2x2 pooling layers (stride 2) and fully connected layers. Every input
    event updates only the neurons whose kernel covers its pixel, and output
    spikes enter the next layer at the same time, depth first.

    Parameters
    ----------
    X : list of event streams or PackedEvents
        The input samples (see :func:`spikeclf.check_events`). The event on
        pixel ``(x, y)`` with polarity ``p`` is input ``(p, y, x)``.
    input_shape : tuple of int
        ``(C, H, W)``: polarities (input channels), height and width.
    layers : list of dict
        From input to output; fully connected layers come last. Keys, with
        times in seconds:

        - ``{"type": "conv", "weights", "thresholds", "tau", "refractory",
          "kappa"}``: weights of shape ``(C_out, C_in, K, K)``; input
          ``(c, y, x)`` feeds neuron ``(o, y', x')`` with weight
          ``weights[o, c, y - y', x - x']``. Thresholds of shape ``(C_out,)``,
          one per feature map. Output ``(C_out, H - K + 1, W - K + 1)``.
          ``kappa`` in [-1, 0]: winner-take-all among the feature maps at one
          position, each spike lowering the others by ``kappa * V_th`` and
          making them refractory (0: none).
        - ``{"type": "pool", "tau", "refractory", "threshold", "weight"}``:
          2x2 windows, stride 2, output ``(C, H // 2, W // 2)`` (a last odd
          row or column feeds nothing); ``threshold`` defaults to 0.8 and
          ``weight``, that of every input, to 1.
        - ``{"type": "dense", "weights", "thresholds", "tau", "refractory",
          "kappa"}``: weights of shape ``(n_in, n_out)``, ``n_in`` the number
          of outputs of the layer before, in C order of its shape.

        ``tau`` (membrane time constant, > 0) defaults to 20e-3,
        ``refractory`` (maximum refractory period, >= 0) to 1e-3 and
        ``kappa`` to 0.
    t_end : float or array-like of float, default=None
        Time in seconds at which each sample stops and its state is read;
        later events are ignored. None means each sample's last event.
    sensor_size : tuple of int, default=None
        ``(width, height, polarities)``; it must be ``(W, H, C)``. None means
        that one.
    record_spikes : bool, default=False
        Whether to return the time and neuron of every output spike.
    n_jobs : int, default=None
        Threads simulating samples in parallel; results do not depend on it.
        None means 1 unless in a :func:`joblib.parallel_config` context, -1
        means all cores.
    dtype : {np.float64, np.float32} or their names, default=np.float64
        Floating type of the membrane potentials, weights and thresholds in the
        simulation (``spikeclf._conv32`` for float32, compiled from the source
        of the float64 kernel); weights and thresholds are rounded to it once.
        Times stay float64 and ``result.v`` is float64 either way.
    threshold_units : bool, default=False
        Whether to simulate every neuron with its potential in units of its
        threshold: the weights into a neuron divided by its threshold once (in
        float64, then rounded to ``dtype``) and every threshold 1. For a
        convolution, feature map ``o``'s kernel ``weights[o]`` is divided by
        its map's threshold; for a pooling layer, ``weight`` by ``threshold``
        (1 / 0.8 by default); for a dense layer, column ``i`` by neuron
        ``i``'s threshold. What a neuron sends on are spikes, so no layer's
        conversion touches another's. Reset, lower bound, lateral inhibition
        (``kappa * V_th``) and the winner-take-all order (by ``V / V_th``)
        scale alike: the same network, with the same spikes up to rounding (a
        neuron within rounding of its threshold may fire on another event),
        and the kernel then takes the loops that read one threshold per layer.
        ``result.v`` is in the units of the given thresholds either way.

    Returns
    -------
    result : SimulationResult
        Output spike counts and membrane potentials of the last layer by flat
        index (``o * H' * W' + y' * W' + x'`` for a conv or pool layer), and
        synaptic operations and lateral-inhibition updates per layer: a conv
        event costs ``C_out`` times the number of positions covering its
        pixel, a pool event 1. ``x`` and ``a`` are None.

    See Also
    --------
    spikeclf.simulator.simulate : fully connected networks only.

    Examples
    --------
    Two events on the centre pixel of a 3x3 input: the second reaches the
    threshold of the four 2x2 positions that cover it; the pooling neuron
    fires on the first of their spikes and is refractory for the others.

    >>> import numpy as np
    >>> from spikeclf import make_events
    >>> from spikeclf.convolution import simulate_conv
    >>> events = make_events(x=[1, 1], y=[1, 1], t=[0, 1000])
    >>> layers = [
    ...     {"type": "conv", "weights": np.full((1, 1, 2, 2), 0.6), "thresholds": [1]},
    ...     {"type": "pool"},
    ... ]
    >>> result = simulate_conv([events], (1, 3, 3), layers)
    >>> result.counts.tolist(), result.synops.tolist()
    ([[1]], [[8, 4]])

    The same in threshold units (weights 0.6 / 1 and, in the pooling layer,
    1 / 0.8 against thresholds 1) and in float32:

    >>> cheaper = simulate_conv(
    ...     [events], (1, 3, 3), layers, dtype="float32", threshold_units=True
    ... )
    >>> cheaper.counts.tolist(), bool(np.allclose(cheaper.v, result.v))
    ([[1]], True)
    """
    input_shape = _check_input_shape(input_shape)
    channels, height, width = input_shape
    sensor = (width, height, channels)
    if sensor_size is not None and tuple(sensor_size) != sensor:
        raise ValueError(
            f"sensor_size {tuple(sensor_size)} does not match input_shape "
            f"{input_shape}: expected (width, height, polarities) = {sensor}"
        )
    packed = X if isinstance(X, PackedEvents) else check_events(X, sensor)
    if packed.sensor_size != sensor:
        raise ValueError(
            f"events on a {packed.sensor_size} sensor, but input_shape {input_shape} "
            f"needs (width, height, polarities) = {sensor}"
        )
    kernel = _KERNELS[checked_dtype(dtype)]
    network, n_out, volts_per_unit = prepared_network(
        input_shape, layers, dtype, threshold_units
    )
    stop = _stop_times(t_end, packed)

    n_layers = len(layers)
    capacity = _SPIKE_CAPACITY if record_spikes else 0
    outputs = KernelOutputs.zeros(packed.n_samples, n_out, n_layers, capacity)
    status = kernel(
        packed.channel,
        packed.t,
        packed.indptr,
        stop,
        *network,
        *outputs,
        effective_n_jobs(n_jobs),
    )
    if status != 0:
        raise MemoryError("not enough memory for the simulation state")
    rerun = _rerun_one(kernel, network, n_out, n_layers) if record_spikes else None
    result = outputs.result(packed, stop, rerun)
    if threshold_units:
        result = result._replace(v=result.v * volts_per_unit)
    return result


def prepared_network(input_shape, layers, dtype=np.float64, threshold_units=False):
    """The layers as the kernel of ``dtype`` simulates them, checked.

    Returns the :class:`KernelNetwork` (in threshold units when asked, arrays
    of ``dtype`` on cache lines), the number of outputs of the last layer and
    the thresholds of its neurons by flat index when in threshold units (the
    volts of one unit of their potentials), else 1.0.
    """
    dtype = checked_dtype(dtype)
    network, n_out = _check_layers(input_shape, layers)
    volts_per_unit = 1.0
    if threshold_units:
        volts_per_unit = _output_thresholds(network, n_out)
        network = in_threshold_units(network)
    return _rounded(network, layers, dtype), n_out, volts_per_unit


def in_threshold_units(network):
    """The same :class:`KernelNetwork` with every potential in units of its
    neuron's threshold: the weights into each neuron divided by its threshold
    (float64), every threshold 1. A convolution's (C_in, K, K, C_out) kernels
    divide by the (C_out,) map thresholds along their last axis, a pooling
    layer's channel weights (1 when None) by its channel thresholds, a dense
    layer's columns by its neurons' thresholds. A quotient that overflows is
    inf, which the caller's check reports."""
    with np.errstate(over="ignore"):
        return _divided_by_thresholds(network)


def _divided_by_thresholds(network):
    spatial_weights = []
    for row, w, th in zip(
        network.spatial,
        network.spatial_weights,
        network.spatial_thresholds,
        strict=True,
    ):
        if row[0] == _KINDS["pool"] and w is None:
            w = np.ones_like(th)
        spatial_weights.append(np.asarray(w, np.float64) / th)

    def ones(thresholds):
        return [np.ones_like(th) for th in thresholds]

    return network._replace(
        spatial_weights=spatial_weights,
        spatial_thresholds=ones(network.spatial_thresholds),
        weights=[
            np.asarray(w, np.float64) / th
            for w, th in zip(network.weights, network.thresholds, strict=True)
        ],
        thresholds=ones(network.thresholds),
    )


def _output_thresholds(network, n_out):
    """The threshold of each output neuron, by flat index."""
    if network.weights:
        return network.thresholds[-1]
    return np.repeat(network.spatial_thresholds[-1], n_out // network.spatial[-1, 4])


def _rounded(network, layers, dtype):
    """The network's weights and thresholds as aligned arrays of ``dtype``,
    checked again after the rounding (a float32 overflow or underflow) and
    after a division into threshold units."""
    in_dtype = "" if dtype == np.float64 else f" in {dtype}"

    def convert(arrays):
        with np.errstate(over="ignore", under="ignore"):
            return [None if a is None else aligned(a, dtype) for a in arrays]

    network = network._replace(
        spatial_weights=convert(network.spatial_weights),
        spatial_thresholds=convert(network.spatial_thresholds),
        weights=convert(network.weights),
        thresholds=convert(network.thresholds),
    )
    all_weights = network.spatial_weights + network.weights
    all_thresholds = network.spatial_thresholds + network.thresholds
    for ly, (spec, w, th) in enumerate(
        zip(layers, all_weights, all_thresholds, strict=True)
    ):
        where = f"layer {ly} ({spec['type']})"
        if w is not None and not np.all(np.isfinite(w)):
            raise ValueError(f"{where}: weights hold NaN or infinite values{in_dtype}")
        if not np.all((th > 0) & np.isfinite(th)):
            raise ValueError(
                f"{where}: thresholds must be positive and finite{in_dtype}"
            )
    return network


def _rerun_one(kernel, network, n_out, n_layers):
    """Simulate one sample again into spike buffers of its size."""

    def rerun(channel, t, stop_one, t_buf, i_buf):
        outputs = KernelOutputs.zeros(1, n_out, n_layers)
        kernel(
            channel,
            t,
            np.array([0, len(t)], np.int64),
            stop_one,
            *network,
            *outputs._replace(spike_t=t_buf, spike_i=i_buf),
            1,
        )

    return rerun


def _check_input_shape(input_shape):
    try:
        shape = tuple(int(s) for s in input_shape)
        exact = all(float(s) == v for s, v in zip(input_shape, shape, strict=True))
    except (TypeError, ValueError):
        exact = False
    if not exact or len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            "input_shape must be (channels, height, width), three positive "
            f"integers, got {input_shape!r}"
        )
    return shape


def _check_layers(input_shape, layers):
    """Validate the layers against the input; return the kernel's arguments.

    Returns the :class:`KernelNetwork` in float64 (times in microseconds,
    convolution weights as (C_in, K, K, C_out)), and the number of outputs of
    the last layer.
    """
    if isinstance(layers, dict) or not hasattr(layers, "__len__") or not len(layers):
        raise ValueError("layers must be a non-empty list of dicts, one per layer")
    spatial, sp_w, sp_th, sp_params = [], [], [], []
    sizes, dense_w, dense_th, dense_params = [], [], [], []
    shape = input_shape
    for ly, spec in enumerate(layers):
        kind = _check_keys(ly, spec)
        where = f"layer {ly} ({kind})"
        params = _parameters(where, spec, kind)
        if kind != "dense" and sizes:
            raise ValueError(
                f"{where} comes after a dense layer: dense layers must be the last"
            )
        if kind == "conv":
            w, th = _conv_weights(where, spec, shape)
            c_out, c_in, size, _ = w.shape
            spatial.append([_KINDS["conv"], *shape, c_out, size])
            sp_w.append(np.ascontiguousarray(w.transpose(1, 2, 3, 0)))
            sp_th.append(th)
            sp_params.append(params)
            shape = (c_out, shape[1] - size + 1, shape[2] - size + 1)
        elif kind == "pool":
            if shape[1] < 2 or shape[2] < 2:
                raise ValueError(
                    f"{where}: input {shape[1]}x{shape[2]} is smaller than the 2x2 "
                    "pooling window"
                )
            threshold = _number(where, spec, "threshold", low=0, closed=False)
            spatial.append([_KINDS["pool"], *shape, shape[0], 2])
            # None: weights 1, the paper's pooling, without an array to read.
            weight = None
            if "weight" in spec:
                weight = _number(where, spec, "weight", low=0, closed=False)
                weight = np.full(shape[0], weight)
            sp_w.append(weight)
            sp_th.append(np.full(shape[0], threshold))
            sp_params.append(params)
            shape = (shape[0], shape[1] // 2, shape[2] // 2)
        else:
            n_in = int(np.prod(shape))
            w, th = _dense_weights(where, spec, n_in)
            if not sizes:
                sizes.append(n_in)
            sizes.append(w.shape[1])
            dense_w.append(w)
            dense_th.append(th)
            dense_params.append(params)
            shape = (w.shape[1],)
    if not sizes:
        sizes.append(int(np.prod(shape)))

    def columns(params):
        values = np.array(params, dtype=np.float64).reshape(-1, 3)
        scale = np.array([1e6, 1e6, 1.0])  # tau and refractory to microseconds
        return [np.ascontiguousarray(values[:, j] * scale[j]) for j in range(3)]

    network = KernelNetwork(
        np.array(spatial, dtype=np.int64).reshape(-1, 6),
        sp_w,
        sp_th,
        *columns(sp_params),
        np.array(sizes, dtype=np.int64),
        dense_w,
        dense_th,
        *columns(dense_params),
    )
    return network, int(np.prod(shape))


def _check_keys(ly, spec):
    if not isinstance(spec, dict):
        raise ValueError(f"layer {ly}: must be a dict, got {type(spec).__name__}")
    kind = spec.get("type")
    if kind not in _KEYS:
        raise ValueError(
            f"layer {ly}: 'type' must be one of {sorted(_KEYS)}, got {kind!r}"
        )
    required, optional = _KEYS[kind]
    missing = required - spec.keys()
    if missing:
        raise ValueError(f"layer {ly} ({kind}): missing {sorted(missing)}")
    unknown = spec.keys() - required - optional - {"type"}
    if unknown:
        raise ValueError(
            f"layer {ly} ({kind}): unknown keys {sorted(unknown)}; a {kind} layer "
            f"takes {sorted(required | optional)}"
        )
    return kind


def _parameters(where, spec, kind):
    """tau and refractory in seconds, and kappa (0 for pooling)."""
    tau = _number(where, spec, "tau", low=0, closed=False)
    refractory = _number(where, spec, "refractory", low=0)
    kappa = 0.0 if kind == "pool" else _number(where, spec, "kappa", low=-1, high=0)
    return tau, refractory, kappa


def _number(where, spec, key, low=None, high=None, closed=True):
    value = spec.get(key, _DEFAULTS[key])
    if not isinstance(value, Real | np.floating | np.integer) or isinstance(
        value, bool
    ):
        raise ValueError(f"{where}: {key} must be a number, got {value!r}")
    value = float(value)
    too_low = low is not None and (value < low if closed else value <= low)
    if not np.isfinite(value) or too_low or (high is not None and value > high):
        bounds = f"{'[' if closed else '('}{low}, {high if high is not None else 'inf'}"
        bounds += "]" if high is not None else ")"
        raise ValueError(f"{where}: {key} must be finite and in {bounds}, got {value}")
    return value


def _conv_weights(where, spec, shape):
    w = _finite(where, "weights", spec["weights"])
    c_in, height, width = shape
    if w.ndim != 4 or w.shape[1] != c_in or w.shape[2] != w.shape[3] or 0 in w.shape:
        raise ValueError(
            f"{where}: weights must have shape (C_out, {c_in}, K, K) for an input "
            f"{shape}, got {w.shape}"
        )
    size = w.shape[2]
    if size > height or size > width:
        raise ValueError(
            f"{where}: kernel {size}x{size} is larger than its input {height}x{width}"
        )
    return w, _thresholds(where, spec, w.shape[0], "(C_out,)")


def _dense_weights(where, spec, n_in):
    w = _finite(where, "weights", spec["weights"])
    if w.ndim != 2 or w.shape[0] != n_in or w.shape[1] == 0:
        raise ValueError(
            f"{where}: weights must have shape ({n_in}, n_out), n_in the outputs of "
            f"the layer before, got {w.shape}"
        )
    return np.ascontiguousarray(w), _thresholds(where, spec, w.shape[1], "(n_out,)")


def _finite(where, name, values):
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{where}: {name} hold NaN or infinite values")
    return values


def _thresholds(where, spec, n, expected):
    th = np.ascontiguousarray(spec["thresholds"], dtype=np.float64)
    if th.shape != (n,):
        raise ValueError(
            f"{where}: thresholds must have shape {expected} = ({n},), got {th.shape}"
        )
    if not np.all((th > 0) & np.isfinite(th)):
        raise ValueError(f"{where}: thresholds must be positive and finite")
    return th
