import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeclf.events import EVENT_DTYPE, check_events, make_events

SENSOR = (5, 4, 2)


def stream(n=6, seed=0, sensor=SENSOR):
    rng = np.random.default_rng(seed)
    return make_events(
        x=rng.integers(0, sensor[0], n),
        y=rng.integers(0, sensor[1], n),
        t=np.sort(rng.integers(0, 10_000, n)),
        p=rng.integers(0, sensor[2], n),
    )


def test_dtype_is_tonics():
    tonic_io = pytest.importorskip("tonic.io")
    assert EVENT_DTYPE == tonic_io.events_struct


def test_packing_follows_the_channel_layout():
    events = [stream(seed=1), stream(0), stream(seed=2)]
    packed = check_events(events, SENSOR)
    assert packed.indptr.tolist() == [0, 6, 6, 12]
    assert packed.n_samples == 3 and packed.n_channels == 40
    for i, ev in enumerate(events):
        channel, t = packed.sample(i)
        np.testing.assert_array_equal(channel, ev["x"] + 5 * (ev["y"] + 4 * ev["p"]))
        np.testing.assert_array_equal(t, ev["t"])
    assert packed.channel.dtype == np.int32 and packed.t.dtype == np.float64


def test_channel_matches_a_flattened_frame():
    ev = stream(50, seed=3)
    frame = np.zeros((2, 4, 5))
    np.add.at(frame, (ev["p"].astype(int), ev["y"], ev["x"]), 1)
    counts = np.bincount(check_events([ev], SENSOR).channel, minlength=40)
    np.testing.assert_array_equal(counts, frame.ravel())


def test_list_tuple_and_object_array_agree():
    events = [stream(seed=s) for s in range(4)]
    as_object = np.empty(4, dtype=object)
    as_object[:] = events
    packs = [check_events(c, SENSOR) for c in (events, tuple(events), as_object)]
    for p in packs[1:]:
        np.testing.assert_array_equal(p.channel, packs[0].channel)
        np.testing.assert_array_equal(p.indptr, packs[0].indptr)


def test_other_dtypes_and_field_orders_are_converted():
    ev = stream(seed=4)
    other = np.empty(
        len(ev), dtype=[("t", "f8"), ("p", "i8"), ("y", "u1"), ("x", "f4"), ("z", "f8")]
    )
    for name in "xytp":
        other[name] = ev[name]
    a, b = check_events([ev], SENSOR), check_events([other], SENSOR)
    np.testing.assert_array_equal(a.channel, b.channel)
    np.testing.assert_array_equal(a.t, b.t)


def test_read_only_input_is_fine():
    ev = stream(seed=5)
    ev.flags.writeable = False
    assert check_events([ev], SENSOR).indptr[-1] == 6


def test_sensor_size_is_inferred():
    ev = make_events(x=[0, 6], y=[2, 0], t=[0, 1], p=[1, 0])
    assert check_events([ev]).sensor_size == (7, 3, 2)


def _raises(X, match, sensor=SENSOR, error=ValueError, **kw):
    with pytest.raises(error, match=match):
        check_events(X, sensor, **kw)


def test_bad_containers():
    _raises(stream(), "single structured array", error=TypeError)
    _raises(np.zeros((3, 4)), "numeric array of shape", error=TypeError)
    _raises("abc", "expected a list", error=TypeError)
    _raises([], "data set is empty")
    _raises(
        [stream(), [1, 2]], "sample 1: expected a structured array", error=TypeError
    )


def test_bad_fields():
    ev = np.zeros(3, dtype=[("x", "i8"), ("y", "i8"), ("ts", "i8"), ("p", "i8")])
    _raises([stream(), ev], "sample 1: the event stream has no field t")
    ev = np.zeros(3, dtype=[("x", "U2"), ("y", "i8"), ("t", "i8"), ("p", "i8")])
    _raises([ev], "sample 0: field 'x' has dtype", error=TypeError)
    _raises([stream().reshape(2, 3)], "must be 1-D")


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("x", 5, "sample 2: coordinate x=5 at event 3 is outside the sensor"),
        ("y", -1, "sample 2: coordinate y=-1 at event 3 is outside the sensor"),
        ("p", 2, "sample 2: polarity=2 at event 3 is outside the sensor"),
        ("t", -5, "sample 2: negative time stamp"),
        ("t", np.nan, "sample 2: field 't' is nan at event 3"),
        ("x", np.inf, "sample 2: field 'x' is inf at event 3"),
        ("x", 1.5, "sample 2: field 'x' must hold whole numbers"),
    ],
)
def test_bad_values_name_sample_and_event(field, value, match):
    events = [stream(seed=s) for s in range(3)]
    events[2] = events[2].astype([(n, "f8") for n in "xytp"])
    if field == "t":
        events[2]["t"][:3] = 0  # keep sortedness out of the way
    events[2][field][3] = value
    _raises(events, match)


def test_unsorted_times():
    ev = stream(seed=6)
    ev["t"] = [100, 200, 500, 400, 600, 700]
    _raises([stream(), ev], r"sample 1: time stamps are not sorted: event 3 at t=400")


def test_empty_streams():
    empty = stream(0)
    assert check_events([empty, stream()], SENSOR).indptr.tolist() == [0, 0, 6]
    _raises(
        [stream(), empty],
        "sample 1: the event stream is empty",
        allow_empty_streams=False,
    )
    _raises([empty], "cannot infer sensor_size", sensor=None)


@pytest.mark.parametrize(
    "sensor", [(5, 4), (5, 0, 1), (5.5, 4, 1), (40000, 1, 1), (5, 4, 3)]
)
def test_bad_sensor_size(sensor):
    _raises([stream()], "sensor_size", sensor=sensor)


EVENT = st.tuples(
    st.integers(-2, 6), st.integers(-2, 5), st.integers(-5, 50), st.integers(-1, 2)
)


def _is_valid(sample):
    inside = all(
        0 <= x < SENSOR[0] and 0 <= y < SENSOR[1] and 0 <= p < SENSOR[2] and t >= 0
        for x, y, t, p in sample
    )
    return inside and bool(np.all(np.diff([t for _, _, t, _ in sample]) >= 0))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(EVENT, max_size=8), min_size=1, max_size=4))
def test_any_stream_is_packed_exactly_or_rejected_with_value_error(samples):
    dtype = [(name, np.int64) for name in "xytp"]
    events = [np.array(s, dtype=dtype) for s in samples]
    if all(_is_valid(s) for s in samples):
        packed = check_events(events, SENSOR)
        for i, s in enumerate(samples):
            channel, t = packed.sample(i)
            assert channel.tolist() == [x + 5 * (y + 4 * p) for x, y, _, p in s]
            assert t.tolist() == [t for _, _, t, _ in s]
    else:
        with pytest.raises(ValueError, match=r"^sample \d+: ") as info:
            check_events(events, SENSOR)
        named = int(str(info.value).split(":")[0].split()[1])
        assert not _is_valid(samples[named])


def test_subset_and_last_times_of_packed_events():
    events = [stream(seed=1), stream(0), stream(seed=2, n=3)]
    packed = check_events(events, SENSOR)
    np.testing.assert_array_equal(
        packed.last_times(), [events[0]["t"][-1], 0.0, events[2]["t"][-1]]
    )
    sub = packed.subset([2, 0, 1])
    assert sub.indptr.tolist() == [0, 3, 9, 9] and sub.sensor_size == SENSOR
    for new, old in zip(range(3), [2, 0, 1], strict=True):
        for a, b in zip(sub.sample(new), packed.sample(old), strict=True):
            np.testing.assert_array_equal(a, b)
    assert check_events(sub) is sub
    with pytest.raises(ValueError, match="expected"):
        check_events(sub, (9, 9, 2))
