"""N-MNIST: binary format, DVS emulator, emulated data set, windows, figures."""

import numpy as np
import pytest
from conftest import quick

from spikeclf import make_events
from spikeclf._reference import dvs_events_reference
from spikeclf.analysis import accuracy_over_events, event_rate
from spikeclf.cli import main
from spikeclf.datasets import (
    load_nmnist,
    make_nmnist_like,
    read_nmnist_file,
    write_nmnist_file,
)
from spikeclf.dvs import SaccadeEmulator
from spikeclf.transforms import RandomEventWindow

pytest.importorskip("tonic", reason="the N-MNIST reader is tonic's")


def _square(size=28, low=8, high=20):
    image = np.zeros((size, size))
    image[low:high, low:high] = 1.0
    return image


# ------------------------------------------------------------- binary format
@pytest.mark.parametrize("seed", range(3))
def test_written_files_read_back_identically_through_tonic(tmp_path, seed):
    rng = np.random.default_rng(seed)
    n = 500
    # Times up to 20 s: beyond the 23-bit stamps, so overflow records are needed.
    t = np.sort(rng.integers(0, 20_000_000, n))
    events = make_events(
        rng.integers(0, 256, n), rng.integers(0, 240, n), t, rng.integers(0, 2, n)
    )
    path = tmp_path / "sample.bin"
    write_nmnist_file(path, events)
    back = read_nmnist_file(path)
    assert back.dtype == events.dtype
    np.testing.assert_array_equal(back, events)
    # Every record is 5 bytes; records with y == 240 are the overflows.
    raw = np.fromfile(path, np.uint8).reshape(-1, 5)
    overflows = int(np.sum(raw[:, 1] == 240))
    assert len(raw) == n + overflows and overflows >= (t[-1] - 2**23) // 2**13


def test_stamps_below_23_bits_need_no_overflow_record(tmp_path):
    events = make_events([0, 33], [0, 33], [0, 2**23 - 1], [0, 1])
    write_nmnist_file(tmp_path / "a.bin", events)
    raw = np.fromfile(tmp_path / "a.bin", np.uint8).reshape(-1, 5)
    assert raw.tolist() == [[0, 0, 0, 0, 0], [33, 33, 255, 255, 255]]


@pytest.mark.parametrize(
    "x, y, t, match",
    [
        ([0], [240], [0], "overflow"),
        ([0, 0], [0, 0], [5, 3], "not sorted"),
        ([0], [0], [-1], "negative"),
        ([300], [0], [0], "outside the sensor"),
        ([0], [0], [0.5], "whole microseconds"),
    ],
)
def test_the_writer_refuses_what_the_format_cannot_hold(tmp_path, x, y, t, match):
    events = np.zeros(
        len(x), dtype=[("x", "i8"), ("y", "i8"), ("t", "f8"), ("p", "i8")]
    )
    events["x"], events["y"], events["t"] = x, y, t
    with pytest.raises(ValueError, match=match):
        write_nmnist_file(tmp_path / "bad.bin", events)
    assert not list(tmp_path.iterdir())  # nothing half written


def test_missing_nmnist_says_where_to_put_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="make-nmnist") as info:
        load_nmnist(tmp_path)
    assert str(tmp_path / "NMNIST" / "Train") in str(info.value)


# ------------------------------------------------------------------ emulator
def test_emulator_matches_a_slow_reference_event_for_event():
    emulator = SaccadeEmulator(noise_rate=0.0, time_step=5e-3, random_state=0)
    image = _square(low=10, high=16)
    image[12, 4:24] = 0.7  # a bar that crosses pixel boundaries while moving
    events = emulator.fit(image[None]).emulate(image, 0)
    pixel, t, p = dvs_events_reference(emulator, image)
    pixel = np.asarray(pixel)
    expected = np.column_stack([np.round(t), pixel % 34, pixel // 34, p])
    got = np.column_stack([events[f].astype(float) for f in ("t", "x", "y", "p")])
    assert len(got) > 100
    # Sorted rows: the kernel orders events of one microsecond by pixel.
    np.testing.assert_array_equal(np.unique(got, axis=0), np.unique(expected, axis=0))
    assert len(got) == len(expected)


def test_emulated_streams_are_valid_deterministic_and_moving_edges_only():
    X = np.stack([_square(), _square(low=4, high=24)])
    streams = SaccadeEmulator(random_state=0).fit_transform(X)
    again = SaccadeEmulator(random_state=0).fit_transform(X)
    other = SaccadeEmulator(random_state=1).fit_transform(X)
    for s, s2, s3 in zip(streams, again, other, strict=True):
        np.testing.assert_array_equal(s, s2)
        assert len(s3) != len(s) or not np.array_equal(s3, s)
        assert np.all(np.diff(s["t"]) >= 0) and s["t"].min() >= 0
        assert s["t"].max() < 300_000
        assert s["x"].max() < 34 and s["y"].max() < 34
        assert 0.4 < s["p"].mean() < 0.6  # ON and OFF balanced
    # A uniform area makes no events: inside the big square, far from its edges.
    big = streams[1]
    inner = (big["x"] > 14) & (big["x"] < 20) & (big["y"] > 14) & (big["y"] < 20)
    assert inner.sum() < 5  # noise only


def test_blank_images_give_noise_at_the_set_rate():
    streams = SaccadeEmulator(noise_rate=2.0, random_state=0).fit_transform(
        np.zeros((20, 28, 28))
    )
    mean = np.mean([len(s) for s in streams])
    expected = 2.0 * 34 * 34 * 0.3
    assert abs(mean - expected) < 4 * np.sqrt(expected / 20)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.full((1, 28, 28), 2.0), r"\[0, 1\]"),
        (np.full((1, 28, 28), np.nan), "NaN"),
        (np.zeros((1, 40, 40)), "34 x 34"),
        (np.zeros((1, 5)), "784"),
    ],
)
def test_emulator_rejects_bad_images(X, match):
    with pytest.raises(ValueError, match=match):
        SaccadeEmulator().fit_transform(X)


def test_emulated_mnist_has_the_published_statistics(mnist):
    X_train = mnist[0][:200]
    streams = SaccadeEmulator(random_state=0).fit_transform(X_train)
    counts = np.array([len(s) for s in streams])
    assert 3500 < counts.mean() < 4500  # about 4,000 events a sample
    assert 0.45 < np.mean([s["p"].mean() for s in streams]) < 0.55
    assert 290_000 < np.median([s["t"].max() for s in streams]) < 300_000
    times, rate = event_rate(streams, bin_width=0.01)
    # The rate peaks in the middle of each 100 ms saccade and falls at its ends.
    for saccade in range(3):
        r = rate[10 * saccade : 10 * saccade + 10]
        assert 3 <= np.argmax(r) <= 6 and r.max() > 4 * min(r[0], r[-1])


def test_make_nmnist_like_writes_resumes_and_reads_back(mnist_home, tmp_path):
    written = make_nmnist_like(mnist_home, tmp_path, limit=12, chunk_size=5)
    assert written == 24
    X, y = load_nmnist(tmp_path, train=True)
    X_test, _ = load_nmnist(tmp_path, train=False)
    assert len(X) == len(X_test) == 12 and set(y) <= set(range(10))
    assert all(len(s) > 1000 for s in X)
    victim = sorted((tmp_path / "NMNIST" / "Train").glob("*/*.bin"))[3]
    content = victim.read_bytes()
    victim.unlink()
    assert make_nmnist_like(mnist_home, tmp_path, limit=12, n_jobs=2) == 1
    assert victim.read_bytes() == content  # the same file, whoever writes it
    assert make_nmnist_like(mnist_home, tmp_path, limit=12) == 0
    assert not list(tmp_path.rglob(".tmp-*"))


def test_cli_makes_nmnist_and_trains_on_it(mnist_home, tmp_path, capsys):
    args = ["--mnist-home", str(mnist_home), "--output", str(tmp_path)]
    assert main(["make-nmnist", *args, "--limit", "30", "--n-jobs", "1"]) == 0
    assert "wrote 60 files" in capsys.readouterr().out
    train = ["train", "--dataset", "nmnist", "--data-home", str(tmp_path)]
    assert main([*train, "--epochs", "2", "--hidden", "50"]) == 0
    out = capsys.readouterr().out
    assert "on nmnist (30 training, 30 test samples)" in out
    assert "test accuracy" in out and "(whole streams)" in out


# ------------------------------------------------------ windows and figures
def test_random_event_window():
    stream = make_events(np.arange(1000) % 34, [0] * 1000, np.arange(1000) * 10)
    short = stream[:100]
    window = RandomEventWindow(300, random_state=0)
    starts = []
    for _ in range(50):
        w = window(stream)
        assert len(w) == 300
        start = int(w["t"][0] // 10)
        np.testing.assert_array_equal(w, stream[start : start + 300])
        starts.append(start)
    assert len(set(starts)) > 40 and max(starts) <= 700
    np.testing.assert_array_equal(window(short), short)
    first = RandomEventWindow(300, random_state=0).fit_transform([stream, stream])
    second = RandomEventWindow(300, random_state=0).fit_transform([stream, stream])
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="sample 1"):
        window.transform([stream, np.zeros(3)])


def test_event_rate_and_accuracy_over_events(small):
    X, y = small
    times, rate = event_rate(X, bin_width=0.005)
    assert np.isclose(times[1] - times[0], 0.005)
    # The mean rate over the windows is the mean count over the duration.
    total = np.mean([len(s) for s in X])
    assert np.isclose(rate.sum() * 0.005, total)
    clf = quick(max_iter=3).fit(X, y)
    curve = accuracy_over_events(clf, X, y, [1, 10, 1000])
    assert curve.shape == (3,)
    assert curve[-1] == pytest.approx(clf.score(X, y))
    assert curve[0] < curve[-1]


def test_averaged_epochs_of_event_streams_take_their_own_window():
    """average_window in one call is the same run resumed with the other window."""
    from spikeclf import SpikingMLPClassifier
    from spikeclf.experiments import EventTask, train_on_event_streams

    rng = np.random.default_rng(0)
    streams = [
        make_events(rng.integers(0, 6, 200), rng.integers(0, 6, 200),
                    np.sort(rng.integers(0, 100_000, 200)), rng.integers(0, 2, 200))
        for _ in range(40)
    ]  # fmt: skip
    labels = np.arange(40) % 4
    task = EventTask("toy", streams, labels, streams[:8], labels[:8], (6, 6, 2))

    def trained(*calls):
        clf = SpikingMLPClassifier((12,), average=1, random_state=0)
        for epochs, options in calls:
            train_on_event_streams(task, clf, epochs=epochs, log=lambda line: None,
                                   **options)  # fmt: skip
        return clf

    one = trained((2, {"window": 20, "average_window": 80}))
    two = trained((1, {"window": 20}), (2, {"window": 80}))
    plain = trained((2, {"window": 20}))
    for a, b in zip(one.coefs_, two.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert one.epoch_stats_[1]["synops"] > 2 * plain.epoch_stats_[1]["synops"]
    with pytest.raises(ValueError, match="n_events"):
        train_on_event_streams(task, SpikingMLPClassifier((12,), average=1),
                               epochs=1, average_window=0)  # fmt: skip
