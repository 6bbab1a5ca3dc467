"""N-MNIST: the real binary format, its folder layout, and an emulated data set.

The real recordings (Orchard et al. 2015) are one ``.bin`` file per sample in
``NMNIST/Train/<digit>/`` and ``NMNIST/Test/<digit>/``, the layout
``tonic.datasets.NMNIST`` extracts them to. A file holds 5 bytes an event: x,
y, then the polarity in bit 7 and a 23-bit timestamp in microseconds over the
last three bytes; a record with y == 240 is not an event but a timestamp
overflow that adds 2**13 us to every later event. Files are read by tonic's own
reader, so real and emulated files go through the same code.
"""

import os
from pathlib import Path

import numpy as np

from .._persistence import write_atomically
from ..events import EVENT_DTYPE, check_events
from ._home import get_data_home
from ._mnist import load_mnist

__all__ = ["load_nmnist", "make_nmnist_like", "read_nmnist_file", "write_nmnist_file"]

_SPLITS = {True: "Train", False: "Test"}
_OVERFLOW_Y = 240
_OVERFLOW_STEP = 2**13
_MAX_STAMP = 2**23 - 1


def read_nmnist_file(path):
    """Events of one N-MNIST ``.bin`` file, read by ``tonic.io.read_mnist_file``.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    events : structured array of :data:`spikeclf.EVENT_DTYPE`
    """
    try:
        from tonic.io import read_mnist_file
    except ImportError as exc:  # pragma: no cover - tonic is in the test extras
        raise ImportError(
            "reading N-MNIST files needs tonic: pip install 'spikeclf[events]'"
        ) from exc
    return read_mnist_file(os.fspath(path), dtype=EVENT_DTYPE)


def write_nmnist_file(path, events):
    """Write one event stream in the N-MNIST binary format, atomically.

    Parameters
    ----------
    path : str or path-like
    events : structured array with fields x, y, t (microseconds), p
        Coordinates in 0..255 (y never 240, the overflow marker), polarity 0 or
        1, times non-negative whole microseconds in order. Times beyond the 23
        bits of a record get overflow records, as the format defines them.

    Examples
    --------
    >>> import tempfile, os
    >>> from spikeclf import make_events
    >>> from spikeclf.datasets import read_nmnist_file, write_nmnist_file
    >>> events = make_events([1, 33], [2, 0], [10, 8_390_000], [1, 0])
    >>> path = os.path.join(tempfile.mkdtemp(), "00001.bin")
    >>> write_nmnist_file(path, events)
    >>> os.path.getsize(path)  # two events and one overflow record
    15
    >>> read_nmnist_file(path)["t"].tolist()
    [10, 8390000]
    """
    packed = check_events([events], (256, 256, 2), allow_empty_streams=True)
    x = np.asarray(events["x"], dtype=np.int64)
    y = np.asarray(events["y"], dtype=np.int64)
    t = packed.t
    if np.any(y == _OVERFLOW_Y):
        raise ValueError("y = 240 marks an overflow record in N-MNIST files: no event")
    if np.any(t != np.round(t)):
        raise ValueError("N-MNIST files store whole microseconds: round the times")
    t = t.astype(np.int64)
    # Overflow records needed before each event, so that its stamp fits 23 bits.
    overflows = np.maximum(0, -(-(t - _MAX_STAMP) // _OVERFLOW_STEP))
    stamp = t - overflows * _OVERFLOW_STEP
    records = np.zeros((len(t) + int(overflows[-1] if len(t) else 0), 5), np.uint8)
    # Event i comes after overflows[i] overflow records.
    rows = np.arange(len(t)) + overflows
    records[:, 1] = _OVERFLOW_Y
    records[rows, 0] = x
    records[rows, 1] = y
    records[rows, 2] = (np.asarray(events["p"], np.int64) << 7) | (stamp >> 16)
    records[rows, 3] = (stamp >> 8) & 0xFF
    records[rows, 4] = stamp & 0xFF
    write_atomically(path, lambda f: f.write(records.tobytes()))


def load_nmnist(data_home=None, *, train=True, limit=None):
    """Load N-MNIST (real or emulated) from its ``.bin`` files, offline.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding ``NMNIST/Train`` and ``NMNIST/Test`` (tonic's layout);
        see :func:`get_data_home`.
    train : bool, default=True
        The training (60,000) or the test (10,000) samples.
    limit : int, default=None
        Read only the first ``limit`` files of each digit (for quick runs).

    Returns
    -------
    X : list of structured arrays of :data:`spikeclf.EVENT_DTYPE`
        On the (34, 34, 2) sensor.
    y : ndarray of int64
        The digit of each sample, from its folder.

    Raises
    ------
    FileNotFoundError
        When the folder or its files are missing; the message says where to put
        the real data set, or how to make an emulated one.
    """
    folder = get_data_home(data_home) / "NMNIST" / _SPLITS[bool(train)]
    # tonic's order: digit folders in order, files sorted within each.
    files = [f for d in range(10) for f in sorted(folder.glob(f"{d}/*.bin"))[:limit]]
    if not files:
        raise FileNotFoundError(
            f"N-MNIST not found: no {folder}/<digit>/*.bin files. Extract the real "
            f"data set's {_SPLITS[bool(train)]}.zip there (tonic's layout), or make "
            "an emulated one with `spikeclf make-nmnist --output "
            f"{get_data_home(data_home)}`"
        )
    X = [read_nmnist_file(f) for f in files]
    y = np.array([int(f.parent.name) for f in files], dtype=np.int64)
    return X, y


def make_nmnist_like(
    mnist_home=None,
    out_dir=None,
    *,
    emulator=None,
    splits=(True, False),
    limit=None,
    n_jobs=None,
    chunk_size=500,
    progress=True,
):
    """Write an emulated N-MNIST: MNIST digits through a saccading DVS.

    One ``.bin`` file per MNIST image in the real format and layout
    (``out_dir/NMNIST/Train/<digit>/<index>.bin``, index from 1 as in MNIST),
    so that :func:`load_nmnist` and tonic read it as they read the real set.
    Files are written atomically and existing ones are skipped: an interrupted
    run resumes where it stopped. Every file depends only on its image, the
    emulator and its index, whatever ``n_jobs``, ``chunk_size`` or resumption.

    Parameters
    ----------
    mnist_home : str or path-like, default=None
        Data home of MNIST (see :func:`load_mnist`).
    out_dir : str or path-like, default=None
        Data home to write ``NMNIST/`` into; default the MNIST data home.
    emulator : SaccadeEmulator, default=None
        Fitted or not; None means ``SaccadeEmulator(random_state=0)``.
    splits : tuple of bool, default=(True, False)
        Training and/or test set.
    limit : int, default=None
        Only the first ``limit`` images of each split.
    n_jobs : int, default=None
        joblib processes.
    chunk_size : int, default=500
        Images per joblib task.
    progress : bool, default=True
        Show a tqdm progress bar.

    Returns
    -------
    written : int
        Files written by this call (skipped ones not counted).
    """
    from joblib import Parallel, delayed
    from sklearn.base import clone

    from ..dvs import SaccadeEmulator

    X_train, y_train, X_test, y_test = load_mnist(mnist_home)
    out = get_data_home(out_dir if out_dir is not None else mnist_home) / "NMNIST"
    if emulator is None:
        emulator = SaccadeEmulator(random_state=0)
    if not hasattr(emulator, "th_on_"):
        emulator = clone(emulator).fit(X_train[:1])
    tasks = []
    for train in splits:
        images, labels = (X_train, y_train) if train else (X_test, y_test)
        n = len(images) if limit is None else min(limit, len(images))
        for d in range(10):
            (out / _SPLITS[train] / str(d)).mkdir(parents=True, exist_ok=True)
        todo = [
            i for i in range(n) if not _sample_path(out, train, labels[i], i).exists()
        ]
        tasks += [
            (train, todo[k : k + chunk_size]) for k in range(0, len(todo), chunk_size)
        ]
    jobs = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
        delayed(_emulate_chunk)(
            emulator,
            (X_train if train else X_test)[chunk],
            (y_train if train else y_test)[chunk],
            chunk,
            train,
            out,
        )
        for train, chunk in tasks
    )
    if progress:
        from tqdm.auto import tqdm

        jobs = tqdm(jobs, total=len(tasks), desc="N-MNIST chunks", unit="chunk")
    return sum(jobs)


def _emulate_chunk(emulator, images, labels, indices, train, out):
    for image, label, i in zip(images, labels, indices, strict=True):
        # Noise seeded by split and index: the same file whatever the chunking.
        events = emulator.emulate(image / 255.0, (int(train), i))
        write_nmnist_file(_sample_path(out, train, label, i), events)
    return len(indices)


def _sample_path(out, train, label, i):
    return Path(out) / _SPLITS[train] / str(int(label)) / f"{i + 1:05d}.bin"
