"""Event streams: tonic's structured arrays, validated once and packed for the kernels.

An event stream is a 1-D numpy structured array with fields ``x``, ``y``, ``t``
(microseconds) and ``p``, as tonic makes them (:data:`EVENT_DTYPE` is tonic's
``events_struct``). A data set is a list, tuple or object array of streams that
share one ``sensor_size = (width, height, polarities)``.

The kernels never see structured arrays: :func:`check_events` validates a data
set and packs it into flat arrays, the way a CSR matrix stores its rows: the
events of sample ``i`` are ``channel[indptr[i]:indptr[i + 1]]`` and
``t[indptr[i]:indptr[i + 1]]``. The channel of an event is
``x + width * (y + height * p)``, the index of its pixel in a ``(p, y, x)``
frame flattened in C order, so images flattened row by row and tonic's
``ToFrame`` output share one input numbering.
"""

from typing import NamedTuple

import numpy as np

__all__ = [
    "EVENT_DTYPE",
    "EventStreamError",
    "PackedEvents",
    "as_object_array",
    "check_events",
    "iter_packed",
    "make_events",
]

#: The dtype of an event stream: the same as ``tonic.io.events_struct``.
EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])

_FIELDS = ("x", "y", "t", "p")
_MAX_SIDE = np.iinfo(np.int16).max
_MAX_POLARITIES = 2


class EventStreamError(ValueError):
    """The event stream of one sample is invalid.

    Attributes
    ----------
    sample : int
        Index of the sample in the data set.
    problem : str
        What is wrong with its stream.
    """

    def __init__(self, sample, problem):
        super().__init__(f"sample {sample}: {problem}")
        self.sample, self.problem = int(sample), problem

    def __reduce__(self):  # the default would call __init__ with the message only
        return type(self), (self.sample, self.problem)


class PackedEvents(NamedTuple):
    """A validated data set of event streams, flattened for the kernels.

    Attributes
    ----------
    channel : ndarray of int32, shape (n_events,)
        Input channel of each event, ``x + width * (y + height * p)``.
    t : ndarray of float64, shape (n_events,)
        Time of each event in microseconds, non-decreasing within a sample.
    indptr : ndarray of int64, shape (n_samples + 1,)
        Sample ``i`` holds events ``indptr[i]`` to ``indptr[i + 1]``.
    sensor_size : tuple of int
        ``(width, height, polarities)``.
    """

    channel: np.ndarray
    t: np.ndarray
    indptr: np.ndarray
    sensor_size: tuple

    @property
    def n_samples(self):
        """Number of samples (streams)."""
        return len(self.indptr) - 1

    @property
    def n_channels(self):
        """Number of input channels, ``width * height * polarities``."""
        width, height, polarities = self.sensor_size
        return width * height * polarities

    def sample(self, i):
        """Return ``(channel, t)`` of sample ``i`` as views.

        Parameters
        ----------
        i : int
            Index of the sample.

        Returns
        -------
        channel, t : ndarray
        """
        start, stop = self.indptr[i], self.indptr[i + 1]
        return self.channel[start:stop], self.t[start:stop]

    def last_times(self):
        """Time of each sample's last event in microseconds, 0 for an empty sample."""
        last = np.concatenate([[0.0], self.t])[self.indptr[1:]]
        return np.where(np.diff(self.indptr) > 0, last, 0.0)

    def subset(self, rows):
        """The samples ``rows``, in that order, as packed events.

        Parameters
        ----------
        rows : array-like of int
            Indices of the samples.

        Returns
        -------
        PackedEvents
        """
        rows = np.asarray(rows, dtype=np.int64)
        starts, lengths = self.indptr[rows], np.diff(self.indptr)[rows]
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        # Event e of the subset comes from starts[sample of e] + its rank in the sample.
        owner = np.repeat(np.arange(len(rows)), lengths)
        take = starts[owner] + np.arange(indptr[-1]) - indptr[owner]
        return PackedEvents(self.channel[take], self.t[take], indptr, self.sensor_size)


def make_events(x, y, t, p=0):
    """Build one event stream with :data:`EVENT_DTYPE` from its fields.

    Parameters
    ----------
    x, y : array-like of int
        Pixel coordinates.
    t : array-like of int
        Time stamps in microseconds.
    p : array-like of int or int, default=0
        Polarity of each event, or one polarity for all.

    Returns
    -------
    events : ndarray of EVENT_DTYPE, shape (n_events,)

    Examples
    --------
    >>> from spikeclf.events import make_events
    >>> ev = make_events(x=[0, 3], y=[1, 1], t=[10, 250], p=[1, 0])
    >>> ev["t"].tolist()
    [10, 250]
    """
    t = np.asarray(t)
    events = np.empty(t.shape[0], dtype=EVENT_DTYPE)
    events["x"], events["y"], events["t"], events["p"] = x, y, t, p
    return events


def check_sensor_size(sensor_size):
    """Validate ``(width, height, polarities)`` and return it as a tuple of int."""
    try:
        size = tuple(int(s) for s in sensor_size)
        exact = all(float(s) == v for s, v in zip(sensor_size, size, strict=False))
    except (TypeError, ValueError):
        raise TypeError(
            "sensor_size must be a tuple (width, height, polarities) of positive "
            f"integers, got {sensor_size!r}"
        ) from None
    if len(size) != 3 or not exact or min(size) < 1:
        raise ValueError(
            "sensor_size must be a tuple (width, height, polarities) of positive "
            f"integers, got {sensor_size!r}"
        )
    if max(size[:2]) > _MAX_SIDE or size[2] > _MAX_POLARITIES:
        raise ValueError(
            f"sensor_size {size} is too large: width and height must be at most "
            f"{_MAX_SIDE} and polarities at most {_MAX_POLARITIES}"
        )
    return size


def check_events(X, sensor_size=None, *, allow_empty_streams=True):
    """Validate a data set of event streams and pack it for the kernels.

    Every public entry point that takes events calls this function once; the
    kernels then trust the packed arrays.

    Parameters
    ----------
    X : list, tuple or 1-D object array of structured arrays, or PackedEvents
        One stream per sample, with integer, boolean or float fields ``x``,
        ``y``, ``t`` (microseconds) and ``p``; other fields are ignored. Float
        fields must hold finite whole numbers, except ``t`` which may be
        fractional. Packed events are returned as they are.
    sensor_size : tuple of int (width, height, polarities), default=None
        Size of the sensor. When None it is inferred as one more than the
        largest coordinate and polarity seen.
    allow_empty_streams : bool, default=True
        Whether a sample may have no event at all.

    Returns
    -------
    packed : PackedEvents

    Raises
    ------
    TypeError
        When ``X`` is not a sequence of structured arrays or a field is not
        numeric.
    ValueError
        When the data set is empty, or a stream has missing fields, NaN or
        infinite values, negative or unsorted times, coordinates outside the
        sensor or polarities out of range. The message names the sample.

    Examples
    --------
    >>> from spikeclf.events import check_events, make_events
    >>> X = [make_events([0, 1], [0, 0], [5, 9]), make_events([2], [1], [3])]
    >>> packed = check_events(X, sensor_size=(3, 2, 1))
    >>> packed.channel.tolist(), packed.indptr.tolist()
    ([0, 1, 5], [0, 2, 3])
    """
    if isinstance(X, PackedEvents):  # validated already
        if sensor_size is not None and check_sensor_size(sensor_size) != X.sensor_size:
            raise ValueError(
                f"events on a {X.sensor_size} sensor, expected {tuple(sensor_size)}"
            )
        return X
    streams = _as_stream_list(X)
    indptr = np.zeros(len(streams) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in streams], out=indptr[1:])
    if not allow_empty_streams:
        empty = np.flatnonzero(np.diff(indptr) == 0)
        if empty.size:
            raise EventStreamError(empty[0], "the event stream is empty")
    fields = {name: _concatenate_field(streams, name, indptr) for name in _FIELDS}
    _check_times(fields["t"], indptr)
    if sensor_size is None:
        sensor_size = _infer_sensor_size(fields, indptr)
    sensor_size = check_sensor_size(sensor_size)
    for name, bound in zip(("x", "y", "p"), sensor_size, strict=True):
        _check_range(fields[name], name, bound, sensor_size, indptr)
    width, height, _ = sensor_size
    # In place, in int32 (the sensor's size bounds it): no int64 temporaries.
    channel = fields["p"].astype(np.int32)
    channel *= height
    channel += fields["y"]
    channel *= width
    channel += fields["x"]
    return PackedEvents(
        channel=channel,
        t=fields["t"],
        indptr=indptr,
        sensor_size=sensor_size,
    )


def as_object_array(X):
    """A one-dimensional object array of event streams, one element per stream.

    Estimators take it as they take a list. It is what to hand to joblib's Dask
    backend (``GridSearchCV``, ``cross_val_score``, ``joblib.Parallel`` inside
    ``joblib.parallel_backend("dask")``): joblib sends an array to the workers
    once and refers to it in every task, where a list travels with each task.
    ``np.array(streams, dtype=object)`` would instead build a 2-D array of
    events when all streams have the same length.

    Parameters
    ----------
    X : list, tuple or object array of event streams

    Returns
    -------
    streams : ndarray of object, shape (n_samples,)

    Examples
    --------
    >>> from spikeclf import make_events
    >>> from spikeclf.events import as_object_array
    >>> a = make_events(x=[0, 1], y=[0, 0], t=[0, 10])
    >>> X = as_object_array([a, a.copy()])
    >>> X.shape, X.dtype, X[1].dtype.names
    ((2,), dtype('O'), ('x', 'y', 't', 'p'))
    """
    streams = _as_stream_list(X)
    out = np.empty(len(streams), dtype=object)
    for i, stream in enumerate(streams):  # one by one: no broadcasting of events
        out[i] = stream
    return out


def iter_packed(X, sensor_size, chunk_size=1024):
    """Validate and pack a data set ``chunk_size`` samples at a time.

    Memory beyond ``X`` itself stays that of one chunk, however many samples
    there are; errors name the sample by its index in ``X``.

    Parameters
    ----------
    X : list, tuple or 1-D object array of structured arrays, or PackedEvents
    sensor_size : tuple of int (width, height, polarities)
    chunk_size : int, default=1024

    Yields
    ------
    packed : PackedEvents
        The samples ``[start, start + chunk_size)``, in order.

    Examples
    --------
    >>> from spikeclf.events import iter_packed, make_events
    >>> X = [make_events([0], [0], [5]) for _ in range(5)]
    >>> [chunk.n_samples for chunk in iter_packed(X, (1, 1, 1), chunk_size=2)]
    [2, 2, 1]
    """
    if isinstance(X, PackedEvents):
        check_events(X, sensor_size)
        for start in range(0, X.n_samples, chunk_size):
            yield X.subset(np.arange(start, min(start + chunk_size, X.n_samples)))
        return
    streams = _as_stream_list(X)
    for start in range(0, len(streams), chunk_size):
        try:
            chunk = check_events(streams[start : start + chunk_size], sensor_size)
        except EventStreamError as exc:
            raise EventStreamError(exc.sample + start, exc.problem) from None
        yield chunk


def _as_stream_list(X):
    if isinstance(X, np.ndarray) and X.dtype.names is not None:
        raise TypeError(
            "expected a list of event streams (one structured array per sample), "
            "got a single structured array; wrap it in a list: [events]"
        )
    if isinstance(X, np.ndarray) and X.dtype != object:
        raise TypeError(
            "expected a list of event streams (structured arrays with fields x, y, "
            f"t, p), got a numeric array of shape {X.shape}; encode images into "
            "events first, for example with spikeclf.PoissonEncoder"
        )
    if not isinstance(X, list | tuple | np.ndarray):
        raise TypeError(
            "expected a list, tuple or object array of event streams, got "
            f"{type(X).__name__}"
        )
    streams = list(X.ravel()) if isinstance(X, np.ndarray) else list(X)
    if not streams:
        raise ValueError("the data set is empty: at least one event stream is needed")
    for i, s in enumerate(streams):
        _check_stream_type(i, s)
    return streams


def _check_stream_type(i, stream):
    if not isinstance(stream, np.ndarray) or stream.dtype.names is None:
        raise TypeError(
            f"sample {i}: expected a structured array with fields x, y, t, p, got "
            f"{type(stream).__name__}"
            + (f" of dtype {stream.dtype}" if isinstance(stream, np.ndarray) else "")
        )
    missing = [f for f in _FIELDS if f not in stream.dtype.names]
    if missing:
        raise EventStreamError(
            i,
            f"the event stream has no field {', '.join(missing)} "
            f"(fields: {', '.join(stream.dtype.names)}; expected x, y, t, p)",
        )
    if stream.ndim != 1:
        raise EventStreamError(
            i, f"an event stream must be 1-D, got shape {stream.shape}"
        )
    for name in _FIELDS:
        kind = stream.dtype[name].kind
        if kind not in "biuf" or stream.dtype[name].shape:
            raise TypeError(
                f"sample {i}: field {name!r} has dtype {stream.dtype[name]}; "
                "expected integers, booleans or floats"
            )


def _concatenate_field(streams, name, indptr):
    """One field of every stream, concatenated and converted once."""
    values = np.concatenate([s[name] for s in streams])
    if values.dtype.kind != "f":
        # Coordinates stay in their own (small) integer type: converting 15
        # million events to int64 costs 120 MB a field (full-MNIST fit).
        return values.astype(np.float64) if name == "t" else values
    bad = ~np.isfinite(values)
    if bad.any():
        i, k = _locate(np.flatnonzero(bad)[0], indptr)
        raise EventStreamError(
            i,
            f"field {name!r} is {values[k]} at event {k - indptr[i]}; "
            "NaN and infinite values are not events",
        )
    if name == "t":
        return values.astype(np.float64)
    fractional = values != np.round(values)
    if fractional.any():
        i, k = _locate(np.flatnonzero(fractional)[0], indptr)
        raise EventStreamError(
            i,
            f"field {name!r} must hold whole numbers, got "
            f"{values[k]} at event {k - indptr[i]}",
        )
    return values.astype(np.int64)


def _check_times(t, indptr):
    negative = np.flatnonzero(t < 0)
    if negative.size:
        i, k = _locate(negative[0], indptr)
        raise EventStreamError(
            i,
            f"negative time stamp {t[k]} at event {k - indptr[i]}; "
            "times must be non-negative microseconds",
        )
    decreasing = np.diff(t) < 0
    # A drop from the last event of one sample to the first of the next is fine.
    starts = indptr[1:-1]
    decreasing[starts[(starts > 0) & (starts < len(t))] - 1] = False
    unsorted = np.flatnonzero(decreasing)
    if unsorted.size:
        i, k = _locate(unsorted[0] + 1, indptr)
        raise EventStreamError(
            i,
            f"time stamps are not sorted: event {k - indptr[i]} at "
            f"t={t[k]} comes after t={t[k - 1]}; sort the stream by time "
            "(for example events[np.argsort(events['t'], kind='stable')])",
        )


def _infer_sensor_size(fields, indptr):
    if len(fields["x"]) == 0:
        raise ValueError(
            "cannot infer sensor_size from a data set without any event; "
            "pass sensor_size=(width, height, polarities)"
        )
    for name in ("x", "y", "p"):
        _check_range(fields[name], name, np.inf, None, indptr)
    return tuple(int(fields[name].max()) + 1 for name in ("x", "y", "p"))


def _check_range(values, name, bound, sensor_size, indptr):
    outside = np.flatnonzero((values < 0) | (values >= bound))
    if outside.size:
        i, k = _locate(outside[0], indptr)
        what = "polarity" if name == "p" else f"coordinate {name}"
        where = (
            f"outside the sensor {sensor_size} (valid: 0 to {bound - 1})"
            if sensor_size is not None
            else "negative"
        )
        raise EventStreamError(
            i, f"{what}={values[k]} at event {k - indptr[i]} is {where}"
        )


def _locate(k, indptr):
    """Sample index of flat event ``k``, and ``k`` itself."""
    return int(np.searchsorted(indptr, k, side="right") - 1), int(k)
