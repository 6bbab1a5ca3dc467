"""Class probabilities while the events arrive, and decisions that stop early.

Two uses of a fitted spiking classifier that ``predict`` on whole recorded
streams does not cover (Lee, Delbruck and Pfeiffer 2016, Figures 5 and 6):

- :class:`EventStream` (``clf.stream()``) takes one stream in chunks, as a
  sensor delivers it, and keeps every neuron's state between the chunks in a
  compiled kernel object (``spikeclf._lif.DenseStream``,
  ``spikeclf._conv.ConvStream``). Whatever the chunking, the output spikes are
  those of the whole stream, and after the last chunk the probabilities are
  ``predict_proba``'s.
- :func:`early_decisions` (``clf.predict_early(X)``, and ``predict`` when
  ``early_stop_margin`` is set) stops each sample once a margin rule decides
  it: at the first output spike after which the neuron that fired leads every
  other output neuron by ``margin`` spikes.
"""

import copy
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral
from types import SimpleNamespace
from typing import NamedTuple

import numpy as np
from joblib import effective_n_jobs
from sklearn.utils.validation import check_is_fitted

from . import _lif, _lif32
from ._network import ConvNetwork
from .convolution import STREAMS as _CONV_STREAMS
from .convolution import prepared_network
from .events import EventStreamError, check_events, iter_packed
from .simulator import (
    SimulationResult,
    _check_network,
    _checked_per_layer,
    in_threshold_units,
)

__all__ = ["EarlyDecisions", "EventStream", "early_decisions"]

_DENSE_STREAMS = {
    np.dtype(np.float64): _lif.DenseStream,
    np.dtype(np.float32): _lif32.DenseStream,
}
# Samples per kernel call of early_decisions: bounds the memory of packing.
_CHUNK = 1024


class EventStream:
    """Class probabilities of one event stream so far, chunk after chunk.

    Made by ``clf.stream()`` of a fitted :class:`~spikeclf.SpikingMLPClassifier`
    or :class:`~spikeclf.SpikingCNNClassifier`. It simulates the estimator's
    predicting network as it was then (a copy: refitting the estimator does
    not change the stream), with the options of ``predict`` (the estimator's
    ``inference_dtype``, potentials in threshold units). Every neuron's state
    (potentials, times of the last update and output spike, a pending lateral
    inhibition) stays in the compiled kernel between calls of :meth:`push`.

    Parameters
    ----------
    estimator : fitted SpikingMLPClassifier or SpikingCNNClassifier

    Attributes
    ----------
    classes_ : ndarray
        The estimator's class labels.
    sensor_size : tuple of int
        ``(width, height, polarities)`` the events must fit.

    Examples
    --------
    >>> import numpy as np
    >>> from spikeclf import SpikingMLPClassifier, load_digits_events
    >>> X, y = load_digits_events(return_X_y=True, random_state=0)
    >>> clf = SpikingMLPClassifier((30,), max_iter=2, random_state=0)
    >>> clf = clf.fit(X[:200], y[:200])
    >>> stream = clf.stream()
    >>> events = X[300]
    >>> for start in range(0, 50_000, 10_000):  # 10 ms chunks
    ...     chunk = events[(events["t"] >= start) & (events["t"] < start + 10_000)]
    ...     proba = stream.push(chunk)
    >>> np.allclose(proba, clf.predict_proba([events])[0])
    True
    >>> int(stream.counts.sum()) == len(stream.spike_times)
    True
    """

    def __init__(self, estimator):
        check_is_fitted(estimator)
        # The estimator as it is now: _proba reads the output thresholds.
        self._estimator = copy.copy(estimator)
        self._estimator.network_ = copy.deepcopy(estimator._prediction_network)
        self._estimator.averaged_network_ = None
        self.classes_ = estimator.classes_
        self.sensor_size = estimator.sensor_size_
        make, args, self._volts_per_unit = kernel_arguments(
            self._estimator.network_,
            estimator.n_features_in_,
            estimator._inference_options(),
        )
        self._kernel = make(*args)
        self.reset()

    def reset(self):
        """Start a new stream: every neuron at rest, no spikes, time 0.

        Returns
        -------
        self : EventStream
        """
        self._kernel.reset()
        self._times, self._neurons, self._n_chunks = [], [], 0
        return self

    def push(self, events):
        """Run the next chunk of the stream; the class probabilities so far.

        Parameters
        ----------
        events : structured array
            The next events, with fields x, y, t (microseconds), p, validated
            like any input (:func:`spikeclf.check_events`); times are sorted
            and none is before the last event pushed. May be empty.

        Returns
        -------
        proba : ndarray of shape (n_classes,)
            As :meth:`predict_proba` defines them, read at the last event
            pushed (time 0 before any).

        Raises
        ------
        ValueError
            When the chunk is invalid or starts before the last event pushed;
            the stream is then unchanged.
        """
        channel, t = self._pack(events)
        self._kernel.push(channel, t)
        times, neurons = self._kernel.last_spikes()
        if len(times):  # a long stream of quiet chunks keeps no empty arrays
            self._times.append(times)
            self._neurons.append(neurons)
        self._n_chunks += 1
        return self.predict_proba()

    def _pack(self, events):
        """The chunk's channels and times, checked; a ValueError naming the
        problem otherwise (check_events's words)."""
        status = 1
        if _plain_fields(events):
            t = events["t"].astype(np.float64)
            channel = np.empty(len(t), np.int32)
            width, height, polarities = self.sensor_size
            status = self._kernel.pack_chunk(
                *(events[name].astype(np.int64) for name in "xyp"),
                t,
                width,
                height,
                polarities,
                channel,
            )
            if status == 0:
                return channel, t
        if status == 1:
            # A problem (or a chunk the fast path does not take): check_events
            # names it.
            try:
                packed = check_events([events], self.sensor_size)
            except EventStreamError as exc:
                raise ValueError(f"chunk {self._n_chunks}: {exc.problem}") from None
            channel, t = packed.channel, packed.t
        if len(t) and t[0] < self._kernel.time:
            raise ValueError(
                f"chunk {self._n_chunks}: its first event, at t={t[0]} us, is "
                f"before the last event pushed, at t={self._kernel.time} us; a "
                "stream's chunks must continue in time (reset() starts a new one)"
            )
        return channel, t

    def predict_proba(self):
        """Class probabilities so far, read at the last event pushed.

        Returns
        -------
        proba : ndarray of shape (n_classes,)
        """
        synops, inhibitions = self._kernel.operations()
        result = SimulationResult(
            self.counts[None], self.potentials[None], synops[None], inhibitions[None]
        )
        return self._estimator._proba(result)[0]

    def predict(self):
        """The most likely class so far (ties: the first).

        Returns
        -------
        label : object
        """
        return self.classes_[np.argmax(self.predict_proba())]

    @property
    def time(self):
        """Time in microseconds of the last event pushed (0 before any)."""
        return self._kernel.time

    @property
    def n_events(self):
        """Events pushed since the stream began."""
        return self._kernel.n_events

    @property
    def potentials(self):
        """Membrane potentials of the output neurons at the last event pushed,
        as ``simulate`` reads them at a stream's end (``SimulationResult.v``)."""
        return self._kernel.potentials(self._kernel.time) * self._volts_per_unit

    @property
    def counts(self):
        """Output spike counts so far, ndarray of int64 of shape (n_outputs,)."""
        return self._kernel.counts()

    @property
    def synops(self):
        """Synaptic operations so far per layer, ndarray of int64."""
        return self._kernel.operations()[0]

    @property
    def inhibitions(self):
        """Lateral-inhibition updates so far per layer, ndarray of int64."""
        return self._kernel.operations()[1]

    @property
    def spike_times(self):
        """Times in microseconds of the output spikes so far, in order."""
        self._check_record()
        return np.concatenate([np.zeros(0), *self._times])

    @property
    def spike_neurons(self):
        """Output neurons of the spikes so far, in order, ndarray of int32."""
        self._check_record()
        return np.concatenate([np.zeros(0, np.int32), *self._neurons])

    def _check_record(self):
        if self._kernel.overflow:
            raise RuntimeError(
                "an input event caused more output spikes than the record holds: "
                "the spikes recorded are incomplete (counts are not)"
            )


def _plain_fields(events):
    """Whether events is a 1-D structured array whose x, y, p are integers or
    booleans and t numbers: what EventStream checks and packs in its kernel."""
    dtype = getattr(events, "dtype", None)
    if not isinstance(events, np.ndarray) or events.ndim != 1 or dtype.names is None:
        return False
    plain = _PLAIN.get(dtype)
    if plain is None:
        names = dtype.names
        plain = _PLAIN[dtype] = all(
            name in names and not dtype[name].shape and dtype[name].kind in kinds
            for name, kinds in (("x", "biu"), ("y", "biu"), ("p", "biu"), ("t", "iuf"))
        )
    return plain


_PLAIN = {}


class EarlyDecisions(NamedTuple):
    """What :func:`early_decisions` returns for one margin.

    Attributes
    ----------
    y_pred : ndarray of shape (n_samples,)
        The class of the leading output neuron at the decision; undecided
        samples get ``predict``'s class of the whole stream.
    proba : ndarray of shape (n_samples, n_classes)
        Output spike counts at the decision normalized to sum 1 (as
        ``predict_proba`` of the stream up to the deciding spike).
    decided : ndarray of bool, shape (n_samples,)
        Whether the margin was reached before the stream ended.
    decision_time : ndarray of float, shape (n_samples,)
        Seconds from the stream's start to the deciding output spike; the
        stream's last event when undecided.
    synops : ndarray of int64, shape (n_samples, n_layers)
        Synaptic operations per layer up to the end of the input event that
        caused the deciding spike (of the whole stream when undecided).
    inhibitions : ndarray of int64, shape (n_samples, n_layers)
        Lateral-inhibition updates, likewise.
    """

    y_pred: np.ndarray
    proba: np.ndarray
    decided: np.ndarray
    decision_time: np.ndarray
    synops: np.ndarray
    inhibitions: np.ndarray


def early_decisions(estimator, X, margins):
    """Predict every sample, stopping it once its leading output neuron is ahead.

    The rule with margin ``m``: a sample is decided at the first output spike
    after which the output neuron that fired has at least ``m`` more spikes
    than every other output neuron. Its class is that neuron's; the input
    event that caused the spike is processed to its end and no later one is.
    A sample that never reaches the margin is predicted from its whole stream,
    as ``predict`` does. Every margin comes from one simulation, which stops a
    sample once the largest margin decides it.

    Parameters
    ----------
    estimator : fitted SpikingMLPClassifier or SpikingCNNClassifier
        Simulated as ``predict`` simulates it (its ``inference_dtype``, its
        ``n_jobs`` threads).
    X : list of event streams
    margins : int or sequence of int
        Margins, each at least 1.

    Returns
    -------
    decisions : EarlyDecisions or list of EarlyDecisions
        One per margin, in the order given (a single one for an int).

    Examples
    --------
    >>> from spikeclf import SpikingMLPClassifier, load_digits_events
    >>> from spikeclf.streaming import early_decisions
    >>> X, y = load_digits_events(return_X_y=True, random_state=0)
    >>> clf = SpikingMLPClassifier((30,), max_iter=2, random_state=0)
    >>> clf = clf.fit(X[:200], y[:200])
    >>> one, three = early_decisions(clf, X[200:260], [1, 3])
    >>> whole = clf.synaptic_operations(X[200:260])[0].sum()
    >>> bool(one.synops.sum() <= three.synops.sum() <= whole)
    True
    """
    check_is_fitted(estimator)
    single = isinstance(margins, Integral)
    asked = np.atleast_1d(np.asarray(margins))
    if (
        asked.ndim != 1
        or asked.size == 0
        or not np.issubdtype(asked.dtype, np.integer)
        or np.any(asked < 1)
    ):
        raise ValueError(
            "margins must be whole numbers of output spikes, at least 1, got "
            f"{margins!r}"
        )
    order = np.argsort(asked, kind="stable")
    ascending = np.ascontiguousarray(asked[order], dtype=np.int64)
    make, args, volts = kernel_arguments(
        estimator._prediction_network,
        estimator.n_features_in_,
        estimator._inference_options(),
    )
    n_threads = max(1, effective_n_jobs(estimator.n_jobs))
    kernels = [make(*args) for _ in range(n_threads)]
    parts = [
        _run_early(kernels, packed, ascending)
        for packed in iter_packed(X, estimator.sensor_size_, _CHUNK)
    ]
    counts, v, synops, inhibitions, when, decided = (
        np.concatenate([p[k] for p in parts]) for k in range(6)
    )
    results = [None] * len(asked)
    for j, slot in enumerate(order):
        result = SimulationResult(
            counts[:, j], v[:, j] * volts, synops[:, j], inhibitions[:, j]
        )
        proba = estimator._proba(result)
        results[slot] = EarlyDecisions(
            y_pred=estimator.classes_[np.argmax(proba, axis=1)],
            proba=proba,
            decided=decided[:, j].astype(bool),
            decision_time=when[:, j] * 1e-6,
            synops=synops[:, j],
            inhibitions=inhibitions[:, j],
        )
    return results[0] if single else results


def _run_early(kernels, packed, margins):
    """run_early of the kernels on consecutive blocks of the samples, in threads."""
    n, n_m = packed.n_samples, len(margins)
    n_out, n_layers = kernels[0].counts().shape[0], kernels[0].operations()[0].shape[0]
    out = (
        np.zeros((n, n_m, n_out), np.int64),
        np.zeros((n, n_m, n_out)),
        np.zeros((n, n_m, n_layers), np.int64),
        np.zeros((n, n_m, n_layers), np.int64),
        np.zeros((n, n_m)),
        np.zeros((n, n_m), np.uint8),
    )
    t_end = packed.last_times()
    bounds = np.linspace(0, n, len(kernels) + 1).astype(int)

    def run(k):
        rows = np.arange(bounds[k], bounds[k + 1])
        if rows.size == 0:
            return
        block = packed.subset(rows)
        parts = tuple(np.ascontiguousarray(o[rows]) for o in out)
        status = kernels[k].run_early(
            block.channel, block.t, block.indptr, t_end[rows], margins, *parts
        )
        if status != 0:
            raise MemoryError("not enough memory for the simulation state")
        if kernels[k].overflow:
            raise RuntimeError(
                "an input event caused more output spikes than the record holds"
            )
        for o, p in zip(out, parts, strict=True):
            o[rows] = p

    if len(kernels) == 1:
        run(0)  # in this thread: its CPU time is the caller's
    else:
        with ThreadPoolExecutor(len(kernels)) as pool:
            list(pool.map(run, range(len(kernels))))
    return out


def kernel_arguments(network, n_channels, options):
    """The streaming kernel class of a network, its arguments and the volts
    per unit of its output potentials, as ``network.simulate(**options)``
    would simulate it (options: the estimator's ``_inference_options``)."""
    dtype = options.get("dtype", np.float64)
    if isinstance(network, ConvNetwork):
        arguments, _, volts = prepared_network(
            network.input_shape,
            network.layer_dicts(),
            dtype,
            options.get("threshold_units", False),
        )
        return _CONV_STREAMS[np.dtype(dtype)], arguments, volts
    shape = SimpleNamespace(n_channels=n_channels)
    weights, thresholds, volts = network.weights, network.thresholds, 1.0
    if options.get("threshold_units", False):
        weights, thresholds = _check_network(weights, thresholds, shape)
        volts = thresholds[-1]
        weights, thresholds = in_threshold_units(weights, thresholds)
    weights, thresholds = _check_network(weights, thresholds, shape, dtype)
    n_layers = len(weights)
    sizes = np.array([weights[0].shape[0]] + [w.shape[1] for w in weights], np.int64)
    arguments = (
        sizes,
        list(weights),
        list(thresholds),
        _checked_per_layer(network.tau, n_layers, "tau", low=0, closed=False) * 1e6,
        _checked_per_layer(network.refractory, n_layers, "refractory", low=0) * 1e6,
        _checked_per_layer(
            network.kappa, n_layers, "lateral_inhibition", low=-1, high=0
        ),
        network.reset == "zero",
        bool(network.lower_bound),
    )
    return _DENSE_STREAMS[np.dtype(dtype)], arguments, volts
