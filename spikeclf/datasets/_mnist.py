"""MNIST from its four IDX files, gzipped or not, checked against the official md5."""

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request

import numpy as np

from ._home import DATA_ENV, get_data_home

#: The four files and the md5 of their uncompressed content (the official values).
MNIST_FILES = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

#: Public mirrors of the gzipped files, tried in order. The environment
#: variable SPIKECLF_MNIST_MIRROR (a base URL) is tried first when set.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
MIRROR_ENV = "SPIKECLF_MNIST_MIRROR"

_IDX_MAGIC = {1: 2049, 3: 2051}


def load_mnist(data_home=None, *, download=True):
    """Load the MNIST training and test sets as uint8 arrays.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding the files, either directly or in a ``mnist`` subfolder
        (so ``../shared/data`` and ``../shared/data/mnist`` both work). None
        means :func:`spikeclf.datasets.get_data_home`: the environment variable
        ``SPIKECLF_DATA``, then ``~/.cache/spikeclf``.
    download : bool, default=True
        Whether to download missing files from a public mirror into
        ``data_home/mnist``. Nothing is ever written outside ``data_home``.

    Returns
    -------
    X_train : ndarray of uint8, shape (60000, 28, 28)
    y_train : ndarray of uint8, shape (60000,)
    X_test : ndarray of uint8, shape (10000, 28, 28)
    y_test : ndarray of uint8, shape (10000,)

    Raises
    ------
    FileNotFoundError
        When files are missing and cannot be downloaded; the message names them
        and the folder to put them in.
    ValueError
        When a file is corrupted (md5 of its content differs from the official
        value) or is not an IDX file.

    Examples
    --------
    >>> from spikeclf import load_mnist
    >>> X_train, y_train, X_test, y_test = load_mnist()  # doctest: +SKIP
    >>> X_train.shape, X_test.shape  # doctest: +SKIP
    ((60000, 28, 28), (10000, 28, 28))
    """
    folder = find_mnist(data_home)
    missing = [name for name in MNIST_FILES if _existing(folder, name) is None]
    if missing:
        if not download:
            raise FileNotFoundError(_missing_message(folder, missing, None))
        folder = _download(get_data_home(data_home), missing)
    return tuple(_read_idx(_existing(folder, name), name) for name in MNIST_FILES)


def find_mnist(data_home=None):
    """Return the folder where the MNIST files are, or would be downloaded.

    Parameters
    ----------
    data_home : str or path-like, default=None
        As in :func:`load_mnist`.

    Returns
    -------
    folder : pathlib.Path
        ``data_home`` itself when it holds an MNIST file, else ``data_home/mnist``.
    """
    home = get_data_home(data_home)
    if any(_existing(home, name) for name in MNIST_FILES):
        return home
    return home / "mnist"


def _existing(folder, name):
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def _read_idx(path, name):
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            content = f.read()
    except (OSError, EOFError) as exc:
        raise ValueError(
            f"{path} cannot be read as MNIST ({exc}); replace the file"
        ) from None
    digest = hashlib.md5(content).hexdigest()
    if digest != MNIST_FILES[name]:
        raise ValueError(
            f"{path} is corrupted: md5 of its content is {digest}, expected "
            f"{MNIST_FILES[name]}; delete it and put the official file in its place"
        )
    ndim = content[3]
    magic = int.from_bytes(content[:4], "big")
    if magic != _IDX_MAGIC.get(ndim):
        raise ValueError(f"{path} is not an IDX file (magic number {magic})")
    shape = tuple(
        int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    data = np.frombuffer(content, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(shape).copy()


def _missing_message(folder, missing, reason):
    names = ", ".join(f"{name}.gz" for name in missing)
    message = (
        f"MNIST files not found: {names}. Put the four MNIST IDX files (gzipped or "
        f"not) in {folder}, or point data_home or the {DATA_ENV} environment "
        "variable at the folder that holds them"
    )
    return message + (f" (download failed: {reason})" if reason else "")


def _download(home, missing):
    """Download the missing files into ``home/mnist``; return that folder."""
    folder = home / "mnist"
    mirrors = [os.environ[MIRROR_ENV]] if os.environ.get(MIRROR_ENV) else []
    mirrors += list(MNIST_MIRRORS)
    for name in missing:
        errors = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + f"/{name}.gz"
            try:
                _fetch_verified(url, folder / f"{name}.gz", name)
                break
            except (OSError, ValueError, urllib.error.URLError) as exc:
                errors.append(f"{url}: {exc}")
        else:
            raise FileNotFoundError(
                _missing_message(folder, missing, "; ".join(errors))
            )
    return folder


def _fetch_verified(url, target, name):
    """Download ``url`` to ``target`` atomically, after checking its md5."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        dir=target.parent, suffix=".part", delete=False
    ) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                shutil.copyfileobj(response, tmp)
            tmp.close()
            with gzip.open(tmp.name, "rb") as f:
                digest = hashlib.md5(f.read()).hexdigest()
            if digest != MNIST_FILES[name]:
                raise ValueError(f"md5 mismatch ({digest})")
            os.replace(tmp.name, target)
        finally:
            if os.path.exists(tmp.name):
                os.unlink(tmp.name)
