"""Event-driven simulation of fully connected spiking networks.

A thin layer over the Cython kernels ``spikeclf._lif`` (float64) and
``spikeclf._lif32`` (float32, inference only): it validates the network and the
events once, converts seconds to the microseconds of the events, allocates
every output and runs the samples in parallel threads.
"""

from numbers import Real
from typing import NamedTuple

import numpy as np
from joblib import effective_n_jobs

from ._alignment import aligned
from ._lif import simulate as _simulate_f64
from ._lif32 import simulate as _simulate_f32
from .events import PackedEvents, check_events

__all__ = ["SimulationResult", "simulate"]

# Output spikes kept per sample before a second, larger pass is needed.
_SPIKE_CAPACITY = 256

# The kernel for each dtype of potentials, weights and thresholds.
_KERNELS = {np.dtype(np.float64): _simulate_f64, np.dtype(np.float32): _simulate_f32}


class SimulationResult(NamedTuple):
    """What :func:`simulate` returns; per-sample arrays have n_samples rows.

    Attributes
    ----------
    counts : ndarray of int64, shape (n_samples, n_outputs)
        Output spike counts.
    v : ndarray of float64, shape (n_samples, n_outputs)
        Membrane potentials of the output layer at the stop time.
    synops : ndarray of int64, shape (n_samples, n_layers)
        Synaptic operations per layer: one weight added to one membrane
        potential counts one.
    inhibitions : ndarray of int64, shape (n_samples, n_layers)
        Lateral-inhibition updates per layer, counted apart from ``synops``.
    spike_times, spike_neurons : list of ndarray or None
        Per sample, time (microseconds) and neuron of every output spike in
        order, when ``record_spikes`` was set.
    x, a : list of ndarray or None
        Per layer, input and output activities of Eq. 4 at the stop time,
        shapes (n_samples, n_in) and (n_samples, n_out), when
        ``record_activities`` was set. An input or neuron is active in a sample
        when its activity is positive.
    """

    counts: np.ndarray
    v: np.ndarray
    synops: np.ndarray
    inhibitions: np.ndarray
    spike_times: list | None = None
    spike_neurons: list | None = None
    x: list | None = None
    a: list | None = None


class KernelOutputs(NamedTuple):
    """The arrays a simulation kernel fills, in the order of its arguments."""

    counts: np.ndarray
    v: np.ndarray
    synops: np.ndarray
    inhibitions: np.ndarray
    spike_t: np.ndarray
    spike_i: np.ndarray
    n_spikes: np.ndarray

    @classmethod
    def zeros(cls, n_samples, n_out, n_layers, capacity=0):
        """Zeroed outputs; ``capacity`` output spikes recorded per sample."""
        return cls(
            np.zeros((n_samples, n_out), dtype=np.int64),
            np.zeros((n_samples, n_out)),
            np.zeros((n_samples, n_layers), dtype=np.int64),
            np.zeros((n_samples, n_layers), dtype=np.int64),
            np.zeros((n_samples, capacity)),
            np.zeros((n_samples, capacity), dtype=np.int32),
            np.zeros(n_samples, dtype=np.int64),
        )

    def result(self, packed, stop, rerun=None):
        """The :class:`SimulationResult`; with ``rerun``, the recorded spikes
        (see :func:`collect_spikes`)."""
        result = SimulationResult(self.counts, self.v, self.synops, self.inhibitions)
        if rerun is None:
            return result
        times, neurons = collect_spikes(
            packed, stop, self.spike_t, self.spike_i, self.n_spikes, rerun
        )
        return result._replace(spike_times=times, spike_neurons=neurons)


def simulate(
    X,
    weights,
    thresholds,
    *,
    tau=20e-3,
    refractory=1e-3,
    lateral_inhibition=0.0,
    reset="subtract",
    lower_bound=True,
    t_end=None,
    sensor_size=None,
    record_spikes=False,
    record_activities=False,
    n_jobs=None,
    dtype=np.float64,
    threshold_units=False,
):
    """Simulate a fully connected spiking network on event streams, event by event.

    Leaky integrate-and-fire neurons with a dynamic-weight refractory period,
    subtractive reset, a lower bound at ``-V_th`` and optional winner-take-all
    lateral inhibition per layer (Lee, Delbruck and Pfeiffer 2016, Eq. 1-5).
    There are no time steps: every input event updates the layer it enters,
    and output spikes enter the next layer at the same time.

    Parameters
    ----------
    X : list of event streams or PackedEvents
        The input samples (see :func:`spikeclf.check_events`).
    weights : list of array-like
        ``weights[l]`` of shape (n_in, n_out): row ``k`` feeds every neuron of
        layer ``l`` from input ``k``. ``weights[0]`` has one row per sensor
        channel, ``width * height * polarities``.
    thresholds : list of array-like
        ``thresholds[l]`` of shape (n_out,), positive.
    tau : float or sequence of float, default=20e-3
        Membrane time constant in seconds, one for all layers or one per layer.
    refractory : float or sequence of float, default=1e-3
        Maximum refractory period ``T_ref`` in seconds (0 for none).
    lateral_inhibition : float or sequence of float, default=0.0
        Winner-take-all strength ``kappa`` per layer, in [-1, 0]; 0 means no
        lateral inhibition.
    reset : {"subtract", "zero"}, default="subtract"
        What a spike does to the neuron's potential: ``V <- V - V_th`` (the
        paper's neuron) or ``V <- 0`` (the LIF neuron of NIR, see
        :mod:`spikeclf.nir`).
    lower_bound : bool, default=True
        Whether potentials are bounded below at ``-V_th`` (the paper's neuron;
        NIR's LIF has no bound).
    t_end : float or array-like of float, default=None
        Time in seconds at which each sample stops and its state is read;
        later events are ignored. None means each sample's last event.
    sensor_size : tuple of int, default=None
        ``(width, height, polarities)`` when ``X`` is a list of streams; None
        means ``weights[0]`` has to match the inferred size.
    record_spikes : bool, default=False
        Whether to return the time and neuron of every output spike.
    record_activities : bool, default=False
        Whether to return the activities ``x`` and ``a`` of every layer
        (training-only work, skipped otherwise).
    n_jobs : int, default=None
        Threads simulating samples in parallel; results do not depend on it.
        None means 1 unless in a :func:`joblib.parallel_config` context, -1
        means all cores.
    dtype : {np.float64, np.float32} or their names, default=np.float64
        Floating type of the membrane potentials, weights and thresholds in the
        simulation; weights and thresholds are rounded to it once. Times stay
        float64 and ``result.v`` is float64 either way. float32 is for
        inference: ``record_activities`` needs float64.
    threshold_units : bool, default=False
        Whether to simulate every layer with its potentials in units of its
        neurons' thresholds: the weights divided by them once (in float64,
        then rounded to ``dtype``) and every threshold 1. The same network,
        faster: the event loop then reads two arrays per neuron, not four
        (docs/performance.md). The arithmetic rounds differently, so a neuron
        within rounding of its threshold may fire on another event than with
        False, the exact simulation of the given parameters. ``result.v`` is in
        the units of ``thresholds`` either way.

    Returns
    -------
    result : SimulationResult

    Examples
    --------
    >>> import numpy as np
    >>> from spikeclf import make_events
    >>> from spikeclf.simulator import simulate
    >>> events = make_events(x=[0, 1, 0], y=[0, 0, 0], t=[0, 1000, 2000])
    >>> W = [np.array([[0.6, 0.1], [0.5, 0.2]])]
    >>> result = simulate([events], W, [np.ones(2)], sensor_size=(2, 1, 1))
    >>> result.counts.tolist(), result.synops.tolist()
    ([[1, 0]], [[6]])
    """
    kernel = _kernel(dtype)
    if record_activities and kernel is not _simulate_f64:
        raise ValueError(
            "record_activities is training work, simulated in float64 only; got "
            f"dtype={dtype!r}"
        )
    packed = X if isinstance(X, PackedEvents) else check_events(X, sensor_size)
    if threshold_units:
        weights, thresholds = _check_network(weights, thresholds, packed)
        volts_per_unit = thresholds[-1]
        weights, thresholds = in_threshold_units(weights, thresholds)
    weights, thresholds = _check_network(weights, thresholds, packed, dtype)
    n_layers = len(weights)
    tau_us = _checked_per_layer(tau, n_layers, "tau", low=0, closed=False) * 1e6
    t_ref_us = _checked_per_layer(refractory, n_layers, "refractory", low=0) * 1e6
    kappa = _checked_per_layer(
        lateral_inhibition, n_layers, "lateral_inhibition", low=-1, high=0
    )
    if reset not in ("subtract", "zero"):
        raise ValueError(f"reset must be 'subtract' or 'zero', got {reset!r}")
    stop = _stop_times(t_end, packed)

    sizes = np.array([weights[0].shape[0]] + [w.shape[1] for w in weights], np.int64)
    n, n_out = packed.n_samples, sizes[-1]
    capacity = _SPIKE_CAPACITY if record_spikes else 0
    outputs = KernelOutputs.zeros(n, n_out, n_layers, capacity)
    rows = n if record_activities else 0
    x_end = np.zeros((rows, sizes[:-1].sum()))
    a_end = np.zeros((rows, sizes[1:].sum()))
    network = (
        sizes,
        list(weights),
        list(thresholds),
        tau_us,
        t_ref_us,
        kappa,
        reset == "zero",
        bool(lower_bound),
    )
    status = kernel(
        packed.channel,
        packed.t,
        packed.indptr,
        stop,
        *network,
        *outputs,
        x_end,
        a_end,
        effective_n_jobs(n_jobs),
    )
    if status != 0:
        raise MemoryError("not enough memory for the simulation state")

    rerun = _rerun_one(kernel, network) if record_spikes else None
    result = outputs.result(packed, stop, rerun)
    if threshold_units:
        result = result._replace(v=result.v * volts_per_unit)
    if record_activities:
        result = result._replace(
            x=np.split(x_end, np.cumsum(sizes[:-1])[:-1], axis=1),
            a=np.split(a_end, np.cumsum(sizes[1:])[:-1], axis=1),
        )
    return result


def in_threshold_units(weights, thresholds):
    """The same network with potentials in units of each neuron's threshold:
    every layer's weights divided by its thresholds, every threshold 1 (float64).
    What ``simulate(..., threshold_units=True)`` simulates."""
    weights = [np.asarray(w, np.float64) / np.asarray(th, np.float64) for w, th in
               zip(weights, thresholds, strict=True)]  # fmt: skip
    return weights, [np.ones(w.shape[1]) for w in weights]


def _kernel(dtype):
    """The simulation kernel of a dtype, float64 or float32."""
    return _KERNELS[checked_dtype(dtype)]


def checked_dtype(dtype):
    """``dtype`` as np.dtype float64 or float32, the simulators' two types;
    ValueError for any other (spikeclf.convolution takes the same)."""
    try:
        found = np.dtype(dtype) if dtype is not None else None
    except TypeError:
        found = None
    if found not in _KERNELS:
        raise ValueError(f"dtype must be float64 or float32, got {dtype!r}")
    return found


def _rerun_one(kernel, network):
    """Simulate one sample again into spike buffers of its size."""
    n_out, n_layers = network[0][-1], len(network[0]) - 1

    def rerun(channel, t, stop_one, t_buf, i_buf):
        outputs = KernelOutputs.zeros(1, n_out, n_layers)
        kernel(
            channel,
            t,
            np.array([0, len(t)], np.int64),
            stop_one,
            *network,
            *outputs._replace(spike_t=t_buf, spike_i=i_buf),
            np.zeros((0, 0)),
            np.zeros((0, 0)),
            1,
        )

    return rerun


def collect_spikes(packed, stop, spike_t, spike_i, n_spikes, rerun):
    """Per-sample output spikes from the kernel's buffers; a sample that
    overflowed them runs again alone, ``rerun(channel, t, stop, t_buf, i_buf)``,
    with buffers of its size."""
    times = [spike_t[i, :k] for i, k in enumerate(n_spikes)]
    neurons = [spike_i[i, :k] for i, k in enumerate(n_spikes)]
    for i in np.flatnonzero(n_spikes > spike_t.shape[1]):
        channel, t = packed.sample(i)
        k = int(n_spikes[i])
        t_buf, i_buf = np.zeros((1, k)), np.zeros((1, k), dtype=np.int32)
        rerun(channel, t, stop[i : i + 1], t_buf, i_buf)
        times[i], neurons[i] = t_buf[0], i_buf[0]
    return times, neurons


def _check_network(weights, thresholds, packed, dtype=np.float64):
    if len(weights) == 0 or len(weights) != len(thresholds):
        raise ValueError(
            f"need one threshold vector per weight matrix, got {len(weights)} weight "
            f"matrices and {len(thresholds)} threshold vectors"
        )
    # Checked after rounding to dtype: a float32 overflow or underflow fails below.
    with np.errstate(over="ignore", under="ignore"):
        weights = [aligned(w, dtype) for w in weights]
        thresholds = [aligned(th, dtype) for th in thresholds]
    in_dtype = "" if weights[0].dtype == np.float64 else f" in {weights[0].dtype}"
    n_in = packed.n_channels
    for layer, (w, th) in enumerate(zip(weights, thresholds, strict=True)):
        if w.ndim != 2 or w.shape[0] != n_in:
            raise ValueError(
                f"layer {layer}: weights must have shape ({n_in}, n_out), got {w.shape}"
                + (" (the sensor has that many channels)" if layer == 0 else "")
            )
        if th.shape != (w.shape[1],):
            raise ValueError(
                f"layer {layer}: thresholds must have shape ({w.shape[1]},), "
                f"got {th.shape}"
            )
        if not np.all(np.isfinite(w)):
            raise ValueError(
                f"layer {layer}: weights hold NaN or infinite values{in_dtype}"
            )
        if not np.all((th > 0) & np.isfinite(th)):
            raise ValueError(
                f"layer {layer}: thresholds must be positive and finite{in_dtype}"
            )
        n_in = w.shape[1]
    return weights, thresholds


def _checked_per_layer(value, n_layers, name, low=None, high=None, closed=True):
    values = np.asarray(value, dtype=np.float64)
    if values.ndim == 0:
        values = np.full(n_layers, float(values))
    if values.shape != (n_layers,) or not np.all(np.isfinite(values)):
        raise ValueError(
            f"{name} must be one finite number or one per layer ({n_layers}), "
            f"got {value!r}"
        )
    too_low = low is not None and np.any(values < low if closed else values <= low)
    if too_low or (high is not None and np.any(values > high)):
        bounds = (
            f"{'[' if closed else '('}{low}, {high if high is not None else 'inf'}]"
        )
        raise ValueError(f"{name} must be in {bounds}, got {value!r}")
    return values


def _stop_times(t_end, packed):
    if t_end is None:
        return packed.last_times()
    if isinstance(t_end, Real):
        t_end = np.full(packed.n_samples, float(t_end))
    stop = np.asarray(t_end, dtype=np.float64) * 1e6
    if stop.shape != (packed.n_samples,) or not np.all((stop >= 0) & np.isfinite(stop)):
        raise ValueError(
            "t_end must be a non-negative number of seconds or one per sample, "
            f"got shape {stop.shape}"
        )
    return np.ascontiguousarray(stop)
